"""The telemetry service's storage: the only code that touches its collections."""
import uuid

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from shared.mongo import Repository


class PresenceRepository(Repository):
    """Each device's latest reported status, one document per (commune, device)."""

    collection_name = "presence"
    indexes = (([("commune_id", ASCENDING), ("device_id", ASCENDING)], {"unique": True}),)

    def record(self, presence):
        """Keep ``presence`` unless a report at least as recent is kept;
        returns whether it was applied.

        The condition and the write are one operation, so concurrent and
        redelivered reports cannot move a device back in time.
        """
        key = {"commune_id": presence["commune_id"], "device_id": presence["device_id"]}
        newer = {**key, "last_reported_at": {"$lt": presence["last_reported_at"]}}
        fields = {k: v for k, v in presence.items() if k not in key}
        try:
            self._collection.update_one(newer, {"$set": fields, "$setOnInsert": {"_id": uuid.uuid4().hex}}, upsert=True)
            return True
        except DuplicateKeyError:
            # the device is known and its kept report is not older (no
            # match, so the upsert tried to insert), or a concurrent first
            # report was inserted meanwhile: only the latter can still apply
            return self._collection.update_one(newer, {"$set": fields}).matched_count == 1

    def list(self, commune_id):
        """The commune's devices, by device id."""
        cursor = self._collection.find({"commune_id": commune_id}, {"_id": 0}).sort("device_id", ASCENDING)
        return list(cursor)
