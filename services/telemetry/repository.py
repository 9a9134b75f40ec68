"""The telemetry service's storage: the only code that touches its collections."""
import uuid

from pymongo import ASCENDING

from shared.mongo import Repository


class PresenceRepository(Repository):
    """Each device's latest reported status, one document per (commune, device)."""

    collection_name = "presence"
    boolean_fields = ("online", "playing")
    indexes = (([("commune_id", ASCENDING), ("device_id", ASCENDING)], {"unique": True}),)

    def record(self, presence):
        """Keep ``presence`` unless a report at least as recent is kept;
        returns whether it was applied."""
        key = {"commune_id": presence["commune_id"], "device_id": presence["device_id"]}
        fields = {k: v for k, v in presence.items() if k not in key}
        return self._upsert_if_newer(key, "last_reported_at", fields, new_id=lambda: uuid.uuid4().hex)

    def list(self, commune_id):
        """The commune's devices, by device id."""
        cursor = self._collection.find({"commune_id": commune_id}, {"_id": 0}).sort("device_id", ASCENDING)
        return [self.public(doc) for doc in cursor]
