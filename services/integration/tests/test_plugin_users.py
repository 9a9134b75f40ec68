"""Plug-ins' broker users (shared.broker_admin) against this machine's
RabbitMQ on the test's own vhost: what the management API holds, and what
the broker then refuses a plug-in connecting with its own credentials."""
import pytest
from amqp import Message
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from services.integration.service import integration_exchange
from services.integration.tests.helpers import A, B, PASSWORD, PluginClient, api, connect, quoted
from shared.broker_admin import BrokerUsers
from shared.testing import closed_by_broker, wait_until


@pytest.fixture
def broker(rabbit_config):
    users = BrokerUsers.from_config(rabbit_config)
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        integration_exchange()(connection.channel()).declare()
    yield users
    for commune_id, name in ((A, "sensor"), (A, "other"), (B, "sensor")):
        users.remove_plugin(commune_id, name)


@pytest.fixture
def plugin(broker):
    broker.grant_plugin(A, "sensor", PASSWORD)
    client = PluginClient(broker.vhost, A, "sensor")
    yield client
    client.close()


@pytest.mark.parametrize("commune_id, name", [
    ("xa.1", "n"), ("xa-1", "n.x"), ("xa-1", "#"), ("xa-1", "*"), ("", "n"), ("xa-1", "x" * 65), (None, "n")])
def test_a_plugin_name_is_two_routing_key_words(commune_id, name):
    with pytest.raises(ValueError):
        BrokerUsers.plugin_username(commune_id, name)


def test_a_plugin_user_is_named_after_its_commune():
    assert BrokerUsers.plugin_username("xuan-hung", "tram_do_mua") == "plugin.xuan-hung.tram_do_mua"


def test_the_grant_sets_escaped_permissions_and_topic_permissions(broker):
    user = broker.grant_plugin(A, "sensor", PASSWORD)
    assert user == f"plugin.{A}.sensor"
    assert api(f"/users/{quoted(user)}")["tags"] in ("", [])
    [permissions] = api(f"/users/{quoted(user)}/permissions")
    escaped = A.replace("-", r"\-")
    own = rf"plugin\.{escaped}\.sensor\."
    assert (permissions["vhost"], permissions["configure"], permissions["write"], permissions["read"]) == (
        broker.vhost, rf"^{own}.*", rf"^(tinxa\.integration|{own}.*)$", rf"^(tinxa\.integration|{own}.*)$")
    [topic] = api(f"/topic-permissions/{quoted(broker.vhost)}/{quoted(user)}")
    assert (topic["exchange"], topic["write"], topic["read"]) == (
        "tinxa.integration", rf"^{escaped}\.plugin\.sensor\.", rf"^{escaped}\.")


def test_a_plugin_binds_its_commune_and_publishes_as_itself(plugin):
    queue = plugin.subscribe(f"{A}.#")
    plugin.channel.queue_bind(queue, "tinxa.integration", f"{A}.broadcast.*")
    plugin.channel.basic_publish_confirm(Message(b'{"x": 1}', content_type="application/json"),
                                         exchange="tinxa.integration", routing_key=f"{A}.plugin.sensor.reading")
    message = wait_until(lambda: plugin.take(), message="the plug-in's own message")
    assert (message.delivery_info["routing_key"], message.body) == (f"{A}.plugin.sensor.reading", b'{"x": 1}')
    assert plugin.channel.is_open


def _bind(plugin, key):
    queue = plugin.subscribe()
    plugin.channel.queue_bind(queue, "tinxa.integration", key)


def _publish(plugin, key):
    plugin.channel.basic_publish_confirm(Message(b"{}"), exchange="tinxa.integration", routing_key=key)


REFUSED = [
    pytest.param(_bind, f"{B}.#", id="bind another commune"),
    pytest.param(_bind, "#", id="bind every commune"),
    pytest.param(_bind, "*.tasks.*", id="bind a wildcard commune"),
    pytest.param(_publish, f"{B}.plugin.x.y", id="publish as another commune"),
    pytest.param(_publish, f"{A}.tasks.x", id="publish as a service"),
    pytest.param(_publish, f"{A}.plugin.other.x", id="publish as another plug-in"),
    pytest.param(_publish, f"{A}.plugin.sensor", id="publish without a subject"),
    pytest.param(lambda plugin, key: plugin.channel.queue_bind(plugin.subscribe(), "tasks.events", key), "#",
                 id="bind a service's own events exchange"),
    pytest.param(lambda plugin, key: plugin.channel.queue_declare(key, durable=True, auto_delete=False),
                 f"plugin.{B}.sensor.events", id="declare another plug-in's queue"),
    pytest.param(lambda plugin, key: plugin.channel.basic_get(key), "integration.bridge",
                 id="read the bridge's queue"),
]


@pytest.mark.parametrize("attempt, key", REFUSED)
def test_the_broker_refuses_a_plugin_outside_its_commune(broker, plugin, rabbit_config, attempt, key):
    with Connection(rabbit_config["AMQP_URI"]) as admin:
        channel = admin.channel()
        channel.queue_declare("integration.bridge", durable=True, auto_delete=False)
        channel.exchange_declare("tasks.events", "topic", durable=True, auto_delete=False)
    # publish refusals arrive asynchronously: basic_publish_confirm waits for the answer
    with pytest.raises(AccessRefused) as refused:
        attempt(plugin, key)
    # the broker closed the channel (channel.close 403; py-amqp reopens it at once)
    assert refused.value.reply_code == 403 and "ACCESS_REFUSED" in refused.value.reply_text
    # only the channel: the connection goes on, and what is allowed still works
    plugin.subscribe(f"{A}.#")


def test_a_plugin_of_another_commune_gets_its_own_confinement(broker, plugin):
    broker.grant_plugin(B, "sensor", PASSWORD)
    other = PluginClient(broker.vhost, B, "sensor")
    try:
        other.subscribe(f"{B}.#")
        with pytest.raises(AccessRefused):
            other.channel.queue_bind(other.prefix + "events", "tinxa.integration", f"{A}.#")
    finally:
        other.close()


def test_listing_and_removing_plugins(broker):
    broker.grant_plugin(A, "sensor", PASSWORD)
    broker.grant_plugin(A, "other", PASSWORD)
    broker.grant_plugin(B, "sensor", PASSWORD)
    assert broker.list_plugins(A) == [
        {"username": f"plugin.{A}.other", "commune_id": A, "name": "other"},
        {"username": f"plugin.{A}.sensor", "commune_id": A, "name": "sensor"}]
    everyone = [p["username"] for p in broker.list_plugins()]
    assert {f"plugin.{A}.other", f"plugin.{A}.sensor", f"plugin.{B}.sensor"} <= set(everyone)
    assert not any(name.startswith("device.") or name == "guest" for name in everyone)

    open_connection = connect(broker.vhost, f"plugin.{A}.sensor")
    broker.remove_plugin(A, "sensor")
    assert api(f"/users/{quoted(f'plugin.{A}.sensor')}") is None
    with pytest.raises(Exception):  # the login is refused
        connect(broker.vhost, f"plugin.{A}.sensor")
    wait_until(lambda: closed_by_broker(open_connection), timeout=10, message="the open connection to be closed")
    open_connection.release()
    assert [p["name"] for p in broker.list_plugins(A)] == ["other"]
    broker.remove_plugin(A, "sensor")  # nothing left to remove is fine


def test_a_new_password_ends_the_old_logins(broker):
    broker.grant_plugin(A, "sensor", "cũ")
    old = connect(broker.vhost, f"plugin.{A}.sensor", "cũ")
    broker.grant_plugin(A, "sensor", "mới")
    wait_until(lambda: closed_by_broker(old), timeout=10, message="the old connection to be closed")
    old.release()
    with pytest.raises(Exception):
        connect(broker.vhost, f"plugin.{A}.sensor", "cũ")
    connect(broker.vhost, f"plugin.{A}.sensor", "mới").release()



def test_the_recipes_of_api_md_work_within_the_permissions(broker):
    broker.grant_plugin(A, "sensor", PASSWORD)
    url = f"amqp://plugin.{A}.sensor:{quoted(PASSWORD)}@127.0.0.1:5672/{quoted(broker.vhost)}"
    exchange = Exchange("tinxa.integration", type="topic", no_declare=True)
    queue = Queue(f"plugin.{A}.sensor.events", exchange=exchange, durable=True, routing_key=f"{A}.plugin.*.*")
    received = []
    with Connection(url) as consuming, Connection(url, transport_options={"confirm_publish": True}) as publishing:
        with consuming.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())],
                                accept=["json"]):
            producer = publishing.Producer(exchange=exchange)
            producer.publish({"rain_mm": 12.5}, routing_key=f"{A}.plugin.sensor.reading", delivery_mode=2,
                             retry=False)
            with pytest.raises(AccessRefused):
                producer.publish({"x": 1}, routing_key=f"{B}.plugin.sensor.reading", retry=False)
            consuming.drain_events(timeout=5)
    assert received == [{"rain_mm": 12.5}]
