"""marshmallow schemas at the tasks service's boundary (RPC arguments)."""
from marshmallow import RAISE, Schema, fields, validate

from services.tasks.domain import STATUSES


class ImportPlanSchema(Schema):
    class Meta:
        unknown = RAISE

    text = fields.String(required=True, validate=validate.Length(min=1, max=2_000_000))
    source_name = fields.String(load_default="", validate=validate.Length(max=200))
    commune_id = fields.String(load_default=None, allow_none=True)


class TaskFilterSchema(Schema):
    class Meta:
        unknown = RAISE

    commune_id = fields.String(load_default=None, allow_none=True)
    plan_id = fields.String(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(STATUSES, error="Trạng thái phải là một trong: {choices}."))
    part = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10))
    agency = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    q = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ChangeStatusSchema(Schema):
    class Meta:
        unknown = RAISE

    task_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    status = fields.String(required=True)
    commune_id = fields.String(load_default=None, allow_none=True)
