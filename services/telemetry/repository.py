"""The telemetry service's storage: the only code of the service that touches
its collections (API.md "Storage"; the edge has its own access in
``edge_store.py``).

Store rules kept here (``shared/mongo.py``): times are ISO strings, queries
select on strings (``presence``, ``status``, ``rollup``…), never on booleans,
``$ne`` is never used, array fields (bucket ``samples``) are not indexed, and
changes that race with another writer are compare-and-set on the values read.
"""
import collections
from datetime import timedelta

from pymongo import ASCENDING, DESCENDING

from services.telemetry.domain import key
from shared.mongo import OUTBOX, OUTBOX_SINCE, Repository
from shared.timeutil import iso, parse_iso

HIDDEN = {OUTBOX: 0, OUTBOX_SINCE: 0}


def _without_storage(doc):
    return {k: v for k, v in doc.items() if k not in (OUTBOX, OUTBOX_SINCE)} if doc is not None else None


class DeviceRepository(Repository):
    """The registry (``devices``), one document per device, keyed ``<commune>/<device>``."""

    collection_name = "devices"
    indexes = (
        ([("commune_id", ASCENDING), ("village", ASCENDING), ("device_id", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("created_at", ASCENDING)], {}),
    )

    def add(self, device, events):
        try:
            return self.public(self._insert_with_events(device, events))
        except self.Conflict:
            raise self.Conflict(f"Mã thiết bị «{device['device_id']}» đã có trong danh sách của xã.",
                                {"device_id": device["device_id"]}) from None

    def get(self, commune_id, device_id):
        device = self._collection.find_one({"_id": key(commune_id, device_id)}, HIDDEN)
        if device is None:
            raise self.NotFound(f"Không tìm thấy thiết bị «{device_id}».", {"device_id": device_id})
        return self.public(device)

    def find(self, commune_id, village=None, kind=None):
        query = {"commune_id": commune_id}
        if village:
            query["village"] = village
        if kind:
            query["kind"] = kind
        return [self.public(d) for d in self._collection.find(query, HIDDEN)]

    def ids(self, commune_id):
        return {d["device_id"] for d in self._collection.find({"commune_id": commune_id}, {"device_id": 1})}

    def by_keys(self, keys):
        """Devices by their ``<commune>/<device>`` keys (those that exist)."""
        return {d["_id"]: self.public(d) for d in self._collection.find({"_id": {"$in": list(keys)}}, HIDDEN)}

    def registered_before(self, commune_id, end):
        """The commune's devices registered before ``end`` (an ISO time)."""
        return [self.public(d) for d in self._collection.find(
            {"commune_id": commune_id, "created_at": {"$lt": end}},
            {"device_id": 1, "village": 1, "created_at": 1})]

    def communes(self):
        return sorted(c for c in self._collection.distinct("commune_id") if c)

    def count_by_commune(self):
        """How many devices each commune has registered (the presence gauge)."""
        return dict(collections.Counter(d.get("commune_id") for d in self._collection.find({}, {"commune_id": 1})))

    def apply(self, device, change):
        doc = self._update_with_events({"_id": device["_id"], **change.expect}, {"$set": change.set}, change.events)
        if doc is None:
            raise self.Conflict("Thiết bị vừa được thay đổi; vui lòng tải lại và thử lại.",
                                {"device_id": device["device_id"]})
        return self.public(_without_storage(doc))

    def set_credential(self, commune_id, device_id, credential):
        """The device's credential status as the registry shows it."""
        self._collection.update_one({"_id": key(commune_id, device_id)},
                                    {"$set": {"credential": credential, "updated_at": credential["at"]}})


class DeviceStateRepository(Repository):
    """``device_state``: the edge's latest state of each device. The service
    owns ``presence``, ``presence_since``, ``offline_alarm`` (whether the
    offline period's alarm is still to be raised), ``conditions`` (the alarm
    rules holding on the latest sample) and the presence events."""

    collection_name = "device_state"
    indexes = (
        ([("presence", ASCENDING), ("offline_after", ASCENDING)], {}),
        ([("offline_after", ASCENDING)], {}),
        ([("offline_alarm", ASCENDING)], {}),
        ([("changed_at", ASCENDING)], {}),
        ([("commune_id", ASCENDING)], {}),
    )

    def get(self, commune_id, device_id):
        return self.public(self._collection.find_one({"_id": key(commune_id, device_id)}, HIDDEN))

    def of_commune(self, commune_id):
        return {s["device_id"]: self.public(s) for s in self._collection.find({"commune_id": commune_id}, HIDDEN)}

    def went_quiet(self, now):
        """Online devices whose ``offline_after`` passed."""
        return [self.public(s) for s in self._collection.find(
            {"presence": "online", "offline_after": {"$lt": now}}, HIDDEN)]

    def heard_again(self, now):
        """Devices heard from lately that are not online yet (offline, or
        never heard from before)."""
        return [self.public(s) for s in self._collection.find(
            {"offline_after": {"$gte": now}, "presence": {"$nin": ["online"]}}, HIDDEN)]

    def offline_alarm_pending(self):
        return [self.public(s) for s in self._collection.find({"offline_alarm": "pending"}, HIDDEN)]

    def presence_counts(self):
        """Devices online and offline, by (commune, presence) (the presence gauge)."""
        return dict(collections.Counter((s.get("commune_id"), s["presence"]) for s in self._collection.find(
            {"presence": {"$in": ["online", "offline"]}}, {"commune_id": 1, "presence": 1})))

    def changed_between(self, after, until):
        """States the edge changed in (after, until], oldest change first."""
        return [self.public(s) for s in self._collection.find(
            {"changed_at": {"$gt": after, "$lte": until}}, HIDDEN).sort("changed_at", ASCENDING)]

    def apply(self, state, change):
        """Write a presence change and its events where the state is still as
        read; False if the edge or another pass changed it meanwhile."""
        doc = self._update_with_events({"_id": state["_id"], **change.expect}, {"$set": change.set}, change.events)
        return doc is not None

    def set_conditions(self, state, conditions):
        """The sample rules holding on the device's latest state, each with
        the cause that made it hold (to tell a new occurrence from the same one)."""
        self._collection.update_one({"_id": state["_id"]}, {"$set": {"conditions": conditions}})

    def mark_offline_alarm(self, state, value):
        """Record what became of the offline period's alarm (same period only)."""
        result = self._collection.update_one(
            {"_id": state["_id"], "presence": "offline", "presence_since": state["presence_since"],
             "offline_alarm": "pending"}, {"$set": {"offline_alarm": value}})
        return result.modified_count == 1


class ProvisioningCodeRepository(Repository):
    """``provisioning_codes``, keyed by the code's digest; the edge marks them used."""

    collection_name = "provisioning_codes"
    indexes = (([("commune_id", ASCENDING), ("device_id", ASCENDING), ("status", ASCENDING)], {}),)

    def void_pending(self, commune_id, device_id, now):
        return self._collection.update_many(
            {"commune_id": commune_id, "device_id": device_id, "status": "pending"},
            {"$set": {"status": "void", "voided_at": now}}).modified_count

    def add(self, code):
        self._collection.insert_one(code)


class CredentialRepository(Repository):
    """``credentials``: gRPC ones the edge issues, MQTT ones the service
    issues; each revocation's event is kept in its credential."""

    collection_name = "credentials"
    indexes = (([("commune_id", ASCENDING), ("device_id", ASCENDING), ("status", ASCENDING)], {}),)

    def add(self, credential, events):
        return self.public(self._insert_with_events(credential, events))

    def active(self, commune_id, device_id):
        return [self.public(c) for c in self._collection.find(
            {"commune_id": commune_id, "device_id": device_id, "status": "active"}, HIDDEN)]

    def apply(self, credential, change):
        """The credential changed, or None if someone changed it first."""
        doc = self._update_with_events({"_id": credential["_id"], **change.expect}, {"$set": change.set},
                                       change.events)
        return self.public(_without_storage(doc))


class ConnectionRepository(Repository):
    """``connections``: a device's online periods, each keyed by its start,
    so writing one again (a pass redone after a crash) changes nothing."""

    collection_name = "connections"
    indexes = (
        ([("commune_id", ASCENDING), ("device_id", ASCENDING), ("online_from", DESCENDING)], {}),
        ([("commune_id", ASCENDING), ("online_from", ASCENDING)], {}),
    )

    @staticmethod
    def _id(commune_id, device_id, online_from):
        return f"{key(commune_id, device_id)}/{online_from}"

    def open(self, commune_id, device_id, online_from):
        self._collection.update_one(
            {"_id": self._id(commune_id, device_id, online_from)},
            {"$setOnInsert": {"commune_id": commune_id, "device_id": device_id, "online_from": online_from,
                              "online_until": None}}, upsert=True)

    def close(self, commune_id, device_id, online_from, online_until):
        """End the period that began at ``online_from`` (recorded whole if its
        start was lost to a crash)."""
        self._collection.update_one(
            {"_id": self._id(commune_id, device_id, online_from)},
            {"$set": {"online_until": online_until},
             "$setOnInsert": {"commune_id": commune_id, "device_id": device_id, "online_from": online_from}},
            upsert=True)

    def close_dangling(self, commune_id, device_id, before, at):
        """A period started before ``before`` and never closed (a crash
        between a presence change and its history) ends at ``at``."""
        for doc in self._collection.find({"commune_id": commune_id, "device_id": device_id,
                                          "online_from": {"$lt": before}}).sort("online_from", DESCENDING).limit(1):
            if doc.get("online_until") is None:
                self._collection.update_one({"_id": doc["_id"], "online_until": None},
                                            {"$set": {"online_until": max(at, doc["online_from"])}})

    def history(self, commune_id, device_id, start=None, end=None, limit=1000):
        """Periods overlapping [start, end), newest first."""
        query = {"commune_id": commune_id, "device_id": device_id}
        if end:
            query["online_from"] = {"$lt": end}
        if start:
            query["$or"] = [{"online_until": None}, {"online_until": {"$gt": start}}]
        cursor = self._collection.find(query, {"_id": 0, "online_from": 1, "online_until": 1})
        return list(cursor.sort("online_from", DESCENDING).limit(limit))

    def overlapping(self, commune_id, start, end):
        """The commune's periods overlapping [start, end), by device."""
        by_device = {}
        for doc in self._collection.find(
                {"commune_id": commune_id, "online_from": {"$lt": end},
                 "$or": [{"online_until": None}, {"online_until": {"$gt": start}}]},
                {"_id": 0, "device_id": 1, "online_from": 1, "online_until": 1}):
            by_device.setdefault(doc["device_id"], []).append(doc)
        return by_device


class AlarmRepository(Repository):
    """``alarms``: one document per alarm; the unique ``active_key`` lets a
    device and rule have one active alarm at most."""

    collection_name = "alarms"
    indexes = (
        ([("active_key", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING), ("status", ASCENDING), ("last_at", DESCENDING)], {}),
        ([("commune_id", ASCENDING), ("device_id", ASCENDING), ("last_at", DESCENDING)], {}),
    )

    def add(self, alarm, events):
        """Store a raised alarm; Conflict if the device and rule have an active one."""
        return self.public(self._insert_with_events(alarm, events))

    def active(self, active_key):
        """The active alarm holding ``active_key`` (``alarms.active_key``), or None."""
        return self.public(self._collection.find_one({"active_key": active_key}, HIDDEN))

    def active_of_device(self, commune_id, device_id):
        return [self.public(a) for a in self._collection.find(
            {"commune_id": commune_id, "device_id": device_id, "status": {"$in": ["open", "acknowledged"]}},
            HIDDEN).sort("last_at", DESCENDING)]

    def get(self, commune_id, alarm_id):
        alarm = self._collection.find_one({"_id": alarm_id, "commune_id": commune_id}, HIDDEN)
        if alarm is None:
            raise self.NotFound("Không tìm thấy cảnh báo.", {"alarm_id": alarm_id})
        return self.public(alarm)

    def apply(self, alarm, change):
        doc = self._update_with_events({"_id": alarm["_id"], **change.expect}, {"$set": change.set}, change.events)
        if doc is None:
            raise self.Conflict("Cảnh báo vừa được thay đổi; vui lòng tải lại và thử lại.", {"alarm_id": alarm["_id"]})
        return self.public(_without_storage(doc))

    def find(self, commune_id, statuses=None, device_id=None, severity=None, limit=500):
        """Newest activity first."""
        query = {"commune_id": commune_id}
        if statuses:
            query["status"] = {"$in": list(statuses)}
        if device_id:
            query["device_id"] = device_id
        if severity:
            query["severity"] = severity
        return [self.public(a) for a in self._collection.find(query, HIDDEN).sort("last_at", DESCENDING).limit(limit)]


class AlarmRuleRepository(Repository):
    """``alarm_rules``: a commune's changes to the default rules, one
    document per commune and rule that was changed."""

    collection_name = "alarm_rules"
    boolean_fields = ("enabled",)
    indexes = (([("commune_id", ASCENDING)], {}),)

    def of_commune(self, commune_id):
        return [self.public(r) for r in self._collection.find({"commune_id": commune_id})]

    def by_commune(self):
        """Every commune's changed rules (for a sweep over all devices)."""
        result = {}
        for doc in self._collection.find({}):
            result.setdefault(doc["commune_id"], []).append(self.public(doc))
        return result

    def save(self, commune_id, fields):
        self._collection.update_one({"_id": f"{commune_id}/{fields['rule']}"},
                                    {"$set": {**fields, "commune_id": commune_id}}, upsert=True)


# buckets are at most this long, so those overlapping a period start no earlier
BUCKET_REACH = timedelta(hours=1)


class BucketRepository(Repository):
    """``telemetry_buckets`` (written by the edge): read, rolled up, expired."""

    collection_name = "telemetry_buckets"
    indexes = (
        ([("rollup", ASCENDING), ("start", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("device_id", ASCENDING), ("start", ASCENDING)], {}),
        ([("end", ASCENDING)], {}),
    )
    OUTLINE = {"commune_id": 1, "device_id": 1, "start": 1, "end": 1}

    def pending_before(self, moment, limit=5000):
        """Buckets not rolled up yet that started before ``moment`` (without samples)."""
        return list(self._collection.find({"rollup": "pending", "start": {"$lt": moment}}, self.OUTLINE)
                    .sort("start", ASCENDING).limit(limit))

    def overlapping(self, commune_id, device_id, start, end, pending_only=False):
        """The device's buckets overlapping [start, end), samples included
        unless only the pending ones' outline is asked for."""
        query = {"commune_id": commune_id, "device_id": device_id,
                 "start": {"$gte": iso(parse_iso(start) - BUCKET_REACH), "$lt": end}}
        if pending_only:
            query["rollup"] = "pending"
        found = self._collection.find(query, self.OUTLINE if pending_only else None).sort("start", ASCENDING)
        return [b for b in found if b["end"] > start]

    def compact(self, commune_id, device_id, start):
        """Merge the documents the edge wrote for one device and bucket (one
        per flush) into one, each sample once. The merged document takes the
        first one's id, then the others go: a crash in between leaves
        duplicates, which readers drop by ``seq``. Returns the merged id."""
        parts = list(self._collection.find({"commune_id": commune_id, "device_id": device_id, "start": start})
                     .sort("first_seq", ASCENDING))
        if len(parts) < 2:
            return parts[0]["_id"] if parts else None
        samples = sorted({sample["seq"]: sample for part in parts for sample in part["samples"]}.values(),
                         key=lambda sample: sample["seq"])
        merged = {**parts[0], "samples": samples, "count": len(samples), "first_seq": samples[0]["seq"],
                  "last_seq": samples[-1]["seq"], "end": max(part["end"] for part in parts), "rollup": "done"}
        self._collection.replace_one({"_id": parts[0]["_id"]}, merged)
        self._collection.delete_many({"_id": {"$in": [part["_id"] for part in parts[1:]]}})
        return merged["_id"]

    def mark_done(self, ids):
        if ids:
            self._collection.update_many({"_id": {"$in": list(ids)}, "rollup": "pending"},
                                         {"$set": {"rollup": "done"}})

    def delete_ended_before(self, cutoff):
        return self._collection.delete_many({"end": {"$lt": cutoff}}).deleted_count


class HourlyRepository(Repository):
    """``telemetry_hourly``: one roll-up per device and hour."""

    collection_name = "telemetry_hourly"
    indexes = (
        ([("commune_id", ASCENDING), ("device_id", ASCENDING), ("hour", ASCENDING)], {}),
        ([("hour", ASCENDING)], {}),
    )

    def save(self, doc):
        self._collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def between(self, commune_id, device_id, start, end):
        """Roll-ups of the hours starting in [hour of start, end)."""
        return list(self._collection.find(
            {"commune_id": commune_id, "device_id": device_id, "hour": {"$gte": start, "$lt": end}},
            {"_id": 0}).sort("hour", ASCENDING))

    def delete_before(self, cutoff):
        return self._collection.delete_many({"hour": {"$lt": cutoff}}).deleted_count


class UptimeDayRepository(Repository):
    """``uptime_days``: each commune's reported local days, each with its
    ``uptime_reported`` event, so a day is reported once across replicas."""

    collection_name = "uptime_days"
    indexes = (([("commune_id", ASCENDING), ("date", DESCENDING)], {}),)

    def last_date(self, commune_id):
        for doc in self._collection.find({"commune_id": commune_id}, {"date": 1}).sort("date", DESCENDING).limit(1):
            return doc["date"]
        return None

    def add(self, commune_id, day, result, event):
        """False if the day was reported already."""
        try:
            self._insert_with_events({"_id": f"{commune_id}/{day}", "commune_id": commune_id, "date": day,
                                      "uptime": result["uptime"], "villages": result["villages"],
                                      "devices": len(result["devices"]), "reported_at": iso()}, [event])
        except self.Conflict:
            return False
        return True


class MetaRepository(Repository):
    """``meta``: the service's own bookkeeping (the alarm evaluation cursor)."""

    collection_name = "meta"

    def cursor(self, name):
        doc = self._collection.find_one({"_id": name})
        return doc["value"] if doc else None

    def set_cursor(self, name, value):
        self._collection.update_one({"_id": name}, {"$set": {"value": value}}, upsert=True)
