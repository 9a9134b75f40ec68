"""Runs N simulated devices in one asyncio process.

Every device has a ``DeviceRunner``: a timer on the event loop (no task, no
sleep) that wakes when the device has something due (``Device.next_wakeup``),
advances it, saves its state file when its ``seq`` reservation or outbox
changed, hands its play log to ``PlayLog`` and lets its transport send.
Devices keep living while their link is down; a drop (Poisson, ``drop_rate``
per device and connected hour) cuts a DeviceLink stream with no Goodbye.

gRPC devices share channels (``streams_per_channel`` streams on one HTTP/2
connection each). Stats go to stdout as one JSON line every
``stats_interval`` seconds and at the end (and to ``stats_file``).

In ``log_dir``: ``state/<device_id>.json`` (what a restarted simulator
resumes from) and ``plays.jsonl`` (what played, was shown or set, when).
"""
import asyncio
import json
import logging
import math
import os
import random
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from services.telemetry.simulator import grpc_link, mqtt_link
from services.telemetry.simulator.device import MAX_SAMPLES_AHEAD, Device, Profile
from shared.timeutil import iso

log = logging.getLogger(__name__)

PLAY_LOG_FLUSH_SECONDS = 0.5
STALL_SAMPLES = 60


@dataclass
class FleetOptions:
    target: str = "127.0.0.1:50051"
    devices: int = 0  # 0: every device in the credentials
    sample_interval: float = 5.0
    batch: int = 1
    drop_rate: float = 0.0  # drops per device and connected hour
    offline_seconds: tuple = (1.0, 5.0)  # how long a dropped device stays away
    reconnect_max: float = 30.0  # the longest back-off between failed connection attempts
    duration: float = 0.0  # 0: until SIGTERM/SIGINT
    log_dir: str = None
    keep_state: bool = True  # False: no state files (a restart starts afresh); for benchmarks
    stats_file: str = None
    stats_interval: float = 10.0
    mqtt: str = "127.0.0.1:1884"
    mqtt_vhost: str = None
    tls: bool = False
    streams_per_channel: int = 100
    ramp: float = 2.0  # connections start spread over this many seconds
    goodbye_timeout: float = 5.0
    faults: float = 1.0  # multiplies the rates of rare events (outages, faults)


class Stats:
    COUNTERS = ("connected", "samples_sent", "samples_acked", "commands_received", "command_acks_sent",
                "receipts", "plays_reported", "reconnects", "drops")

    def __init__(self):
        for name in self.COUNTERS:
            setattr(self, name, 0)
        self.errors = {}

    def error(self, name):
        self.errors[name] = self.errors.get(name, 0) + 1

    def snapshot(self):
        return {name: getattr(self, name) for name in self.COUNTERS}


class StateStore:
    """A JSON file per device; nothing when there is no ``log_dir``."""

    def __init__(self, log_dir):
        self.directory = Path(log_dir) / "state" if log_dir else None
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)

    def load(self, device_id):
        if not self.directory:
            return None
        try:
            return json.loads((self.directory / f"{device_id}.json").read_text())
        except FileNotFoundError:
            return None

    def save(self, device):
        snapshot = device.snapshot()
        if not self.directory:
            return
        path = self.directory / f"{device.device_id}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(snapshot))
        os.replace(temporary, path)


def _iso(seconds):
    return iso(datetime.fromtimestamp(seconds, timezone.utc)) if seconds is not None else None


class PlayLog:
    """``plays.jsonl``: one line per play, text shown, volume set, schedule kept."""

    def __init__(self, log_dir):
        self.path = Path(log_dir) / "plays.jsonl" if log_dir else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lines = []

    def add(self, device, entries):
        if not self.path:
            return
        for entry in entries:
            line = {"device_id": device.device_id, "commune_id": device.commune_id, **entry}
            line["started_at"] = _iso(entry["started_at"])
            line["ended_at"] = _iso(entry["ended_at"])
            self.lines.append(json.dumps(line, ensure_ascii=False))

    def flush(self):
        if self.lines:
            with open(self.path, "a", encoding="utf-8") as out:
                out.write("\n".join(self.lines) + "\n")
            self.lines = []


class DeviceRunner:
    """Drives one device: its timer, its state file, its transport."""

    def __init__(self, fleet, device, drop_rate, rng):
        self.fleet = fleet
        self.device = device
        self.drop_rate = drop_rate
        self.rng = rng
        self.transport = None
        self.next_drop = math.inf
        self.halted = False
        self._handle = None
        self._loop = None

    def start(self, loop):
        self._loop = loop
        self.tick()

    def on_connected(self):
        if self.drop_rate > 0:
            self.next_drop = time.time() + self.rng.expovariate(self.drop_rate / 3600.0)
        self.tick()

    def tick(self):
        """Everything due now; then sleep until the next thing is due."""
        now = time.time()
        device, transport, fleet = self.device, self.transport, self.fleet
        device.skip_missed_samples(now, STALL_SAMPLES)
        device.advance(now)
        if device.dirty:
            fleet.store.save(device)  # before any seq beyond the saved reservation leaves
        if device.log:
            fleet.play_log.add(device, device.drain_log())
        if transport.connected:
            if now >= self.next_drop:
                self.next_drop = math.inf
                transport.drop()
            else:
                transport.push(now)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self.halted or self._loop is None:
            return
        if transport.connected:  # wake when a batch is full, not for every sample
            ahead = transport.batch - 1 - device.unsent_count()
            wake = min(device.next_wakeup(ahead), transport.next_deadline(), self.next_drop)
        else:
            wake = device.next_wakeup(MAX_SAMPLES_AHEAD)
        self._handle = self._loop.call_later(max(0.0, wake - now), self.tick)

    def halt(self, now):
        """Switch the device off: its plays are cut short and reported."""
        self.halted = True
        self.next_drop = math.inf
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self.device.shutdown(now)
        self.tick()


class Fleet:
    def __init__(self, options, credentials):
        self.options = options
        self.credentials = credentials
        self.stats = Stats()
        # a state file per device, written before the device sends anything new: what a
        # restarted simulator resumes from; one file write per command for each device
        self.store = StateStore(options.log_dir if options.keep_state else None)
        self.play_log = PlayLog(options.log_dir)
        self.runners = []
        self.channels = []
        self.stopping = None
        self._started = None
        self._last_line = (0.0, 0)
        self.loop_lag_ms = 0

    def _build(self, now):
        options = self.options
        profile = Profile().scaled(options.faults)
        selected = sorted(self.credentials)
        if options.devices:
            if options.devices > len(selected):
                raise SystemExit(f"--devices {options.devices}: the credentials hold only {len(selected)} devices")
            selected = selected[:options.devices]
        mqtt_host, _, mqtt_port = (options.mqtt or "").rpartition(":")
        grpc_count = 0
        for device_id in selected:
            entry = self.credentials[device_id]
            try:
                device = Device(device_id, entry["commune_id"], entry.get("kind") or "loudspeaker",
                                entry.get("village"), now=now, sample_interval=options.sample_interval,
                                profile=profile)
            except (KeyError, ValueError) as err:
                log.warning("%s: skipped (%r)", device_id, err)
                continue
            snapshot = self.store.load(device_id)
            if snapshot:
                device.restore(snapshot, now)
            runner = DeviceRunner(self, device, options.drop_rate, random.Random())
            if entry.get("mqtt"):
                runner.transport = mqtt_link.MqttTransport(
                    runner, mqtt_host or "127.0.0.1", mqtt_port or 1884, entry["mqtt"], self.stats,
                    batch=options.batch, vhost=options.mqtt_vhost, offline_seconds=options.offline_seconds,
                    reconnect_max=options.reconnect_max)
            elif entry.get("credential"):
                index = grpc_count // max(1, options.streams_per_channel)
                if index == len(self.channels):
                    self.channels.append(grpc_link.open_channel(options.target, options.tls, index,
                                                                options.reconnect_max))
                runner.transport = grpc_link.GrpcTransport(
                    runner, self.channels[index], entry["credential"], self.stats, batch=options.batch,
                    offline_seconds=options.offline_seconds, reconnect_max=options.reconnect_max)
                grpc_count += 1
            else:
                log.warning("%s: skipped (no credential and no mqtt entry)", device_id)
                continue
            self.runners.append(runner)

    def stats_line(self, final=False):
        now = time.time()
        counters = self.stats.snapshot()
        last_at, last_sent = self._last_line
        line = {
            "at": _iso(now),
            "elapsed_s": round(now - self._started, 1),
            "devices": len(self.runners),
            **counters,
            "samples_sent_per_s": round((counters["samples_sent"] - last_sent) / max(1e-9, now - last_at), 1),
            "samples_dropped": sum(runner.device.samples_dropped for runner in self.runners),
            "samples_unacked": sum(len(runner.device.unacked) for runner in self.runners),
            "loop_lag_ms": self.loop_lag_ms,
            "errors": dict(self.stats.errors),
        }
        if final:
            line["final"] = True
            line["samples_sent_per_s"] = round(counters["samples_sent"] / max(1e-9, now - self._started), 1)
        self._last_line = (now, counters["samples_sent"])
        return line

    def _emit(self, line):
        text = json.dumps(line)
        print(text, flush=True)
        if self.options.stats_file:
            path = Path(self.options.stats_file)
            temporary = path.with_name(path.name + ".tmp")
            temporary.write_text(text + "\n")
            os.replace(temporary, path)

    async def _report(self):
        while True:
            due = time.monotonic() + self.options.stats_interval
            await asyncio.sleep(self.options.stats_interval)
            # how late the loop woke us: above a few ms the simulator itself is the bottleneck
            self.loop_lag_ms = round(1000 * (time.monotonic() - due))
            self._emit(self.stats_line())

    async def _flush_play_log(self):
        while True:
            await asyncio.sleep(PLAY_LOG_FLUSH_SECONDS)
            self.play_log.flush()

    async def run(self):
        """Run until ``duration`` is over or a signal; returns the last stats line."""
        options = self.options
        loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        self._started = now = time.time()
        self._last_line = (now, 0)
        self._build(now)
        if not self.runners:
            raise SystemExit("no device to run")

        tasks = []
        for runner in self.runners:
            runner.start(loop)
            tasks.append(loop.create_task(self._connect_later(runner, random.uniform(0, options.ramp))))
        background = [loop.create_task(self._report()), loop.create_task(self._flush_play_log())]
        try:
            await asyncio.wait_for(self.stopping.wait(), options.duration or None)
        except asyncio.TimeoutError:
            pass
        self.stopping.set()

        now = time.time()
        for runner in self.runners:
            runner.halt(now)
        await asyncio.gather(*(runner.transport.close(options.goodbye_timeout) for runner in self.runners),
                             return_exceptions=True)
        _, pending = await asyncio.wait(tasks, timeout=2.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in background:
            task.cancel()
        for runner in self.runners:
            self.store.save(runner.device)
        self.play_log.flush()
        for channel in self.channels:
            await channel.close()
        line = self.stats_line(final=True)
        self._emit(line)
        return line

    async def _connect_later(self, runner, delay):
        if delay:
            try:
                await asyncio.wait_for(self.stopping.wait(), delay)
                return
            except asyncio.TimeoutError:
                pass
        await runner.transport.run(self.stopping)


def run(options, credentials):
    return asyncio.run(Fleet(options, credentials).run())
