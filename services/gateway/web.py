"""Small HTTP helpers shared by the API and the console: JSON in and out,
query strings, redirects, cookies."""
import json
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Response

from shared.errors import InvalidInput

from services.gateway.errors import InvalidJson, UnsupportedMediaType

JSON_MIMETYPE = "application/json"
# a plan's text is at most 2 MB (the tasks service's limit), UTF-8 up to twice that
MAX_BODY_BYTES = 4 * 1024 * 1024


def json_response(payload, status=200, headers=None):
    body = json.dumps(payload, ensure_ascii=False)
    return Response(body, status=status, headers=headers, content_type=f"{JSON_MIMETYPE}; charset=utf-8")


def read_json(request):
    """The request body as a JSON object, or a readable 4xx error."""
    if request.mimetype != JSON_MIMETYPE:
        raise UnsupportedMediaType("Dữ liệu gửi lên phải có Content-Type: application/json.")
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidJson(f"Nội dung gửi lên không phải JSON hợp lệ: {err}.") from err
    if not isinstance(data, dict):
        raise InvalidInput("Dữ liệu gửi lên phải là một đối tượng JSON.")
    return data


def query(request):
    """Query parameters as a plain dict (the first of repeated ones), empty values dropped."""
    return {key: value for key, value in request.args.items() if value.strip()}


def safe_next(target, default="/"):
    """A redirect target on this site only: a path, never another host."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def current_path(request):
    """The path and query of a request, for ``next=`` links."""
    query_string = request.query_string.decode("latin-1")
    return request.path + (f"?{query_string}" if query_string else "")


def redirect(location, status=303):
    return Response("", status=status, headers={"Location": location})


def login_redirect(request):
    return redirect(f"/login?next={quote(current_path(request), safe='')}")


def set_cookie(response, name, value, max_age, secure, http_only=True):
    response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=http_only, samesite="Lax")


def delete_cookie(response, name, secure):
    response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
