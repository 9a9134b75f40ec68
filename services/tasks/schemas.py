"""marshmallow schemas at the tasks service's boundary (RPC arguments)."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates, validates_schema

from services.tasks.domain import STATUSES, directive_task_codes
from shared.schemas import Base64, CommuneScoped

ID = validate.Length(min=1, max=64)
MAX_PLAN_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024

# what evidence may be, and how each kind's bytes begin (a mislabelled file is refused)
EVIDENCE_TYPES = {
    "application/pdf": (b"%PDF",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}


class ImportPlanSchema(CommuneScoped):
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=2_000_000))
    docx_b64 = Base64(MAX_PLAN_BYTES, load_default=None, allow_none=True)
    source_name = fields.String(load_default="", validate=validate.Length(max=200))
    plan_id = fields.String(load_default=None, allow_none=True, validate=ID)

    @validates_schema
    def one_source(self, data, **kwargs):
        if (data.get("text") is None) == (data.get("docx_b64") is None):
            raise ValidationError("Gửi đúng một nguồn: văn bản kế hoạch (text) hoặc tệp Word (docx_b64).")


class TaskFilterSchema(CommuneScoped):
    plan_id = fields.String(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(STATUSES, error="Trạng thái phải là một trong: {choices}."))
    part = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10))
    agency = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    agency_id = fields.String(load_default=None, allow_none=True, validate=ID)
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    due = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        ("overdue", "due_soon", "no_deadline", "this_quarter"), error="Bộ lọc hạn phải là một trong: {choices}."))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ChangeStatusSchema(CommuneScoped):
    task_id = fields.String(required=True, validate=ID)
    status = fields.String(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class GuidanceSchema(CommuneScoped):
    task_id = fields.String(required=True, validate=ID)
    received_on = fields.Date(required=True)
    due = fields.Date(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class EvidenceFileSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(required=True, validate=validate.OneOf(
        tuple(EVIDENCE_TYPES), error="Loại tệp không được phép; chỉ nhận PDF, ảnh PNG/JPEG, Word (.docx), Excel (.xlsx)."))
    content_b64 = Base64(MAX_EVIDENCE_BYTES, required=True)

    @validates_schema
    def content_matches_type(self, data, **kwargs):
        if "content_type" in data and "content_b64" in data:
            if not data["content_b64"].startswith(EVIDENCE_TYPES[data["content_type"]]):
                raise ValidationError(f"Nội dung tệp «{data.get('name', '')}» không đúng loại {data['content_type']}.")


class UpdateSchema(CommuneScoped):
    task_id = fields.String(required=True, validate=ID)
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    links = fields.List(fields.Url(schemes={"http", "https"}, error_messages={
        "invalid": "Liên kết không hợp lệ (phải bắt đầu bằng http:// hoặc https://)."}),
                        load_default=list, validate=validate.Length(max=10))
    files = fields.List(fields.Nested(EvidenceFileSchema), load_default=list,
                        validate=validate.Length(max=5, error="Tối đa 5 tệp minh chứng mỗi lần."))

    @validates("text")
    def not_blank(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("Nội dung báo cáo tiến độ không được để trống.")


class CommentSchema(CommuneScoped):
    task_id = fields.String(required=True, validate=ID)
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates("text")
    def not_blank(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("Bình luận không được để trống.")


class AssigneeSchema(Schema):
    class Meta:
        unknown = RAISE

    user_id = fields.String(required=True, validate=ID)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AssignSchema(CommuneScoped):
    task_id = fields.String(required=True, validate=ID)
    assignees = fields.List(fields.Nested(AssigneeSchema), required=True, validate=validate.Length(max=10))


class PeriodSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(("quarter", "half_year", "year", "adhoc")))
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=2000, max=2100))
    number = fields.Integer(load_default=None, allow_none=True)
    start = fields.String(load_default=None, allow_none=True)
    end = fields.String(load_default=None, allow_none=True)


class CommuneNameSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(load_default="", validate=validate.Length(max=200))
    province = fields.String(load_default="", validate=validate.Length(max=200))


class ReportSchema(CommuneScoped):
    plan_id = fields.String(required=True, validate=ID)
    period = fields.Nested(PeriodSchema, required=True)
    format = fields.String(load_default="docx", validate=validate.OneOf(("docx", "xlsx")))
    number = fields.String(load_default="", validate=validate.Length(max=50))
    proposals = fields.String(load_default="", validate=validate.Length(max=10000))
    signer_name = fields.String(load_default="", validate=validate.Length(max=200))
    commune = fields.Nested(CommuneNameSchema, load_default=dict)


class IndicatorsSchema(CommuneScoped):
    start = fields.Date(load_default=None, allow_none=True)
    end = fields.Date(load_default=None, allow_none=True)


class DirectiveTaskSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[^\s.]{1,20}$", error="Mã nhiệm vụ gồm 1–20 ký tự, không có dấu cách hay dấu chấm."))
    title = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    due = fields.Date(load_default=None, allow_none=True)

    @validates("title")
    def not_blank(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("Tên nhiệm vụ không được để trống.")


class DirectiveSchema(CommuneScoped):
    """A directive of the province (chỉ đạo của tỉnh), as the sync agent hands it over."""

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    text = fields.String(required=True, validate=validate.Length(min=1, max=50_000))
    issued_by = fields.String(required=True, validate=validate.Length(min=1, max=200))
    issued_on = fields.Date(required=True)
    due = fields.Date(load_default=None, allow_none=True)
    tasks = fields.List(fields.Nested(DirectiveTaskSchema), load_default=list,
                        validate=validate.Length(max=500, error="Một chỉ đạo có tối đa 500 nhiệm vụ."))

    @validates("title")
    def title_not_blank(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("Tên văn bản chỉ đạo không được để trống.")

    @validates_schema
    def distinct_codes(self, data, **kwargs):
        codes = directive_task_codes(data.get("tasks") or [])
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValidationError(f"Mã nhiệm vụ bị trùng: {', '.join(repeated)}.", "tasks")
