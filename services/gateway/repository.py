"""The gateway's storage: the only code that touches its collections.

Tenancy data (communes with their villages and agencies, users, API keys),
failed logins for rate limiting, and the activity feed built from other
services' events. Villages and agencies are written as whole arrays ($set),
never $push-ed (see shared/mongo.py); times are ISO strings.
"""
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from shared.mongo import Repository
from shared.timeutil import iso


class CommuneRepository(Repository):
    """Communes (xã); ``_id`` is the slug ("xuan-hung")."""

    collection_name = "communes"

    def ensure(self, commune):
        """Create or update a commune; True if it was created."""
        fields = {k: v for k, v in commune.items() if k != "id"}
        result = self._collection.update_one(
            {"_id": commune["id"]},
            {"$set": {**fields, "updated_at": iso()}, "$setOnInsert": {"created_at": iso()}},
            upsert=True,
        )
        return result.upserted_id is not None

    def get(self, commune_id):
        commune = self._collection.find_one({"_id": commune_id})
        if commune is None:
            raise self.NotFound("Không tìm thấy xã.", {"commune_id": commune_id})
        return self.public(commune)

    def list(self, commune_id=None):
        """All communes, or only ``commune_id``'s, by name."""
        query = {} if commune_id is None else {"_id": commune_id}
        return [self.public(c) for c in self._collection.find(query).sort("name", ASCENDING)]

    def ping(self):
        self._db.command("ping")


class UserRepository(Repository):
    collection_name = "users"
    indexes = (
        ([("username", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING), ("agency_id", ASCENDING)], {}),
    )

    def add(self, user):
        try:
            self._collection.insert_one(user)
        except DuplicateKeyError as err:
            raise self.Conflict(f"Tên đăng nhập «{user['username']}» đã được dùng.", {"username": user["username"]}) from err
        return user

    def by_username(self, username):
        return self._collection.find_one({"username": username})

    def active(self, user_id):
        """The user if they exist and may log in, else None."""
        return self._collection.find_one({"_id": user_id, "active": True})

    def of_commune(self, commune_id, agency_id=None):
        """A commune's active accounts (of one agency if given), by name."""
        query = {"commune_id": commune_id, "active": True}
        if agency_id is not None:
            query["agency_id"] = agency_id
        return list(self._collection.find(query, {"password_hash": 0}).sort("display_name", ASCENDING))

    def display_name(self, user_id):
        user = self._collection.find_one({"_id": user_id}, {"display_name": 1})
        return user["display_name"] if user else None

    def update_profile(self, username, fields):
        """Set the descriptive fields of an existing account (never its password)."""
        self._collection.update_one({"username": username}, {"$set": {**fields, "updated_at": iso()}})

    def set_password_hash(self, user_id, password_hash):
        self._collection.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})


class ApiKeyRepository(Repository):
    """API keys by the SHA-256 of the key; the key itself is never stored."""

    collection_name = "api_keys"
    indexes = (
        ([("key_hash", ASCENDING)], {"unique": True}),
        ([("commune_id", ASCENDING)], {}),
    )

    def add(self, record):
        self._collection.insert_one(record)
        return record

    def active_by_hash(self, key_hash):
        return self._collection.find_one({"key_hash": key_hash, "active": True})

    def name(self, key_id):
        record = self._collection.find_one({"_id": key_id}, {"name": 1})
        return record["name"] if record else None


class LoginAttemptRepository(Repository):
    """Failed logins, one document each, shared by every gateway replica."""

    collection_name = "login_attempts"
    indexes = (([("key", ASCENDING), ("at", ASCENDING)], {}),)

    def failures_since(self, key, since):
        return [doc["at"] for doc in self._collection.find({"key": key, "at": {"$gte": since}}, {"at": 1})]

    def record_failure(self, key, at, new_id, forget_before):
        """Store one failure and drop this key's failures too old to count."""
        self._collection.insert_one({"_id": new_id, "key": key, "at": at})
        self._collection.delete_many({"key": key, "at": {"$lt": forget_before}})

    def clear(self, key):
        self._collection.delete_many({"key": key})


class ActivityRepository(Repository):
    """The activity feed (hoạt động gần đây), one entry per event."""

    collection_name = "activity"
    indexes = (([("commune_id", ASCENDING), ("occurred_at", DESCENDING)], {}),)

    def record(self, entry):
        """Store an entry unless its event was stored already; True if new."""
        fields = {k: v for k, v in entry.items() if k != "_id"}
        result = self._collection.update_one({"_id": entry["_id"]}, {"$setOnInsert": fields}, upsert=True)
        return result.upserted_id is not None

    def recent(self, commune_id, limit):
        cursor = self._collection.find({"commune_id": commune_id}).sort("occurred_at", DESCENDING).limit(limit)
        return [self.public(entry) for entry in cursor]
