"""marshmallow pieces every service's boundary schemas use."""
import base64
import binascii

from marshmallow import RAISE, Schema, ValidationError, fields


class Base64(fields.String):
    """Bytes sent as a base64 string (files over RPC); loads to bytes."""

    def __init__(self, max_bytes, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def _too_large(self):
        return ValidationError(f"Tệp quá lớn (tối đa {self.max_bytes // (1024 * 1024)} MB).")

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        # a size check before decoding, so an oversized upload costs no decode
        if len(text) > (self.max_bytes * 4) // 3 + 8:
            raise self._too_large()
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ValidationError("Nội dung tệp không đúng mã hóa base64.") from err
        if len(raw) > self.max_bytes:
            raise self._too_large()
        if not raw:
            raise ValidationError("Tệp rỗng.")
        return raw


class CommuneScoped(Schema):
    """A request that refuses unknown fields and may name its commune (only a
    district admin may name another than their own: ``Caller.commune_for``)."""

    class Meta:
        unknown = RAISE

    commune_id = fields.String(load_default=None, allow_none=True)


def messages(what):
    """marshmallow's generic messages, in Vietnamese and about ``what``."""
    return {
        "required": f"thiếu {what}",
        "null": f"{what} không được để trống",
        "invalid": f"{what} không hợp lệ",
        "special": f"{what} không hợp lệ",
        "too_large": f"{what} quá lớn",
        "validator_failed": f"{what} không hợp lệ",
        "format": f"{what} không hợp lệ",
        "invalid_awareness": f"{what} phải có múi giờ (ví dụ 2026-11-26T07:00:00+07:00)",
    }
