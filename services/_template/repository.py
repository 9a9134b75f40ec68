"""The only code touching the ``_template`` database: one repository per
collection, every query naming the commune (one commune never reads
another's documents). A write that causes events passes them to
``_insert_with_events``/``_update_with_events`` (``shared.mongo``), so the
change and its events are one single-document write.
"""
from pymongo import ASCENDING, DESCENDING

from shared.errors import NotFound
from shared.mongo import Repository

# what documents carry for storage only, never shown
STORAGE_KEYS = ("_id", "commune_id")


def _shown(doc):
    return {k: v for k, v in doc.items() if k not in STORAGE_KEYS} if doc is not None else None


class EntryRepository(Repository):
    """``entries``: the commune's entries, one document each."""

    collection_name = "entries"
    indexes = (([("commune_id", ASCENDING), ("created_at", DESCENDING)], {}),)

    def add(self, commune_id, entry, events=()):
        doc = {**entry, "_id": entry["entry_id"], "commune_id": commune_id}
        return _shown(self.public(self._insert_with_events(doc, list(events))))

    def get(self, commune_id, entry_id):
        doc = self._collection.find_one({"_id": entry_id, "commune_id": commune_id})
        if doc is None:
            raise NotFound(f"Không có bản ghi «{entry_id}».")
        return _shown(self.public(doc))

    def of_commune(self, commune_id):
        found = self._collection.find({"commune_id": commune_id}).sort("created_at", DESCENDING)
        return [_shown(self.public(d)) for d in found]
