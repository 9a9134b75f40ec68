"""The sync service (agent side) as a container on the real broker and store:
events published as their producers publish them, the inbox filled as the
agent process fills it (``SyncStore.store_inbox``), the receiving services
replaced by stand-ins — and, once, reached over real nameko RPC."""
import logging
import uuid
from datetime import timedelta

import eventlet
import pytest
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook, replace_dependencies
from prometheus_client import REGISTRY

from services.sync import service as sync_service
from services.sync.records import DOWN_STREAMS, UP_KINDS, UP_STREAMS
from services.sync.service import SyncService
from services.sync.store import SyncStore
from shared.bus import Publisher
from shared.context import CONTEXT_KEY, Caller, CallerContext
from shared.errors import CALLER_ERRORS, Forbidden, InvalidInput, Unauthenticated
from shared.events import make_event
from shared.handlers import ReliableEventHandler
from shared.testing import wait_until
from shared.timeutil import iso, utcnow

C = "xuan-hung"


def who(*roles, commune_id=C):
    return Caller(subject="u1", commune_id=commune_id, roles=frozenset(roles), name="Nguyễn Thị Lan")


ADMIN, VIEWER = who("commune_admin"), who("viewer")
NEIGHBOUR = who("commune_admin", commune_id="yen-thang")
DISTRICT = Caller(subject="d1", commune_id=None, roles=frozenset({"district_admin"}))


class Receivers:
    """Stand-ins of broadcast, tasks and training: every call in one list,
    in the order made; ``trouble[external_id]`` is what the next calls for
    that record do instead of answering (an exception to raise, or a number
    of seconds to hang)."""

    def __init__(self):
        self.calls = []
        self.trouble = {}

    def _take(self, method, body, commune_id):
        self.calls.append((method, body["external_id"], commune_id))
        pending = self.trouble.get(body["external_id"])
        if pending:
            what = pending.pop(0)
            if isinstance(what, (int, float)):
                eventlet.sleep(what)
            else:
                raise what
        return {"external_id": body["external_id"]}

    def service(self, *methods):
        stand_in = type("StandIn", (), {})()
        for method in methods:
            setattr(stand_in, method, lambda body, commune_id=None, _m=method: self._take(_m, body, commune_id))
        return stand_in

    def received(self, method=None):
        return [external_id for m, external_id, _ in self.calls if method in (None, m)]


@pytest.fixture
def store(mongo_database):
    store = SyncStore(mongo_database)
    store.create_indexes()
    return store


@pytest.fixture
def receivers():
    return Receivers()


@pytest.fixture
def make_container(container_factory, service_config, receivers):
    def make(start=True, **extra):
        container = container_factory(SyncService, dict(
            service_config, COMMUNE_ID=C, DELIVER_SECONDS=0.05, DELIVER_RETRY_SECONDS=0.3,
            DELIVER_TIMEOUT_SECONDS=0.5, **extra))
        replace_dependencies(container, broadcast=receivers.service("receive_bulletin"),
                             tasks=receivers.service("receive_directive"), training=receivers.service("receive_course"))
        if start:
            container.start()
        return container
    return make


@pytest.fixture
def container(make_container):
    return make_container()


def call(container, method, *args, caller=ADMIN, **kwargs):
    context = {CONTEXT_KEY: caller.to_json()} if caller else {}
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args, **kwargs)


KINDS = {"emergency": "bulletin", "bulletins": "bulletin", "directives": "directive", "courses": "course"}


def down(stream, seq, external_id=None):
    return {"stream": stream, "seq": seq, "kind": KINDS[stream], "recorded_at": iso(),
            "body": {"external_id": external_id or f"{stream}-{seq}", "title": "Tin của tỉnh"}}


def down_entry(container, stream):
    return next(d for d in call(container, "status", caller=VIEWER)["down"] if d["stream"] == stream)


def given_up(stream):
    return REGISTRY.get_sample_value("tinxa_sync_deliveries_total", {"stream": stream, "outcome": "given_up"}) or 0


# --- up: events → outbox ------------------------------------------------------------------------

def status_changed(commune_id=C):
    return make_event("tasks", "task_status_changed", commune_id, actor="u1", task_id="t1", plan_id="p1", code="I.1",
                      title="Ban hành Quy chế", old_status="not_started", new_status="in_progress")


def outbox(mongo_database, **query):
    return list(mongo_database.outbox.find(query, {"_id": 0}).sort("key"))


def test_published_events_land_in_their_up_stream_once_even_when_published_twice(container, service_config,
                                                                                  mongo_database):
    changed = status_changed()
    counted = make_event("training", "roster_counted", C, villages=[], target=6, in_place=5, on_leave=0,
                         vacancies=1, villages_short=1, counted_at=iso())
    publisher = Publisher(service_config["AMQP_URI"])
    for source, name, event in (("tasks", "task_status_changed", changed), ("tasks", "task_status_changed", changed),
                                ("training", "roster_counted", counted)):
        publisher.publish_event(source, name, event)
    publisher.close()
    wait_until(lambda: len(outbox(mongo_database)) == 2, message="two up records")
    eventlet.sleep(1.0)  # the second copy has long been consumed (retries back off 0.05 s)
    [task] = outbox(mongo_database, stream="tasks")
    assert (task["seq"], task["kind"], task["event_id"]) == (1, "tasks.task_status_changed", changed["event_id"])
    assert task["body"] == changed
    [training] = outbox(mongo_database, stream="training")
    assert (training["seq"], training["kind"], training["body"]) == (1, "training.roster_counted", counted)


def test_an_event_handled_again_after_a_crash_is_not_appended_again(container, mongo_database):
    changed = status_changed()
    for _ in range(2):  # straight into the worker: what a redelivery after a crash before "done" does
        with entrypoint_hook(container, "on_task_status_changed") as hook:
            hook(changed)
    assert [r["seq"] for r in outbox(mongo_database, stream="tasks")] == [1]


def test_another_communes_events_are_not_recorded(container, service_config, mongo_database):
    theirs, ours = status_changed("yen-thang"), status_changed()
    publisher = Publisher(service_config["AMQP_URI"])
    publisher.publish_event("tasks", "task_status_changed", theirs)
    publisher.publish_event("tasks", "task_status_changed", ours)
    publisher.close()
    wait_until(lambda: mongo_database.processed_events.find_one({"event_id": theirs["event_id"], "state": "done"}),
               message="their event handled")
    wait_until(lambda: outbox(mongo_database), message="ours recorded")
    assert [r["event_id"] for r in outbox(mongo_database)] == [ours["event_id"]]


def test_every_event_of_the_contract_has_a_handler_that_appends_it_to_its_stream(container, mongo_database):
    handlers = {(e.source_service, e.event_type): e.method_name for e in container.entrypoints
                if isinstance(e, ReliableEventHandler)}
    expected = {tuple(kind.split(".")): stream for stream, kinds in UP_KINDS.items() for kind in kinds}
    assert set(handlers) == set(expected)
    for (source, name), method in handlers.items():
        with entrypoint_hook(container, method) as hook:
            hook({"event_id": uuid.uuid4().hex, "commune_id": C, "source": source})
    recorded = {r["kind"]: r["stream"] for r in outbox(mongo_database)}
    assert recorded == {f"{source}.{name}": stream for (source, name), stream in expected.items()}


# --- down: inbox → services -------------------------------------------------------------------

def test_inbox_records_reach_their_services_in_order_as_the_system_of_this_commune(container, store, receivers):
    store.store_inbox([down("bulletins", n) for n in (1, 2, 3)] + [down("directives", n) for n in (1, 2)]
                      + [down("courses", 1)])
    wait_until(lambda: len(receivers.calls) == 6, message="six records handed over")
    assert receivers.received("receive_bulletin") == ["bulletins-1", "bulletins-2", "bulletins-3"]
    assert receivers.received("receive_directive") == ["directives-1", "directives-2"]
    assert receivers.received("receive_course") == ["courses-1"]
    assert {commune_id for _, _, commune_id in receivers.calls} == {C}
    wait_until(lambda: [(d["delivered"], d["backlog"]) for d in call(container, "status")["down"]]
               == [(0, 0), (3, 0), (2, 0), (1, 0)], message="delivered positions")
    eventlet.sleep(0.3)  # later passes hand nothing over again
    assert len(receivers.calls) == 6


def backlog(count):
    return [down("bulletins", n) for n in range(1, count + 1)]


def test_an_emergency_overtakes_a_backlog_of_ten_thousand_bulletins(make_container, store, receivers):
    store.store_inbox(backlog(10_000))
    store.store_inbox([down("emergency", 1, "bao-so-9")])
    make_container()
    wait_until(lambda: len(receivers.calls) >= 50, message="deliveries under way")
    assert receivers.received()[0] == "bao-so-9"
    assert receivers.received()[1:50] == [f"bulletins-{n}" for n in range(1, 50)]


def test_an_emergency_arriving_during_a_backlog_is_handed_over_next(container, store, receivers):
    store.store_inbox(backlog(10_000))
    wait_until(lambda: len(receivers.calls) >= 100, message="the backlog under way")
    store.store_inbox([down("emergency", 1, "lu-quet")])
    handed_over_before = len(receivers.calls)
    position = wait_until(lambda: receivers.received().index("lu-quet") if "lu-quet" in receivers.received() else None,
                          message="the emergency handed over")
    # at most the one bulletin already on its way when the emergency was stored went first
    assert position <= handed_over_before + 1
    assert len(receivers.calls) < 10_000


def test_a_record_refused_as_bad_input_is_given_up_logged_and_counted(container, store, receivers, caplog):
    receivers.trouble["directives-1"] = [InvalidInput("Dữ liệu không hợp lệ — issued_on: thiếu")]
    before = given_up("directives")
    with caplog.at_level(logging.ERROR, logger="services.sync.service"):
        store.store_inbox([down("directives", 1), down("directives", 2)])
        wait_until(lambda: down_entry(container, "directives")["delivered"] == 2, message="the stream moved on")
    assert receivers.received() == ["directives-1", "directives-2"]
    assert given_up("directives") == before + 1
    assert any("directives/1" in r.getMessage() and "issued_on" in r.getMessage() for r in caplog.records)


def test_a_service_that_does_not_answer_keeps_its_record_and_holds_only_its_own_streams(container, store, receivers):
    receivers.trouble["courses-1"] = [2.0, RuntimeError("training is restarting")]  # a hang, then an error
    store.store_inbox([down("courses", 1), down("courses", 2)])
    wait_until(lambda: receivers.received() == ["courses-1"], message="the first attempt")
    assert down_entry(container, "courses")["delivered"] == 0
    store.store_inbox([down("bulletins", 1)])
    wait_until(lambda: "bulletins-1" in receivers.received(), message="other services served meanwhile")
    wait_until(lambda: down_entry(container, "courses")["delivered"] == 2, timeout=10, message="courses delivered")
    assert receivers.received("receive_course") == ["courses-1", "courses-1", "courses-1", "courses-2"]


def test_a_paused_down_stream_waits_until_resumed(container, store, receivers):
    paused = call(container, "pause_stream", "directives")
    assert paused == {"stream": "directives", "received": 0, "delivered": 0, "backlog": 0, "paused": True}
    store.store_inbox([down("directives", 1), down("bulletins", 1)])
    wait_until(lambda: receivers.received() == ["bulletins-1"], message="the bulletin")
    store.store_inbox([down("bulletins", 2)])
    wait_until(lambda: "bulletins-2" in receivers.received(), message="a later pass")
    assert receivers.received("receive_directive") == []
    assert down_entry(container, "directives") == {"stream": "directives", "received": 1, "delivered": 0,
                                                   "backlog": 1, "paused": True}
    call(container, "resume_stream", "directives")
    wait_until(lambda: receivers.received("receive_directive") == ["directives-1"], message="delivered once resumed")


# --- real RPC ---------------------------------------------------------------------------------

class BroadcastService:
    """A broadcast service that answers ``receive_bulletin`` over RPC and
    keeps who called it."""

    name = "broadcast"
    caller = CallerContext()
    received = []

    @rpc(expected_exceptions=CALLER_ERRORS)
    def receive_bulletin(self, request, commune_id=None):
        caller = self.caller.current()
        self.received.append((caller.subject, caller.kind, commune_id, request["external_id"]))
        if request["external_id"] == "bad":
            raise InvalidInput("level: thiếu mức bản tin")
        return {"state": "sending"}


def test_over_rpc_records_go_as_the_system_and_a_service_not_running_holds_its_stream(
        container_factory, service_config, store, caplog):
    BroadcastService.received = []
    container_factory(BroadcastService, service_config).start()
    sync = container_factory(SyncService, dict(service_config, COMMUNE_ID=C, DELIVER_SECONDS=0.05,
                                               DELIVER_RETRY_SECONDS=0.3))
    sync.start()
    store.store_inbox([down("emergency", 1, "bad"), down("emergency", 2, "bao-so-9"), down("directives", 1)])
    wait_until(lambda: len(BroadcastService.received) == 2, message="both bulletins over RPC")
    assert BroadcastService.received == [("system", "system", C, "bad"), ("system", "system", C, "bao-so-9")]
    wait_until(lambda: down_entry(sync, "emergency")["delivered"] == 2, message="the bad one given up")
    wait_until(lambda: any("directives/1" in r.getMessage() and "tasks" in r.getMessage() for r in caplog.records
                           if r.levelno == logging.WARNING), message="the directive tried")
    assert down_entry(sync, "directives") == {"stream": "directives", "received": 1, "delivered": 0, "backlog": 1,
                                              "paused": False}


# --- operators --------------------------------------------------------------------------------

def test_status_shows_every_stream_and_the_link(make_container, store, mongo_database):
    for n in range(3):
        store.append("tasks", "tasks.task_status_changed", {"n": n}, event_id=f"e{n}")
    store.set_acknowledged("tasks", 1)
    an_hour_ago = iso(utcnow() - timedelta(hours=1))
    mongo_database.outbox.update_one({"stream": "tasks", "seq": 2}, {"$set": {"recorded_at": an_hour_ago}})
    store.store_inbox([down("courses", 1), down("courses", 2)])
    store.set_paused("courses", True)
    container = make_container()
    status = call(container, "status", caller=VIEWER)
    assert status["commune_id"] == C
    assert status["link"] == {"state": "never", "hub": None, "last_contact": None, "last_error": None}
    assert [u["stream"] for u in status["up"]] == list(UP_STREAMS)
    assert [d["stream"] for d in status["down"]] == list(DOWN_STREAMS)
    tasks = next(u for u in status["up"] if u["stream"] == "tasks")
    assert {k: v for k, v in tasks.items() if k != "lag_seconds"} == {
        "stream": "tasks", "produced": 3, "acknowledged": 1, "backlog": 2, "paused": False}
    assert 3590 < tasks["lag_seconds"] < 3700
    content = next(u for u in status["up"] if u["stream"] == "content")
    assert (content["produced"], content["backlog"], content["lag_seconds"]) == (0, 0, 0)
    courses = next(d for d in status["down"] if d["stream"] == "courses")
    assert courses == {"stream": "courses", "received": 2, "delivered": 0, "backlog": 2, "paused": True}
    store.set_acknowledged("tasks", 3)
    store.set_link(state="connected", hub="hub.ninhbinh.gov.vn:443", last_contact=iso(), last_error=None)
    status = call(container, "status", caller=VIEWER)
    assert status["link"]["state"] == "connected" and status["link"]["hub"] == "hub.ninhbinh.gov.vn:443"
    assert next(u for u in status["up"] if u["stream"] == "tasks")["lag_seconds"] == 0


def gauge(name, direction, stream):
    return REGISTRY.get_sample_value(name, {"direction": direction, "stream": stream})


def test_the_stream_gauges_follow_status_and_the_timer(make_container, store, mongo_database):
    for metric in (sync_service.BACKLOG, sync_service.LAG, sync_service.PAUSED):
        metric.clear()  # what earlier tests' containers left
    for n in range(3):
        store.append("tasks", "tasks.task_status_changed", {"n": n}, event_id=f"g{n}")
    store.set_acknowledged("tasks", 1)
    an_hour_ago = iso(utcnow() - timedelta(hours=1))
    mongo_database.outbox.update_one({"stream": "tasks", "seq": 2}, {"$set": {"recorded_at": an_hour_ago}})
    store.store_inbox([{**down("courses", 1), "recorded_at": iso(utcnow() - timedelta(minutes=10))},
                       down("courses", 2)])
    store.set_paused("courses", True)
    # no status call: the timer (eager, then every 0.1 s here) sets them
    container = make_container(STREAM_METRICS_SECONDS=0.1)
    wait_until(lambda: gauge("tinxa_sync_backlog", "down", "courses") == 2)
    assert gauge("tinxa_sync_backlog", "up", "tasks") == 2
    assert 3590 < gauge("tinxa_sync_lag_seconds", "up", "tasks") < 3700
    assert 590 < gauge("tinxa_sync_lag_seconds", "down", "courses") < 700
    assert gauge("tinxa_sync_stream_paused", "down", "courses") == 1
    assert gauge("tinxa_sync_stream_paused", "up", "tasks") == 0
    for stream in UP_STREAMS:
        assert gauge("tinxa_sync_backlog", "up", stream) is not None
    for stream in DOWN_STREAMS:
        assert gauge("tinxa_sync_lag_seconds", "down", stream) is not None
    assert (gauge("tinxa_sync_backlog", "up", "content"), gauge("tinxa_sync_lag_seconds", "up", "content")) == (0, 0)
    container.stop()
    # status sets them too: the hub applied everything, the courses went to training
    store.set_acknowledged("tasks", 3)
    store.set_delivered("courses", 2)
    call(make_container(STREAM_METRICS_SECONDS=3600), "status", caller=VIEWER)
    assert gauge("tinxa_sync_backlog", "up", "tasks") == 0 and gauge("tinxa_sync_lag_seconds", "up", "tasks") == 0
    assert gauge("tinxa_sync_backlog", "down", "courses") == 0
    assert gauge("tinxa_sync_lag_seconds", "down", "courses") == 0


def test_pausing_an_up_stream_answers_its_entry(container, store):
    entry = call(container, "pause_stream", "devices")
    assert entry["stream"] == "devices" and entry["paused"] is True and store.paused("devices")
    assert call(container, "resume_stream", "devices")["paused"] is False and not store.paused("devices")


@pytest.mark.parametrize("method, args, caller, kwargs, error", [
    ("status", (), NEIGHBOUR, {}, Forbidden),  # another commune's administrator
    ("status", (), ADMIN, {"commune_id": "yen-thang"}, Forbidden),
    ("status", (), DISTRICT, {"commune_id": "yen-thang"}, Forbidden),  # this agent serves xuan-hung only
    ("status", (), None, {}, Unauthenticated),
    ("pause_stream", ("bulletins",), VIEWER, {}, Forbidden),
    ("pause_stream", ("bulletins",), NEIGHBOUR, {}, Forbidden),
    ("resume_stream", ("bulletins",), who("operator"), {}, Forbidden),
    ("pause_stream", ("weather",), ADMIN, {}, InvalidInput),
])
def test_refusals(container, store, method, args, caller, kwargs, error):
    with pytest.raises(error):
        call(container, method, *args, caller=caller, **kwargs)
    assert not any(store.paused(stream) for stream in DOWN_STREAMS)


def test_a_district_administrator_reads_the_agents_commune(container):
    assert call(container, "status", caller=DISTRICT)["commune_id"] == C
    assert call(container, "status", caller=DISTRICT, commune_id=C)["commune_id"] == C


def test_the_service_needs_its_commune(container_factory, service_config):
    container = container_factory(SyncService, dict(service_config, COMMUNE_ID=""))
    with pytest.raises(RuntimeError, match="COMMUNE_ID"):
        container.start()
