"""Records of the ProvinceSync streams (API.md "Streams and records"), as the
stores keep them and as the wire carries them. Pure: no I/O.

A record is a dict ``{stream, seq, kind, body, recorded_at}``: ``body`` a
JSON object (a dict), ``recorded_at`` an ISO string (``shared.timeutil``).
On the wire it is a ``tinxa.sync.v1.Record`` (body as UTF-8 JSON bytes,
``recorded_at`` a Timestamp).
"""
import json
from datetime import timezone

from google.protobuf.timestamp_pb2 import Timestamp

from shared.timeutil import iso, parse_iso
from tinxa.sync.v1 import province_sync_pb2 as pb

# commune → province, filled by the nameko sync service from these events
UP_KINDS = {
    "content": ("content.item_published", "content.item_archived"),
    "broadcast_stats": ("broadcast.hours_reported", "broadcast.broadcast_created"),
    "devices": ("telemetry.device_registered", "telemetry.device_status_reported", "telemetry.uptime_reported"),
    "tasks": ("tasks.task_status_changed", "tasks.task_progress_reported", "tasks.plan_imported"),
    "training": ("training.roster_counted", "training.completions_recorded"),
}
UP_STREAMS = tuple(UP_KINDS)
# province → commune, in the order the hub serves them: emergency first
DOWN_KINDS = {"emergency": "bulletin", "bulletins": "bulletin", "directives": "directive", "courses": "course"}
DOWN_STREAMS = tuple(DOWN_KINDS)
EMERGENCY = "emergency"

# keys hold the seq zero-padded to 12 digits, so that they sort as the seqs do
MAX_SEQ = 10**12 - 1
MAX_KIND_LENGTH = 200
FIELDS = ("stream", "seq", "kind", "body", "recorded_at")


class BadRecord(ValueError):
    """A record that cannot be applied anywhere (unknown stream, seq out of
    range, body not a JSON object); the message names the stream and seq."""


class Gap(Exception):
    """A batch does not continue the stream: ``expected`` is the seq the
    receiving side needs next, ``got`` the one it was offered instead."""

    def __init__(self, stream, expected, got):
        super().__init__(f"stream {stream}: expected seq {expected}, got seq {got}")
        self.stream = stream
        self.expected = expected
        self.got = got


def applicable(batch, position):
    """The records of ``batch`` (one stream's, in the order sent) to apply
    on a side whose checkpoint is ``position``: those after it, which must
    follow it without a gap. Records at or below the position, and repeats
    within the batch, are skipped (applying them again would change nothing);
    a record beyond the next expected seq raises ``Gap``."""
    expected = position + 1
    fresh = []
    for record in batch:
        seq = record["seq"]
        if seq < expected:
            continue
        if seq > expected:
            raise Gap(record["stream"], expected, seq)
        fresh.append(record)
        expected += 1
    return fresh


def by_stream(records):
    """``records`` grouped by stream, each group in the order given."""
    groups = {}
    for record in records:
        groups.setdefault(record["stream"], []).append(record)
    return groups


def key(prefix, seq):
    """The unique, sortable storage key of record ``seq`` of the stream
    named by ``prefix`` (``stream`` at the agent, ``commune/stream`` at the hub)."""
    return f"{prefix}/{seq:012d}"


def key_range(prefix, after=0):
    """A query on ``key`` for the stream's records after seq ``after``
    ('0' is the character after '/')."""
    return {"$gt": key(prefix, after) if after else f"{prefix}/", "$lt": f"{prefix}0"}


def encode_body(body):
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_body(data, stream="?", seq="?"):
    try:
        body = json.loads(data.decode("utf-8")) if data else None
    except (UnicodeDecodeError, ValueError) as err:
        raise BadRecord(f"stream {stream} seq {seq}: body is not UTF-8 JSON ({err})") from err
    if not isinstance(body, dict):
        raise BadRecord(f"stream {stream} seq {seq}: body must be a JSON object")
    return body


def timestamp(text):
    moment = parse_iso(text)
    seconds = int(moment.timestamp())
    return Timestamp(seconds=seconds, nanos=moment.microsecond * 1000)


def iso_of(stamp):
    return iso(stamp.ToDatetime(tzinfo=timezone.utc))


def to_proto(record):
    message = pb.Record(stream=record["stream"], seq=record["seq"], kind=record["kind"],
                        body=encode_body(record["body"]))
    if record.get("recorded_at"):
        message.recorded_at.CopyFrom(timestamp(record["recorded_at"]))
    return message


def from_proto(message, streams):
    """The record dict of a wire Record of one of ``streams``; BadRecord if
    it cannot be a record of them. A record without ``recorded_at`` gets None."""
    stream, seq = message.stream, message.seq
    if stream not in streams:
        raise BadRecord(f"stream {stream!r} seq {seq}: unknown stream (expected one of {', '.join(streams)})")
    if not 1 <= seq <= MAX_SEQ:
        raise BadRecord(f"stream {stream} seq {seq}: seq must be between 1 and {MAX_SEQ}")
    if not message.kind or len(message.kind) > MAX_KIND_LENGTH:
        raise BadRecord(f"stream {stream} seq {seq}: kind must be 1 to {MAX_KIND_LENGTH} characters")
    recorded_at = iso_of(message.recorded_at) if message.HasField("recorded_at") else None
    return {"stream": stream, "seq": seq, "kind": message.kind, "body": decode_body(message.body, stream, seq),
            "recorded_at": recorded_at}


def positions_to_proto(positions):
    """``{stream: seq}`` as StreamPositions, in stream-name order."""
    return [pb.StreamPosition(stream=stream, seq=seq) for stream, seq in sorted(positions.items())]


def positions_from_proto(messages):
    return {message.stream: message.seq for message in messages}
