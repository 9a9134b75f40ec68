"""The _template service's boundary schemas (marshmallow 4): what its RPCs
accept. Messages are Vietnamese first, as the console shows them; unknown
fields are refused.
"""
from marshmallow import ValidationError, fields, post_load, validate

from shared.schemas import CommuneScoped, messages

ID = validate.Length(min=1, max=100, error="mã phải từ 1 đến 100 ký tự")
MAX_TEXT = 4000


SCHEMA_MESSAGES = {"unknown": "trường này không được hỗ trợ", "type": "dữ liệu phải là một đối tượng JSON"}


class _Scoped(CommuneScoped):
    error_messages = SCHEMA_MESSAGES


class EntryFields(_Scoped):
    """An entry as ``save_entry`` receives it."""

    title = fields.String(required=True, error_messages=messages("tiêu đề"),
                          validate=validate.Length(min=1, max=200, error="tiêu đề từ 1 đến 200 ký tự"))
    text = fields.String(load_default="", error_messages=messages("nội dung"),
                         validate=validate.Length(max=MAX_TEXT, error=f"nội dung tối đa {MAX_TEXT} ký tự"))

    @post_load
    def _trimmed(self, data, **kwargs):
        data["title"] = data["title"].strip()
        if not data["title"]:
            raise ValidationError("tiêu đề không được để trống", "title")
        data["text"] = data["text"].strip()
        return data


class CommuneRef(_Scoped):
    """An RPC naming only its commune."""


class EntryRef(_Scoped):
    """An RPC naming one entry."""

    entry_id = fields.String(required=True, validate=ID, error_messages=messages("mã bản ghi"))
