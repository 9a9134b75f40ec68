"""The sync service, agent side (đồng bộ với tỉnh): the commune's half of
store-and-forward with the provincial hub.

The contract is ``API.md`` beside this file. Up: the events the province
must know become records of the ``outbox`` (one per event, whatever the
broker redelivers); the agent process pushes them. Down: the records the
agent pulled into the ``inbox`` are handed to the services that take them
(``delivery.py`` says which record goes next and where) by the ``deliver``
timer, on one replica at a time. Operators read the streams and pause or
resume them. This deployment speaks for one commune (``COMMUNE_ID``).
"""
import logging
import time

import eventlet
from nameko.dependency_providers import Config
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from prometheus_client import Counter, Gauge

from services.sync import delivery
from services.sync.records import DOWN_STREAMS, UP_STREAMS
from services.sync.schemas import StreamRequest
from services.sync.store import SyncStore
from shared.context import READ_ROLES, SYSTEM, CallerContext
from shared.errors import CALLER_ERRORS, Conflict, Forbidden, InvalidInput, NotFound, load
from shared.handlers import event_handler
from shared.mongo import MongoClientProvider, Store
from shared.observability import Observability
from shared.timers import LeaseRepository, Replica, configured_timer, lease_seconds
from shared.timeutil import parse_iso, utcnow

log = logging.getLogger(__name__)

OPERATE_ROLES = ("commune_admin",)
# what a receiving service answers about a record it will never take: retrying cannot help
REFUSED = (InvalidInput, NotFound, Conflict)

DELIVERIES = Counter("tinxa_sync_deliveries_total",
                     "Down records handed to the services, by stream and outcome "
                     "(delivered; given_up: refused as bad input; held: the service did not answer)",
                     ["stream", "outcome"])
# what status shows, for Prometheus: set by status and by the report_streams timer (every replica
# reports the same store, so alerts take the max); direction is "up" or "down"
BACKLOG = Gauge("tinxa_sync_backlog", "Records not through yet, by direction and stream (up: not acknowledged "
                "by the hub; down: not handed to their service)", ["direction", "stream"])
LAG = Gauge("tinxa_sync_lag_seconds", "Age of the oldest record not through yet (by its recorded_at; 0 when "
            "none), by direction and stream", ["direction", "stream"])
PAUSED = Gauge("tinxa_sync_stream_paused", "1 while an operator has paused the stream", ["direction", "stream"])


class AgentStore(DependencyProvider):
    """The agent's store (``SyncStore``) on the service's database; one per
    container (pymongo is thread-safe), its indexes made at start."""

    client = MongoClientProvider()

    def setup(self):
        self.store = SyncStore(self.client.database)
        self.store.create_indexes()

    def get_dependency(self, worker_ctx):
        return self.store


class AgentCommune(DependencyProvider):
    """The one commune this deployment speaks for (config ``COMMUNE_ID``);
    the service does not start without it."""

    def setup(self):
        self.commune_id = self.container.config.get("COMMUNE_ID") or ""
        if not self.commune_id:
            raise RuntimeError("sync: COMMUNE_ID must be set: the agent speaks for one commune")

    def get_dependency(self, worker_ctx):
        return self.commune_id


class HeldServices(DependencyProvider):
    """Services that did not answer a delivery, and until when (monotonic)
    their streams wait; this container's memory, so a replica taking over
    the delivery simply tries at once."""

    def setup(self):
        self.until = {}

    def get_dependency(self, worker_ctx):
        return self

    def held(self, now):
        return {service for service, until in self.until.items() if until > now}

    def hold(self, service, until):
        self.until[service] = until


def _up_handler(stream, source, name):
    """A reliable handler appending ``source.name`` events to up stream ``stream``."""

    @event_handler(source, name)
    def handler(self, event):
        self._record(stream, f"{source}.{name}", event)

    handler.__doc__ = f"``{source}.{name}`` → up stream ``{stream}``."
    return handler


def up_entry(stream, produced, acknowledged, oldest_unacknowledged, paused, now):
    """An up stream as ``status`` shows it; ``oldest_unacknowledged`` is the
    first record the hub has not applied (None when it has them all)."""
    return {"stream": stream, "produced": produced, "acknowledged": acknowledged,
            "backlog": max(0, produced - acknowledged), "lag_seconds": age_of(oldest_unacknowledged, now),
            "paused": paused}


def age_of(record, now):
    """Seconds since ``record`` was recorded; 0 for none."""
    if record is None or not record.get("recorded_at"):
        return 0.0
    return max(0.0, round((now - parse_iso(record["recorded_at"])).total_seconds(), 3))


def down_entry(stream, received, delivered, paused):
    return {"stream": stream, "received": received, "delivered": delivered,
            "backlog": max(0, received - delivered), "paused": paused}


class SyncService:
    name = "sync"

    caller = CallerContext()
    config = Config()
    replica = Replica()
    commune = AgentCommune()
    store = AgentStore()
    held_services = HeldServices()
    leases = Store(LeaseRepository)
    broadcast = RpcProxy("broadcast")
    tasks = RpcProxy("tasks")
    training = RpcProxy("training")
    observability = Observability()

    # ------------------------------------------------------------ up: events → outbox

    def _record(self, stream, kind, event):
        if event["commune_id"] != self.commune:
            # another commune's deployment reports its own events
            log.debug("not recording %s %s of commune %s: this agent speaks for %s",
                      kind, event["event_id"], event["commune_id"], self.commune)
            return
        self.store.append(stream, kind, event, event_id=event["event_id"])

    on_item_published = _up_handler("content", "content", "item_published")
    on_item_archived = _up_handler("content", "content", "item_archived")
    on_hours_reported = _up_handler("broadcast_stats", "broadcast", "hours_reported")
    on_broadcast_created = _up_handler("broadcast_stats", "broadcast", "broadcast_created")
    on_device_registered = _up_handler("devices", "telemetry", "device_registered")
    on_device_status_reported = _up_handler("devices", "telemetry", "device_status_reported")
    on_uptime_reported = _up_handler("devices", "telemetry", "uptime_reported")
    on_task_status_changed = _up_handler("tasks", "tasks", "task_status_changed")
    on_task_progress_reported = _up_handler("tasks", "tasks", "task_progress_reported")
    on_plan_imported = _up_handler("tasks", "tasks", "plan_imported")
    on_roster_counted = _up_handler("training", "training", "roster_counted")
    on_completions_recorded = _up_handler("training", "training", "completions_recorded")

    # ------------------------------------------------------------ down: inbox → services

    def _settings(self):
        interval = float(self.config.get("DELIVER_SECONDS", 0.2))
        timeout = float(self.config.get("DELIVER_TIMEOUT_SECONDS", 10.0))
        return {
            "timeout": timeout,
            "work": float(self.config.get("DELIVER_WORK_SECONDS", 2.0)),
            "retry": float(self.config.get("DELIVER_RETRY_SECONDS", 5.0)),
            # a pass (its work, and a call that times out) ends well within its lease
            "lease": lease_seconds(self.config, "DELIVER_SECONDS", interval, max(10.0, timeout + 5.0)),
        }

    def _lease(self, seconds):
        return self.leases.acquire("deliver", self.replica, utcnow(), seconds)

    @configured_timer("DELIVER_SECONDS", 0.2)
    def deliver(self):
        """Hand inbox records to their services, emergency first, for up to
        ``DELIVER_WORK_SECONDS``; the next pass goes on from there."""
        settings = self._settings()
        if not self._lease(settings["lease"]):
            return
        self.caller.act_as(SYSTEM)
        states = self.store.stream_states()
        started = time.monotonic()
        renewed = started
        round_ = delivery.DeliveryRound(
            {stream: states[stream]["delivered_seq"] for stream in DOWN_STREAMS}, self.store.inbox_after,
            paused={stream for stream in DOWN_STREAMS if states[stream]["paused"]},
            held=self.held_services.held(started))
        while time.monotonic() - started < settings["work"]:
            if time.monotonic() - renewed > 1.0:
                if not self._lease(settings["lease"]):
                    return  # another replica took over
                renewed = time.monotonic()
            record = round_.next()
            if record is None:
                break
            if self._hand_over(record, settings["timeout"]):
                self.store.set_delivered(record["stream"], record["seq"])
                round_.done(record)
            else:
                service = round_.hold(record)
                self.held_services.hold(service, time.monotonic() + settings["retry"])
        for stream, expected in round_.gaps.items():
            log.warning("inbox %s: record %d is missing; the stream waits for it", stream, expected)

    def _receiver(self, service):
        return {"broadcast": self.broadcast, "tasks": self.tasks, "training": self.training}[service]

    def _hand_over(self, record, timeout):
        """True once ``record`` is done with: taken by its service, or given
        up because the service refused it as bad input (retrying cannot
        help; the stream must not stop). False when the service did not
        answer: the record stays next in its stream."""
        stream, seq = record["stream"], record["seq"]
        try:
            target = delivery.target(record)
            with eventlet.Timeout(timeout):
                getattr(self._receiver(target.service), target.method)(record["body"], commune_id=self.commune)
        except (delivery.UnknownRecord, *REFUSED) as err:
            log.error("giving up down record %s/%d (%s): refused as bad input: %s", stream, seq, record.get("kind"), err)
            DELIVERIES.labels(stream, "given_up").inc()
            return True
        except eventlet.Timeout:
            log.warning("down record %s/%d: no answer within %.1f s; its service is tried again later", stream, seq,
                        timeout)
        except UnknownService:
            log.warning("down record %s/%d: service %s is not running; tried again later", stream, seq, target.service)
        except Exception:
            log.warning("down record %s/%d not handed over; its service is tried again later", stream, seq,
                        exc_info=True)
        else:
            DELIVERIES.labels(stream, "delivered").inc()
            return True
        DELIVERIES.labels(stream, "held").inc()
        return False

    # ------------------------------------------------------------ operators

    def _authorise(self, roles, commune_id):
        caller = self.caller.current().require(*roles)
        if caller.is_district and not commune_id:
            commune_id = self.commune  # the one commune this deployment serves
        if caller.commune_for(commune_id) != self.commune:
            raise Forbidden(f"Trạm đồng bộ này chỉ phục vụ xã «{self.commune}».", {"commune_id": self.commune})
        return caller

    def _up_entry(self, stream, state, now):
        acknowledged = state["acknowledged_seq"]
        oldest = self.store.outbox_after(stream, acknowledged, 1)
        return up_entry(stream, self.store.outbox_position(stream), acknowledged, oldest[0] if oldest else None,
                        state["paused"], now)

    def _down_entry(self, stream, state):
        return down_entry(stream, self.store.inbox_position(stream), state["delivered_seq"], state["paused"])

    def _entry(self, stream):
        state = self.store.stream_states()[stream]
        return self._up_entry(stream, state, utcnow()) if stream in UP_STREAMS else self._down_entry(stream, state)

    def _streams(self, now):
        states = self.store.stream_states()
        return ([self._up_entry(stream, states[stream], now) for stream in UP_STREAMS],
                [self._down_entry(stream, states[stream]) for stream in DOWN_STREAMS])

    def _export(self, up, down, now):
        """The stream gauges from status's entries; a down stream's lag is
        the age of its oldest record not handed over."""
        for entry in up:
            labels = ("up", entry["stream"])
            BACKLOG.labels(*labels).set(entry["backlog"])
            LAG.labels(*labels).set(entry["lag_seconds"])
            PAUSED.labels(*labels).set(1 if entry["paused"] else 0)
        for entry in down:
            labels = ("down", entry["stream"])
            oldest = self.store.inbox_after(entry["stream"], entry["delivered"], 1) if entry["backlog"] else []
            BACKLOG.labels(*labels).set(entry["backlog"])
            LAG.labels(*labels).set(age_of(oldest[0] if oldest else None, now))
            PAUSED.labels(*labels).set(1 if entry["paused"] else 0)

    @configured_timer("STREAM_METRICS_SECONDS", 15.0, eager=True)
    def report_streams(self):
        """The stream gauges (backlog, lag, paused) between status calls,
        for Prometheus; on every replica (reads only)."""
        now = utcnow()
        self._export(*self._streams(now), now)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def status(self, commune_id=None):
        self._authorise(READ_ROLES, commune_id)
        now = utcnow()
        up, down = self._streams(now)
        self._export(up, down, now)
        return {"commune_id": self.commune, "link": self.store.link(), "up": up, "down": down}

    def _set_paused(self, stream, commune_id, flag):
        self._authorise(OPERATE_ROLES, commune_id)
        request = load(StreamRequest, {"stream": stream})
        self.store.set_paused(request["stream"], flag)
        log.info("stream %s %s", request["stream"], "paused" if flag else "resumed")
        return self._entry(request["stream"])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def pause_stream(self, stream, commune_id=None):
        """Stop pushing (up) or delivering (down) a stream; its records keep queueing."""
        return self._set_paused(stream, commune_id, True)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def resume_stream(self, stream, commune_id=None):
        return self._set_paused(stream, commune_id, False)
