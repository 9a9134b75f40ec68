"""A simulated device's DeviceLink connection (grpc.aio), and provisioning.

``GrpcTransport`` carries one ``Device`` over ``DeviceLinkService.Connect``:
Hello → Welcome (``link_up`` with its ``stored_through_seq``), then samples
in ``TelemetryBatch``es of ``batch``, acks and play reports from the outbox,
a Ping when nothing was sent for ``keepalive_seconds``; it applies what the
server sends (TelemetryAck, Command, Receipt) to the device. A lost stream is
reconnected with jittered back-off; ``drop()`` cuts the stream the way a
broken link does (no Goodbye); ``close()`` says Goodbye and waits, bounded,
for the last TelemetryAck and receipts.

Many devices share a channel (one HTTP/2 connection each): ``open_channel``
gives every channel its own connection instead of grpc's shared one.
"""
import asyncio
import logging
import random
import time

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tinxa.devicelink.v1 import devicelink_pb2 as pb
from tinxa.devicelink.v1 import devicelink_pb2_grpc

from services.telemetry.simulator.reconnect import Reconnect

log = logging.getLogger(__name__)

CONNECTIONS = {"ethernet": pb.CONNECTION_TYPE_ETHERNET, "wifi": pb.CONNECTION_TYPE_WIFI,
               "cellular": pb.CONNECTION_TYPE_CELLULAR, "fm_link": pb.CONNECTION_TYPE_FM_LINK}
PLAYBACK = {"idle": pb.PLAYBACK_STATE_IDLE, "playing": pb.PLAYBACK_STATE_PLAYING}
POWER = {"mains": pb.POWER_SOURCE_MAINS, "battery": pb.POWER_SOURCE_BATTERY, "solar": pb.POWER_SOURCE_SOLAR}
SPEAKER_LINE = {"ok": pb.SPEAKER_LINE_STATE_OK, "open_circuit": pb.SPEAKER_LINE_STATE_OPEN_CIRCUIT,
                "short_circuit": pb.SPEAKER_LINE_STATE_SHORT_CIRCUIT}
SCREEN = {"on": pb.SCREEN_STATE_ON, "off": pb.SCREEN_STATE_OFF}
ACK_STATUS = {"accepted": pb.COMMAND_STATUS_ACCEPTED, "rejected": pb.COMMAND_STATUS_REJECTED,
              "completed": pb.COMMAND_STATUS_COMPLETED}
PRIORITY_NAMES = {pb.PRIORITY_NORMAL: "normal", pb.PRIORITY_HIGH: "high", pb.PRIORITY_EMERGENCY: "emergency"}

RESEND_CHUNK = 100  # samples per TelemetryBatch when catching up after a reconnect
MAX_QUEUED = 8  # messages waiting for the stream before samples are held back
DEFAULT_KEEPALIVE = 30


def open_channel(target, tls=False, index=0, reconnect_max=5.0):
    """A channel with a TCP connection of its own (``index`` keeps it apart),
    retrying its connection at most every ``reconnect_max`` seconds."""
    max_backoff_ms = int(1000 * min(5.0, reconnect_max))
    options = [("grpc.use_local_subchannel_pool", 1), ("tinxa.sim.channel", index),
               ("grpc.initial_reconnect_backoff_ms", min(500, max_backoff_ms)),
               ("grpc.max_reconnect_backoff_ms", max_backoff_ms)]
    if tls:
        return grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(), options=options)
    return grpc.aio.insecure_channel(target, options=options)


# --- messages -------------------------------------------------------------------

def timestamp(seconds):
    whole = int(seconds)
    return Timestamp(seconds=whole, nanos=int((seconds - whole) * 1e9))


def seconds(ts):
    return ts.seconds + ts.nanos / 1e9


def sample_message(sample):
    message = pb.Sample(
        seq=sample["seq"], sampled_at=timestamp(sample["sampled_at"]),
        connection=CONNECTIONS.get(sample["connection"], 0), playback=PLAYBACK.get(sample["playback"], 0),
        playing_content_id=sample["playing_content_id"] or "", playing_title=sample["playing_title"] or "",
        power_source=POWER.get(sample["power_source"], 0), speaker_line=SPEAKER_LINE.get(sample["speaker_line"], 0),
        screen=SCREEN.get(sample["screen"], 0), slot_active=sample["slot_active"],
    )
    for name in ("signal_dbm", "volume", "mains_voltage", "battery_voltage", "temperature_c", "brightness"):
        value = sample[name]
        if value is not None:
            setattr(message, name, value)
    return message


def outbox_message(item):
    """An outbox item (``Device``'s ack or report dict) as a DeviceMessage."""
    if item["type"] == "ack":
        return pb.DeviceMessage(command_ack=pb.CommandAck(
            command_id=item["command_id"], status=ACK_STATUS[item["status"]], message=item["message"] or "",
            at=timestamp(item["at"])))
    return pb.DeviceMessage(play_report=pb.PlayReport(
        report_id=item["report_id"], command_id=item["command_id"] or "", content_id=item["content_id"] or "",
        title=item["title"] or "", started_at=timestamp(item["started_at"]), ended_at=timestamp(item["ended_at"]),
        completed=item["completed"], slot_id=item["slot_id"] or ""))


def command_dict(command):
    """A ``Command`` as the dict ``Device.handle_command`` takes."""
    kind = command.WhichOneof("action")
    action = getattr(command, kind) if kind else None
    if kind == "play":
        params = {"content_id": action.content_id, "title": action.title, "media_url": action.media_url,
                  "priority": PRIORITY_NAMES.get(action.priority, "normal"), "repeat": action.repeat or 1,
                  "gap_seconds": action.gap_seconds, "duration_seconds": action.duration_seconds}
    elif kind == "stop":
        params = {"content_id": action.content_id}
    elif kind == "set_volume":
        params = {"volume": action.volume}
    elif kind == "show_text":
        params = {"text": action.text, "duration_seconds": action.duration_seconds}
    elif kind == "schedule_sync":
        params = {"version": action.version, "entries": [
            {"slot_id": entry.slot_id, "starts_at": seconds(entry.starts_at), "ends_at": seconds(entry.ends_at),
             "content_id": entry.content_id, "title": entry.title, "media_url": entry.media_url,
             "priority": PRIORITY_NAMES.get(entry.priority, "normal")}
            for entry in action.entries]}
    else:
        params = {}
    return {
        "command_id": command.command_id,
        "kind": kind or "",
        "params": params,
        "issued_at": seconds(command.issued_at) if command.HasField("issued_at") else None,
        "expires_at": seconds(command.expires_at) if command.HasField("expires_at") else None,
    }


# --- the stream -----------------------------------------------------------------------


class ProtocolError(Exception):
    """The server broke the DeviceLink contract (e.g. no Welcome first)."""


class GrpcTransport:
    """One device's DeviceLink stream, reconnected until ``stopping`` is set.

    ``runner`` is the device's driver (``fleet.DeviceRunner``): the transport
    calls ``runner.tick()`` whenever the device has something new to say and
    ``runner.on_connected()`` after each Welcome.
    """

    def __init__(self, runner, channel, credential, stats, batch=1, offline_seconds=(1.0, 5.0), reconnect_max=30.0,
                 rng=None):
        self.runner = runner
        self.device = runner.device
        self.stub = devicelink_pb2_grpc.DeviceLinkServiceStub(channel)
        self.metadata = (("authorization", f"Bearer {credential}"),)
        self.stats = stats
        self.batch = max(1, int(batch))
        self.offline_seconds = offline_seconds
        self.reconnect_max = reconnect_max
        self.rng = rng or random.Random()
        self.connected = False
        self.keepalive = DEFAULT_KEEPALIVE
        self.sessions = 0
        self._queue = None
        self._call = None
        self._dropping = False
        self._closing = False
        self._settled = None
        self._last_sent = 0.0
        self._last_heard = 0.0

    def next_deadline(self):
        """When ``push`` must run again even if the device has nothing new."""
        if not self.connected:
            return float("inf")
        return min(self._last_sent + self.keepalive, self._last_heard + 3 * self.keepalive + 10)

    async def run(self, stopping):
        reconnect = Reconnect(self.rng, self.offline_seconds, self.reconnect_max)
        while not stopping.is_set():
            dropped = False
            sessions = self.sessions
            try:
                await self._session()
            except asyncio.CancelledError:
                if not self._dropping:
                    raise
                dropped = True
            except grpc.aio.AioRpcError as err:
                self.stats.error(err.code().name)
                log.debug("%s: stream ended: %s %s", self.device.device_id, err.code().name, err.details())
            except (ProtocolError, grpc.aio.UsageError) as err:
                self.stats.error(type(err).__name__)
                log.debug("%s: %s", self.device.device_id, err)
            finally:
                if self._dropping:
                    dropped = True
                self._ended()
            if stopping.is_set() or self._closing:
                break
            try:
                await asyncio.wait_for(stopping.wait(), reconnect.delay(self.sessions > sessions, dropped))
            except asyncio.TimeoutError:
                pass

    async def _requests(self, hello, queue):
        """The stream's messages as gRPC takes them, counting samples here:
        what sits in the queue has not been sent."""
        yield hello
        stats = self.stats
        while True:
            message, samples = await queue.get()
            if message is None:
                return
            yield message
            stats.samples_sent += samples

    async def _session(self):
        device = self.device
        self._queue = queue = asyncio.Queue()
        hello = pb.DeviceMessage(hello=pb.Hello(firmware=device.firmware, capabilities=device.capabilities,
                                                schedule_version=device.schedule_version))
        self._call = call = self.stub.Connect(self._requests(hello, queue), metadata=self.metadata)
        first = await call.read()
        if first is grpc.aio.EOF or first.WhichOneof("body") != "welcome":
            call.cancel()
            raise ProtocolError("the server's first message was not a Welcome")
        welcome = first.welcome
        self.keepalive = welcome.keepalive_seconds or DEFAULT_KEEPALIVE
        self._last_heard = self._last_sent = time.time()
        device.link_up(welcome.stored_through_seq)
        self.connected = True
        self.stats.connected += 1
        if self.sessions:
            self.stats.reconnects += 1
        self.sessions += 1
        self.runner.on_connected()
        stats = self.stats
        while True:
            message = await call.read()
            if message is grpc.aio.EOF:
                return
            self._last_heard = time.time()
            body = message.WhichOneof("body")
            if body == "telemetry_ack":
                stats.samples_acked += device.ack_samples(message.telemetry_ack.stored_through_seq)
            elif body == "receipt":
                if device.receipt(message.receipt.id):
                    stats.receipts += 1
            elif body == "command":
                stats.commands_received += 1
                device.handle_command(command_dict(message.command), time.time())
                self.runner.tick()
            self._check_settled()

    def _ended(self):
        if self.connected:
            self.connected = False
            self.stats.connected -= 1
        self._dropping = False
        self._queue = None
        self._call = None
        if self._settled is not None:
            self._settled.set()

    def push(self, now, flush=False):
        """Send what the device has: outbox items, full batches of samples
        (every sample when ``flush``), a Ping when the link has been quiet."""
        if not self.connected:
            return
        queue, device, stats = self._queue, self.device, self.stats
        if now - self._last_heard > 3 * self.keepalive + 10:
            self.drop()  # the server has gone quiet: the link is dead
            stats.error("STALE")
            return
        sent = False
        for item in device.take_unsent():
            queue.put_nowait((outbox_message(item), 0))
            if item["type"] == "ack":
                stats.command_acks_sent += 1
            else:
                stats.plays_reported += 1
            sent = True
        while queue.qsize() < MAX_QUEUED:
            backlog = device.unsent_count()
            if backlog < self.batch and not (flush and backlog):
                break
            samples = device.samples_to_send(RESEND_CHUNK if backlog > 2 * self.batch else self.batch)
            queue.put_nowait((pb.DeviceMessage(telemetry=pb.TelemetryBatch(
                samples=[sample_message(sample) for sample in samples])), len(samples)))
            sent = True
        if sent:
            self._last_sent = now
        elif now - self._last_sent >= self.keepalive:
            queue.put_nowait((pb.DeviceMessage(ping=pb.Ping(at=timestamp(now))), 0))
            self._last_sent = now

    def drop(self):
        """Lose the link abruptly: no Goodbye, the stream just ends."""
        if self.connected and self._call is not None:
            self._dropping = True
            self.stats.drops += 1
            self._call.cancel()

    def _check_settled(self):
        if self._settled is not None and self._is_settled():
            self._settled.set()

    def _is_settled(self):
        device = self.device
        return device.acked_through >= device.sent_through and not device.outbox

    async def close(self, timeout):
        """Goodbye: send everything, then wait (at most ``timeout`` s) until
        every sample is acknowledged and every report has its receipt."""
        self._closing = True
        if not self.connected:
            return
        self.push(time.time(), flush=True)
        self._queue.put_nowait((pb.DeviceMessage(goodbye=pb.Goodbye(reason="simulator stopping")), 0))
        self._settled = asyncio.Event()
        self._check_settled()
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except asyncio.TimeoutError:
            self.stats.error("GOODBYE_TIMEOUT")
        if self._queue is not None:
            self._queue.put_nowait((None, 0))  # half-close: the server ends the stream
        call = self._call
        if call is not None:
            try:
                await asyncio.wait_for(call.code(), 1.0)
            except asyncio.TimeoutError:
                call.cancel()


# --- provisioning ----------------------------------------------------------------------


async def provision(target, entries, firmware, models, concurrency=50, tls=False, timeout=15.0):
    """Exchange each entry's provisioning code for a credential.

    ``entries``: dicts with ``device_id``, ``code``, ``kind``, ``village``;
    ``models``: kind → model name. Returns ``(credentials, failures)``:
    ``{device_id: {commune_id, credential, kind, village}}`` and
    ``[{device_id, error}]``.
    """
    channel = open_channel(target, tls)
    stub = devicelink_pb2_grpc.DeviceLinkServiceStub(channel)
    gate = asyncio.Semaphore(concurrency)

    async def one(entry):
        request = pb.ProvisionRequest(provisioning_code=entry["code"], firmware=firmware,
                                      model=models.get(entry.get("kind"), ""))
        async with gate:
            try:
                return entry, await stub.Provision(request, timeout=timeout), None
            except grpc.aio.AioRpcError as err:
                return entry, None, f"{err.code().name}: {err.details()}"

    credentials, failures = {}, []
    try:
        for entry, response, error in await asyncio.gather(*(one(entry) for entry in entries)):
            if error:
                failures.append({"device_id": entry["device_id"], "error": error})
                continue
            if response.device_id and response.device_id != entry["device_id"]:
                failures.append({"device_id": entry["device_id"],
                                 "error": f"the code belongs to device {response.device_id!r}"})
                continue
            credentials[entry["device_id"]] = {"commune_id": response.commune_id, "credential": response.credential,
                                               "kind": entry.get("kind"), "village": entry.get("village")}
    finally:
        await channel.close()
    return credentials, failures
