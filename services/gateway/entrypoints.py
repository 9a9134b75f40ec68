"""The HTTP edge: nameko ``@http`` entrypoints with one error-mapping table
and a request id on every response.

``api`` routes answer errors with JSON ``{"error": CODE, "message": "…"}``;
``page`` routes (the console) answer with an HTML page, or a redirect to the
login page when nobody is signed in. Both read the same table, which maps the
shared caller errors whether raised here or arriving from another service as
nameko's ``RemoteError`` (whose ``exc_type`` is the class name). Anything
else is a 500 with a generic message and the request id, never a traceback.

Each request's id (the client's ``X-Request-Id`` if sane, else a new one) is
the ``correlation_id`` of the nameko context data, so every service's logs of
the calls it causes carry it.
"""
import logging
import re
import uuid
from dataclasses import dataclass, field
from functools import partial

from eventlet.event import Event
from nameko.exceptions import RemoteError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from shared.errors import BY_NAME, Conflict, Forbidden, InvalidInput, NotFound, TinxaError, Unauthenticated
from shared.observability import CORRELATION_KEY, correlation_id

from services.gateway import console
from services.gateway.errors import PayloadTooLarge, RateLimited, ServiceUnavailable, UnsupportedMediaType
from services.gateway.web import (
    MAX_BODY_BYTES, MAX_FORM_FIELD_BYTES, MAX_UPLOAD_BODY_BYTES, is_multipart, json_response, login_redirect,
)

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

# The error-mapping table. Subclasses map through their base (InvalidJson is
# an InvalidInput, CsrfRejected a Forbidden) and keep their own code.
STATUS_BY_ERROR = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    RateLimited: 429,
    ServiceUnavailable: 503,
}
# werkzeug's own errors: no route, wrong method, body over the limit
HTTP_ERRORS = {
    404: ("NOT_FOUND", "Không tìm thấy địa chỉ này."),
    405: ("METHOD_NOT_ALLOWED", "Địa chỉ này không nhận phương thức yêu cầu."),
    413: ("PAYLOAD_TOO_LARGE", "Dữ liệu gửi lên quá lớn."),
}
INTERNAL_MESSAGE = (
    "Hệ thống gặp lỗi không mong muốn. Vui lòng thử lại sau; nếu lỗi lặp lại, "
    "báo quản trị viên kèm mã yêu cầu {request_id}."
)
# On every response. Pages carry no scripts; inline style attributes draw the progress bars.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": ("default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
}
# Caller errors are logged as warnings, not as failures of the gateway; a
# RemoteError was logged in full by the service that raised it.
EXPECTED_EXCEPTIONS = (TinxaError, RemoteError)


@dataclass(frozen=True)
class ErrorReply:
    status: int
    code: str
    message: str
    details: dict = field(default_factory=dict)


def status_of(error_class):
    for cls in error_class.__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return None


def describe(exc, request_id):
    """The reply for an exception, by the table."""
    if isinstance(exc, RemoteError) and exc.exc_type in BY_NAME:
        error_class = BY_NAME[exc.exc_type]
        return ErrorReply(status_of(error_class), error_class.code, exc.value or error_class.__name__)
    if isinstance(exc, TinxaError) and status_of(type(exc)):
        return ErrorReply(status_of(type(exc)), exc.code, exc.message, exc.details)
    if isinstance(exc, HTTPException) and exc.code in HTTP_ERRORS:
        code, message = HTTP_ERRORS[exc.code]
        return ErrorReply(exc.code, code, message)
    return ErrorReply(500, "INTERNAL", INTERNAL_MESSAGE.format(request_id=request_id))


def request_id_of(request):
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def json_error(request, reply, request_id):
    body = {"error": reply.code, "message": reply.message}
    if reply.details:
        body["details"] = reply.details
    if reply.status >= 500:
        body["request_id"] = request_id
    headers = {}
    if reply.status == 429 and reply.details.get("retry_after"):
        headers["Retry-After"] = str(reply.details["retry_after"])
    return json_response(body, reply.status, headers)


def page_error(request, reply, request_id):
    if reply.status == 401:
        return login_redirect(request)
    return console.error_page(request, reply, request_id)


def _finish(response, request_id):
    """Headers every response carries; only what says otherwise (the
    stylesheet) is cached, since pages and API answers are per person."""
    response.headers[REQUEST_ID_HEADER] = request_id
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _reply_for(request, exc, request_id, render):
    reply = describe(exc, request_id)
    if reply.status >= 500:
        log.error("request %s %s failed: %r", request.method, request.path, exc)
    return _finish(render(request, reply, request_id), request_id)


class GatewayWsgiApp(WsgiApp):
    """nameko's app, with unrouted requests answered like routed ones
    (JSON under /api, the console's page elsewhere) instead of werkzeug's HTML."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            if exc.code < 400:  # werkzeug's redirects, such as a missing trailing slash
                return exc(environ, start_response)
            render = json_error if request.path.startswith("/api/") else page_error
            return _reply_for(request, exc, request_id_of(request), render)(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)


class GatewayWebServer(WebServer):
    def get_wsgi_app(self):
        return GatewayWsgiApp(self)


class ApiEntrypoint(HttpRequestHandler):
    """An HTTP JSON route of the API. ``uploads=True`` lets the route take
    multipart/form-data bodies up to ``MAX_UPLOAD_BODY_BYTES``; every other
    body stays within ``MAX_BODY_BYTES``."""

    server = GatewayWebServer()
    render_error = staticmethod(json_error)

    def __init__(self, method, url, uploads=False, **kwargs):
        kwargs.setdefault("expected_exceptions", EXPECTED_EXCEPTIONS)
        self.uploads = uploads
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        if self.uploads and is_multipart(request):
            request.max_content_length = MAX_UPLOAD_BODY_BYTES
            request.max_form_memory_size = MAX_FORM_FIELD_BYTES
        else:
            request.max_content_length = MAX_BODY_BYTES
        request_id = request_id_of(request)
        correlation_id.set(request_id)  # for the access log line, written outside the worker
        try:
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            done = Event()
            self.container.spawn_worker(
                self, args, kwargs,
                context_data={CORRELATION_KEY: request_id},
                handle_result=partial(self.handle_result, done),
            )
            response = self.response_from_result(done.wait())
        except Exception as exc:  # every failure becomes a reply of the table
            return _reply_for(request, exc, request_id, self.render_error)
        return _finish(response, request_id)


class PageEntrypoint(ApiEntrypoint):
    """An HTML route of the console."""

    render_error = staticmethod(page_error)


api = ApiEntrypoint.decorator
page = PageEntrypoint.decorator


def form_refusal(err):
    """The reply a console form shows for a caller error; a server error is raised on."""
    reply = describe(err, request_id="")
    if reply.status >= 500:
        raise err
    return reply
