"""Request bodies as the tasks service's arguments: JSON from API clients,
multipart forms with files from API clients and the console, and the
console's own form encodings (a period chosen as "quarter:2026:4", a
previewed plan carried back as base64). Validation is the schemas'; this
module only gathers the fields and files they check.
"""
import base64
import binascii

from shared.errors import InvalidInput, load

from services.gateway import auth, files, schemas
from services.gateway.errors import UnsupportedMediaType
from services.gateway.web import JSON_MIMETYPE, is_multipart, read_json


def form_values(request):
    """A form's fields as a plain dict (the first of repeated ones), without
    empty ones and the CSRF token; line breaks as "\\n" (browsers send CRLF)."""
    return {key: value.replace("\r\n", "\n") for key, value in request.form.items()
            if key != auth.CSRF_FIELD and value.strip()}


def _json_or_multipart(request):
    if request.mimetype != JSON_MIMETYPE and not is_multipart(request):
        raise UnsupportedMediaType("Dữ liệu gửi lên phải là application/json hoặc multipart/form-data.")
    return is_multipart(request)


def plan_source(request):
    """A plan to preview or import: ``{text | docx_b64, source_name, plan_id,
    commune_id}`` from JSON (text) or a multipart form (a .docx ``file``, or
    pasted ``text``; a file's name is its source name unless one is given)."""
    if not _json_or_multipart(request):
        return load(schemas.ImportPlanSchema, read_json(request))
    data = load(schemas.ImportPlanFormSchema, form_values(request))
    chosen = files.chosen_files(request, "file")
    if len(chosen) > 1:
        raise InvalidInput("Mỗi lần chỉ nhập một tệp kế hoạch.")
    if chosen and data["text"]:
        raise InvalidInput("Chọn một cách: tải tệp .docx lên hoặc dán nội dung kế hoạch, không dùng cả hai.")
    if chosen:
        docx_b64, name = files.docx_source(chosen[0])
        return {**{k: v for k, v in data.items() if k != "text"}, "docx_b64": docx_b64,
                "source_name": data["source_name"] or name}
    if not data["text"]:
        raise InvalidInput("Hãy chọn tệp kế hoạch (.docx) hoặc dán nội dung kế hoạch.")
    return data


def applied_source(request):
    """The plan the console's "apply" form carries back after its preview."""
    data = load(schemas.ApplyImportFormSchema, form_values(request))
    source = {"source_name": data["source_name"], "plan_id": data["plan_id"]}
    if data["content_kind"] == "docx":
        return dict(source, docx_b64=data["content_b64"])
    try:
        text = base64.b64decode(data["content_b64"], validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as err:
        raise InvalidInput("Nội dung kế hoạch gửi lại bị hỏng; hãy xem trước lại rồi áp dụng.") from err
    return dict(source, text=text)


def carried_content(source):
    """``(content_kind, content_b64)`` for the preview page's "apply" form."""
    if source.get("docx_b64"):
        return "docx", source["docx_b64"]
    return "text", base64.b64encode(source["text"].encode("utf-8")).decode("ascii")


def progress_update(request):
    """A progress report: ``{text, links, files, commune_id}`` from JSON, or
    from a form whose ``links`` are repeated or one per line and whose
    ``files`` are the evidence."""
    if not _json_or_multipart(request):
        return dict(load(schemas.ProgressUpdateSchema, read_json(request)), files=[])
    fields = form_values(request)
    fields["links"] = [link for value in request.form.getlist("links") for link in value.split()]
    data = load(schemas.ProgressUpdateSchema, fields)
    return dict(data, files=files.evidence_files(files.chosen_files(request, "files")))


def report_options(values):
    """The report schema's input from the console's form, whose period select
    says "quarter:2026:4", "half_year:2026:1", "year:2026" or "adhoc"."""
    values = dict(values)
    kind, *rest = values.pop("period", "").split(":")
    if kind:
        values["period"] = kind
    values.update(zip(("year", "number"), rest))
    if kind != "adhoc":
        values.pop("start", None)
        values.pop("end", None)
    return load(schemas.ReportQuerySchema, values)


def report_request(plan_id, options, commune):
    """What ``generate_report`` takes, from the loaded ``ReportQuerySchema``."""
    period = {"kind": options["period"], "year": options["year"], "number": options["number"],
              "start": options["start"], "end": options["end"]}
    return {
        "plan_id": plan_id,
        "period": {key: value for key, value in period.items() if value is not None},
        "format": options["format"],
        "number": options["doc_number"],
        "proposals": options["proposals"],
        "signer_name": options["signer_name"],
        "commune": {"name": commune["name"], "province": commune["province"]},
        "commune_id": commune["_id"],
    }
