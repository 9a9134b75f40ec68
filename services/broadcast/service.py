"""The broadcast service (phát thanh — truyền thanh cơ sở): what plays on the
commune's loudspeakers and e-boards, when, and proof that it did.

The contract is ``API.md`` beside this file; the rules are the domain modules
(``zones``, ``schedule``, ``levels``, ``cap``, ``delivery``, ``broadcasts``,
``plays``). This module validates, authorises, stores and sends: commands go
to devices through ``shared.commands`` (one fan-out message for a broadcast,
per-device retries), answers come back as batched telemetry events. Two
timers, each on one replica at a time: ``tick`` (every second: scheduled
broadcasts, retries, expiry, escalation, schedule syncs due) and ``plan``
(devices' schedules for the window ahead, broadcast hours).
"""
import logging
import time
import uuid
from datetime import datetime, timedelta

import eventlet
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc

from services.broadcast import broadcasts, cap, content_source, delivery, metrics, plays, schedule, zones
from services.broadcast.repository import (AnswerRepository, BroadcastRepository, DeliveryRepository,
                                           HoursRepository, PlayRepository, ProgrammeRepository, ScheduleRepository,
                                           ZoneRepository)
from services.broadcast.schemas import (BroadcastFilter, CreateBroadcast, DayRange, OrderRequest, PlayQuery,
                                        ReceiveBulletin, ScheduleRequest)
from shared.commands import DeviceCommands
from shared.context import READ_ROLES, SYSTEM, CallerContext
from shared.devicelink import make_command, make_fanout_command
from shared.errors import CALLER_ERRORS, Conflict, InvalidInput, load
from shared.events import outgoing
from shared.handlers import event_handler
from shared.mongo import Store
from shared.observability import Observability
from shared.timers import LeaseRepository, Replica, configured_timer, lease_seconds
from shared.timeutil import VIETNAM, iso, parse_iso, utcnow

log = logging.getLogger(__name__)

SOURCE = "broadcast"
OPERATE_ROLES = ("commune_admin", "operator")
EMERGENCY_ROLES = ("commune_admin", "approver")
BULLETIN_ROLES = ("commune_admin", "operator")
SYNC_PREFIX = "sync-"
PLAN_DAYS = 2
CAP_TTL = timedelta(hours=24)
UNTIL_DONE = ("queued", "sent", "acknowledged", "playing")
# answers stored by concurrent handlers may carry a time just before the last pass
SETTLE_OVERLAP = timedelta(seconds=5)
REPAIR_AFTER = timedelta(seconds=10)
# what delivery.py reads of a delivery that the stored (slim) documents leave out until set
UNSET = {"acknowledged_at": None, "report_id": None, "completed": None, "message": "", "failure": None}
# the states a delivery may move to each state from (state only moves forward)
FROM = {
    "sent": ("queued",),
    "acknowledged": ("queued", "sent"),
    "playing": ("queued", "sent", "acknowledged"),
    "played": ("queued", "sent", "acknowledged", "playing", "failed"),
    "failed": ("queued", "sent"),
}


class DeviceDirectory(DependencyProvider):
    """The commune's devices from the telemetry registry (id, kind, village,
    name), kept for ``DIRECTORY_SECONDS`` in this container, so that an
    emergency does not wait for the registry to be read."""

    def setup(self):
        self.seconds = float(self.container.config.get("DIRECTORY_SECONDS", 30))
        self.cache = {}

    def get_dependency(self, worker_ctx):
        return self

    def devices(self, commune_id, fetch, fresh=False):
        held = self.cache.get(commune_id)
        if fresh or held is None or time.monotonic() - held[0] > self.seconds:
            listed = [{"device_id": d["device_id"], "kind": d.get("kind"), "village": d.get("village"),
                       "name": d.get("name") or d["device_id"]} for d in fetch(commune_id)]
            held = (time.monotonic(), listed)
            self.cache[commune_id] = held
        return held[1]

    def forget(self, commune_id):
        self.cache.pop(commune_id, None)


def _actor(caller):
    return {"subject": caller.subject, "name": caller.name or caller.subject}


def _event(name, broadcast, actor=None, **extra):
    return outgoing(SOURCE, name, broadcast["commune_id"], actor=actor["subject"] if actor else None, broadcast_id=broadcast["broadcast_id"],
                    title=broadcast["title"], level=broadcast["level"], **extra)


def _speech_events(broadcast, actor):
    """``speech_requested`` for a broadcast whose speech was just asked for."""
    speech = broadcast.get("speech")
    if not speech or speech["state"] != "requested":
        return []
    return [_event("speech_requested", broadcast, actor, reference=speech["reference"], text=speech["text"])]


class BroadcastService:
    name = "broadcast"

    caller = CallerContext()
    config = Config()
    replica = Replica()
    send = DeviceCommands()
    telemetry = RpcProxy("telemetry")
    gateway = RpcProxy("gateway")
    content = RpcProxy("content")
    directory = DeviceDirectory()
    zone_store = Store(ZoneRepository)
    programmes = Store(ProgrammeRepository)
    broadcasts = Store(BroadcastRepository)
    deliveries = Store(DeliveryRepository)
    answers = Store(AnswerRepository)
    plays = Store(PlayRepository)
    hours = Store(HoursRepository)
    schedules = Store(ScheduleRepository)
    leases = Store(LeaseRepository)
    observability = Observability()

    # ------------------------------------------------------------ helpers

    def _scope(self, roles, commune_id):
        caller = self.caller.current().require(*roles)
        return caller, caller.commune_for(commune_id)

    def _devices(self, commune_id, fresh=False):
        return self.directory.devices(commune_id, lambda c: self.telemetry.list_devices({"commune_id": c}), fresh)

    def _zones(self, commune_id, devices):
        stored = [zones.Zone(z["id"], z["name"], device_ids=tuple(z.get("device_ids") or ()))
                  for z in self.zone_store.of_commune(commune_id)]
        return zones.village_zones(devices) + stored

    def _as_system(self):
        self.caller.act_as(SYSTEM)

    def _from_content(self, commune_id, content_id, kind):
        """What to play of a published content item (its audio, or its text)."""
        return content_source.playable(self.content.get_item(content_id, commune_id=commune_id), commune_id, kind)

    def _fill_from_content(self, commune_id, data, request):
        """A broadcast naming a content item without its media plays the
        item's (for the audio's length unless the request gave one)."""
        if data.get("content_id") and not data.get("media_url"):
            found = self._from_content(commune_id, data["content_id"], data.get("kind") or "audio")
            data = dict(data, media_url=found["media_url"], text=data.get("text") or found["text"])
            if "duration_seconds" not in request:
                data["duration_seconds"] = found["duration_seconds"]
        return data

    def _fill_items(self, commune_id, programme):
        """Playlist items naming a content item without a media address take
        the item's (and its length when none is given)."""
        if not isinstance(programme, dict) or not isinstance(programme.get("items"), list):
            return programme
        items = []
        for item in programme["items"]:
            if isinstance(item, dict) and item.get("content_id") and item.get("kind", "audio") == "audio" \
                    and not item.get("media_url"):
                found = self._from_content(commune_id, item["content_id"], "audio")
                item = dict(item, media_url=found["media_url"], title=item.get("title") or found["title"],
                            duration_seconds=item.get("duration_seconds") or found["duration_seconds"])
            items.append(item)
        return dict(programme, items=items)

    # ------------------------------------------------------------ zones

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_zones(self, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        devices = self._devices(commune_id)
        return [dict(zone.to_dict(), kind=zone.kind, village=zone.village, device_ids=sorted(zones.members(zone, devices)),
                     device_count=len(zones.members(zone, devices))) for zone in self._zones(commune_id, devices)]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_zone(self, zone, commune_id=None):
        caller, commune_id = self._scope(OPERATE_ROLES, commune_id)
        if isinstance(zone, dict) and zone.get("village") is not None:
            raise InvalidInput("village: vùng phát theo thôn được lập tự động từ danh sách thiết bị; "
                               "ở đây chỉ lập nhóm thiết bị (device_ids).")
        devices = self._devices(commune_id, fresh=True)
        parsed = zones.parse_zone(zone, devices)
        if any(z.id == parsed.id and z.kind == "village" for z in zones.village_zones(devices)):
            raise Conflict(f"id: mã «{parsed.id}» đã là mã vùng phát của một thôn; hãy chọn mã khác.")
        self.zone_store.save(commune_id, parsed.to_dict(), _actor(caller), utcnow())
        self._plan_commune(commune_id, utcnow())
        return dict(parsed.to_dict(), kind="group", village=None, device_count=len(zones.members(parsed, devices)))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def delete_zone(self, zone_id, commune_id=None):
        _, commune_id = self._scope(OPERATE_ROLES, commune_id)
        using = [p["name"] for p in self.programmes.of_commune(commune_id) if zone_id in p["target"].get("zones", ())]
        if using:
            raise Conflict(f"Không xóa được nhóm «{zone_id}»: các chương trình {', '.join(using)} đang phát tới nhóm này.",
                           {"programmes": using})
        self.zone_store.delete(commune_id, zone_id)
        return {"deleted": True}

    # ------------------------------------------------------------ programmes

    def _parsed_programmes(self, commune_id):
        parsed = []
        for stored in self.programmes.of_commune(commune_id):
            data = {k: stored[k] for k in schedule.PROGRAMME_KEYS if k in stored}
            parsed.append((schedule.parse_programme(data), stored))
        return parsed

    def _device_targets(self, programmes, devices, zone_list):
        found = {}
        for programme in programmes:
            try:
                found[programme.id] = zones.targets(programme.target, devices, zone_list, programme.content_kind)
            except InvalidInput:
                found[programme.id] = set()  # its devices are gone: it plays nowhere until edited
        return found

    def _programme_view(self, programme, stored, device_targets, now, upcoming=1):
        found = schedule.occurrences(programme, now, now + timedelta(days=400))[:upcoming]
        view = dict(programme.to_dict(), device_count=len(device_targets.get(programme.id, ())),
                    next_at=iso(found[0][0]) if found else None, updated_at=stored.get("updated_at"),
                    updated_by=stored.get("updated_by"))
        if upcoming > 1:
            view["next"] = [{"starts_at": iso(s), "ends_at": iso(e)} for s, e in found]
        return view

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_programmes(self, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        devices = self._devices(commune_id)
        parsed = self._parsed_programmes(commune_id)
        targets = self._device_targets([p for p, _ in parsed], devices, self._zones(commune_id, devices))
        now = utcnow()
        return [self._programme_view(p, stored, targets, now) for p, stored in parsed]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_programme(self, programme_id, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        stored = self.programmes.get(commune_id, programme_id)
        programme = schedule.parse_programme({k: stored[k] for k in schedule.PROGRAMME_KEYS if k in stored})
        devices = self._devices(commune_id)
        targets = self._device_targets([programme], devices, self._zones(commune_id, devices))
        return self._programme_view(programme, stored, targets, utcnow(), upcoming=10)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_programme(self, programme, commune_id=None):
        caller, commune_id = self._scope(OPERATE_ROLES, commune_id)
        candidate = schedule.parse_programme(self._fill_items(commune_id, programme))
        devices = self._devices(commune_id, fresh=True)
        zone_list = self._zones(commune_id, devices)
        targets = {candidate.id: zones.targets(candidate.target, devices, zone_list, candidate.content_kind)}
        existing = [p for p, _ in self._parsed_programmes(commune_id) if p.id != candidate.id]
        targets.update(self._device_targets(existing, devices, zone_list))
        now = utcnow()
        admission = schedule.admit(candidate, existing, targets, (now, now + timedelta(days=366)))
        admission.check()
        stored = self.programmes.save(commune_id, candidate.to_dict(), _actor(caller), now)
        self._plan_commune(commune_id, now)
        return {"programme": self._programme_view(candidate, stored, targets, now),
                "notice": admission.message() if admission.ordered else ""}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def delete_programme(self, programme_id, commune_id=None):
        _, commune_id = self._scope(OPERATE_ROLES, commune_id)
        self.programmes.delete(commune_id, programme_id)
        self._plan_commune(commune_id, utcnow())
        return {"deleted": True}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def calendar(self, start, end, zone_id=None, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        window = load(DayRange, {"start": start, "end": end, "zone_id": zone_id, "commune_id": commune_id})
        devices = self._devices(commune_id)
        zone_list = self._zones(commune_id, devices)
        parsed = [p for p, _ in self._parsed_programmes(commune_id)]
        targets = self._device_targets(parsed, devices, zone_list)
        members = {zone.id: zones.members(zone, devices) for zone in zone_list}
        if window["zone_id"] and window["zone_id"] not in members:
            raise InvalidInput(f"zone_id: không có vùng phát «{window['zone_id']}».")
        start_at = plays.day_bounds(window["start"])[0]
        end_at = plays.day_bounds(window["end"])[1]
        found = []
        for programme in parsed:
            reached = targets.get(programme.id, set())
            in_zones = [zone_id for zone_id, ids in members.items() if ids & reached]
            if window["zone_id"] and window["zone_id"] not in in_zones:
                continue
            for s, e in schedule.occurrences(programme, start_at, end_at):
                found.append({"programme_id": programme.id, "name": programme.name, "priority": programme.priority,
                              "starts_at": iso(s), "ends_at": iso(e), "zones": in_zones, "device_count": len(reached)})
        found.sort(key=lambda o: (o["starts_at"], o["programme_id"]))
        return {"start": window["start"].isoformat(), "end": window["end"].isoformat(),
                "zones": [{"id": z.id, "name": z.name} for z in zone_list], "occurrences": found}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def device_schedule(self, device_id, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        doc = self.schedules.get(commune_id, device_id)
        if doc is None:
            return {"device_id": device_id, "version": 0, "synced_version": 0, "synced_at": None, "entries": [],
                    "moved": [], "dropped": []}
        return {k: doc.get(k) for k in ("device_id", "version", "synced_version", "synced_at", "entries", "moved",
                                        "dropped", "window_start", "window_end")}

    # ------------------------------------------------------------ device schedules

    def _plan_commune(self, commune_id, now, only_due=False):
        """Compute every device's plan for the days ahead and send a schedule
        sync where the version changed (devices sharing the same programmes
        share one computation)."""
        devices = self._devices(commune_id)
        zone_list = self._zones(commune_id, devices)
        parsed = [p for p, _ in self._parsed_programmes(commune_id)]
        targets = self._device_targets(parsed, devices, zone_list)
        known = self.schedules.of_commune(commune_id)
        today = now.astimezone(VIETNAM).date()
        start, end = plays.day_bounds(today)[0], plays.day_bounds(today + timedelta(days=PLAN_DAYS - 1))[1]
        by_programmes = {}
        for device in devices:
            ids = frozenset(p.id for p in parsed if device["device_id"] in targets.get(p.id, ()))
            if ids or device["device_id"] in known:
                by_programmes.setdefault(ids, []).append(device["device_id"])
        for ids, device_ids in by_programmes.items():
            mine = [p for p in parsed if p.id in ids]
            plan = schedule.device_plan(device_ids[0], mine, {p.id: set(device_ids) for p in mine}, start, end)
            entries = list(plan.entries)
            version = schedule.schedule_version(entries)
            for device_id in device_ids:
                held = known.get(device_id) or {}
                if held.get("version") == version and (held.get("synced_version") == version or only_due):
                    continue
                self.schedules.put(commune_id, device_id, {
                    "version": version, "entries": entries, "moved": list(plan.moved), "dropped": list(plan.dropped),
                    "window_start": iso(start), "window_end": iso(end), "computed_at": iso(now),
                    "synced_version": held.get("synced_version", 0), "attempts": 0, "retry_at": iso(now)})
        self._sync_due(now, commune_id)

    def _sync_due(self, now, commune_id=None):
        for doc in self.schedules.due(now):
            if commune_id and doc["commune_id"] != commune_id:
                continue
            if doc.get("synced_version") == doc["version"]:
                self.schedules.put(doc["commune_id"], doc["device_id"], {"retry_at": None})
                continue
            command_id = SYNC_PREFIX + uuid.uuid4().hex
            command = make_command(doc["commune_id"], doc["device_id"], "schedule_sync",
                                   {"version": doc["version"], "entries": doc["entries"]},
                                   ttl=timedelta(hours=1), command_id=command_id, now=now)
            routed = self.send(command)
            attempts = (doc.get("attempts") or 0) + 1
            self.schedules.put(doc["commune_id"], doc["device_id"], {
                "sync_command_id": command_id, "attempts": attempts, "last_attempt_at": iso(now),
                "routed": bool(routed), "retry_at": iso(now + delivery.backoff(attempts))})

    # ------------------------------------------------------------ broadcasts

    def _resolve(self, commune_id, target, kind, fresh=False):
        devices = self._devices(commune_id, fresh=fresh)
        content_kind = "text" if kind == "text" else "audio"
        return zones.targets(target, devices, self._zones(commune_id, devices), content_kind), devices

    @rpc(expected_exceptions=CALLER_ERRORS)
    def create_broadcast(self, request, commune_id=None):
        caller = self.caller.current()
        began = time.perf_counter()
        data = load(CreateBroadcast, request if isinstance(request, dict) else {})
        commune_id = caller.commune_for(commune_id or data.pop("commune_id", None))
        data.pop("commune_id", None)
        emergency = data["level"] == "emergency"
        caller.require(*(EMERGENCY_ROLES if emergency else OPERATE_ROLES))
        data = self._fill_from_content(commune_id, data, request)
        device_ids, _ = self._resolve(commune_id, data["target"], data["kind"])
        if emergency and not data["confirm"]:
            raise broadcasts.confirmation_needed(device_ids, data["title"])
        now = utcnow()
        broadcast = broadcasts.new_broadcast(commune_id, data, "commune", _actor(caller), now, device_ids, "sending")
        log.info("broadcast %s: %d devices resolved in %.0f ms", broadcast["broadcast_id"], len(device_ids),
                 (time.perf_counter() - began) * 1000)
        return self._start(broadcast, now, _actor(caller))

    def _start(self, broadcast, now, actor):
        """Store a new broadcast (with its event) and act on its state."""
        events = [_event("broadcast_created", broadcast, actor, origin=broadcast["origin"], state=broadcast["state"],
                         device_count=broadcast["device_count"])] + _speech_events(broadcast, actor)
        if broadcast["state"] == "sending":
            broadcast["dispatched_at"] = iso(now)
            stored = self.broadcasts.add(broadcast, events)
            self._dispatch(stored, now)
        else:
            stored = self.broadcasts.add(broadcast, events)
        metrics.created(stored)
        return broadcasts.view(stored)

    def _dispatch(self, broadcast, now):
        """One fan-out command for all the devices first, then a delivery
        per device. An emergency must not wait for 2,000 writes, nor share
        the machine with them while devices answer: the deliveries are
        written ``DELIVERIES_DELAY_SECONDS`` later, in the background
        (answers arriving meanwhile wait in ``answers`` for the next settle
        pass; if the process dies first, ``tick`` writes them)."""
        kind, params = broadcasts.command(broadcast)
        command = make_fanout_command(broadcast["commune_id"], broadcast["device_ids"], kind, params,
                                      ttl=broadcasts.ttl(broadcast, now), command_id=broadcast["command_id"], now=now)
        began = time.perf_counter()
        routed = self.send(command)
        log.info("broadcast %s (%s) to %d devices: fan-out %s in %.0f ms", broadcast["broadcast_id"],
                 broadcast["level"], len(broadcast["device_ids"]),
                 "routed" if routed else "unroutable (no device of the commune connected)",
                 (time.perf_counter() - began) * 1000)
        rows = self._delivery_rows(broadcast, now)
        delay = float(self.config.get("DELIVERIES_DELAY_SECONDS", 1.0))
        store = (self.deliveries, self.broadcasts)
        eventlet.spawn_after(delay, self._store_deliveries, store, broadcast, rows, now)

    def _delivery_rows(self, broadcast, now):
        kind, _ = broadcasts.command(broadcast)
        village_of = {d["device_id"]: d.get("village") for d in self._devices(broadcast["commune_id"])}
        retry_at = iso(now + delivery.backoff(1))
        return [{"device_id": device_id, "command_id": broadcast["command_id"], "kind": kind, "state": "queued",
                 "broadcast_id": broadcast["broadcast_id"], "commune_id": broadcast["commune_id"],
                 "village": village_of.get(device_id), "attempts": 1, "last_attempt_at": iso(now),
                 "retry_at": retry_at, "created_at": iso(now)} for device_id in broadcast["device_ids"]]

    @staticmethod
    def _store_deliveries(store, broadcast, rows, now):
        """A delivery per device (idempotent), then the mark that they exist."""
        deliveries, broadcasts_store = store
        began = time.perf_counter()
        try:
            metrics.moved(broadcast, "queued", len(deliveries.add_many(rows)))
            broadcasts_store.deliveries_stored(broadcast["broadcast_id"], broadcast["command_id"], now)
            current = broadcasts_store.by_id(broadcast["broadcast_id"])
            if current["state"] != "sending" or current["command_id"] != broadcast["command_id"]:
                # cancelled or replaced (CAP Update) before they were written
                metrics.moved(broadcast, "failed", deliveries.move(
                    broadcast["command_id"], [r["device_id"] for r in rows], "failed", FROM["failed"],
                    {"failure": {"reason": "cancelled", "message": "", "at": iso(now)}, "retry_at": None}))
        except Exception:
            log.exception("storing the deliveries of broadcast %s failed; the next tick retries",
                          broadcast["broadcast_id"])
            return
        log.info("broadcast %s: %d deliveries stored in %.0f ms", broadcast["broadcast_id"], len(rows),
                 (time.perf_counter() - began) * 1000)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def set_volume(self, target, volume, commune_id=None):
        """Set the volume of a target's loudspeakers (one fan-out command;
        each device's answer arrives like any other)."""
        _, commune_id = self._scope(OPERATE_ROLES, commune_id)
        if isinstance(volume, bool) or not isinstance(volume, int) or not 0 <= volume <= 100:
            raise InvalidInput("volume: âm lượng phải là số nguyên từ 0 đến 100.")
        device_ids, _ = self._resolve(commune_id, target, "audio", fresh=True)
        command = make_fanout_command(commune_id, sorted(device_ids), "set_volume", {"volume": volume},
                                      command_id="volume-" + uuid.uuid4().hex)
        return {"command_id": command["command_id"], "device_count": len(device_ids), "routed": self.send(command)}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def receive_bulletin(self, request, commune_id=None):
        caller = self.caller.current().require(*BULLETIN_ROLES)
        data = load(ReceiveBulletin, request if isinstance(request, dict) else {})
        commune_id = caller.commune_for(commune_id or data.pop("commune_id", None))
        data.pop("commune_id", None)
        known = self.broadcasts.by_external(commune_id, data["source"], data["external_id"])
        if known is not None:
            return broadcasts.view(known)
        data = self._fill_from_content(commune_id, data, request)
        return self._bulletin(commune_id, data, data["source"], _actor(caller), utcnow())

    def _bulletin(self, commune_id, data, origin, actor, now):
        device_ids, _ = self._resolve(commune_id, data["target"], data.get("kind") or "audio")
        state = {"normal": "inbox", "priority": "sending", "emergency": "sending"}[data["level"]]
        if data["level"] == "priority":
            clash = self._high_clash(commune_id, device_ids, now, data.get("duration_seconds", 60) * data.get("repeat", 1))
            if clash is not None:
                data = dict(data, clash=clash)
                state = "needs_order"
        broadcast = broadcasts.new_broadcast(commune_id, data, origin, actor, now, device_ids, state)
        return self._start(broadcast, now, actor)

    def _high_clash(self, commune_id, device_ids, now, seconds):
        """The commune's own high-priority programme occurrence playing on
        these devices during [now, now + seconds], if any (Circular 39: the
        commune orders them)."""
        devices = self._devices(commune_id)
        zone_list = self._zones(commune_id, devices)
        parsed = [p for p, _ in self._parsed_programmes(commune_id) if p.priority == "high"]
        targets = self._device_targets(parsed, devices, zone_list)
        end = now + timedelta(seconds=seconds)
        for programme in parsed:
            if not targets.get(programme.id, set()) & set(device_ids):
                continue
            for s, e in schedule.occurrences(programme, now, end):
                return {"programme_id": programme.id, "name": programme.name, "starts_at": iso(s), "ends_at": iso(e)}
        return None

    @rpc(expected_exceptions=CALLER_ERRORS)
    def ingest_cap(self, xml, commune_id=None):
        caller = self.caller.current().require(*BULLETIN_ROLES)
        commune_id = caller.commune_for(commune_id)
        alert = cap.parse(xml.encode("utf-8") if isinstance(xml, str) else xml if isinstance(xml, bytes) else b"")
        now = utcnow()
        key = cap.key(alert)
        if self.broadcasts.by_cap_keys(commune_id, [key]):
            return {"action": "ignored", "broadcast": broadcasts.view(self.broadcasts.by_cap_keys(commune_id, [key])[0]),
                    "unmatched_areas": [], "message": "Tin CAP này đã được nhận trước đó."}
        referenced = self.broadcasts.by_cap_keys(commune_id, cap.reference_keys(alert)) if alert["references"] else []
        msg_type = alert["msgType"]
        if msg_type in ("Ack", "Error"):
            return {"action": "ignored", "broadcast": None, "unmatched_areas": [],
                    "message": f"Tin CAP loại {msg_type} không cần phát."}
        if msg_type == "Cancel":
            if not referenced:
                return {"action": "ignored", "broadcast": None, "unmatched_areas": [],
                        "message": "Tin hủy (Cancel) không khớp bản tin nào đã nhận (references)."}
            cancelled = [self._cancel(b, "Nguồn tin đã hủy cảnh báo (CAP Cancel).", _actor(caller), now, cap_key=key)
                         for b in referenced]
            return {"action": "cancelled", "broadcast": broadcasts.view(cancelled[0]), "unmatched_areas": []}
        info = cap.preferred_info(alert)
        level = cap.level_for(info, alert["status"])
        profile = self._commune_profile(commune_id)
        mapped = cap.areas_to_targets(info.get("areas") or [], profile["name"], profile["villages"])
        target = self._cap_target(commune_id, mapped)
        text = cap.speech_text(info, alert["status"])
        data = {"title": (info.get("headline") or info.get("event") or alert["identifier"])[:300], "text": text[:2000],
                "speech_text": text[:5000],
                "kind": "audio", "level": level, "target": target, "duration_seconds": 60, "repeat": 1,
                "expires_at": max(cap.expires_at(info, CAP_TTL), now + timedelta(minutes=1)),
                "cap": {"keys": [key], "identifier": alert["identifier"], "sender": alert["sender"],
                        "sent": alert["sent"], "msg_type": msg_type, "status": alert["status"],
                        "references": cap.reference_keys(alert)}}
        open_ones = [b for b in referenced if b["state"] in broadcasts.OPEN]
        if msg_type == "Update" and open_ones:
            updated = self._update_from_cap(open_ones[0], data, key, _actor(caller), now)
            return {"action": "updated", "broadcast": broadcasts.view(updated), "unmatched_areas": mapped["unmatched"]}
        created = self._bulletin(commune_id, data, "cap", _actor(caller), now)
        return {"action": "created", "broadcast": created, "unmatched_areas": mapped["unmatched"]}

    def _commune_profile(self, commune_id):
        profile = self.gateway.commune_profile(commune_id)
        return {"name": profile.get("name") or commune_id,
                "villages": [{"id": v["id"], "name": v["name"]} for v in profile.get("villages") or ()]}

    def _cap_target(self, commune_id, mapped):
        if mapped["commune"] or not mapped["zones"]:
            return {"commune": True}
        devices = self._devices(commune_id)
        by_village = {zone.village: zone.id for zone in zones.village_zones(devices)}
        chosen = [by_village[v] for v in mapped["zones"] if v in by_village]
        return {"zones": chosen} if chosen else {"commune": True}

    def _update_from_cap(self, broadcast, data, key, actor, now):
        """A CAP Update: the broadcast takes the new text, level and target;
        if it was on air, the old play stops and the new one goes out."""
        device_ids, _ = self._resolve(broadcast["commune_id"], data["target"], "audio")
        was_sending = broadcast["state"] == "sending"
        if was_sending:
            self._stop(broadcast, now)
        revision = len(broadcast["cap"]["keys"])
        fields = {"title": data["title"], "text": data["text"], "level": data["level"], "target": data["target"],
                  "device_ids": sorted(device_ids), "device_count": len(device_ids), "expires_at": iso(data["expires_at"]),
                  "cap": dict(broadcast["cap"], keys=broadcast["cap"]["keys"] + [key], msg_type="Update"),
                  "command_id": f"bc-{broadcast['broadcast_id']}-{revision}", "content_id": f"broadcast-{broadcast['broadcast_id']}-{revision}"}
        if broadcast.get("speech"):
            fields.update(broadcasts.speech_request(broadcast["commune_id"], fields["content_id"],
                                                    broadcasts.spoken(data), now))
        if data["level"] == "normal" and not was_sending:
            fields["state"] = "inbox"
        else:
            fields["state"], fields["dispatched_at"] = "sending", iso(now)
        changed = {**broadcast, **fields}
        updated = self.broadcasts.change(broadcast, fields, [_event("broadcast_created", changed, actor,
                                                                      origin=broadcast["origin"], state=fields["state"],
                                                                      device_count=len(device_ids))]
                                         + _speech_events(changed, actor))
        if updated["state"] == "sending":
            self._dispatch(updated, now)
        return updated

    def _stop(self, broadcast, now):
        """Stop the broadcast on its devices (one fan-out; a device that is
        not playing it ignores it) and fail the deliveries still waiting."""
        rows = self.deliveries.of_broadcast(broadcast["broadcast_id"])
        for command_id in {r["command_id"] for r in rows}:
            ids = [r["device_id"] for r in rows if r["command_id"] == command_id and r["state"] in ("queued", "sent")]
            metrics.moved(broadcast, "failed", self.deliveries.move(
                command_id, ids, "failed", FROM["failed"],
                {"failure": {"reason": "cancelled", "message": "", "at": iso(now)}, "retry_at": None}))
        finished = {r["device_id"] for r in rows if r["command_id"] == broadcast["command_id"]
                    and r["state"] in delivery.FINAL}
        reached = [d for d in broadcast["device_ids"] if d not in finished]
        if reached:
            _, params = broadcasts.command(broadcast)
            stop = make_fanout_command(broadcast["commune_id"], reached, "stop",
                                       {"content_id": params.get("content_id", "")}, command_id="stop-" + uuid.uuid4().hex,
                                       now=now)
            self.send(stop)

    def _cancel(self, broadcast, reason, actor, now, cap_key=None):
        if broadcast["state"] == "sending":
            self._stop(broadcast, now)
        fields = {"state": "cancelled", "cancelled_at": iso(now), "reason": reason}
        if cap_key:
            fields["cap"] = dict(broadcast["cap"], keys=broadcast["cap"]["keys"] + [cap_key], msg_type="Cancel")
        return self.broadcasts.change(broadcast, fields, [_event("broadcast_cancelled", broadcast, actor, reason=reason)])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def cancel_broadcast(self, broadcast_id, reason="", commune_id=None):
        caller, commune_id = self._scope(OPERATE_ROLES + EMERGENCY_ROLES, commune_id)
        broadcast = self.broadcasts.get(commune_id, broadcast_id)
        broadcasts.check_open(broadcast, "hủy")
        return broadcasts.view(self._cancel(broadcast, (reason or "")[:500], _actor(caller), utcnow()))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def schedule_broadcast(self, broadcast_id, at=None, target=None, commune_id=None):
        caller, commune_id = self._scope(OPERATE_ROLES, commune_id)
        data = load(ScheduleRequest, {"at": at, "target": target})
        broadcast = self.broadcasts.get(commune_id, broadcast_id)
        broadcasts.check_schedulable(broadcast)
        now = utcnow()
        fields = {}
        if data["target"] is not None:
            device_ids, _ = self._resolve(commune_id, data["target"], broadcast["kind"], fresh=True)
            fields.update(target=data["target"], device_ids=sorted(device_ids), device_count=len(device_ids))
        when = schedule.to_utc(data["at"]) if data["at"] else now
        if when >= parse_iso(broadcast["expires_at"]):
            raise InvalidInput("at: thời điểm phát sau khi bản tin hết hạn.")
        if data["at"] and when > now:
            fields.update(state="scheduled", scheduled_at=iso(when))
            return broadcasts.view(self.broadcasts.change(broadcast, fields))
        fields.update(state="sending", scheduled_at=iso(now), dispatched_at=iso(now))
        updated = self.broadcasts.change(broadcast, fields)
        self._dispatch(updated, now)
        return broadcasts.view(updated)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def order_bulletin(self, broadcast_id, placement, commune_id=None):
        _, commune_id = self._scope(OPERATE_ROLES, commune_id)
        placement = load(OrderRequest, {"placement": placement})["placement"]
        broadcast = self.broadcasts.get(commune_id, broadcast_id)
        broadcasts.check_orderable(broadcast, placement)
        now = utcnow()
        clash_end = parse_iso(broadcast["clash"]["ends_at"]) if broadcast.get("clash") else now
        if placement == "after" and clash_end > now:
            return broadcasts.view(self.broadcasts.change(broadcast, {"state": "scheduled", "order": placement,
                                                                      "scheduled_at": iso(clash_end)}))
        updated = self.broadcasts.change(broadcast, {"state": "sending", "order": placement,
                                                     "scheduled_at": iso(now), "dispatched_at": iso(now)})
        self._dispatch(updated, now)
        return broadcasts.view(updated)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_broadcasts(self, request=None, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(BroadcastFilter, dict(request or {}, **({"commune_id": commune_id} if commune_id else {})))
        commune_id = caller.commune_for(query["commune_id"])
        found = self.broadcasts.find(commune_id, query["level"], query["state"], query["origin"], query["limit"])
        rank = {"emergency": 0, "priority": 1, "normal": 2}
        waiting = sorted((b for b in found if b["state"] in ("inbox", "needs_order")),
                         key=lambda b: (rank[b["level"]], *broadcasts.inbox_key(b)))
        others = [b for b in found if b["state"] not in ("inbox", "needs_order")]
        counts = self.broadcasts.count_by_level(commune_id, "inbox")
        return {"items": [broadcasts.view(b) for b in waiting + others],
                "inbox": {level: counts.get(level, 0) for level in ("emergency", "priority", "normal")}}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_broadcast(self, broadcast_id, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        broadcast = self.broadcasts.get(commune_id, broadcast_id)
        rows = self.deliveries.of_broadcast(broadcast_id)
        times = {}
        for answer in self.answers.of_command(broadcast["command_id"]):
            times.setdefault(answer["device_id"], {})[answer["status"]] = answer["at"]
        shown = []
        for row in rows:
            if row["command_id"] != broadcast["command_id"]:
                continue
            answered = times.get(row["device_id"], {})
            shown.append({"device_id": row["device_id"], "village": row.get("village"), "state": row["state"],
                          "state_vi": delivery.STATES_VI[row["state"]], "attempts": row.get("attempts", 0),
                          "sent_at": row.get("sent_at"), "acknowledged_at": answered.get("accepted") or answered.get("completed"),
                          "playing_at": answered.get("accepted") if row["state"] in ("playing", "played") else None,
                          "played_at": answered.get("completed") if row["state"] == "played" else None,
                          "message": row.get("message") or "", "failure": row.get("failure")})
        view = broadcasts.view(broadcast)
        view["delivery"] = delivery.summary(shown)
        view["deliveries"] = shown
        return view

    # ------------------------------------------------------------ answers from devices

    @event_handler("telemetry", "commands_acknowledged")
    def on_commands_acknowledged(self, event):
        """Device answers, batched by the edge: each stored once (the
        ``tick`` folds them into delivery states); schedule syncs kept are
        marked at once."""
        commune_id = event["commune_id"]
        stored_at = iso()
        acks = [dict(a, commune_id=commune_id, stored_at=stored_at) for a in event["acks"]]
        fresh = self.answers.add_many(acks)
        syncs = [a for a in acks if a["command_id"].startswith(SYNC_PREFIX)
                 and f"{a['command_id']}:{a['device_id']}:{a['status']}" in fresh]
        if syncs:
            self._schedule_answers(commune_id, syncs)

    def _schedule_answers(self, commune_id, acks):
        docs = {d["sync_command_id"]: d for d in self.schedules.by_sync_commands({a["command_id"] for a in acks})}
        for ack in acks:
            doc = docs.get(ack["command_id"])
            if doc is None or ack["status"] == "accepted":
                continue
            if ack["status"] == "completed":
                self.schedules.synced(commune_id, ack["device_id"], ack["command_id"], doc["version"], ack["at"])
            else:
                log.warning("device %s refused its schedule: %s", ack["device_id"], ack.get("message"))

    @event_handler("telemetry", "plays_reported")
    def on_plays_reported(self, event):
        """Proof of play, batched by the edge: each play kept once with its
        true times and its day's hours marked for recounting (the ``tick``
        moves the deliveries it proves)."""
        commune_id = event["commune_id"]
        self._as_system()
        village_of = {d["device_id"]: d.get("village") for d in self._devices(commune_id)}
        commands = {r.get("command_id") for r in event["reports"] if r.get("command_id")}
        owner = {c: b["broadcast_id"] for c, b in self.broadcasts.by_command_ids(commands).items()} if commands else {}
        now = utcnow()
        records = [r for r in (plays.play_record(report, village_of.get(report["device_id"]), owner, now)
                               for report in event["reports"]) if r is not None]
        fresh = set(self.plays.add_many(commune_id, records))
        self.hours.touch(commune_id, sorted({day for r in records if r["_id"] in fresh for day in r["days"]}))

    def _settle_deliveries(self, broadcast, now):
        """Fold the answers and plays stored since the last pass into the
        broadcast's delivery states (one write per resulting state); a
        broadcast whose deliveries are all final is done. Redoing a pass
        changes nothing: a transition that is no progress is skipped."""
        since = broadcast.get("settled_at") or broadcast["dispatched_at"] or broadcast["created_at"]
        since = iso(parse_iso(since) - SETTLE_OVERLAP)
        command_id = broadcast["command_id"]
        answers = [dict(a, _order=a["at"]) for a in self.answers.of_command_since(command_id, since)]
        proofs = [dict(p, _order=p["ended_at"]) for p in self.plays.of_command_since(command_id, since)]
        if answers or proofs:
            rows = {r["device_id"]: dict(UNSET, **r, history=[], _state_before=r["state"]) for r in
                    self.deliveries.of_command(command_id, {a["device_id"] for a in answers + proofs})}
            for item in sorted(answers + proofs, key=lambda i: i["_order"]):
                row = rows.get(item["device_id"])
                if row is None:
                    continue
                if "status" in item:
                    moved = delivery.command_acknowledged(row, item["status"], parse_iso(item["at"]), item.get("message") or "")
                else:
                    moved = delivery.play_reported(row, item["report_id"], parse_iso(item["ended_at"]), item["completed"])
                if moved is not None:
                    rows[item["device_id"]] = dict(moved, _changed=True)
            changed = [r for r in rows.values() if r.get("_changed")]
            self._write_states(broadcast, changed)
            self._observe_acknowledgements(broadcast, changed)
        fields = {"settled_at": iso(now)}
        if not self.deliveries.open_of_broadcast(broadcast["broadcast_id"]):
            fields.update(state="done", finished_at=iso(now))
        try:
            self.broadcasts.change(broadcast, fields)
        except Conflict:
            pass  # cancelled or expired meanwhile: the next pass sees it

    @staticmethod
    def _observe_acknowledgements(broadcast, changed):
        """Each device's time to acknowledge, once: in the pass that moves it
        from waiting (queued, sent) to answered, by the answer's own time."""
        dispatched = parse_iso(broadcast["dispatched_at"] or broadcast["created_at"])
        for row in changed:
            answered = row.get("acknowledged_at") or row.get("played_at")
            if row["_state_before"] in ("queued", "sent") and row["state"] in delivery.ACKNOWLEDGED and answered:
                metrics.acknowledged(broadcast, (parse_iso(answered) - dispatched).total_seconds())

    def _write_states(self, broadcast, changed):
        command_id = broadcast["command_id"]
        groups = {}
        for row in changed:
            extra = {"retry_at": None} if row["state"] not in ("queued", "sent") else {}
            if row["state"] == "failed":
                extra["failure"] = row.get("failure")
            if row["state"] == "played":
                extra["completed"] = row.get("completed")
            key = (row["state"], tuple(sorted((k, str(v)) for k, v in extra.items())))
            groups.setdefault(key, ([], extra))[0].append(row["device_id"])
        for (state, _), (device_ids, extra) in groups.items():
            metrics.moved(broadcast, state, self.deliveries.move(command_id, device_ids, state, FROM[state], extra))

    @event_handler("content", "speech_rendered")
    def on_speech_rendered(self, event):
        """The content service spoke a broadcast (or could not): recorded on
        the broadcast whose ``content_id`` it names, for the console."""
        broadcast = self.broadcasts.by_content_id(event["commune_id"], event["reference"])
        if broadcast is None or not broadcast.get("speech"):
            log.info("speech %s names no broadcast of %s", event["reference"], event["commune_id"])
            return
        if event["state"] == "failed":
            log.warning("broadcast %s cannot be spoken: %s", broadcast["broadcast_id"], event["error"])
        self.broadcasts.record_speech(broadcast, broadcasts.speech_outcome(broadcast, event, utcnow()))

    @event_handler("telemetry", "device_status_reported")
    def on_device_status(self, event):
        """A device back online gets what waits for it now, not at its next back-off."""
        if not event["online"]:
            return
        now = utcnow()
        for row in self.deliveries.pending_of_device(event["commune_id"], event["device_id"]):
            self.deliveries.update(row, {"retry_at": iso(now)})
        held = self.schedules.get(event["commune_id"], event["device_id"])
        if held is not None and held.get("synced_version") != held.get("version"):
            self.schedules.put(event["commune_id"], event["device_id"], {"retry_at": iso(now)})

    # ------------------------------------------------------------ timers

    def _lease(self, name, setting, default, floor):
        return self.leases.acquire(name, self.replica, utcnow(), lease_seconds(self.config, setting, default, floor))

    @configured_timer("DISPATCH_SECONDS", 1.0)
    def tick(self):
        """Scheduled broadcasts due, expiry and escalation, per-device
        retries, schedule syncs due."""
        if not self._lease("dispatch", "DISPATCH_SECONDS", 1.0, 10.0):
            return
        self._as_system()
        now = utcnow()
        for broadcast in self.broadcasts.in_states(("scheduled",)):
            if broadcast["scheduled_at"] and parse_iso(broadcast["scheduled_at"]) <= now:
                try:
                    updated = self.broadcasts.change(broadcast, {"state": "sending", "dispatched_at": iso(now)})
                except Conflict:
                    continue
                self._dispatch(updated, now)
        sending = {b["broadcast_id"]: b for b in self.broadcasts.in_states(("sending",))}
        for broadcast in sending.values():
            if not broadcast.get("deliveries_at") or broadcast["deliveries_at"] != broadcast["command_id"]:
                if parse_iso(broadcast["dispatched_at"]) < now - REPAIR_AFTER:
                    # the dispatching process died before storing them
                    self._store_deliveries((self.deliveries, self.broadcasts), broadcast,
                                           self._delivery_rows(broadcast, parse_iso(broadcast["dispatched_at"])), now)
                continue
            self._settle_deliveries(broadcast, now)
            self._expire_or_escalate(broadcast, now)
        for row in self.deliveries.due(now):
            broadcast = sending.get(row["broadcast_id"])
            if broadcast is None or parse_iso(broadcast["expires_at"]) <= now or row["command_id"] != broadcast["command_id"]:
                self.deliveries.update(row, {"retry_at": None})
                continue
            self._retry(broadcast, row, now)
        self._sync_due(now)

    def _retry(self, broadcast, row, now):
        kind, params = broadcasts.command(broadcast)
        command = make_command(broadcast["commune_id"], row["device_id"], kind, params,
                               ttl=broadcasts.ttl(broadcast, now), command_id=row["command_id"], now=now)
        routed = self.send(command)
        attempts = row.get("attempts", 0) + 1
        fields = {"attempts": attempts, "last_attempt_at": iso(now), "retry_at": iso(now + delivery.backoff(attempts))}
        if routed and row["state"] == "queued":
            fields.update(state="sent", sent_at=iso(now))
        if self.deliveries.update(row, fields) and fields.get("state") == "sent":
            metrics.moved(broadcast, "sent", 1)

    def _expire_or_escalate(self, broadcast, now):
        metrics.on_air(broadcast)
        if parse_iso(broadcast["expires_at"]) <= now:
            rows = self.deliveries.of_broadcast(broadcast["broadcast_id"])
            waiting = [r["device_id"] for r in rows if r["state"] in ("queued", "sent")]
            metrics.moved(broadcast, "failed", self.deliveries.move(
                broadcast["command_id"], waiting, "failed", FROM["failed"],
                {"failure": {"reason": "expired", "message": "", "at": iso(now)}, "retry_at": None}))
            try:
                self.broadcasts.change(broadcast, {"state": "expired", "finished_at": iso(now)})
            except Conflict:
                pass
            return
        if broadcast.get("escalated_at"):
            return
        share = float(self.config.get("ESCALATION_SHARE", 0.9))
        within = timedelta(seconds=float(self.config.get("ESCALATION_SECONDS", 30)))
        started = parse_iso(broadcast["dispatched_at"] or broadcast["created_at"])
        if now < started + within:
            return
        counts = self.deliveries.counts(broadcast["broadcast_id"])
        total = sum(counts.values())
        acknowledged = sum(counts.get(s, 0) for s in delivery.ACKNOWLEDGED)
        summary = {"share_acknowledged": acknowledged / total if total else None}
        if delivery.escalation_due(summary, started, now, share, within):
            event = _event("broadcast_escalated", broadcast, None, acknowledged=acknowledged, total=total,
                           share=round(acknowledged / total, 4) if total else 0.0)
            if self.broadcasts.mark_escalated(broadcast, now, [event]) is not None:
                metrics.escalated(broadcast)
                log.warning("broadcast %s escalated: %d of %d devices acknowledged within %s", broadcast["broadcast_id"],
                            acknowledged, total, within)

    @configured_timer("PLAN_SECONDS", 60.0, eager=True)
    def plan(self):
        """Devices' schedules for the days ahead (the window moves at
        midnight), then the broadcast hours of days that got new plays."""
        if not self._lease("plan", "PLAN_SECONDS", 60.0, 60.0):
            return
        self._as_system()
        now = utcnow()
        for commune_id in self.programmes.communes():
            try:
                self._plan_commune(commune_id, now, only_due=True)
            except Exception:
                log.exception("planning the schedules of %s failed; next pass retries", commune_id)
        self._settle_hours()

    def _settle_hours(self):
        for day_doc in self.hours.dirty():
            commune_id, day = day_doc["commune_id"], datetime.fromisoformat(day_doc["date"]).date()
            totals = plays.day_hours(day, self.plays.of_day(commune_id, plays.day_bounds(day)))
            event = outgoing(SOURCE, "hours_reported", commune_id, date=totals["date"], hours=totals["hours"],
                             villages=totals["villages"], device_count=len(totals["devices"]), plays=totals["plays"])
            self.hours.settle(commune_id, day_doc["date"], totals, [event], day_doc)

    # ------------------------------------------------------------ proof of play

    @rpc(expected_exceptions=CALLER_ERRORS)
    def play_log(self, request=None, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(PlayQuery, dict(request or {}, **({"commune_id": commune_id} if commune_id else {})))
        commune_id = caller.commune_for(query["commune_id"])
        if query["date"]:
            start, end = plays.day_bounds(query["date"])
        elif query["start"] and query["end"]:
            start, end = query["start"], query["end"]
        else:
            end = utcnow()
            start = end - timedelta(days=1)
        found = self.plays.find(commune_id, start, end, query["device_id"], query["village"], query["limit"])
        return {"items": [{k: v for k, v in p.items() if k not in ("days", "commune_id")} for p in found]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def broadcast_hours(self, start, end, commune_id=None):
        _, commune_id = self._scope(READ_ROLES, commune_id)
        window = load(DayRange, {"start": start, "end": end})
        days, day = [], window["start"]
        while day <= window["end"]:
            days.append(plays.day_hours(day, self.plays.of_day(commune_id, plays.day_bounds(day))))
            day += timedelta(days=1)
        return {"days": days}
