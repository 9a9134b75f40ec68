"""The DeviceLink gRPC edge of the telemetry service, in its own process.

    python -m services.telemetry.edge [--config deploy/config/telemetry-edge.yaml]

grpcio's asyncio server (never under eventlet, DESIGN.md "Processes"):
provisioning, credential rotation and one stream per device
(``proto/tinxa/devicelink/v1/devicelink.proto``, API.md "DeviceLink edge"),
plus MQTT ingestion (``mqtt_ingest.py``). Samples go through ``ingest.py``;
blocking pymongo runs in a thread pool, kombu in threads of its own.

A stream is two coroutines: the handler, which alone writes to the device
and ends the call, and a reader task. Everything else that has something
for a device (the writer's acknowledgements, commands from the bus, a
revocation, a takeover) puts it in the stream's outbox, and the handler
writes it or aborts the call with it — so a stream is only ever ended from
its own coroutine.

Commands come from the bus one per device, or one per commune listing its
devices (a fan-out, ``shared/devicelink.py``). Devices' answers go to the bus
in batches (``answers.py``).
"""
import asyncio
import json
import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from kombu import Consumer, Exchange, Producer, Queue
from prometheus_client import Counter, Gauge
from pymongo.errors import PyMongoError

from services.telemetry.answers import AnswerBatcher
from services.telemetry.edge_store import SOURCE, EdgeStore
from services.telemetry.ingest import MAX_SEQ, Ingest, iso_at, samples_from_proto
from services.telemetry.mqtt_ingest import ConsumerThread, MqttIngest
from shared import grpc_edge
from shared.bus import event_exchange
from shared.devicelink import COMMANDS_EXCHANGE, FANOUT_EXCHANGE, fanout_routing_key, routing_key
from shared.errors import InvalidInput, Unauthenticated
from shared.mongo import connect
from shared.observability import CORRELATION_KEY, correlation_id
from shared.timeutil import parse_iso, utcnow
from tinxa.devicelink.v1 import devicelink_pb2 as pb
from tinxa.devicelink.v1 import devicelink_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "telemetry-edge.yaml"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DeviceLinkService"].full_name

STREAMS_OPEN = Gauge("tinxa_devicelink_streams_open", "Device streams open on this edge")
# streaming calls pass grpc_edge.EdgeInterceptor uncounted: how streams end is counted here
STREAMS_ENDED = Counter("tinxa_devicelink_streams_ended_total", "Device streams ended after their Welcome, by code",
                        ["code"])

NO_CREDENTIAL = "Thiếu khóa truy cập của thiết bị (metadata authorization: Bearer <khóa>)."
BAD_CREDENTIAL = "Khóa truy cập của thiết bị không hợp lệ hoặc đã bị thu hồi."
REVOKED = "Khóa truy cập của thiết bị đã bị thu hồi."
HELLO_FIRST = "Tin nhắn đầu tiên của luồng phải là Hello."
HELLO_AGAIN = "Hello chỉ được gửi một lần, ở đầu luồng."
EMPTY_MESSAGE = "Tin nhắn không có nội dung (DeviceMessage rỗng)."
TAKEN_OVER = "Thiết bị đã mở một luồng kết nối khác; luồng này bị đóng."
STORE_DOWN = "Máy chủ tạm thời không lưu được dữ liệu; vui lòng kết nối lại sau."
SHUTTING_DOWN = "Máy chủ đang dừng để bảo trì; vui lòng kết nối lại."
SILENT = "Thiết bị im lặng quá thời gian cho phép; luồng bị đóng, hãy kết nối lại."

PRIORITIES = {"normal": pb.PRIORITY_NORMAL, "high": pb.PRIORITY_HIGH, "emergency": pb.PRIORITY_EMERGENCY}
REVOCATIONS_REMEMBERED_SECONDS = 600


def timestamp(moment):
    """A Timestamp from a ``time.time()`` value."""
    seconds = int(moment)
    return Timestamp(seconds=seconds, nanos=int((moment - seconds) * 1e9))


def _timestamp_of(text):
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return timestamp(moment.timestamp())


def command_message(command):
    """A command dict (``shared.devicelink.make_command`` or
    ``make_fanout_command``) as the ServerMessage the device gets; it does
    not name the device, so a fan-out builds it once for all of them."""
    params = dict(command["params"])
    message = pb.Command(command_id=command["command_id"], issued_at=_timestamp_of(command["issued_at"]),
                         expires_at=_timestamp_of(command["expires_at"]))
    kind = command["kind"]
    if kind == "play":
        message.play.CopyFrom(pb.Play(**{**params, "priority": PRIORITIES[params.get("priority", "normal")]}))
    elif kind == "stop":
        message.stop.CopyFrom(pb.Stop(**params))
    elif kind == "set_volume":
        message.set_volume.CopyFrom(pb.SetVolume(**params))
    elif kind == "show_text":
        message.show_text.CopyFrom(pb.ShowText(**params))
    elif kind == "schedule_sync":
        entries = [pb.ScheduleEntry(**{**entry, "starts_at": _timestamp_of(entry["starts_at"]),
                                       "ends_at": _timestamp_of(entry["ends_at"]),
                                       "priority": PRIORITIES[entry.get("priority", "normal")]})
                   for entry in params.get("entries", [])]
        message.schedule_sync.CopyFrom(pb.ScheduleSync(version=params["version"], entries=entries))
    else:
        raise ValueError(f"unknown command kind {kind!r}")
    return pb.ServerMessage(command=message)


def connected_fields(hello, session_id, edge_id, now):
    """What a Hello writes to ``device_state`` (with the next flush)."""
    if hello.schedule_version > MAX_SEQ:
        raise InvalidInput("Hello không hợp lệ — schedule_version: quá lớn")
    if len(hello.capabilities) > 32 or any(len(c) > 64 for c in hello.capabilities):
        raise InvalidInput("Hello không hợp lệ — capabilities: tối đa 32 khả năng, mỗi khả năng tối đa 64 ký tự")
    return {
        "firmware": hello.firmware[:100] or None,
        "capabilities": list(hello.capabilities),
        "schedule_version": hello.schedule_version,
        "session_id": session_id,
        "edge_id": edge_id,
        "connected_at": iso_at(now),
    }


class _End:
    """The last item of a stream's outbox: end the call (OK if ``code`` is None)."""

    __slots__ = ("code", "details")

    def __init__(self, code, details):
        self.code = code
        self.details = details


class Stream:
    """One device's open Connect call, as the rest of the edge sees it."""

    __slots__ = ("session", "session_id", "key", "buffer", "outbox", "ended", "acks_due", "acked")

    def __init__(self, session, session_id, buffer):
        self.session = session
        self.session_id = session_id
        self.key = routing_key(session.commune_id, session.device_id)
        self.buffer = buffer
        self.outbox = asyncio.Queue()
        self.ended = False
        self.acks_due = False
        self.acked = buffer.stored_through_seq

    def send(self, message):
        if not self.ended:
            self.outbox.put_nowait(message)

    def end(self, code=None, details=""):
        if not self.ended:
            self.ended = True
            self.outbox.put_nowait(_End(code, details))

    def on_stored(self, ok, stored_through_seq):
        """The writer's word on a flush that covered this device."""
        if not ok:
            self.end(grpc.StatusCode.UNAVAILABLE, STORE_DOWN)
        elif self.acks_due or stored_through_seq > self.acked:
            self.acks_due = False
            self.acked = stored_through_seq
            self.send(pb.ServerMessage(telemetry_ack=pb.TelemetryAck(stored_through_seq=stored_through_seq)))


class CommandRelay:
    """The edge's own queues on the bus: commands for the devices connected
    here, and ``credential_revoked`` events. Both are exclusive: they die
    with the edge. The command queue is bound to COMMANDS_EXCHANGE per
    device key while its stream is open, and to FANOUT_EXCHANGE per commune
    while at least one of its streams is open (the servicer counts them)."""

    def __init__(self, amqp_uri, edge_id, loop, on_command, on_revoked):
        self._edge_id = edge_id
        self._loop = loop
        self._on_command = on_command
        self._on_revoked = on_revoked
        self._keys = set()  # touched only on the consumer thread
        self._communes = set()  # likewise
        self._exchange = Exchange(COMMANDS_EXCHANGE, type="topic", durable=True)
        self._fanout = Exchange(FANOUT_EXCHANGE, type="direct", durable=True)
        self._queue = None
        self.thread = ConsumerThread(amqp_uri, "devicelink-commands", self._consumers)

    def _consumers(self, channel):
        self._exchange(channel).declare()
        self._fanout(channel).declare()
        self._queue = Queue(f"telemetry-edge.{self._edge_id}.commands", exclusive=True, auto_delete=True)(channel)
        self._queue.declare()
        for key in self._keys:
            self._queue.bind_to(self._exchange, routing_key=key)
        for commune_id in self._communes:
            self._queue.bind_to(self._fanout, routing_key=fanout_routing_key(commune_id))
        revocations = Queue(f"telemetry-edge.{self._edge_id}.revocations", event_exchange(SOURCE),
                            routing_key="credential_revoked", exclusive=True, auto_delete=True)
        return [Consumer(channel, [self._queue], on_message=self._command, no_ack=True),
                Consumer(channel, [revocations], on_message=self._revocation, no_ack=True)]

    def bind(self, key):
        def bind(channel):
            self._keys.add(key)
            self._queue.bind_to(self._exchange, routing_key=key)
        self.thread.call(bind)

    def unbind(self, key):
        def unbind(channel):
            self._keys.discard(key)
            self._queue.unbind_from(self._exchange, routing_key=key)
        self.thread.call(unbind)

    def bind_commune(self, commune_id):
        def bind(channel):
            self._communes.add(commune_id)
            self._queue.bind_to(self._fanout, routing_key=fanout_routing_key(commune_id))
        self.thread.call(bind)

    def unbind_commune(self, commune_id):
        def unbind(channel):
            self._communes.discard(commune_id)
            self._queue.unbind_from(self._fanout, routing_key=fanout_routing_key(commune_id))
        self.thread.call(unbind)

    def announce(self, key, session_id):
        """Tell the other edges that ``key`` opened stream ``session_id``
        here: one still holding an older stream of that device ends it. Sent
        after this edge's own binding, on the same channel, so this edge
        receives it too (and ignores its own session)."""
        def announce(channel):
            Producer(channel).publish({"takeover": session_id, "key": key, "edge_id": self._edge_id},
                                      exchange=self._exchange, routing_key=key, delivery_mode=1)
        self.thread.call(announce)

    def _command(self, message):
        self._loop.call_soon_threadsafe(self._on_command, message.body)

    def _revocation(self, message):
        self._loop.call_soon_threadsafe(self._on_revoked, message.body)


class DeviceLinkServicer(devicelink_pb2_grpc.DeviceLinkServiceServicer):
    """Unary errors reach the device through grpc_edge.STATUS_CODES; streams
    end with ``context.abort`` from their own handler."""

    def __init__(self, store, executor, ingest, bus, answers, edge_id, keepalive_seconds):
        self._store = store
        self._executor = executor
        self._ingest = ingest
        self._bus = bus
        self._answers = answers
        self._edge_id = edge_id
        self._keepalive = keepalive_seconds
        self._streams = {}  # routing key -> the device's stream on this edge
        self._commune_streams = {}  # commune id -> how many of its devices have a stream here
        self._revoked = {}  # credential id -> when we heard it was revoked
        self._tasks = set()
        self._draining = False
        self.commands = None  # CommandRelay, set once the loop runs

    # unary -------------------------------------------------------------

    async def Provision(self, request, context):
        if len(request.firmware) > 100 or len(request.model) > 100:
            raise InvalidInput("firmware, model: tối đa 100 ký tự")
        issued = await self._blocking(context, self._store.provision, request.provisioning_code,
                                      request.firmware, request.model)
        self._announce(issued)
        log.info("device %s/%s provisioned credential %s", issued.commune_id, issued.device_id, issued.credential_id)
        return pb.ProvisionResponse(credential=issued.credential, commune_id=issued.commune_id,
                                    device_id=issued.device_id)

    async def RotateCredential(self, request, context):
        current = await self._blocking(context, self._store.authenticate, self._authorization(context))
        if current is None:
            raise Unauthenticated(BAD_CREDENTIAL)
        issued = await self._blocking(context, self._store.rotate, current)
        self._announce(issued)
        log.info("device %s/%s rotated to credential %s", issued.commune_id, issued.device_id, issued.credential_id)
        return pb.RotateCredentialResponse(credential=issued.credential)

    @staticmethod
    def _authorization(context):
        value = dict(context.invocation_metadata() or ()).get("authorization")
        if not value:
            raise Unauthenticated(NO_CREDENTIAL)
        return value

    async def _blocking(self, context, fn, *args):
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except PyMongoError:
            log.warning("store unavailable during %s", fn.__name__, exc_info=True)
            await context.abort(grpc.StatusCode.UNAVAILABLE, STORE_DOWN)

    def _announce(self, issued):
        """End local streams of the revoked credentials now; publish the
        events in the background (the outbox keeps any the broker refuses)."""
        for credential_id in issued.revoked:
            self.revoked(credential_id)
        self._spawn(self._publish_outbox(issued, {CORRELATION_KEY: correlation_id.get()}))

    async def _publish_outbox(self, issued, context_data):
        published = []
        # revocations first: they end streams on the other edges
        for event in sorted(issued.events, key=lambda e: e.name != "credential_revoked"):
            try:
                await self._bus.publish_event(event.source, event.name, event.payload, context_data)
            except grpc_edge.BusUnavailable:
                continue
            published.append(event.event_id)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._executor, self._store.clear_outbox, issued.credential_id, published)
        except PyMongoError:
            log.warning("could not clear the outbox of credential %s", issued.credential_id, exc_info=True)

    def _spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # the stream --------------------------------------------------------

    async def Connect(self, request_iterator, context):
        stream = await self._start(context)
        if stream is None:
            return  # the device hung up before its Hello
        ended = grpc.StatusCode.CANCELLED  # the device went away, unless the loop says otherwise
        try:
            reader = asyncio.ensure_future(self._read(stream, context))
            try:
                while True:
                    item = await stream.outbox.get()
                    if type(item) is _End:
                        ended = item.code or grpc.StatusCode.OK
                        if item.code is not None:
                            await context.abort(item.code, item.details)
                        return
                    await context.write(item)
            finally:
                reader.cancel()
        finally:
            STREAMS_ENDED.labels(ended.name).inc()
            self._close(stream)

    async def _start(self, context):
        """Check the credential and the Hello, register the stream, welcome the device."""
        if self._draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        # read the Hello before any refusal: ending a call the device is still
        # writing its first message on can reach it as INTERNAL instead
        first = await context.read()
        if first is grpc.aio.EOF:
            return None
        authorization = dict(context.invocation_metadata() or ()).get("authorization")
        if not authorization:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, NO_CREDENTIAL)
        if first.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, HELLO_FIRST)
        now = time.time()
        session_id = uuid.uuid4().hex
        correlation_id.set(session_id)  # the stream's logs and events carry its session
        try:
            connected = connected_fields(first.hello, session_id, self._edge_id, now)
        except InvalidInput as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, err.message)
        try:
            session = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._store.open_session, authorization)
        except PyMongoError:
            log.warning("store unavailable while opening a stream", exc_info=True)
            await context.abort(grpc.StatusCode.UNAVAILABLE, STORE_DOWN)
        if session is None or session.credential_id in self._revoked:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, BAD_CREDENTIAL)
        buffer = self._ingest.attach(session.commune_id, session.device_id, session.presence_timeout_s,
                                     session.stored_through_seq)
        stream = Stream(session, session_id, buffer)
        # the Welcome goes first in the outbox: nothing else may reach the device before it
        stream.send(pb.ServerMessage(welcome=pb.Welcome(
            session_id=session_id, stored_through_seq=buffer.stored_through_seq,
            keepalive_seconds=min(self._keepalive, max(1, session.presence_timeout_s // 2)),
            server_time=timestamp(now))))
        self._open(stream, connected, now)
        return stream

    def _open(self, stream, connected, now):
        older = self._streams.get(stream.key)
        if older is not None:
            older.end(grpc.StatusCode.ABORTED, TAKEN_OVER)
        else:
            self.commands.bind(stream.key)
            commune_id = stream.session.commune_id
            self._commune_streams[commune_id] = self._commune_streams.get(commune_id, 0) + 1
            if self._commune_streams[commune_id] == 1:
                self.commands.bind_commune(commune_id)
        self.commands.announce(stream.key, stream.session_id)
        self._streams[stream.key] = stream
        STREAMS_OPEN.inc()
        buffer = stream.buffer
        buffer.listener = stream.on_stored
        buffer.connected = connected
        self._ingest.heard(buffer, now)

    def _close(self, stream):
        STREAMS_OPEN.dec()
        stream.ended = True  # receipts still on their way have nowhere to go
        if self._streams.get(stream.key) is stream:
            del self._streams[stream.key]
            self.commands.unbind(stream.key)
            commune_id = stream.session.commune_id
            self._commune_streams[commune_id] -= 1
            if not self._commune_streams[commune_id]:
                del self._commune_streams[commune_id]
                self.commands.unbind_commune(commune_id)
            self._ingest.release(stream.buffer)

    async def _read(self, stream, context):
        """The reader task: everything the device sends, until it hangs up."""
        ingest = self._ingest
        buffer = stream.buffer
        try:
            while True:
                message = await context.read()
                if message is grpc.aio.EOF:
                    # the device hung up: store what it sent, tell it, then end the call
                    await ingest.flushed(buffer)
                    stream.end()
                    return
                now = time.time()
                ingest.heard(buffer, now)
                kind = message.WhichOneof("body")
                if kind == "telemetry":
                    ingest.accept(buffer, samples_from_proto(message.telemetry.samples, iso_at(now), now), "grpc")
                    stream.acks_due = True
                    if ingest.backlogged(buffer):
                        await ingest.flushed(buffer)
                elif kind == "ping":
                    stream.send(pb.ServerMessage(pong=pb.Pong(server_time=timestamp(now))))
                elif kind == "command_ack":
                    self._answers.add_ack(stream, message.command_ack, now)
                elif kind == "play_report":
                    self._answers.add_report(stream, message.play_report)
                elif kind == "goodbye":
                    ingest.goodbye(buffer, now)
                else:
                    raise InvalidInput(HELLO_AGAIN if kind == "hello" else EMPTY_MESSAGE)
        except InvalidInput as err:
            log.info("stream %s of %s ended: %s", stream.session_id, stream.key, err.message)
            stream.end(grpc.StatusCode.INVALID_ARGUMENT, err.message)
        except Exception:
            log.exception("stream %s of %s failed", stream.session_id, stream.key)
            stream.end(grpc.StatusCode.INTERNAL, grpc_edge.INTERNAL_MESSAGE)

    # from the bus ------------------------------------------------------

    def revoked(self, credential_id):
        """End this edge's streams of a revoked credential, and refuse it
        from streams whose credential check raced with the revocation."""
        now = time.time()
        self._revoked = {cid: at for cid, at in self._revoked.items() if now - at < REVOCATIONS_REMEMBERED_SECONDS}
        self._revoked[credential_id] = now
        for stream in [s for s in self._streams.values() if s.session.credential_id == credential_id]:
            log.info("stream %s of %s ended: credential revoked", stream.session_id, stream.key)
            stream.end(grpc.StatusCode.UNAUTHENTICATED, REVOKED)

    def on_revocation(self, body):
        try:
            credential_id = json.loads(body)["credential_id"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed credential_revoked event: %r", body[:200])
            return
        self.revoked(credential_id)

    def on_command(self, body):
        """A command from the bus — for a device connected here (or just
        gone), or a fan-out for devices of a commune with streams here — or
        another edge's takeover notice."""
        try:
            command = json.loads(body)
            if "takeover" in command:
                self._taken_over(command)
                return
            commune_id = command["commune_id"]
            if "device_ids" in command:
                keys = [routing_key(commune_id, device_id) for device_id in command["device_ids"]]
                where = f"{len(keys)} devices of {commune_id}"
            else:
                keys = [routing_key(commune_id, command["device_id"])]
                where = keys[0]
            message = command_message(command)
            expired = parse_iso(command["expires_at"]) < utcnow()
        except (ValueError, KeyError, TypeError) as err:
            log.error("dropped a malformed command (%r): %r", err, body[:500])
            return
        if expired:
            log.warning("dropped command %s for %s: expired at %s", command["command_id"], where,
                        command["expires_at"])
        elif "device_ids" in command:
            self._fan_out(command["command_id"], keys, message)
        else:
            stream = self._streams.get(keys[0])
            if stream is None or stream.ended:
                log.warning("dropped command %s for %s: the device is no longer connected here",
                            command["command_id"], where)
            else:
                stream.send(message)

    def _fan_out(self, command_id, keys, message):
        """Send a fan-out command to the listed devices connected here; the
        others are connected to another edge, or not at all: their sender
        learns which from the answers."""
        sent = 0
        for key in keys:
            stream = self._streams.get(key)
            if stream is not None and not stream.ended:
                stream.send(message)
                sent += 1
        log.debug("fan-out command %s: sent to %d devices here, %d listed devices not here",
                  command_id, sent, len(keys) - sent)

    def _taken_over(self, notice):
        """The device opened a newer stream (on another edge): end ours."""
        key = notice.get("key")
        stream = self._streams.get(key)
        if stream is not None and stream.session_id != notice["takeover"] and not stream.ended:
            log.info("stream %s of %s ended: taken over on edge %s", stream.session_id, key, notice.get("edge_id"))
            stream.end(grpc.StatusCode.ABORTED, TAKEN_OVER)

    async def end_silent_streams(self, every_seconds=5):
        """End streams that sent nothing for their device's presence timeout.

        A device that lost power leaves a TCP connection nobody closes; its
        stream would keep the command binding, and commands would be routed
        to a dead stream instead of coming back unroutable to the sender.
        """
        while True:
            await asyncio.sleep(every_seconds)
            now = time.time()
            for stream in list(self._streams.values()):
                if now - stream.buffer.active_at > stream.session.presence_timeout_s:
                    log.info("stream %s of %s ended: silent", stream.session_id, stream.key)
                    stream.end(grpc.StatusCode.UNAVAILABLE, SILENT)

    async def drain(self):
        """Before the server stops: publish devices' answers and store their
        samples, give them their receipts and acknowledgements, then end their
        streams so they reconnect to another edge."""
        self._draining = True
        await self._answers.flush()
        await self._ingest.flush_all()
        for stream in list(self._streams.values()):
            stream.end(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)


def edge_id_of(config):
    return config.get("EDGE_ID") or f"{socket.gethostname()}-{os.getpid()}"


async def run(config):
    loop = asyncio.get_running_loop()
    edge_id = edge_id_of(config)
    executor = ThreadPoolExecutor(max_workers=int(config.get("MONGO_THREADS", 8)), thread_name_prefix="mongo")
    client = connect(config["MONGO_URI"])
    store = EdgeStore(client[config.get("MONGO_DATABASE", "telemetry")])
    ingest = Ingest(store, executor,
                    bucket_seconds=int(config.get("TELEMETRY_BUCKET_SECONDS", 60)),
                    max_samples=int(config.get("TELEMETRY_BUCKET_MAX_SAMPLES", 1000)),
                    flush_seconds=float(config.get("TELEMETRY_FLUSH_SECONDS", 1)))
    bus = grpc_edge.EdgeBus(config["AMQP_URI"], timeout=float(config.get("PUBLISH_TIMEOUT_SECONDS", 5)))
    answers = AnswerBatcher(bus, flush_seconds=float(config.get("ANSWER_FLUSH_SECONDS", 0.02)))
    servicer = DeviceLinkServicer(store, executor, ingest, bus, answers, edge_id,
                                  keepalive_seconds=int(config.get("KEEPALIVE_SECONDS", 30)))
    servicer.commands = CommandRelay(config["AMQP_URI"], edge_id, loop, servicer.on_command, servicer.on_revocation)
    consumers = [servicer.commands.thread]
    if _enabled(config.get("MQTT_INGEST", True)):
        mqtt = MqttIngest(ingest, store, executor, loop, config["AMQP_URI"],
                          prefetch=int(config.get("MQTT_PREFETCH", 2000)))
        consumers.append(mqtt.thread)
    for consumer in consumers:
        consumer.start()
    # serve once the revocation queue exists (a broker that is down does not hold the edge up)
    await loop.run_in_executor(executor, servicer.commands.thread.connected.wait, 5)
    writer = asyncio.ensure_future(ingest.run())
    flusher = asyncio.ensure_future(answers.run())
    sweeper = asyncio.ensure_future(servicer.end_silent_streams())
    metrics = grpc_edge.start_metrics_server(int(config.get("METRICS_PORT", 9104)),
                                             {"broker": bus.check, "mongo": store.ping, "writer": ingest.check})

    log.info("edge %s starting", edge_id)
    try:
        await grpc_edge.serve(
            lambda server: devicelink_pb2_grpc.add_DeviceLinkServiceServicer_to_server(servicer, server),
            [SERVICE_NAME], port=int(config.get("GRPC_PORT", 50051)), host=config.get("GRPC_HOST", "0.0.0.0"),
            grace=float(config.get("GRPC_GRACE_SECONDS", 10)), before_stop=servicer.drain)
    finally:
        sweeper.cancel()
        # answers arriving after the drain reach no stream to receipt: their devices send them again
        flusher.cancel()
        ingest.stop()
        await writer  # the last flush: what MQTT messages and closing streams left
        for consumer in consumers:
            consumer.stop()
        metrics.shutdown()
        bus.close()
        client.close()
        executor.shutdown(wait=False)


def _enabled(value):
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def main(argv=None):
    grpc_edge.main("python -m services.telemetry.edge", __doc__, DEFAULT_CONFIG, run, argv)


if __name__ == "__main__":
    main()
