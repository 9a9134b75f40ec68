"""In-memory twins of the telemetry repositories, for unit tests.

``test_repository.py`` runs the same tests on a twin and on the real store,
so a twin cannot drift from what it stands in for. Each twin keeps the events
its writes stored in ``events`` (what the outbox would publish).
"""
import copy
from datetime import timedelta

from services.telemetry.domain import key
from shared.errors import Conflict, NotFound
from shared.timeutil import iso, parse_iso


def _matches(doc, expect):
    return all(doc.get(name) == value for name, value in expect.items())


class _Twin:
    NotFound = NotFound
    Conflict = Conflict

    def __init__(self):
        self.docs = {}
        self.events = []

    def put(self, doc):
        """Seed a document as another writer (the edge) would."""
        self.docs[doc["_id"]] = copy.deepcopy(doc)
        return doc

    def _apply(self, doc_id, change):
        doc = self.docs.get(doc_id)
        if doc is None or not _matches(doc, change.expect):
            return None
        doc.update(copy.deepcopy(change.set))
        self.events.extend(change.events)
        return copy.deepcopy(doc)

    def names(self):
        return [event.name for event in self.events]


class FakeDevices(_Twin):
    def add(self, device, events):
        if device["_id"] in self.docs:
            raise Conflict(f"Mã thiết bị «{device['device_id']}» đã có trong danh sách của xã.")
        self.put(device)
        self.events.extend(events)
        return copy.deepcopy(device)

    def get(self, commune_id, device_id):
        device = self.docs.get(key(commune_id, device_id))
        if device is None:
            raise NotFound(f"Không tìm thấy thiết bị «{device_id}».")
        return copy.deepcopy(device)

    def find(self, commune_id, village=None, kind=None):
        return [copy.deepcopy(d) for d in self.docs.values() if d["commune_id"] == commune_id
                and (not village or d["village"] == village) and (not kind or d["kind"] == kind)]

    def ids(self, commune_id):
        return {d["device_id"] for d in self.docs.values() if d["commune_id"] == commune_id}

    def by_keys(self, keys):
        return {k: copy.deepcopy(self.docs[k]) for k in keys if k in self.docs}

    def registered_before(self, commune_id, end):
        return [{"_id": d["_id"], "device_id": d["device_id"], "village": d["village"], "created_at": d["created_at"]}
                for d in self.docs.values() if d["commune_id"] == commune_id and d["created_at"] < end]

    def communes(self):
        return sorted({d["commune_id"] for d in self.docs.values()})

    def count_by_commune(self):
        counts = {}
        for d in self.docs.values():
            counts[d["commune_id"]] = counts.get(d["commune_id"], 0) + 1
        return counts

    def apply(self, device, change):
        doc = self._apply(device["_id"], change)
        if doc is None:
            raise Conflict("Thiết bị vừa được thay đổi; vui lòng tải lại và thử lại.")
        return doc

    def set_credential(self, commune_id, device_id, credential):
        device = self.docs.get(key(commune_id, device_id))
        if device is not None:
            device.update(credential=dict(credential), updated_at=credential["at"])


class FakeStates(_Twin):
    def get(self, commune_id, device_id):
        return copy.deepcopy(self.docs.get(key(commune_id, device_id)))

    def of_commune(self, commune_id):
        return {s["device_id"]: copy.deepcopy(s) for s in self.docs.values() if s["commune_id"] == commune_id}

    def _select(self, test):
        return [copy.deepcopy(s) for s in self.docs.values() if test(s)]

    def went_quiet(self, now):
        return self._select(lambda s: s.get("presence") == "online" and s.get("offline_after", now) < now)

    def heard_again(self, now):
        return self._select(lambda s: s.get("offline_after", "") >= now and s.get("presence") != "online")

    def offline_alarm_pending(self):
        return self._select(lambda s: s.get("offline_alarm") == "pending")

    def presence_counts(self):
        counts = {}
        for s in self._select(lambda s: s.get("presence") in ("online", "offline")):
            counts[(s["commune_id"], s["presence"])] = counts.get((s["commune_id"], s["presence"]), 0) + 1
        return counts

    def changed_between(self, after, until):
        return sorted(self._select(lambda s: after < s.get("changed_at", "") <= until), key=lambda s: s["changed_at"])

    def apply(self, state, change):
        return self._apply(state["_id"], change) is not None

    def set_conditions(self, state, conditions):
        self.docs[state["_id"]]["conditions"] = dict(conditions)

    def mark_offline_alarm(self, state, value):
        doc = self.docs.get(state["_id"])
        if doc is None or not _matches(doc, {"presence": "offline", "presence_since": state["presence_since"],
                                             "offline_alarm": "pending"}):
            return False
        doc["offline_alarm"] = value
        return True


class FakeCodes(_Twin):
    def void_pending(self, commune_id, device_id, now):
        pending = [c for c in self.docs.values()
                   if (c["commune_id"], c["device_id"], c["status"]) == (commune_id, device_id, "pending")]
        for code in pending:
            code.update(status="void", voided_at=now)
        return len(pending)

    def add(self, code):
        self.put(code)


class FakeCredentials(_Twin):
    def add(self, credential, events):
        self.put(credential)
        self.events.extend(events)
        return copy.deepcopy(credential)

    def active(self, commune_id, device_id):
        return [copy.deepcopy(c) for c in self.docs.values()
                if (c["commune_id"], c["device_id"], c["status"]) == (commune_id, device_id, "active")]

    def apply(self, credential, change):
        return self._apply(credential["_id"], change)


class FakeConnections(_Twin):
    @staticmethod
    def _id(commune_id, device_id, online_from):
        return f"{key(commune_id, device_id)}/{online_from}"

    def open(self, commune_id, device_id, online_from):
        self.docs.setdefault(self._id(commune_id, device_id, online_from), {
            "commune_id": commune_id, "device_id": device_id, "online_from": online_from, "online_until": None})

    def close(self, commune_id, device_id, online_from, online_until):
        self.open(commune_id, device_id, online_from)
        self.docs[self._id(commune_id, device_id, online_from)]["online_until"] = online_until

    def close_dangling(self, commune_id, device_id, before, at):
        earlier = [c for c in self.docs.values() if (c["commune_id"], c["device_id"]) == (commune_id, device_id)
                   and c["online_from"] < before]
        if earlier:
            latest = max(earlier, key=lambda c: c["online_from"])
            if latest["online_until"] is None:
                latest["online_until"] = max(at, latest["online_from"])

    def _overlap(self, c, start, end):
        return (not end or c["online_from"] < end) and (not start or c["online_until"] is None
                                                        or c["online_until"] > start)

    def history(self, commune_id, device_id, start=None, end=None, limit=1000):
        found = [{"online_from": c["online_from"], "online_until": c["online_until"]} for c in self.docs.values()
                 if (c["commune_id"], c["device_id"]) == (commune_id, device_id) and self._overlap(c, start, end)]
        return sorted(found, key=lambda c: c["online_from"], reverse=True)[:limit]

    def overlapping(self, commune_id, start, end):
        by_device = {}
        for c in self.docs.values():
            if c["commune_id"] == commune_id and self._overlap(c, start, end):
                by_device.setdefault(c["device_id"], []).append(
                    {k: c[k] for k in ("device_id", "online_from", "online_until")})
        return by_device


class FakeAlarms(_Twin):
    def add(self, alarm, events):
        if any(a["active_key"] == alarm["active_key"] for a in self.docs.values()):
            raise Conflict("Bản ghi đã tồn tại.")
        self.put(alarm)
        self.events.extend(events)
        return copy.deepcopy(alarm)

    def active(self, active_key):
        return next((copy.deepcopy(a) for a in self.docs.values() if a["active_key"] == active_key), None)

    def active_of_device(self, commune_id, device_id):
        return sorted((copy.deepcopy(a) for a in self.docs.values() if (a["commune_id"], a["device_id"]) ==
                       (commune_id, device_id) and a["status"] in ("open", "acknowledged")),
                      key=lambda a: a["last_at"], reverse=True)

    def get(self, commune_id, alarm_id):
        alarm = self.docs.get(alarm_id)
        if alarm is None or alarm["commune_id"] != commune_id:
            raise NotFound("Không tìm thấy cảnh báo.")
        return copy.deepcopy(alarm)

    def apply(self, alarm, change):
        doc = self._apply(alarm["_id"], change)
        if doc is None:
            raise Conflict("Cảnh báo vừa được thay đổi; vui lòng tải lại và thử lại.")
        return doc

    def find(self, commune_id, statuses=None, device_id=None, severity=None, limit=500):
        found = [copy.deepcopy(a) for a in self.docs.values() if a["commune_id"] == commune_id
                 and (statuses is None or a["status"] in statuses) and (not device_id or a["device_id"] == device_id)
                 and (not severity or a["severity"] == severity)]
        return sorted(found, key=lambda a: a["last_at"], reverse=True)[:limit]


class FakeAlarmRules(_Twin):
    def of_commune(self, commune_id):
        return [copy.deepcopy(r) for r in self.docs.values() if r["commune_id"] == commune_id]

    def by_commune(self):
        result = {}
        for rule in self.docs.values():
            result.setdefault(rule["commune_id"], []).append(copy.deepcopy(rule))
        return result

    def save(self, commune_id, fields):
        self.docs.setdefault(f"{commune_id}/{fields['rule']}", {"_id": f"{commune_id}/{fields['rule']}"}).update(
            copy.deepcopy(fields), commune_id=commune_id)


class FakeBuckets(_Twin):
    OUTLINE = ("_id", "commune_id", "device_id", "start", "end")

    def pending_before(self, moment, limit=5000):
        found = sorted((b for b in self.docs.values() if b["rollup"] == "pending" and b["start"] < moment),
                       key=lambda b: b["start"])
        return [{k: b[k] for k in self.OUTLINE} for b in found[:limit]]

    def overlapping(self, commune_id, device_id, start, end, pending_only=False):
        reach = iso(parse_iso(start) - timedelta(hours=1))
        found = sorted((b for b in self.docs.values() if (b["commune_id"], b["device_id"]) == (commune_id, device_id)
                        and reach <= b["start"] < end and b["end"] > start
                        and (not pending_only or b["rollup"] == "pending")), key=lambda b: b["start"])
        return [{k: b[k] for k in self.OUTLINE} if pending_only else copy.deepcopy(b) for b in found]

    def mark_done(self, ids):
        for bucket_id in ids:
            if bucket_id in self.docs and self.docs[bucket_id]["rollup"] == "pending":
                self.docs[bucket_id]["rollup"] = "done"

    def compact(self, commune_id, device_id, start):
        parts = sorted((b for b in self.docs.values()
                        if (b["commune_id"], b["device_id"], b["start"]) == (commune_id, device_id, start)),
                       key=lambda b: b["first_seq"])
        if len(parts) < 2:
            return parts[0]["_id"] if parts else None
        samples = sorted({x["seq"]: x for part in parts for x in part["samples"]}.values(), key=lambda x: x["seq"])
        self.docs[parts[0]["_id"]] = {**parts[0], "samples": samples, "count": len(samples),
                                      "first_seq": samples[0]["seq"], "last_seq": samples[-1]["seq"],
                                      "end": max(p["end"] for p in parts), "rollup": "done"}
        for part in parts[1:]:
            del self.docs[part["_id"]]
        return parts[0]["_id"]

    def delete_ended_before(self, cutoff):
        old = [k for k, b in self.docs.items() if b["end"] < cutoff]
        for bucket_id in old:
            del self.docs[bucket_id]
        return len(old)


class FakeHourly(_Twin):
    def save(self, doc):
        self.put(doc)

    def between(self, commune_id, device_id, start, end):
        found = [{k: v for k, v in d.items() if k != "_id"} for d in self.docs.values()
                 if (d["commune_id"], d["device_id"]) == (commune_id, device_id) and start <= d["hour"] < end]
        return sorted(found, key=lambda d: d["hour"])

    def delete_before(self, cutoff):
        old = [k for k, d in self.docs.items() if d["hour"] < cutoff]
        for doc_id in old:
            del self.docs[doc_id]
        return len(old)


class FakeUptimeDays(_Twin):
    def last_date(self, commune_id):
        return max((d["date"] for d in self.docs.values() if d["commune_id"] == commune_id), default=None)

    def add(self, commune_id, day, result, event):
        doc_id = f"{commune_id}/{day}"
        if doc_id in self.docs:
            return False
        self.put({"_id": doc_id, "commune_id": commune_id, "date": day, "uptime": result["uptime"],
                  "villages": result["villages"], "devices": len(result["devices"])})
        self.events.append(event)
        return True


class FakeLeases(_Twin):
    def acquire(self, name, holder, now, seconds):
        lease = self.docs.get(name)
        if lease is not None and lease["holder"] != holder and lease["expires_at"] >= iso(now):
            return False
        self.docs[name] = {"_id": name, "holder": holder, "expires_at": iso(now + timedelta(seconds=seconds))}
        return True


class FakeMeta(_Twin):
    def cursor(self, name):
        return self.docs.get(name, {}).get("value")

    def set_cursor(self, name, value):
        self.docs[name] = {"_id": name, "value": value}


class FakeBroker:
    """Stands in for the management API: the users it would hold."""

    def __init__(self):
        self.users = {}
        self.removed = []

    def grant_device(self, commune_id, device_id, password):
        user = f"device.{commune_id}.{device_id}"
        self.users[user] = password
        return user

    def remove_device(self, commune_id, device_id):
        user = f"device.{commune_id}.{device_id}"
        self.users.pop(user, None)
        self.removed.append(user)

    def login(self, user):
        return user


def twins():
    """Every repository twin, by the service's dependency names."""
    return {"devices": FakeDevices(), "states": FakeStates(), "codes": FakeCodes(), "credentials": FakeCredentials(),
            "connections": FakeConnections(), "alarms": FakeAlarms(), "alarm_rules": FakeAlarmRules(),
            "buckets": FakeBuckets(), "hourly": FakeHourly(), "uptime_days": FakeUptimeDays(),
            "leases": FakeLeases(), "meta": FakeMeta(), "broker": FakeBroker()}
