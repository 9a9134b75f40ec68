"""The outbox: events stored with a state change reach the broker, including
those a crash left unpublished."""
import pytest
from nameko.rpc import rpc

from shared.events import outgoing
from shared.mongo import Repository, Store
from shared.testing import event_tap, wait_until


class NoteRepository(Repository):
    collection_name = "notes"

    def add(self, doc, events):
        return self._insert_with_events(doc, events)


class NoteService:
    name = "notes"
    notes = Store(NoteRepository)

    @rpc
    def ping(self):
        return "pong"


def event(task_id):
    return outgoing("tasks", "task_status_changed", "xuan-hung", task_id=task_id, plan_id="p", code="I.1",
                    title="t", old_status="not_started", new_status="done")


@pytest.fixture
def received(service_config):
    with event_tap(service_config["AMQP_URI"], "tasks") as tap:
        yield lambda: [message.body for message in tap()]


def test_events_left_in_documents_are_published_when_the_service_starts(
        container_factory, service_config, mongo_database, received):
    # as a crashed process leaves them: state written, events not yet published
    repo = NoteRepository(mongo_database)
    first, second = event("a"), event("b")
    repo.add({"_id": "n1", "text": "x"}, [first, second])
    assert mongo_database.notes.find_one({"_id": "n1"})["_outbox"]

    container = container_factory(NoteService, service_config)
    container.start()

    ids = wait_until(lambda: len(received()) >= 2 and [b["event_id"] for b in received()], message="relayed events")
    assert sorted(ids) == sorted([first.event_id, second.event_id])
    wait_until(lambda: "_outbox" not in mongo_database.notes.find_one({"_id": "n1"}), message="outbox emptied")
    assert mongo_database.notes.find_one({"_id": "n1"})["text"] == "x"


def test_a_document_without_events_has_no_outbox(mongo_database):
    NoteRepository(mongo_database).add({"_id": "n2", "text": "y"}, [])
    assert "_outbox" not in mongo_database.notes.find_one({"_id": "n2"})
