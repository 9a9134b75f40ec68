"""marshmallow schemas at the gateway's boundary: HTTP bodies and queries,
and the RPC arguments of the district tools. Unknown fields are refused, so a
misspelt field is an error rather than silently ignored."""
import unicodedata
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from shared.context import ROLES
from shared.timeutil import iso

from services.gateway.i18n import LANGUAGES

SLUG = validate.Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    error="Chỉ dùng chữ thường không dấu, số và dấu gạch ngang (ví dụ: xuan-hung).",
)
USERNAME = validate.Regexp(
    r"^[a-z0-9][a-z0-9._-]{2,63}$",
    error="Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, số, dấu chấm, gạch dưới, gạch ngang.",
)
ROLE = validate.OneOf(ROLES, error="Vai trò không hợp lệ; chọn trong: {choices}.")


def _text(max_length, **kwargs):
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def _roles():
    return fields.List(
        fields.String(validate=ROLE), required=True,
        validate=validate.Length(min=1, error="Cần ít nhất một vai trò."),
    )


def _commune_id():
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


def _agency_id(**kwargs):
    """Which office of the commune a user works in (checked against the commune's agencies)."""
    return fields.String(allow_none=True, validate=[validate.Length(max=64), SLUG], **kwargs)


def _required_text(max_length, missing):
    """Text a person must write; ``missing`` says so in Vietnamese."""
    return fields.String(required=True, validate=validate.Length(min=1, max=max_length, error=missing),
                         error_messages={"required": missing, "null": missing})


def _plan_id():
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class IsoDate(fields.Date):
    """A calendar date (YYYY-MM-DD), loaded as its ISO string: dates travel as strings."""

    default_error_messages = {"invalid": "Ngày không hợp lệ (dạng năm-tháng-ngày, ví dụ 2026-12-31)."}

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).isoformat()


class Strict(Schema):
    class Meta:
        unknown = RAISE


class _Username(Strict):
    """Usernames compare case-insensitively and in NFC."""

    @pre_load
    def normalise_username(self, data, **kwargs):
        if isinstance(data.get("username"), str):
            data = dict(data, username=unicodedata.normalize("NFC", data["username"]).strip().lower())
        return data


class LoginSchema(_Username):
    username = _text(64, required=True)
    password = _text(256, required=True)


class CreateUserSchema(_Username):
    username = fields.String(required=True, validate=USERNAME)
    display_name = _text(120, required=True)
    password = fields.String(
        required=True, validate=validate.Length(min=10, max=256, error="Mật khẩu cần từ {min} đến {max} ký tự."),
    )
    roles = _roles()
    commune_id = _commune_id()
    agency_id = _agency_id(load_default=None)
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


class EnsureUserSchema(_Username):
    """A district tool's account description (no password: one is generated).
    ``agency_id`` left out keeps an existing account's office; null clears it."""

    username = fields.String(required=True, validate=USERNAME)
    display_name = _text(120, required=True)
    roles = _roles()
    commune_id = _commune_id()
    agency_id = _agency_id()
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))
    active = fields.Boolean(load_default=True)


class UserQuerySchema(Strict):
    agency_id = fields.String(load_default=None, validate=validate.Length(max=64))
    commune_id = _commune_id()


class VillageSchema(Strict):
    """A village (thôn, xóm, tổ dân phố): later a broadcast zone."""

    id = fields.String(required=True, validate=[validate.Length(max=64), SLUG])
    name = _text(120, required=True)


class AgencySchema(Strict):
    """An agency (cơ quan) as plans name it; aliases are the other spellings
    found in documents ("Phòng Văn hoá – Xã hội" for "Phòng Văn hóa – Xã hội")."""

    id = fields.String(required=True, validate=[validate.Length(max=64), SLUG])
    name = _text(200, required=True)
    aliases = fields.List(_text(200), load_default=list)


def _unique_ids(items, field_name):
    ids = [item["id"] for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValidationError(f"Mã bị trùng: {', '.join(duplicates)}.", field_name)


class CommuneSchema(Strict):
    """A commune (xã), the tenant: its id is a readable slug."""

    id = fields.String(required=True, validate=[validate.Length(max=64), SLUG])
    name = _text(120, required=True)
    province = _text(120, required=True)
    villages = fields.List(fields.Nested(VillageSchema), load_default=list)
    agencies = fields.List(fields.Nested(AgencySchema), load_default=list)

    @validates_schema
    def ids_are_unique(self, data, **kwargs):
        _unique_ids(data.get("villages", []), "villages")
        _unique_ids(data.get("agencies", []), "agencies")


class CreateApiKeySchema(Strict):
    name = _text(120, required=True)
    roles = _roles()
    commune_id = _commune_id()


class ImportPlanSchema(Strict):
    """A plan sent as JSON: its text. ``plan_id`` re-imports into that plan."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=2_000_000))
    source_name = fields.String(load_default="", validate=validate.Length(max=200))
    plan_id = _plan_id()
    commune_id = _commune_id()


class ImportPlanFormSchema(Strict):
    """The fields beside the ``file`` of a multipart import; pasted ``text``
    may come instead of the file (the console's form offers both)."""

    text = fields.String(load_default=None, validate=validate.Length(min=1, max=2_000_000))
    source_name = fields.String(load_default="", validate=validate.Length(max=200))
    plan_id = _plan_id()
    commune_id = _commune_id()


class ApplyImportFormSchema(Strict):
    """The console's "apply" form: the previewed content, carried back as
    base64 (a .docx, or the text, whose line breaks a form would rewrite)."""

    content_kind = fields.String(required=True, validate=validate.OneOf(("text", "docx")))
    content_b64 = fields.String(required=True, validate=validate.Length(min=1, max=15_000_000))
    source_name = fields.String(load_default="", validate=validate.Length(max=200))
    plan_id = _plan_id()


class StatusChangeSchema(Strict):
    """The tasks service checks the status itself; the gateway only shapes it."""

    status = _text(32, required=True)
    note = fields.String(validate=validate.Length(max=2000))
    commune_id = _commune_id()


class GuidanceSchema(Strict):
    """The outside guidance a conditional task waited for has arrived."""

    received_on = IsoDate(required=True, error_messages={"required": "Hãy nhập ngày nhận được hướng dẫn."})
    due = IsoDate(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    commune_id = _commune_id()


class ProgressUpdateSchema(Strict):
    """A progress report's text and links; its files come as multipart parts."""

    text = _required_text(5000, "Hãy viết nội dung báo cáo tiến độ (tối đa 5000 ký tự).")
    links = fields.List(
        fields.Url(schemes={"http", "https"}, error_messages={
            "invalid": "Liên kết phải là địa chỉ web đầy đủ, bắt đầu bằng http:// hoặc https://."}),
        load_default=list, validate=validate.Length(max=10, error="Tối đa {max} liên kết mỗi lần cập nhật."),
    )
    commune_id = _commune_id()


class CommentSchema(Strict):
    text = _required_text(2000, "Hãy viết nội dung bình luận (tối đa 2000 ký tự).")
    commune_id = _commune_id()


class AssigneesSchema(Strict):
    """Who carries a task out: accounts of the commune, named by id (the
    gateway supplies their names)."""

    user_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                           validate=validate.Length(max=10, error="Giao cho tối đa {max} người."))
    commune_id = _commune_id()


PERIOD_KINDS = ("quarter", "half_year", "year", "adhoc")
REPORT_FORMATS = ("docx", "xlsx")


class ReportQuerySchema(Strict):
    """A report request: the period (``period``, or its synonym ``kind``;
    ``year`` and ``number`` for quarters and halves, ``start``/``end`` for an
    ad-hoc report), the file format and the document's own fields
    (``doc_number``: the report's number, "Số: …/BC-UBND")."""

    period = fields.String(required=True, validate=validate.OneOf(
        PERIOD_KINDS, error="Kỳ báo cáo phải là một trong: {choices}."),
        error_messages={"required": "Hãy chọn kỳ báo cáo."})
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    number = fields.Integer(load_default=None, validate=validate.Range(min=1, max=4))
    start = IsoDate(load_default=None)
    end = IsoDate(load_default=None)
    format = fields.String(load_default="docx", validate=validate.OneOf(
        REPORT_FORMATS, error="Định dạng báo cáo phải là docx hoặc xlsx."))
    doc_number = fields.String(load_default="", validate=validate.Length(max=50))
    proposals = fields.String(load_default="", validate=validate.Length(max=10000))
    signer_name = fields.String(load_default="", validate=validate.Length(max=200))
    commune_id = _commune_id()

    @pre_load
    def kind_is_period(self, data, **kwargs):
        if "kind" in data and "period" not in data:
            data = {("period" if key == "kind" else key): value for key, value in data.items()}
        return data


class IndicatorsQuerySchema(Strict):
    start = IsoDate(load_default=None)
    end = IsoDate(load_default=None)
    commune_id = _commune_id()


class CommuneQuerySchema(Strict):
    commune_id = _commune_id()


class ActivityQuerySchema(Strict):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    commune_id = _commune_id()


# --- content (services/content/API.md): the content service checks values
# (kinds, sections, lengths, links, files); these schemas shape what reaches
# it, refuse unknown fields and say in Vietnamese what a request lacks.

def _required_choice(missing):
    return fields.String(required=True, validate=validate.Length(min=1, max=64, error=missing),
                         error_messages={"required": missing, "null": missing})


def _revision(messages=None, **kwargs):
    return fields.Integer(validate=validate.Range(min=1), error_messages={
        "invalid": "Số bản sửa (revision) phải là số nguyên dương.", **(messages or {})}, **kwargs)


KIND_MISSING = "Hãy chọn loại tin (kind)."
SECTION_MISSING = "Hãy chọn chuyên mục (section_id)."
TITLE_MISSING = "Hãy nhập tiêu đề (title)."
REVISION_MISSING = ("Thiếu số bản sửa đang sửa (revision): nó cho biết bạn sửa trên bản nào, "
                    "để không ghi đè thay đổi của người khác.")


class RebuttalSchema(Strict):
    """What a rebuttal (đính chính) answers: the false information's address and/or the claim."""

    url = fields.String(load_default=None, allow_none=True)
    claim = fields.String(load_default=None, allow_none=True)


class ContentItemSchema(Strict):
    """A new content item as JSON; its images come as multipart parts
    (``ContentItemFormSchema``). Left-out fields take the content service's
    defaults (channels by kind)."""

    kind = _required_choice(KIND_MISSING)
    section_id = _required_choice(SECTION_MISSING)
    title = fields.String(required=True, error_messages={"required": TITLE_MISSING, "null": TITLE_MISSING})
    summary = fields.String()
    body = fields.String()
    channels = fields.List(fields.String())
    rebuttal = fields.Nested(RebuttalSchema, allow_none=True)
    commune_id = _commune_id()


class ContentItemUpdateSchema(Strict):
    """An edit as JSON: ``revision`` is the one the editor edited; only the
    fields given change; ``image_media_ids`` keeps, reorders or removes images."""

    revision = _revision({"required": REVISION_MISSING, "null": REVISION_MISSING}, required=True)
    kind = fields.String()
    section_id = fields.String()
    title = fields.String()
    summary = fields.String()
    body = fields.String()
    channels = fields.List(fields.String())
    rebuttal = fields.Nested(RebuttalSchema, allow_none=True)
    image_media_ids = fields.List(fields.String())
    commune_id = _commune_id()


class ContentItemFormSchema(Strict):
    """A new item as a multipart form: the fields flat (``channels``
    repeated, the rebuttal as ``rebuttal_url``/``rebuttal_claim``), the
    images as ``images`` parts."""

    kind = _required_choice(KIND_MISSING)
    section_id = _required_choice(SECTION_MISSING)
    title = fields.String(required=True, error_messages={"required": TITLE_MISSING})
    summary = fields.String()
    body = fields.String()
    channels = fields.List(fields.String())
    rebuttal_url = fields.String()
    rebuttal_claim = fields.String()
    commune_id = _commune_id()


class ContentItemUpdateFormSchema(Strict):
    """An edit as a multipart form (new images as ``images`` parts)."""

    revision = _revision({"required": REVISION_MISSING}, required=True)
    kind = fields.String()
    section_id = fields.String()
    title = fields.String()
    summary = fields.String()
    body = fields.String()
    channels = fields.List(fields.String())
    rebuttal_url = fields.String()
    rebuttal_claim = fields.String()
    image_media_ids = fields.List(fields.String())
    commune_id = _commune_id()


class SectionSchema(Strict):
    name = fields.String(required=True, error_messages={"required": "Hãy nhập tên chuyên mục (name)."})
    commune_id = _commune_id()


class SectionQuerySchema(Strict):
    include_inactive = fields.Boolean(load_default=False)
    commune_id = _commune_id()


class ContentCommentSchema(Strict):
    """A workflow step with an optional comment (submit, archive)."""

    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    commune_id = _commune_id()


class ApproveSchema(ContentCommentSchema):
    """``revision``: the one the approver read (refused if it changed since)."""

    revision = _revision(load_default=None, allow_none=True)


class ReturnSchema(Strict):
    comment = _required_text(2000, "Hãy ghi lý do trả lại để người viết biết cần sửa gì.")
    commune_id = _commune_id()


class PublishSchema(Strict):
    """``at``: when to publish (ISO 8601 with a time zone); now if left out."""

    at = fields.String(load_default=None, allow_none=True)
    commune_id = _commune_id()


class DiffQuerySchema(Strict):
    from_revision = _revision({"required": "Hãy chọn bản sửa để so sánh (from)."}, required=True, data_key="from")
    to_revision = _revision({"required": "Hãy chọn bản sửa để so sánh (to)."}, required=True, data_key="to")
    commune_id = _commune_id()


class AudioFormSchema(Strict):
    """The fields beside the recording (``file``) of an audio upload."""

    commune_id = _commune_id()


# --- devices and alarms (services/telemetry/API.md): the telemetry service
# checks values (id patterns, kinds, coordinates, roles); these schemas shape
# what reaches it, refuse unknown fields and say in Vietnamese what a request
# lacks. Villages are checked by the gateway, which knows the commune's.

DEVICE_ID_MISSING = "Hãy nhập mã thiết bị (device_id)."
DEVICE_KIND_MISSING = "Hãy chọn loại thiết bị (kind)."
COMMAND_MISSING = "Hãy chọn lệnh gửi tới thiết bị (kind)."
RESOLUTIONS = ("auto", "raw", "hourly")


class IsoTime(fields.String):
    """A moment with its time zone ("2026-04-15T07:30:00+07:00", "…Z"), sent on
    as the UTC ISO string every service uses."""

    default_error_messages = {"invalid": "Thời điểm không hợp lệ: cần ngày giờ ISO 8601 kèm múi giờ "
                                         "(ví dụ 2026-04-15T07:30:00+07:00)."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as err:
            raise self.make_error("invalid") from err
        if moment.tzinfo is None:
            raise self.make_error("invalid")
        try:
            return iso(moment)
        except OverflowError as err:  # no such moment in UTC: year 1 east of Greenwich, year 9999 west
            raise self.make_error("invalid") from err


class _DeviceFields(Strict):
    """A device's registry fields (thiết bị: cụm thu loa, bảng tin điện tử…);
    a village, location or installation date may be cleared with null."""

    name = fields.String(validate=validate.Length(max=200))
    village = fields.String(allow_none=True, validate=validate.Length(max=64))
    lat = fields.Float(allow_none=True, error_messages={"invalid": "Vĩ độ (lat) phải là số, ví dụ 20.2506."})
    lon = fields.Float(allow_none=True, error_messages={"invalid": "Kinh độ (lon) phải là số, ví dụ 105.9745."})
    model = fields.String(validate=validate.Length(max=100))
    firmware = fields.String(validate=validate.Length(max=100))
    installed_on = IsoDate(allow_none=True)
    transport = fields.String(validate=validate.Length(max=16))
    presence_timeout_s = fields.Integer(error_messages={
        "invalid": "Thời gian chờ trước khi coi là mất kết nối (presence_timeout_s) phải là số giây."})
    commune_id = _commune_id()


class DeviceSchema(_DeviceFields):
    """A device to register; left-out fields take the telemetry service's defaults."""

    device_id = _required_choice(DEVICE_ID_MISSING)
    kind = _required_choice(DEVICE_KIND_MISSING)


class DeviceUpdateSchema(_DeviceFields):
    """Changes to a device's registry fields: only those given change; null clears."""

    kind = fields.String(validate=validate.Length(max=32))


class DeviceQuerySchema(Strict):
    village = fields.String(validate=validate.Length(max=64))
    kind = fields.String(validate=validate.Length(max=32))
    presence = fields.String(validate=validate.Length(max=16))
    commune_id = _commune_id()


class DeviceImportSchema(Strict):
    """A CSV of devices (the header line first); nothing is written unless ``confirm``."""

    csv = _required_text(2_000_000, "Hãy gửi nội dung tệp CSV danh sách thiết bị (csv).")
    confirm = fields.Boolean(load_default=False)
    commune_id = _commune_id()


class DeviceImportFormSchema(Strict):
    """The fields beside the ``file`` of a multipart import (or pasted ``csv``)."""

    csv = fields.String(load_default=None, validate=validate.Length(min=1, max=2_000_000))
    confirm = fields.Boolean(load_default=False)
    commune_id = _commune_id()


class RevokeSchema(Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    commune_id = _commune_id()


class CommandSchema(Strict):
    """A test command to one device; ``params`` as shared/devicelink.py describes each kind."""

    kind = _required_choice(COMMAND_MISSING)
    params = fields.Dict(keys=fields.String(), load_default=dict)
    commune_id = _commune_id()


class PeriodQuerySchema(Strict):
    start = IsoTime(load_default=None)
    end = IsoTime(load_default=None)
    commune_id = _commune_id()


class UptimeQuerySchema(Strict):
    """A period of whole local days ("2026-04-01") or of ISO times; the
    telemetry service reads both."""

    start = fields.String(load_default=None, validate=validate.Length(max=40))
    end = fields.String(load_default=None, validate=validate.Length(max=40))
    commune_id = _commune_id()


class TelemetryQuerySchema(PeriodQuerySchema):
    resolution = fields.String(load_default="auto", validate=validate.OneOf(
        RESOLUTIONS, error="Độ phân giải (resolution) phải là auto, raw hoặc hourly."))


class AlarmQuerySchema(Strict):
    status = fields.String(validate=validate.Length(max=16))
    device_id = fields.String(validate=validate.Length(max=64))
    severity = fields.String(validate=validate.Length(max=16))
    commune_id = _commune_id()


class AlarmNoteSchema(Strict):
    """An operator's note on an alarm they acknowledge or clear."""

    note = fields.String(load_default="", validate=validate.Length(max=1000))
    commune_id = _commune_id()


class AlarmRuleSchema(Strict):
    """Changes to one alarm rule of the commune; only those given change."""

    enabled = fields.Boolean()
    severity = fields.String(validate=validate.Length(max=16))
    threshold = fields.Float(allow_none=True, error_messages={"invalid": "Ngưỡng (threshold) phải là số."})
    commune_id = _commune_id()


# --- broadcasting (services/broadcast/API.md): the broadcast service checks
# values (ids, levels, targets, playlists, RRULEs, CAP) and who may do what;
# these schemas shape what reaches it, refuse unknown fields and say in
# Vietnamese what a request lacks. Numbers left out take the service's defaults.

BROADCAST_TITLE_MISSING = "Hãy nhập tiêu đề bản tin (title)."
# a Vietnamese wall time, as the broadcast service reads ``at``
WALL_TIME = validate.Regexp(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$",
                            error="Thời điểm ghi theo giờ Việt Nam, không kèm múi giờ (ví dụ 2026-12-01T06:30).")
PLACEMENTS = ("before", "after")


def _whole(invalid):
    return fields.Integer(strict=False, error_messages={"invalid": invalid})


class ZoneSchema(Strict):
    """A named group of devices (nhóm thiết bị), created or replaced by id;
    village zones are derived by the service."""

    id = _required_choice("Hãy nhập mã vùng phát (id).")
    name = _required_text(200, "Hãy nhập tên vùng phát (name).")
    device_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=1, error="Hãy chọn ít nhất một thiết bị cho nhóm."),
                             error_messages={"required": "Hãy chọn các thiết bị của nhóm (device_ids)."})
    commune_id = _commune_id()


class ProgrammeSchema(Strict):
    """A programme (chương trình phát): its playlist, target and schedule go
    to the broadcast service as given, which reads them field by field."""

    id = _required_choice("Hãy nhập mã chương trình (id).")
    name = _required_text(200, "Hãy nhập tên chương trình (name).")
    priority = fields.String(validate=validate.Length(max=16))
    items = fields.List(fields.Dict(), required=True,
                        error_messages={"required": "Chương trình cần ít nhất một nội dung (items)."})
    repeat = _whole("Số lần lặp (repeat) phải là số nguyên.")
    gap_seconds = _whole("Khoảng nghỉ (gap_seconds) phải là số giây.")
    target = fields.Dict(required=True, error_messages={
        "required": "Hãy chọn phạm vi phát (target): cả xã, vùng phát hoặc thiết bị."})
    when = fields.Dict(required=True, error_messages={
        "required": "Hãy chọn lịch phát (when): lịch lặp (rrule, start_date) hoặc một thời điểm (at)."})
    valid_from = IsoDate(allow_none=True)
    valid_until = IsoDate(allow_none=True)
    commune_id = _commune_id()


class _BroadcastContent(Strict):
    title = _required_text(500, BROADCAST_TITLE_MISSING)
    text = fields.String(validate=validate.Length(max=20_000))
    content_id = fields.String(validate=validate.Length(max=128))
    media_url = fields.String(validate=validate.Length(max=2000))
    kind = fields.String(validate=validate.Length(max=16))
    level = fields.String(validate=validate.Length(max=16))
    target = fields.Dict()
    duration_seconds = _whole("Thời lượng (duration_seconds) phải là số giây.")
    repeat = _whole("Số lần phát (repeat) phải là số nguyên.")
    expires_in_minutes = _whole("Thời hạn (expires_in_minutes) phải là số phút.")
    commune_id = _commune_id()


class BroadcastSchema(_BroadcastContent):
    """The commune plays something now (phát ngay); an emergency needs ``confirm``."""

    confirm = fields.Boolean()


class BulletinSchema(_BroadcastContent):
    """A bulletin of the provincial or central source system, idempotent on (source, external_id)."""

    source = _required_choice("Hãy cho biết nguồn bản tin (source): province hoặc central.")
    external_id = _required_text(200, "Hãy gửi mã bản tin ở hệ thống nguồn (external_id).")
    expires_at = IsoTime()


class BroadcastQuerySchema(Strict):
    level = fields.String(validate=validate.Length(max=16))
    state = fields.String(validate=validate.Length(max=16))
    origin = fields.String(validate=validate.Length(max=16))
    limit = fields.Integer(validate=validate.Range(min=1, max=500))
    commune_id = _commune_id()


class ScheduleBroadcastSchema(Strict):
    """An inbox bulletin goes out now (no ``at``) or at a Vietnamese wall time, to its target or another."""

    at = fields.String(load_default=None, allow_none=True, validate=WALL_TIME)
    target = fields.Dict(load_default=None, allow_none=True)
    commune_id = _commune_id()


class OrderSchema(Strict):
    """A priority bulletin before or after the commune's own high-priority item it clashes with."""

    placement = fields.String(required=True, validate=validate.OneOf(
        PLACEMENTS, error="Thứ tự (placement) là before (phát trước) hoặc after (phát sau)."),
        error_messages={"required": "Hãy chọn phát trước (before) hay sau (after)."})
    commune_id = _commune_id()


class VolumeSchema(Strict):
    """The volume of a target's loudspeakers."""

    target = fields.Dict(required=True, error_messages={"required": "Hãy chọn phạm vi (target)."})
    volume = fields.Integer(required=True, strict=True, validate=validate.Range(
        min=0, max=100, error="Âm lượng (volume) từ 0 đến 100."),
        error_messages={"required": "Hãy nhập âm lượng (volume).", "invalid": "Âm lượng (volume) phải là số nguyên."})
    commune_id = _commune_id()


class CancelSchema(Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    commune_id = _commune_id()


class CalendarQuerySchema(Strict):
    """Vietnamese dates, inclusive; this week (Monday to Sunday) unless given."""

    start = IsoDate(load_default=None)
    end = IsoDate(load_default=None)
    zone_id = fields.String(load_default=None, validate=validate.Length(max=64))
    commune_id = _commune_id()


class PlayLogQuerySchema(Strict):
    """Proof of play of one Vietnamese day (``date``) or between two moments
    (``start`` and ``end``, with their zone); the last day unless given."""

    device_id = fields.String(validate=validate.Length(max=64))
    village = fields.String(validate=validate.Length(max=64))
    date = IsoDate()
    start = IsoTime()
    end = IsoTime()
    limit = fields.Integer(validate=validate.Range(min=1, max=2000))
    commune_id = _commune_id()


class HoursQuerySchema(Strict):
    """Vietnamese dates, inclusive; today unless given."""

    start = IsoDate(load_default=None)
    end = IsoDate(load_default=None)
    commune_id = _commune_id()


# --- training (services/training/API.md): the training service checks values
# (villages, dates, phones, e-mails, Zalo addresses, capacities, who may see
# and change what); these schemas shape what reaches it, refuse unknown fields
# and say in Vietnamese what a request lacks. Fields left out are not sent.

PERSON_ROLES = ("communicator", "lead", "officer")
PERSON_STATUSES = ("active", "on_leave", "left")
GENDERS = ("male", "female", "other")
ATTENDANCE_STATUSES = ("present", "late", "excused", "absent")
EXPORT_FORMATS = ("csv", "xlsx")
CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Giờ ghi dạng giờ:phút, ví dụ 07:30.")
FULL_NAME_MISSING = "Hãy nhập họ và tên (full_name)."
PERSON_ID_MISSING = "Hãy chọn người (person_id)."


def _optional_text(max_length):
    return fields.String(allow_none=True, validate=validate.Length(max=max_length))


def _choice(choices, what):
    return fields.String(validate=validate.OneOf(choices, error=f"{what} phải là một trong: {{choices}}."))


class PersonFieldsSchema(Strict):
    """A person the commune trains (tuyên truyền viên, tổ trưởng, cán bộ), as
    written: a new one, or all of a stored one's fields (status is changed
    apart). Text left empty or null clears it."""

    full_name = _required_text(200, FULL_NAME_MISSING)
    village = _optional_text(64)
    role = _choice(PERSON_ROLES, "Vai trò (role)")
    gender = fields.String(allow_none=True, validate=validate.OneOf(
        GENDERS, error="Giới tính (gender) phải là một trong: {choices}."))
    birth_date = IsoDate(allow_none=True)
    phone = _optional_text(32)
    email = _optional_text(254)
    address = _optional_text(500)
    decision_number = _optional_text(100)
    decision_date = IsoDate(allow_none=True)
    notes = _optional_text(2000)


class PersonSchema(PersonFieldsSchema):
    commune_id = _commune_id()


class PersonStatusSchema(Strict):
    """On leave (tạm nghỉ), back (hoạt động trở lại) or left (thôi làm), from a date (today unless given)."""

    status = fields.String(required=True, validate=validate.OneOf(
        PERSON_STATUSES, error="Trạng thái (status) phải là một trong: {choices}."),
        error_messages={"required": "Hãy chọn trạng thái mới (status)."})
    since = IsoDate(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    commune_id = _commune_id()


class ReplacePersonSchema(Strict):
    """Someone leaves and ``replacement`` takes their place: a new person's
    fields, or ``{person_id}`` of someone already on the roster."""

    replacement = fields.Dict(required=True, error_messages={
        "required": "Hãy nhập người thay thế (replacement): thông tin người mới hoặc person_id của người đã có."})
    since = IsoDate(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    commune_id = _commune_id()

    @post_load
    def replacement_is_a_person(self, data, **kwargs):
        given = data["replacement"]
        if "person_id" in given:
            if set(given) != {"person_id"} or not isinstance(given["person_id"], str) or not given["person_id"]:
                raise ValidationError("Người đã có chỉ gửi person_id, không kèm thông tin khác.", "replacement")
            return data
        try:
            return dict(data, replacement=PersonFieldsSchema().load(given))
        except ValidationError as err:
            raise ValidationError(err.messages, "replacement") from err


class VillageTargetSchema(Strict):
    village = _required_choice("Hãy chọn thôn (village).")
    target = fields.Integer(required=True, strict=False, validate=validate.Range(
        min=0, max=50, error="Định biên (target) của một thôn từ 0 đến 50 người."),
        error_messages={"required": "Hãy nhập định biên (target) của thôn.",
                        "invalid": "Định biên (target) phải là số nguyên."})
    zalo_url = _optional_text(500)


class TargetsSchema(Strict):
    """How many communicators each village should have (định biên) and the Zalo groups."""

    targets = fields.List(fields.Nested(VillageTargetSchema), required=True,
                          error_messages={"required": "Hãy gửi định biên các thôn (targets)."})
    zalo_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    commune_id = _commune_id()

    @validates_schema
    def villages_are_unique(self, data, **kwargs):
        villages = [item["village"] for item in data.get("targets", [])]
        repeated = sorted({village for village in villages if villages.count(village) > 1})
        if repeated:
            raise ValidationError(f"Thôn bị lặp: {', '.join(repeated)}.", "targets")


class ImportFileSchema(Strict):
    """A roster or online-learning file sent as JSON: its name and bytes in base64."""

    filename = _required_text(255, "Hãy gửi tên tệp (filename), ví dụ danh-sach.xlsx.")
    data_base64 = _required_text(4_000_000, "Hãy gửi nội dung tệp mã hóa base64 (data_base64).")
    commune_id = _commune_id()


class ExportQuerySchema(Strict):
    fmt = fields.String(data_key="format", required=True, validate=validate.OneOf(
        EXPORT_FORMATS, error="Định dạng (format) là csv hoặc xlsx."),
        error_messages={"required": "Hãy chọn định dạng (format): csv hoặc xlsx."})
    commune_id = _commune_id()


class CourseQuerySchema(Strict):
    state = fields.String(validate=validate.Length(max=16))
    topic = fields.String(validate=validate.Length(max=64))
    year = fields.Integer(validate=validate.Range(min=2000, max=2100),
                          error_messages={"invalid": "Năm (year) phải là số, ví dụ 2026."})
    commune_id = _commune_id()


class CourseSchema(Strict):
    """A course (lớp tập huấn, bồi dưỡng): new, or all of a stored one's fields."""

    title = _required_text(300, "Hãy nhập tên lớp (title).")
    topics = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                         validate=validate.Length(min=1, error="Hãy chọn ít nhất một chủ đề (topics)."),
                         error_messages={"required": "Hãy chọn ít nhất một chủ đề (topics)."})
    description = fields.String(validate=validate.Length(max=5000))
    organiser = fields.String(validate=validate.Length(max=300))
    min_attendance = fields.Float(validate=validate.Range(
        min=0, max=1, error="Tỷ lệ chuyên cần tối thiểu (min_attendance) từ 0 đến 1, ví dụ 0.8."),
        error_messages={"invalid": "Tỷ lệ chuyên cần tối thiểu (min_attendance) phải là số, ví dụ 0.8."})
    commune_id = _commune_id()


class SessionSchema(Strict):
    """A session of a course (buổi học), on a Vietnamese date and wall clock."""

    date = IsoDate(required=True, error_messages={"required": "Hãy chọn ngày học (date)."})
    starts_at = fields.String(required=True, validate=CLOCK,
                              error_messages={"required": "Hãy nhập giờ bắt đầu (starts_at)."})
    ends_at = fields.String(required=True, validate=CLOCK,
                            error_messages={"required": "Hãy nhập giờ kết thúc (ends_at)."})
    place = fields.String(validate=validate.Length(max=300))
    trainer = fields.String(validate=validate.Length(max=200))
    capacity = fields.Integer(required=True, strict=False, validate=validate.Range(
        min=1, max=1000, error="Số chỗ (capacity) từ 1 đến 1000."),
        error_messages={"required": "Hãy nhập số chỗ (capacity).", "invalid": "Số chỗ (capacity) phải là số nguyên."})
    commune_id = _commune_id()

    @validates_schema
    def ends_after_it_starts(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Giờ kết thúc phải sau giờ bắt đầu.", "ends_at")


class PersonChoiceSchema(Strict):
    """Someone of the roster: to enrol in a course, or to match an unmatched online completion to."""

    person_id = _required_choice(PERSON_ID_MISSING)
    commune_id = _commune_id()


class AttendanceEntrySchema(Strict):
    person_id = _required_choice(PERSON_ID_MISSING)
    status = fields.String(required=True, validate=validate.OneOf(
        ATTENDANCE_STATUSES, error="Điểm danh (status) phải là một trong: {choices}."),
        error_messages={"required": "Hãy chọn có mặt, muộn, có phép hay vắng (status)."})
    remark = fields.String(load_default="", validate=validate.Length(
        max=300, error="Ghi chú điểm danh tối đa 300 ký tự."))


class AttendanceSchema(Strict):
    entries = fields.List(fields.Nested(AttendanceEntrySchema), required=True,
                          error_messages={"required": "Hãy gửi danh sách điểm danh (entries)."})
    commune_id = _commune_id()


class RevokeCertificateSchema(Strict):
    reason = _required_text(500, "Hãy nêu lý do thu hồi giấy chứng nhận (reason).")
    commune_id = _commune_id()


class CertificateQuerySchema(Strict):
    person_id = fields.String(validate=validate.Length(max=64))
    course_id = fields.String(validate=validate.Length(max=64))
    commune_id = _commune_id()
