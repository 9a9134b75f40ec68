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


def _body(name):
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


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
TASK_STATUS = {"type": "string", "enum": ["not_started", "in_progress", "waiting_guidance", "done", "cancelled"]}
ROLE = {"type": "string", "enum": ["district_admin", "commune_admin", "editor", "approver", "operator", "trainer",
                                   "viewer"]}
STRING_OR_NULL = {"type": ["string", "null"]}


def _op(summary, responses, tags, parameters=(), body=None, public=False):
    operation = {"summary": summary, "tags": tags, "responses": responses}
    if parameters:
        operation["parameters"] = list(parameters)
    if body:
        operation["requestBody"] = _body(body)
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
                       "commune_id": STRING_OR_NULL, "roles": {"type": "array", "items": ROLE},
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
                       "commune_id": STRING_OR_NULL, "language": {"enum": ["vi", "en"], "default": "vi"}},
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
    "Plan": {
        "type": "object",
        "properties": {"_id": {"type": "string"}, "commune_id": {"type": "string"}, "title": {"type": "string"},
                       "source_name": {"type": "string"}, "imported_at": {"type": "string"},
                       "task_count": {"type": "integer"},
                       "problems": {"type": "array", "items": {"type": "string"}},
                       "progress": {"type": "object", "additionalProperties": {"type": "integer"},
                                    "description": "Task counts by status (list only)."}},
    },
    "ImportPlanRequest": {
        "type": "object", "additionalProperties": False, "required": ["text"],
        "properties": {"text": {"type": "string", "description": "The plan's text, with its appendix (Phụ lục)."},
                       "source_name": {"type": "string"}, "commune_id": STRING_OR_NULL},
    },
    "Task": {
        "type": "object",
        "properties": {"_id": {"type": "string"}, "plan_id": {"type": "string"}, "commune_id": {"type": "string"},
                       "code": {"type": "string", "examples": ["I.1.1"]}, "parent_code": STRING_OR_NULL,
                       "part": {"type": "string"}, "order": {"type": "integer"}, "title": {"type": "string"},
                       "details": {"type": "string"}, "lead_agency": {"type": "string"},
                       "coordinating_agencies": {"type": "string"}, "timeline": {"type": "string"},
                       "status": TASK_STATUS},
    },
    "TaskPage": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": _ref("Task")}, "total": {"type": "integer"},
                       "offset": {"type": "integer"}, "limit": {"type": "integer"}},
    },
    "StatusChangeRequest": {
        "type": "object", "additionalProperties": False, "required": ["status"],
        "properties": {"status": TASK_STATUS, "commune_id": STRING_OR_NULL},
    },
    "Activity": {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "The event id."}, "commune_id": {"type": "string"},
                       "occurred_at": {"type": "string"}, "kind": {"enum": ["task_status_changed", "plan_imported"]},
                       "actor": STRING_OR_NULL, "actor_name": STRING_OR_NULL,
                       "summary": {"type": "string", "description": "One sentence, in Vietnamese."},
                       "data": {"type": "object"}},
    },
}


def _items(schema_name):
    return {"type": "object", "properties": {"items": {"type": "array", "items": _ref(schema_name)}}}


PATHS = {
    "/api/openapi.json": {"get": _op("This document.", {"200": {"description": "OpenAPI 3.1 document."}},
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
    "/api/users": {"post": _op(
        "Create a user (commune administrators in their commune; district administrators anywhere).",
        {"201": _json({"type": "object", "properties": {"user": _ref("User")}}, "Created."), **WRITE_ERRORS,
         **AUTH_ERRORS, "404": _error("No such commune."), "409": _error("Username taken.")},
        ["tenancy"], body="CreateUserRequest")},
    "/api/api-keys": {"post": _op(
        "Create an API key for a machine of the commune; the key is returned once.",
        {"201": _json(_ref("ApiKeyCreated"), "Created."), **WRITE_ERRORS, **AUTH_ERRORS},
        ["tenancy"], body="CreateApiKeyRequest")},
    "/api/plans": {"get": _op(
        "The commune's plans with task counts by status.",
        {"200": _json(_items("Plan"), "Plans."), **AUTH_ERRORS}, ["tasks"], parameters=[COMMUNE_QUERY])},
    "/api/plans/import": {"post": _op(
        "Import a plan from its text (commune administrators and editors).",
        {"201": _json(_ref("Plan"), "Imported."), **WRITE_ERRORS, **AUTH_ERRORS},
        ["tasks"], body="ImportPlanRequest")},
    "/api/tasks": {"get": _op(
        "Tasks in document order, filtered and paged.",
        {"200": _json(_ref("TaskPage"), "A page of tasks."), "400": _error("Invalid filter."), **AUTH_ERRORS},
        ["tasks"], parameters=[
            _query("plan_id", "Only this plan's tasks."),
            _query("status", "Only tasks in this status.", TASK_STATUS),
            _query("agency", "Lead agency contains this (accents ignored)."),
            _query("q", "Code, text or agencies contain this (accents ignored)."),
            _query("part", "Only this part of the plan (I, II …)."),
            _query("offset", "Tasks to skip.", {"type": "integer", "minimum": 0, "default": 0}),
            _query("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
            COMMUNE_QUERY,
        ])},
    "/api/tasks/{task_id}": {"get": _op(
        "One task.",
        {"200": _json(_ref("Task"), "The task."), **AUTH_ERRORS, "404": _error("No such task in the commune.")},
        ["tasks"], parameters=[_path("task_id", "Task id."), COMMUNE_QUERY])},
    "/api/tasks/{task_id}/status": {"post": _op(
        "Change a task's status; emits tasks.task_status_changed.",
        {"200": _json(_ref("Task"), "The task after the change."), **WRITE_ERRORS, **AUTH_ERRORS,
         "404": _error("No such task in the commune."),
         "409": _error("Someone changed the status meanwhile; reload and retry.")},
        ["tasks"], parameters=[_path("task_id", "Task id.")], body="StatusChangeRequest")},
    "/api/activity": {"get": _op(
        "The commune's recent activity, newest first.",
        {"200": _json(_items("Activity"), "Activity entries."), "400": _error("Invalid limit."), **AUTH_ERRORS},
        ["activity"], parameters=[
            _query("limit", "How many entries.", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            COMMUNE_QUERY,
        ])},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "TinXã gateway API",
        "version": "1.0.0",
        "description": (
            "HTTP JSON API of TinXã, the commune source-information system. People sign in at "
            "/api/auth/login and send the session cookie (and, for writes, the X-CSRF-Token header); "
            "machines send an API key. Every response carries X-Request-Id. Errors are "
            '{"error": CODE, "message": "…"} with a Vietnamese message.'
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"session": []}, {"bearer": []}, {"apiKey": []}],
    "tags": [{"name": name} for name in ("meta", "auth", "tenancy", "tasks", "activity")],
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
