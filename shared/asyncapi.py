"""The AsyncAPI 3.0 description of every event TinXã publishes, generated
from ``CATALOGUE`` and its marshmallow schemas (``shared/events.py``), served
by the gateway at ``GET /api/asyncapi.json``.

The marshmallow → JSON Schema converter knows only the field types and
validators the event schemas use; anything else raises ``UnsupportedField``
so a new type is described on purpose, not skipped.
"""
import inspect

from marshmallow import RAISE, fields, missing, validate

from shared.events import CATALOGUE

AMQP_BINDING_VERSION = "0.3.0"
SERVER = "rabbitmq"

DESCRIPTION = (
    "Every event TinXã publishes, one message per event type. An event is a JSON object published on the "
    "topic exchange `<source>.events` (durable) of the service that produced it, with the event name as "
    "routing key; messages are persistent and published with publisher confirms. Every payload carries the "
    "envelope event_id, commune_id, occurred_at, schema_version and actor; consumers deduplicate on event_id. "
    "A plug-in subscribes by declaring its own durable queue and binding it to `<source>.events` with the "
    "event names it wants as routing keys."
)


class UnsupportedField(TypeError):
    """A schema uses a field type or validator this converter does not describe."""


def _nullable(schema):
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    nullable = dict(schema, type=[schema["type"], "null"])
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _apply(validator, schema, where):
    if isinstance(validator, validate.OneOf):
        schema["enum"] = list(validator.choices)
    elif isinstance(validator, validate.Length) and validator.equal is None:
        prefix = "Items" if schema["type"] == "array" else "Length" if schema["type"] == "string" else None
        if prefix is None:
            raise UnsupportedField(f"{where}: Length on a {schema['type']}")
        if validator.min is not None:
            schema[f"min{prefix}"] = validator.min
        if validator.max is not None:
            schema[f"max{prefix}"] = validator.max
    elif isinstance(validator, validate.Range):
        if validator.min is not None:
            schema["minimum" if validator.min_inclusive else "exclusiveMinimum"] = validator.min
        if validator.max is not None:
            schema["maximum" if validator.max_inclusive else "exclusiveMaximum"] = validator.max
    else:
        raise UnsupportedField(f"{where}: no JSON Schema for validator {type(validator).__name__}")


SCALARS = {fields.String: "string", fields.Integer: "integer", fields.Float: "number", fields.Boolean: "boolean"}


class _Converter:
    """Collects the JSON Schema of each schema class it meets, by class name."""

    def __init__(self):
        self.schemas = {}

    def schema(self, schema_class):
        """A reference to ``schema_class``'s JSON Schema, converting it on first use."""
        name = schema_class.__name__
        if name not in self.schemas:
            self.schemas[name] = None  # a placeholder: a schema nesting itself stops here
            self.schemas[name] = self._object(schema_class)
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, schema_class):
        instance = schema_class()
        where = schema_class.__name__
        properties = {name: self.field(field, f"{where}.{name}") for name, field in sorted(instance.fields.items())}
        described = {"type": "object", "properties": properties,
                     "required": sorted(name for name, field in instance.fields.items() if field.required),
                     "additionalProperties": instance.unknown != RAISE}
        if schema_class.__doc__:
            described["description"] = " ".join(inspect.cleandoc(schema_class.__doc__).split())
        return described

    def field(self, field, where):
        kind = type(field)
        if kind in SCALARS:
            schema = {"type": SCALARS[kind]}
        elif kind is fields.List:
            schema = {"type": "array", "items": self.field(field.inner, f"{where}[]")}
        elif kind is fields.Dict:
            if field.key_field is not None and type(field.key_field) is not fields.String:
                raise UnsupportedField(f"{where}: JSON object keys are strings, not {type(field.key_field).__name__}")
            schema = {"type": "object"}
            if field.key_field is not None:
                schema["propertyNames"] = self.field(field.key_field, f"{where}{{key}}")
            if field.value_field is not None:
                schema["additionalProperties"] = self.field(field.value_field, f"{where}{{}}")
        elif kind is fields.Nested and isinstance(field.nested, type):
            schema = self.schema(field.nested)
            if field.many:
                schema = {"type": "array", "items": schema}
        else:
            raise UnsupportedField(f"{where}: no JSON Schema for marshmallow field {kind.__name__}")
        for validator in field.validators:
            if "$ref" in schema:
                raise UnsupportedField(f"{where}: validator on a nested schema")
            _apply(validator, schema, where)
        if field.allow_none:
            schema = _nullable(schema)
        if not field.required and field.load_default is not missing and not callable(field.load_default):
            schema["default"] = field.load_default
        return schema


def _title(name):
    return name.replace("_", " ").capitalize()


def document():
    """The AsyncAPI 3.0.0 document, as a JSON-ready dict (keys sorted where the order is ours)."""
    converter = _Converter()
    channels, operations, messages = {}, {}, {}
    for source, name in sorted(CATALOGUE):
        event = CATALOGUE[(source, name)]
        key = f"{source}.{name}"
        payload = converter.schema(event.schema)
        summary = converter.schemas[event.schema.__name__].get("description", "")
        messages[key] = {
            "name": name, "title": _title(name), "summary": summary, "contentType": "application/json",
            "payload": payload,
            "bindings": {"amqp": {"contentEncoding": "utf-8", "messageType": name,
                                  "bindingVersion": AMQP_BINDING_VERSION}},
            "x-schema-version": event.version,
        }
        channels[key] = {
            "address": name,
            "title": f"{key} on {source}.events",
            "servers": [{"$ref": f"#/servers/{SERVER}"}],
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": f"{source}.events", "type": "topic", "durable": True, "autoDelete": False,
                             "vhost": "/"},
                "bindingVersion": AMQP_BINDING_VERSION,
            }},
        }
        operations[key] = {
            "action": "send",
            "title": f"{source} publishes {name}",
            "summary": summary,
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
            "x-producer": source,
            "x-consumers": sorted(event.consumers),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "TinXã events", "version": "1.0.0", "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {SERVER: {
            "host": "rabbitmq:5672", "protocol": "amqp", "protocolVersion": "0.9.1",
            "description": "The RabbitMQ broker every service publishes to and consumes from "
                           "(docker-compose service `rabbitmq`; set the AMQP URI per deployment).",
        }},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(converter.schemas.items()))},
    }
