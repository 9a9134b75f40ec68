"""The provincial hub: the ProvinceSync gRPC server, in its own process.

    python -m services.sync.hub [--config deploy/config/sync-hub.yaml]

grpcio's asyncio server (never under eventlet, DESIGN.md "Processes") with
health checking and reflection; blocking pymongo (``hub_store.py``) runs in
a thread pool. Every call names a commune, which must be its token's
(API.md "Authentication"). Up records are applied once and in order
(``records.applicable``, API.md "Checkpoints"); down records are served on
Pull, emergency first, and the stream stays open: a watcher of the
``down_heads`` collection wakes the commune's Pull when ``hub_admin send``
added something.
"""
import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import Counter, Gauge, Histogram
from pymongo.errors import PyMongoError

from services.sync.adapters import EXPECTED_SEQ, EXPECTED_STREAM, MAX_PUSH_BYTES
from services.sync.hub_store import HubStore, token_digest
from services.sync.records import (
    DOWN_STREAMS, UP_STREAMS, BadRecord, Gap, applicable, by_stream, from_proto, positions_to_proto, to_proto,
)
from shared import grpc_edge
from shared.mongo import connect
from shared.observability import correlation_id
from shared.timeutil import parse_iso
from tinxa.sync.v1 import province_sync_pb2 as pb
from tinxa.sync.v1 import province_sync_pb2_grpc

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "sync-hub.yaml"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ProvinceSyncService"].full_name
DEFAULT_PULL_BATCH = 500
TOKEN_CACHE_SECONDS = 5.0
SEEN_EVERY_SECONDS = 5.0

RECORDS_APPLIED = Counter("tinxa_sync_hub_records_applied_total", "Up records applied, by stream", ["stream"])
RECORDS_SENT = Counter("tinxa_sync_hub_records_sent_total", "Down records sent on Pull streams, by stream",
                       ["stream"])
PULL_LAG = Histogram("tinxa_sync_hub_pull_lag_seconds",
                     "Age of down records when a Pull stream sends them (the newest of each message)", ["stream"],
                     buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400))
CALLS_OPEN = Gauge("tinxa_sync_hub_streams_open", "Push and Pull calls open", ["method"])

NO_TOKEN = "Thiếu khóa đồng bộ của xã (metadata authorization: Bearer <khóa>)."
BAD_TOKEN = "Khóa đồng bộ không hợp lệ hoặc đã được cấp lại."
NOT_YOURS = "Khóa đồng bộ này không phải của xã «{}»."
STORE_DOWN = "Trạm tỉnh tạm thời không lưu được dữ liệu; hãy kết nối lại sau."
SHUTTING_DOWN = "Trạm tỉnh đang dừng để bảo trì; hãy kết nối lại."


def now_timestamp():
    stamp = Timestamp()
    stamp.GetCurrentTime()
    return stamp


class DownWatcher:
    """Wakes open Pull calls of a commune when its ``down_heads`` number
    moves (one small read every ``interval`` for the whole hub, and only
    while some Pull waits)."""

    def __init__(self, store, executor, interval):
        self._store = store
        self._executor = executor
        self._interval = interval
        self._waiters = {}
        self._heads = {}

    def subscribe(self, commune_id):
        event = asyncio.Event()
        self._waiters.setdefault(commune_id, set()).add(event)
        return event

    def unsubscribe(self, commune_id, event):
        waiters = self._waiters.get(commune_id, set())
        waiters.discard(event)
        if not waiters:
            self._waiters.pop(commune_id, None)

    def wake_all(self):
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    async def run(self):
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval)
            if not self._waiters:
                continue
            try:
                heads = await loop.run_in_executor(self._executor, self._store.down_heads)
            except PyMongoError as err:
                log.warning("cannot read down_heads: %r", err)
                continue
            for commune_id, changes in heads.items():
                if self._heads.get(commune_id) != changes:
                    for event in self._waiters.get(commune_id, ()):
                        event.set()
            self._heads = heads


class ProvinceSyncServicer(province_sync_pb2_grpc.ProvinceSyncServiceServicer):
    """Errors end calls with ``context.abort``: machine-facing details (a
    gap, a bad record) in English naming stream and seq; what an operator
    reads (tokens, outages) in Vietnamese."""

    def __init__(self, store, executor, watcher, max_pull_batch=5000, recheck_seconds=5.0):
        self._store = store
        self._executor = executor
        self._watcher = watcher
        self._max_pull_batch = max_pull_batch
        self._recheck_seconds = recheck_seconds
        self._tokens = {}  # token digest -> (commune id, when checked)
        self._seen = {}  # commune id -> when its last_contact was written
        self._draining = False

    # helpers ---------------------------------------------------------------

    async def _blocking(self, context, fn, *args):
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        except PyMongoError:
            log.warning("store unavailable during %s", fn.__name__, exc_info=True)
            await context.abort(grpc.StatusCode.UNAVAILABLE, STORE_DOWN)

    async def _authorize(self, context, commune_id):
        """The commune of the call's token, which must be ``commune_id``."""
        scheme, _, token = (dict(context.invocation_metadata() or ()).get("authorization") or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, NO_TOKEN)
        digest, now = token_digest(token), time.monotonic()
        cached = self._tokens.get(digest)
        if cached is not None and now - cached[1] < TOKEN_CACHE_SECONDS:
            owner = cached[0]
        else:
            owner = await self._blocking(context, self._store.commune_of_token, token)
            if owner is None:
                self._tokens.pop(digest, None)
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, BAD_TOKEN)
            if len(self._tokens) > 10000:
                self._tokens = {d: c for d, c in self._tokens.items() if now - c[1] < TOKEN_CACHE_SECONDS}
            self._tokens[digest] = (owner, now)
        if commune_id != owner:
            log.warning("commune %s's token used for commune %r", owner, commune_id)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, NOT_YOURS.format(commune_id))
        correlation_id.set(owner)
        return owner

    async def _heard(self, context, commune_id, agent_version=None):
        """Write the commune's last_contact (at most every few seconds unless it says hello)."""
        now = time.monotonic()
        if agent_version is not None or now - self._seen.get(commune_id, 0) >= SEEN_EVERY_SECONDS:
            self._seen[commune_id] = now
            await self._blocking(context, self._store.seen, commune_id, agent_version)

    # RPCs ------------------------------------------------------------------

    async def Hello(self, request, context):
        commune_id = await self._authorize(context, request.commune_id)
        await self._heard(context, commune_id, request.agent_version)
        applied = await self._blocking(context, self._store.up_positions, commune_id)
        return pb.HelloResponse(commune_id=commune_id,
                                applied=positions_to_proto({s: seq for s, seq in applied.items() if seq}),
                                server_time=now_timestamp())

    async def Push(self, request_iterator, context):
        if self._draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        request = await context.read()
        if request is grpc.aio.EOF:
            return
        commune_id = await self._authorize(context, request.commune_id)
        positions = {}  # what this call knows of the hub's positions
        CALLS_OPEN.labels("Push").inc()
        try:
            while request is not grpc.aio.EOF:
                if request.commune_id != commune_id:
                    await context.abort(grpc.StatusCode.PERMISSION_DENIED, NOT_YOURS.format(request.commune_id))
                applied = await self._apply(context, commune_id, request.records, positions)
                await context.write(pb.PushResponse(applied=positions_to_proto(applied)))
                await self._heard(context, commune_id)
                request = await context.read()
        finally:
            CALLS_OPEN.labels("Push").dec()

    async def _apply(self, context, commune_id, messages, positions):
        """Apply one Push message; returns ``{stream: position}`` of the streams it touched."""
        try:
            records = [from_proto(message, UP_STREAMS) for message in messages]
        except BadRecord as err:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
        touched = {}
        for stream, batch in by_stream(records).items():
            position = positions.get(stream)
            if position is None:
                position = await self._blocking(context, self._store.up_position, commune_id, stream)
            last = max(record["seq"] for record in batch)
            # more than one round only when another call (an agent's older session) applied some meanwhile
            while position < last:
                try:
                    fresh = applicable(batch, position)
                except Gap as gap:
                    stored = await self._blocking(context, self._store.up_position, commune_id, stream)
                    if stored > position:
                        position = stored
                        continue
                    log.info("commune %s: %s", commune_id, gap)
                    await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(gap),
                                        trailing_metadata=((EXPECTED_STREAM, gap.stream),
                                                           (EXPECTED_SEQ, str(gap.expected))))
                applied = await self._blocking(context, self._store.apply_up, commune_id, stream, fresh)
                if applied <= position:  # a duplicate that moved nothing: never spin on it
                    log.error("commune %s stream %s: seq %s not stored at position %s", commune_id, stream,
                              fresh[0]["seq"], position)
                    await context.abort(grpc.StatusCode.INTERNAL, f"stream {stream}: seq {fresh[0]['seq']} was "
                                                                  f"not stored; position {position}")
                RECORDS_APPLIED.labels(stream).inc(applied - position)
                position = applied
            positions[stream] = touched[stream] = position
        return touched

    async def Pull(self, request, context):
        if self._draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)
        commune_id = await self._authorize(context, request.commune_id)
        after = dict.fromkeys(DOWN_STREAMS, 0)
        for position in request.after:
            if position.stream not in DOWN_STREAMS or position.seq < 0:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"after: stream {position.stream!r} seq {position.seq}: unknown down stream "
                                    f"or negative seq")
            after[position.stream] = position.seq
        if request.batch_size < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "batch_size must not be negative")
        batch_size = min(request.batch_size or DEFAULT_PULL_BATCH, self._max_pull_batch)
        wake = self._watcher.subscribe(commune_id)
        CALLS_OPEN.labels("Pull").inc()
        try:
            while not self._draining:
                wake.clear()  # before reading: a send during the read wakes the wait below
                if not await self._send_next(context, commune_id, after, batch_size):
                    try:
                        await asyncio.wait_for(wake.wait(), self._recheck_seconds)
                    except asyncio.TimeoutError:
                        pass
        finally:
            CALLS_OPEN.labels("Pull").dec()
            self._watcher.unsubscribe(commune_id, wake)
        await context.abort(grpc.StatusCode.UNAVAILABLE, SHUTTING_DOWN)

    async def _send_next(self, context, commune_id, after, batch_size):
        """Send the next message of the first stream with records waiting
        (emergency first, asked again before every message); False if none."""
        for stream in DOWN_STREAMS:
            records = await self._blocking(context, self._store.down_after, commune_id, stream, after[stream],
                                           batch_size)
            if records:
                messages, size = [], 0
                for record in records:
                    message = to_proto(record)
                    size += message.ByteSize() + 8
                    if messages and size > MAX_PUSH_BYTES:
                        break
                    messages.append(message)
                await context.write(pb.PullResponse(records=messages))
                newest = records[len(messages) - 1]
                after[stream] = newest["seq"]
                RECORDS_SENT.labels(stream).inc(len(messages))
                PULL_LAG.labels(stream).observe(max(0.0, time.time() - parse_iso(newest["recorded_at"]).timestamp()))
                return True
        return False

    async def Ack(self, request, context):
        commune_id = await self._authorize(context, request.commune_id)
        positions = {}
        for position in request.applied:
            if position.stream not in DOWN_STREAMS or position.seq < 0:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"applied: stream {position.stream!r} seq {position.seq}: unknown down stream "
                                    f"or negative seq")
            positions[position.stream] = position.seq
        for stream, seq in positions.items():
            sent = await self._blocking(context, self._store.down_position, commune_id, stream)
            if seq > sent:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    f"applied: stream {stream} seq {seq}: the hub holds only up to seq {sent}")
        await self._blocking(context, self._store.acknowledge, commune_id, positions)
        await self._heard(context, commune_id)
        return pb.AckResponse()

    async def drain(self):
        """Before the server stops: end the Pull streams (the agents reconnect)."""
        self._draining = True
        self._watcher.wake_all()


def _read(path):
    return Path(path).read_bytes() if path else None


def tls_credentials(config):
    """Server credentials if TLS_CERT and TLS_KEY are set (TLS_CA too: mutual TLS)."""
    if not (config.get("TLS_CERT") and config.get("TLS_KEY")):
        return None
    ca = _read(config.get("TLS_CA"))
    return grpc.ssl_server_credentials([(_read(config["TLS_KEY"]), _read(config["TLS_CERT"]))],
                                       root_certificates=ca, require_client_auth=ca is not None)


async def run(config):
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=int(config.get("MONGO_THREADS", 8)), thread_name_prefix="mongo")
    client = connect(config["MONGO_URI"])
    store = HubStore(client[config.get("MONGO_DATABASE", "sync_hub")])
    await loop.run_in_executor(executor, store.create_indexes)
    watcher = DownWatcher(store, executor, float(config.get("POLL_SECONDS", 0.2)))
    servicer = ProvinceSyncServicer(store, executor, watcher, max_pull_batch=int(config.get("MAX_PULL_BATCH", 5000)))
    watching = asyncio.ensure_future(watcher.run())
    metrics = grpc_edge.start_metrics_server(int(config.get("METRICS_PORT", 9109)), {"mongo": store.ping})
    address = f"{config.get('GRPC_HOST') or '0.0.0.0'}:{int(config.get('GRPC_PORT', 50061))}"
    credentials = tls_credentials(config)

    def register(server):
        province_sync_pb2_grpc.add_ProvinceSyncServiceServicer_to_server(servicer, server)
        if credentials is not None:
            server.add_secure_port(address, credentials)
            log.info("ProvinceSync over TLS on %s", address)

    if credentials is None:
        plain_host, plain_port = address.rsplit(":", 1)
    else:
        # serve() adds a plaintext port: with TLS it is for local probes and tools only
        plain_host, plain_port = "127.0.0.1", config.get("GRPC_LOCAL_PORT", 50062)
    log.info("hub starting")
    try:
        await grpc_edge.serve(register, [SERVICE_NAME], port=int(plain_port), host=plain_host,
                              grace=float(config.get("GRPC_GRACE_SECONDS", 5)), before_stop=servicer.drain)
    finally:
        watching.cancel()
        metrics.shutdown()
        client.close()
        executor.shutdown(wait=False)


def main(argv=None):
    grpc_edge.main("python -m services.sync.hub", __doc__, DEFAULT_CONFIG, run, argv)


if __name__ == "__main__":
    main()
