"""The reliable event handler on the real broker and store: dedupe, retry with
backoff, dead-lettering, replay."""
import pytest
from nameko.rpc import rpc

from shared import deadletters
from shared.bus import Publisher
from shared.events import make_event
from shared.handlers import event_handler
from shared.mongo import MongoClientProvider
from shared.testing import wait_until


class Recorder:
    """A consumer whose handler fails while ``failures_left`` > 0."""

    name = "recorder"
    failures_left = 0
    seen = []

    db = MongoClientProvider()

    @event_handler("tasks", "task_status_changed")
    def on_status(self, payload):
        Recorder.seen.append(payload["event_id"])
        if Recorder.failures_left > 0:
            Recorder.failures_left -= 1
            raise RuntimeError("database briefly unavailable")

    @rpc
    def ping(self):
        return "pong"


def status_event(**overrides):
    fields = dict(task_id="t1", plan_id="p1", code="I.1.1", title="Xây dựng Quy chế",
                  old_status="not_started", new_status="done")
    fields.update(overrides)
    return make_event("tasks", "task_status_changed", "xuan-hung", **fields)


@pytest.fixture
def recorder(container_factory, service_config):
    Recorder.seen = []
    Recorder.failures_left = 0
    container = container_factory(Recorder, service_config)
    container.start()
    return container


@pytest.fixture
def publish(service_config):
    publisher = Publisher(service_config["AMQP_URI"])
    yield lambda payload: publisher.publish_event("tasks", "task_status_changed", payload)
    publisher.close()


def test_a_redelivered_event_is_handled_once(recorder, publish, mongo_database):
    event = status_event()
    publish(event)
    publish(event)
    second = status_event(task_id="t2")
    publish(second)
    wait_until(lambda: second["event_id"] in Recorder.seen, message="second event")
    assert Recorder.seen.count(event["event_id"]) == 1
    assert mongo_database.processed_events.count_documents({"event_id": event["event_id"]}) == 1


def test_a_failing_handler_is_retried_until_it_succeeds(recorder, publish, mongo_database):
    Recorder.failures_left = 2
    event = status_event()
    publish(event)
    wait_until(lambda: mongo_database.processed_events.find_one({"event_id": event["event_id"], "state": "done"}),
               message="processed")
    assert Recorder.seen.count(event["event_id"]) == 3


def test_a_handler_that_keeps_failing_is_dead_lettered_then_replayed(recorder, publish, service_config, mongo_database):
    Recorder.failures_left = 3  # HANDLER_MAX_ATTEMPTS is 3 in tests
    event = status_event()
    publish(event)
    letters = wait_until(lambda: deadletters.list_dead_letters(service_config["AMQP_URI"]), message="dead letter")
    assert [letter["event_id"] for letter in letters] == [event["event_id"]]
    assert "database briefly unavailable" in letters[0]["error"]
    assert letters[0]["event"] == "tasks.task_status_changed"
    # listing does not consume
    assert len(deadletters.list_dead_letters(service_config["AMQP_URI"])) == 1
    assert mongo_database.processed_events.find_one({"event_id": event["event_id"]}) is None

    assert deadletters.replay(service_config["AMQP_URI"]) == 1
    wait_until(lambda: mongo_database.processed_events.find_one({"event_id": event["event_id"], "state": "done"}),
               message="replayed")
    assert deadletters.list_dead_letters(service_config["AMQP_URI"]) == []


def test_a_payload_that_breaks_its_contract_is_dead_lettered_at_once(recorder, publish, service_config):
    bad = status_event()
    del bad["commune_id"]
    publish(bad)
    letters = wait_until(lambda: deadletters.list_dead_letters(service_config["AMQP_URI"]), message="dead letter")
    assert "invalid payload" in letters[0]["error"] and letters[0]["attempts"] == 0
    assert bad["event_id"] not in Recorder.seen
