"""store.py (agent side) and hub_store.py (hub side) against the real store
(nx-27017 unless TINXA_TEST_MONGO_URI names another)."""
import threading

import pytest
from pymongo import MongoClient

from services.sync.hub_store import HubStore
from services.sync.records import DOWN_STREAMS, UP_STREAMS
from services.sync.store import SyncStore
from shared.errors import Conflict, InvalidInput, NotFound


@pytest.fixture
def store(mongo_database):
    store = SyncStore(mongo_database)
    store.create_indexes()
    return store


@pytest.fixture
def hub(mongo_database):
    store = HubStore(mongo_database)
    store.create_indexes()
    return store


def down(stream, *seqs, kind="bulletin"):
    return [{"stream": stream, "seq": seq, "kind": kind, "body": {"external_id": f"{stream}-{seq}"},
             "recorded_at": "2026-11-26T13:50:44.693Z"} for seq in seqs]


# agent side: outbox --------------------------------------------------------

def test_append_numbers_each_stream_from_one_without_gaps(store):
    assert [store.append("content", "content.item_published", {"n": i}) for i in range(3)] == [1, 2, 3]
    assert store.append("tasks", "tasks.plan_imported", {"n": 0}) == 1
    assert store.append_many("content", "content.item_archived", [{"n": 3}, {"n": 4}]) == [4, 5]
    assert store.outbox_position("content") == 5 and store.outbox_position("tasks") == 1
    assert store.outbox_position("devices") == 0
    listed = store.outbox_after("content", 2, 10)
    assert [(r["seq"], r["kind"], r["body"]) for r in listed] == [
        (3, "content.item_published", {"n": 2}), (4, "content.item_archived", {"n": 3}),
        (5, "content.item_archived", {"n": 4})]
    assert set(listed[0]) == {"stream", "seq", "kind", "body", "recorded_at"}
    assert [r["seq"] for r in store.outbox_after("content", 0, 2)] == [1, 2]
    assert store.outbox_after("content", 5, 10) == []


def test_a_redelivered_event_is_appended_once(store):
    first = store.append("content", "content.item_published", {"event_id": "e1"}, event_id="e1")
    store.append("content", "content.item_published", {"event_id": "e2"}, event_id="e2")
    again = store.append("content", "content.item_published", {"event_id": "e1"}, event_id="e1")
    assert (first, again) == (1, 1)
    assert [r["body"]["event_id"] for r in store.outbox_after("content", 0, 10)] == ["e1", "e2"]
    # records without an event id do not collide with each other (sparse index)
    assert store.append_many("content", "content.item_published", [{}, {}]) == [3, 4]


def test_concurrent_appenders_leave_no_gap_and_no_duplicate(store, mongo_uri, mongo_database):
    # separate clients, as the service's workers and a second replica would be
    results, errors = {}, []

    def appender(name):
        client = MongoClient(mongo_uri)
        try:
            own = SyncStore(client[mongo_database.name])
            results[name] = [own.append("devices", "telemetry.uptime_reported", {"by": name, "i": i})
                             for i in range(15)]
            results[name] += own.append_many("devices", "telemetry.uptime_reported",
                                             [{"by": name, "i": 15 + i} for i in range(10)])
        except Exception as err:  # reported below: a failure in a thread would pass silently
            errors.append(err)
        finally:
            client.close()

    threads = [threading.Thread(target=appender, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stored = store.outbox_after("devices", 0, 1000)
    assert [r["seq"] for r in stored] == list(range(1, 76))
    for name, seqs in results.items():
        assert seqs == sorted(seqs)  # each writer's records in its own order
        assert [r["body"]["i"] for r in stored if r["body"]["by"] == name] == list(range(25))


def test_unknown_streams_are_refused(store):
    with pytest.raises(ValueError):
        store.append("emergency", "bulletin", {})
    with pytest.raises(ValueError):
        store.store_inbox(down("content", 1))
    with pytest.raises(ValueError):
        store.set_paused("nope", True)


# agent side: inbox ---------------------------------------------------------

def test_store_inbox_skips_what_it_holds_and_keeps_the_rest_in_order(store):
    assert store.store_inbox(down("bulletins", 1, 2, 3)) == 3
    assert store.store_inbox(down("bulletins", 2, 3, 4, 5) + down("emergency", 1)) == 3
    assert store.store_inbox(down("bulletins", 5)) == 0
    assert store.inbox_position("bulletins") == 5 and store.inbox_position("emergency") == 1
    assert store.inbox_position("courses") == 0
    listed = store.inbox_after("bulletins", 1, 3)
    assert [(r["seq"], r["body"]["external_id"]) for r in listed] == [(2, "bulletins-2"), (3, "bulletins-3"),
                                                                      (4, "bulletins-4")]
    arrivals = [doc["arrival"] for doc in store._inbox.find({"stream": "bulletins"}).sort("key")]
    assert arrivals == sorted(arrivals) and len(set(arrivals)) == 5


# agent side: streams and link ----------------------------------------------

def test_stream_positions_only_move_forward(store):
    assert store.delivered("bulletins") == 0 and store.acknowledged("content") == 0
    store.set_delivered("bulletins", 7)
    store.set_delivered("bulletins", 3)
    store.set_acknowledged("content", 40)
    store.set_acknowledged("content", 12)
    assert store.delivered("bulletins") == 7 and store.acknowledged("content") == 40
    states = store.stream_states()
    assert set(states) == set(UP_STREAMS + DOWN_STREAMS)
    assert states["bulletins"] == {"paused": False, "acknowledged_seq": 0, "delivered_seq": 7}
    assert states["content"]["acknowledged_seq"] == 40


def test_pause_and_resume(store):
    assert store.paused("tasks") is False
    store.set_paused("tasks", True)
    store.set_paused("courses", True)
    assert store.paused("tasks") is True and store.stream_states()["courses"]["paused"] is True
    store.set_paused("tasks", False)
    assert store.paused("tasks") is False and store.paused("courses") is True


def test_link_state(store):
    assert store.link() == {"state": "never", "hub": None, "last_contact": None, "last_error": None}
    store.set_link(state="connected", hub="tinh:50061", last_contact="2026-11-26T13:50:44.693Z", last_error=None)
    store.set_link(state="disconnected", last_error="Không kết nối được trạm tỉnh.")
    assert store.link() == {"state": "disconnected", "hub": "tinh:50061",
                            "last_contact": "2026-11-26T13:50:44.693Z", "last_error": "Không kết nối được trạm tỉnh."}
    with pytest.raises(ValueError):
        store.set_link(state="up")
    with pytest.raises(ValueError):
        store.set_link(colour="green")


# hub side ------------------------------------------------------------------

def test_tokens_name_their_commune_until_rotated(hub):
    token = hub.add_commune("xuan-hung", "Xã Xuân Hưng")
    other = hub.add_commune("xuan-lap", "Xã Xuân Lập")
    assert hub.commune_of_token(token) == "xuan-hung" and hub.commune_of_token(other) == "xuan-lap"
    assert hub.commune_of_token("not-a-token") is None
    assert token not in str(hub.commune("xuan-hung"))  # only its digest is kept
    rotated = hub.rotate_token("xuan-hung")
    assert hub.commune_of_token(token) is None and hub.commune_of_token(rotated) == "xuan-hung"
    with pytest.raises(Conflict):
        hub.add_commune("xuan-hung", "again")
    with pytest.raises(NotFound):
        hub.rotate_token("nowhere")
    for bad in ("Xuan Hung", "xa/1", ""):
        with pytest.raises(InvalidInput):
            hub.add_commune(bad, "Xã")


def test_up_records_are_kept_per_commune(hub):
    records = [{"stream": "content", "seq": seq, "kind": "content.item_published", "body": {"n": seq},
                "recorded_at": None} for seq in (1, 2, 3)]
    assert hub.apply_up("xuan-hung", "content", records) == 3
    assert hub.apply_up("xuan-lap", "content", records[:1]) == 1
    # a concurrent apply of the same records: stops at the duplicate, answers the stored position
    assert hub.apply_up("xuan-hung", "content", records[2:]) == 3
    assert hub.up_positions("xuan-hung") == {**dict.fromkeys(UP_STREAMS, 0), "content": 3}
    assert [r["seq"] for r in hub.up_after("xuan-hung", "content", 1, 10)] == [2, 3]
    assert [r["body"] for r in hub.up_after("xuan-lap", "content", 0, 10)] == [{"n": 1}]


def test_down_records_acks_and_the_summary(hub):
    hub.add_commune("xuan-hung", "Xã Xuân Hưng")
    assert hub.send("xuan-hung", "bulletins", "bulletin", {"title": "a"}) == 1
    assert hub.send_many("xuan-hung", "bulletins", "bulletin", [{"title": "b"}, {"title": "c"}]) == [2, 3]
    assert hub.send("xuan-hung", "emergency", "bulletin", {"title": "lũ"}) == 1
    heads = hub.down_heads()["xuan-hung"]
    with pytest.raises(NotFound):
        hub.send("nowhere", "bulletins", "bulletin", {})
    with pytest.raises(InvalidInput):
        hub.send("xuan-hung", "content", "bulletin", {})
    assert hub.down_heads()["xuan-hung"] == heads
    assert [r["body"]["title"] for r in hub.down_after("xuan-hung", "bulletins", 1, 10)] == ["b", "c"]
    hub.acknowledge("xuan-hung", {"bulletins": 2})
    hub.acknowledge("xuan-hung", {"bulletins": 1, "emergency": 1})
    assert hub.down_acknowledged("xuan-hung") == {"emergency": 1, "bulletins": 2, "directives": 0, "courses": 0}
    hub.seen("xuan-hung", "tinxa-sync-agent/0.1.0")
    [summary] = hub.communes()
    assert summary["agent_version"] == "tinxa-sync-agent/0.1.0" and summary["last_contact"]
    by_stream = {entry["stream"]: entry for entry in summary["down"]}
    assert (by_stream["bulletins"]["sent"], by_stream["bulletins"]["acknowledged"],
            by_stream["bulletins"]["backlog"]) == (3, 2, 1)
    assert by_stream["bulletins"]["lag_seconds"] >= 0 and by_stream["emergency"]["lag_seconds"] == 0
