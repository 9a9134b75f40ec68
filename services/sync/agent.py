"""The commune's sync agent: the ProvinceSync client, in its own process.

    python -m services.sync.agent [--config deploy/config/sync-agent.yaml]

A plain asyncio process (grpcio does not work under eventlet, DESIGN.md
"Processes"); blocking pymongo (``store.py``) runs in a thread pool. One
session at a time: connect, ``Hello``, then concurrently
- per up stream not paused: push the outbox from the hub's position + 1
  (never from the agent's memory, API.md "Checkpoints") in batches,
  reading the next batch while the hub applies the current one, and
  looking for new records every ``POLL_SECONDS``;
- pull down records after the inbox's own positions, store each batch in
  the inbox, then acknowledge it (acks are coalesced, so a slow Ack does
  not hold the stream back);
- a ``Hello`` every ``HEARTBEAT_SECONDS``, so a dead connection is noticed
  and the hub's ``last_contact`` stays fresh.
Any error ends the session: the link turns ``disconnected`` (with the
reason, in Vietnamese, in ``last_error``), and the agent reconnects after a
back-off of 0.5 s doubling to 10 s. SIGTERM ends it cleanly.
"""
import asyncio
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from prometheus_client import Counter, Gauge
from pymongo.errors import PyMongoError

from services.sync.adapters import GrpcProvinceLink, LinkError, TlsFiles
from services.sync.records import DOWN_STREAMS, UP_STREAMS, Gap, applicable, by_stream
from services.sync.store import SyncStore
from shared import grpc_edge
from shared.mongo import connect
from shared.timeutil import iso

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "sync-agent.yaml"

PUSHED = Counter("tinxa_sync_agent_records_pushed_total", "Up records the hub applied, by stream", ["stream"])
PULLED = Counter("tinxa_sync_agent_records_pulled_total", "Down records stored in the inbox, by stream", ["stream"])
CONNECTED = Gauge("tinxa_sync_agent_connected", "1 while a session with the hub is up")
SESSIONS_FAILED = Counter("tinxa_sync_agent_sessions_failed_total", "Sessions with the hub ended by an error")

NO_CONFIG = "Thiếu cấu hình {}: tiến trình đồng bộ không thể chạy."


def agent_version():
    try:
        return f"tinxa-sync-agent/{version('tinxa')}"
    except PackageNotFoundError:
        return "tinxa-sync-agent"


def describe(error):
    """What an operator reads in ``link.last_error``."""
    if isinstance(error, LinkError):
        return error.message
    if isinstance(error, Gap):
        return f"Trạm tỉnh gửi xuống bản ghi không liền mạch ({error}); đang kết nối lại."
    if isinstance(error, PyMongoError):
        return f"Không đọc/ghi được cơ sở dữ liệu đồng bộ của xã: {error}"
    return f"Lỗi đồng bộ: {error!r}"


class Agent:
    def __init__(self, store, executor, link_factory, hub, push_batch=500, pull_batch=500, poll_seconds=0.2,
                 heartbeat_seconds=30.0, backoff_min=0.5, backoff_max=10.0):
        self._store = store
        self._executor = executor
        self._link_factory = link_factory
        self._hub = hub
        self._push_batch = push_batch
        self._pull_batch = pull_batch
        self._poll = poll_seconds
        self._heartbeat = heartbeat_seconds
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._paused = {}
        self._contact = None  # when the hub last answered (ISO), written to `link` by _keep_contact
        self._to_ack = {}
        self._ack_due = None

    def _blocking(self, fn, *args, **kwargs):
        return asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def run(self, stopping):
        """Sessions with the hub until ``stopping`` is set."""
        delay = self._backoff_min
        while not stopping.is_set():
            link = self._link_factory()
            session = asyncio.ensure_future(self._session(link))
            stop = asyncio.ensure_future(stopping.wait())
            await asyncio.wait({session, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not session.done():
                session.cancel()
            outcome = (await asyncio.gather(session, return_exceptions=True))[0]
            await link.close()
            CONNECTED.set(0)
            if stopping.is_set():
                break
            error = _first(outcome) if isinstance(outcome, BaseException) else LinkError("Phiên đồng bộ kết thúc.")
            if self._contact is not None:
                delay = self._backoff_min  # the hub answered this time: start the back-off again
            SESSIONS_FAILED.inc()
            log.warning("session with %s ended: %s; reconnecting in %.1f s", self._hub, describe(error), delay,
                        exc_info=None if isinstance(error, (LinkError, Gap)) else error)
            try:
                await self._blocking(self._store.set_link, state="disconnected", hub=self._hub,
                                     last_error=describe(error))
            except PyMongoError:
                log.warning("could not record the link state", exc_info=True)
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, self._backoff_max)
        try:
            await self._blocking(self._store.set_link, state="disconnected", hub=self._hub, last_error=None)
        except PyMongoError:
            log.warning("could not record the link state", exc_info=True)
        log.info("stopped")

    async def _session(self, link):
        self._contact = None
        await link.open()
        hello = await link.hello()
        self._contact = iso()
        await self._blocking(self._store.set_link, state="connected", hub=self._hub, last_contact=self._contact,
                             last_error=None)
        CONNECTED.set(1)
        log.info("connected to %s; hub positions %s", self._hub, hello.applied)
        await self._read_pauses()
        self._to_ack, self._ack_due = {}, asyncio.Event()
        async with asyncio.TaskGroup() as tasks:
            for stream in UP_STREAMS:
                tasks.create_task(self._push(link, stream, hello.applied.get(stream, 0)))
            tasks.create_task(self._pull(link))
            tasks.create_task(self._acknowledge(link))
            tasks.create_task(self._keep_contact(link))
            tasks.create_task(self._watch_pauses())

    # up --------------------------------------------------------------------

    async def _push(self, link, stream, position):
        """Push ``stream`` from the hub's ``position`` on, for the whole session."""
        batch = []
        while True:
            if self._paused.get(stream):
                await asyncio.sleep(self._poll)
                continue
            if not batch:
                batch = await self._blocking(self._store.outbox_after, stream, position, self._push_batch)
                if not batch:
                    await asyncio.sleep(self._poll)
                    continue
            last = batch[-1]["seq"]
            ahead = asyncio.ensure_future(self._blocking(self._store.outbox_after, stream, last, self._push_batch))
            try:
                applied = (await link.push(batch)).get(stream, 0)
            except BaseException:
                ahead.cancel()
                raise
            self._contact = iso()
            if applied < last:
                ahead.cancel()
                raise LinkError(f"Trạm tỉnh chỉ nhận luồng «{stream}» đến bản ghi số {applied}, "
                                f"không đến {last} như đã gửi.")
            PUSHED.labels(stream).inc(applied - position)
            position = applied
            await self._blocking(self._store.set_acknowledged, stream, applied)
            batch = await ahead
            if applied > last:  # someone else pushed further: continue from the hub's word
                batch = []

    async def _read_pauses(self):
        states = await self._blocking(self._store.stream_states)
        self._paused = {stream: state["paused"] for stream, state in states.items()}

    async def _watch_pauses(self):
        while True:
            await asyncio.sleep(max(self._poll, 0.5))
            await self._read_pauses()

    # down ------------------------------------------------------------------

    async def _pull(self, link):
        positions = {}
        for stream in DOWN_STREAMS:
            positions[stream] = await self._blocking(self._store.inbox_position, stream)
        self._acknowledge_later(positions)  # a crash may have come between storing and Ack
        async for batch in link.pull(positions, self._pull_batch):
            fresh = []
            for stream, records in by_stream(batch).items():
                new = applicable(records, positions[stream])
                if new:
                    positions[stream] = new[-1]["seq"]
                    fresh += new
            if fresh:
                await self._blocking(self._store.store_inbox, fresh)
                for stream, records in by_stream(fresh).items():
                    PULLED.labels(stream).inc(len(records))
            self._contact = iso()
            self._acknowledge_later(positions)

    def _acknowledge_later(self, positions):
        self._to_ack.update({stream: seq for stream, seq in positions.items() if seq})
        self._ack_due.set()

    async def _acknowledge(self, link):
        """Ack what the inbox holds, one call at a time, the latest positions each time."""
        acked = {}
        while True:
            await self._ack_due.wait()
            self._ack_due.clear()
            positions = {stream: seq for stream, seq in self._to_ack.items() if seq > acked.get(stream, 0)}
            if positions:
                try:
                    await link.ack(positions)
                except LinkError as err:
                    if err.code != "INVALID_ARGUMENT":
                        raise
                    # the hub holds less than the inbox (its database was restored?): Acks only feed its
                    # lag report, so this must not stop the exchange
                    log.warning("the hub refused the Ack of %s: %s", positions, err.message)
                acked.update(positions)

    # the link state --------------------------------------------------------

    async def _keep_contact(self, link):
        """Write ``last_contact`` (at most every second) and say Hello every heartbeat."""
        written, hello_at = None, time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            if time.monotonic() - hello_at >= self._heartbeat:
                await link.hello()
                hello_at, self._contact = time.monotonic(), iso()
            if self._contact != written:
                written = self._contact
                await self._blocking(self._store.set_link, last_contact=written)


def _first(error):
    """The first error of a TaskGroup's ExceptionGroup (the one that ended the session)."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def _read(path):
    return Path(path).read_bytes() if path else None


def link_factory(config, commune_id, token):
    adapter = str(config.get("PROVINCE_ADAPTER") or "grpc")
    if adapter != "grpc":
        raise SystemExit(f"PROVINCE_ADAPTER={adapter}: chỉ có bộ kết nối «grpc».")
    tls = None
    if config.get("TLS_CA") or config.get("TLS_CERT"):
        tls = TlsFiles(ca=_read(config.get("TLS_CA")), cert=_read(config.get("TLS_CERT")),
                       key=_read(config.get("TLS_KEY")))
    target, timeout = config["HUB_TARGET"], float(config.get("CALL_TIMEOUT_SECONDS", 30))
    return lambda: GrpcProvinceLink(target, commune_id, token, agent_version(), tls=tls, timeout=timeout)


async def run(config):
    commune_id, token = config.get("COMMUNE_ID"), config.get("SYNC_TOKEN")
    for name, value in (("COMMUNE_ID", commune_id), ("SYNC_TOKEN", token), ("HUB_TARGET", config.get("HUB_TARGET"))):
        if not value:
            log.error(NO_CONFIG.format(name))
            raise SystemExit(2)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    executor = ThreadPoolExecutor(max_workers=int(config.get("MONGO_THREADS", 4)), thread_name_prefix="mongo")
    client = connect(config["MONGO_URI"])
    store = SyncStore(client[config.get("MONGO_DATABASE", "sync")])
    await loop.run_in_executor(executor, store.create_indexes)
    metrics = grpc_edge.start_metrics_server(int(config.get("METRICS_PORT", 9108)), {"mongo": store.ping})
    agent = Agent(store, executor, link_factory(config, str(commune_id), str(token)), config["HUB_TARGET"],
                  push_batch=int(config.get("PUSH_BATCH", 500)), pull_batch=int(config.get("PULL_BATCH", 500)),
                  poll_seconds=float(config.get("POLL_SECONDS", 0.2)),
                  heartbeat_seconds=float(config.get("HEARTBEAT_SECONDS", 30)))
    log.info("agent of commune %s starting; hub %s", commune_id, config["HUB_TARGET"])
    try:
        await agent.run(stopping)
    finally:
        metrics.shutdown()
        client.close()
        executor.shutdown(wait=False)


def main(argv=None):
    grpc_edge.main("python -m services.sync.agent", __doc__, DEFAULT_CONFIG, run, argv)


if __name__ == "__main__":
    main()
