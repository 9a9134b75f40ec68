"""marshmallow schemas at the broadcast service's boundary (RPC arguments).

Programmes, zones and targets have their own validators in the domain
(``schedule.parse_programme``, ``zones.parse_zone``, ``zones.target_problems``),
which list every problem at once; these schemas shape the rest. Every message
names its field and says in Vietnamese what is wrong.
"""
from datetime import timezone

from marshmallow import ValidationError, fields, validate, validates_schema

from shared.schemas import CommuneScoped, messages

from services.broadcast.broadcasts import CONTENT_KINDS, ORIGINS, PLACEMENTS, STATES
from services.broadcast.levels import LEVELS

MAX_TEXT = 2000
BULLETIN_SOURCES = ("province", "central")


def _aware(value):
    if value.tzinfo is None:
        raise ValidationError("thời điểm phải có múi giờ (ví dụ 2026-11-26T07:00:00+07:00)")


class _Playable(CommuneScoped):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300, error="tiêu đề từ 1 đến 300 ký tự"),
                          error_messages=messages("tiêu đề"))
    text = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT, error="nội dung tối đa 2000 ký tự"),
                         error_messages=messages("nội dung"))
    content_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128),
                               error_messages=messages("mã nội dung"))
    media_url = fields.String(load_default="", validate=validate.Length(max=2000), error_messages=messages("đường dẫn âm thanh"))
    kind = fields.String(load_default="audio", validate=validate.OneOf(CONTENT_KINDS, error="loại nội dung phải là audio hoặc text"),
                         error_messages=messages("loại nội dung"))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS, error="mức bản tin phải là normal, priority hoặc emergency"),
                          error_messages=messages("mức bản tin"))
    target = fields.Dict(load_default=lambda: {"commune": True}, error_messages=messages("phạm vi phát"))
    duration_seconds = fields.Integer(load_default=60, validate=validate.Range(min=1, max=3600, error="thời lượng từ 1 đến 3600 giây"),
                                      error_messages=messages("thời lượng"))
    repeat = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20, error="số lần lặp từ 1 đến 20"),
                            error_messages=messages("số lần lặp"))

    @validates_schema
    def _something_to_play(self, data, **kwargs):
        if data.get("kind") == "text" and not (data.get("text") or "").strip():
            raise ValidationError("bản tin chữ cần nội dung để hiển thị", "text")


class CreateBroadcast(_Playable):
    expires_in_minutes = fields.Integer(load_default=60, validate=validate.Range(min=1, max=7 * 24 * 60, error="thời hạn từ 1 phút đến 7 ngày"),
                                        error_messages=messages("thời hạn"))
    confirm = fields.Boolean(load_default=False, error_messages=messages("xác nhận"))


class ReceiveBulletin(_Playable):
    source = fields.String(required=True, validate=validate.OneOf(BULLETIN_SOURCES, error="nguồn phải là province hoặc central"),
                           error_messages=messages("nguồn bản tin"))
    external_id = fields.String(required=True, validate=validate.Length(min=1, max=200), error_messages=messages("mã bản tin của nguồn"))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc,
                                      error_messages=messages("thời hạn"))
    expires_in_minutes = fields.Integer(load_default=24 * 60, validate=validate.Range(min=1, max=30 * 24 * 60),
                                        error_messages=messages("thời hạn"))


class BroadcastFilter(CommuneScoped):
    level = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEVELS), error_messages=messages("mức bản tin"))
    state = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATES), error_messages=messages("trạng thái"))
    origin = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ORIGINS), error_messages=messages("nguồn"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500), error_messages=messages("số dòng"))


class ScheduleRequest(CommuneScoped):
    at = fields.NaiveDateTime(load_default=None, allow_none=True, error_messages=messages("thời điểm phát (giờ Việt Nam)"))
    target = fields.Dict(load_default=None, allow_none=True, error_messages=messages("phạm vi phát"))


class OrderRequest(CommuneScoped):
    placement = fields.String(required=True, validate=validate.OneOf(PLACEMENTS, error="chọn before (trước) hoặc after (sau)"),
                              error_messages=messages("thứ tự"))


class PlayQuery(CommuneScoped):
    device_id = fields.String(load_default=None, allow_none=True, error_messages=messages("mã thiết bị"))
    village = fields.String(load_default=None, allow_none=True, error_messages=messages("thôn"))
    date = fields.Date(load_default=None, allow_none=True, error_messages=messages("ngày"))
    start = fields.AwareDateTime(load_default=None, allow_none=True, validate=_aware, error_messages=messages("từ lúc"))
    end = fields.AwareDateTime(load_default=None, allow_none=True, validate=_aware, error_messages=messages("đến lúc"))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=2000), error_messages=messages("số dòng"))


class DayRange(CommuneScoped):
    start = fields.Date(required=True, error_messages=messages("ngày bắt đầu"))
    end = fields.Date(required=True, error_messages=messages("ngày kết thúc"))
    zone_id = fields.String(load_default=None, allow_none=True, error_messages=messages("vùng phát"))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["end"] < data["start"]:
            raise ValidationError("ngày kết thúc trước ngày bắt đầu", "end")
        if (data["end"] - data["start"]).days > 41:
            raise ValidationError("tối đa 42 ngày một lần", "end")
