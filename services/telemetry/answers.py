"""Devices' answers on their way to the bus, in batches.

A device answers commands with ``CommandAck``s and proves what it played
with ``PlayReport``s. One confirmed publish per answer costs ~0.35 ms and a
nameko consumer takes ~700 events/s, so the answers of an emergency
broadcast to 2,000 devices would trickle in for seconds. The edge therefore
gathers them per commune and kind, and ``AnswerBatcher`` publishes each
batch as one event (``telemetry.commands_acknowledged``,
``telemetry.plays_reported``) every ``ANSWER_FLUSH_SECONDS`` or as soon as a
batch holds ``MAX_BATCH`` answers.

A device gets the ``Receipt`` of an answer only once the broker confirmed
the event carrying it. If the broker did not, no device of that batch gets
one: each keeps its answers and sends them again, so an answer may reach the
bus more than once and consumers apply them idempotently.
"""
import asyncio
import logging
from datetime import timezone

from prometheus_client import Counter, Gauge

from services.telemetry.edge_store import SOURCE
from services.telemetry.ingest import iso_at
from shared.errors import InvalidInput
from shared.events import make_event
from shared.grpc_edge import BusUnavailable
from shared.observability import CORRELATION_KEY, correlation_id
from shared.timeutil import iso
from tinxa.devicelink.v1 import devicelink_pb2 as pb

log = logging.getLogger(__name__)

MAX_BATCH = 500
COMMANDS_ACKNOWLEDGED = "commands_acknowledged"
PLAYS_REPORTED = "plays_reported"
ITEMS_FIELD = {COMMANDS_ACKNOWLEDGED: "acks", PLAYS_REPORTED: "reports"}
COMMAND_STATUSES = {pb.COMMAND_STATUS_ACCEPTED: "accepted", pb.COMMAND_STATUS_REJECTED: "rejected",
                    pb.COMMAND_STATUS_COMPLETED: "completed"}

ANSWERS = Counter("tinxa_devicelink_answers_total",
                  "Device answers handed to the bus, by event and outcome (published, refused)", ["event", "outcome"])
ANSWERS_PENDING = Gauge("tinxa_devicelink_answers_pending", "Device answers waiting for the next flush")


def _iso_of(message, name, default=None):
    """A message's Timestamp field as ISO text; ``default`` if unset."""
    if not message.HasField(name):
        if default is None:
            raise InvalidInput(f"{name}: thiếu thời điểm")
        return default
    try:
        return iso(getattr(message, name).ToDatetime(tzinfo=timezone.utc))
    except (ValueError, OverflowError) as err:
        raise InvalidInput(f"{name}: không phải thời điểm hợp lệ ({err})") from err


def ack_item(session, ack, now):
    """A CommandAck as an item of ``commands_acknowledged`` (InvalidInput if malformed)."""
    if not ack.command_id:
        raise InvalidInput("CommandAck không hợp lệ — command_id: thiếu mã lệnh")
    if ack.status not in COMMAND_STATUSES:
        raise InvalidInput(f"CommandAck {ack.command_id} không hợp lệ — status: thiếu hoặc sai trạng thái")
    return {"device_id": session.device_id, "command_id": ack.command_id, "status": COMMAND_STATUSES[ack.status],
            "message": ack.message, "at": _iso_of(ack, "at", iso_at(now))}


def report_item(session, report):
    """A PlayReport as an item of ``plays_reported`` (InvalidInput if malformed)."""
    if not report.report_id:
        raise InvalidInput("PlayReport không hợp lệ — report_id: thiếu mã báo cáo")
    try:
        started_at, ended_at = _iso_of(report, "started_at"), _iso_of(report, "ended_at")
    except InvalidInput as err:
        raise InvalidInput(f"PlayReport {report.report_id} không hợp lệ — {err.message}") from err
    if ended_at < started_at:
        raise InvalidInput(f"PlayReport {report.report_id} không hợp lệ — ended_at: trước started_at")
    return {"device_id": session.device_id, "report_id": report.report_id, "command_id": report.command_id,
            "content_id": report.content_id, "title": report.title, "slot_id": report.slot_id,
            "started_at": started_at, "ended_at": ended_at, "completed": report.completed}


class AnswerBatcher:
    """Pending answers per (event, commune), and the flusher that publishes them.

    ``add_ack``/``add_report`` check an answer (InvalidInput ends only the
    stream that sent it) and queue it with the stream to receipt; ``run`` is
    the flusher; ``flush`` publishes everything now (the drain on SIGTERM).
    """

    def __init__(self, bus, flush_seconds=0.02, max_batch=MAX_BATCH):
        self._bus = bus
        self._flush_seconds = flush_seconds
        self._max_batch = max_batch
        self._pending = {}  # (event name, commune_id) -> ([item], [(stream, receipt id)])
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._flushing = asyncio.Lock()

    def add_ack(self, stream, ack, now):
        item = ack_item(stream.session, ack, now)
        self._add(COMMANDS_ACKNOWLEDGED, stream, item, item["command_id"])

    def add_report(self, stream, report):
        item = report_item(stream.session, report)
        self._add(PLAYS_REPORTED, stream, item, item["report_id"])

    def _add(self, name, stream, item, receipt_id):
        items, receipts = self._pending.setdefault((name, stream.session.commune_id), ([], []))
        items.append(item)
        receipts.append((stream, receipt_id))
        ANSWERS_PENDING.inc()
        self._arrived.set()
        if len(items) >= self._max_batch:
            self._full.set()

    async def run(self):
        """Publish what arrived ``flush_seconds`` after the first of it, or
        at once when a batch is full."""
        while True:
            await self._arrived.wait()
            try:
                await asyncio.wait_for(self._full.wait(), self._flush_seconds)
            except asyncio.TimeoutError:
                pass
            await self.flush()

    async def flush(self):
        """Publish every pending answer now; returns when the broker has
        confirmed or refused each batch (and after a flush in progress)."""
        async with self._flushing:
            pending, self._pending = self._pending, {}
            ANSWERS_PENDING.set(0)
            self._arrived.clear()
            self._full.clear()
            size = self._max_batch
            await asyncio.gather(*(
                self._publish(name, commune_id, items[start:start + size], receipts[start:start + size])
                for (name, commune_id), (items, receipts) in pending.items()
                for start in range(0, len(items), size)))

    async def _publish(self, name, commune_id, items, receipts):
        try:
            event = make_event(SOURCE, name, commune_id, **{ITEMS_FIELD[name]: items})
            correlation_id.set(event["event_id"])
            await self._bus.publish_event(SOURCE, name, event, {CORRELATION_KEY: event["event_id"]})
        except BusUnavailable:
            ANSWERS.labels(name, "refused").inc(len(items))
            return  # no Receipt: the devices keep their answers and send them again
        except Exception:  # the flusher must outlive a batch it could not build
            log.exception("could not publish %d answers of %s (%s)", len(items), commune_id, name)
            ANSWERS.labels(name, "refused").inc(len(items))
            return
        ANSWERS.labels(name, "published").inc(len(items))
        for stream, receipt_id in receipts:
            stream.send(pb.ServerMessage(receipt=pb.Receipt(id=receipt_id)))
