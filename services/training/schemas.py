"""marshmallow schemas at the training service's boundary (RPC arguments).

Every message names its field and says in Vietnamese what is wrong; the
rules that need the commune's data (its villages, the roster, a course's
places) are the domain's (``roster.py``, ``courses.py``). Forms send back
what they were shown, so the read-only keys of a person or a course are
accepted and ignored (a person's ``status`` is checked by the service: it
changes through ``set_status``).
"""
from marshmallow import (RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates,
                         validates_schema)

from services.training import roster_io
from services.training.courses import ATTENDANCE_STATUSES, COURSE_STATES, MAX_CAPACITY, TOPICS
from services.training.roster import GENDERS, MAX_TARGET, ROLES, STATUSES
from shared.errors import InvalidInput, load, validation_message
from shared.schemas import Base64, CommuneScoped, messages

ID = validate.Length(min=1, max=100, error="mã phải từ 1 đến 100 ký tự")
HHMM = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="giờ phải có dạng HH:MM (ví dụ 07:30)")


class Text(fields.String):
    """Optional free text: null reads as "" (forms send back what they were shown)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return super().deserialize("" if value is None else value, attr, data, **kwargs)


def _text(what, limit):
    return Text(load_default="", allow_none=True, error_messages=messages(what),
                validate=validate.Length(max=limit, error=f"{what} tối đa {limit} ký tự"))


def _optional(field_class, what, **kwargs):
    return field_class(load_default=None, allow_none=True, error_messages=messages(what), **kwargs)


def _one_of(choices, what):
    return validate.OneOf(choices, error=f"{what} phải là một trong: {', '.join(choices)}")


SCHEMA_MESSAGES = {"unknown": "trường này không được hỗ trợ", "type": "dữ liệu phải là một đối tượng JSON"}


class _Strict(Schema):
    error_messages = SCHEMA_MESSAGES

    class Meta:
        unknown = RAISE


class _Scoped(CommuneScoped):
    error_messages = SCHEMA_MESSAGES


class _ShownBack(_Strict):
    """A form's payload: blank optional values are none, read-only keys dropped."""

    blank_is_none = ()
    read_only = ()

    @pre_load
    def _blanks(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in self.read_only}
        for name in self.blank_is_none:
            if isinstance(data.get(name), str) and not data[name].strip():
                data[name] = None
        return data


class PersonFields(_ShownBack):
    """A person's own fields (``save_person``, a replacement's fields)."""

    blank_is_none = ("person_id", "village", "gender", "birth_date", "phone", "email", "decision_date")
    read_only = ("status_since", "status_reason", "replaces", "replaced_by", "created_at", "updated_at", "history",
                 "commune_id")

    person_id = _optional(fields.String, "mã người", validate=ID)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=roster_io.LIMITS["full_name"],
                                                                      error="họ và tên từ 1 đến 100 ký tự"),
                              error_messages=messages("họ và tên"))
    village = _optional(fields.String, "thôn", validate=ID)
    role = fields.String(load_default="communicator", validate=_one_of(ROLES, "vai trò"), error_messages=messages("vai trò"))
    gender = _optional(fields.String, "giới tính", validate=_one_of(GENDERS, "giới tính"))
    birth_date = _optional(fields.Date, "ngày sinh")
    phone = _optional(fields.String, "số điện thoại")
    email = _optional(fields.Email, "email", validate=validate.Length(max=roster_io.LIMITS["email"]))
    address = _text("địa chỉ", roster_io.LIMITS["address"])
    decision_number = _text("số quyết định", roster_io.LIMITS["decision_number"])
    decision_date = _optional(fields.Date, "ngày quyết định")
    notes = _text("ghi chú", roster_io.LIMITS["notes"])
    # shown on the form; a different value is refused by the service (set_status changes it)
    status = _optional(fields.String, "trạng thái", validate=_one_of(STATUSES, "trạng thái"))

    @validates("phone")
    def _phone(self, value, **kwargs):
        if value is not None and roster_io.normalise_phone(value) is None:
            raise ValidationError("số điện thoại không hợp lệ: cần số di động Việt Nam 10 chữ số, ví dụ 0912 345 678")

    @validates("full_name")
    def _name(self, value, **kwargs):
        if not roster_io.clean(value):
            raise ValidationError("họ và tên không được để trống")

    @validates_schema
    def _after_birth(self, data, **kwargs):
        if data.get("birth_date") and data.get("decision_date") and data["decision_date"] < data["birth_date"]:
            raise ValidationError("ngày quyết định trước ngày sinh", "decision_date")

    @post_load
    def _stored_form(self, data, **kwargs):
        for name in ("birth_date", "decision_date"):
            if data.get(name) is not None:
                data[name] = data[name].isoformat()
        data["full_name"] = roster_io.clean(data["full_name"])
        if data.get("phone"):
            data["phone"] = roster_io.normalise_phone(data["phone"])
        if data.get("email"):
            data["email"] = data["email"].strip().lower()
        for name in ("address", "decision_number", "notes"):
            data[name] = (data.get(name) or "").strip() or None
        return data


class Ref(_Scoped):
    """An RPC naming one thing by id (and perhaps a reason)."""

    person_id = _optional(fields.String, "mã người", validate=ID)
    course_id = _optional(fields.String, "mã khóa học", validate=ID)
    session_id = _optional(fields.String, "mã buổi học", validate=ID)
    enrolment_id = _optional(fields.String, "mã ghi danh", validate=ID)
    certificate_id = _optional(fields.String, "mã giấy chứng nhận", validate=ID)
    import_id = _optional(fields.String, "mã lần nhập", validate=ID)
    row_id = _optional(fields.String, "mã dòng", validate=ID)
    reason = _text("lý do", 500)


REF_NAMES = {"person_id": "mã người", "course_id": "mã khóa học", "session_id": "mã buổi học",
             "enrolment_id": "mã ghi danh", "certificate_id": "mã giấy chứng nhận", "import_id": "mã lần nhập",
             "row_id": "mã dòng"}


def load_ref(required, **values):
    """Load an RPC's ids with ``Ref``; each of ``required`` must be given."""
    data = load(Ref, values)
    missing = {name: [f"thiếu {REF_NAMES[name]}"] for name in required if not data.get(name)}
    if missing:
        raise InvalidInput(validation_message(missing), {"fields": missing})
    return data


class SetStatus(_Scoped):
    person_id = fields.String(required=True, validate=ID, error_messages=messages("mã người"))
    status = fields.String(required=True, validate=_one_of(STATUSES, "trạng thái"), error_messages=messages("trạng thái"))
    since = _optional(fields.Date, "ngày bắt đầu")
    reason = _text("lý do", 500)


class ReplaceRequest(_Scoped):
    person_id = fields.String(required=True, validate=ID, error_messages=messages("mã người"))
    replacement = fields.Dict(required=True, error_messages=messages("người thay thế"))
    since = _optional(fields.Date, "ngày thay thế")
    reason = _text("lý do", 500)


class TargetEntry(_Strict):
    village = fields.String(required=True, validate=ID, error_messages=messages("thôn"))
    target = fields.Integer(required=True, strict=True,
                            validate=validate.Range(min=0, max=MAX_TARGET, error=f"định biên từ 0 đến {MAX_TARGET} người"),
                            error_messages=messages("định biên"))
    zalo_url = _optional(fields.String, "đường dẫn nhóm Zalo", validate=validate.Length(max=500))


class SaveTargets(_Scoped):
    targets = fields.List(fields.Nested(TargetEntry), required=True, error_messages=messages("định biên các thôn"))
    zalo_url = _optional(fields.String, "đường dẫn nhóm Zalo của xã", validate=validate.Length(max=500))


class ImportFile(_Scoped):
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200, error="tên tệp từ 1 đến 200 ký tự"),
                             error_messages=messages("tên tệp"))
    data_base64 = Base64(roster_io.MAX_BYTES, required=True, error_messages=messages("nội dung tệp"))


class ExportRequest(_Scoped):
    fmt = fields.String(required=True, validate=_one_of(("csv", "xlsx"), "định dạng"), error_messages=messages("định dạng"))


class CourseFilter(_Scoped):
    state = _optional(fields.String, "trạng thái", validate=_one_of(COURSE_STATES, "trạng thái"))
    topic = _optional(fields.String, "chủ đề", validate=_one_of(tuple(TOPICS), "chủ đề"))
    year = _optional(fields.Integer, "năm", validate=validate.Range(min=2000, max=2100, error="năm từ 2000 đến 2100"))


class CourseFields(_ShownBack):
    """A course's own fields (``save_course``); online courses come from imports only."""

    blank_is_none = ("course_id",)
    read_only = ("state", "places", "enrolled", "waitlisted", "created_at", "updated_at", "closed_at", "sessions",
                 "enrolments", "sessions_count", "next_session", "commune_id")

    course_id = _optional(fields.String, "mã khóa học", validate=ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200, error="tên khóa học từ 1 đến 200 ký tự"),
                          error_messages=messages("tên khóa học"))
    topics = fields.List(fields.String(validate=_one_of(tuple(TOPICS), "chủ đề")), required=True,
                         validate=validate.Length(min=1, max=len(TOPICS), error="chọn ít nhất một chủ đề"),
                         error_messages=messages("chủ đề"))
    description = _text("mô tả", 4000)
    organiser = _text("đơn vị tổ chức", 200)
    kind = fields.String(load_default="in_person", error_messages=messages("hình thức"),
                         validate=validate.OneOf(("in_person",), error="khóa học trực tuyến (online) chỉ được tạo từ tệp "
                                                                      "kết quả học trực tuyến của Bộ"))
    min_attendance = _optional(fields.Float, "tỷ lệ chuyên cần tối thiểu",
                               validate=validate.Range(min=0, max=1, error="tỷ lệ chuyên cần tối thiểu từ 0 đến 1"))

    @post_load
    def _distinct(self, data, **kwargs):
        data["title"] = roster_io.clean(data["title"])
        if not data["title"]:
            raise ValidationError("tên khóa học không được để trống", "title")
        data["topics"] = list(dict.fromkeys(data["topics"]))
        return data


class SessionFields(_ShownBack):
    blank_is_none = ("session_id", "course_id", "starts_at", "ends_at")

    session_id = _optional(fields.String, "mã buổi học", validate=ID)
    course_id = _optional(fields.String, "mã khóa học", validate=ID)
    date = fields.Date(required=True, error_messages=messages("ngày học"))
    starts_at = _optional(fields.String, "giờ bắt đầu", validate=HHMM)
    ends_at = _optional(fields.String, "giờ kết thúc", validate=HHMM)
    place = _text("địa điểm", 200)
    trainer = _text("giảng viên", 120)
    capacity = fields.Integer(required=True, strict=True, error_messages=messages("số chỗ"),
                              validate=validate.Range(min=1, max=MAX_CAPACITY, error=f"số chỗ từ 1 đến {MAX_CAPACITY}"))

    @validates_schema
    def _coherent(self, data, **kwargs):
        if not data.get("session_id") and not data.get("course_id"):
            raise ValidationError("buổi học mới cần mã khóa học", "course_id")
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("giờ kết thúc phải sau giờ bắt đầu", "ends_at")

    @post_load
    def _stored_form(self, data, **kwargs):
        data["date"] = data["date"].isoformat()
        return data


class AnnouncedSession(SessionFields):
    """A session of a course the province announces: the session of a
    course not created yet (no ids), with the rules of ``save_session``."""

    class Meta(_Strict.Meta):
        exclude = ("session_id", "course_id")

    blank_is_none = ("starts_at", "ends_at")

    @validates_schema
    def _coherent(self, data, **kwargs):
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("giờ kết thúc phải sau giờ bắt đầu", "ends_at")


class AnnouncedCourse(CourseFields):
    """A course the province announces (``receive_course``), with the rules
    of ``save_course``; it is always ``in_person``, its ids are ours."""

    class Meta(_Strict.Meta):
        exclude = ("course_id", "kind", "min_attendance")

    blank_is_none = ()
    read_only = ()

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=200, error="mã khóa học của tỉnh "
                                                                                              "từ 1 đến 200 ký tự"),
                                error_messages=messages("mã khóa học của tỉnh"))
    sessions = fields.List(fields.Nested(AnnouncedSession), load_default=list, error_messages=messages("buổi học"),
                           validate=validate.Length(max=100, error="tối đa 100 buổi học"))


class AttendanceEntry(_Strict):
    person_id = fields.String(required=True, validate=ID, error_messages=messages("mã người"))
    status = fields.String(required=True, validate=_one_of(ATTENDANCE_STATUSES, "trạng thái điểm danh"),
                           error_messages=messages("trạng thái điểm danh"))
    remark = _text("ghi chú", 300)


class RecordAttendance(_Scoped):
    session_id = fields.String(required=True, validate=ID, error_messages=messages("mã buổi học"))
    entries = fields.List(fields.Nested(AttendanceEntry), required=True,
                          validate=validate.Length(min=1, max=MAX_CAPACITY, error="cần từ 1 đến 1000 dòng điểm danh"),
                          error_messages=messages("danh sách điểm danh"))

    @validates("entries")
    def _once_each(self, value, **kwargs):
        seen = [e["person_id"] for e in value]
        if len(seen) != len(set(seen)):
            raise ValidationError("mỗi người chỉ điểm danh một lần trong một lần gửi")


class CertificateFilter(_Scoped):
    person_id = _optional(fields.String, "mã người", validate=ID)
    course_id = _optional(fields.String, "mã khóa học", validate=ID)


class RevokeRequest(_Scoped):
    certificate_id = fields.String(required=True, validate=ID, error_messages=messages("mã giấy chứng nhận"))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500, error="lý do từ 1 đến 500 ký tự"),
                           error_messages=messages("lý do thu hồi"))


class DayRange(_Scoped):
    start = fields.Date(required=True, error_messages=messages("từ ngày"))
    end = fields.Date(required=True, error_messages=messages("đến ngày"))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["end"] < data["start"]:
            raise ValidationError("đến ngày phải sau hoặc bằng từ ngày", "end")
