"""Small HTTP helpers shared by the API and the console: JSON in and out,
query strings, redirects, cookies, file downloads."""
import json
import unicodedata
from urllib.parse import quote, urlsplit

from werkzeug.wrappers import Response

from shared.errors import InvalidInput

from services.gateway.errors import InvalidJson, UnsupportedMediaType

JSON_MIMETYPE = "application/json"
# a plan's text is at most 2 MB (the tasks service's limit), UTF-8 up to twice that
MAX_BODY_BYTES = 4 * 1024 * 1024
# routes that take files: five pieces of evidence of 10 MB each, and the form around them
MAX_UPLOAD_BODY_BYTES = 60 * 1024 * 1024
# one form field of an upload route: the console's "apply" form carries a
# previewed .docx back as base64 (10 MB of file is 13.4 MB of text)
MAX_FORM_FIELD_BYTES = 16 * 1024 * 1024
MULTIPART_MIMETYPE = "multipart/form-data"
# what anyone may read (the public feeds, pages and media): short, so a
# withdrawn item leaves caches within minutes
PUBLIC_CACHE = "public, max-age=300"


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


def is_multipart(request):
    return request.mimetype == MULTIPART_MIMETYPE


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


def content_disposition(filename, inline=False):
    """A Content-Disposition naming ``filename`` safely: no quotes, slashes or
    control characters; an ASCII ``filename`` for old clients and the
    Vietnamese name in ``filename*`` (RFC 6266)."""
    name = "".join(ch for ch in unicodedata.normalize("NFC", filename or "")
                   if ch.isprintable() and ch not in '"\\/;').strip(" .") or "tep"
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    fallback = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.() ") else "_"
                       for ch in folded if not unicodedata.combining(ch))
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def download(content, filename, content_type, inline=False):
    """A file as a response; the edge adds ``Cache-Control: no-store``."""
    return Response(content, content_type=content_type,
                    headers={"Content-Disposition": content_disposition(filename, inline)})
