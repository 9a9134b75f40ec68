"""The only code touching the ``broadcast`` database (one repository per
collection; every query names the commune).

Storage rules (nx-27017 as well as MongoDB, see shared/mongo.py): a
document's update costs its whole size, so what grows with the number of
devices is written as many small documents, inserted in bulk: one delivery
per device and broadcast, one answer per device acknowledgement, one play
per report. A batch of 2,000 acknowledgements is one ``insert_many`` of
answers and a few ``update_many`` of delivery states (one per resulting
state), never 2,000 single updates; each delivery's times are read back from
its answers.
"""
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import BulkWriteError

from shared.errors import Conflict, NotFound
from shared.mongo import Repository
from shared.timeutil import iso


def _key(commune_id, name):
    return f"{commune_id}:{name}"


def _without_id(doc):
    return {k: v for k, v in doc.items() if k != "_id"} if doc else doc


def _insert_new(collection, docs):
    """Insert ``docs``, skipping those already stored (same ``_id``); returns the ids inserted."""
    if not docs:
        return []
    try:
        collection.insert_many(docs, ordered=False)
        return [d["_id"] for d in docs]
    except BulkWriteError as err:
        duplicated = {e["op"]["_id"] for e in err.details.get("writeErrors", []) if e.get("code") == 11000}
        if len(duplicated) != len(err.details.get("writeErrors", [])):
            raise
        return [d["_id"] for d in docs if d["_id"] not in duplicated]


class _CommuneDefinitions(Repository):
    """Definitions an operator names by id within a commune (``_id`` is
    ``<commune>:<id>``), replaced whole on save."""

    indexes = (([("commune_id", ASCENDING)], {}),)
    missing = "Không có «{}»."

    def of_commune(self, commune_id):
        return [_without_id(d) for d in self._collection.find({"commune_id": commune_id}).sort("id", ASCENDING)]

    def get(self, commune_id, definition_id):
        doc = self._collection.find_one({"_id": _key(commune_id, definition_id)})
        if doc is None:
            raise NotFound(self.missing.format(definition_id))
        return _without_id(doc)

    def save(self, commune_id, definition, actor, now):
        doc = {**definition, "commune_id": commune_id, "updated_at": iso(now), "updated_by": actor}
        self._collection.replace_one({"_id": _key(commune_id, definition["id"])}, doc, upsert=True)
        return doc

    def delete(self, commune_id, definition_id):
        if self._collection.delete_one({"_id": _key(commune_id, definition_id)}).deleted_count == 0:
            raise NotFound(self.missing.format(definition_id))


class ZoneRepository(_CommuneDefinitions):
    """``zones``: the commune's named device groups (village zones are derived)."""

    collection_name = "zones"
    missing = "Không có nhóm thiết bị «{}»."


class ProgrammeRepository(_CommuneDefinitions):
    """``programmes``: broadcast programmes (``schedule.Programme.to_dict()``)."""

    collection_name = "programmes"
    missing = "Không có chương trình phát «{}»."

    def communes(self):
        return sorted(self._collection.distinct("commune_id"))


class BroadcastRepository(Repository):
    """``broadcasts``: each broadcast with its pending events (outbox)."""

    collection_name = "broadcasts"
    indexes = (
        ([("commune_id", ASCENDING), ("received_at", DESCENDING)], {}),
        ([("state", ASCENDING), ("scheduled_at", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("source", ASCENDING), ("external_id", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("content_id", ASCENDING)], {}),
        ([("command_id", ASCENDING)], {}),
    )

    def add(self, broadcast, events):
        return self.public(self._insert_with_events(broadcast, events))

    def get(self, commune_id, broadcast_id):
        doc = self._collection.find_one({"_id": broadcast_id, "commune_id": commune_id})
        if doc is None:
            raise NotFound(f"Không có bản tin «{broadcast_id}».")
        return self.public(doc)

    def by_external(self, commune_id, source, external_id):
        return self.public(self._collection.find_one({"commune_id": commune_id, "source": source,
                                                      "external_id": external_id}))

    def by_id(self, broadcast_id):
        return self.public(self._collection.find_one({"_id": broadcast_id}))

    def by_cap_keys(self, commune_id, keys):
        # ``cap.keys`` is an array: not indexed (nx-27017 misses element matches on indexed arrays)
        return [self.public(d) for d in self._collection.find({"commune_id": commune_id, "origin": "cap",
                                                               "cap.keys": {"$in": list(keys)}})]

    def by_command_ids(self, command_ids):
        return {d["command_id"]: self.public(d)
                for d in self._collection.find({"command_id": {"$in": list(command_ids)}})}

    def find(self, commune_id, level=None, state=None, origin=None, limit=200):
        query = {"commune_id": commune_id}
        for name, value in (("level", level), ("state", state), ("origin", origin)):
            if value:
                query[name] = value
        return [self.public(d) for d in self._collection.find(query).sort("received_at", DESCENDING).limit(limit)]

    def in_states(self, states, commune_id=None):
        query = {"state": {"$in": list(states)}}
        if commune_id:
            query["commune_id"] = commune_id
        return [self.public(d) for d in self._collection.find(query)]

    def count_by_level(self, commune_id, state):
        counts = {}
        for doc in self._collection.find({"commune_id": commune_id, "state": state}, {"level": 1}):
            counts[doc["level"]] = counts.get(doc["level"], 0) + 1
        return counts

    def by_content_id(self, commune_id, content_id):
        doc = self._collection.find_one({"commune_id": commune_id, "content_id": content_id})
        return None if doc is None else self.public(doc)

    def record_speech(self, broadcast, fields):
        """Set the speech's outcome whatever the broadcast's state (it may be
        on air, done or cancelled by now), for the revision it was asked for."""
        self._collection.update_one({"_id": broadcast["broadcast_id"], "content_id": broadcast["content_id"]},
                                    {"$set": fields})

    def change(self, broadcast, fields, events=(), expected_state=None):
        """Set ``fields`` if the broadcast is still in the state read (compare
        and set); Conflict if another change came first."""
        query = {"_id": broadcast["broadcast_id"], "state": expected_state or broadcast["state"]}
        doc = self._update_with_events(query, {"$set": fields}, list(events))
        if doc is None:
            raise Conflict("Bản tin vừa được người khác thay đổi; hãy tải lại trang.")
        return self.public(doc)

    def deliveries_stored(self, broadcast_id, command_id, at):
        """Mark that the deliveries of ``command_id`` exist (``deliveries_at``
        holds the command id they were stored for)."""
        self._collection.update_one({"_id": broadcast_id}, {"$set": {"deliveries_at": command_id,
                                                                      "deliveries_stored_at": iso(at)}})

    def mark_escalated(self, broadcast, at, events):
        """Set ``escalated_at`` once: None if already set (another pass did it)."""
        doc = self._update_with_events({"_id": broadcast["broadcast_id"], "escalated_at": None},
                                       {"$set": {"escalated_at": iso(at)}}, list(events))
        return self.public(doc)


class DeliveryRepository(Repository):
    """``deliveries``: one per (command, device); ``state`` is the delivery's
    current state, moved forward in bulk; ``retry_at`` when the next publish
    is due (null: nothing to retry)."""

    collection_name = "deliveries"
    indexes = (
        ([("broadcast_id", ASCENDING)], {}),
        ([("command_id", ASCENDING), ("device_id", ASCENDING)], {"unique": True}),
        ([("state", ASCENDING), ("retry_at", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("device_id", ASCENDING), ("state", ASCENDING)], {}),
    )

    def add_many(self, deliveries):
        docs = [{**d, "_id": _key(d["command_id"], d["device_id"])} for d in deliveries]
        return _insert_new(self._collection, docs)

    def of_broadcast(self, broadcast_id):
        return [_without_id(d) for d in self._collection.find({"broadcast_id": broadcast_id}).sort("device_id", ASCENDING)]

    def of_command(self, command_id, device_ids):
        return [_without_id(d) for d in self._collection.find({"command_id": command_id,
                                                                 "device_id": {"$in": list(device_ids)}})]

    def counts(self, broadcast_id):
        counts = {}
        for doc in self._collection.find({"broadcast_id": broadcast_id}, {"state": 1}):
            counts[doc["state"]] = counts.get(doc["state"], 0) + 1
        return counts

    def move(self, command_id, device_ids, state, from_states, fields=None):
        """Set ``state`` (and ``fields``) on the deliveries of ``device_ids``
        still in one of ``from_states``: one write for the whole batch."""
        if not device_ids:
            return 0
        result = self._collection.update_many(
            {"command_id": command_id, "device_id": {"$in": list(device_ids)}, "state": {"$in": list(from_states)}},
            {"$set": {"state": state, **(fields or {})}})
        return result.modified_count

    def due(self, now, limit=5000):
        return [_without_id(d) for d in self._collection.find(
            {"state": {"$in": ["queued", "sent"]}, "retry_at": {"$lte": iso(now)}}).limit(limit)]

    def pending_of_device(self, commune_id, device_id):
        return [_without_id(d) for d in self._collection.find(
            {"commune_id": commune_id, "device_id": device_id, "state": {"$in": ["queued", "sent"]}})]

    def update(self, delivery, fields):
        """One delivery's own change (a retry's attempt, a failure), if its state is as read."""
        return self._collection.update_one({"_id": _key(delivery["command_id"], delivery["device_id"]),
                                            "state": delivery["state"]}, {"$set": fields}).modified_count

    def open_of_broadcast(self, broadcast_id):
        return self._collection.count_documents({"broadcast_id": broadcast_id,
                                                 "state": {"$in": ["queued", "sent", "acknowledged", "playing"]}})


class AnswerRepository(Repository):
    """``answers``: every acknowledgement a device gave a command, once each
    (``<command>:<device>:<status>``), with the device's own time."""

    collection_name = "answers"
    indexes = (([("command_id", ASCENDING), ("stored_at", ASCENDING)], {}),)

    def add_many(self, answers):
        docs = [{**a, "_id": f"{a['command_id']}:{a['device_id']}:{a['status']}"} for a in answers]
        return set(_insert_new(self._collection, docs))

    def of_command(self, command_id):
        return [_without_id(d) for d in self._collection.find({"command_id": command_id})]

    def of_command_since(self, command_id, since):
        return [_without_id(d) for d in self._collection.find({"command_id": command_id, "stored_at": {"$gte": since}})]


class PlayRepository(Repository):
    """``plays``: proof of play, one per device report (``_id`` its report id)."""

    collection_name = "plays"
    indexes = (
        ([("commune_id", ASCENDING), ("days", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("started_at", DESCENDING)], {}),
        ([("commune_id", ASCENDING), ("device_id", ASCENDING), ("started_at", DESCENDING)], {}),
        ([("command_id", ASCENDING), ("reported_at", ASCENDING)], {}),
    )

    def add_many(self, commune_id, plays):
        return _insert_new(self._collection, [{**p, "commune_id": commune_id} for p in plays])

    def of_command_since(self, command_id, since):
        return [_without_id(d) for d in self._collection.find({"command_id": command_id, "reported_at": {"$gte": since}})]

    def of_day(self, commune_id, day):
        # ``days`` is an array: nx-27017 misses element matches on an indexed
        # array field, so select by time and check the days here
        start, end = day
        return [_without_id(d) for d in self._collection.find(
            {"commune_id": commune_id, "started_at": {"$lt": iso(end)}, "ended_at": {"$gt": iso(start)}})]

    def find(self, commune_id, start, end, device_id=None, village=None, limit=500):
        query = {"commune_id": commune_id, "started_at": {"$lt": iso(end)}, "ended_at": {"$gt": iso(start)}}
        if device_id:
            query["device_id"] = device_id
        if village:
            query["village"] = village
        return [_without_id(d) for d in self._collection.find(query).sort("started_at", DESCENDING).limit(limit)]


class HoursRepository(Repository):
    """``hours``: broadcast hours per commune and Vietnamese day; ``dirty``
    while plays arrived that the totals do not count yet."""

    collection_name = "hours"
    indexes = (([("dirty", ASCENDING)], {}), ([("commune_id", ASCENDING), ("date", ASCENDING)], {}))
    boolean_fields = ("dirty",)

    def touch(self, commune_id, days):
        for day in days:
            self._collection.update_one({"_id": _key(commune_id, day)},
                                        {"$set": {"dirty": 1}, "$inc": {"dirty_seq": 1},
                                         "$setOnInsert": {"commune_id": commune_id, "date": day}}, upsert=True)

    def dirty(self, limit=100):
        return [self.public(d) for d in self._collection.find({"dirty": 1}).limit(limit)]

    def settle(self, commune_id, day, totals, events, was):
        """Store the day's totals if nothing dirtied it since it was read."""
        return self._update_with_events({"_id": _key(commune_id, day), "dirty_seq": was.get("dirty_seq")},
                                        {"$set": {**totals, "dirty": 0}}, list(events))

    def between(self, commune_id, start, end):
        return [self.public(d) for d in self._collection.find(
            {"commune_id": commune_id, "date": {"$gte": start, "$lte": end}}).sort("date", ASCENDING)]


class ScheduleRepository(Repository):
    """``device_schedules``: the plan each device should keep, the version it
    acknowledged, and the schedule-sync command in flight."""

    collection_name = "device_schedules"
    indexes = (([("commune_id", ASCENDING)], {}), ([("sync_command_id", ASCENDING)], {}),
               ([("retry_at", ASCENDING)], {}))

    def of_commune(self, commune_id):
        return {d["device_id"]: _without_id(d) for d in self._collection.find({"commune_id": commune_id})}

    def get(self, commune_id, device_id):
        return _without_id(self._collection.find_one({"_id": _key(commune_id, device_id)}))

    def put(self, commune_id, device_id, fields):
        self._collection.update_one({"_id": _key(commune_id, device_id)},
                                    {"$set": {**fields, "commune_id": commune_id, "device_id": device_id}},
                                    upsert=True)

    def by_sync_commands(self, command_ids):
        return [_without_id(d) for d in self._collection.find({"sync_command_id": {"$in": list(command_ids)}})]

    def synced(self, commune_id, device_id, command_id, version, at):
        """The device kept the schedule of ``command_id`` (if still the one in flight)."""
        return self._collection.find_one_and_update(
            {"_id": _key(commune_id, device_id), "sync_command_id": command_id},
            {"$set": {"synced_version": version, "synced_at": at, "retry_at": None}},
            return_document=ReturnDocument.AFTER) is not None

    def due(self, now, limit=2000):
        return [_without_id(d) for d in self._collection.find({"retry_at": {"$lte": iso(now)}}).limit(limit)]
