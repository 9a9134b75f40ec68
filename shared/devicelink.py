"""Commands to devices: how any service asks a device to do something.

A command is a JSON message (``make_command`` / ``make_fanout_command``)
that the DeviceLink edges write on the devices' streams (as a
``tinxa.devicelink.v1.Command``). It reaches the edges one of two ways:

- **one device**: ``make_command``, published on the topic exchange
  ``tinxa.devicelink.commands`` with routing key ``<commune_id>.<device_id>``
  (``routing_key``). Every edge binds its own queue to the keys of the
  devices connected to it.
- **many devices of one commune** (an emergency broadcast to thousands of
  loudspeakers): ``make_fanout_command``, one message listing
  ``device_ids``, published on the durable *direct* exchange
  ``tinxa.devicelink.fanout`` with routing key ``<commune_id>``
  (``fanout_routing_key``). Every edge with at least one stream of that
  commune binds its queue to the commune, and writes the command to each
  listed device connected to it; listed devices not connected there are
  skipped.

Publish both *mandatory*: a command that no edge takes comes back as
unroutable, and the caller decides what to do — retry later (the broadcast
service does, until the broadcast expires), or, for a fan-out, send
per-device commands. A routed fan-out says only that some edge has a device
of the commune: which listed devices got it, their answers tell. What
devices answer arrives in batches, one event per commune and flush:
``telemetry.commands_acknowledged`` and ``telemetry.plays_reported``.

Used by the telemetry service (an operator's test commands) and the
broadcast service; the edge turns these dicts into protobuf messages.
"""
import re
import uuid
from datetime import timedelta

from marshmallow import Schema, fields, validate, RAISE

from shared.errors import InvalidInput, load
from shared.timeutil import iso, utcnow

COMMANDS_EXCHANGE = "tinxa.devicelink.commands"
FANOUT_EXCHANGE = "tinxa.devicelink.fanout"
KINDS = ("play", "stop", "set_volume", "show_text", "schedule_sync")
PRIORITIES = ("normal", "high", "emergency")
# commune and device ids are routing-key words: no dots, no wildcards
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TTL = timedelta(minutes=10)
MAX_FANOUT_DEVICES = 10_000
BAD_ID = "mã không hợp lệ (chỉ chữ, số, '-' và '_', tối đa 64 ký tự)"


def routing_key(commune_id, device_id):
    """A one-device command's routing key on COMMANDS_EXCHANGE."""
    return f"{commune_id}.{device_id}"


def fanout_routing_key(commune_id):
    """A fan-out command's routing key on FANOUT_EXCHANGE."""
    return commune_id


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class PlaySchema(_Strict):
    content_id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    title = fields.String(load_default="", validate=validate.Length(max=500))
    media_url = fields.String(load_default="", validate=validate.Length(max=2000))
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))
    repeat = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100))
    gap_seconds = fields.Integer(load_default=0, validate=validate.Range(min=0, max=3600))
    duration_seconds = fields.Integer(load_default=0, validate=validate.Range(min=0, max=86400))


class StopSchema(_Strict):
    content_id = fields.String(load_default="", validate=validate.Length(max=128))


class SetVolumeSchema(_Strict):
    volume = fields.Integer(required=True, validate=validate.Range(min=0, max=100))


class ShowTextSchema(_Strict):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    duration_seconds = fields.Integer(load_default=60, validate=validate.Range(min=1, max=86400))


class ScheduleEntrySchema(_Strict):
    slot_id = fields.String(required=True)
    starts_at = fields.String(required=True)
    ends_at = fields.String(required=True)
    content_id = fields.String(required=True)
    title = fields.String(load_default="")
    media_url = fields.String(load_default="")
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES))


class ScheduleSyncSchema(_Strict):
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    entries = fields.List(fields.Nested(ScheduleEntrySchema), load_default=list)


ACTION_SCHEMAS = {
    "play": PlaySchema,
    "stop": StopSchema,
    "set_volume": SetVolumeSchema,
    "show_text": ShowTextSchema,
    "schedule_sync": ScheduleSyncSchema,
}


def make_command(commune_id, device_id, kind, params, ttl=DEFAULT_TTL, command_id=None, now=None):
    """A command for one device, validated; raises InvalidInput naming the problem.

    ``params`` are the action's fields (see the schemas above, the same as
    the proto's ``Play``, ``SetVolume``…).
    """
    _check_id("commune_id", commune_id)
    _check_id("device_id", device_id)
    return _command(commune_id, {"device_id": device_id}, kind, params, ttl, command_id, now)


def make_fanout_command(commune_id, device_ids, kind, params, ttl=DEFAULT_TTL, command_id=None, now=None):
    """A command for many devices of one commune (``device_ids``: 1 to
    10,000 ids, duplicates dropped keeping the order); otherwise as
    ``make_command``, with ``device_ids`` in place of ``device_id``."""
    _check_id("commune_id", commune_id)
    if not isinstance(device_ids, (list, tuple)):
        raise InvalidInput("device_ids: phải là danh sách mã thiết bị.")
    for device_id in device_ids:
        if not isinstance(device_id, str) or not ID_PATTERN.match(device_id):
            raise InvalidInput(f"device_ids: {BAD_ID}: {str(device_id)[:70]!r}.")
    listed = list(dict.fromkeys(device_ids))
    if not 1 <= len(listed) <= MAX_FANOUT_DEVICES:
        raise InvalidInput(f"device_ids: cần từ 1 đến {MAX_FANOUT_DEVICES} thiết bị (nhận {len(listed)}).")
    return _command(commune_id, {"device_ids": listed}, kind, params, ttl, command_id, now)


def _check_id(label, value):
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidInput(f"{label}: {BAD_ID}.")


def _command(commune_id, address, kind, params, ttl, command_id, now):
    if kind not in ACTION_SCHEMAS:
        raise InvalidInput(f"kind: lệnh không được hỗ trợ ({kind!r}); chọn một trong {', '.join(KINDS)}.")
    action = load(ACTION_SCHEMAS[kind], params or {})
    issued = now or utcnow()
    return {
        "command_id": command_id or uuid.uuid4().hex,
        "commune_id": commune_id,
        **address,
        "kind": kind,
        "params": action,
        "issued_at": iso(issued),
        "expires_at": iso(issued + ttl),
    }
