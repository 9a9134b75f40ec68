"""marshmallow schemas at the telemetry service's boundary (RPC arguments and
CSV rows).

Every message names its field and says in Vietnamese what is wrong, because
it reaches a commune officer as is (``field: message``).
"""
from datetime import datetime, timezone

from marshmallow import (RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema)

from services.telemetry.alarms import SEVERITIES
from shared.devicelink import ID_PATTERN
from shared.schemas import messages

KINDS = ("loudspeaker", "eboard", "other")
TRANSPORTS = ("grpc", "mqtt")
PRESENCES = ("online", "offline", "unknown")
ALARM_STATUSES = ("active", "open", "acknowledged", "cleared", "all")
RESOLUTIONS = ("auto", "raw", "hourly")

# a box around Vietnam's land and its islands (Hoàng Sa, Trường Sa): it
# catches swapped or mistyped coordinates, not a border check
LAT_RANGE = (6, 24)
LON_RANGE = (102, 118)
TIMEOUT_RANGE = (30, 3600)
DEFAULT_TIMEOUT = 120


class Strict(Schema):
    """Refuses fields it does not know, in Vietnamese."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "trường không được hỗ trợ", "type": "dữ liệu phải là một đối tượng JSON"}


class CommuneScoped(Strict):
    commune_id = fields.String(load_default=None, allow_none=True, error_messages=messages("mã xã"))


def _not_blank(what):
    def check(value):
        if not value.strip():
            raise ValidationError(f"{what} không được để trống")
    return check


def _device_id(**kwargs):
    return fields.String(error_messages=messages("mã thiết bị"), validate=validate.Regexp(
        ID_PATTERN, error="mã thiết bị chỉ gồm chữ không dấu, số, '-' và '_' (tối đa 64 ký tự)"), **kwargs)


class DeviceFields(Strict):
    """A device's registry fields (thông tin thiết bị), every one optional:
    what an update may change."""

    name = fields.String(error_messages=messages("tên thiết bị"),
                         validate=validate.Length(max=200, error="tên thiết bị dài quá {max} ký tự"))
    kind = fields.String(error_messages=messages("loại thiết bị"), validate=validate.OneOf(
        KINDS, error="loại thiết bị phải là một trong: {choices}"))
    village = fields.String(allow_none=True, error_messages=messages("thôn"), validate=[
        _not_blank("tên thôn"), validate.Length(max=100, error="tên thôn dài quá {max} ký tự")])
    lat = fields.Float(allow_none=True, error_messages=dict(messages("vĩ độ"), invalid="vĩ độ phải là số"), validate=validate.Range(
        *LAT_RANGE, error="vĩ độ phải trong khoảng {min}–{max} (lãnh thổ Việt Nam)"))
    lon = fields.Float(allow_none=True, error_messages=dict(messages("kinh độ"), invalid="kinh độ phải là số"), validate=validate.Range(
        *LON_RANGE, error="kinh độ phải trong khoảng {min}–{max} (lãnh thổ Việt Nam)"))
    model = fields.String(error_messages=messages("mẫu thiết bị"),
                          validate=validate.Length(max=100, error="mẫu thiết bị dài quá {max} ký tự"))
    firmware = fields.String(error_messages=messages("phiên bản phần mềm"),
                             validate=validate.Length(max=100, error="phiên bản phần mềm dài quá {max} ký tự"))
    installed_on = fields.Date(allow_none=True, error_messages=dict(
        messages("ngày lắp đặt"), invalid="ngày lắp đặt phải có dạng YYYY-MM-DD"))
    transport = fields.String(error_messages=messages("phương thức kết nối"), validate=validate.OneOf(
        TRANSPORTS, error="phương thức kết nối phải là một trong: {choices}"))
    presence_timeout_s = fields.Integer(strict=False, error_messages=dict(
        messages("thời gian chờ"), invalid="thời gian chờ phải là số nguyên (giây)"), validate=validate.Range(
        *TIMEOUT_RANGE, error="thời gian chờ phải từ {min} đến {max} giây"))

    @validates_schema
    def location_whole(self, data, **kwargs):
        if ("lat" in data) != ("lon" in data) or (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("cần nhập cả vĩ độ và kinh độ, hoặc bỏ trống cả hai", "lat")

    @post_load
    def plain_values(self, data, **kwargs):
        """Stored forms: dates as ``YYYY-MM-DD``, village names trimmed."""
        if data.get("installed_on") is not None:
            data["installed_on"] = data["installed_on"].isoformat()
        if data.get("village") is not None:
            data["village"] = " ".join(data["village"].split())
        return data


class NewDevice(DeviceFields):
    """A device as registered (one CSV row too): only ``device_id`` and
    ``kind`` are required."""

    device_id = _device_id(required=True)
    kind = fields.String(required=True, error_messages=messages("loại thiết bị"), validate=validate.OneOf(
        KINDS, error="loại thiết bị phải là một trong: {choices}"))
    name = fields.String(load_default="", error_messages=messages("tên thiết bị"),
                         validate=validate.Length(max=200, error="tên thiết bị dài quá {max} ký tự"))
    village = fields.String(load_default=None, allow_none=True, error_messages=messages("thôn"), validate=[
        _not_blank("tên thôn"), validate.Length(max=100, error="tên thôn dài quá {max} ký tự")])
    model = fields.String(load_default="", error_messages=messages("mẫu thiết bị"),
                          validate=validate.Length(max=100, error="mẫu thiết bị dài quá {max} ký tự"))
    firmware = fields.String(load_default="", error_messages=messages("phiên bản phần mềm"),
                             validate=validate.Length(max=100, error="phiên bản phần mềm dài quá {max} ký tự"))
    installed_on = fields.Date(load_default=None, allow_none=True, error_messages=dict(
        messages("ngày lắp đặt"), invalid="ngày lắp đặt phải có dạng YYYY-MM-DD"))
    transport = fields.String(load_default="grpc", error_messages=messages("phương thức kết nối"),
                              validate=validate.OneOf(TRANSPORTS, error="phương thức kết nối phải là một trong: {choices}"))
    presence_timeout_s = fields.Integer(load_default=DEFAULT_TIMEOUT, strict=False, error_messages=dict(
        messages("thời gian chờ"), invalid="thời gian chờ phải là số nguyên (giây)"), validate=validate.Range(
        *TIMEOUT_RANGE, error="thời gian chờ phải từ {min} đến {max} giây"))

    @pre_load
    def location_default(self, data, **kwargs):
        # "neither" is the default; a lone coordinate is still caught below
        if isinstance(data, dict) and "lat" not in data and "lon" not in data:
            data = dict(data, lat=None, lon=None)
        return data


class RegisterDevice(NewDevice):
    commune_id = fields.String(load_default=None, allow_none=True, error_messages=messages("mã xã"))


def _refuse(message):
    def check(value):
        raise ValidationError(message)
    return check


class DeviceChanges(DeviceFields):
    """``update_device``'s ``changes``: the registry fields but ``device_id``."""

    device_id = fields.Raw(validate=_refuse("không đổi được mã thiết bị; hãy đăng ký thiết bị mới"))


class DeviceRef(CommuneScoped):
    device_id = _device_id(required=True)


class UpdateDevice(DeviceRef):
    changes = fields.Dict(required=True, error_messages=dict(messages("nội dung thay đổi"),
                                                             invalid="nội dung thay đổi phải là một đối tượng"))


class Revoke(DeviceRef):
    reason = fields.String(load_default="", allow_none=True, error_messages=messages("lý do"),
                           validate=validate.Length(max=500, error="lý do dài quá {max} ký tự"))


class Command(DeviceRef):
    kind = fields.String(required=True, error_messages=messages("lệnh"))
    params = fields.Dict(load_default=dict, allow_none=True, error_messages=dict(
        messages("tham số lệnh"), invalid="tham số lệnh phải là một đối tượng"))


class DeviceFilter(CommuneScoped):
    village = fields.String(load_default=None, allow_none=True, error_messages=messages("thôn"))
    kind = fields.String(load_default=None, allow_none=True, error_messages=messages("loại thiết bị"),
                         validate=validate.OneOf(KINDS, error="loại thiết bị phải là một trong: {choices}"))
    presence = fields.String(load_default=None, allow_none=True, error_messages=messages("trạng thái kết nối"),
                             validate=validate.OneOf(PRESENCES, error="trạng thái kết nối phải là một trong: {choices}"))


class ImportRequest(CommuneScoped):
    csv_text = fields.String(required=True, error_messages=messages("nội dung tệp CSV"), validate=validate.Length(
        max=2_000_000, error="tệp CSV quá lớn (tối đa 2 MB)"))
    confirm = fields.Boolean(load_default=False, error_messages=messages("xác nhận"))


def _utc(moment):
    return moment.astimezone(timezone.utc) if moment is not None else None


def _moment(what):
    return fields.AwareDateTime(load_default=None, allow_none=True, error_messages=dict(
        messages(what), invalid=f"{what} phải theo ISO 8601 (ví dụ 2026-11-26T07:00:00+07:00)"))


class Period(DeviceRef):
    """An optional ``start``–``end`` of a device's history, in UTC."""

    start = _moment("thời điểm bắt đầu")
    end = _moment("thời điểm kết thúc")

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise ValidationError("thời điểm kết thúc phải sau thời điểm bắt đầu", "end")

    @post_load
    def in_utc(self, data, **kwargs):
        return dict(data, start=_utc(data.get("start")), end=_utc(data.get("end")))


class TelemetryQuery(Period):
    resolution = fields.String(load_default="auto", error_messages=messages("độ phân giải"), validate=validate.OneOf(
        RESOLUTIONS, error="độ phân giải phải là một trong: {choices}"))


class Moment(fields.Field):
    """A date (``YYYY-MM-DD``: a local day in Vietnam) or an ISO-8601 time
    with its zone; loads to a ``date`` or an aware ``datetime``."""

    default_error_messages = {"invalid": "không hợp lệ"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        text = value.strip()
        try:
            if len(text) == 10:
                return datetime.strptime(text, "%Y-%m-%d").date()
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.tzinfo is None:
            raise self.make_error("invalid")
        return moment.astimezone(timezone.utc)


class UptimeQuery(CommuneScoped):
    start = Moment(required=True, error_messages=dict(
        messages("thời điểm bắt đầu"), invalid="thời điểm bắt đầu phải là ngày YYYY-MM-DD hoặc thời điểm ISO 8601"))
    end = Moment(required=True, error_messages=dict(
        messages("thời điểm kết thúc"), invalid="thời điểm kết thúc phải là ngày YYYY-MM-DD hoặc thời điểm ISO 8601"))


class AlarmFilter(CommuneScoped):
    status = fields.String(load_default="active", error_messages=messages("trạng thái cảnh báo"), validate=validate.OneOf(
        ALARM_STATUSES, error="trạng thái cảnh báo phải là một trong: {choices}"))
    device_id = _device_id(load_default=None, allow_none=True)
    severity = fields.String(load_default=None, allow_none=True, error_messages=messages("mức độ"),
                             validate=validate.OneOf(SEVERITIES, error="mức độ phải là một trong: {choices}"))
    limit = fields.Integer(load_default=500, error_messages=messages("số cảnh báo"), validate=validate.Range(
        1, 2000, error="số cảnh báo phải từ {min} đến {max}"))


class AlarmAction(CommuneScoped):
    alarm_id = fields.String(required=True, error_messages=messages("mã cảnh báo"),
                             validate=validate.Length(min=1, max=64, error="mã cảnh báo không hợp lệ"))
    note = fields.String(load_default="", allow_none=True, error_messages=messages("ghi chú"),
                         validate=validate.Length(max=1000, error="ghi chú dài quá {max} ký tự"))


class RuleChanges(Strict):
    enabled = fields.Boolean(error_messages=dict(messages("bật/tắt"), invalid="bật/tắt phải là true hoặc false"))
    severity = fields.String(error_messages=messages("mức độ"), validate=validate.OneOf(
        SEVERITIES, error="mức độ phải là một trong: {choices}"))
    threshold = fields.Float(allow_none=True, error_messages=dict(messages("ngưỡng"), invalid="ngưỡng phải là số"))


class SetRule(CommuneScoped):
    rule = fields.String(required=True, error_messages=messages("quy tắc"))
    changes = fields.Nested(RuleChanges, required=True, error_messages=messages("nội dung thay đổi"))
