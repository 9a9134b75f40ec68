"""The hub side's database (``sync_hub``, API.md): the only code touching it.

Blocking pymongo: the hub process calls it from its thread pool,
``hub_admin`` directly.

Collections:
- ``communes``: ``_id`` the commune id, ``name``, ``token_sha256`` (unique;
  the token itself is shown once and never stored), ``created_at``,
  ``token_issued_at``, ``last_contact``, ``agent_version``;
- ``up``: up records as applied, ``key`` = ``<commune>/<stream>/<seq>``
  unique (a record is applied once), plus ``commune_id`` and ``applied_at``;
- ``down``: down records for the communes, the same ``key`` unique;
- ``down_heads``: per commune, ``changes`` (bumped after every send) — what
  the hub watches to wake the commune's open Pull;
- ``down_acks``: per commune and stream, ``acknowledged_seq`` (only moves
  forward) and when.

Positions are the highest seq stored (see ``store.py``).
"""
import hashlib
import re
import secrets

from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.sync.records import DOWN_STREAMS, UP_STREAMS, key
from services.sync.store import append_gapless, inserted_before_duplicate, position_of, records_after
from shared.errors import Conflict, InvalidInput, NotFound
from shared.timeutil import iso, parse_iso, utcnow

COMMUNE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def token_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _prefix(commune_id, stream):
    return f"{commune_id}/{stream}"


class HubStore:
    def __init__(self, database):
        self._db = database
        self._communes = database["communes"]
        self._up = database["up"]
        self._down = database["down"]
        self._heads = database["down_heads"]
        self._acks = database["down_acks"]

    def create_indexes(self):
        self._communes.create_index("token_sha256", unique=True)
        self._up.create_index("key", unique=True)
        self._down.create_index("key", unique=True)

    def ping(self):
        self._db.client.admin.command("ping")

    # communes -------------------------------------------------------------

    def add_commune(self, commune_id, name):
        """Register a commune; returns its token (shown once, stored as a digest)."""
        if not COMMUNE_ID.match(commune_id or ""):
            raise InvalidInput("Mã xã chỉ gồm chữ thường không dấu, số và dấu gạch ngang (vd. xuan-hung), "
                               "tối đa 63 ký tự.")
        if not (name or "").strip():
            raise InvalidInput("Tên xã không được để trống.")
        token = secrets.token_urlsafe(32)
        now = iso()
        try:
            self._communes.insert_one({"_id": commune_id, "name": name.strip(), "token_sha256": token_digest(token),
                                       "created_at": now, "token_issued_at": now, "last_contact": None,
                                       "agent_version": None})
        except DuplicateKeyError as err:
            raise Conflict(f"Xã «{commune_id}» đã có trong danh sách của trạm tỉnh.") from err
        return token

    def rotate_token(self, commune_id):
        """A new token for the commune; the old one stops working."""
        token = secrets.token_urlsafe(32)
        result = self._communes.update_one({"_id": commune_id}, {"$set": {"token_sha256": token_digest(token),
                                                                          "token_issued_at": iso()}})
        if not result.matched_count:
            raise NotFound(f"Không có xã «{commune_id}» trong danh sách của trạm tỉnh.")
        return token

    def commune_of_token(self, token):
        """The commune id ``token`` belongs to, or None."""
        doc = self._communes.find_one({"token_sha256": token_digest(token)}, {"_id": 1})
        return doc["_id"] if doc else None

    def commune(self, commune_id):
        return self._communes.find_one({"_id": commune_id})

    def seen(self, commune_id, agent_version=None):
        """The commune's agent was heard from now."""
        fields = {"last_contact": iso()}
        if agent_version:
            fields["agent_version"] = agent_version[:100]
        self._communes.update_one({"_id": commune_id}, {"$set": fields})

    def communes(self):
        """Every commune with its link and streams, for ``hub_admin communes``:
        up positions; per down stream the position, what the agent
        acknowledged, the backlog and the age in seconds of the oldest record
        not acknowledged (``lag_seconds``)."""
        now = utcnow()
        listed = []
        for doc in self._communes.find().sort("_id"):
            commune_id = doc["_id"]
            acknowledged = self.down_acknowledged(commune_id)
            down = []
            for stream in DOWN_STREAMS:
                position = self.down_position(commune_id, stream)
                acked = acknowledged.get(stream, 0)
                oldest = self.down_after(commune_id, stream, acked, 1)
                lag = (now - parse_iso(oldest[0]["recorded_at"])).total_seconds() if oldest else 0.0
                down.append({"stream": stream, "sent": position, "acknowledged": acked,
                             "backlog": position - acked, "lag_seconds": round(lag, 1)})
            listed.append({"commune_id": commune_id, "name": doc.get("name"),
                           "last_contact": doc.get("last_contact"), "agent_version": doc.get("agent_version"),
                           "up": [{"stream": stream, "applied": seq}
                                  for stream, seq in self.up_positions(commune_id).items()],
                           "down": down})
        return listed

    # up records -----------------------------------------------------------

    def up_position(self, commune_id, stream):
        return position_of(self._up, _prefix(commune_id, stream))

    def up_positions(self, commune_id):
        """``{stream: highest seq applied}`` for every up stream (0 if none)."""
        return {stream: self.up_position(commune_id, stream) for stream in UP_STREAMS}

    def apply_up(self, commune_id, stream, records):
        """Store ``records`` (contiguous, continuing the position, in order)
        with one ordered insert_many; returns the stream's position after.
        A concurrent apply of the same records stops this one at the first
        duplicate: the position is then read again."""
        prefix = _prefix(commune_id, stream)
        applied_at = iso()
        docs = [{**record, "key": key(prefix, record["seq"]), "commune_id": commune_id, "applied_at": applied_at}
                for record in records]
        try:
            self._up.insert_many(docs, ordered=True)
        except BulkWriteError as err:
            inserted_before_duplicate(err)
            return self.up_position(commune_id, stream)
        return records[-1]["seq"] if records else self.up_position(commune_id, stream)

    def up_after(self, commune_id, stream, seq, limit):
        return records_after(self._up, _prefix(commune_id, stream), seq, limit)

    # down records ---------------------------------------------------------

    def send(self, commune_id, stream, kind, body):
        """Append a down record for the commune; returns its seq."""
        return self.send_many(commune_id, stream, kind, [body])[0]

    def send_many(self, commune_id, stream, kind, bodies):
        """Append down records of one kind, in order; returns their seqs."""
        if stream not in DOWN_STREAMS:
            raise InvalidInput(f"Luồng «{stream}» không phải luồng gửi xuống xã "
                               f"(chỉ có: {', '.join(DOWN_STREAMS)}).")
        if self.commune(commune_id) is None:
            raise NotFound(f"Không có xã «{commune_id}» trong danh sách của trạm tỉnh.")
        recorded_at = iso()
        seqs = append_gapless(self._down, _prefix(commune_id, stream),
                              [{"commune_id": commune_id, "stream": stream, "kind": kind, "body": body,
                                "recorded_at": recorded_at} for body in bodies])
        self._heads.update_one({"_id": commune_id}, {"$inc": {"changes": 1}}, upsert=True)
        return seqs

    def down_position(self, commune_id, stream):
        return position_of(self._down, _prefix(commune_id, stream))

    def down_after(self, commune_id, stream, seq, limit):
        return records_after(self._down, _prefix(commune_id, stream), seq, limit)

    def down_heads(self):
        """``{commune_id: changes}``: a commune whose number moved has new down records."""
        return {doc["_id"]: doc.get("changes", 0) for doc in self._heads.find()}

    def acknowledge(self, commune_id, positions):
        """The agent applied down records up to ``positions`` (``{stream: seq}``)."""
        now = iso()
        for stream, seq in positions.items():
            self._acks.update_one({"_id": _prefix(commune_id, stream)},
                                  {"$max": {"acknowledged_seq": seq},
                                   "$set": {"commune_id": commune_id, "stream": stream, "at": now}},
                                  upsert=True)

    def down_acknowledged(self, commune_id):
        """``{stream: acknowledged seq}`` of the commune's down streams (0 if none)."""
        found = {stream: 0 for stream in DOWN_STREAMS}
        for stream in DOWN_STREAMS:
            doc = self._acks.find_one({"_id": _prefix(commune_id, stream)})
            if doc:
                found[stream] = int(doc.get("acknowledged_seq") or 0)
        return found

