"""Event contracts: one marshmallow schema per event type, and the catalogue.

Every payload carries ``event_id``, ``commune_id``, ``occurred_at`` and
``schema_version``. Events are published on ``<source>.events`` with the event
type as routing key (nameko's layout), so plain ``@event_handler`` methods and
kombu consumers both receive them. ``docs/events.md`` is the human catalogue;
``CATALOGUE`` here is the machine one, and a test keeps the two in step.
"""
import uuid
from dataclasses import dataclass

from marshmallow import Schema, fields, validate, ValidationError, RAISE

from shared.errors import InvalidInput, validation_message
from shared.timeutil import iso


class EventSchema(Schema):
    """The envelope fields every event payload has."""

    class Meta:
        unknown = RAISE

    event_id = fields.String(required=True, validate=validate.Length(min=8, max=64))
    commune_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    occurred_at = fields.String(required=True)
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    actor = fields.String(load_default=None, allow_none=True)


class TaskEvent(EventSchema):
    """What every event about one task of a plan says of it."""

    task_id = fields.String(required=True)
    plan_id = fields.String(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)


class TaskStatusChanged(TaskEvent):
    """tasks → a task's status changed (nhiệm vụ đổi trạng thái)."""

    old_status = fields.String(required=True)
    new_status = fields.String(required=True)


class PlanImported(EventSchema):
    """tasks → a plan was imported or re-imported from its document."""

    plan_id = fields.String(required=True)
    title = fields.String(required=True)
    task_count = fields.Integer(required=True)


class TaskFollowUp(TaskEvent):
    """tasks → an open task is past its due date (task_overdue) or due within
    a week (task_due_soon); announced once per due date."""

    due = fields.String(required=True)


class TaskProgressReported(TaskEvent):
    """tasks → someone reported progress on a task (báo cáo tiến độ)."""

    update_id = fields.String(required=True)
    text = fields.String(required=True)


class DeviceStatusReported(EventSchema):
    """telemetry → a device came online or went offline (presence changed);
    ``volume`` and ``playing`` are from its latest sample."""

    device_id = fields.String(required=True)
    online = fields.Boolean(required=True)
    volume = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=100))
    playing = fields.Boolean(load_default=False)
    reported_at = fields.String(required=True)


class DeviceEvent(EventSchema):
    """What every event about one registered device says of it."""

    device_id = fields.String(required=True)


class DeviceRegistered(DeviceEvent):
    """telemetry → an operator registered a device (thiết bị) in the registry."""

    kind = fields.String(required=True)
    village = fields.String(load_default=None, allow_none=True)
    transport = fields.String(required=True)


class DeviceProvisioned(DeviceEvent):
    """telemetry → a device received a credential (provisioning, rotation,
    or an MQTT credential issued by an operator)."""

    credential_id = fields.String(required=True)
    transport = fields.String(required=True)
    how = fields.String(required=True, validate=validate.OneOf(("provisioning_code", "rotation", "operator")))


class CredentialRevoked(DeviceEvent):
    """telemetry → a device credential stopped working; edges end its streams."""

    credential_id = fields.String(required=True)
    reason = fields.String(load_default="", allow_none=True)


class AlarmEvent(DeviceEvent):
    """telemetry → an alarm (cảnh báo) was raised, repeated, acknowledged or cleared."""

    alarm_id = fields.String(required=True)
    rule = fields.String(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(("critical", "major", "minor", "warning")))
    status = fields.String(required=True, validate=validate.OneOf(("open", "acknowledged", "cleared")))
    message = fields.String(required=True)
    village = fields.String(load_default=None, allow_none=True)
    occurrences = fields.Integer(required=True)


class UptimeReported(EventSchema):
    """telemetry → the share of time the commune's devices were online over a
    period (a local day), per village and for the commune."""

    start = fields.String(required=True)
    end = fields.String(required=True)
    date = fields.String(required=True)
    devices = fields.Integer(required=True)
    uptime = fields.Float(load_default=None, allow_none=True)
    villages = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)


ANSWERS_PER_EVENT = 5000


class _Item(Schema):
    """One entry of a batch event's list: strict, no envelope."""

    class Meta:
        unknown = RAISE


class CommandAck(_Item):
    """A device's answer to a command (``shared.devicelink``)."""

    device_id = fields.String(required=True)
    command_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("accepted", "rejected", "completed")))
    message = fields.String(load_default="")
    at = fields.String(required=True)


class PlayReport(_Item):
    """Proof of play (bằng chứng phát): a device played something from
    ``started_at`` to ``ended_at`` (true times, even if reported late)."""

    device_id = fields.String(required=True)
    report_id = fields.String(required=True)
    command_id = fields.String(load_default="")
    content_id = fields.String(load_default="")
    title = fields.String(load_default="")
    slot_id = fields.String(load_default="")
    started_at = fields.String(required=True)
    ended_at = fields.String(required=True)
    completed = fields.Boolean(required=True)


class CommandsAcknowledged(EventSchema):
    """telemetry (DeviceLink edge) → devices of the commune answered commands;
    one event per commune and flush of the edge."""

    acks = fields.List(fields.Nested(CommandAck), required=True,
                       validate=validate.Length(min=1, max=ANSWERS_PER_EVENT))


class PlaysReported(EventSchema):
    """telemetry (DeviceLink edge) → devices of the commune reported plays;
    one event per commune and flush of the edge."""

    reports = fields.List(fields.Nested(PlayReport), required=True,
                          validate=validate.Length(min=1, max=ANSWERS_PER_EVENT))


class ContentItemEvent(EventSchema):
    """What every event about one content item (tin, bài, bản tin…) says of it."""

    item_id = fields.String(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True)
    title = fields.String(required=True)


class ContentItemPublished(ContentItemEvent):
    """content → an approved revision went out on its channels (xuất bản)."""

    section_id = fields.String(required=True)
    section_name = fields.String(required=True)
    slug = fields.String(required=True)
    channels = fields.List(fields.String(), required=True)
    has_audio = fields.Boolean(required=True)
    audio_media_id = fields.String(load_default=None, allow_none=True)
    published_at = fields.String(required=True)
    first_publication = fields.Boolean(required=True)


class ContentItemReviewed(ContentItemEvent):
    """content → an approver approved (item_approved) or returned
    (item_returned) a revision, with a comment."""

    comment = fields.String(load_default="")


class ContentItemArchived(ContentItemEvent):
    """content → an item was archived (lưu trữ) and taken off every channel."""

    was_live = fields.Boolean(required=True)
    channels = fields.List(fields.String(), required=True)


class ContentAudioRequested(EventSchema):
    """content → text-to-speech of a revision was asked for (the job the
    content service's own worker picks up)."""

    item_id = fields.String(required=True)
    job_id = fields.String(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))


class ContentAudioRendered(EventSchema):
    """content → an item's audio is ready: spoken by the TTS engine or an
    uploaded recording, encoded for the devices."""

    item_id = fields.String(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    media_id = fields.String(required=True)
    format = fields.String(required=True)
    duration_seconds = fields.Float(required=True)
    size = fields.Integer(required=True)
    engine = fields.String(required=True)
    origin = fields.String(required=True, validate=validate.OneOf(("tts", "upload")))


class ContentSpeechRendered(EventSchema):
    """content → the speech a broadcast asked for (``broadcast.speech_requested``)
    is ready at its public address, or could not be made (``state: failed``)."""

    reference = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(("ready", "failed")))
    media_id = fields.String(load_default=None, allow_none=True)
    format = fields.String(load_default=None, allow_none=True)
    duration_seconds = fields.Float(load_default=None, allow_none=True)
    engine = fields.String(load_default=None, allow_none=True)
    error = fields.String(load_default="")


class BroadcastEvent(EventSchema):
    """What every event about one broadcast (lượt phát, bản tin) says of it."""

    broadcast_id = fields.String(required=True)
    title = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(("normal", "priority", "emergency")))


class BroadcastCreated(BroadcastEvent):
    """broadcast → a broadcast was created by the commune, received from the
    source system or a CAP alert (or changed by a CAP Update)."""

    origin = fields.String(required=True, validate=validate.OneOf(("commune", "province", "central", "cap")))
    state = fields.String(required=True)
    device_count = fields.Integer(required=True)


class BroadcastSpeechRequested(BroadcastEvent):
    """broadcast → a broadcast of text for loudspeakers (the commune's own,
    a bulletin without audio, a CAP alert) needs it spoken: the content
    service renders ``text`` and serves it at ``/p/<commune>/speech/<reference>``."""

    reference = fields.String(required=True, validate=validate.Length(min=1, max=128))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class BroadcastEscalated(BroadcastEvent):
    """broadcast → too few devices acknowledged a broadcast in time."""

    acknowledged = fields.Integer(required=True)
    total = fields.Integer(required=True)
    share = fields.Float(required=True)


class BroadcastCancelled(BroadcastEvent):
    """broadcast → a broadcast was cancelled (by an operator or a CAP Cancel)."""

    reason = fields.String(load_default="")


class BroadcastHoursReported(EventSchema):
    """broadcast → the broadcast hours of one Vietnamese day (device hours,
    per village and for the commune), again whenever late reports change them."""

    date = fields.String(required=True)
    hours = fields.Float(required=True)
    villages = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    device_count = fields.Integer(required=True)
    plays = fields.Integer(required=True)


class VillageCount(Schema):
    village = fields.String(required=True)
    name = fields.String(required=True)
    target = fields.Integer(required=True)
    in_place = fields.Integer(required=True)
    on_leave = fields.Integer(required=True)
    vacancies = fields.Integer(required=True)


class RosterCounted(EventSchema):
    """training → communicators (tuyên truyền viên cơ sở) in place against the
    commune's target, per village, after every roster change."""

    villages = fields.List(fields.Nested(VillageCount), required=True)
    target = fields.Integer(required=True)
    in_place = fields.Integer(required=True)
    on_leave = fields.Integer(required=True)
    vacancies = fields.Integer(required=True)
    villages_short = fields.Integer(required=True)
    counted_at = fields.String(required=True)


class EnrolmentPromoted(EventSchema):
    """training → a place freed in a course went to the first of its waiting list."""

    enrolment_id = fields.String(required=True)
    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    person_id = fields.String(required=True)
    full_name = fields.String(required=True)
    freed_by = fields.String(required=True, validate=validate.OneOf(("cancellation", "session")))


class TrainedPerson(Schema):
    person_id = fields.String(required=True)
    village = fields.String(allow_none=True, load_default=None)


TOPICS = ("radio_operation", "content_production", "oral_propaganda", "foreign_information", "other")


class CompletionsRecorded(EventSchema):
    """training → people completed a course (closed by a trainer, or an online
    course of the Ministry imported)."""

    course_id = fields.String(required=True)
    course_title = fields.String(required=True)
    topics = fields.List(fields.String(validate=validate.OneOf(TOPICS)), required=True, validate=validate.Length(min=1))
    source = fields.String(required=True, validate=validate.OneOf(("course", "online")))
    completed_on = fields.String(required=True)
    people = fields.List(fields.Nested(TrainedPerson), required=True, validate=validate.Length(min=1, max=5000))


@dataclass(frozen=True)
class EventType:
    source: str
    name: str
    version: int
    schema: type
    consumers: tuple


CATALOGUE = {
    (e.source, e.name): e
    for e in (
        EventType("tasks", "task_status_changed", 1, TaskStatusChanged, ("gateway", "sync")),
        EventType("tasks", "plan_imported", 1, PlanImported, ("gateway", "sync")),
        EventType("tasks", "task_overdue", 1, TaskFollowUp, ("gateway",)),
        EventType("tasks", "task_due_soon", 1, TaskFollowUp, ("gateway",)),
        EventType("tasks", "task_progress_reported", 1, TaskProgressReported, ("gateway", "sync")),
        EventType("telemetry", "device_status_reported", 1, DeviceStatusReported, ("tasks", "gateway", "sync")),
        EventType("telemetry", "device_registered", 1, DeviceRegistered, ("gateway", "sync")),
        EventType("telemetry", "device_provisioned", 1, DeviceProvisioned, ("gateway",)),
        EventType("telemetry", "credential_revoked", 1, CredentialRevoked, ("telemetry-edge", "gateway")),
        EventType("telemetry", "alarm_raised", 1, AlarmEvent, ("gateway",)),
        EventType("telemetry", "alarm_repeated", 1, AlarmEvent, ("gateway",)),
        EventType("telemetry", "alarm_acknowledged", 1, AlarmEvent, ("gateway",)),
        EventType("telemetry", "alarm_cleared", 1, AlarmEvent, ("gateway",)),
        EventType("telemetry", "uptime_reported", 1, UptimeReported, ("tasks", "sync")),
        EventType("telemetry", "commands_acknowledged", 1, CommandsAcknowledged, ("broadcast",)),
        EventType("telemetry", "plays_reported", 1, PlaysReported, ("broadcast",)),
        EventType("content", "item_approved", 1, ContentItemReviewed, ("gateway",)),
        EventType("content", "item_returned", 1, ContentItemReviewed, ("gateway",)),
        EventType("content", "item_published", 1, ContentItemPublished, ("gateway", "tasks", "sync")),
        EventType("content", "item_archived", 1, ContentItemArchived, ("gateway", "sync")),
        EventType("content", "audio_requested", 1, ContentAudioRequested, ("content",)),
        EventType("content", "audio_rendered", 1, ContentAudioRendered, ("gateway",)),
        EventType("content", "speech_rendered", 1, ContentSpeechRendered, ("broadcast",)),
        EventType("broadcast", "broadcast_created", 1, BroadcastCreated, ("gateway", "sync")),
        EventType("broadcast", "speech_requested", 1, BroadcastSpeechRequested, ("content",)),
        EventType("broadcast", "broadcast_escalated", 1, BroadcastEscalated, ("gateway",)),
        EventType("broadcast", "broadcast_cancelled", 1, BroadcastCancelled, ("gateway",)),
        EventType("broadcast", "hours_reported", 1, BroadcastHoursReported, ("tasks", "sync")),
        EventType("training", "roster_counted", 1, RosterCounted, ("tasks", "sync")),
        EventType("training", "enrolment_promoted", 1, EnrolmentPromoted, ("gateway",)),
        EventType("training", "completions_recorded", 1, CompletionsRecorded, ("tasks", "gateway", "sync")),
    )
}


def event_type(source, name):
    try:
        return CATALOGUE[(source, name)]
    except KeyError:
        raise KeyError(f"event {source}.{name} is not in the catalogue (shared/events.py)") from None


def make_event(source, name, commune_id, /, actor=None, **payload):
    """Build and validate a new event payload; raises InvalidInput if it does not fit."""
    spec = event_type(source, name)
    body = dict(
        payload,
        event_id=uuid.uuid4().hex,
        commune_id=commune_id,
        occurred_at=iso(),
        schema_version=spec.version,
        actor=actor,
    )
    return validate_event(source, name, body)


def validate_event(source, name, body):
    spec = event_type(source, name)
    try:
        return spec.schema().load(body)
    except ValidationError as err:
        raise InvalidInput(validation_message(err.messages)) from err


@dataclass(frozen=True)
class Outgoing:
    """An event waiting to be published: where it goes and what it says."""

    source: str
    name: str
    payload: dict

    @property
    def event_id(self):
        return self.payload["event_id"]

    def to_doc(self):
        return {"source": self.source, "name": self.name, "payload": self.payload}

    @classmethod
    def from_doc(cls, doc):
        return cls(doc["source"], doc["name"], doc["payload"])


def outgoing(source, name, commune_id, /, actor=None, **payload):
    return Outgoing(source, name, make_event(source, name, commune_id, actor=actor, **payload))
