"""The device simulator (``python -m services.telemetry.simulator``).

Unit tests drive ``Device`` on a made-up clock, no network. The rest start the
simulator as a user does, in its own process (this test process runs under
eventlet, where grpcio streaming clients deadlock), against ``FakeEdge``: a
minimal DeviceLink servicer, also in a process of its own
(``python -m services.telemetry.tests.test_simulator fake-edge …``), that
journals what it receives as JSON lines, so these tests check the simulator
against the contract (devicelink.proto, API.md) and not against the edge's
own progress. The same fake, with ``--report-seconds``, is what the
simulator's throughput was measured against.
"""
import argparse
import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp
from kombu import Connection, Exchange, Queue

from services.telemetry.simulator.device import Device, Profile
from shared.testing import free_port, wait_until
from tinxa.devicelink.v1 import devicelink_pb2 as pb
from tinxa.devicelink.v1 import devicelink_pb2_grpc

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_790_000_000.0  # a fixed moment for the unit tests' clock (2026-09-21, 21:13 in Vietnam)


# --- Device: pure behaviour on a made-up clock ---------------------------------------

def loudspeaker(**kwargs):
    kwargs.setdefault("now", T0)
    kwargs.setdefault("sample_interval", 5.0)
    return Device("ls-1", "xuan-hung", "loudspeaker", "Thôn 1", seed=1, **kwargs)


def command(command_id, kind, now=T0, ttl=600, **params):
    return {"command_id": command_id, "kind": kind, "params": params, "issued_at": now, "expires_at": now + ttl}


def plays(device):
    return [(entry["content_id"], entry["started_at"] - T0, entry["ended_at"] - T0, entry["completed"])
            for entry in device.drain_log() if entry["kind"] == "play"]


def outbox(device, kind):
    return [item for item in device.outbox if item["type"] == kind]


def test_an_emergency_interrupts_the_play_and_the_programme_resumes_after_it():
    device = loudspeaker()
    device.handle_command(command("c-news", "play", content_id="news", duration_seconds=30), T0)
    device.advance(T0 + 10)
    device.handle_command(command("c-alert", "play", content_id="alert", priority="emergency",
                                  duration_seconds=5), T0 + 10)
    device.advance(T0 + 60)

    assert plays(device) == [("news", 0, 10, False), ("alert", 10, 15, True), ("news", 15, 35, True)]
    reports = outbox(device, "report")
    assert [(r["command_id"], r["started_at"] - T0, r["ended_at"] - T0, r["completed"]) for r in reports] == [
        ("c-news", 0, 10, False), ("c-alert", 10, 15, True), ("c-news", 15, 35, True)]
    assert len({r["report_id"] for r in reports}) == 3
    acks = [(a["command_id"], a["status"], a["at"] - T0) for a in outbox(device, "ack")]
    assert acks == [("c-news", "accepted", 0), ("c-alert", "accepted", 10), ("c-alert", "completed", 15),
                    ("c-news", "completed", 35)]


def test_only_an_emergency_interrupts_other_plays_wait_by_priority():
    device = loudspeaker()
    device.handle_command(command("c-1", "play", content_id="first", duration_seconds=30), T0)
    device.handle_command(command("c-2", "play", content_id="normal", duration_seconds=5), T0 + 10)
    device.handle_command(command("c-3", "play", content_id="high", priority="high", duration_seconds=5), T0 + 11)
    device.advance(T0 + 100)
    assert plays(device) == [("first", 0, 30, True), ("high", 30, 35, True), ("normal", 35, 40, True)]
    assert [a["message"] for a in outbox(device, "ack") if a["status"] == "accepted"] == [
        "playing", "queued", "queued"]


def test_an_emergency_the_moment_a_play_begins_leaves_no_empty_report():
    device = loudspeaker()
    device.handle_command(command("c-1", "play", content_id="news", duration_seconds=10), T0)
    device.handle_command(command("c-2", "play", content_id="alert", priority="emergency", duration_seconds=5), T0)
    device.advance(T0 + 100)
    assert plays(device) == [("alert", 0, 5, True), ("news", 5, 15, True)]


def test_a_slot_interrupted_by_an_emergency_resumes_until_the_slot_ends():
    device = loudspeaker()
    entries = [{"slot_id": "s-1", "starts_at": T0 + 100, "ends_at": T0 + 200, "content_id": "morning",
                "title": "Bản tin sáng"}]
    device.handle_command(command("c-sync", "schedule_sync", version=3, entries=entries), T0)
    device.advance(T0 + 150)
    device.handle_command(command("c-alert", "play", now=T0 + 150, content_id="alert", priority="emergency",
                                  duration_seconds=20), T0 + 150)
    device.advance(T0 + 300)

    assert plays(device) == [("morning", 100, 150, False), ("alert", 150, 170, True), ("morning", 170, 200, True)]
    assert {r["slot_id"] for r in outbox(device, "report") if r["content_id"] == "morning"} == {"s-1"}
    assert device.schedule_version == 3


def test_plays_made_offline_are_reported_after_reconnecting_with_their_own_times_until_receipted():
    device = loudspeaker()
    device.link_up(0)
    entries = [{"slot_id": f"s-{n}", "starts_at": T0 + 600 * n, "ends_at": T0 + 600 * n + 300,
                "content_id": f"prog-{n}"} for n in (1, 2)]
    device.handle_command(command("c-sync", "schedule_sync", version=1, entries=entries), T0)
    assert [item["status"] for item in device.take_unsent()] == ["accepted", "completed"]
    for item in list(device.outbox):
        device.receipt(item["id"])

    # the link is down from here: the device keeps playing from its copy
    device.advance(T0 + 1800)
    assert plays(device) == [("prog-1", 600, 900, True), ("prog-2", 1200, 1500, True)]

    device.link_up(0)
    sent = device.take_unsent()
    assert [(r["slot_id"], r["started_at"] - T0, r["ended_at"] - T0) for r in sent] == [
        ("s-1", 600, 900), ("s-2", 1200, 1500)]
    assert device.take_unsent() == []  # once per connection

    assert device.receipt(sent[0]["report_id"])
    device.link_up(0)  # the link broke before the second receipt: it goes again
    assert [r["slot_id"] for r in device.take_unsent()] == ["s-2"]


def test_samples_not_acknowledged_are_sent_again_after_the_welcome():
    device = loudspeaker(sample_interval=1.0)
    device.link_up(0)
    device.advance(T0 + 10)
    sent = device.samples_to_send(100)
    assert [s["seq"] for s in sent] == list(range(1, 11))
    assert device.ack_samples(4) == 4

    device.link_up(7)  # the new stream's Welcome: stored through 7
    assert [s["seq"] for s in device.samples_to_send(100)] == [8, 9, 10]
    assert device.samples_to_send(100) == []
    device.advance(T0 + 12)
    assert [s["seq"] for s in device.samples_to_send(100)] == [11, 12]


def test_a_welcome_ahead_of_the_device_moves_its_seq_on():
    device = loudspeaker(sample_interval=1.0)
    device.link_up(5000)  # the device lost its state; the server had stored up to 5000
    device.advance(T0 + 3)
    assert [s["seq"] for s in device.samples_to_send(10)] == [5001, 5002, 5003]
    assert device.dirty and device.seq_reserved > 5003


def test_a_restarted_device_resumes_above_every_seq_it_sent_even_if_killed():
    device = loudspeaker(sample_interval=1.0)
    saved = None
    sent = []
    for second in range(1, 2500):
        device.advance(T0 + second)
        if device.dirty:  # the runner saves before sending, as fleet.DeviceRunner does
            saved = json.loads(json.dumps(device.snapshot()))
        sent += [s["seq"] for s in device.samples_to_send(10)]
    # killed here, without a last save
    restarted = loudspeaker(sample_interval=1.0, now=T0 + 3000)
    restarted.restore(saved, T0 + 3000)
    restarted.advance(T0 + 3002)
    assert restarted.samples_to_send(10)[0]["seq"] > max(sent)


def test_after_a_clean_shutdown_seq_goes_on_without_a_gap():
    device = loudspeaker(sample_interval=1.0)
    device.advance(T0 + 10)
    device.shutdown(T0 + 10)
    restarted = loudspeaker(sample_interval=1.0, now=T0 + 20)
    restarted.restore(json.loads(json.dumps(device.snapshot())), T0 + 20)
    restarted.advance(T0 + 21)
    assert restarted.samples_to_send(10)[0]["seq"] == 11


def test_a_restart_keeps_the_schedule_and_the_unreceipted_reports():
    device = loudspeaker()
    entries = [{"slot_id": "s-1", "starts_at": T0 + 100, "ends_at": T0 + 400, "content_id": "prog"}]
    device.handle_command(command("c-sync", "schedule_sync", version=9, entries=entries), T0)
    device.shutdown(T0 + 200)  # mid-slot
    assert plays(device) == [("prog", 100, 200, False)]

    restarted = loudspeaker(now=T0 + 250)
    restarted.restore(json.loads(json.dumps(device.snapshot())), T0 + 250)
    assert restarted.schedule_version == 9
    assert len(outbox(restarted, "report")) == 1
    restarted.advance(T0 + 500)
    assert plays(restarted) == [("prog", 250, 400, True)]  # rejoins the programme on the air


@pytest.mark.parametrize("kind, params, now, status, message", [
    ("play", {"content_id": "x"}, T0 + 601, "rejected", "expired"),
    ("show_text", {"text": "Họp thôn"}, T0, "rejected", "no screen on this device"),
    ("reboot", {}, T0, "rejected", "unsupported command 'reboot'"),
    ("set_volume", {"volume": 40}, T0, "completed", "volume set"),
])
def test_commands_are_acknowledged_or_refused(kind, params, now, status, message):
    device = loudspeaker()
    device.handle_command(command("c-1", kind, **params), now)
    last = outbox(device, "ack")[-1]
    assert (last["status"], last["message"]) == (status, message)


def test_a_redelivered_command_is_not_played_twice():
    device = loudspeaker()
    device.handle_command(command("c-1", "play", content_id="news", duration_seconds=5), T0)
    device.handle_command(command("c-1", "play", content_id="news", duration_seconds=5), T0 + 1)
    device.advance(T0 + 60)
    assert plays(device) == [("news", 0, 5, True)]


def test_stop_cuts_the_play_short_and_what_it_interrupted_resumes():
    device = loudspeaker()
    device.handle_command(command("c-1", "play", content_id="news", duration_seconds=60), T0)
    device.handle_command(command("c-2", "play", content_id="alert", priority="emergency",
                                  duration_seconds=60), T0 + 10)
    device.handle_command(command("c-3", "stop", content_id="alert"), T0 + 20)
    device.advance(T0 + 200)
    assert plays(device) == [("news", 0, 10, False), ("alert", 10, 20, False), ("news", 20, 70, True)]
    assert ("c-2", "completed", "stopped") in [(a["command_id"], a["status"], a["message"])
                                               for a in outbox(device, "ack")]


def test_an_eboard_shows_text_for_its_time_and_has_a_screen_but_no_speaker_line():
    board = Device("eb-1", "xuan-hung", "eboard", None, now=T0, sample_interval=10.0, seed=2)
    board.handle_command(command("c-1", "show_text", text="Họp thôn 19h", duration_seconds=30), T0)
    board.advance(T0 + 20)
    assert board.unacked[-1]["playing_title"] == "Họp thôn 19h"
    board.advance(T0 + 100)
    shown = [entry for entry in board.drain_log() if entry["kind"] == "show_text"]
    assert [(e["text"], e["ended_at"] - e["started_at"], e["completed"]) for e in shown] == [("Họp thôn 19h", 30, True)]
    sample = board.unacked[-1]
    assert sample["speaker_line"] is None and sample["volume"] is None
    assert sample["screen"] in ("on", "off") and 0 <= sample["brightness"] <= 100


def test_a_day_of_telemetry_stays_in_realistic_ranges():
    device = loudspeaker(sample_interval=60.0)
    device.advance(T0 + 86400)
    samples = list(device.unacked)
    assert len(samples) == 1440
    assert [s["seq"] for s in samples] == list(range(1, 1441))
    assert all(-95 <= s["signal_dbm"] <= -60 for s in samples)
    assert all(28 <= s["temperature_c"] <= 45 for s in samples)
    temperatures = [s["temperature_c"] for s in samples]
    assert max(temperatures) - min(temperatures) > 8  # a day cycle, not noise
    assert len({s["signal_dbm"] for s in samples}) > 3  # it drifts
    on_mains = [s for s in samples if s["power_source"] == "mains"]
    assert all(210 <= s["mains_voltage"] <= 235 for s in on_mains)
    volumes = [s["volume"] for s in samples]
    assert sum(70 <= v <= 90 for v in volumes) > 0.9 * len(volumes)


def test_a_mains_outage_runs_the_device_on_its_sagging_battery():
    device = loudspeaker(sample_interval=60.0, profile=Profile(outage_per_hour=1000.0, outage_seconds=(3600, 3600)))
    device.advance(T0 + 3000)
    on_battery = [s for s in device.unacked if s["power_source"] == "battery"]
    assert on_battery and all(s["mains_voltage"] == 0.0 for s in on_battery)
    assert on_battery[-1]["battery_voltage"] < on_battery[0]["battery_voltage"] < 13.0


# --- the simulator as a process, against the fake edge ---------------------------------

CODES = [
    {"device_id": device_id, "code": code, "kind": kind, "village": village, "commune_id": "xuan-hung"}
    for device_id, code, kind, village in (("ls-1", "K7QM-2XPA-9RT1", "loudspeaker", "Thôn 1"),
                                           ("ls-2", "K7QM-2XPA-9RT2", "loudspeaker", "Thôn 2"),
                                           ("eb-1", "K7QM-2XPA-9RT3", "eboard", "Thôn 1"))
]


class FakeEdgeProcess:
    """``fake-edge`` in its own process; ``events()`` reads its journal."""

    def __init__(self, folder, name, port=None, codes=None, script=None, args=()):
        self.port = port or free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.journal = folder / f"{name}-journal.jsonl"
        self.output = folder / f"{name}.out"
        command = [sys.executable, "-m", "services.telemetry.tests.test_simulator", "fake-edge",
                   "--port", str(self.port), "--journal", str(self.journal), *args]
        for option, document in (("--codes", codes), ("--script", script)):
            if document is not None:
                path = folder / f"{name}{option[1:]}.json"
                path.write_text(json.dumps(document))
                command += [option, str(path)]
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: "ready" in self.output.read_text(), timeout=10, message="the fake edge")

    def events(self, kind=None, device_id=None):
        if not self.journal.exists():
            return []
        events = [json.loads(line) for line in self.journal.read_text().splitlines() if line.strip()]
        return [e for e in events if kind in (None, e["event"]) and device_id in (None, e.get("device_id"))]

    def seqs(self, device_id):
        return [seq for e in self.events("samples", device_id) for seq in e["seqs"]]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)


@pytest.fixture
def edges(tmp_path):
    started = []

    def start(name, **kwargs):
        edge = FakeEdgeProcess(tmp_path, name, **kwargs)
        started.append(edge)
        return edge

    yield start
    for edge in started:
        if edge.process.poll() is None:
            edge.process.kill()
            edge.process.wait()


class Simulator:
    def __init__(self, folder, *args, name="sim"):
        self.output = folder / f"{name}.out"
        self.errors = folder / f"{name}.err"
        with open(self.output, "wb") as out, open(self.errors, "wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "services.telemetry.simulator", *map(str, args)],
                                            cwd=ROOT, stdout=out, stderr=err)

    def wait(self, timeout=30):
        code = self.process.wait(timeout)
        assert code == 0, self.errors.read_text()
        return self

    def stats(self):
        return [json.loads(line) for line in self.output.read_text().splitlines() if line.startswith("{")]

    def kill(self, signum=signal.SIGKILL):
        self.process.send_signal(signum)


@pytest.fixture
def processes():
    started = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()


def simulator(processes, folder, *args, name="sim"):
    process = Simulator(folder, *args, name=name)
    processes.append(process)
    return process


def provisioned(processes, folder, edge, codes=CODES):
    (folder / "codes.json").write_text(json.dumps(codes))
    credentials = folder / "credentials.json"
    simulator(processes, folder, "provision", "--target", edge.target, "--codes", folder / "codes.json",
              "--out", credentials, name="provision").wait()
    return credentials


def run_args(edge, credentials, folder, *extra):
    return ["run", "--target", edge.target, "--credentials", credentials, "--log-dir", folder / "log",
            "--sample-interval", "0.2", "--batch", "5", "--ramp", "0", "--stats-interval", "1",
            "--reconnect-max", "1", *extra]


def play_log(folder):
    path = folder / "log" / "plays.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_provision_writes_private_credentials_and_skips_devices_it_has(tmp_path, processes, edges):
    edge = edges("edge", codes=CODES)
    credentials = provisioned(processes, tmp_path, edge)

    kept = json.loads(credentials.read_text())
    assert sorted(kept) == ["eb-1", "ls-1", "ls-2"]
    assert kept["eb-1"]["commune_id"] == "xuan-hung" and kept["eb-1"]["kind"] == "eboard"
    assert kept["eb-1"]["village"] == "Thôn 1" and kept["eb-1"]["credential"].startswith("eb-1.")
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert {(e["device_id"], e["model"]) for e in edge.events("provision")} == {
        ("ls-1", "SIM-LS-4G"), ("ls-2", "SIM-LS-4G"), ("eb-1", "SIM-EB-55")}

    # again, with one more device and one unknown code: only those two are tried
    more = CODES + [{"device_id": "ls-9", "code": "NOPE-NOPE-NOPE", "kind": "loudspeaker", "village": None}]
    (tmp_path / "codes.json").write_text(json.dumps(more))
    again = simulator(processes, tmp_path, "provision", "--target", edge.target, "--codes", tmp_path / "codes.json",
                      "--out", credentials, name="again")
    assert again.process.wait(30) == 1
    assert json.loads(again.output.read_text()) == {"provisioned": 0, "already": 3, "failed": 1, "credentials": 3}
    assert "ls-9: UNAUTHENTICATED" in again.errors.read_text()
    assert json.loads(credentials.read_text()) == kept


def test_run_plays_commands_reports_them_and_says_goodbye(tmp_path, processes, edges):
    script = {
        "ls-1": [
            {"after": 0.3, "command_id": "c-news", "kind": "play",
             "params": {"content_id": "news", "title": "Bản tin sáng", "duration_seconds": 2}},
            {"after": 0.8, "command_id": "c-alert", "kind": "play",
             "params": {"content_id": "alert", "priority": "emergency", "duration_seconds": 1}},
            {"after": 1.0, "command_id": "c-volume", "kind": "set_volume", "params": {"volume": 40}},
            {"after": 1.0, "command_id": "c-late", "kind": "play", "params": {"content_id": "old"}, "ttl": -5},
        ],
        "eb-1": [{"after": 0.3, "command_id": "c-text", "kind": "show_text",
                  "params": {"text": "Họp thôn lúc 19 giờ", "duration_seconds": 1}}],
    }
    edge = edges("edge", codes=CODES, script=script)
    credentials = provisioned(processes, tmp_path, edge)
    sim = simulator(processes, tmp_path, *run_args(edge, credentials, tmp_path, "--duration", "4.5",
                                                   "--stats-file", tmp_path / "stats.json")).wait()

    final = sim.stats()[-1]
    assert final["final"] and final["devices"] == 3
    assert final["samples_sent"] >= 3 * 18 and final["samples_acked"] == final["samples_sent"]
    assert final["commands_received"] == 5 and final["reconnects"] == 0 and final["errors"] == {}
    assert json.loads((tmp_path / "stats.json").read_text()) == final
    assert len(sim.stats()) >= 4  # a line every second and the last one

    plays = [(p["content_id"], p["completed"], p["priority"]) for p in play_log(tmp_path)
             if p["device_id"] == "ls-1" and p["kind"] == "play"]
    assert plays == [("news", False, "normal"), ("alert", True, "emergency"), ("news", True, "normal")]
    first, alert, resumed = [p for p in play_log(tmp_path) if p["kind"] == "play"]
    assert first["ended_at"] == alert["started_at"] and alert["ended_at"] == resumed["started_at"]
    assert [p["text"] for p in play_log(tmp_path) if p["kind"] == "show_text"] == ["Họp thôn lúc 19 giờ"]
    assert [p["volume"] for p in play_log(tmp_path) if p["kind"] == "set_volume"] == [40]

    reports = edge.events("report", "ls-1")
    assert [(r["content_id"], r["completed"]) for r in reports] == [("news", False), ("alert", True), ("news", True)]
    assert round(reports[1]["ended_at"] - reports[1]["started_at"], 1) == 1.0
    assert round(reports[0]["ended_at"] - reports[0]["started_at"] + reports[2]["ended_at"]
                 - reports[2]["started_at"], 1) == 2.0
    acks = {(a["command_id"], a["status"][len("COMMAND_STATUS_"):]) for a in edge.events("ack")}
    assert acks == {("c-news", "ACCEPTED"), ("c-news", "COMPLETED"), ("c-alert", "ACCEPTED"),
                    ("c-alert", "COMPLETED"), ("c-volume", "ACCEPTED"), ("c-volume", "COMPLETED"),
                    ("c-late", "REJECTED"), ("c-text", "ACCEPTED"), ("c-text", "COMPLETED")}
    assert final["receipts"] == len(edge.events("ack")) + len(edge.events("report"))

    for device_id in ("ls-1", "ls-2", "eb-1"):
        assert edge.seqs(device_id) == list(range(1, len(edge.seqs(device_id)) + 1))
        assert [e["event"] for e in edge.events(device_id=device_id)][-2:] == ["goodbye", "end"]
    loudspeaker_sample = edge.events("samples", "ls-2")[0]["first"]
    board_sample = edge.events("samples", "eb-1")[0]["first"]
    assert loudspeaker_sample["speakerLine"] == "SPEAKER_LINE_STATE_OK" and "screen" not in loudspeaker_sample
    assert "speakerLine" not in board_sample and board_sample["screen"].startswith("SCREEN_STATE_")


def test_a_killed_simulator_restarts_above_every_seq_it_sent(tmp_path, processes, edges):
    edge = edges("edge", codes=CODES, args=["--stored-through", "700"])
    credentials = provisioned(processes, tmp_path, edge)
    sim = simulator(processes, tmp_path, *run_args(edge, credentials, tmp_path, "--devices", "1"))
    wait_until(lambda: len(edge.seqs("eb-1")) >= 10, message="samples")
    sim.kill()  # no goodbye
    sim.process.wait()
    sent = edge.seqs("eb-1")
    assert sent[0] == 701  # the Welcome's stored_through_seq moved the new device on
    assert edge.events("goodbye") == []
    edge.stop()

    forgetful = edges("forgetful")  # stored nothing: only the state file knows the seq
    simulator(processes, tmp_path, *run_args(forgetful, credentials, tmp_path, "--devices", "1", "--duration", "1"),
              name="again").wait()
    assert forgetful.seqs("eb-1")[0] > max(sent)


def test_schedule_plays_while_the_edge_is_down_are_reported_with_their_times_after(tmp_path, processes, edges):
    entries = [{"slot_id": "slot-1", "starts_in": 1.5, "ends_in": 2.5, "content_id": "evening",
                "title": "Chương trình tối"}]
    script = {"ls-1": [{"after": 0.2, "command_id": "c-sync", "kind": "schedule_sync",
                        "params": {"version": 4, "entries": entries}}]}
    edge = edges("edge", codes=CODES, script=script)
    credentials = provisioned(processes, tmp_path, edge)
    simulator(processes, tmp_path, *run_args(edge, credentials, tmp_path, "--devices", "2"))
    wait_until(lambda: ("c-sync", "COMMAND_STATUS_COMPLETED") in [(a["command_id"], a["status"])
                                                                   for a in edge.events("ack")], message="the sync")
    slot = edge.events("command")[0]["entries"][0]
    edge.stop()
    assert time.time() < slot["starts_at"], "the edge stopped too late to test an offline slot"

    wait_until(lambda: [p for p in play_log(tmp_path) if p.get("slot_id") == "slot-1"], timeout=10,
               message="the slot played offline")
    back = edges("back", port=edge.port)
    reports = wait_until(lambda: back.events("report", "ls-1"), timeout=10, message="the report after reconnecting")
    (report,) = reports
    assert (report["slot_id"], report["content_id"], report["completed"]) == ("slot-1", "evening", True)
    assert (report["started_at"], report["ended_at"]) == (slot["starts_at"], slot["ends_at"])
    assert report["received_at"] > report["ended_at"]
    assert [h["schedule_version"] for h in back.events("hello", "ls-1")] == [4]


def test_dropped_links_reconnect_and_every_sample_is_stored(tmp_path, processes, edges):
    edge = edges("edge", codes=CODES)
    credentials = provisioned(processes, tmp_path, edge)
    sim = simulator(processes, tmp_path, *run_args(
        edge, credentials, tmp_path, "--devices", "2", "--drop-rate", "3600", "--offline-min", "0.1",
        "--offline-max", "0.3", "--sample-interval", "0.05", "--batch", "2", "--duration", "5")).wait()

    final = sim.stats()[-1]
    assert final["drops"] >= 3 and final["reconnects"] >= 3
    for device_id in ("eb-1", "ls-1"):
        seqs = edge.seqs(device_id)
        assert len(edge.events("hello", device_id)) >= 2
        assert sorted(set(seqs)) == list(range(1, max(seqs) + 1))  # resent after each drop, nothing missing
        assert max(seqs) >= 60


def test_mqtt_devices_publish_json_samples_to_the_broker(tmp_path, processes):
    commune = f"simtest{uuid.uuid4().hex[:8]}"
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps({"m-1": {
        "commune_id": commune, "kind": "loudspeaker", "village": None,
        "mqtt": {"username": "guest", "password": "guest", "topic": f"tinxa/{commune}/m-1/telemetry"}}}))
    received = []
    amqp_uri = os.environ.get("TINXA_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")
    mqtt_port = os.environ.get("TINXA_MQTT_PORT", "1884")
    with Connection(amqp_uri) as connection:
        queue = Queue(f"{commune}-telemetry", Exchange("amq.topic", type="topic", passive=True),
                      routing_key=f"tinxa.{commune}.*.telemetry", auto_delete=True)
        with connection.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())],
                                 accept=["json", "text/plain", "application/octet-stream"]):
            sim = simulator(processes, tmp_path, "run", "--credentials", credentials,
                            "--mqtt", f"127.0.0.1:{mqtt_port}", "--sample-interval", "0.2", "--batch", "5",
                            "--duration", "2.5", "--ramp", "0")

            def drained():
                try:
                    connection.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
                return sim.process.poll() is not None and sum(len(json.loads(b)["samples"]) for b in received) \
                    >= sim.stats()[-1]["samples_acked"] > 0

            wait_until(drained, timeout=15, message="the samples through RabbitMQ")
    sim.wait()
    samples = [sample for body in received for sample in json.loads(body)["samples"]]
    assert [s["seq"] for s in samples] == list(range(1, len(samples) + 1))
    assert samples[0]["sampled_at"].endswith("Z") and samples[0]["speaker_line"] == "ok"
    assert set(samples[0]) == {"seq", "sampled_at", "connection", "signal_dbm", "volume", "playback",
                               "playing_content_id", "playing_title", "power_source", "mains_voltage",
                               "battery_voltage", "temperature_c", "speaker_line", "brightness", "screen",
                               "slot_active"}
    assert sim.stats()[-1]["samples_acked"] == sim.stats()[-1]["samples_sent"]


# --- the fake edge (run in its own process) -----------------------------------------

def _stamp(seconds):
    whole = int(seconds)
    return Timestamp(seconds=whole, nanos=int((seconds - whole) * 1e9))


def _seconds(ts):
    return round(ts.seconds + ts.nanos / 1e9, 3)


def command_message(spec):
    """A ``Command`` from ``{"command_id", "kind", "params", "ttl"}``; schedule
    entries have ``starts_in``/``ends_in``: seconds from now."""
    priorities = {"normal": pb.PRIORITY_NORMAL, "high": pb.PRIORITY_HIGH, "emergency": pb.PRIORITY_EMERGENCY}
    params = dict(spec.get("params") or {})
    now = time.time()
    kind = spec["kind"]
    if kind == "play":
        params["priority"] = priorities[params.get("priority", "normal")]
        action = pb.Play(**params)
    elif kind == "schedule_sync":
        entries = [pb.ScheduleEntry(slot_id=entry["slot_id"], content_id=entry["content_id"],
                                    title=entry.get("title", ""), starts_at=_stamp(now + entry["starts_in"]),
                                    ends_at=_stamp(now + entry["ends_in"]),
                                    priority=priorities[entry.get("priority", "normal")])
                   for entry in params.get("entries", [])]
        action = pb.ScheduleSync(version=params["version"], entries=entries)
    else:
        action = {"stop": pb.Stop, "set_volume": pb.SetVolume, "show_text": pb.ShowText}[kind](**params)
    return pb.Command(command_id=spec["command_id"], issued_at=_stamp(now),
                      expires_at=_stamp(now + spec.get("ttl", 600)), **{kind: action})


class FakeEdge:
    """DeviceLink as the contract describes it, in memory: Provision from a
    codes file, Welcome with the stored seq, TelemetryAck every
    ``flush_seconds`` (and at once on Goodbye), a Receipt for every ack and
    report, scripted commands after a device's first Welcome."""

    def __init__(self, options):
        self.options = options
        self.codes = {}
        if options.codes:
            for entry in json.loads(Path(options.codes).read_text()):
                self.codes[entry["code"].replace("-", "").upper()] = entry
        self.script = json.loads(Path(options.script).read_text()) if options.script else {}
        self.stored = defaultdict(lambda: options.stored_through)
        self.received = {}
        self.queues = {}
        self.scripted = set()
        self.samples = 0
        self.journal = open(options.journal, "a", buffering=1) if options.journal else None

    def note(self, **event):
        if self.journal:
            self.journal.write(json.dumps(event) + "\n")

    def servicer(self):
        edge = self

        class Servicer(devicelink_pb2_grpc.DeviceLinkServiceServicer):
            async def Provision(self, request, context):
                entry = edge.codes.pop(request.provisioning_code.replace("-", "").upper(), None)
                if entry is None:
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown or used code")
                edge.note(event="provision", device_id=entry["device_id"], firmware=request.firmware,
                          model=request.model)
                return pb.ProvisionResponse(credential=f"{entry['device_id']}.{uuid.uuid4().hex}",
                                            commune_id=entry.get("commune_id", "xuan-hung"),
                                            device_id=entry["device_id"])

            async def Connect(self, request_iterator, context):
                return await edge.connect(context)

        return Servicer()

    async def connect(self, context):
        auth = dict(context.invocation_metadata()).get("authorization", "")
        if not auth.startswith("Bearer ") or "." not in auth:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "no credential")
        device_id = auth[len("Bearer "):].partition(".")[0]
        first = await context.read()
        if first is grpc.aio.EOF or first.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Hello first")
        queue = asyncio.Queue()
        self.queues[device_id] = queue
        await context.write(pb.ServerMessage(welcome=pb.Welcome(
            session_id=uuid.uuid4().hex, stored_through_seq=self.stored[device_id],
            keepalive_seconds=self.options.keepalive, server_time=_stamp(time.time()))))
        self.note(event="hello", device_id=device_id, stored_through=self.stored[device_id],
                  schedule_version=first.hello.schedule_version, capabilities=list(first.hello.capabilities))
        writer = asyncio.ensure_future(self._write(context, queue))
        scripted = None
        if device_id in self.script and device_id not in self.scripted:
            self.scripted.add(device_id)
            scripted = asyncio.ensure_future(self._send_script(queue, self.script[device_id]))
        journal_samples = self.journal is not None and not self.options.count_only
        try:
            while True:
                message = await context.read()
                if message is grpc.aio.EOF:
                    break
                body = message.WhichOneof("body")
                if body == "telemetry":
                    samples = message.telemetry.samples
                    self.samples += len(samples)
                    last = samples[-1].seq if samples else 0
                    if last > self.received.get(device_id, 0):
                        self.received[device_id] = last
                    if journal_samples:
                        self.note(event="samples", device_id=device_id, seqs=[s.seq for s in samples],
                                  first=MessageToDict(samples[0]) if samples else None)
                elif body == "command_ack":
                    ack = message.command_ack
                    self.note(event="ack", device_id=device_id, command_id=ack.command_id,
                              status=pb.CommandStatus.Name(ack.status), message=ack.message, at=_seconds(ack.at))
                    self._receipt(queue, ack.command_id)
                elif body == "play_report":
                    report = message.play_report
                    self.note(event="report", device_id=device_id, report_id=report.report_id,
                              command_id=report.command_id, content_id=report.content_id, slot_id=report.slot_id,
                              started_at=_seconds(report.started_at), ended_at=_seconds(report.ended_at),
                              completed=report.completed, received_at=round(time.time(), 3))
                    self._receipt(queue, report.report_id)
                elif body == "goodbye":
                    self.note(event="goodbye", device_id=device_id, reason=message.goodbye.reason)
                    self._ack(device_id)
                elif body == "ping":
                    queue.put_nowait(pb.ServerMessage(pong=pb.Pong(server_time=_stamp(time.time()))))
        finally:
            self.note(event="end", device_id=device_id)
            if self.queues.get(device_id) is queue:
                del self.queues[device_id]
            for task in (writer, scripted):
                if task is not None:
                    task.cancel()

    def _receipt(self, queue, item_id):
        if not self.options.no_receipts:
            queue.put_nowait(pb.ServerMessage(receipt=pb.Receipt(id=item_id)))

    def _ack(self, device_id):
        received = self.received.get(device_id, 0)
        if received > self.stored[device_id]:
            self.stored[device_id] = received
        queue = self.queues.get(device_id)
        if queue is not None:
            queue.put_nowait(pb.ServerMessage(telemetry_ack=pb.TelemetryAck(stored_through_seq=self.stored[device_id])))

    @staticmethod
    async def _write(context, queue):
        while True:
            await context.write(await queue.get())

    async def _send_script(self, queue, steps):
        started = time.monotonic()
        for step in steps:
            await asyncio.sleep(max(0.0, started + step["after"] - time.monotonic()))
            command = command_message(step)
            queue.put_nowait(pb.ServerMessage(command=command))
            if command.HasField("schedule_sync"):
                self.note(event="command", command_id=command.command_id, entries=[
                    {"slot_id": e.slot_id, "starts_at": _seconds(e.starts_at), "ends_at": _seconds(e.ends_at)}
                    for e in command.schedule_sync.entries])

    async def flush_forever(self):
        while True:
            await asyncio.sleep(self.options.flush_seconds)
            for device_id in list(self.queues):
                self._ack(device_id)

    async def report_forever(self):
        last, last_at = 0, time.monotonic()
        while True:
            await asyncio.sleep(self.options.report_seconds)
            now = time.monotonic()
            print(json.dumps({"samples": self.samples, "samples_per_s": round((self.samples - last) / (now - last_at)),
                              "streams": len(self.queues)}), flush=True)
            last, last_at = self.samples, now


async def serve_fake_edge(options):
    edge = FakeEdge(options)
    server = grpc.aio.server()
    devicelink_pb2_grpc.add_DeviceLinkServiceServicer_to_server(edge.servicer(), server)
    server.add_insecure_port(f"127.0.0.1:{options.port}")
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    tasks = [asyncio.ensure_future(edge.flush_forever())]
    if options.report_seconds:
        tasks.append(asyncio.ensure_future(edge.report_forever()))
    print("ready", flush=True)
    await stopping.wait()
    await server.stop(0)
    print(json.dumps({"samples": edge.samples}), flush=True)


def fake_edge_main(argv):
    parser = argparse.ArgumentParser(prog="fake-edge")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--codes")
    parser.add_argument("--script", help="{device_id: [{after, command_id, kind, params, ttl}]}")
    parser.add_argument("--journal")
    parser.add_argument("--count-only", action="store_true", help="journal no samples")
    parser.add_argument("--stored-through", type=int, default=0, help="what Welcome says for a new device")
    parser.add_argument("--keepalive", type=int, default=30)
    parser.add_argument("--flush-seconds", type=float, default=1.0)
    parser.add_argument("--no-receipts", action="store_true")
    parser.add_argument("--report-seconds", type=float, default=0.0, help="print received samples/s this often")
    asyncio.run(serve_fake_edge(parser.parse_args(argv)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["fake-edge"]:
        fake_edge_main(sys.argv[2:])


def test_reconnect_waits_offline_after_a_drop_and_backs_off_after_failures_afresh_once_connected():
    import random

    from services.telemetry.simulator.reconnect import Reconnect

    class Middle(random.Random):
        def uniform(self, a, b):
            return (a + b) / 2

    reconnect = Reconnect(Middle(), offline_seconds=(10.0, 20.0), reconnect_max=4.0)
    assert [reconnect.delay(False, False) for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert reconnect.delay(False, True) == 15.0  # a planned drop: offline for a while
    assert reconnect.delay(True, False) == 1.0  # it had connected: backing off starts afresh


def test_without_state_files_the_play_log_is_still_written_in_a_new_folder(tmp_path):
    from services.telemetry.simulator.fleet import PlayLog, StateStore

    log_dir = tmp_path / "new" / "folder"
    store, plays = StateStore(None), PlayLog(log_dir)
    device = loudspeaker()
    store.save(device)  # --no-state: nothing written
    plays.add(device, [{"kind": "play", "started_at": T0, "ended_at": T0 + 5, "content_id": "c"}])
    plays.flush()
    assert [p.name for p in log_dir.iterdir()] == ["plays.jsonl"]
