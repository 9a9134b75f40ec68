"""MongoDB access: one client per container, narrow repositories, an outbox.

A service declares ``tasks = Store(TaskRepository)``; workers get a
``TaskRepository`` (never the raw database). Repositories write a state change
and the events it causes in one single-document update (the events go into the
document's ``_outbox`` map); ``Store`` publishes them with confirms after the
worker and removes them once confirmed, and a relay publishes whatever a crash
left behind. See DESIGN.md "Not losing data".

Store rules that hold on both MongoDB and nx-27017: no ``$push`` of
sub-documents (nx stores them as strings) — keep maps keyed by id, or ``$set``
whole arrays; times as ISO strings (``shared.timeutil``); a top-level boolean
written by ``$set`` reads back from nx as 1/0 (queries still match), so list
such fields in ``boolean_fields`` and return documents through ``public()``; nx's
``$ne`` matches neither null, "" nor a missing field and misreads nested
paths: compare-and-set on the value read instead; an index on an array field
makes nx miss every element match: do not index array fields. GridFS: count
files with ``GridFSBucket.find`` (``count_documents`` on ``<bucket>.files``
fails on nx) and expect a plain ``OperationFailure`` when deleting a missing file.
"""
import logging
import weakref
from datetime import timedelta

import eventlet
from nameko.extensions import DependencyProvider, SharedExtension
from pymongo import MongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared import faults
from shared.bus import Publisher
from shared.errors import Conflict, NotFound
from shared.events import Outgoing
from shared.timeutil import iso, utcnow

log = logging.getLogger(__name__)

OUTBOX = "_outbox"
OUTBOX_SINCE = "_outbox_since"


def connect(uri):
    return MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000, connect=False)


class MongoClientProvider(SharedExtension):
    """One MongoClient per container, shared by every Store and the inbox.

    Created on first use: nameko sets extensions up concurrently, so a
    dependency's ``setup`` may need the client before this one's ran.
    """

    _client = None

    @property
    def client(self):
        if self._client is None:
            self._client = connect(self.container.config["MONGO_URI"])
        return self._client

    @property
    def database(self):
        return self.client[self.container.config["MONGO_DATABASE"]]

    def stop(self):
        if self._client is not None:
            self._client.close()

    kill = stop


class Repository:
    """Base of every service's repository: the only code touching its collections.

    Subclasses set ``collection_name`` and ``indexes`` (``(keys, options)``
    pairs, created when the service starts) and add domain-named methods.
    """

    collection_name = None
    indexes = ()
    boolean_fields = ()
    NotFound = NotFound
    Conflict = Conflict

    def __init__(self, database, written=None, context=None):
        self._db = database
        self._collection = database[self.collection_name]
        self._written = written if written is not None else []
        self._context = context or {}

    @classmethod
    def create_indexes(cls, database):
        collection = database[cls.collection_name]
        for keys, options in cls.indexes:
            collection.create_index(keys, **options)
        collection.create_index(OUTBOX_SINCE, sparse=True)

    def _outbox_fields(self, events):
        # the call's context data (correlation id, caller) travels with the
        # event, so a relayed event carries the same as a prompt one
        fields = {f"{OUTBOX}.{e.event_id}": {**e.to_doc(), "context": self._context} for e in events}
        if events:
            fields[OUTBOX_SINCE] = iso()
        return fields

    def _update_with_events(self, query, update, events):
        """Apply ``update`` to the one document matching ``query`` and store
        ``events`` in it atomically; returns the updated document or None."""
        update = dict(update)
        update["$set"] = {**update.get("$set", {}), **self._outbox_fields(events)}
        doc = self._collection.find_one_and_update(query, update, return_document=ReturnDocument.AFTER)
        if doc is not None and events:
            self._written.append((self.collection_name, doc["_id"]))
        return doc

    def _insert_with_events(self, doc, events):
        doc = {**doc}
        for key, value in self._outbox_fields(events).items():
            if key.startswith(OUTBOX + "."):
                doc.setdefault(OUTBOX, {})[key.split(".", 1)[1]] = value
            else:
                doc[key] = value
        try:
            self._collection.insert_one(doc)
        except DuplicateKeyError as err:
            raise Conflict("Bản ghi đã tồn tại.") from err
        if events:
            self._written.append((self.collection_name, doc["_id"]))
        return doc

    def _upsert_if_newer(self, key, time_field, fields, new_id):
        """Insert or update the document matching ``key`` unless the kept one
        is at least as recent (``fields[time_field]``); returns whether applied.

        Needs a unique index on ``key``. The condition and the write are one
        operation, so concurrent and redelivered facts cannot move a document
        back in time.
        """
        newer = {**key, time_field: {"$lt": fields[time_field]}}
        try:
            self._collection.update_one(newer, {"$set": fields, "$setOnInsert": {"_id": new_id()}}, upsert=True)
            return True
        except DuplicateKeyError:
            # the kept document is not older (no match, so the upsert tried to
            # insert), or a concurrent first write won: only the latter can apply
            return self._collection.update_one(newer, {"$set": fields}).matched_count == 1

    def public(self, doc):
        """A document as callers see it: without the storage-only fields,
        booleans as booleans on either store."""
        if doc is None:
            return None
        out = {k: v for k, v in doc.items() if k not in (OUTBOX, OUTBOX_SINCE)}
        for name in self.boolean_fields:
            if name in out and out[name] is not None:
                out[name] = bool(out[name])
        return out


class OutboxRelay(SharedExtension):
    """Publishes outbox entries with confirms, then removes them.

    Workers' entries are published right after the worker; a relay loop
    publishes what a crash or a broker outage left (older than a grace period,
    and everything at start-up). Delivery is at least once: consumers dedupe on
    ``event_id``.
    """

    client = MongoClientProvider()

    def setup(self):
        config = self.container.config
        self.publisher = Publisher(config["AMQP_URI"])
        self.interval = float(config.get("OUTBOX_RELAY_SECONDS", 2.0))
        self.grace = float(config.get("OUTBOX_RELAY_GRACE_SECONDS", 5.0))
        self.collections = set()
        self._running = False

    def register(self, collection_name):
        self.collections.add(collection_name)

    def start(self):
        self._running = True
        self.container.spawn_managed_thread(self._relay_loop, identifier="outbox-relay")

    def stop(self):
        self._running = False
        self.publisher.close()

    def kill(self):
        self.stop()

    def _relay_loop(self):
        first = True
        while self._running:
            try:
                self.relay(grace_seconds=0 if first else self.grace)
                first = False
            except Exception:
                log.exception("outbox relay pass failed; retrying")
            eventlet.sleep(self.interval)

    def relay(self, grace_seconds):
        cutoff = iso(utcnow() - timedelta(seconds=grace_seconds))
        for name in sorted(self.collections):
            collection = self.client.database[name]
            for doc in collection.find({OUTBOX_SINCE: {"$lte": cutoff}}, {"_id": 1}):
                self.publish_document(name, doc["_id"])

    def publish_document(self, collection_name, doc_id):
        collection = self.client.database[collection_name]
        doc = collection.find_one({"_id": doc_id}, {OUTBOX: 1})
        pending = sorted((doc or {}).get(OUTBOX, {}).values(), key=lambda e: e["payload"]["occurred_at"])
        for entry in pending:
            event = Outgoing.from_doc(entry)
            faults.point("outbox.before_publish")
            self.publisher.publish_event(event.source, event.name, event.payload, entry.get("context"))
            collection.update_one({"_id": doc_id}, {"$unset": {f"{OUTBOX}.{event.event_id}": ""}})
        collection.update_one({"_id": doc_id, OUTBOX: {}}, {"$unset": {OUTBOX: "", OUTBOX_SINCE: ""}})


class Store(DependencyProvider):
    """Injects a repository and publishes the events its writes stored."""

    client = MongoClientProvider()
    relay = OutboxRelay()

    def __init__(self, repository_class, **kwargs):
        self.repository_class = repository_class
        self._written = weakref.WeakKeyDictionary()
        super().__init__(**kwargs)

    def setup(self):
        self.repository_class.create_indexes(self.client.database)
        self.relay.register(self.repository_class.collection_name)

    def get_dependency(self, worker_ctx):
        written = self._written.setdefault(worker_ctx, [])
        context = {k: v for k, v in worker_ctx.context_data.items() if v is not None}
        return self.repository_class(self.client.database, written, context)

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        for collection_name, doc_id in self._written.pop(worker_ctx, []):
            try:
                self.relay.publish_document(collection_name, doc_id)
            except Exception:
                log.warning("publishing outbox of %s/%s failed; the relay will retry", collection_name, doc_id, exc_info=True)
