"""Files people send and fetch. Uploads (multipart/form-data) are read
within the gateway's limits and shaped for the tasks and content services,
which receive them as base64 and check what they contain (a Word table, a
real PDF, an image whose bytes match its declared type …); the gateway checks
only what the HTTP edge knows: how big a file is, how many there are, and
what its name says it is. Downloads (evidence, reports, media) go out with a
safe name and a type the browser may not reinterpret.
"""
import base64
import mimetypes
import unicodedata

from shared.errors import InvalidInput

from services.gateway.errors import PayloadTooLarge
from services.gateway.web import PUBLIC_CACHE, download

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_FILES = 5
# the content service's limits (services/content/API.md)
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_AUDIO_BYTES = 20 * 1024 * 1024
MAX_IMAGES = 10
DOCX_SUFFIX = ".docx"
OCTET_STREAM = "application/octet-stream"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# browsers label files from the extension, and some know no Office types
_OFFICE_TYPES = {".docx": DOCX_TYPE, ".xlsx": XLSX_TYPE}
# Evidence is served with its own type only when a browser cannot run it
# (no HTML, no SVG); PDFs and photos open in the browser, the rest downloads.
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
DOWNLOAD_TYPES = INLINE_TYPES | {DOCX_TYPE, XLSX_TYPE}
# A content item's media play or show in the page (images, the audio preview);
# any other type is an attachment of no particular kind.
MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "audio/mpeg", "audio/ogg", "audio/wav",
                         "audio/mp4"})


def chosen_files(request, field):
    """The files sent in ``field``; a browser sends an empty part for a file
    input left empty, which is no file."""
    return [storage for storage in request.files.getlist(field) if storage.filename]


def file_name(storage):
    """The file's own name, without any folder a client put in front of it."""
    raw = storage.filename.replace("\\", "/").rsplit("/", 1)[-1]
    return unicodedata.normalize("NFC", raw).strip()


def read_file(storage, max_bytes=MAX_FILE_BYTES):
    """The file's bytes; PayloadTooLarge past ``max_bytes`` (read no further)."""
    content = storage.stream.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise PayloadTooLarge(
            f"Tệp «{file_name(storage)}» lớn hơn {max_bytes // (1024 * 1024)} MB.",
            {"file": file_name(storage), "max_bytes": max_bytes},
        )
    return content


def declared_type(storage):
    """The type the client declared, if it declared one: the content service
    compares it with the bytes, so a browser's generic octet-stream is no claim."""
    given = (storage.mimetype or "").lower()
    return given if given and given != OCTET_STREAM else None


def _upload(storage, max_bytes):
    return {"name": file_name(storage), "content_type": declared_type(storage),
            "content_b64": b64(read_file(storage, max_bytes))}


def image_uploads(storages):
    """A content item's new images, as the content service takes them."""
    if len(storages) > MAX_IMAGES:
        raise InvalidInput(f"Mỗi lần lưu gửi tối đa {MAX_IMAGES} ảnh.", {"images": len(storages)})
    return [_upload(storage, MAX_IMAGE_BYTES) for storage in storages]


def audio_upload(storages):
    """A recording of a bulletin (one file), as the content service takes it."""
    if len(storages) != 1:
        raise InvalidInput("Hãy chọn một tệp ghi âm (MP3, WAV, OGG hoặc M4A, tối đa 20 MB).",
                           {"files": len(storages)})
    return _upload(storages[0], MAX_AUDIO_BYTES)


def b64(content):
    return base64.b64encode(content).decode("ascii")


def docx_source(storage):
    """A plan document upload as ``(docx_b64, file name)``; only .docx is
    taken (an old .doc or a PDF has no table the import can read)."""
    name = file_name(storage)
    if not name.lower().endswith(DOCX_SUFFIX):
        raise InvalidInput(
            f"Tệp «{name}» không phải tài liệu Word .docx. Hãy lưu kế hoạch dưới dạng .docx "
            "(Word: Tệp → Lưu thành → Tài liệu Word) hoặc dán nội dung văn bản.",
            {"file": name},
        )
    return b64(read_file(storage)), name


def content_type_of(storage):
    """The type the client gave, else the one its name implies."""
    name = file_name(storage).lower()
    given = (storage.mimetype or "").lower()
    if given and given != OCTET_STREAM:
        return given
    suffix = name[name.rfind("."):] if "." in name else ""
    return _OFFICE_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or OCTET_STREAM


def evidence_files(storages):
    """Evidence for a progress update, as the tasks service takes it."""
    if len(storages) > MAX_EVIDENCE_FILES:
        raise InvalidInput(f"Mỗi lần cập nhật gửi tối đa {MAX_EVIDENCE_FILES} tệp minh chứng.",
                           {"files": len(storages)})
    return [{"name": file_name(storage), "content_type": content_type_of(storage),
             "content_b64": b64(read_file(storage))} for storage in storages]


def evidence_download(evidence):
    """A piece of evidence (``{name, content_type, content_b64}``) as a response."""
    given = (evidence.get("content_type") or "").lower()
    content_type = given if given in DOWNLOAD_TYPES else OCTET_STREAM
    return download(base64.b64decode(evidence["content_b64"]), evidence["name"], content_type,
                    inline=content_type in INLINE_TYPES)


def media_download(media, public=False):
    """A content item's image or audio (``Media`` + ``content_b64``), shown
    in the page. Public media may be cached a little by browsers and proxies;
    a signed-in reader's are not stored (the edge's default)."""
    given = (media.get("content_type") or "").lower()
    content_type = given if given in MEDIA_TYPES else OCTET_STREAM
    response = download(base64.b64decode(media["content_b64"]), media["name"], content_type,
                        inline=content_type in MEDIA_TYPES)
    if public:
        response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def report_download(report):
    """A generated report (``{filename, content_type, content_b64}``), always as an attachment."""
    return download(base64.b64decode(report["content_b64"]), report["filename"], report["content_type"])
