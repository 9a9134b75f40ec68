"""The agent side's database (``sync``, API.md): the only code touching it.

Used by the nameko ``sync`` service (eventlet) and the agent process (from
its thread pool), so it is plain blocking pymongo.

Collections:
- ``outbox``: up records, one document per record, ``key`` =
  ``<stream>/<seq, 12 digits>`` unique (the unique (stream, seq) of API.md:
  nx-27017 serves a range on one indexed field from its index, but not an
  equality on one field of a compound index), ``event_id`` unique and sparse
  (a redelivered event is appended once);
- ``inbox``: down records, the same ``key`` unique; ``stored_at`` and
  ``arrival`` (an increasing number: nanoseconds of the batch + place in
  it) tell when each record came, for display and to check emergency-first;
- ``streams``: one document per stream (``_id`` the stream): ``paused``
  (1/0), ``acknowledged_seq`` (up: what the hub applied), ``delivered_seq``
  (down: what the service handed over); both only move forward;
- ``link``: one document: ``state``, ``hub``, ``last_contact``, ``last_error``.

Positions are derived from the records (the highest seq stored), never
counted per record: a crash mid-batch leaves a prefix, and the position is
right (API.md "Checkpoints").
"""
import time

from pymongo import DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.sync.records import DOWN_STREAMS, FIELDS, UP_STREAMS, key, key_range
from shared.timeutil import iso

DUPLICATE_KEY = 11000
APPEND_ATTEMPTS = 100
LINK_ID = "link"
LINK_FIELDS = ("state", "hub", "last_contact", "last_error")
LINK_STATES = ("connected", "disconnected", "never")
NEVER_LINKED = {"state": "never", "hub": None, "last_contact": None, "last_error": None}


def record_of(doc):
    return {name: doc.get(name) for name in FIELDS}


def position_of(collection, prefix):
    """The highest seq stored under ``prefix``, 0 if none."""
    docs = list(collection.find({"key": key_range(prefix)}, {"seq": 1}).sort("key", DESCENDING).limit(1))
    return docs[0]["seq"] if docs else 0


def records_after(collection, prefix, seq, limit):
    return [record_of(doc) for doc in collection.find({"key": key_range(prefix, seq)}).sort("key").limit(limit)]


def append_gapless(collection, prefix, docs):
    """Insert ``docs`` as the next records under ``prefix``: each gets
    ``seq`` = highest stored + 1 (and its ``key``) under the unique key, in
    one ordered ``insert_many``; a concurrent writer that took a seq first
    makes the rest retry from the new highest. So seqs have no gaps and no
    record becomes visible after one with a higher seq. Returns the seqs."""
    seqs = []
    remaining = list(docs)
    for _ in range(APPEND_ATTEMPTS):
        if not remaining:
            return seqs
        position = position_of(collection, prefix)
        batch = [{**doc, "key": key(prefix, position + i), "seq": position + i}
                 for i, doc in enumerate(remaining, start=1)]
        try:
            collection.insert_many(batch, ordered=True)
            return seqs + [doc["seq"] for doc in batch]
        except BulkWriteError as err:
            inserted = inserted_before_duplicate(err)
            seqs += [doc["seq"] for doc in batch[:inserted]]
            remaining = remaining[inserted:]
    raise RuntimeError(f"{prefix}: could not append after {APPEND_ATTEMPTS} attempts (too many concurrent writers)")


def inserted_before_duplicate(err):
    """How many documents an ordered insert_many stored before it stopped
    at a duplicate key; any other write error is raised again."""
    errors = err.details.get("writeErrors") or []
    if not errors or errors[0].get("code") != DUPLICATE_KEY:
        raise err
    return errors[0]["index"]


class SyncStore:
    def __init__(self, database):
        self._db = database
        self._outbox = database["outbox"]
        self._inbox = database["inbox"]
        self._streams = database["streams"]
        self._link = database["link"]

    def create_indexes(self):
        """Called by every process using the store before its first write."""
        self._outbox.create_index("key", unique=True)
        self._outbox.create_index("event_id", unique=True, sparse=True)
        self._inbox.create_index("key", unique=True)

    def ping(self):
        self._db.client.admin.command("ping")

    # outbox (up records) --------------------------------------------------

    def append(self, stream, kind, body, event_id=None):
        """Append one up record; returns its seq. An ``event_id`` already in
        the outbox (a redelivered event) is not appended again: the seq of
        the record it made is returned."""
        _check(stream, UP_STREAMS)
        if event_id is not None:
            existing = self._outbox.find_one({"event_id": event_id}, {"seq": 1})
            if existing is not None:
                return existing["seq"]
        doc = {"stream": stream, "kind": kind, "body": body, "recorded_at": iso()}
        if event_id is not None:
            doc["event_id"] = event_id
        for _ in range(APPEND_ATTEMPTS):
            seq = position_of(self._outbox, stream) + 1
            try:
                self._outbox.insert_one({**doc, "key": key(stream, seq), "seq": seq})
                return seq
            except DuplicateKeyError:
                if event_id is not None:
                    existing = self._outbox.find_one({"event_id": event_id}, {"seq": 1})
                    if existing is not None:
                        return existing["seq"]
        raise RuntimeError(f"outbox {stream}: could not append after {APPEND_ATTEMPTS} attempts")

    def append_many(self, stream, kind, bodies):
        """Append up records of one kind, in order; returns their seqs."""
        _check(stream, UP_STREAMS)
        recorded_at = iso()
        return append_gapless(self._outbox, stream,
                              [{"stream": stream, "kind": kind, "body": body, "recorded_at": recorded_at}
                               for body in bodies])

    def outbox_after(self, stream, seq, limit):
        """Up to ``limit`` up records of ``stream`` after ``seq``, in seq order."""
        return records_after(self._outbox, stream, seq, limit)

    def outbox_position(self, stream):
        """The highest seq appended to ``stream`` (0 if none)."""
        return position_of(self._outbox, stream)

    # inbox (down records) -------------------------------------------------

    def store_inbox(self, records):
        """Store pulled down records (dicts of ``records.FIELDS``) in the
        order given, skipping those already stored; returns how many were new."""
        now, base = iso(), time.time_ns()
        docs = [{**{name: record.get(name) for name in FIELDS}, "key": key(record["stream"], record["seq"]),
                 "stored_at": now, "arrival": base + i}
                for i, record in enumerate(records)]
        for doc in docs:
            _check(doc["stream"], DOWN_STREAMS)
        stored = 0
        while docs:
            try:
                self._inbox.insert_many(docs, ordered=True)
                return stored + len(docs)
            except BulkWriteError as err:
                inserted = inserted_before_duplicate(err)
                stored += inserted
                docs = docs[inserted + 1:]
        return stored

    def inbox_position(self, stream):
        """The highest seq of ``stream`` stored in the inbox (0 if none)."""
        return position_of(self._inbox, stream)

    def inbox_after(self, stream, seq, limit):
        """Up to ``limit`` down records of ``stream`` after ``seq``, in seq order."""
        return records_after(self._inbox, stream, seq, limit)

    # per-stream state -----------------------------------------------------

    def set_delivered(self, stream, seq):
        _check(stream, DOWN_STREAMS)
        self._streams.update_one({"_id": stream}, {"$max": {"delivered_seq": seq}}, upsert=True)

    def delivered(self, stream):
        return int(self._stream(stream).get("delivered_seq") or 0)

    def set_acknowledged(self, stream, seq):
        _check(stream, UP_STREAMS)
        self._streams.update_one({"_id": stream}, {"$max": {"acknowledged_seq": seq}}, upsert=True)

    def acknowledged(self, stream):
        return int(self._stream(stream).get("acknowledged_seq") or 0)

    def paused(self, stream):
        return bool(self._stream(stream).get("paused"))

    def set_paused(self, stream, flag):
        _check(stream, UP_STREAMS + DOWN_STREAMS)
        self._streams.update_one({"_id": stream}, {"$set": {"paused": 1 if flag else 0}}, upsert=True)

    def stream_states(self):
        """Every stream's ``{paused, acknowledged_seq, delivered_seq}`` in one read."""
        found = {doc["_id"]: doc for doc in self._streams.find()}
        return {stream: {"paused": bool(found.get(stream, {}).get("paused")),
                         "acknowledged_seq": int(found.get(stream, {}).get("acknowledged_seq") or 0),
                         "delivered_seq": int(found.get(stream, {}).get("delivered_seq") or 0)}
                for stream in UP_STREAMS + DOWN_STREAMS}

    def _stream(self, stream):
        return self._streams.find_one({"_id": stream}) or {}

    # the link to the province ---------------------------------------------

    def set_link(self, **fields):
        unknown = set(fields) - set(LINK_FIELDS)
        if unknown:
            raise ValueError(f"unknown link fields: {', '.join(sorted(unknown))}")
        if "state" in fields and fields["state"] not in LINK_STATES:
            raise ValueError(f"unknown link state {fields['state']!r}")
        self._link.update_one({"_id": LINK_ID}, {"$set": fields}, upsert=True)

    def link(self):
        """``{state: connected|disconnected|never, hub, last_contact, last_error}``."""
        doc = self._link.find_one({"_id": LINK_ID}) or {}
        return {name: doc.get(name, NEVER_LINKED[name]) for name in LINK_FIELDS}


def _check(stream, streams):
    if stream not in streams:
        raise ValueError(f"unknown stream {stream!r} (expected one of {', '.join(streams)})")
