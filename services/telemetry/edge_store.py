"""The DeviceLink edge's access to the telemetry database (API.md "Storage").

Blocking pymongo: the edge calls every method from its thread pool, never
from the event loop. Queries follow the store rules of ``shared/mongo.py``
(ISO-string times, string statuses, compare-and-set instead of ``$ne``).

Provisioning and rotation write the events they cause into the new
credential document's outbox (``_outbox``, single-document atomic with the
insert); the edge publishes them and clears them once the broker confirmed,
and the service's outbox relay publishes whatever a crash left.
"""
import logging
from dataclasses import dataclass, field

from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from services.telemetry import credentials
from services.telemetry.ingest import StateNotSaved
from shared.errors import Unauthenticated
from shared.events import outgoing
from shared.mongo import OUTBOX, OUTBOX_SINCE
from shared.timeutil import iso

log = logging.getLogger(__name__)

SOURCE = "telemetry"
DEFAULT_PRESENCE_TIMEOUT_S = 120
DUPLICATE_KEY = 11000

BAD_CODE = "Mã kích hoạt không đúng, đã được dùng hoặc đã hết hạn; hãy xin mã mới từ cán bộ vận hành."
DEVICE_GONE = "Thiết bị của mã kích hoạt này không còn trong danh sách thiết bị của xã."
REASONS = {
    "provisioning_code": "Thiết bị được kích hoạt lại bằng mã kích hoạt.",
    "rotation": "Thiết bị đã đổi khóa truy cập.",
}


def device_key(commune_id, device_id):
    return f"{commune_id}/{device_id}"


@dataclass
class Issued:
    """A credential just issued: the secret for the device, and the events
    (already in the credential's outbox) for the bus."""

    credential: str
    credential_id: str
    commune_id: str
    device_id: str
    revoked: list = field(default_factory=list)
    events: list = field(default_factory=list)


@dataclass(frozen=True)
class Session:
    """What a stream needs to know about its device when it opens."""

    credential_id: str
    commune_id: str
    device_id: str
    presence_timeout_s: int
    stored_through_seq: int


class EdgeStore:
    def __init__(self, database):
        self._db = database
        self._codes = database["provisioning_codes"]
        self._credentials = database["credentials"]
        self._devices = database["devices"]
        self._state = database["device_state"]
        self._buckets = database["telemetry_buckets"]

    def ping(self):
        self._db.client.admin.command("ping")

    # credentials -------------------------------------------------------

    def authenticate(self, authorization):
        """The active gRPC credential document for ``Bearer <id>.<secret>``, or None."""
        parts = credentials.split_credential(authorization)
        if parts is None:
            return None
        credential_id, secret = parts
        doc = self._credentials.find_one({"_id": credential_id})
        if (doc is None or doc.get("status") != "active" or doc.get("transport") != "grpc"
                or not credentials.secret_matches(secret, doc.get("secret_sha256"))):
            return None
        return doc

    def provision(self, code, firmware="", model=""):
        """Exchange a pending, unexpired provisioning code for a credential (once)."""
        now = iso()
        claimed = self._codes.find_one_and_update(
            {"_id": credentials.code_digest(code), "status": "pending", "expires_at": {"$gt": now}},
            {"$set": {"status": "used", "used_at": now}},
        )
        if claimed is None:
            raise Unauthenticated(BAD_CODE)
        device = self._devices.find_one({"_id": device_key(claimed["commune_id"], claimed["device_id"])}, {"_id": 1})
        if device is None:
            raise Unauthenticated(DEVICE_GONE)
        described = {name: value for name, value in (("firmware", firmware), ("model", model)) if value}
        return self._issue(claimed["commune_id"], claimed["device_id"], "provisioning_code", described)

    def rotate(self, current):
        """A new credential for the device of ``current`` (an authenticated
        credential document); ``current`` and any other active one are revoked."""
        return self._issue(current["commune_id"], current["device_id"], "rotation", {})

    def _issue(self, commune_id, device_id, how, described):
        """Store a new active credential, then revoke the device's others.

        The new one is stored first, with the events in its outbox, so a
        crash in between leaves a device with two working credentials rather
        than none, and the events are still published. One revoked meanwhile
        by someone else gets a second ``credential_revoked``: consumers
        dedupe, and ending a stream twice is harmless.
        """
        credential_id, credential, digest = credentials.new_credential()
        others = [doc["_id"] for doc in self._credentials.find(
            {"commune_id": commune_id, "device_id": device_id, "status": "active"}, {"_id": 1})]
        events = [outgoing(SOURCE, "device_provisioned", commune_id, device_id=device_id,
                           credential_id=credential_id, transport="grpc", how=how)]
        events += [outgoing(SOURCE, "credential_revoked", commune_id, device_id=device_id, credential_id=other,
                            reason=REASONS[how]) for other in others]
        now = iso()
        self._credentials.insert_one({
            "_id": credential_id, "commune_id": commune_id, "device_id": device_id, "transport": "grpc",
            "secret_sha256": digest, "status": "active", "created_at": now, "revoked_at": None, "reason": None,
            OUTBOX: {event.event_id: {**event.to_doc(), "context": {}} for event in events}, OUTBOX_SINCE: now,
        })
        revoked = []
        for other in others:
            result = self._credentials.update_one(
                {"_id": other, "status": "active"},
                {"$set": {"status": "revoked", "revoked_at": now, "reason": REASONS[how]}},
            )
            if result.modified_count:
                revoked.append(other)
        self._devices.update_one(
            {"_id": device_key(commune_id, device_id)},
            {"$set": {**described, "credential": {"status": "active", "credential_id": credential_id, "at": now},
                      "updated_at": now}},
        )
        return Issued(credential, credential_id, commune_id, device_id, revoked, events)

    def clear_outbox(self, credential_id, event_ids):
        """Forget events the broker confirmed."""
        if event_ids:
            self._credentials.update_one({"_id": credential_id},
                                         {"$unset": {f"{OUTBOX}.{event_id}": "" for event_id in event_ids}})
        self._credentials.update_one({"_id": credential_id, OUTBOX: {}}, {"$unset": {OUTBOX: "", OUTBOX_SINCE: ""}})

    # devices -----------------------------------------------------------

    def open_session(self, authorization):
        """A ``Session`` for a stream presenting ``authorization``, or None
        if the credential is bad or its device is gone."""
        credential = self.authenticate(authorization)
        if credential is None:
            return None
        found = self.device(credential["commune_id"], credential["device_id"])
        if found is None:
            return None
        timeout, stored_through = found
        return Session(credential["_id"], credential["commune_id"], credential["device_id"], timeout, stored_through)

    def device(self, commune_id, device_id):
        """``(presence_timeout_s, stored_through_seq)`` of a registered device, or None."""
        key = device_key(commune_id, device_id)
        device = self._devices.find_one({"_id": key}, {"presence_timeout_s": 1})
        if device is None:
            return None
        state = self._state.find_one({"_id": key}, {"stored_through_seq": 1}) or {}
        timeout = device.get("presence_timeout_s") or DEFAULT_PRESENCE_TIMEOUT_S
        return int(timeout), int(state.get("stored_through_seq") or 0)

    # telemetry ---------------------------------------------------------

    def write(self, docs, state_updates):
        """Insert bucket documents, then update ``device_state``.

        ``state_updates``: ``(key, ids, fields, stored_through_seq)``. A bucket
        id already taken means a resend after a crash between write and
        acknowledgement: the samples beyond the stored document's go in a new
        one. Raises ``StateNotSaved`` if only the buckets were written.
        """
        if docs:
            self._insert_buckets(docs)
        if not state_updates:
            return
        operations = [
            UpdateOne({"_id": key},
                      {"$set": fields, "$max": {"stored_through_seq": through}, "$setOnInsert": ids},
                      upsert=True)
            for key, ids, fields, through in state_updates
        ]
        try:
            self._state.bulk_write(operations, ordered=False)
        except PyMongoError as err:
            raise StateNotSaved() from err

    def _insert_buckets(self, docs):
        while docs:
            try:
                self._buckets.insert_many(docs, ordered=False)
                return
            except BulkWriteError as err:
                errors = err.details.get("writeErrors", [])
                if any(error.get("code") != DUPLICATE_KEY for error in errors):
                    raise
                docs = self._remainders([docs[error["index"]] for error in errors])

    def _remainders(self, clashing):
        """For documents whose id is taken: their samples the stored one lacks."""
        stored = {doc["_id"]: doc["last_seq"] for doc in
                  self._buckets.find({"_id": {"$in": [doc["_id"] for doc in clashing]}}, {"last_seq": 1})}
        out = []
        for doc in clashing:
            rest = [sample for sample in doc["samples"] if sample["seq"] > stored.get(doc["_id"], 0)]
            if rest:
                start_and_key = doc["_id"].rsplit("/", 1)[0]
                out.append({**doc, "_id": f"{start_and_key}/{rest[0]['seq']}", "first_seq": rest[0]["seq"],
                            "count": len(rest), "samples": rest})
        log.info("%d bucket documents were already stored (a resend); %d carry new samples", len(clashing), len(out))
        return out
