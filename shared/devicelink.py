"""Commands to devices: how any service asks a device to do something.

A command is a JSON message published on the topic exchange
``tinxa.devicelink.commands`` with routing key ``<commune_id>.<device_id>``.
Every DeviceLink edge binds its own queue to the keys of the devices
connected to it and writes the command on the device's stream (as a
``tinxa.devicelink.v1.Command``). The publish is *mandatory*: a command that
no edge takes (the device is not connected) comes back as unroutable, and
the caller decides whether to retry (the broadcast service does, until the
broadcast expires). What the device answers arrives as the events
``telemetry.command_acknowledged`` and ``telemetry.play_reported``.

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
KINDS = ("play", "stop", "set_volume", "show_text", "schedule_sync")
PRIORITIES = ("normal", "high", "emergency")
# commune and device ids are routing-key words: no dots, no wildcards
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TTL = timedelta(minutes=10)


def routing_key(commune_id, device_id):
    return f"{commune_id}.{device_id}"


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
    """A command message, validated; raises InvalidInput naming the problem.

    ``params`` are the action's fields (see the schemas above, the same as
    the proto's ``Play``, ``SetVolume``…).
    """
    for label, value in (("commune_id", commune_id), ("device_id", device_id)):
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise InvalidInput(f"{label}: mã không hợp lệ (chỉ chữ, số, '-' và '_', tối đa 64 ký tự).")
    if kind not in ACTION_SCHEMAS:
        raise InvalidInput(f"kind: lệnh không được hỗ trợ ({kind!r}); chọn một trong {', '.join(KINDS)}.")
    action = load(ACTION_SCHEMAS[kind], params or {})
    issued = now or utcnow()
    return {
        "command_id": command_id or uuid.uuid4().hex,
        "commune_id": commune_id,
        "device_id": device_id,
        "kind": kind,
        "params": action,
        "issued_at": iso(issued),
        "expires_at": iso(issued + ttl),
    }
