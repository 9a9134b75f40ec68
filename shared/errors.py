"""Caller errors, shared by every service so both edges can map them by name.

Services raise these and list them in ``@rpc(expected_exceptions=...)``. They
are registered with nameko (``deserialize_to_instance``), so the caller of an
RPC gets the same class back — message *and* ``details`` (what the console
needs to show, e.g. the devices an emergency would interrupt; nameko turns
the details' numbers and booleans into strings on the way). The HTTP and gRPC
edges map them to a status code. Messages are written for a commune officer:
Vietnamese first.
"""
from nameko.exceptions import deserialize_to_instance



class TinxaError(Exception):
    """Base class: ``code`` is the machine-readable name sent to clients."""

    code = "ERROR"

    def __init__(self, message, details=None):
        # both in args: nameko sends args and rebuilds the error from them
        super().__init__(message, details or {})
        self.message = message
        self.details = details or {}

    def __str__(self):
        return self.message


class InvalidInput(TinxaError):
    code = "INVALID_INPUT"


class NotFound(TinxaError):
    code = "NOT_FOUND"


class Forbidden(TinxaError):
    code = "FORBIDDEN"


class Unauthenticated(TinxaError):
    code = "UNAUTHENTICATED"


class Conflict(TinxaError):
    code = "CONFLICT"


CALLER_ERRORS = (InvalidInput, NotFound, Forbidden, Unauthenticated, Conflict)
for _error in CALLER_ERRORS:
    deserialize_to_instance(_error)

BY_NAME = {cls.__name__: cls for cls in CALLER_ERRORS}


def validation_message(messages):
    """Flatten marshmallow's nested error dict into one readable sentence."""
    parts = []

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                walk(prefix, inner)
        else:
            parts.append(f"{prefix}: {value}" if prefix else str(value))

    walk("", messages)
    return "Dữ liệu không hợp lệ — " + "; ".join(parts)


def load(schema_class, data):
    """Load boundary input with a marshmallow schema; a readable InvalidInput
    (listing every bad field) instead of ValidationError."""
    from marshmallow import ValidationError

    if not isinstance(data, dict):
        raise InvalidInput("Dữ liệu gửi lên phải là một đối tượng JSON.")
    try:
        return schema_class().load(data)
    except ValidationError as err:
        raise InvalidInput(validation_message(err.messages), {"fields": err.messages}) from err
