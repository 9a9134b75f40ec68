"""Errors only the HTTP edge raises, beside the shared caller errors.

Each subclasses a shared class, so anything that maps the shared class (the
edge's table, metrics) treats it the same; ``code`` tells the client which
case it is.
"""
from shared.errors import Forbidden, InvalidInput, TinxaError


class InvalidJson(InvalidInput):
    """The request body is not JSON at all (malformed, or not UTF-8)."""

    code = "INVALID_JSON"


class UnsupportedMediaType(InvalidInput):
    """A JSON endpoint got another content type. Requiring
    ``application/json`` also keeps cross-site HTML forms (which cannot send
    it without a CORS preflight) away from the API."""

    code = "UNSUPPORTED_MEDIA_TYPE"


class PayloadTooLarge(InvalidInput):
    """An uploaded file is over the size limit (a body over its limit is
    refused by werkzeug, which the edge answers with the same code)."""

    code = "PAYLOAD_TOO_LARGE"


class CsrfRejected(Forbidden):
    """A cookie-authenticated write without the session's CSRF token."""

    code = "CSRF"


class RateLimited(TinxaError):
    """Too many failed logins; ``details["retry_after"]`` is in seconds."""

    code = "RATE_LIMITED"


class ServiceUnavailable(TinxaError):
    """Another service did not answer in time."""

    code = "SERVICE_UNAVAILABLE"
