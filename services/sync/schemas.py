"""marshmallow schemas at the sync service's boundary (RPC arguments)."""
from marshmallow import fields, validate

from services.sync.records import DOWN_STREAMS, UP_STREAMS
from shared.schemas import CommuneScoped, messages


class StreamRequest(CommuneScoped):
    """An operator's command on one stream (pause, resume)."""

    stream = fields.String(required=True, error_messages=messages("luồng"), validate=validate.OneOf(
        UP_STREAMS + DOWN_STREAMS, error="luồng phải là một trong: {choices}"))
