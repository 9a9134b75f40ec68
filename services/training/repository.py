"""The only code touching the ``training`` database (one repository per
collection; every query names the commune, except a certificate's lookup by
serial for the public verification page).

Writes that must not race are compare-and-set: a person and a course carry a
``rev``, the commune's roster document a ``version``, an import and an
unmatched row their ``state``; a write that finds another change came first
answers False (or Conflict) and the service re-reads and tries again. Events
ride in the written document's outbox (``shared.mongo``). A course holds its
sessions, enrolments and attendance (``courses.py``), so one write covers an
enrolment and the place it takes.
"""
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.errors import Conflict, NotFound
from shared.mongo import Repository
from shared.text import fold

# what documents carry for storage only, never shown
STORAGE_KEYS = ("_id", "commune_id", "search")


def _shown(doc):
    return {k: v for k, v in doc.items() if k not in STORAGE_KEYS} if doc is not None else None


def _certificate(doc):
    # a certificate states its commune: only the storage id is left out
    return {k: v for k, v in doc.items() if k != "_id"} if doc is not None else None


def _insert_new(collection, docs):
    """Insert ``docs``, skipping those already stored (same unique key);
    returns how many were inserted. Redoing an interrupted batch is safe."""
    if not docs:
        return 0
    try:
        return len(collection.insert_many(docs, ordered=False).inserted_ids)
    except BulkWriteError as err:
        errors = err.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return err.details.get("nInserted", len(docs) - len(errors))


class _Revised(Repository):
    """Documents changed by compare-and-set on ``rev``."""

    missing = "Không có «{}»."
    id_key = None

    def _doc(self, commune_id, item):
        return {**item, "_id": item[self.id_key], "commune_id": commune_id, "rev": 1}

    def get(self, commune_id, item_id):
        doc = self._collection.find_one({"_id": item_id, "commune_id": commune_id})
        if doc is None:
            raise NotFound(self.missing.format(item_id))
        return _shown(self.public(doc))

    def replace(self, commune_id, was, item, events=()):
        """Write ``item`` if it is still at the ``rev`` read as ``was``;
        False if another change came first."""
        fields = {k: v for k, v in self._doc(commune_id, item).items() if k not in ("_id", "rev")}
        doc = self._update_with_events({"_id": was[self.id_key], "commune_id": commune_id, "rev": was["rev"]},
                                       {"$set": fields, "$inc": {"rev": 1}}, list(events))
        return _shown(self.public(doc))


class PersonRepository(_Revised):
    """``people``: the commune's roster, one document per person."""

    collection_name = "people"
    indexes = (([("commune_id", ASCENDING), ("village", ASCENDING)], {}),
               ([("commune_id", ASCENDING), ("search", ASCENDING)], {}))
    missing = "Không có người «{}» trong danh sách."
    id_key = "person_id"

    def _doc(self, commune_id, item):
        return dict(super()._doc(commune_id, item), search=fold(item.get("full_name")))

    def add(self, commune_id, person):
        return _shown(self._insert_with_events(self._doc(commune_id, person), []))

    def add_many(self, commune_id, people):
        """Insert people with ids fixed in advance; those already in (a
        redone import) are skipped."""
        return _insert_new(self._collection, [self._doc(commune_id, p) for p in people])

    def of_commune(self, commune_id):
        return [_shown(d) for d in self._collection.find({"commune_id": commune_id})]

    def by_ids(self, commune_id, person_ids):
        found = self._collection.find({"commune_id": commune_id, "_id": {"$in": sorted(set(person_ids))}})
        return {d["_id"]: _shown(d) for d in found}

    def communes(self):
        return set(self._collection.distinct("commune_id"))


class RosterRepository(Repository):
    """``rosters``: per commune (``_id``), the village targets and Zalo links,
    and the latest count with its ``training.roster_counted`` event."""

    collection_name = "rosters"

    def get(self, commune_id):
        return self.public(self._collection.find_one({"_id": commune_id}))

    def put(self, commune_id, was, fields, events):
        """Write ``fields`` if the document is still at the version read as
        ``was`` (None: not there yet); False if another write came first."""
        if was is None:
            try:
                self._insert_with_events({"_id": commune_id, "commune_id": commune_id, "version": 1, **fields},
                                         list(events))
                return True
            except Conflict:
                return False
        doc = self._update_with_events({"_id": commune_id, "version": was["version"]},
                                       {"$set": fields, "$inc": {"version": 1}}, list(events))
        return doc is not None

    def communes(self):
        # the id is the commune, but nx-27017 cannot take distinct values of ``_id``
        return set(self._collection.distinct("commune_id"))


class CourseRepository(_Revised):
    """``courses``: a course with its sessions, enrolments and attendance."""

    collection_name = "courses"
    indexes = (([("commune_id", ASCENDING), ("state", ASCENDING)], {}),)
    missing = "Không có khóa học «{}»."
    id_key = "course_id"

    def _doc(self, commune_id, item):
        return dict(super()._doc(commune_id, item), search=fold(item.get("title")))

    def add(self, commune_id, course):
        return _shown(self.public(self._insert_with_events(self._doc(commune_id, course), [])))

    def add_once(self, commune_id, course):
        """Insert a course whose id is fixed by what it is (an online course
        by its title), or read the one already there."""
        try:
            self._collection.insert_one(self._doc(commune_id, course))
        except DuplicateKeyError:
            pass
        return self.get(commune_id, course["course_id"])

    def of_commune(self, commune_id, state=None):
        query = {"commune_id": commune_id}
        if state:
            query["state"] = state
        return [_shown(self.public(d)) for d in self._collection.find(query).sort("created_at", DESCENDING)]


class CertificateRepository(Repository):
    """``certificates``: one per person and course (issued once), found by
    its ``serial`` for verification."""

    collection_name = "certificates"
    indexes = (([("serial", ASCENDING)], {"unique": True}),
               ([("course_id", ASCENDING), ("person_id", ASCENDING)], {"unique": True}),
               ([("commune_id", ASCENDING), ("completed_on", ASCENDING)], {}),
               ([("commune_id", ASCENDING), ("person_id", ASCENDING)], {}))

    def issue(self, commune_id, course_id, certificates):
        """Store the certificates of a course not issued yet; returns those
        the people now hold, by person (a redone close or import gets the
        ones stored the first time)."""
        _insert_new(self._collection, [{**c, "_id": c["certificate_id"], "commune_id": commune_id}
                                       for c in certificates])
        person_ids = [c["person_id"] for c in certificates]
        return {d["person_id"]: _certificate(d) for d in self._collection.find(
            {"course_id": course_id, "person_id": {"$in": person_ids}, "commune_id": commune_id})}

    def get(self, commune_id, certificate_id):
        doc = self._collection.find_one({"_id": certificate_id, "commune_id": commune_id})
        if doc is None:
            raise NotFound(f"Không có giấy chứng nhận «{certificate_id}».")
        return _certificate(doc)

    def by_serial(self, serial):
        return _certificate(self._collection.find_one({"serial": serial}))

    def find(self, commune_id, person_id=None, course_id=None):
        query = {"commune_id": commune_id}
        if person_id:
            query["person_id"] = person_id
        if course_id:
            query["course_id"] = course_id
        return [_certificate(d) for d in self._collection.find(query).sort("issued_at", DESCENDING)]

    def valid_between(self, commune_id, start, end):
        """Certificates not revoked with ``completed_on`` in [start, end]."""
        return [_certificate(d) for d in self._collection.find(
            {"commune_id": commune_id, "completed_on": {"$gte": start, "$lte": end}, "revoked": None})]

    def revoke(self, commune_id, certificate_id, revoked):
        doc = self._update_with_events({"_id": certificate_id, "commune_id": commune_id, "revoked": None},
                                       {"$set": {"revoked": revoked}}, [])
        if doc is None:
            self.get(commune_id, certificate_id)
            raise Conflict("Giấy chứng nhận này đã bị thu hồi.")
        return _certificate(self.public(doc))


class ImportRepository(Repository):
    """``imports``: previews of roster and online-course files, applied once
    (``state``: preview → applying → applied)."""

    collection_name = "imports"
    indexes = (([("state", ASCENDING), ("created_at", ASCENDING)], {}),)

    def add(self, commune_id, preview):
        return _shown(self._insert_with_events({**preview, "_id": preview["import_id"], "commune_id": commune_id}, []))

    def get(self, commune_id, import_id):
        doc = self._collection.find_one({"_id": import_id, "commune_id": commune_id})
        if doc is None:
            raise NotFound(f"Không có bản xem trước «{import_id}» (có thể đã hết hạn); hãy tải tệp lên lại.")
        return _shown(self.public(doc))

    def claim(self, commune_id, import_id, now_iso, stale_before_iso):
        """Take a preview for applying (or an application a crash left
        behind, older than ``stale_before_iso``); None if another confirm has it."""
        doc = self._update_with_events(
            {"_id": import_id, "commune_id": commune_id,
             "$or": [{"state": "preview"}, {"state": "applying", "claimed_at": {"$lt": stale_before_iso}}]},
            {"$set": {"state": "applying", "claimed_at": now_iso}}, [])
        return _shown(self.public(doc))

    def finish(self, commune_id, claimed, fields, events):
        """Mark a claimed import applied, with the events it causes."""
        doc = self._update_with_events({"_id": claimed["import_id"], "commune_id": commune_id, "state": "applying",
                                        "claimed_at": claimed["claimed_at"]},
                                       {"$set": {**fields, "state": "applied"}}, list(events))
        if doc is None:
            raise Conflict("Tệp này đang được áp dụng bởi một yêu cầu khác.")
        return _shown(self.public(doc))

    def delete_expired(self, before_iso):
        return self._collection.delete_many({"state": "preview", "created_at": {"$lt": before_iso}}).deleted_count


class UnmatchedRepository(Repository):
    """``unmatched``: rows of online-course files that matched nobody, kept
    ``pending`` until an officer names the person."""

    collection_name = "unmatched"
    indexes = (([("commune_id", ASCENDING), ("state", ASCENDING)], {}),)

    def add_many(self, commune_id, rows):
        return _insert_new(self._collection, [{**r, "_id": r["row_id"], "commune_id": commune_id} for r in rows])

    def pending(self, commune_id):
        found = self._collection.find({"commune_id": commune_id, "state": "pending"})
        return sorted((_shown(d) for d in found), key=lambda r: (r["imported_at"], r["row"]))

    def get(self, commune_id, row_id):
        doc = self._collection.find_one({"_id": row_id, "commune_id": commune_id})
        if doc is None:
            raise NotFound(f"Không có dòng chờ ghép «{row_id}».")
        return _shown(self.public(doc))

    def matched(self, commune_id, row_id, fields, events):
        """Mark a pending row matched, with the events it causes; Conflict if
        it was matched meanwhile."""
        doc = self._update_with_events({"_id": row_id, "commune_id": commune_id, "state": "pending"},
                                       {"$set": {**fields, "state": "matched"}}, list(events))
        if doc is None:
            raise Conflict("Dòng này đã được ghép với một người.")
        return _shown(self.public(doc))
