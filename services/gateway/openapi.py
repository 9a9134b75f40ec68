"""The OpenAPI 3.1 description of the gateway's HTTP API, served at
``GET /api/openapi.json``. Written by hand as data; tests keep its paths equal
to the routes the service registers and its request bodies equal to the
marshmallow schemas that load them."""


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description):
    return _json(_ref("Error"), description)


def _body(name, form=None):
    """A JSON body, and for routes that take files, the same as
    multipart/form-data (or only that, without ``name``)."""
    content = {"application/json": {"schema": _ref(name)}} if name else {}
    if form:
        content["multipart/form-data"] = {"schema": _ref(form)}
    return {"required": True, "content": content}


def _file(description, content_types):
    return {"description": description, "content": {ct: {"schema": {"type": "string", "format": "binary"}}
                                                    for ct in content_types},
            "headers": {"Content-Disposition": {"schema": {"type": "string"}, "description":
                        "attachment (inline for PDFs and photos) with the file name, ASCII and RFC 6266 UTF-8."}}}


def _query(name, description, schema=None):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name, description):
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


COMMUNE_QUERY = _query("commune_id", "The commune to act on; required for district administrators, "
                                     "refused for anyone else unless it is their own.")
AUTH_ERRORS = {
    "401": _error("Not signed in, session expired, or API key unknown."),
    "403": _error("Missing role, another commune, or (code CSRF) a session write without its CSRF token."),
}
WRITE_ERRORS = {
    "400": _error("Malformed JSON (INVALID_JSON), unknown or invalid fields (INVALID_INPUT)."),
    "415": _error("The body is not application/json."),
}
UPLOAD_ERRORS = {
    "400": _error("Malformed JSON, unknown or invalid fields, a file of the wrong kind, too many files "
                  "(INVALID_INPUT); the tasks service's refusals of the content."),
    "413": _error("A file over 10 MB, or a body over 60 MB (PAYLOAD_TOO_LARGE)."),
    "415": _error("The body is neither application/json nor multipart/form-data."),
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE = {"type": "string", "format": "date"}
DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
SCHEDULE_KIND = {"enum": ["quarter", "half_year", "year", "recurring", "open_ended", "conditional", "blank", "date",
                          "unrecognised"]}
TASK_STATUS = {"type": "string", "enum": ["not_started", "in_progress", "waiting_guidance", "done", "cancelled"]}
ROLE = {"type": "string", "enum": ["district_admin", "commune_admin", "editor", "approver", "operator", "trainer",
                                   "viewer"]}
STRING_OR_NULL = {"type": ["string", "null"]}
CONTENT_KIND = {"type": "string", "enum": ["news", "article", "radio_bulletin", "eboard_notice", "press_release",
                                           "rebuttal", "promotion", "human_rights"]}
CHANNEL = {"type": "string", "enum": ["website", "social", "eboard", "radio", "province"]}
CONTENT_STATUS = {"type": "string", "enum": ["draft", "submitted", "returned", "approved", "scheduled", "published",
                                             "archived"]}
CONTENT_FIELD = {"type": "string", "enum": ["kind", "section_id", "title", "summary", "body", "channels",
                                            "image_media_ids", "rebuttal"]}
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
CONTENT_ERRORS = {
    "403": _error("Missing role (the content service decides: editors write and submit, approvers and commune "
                  "administrators approve, return, publish and archive), another commune, or CSRF."),
    "404": _error("No such item (or media) in the commune."),
    "409": _error("The item's status does not allow this step, or another revision was saved since the one "
                  "given (CONFLICT); reload and retry."),
}
MEDIA_TYPES = ["image/png", "image/jpeg", "image/webp", "audio/mpeg", "audio/ogg", "audio/wav", "audio/mp4",
               "application/octet-stream"]


def _op(summary, responses, tags, parameters=(), body=None, form=None, public=False):
    operation = {"summary": summary, "tags": tags, "responses": responses}
    if parameters:
        operation["parameters"] = list(parameters)
    if body or form:
        operation["requestBody"] = _body(body, form)
    if public:
        operation["security"] = []
    return operation


SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Machine-readable code: INVALID_INPUT, INVALID_JSON, "
                      "UNSUPPORTED_MEDIA_TYPE, UNAUTHENTICATED, FORBIDDEN, CSRF, NOT_FOUND, CONFLICT, "
                      "RATE_LIMITED, SERVICE_UNAVAILABLE, INTERNAL …"},
            "message": {"type": "string", "description": "Readable message, in Vietnamese."},
            "details": {"type": "object"},
            "request_id": {"type": "string", "description": "Present on 5xx; also in the X-Request-Id header."},
        },
    },
    "LoginRequest": {
        "type": "object", "additionalProperties": False, "required": ["username", "password"],
        "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"}},
    },
    "LoginResponse": {
        "type": "object",
        "properties": {"user": _ref("User"), "csrf_token": {"type": "string",
                       "description": "Send as X-CSRF-Token with every write made with the session cookie."}},
    },
    "Caller": {
        "type": "object",
        "properties": {"subject": {"type": "string"}, "commune_id": STRING_OR_NULL,
                       "roles": {"type": "array", "items": ROLE}, "kind": {"enum": ["user", "api_key"]},
                       "name": {"type": "string"}},
    },
    "Me": {
        "type": "object",
        "properties": {"caller": _ref("Caller"), "user": {"oneOf": [_ref("User"), {"type": "null"}]},
                       "csrf_token": STRING_OR_NULL},
    },
    "User": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "username": {"type": "string"}, "display_name": {"type": "string"},
                       "commune_id": STRING_OR_NULL,
                       "agency_id": {"type": ["string", "null"], "description": "The agency (office) of the commune "
                                     "the person works in."},
                       "roles": {"type": "array", "items": ROLE},
                       "language": {"enum": ["vi", "en"]}, "active": {"type": "boolean"},
                       "created_at": {"type": "string", "format": "date-time"}},
    },
    "CreateUserRequest": {
        "type": "object", "additionalProperties": False,
        "required": ["username", "display_name", "password", "roles"],
        "properties": {"username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{2,63}$"},
                       "display_name": {"type": "string", "maxLength": 120},
                       "password": {"type": "string", "minLength": 10, "format": "password"},
                       "roles": {"type": "array", "items": ROLE, "minItems": 1},
                       "commune_id": STRING_OR_NULL,
                       "agency_id": {"type": ["string", "null"], "description": "One of the commune's agencies."},
                       "language": {"enum": ["vi", "en"], "default": "vi"}},
    },
    "Commune": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "examples": ["xuan-hung"]}, "name": {"type": "string"},
            "province": {"type": "string"},
            "villages": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}}}},
            "agencies": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"},
                "aliases": {"type": "array", "items": {"type": "string"}}}}},
        },
    },
    "CreateApiKeyRequest": {
        "type": "object", "additionalProperties": False, "required": ["name", "roles"],
        "properties": {"name": {"type": "string", "maxLength": 120},
                       "roles": {"type": "array", "items": ROLE, "minItems": 1}, "commune_id": STRING_OR_NULL},
    },
    "ApiKeyCreated": {
        "type": "object",
        "properties": {
            "key": {"type": "string", "description": "Shown this once; only its SHA-256 hash is stored."},
            "api_key": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "commune_id": {"type": "string"},
                "roles": {"type": "array", "items": ROLE}, "active": {"type": "boolean"},
                "created_at": {"type": "string"}}},
        },
    },
    "PartProgress": {
        "type": "object",
        "properties": {"title": {"type": "string"}, "total": {"type": "integer"}, "done": {"type": "integer"},
                       "percent": {"type": "number"}},
    },
    "PlanProgress": {
        "type": "object",
        "description": "Over the specific (leaf) tasks; cancelled ones excluded from the percentage.",
        "properties": {"percent": {"type": "number"},
                       "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "by_part": {"type": "object", "additionalProperties": _ref("PartProgress")},
                       "overdue": {"type": "integer"}, "due_soon": {"type": "integer"}},
    },
    "Plan": {
        "type": "object",
        "properties": {"_id": {"type": "string"}, "commune_id": {"type": "string"}, "title": {"type": "string"},
                       "source_name": {"type": "string"}, "year": {"type": "integer"},
                       "imported_at": {"type": "string"}, "imported_by": {"type": "string"},
                       "task_count": {"type": "integer"},
                       "problems": {"type": "array", "items": {"type": "string"}},
                       "progress": _ref("PlanProgress")},
    },
    "ImportResult": {
        "allOf": [_ref("Plan"), {"type": "object", "properties": {"diff": {"oneOf": [_ref("Diff"), {"type": "null"}]}}}],
    },
    "ImportPlanRequest": {
        "type": "object", "additionalProperties": False, "required": ["text"],
        "properties": {"text": {"type": "string", "description": "The plan's text, with its appendix (Phụ lục)."},
                       "source_name": {"type": "string"},
                       "plan_id": {"type": ["string", "null"], "description": "Re-import into this plan: tasks are "
                                   "matched by code and keep their progress."},
                       "commune_id": STRING_OR_NULL},
    },
    "ImportPlanForm": {
        "type": "object", "additionalProperties": False,
        "description": "Exactly one of file and text.",
        "properties": {"file": {"type": "string", "format": "binary", "description": "The plan as .docx, ≤ 10 MB."},
                       "text": {"type": "string"}, "source_name": {"type": "string",
                       "description": "Defaults to the file's name."},
                       "plan_id": STRING_OR_NULL, "commune_id": STRING_OR_NULL},
    },
    "Schedule": {
        "type": "object",
        "description": "A timeline phrase (original, verbatim) and what it was read as.",
        "properties": {"original": {"type": "string"}, "kind": SCHEDULE_KIND, "start": DATE_OR_NULL,
                       "due": DATE_OR_NULL, "condition": STRING_OR_NULL,
                       "flagged": {"type": "boolean", "description": "Blank or not understood: to be completed."}},
    },
    "AgencyRef": {
        "type": "object",
        "properties": {"text": {"type": "string", "description": "As the plan writes it."},
                       "agency_id": STRING_OR_NULL, "agency_name": STRING_OR_NULL,
                       "generic": {"type": "boolean", "description": "\"Các cơ quan có liên quan\" and the like."}},
    },
    "ParsedRow": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "parent_code": STRING_OR_NULL, "title": {"type": "string"},
                       "details": {"type": "string"}, "lead_agency": {"type": "string"},
                       "coordinating_agencies": {"type": "string"}, "timeline": {"type": "string"},
                       "schedule": _ref("Schedule"), "lead_agencies": {"type": "array", "items": _ref("AgencyRef")},
                       "coordinating": {"type": "array", "items": _ref("AgencyRef")}},
    },
    "Diff": {
        "type": "object",
        "properties": {"added": {"type": "array", "items": {"type": "string"}},
                       "removed": {"type": "array", "items": {"type": "string"}},
                       "changed": {"type": "array", "items": {"type": "object", "properties": {
                           "code": {"type": "string"}, "fields": {"type": "array", "items": {"type": "string"}}}}},
                       "unchanged": {"type": "integer"}},
    },
    "Preview": {
        "type": "object",
        "properties": {"title": {"type": "string"}, "source_name": {"type": "string"},
                       "tasks": {"type": "array", "items": _ref("ParsedRow")},
                       "problems": {"type": "array", "items": {"type": "string"}},
                       "diff": {"oneOf": [_ref("Diff"), {"type": "null"}], "description": "For a re-import."}},
    },
    "Task": {
        "type": "object",
        "properties": {"_id": {"type": "string"}, "plan_id": {"type": "string"}, "commune_id": {"type": "string"},
                       "code": {"type": "string", "examples": ["I.1.1"]}, "parent_code": STRING_OR_NULL,
                       "part": {"type": "string"}, "order": {"type": "integer"}, "level": {"type": "integer"},
                       "title": {"type": "string"}, "details": {"type": "string"},
                       "lead_agency": {"type": "string"}, "coordinating_agencies": {"type": "string"},
                       "lead_agencies": {"type": "array", "items": _ref("AgencyRef")},
                       "coordinating": {"type": "array", "items": _ref("AgencyRef")},
                       "timeline": {"type": "string"}, "schedule": _ref("Schedule"), "status": TASK_STATUS,
                       "progress": {"type": "integer", "minimum": 0, "maximum": 100,
                                    "description": "Parents: rolled up from their children."},
                       "assignees": {"type": "array", "items": {"type": "object", "properties": {
                           "user_id": {"type": "string"}, "name": {"type": "string"}}}},
                       "overdue": {"type": "boolean"}, "due_soon": {"type": "boolean"},
                       "removed_from_plan": {"type": "boolean"},
                       "status_changed_at": STRING_OR_NULL, "status_changed_by": STRING_OR_NULL},
    },
    "HistoryEntry": {
        "type": "object",
        "properties": {"at": {"type": "string"}, "by": {"type": "string"},
                       "action": {"type": "string", "examples": ["status", "guidance", "assign"]},
                       "changes": {"type": "object", "description": "field → [old, new]"},
                       "note": {"type": "string"}},
    },
    "EvidenceFile": {
        "type": "object",
        "properties": {"file_id": {"type": "string"}, "name": {"type": "string"}, "content_type": {"type": "string"},
                       "size": {"type": "integer"}},
    },
    "Update": {
        "type": "object",
        "properties": {"_id": {"type": "string"}, "task_id": {"type": "string"}, "text": {"type": "string"},
                       "links": {"type": "array", "items": {"type": "string", "format": "uri"}},
                       "files": {"type": "array", "items": _ref("EvidenceFile")},
                       "by": {"type": "string"}, "at": {"type": "string"}},
    },
    "Comment": {
        "type": "object",
        "properties": {"_id": {"type": "string"}, "task_id": {"type": "string"}, "text": {"type": "string"},
                       "by": {"type": "string"}, "at": {"type": "string"}},
    },
    "TaskDetail": {
        "allOf": [_ref("Task"), {"type": "object", "properties": {
            "history": {"type": "array", "items": _ref("HistoryEntry"), "description": "Newest first."},
            "updates": {"type": "array", "items": _ref("Update")},
            "comments": {"type": "array", "items": _ref("Comment")},
            "children": {"type": "array", "items": _ref("Task")}}}],
    },
    "TaskPage": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": _ref("Task")}, "total": {"type": "integer"},
                       "offset": {"type": "integer"}, "limit": {"type": "integer"}},
    },
    "StatusChangeRequest": {
        "type": "object", "additionalProperties": False, "required": ["status"],
        "properties": {"status": TASK_STATUS, "note": {"type": "string", "maxLength": 2000},
                       "commune_id": STRING_OR_NULL},
    },
    "GuidanceRequest": {
        "type": "object", "additionalProperties": False, "required": ["received_on"],
        "properties": {"received_on": DATE, "due": {**DATE_OR_NULL, "description": "Default: 3 months later."},
                       "note": {"type": "string", "maxLength": 2000}, "commune_id": STRING_OR_NULL},
    },
    "ProgressUpdateRequest": {
        "type": "object", "additionalProperties": False, "required": ["text"],
        "properties": {"text": {"type": "string", "maxLength": 5000},
                       "links": {"type": "array", "maxItems": 10, "items": {"type": "string", "format": "uri",
                                 "pattern": "^https?://"}},
                       "commune_id": STRING_OR_NULL},
    },
    "ProgressUpdateForm": {
        "type": "object", "additionalProperties": False, "required": ["text"],
        "properties": {"text": {"type": "string", "maxLength": 5000},
                       "links": {"type": "array", "items": {"type": "string"},
                                 "description": "Repeated, or one field with one link per line."},
                       "files": {"type": "array", "maxItems": 5, "items": {"type": "string", "format": "binary"},
                                 "description": "PDF, PNG, JPEG, .docx, .xlsx; ≤ 10 MB each."},
                       "commune_id": STRING_OR_NULL},
    },
    "CommentRequest": {
        "type": "object", "additionalProperties": False, "required": ["text"],
        "properties": {"text": {"type": "string", "maxLength": 2000}, "commune_id": STRING_OR_NULL},
    },
    "AssigneesRequest": {
        "type": "object", "additionalProperties": False, "required": ["user_ids"],
        "properties": {"user_ids": {"type": "array", "maxItems": 10, "items": {"type": "string"},
                                    "description": "Active accounts of the commune; of the lead agency when it "
                                                   "is known. An empty list unassigns."},
                       "commune_id": STRING_OR_NULL},
    },
    "AgencyView": {
        "type": "object",
        "properties": {"agency_id": {"type": "string"}, "tasks": {"type": "array", "items": _ref("Task")},
                       "overdue": {"type": "array", "items": _ref("Task")},
                       "due_soon": {"type": "array", "items": _ref("Task")},
                       "counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
    },
    "ReportPeriod": {
        "type": "object",
        "properties": {"kind": {"enum": ["quarter", "half_year", "year"]}, "year": {"type": "integer"},
                       "number": {"type": "integer"}, "label": {"type": "string"}, "start": DATE, "end": DATE},
    },
    "Indicator": {
        "type": "object",
        "properties": {"key": {"type": "string"}, "label": {"type": "string"},
                       "value": {"type": ["number", "null"], "description": "null: no data yet."},
                       "unit": {"type": "string"}},
    },
    "Activity": {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "The event id."}, "commune_id": {"type": "string"},
                       "occurred_at": {"type": "string"},
                       "kind": {"enum": ["task_status_changed", "plan_imported", "task_overdue", "task_due_soon",
                                         "task_progress_reported", "item_approved", "item_returned",
                                         "item_published", "item_archived", "audio_rendered"]},
                       "actor": STRING_OR_NULL, "actor_name": STRING_OR_NULL,
                       "summary": {"type": "string", "description": "One sentence, in Vietnamese."},
                       "data": {"type": "object"}},
    },

    "Section": {
        "type": "object", "description": "A section (chuyên mục) of the commune's content.",
        "properties": {"_id": {"type": "string"}, "commune_id": {"type": "string"}, "name": {"type": "string"},
                       "active": {"type": "boolean", "description": "false: kept on items, refused for new ones."},
                       "seeded": {"type": "boolean", "description": "One of the plan's themes, made on first use."},
                       "order": {"type": "integer"}, "created_at": TIME},
    },
    "SectionRequest": {
        "type": "object", "additionalProperties": False, "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 100,
                                "description": "Unique in the commune, ignoring case and accents."},
                       "commune_id": STRING_OR_NULL},
    },
    "CommuneRequest": {
        "type": "object", "additionalProperties": False,
        "description": "No fields but the commune (for district administrators); send {}.",
        "properties": {"commune_id": STRING_OR_NULL},
    },
    "Rebuttal": {
        "type": ["object", "null"], "additionalProperties": False,
        "description": "What a rebuttal answers: the false information's address and/or the claim.",
        "properties": {"url": {"type": ["string", "null"], "format": "uri"}, "claim": STRING_OR_NULL},
    },
    "ContentItemRequest": {
        "type": "object", "additionalProperties": False, "required": ["kind", "section_id", "title"],
        "properties": {"kind": CONTENT_KIND, "section_id": {"type": "string", "description": "An active section."},
                       "title": {"type": "string", "maxLength": 300}, "summary": {"type": "string", "maxLength": 2000},
                       "body": {"type": "string", "description": "Plain text; paragraphs separated by a blank line."},
                       "channels": {"type": "array", "items": CHANNEL,
                                    "description": "Default by kind: radio_bulletin → radio, eboard_notice → "
                                                   "eboard, others → website and social."},
                       "rebuttal": _ref("Rebuttal"), "commune_id": STRING_OR_NULL},
    },
    "ContentItemUpdateRequest": {
        "type": "object", "additionalProperties": False, "required": ["revision"],
        "description": "Only the fields given change; the same values make no new revision.",
        "properties": {"revision": {"type": "integer", "minimum": 1,
                                    "description": "The revision edited; CONFLICT if another was saved since."},
                       "kind": CONTENT_KIND, "section_id": {"type": "string"},
                       "title": {"type": "string", "maxLength": 300}, "summary": {"type": "string", "maxLength": 2000},
                       "body": {"type": "string"}, "channels": {"type": "array", "items": CHANNEL},
                       "rebuttal": _ref("Rebuttal"),
                       "image_media_ids": {"type": "array", "items": {"type": "string"},
                                           "description": "The images to keep, in order (others are removed)."},
                       "commune_id": STRING_OR_NULL},
    },
    "ContentItemForm": {
        "type": "object", "additionalProperties": False, "required": ["kind", "section_id", "title"],
        "description": "A new item as multipart/form-data with its images.",
        "properties": {"kind": CONTENT_KIND, "section_id": {"type": "string"}, "title": {"type": "string"},
                       "summary": {"type": "string"}, "body": {"type": "string"},
                       "channels": {"type": "array", "items": CHANNEL, "description": "Repeated field."},
                       "rebuttal_url": {"type": "string"}, "rebuttal_claim": {"type": "string"},
                       "images": {"type": "array", "maxItems": 10, "items": {"type": "string", "format": "binary"},
                                  "description": "PNG, JPEG or WebP, ≤ 5 MB each; typed by their bytes (a "
                                                 "declared type that disagrees is refused)."},
                       "commune_id": STRING_OR_NULL},
    },
    "ContentItemUpdateForm": {
        "type": "object", "additionalProperties": False, "required": ["revision"],
        "description": "An edit as multipart/form-data; new images are appended.",
        "properties": {"revision": {"type": "integer", "minimum": 1}, "kind": CONTENT_KIND,
                       "section_id": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"},
                       "body": {"type": "string"},
                       "channels": {"type": "array", "items": CHANNEL, "description": "Repeated field."},
                       "rebuttal_url": {"type": "string"}, "rebuttal_claim": {"type": "string"},
                       "image_media_ids": {"type": "array", "items": {"type": "string"},
                                           "description": "Repeated field: the images to keep (use JSON to "
                                                          "remove every image)."},
                       "images": {"type": "array", "maxItems": 10, "items": {"type": "string", "format": "binary"}},
                       "commune_id": STRING_OR_NULL},
    },
    "Audio": {
        "type": ["object", "null"],
        "properties": {"state": {"enum": ["rendering", "ready", "failed"]}, "source": {"enum": ["tts", "upload"]},
                       "revision": {"type": "integer"}, "text_revision": {"type": "integer"},
                       "current": {"type": "boolean", "description": "false: the title or body changed since."},
                       "requested_at": TIME, "requested_by": {"type": "string"}, "started_at": TIME_OR_NULL,
                       "finished_at": TIME_OR_NULL, "media_id": STRING_OR_NULL,
                       "format": {"type": ["string", "null"], "examples": ["mp3", "opus"]},
                       "duration_seconds": {"type": ["number", "null"]}, "size": {"type": ["integer", "null"]},
                       "engine": STRING_OR_NULL, "error": {"type": ["string", "null"], "description": "Vietnamese."}},
    },
    "PublishedVersion": {
        "type": ["object", "null"], "description": "The version on the channels now.",
        "properties": {"revision": {"type": "integer"}, "kind": CONTENT_KIND, "section_id": {"type": "string"},
                       "section_name": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"},
                       "body": {"type": "string"}, "channels": {"type": "array", "items": CHANNEL},
                       "image_media_ids": {"type": "array", "items": {"type": "string"}},
                       "rebuttal": _ref("Rebuttal"), "audio_media_id": STRING_OR_NULL, "published_at": TIME,
                       "published_by": {"type": "string"}},
    },
    "ContentItem": {
        "type": "object",
        "description": "The working copy (latest revision) and, once published, the published version.",
        "properties": {"_id": {"type": "string"}, "commune_id": {"type": "string"}, "kind": CONTENT_KIND,
                       "section_id": {"type": "string"}, "section_name": {"type": "string"},
                       "title": {"type": "string"}, "summary": {"type": "string"}, "body": {"type": "string"},
                       "channels": {"type": "array", "items": CHANNEL},
                       "image_media_ids": {"type": "array", "items": {"type": "string"}},
                       "rebuttal": _ref("Rebuttal"), "status": CONTENT_STATUS, "revision": {"type": "integer"},
                       "text_revision": {"type": "integer"}, "created_at": TIME, "created_by": {"type": "string"},
                       "updated_at": TIME, "updated_by": {"type": "string"},
                       "approval": {"type": ["object", "null"]}, "returned": {"type": ["object", "null"]},
                       "publish_at": TIME_OR_NULL, "slug": STRING_OR_NULL,
                       "live": {"type": "boolean", "description": "Published and not archived."},
                       "first_published_at": TIME_OR_NULL, "published": _ref("PublishedVersion"),
                       "audio": _ref("Audio")},
    },
    "ContentItemDetail": {
        "allOf": [_ref("ContentItem"), {"type": "object", "properties": {
            "history": {"type": "array", "description": "Workflow steps, newest first.", "items": {
                "type": "object", "properties": {
                    "id": {"type": "string"}, "at": TIME, "by": {"type": "string"},
                    "action": {"enum": ["edit", "submit", "approve", "return", "publish", "schedule", "unschedule",
                                        "archive", "audio_upload"]},
                    "revision": {"type": "integer"}, "comment": {"type": "string"},
                    "status": {"type": "array", "items": CONTENT_STATUS, "description": "[old, new]"}}}},
            "revisions": {"type": "array", "description": "Newest first.", "items": {
                "type": "object", "properties": {
                    "number": {"type": "integer"}, "at": TIME, "by": {"type": "string"},
                    "action": {"enum": ["create", "edit"]}, "changed": {"type": "array", "items": CONTENT_FIELD}}}},
        }}],
    },
    "ContentItemPage": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": _ref("ContentItem"), "description": "Without bodies."},
                       "total": {"type": "integer"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}},
    },
    "Revision": {
        "type": "object",
        "properties": {"number": {"type": "integer"}, "at": TIME, "by": {"type": "string"},
                       "action": {"enum": ["create", "edit"]}, "changed": {"type": "array", "items": CONTENT_FIELD},
                       "fields": {"type": "object", "description": "kind, section_id, title, summary, body, "
                                  "channels, image_media_ids, rebuttal as they were."}},
    },
    "RevisionDiff": {
        "type": "object",
        "properties": {
            "item_id": {"type": "string"}, "from_revision": {"type": "integer"}, "to_revision": {"type": "integer"},
            "changed": {"type": "array", "items": CONTENT_FIELD},
            "fields": {"type": "object", "description": "Non-text fields that changed: {field: {old, new}}."},
            "text": {"type": "object", "description": "Text fields that changed, word by word.",
                     "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {
                         "op": {"enum": ["equal", "insert", "delete", "replace"]}, "old": {"type": "string"},
                         "new": {"type": "string"}}}}},
            "unified": {"type": "string", "description": "A unified diff of the two revisions as text."}},
    },
    "ContentCommentRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"comment": {"type": "string", "maxLength": 2000}, "commune_id": STRING_OR_NULL},
    },
    "ApproveRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"comment": {"type": "string", "maxLength": 2000},
                       "revision": {"type": ["integer", "null"], "minimum": 1,
                                    "description": "The revision read; CONFLICT if it changed since."},
                       "commune_id": STRING_OR_NULL},
    },
    "ReturnRequest": {
        "type": "object", "additionalProperties": False, "required": ["comment"],
        "properties": {"comment": {"type": "string", "maxLength": 2000, "description": "Why; required."},
                       "commune_id": STRING_OR_NULL},
    },
    "PublishRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"at": {"type": ["string", "null"], "format": "date-time",
                              "description": "With a time zone; in the future the item is scheduled. Now if left "
                                             "out. Radio needs ready audio of the current text."},
                       "commune_id": STRING_OR_NULL},
    },
    "AudioUploadForm": {
        "type": "object", "additionalProperties": False, "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "MP3, WAV, OGG or M4A, ≤ 20 MB; transcoded for the devices."},
                       "commune_id": STRING_OR_NULL},
    },
}


def _items(schema_name):
    return {"type": "object", "properties": {"items": {"type": "array", "items": _ref(schema_name)}}}


PATHS = {
    "/api/openapi.json": {"get": _op("This document.", {"200": {"description": "OpenAPI 3.1 document."}},
                                     ["meta"], public=True)},
    "/api/asyncapi.json": {"get": _op(
        "The events TinXã publishes on RabbitMQ, as an AsyncAPI 3.0 document generated from the event "
        "schemas (shared/asyncapi.py).", {"200": {"description": "AsyncAPI 3.0.0 document."}},
        ["meta"], public=True)},
    "/api/auth/login": {"post": _op(
        "Sign in with username and password; sets the session cookie (12 h).",
        {"200": _json(_ref("LoginResponse"), "Signed in."), **WRITE_ERRORS,
         "401": _error("Wrong username or password."),
         "429": _error("Five failed attempts for this username from this address within 15 minutes; "
                       "see Retry-After.")},
        ["auth"], body="LoginRequest", public=True)},
    "/api/auth/logout": {"post": _op(
        "Sign out (clears the session cookie; needs the CSRF token when a session exists).",
        {"204": {"description": "Signed out."}, "403": AUTH_ERRORS["403"]}, ["auth"], public=True)},
    "/api/me": {"get": _op("Who is calling.", {"200": _json(_ref("Me"), "The caller."), **AUTH_ERRORS}, ["auth"])},
    "/api/communes": {"get": _op(
        "Communes: all for district administrators, one's own for anyone else.",
        {"200": _json(_items("Commune"), "Communes."), **AUTH_ERRORS}, ["tenancy"])},
    "/api/communes/{commune_id}": {"get": _op(
        "One commune with its villages and agencies.",
        {"200": _json(_ref("Commune"), "The commune."), **AUTH_ERRORS, "404": _error("No such commune.")},
        ["tenancy"], parameters=[_path("commune_id", "Commune slug, e.g. xuan-hung.")])},
    "/api/users": {
        "get": _op(
            "The commune's active accounts, optionally of one agency (commune administrators): the "
            "assignee picker.",
            {"200": _json(_items("User"), "Accounts, by name."), **AUTH_ERRORS,
             "400": _error("agency_id is not one of the commune's agencies.")},
            ["tenancy"], parameters=[_query("agency_id", "Only this agency's people."), COMMUNE_QUERY]),
        "post": _op(
            "Create a user (commune administrators in their commune; district administrators anywhere).",
            {"201": _json({"type": "object", "properties": {"user": _ref("User")}}, "Created."), **WRITE_ERRORS,
             **AUTH_ERRORS, "404": _error("No such commune."), "409": _error("Username taken.")},
            ["tenancy"], body="CreateUserRequest"),
    },
    "/api/api-keys": {"post": _op(
        "Create an API key for a machine of the commune; the key is returned once.",
        {"201": _json(_ref("ApiKeyCreated"), "Created."), **WRITE_ERRORS, **AUTH_ERRORS},
        ["tenancy"], body="CreateApiKeyRequest")},
    "/api/plans": {"get": _op(
        "The commune's plans with task counts by status.",
        {"200": _json(_items("Plan"), "Plans."), **AUTH_ERRORS}, ["tasks"], parameters=[COMMUNE_QUERY])},
    "/api/plans/{plan_id}": {"get": _op(
        "One plan with its progress (overall, by status, by part, overdue and due soon).",
        {"200": _json(_ref("Plan"), "The plan."), **AUTH_ERRORS, "404": _error("No such plan in the commune.")},
        ["tasks"], parameters=[_path("plan_id", "Plan id."), COMMUNE_QUERY])},
    "/api/plans/preview": {"post": _op(
        "What importing a plan would do — tasks found, their schedules and agencies, problems, and for a "
        "re-import the changes; writes nothing (commune administrators and editors).",
        {"200": _json(_ref("Preview"), "The preview."), **UPLOAD_ERRORS, **AUTH_ERRORS,
         "404": _error("plan_id is not a plan of the commune.")},
        ["tasks"], body="ImportPlanRequest", form="ImportPlanForm")},
    "/api/plans/import": {"post": _op(
        "Import a plan from its text or its .docx, or re-import a revised one into plan_id "
        "(commune administrators and editors); emits tasks.plan_imported.",
        {"201": _json(_ref("ImportResult"), "Imported."), **UPLOAD_ERRORS, **AUTH_ERRORS,
         "404": _error("plan_id is not a plan of the commune.")},
        ["tasks"], body="ImportPlanRequest", form="ImportPlanForm")},
    "/api/plans/{plan_id}/report-periods": {"get": _op(
        "The standard reporting periods of the plan's year: quarters, halves, the year.",
        {"200": _json(_items("ReportPeriod"), "Periods."), **AUTH_ERRORS, "404": _error("No such plan.")},
        ["reports"], parameters=[_path("plan_id", "Plan id."), COMMUNE_QUERY])},
    "/api/plans/{plan_id}/report": {"get": _op(
        "The report on the plan's implementation over a period, as a file to download.",
        {"200": _file("The report, as an attachment.", [DOCX, XLSX]),
         "400": _error("Invalid period or option."), **AUTH_ERRORS, "404": _error("No such plan.")},
        ["reports"], parameters=[
            _path("plan_id", "Plan id."),
            {**_query("period", "quarter, half_year, year or adhoc (also accepted as kind).",
                      {"enum": ["quarter", "half_year", "year", "adhoc"]}), "required": True},
            _query("year", "The period's year (not for adhoc).", {"type": "integer"}),
            _query("number", "Quarter 1–4 or half 1–2.", {"type": "integer", "minimum": 1, "maximum": 4}),
            _query("start", "First day of an ad-hoc period.", DATE),
            _query("end", "Last day of an ad-hoc period.", DATE),
            _query("format", "File format.", {"enum": ["docx", "xlsx"], "default": "docx"}),
            _query("doc_number", "The report's document number, e.g. 45/BC-UBND."),
            _query("proposals", "Proposals and requests (đề xuất, kiến nghị)."),
            _query("signer_name", "Who signs the report."),
            COMMUNE_QUERY,
        ])},
    "/api/indicators": {"get": _op(
        "The commune's indicators for a period (null value: no data yet).",
        {"200": _json(_items("Indicator"), "Indicators."), "400": _error("Invalid date."), **AUTH_ERRORS},
        ["reports"], parameters=[_query("start", "First day.", DATE), _query("end", "Last day.", DATE),
                                 COMMUNE_QUERY])},
    "/api/tasks": {"get": _op(
        "Tasks in document order, filtered and paged.",
        {"200": _json(_ref("TaskPage"), "A page of tasks."), "400": _error("Invalid filter."), **AUTH_ERRORS},
        ["tasks"], parameters=[
            _query("plan_id", "Only this plan's tasks."),
            _query("status", "Only tasks in this status.", TASK_STATUS),
            _query("agency", "Lead agency contains this (accents ignored)."),
            _query("agency_id", "Led by this agency of the commune's registry."),
            _query("due", "overdue, due_soon (within 7 days), no_deadline, this_quarter.",
                   {"enum": ["overdue", "due_soon", "no_deadline", "this_quarter"]}),
            _query("q", "Code, text or agencies contain this (accents ignored)."),
            _query("part", "Only this part of the plan (I, II …)."),
            _query("offset", "Tasks to skip.", {"type": "integer", "minimum": 0, "default": 0}),
            _query("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
            COMMUNE_QUERY,
        ])},
    "/api/tasks/{task_id}": {"get": _op(
        "One task with its history, progress reports, comments and sub-tasks.",
        {"200": _json(_ref("TaskDetail"), "The task."), **AUTH_ERRORS, "404": _error("No such task in the commune.")},
        ["tasks"], parameters=[_path("task_id", "Task id."), COMMUNE_QUERY])},
    "/api/tasks/{task_id}/status": {"post": _op(
        "Change a task's status, with an optional note; emits tasks.task_status_changed.",
        {"200": _json(_ref("Task"), "The task after the change."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such task in the commune."),
         "409": _error("Someone changed the status meanwhile, or the task left the plan; reload and retry.")},
        ["tasks"], parameters=[_path("task_id", "Task id.")], body="StatusChangeRequest")},
    "/api/tasks/{task_id}/guidance": {"post": _op(
        "Record that the outside guidance a conditional task waited for arrived; the task gets a due date.",
        {"200": _json(_ref("Task"), "The task, with schedule.due set."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such task in the commune.")},
        ["tasks"], parameters=[_path("task_id", "Task id.")], body="GuidanceRequest")},
    "/api/tasks/{task_id}/updates": {"post": _op(
        "Report progress with evidence: text, links, and up to 5 files (multipart); emits "
        "tasks.task_progress_reported.",
        {"201": _json(_ref("Update"), "The progress report."), **UPLOAD_ERRORS, **AUTH_ERRORS,
         "404": _error("No such task in the commune."), "409": _error("The task left the plan.")},
        ["tasks"], parameters=[_path("task_id", "Task id.")], body="ProgressUpdateRequest",
        form="ProgressUpdateForm")},
    "/api/tasks/{task_id}/evidence/{file_id}": {"get": _op(
        "A file of a progress report.",
        {"200": _file("The file: inline for PDFs and photos, else an attachment.",
                      ["application/pdf", "image/png", "image/jpeg", DOCX, XLSX, "application/octet-stream"]),
         **AUTH_ERRORS, "404": _error("No such file for this task in the commune.")},
        ["tasks"], parameters=[_path("task_id", "Task id."), _path("file_id", "File id."), COMMUNE_QUERY])},
    "/api/tasks/{task_id}/comments": {"post": _op(
        "Comment on a task (every commune role).",
        {"201": _json(_ref("Comment"), "The comment."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such task in the commune.")},
        ["tasks"], parameters=[_path("task_id", "Task id.")], body="CommentRequest")},
    "/api/tasks/{task_id}/assignees": {"post": _op(
        "Set who carries a task out (commune administrators): people of its lead agency.",
        {"200": _json(_ref("Task"), "The task."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such task in the commune.")},
        ["tasks"], parameters=[_path("task_id", "Task id.")], body="AssigneesRequest")},
    "/api/agencies/{agency_id}/tasks": {"get": _op(
        "What an agency leads, and what of it is overdue or due soon.",
        {"200": _json(_ref("AgencyView"), "The agency's tasks."), **AUTH_ERRORS,
         "404": _error("No such agency in the commune.")},
        ["tasks"], parameters=[_path("agency_id", "Agency id, e.g. vhxh."), COMMUNE_QUERY])},
    "/api/activity": {"get": _op(
        "The commune's recent activity, newest first.",
        {"200": _json(_items("Activity"), "Activity entries."), "400": _error("Invalid limit."), **AUTH_ERRORS},
        ["activity"], parameters=[
            _query("limit", "How many entries.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            COMMUNE_QUERY,
        ])},

    "/api/content/sections": {
        "get": _op(
            "The commune's sections in display order (seeded with the plan's themes on first use).",
            {"200": _json(_items("Section"), "Sections."), "400": _error("Invalid include_inactive."),
             **AUTH_ERRORS},
            ["content"], parameters=[_query("include_inactive", "Also the deactivated ones.",
                                            {"type": "boolean", "default": False}), COMMUNE_QUERY]),
        "post": _op(
            "Add a section (commune administrators).",
            {"201": _json(_ref("Section"), "Created."), **WRITE_ERRORS, **AUTH_ERRORS,
             "409": _error("A section of that name (ignoring case and accents) exists.")},
            ["content"], body="SectionRequest"),
    },
    "/api/content/sections/{section_id}/rename": {"post": _op(
        "Rename a section (commune administrators).",
        {"200": _json(_ref("Section"), "The section."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such section."), "409": _error("The name is taken.")},
        ["content"], parameters=[_path("section_id", "Section id.")], body="SectionRequest")},
    "/api/content/sections/{section_id}/deactivate": {"post": _op(
        "Stop offering a section for new items (commune administrators); items keep it.",
        {"200": _json(_ref("Section"), "The section, active false."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such section.")},
        ["content"], parameters=[_path("section_id", "Section id.")], body="CommuneRequest")},
    "/api/content/items": {
        "get": _op(
            "The commune's items, newest change first, filtered and searched (accents and case ignored).",
            {"200": _json(_ref("ContentItemPage"), "A page of items."), "400": _error("Invalid filter."),
             **AUTH_ERRORS},
            ["content"], parameters=[
                _query("kind", "Only this kind.", CONTENT_KIND),
                _query("section_id", "Only this section."),
                _query("status", "Only items in this status.", CONTENT_STATUS),
                _query("channel", "Only items for this channel.", CHANNEL),
                _query("q", "Title, summary or body contain this (\"quyen con nguoi\" finds \"quyền con người\")."),
                _query("live", "Only items published now (true) or not (false).", {"type": "boolean"}),
                _query("offset", "Items to skip.", {"type": "integer", "minimum": 0, "default": 0}),
                _query("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
                COMMUNE_QUERY,
            ]),
        "post": _op(
            "Write a new item (editors, commune administrators): a draft, revision 1. JSON, or multipart with "
            "images; a refused item leaves no file stored.",
            {"201": _json(_ref("ContentItem"), "The draft."), **UPLOAD_ERRORS, **AUTH_ERRORS, **CONTENT_ERRORS},
            ["content"], body="ContentItemRequest", form="ContentItemForm"),
    },
    "/api/content/items/{item_id}": {
        "get": _op(
            "One item with its workflow steps and revisions.",
            {"200": _json(_ref("ContentItemDetail"), "The item."), **AUTH_ERRORS, **CONTENT_ERRORS},
            ["content"], parameters=[_path("item_id", "Item id."), COMMUNE_QUERY]),
        "patch": _op(
            "Edit an item: a new revision on top of `revision`. An approved or scheduled item goes back to "
            "submitted; a published one keeps its published version live while the new draft is worked on.",
            {"200": _json(_ref("ContentItem"), "The item."), **UPLOAD_ERRORS, **AUTH_ERRORS, **CONTENT_ERRORS},
            ["content"], parameters=[_path("item_id", "Item id.")], body="ContentItemUpdateRequest",
            form="ContentItemUpdateForm"),
    },
    "/api/content/items/{item_id}/revisions/{number}": {"get": _op(
        "One revision with its fields.",
        {"200": _json(_ref("Revision"), "The revision."), "400": _error("No such revision."), **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id."), _path("number", "Revision number (1, 2 …)."),
                                 COMMUNE_QUERY])},
    "/api/content/items/{item_id}/diff": {"get": _op(
        "What changed between any two revisions: per field, word by word for the texts, and as a unified diff.",
        {"200": _json(_ref("RevisionDiff"), "The difference."), "400": _error("Missing or unknown revision."),
         **AUTH_ERRORS, **CONTENT_ERRORS},
        ["content"], parameters=[
            _path("item_id", "Item id."),
            {**_query("from", "The older revision.", {"type": "integer", "minimum": 1}), "required": True},
            {**_query("to", "The newer revision.", {"type": "integer", "minimum": 1}), "required": True},
            COMMUNE_QUERY])},
    "/api/content/items/{item_id}/submit": {"post": _op(
        "Submit a draft or returned item for approval (editors).",
        {"200": _json(_ref("ContentItem"), "The item, submitted."), **WRITE_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="ContentCommentRequest")},
    "/api/content/items/{item_id}/approve": {"post": _op(
        "Approve a submitted item (approvers, commune administrators); emits content.item_approved.",
        {"200": _json(_ref("ContentItem"), "The item, approved."), **WRITE_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="ApproveRequest")},
    "/api/content/items/{item_id}/return": {"post": _op(
        "Return a submitted, approved or scheduled item to its writer with the reason; emits "
        "content.item_returned.",
        {"200": _json(_ref("ContentItem"), "The item, returned."), **WRITE_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="ReturnRequest")},
    "/api/content/items/{item_id}/publish": {"post": _op(
        "Publish an approved item now, or schedule it (`at`); emits content.item_published when published.",
        {"200": _json(_ref("ContentItem"), "The item, published or scheduled."), **WRITE_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="PublishRequest")},
    "/api/content/items/{item_id}/unschedule": {"post": _op(
        "Cancel a scheduled publication: the item is approved again.",
        {"200": _json(_ref("ContentItem"), "The item, approved."), **WRITE_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="CommuneRequest")},
    "/api/content/items/{item_id}/archive": {"post": _op(
        "Archive an item: off every channel, no longer editable; emits content.item_archived.",
        {"200": _json(_ref("ContentItem"), "The item, archived."), **WRITE_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="ContentCommentRequest")},
    "/api/content/items/{item_id}/audio": {"post": _op(
        "Read the title and body aloud (text-to-speech, in the background); content.audio_rendered when done.",
        {"202": _json(_ref("ContentItem"), "The item, audio.state rendering."),
         "400": _error("Text the speech engine cannot read (empty, only symbols, too long); nothing is stored."),
         "415": WRITE_ERRORS["415"], **AUTH_ERRORS, **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], body="CommuneRequest")},
    "/api/content/items/{item_id}/audio/upload": {"post": _op(
        "A recording of the bulletin becomes the item's audio (editors); approval must hear it again.",
        {"200": _json(_ref("ContentItem"), "The item with ready audio."), **UPLOAD_ERRORS, **AUTH_ERRORS,
         **CONTENT_ERRORS},
        ["content"], parameters=[_path("item_id", "Item id.")], form="AudioUploadForm")},
    "/api/content/media/{media_id}": {"get": _op(
        "An image or audio of the caller's commune, shown inline (nosniff; unknown types as attachments).",
        {"200": _file("The file.", MEDIA_TYPES), **AUTH_ERRORS, "404": _error("No such media in the commune.")},
        ["content"], parameters=[_path("media_id", "Media id."), COMMUNE_QUERY])},
}


# --- devices and alarms (services/telemetry/API.md) ---------------------------------------------

DEVICE_KIND = {"type": "string", "enum": ["loudspeaker", "eboard", "other"]}
PRESENCE = {"type": "string", "enum": ["online", "offline", "unknown"]}
SEVERITY = {"type": "string", "enum": ["critical", "major", "minor", "warning"]}
ALARM_STATUS = {"type": "string", "enum": ["open", "acknowledged", "cleared"]}
ALARM_RULE = {"type": "string", "enum": ["offline", "silent_slot", "mains_lost", "temperature_high",
                                         "speaker_line_fault"]}
NUMBER_OR_NULL = {"type": ["number", "null"]}
DEVICE_ERRORS = {
    "403": _error("Missing role (the telemetry service decides: commune administrators and operators "
                  "register, provision, command and handle alarms), another commune, or CSRF."),
    "404": _error("No such device (or alarm) in the commune."),
    "409": _error("The device id exists, or the device's state does not allow this (CONFLICT)."),
}
PERIOD_QUERY = (_query("start", "From (ISO 8601 with a time zone).", TIME),
                _query("end", "To (ISO 8601 with a time zone).", TIME))
_DEVICE_FIELDS = {
    "name": STRING_OR_NULL,
    "village": {"type": ["string", "null"], "description": "One of the commune's village ids (GET "
                "/api/communes/{commune_id}), or null."},
    "lat": {**NUMBER_OR_NULL, "description": "Both lat and lon, or neither; within Vietnam."},
    "lon": NUMBER_OR_NULL,
    "model": STRING_OR_NULL, "firmware": STRING_OR_NULL,
    "installed_on": {"type": ["string", "null"], "format": "date"},
    "transport": {"type": "string", "enum": ["grpc", "mqtt"], "default": "grpc"},
    "presence_timeout_s": {"type": "integer", "minimum": 30, "maximum": 3600, "default": 120,
                           "description": "Silence after which the device counts as offline."},
    "commune_id": STRING_OR_NULL,
}

DEVICE_SCHEMAS = {
    "Sample": {
        "type": "object", "description": "A device's reading; unset measurements are null.",
        "properties": {
            "seq": {"type": "integer"}, "sampled_at": TIME, "received_at": TIME,
            "connection": {"enum": ["ethernet", "wifi", "cellular", "fm_link", None]},
            "signal_dbm": NUMBER_OR_NULL, "volume": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
            "playback": {"enum": ["idle", "playing", None]}, "playing_content_id": STRING_OR_NULL,
            "playing_title": STRING_OR_NULL, "power_source": {"enum": ["mains", "battery", "solar", None]},
            "mains_voltage": NUMBER_OR_NULL, "battery_voltage": NUMBER_OR_NULL, "temperature_c": NUMBER_OR_NULL,
            "speaker_line": {"enum": ["ok", "open_circuit", "short_circuit", None]},
            "brightness": NUMBER_OR_NULL, "screen": {"enum": ["on", "off", None]}, "slot_active": {"type": "boolean"},
        },
    },
    "Credential": {
        "type": "object", "description": "A device's credential status; never a secret.",
        "properties": {"status": {"enum": ["none", "code_issued", "active", "revoked"]},
                       "credential_id": STRING_OR_NULL, "at": TIME_OR_NULL},
    },
    "Device": {
        "type": "object",
        "properties": {
            "device_id": {"type": "string"}, "commune_id": {"type": "string"}, "name": STRING_OR_NULL,
            "kind": DEVICE_KIND, "village": STRING_OR_NULL,
            "location": {"type": ["object", "null"], "properties": {"lat": {"type": "number"},
                                                                    "lon": {"type": "number"}}},
            "model": STRING_OR_NULL, "firmware": STRING_OR_NULL, "installed_on": DATE_OR_NULL,
            "transport": {"enum": ["grpc", "mqtt"]}, "presence_timeout_s": {"type": "integer"},
            "credential": _ref("Credential"), "presence": PRESENCE, "last_seen": TIME_OR_NULL,
            "sample": {"oneOf": [_ref("Sample"), {"type": "null"}]},
            "created_at": TIME, "updated_at": TIME,
        },
    },
    "DeviceDetail": {
        "allOf": [_ref("Device"), {"type": "object", "properties": {
            "state": {"type": "object", "description": "Presence, last seen and the latest sample.",
                      "properties": {"presence": PRESENCE, "last_seen": TIME_OR_NULL,
                                     "sample": {"oneOf": [_ref("Sample"), {"type": "null"}]}}},
            "open_alarms": {"type": "array", "items": _ref("Alarm")}}}],
    },
    "DeviceRequest": {
        "type": "object", "additionalProperties": False, "required": ["device_id", "kind"],
        "properties": {"device_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "kind": DEVICE_KIND,
                       **_DEVICE_FIELDS},
    },
    "DeviceUpdateRequest": {
        "type": "object", "additionalProperties": False,
        "description": "Only the fields given change; null clears a field.",
        "properties": {"kind": DEVICE_KIND, **_DEVICE_FIELDS},
    },
    "DeviceImportRequest": {
        "type": "object", "additionalProperties": False, "required": ["csv"],
        "properties": {
            "csv": {"type": "string", "description": "UTF-8 CSV with the header device_id,name,kind,village,lat,lon,"
                    "model,firmware,installed_on,transport,presence_timeout_s (only device_id and kind required)."},
            "confirm": {"type": "boolean", "default": False,
                        "description": "Import; without it, or with any invalid row, nothing is written."},
            "commune_id": STRING_OR_NULL},
    },
    "DeviceImportForm": {
        "type": "object", "additionalProperties": False,
        "description": "Exactly one of file and csv.",
        "properties": {"file": {"type": "string", "format": "binary", "description": "The CSV file, ≤ 2 MB."},
                       "csv": {"type": "string"}, "confirm": {"type": "boolean", "default": False},
                       "commune_id": STRING_OR_NULL},
    },
    "ImportDevicesResult": {
        "type": "object",
        "properties": {
            "rows": {"type": "array", "items": {"type": "object", "properties": {
                "line": {"type": "integer", "description": "As a spreadsheet numbers it (the header is 1)."},
                "device_id": {"type": "string"},
                "problems": {"type": "array", "items": {"type": "string"}}}}},
            "valid": {"type": "integer"}, "invalid": {"type": "integer"},
            "created": {"type": "integer", "description": "0 for a preview."}},
    },
    "ProvisioningCode": {
        "type": "object", "description": "Shown this once; the device exchanges it over DeviceLink.Provision.",
        "properties": {"code": {"type": "string", "examples": ["K7QM-2XPA-9RTD"]}, "expires_at": TIME},
    },
    "MqttCredential": {
        "type": "object", "description": "Shown this once; revokes the device's previous credential.",
        "properties": {"username": {"type": "string"}, "password": {"type": "string", "format": "password"},
                       "topic": {"type": "string"}, "mqtt_port": {"type": "integer"}},
    },
    "RevokeRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"reason": {"type": "string", "maxLength": 500}, "commune_id": STRING_OR_NULL},
    },
    "CommandRequest": {
        "type": "object", "additionalProperties": False, "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": ["play", "stop", "set_volume", "show_text", "schedule_sync"]},
            "params": {"type": "object", "description": "The command's fields (shared/devicelink.py): "
                       "set_volume {volume}, show_text {text, duration_seconds} …"},
            "commune_id": STRING_OR_NULL},
    },
    "CommandResult": {
        "type": "object",
        "properties": {"command_id": {"type": "string"},
                       "delivered": {"type": "boolean", "description": "false: no edge has the device connected."}},
    },
    "Telemetry": {
        "type": "object",
        "properties": {"resolution": {"enum": ["raw", "hourly"]},
                       "points": {"type": "array", "items": {"type": "object", "properties": {
                           "at": TIME, "volume": NUMBER_OR_NULL, "signal_dbm": NUMBER_OR_NULL,
                           "temperature_c": NUMBER_OR_NULL, "mains_voltage": NUMBER_OR_NULL,
                           "battery_voltage": NUMBER_OR_NULL}}}},
    },
    "Connection": {
        "type": "object",
        "properties": {"online_from": TIME, "online_until": {**TIME_OR_NULL, "description": "null while online."}},
    },
    "Uptime": {
        "type": "object", "description": "Time online ÷ time registered within the period.",
        "properties": {"start": TIME, "end": TIME, "uptime": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                       "villages": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
                       "devices": {"type": "array", "items": {"type": "object", "properties": {
                           "device_id": {"type": "string"}, "village": STRING_OR_NULL,
                           "uptime": {"type": ["number", "null"]}}}}},
    },
    "Alarm": {
        "type": "object",
        "properties": {"alarm_id": {"type": "string"}, "device_id": {"type": "string"}, "village": STRING_OR_NULL,
                       "rule": ALARM_RULE, "severity": SEVERITY, "status": ALARM_STATUS,
                       "message": {"type": "string"}, "occurrences": {"type": "integer"}, "last_at": TIME},
    },
    "AlarmNoteRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"note": {"type": "string", "maxLength": 2000}, "commune_id": STRING_OR_NULL},
    },
    "AlarmRule": {
        "type": "object",
        "properties": {"rule": ALARM_RULE, "enabled": {"type": "boolean"}, "severity": SEVERITY,
                       "threshold": NUMBER_OR_NULL},
    },
    "AlarmRuleRequest": {
        "type": "object", "additionalProperties": False, "description": "Only the fields given change.",
        "properties": {"enabled": {"type": "boolean"}, "severity": SEVERITY, "threshold": NUMBER_OR_NULL,
                       "commune_id": STRING_OR_NULL},
    },
}


def _device_path(description="Device id."):
    return _path("device_id", description)


DEVICE_PATHS = {
    "/api/devices": {
        "get": _op(
            "The commune's devices by village then id, each with its presence, last contact and latest sample.",
            {"200": _json(_items("Device"), "Devices."), "400": _error("Invalid filter."), **AUTH_ERRORS},
            ["devices"], parameters=[_query("village", "Only this village's."), _query("kind", "Only this kind.",
                                                                                      DEVICE_KIND),
                                     _query("presence", "Only devices in this state.", PRESENCE), COMMUNE_QUERY]),
        "post": _op(
            "Register a device (commune administrators, operators); emits telemetry.device_registered.",
            {"201": _json(_ref("Device"), "The device."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
            ["devices"], body="DeviceRequest"),
    },
    "/api/devices/import": {"post": _op(
        "Preview a device list (CSV) row by row, or import it with confirm: nothing is written unless every row "
        "is valid. 201 when devices were created.",
        {"200": _json(_ref("ImportDevicesResult"), "The preview (created 0)."),
         "201": _json(_ref("ImportDevicesResult"), "Imported."), **UPLOAD_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["devices"], body="DeviceImportRequest", form="DeviceImportForm")},
    "/api/devices/{device_id}": {
        "get": _op(
            "One device with its state, credential status and open alarms.",
            {"200": _json(_ref("DeviceDetail"), "The device."), **AUTH_ERRORS, **DEVICE_ERRORS},
            ["devices"], parameters=[_device_path(), COMMUNE_QUERY]),
        "patch": _op(
            "Change a device's registry fields (commune administrators, operators).",
            {"200": _json(_ref("Device"), "The device."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
            ["devices"], parameters=[_device_path()], body="DeviceUpdateRequest"),
    },
    "/api/devices/{device_id}/provisioning-code": {"post": _op(
        "A one-time provisioning code for a DeviceLink (gRPC) device, shown this once; voids the previous unused one.",
        {"201": _json(_ref("ProvisioningCode"), "The code."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["devices"], parameters=[_device_path()], body="CommuneRequest")},
    "/api/devices/{device_id}/mqtt-credential": {"post": _op(
        "An MQTT device's broker login, shown this once; revokes the previous one (rotation).",
        {"201": _json(_ref("MqttCredential"), "The login."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["devices"], parameters=[_device_path()], body="CommuneRequest")},
    "/api/devices/{device_id}/revoke": {"post": _op(
        "Revoke every active credential of the device: its connections end at once; emits "
        "telemetry.credential_revoked per credential.",
        {"200": _json({"type": "object"}, "What was revoked."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["devices"], parameters=[_device_path()], body="RevokeRequest")},
    "/api/devices/{device_id}/commands": {"post": _op(
        "Send a command to the device (set_volume, show_text … as a test); the device answers later "
        "(telemetry.commands_acknowledged).",
        {"202": _json(_ref("CommandResult"), "Sent, or not delivered."), **WRITE_ERRORS, **AUTH_ERRORS,
         **DEVICE_ERRORS},
        ["devices"], parameters=[_device_path()], body="CommandRequest")},
    "/api/devices/{device_id}/telemetry": {"get": _op(
        "The device's readings for charts: raw up to 48 hours (auto), hourly beyond; the last 24 hours by default.",
        {"200": _json(_ref("Telemetry"), "The series."), "400": _error("Invalid period or resolution."),
         **AUTH_ERRORS, **DEVICE_ERRORS},
        ["devices"], parameters=[_device_path(), *PERIOD_QUERY,
                                 _query("resolution", "auto, raw or hourly.",
                                        {"enum": ["auto", "raw", "hourly"], "default": "auto"}),
                                 COMMUNE_QUERY])},
    "/api/devices/{device_id}/connections": {"get": _op(
        "The device's connection history, newest first.",
        {"200": _json(_items("Connection"), "Connections."), "400": _error("Invalid period."), **AUTH_ERRORS,
         **DEVICE_ERRORS},
        ["devices"], parameters=[_device_path(), *PERIOD_QUERY, COMMUNE_QUERY])},
    "/api/uptime": {"get": _op(
        "Uptime per device, village and commune over a period (the last 7 days unless given).",
        {"200": _json(_ref("Uptime"), "Uptime."), "400": _error("Invalid period."), **AUTH_ERRORS},
        ["devices"], parameters=[*PERIOD_QUERY, COMMUNE_QUERY])},
    "/api/alarms": {"get": _op(
        "The commune's alarms, newest first: active ones (open and acknowledged) unless status says otherwise.",
        {"200": _json(_items("Alarm"), "Alarms."), "400": _error("Invalid filter."), **AUTH_ERRORS},
        ["alarms"], parameters=[
            _query("status", "active (default), open, acknowledged, cleared or all.",
                   {"enum": ["active", "open", "acknowledged", "cleared", "all"], "default": "active"}),
            _query("device_id", "Only this device's."), _query("severity", "Only this severity.", SEVERITY),
            COMMUNE_QUERY])},
    "/api/alarms/{alarm_id}/acknowledge": {"post": _op(
        "Acknowledge an open alarm (someone is on it); emits telemetry.alarm_acknowledged.",
        {"200": _json(_ref("Alarm"), "The alarm."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["alarms"], parameters=[_path("alarm_id", "Alarm id.")], body="AlarmNoteRequest")},
    "/api/alarms/{alarm_id}/clear": {"post": _op(
        "Clear an open or acknowledged alarm (done); emits telemetry.alarm_cleared.",
        {"200": _json(_ref("Alarm"), "The alarm."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["alarms"], parameters=[_path("alarm_id", "Alarm id.")], body="AlarmNoteRequest")},
    "/api/alarm-rules": {"get": _op(
        "The commune's alarm rules with their settings (defaults unless changed).",
        {"200": _json(_items("AlarmRule"), "Rules."), **AUTH_ERRORS},
        ["alarms"], parameters=[COMMUNE_QUERY])},
    "/api/alarm-rules/{rule}": {"patch": _op(
        "Change a rule: enabled, severity, threshold (commune administrators, operators).",
        {"200": _json(_ref("AlarmRule"), "The rule."), **WRITE_ERRORS, **AUTH_ERRORS, **DEVICE_ERRORS},
        ["alarms"], parameters=[_path("rule", "The rule: offline, silent_slot, mains_lost, temperature_high, "
                                              "speaker_line_fault.")], body="AlarmRuleRequest")},
}
SCHEMAS.update(DEVICE_SCHEMAS)
PATHS.update(DEVICE_PATHS)


# --- broadcasting (services/broadcast/API.md) ----------------------------------------------------

LEVEL = {"type": "string", "enum": ["normal", "priority", "emergency"],
         "description": "Circular 39/2020/TT-BTTTT: thông thường, ưu tiên, khẩn cấp."}
BROADCAST_STATE = {"type": "string", "enum": ["inbox", "needs_order", "scheduled", "sending", "done", "expired",
                                              "cancelled"]}
DELIVERY_STATE = {"type": "string", "enum": ["queued", "sent", "acknowledged", "playing", "played", "failed"]}
ORIGIN = {"type": "string", "enum": ["commune", "province", "central", "cap"]}
WALL_TIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$",
             "description": "Vietnamese wall time (Asia/Ho_Chi_Minh), no zone: 2026-12-01T06:30."}
CAP_TYPES = ["application/cap+xml", "application/xml", "text/xml"]
BROADCAST_ERRORS = {
    "403": _error("Missing role (the broadcast service decides: commune administrators and operators operate; "
                  "an emergency needs a commune administrator or approver; bulletins come from operators, "
                  "commune administrators or the sync service), another commune, or CSRF."),
    "404": _error("No such zone, programme, broadcast or device in the commune."),
    "409": _error("CONFLICT: a same-priority clash (details.clashes), a zone a programme targets, a step the "
                  "broadcast's state does not allow, or an emergency sent without confirm "
                  "(details.confirmation_required, device_count, devices)."),
}
TARGET = {
    "type": "object", "additionalProperties": False,
    "description": "Where it plays; combinations allowed, the devices reached are the union. Audio reaches "
                   "loudspeakers, text and images e-boards.",
    "properties": {"commune": {"const": True}, "zones": {"type": "array", "items": {"type": "string"}},
                   "devices": {"type": "array", "items": {"type": "string"}}},
}
PLAYLIST_ITEM = {
    "type": "object", "additionalProperties": False, "required": ["content_id", "kind", "duration_seconds"],
    "properties": {"content_id": {"type": "string", "maxLength": 128}, "title": {"type": "string"},
                   "kind": {"enum": ["audio", "text", "image"]},
                   "duration_seconds": {"type": "integer", "minimum": 1, "maximum": 86400},
                   "media_url": {"type": "string", "description": "Required for audio and images."}},
}
WHEN = {
    "type": "object",
    "description": "Recurring: rrule (RFC 5545: FREQ DAILY, WEEKLY or MONTHLY with BYHOUR and BYMINUTE) from "
                   "start_date, optionally until (Vietnamese dates); or once: at (Vietnamese wall time).",
    "properties": {"rrule": {"type": "string", "examples": ["FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=6,17;BYMINUTE=0"]},
                   "start_date": DATE, "until": DATE, "at": WALL_TIME},
}
_BROADCAST_CONTENT = {
    "title": {"type": "string", "maxLength": 300}, "text": {"type": "string", "maxLength": 2000},
    "content_id": {"type": "string"}, "media_url": {"type": "string"},
    "kind": {"enum": ["audio", "text"], "default": "audio"}, "level": LEVEL, "target": TARGET,
    "duration_seconds": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 60},
    "repeat": {"type": "integer", "minimum": 1, "maximum": 20, "default": 1},
    "expires_in_minutes": {"type": "integer", "description": "60 for the commune's own, a day for bulletins, unless "
                                                             "given (a bulletin's expires_at comes first)."},
    "commune_id": STRING_OR_NULL,
}

BROADCAST_SCHEMAS = {
    "Zone": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "kind": {"enum": ["village", "group"]},
                       "village": STRING_OR_NULL, "device_ids": {"type": "array", "items": {"type": "string"}},
                       "device_count": {"type": "integer"}},
    },
    "ZoneRequest": {
        "type": "object", "additionalProperties": False, "required": ["id", "name", "device_ids"],
        "description": "A group of devices; villages are zones of their own, derived from the device registry.",
        "properties": {"id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                       "name": {"type": "string", "maxLength": 200},
                       "device_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                       "commune_id": STRING_OR_NULL},
    },
    "Programme": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "priority": {"enum": ["normal", "high"]},
                       "items": {"type": "array", "items": PLAYLIST_ITEM}, "repeat": {"type": "integer"},
                       "gap_seconds": {"type": "integer"}, "target": TARGET, "when": WHEN,
                       "valid_from": DATE_OR_NULL, "valid_until": DATE_OR_NULL, "device_count": {"type": "integer"},
                       "next_at": TIME_OR_NULL, "updated_at": TIME, "updated_by": {"type": "string"}},
    },
    "ProgrammeDetail": {
        "allOf": [_ref("Programme"), {"type": "object", "properties": {"next": {
            "type": "array", "description": "Up to 10 next occurrences.",
            "items": {"type": "object", "properties": {"starts_at": TIME, "ends_at": TIME}}}}}],
    },
    "ProgrammeRequest": {
        "type": "object", "additionalProperties": False, "required": ["id", "name", "items", "target", "when"],
        "properties": {"id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                       "name": {"type": "string", "maxLength": 200},
                       "priority": {"enum": ["normal", "high"], "default": "normal"},
                       "items": {"type": "array", "items": PLAYLIST_ITEM, "minItems": 1},
                       "repeat": {"type": "integer", "minimum": 1, "maximum": 20, "default": 1},
                       "gap_seconds": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 0},
                       "target": TARGET, "when": WHEN, "valid_from": DATE_OR_NULL, "valid_until": DATE_OR_NULL,
                       "commune_id": STRING_OR_NULL},
    },
    "ProgrammeSaved": {
        "type": "object",
        "properties": {"programme": _ref("Programme"), "notice": {
            "type": "string", "description": "How clashes with programmes of another priority are ordered, in "
                                              "Vietnamese; empty if none."}},
    },
    "Calendar": {
        "type": "object",
        "properties": {"start": DATE, "end": DATE,
                       "zones": {"type": "array", "items": {"type": "object", "properties": {
                           "id": {"type": "string"}, "name": {"type": "string"}}}},
                       "occurrences": {"type": "array", "items": {"type": "object", "properties": {
                           "programme_id": {"type": "string"}, "name": {"type": "string"},
                           "priority": {"enum": ["normal", "high"]}, "starts_at": TIME, "ends_at": TIME,
                           "zones": {"type": "array", "items": {"type": "string"}},
                           "device_count": {"type": "integer"}}}}},
    },
    "DeviceSchedule": {
        "type": "object",
        "properties": {"device_id": {"type": "string"}, "version": {"type": "integer"},
                       "synced_version": {"type": ["integer", "null"]}, "synced_at": TIME_OR_NULL,
                       "entries": {"type": "array", "items": {"type": "object"}},
                       "moved": {"type": "array", "items": {"type": "object"}},
                       "dropped": {"type": "array", "items": {"type": "object"}}},
    },
    "Broadcast": {
        "type": "object",
        "properties": {
            "broadcast_id": {"type": "string"}, "commune_id": {"type": "string"}, "origin": ORIGIN, "level": LEVEL,
            "state": BROADCAST_STATE, "title": {"type": "string"}, "text": STRING_OR_NULL,
            "content_id": STRING_OR_NULL, "media_url": STRING_OR_NULL, "kind": {"enum": ["audio", "text"]},
            "target": TARGET, "device_count": {"type": "integer"}, "duration_seconds": {"type": "integer"},
            "repeat": {"type": "integer"}, "created_at": TIME, "created_by": STRING_OR_NULL,
            "scheduled_at": TIME_OR_NULL, "dispatched_at": TIME_OR_NULL, "expires_at": TIME_OR_NULL,
            "finished_at": TIME_OR_NULL, "cancelled_at": TIME_OR_NULL, "reason": STRING_OR_NULL,
            "escalated_at": TIME_OR_NULL,
            "cap": {"type": ["object", "null"], "properties": {
                "key": {"type": "string"}, "identifier": {"type": "string"}, "sender": {"type": "string"},
                "msg_type": {"type": "string"}, "status": {"type": "string"},
                "references": {"type": "array", "items": {"type": "string"}}}},
            "order": {"enum": ["before", "after", None]},
            "speech": {"type": ["object", "null"], "description": (
                "Audio for loudspeakers made of text only is spoken by the content service: media_url is then "
                "/p/{commune_id}/speech/{reference}, which answers 503 with Retry-After until state is ready."),
                "properties": {
                    "state": {"enum": ["requested", "ready", "failed"]}, "reference": {"type": "string"},
                    "text": {"type": "string"}, "requested_at": TIME, "media_id": STRING_OR_NULL,
                    "duration_seconds": {"type": ["number", "null"]}, "error": {"type": "string"},
                    "rendered_at": TIME_OR_NULL}}},
    },
    "BroadcastDetail": {
        "allOf": [_ref("Broadcast"), {"type": "object", "properties": {
            "delivery": {"type": "object", "properties": {
                "total": {"type": "integer"},
                "states": {"type": "object", "additionalProperties": {"type": "integer"}},
                "acknowledged": {"type": "integer"},
                "share_acknowledged": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                "unacknowledged": {"type": "array", "items": {"type": "string"}}}},
            "deliveries": {"type": "array", "items": {"type": "object", "properties": {
                "device_id": {"type": "string"}, "village": STRING_OR_NULL, "state": DELIVERY_STATE,
                "attempts": {"type": "integer"}, "sent_at": TIME_OR_NULL, "acknowledged_at": TIME_OR_NULL,
                "playing_at": TIME_OR_NULL, "played_at": TIME_OR_NULL, "message": STRING_OR_NULL,
                "failure": STRING_OR_NULL}}}}}],
    },
    "BroadcastList": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": _ref("Broadcast")},
                       "inbox": {"type": "object", "description": "Bulletins waiting, per level.",
                                 "properties": {level: {"type": "integer"}
                                                for level in ("normal", "priority", "emergency")}}},
    },
    "BroadcastRequest": {
        "type": "object", "additionalProperties": False, "required": ["title"],
        "properties": {**_BROADCAST_CONTENT,
                       "confirm": {"type": "boolean", "default": False,
                                   "description": "Required for an emergency, which interrupts what plays."}},
    },
    "BulletinRequest": {
        "type": "object", "additionalProperties": False, "required": ["source", "external_id", "title"],
        "properties": {**_BROADCAST_CONTENT, "source": {"enum": ["province", "central"]},
                       "external_id": {"type": "string", "maxLength": 200}, "expires_at": TIME},
    },
    "ScheduleBroadcastRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"at": {**WALL_TIME, "type": ["string", "null"], "description": "Now when null or absent."},
                       "target": {"oneOf": [TARGET, {"type": "null"}],
                                  "description": "The bulletin's own unless given."},
                       "commune_id": STRING_OR_NULL},
    },
    "OrderRequest": {
        "type": "object", "additionalProperties": False, "required": ["placement"],
        "properties": {"placement": {"enum": ["before", "after"]}, "commune_id": STRING_OR_NULL},
    },
    "CancelRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"reason": {"type": "string", "maxLength": 500}, "commune_id": STRING_OR_NULL},
    },
    "VolumeRequest": {
        "type": "object", "additionalProperties": False, "required": ["target", "volume"],
        "properties": {"target": {"type": "object", "description": "commune / zones / devices, as for a broadcast"},
                       "volume": {"type": "integer", "minimum": 0, "maximum": 100}, "commune_id": STRING_OR_NULL},
    },
    "VolumeResult": {
        "type": "object",
        "properties": {"command_id": {"type": "string"}, "device_count": {"type": "integer"},
                       "routed": {"type": "boolean", "description": "false: no device of the commune is connected"}},
    },
    "CapResult": {
        "type": "object",
        "properties": {"action": {"enum": ["created", "updated", "cancelled", "ignored"]},
                       "broadcast": {"oneOf": [_ref("Broadcast"), {"type": "null"}]},
                       "unmatched_areas": {"type": "array", "items": {"type": "string"},
                                           "description": "Areas of the alert that name no village of the commune."}},
    },
    "PlayLog": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
            "report_id": {"type": "string"}, "device_id": {"type": "string"}, "village": STRING_OR_NULL,
            "content_id": STRING_OR_NULL, "title": STRING_OR_NULL, "broadcast_id": STRING_OR_NULL,
            "programme_id": STRING_OR_NULL, "slot_id": STRING_OR_NULL, "started_at": TIME, "ended_at": TIME,
            "seconds": {"type": "number"}, "completed": {"type": "boolean"}, "reported_at": TIME,
            "late": {"type": "boolean", "description": "Reported over a minute after it ended (offline)."}}}}},
    },
    "BroadcastHours": {
        "type": "object",
        "properties": {"days": {"type": "array", "items": {"type": "object", "properties": {
            "date": DATE, "hours": {"type": "number"},
            "villages": {"type": "object", "additionalProperties": {"type": "number"}},
            "devices": {"type": "object", "additionalProperties": {"type": "number"}},
            "plays": {"type": "integer"}}}}},
    },
}


def _id_path(name, what):
    return _path(name, f"{what} id.")


BROADCAST_PATHS = {
    "/api/zones": {
        "get": _op("The commune's zones: one per village with devices, and its named groups.",
                   {"200": _json(_items("Zone"), "Zones."), **AUTH_ERRORS}, ["broadcasting"],
                   parameters=[COMMUNE_QUERY]),
        "post": _op("Create (or replace, by id) a group of devices (commune administrators, operators).",
                    {"201": _json(_ref("Zone"), "The zone."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
                    ["broadcasting"], body="ZoneRequest"),
    },
    "/api/zones/{zone_id}": {
        "put": _op("Replace a group of devices; the body's id, if given, must be the path's.",
                   {"200": _json(_ref("Zone"), "The zone."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
                   ["broadcasting"], parameters=[_id_path("zone_id", "Zone")], body="ZoneRequest"),
        "delete": _op("Delete a group; refused (409) while a programme targets it.",
                      {"200": _json({"type": "object", "properties": {"deleted": {"type": "boolean"}}}, "Deleted."),
                       **AUTH_ERRORS, **BROADCAST_ERRORS},
                      ["broadcasting"], parameters=[_id_path("zone_id", "Zone"), COMMUNE_QUERY]),
    },
    "/api/programmes": {
        "get": _op("The commune's programmes, each with its device count and next occurrence.",
                   {"200": _json(_items("Programme"), "Programmes."), **AUTH_ERRORS}, ["broadcasting"],
                   parameters=[COMMUNE_QUERY]),
        "post": _op("Create (or replace, by id) a programme; every targeted device gets its new schedule at once.",
                    {"201": _json(_ref("ProgrammeSaved"), "Saved, with the notice on clashes of other priorities."),
                     **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
                    ["broadcasting"], body="ProgrammeRequest"),
    },
    "/api/programmes/{programme_id}": {
        "get": _op("A programme with its next occurrences.",
                   {"200": _json(_ref("ProgrammeDetail"), "The programme."), **AUTH_ERRORS, **BROADCAST_ERRORS},
                   ["broadcasting"], parameters=[_id_path("programme_id", "Programme"), COMMUNE_QUERY]),
        "put": _op("Replace a programme; the body's id, if given, must be the path's.",
                   {"200": _json(_ref("ProgrammeSaved"), "Saved."), **WRITE_ERRORS, **AUTH_ERRORS,
                    **BROADCAST_ERRORS},
                   ["broadcasting"], parameters=[_id_path("programme_id", "Programme")], body="ProgrammeRequest"),
        "delete": _op("Delete a programme.",
                      {"200": _json({"type": "object", "properties": {"deleted": {"type": "boolean"}}}, "Deleted."),
                       **AUTH_ERRORS, **BROADCAST_ERRORS},
                      ["broadcasting"], parameters=[_id_path("programme_id", "Programme"), COMMUNE_QUERY]),
    },
    "/api/calendar": {"get": _op(
        "Occurrences per zone between two Vietnamese dates (inclusive, at most 42 days); this week unless given.",
        {"200": _json(_ref("Calendar"), "The calendar."), "400": _error("Invalid dates."), **AUTH_ERRORS,
         **BROADCAST_ERRORS},
        ["broadcasting"], parameters=[_query("start", "First day (YYYY-MM-DD).", DATE),
                                      _query("end", "Last day (YYYY-MM-DD).", DATE),
                                      _query("zone_id", "Only this zone's occurrences."), COMMUNE_QUERY])},
    "/api/devices/{device_id}/schedule": {"get": _op(
        "What the device keeps for the next 48 hours (schedule sync), and whether it has that version.",
        {"200": _json(_ref("DeviceSchedule"), "The device's schedule."), **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], parameters=[_path("device_id", "Device id."), COMMUNE_QUERY])},
    "/api/broadcasts": {
        "get": _op("Broadcasts in inbox order (emergency first, oldest first), with the inbox's counts per level.",
                   {"200": _json(_ref("BroadcastList"), "Broadcasts."), "400": _error("Invalid filter."),
                    **AUTH_ERRORS},
                   ["broadcasting"], parameters=[
                       _query("level", "Only this level.", LEVEL), _query("state", "Only this state.", BROADCAST_STATE),
                       _query("origin", "Only from this origin.", ORIGIN),
                       _query("limit", "At most this many.", {"type": "integer", "minimum": 1, "maximum": 500}),
                       COMMUNE_QUERY]),
        "post": _op("Play now (phát ngay): normal and priority at once; an emergency interrupts what plays and "
                    "needs confirm (without it: 409 with details.confirmation_required and the devices).",
                    {"201": _json(_ref("Broadcast"), "The broadcast."), **WRITE_ERRORS, **AUTH_ERRORS,
                     **BROADCAST_ERRORS},
                    ["broadcasting"], body="BroadcastRequest"),
    },
    "/api/broadcasts/{broadcast_id}": {"get": _op(
        "A broadcast with its delivery: counts per state, the share acknowledged, and each device's.",
        {"200": _json(_ref("BroadcastDetail"), "The broadcast."), **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], parameters=[_id_path("broadcast_id", "Broadcast"), COMMUNE_QUERY])},
    "/api/broadcasts/{broadcast_id}/schedule": {"post": _op(
        "An inbox bulletin goes out now, or at a Vietnamese wall time.",
        {"200": _json(_ref("Broadcast"), "The broadcast."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], parameters=[_id_path("broadcast_id", "Broadcast")], body="ScheduleBroadcastRequest")},
    "/api/broadcasts/{broadcast_id}/order": {"post": _op(
        "A priority bulletin that clashes with the commune's own high-priority item plays before or after it.",
        {"200": _json(_ref("Broadcast"), "The broadcast."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], parameters=[_id_path("broadcast_id", "Broadcast")], body="OrderRequest")},
    "/api/broadcasts/{broadcast_id}/cancel": {"post": _op(
        "Cancel a broadcast; devices playing it stop. Emits broadcast.broadcast_cancelled.",
        {"200": _json(_ref("Broadcast"), "The broadcast."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], parameters=[_id_path("broadcast_id", "Broadcast")], body="CancelRequest")},
    "/api/volume": {"post": _op(
        "Set the volume of the target's loudspeakers: one fan-out command; each device answers like any other.",
        {"200": _json(_ref("VolumeResult"), "The command sent."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], body="VolumeRequest")},
    "/api/bulletins": {"post": _op(
        "A bulletin from the provincial or central system (the sync service, plug-ins with an API key); the "
        "same source and external_id again answer the same broadcast. Normal ones wait in the inbox.",
        {"200": _json(_ref("Broadcast"), "The broadcast."), **WRITE_ERRORS, **AUTH_ERRORS, **BROADCAST_ERRORS},
        ["broadcasting"], body="BulletinRequest")},
    "/api/cap": {"post": {
        "summary": "A CAP 1.2 alert as the body: Alert creates a broadcast, Update replaces the one it references, "
                   "Cancel stops it. DTDs and entities are refused.",
        "tags": ["broadcasting"], "parameters": [COMMUNE_QUERY],
        "requestBody": {"required": True, "content": {
            content_type: {"schema": {"type": "string", "maxLength": 262144, "description": "UTF-8 XML, ≤ 256 KiB."}}
            for content_type in CAP_TYPES}},
        "responses": {"201": _json(_ref("CapResult"), "A broadcast was created."),
                      "200": _json(_ref("CapResult"), "Updated, cancelled or ignored."),
                      "400": _error("Invalid CAP (the message names the element) or not UTF-8."),
                      "413": _error("Over 256 KiB (PAYLOAD_TOO_LARGE)."),
                      "415": _error("Not application/cap+xml, application/xml or text/xml."),
                      **AUTH_ERRORS, **BROADCAST_ERRORS}}},
    "/api/plays": {"get": _op(
        "Proof of play, newest first, of a Vietnamese day or a period (the last 24 hours unless given): true start "
        "and end as the devices reported them; late marks a report that came over a minute after the play ended.",
        {"200": _json(_ref("PlayLog"), "Plays."), "400": _error("Invalid filter."), **AUTH_ERRORS},
        ["broadcasting"], parameters=[
            _query("device_id", "Only this device's."), _query("village", "Only this village's."),
            _query("date", "One Vietnamese day (YYYY-MM-DD).", DATE), *PERIOD_QUERY,
            _query("limit", "At most this many (200 unless given).",
                   {"type": "integer", "minimum": 1, "maximum": 2000}),
            COMMUNE_QUERY])},
    "/api/broadcast-hours": {"get": _op(
        "Hours on air per Vietnamese day, for the commune, each village and each device; today unless given.",
        {"200": _json(_ref("BroadcastHours"), "Hours."), "400": _error("Invalid dates."), **AUTH_ERRORS},
        ["broadcasting"], parameters=[_query("start", "First day (YYYY-MM-DD).", DATE),
                                      _query("end", "Last day (YYYY-MM-DD).", DATE), COMMUNE_QUERY])},
}
SCHEMAS.update(BROADCAST_SCHEMAS)
PATHS.update(BROADCAST_PATHS)


# --- training (services/training/API.md) ------------------------------------------------------------

TOPIC = {"type": "string", "enum": ["radio_operation", "content_production", "oral_propaganda",
                                    "foreign_information", "other"]}
PERSON_ROLE = {"type": "string", "enum": ["communicator", "lead", "officer"],
               "description": "communicator (tuyên truyền viên), lead (tổ trưởng, counts as a communicator) or "
                              "officer (cán bộ xã, never counted against a village)."}
PERSON_STATUS = {"type": "string", "enum": ["active", "on_leave", "left"]}
ATTENDANCE_STATUS = {"type": "string", "enum": ["present", "late", "excused", "absent"]}
CLOCK = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "description": "HH:MM, Vietnam time."}
TRAINING_ERRORS = {
    "403": _error("Missing role (commune administrators and trainers change the roster, courses and attendance "
                  "and see personal data; every commune role reads), another commune, or CSRF."),
    "404": _error("No such person, course, session, enrolment, import or certificate in the commune."),
    "409": _error("CONFLICT: a second live enrolment, a capacity below those enrolled (details.enrolled, "
                  "capacity), an import confirmed twice or with rows in error (details.errors), a course closed "
                  "before its last session, a session with attendance."),
}
_PERSON_FIELDS = {
    "full_name": {"type": "string", "maxLength": 200}, "village": {**STRING_OR_NULL, "description": "A village id "
                                                                   "of the commune; null for officers."},
    "role": PERSON_ROLE, "gender": {"enum": ["male", "female", "other", None]}, "birth_date": DATE_OR_NULL,
    "phone": STRING_OR_NULL, "email": STRING_OR_NULL, "address": STRING_OR_NULL, "decision_number": STRING_OR_NULL,
    "decision_date": DATE_OR_NULL, "notes": STRING_OR_NULL,
}
_UPLOAD = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "CSV (UTF-8, comma or semicolon) or XLSX, ≤ 2 MB."},
    "commune_id": STRING_OR_NULL}}

TRAINING_SCHEMAS = {
    "Person": {
        "type": "object",
        "description": "Personal fields (phone, email, address, birth_date, gender, decision_number, decision_date, "
                       "notes, status_reason) are present only for commune administrators and trainers.",
        "properties": {"person_id": {"type": "string"}, **_PERSON_FIELDS, "status": PERSON_STATUS,
                       "status_since": DATE, "status_reason": STRING_OR_NULL, "replaces": STRING_OR_NULL,
                       "replaced_by": STRING_OR_NULL, "created_at": TIME, "updated_at": TIME},
    },
    "PersonDetail": {
        "allOf": [_ref("Person"), {"type": "object", "properties": {"history": {"type": "array", "items": {
            "type": "object", "properties": {"at": TIME, "status": PERSON_STATUS, "reason": {"type": "string"},
                                             "by": STRING_OR_NULL}}}}}],
    },
    "PersonRequest": {
        "type": "object", "additionalProperties": False, "required": ["full_name"],
        "description": "A new person (who starts active), or all of a stored one's fields; status changes apart.",
        "properties": {**_PERSON_FIELDS, "commune_id": STRING_OR_NULL},
    },
    "PersonStatusRequest": {
        "type": "object", "additionalProperties": False, "required": ["status"],
        "properties": {"status": PERSON_STATUS, "since": {**DATE_OR_NULL, "description": "Today unless given."},
                       "reason": {"type": "string", "maxLength": 500}, "commune_id": STRING_OR_NULL},
    },
    "ReplacePersonRequest": {
        "type": "object", "additionalProperties": False, "required": ["replacement"],
        "properties": {"replacement": {"oneOf": [
            {"type": "object", "additionalProperties": False, "required": ["full_name"],
             "properties": _PERSON_FIELDS},
            {"type": "object", "additionalProperties": False, "required": ["person_id"],
             "properties": {"person_id": {"type": "string"}}}],
            "description": "A new person's fields (village and role are the replaced person's), or someone listed."},
            "since": DATE_OR_NULL, "reason": {"type": "string", "maxLength": 500}, "commune_id": STRING_OR_NULL},
    },
    "Replaced": {"type": "object", "properties": {"left": _ref("Person"), "replacement": _ref("Person")}},
    "RosterTotals": {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in ("target", "in_place", "on_leave", "vacancies",
                                                              "villages_short")},
    },
    "Roster": {
        "type": "object",
        "properties": {
            "villages": {"type": "array", "items": {"type": "object", "properties": {
                "village": {"type": "string"}, "name": {"type": "string"}, "target": {"type": "integer"},
                "in_place": {"type": "integer"}, "on_leave": {"type": "integer"}, "vacancies": {"type": "integer"},
                "vacant_since": {**DATE_OR_NULL, "description": "Since when the village has been short; null when "
                                                                "it is not."},
                "zalo_url": STRING_OR_NULL, "people": {"type": "array", "items": _ref("Person")}}}},
            "officers": {"type": "array", "items": _ref("Person")},
            "others": {"type": "array", "items": _ref("Person"),
                       "description": "People of a village the commune no longer has."},
            "totals": _ref("RosterTotals"), "zalo_url": STRING_OR_NULL},
    },
    "TargetsRequest": {
        "type": "object", "additionalProperties": False, "required": ["targets"],
        "properties": {"targets": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["village", "target"],
            "properties": {"village": {"type": "string"}, "target": {"type": "integer", "minimum": 0, "maximum": 50},
                           "zalo_url": {**STRING_OR_NULL, "description": "https://zalo.me/… or "
                                                                         "https://chat.zalo.me/…, or empty."}}}},
            "zalo_url": STRING_OR_NULL, "commune_id": STRING_OR_NULL},
    },
    "ImportFileRequest": {
        "type": "object", "additionalProperties": False, "required": ["filename", "data_base64"],
        "properties": {"filename": {"type": "string", "maxLength": 255},
                       "data_base64": {"type": "string", "contentEncoding": "base64",
                                       "description": "The file's bytes, ≤ 2 MB."},
                       "commune_id": STRING_OR_NULL},
    },
    "ImportFileForm": _UPLOAD,
    "ImportPreview": {
        "type": "object",
        "properties": {"import_id": {"type": "string"}, "kind": {"enum": ["roster", "online"]},
                       "rows": {"type": "array", "items": {"type": "object", "properties": {
                           "row": {"type": "integer"},
                           "status": {"enum": ["ok", "error", "matched", "unmatched"]},
                           "errors": {"type": "array", "items": {"type": "string"}},
                           "person": {"type": "object", "description": "Roster: the person as read."},
                           "person_id": STRING_OR_NULL, "full_name": {"type": "string"},
                           "course_title": {"type": "string"}, "completed_on": DATE_OR_NULL}}},
                       "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "columns": {"type": "array", "items": {"type": "string"}}},
    },
    "ImportConfirmed": {"type": "object", "properties": {"applied": {"type": "integer"},
                                                         "import_id": {"type": "string"}}},
    "Topic": {"type": "object", "properties": {"key": TOPIC, "label": {"type": "string"}}},
    "Session": {
        "type": "object",
        "properties": {"session_id": {"type": "string"}, "course_id": {"type": "string"}, "date": DATE,
                       "starts_at": CLOCK, "ends_at": CLOCK, "place": {"type": "string"},
                       "trainer": {"type": "string"}, "capacity": {"type": "integer"}},
    },
    "Enrolment": {
        "type": "object",
        "properties": {"enrolment_id": {"type": "string"}, "course_id": {"type": "string"},
                       "person_id": {"type": "string"}, "full_name": {"type": "string"}, "village": STRING_OR_NULL,
                       "state": {"enum": ["enrolled", "waitlisted", "cancelled"]}, "enrolled_at": TIME_OR_NULL,
                       "requested_at": TIME, "position": {"type": ["integer", "null"],
                                                          "description": "1-based, waiting list only."}},
    },
    "Course": {
        "type": "object",
        "properties": {"course_id": {"type": "string"}, "title": {"type": "string"},
                       "topics": {"type": "array", "items": TOPIC}, "description": {"type": "string"},
                       "organiser": {"type": "string"}, "kind": {"enum": ["in_person", "online"]},
                       "min_attendance": {"type": "number", "minimum": 0, "maximum": 1},
                       "state": {"enum": ["open", "closed"]},
                       "places": {"type": ["integer", "null"], "description": "The smallest capacity of its "
                                                                            "sessions; null without sessions."},
                       "enrolled": {"type": "integer"}, "waitlisted": {"type": "integer"},
                       "sessions_count": {"type": "integer"},
                       "next_session": {"oneOf": [_ref("Session"), {"type": "null"}]}},
    },
    "CourseDetail": {
        "allOf": [_ref("Course"), {"type": "object", "properties": {
            "sessions": {"type": "array", "items": _ref("Session")},
            "enrolments": {"type": "array", "items": _ref("Enrolment")}}}],
    },
    "CourseRequest": {
        "type": "object", "additionalProperties": False, "required": ["title", "topics"],
        "properties": {"title": {"type": "string", "maxLength": 300},
                       "topics": {"type": "array", "items": TOPIC, "minItems": 1},
                       "description": {"type": "string"}, "organiser": {"type": "string"},
                       "min_attendance": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.8},
                       "commune_id": STRING_OR_NULL},
    },
    "SessionRequest": {
        "type": "object", "additionalProperties": False, "required": ["date", "starts_at", "ends_at", "capacity"],
        "properties": {"date": DATE, "starts_at": CLOCK, "ends_at": CLOCK, "place": {"type": "string"},
                       "trainer": {"type": "string"}, "capacity": {"type": "integer", "minimum": 1, "maximum": 1000},
                       "commune_id": STRING_OR_NULL},
    },
    "SessionSaved": {"type": "object", "properties": {"session": _ref("Session"),
                                                      "promoted": {"type": "array", "items": _ref("Enrolment")}}},
    "SessionDeleted": {"type": "object", "properties": {"deleted": {"const": True},
                                                        "promoted": {"type": "array", "items": _ref("Enrolment")}}},
    "PersonChoiceRequest": {
        "type": "object", "additionalProperties": False, "required": ["person_id"],
        "properties": {"person_id": {"type": "string"}, "commune_id": STRING_OR_NULL},
    },
    "EnrolmentCancelled": {"type": "object", "properties": {
        "cancelled": _ref("Enrolment"), "promoted": {"oneOf": [_ref("Enrolment"), {"type": "null"}]}}},
    "AttendanceSheet": {
        "type": "object",
        "properties": {"session": _ref("Session"), "course": _ref("Course"),
                       "rows": {"type": "array", "items": {"type": "object", "properties": {
                           "person_id": {"type": "string"}, "full_name": {"type": "string"},
                           "village": STRING_OR_NULL, "status": {"enum": ATTENDANCE_STATUS["enum"] + [None]},
                           "remark": {"type": "string"}}}},
                       "counts": {"type": "object", "properties": {
                           name: {"type": "integer"} for name in ATTENDANCE_STATUS["enum"] + ["not_taken"]}}},
    },
    "AttendanceRequest": {
        "type": "object", "additionalProperties": False, "required": ["entries"],
        "properties": {"entries": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["person_id", "status"],
            "properties": {"person_id": {"type": "string"}, "status": ATTENDANCE_STATUS,
                           "remark": {"type": "string", "maxLength": 300}}}},
            "commune_id": STRING_OR_NULL},
    },
    "CourseClosed": {
        "type": "object",
        "properties": {"course": _ref("Course"),
                       "completed": {"type": "array", "items": {"type": "object", "properties": {
                           "person_id": {"type": "string"}, "full_name": {"type": "string"},
                           "certificate_id": {"type": "string"}, "code": {"type": "string"}}}},
                       "not_completed": {"type": "array", "items": {"type": "object", "properties": {
                           "person_id": {"type": "string"}, "full_name": {"type": "string"},
                           "attended": {"type": "integer"}, "expected": {"type": "integer"}}}}},
    },
    "UnmatchedRow": {
        "type": "object",
        "properties": {"row_id": {"type": "string"}, "import_id": {"type": "string"},
                       "full_name": {"type": "string"}, "email": STRING_OR_NULL, "phone": STRING_OR_NULL,
                       "course_title": {"type": "string"}, "completed_on": DATE},
    },
    "Certificate": {
        "type": "object",
        "properties": {"certificate_id": {"type": "string"}, "code": {"type": "string"},
                       "person_id": {"type": "string"}, "full_name": {"type": "string"},
                       "course_id": {"type": "string"}, "course_title": {"type": "string"},
                       "topics": {"type": "array", "items": TOPIC}, "completed_on": DATE,
                       "commune_id": {"type": "string"}, "commune_name": {"type": "string"}, "issued_at": TIME,
                       "source": {"enum": ["course", "online"]},
                       "revoked": {"type": ["object", "null"],
                                   "properties": {"at": TIME, "reason": {"type": "string"}}}},
    },
    "RevokeCertificateRequest": {
        "type": "object", "additionalProperties": False, "required": ["reason"],
        "properties": {"reason": {"type": "string", "maxLength": 500}, "commune_id": STRING_OR_NULL},
    },
    "Verification": {
        "type": "object", "required": ["valid"],
        "description": "Only what the certificate states; a revoked certificate is not valid and keeps its "
                       "statement with revoked set.",
        "properties": {"valid": {"type": "boolean"},
                       "certificate": {"type": "object", "additionalProperties": False, "properties": {
                           "code": {"type": "string"}, "full_name": {"type": "string"},
                           "course_title": {"type": "string"}, "topics": {"type": "array", "items": TOPIC},
                           "completed_on": DATE, "commune_name": {"type": "string"}, "issued_at": TIME,
                           "revoked": {"type": ["object", "null"], "properties": {
                               "at": TIME, "reason": {"type": "string"}}}}},
                       "reason": {"type": "string", "description": "Why the code is not valid."},
                       "error": {"enum": ["NOT_FOUND", "REVOKED"]}, "message": {"type": "string"}},
    },
    "TrainingIndicators": {
        "type": "object",
        "properties": {"people_trained": {"type": "integer"},
                       "by_topic": {"type": "object", "additionalProperties": {"type": "integer"}},
                       "roster": _ref("RosterTotals")},
    },
}


def _training(summary, ok, *, status="200", errors=(), parameters=None, body=None, form=None):
    """A training route: ``ok`` is the answer's schema name (or a full response); writes add the write and
    the training service's refusals."""
    response = ok if isinstance(ok, dict) else _json(_ref(ok), "The answer.")
    responses = {status: response, **AUTH_ERRORS, **TRAINING_ERRORS}
    if body or form:
        responses.update(UPLOAD_ERRORS if form else WRITE_ERRORS)
    responses.update(errors)
    if parameters is None:
        parameters = [] if body or form else [COMMUNE_QUERY]
    return _op(summary, responses, ["training"], parameters=parameters, body=body, form=form)


_PERSON_ID = _path("person_id", "Person id.")
IMPORT_TOO_LARGE = {"413": _error("A file over 2 MB, or a body over its limit (PAYLOAD_TOO_LARGE).")}
_COURSE_ID = _path("course_id", "Course id.")
_SESSION_ID = _path("session_id", "Session id.")

TRAINING_PATHS = {
    "/api/training/roster": {"get": _training(
        "The roster by village (in the commune's order): target, in place, on leave, vacancies and since when, the "
        "Zalo groups; officers; people of former villages; totals.", "Roster")},
    "/api/training/roster/export": {"get": _training(
        "The roster as a file with the columns the import reads (commune administrators and trainers).",
        _file("The roster.", ["text/csv", XLSX]), errors={"400": _error("format is not csv or xlsx.")},
        parameters=[_query("format", "csv or xlsx.", {"enum": ["csv", "xlsx"]}), COMMUNE_QUERY])},
    "/api/training/people": {"post": _training(
        "Add a person to the roster; they start active. Emits training.roster_counted.", "Person", status="201",
        body="PersonRequest")},
    "/api/training/people/{person_id}": {
        "get": _training("A person with their status history.", "PersonDetail",
                         parameters=[_PERSON_ID, COMMUNE_QUERY]),
        "put": _training("Save all of a person's fields (the body's person_id, if given, must be the path's).",
                         "Person", parameters=[_PERSON_ID], body="PersonRequest"),
    },
    "/api/training/people/{person_id}/status": {"post": _training(
        "On leave, back, or left, from a date (today unless given).", "Person", parameters=[_PERSON_ID],
        body="PersonStatusRequest")},
    "/api/training/people/{person_id}/replace": {"post": _training(
        "The person leaves and the replacement takes their village and role (refused for officers).", "Replaced",
        parameters=[_PERSON_ID], body="ReplacePersonRequest")},
    "/api/training/targets": {"put": _training(
        "Each village's target (định biên) and Zalo group, and the commune's group.", "RosterTotals",
        body="TargetsRequest")},
    "/api/training/imports/roster": {"post": _training(
        "Preview a roster file row by row (nothing changes): each row ok or with its errors.", "ImportPreview",
        body="ImportFileRequest", form="ImportFileForm", errors=IMPORT_TOO_LARGE)},
    "/api/training/imports/online": {"post": _training(
        "Preview the Ministry's export of completed open online courses: each row matched to a person, unmatched "
        "or in error.", "ImportPreview", body="ImportFileRequest", form="ImportFileForm", errors=IMPORT_TOO_LARGE)},
    "/api/training/imports/{import_id}/confirm": {"post": _training(
        "Apply a previewed import once (refused while a row has errors; previews expire after 24 h).",
        "ImportConfirmed", parameters=[_path("import_id", "Import id.")], body="CommuneRequest")},
    "/api/training/topics": {"get": _training(
        "The training topics of the plan, with Vietnamese labels.", _json(_items("Topic"), "Topics."),
        parameters=())},
    "/api/training/courses": {
        "get": _training("The commune's courses, with their session count and next session.",
                         _json(_items("Course"), "Courses."), errors={"400": _error("Invalid filter.")},
                         parameters=[_query("state", "open or closed."), _query("topic", "A topic key."),
                                     _query("year", "Courses of that year.", {"type": "integer"}), COMMUNE_QUERY]),
        "post": _training("Create a course.", "Course", status="201", body="CourseRequest"),
    },
    "/api/training/courses/{course_id}": {
        "get": _training("A course with its sessions (by date) and enrolments (enrolled, then the waiting list).",
                         "CourseDetail", parameters=[_COURSE_ID, COMMUNE_QUERY]),
        "put": _training("Save all of a course's fields (the body's course_id, if given, must be the path's).",
                         "Course", parameters=[_COURSE_ID], body="CourseRequest"),
    },
    "/api/training/courses/{course_id}/sessions": {"post": _training(
        "Add a session; places it frees go to the waiting list at once (promoted).", "SessionSaved", status="201",
        parameters=[_COURSE_ID], body="SessionRequest")},
    "/api/training/sessions/{session_id}": {
        "put": _training("Change a session (a capacity below those enrolled is refused).", "SessionSaved",
                         parameters=[_SESSION_ID], body="SessionRequest"),
        "delete": _training("Delete a session (refused once attendance was recorded).", "SessionDeleted",
                            parameters=[_SESSION_ID, COMMUNE_QUERY]),
    },
    "/api/training/courses/{course_id}/enrolments": {"post": _training(
        "Enrol a person: enrolled while the course has a place, else waitlisted.", "Enrolment", status="201",
        parameters=[_COURSE_ID], body="PersonChoiceRequest")},
    "/api/training/enrolments/{enrolment_id}/cancel": {"post": _training(
        "Cancel an enrolment; a freed place goes to the first of the waiting list (training.enrolment_promoted).",
        "EnrolmentCancelled", parameters=[_path("enrolment_id", "Enrolment id.")], body="CancelRequest")},
    "/api/training/sessions/{session_id}/attendance": {
        "get": _training("The attendance sheet: the people expected at the session, with what was recorded.",
                         "AttendanceSheet", parameters=[_SESSION_ID, COMMUNE_QUERY]),
        "put": _training("Record attendance (again replaces); someone not expected at the session is refused.",
                         "AttendanceSheet", parameters=[_SESSION_ID], body="AttendanceRequest"),
    },
    "/api/training/courses/{course_id}/close": {"post": _training(
        "Close a course: completions and certificates for those whose attendance reached its minimum "
        "(training.completions_recorded); refused before its last session's date.", "CourseClosed",
        parameters=[_COURSE_ID], body="CommuneRequest")},
    "/api/training/unmatched": {"get": _training(
        "Online completions no person was found for, waiting for an officer.",
        _json(_items("UnmatchedRow"), "Rows."))},
    "/api/training/unmatched/{row_id}/match": {"post": _training(
        "Record an unmatched online completion for a person.", _json({"type": "object"}, "The completion recorded."),
        parameters=[_path("row_id", "Row id.")], body="PersonChoiceRequest")},
    "/api/training/certificates": {"get": _training(
        "The commune's certificates, of one person or course if asked.",
        _json(_items("Certificate"), "Certificates."),
        parameters=[_query("person_id", "Only this person's."), _query("course_id", "Only this course's."),
                    COMMUNE_QUERY])},
    "/api/training/certificates/{certificate_id}.pdf": {"get": _training(
        "A certificate as an A4 landscape PDF in Vietnamese, with its code and the verification address.",
        _file("The certificate.", ["application/pdf"]),
        parameters=[_path("certificate_id", "Certificate id."), COMMUNE_QUERY])},
    "/api/training/certificates/{certificate_id}/revoke": {"post": _training(
        "Revoke a certificate; its verification then says so, with the reason.", "Certificate",
        parameters=[_path("certificate_id", "Certificate id.")], body="RevokeCertificateRequest")},
    "/api/training/indicators": {"get": _training(
        "People trained per topic between two Vietnamese dates (from 1 January to today unless given), and the "
        "roster's totals.", "TrainingIndicators", errors={"400": _error("Invalid dates.")},
        parameters=[_query("start", "First day (YYYY-MM-DD).", DATE), _query("end", "Last day (YYYY-MM-DD).", DATE),
                    COMMUNE_QUERY])},
    "/api/certificates/verify/{code}": {"get": _op(
        "Public, without sign-in: whether a certificate's verification code is valid and what the certificate "
        "states (nothing else); cacheable for 5 minutes. The console's page is GET /xac-minh/{code}.",
        {"200": _json(_ref("Verification"), "A valid certificate."),
         "410": _json(_ref("Verification"), "A revoked certificate: valid false, what it stated with revoked "
                                            "{at, reason}, the reason (also as error REVOKED and message)."),
         "404": _json(_ref("Verification"), "Not a valid code: valid false with the reason (also as error "
                                            "NOT_FOUND and message).")},
        ["training"], parameters=[_path("code", "The code printed on the certificate.")], public=True)},
}
SCHEMAS.update(TRAINING_SCHEMAS)
PATHS.update(TRAINING_PATHS)


# --- provincial sync (services/sync/API.md, "RPCs of the nameko sync service") ----------------------

SYNC_STREAM = {"type": "string", "description": "Up: content, broadcast_stats, devices, tasks, training; down: "
                                                "emergency, bulletins, directives, courses."}
SYNC_UNAVAILABLE = {"503": _error("The sync service did not answer in time or is not running "
                                  "(SERVICE_UNAVAILABLE).")}
SYNC_SCHEMAS = {
    "SyncLink": {
        "type": "object",
        "properties": {"state": {"type": "string", "enum": ["connected", "disconnected", "never"]},
                       "hub": STRING_OR_NULL, "last_contact": TIME_OR_NULL, "last_error": STRING_OR_NULL},
    },
    "SyncUpStream": {
        "type": "object", "description": "A stream going up (commune → province).",
        "properties": {"stream": SYNC_STREAM, "produced": {"type": "integer"}, "acknowledged": {"type": "integer"},
                       "backlog": {"type": "integer"},
                       "lag_seconds": {"type": "number", "description": "Age of the oldest unacknowledged record, "
                                                                       "or 0."},
                       "paused": {"type": "boolean"}},
    },
    "SyncDownStream": {
        "type": "object", "description": "A stream coming down (province → commune).",
        "properties": {"stream": SYNC_STREAM, "received": {"type": "integer"}, "delivered": {"type": "integer"},
                       "backlog": {"type": "integer"}, "paused": {"type": "boolean"}},
    },
    "SyncStatus": {
        "type": "object",
        "properties": {"commune_id": {"type": "string"}, "link": _ref("SyncLink"),
                       "up": {"type": "array", "items": _ref("SyncUpStream")},
                       "down": {"type": "array", "items": _ref("SyncDownStream")}},
    },
}


def _sync_stream_change(summary):
    return _op(summary, {
        "200": _json({"oneOf": [_ref("SyncUpStream"), _ref("SyncDownStream")]}, "The stream's entry."),
        **AUTH_ERRORS, **WRITE_ERRORS,
        "403": _error("Not a commune administrator, another commune (the sync deployment serves one), or CSRF."),
        "404": _error("No such stream."), **SYNC_UNAVAILABLE},
        ["sync"], parameters=[_path("stream", "The stream's name.")], body="CommuneRequest")


SYNC_PATHS = {
    "/api/sync": {"get": _op(
        "The link with the province (connected, disconnected, never; last contact and error) and every up and "
        "down stream's counters, backlog and pause.",
        {"200": _json(_ref("SyncStatus"), "The state."), **AUTH_ERRORS, **SYNC_UNAVAILABLE}, ["sync"],
        parameters=[COMMUNE_QUERY])},
    "/api/sync/streams/{stream}/pause": {"post": _sync_stream_change(
        "Pause a stream (commune administrators): an up stream is no longer pushed, a down stream no longer "
        "delivered; its records keep queueing.")},
    "/api/sync/streams/{stream}/resume": {"post": _sync_stream_change(
        "Resume a paused stream (commune administrators).")},
}
SCHEMAS.update(SYNC_SCHEMAS)
PATHS.update(SYNC_PATHS)


# --- the commune's home dashboard (services/gateway/home.py) -------------------------------------

def _panel(description, properties):
    """A panel of the dashboard: ``available`` false (and nothing else) when its service did not answer in time."""
    return {"type": "object", "required": ["available"], "description": description,
            "properties": {"available": {"type": "boolean", "description": "False when the panel's service did not "
                                         "answer within the panel's deadline; the other fields are then absent."},
                           **properties}}


HOME_SLOT = {
    "type": "object",
    "properties": {"programme_id": {"type": "string"}, "name": {"type": "string"},
                   "priority": {"type": "string", "enum": ["normal", "high"]}, "starts_at": TIME, "ends_at": TIME,
                   "starts": {"type": "string", "description": "Vietnam time, HH:MM."},
                   "ends": {"type": "string", "description": "Vietnam time, HH:MM."},
                   "device_count": {"type": "integer"},
                   "from_yesterday": {"type": "boolean",
                                      "description": "Began yesterday evening and still plays after midnight."}},
}
HOME_SCHEMAS = {
    "HomeDashboard": {
        "type": "object",
        "required": ["commune_id", "date", "generated_at", "plans", "devices", "programmes", "alarms", "sync",
                     "publications", "activity"],
        "properties": {
            "commune_id": {"type": "string"},
            "date": {**DATE, "description": "Today in Vietnam."},
            "generated_at": TIME,
            "plans": _panel("The commune's plans with their progress (tasks service).",
                            {"items": {"type": "array", "items": {"type": "object"}}}),
            "devices": _panel("Devices online per village (telemetry).", {
                "online": {"type": "integer"}, "total": {"type": "integer"},
                "villages": {"type": "array", "items": {"type": "object", "properties": {
                    "village": STRING_OR_NULL, "name": STRING_OR_NULL, "online": {"type": "integer"},
                    "total": {"type": "integer"}, "offline": {"type": "integer"}}}}}),
            "programmes": _panel("What plays today per zone (broadcast calendar); zone_id null: devices of no zone.", {
                "zones": {"type": "array", "items": {"type": "object", "properties": {
                    "zone_id": STRING_OR_NULL, "name": STRING_OR_NULL,
                    "slots": {"type": "array", "items": HOME_SLOT}}}}}),
            "alarms": _panel("Active alarms (telemetry): counts by severity and the most recent.", {
                "total": {"type": "integer"},
                "by_severity": {"type": "object", "additionalProperties": {"type": "integer"}},
                "recent": {"type": "array", "items": {"type": "object"}}}),
            "sync": _panel("The link with the province (sync service).", {
                "link": _ref("SyncLink"), "backlog_up": {"type": "integer"}, "backlog_down": {"type": "integer"},
                "lag_seconds": {"type": "integer"}, "paused": {"type": "array", "items": {"type": "string"}}}),
            "publications": _panel("The latest publications (content service).", {
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "title": {"type": "string"}, "kind": CONTENT_KIND,
                    "section_id": {"type": "string"}, "section_name": {"type": "string"},
                    "channels": {"type": "array", "items": CHANNEL}, "published_at": TIME,
                    "first_published_at": TIME_OR_NULL}}}}),
            "activity": _panel("Recent activity (the gateway's own feed).",
                               {"items": {"type": "array", "items": {"type": "object"}}}),
        },
    },
}
HOME_PATHS = {
    "/api/home": {"get": _op(
        "The commune's home dashboard: plan progress, devices online by village, today's programmes, open "
        "alarms, the sync state, the latest publications and recent activity. The services are asked at once "
        "with a short deadline each; a panel whose service did not answer is {\"available\": false} and the "
        "rest is still 200.",
        {"200": _json(_ref("HomeDashboard"), "The dashboard."), **AUTH_ERRORS,
         "404": _error("No such commune (district administrators).")}, ["home"],
        parameters=[COMMUNE_QUERY])},
}
SCHEMAS.update(HOME_SCHEMAS)
PATHS.update(HOME_PATHS)

INPUT_ERROR = _error("Invalid or unknown parameters or body (INVALID_INPUT, INVALID_JSON), in Vietnamese, "
                     "with the field in details.")


def _document_input_errors(paths):
    """Every operation that takes input (path, query or body) may answer 400:
    each is validated strictly before any service is asked."""
    for path, operations in paths.items():
        for operation in operations.values():
            takes_input = "{" in path or operation.get("parameters") or operation.get("requestBody")
            if takes_input and "400" not in operation["responses"]:
                operation["responses"]["400"] = INPUT_ERROR


_document_input_errors(PATHS)

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "TinXã gateway API",
        "version": "1.0.0",
        "description": (
            "HTTP JSON API of TinXã, the commune source-information system. People sign in at "
            "/api/auth/login and send the session cookie (and, for writes, the X-CSRF-Token header); "
            "machines send an API key. Every response carries X-Request-Id. Errors are "
            '{"error": CODE, "message": "…"} with a Vietnamese message. Public, without sign-in and outside '
            "this API: each commune's feeds GET /feeds/{commune_id}/atom.xml (Atom 1.0) and "
            "/feeds/{commune_id}/feed.json (JSON Feed 1.1), item pages /p/{commune_id}/{item_id} and media "
            "/p/{commune_id}/media/{media_id} (published versions of live items only), broadcasts' speech "
            "/p/{commune_id}/speech/{reference} (503 with Retry-After while it is being made), and the page verifying a "
            "training certificate's code, /xac-minh/{code}."
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"session": []}, {"bearer": []}, {"apiKey": []}],
    "tags": [{"name": name} for name in ("meta", "auth", "tenancy", "tasks", "reports", "activity", "content",
                                         "devices", "alarms", "broadcasting", "training", "sync", "home")],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "tinxa_session"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "An API key as a bearer token."},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        },
    },
}
