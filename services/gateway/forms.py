"""Request bodies as the tasks, content, telemetry and broadcast services' arguments: JSON from
API clients, multipart forms with files from API clients and the console, and
the console's own form encodings (a period chosen as "quarter:2026:4", a
previewed plan carried back as base64, a publication time in Vietnam's clock,
a programme's playlist as rows and its schedule from a builder, a CAP alert).
Validation is the schemas'; this module only gathers the fields and files
they check.
"""
import base64
import binascii
from datetime import datetime

from shared.errors import InvalidInput, load
from shared.timeutil import VIETNAM

from services.gateway import auth, broadcast_views, files, schemas
from services.gateway.errors import PayloadTooLarge, UnsupportedMediaType
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


# --- content items ---------------------------------------------------------------------------

_ITEM_LISTS = ("channels", "image_media_ids")
_ITEM_TEXTS = ("title", "summary", "body", "rebuttal_url", "rebuttal_claim")


def _item_form_fields(request, listed):
    """A content item form's fields. A text field sent empty is kept (it
    clears the summary, or is refused as an empty title); a select or id sent
    empty is left out. Repeated fields are lists: ``listed`` ones are always
    sent (the console's form lists every channel and image, so none checked
    means none), others only when present."""
    fields = {}
    for key, value in request.form.items():
        if key in (auth.CSRF_FIELD, *_ITEM_LISTS) or key not in _ITEM_TEXTS and not value.strip():
            continue
        fields[key] = value.replace("\r\n", "\n")
    for key in _ITEM_LISTS:
        if key in request.form or key in listed:
            fields[key] = [value for value in request.form.getlist(key) if value.strip()]
    return fields


def _rebuttal(fields):
    """The flat rebuttal fields of a form as the content service's ``rebuttal``."""
    url, claim = fields.pop("rebuttal_url", None), fields.pop("rebuttal_claim", None)
    if url is None and claim is None:
        return fields
    return dict(fields, rebuttal={"url": (url.strip() or None) if url else None, "claim": (claim or "").strip()})


def content_item(request, update=False):
    """A content item to create or an edit of one: JSON, or a multipart form
    whose ``images`` parts are new images (sent on as base64)."""
    if not _json_or_multipart(request):
        return load(schemas.ContentItemUpdateSchema if update else schemas.ContentItemSchema, read_json(request))
    schema = schemas.ContentItemUpdateFormSchema if update else schemas.ContentItemFormSchema
    data = _rebuttal(load(schema, _item_form_fields(request, listed=())))
    return dict(data, new_images=files.image_uploads(files.chosen_files(request, "images")))


def content_editor(request, update=False):
    """The console editor's form as ``content_item`` shapes it. The form
    lists every channel and kept image, marks images to drop in
    ``remove_image_ids``, and always holds the rebuttal fields (hidden unless
    the kind is a rebuttal): for other kinds they are no rebuttal at all. A
    new item without channels gets its kind's."""
    fields = _item_form_fields(request, listed=_ITEM_LISTS if update else ())
    removed = set(request.form.getlist("remove_image_ids"))
    fields.pop("remove_image_ids", None)
    fields.pop("then", None)
    if update:
        fields["image_media_ids"] = [m for m in fields["image_media_ids"] if m not in removed]
    else:
        fields.pop("image_media_ids", None)
    if fields.get("kind") != "rebuttal":
        fields.pop("rebuttal_url", None)
        fields.pop("rebuttal_claim", None)
    schema = schemas.ContentItemUpdateFormSchema if update else schemas.ContentItemFormSchema
    data = _rebuttal(load(schema, fields))
    if "rebuttal" not in data and update:
        data["rebuttal"] = None
    return dict(data, new_images=files.image_uploads(files.chosen_files(request, "images")))


def editor_values(request):
    """What the editor's form held, to show it again after a refusal."""
    return {"kind": request.form.get("kind", ""), "section_id": request.form.get("section_id", ""),
            **{key: request.form.get(key, "").replace("\r\n", "\n") for key in _ITEM_TEXTS},
            "channels": request.form.getlist("channels"), "image_media_ids": request.form.getlist("image_media_ids"),
            "remove_image_ids": request.form.getlist("remove_image_ids")}


def audio_recording(request):
    """A recorded bulletin from a multipart form (``file``)."""
    if not is_multipart(request):
        raise UnsupportedMediaType("Tệp ghi âm gửi lên dưới dạng multipart/form-data (trường «file»).")
    data = load(schemas.AudioFormSchema, form_values(request))
    return dict(data, **files.audio_upload(files.chosen_files(request, "file")))


def publication_time(value):
    """The console's "publish at" (a datetime-local field: Vietnam's wall
    clock, "2026-04-15T07:30") as ISO 8601 with its offset; None for now."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as err:
        raise InvalidInput("Thời điểm xuất bản không hợp lệ (ngày và giờ, ví dụ 15/04/2026 07:30).") from err
    return moment.replace(tzinfo=VIETNAM).isoformat() if moment.tzinfo is None else moment.isoformat()


# --- devices ---------------------------------------------------------------------------------

MAX_CSV_BYTES = 2 * 1024 * 1024
# what the console's edit form clears when a field is left empty: texts
# become empty, a village, location or date none
_DEVICE_TEXTS = ("name", "model", "firmware")
_DEVICE_NULLABLE = ("village", "lat", "lon", "installed_on")


def csv_text(content, name):
    """An uploaded CSV's text: UTF-8 (a spreadsheet's byte-order mark is kept
    for the telemetry service, which allows it)."""
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"Tệp «{name}» không phải văn bản UTF-8. Trong Excel, chọn Lưu thành → "
                           "CSV UTF-8 (phân cách bằng dấu phẩy).", {"file": name}) from err


def device_import(request):
    """A device list to preview or import: ``{csv, confirm, commune_id}`` from
    JSON, or from a multipart form whose ``file`` is the CSV (or whose ``csv``
    field holds it pasted)."""
    if not _json_or_multipart(request):
        return load(schemas.DeviceImportSchema, read_json(request))
    data = load(schemas.DeviceImportFormSchema, form_values(request))
    chosen = files.chosen_files(request, "file")
    if len(chosen) > 1:
        raise InvalidInput("Mỗi lần chỉ nhập một tệp CSV.")
    if chosen and data["csv"]:
        raise InvalidInput("Chọn một cách: tải tệp CSV lên hoặc dán nội dung, không dùng cả hai.")
    if chosen:
        return dict(data, csv=csv_text(files.read_file(chosen[0], MAX_CSV_BYTES), files.file_name(chosen[0])))
    if not data["csv"]:
        raise InvalidInput("Hãy chọn tệp CSV danh sách thiết bị hoặc dán nội dung của nó.")
    return data


def carried_csv(text):
    """A previewed CSV as the confirm form carries it (base64 keeps its line breaks as they were)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def confirmed_csv(value):
    """The CSV the console's confirm form carried back after its preview."""
    try:
        return base64.b64decode(value or "", validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as err:
        raise InvalidInput("Nội dung danh sách thiết bị gửi lại bị hỏng; hãy xem trước lại rồi xác nhận.") from err


def device_changes(request):
    """The console's edit form as changes: every field it shows is sent, and
    one left empty is cleared (a device moved out of a village, a location
    removed); an empty timeout keeps the current one."""
    fields = {key: request.form[key].strip() for key in _DEVICE_TEXTS if key in request.form}
    fields.update({key: request.form[key].strip() or None for key in _DEVICE_NULLABLE if key in request.form})
    if request.form.get("presence_timeout_s", "").strip():
        fields["presence_timeout_s"] = request.form["presence_timeout_s"].strip()
    changes = load(schemas.DeviceUpdateSchema, fields)
    changes.pop("commune_id")
    return changes


# the test commands the device page offers (shared/devicelink.py has every kind)
CONSOLE_COMMANDS = ("set_volume", "show_text")


def device_command(values):
    """A test command from the device page: its ``kind`` and the one field
    each kind needs (the volume 0–100, or the text to show)."""
    kind = values.get("kind")
    if kind not in CONSOLE_COMMANDS:
        raise InvalidInput("Hãy chọn lệnh thử: đặt âm lượng hoặc hiện dòng chữ.")
    if kind == "show_text":
        if not values.get("text"):
            raise InvalidInput("Hãy nhập dòng chữ cần hiện trên bảng tin.")
        return {"kind": kind, "params": {"text": values["text"]}}
    try:
        volume = int(values.get("volume", ""))
    except ValueError:
        volume = None
    if volume is None or not 0 <= volume <= 100:
        raise InvalidInput("Âm lượng phải là số nguyên từ 0 đến 100.")
    return {"kind": kind, "params": {"volume": volume}}


def alarm_rule_changes(request):
    """An alarm rule's form as changes: the checkbox is sent only when ticked;
    an empty threshold keeps the current one; a decimal comma is a point."""
    fields = {"enabled": "enabled" in request.form}
    if request.form.get("severity", "").strip():
        fields["severity"] = request.form["severity"].strip()
    if request.form.get("threshold", "").strip():
        fields["threshold"] = request.form["threshold"].strip().replace(",", ".")
    changes = load(schemas.AlarmRuleSchema, fields)
    changes.pop("commune_id")
    return changes


# --- broadcasting ----------------------------------------------------------------------------

# CAP alerts: the broadcast service refuses larger ones before parsing; the edge refuses them before the call
MAX_CAP_BYTES = 256 * 1024
CAP_MIMETYPES = ("application/cap+xml", "application/xml", "text/xml")
_BROADCAST_FIELDS = ("title", "text", "content_id", "media_url", "kind", "level", "duration_seconds", "repeat",
                     "expires_in_minutes")
_PROGRAMME_FIELDS = ("name", "priority", "repeat", "gap_seconds", "valid_from", "valid_until")
_ITEM_FIELDS = ("content_id", "title", "kind", "duration_seconds", "media_url")
_SCHEDULE_FIELDS = ("schedule_mode", "times", "rrule", "start_date", "until", "at")


def broadcast_target(form):
    """Where a form plays: the whole commune (ticked), the ticked zones and
    the ticked single devices, together as the broadcast service allows."""
    target = {"commune": True} if form.get("commune") else {}
    for key in ("zones", "devices"):
        chosen = [value for value in form.getlist(key) if value.strip()]
        if chosen:
            target[key] = chosen
    if not target:
        raise InvalidInput("Hãy chọn phạm vi phát: cả xã, vùng phát hoặc thiết bị.")
    return target


def target_values(form):
    return {"commune": bool(form.get("commune")), "zones": form.getlist("zones"), "devices": form.getlist("devices")}


def broadcast_request(request):
    """The console's "play now" form as create_broadcast's request; fields
    left empty take the service's defaults, and ``confirm`` is sent only by
    the emergency's confirmation page."""
    values = {key: value for key, value in form_values(request).items() if key in _BROADCAST_FIELDS}
    if request.form.get("confirm") == "true":
        values["confirm"] = True
    data = load(schemas.BroadcastSchema, dict(values, target=broadcast_target(request.form)))
    data.pop("commune_id")
    return data


def broadcast_values(request):
    """What the "play now" form held, to show it again (or carry it through the confirmation)."""
    return {**{key: request.form.get(key, "").replace("\r\n", "\n") for key in _BROADCAST_FIELDS},
            **target_values(request.form)}


def _row_seconds(value, row):
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"Dòng {row} của danh sách phát: thời lượng phải là số giây (ví dụ 90).",
                           {"row": row}) from None


def playlist(form):
    """The playlist's filled rows in order; a row left blank is no item. A
    title, length or file left out of a row naming a content item are the
    item's (the broadcast service fills them in)."""
    columns = {name: form.getlist(f"item_{name}") for name in _ITEM_FIELDS}
    items = []
    for index in range(max(len(column) for column in columns.values())):
        row = {name: (column[index] if index < len(column) else "").strip() for name, column in columns.items()}
        if not any(row[name] for name in _ITEM_FIELDS if name != "kind"):
            continue
        item = {"content_id": row["content_id"], "kind": row["kind"] or "audio"}
        if row["title"]:
            item["title"] = row["title"]
        if row["duration_seconds"]:
            item["duration_seconds"] = _row_seconds(row["duration_seconds"], index + 1)
        if row["media_url"]:
            item["media_url"] = row["media_url"]
        items.append(item)
    return items


def programme_when(form):
    """The editor's schedule: recurring from the builder (times of day and
    weekdays) or from a written RRULE, with its first and last day; or once,
    at a Vietnamese wall time."""
    mode = form.get("schedule_mode", "builder")
    if mode == "once":
        return {"at": form.get("at", "").strip()[:16]}
    if mode == "builder":
        rrule = broadcast_views.weekly_rrule(form.get("times", ""), form.getlist("weekdays"))
    elif mode == "rrule":
        rrule = form.get("rrule", "").strip()
    else:
        raise InvalidInput("Hãy chọn cách xếp lịch: lặp theo giờ và ngày, quy tắc RRULE, hoặc một lần.")
    when = {"rrule": rrule, "start_date": form.get("start_date", "").strip()}
    if form.get("until", "").strip():
        when["until"] = form["until"].strip()
    return when


def programme_request(request, programme_id):
    """The console's programme editor as save_programme's programme."""
    values = {key: value for key, value in form_values(request).items() if key in _PROGRAMME_FIELDS}
    data = load(schemas.ProgrammeSchema, dict(values, id=programme_id, items=playlist(request.form),
                                              target=broadcast_target(request.form),
                                              when=programme_when(request.form)))
    data.pop("commune_id")
    return data


def programme_values(request):
    """What the programme editor held, to show it again after a refusal."""
    form = request.form
    columns = {name: form.getlist(f"item_{name}") for name in _ITEM_FIELDS}
    rows = [{name: column[index] if index < len(column) else "" for name, column in columns.items()}
            for index in range(max(len(column) for column in columns.values()))]
    return {**{key: form.get(key, "") for key in _PROGRAMME_FIELDS + _SCHEDULE_FIELDS},
            "weekdays": form.getlist("weekdays"), **target_values(form), "items": rows or
            broadcast_views.padded_items([])}


def zone_request(request):
    """A group of devices from the zones page (its ticked devices)."""
    values = {key: value for key, value in form_values(request).items() if key in ("id", "name")}
    data = load(schemas.ZoneSchema, dict(values, device_ids=request.form.getlist("device_ids")))
    data.pop("commune_id")
    return data


def wall_time(value):
    """A datetime-local field (Vietnam's wall clock) as the broadcast service reads it, or None for now."""
    return value.strip()[:16] if value and value.strip() else None


def _cap_text(content, name):
    """A CAP document's text: UTF-8, as CAP 1.2 requires (a byte-order mark dropped)."""
    try:
        return content.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as err:
        what = f"Tệp «{name}»" if name else "Nội dung gửi lên"
        raise InvalidInput(f"{what} không phải văn bản UTF-8: cảnh báo CAP 1.2 phải mã hóa UTF-8.") from err


def _cap_too_large(name=None):
    what = f"Tệp «{name}»" if name else "Cảnh báo CAP"
    return PayloadTooLarge(f"{what} lớn hơn {MAX_CAP_BYTES // 1024} KB.", {"max_bytes": MAX_CAP_BYTES})


def cap_body(request):
    """The CAP alert of an API request: the body itself, as XML, at most 256 KiB."""
    if request.mimetype not in CAP_MIMETYPES:
        raise UnsupportedMediaType("Cảnh báo CAP gửi lên với Content-Type: application/cap+xml, application/xml "
                                   "hoặc text/xml.")
    if (request.content_length or 0) > MAX_CAP_BYTES:
        raise _cap_too_large()
    content = request.get_data(cache=False)
    if len(content) > MAX_CAP_BYTES:
        raise _cap_too_large()
    return _cap_text(content, None)


def cap_document(request):
    """The CAP alert of the console's form: an uploaded .xml file or the pasted XML, at most 256 KiB."""
    chosen = files.chosen_files(request, "file")
    pasted = request.form.get("xml", "").strip()
    if len(chosen) > 1:
        raise InvalidInput("Mỗi lần chỉ gửi một tệp cảnh báo CAP.")
    if chosen and pasted:
        raise InvalidInput("Chọn một cách: tải tệp CAP lên hoặc dán nội dung, không dùng cả hai.")
    if chosen:
        name = files.file_name(chosen[0])
        content = chosen[0].stream.read(MAX_CAP_BYTES + 1)
        if len(content) > MAX_CAP_BYTES:
            raise _cap_too_large(name)
        return _cap_text(content, name)
    if not pasted:
        raise InvalidInput("Hãy chọn tệp cảnh báo CAP (.xml) hoặc dán nội dung của nó.")
    if len(pasted.encode("utf-8")) > MAX_CAP_BYTES:
        raise _cap_too_large()
    return pasted
