"""Fan-out commands and batched answers.

End to end on the DeviceLink edge (``python -m services.telemetry.edge``,
streams from a child process as in ``test_edge.py``): one command message
per commune reaches the listed devices connected to the edge, and their
answers come back as one event per commune and flush. Then the pieces:
``make_fanout_command``'s validation and ``AnswerBatcher`` with a fake bus.
"""
import asyncio
import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from kombu import Exchange

from services.telemetry.answers import AnswerBatcher
from services.telemetry.edge import Stream
from services.telemetry.edge_store import Session
from services.telemetry.ingest import DeviceBuffer
from services.telemetry.tests.devicelink_client import DeviceLinkClient, issue_code, issue_credential, register
from services.telemetry.tests.test_edge import ROOT, EdgeProcess, routed
from shared.bus import Publisher
from shared.devicelink import FANOUT_EXCHANGE, fanout_routing_key, make_command, make_fanout_command
from shared.errors import InvalidInput
from shared.events import validate_event
from shared.grpc_edge import BusUnavailable
from shared.testing import event_tap, wait_until
from tinxa.devicelink.v1 import devicelink_pb2 as pb

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def start_edge(tmp_path, rabbit_config, mongo_uri, mongo_database):
    """Start an edge on the test's vhost and database, with extra settings."""
    started = []

    def start(**env):
        process = EdgeProcess(tmp_path / f"edge-{len(started)}.log", AMQP_URI=rabbit_config["AMQP_URI"],
                              MONGO_URI=mongo_uri, TELEMETRY_DATABASE=mongo_database.name,
                              EDGE_ID=f"edge-fanout-{len(started)}", **env)
        started.append(process)
        wait_until(lambda: process.health() == "SERVING", timeout=20, message="the edge to serve")
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def db(mongo_database):
    return mongo_database


@pytest.fixture
def clients():
    """Child processes holding device streams: ``clients(edge)`` starts one."""
    started = []

    def client(edge):
        started.append(DeviceLinkClient(edge.target))
        return started[-1]

    yield client
    for one in started:
        one.stop()


def fanned_out(amqp_uri, command):
    """Publish a fan-out as a sender does (mandatory): False if no edge has
    a stream of the commune."""
    publisher = Publisher(amqp_uri)
    try:
        return publisher.publish(command, exchange=Exchange(FANOUT_EXCHANGE, type="direct", durable=True),
                                 mandatory=True, routing_key=fanout_routing_key(command["commune_id"]))
    finally:
        publisher.close()


def connect(device, db, name, device_id, commune_id="xuan-hung"):
    register(db, device_id=device_id, commune_id=commune_id)
    device.open(name, issue_credential(db, device_id=device_id, commune_id=commune_id))
    device.welcome(name)


def expired_fanout(device_ids, commune_id="xuan-hung"):
    """For waiting on a binding: an edge that gets it drops it, no device sees it."""
    return make_fanout_command(commune_id, device_ids, "stop", {}, now=datetime.now(timezone.utc) - timedelta(hours=1))


def test_a_fanout_reaches_the_listed_devices_of_its_commune_and_their_acks_come_back_in_one_event(
        start_edge, clients, db, rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    edge = start_edge(ANSWER_FLUSH_SECONDS="1")  # both acks arrive well within one flush
    device = clients(edge)
    connect(device, db, "a", "loa-01")
    connect(device, db, "b", "loa-02")
    connect(device, db, "c", "loa-03")  # same commune, not listed
    connect(device, db, "other", "loa-01", commune_id="tan-lap")  # listed id, another commune
    wait_until(lambda: fanned_out(amqp_uri, expired_fanout(["loa-01"])), message="the commune's fan-out binding")

    command = make_fanout_command("xuan-hung", ["loa-01", "loa-02", "loa-01", "loa-99"], "play",
                                  {"content_id": "kc-1", "title": "Cảnh báo lũ", "priority": "emergency"})
    assert command["device_ids"] == ["loa-01", "loa-02", "loa-99"]
    assert fanned_out(amqp_uri, command)
    for name in ("a", "b"):
        received = device.wait_for(name, "command")
        assert received["command_id"] == command["command_id"]
        assert received["play"] == {"content_id": "kc-1", "title": "Cảnh báo lũ", "priority": "PRIORITY_EMERGENCY",
                                    "repeat": 1}
    # a command sent after the fan-out reaches C: had the fan-out reached it, it would be there first
    later = make_command("xuan-hung", "loa-03", "set_volume", {"volume": 40})
    assert routed(amqp_uri, later)
    device.wait_for("c", "command")
    assert [c["command_id"] for c in device.received("c", "command")] == [later["command_id"]]
    later = make_command("tan-lap", "loa-01", "set_volume", {"volume": 40})
    assert routed(amqp_uri, later)
    device.wait_for("other", "command")
    assert [c["command_id"] for c in device.received("other", "command")] == [later["command_id"]]

    with event_tap(amqp_uri, "telemetry", routing_key="commands_acknowledged") as events:
        for name in ("a", "b"):
            device.send(name, {"command_ack": {"command_id": command["command_id"],
                                               "status": "COMMAND_STATUS_ACCEPTED", "message": "playing"}})
        for name in ("a", "b"):
            assert device.wait_for(name, "receipt")["id"] == command["command_id"]
        [event] = wait_until(events, message="the acks' event")
    assert event.name == "commands_acknowledged"
    assert validate_event("telemetry", event.name, event.body) == event.body
    assert event.body["commune_id"] == "xuan-hung"
    assert sorted((a["device_id"], a["command_id"], a["status"]) for a in event.body["acks"]) == [
        ("loa-01", command["command_id"], "accepted"), ("loa-02", command["command_id"], "accepted")]
    assert "expired at" in edge.log()


def test_a_fanout_for_a_commune_with_no_stream_is_unroutable(start_edge, clients, db, rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    edge = start_edge()
    command = expired_fanout(["loa-01", "loa-02"])
    assert not fanned_out(amqp_uri, command)  # the edge runs, but no device of the commune is connected

    device = clients(edge)
    connect(device, db, "a", "loa-01")
    connect(device, db, "b", "loa-02")
    connect(device, db, "other", "loa-09", commune_id="tan-lap")
    wait_until(lambda: fanned_out(amqp_uri, command), message="the commune's fan-out binding")
    device.close("a")
    device.wait_end("a")
    assert fanned_out(amqp_uri, command)  # loa-02 still holds the commune's binding
    device.close("b")
    device.wait_end("b")
    wait_until(lambda: not fanned_out(amqp_uri, command), message="the binding to go with the last stream")
    assert fanned_out(amqp_uri, expired_fanout(["loa-09"], commune_id="tan-lap"))


def test_play_reports_arrive_in_one_plays_reported_event_with_their_true_times(start_edge, clients, db,
                                                                                rabbit_config):
    edge = start_edge(ANSWER_FLUSH_SECONDS="1")
    device = clients(edge)
    connect(device, db, "a", "loa-01")
    connect(device, db, "b", "loa-02")
    reports = {
        "a": {"report_id": "r-a", "command_id": "c-1", "content_id": "bt-12", "title": "Bản tin sáng",
              "started_at": "2026-11-26T06:00:00Z", "ended_at": "2026-11-26T06:05:00.250Z", "completed": True},
        "b": {"report_id": "r-b", "slot_id": "slot-6h", "content_id": "bt-12",
              "started_at": "2026-11-25T23:00:00Z", "ended_at": "2026-11-25T23:01:30Z", "completed": False},
    }
    with event_tap(rabbit_config["AMQP_URI"], "telemetry", routing_key="plays_reported") as events:
        for name, report in reports.items():
            device.send(name, {"play_report": report})
        assert device.wait_for("a", "receipt")["id"] == "r-a"
        assert device.wait_for("b", "receipt")["id"] == "r-b"
        [event] = wait_until(events, message="the reports' event")
    assert validate_event("telemetry", "plays_reported", event.body) == event.body
    assert event.body["commune_id"] == "xuan-hung"
    assert sorted(event.body["reports"], key=lambda r: r["report_id"]) == [
        {"device_id": "loa-01", "report_id": "r-a", "command_id": "c-1", "content_id": "bt-12",
         "title": "Bản tin sáng", "slot_id": "", "started_at": "2026-11-26T06:00:00.000Z",
         "ended_at": "2026-11-26T06:05:00.250Z", "completed": True},
        {"device_id": "loa-02", "report_id": "r-b", "command_id": "", "content_id": "bt-12", "title": "",
         "slot_id": "slot-6h", "started_at": "2026-11-25T23:00:00.000Z", "ended_at": "2026-11-25T23:01:30.000Z",
         "completed": False},
    ]


def test_sigterm_publishes_pending_answers_and_receipts_them_before_ending_the_streams(start_edge, clients, db,
                                                                                       rabbit_config):
    edge = start_edge(ANSWER_FLUSH_SECONDS="60")  # only the drain flushes within this test
    device = clients(edge)
    connect(device, db, "a", "loa-01")
    with event_tap(rabbit_config["AMQP_URI"], "telemetry", routing_key="commands_acknowledged") as events:
        device.send("a", {"command_ack": {"command_id": "c-9", "status": "COMMAND_STATUS_COMPLETED"}})
        wait_until(lambda: edge.metric("tinxa_devicelink_answers_pending") == 1, message="the ack to arrive")
        assert device.received("a", "receipt") == []
        edge.process.send_signal(signal.SIGTERM)
        assert edge.process.wait(timeout=10) == 0
        [event] = wait_until(events, message="the drained ack's event")
    assert [a["command_id"] for a in event.body["acks"]] == ["c-9"]
    assert device.wait_for("a", "receipt")["id"] == "c-9"
    assert device.wait_end("a")["code"] == "UNAVAILABLE"


def test_simulated_devices_answer_a_fanout_at_once_and_forget_what_was_receipted(start_edge, db, rabbit_config,
                                                                                tmp_path):
    """The simulator against the real edge: samples every 10 minutes and a
    30 s keepalive, so an ack that waited for the device's next sample or
    timer would miss the deadline."""
    amqp_uri = rabbit_config["AMQP_URI"]
    edge = start_edge()
    devices = [f"loa-{i:02}" for i in range(20)]
    codes = []
    for device_id in devices:
        register(db, device_id=device_id)
        codes.append({"device_id": device_id, "code": issue_code(db, device_id=device_id), "kind": "loudspeaker",
                      "village": None})
    (tmp_path / "codes.json").write_text(json.dumps(codes))
    simulator = [sys.executable, "-m", "services.telemetry.simulator"]
    subprocess.run([*simulator, "provision", "--target", edge.target, "--codes", tmp_path / "codes.json",
                    "--out", tmp_path / "credentials.json"], cwd=ROOT, check=True, capture_output=True, timeout=60)
    stats = tmp_path / "stats.json"
    with open(tmp_path / "sim.out", "wb") as out:
        fleet = subprocess.Popen([*simulator, "run", "--target", edge.target, "--credentials",
                                  tmp_path / "credentials.json", "--sample-interval", "600", "--ramp", "0",
                                  "--stats-interval", "0.5", "--stats-file", stats, "--faults", "0"],
                                 cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: edge.metric("tinxa_devicelink_streams_open") == len(devices), timeout=20,
                   message="every simulated device to connect")
        wait_until(lambda: fanned_out(amqp_uri, expired_fanout(devices)), message="the commune's fan-out binding")
        command = make_fanout_command("xuan-hung", devices, "play",
                                      {"content_id": "kc-1", "priority": "emergency", "duration_seconds": 1})
        with event_tap(amqp_uri, "telemetry") as events:
            sent_at = time.monotonic()
            assert fanned_out(amqp_uri, command)

            def answered(status):
                return {a["device_id"] for e in events() if e.name == "commands_acknowledged"
                        for a in e.body["acks"] if a["status"] == status}
            wait_until(lambda: answered("accepted") == set(devices), timeout=10, interval=0.02,
                       message="every device's acceptance")
            accepted_in = time.monotonic() - sent_at
            wait_until(lambda: answered("completed") == set(devices), timeout=10, message="every play's end")
            reports = wait_until(lambda: [r for e in events() if e.name == "plays_reported"
                                          for r in e.body["reports"]], message="the proofs of play")
        assert accepted_in < 2.0
        assert sorted(r["device_id"] for r in reports) == devices and all(r["completed"] for r in reports)
        wait_until(lambda: json.loads(stats.read_text())["receipts"] == 3 * len(devices),
                   message="a receipt for every ack and report")
    finally:
        fleet.send_signal(signal.SIGTERM)
        fleet.wait(timeout=20)
    final = json.loads(stats.read_text())
    assert final["final"] and final["errors"] == {}, (tmp_path / "sim.out").read_text()
    assert (final["commands_received"], final["command_acks_sent"], final["plays_reported"]) == (
        len(devices), 2 * len(devices), len(devices))


# --- make_fanout_command -------------------------------------------------------------


def test_a_fanout_command_lists_each_device_once_in_order_and_expires():
    command = make_fanout_command("xuan-hung", ["LOA-2", "LOA-1", "LOA-2"], "set_volume", {"volume": 80}, now=NOW,
                                  command_id="c-1")
    assert command == {"command_id": "c-1", "commune_id": "xuan-hung", "device_ids": ["LOA-2", "LOA-1"],
                       "kind": "set_volume", "params": {"volume": 80}, "issued_at": "2026-11-26T06:00:00.000Z",
                       "expires_at": "2026-11-26T06:10:00.000Z"}
    assert fanout_routing_key(command["commune_id"]) == "xuan-hung"
    assert len(make_fanout_command("xuan-hung", [f"loa-{i}" for i in range(10_000)], "stop", {})["device_ids"]) == 10_000


@pytest.mark.parametrize("commune, device_ids, kind, params, problem", [
    ("xuan*", ["LOA-1"], "stop", {}, "commune_id"),
    ("xuan-hung", "LOA-1", "stop", {}, "device_ids"),
    ("xuan-hung", None, "stop", {}, "device_ids"),
    ("xuan-hung", [], "stop", {}, "device_ids"),
    ("xuan-hung", ["LOA-1", "LOA.2"], "stop", {}, "device_ids"),
    ("xuan-hung", ["LOA-1", 7], "stop", {}, "device_ids"),
    ("xuan-hung", ["x" * 65], "stop", {}, "device_ids"),
    ("xuan-hung", [f"loa-{i}" for i in range(10_001)], "stop", {}, "device_ids"),
    ("xuan-hung", ["LOA-1"], "reboot", {}, "kind"),
    ("xuan-hung", ["LOA-1"], "play", {"content_id": "c", "priority": "urgent"}, "priority"),
    ("xuan-hung", ["LOA-1"], "stop", {"surprise": 1}, "surprise"),
])
def test_a_bad_fanout_command_is_refused_naming_the_problem(commune, device_ids, kind, params, problem):
    with pytest.raises(InvalidInput) as raised:
        make_fanout_command(commune, device_ids, kind, params, now=NOW)
    assert problem in str(raised.value)


# --- AnswerBatcher ---------------------------------------------------------------------


class FakeBus:
    """Records what is published; refuses while ``up`` is False."""

    def __init__(self, up=True):
        self.up = up
        self.published = []

    async def publish_event(self, source, name, payload, context_data=None):
        await asyncio.sleep(0)
        if not self.up:
            raise BusUnavailable("Hệ thống tạm thời không nhận được dữ liệu.")
        self.published.append((source, name, payload))


def stream_of(device_id, commune_id="xuan-hung"):
    return Stream(Session("c" * 32, commune_id, device_id, 90, 0), f"s-{device_id}",
                  DeviceBuffer(commune_id, device_id, 90, 0))


def sent(stream):
    return [stream.outbox.get_nowait() for _ in range(stream.outbox.qsize())]


def ack(command_id="c-1", status=pb.COMMAND_STATUS_ACCEPTED):
    return pb.CommandAck(command_id=command_id, status=status, at={"seconds": 1_790_000_000})


def report(report_id="r-1"):
    return pb.PlayReport(report_id=report_id, started_at={"seconds": 1_790_000_000},
                         ended_at={"seconds": 1_790_000_300}, completed=True)


@pytest.mark.parametrize("bus_up", [True, False])
def test_receipts_only_once_the_broker_confirmed_the_batch(bus_up):
    async def scenario():
        bus = FakeBus(up=bus_up)
        batcher = AnswerBatcher(bus)
        a, b = stream_of("loa-01"), stream_of("loa-02")
        batcher.add_ack(a, ack("c-1"), 1_790_000_001)
        batcher.add_ack(a, ack("c-1", pb.COMMAND_STATUS_COMPLETED), 1_790_000_002)
        batcher.add_report(b, report("r-1"))
        await batcher.flush()
        return bus, sent(a), sent(b)

    bus, to_a, to_b = asyncio.run(scenario())
    if bus_up:
        assert [m.receipt.id for m in to_a] == ["c-1", "c-1"] and [m.receipt.id for m in to_b] == ["r-1"]
        assert [(name, len(p.get("acks", p.get("reports")))) for _, name, p in bus.published] == [
            ("commands_acknowledged", 2), ("plays_reported", 1)]
    else:
        assert to_a == [] and to_b == []  # the devices keep their answers and send them again


def test_one_event_per_commune_and_at_most_500_answers_each():
    async def scenario():
        bus = FakeBus()
        batcher = AnswerBatcher(bus)
        for i in range(1_200):
            batcher.add_ack(stream_of(f"loa-{i}"), ack(), 1_790_000_001)
        other = stream_of("loa-01", commune_id="tan-lap")
        batcher.add_ack(other, ack(), 1_790_000_001)
        await batcher.flush()
        return bus, sent(other)

    bus, to_other = asyncio.run(scenario())
    sizes = sorted((p["commune_id"], len(p["acks"])) for _, _, p in bus.published)
    assert sizes == [("tan-lap", 1), ("xuan-hung", 200), ("xuan-hung", 500), ("xuan-hung", 500)]
    for source, name, payload in bus.published:
        assert validate_event(source, name, payload) == payload
        assert {a["device_id"] for a in payload["acks"]} <= {f"loa-{i}" for i in range(1_200)} | {"loa-01"}
    assert [m.receipt.id for m in to_other] == ["c-1"]


def test_the_flusher_waits_for_more_answers_but_publishes_a_full_batch_at_once():
    async def scenario():
        bus = FakeBus()
        batcher = AnswerBatcher(bus, flush_seconds=0.2, max_batch=3)
        flusher = asyncio.ensure_future(batcher.run())
        try:
            streams = [stream_of(f"loa-{i}") for i in range(3)]
            batcher.add_ack(streams[0], ack(), 1_790_000_001)
            await asyncio.sleep(0.05)
            early = len(bus.published)  # still gathering
            batcher.add_ack(streams[1], ack(), 1_790_000_001)
            batcher.add_ack(streams[2], ack(), 1_790_000_001)  # full
            await asyncio.sleep(0.05)
            full = [len(p["acks"]) for _, _, p in bus.published]
            batcher.add_ack(streams[0], ack("c-2"), 1_790_000_001)
            await asyncio.sleep(0.4)
            return early, full, [len(p["acks"]) for _, _, p in bus.published]
        finally:
            flusher.cancel()

    early, full, later = asyncio.run(scenario())
    assert (early, full, later) == (0, [3], [3, 1])


@pytest.mark.parametrize("message, problem", [
    (pb.CommandAck(status=pb.COMMAND_STATUS_ACCEPTED), "command_id"),
    (pb.CommandAck(command_id="c-1"), "status"),
    (pb.PlayReport(started_at={"seconds": 1_790_000_000}, ended_at={"seconds": 1_790_000_300}), "report_id"),
    (pb.PlayReport(report_id="r-1", ended_at={"seconds": 1_790_000_300}), "started_at"),
    (pb.PlayReport(report_id="r-1", started_at={"seconds": 1_790_000_300}, ended_at={"seconds": 1_790_000_000}),
     "ended_at"),
])
def test_a_malformed_answer_is_refused_naming_the_field_and_not_queued(message, problem):
    async def scenario():
        bus = FakeBus()
        batcher = AnswerBatcher(bus)
        with pytest.raises(InvalidInput) as raised:
            if isinstance(message, pb.CommandAck):
                batcher.add_ack(stream_of("loa-01"), message, 1_790_000_001)
            else:
                batcher.add_report(stream_of("loa-01"), message)
        await batcher.flush()
        return raised.value, bus.published

    error, published = asyncio.run(scenario())
    assert problem in error.message and published == []
