"""The content service's storage: the only code that touches its collections.

Items keep their revisions (``revisions.r<n>``) and workflow history
(``history.<id>``) as maps inside the item, so a change, its revision, its
history line and its events are one single-document write. Media files live in
GridFS (bucket ``media``); their metadata in the ``media`` collection, which is
what every query reads (nx-27017 cannot count GridFS collections).
"""
import re

import gridfs
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.mongo import Repository
from shared.timeutil import iso

STORAGE_ONLY = {"_outbox": 0, "_outbox_since": 0}
LIST_HIDDEN = {**STORAGE_ONLY, "search": 0, "revisions": 0, "history": 0, "body": 0}


class SectionRepository(Repository):
    """A commune's sections (chuyên mục), seeded on first use."""

    collection_name = "sections"
    boolean_fields = ("active", "seeded")
    indexes = (
        ([("commune_id", ASCENDING), ("name_folded", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING), ("order", ASCENDING)], {}),
    )

    def ensure_seeded(self, commune_id, seeds):
        """Insert the seeded sections of a commune that has none yet; a
        concurrent seeding of the same commune inserts each only once."""
        if self._collection.find_one({"commune_id": commune_id}, {"_id": 1}) is not None:
            return
        for section in seeds:
            try:
                self._collection.insert_one(section)
            except DuplicateKeyError:
                pass

    def list(self, commune_id, include_inactive=False):
        query = {"commune_id": commune_id}
        if not include_inactive:
            query["active"] = True
        cursor = self._collection.find(query, {"name_folded": 0}).sort([("order", ASCENDING), ("name", ASCENDING)])
        return [self.public(s) for s in cursor]

    def names(self, commune_id):
        return {s["_id"]: s["name"] for s in self._collection.find({"commune_id": commune_id}, {"name": 1})}

    def get(self, commune_id, section_id):
        section = self._collection.find_one({"_id": section_id, "commune_id": commune_id}, {"name_folded": 0})
        if section is None:
            raise self.NotFound("Không tìm thấy chuyên mục.", {"section_id": section_id})
        return self.public(section)

    def find(self, commune_id, section_id):
        """The section, or None (for validating an item's section)."""
        return self.public(self._collection.find_one({"_id": section_id, "commune_id": commune_id}))

    def next_order(self, commune_id):
        last = list(self._collection.find({"commune_id": commune_id}, {"order": 1}).sort("order", DESCENDING).limit(1))
        return (last[0]["order"] + 1) if last else 1

    def add(self, section):
        try:
            self._collection.insert_one(section)
        except DuplicateKeyError as err:
            raise self.Conflict(f"Chuyên mục «{section['name']}» đã có.") from err
        return self.public({k: v for k, v in section.items() if k != "name_folded"})

    def update(self, commune_id, section_id, fields):
        try:
            result = self._collection.update_one({"_id": section_id, "commune_id": commune_id}, {"$set": fields})
        except DuplicateKeyError as err:
            raise self.Conflict(f"Chuyên mục «{fields.get('name')}» đã có.") from err
        if result.matched_count == 0:
            raise self.NotFound("Không tìm thấy chuyên mục.", {"section_id": section_id})
        return self.get(commune_id, section_id)


class ItemRepository(Repository):
    """Content items with their revisions, history and published version."""

    collection_name = "items"
    boolean_fields = ("live", "in_feed")
    indexes = (
        ([("commune_id", ASCENDING), ("updated_at", DESCENDING)], {}),
        ([("commune_id", ASCENDING), ("status", ASCENDING)], {}),
        ([("commune_id", ASCENDING), ("in_feed", ASCENDING), ("last_published_at", DESCENDING)], {}),
        ([("status", ASCENDING), ("publish_at", ASCENDING)], {}),
    )

    def add(self, item, events=()):
        return self.public(self._insert_with_events(item, list(events)))

    def get(self, commune_id, item_id):
        item = self._collection.find_one({"_id": item_id, "commune_id": commune_id}, STORAGE_ONLY)
        if item is None:
            raise self.NotFound("Không tìm thấy bản tin.", {"item_id": item_id})
        return self.public(item)

    def apply(self, item, change):
        """Write a domain ``Change`` where the item still is as it expects;
        Conflict if someone changed it meanwhile."""
        update = dict(change.set)
        if change.history:
            update[f"history.{change.history['id']}"] = change.history
        doc = self._update_with_events({"_id": item["_id"], "commune_id": item["commune_id"], **change.expect},
                                       {"$set": update}, change.events)
        if doc is None:
            raise self.Conflict("Bản tin vừa được người khác thay đổi; vui lòng tải lại và thử lại.",
                                {"item_id": item["_id"]})
        return self.public({k: v for k, v in doc.items() if k not in STORAGE_ONLY})

    def try_apply(self, item, change):
        """``apply`` for background work: None instead of Conflict."""
        try:
            return self.apply(item, change)
        except self.Conflict:
            return None

    def find(self, commune_id, kind=None, section_id=None, status=None, channel=None, q=None, live=None,
             offset=0, limit=50):
        """Items newest change first, filtered; ``q`` is accent-folded text.
        Returns (page, total)."""
        query = {"commune_id": commune_id}
        for name, value in (("kind", kind), ("section_id", section_id), ("status", status), ("channels", channel)):
            if value:
                query[name] = value
        if live is not None:
            query["live"] = live
        if q:
            query["search"] = {"$regex": re.escape(q)}
        total = self._collection.count_documents(query)
        cursor = self._collection.find(query, LIST_HIDDEN).sort("updated_at", DESCENDING).skip(offset).limit(limit)
        return [self.public(i) for i in cursor], total

    def due(self, now):
        """Scheduled items of every commune whose time has come (the timer)."""
        return [self.public(i) for i in self._collection.find({"status": "scheduled", "publish_at": {"$lte": now}},
                                                              {**STORAGE_ONLY, "search": 0, "revisions": 0})]

    def recently_published(self, commune_id, limit):
        """The commune's live items, latest publication first, on every channel."""
        cursor = (self._collection.find({"commune_id": commune_id, "live": True},
                                        {"published": 1, "first_published_at": 1, "last_published_at": 1})
                  .sort("last_published_at", DESCENDING).limit(limit))
        return list(cursor)

    def feed(self, commune_id, limit):
        cursor = (self._collection.find({"commune_id": commune_id, "in_feed": True},
                                        {"published": 1, "slug": 1, "first_published_at": 1, "last_published_at": 1})
                  .sort("last_published_at", DESCENDING).limit(limit))
        return list(cursor)


class MediaRepository(Repository):
    """Images and audio: bytes in GridFS, metadata here (item, revision, format,
    duration, size, engine…)."""

    collection_name = "media"
    indexes = (([("commune_id", ASCENDING), ("item_id", ASCENDING), ("created_at", ASCENDING)], {}),)

    def __init__(self, database, written=None, context=None):
        super().__init__(database, written, context)
        self._files = gridfs.GridFSBucket(database, bucket_name="media")

    def store(self, meta, data):
        """Store a file and its metadata; nothing is left if either fails."""
        self._files.upload_from_stream_with_id(meta["_id"], meta["name"], data,
                                               metadata={"commune_id": meta["commune_id"],
                                                         "content_type": meta["content_type"]})
        try:
            self._collection.insert_one(dict(meta, stored_at=iso()))
        except Exception:
            self._delete_file(meta["_id"])
            raise
        return meta

    def delete(self, media_ids):
        for media_id in media_ids:
            self._delete_file(media_id)
            self._collection.delete_one({"_id": media_id})

    def _delete_file(self, media_id):
        # looked up first: deleting a missing file raises NoFile on MongoDB
        # but a plain OperationFailure on nx-27017
        if next(iter(self._files.find({"_id": media_id}).limit(1)), None) is None:
            return
        try:
            self._files.delete(media_id)
        except gridfs.errors.NoFile:
            pass

    def get(self, commune_id, media_id):
        meta = self._collection.find_one({"_id": media_id, "commune_id": commune_id}, {"stored_at": 0})
        if meta is None:
            raise self.NotFound("Không tìm thấy tệp.", {"media_id": media_id})
        return self.public(meta)

    def read(self, media_id):
        return self._files.open_download_stream(media_id).read()

    def file_ids(self):
        """Ids of every stored file (GridFS), for checks that nothing is orphaned."""
        return sorted(f._id for f in self._files.find({}))


class SpeechRepository(Repository):
    """Speech rendered for broadcasts (giọng đọc của lượt phát): one per
    commune and reference (the broadcast's ``content_id``), with its state
    (``rendering``, ``ready``, ``failed``); the audio itself is in ``media``."""

    collection_name = "speeches"
    indexes = (([("commune_id", ASCENDING), ("requested_at", DESCENDING)], {}),)

    @staticmethod
    def key(commune_id, reference):
        return f"{commune_id}:{reference}"

    def claim(self, commune_id, reference, broadcast_id, now):
        """The speech of ``reference``, created ``rendering`` if it is new.
        A request delivered again finds it: ready or failed, nothing to do;
        still rendering (the process died mid-way), it is rendered again and
        only the first to finish is kept."""
        doc = {"_id": self.key(commune_id, reference), "commune_id": commune_id, "reference": reference,
               "broadcast_id": broadcast_id, "state": "rendering", "requested_at": now, "media_id": None,
               "duration_seconds": None, "error": "", "finished_at": None}
        try:
            self._collection.insert_one(doc)
            return doc
        except DuplicateKeyError:
            return self.public(self._collection.find_one({"_id": doc["_id"]}))

    def finish(self, commune_id, reference, fields, events):
        """Record the outcome (with its event) if the speech is still
        rendering; None if another delivery finished it first."""
        doc = self._update_with_events({"_id": self.key(commune_id, reference), "state": "rendering"},
                                       {"$set": fields}, events)
        return None if doc is None else self.public(doc)

    def get(self, commune_id, reference):
        doc = self._collection.find_one({"_id": self.key(commune_id, reference), "commune_id": commune_id})
        if doc is None:
            raise self.NotFound("Không có giọng đọc này.", {"reference": reference})
        return self.public(doc)
