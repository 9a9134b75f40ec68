"""marshmallow schemas at the gateway's boundary: HTTP bodies and queries,
and the RPC arguments of the district tools. Unknown fields are refused, so a
misspelt field is an error rather than silently ignored."""
import unicodedata

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from shared.context import ROLES

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
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


class EnsureUserSchema(_Username):
    """A district tool's account description (no password: one is generated)."""

    username = fields.String(required=True, validate=USERNAME)
    display_name = _text(120, required=True)
    roles = _roles()
    commune_id = _commune_id()
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))
    active = fields.Boolean(load_default=True)


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
    text = fields.String(required=True, validate=validate.Length(min=1, max=2_000_000))
    source_name = fields.String(load_default="", validate=validate.Length(max=200))
    commune_id = _commune_id()


class StatusChangeSchema(Strict):
    """The tasks service checks the status itself; the gateway only shapes it."""

    status = _text(32, required=True)
    commune_id = _commune_id()


class CommuneQuerySchema(Strict):
    commune_id = _commune_id()


class ActivityQuerySchema(Strict):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    commune_id = _commune_id()
