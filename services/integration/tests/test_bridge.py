"""The bridge on the real broker: events of the catalogue reach the plug-ins
of their commune on ``tinxa.integration``, and a message leaves
``integration.bridge`` only once its copy is confirmed."""
import json

import pytest

from services.integration.service import BRIDGE_QUEUE, BRIDGED, IntegrationService, sources
from services.integration.tests.helpers import (A, B, PASSWORD, PluginClient, api, publish_task_event, queue_depth,
                                                quoted)
from shared.broker_admin import BrokerUsers
from shared.bus import Publisher
from shared.deadletters import list_dead_letters, replay
from shared.events import CATALOGUE, make_event
from shared.testing import ServiceProcess, wait_until


@pytest.fixture
def config(rabbit_config):
    return dict(rabbit_config, METRICS_PORT=0, INTEGRATION_RETRY_SECONDS=0.1, max_workers=1)


@pytest.fixture
def bridge(container_factory, config):
    container = container_factory(IntegrationService, config)
    container.start()
    return container


@pytest.fixture
def broker(rabbit_config):
    users = BrokerUsers.from_config(rabbit_config)
    users.grant_plugin(A, "sensor", PASSWORD)
    users.grant_plugin(B, "sensor", PASSWORD)
    yield users
    users.remove_plugin(A, "sensor")
    users.remove_plugin(B, "sensor")


@pytest.fixture
def plugins(broker):
    clients = {commune_id: PluginClient(broker.vhost, commune_id, "sensor") for commune_id in (A, B)}
    yield clients
    for client in clients.values():
        client.close()


def test_the_bridge_queue_takes_every_source_of_the_catalogue(bridge, rabbit_config):
    bindings = api(f"/queues/{quoted(rabbit_config['vhost'])}/{BRIDGE_QUEUE}/bindings")
    bound = {(b["source"], b["routing_key"]) for b in bindings if b["source"]}
    assert bound == {(f"{source}.events", "#") for source in sources()}
    assert set(sources()) == {source for source, _ in CATALOGUE}
    assert api(f"/queues/{quoted(rabbit_config['vhost'])}/{BRIDGE_QUEUE}")["durable"] is True
    exchange = api(f"/exchanges/{quoted(rabbit_config['vhost'])}/tinxa.integration")
    assert (exchange["type"], exchange["durable"]) == ("topic", True)


def test_an_event_reaches_the_plugins_of_its_commune_only(bridge, plugins, rabbit_config):
    plugins[A].subscribe(f"{A}.#")
    plugins[B].subscribe(f"{B}.#")
    of_a = publish_task_event(rabbit_config["AMQP_URI"], A, correlation_id="req-1")
    of_b = publish_task_event(rabbit_config["AMQP_URI"], B)

    message = wait_until(lambda: plugins[A].take(), message="A's event at A's plug-in")
    assert message.delivery_info["routing_key"] == f"{A}.tasks.task_status_changed"
    assert message.delivery_info["exchange"] == "tinxa.integration"
    assert json.loads(message.body) == of_a
    assert message.properties["delivery_mode"] == 2
    assert message.properties["application_headers"]["nameko.correlation_id"] == "req-1"
    # B's plug-in gets B's event, and A's never: the next message of each is its own
    other = wait_until(lambda: plugins[B].take(), message="B's event at B's plug-in")
    assert (other.delivery_info["routing_key"], json.loads(other.body)) == (f"{B}.tasks.task_status_changed", of_b)
    assert plugins[A].take() is None and plugins[B].take() is None
    wait_until(lambda: queue_depth(rabbit_config["AMQP_URI"], BRIDGE_QUEUE) == 0, message="the bridge's queue empty")


def test_a_plugin_can_narrow_its_binding_to_one_source(bridge, plugins, rabbit_config):
    plugins[A].subscribe(f"{A}.broadcast.*")
    publish_task_event(rabbit_config["AMQP_URI"], A)
    body = make_event("broadcast", "broadcast_cancelled", A, broadcast_id="b1", title="Bão số 3", level="emergency")
    Publisher(rabbit_config["AMQP_URI"]).publish_event("broadcast", "broadcast_cancelled", body)
    message = wait_until(lambda: plugins[A].take(), message="the broadcast event")
    assert message.delivery_info["routing_key"] == f"{A}.broadcast.broadcast_cancelled"
    assert plugins[A].take() is None


@pytest.mark.parametrize("payload", [{}, {"commune_id": None}, {"commune_id": "xa.1"}, {"commune_id": "#"},
                                     {"commune_id": "x" * 65}], ids=["missing", "null", "dot", "wildcard", "long"])
def test_an_event_without_a_valid_commune_is_dead_lettered(bridge, rabbit_config, payload):
    amqp_uri = rabbit_config["AMQP_URI"]
    Publisher(amqp_uri).publish_event("tasks", "task_overdue", dict(payload, event_id="e" * 16))
    [letter] = wait_until(lambda: list_dead_letters(amqp_uri), message="the dead letter")
    assert (letter["event_id"], letter["queue"], letter["event"], letter["attempts"]) == (
        "e" * 16, BRIDGE_QUEUE, "tasks.task_overdue", 0)
    assert "commune_id" in letter["error"]
    # replayed, it comes back to the bridge with its origin, and is dead-lettered again as it was
    assert replay(amqp_uri) == 1
    wait_until(lambda: [row["event"] for row in list_dead_letters(amqp_uri)] == ["tasks.task_overdue"],
               message="the replayed letter dead-lettered again")
    assert queue_depth(amqp_uri, BRIDGE_QUEUE) == 0


def test_an_event_waits_in_the_queue_while_the_bridge_is_stopped(container_factory, config, plugins, rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    first = container_factory(IntegrationService, config)
    first.start()
    plugins[A].subscribe(f"{A}.#")
    first.stop()
    body = publish_task_event(amqp_uri, A)
    assert queue_depth(amqp_uri, BRIDGE_QUEUE) == 1
    assert plugins[A].take() is None

    container_factory(IntegrationService, config).start()
    message = wait_until(lambda: plugins[A].take(), message="the waiting event delivered")
    assert json.loads(message.body) == body
    wait_until(lambda: queue_depth(amqp_uri, BRIDGE_QUEUE) == 0, message="the bridge's queue empty")


def test_a_refused_republish_is_not_acknowledged_and_is_tried_again(container_factory, config, plugins,
                                                                   rabbit_config):
    """A plug-in queue that rejects publishes makes the broker nack the
    bridge's copy: the event stays in integration.bridge until a copy is
    confirmed."""
    amqp_uri = rabbit_config["AMQP_URI"]
    bridge = container_factory(IntegrationService, config)
    bridge.start()
    plugins[A].subscribe(f"{A}.#", queue="full", **{"x-max-length": 0, "x-overflow": "reject-publish"})
    retried = BRIDGED.labels("retried")._value.get()
    body = publish_task_event(amqp_uri, A)
    wait_until(lambda: BRIDGED.labels("retried")._value.get() >= retried + 2, message="two refused attempts")
    bridge.stop()
    assert queue_depth(amqp_uri, BRIDGE_QUEUE) == 1

    plugins[A].channel.queue_delete(plugins[A].prefix + "full")
    plugins[A].subscribe(f"{A}.#")
    container_factory(IntegrationService, config).start()
    message = wait_until(lambda: plugins[A].take(), message="the event delivered once accepted")
    assert json.loads(message.body) == body
    wait_until(lambda: queue_depth(amqp_uri, BRIDGE_QUEUE) == 0, message="the bridge's queue empty")


def test_the_process_acknowledges_only_after_the_confirm(rabbit_config, plugins, tmp_path):
    """``nameko run`` as deploy/local/env.sh runs it, killed -9 right after
    the broker confirmed the copy: the event is still in integration.bridge
    and comes again after a restart (plug-ins deduplicate on event_id)."""
    amqp_uri = rabbit_config["AMQP_URI"]
    fault_file = tmp_path / "fault"
    process = ServiceProcess("integration", {"AMQP_URI": amqp_uri}, tmp_path / "integration.log")
    process.start(TINXA_FAULT_POINT="integration.republished", TINXA_FAULT_FILE=str(fault_file))
    try:
        plugins[A].subscribe(f"{A}.#")
        body = publish_task_event(amqp_uri, A)
        wait_until(fault_file.exists, message="the bridge to reach the point after the confirm")
        first = wait_until(lambda: plugins[A].take(), message="the confirmed copy")
        process.kill9()
        wait_until(lambda: queue_depth(amqp_uri, BRIDGE_QUEUE) == 1, message="the unacknowledged event back")

        process.start(TINXA_FAULT_POINT="")
        again = wait_until(lambda: plugins[A].take(), message="the event again after the restart")
        assert json.loads(first.body) == json.loads(again.body) == body
        wait_until(lambda: queue_depth(amqp_uri, BRIDGE_QUEUE) == 0, message="the bridge's queue empty")
        import requests

        metrics = requests.get(f"http://127.0.0.1:{process.metrics_port}/metrics", timeout=5).text
        assert 'tinxa_integration_messages_total{outcome="republished"} 1.0' in metrics
    finally:
        process.stop()

