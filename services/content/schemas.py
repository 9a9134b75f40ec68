"""marshmallow schemas at the content service's boundary (RPC arguments).

Uploads are typed by their bytes, not by what the caller says: a declared
``content_type`` that disagrees with the bytes is refused.
"""
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates, validates_schema

from services.content.domain import CHANNELS, KINDS, STATUSES
from shared.schemas import Base64, CommuneScoped

ID = validate.Length(min=1, max=64)
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_AUDIO_BYTES = 20 * 1024 * 1024
MAX_BODY_CHARS = 100_000


def sniff_image(data):
    """PNG, JPEG or WebP by magic bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_audio(data):
    """MP3, WAV, OGG or M4A by magic bytes; None for anything else."""
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


# declared types a sniffed type answers to
ALIASES = {
    "image/png": {"image/png"},
    "image/jpeg": {"image/jpeg", "image/jpg", "image/pjpeg"},
    "image/webp": {"image/webp"},
    "audio/mpeg": {"audio/mpeg", "audio/mp3"},
    "audio/wav": {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"},
    "audio/ogg": {"audio/ogg", "audio/opus", "application/ogg"},
    "audio/mp4": {"audio/mp4", "audio/m4a", "audio/x-m4a", "audio/aac"},
}


class Typed(Schema):
    """An upload whose type is read from its bytes."""

    class Meta:
        unknown = RAISE

    sniff = None
    allowed_vi = ""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))

    @validates_schema
    def typed_by_content(self, data, **kwargs):
        if "content_b64" not in data:
            return
        sniffed = type(self).sniff(data["content_b64"])
        name = data.get("name", "")
        if sniffed is None:
            raise ValidationError(f"Tệp «{name}» không phải {self.allowed_vi}.", "content_b64")
        declared = (data.get("content_type") or "").lower().split(";")[0].strip()
        if declared and declared not in ALIASES[sniffed]:
            raise ValidationError(f"Tệp «{name}» khai báo là {declared} nhưng nội dung là {sniffed}.", "content_type")

    @post_load
    def type_from_content(self, data, **kwargs):
        return dict(data, content_type=type(self).sniff(data["content_b64"]))


class ImageUpload(Typed):
    sniff = staticmethod(sniff_image)
    allowed_vi = "ảnh PNG, JPEG hoặc WebP"
    content_b64 = Base64(MAX_IMAGE_BYTES, required=True)


class RebuttalSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.Url(schemes={"http", "https"}, load_default=None, allow_none=True, error_messages={
        "invalid": "Đường dẫn không hợp lệ (phải bắt đầu bằng http:// hoặc https://)."})
    claim = fields.String(load_default="", validate=validate.Length(max=2000))


def _not_blank(what):
    def check(value):
        if not value.strip():
            raise ValidationError(f"{what} không được để trống.")
    return check


KIND = validate.OneOf(tuple(KINDS), error="Loại tin phải là một trong: {choices}.")
CHANNEL = validate.OneOf(CHANNELS, error="Kênh phải là một trong: {choices}.")


class ItemFields(CommuneScoped):
    kind = fields.String(validate=KIND)
    section_id = fields.String(validate=ID)
    title = fields.String(validate=[validate.Length(max=300), _not_blank("Tiêu đề")])
    summary = fields.String(validate=validate.Length(max=2000))
    body = fields.String(validate=validate.Length(max=MAX_BODY_CHARS))
    channels = fields.List(fields.String(validate=CHANNEL), validate=validate.Length(max=len(CHANNELS)))
    rebuttal = fields.Nested(RebuttalSchema, allow_none=True)
    new_images = fields.List(fields.Nested(ImageUpload), load_default=list,
                             validate=validate.Length(max=10, error="Tối đa 10 ảnh mỗi lần."))


class CreateItemSchema(ItemFields):
    kind = fields.String(required=True, validate=KIND)
    section_id = fields.String(required=True, validate=ID)
    title = fields.String(required=True, validate=[validate.Length(max=300), _not_blank("Tiêu đề")])
    summary = fields.String(load_default="", validate=validate.Length(max=2000))
    body = fields.String(load_default="", validate=validate.Length(max=MAX_BODY_CHARS))
    channels = fields.List(fields.String(validate=CHANNEL), load_default=list,
                           validate=validate.Length(max=len(CHANNELS)))
    rebuttal = fields.Nested(RebuttalSchema, load_default=None, allow_none=True)


class UpdateItemSchema(ItemFields):
    item_id = fields.String(required=True, validate=ID)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    image_media_ids = fields.List(fields.String(validate=ID), validate=validate.Length(max=50))


class ItemFilterSchema(CommuneScoped):
    kind = fields.String(load_default=None, allow_none=True, validate=KIND)
    section_id = fields.String(load_default=None, allow_none=True, validate=ID)
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(STATUSES, error="Trạng thái phải là một trong: {choices}."))
    channel = fields.String(load_default=None, allow_none=True, validate=CHANNEL)
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    live = fields.Boolean(load_default=None, allow_none=True)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ItemActionSchema(CommuneScoped):
    item_id = fields.String(required=True, validate=ID)
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


class ApproveSchema(ItemActionSchema):
    revision = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))


class PublishSchema(CommuneScoped):
    item_id = fields.String(required=True, validate=ID)
    at = fields.AwareDateTime(load_default=None, allow_none=True, error_messages={
        "invalid": "Thời điểm xuất bản không hợp lệ (ISO 8601, có múi giờ).",
        "invalid_awareness": "Thời điểm xuất bản phải có múi giờ (ví dụ 2026-04-15T07:00:00+07:00)."})


class ItemRefSchema(CommuneScoped):
    item_id = fields.String(required=True, validate=ID)


class AudioUploadSchema(Typed):
    sniff = staticmethod(sniff_audio)
    allowed_vi = "âm thanh MP3, WAV, OGG hoặc M4A"

    commune_id = fields.String(load_default=None, allow_none=True)
    item_id = fields.String(required=True, validate=ID)
    content_b64 = Base64(MAX_AUDIO_BYTES, required=True)


class SectionCreateSchema(CommuneScoped):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))

    @validates("name")
    def not_blank(self, value, **kwargs):
        _not_blank("Tên chuyên mục")(value)


class SectionRenameSchema(SectionCreateSchema):
    section_id = fields.String(required=True, validate=ID)


class SectionRefSchema(CommuneScoped):
    section_id = fields.String(required=True, validate=ID)
