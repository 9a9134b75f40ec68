"""The OpenAPI document against the code: every /api route is documented and
every documented path exists; documented bodies are the schemas' fields."""
import inspect
import re

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.gateway import schemas
from services.gateway.entrypoints import ApiEntrypoint
from services.gateway.openapi import DOCUMENT
from services.gateway.service import GatewayService


def registered_api_routes():
    """(OpenAPI path, method) of every HTTP entrypoint under /api, the mixins' too."""
    routes = set()
    for _, attribute in inspect.getmembers(GatewayService):
        for entrypoint in getattr(attribute, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ApiEntrypoint) and entrypoint.url.startswith("/api/"):
                path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
                routes |= {(path, method.lower()) for method in entrypoint.method.split(",")}
    return routes


def documented_routes():
    return {(path, method) for path, operations in DOCUMENT["paths"].items() for method in operations}


def test_every_api_route_is_documented_and_every_documented_route_exists():
    registered = registered_api_routes()
    assert len(registered) >= 26
    assert registered - documented_routes() == set(), "routes missing from openapi.py"
    assert documented_routes() - registered == set(), "openapi.py documents routes the service lacks"


def test_document_is_openapi_3_1_and_every_reference_resolves():
    assert DOCUMENT["openapi"] == "3.1.0"
    text = repr(DOCUMENT)
    for name in re.findall(r"#/components/schemas/(\w+)", text):
        assert name in DOCUMENT["components"]["schemas"], name
    for path, operations in DOCUMENT["paths"].items():
        for name in re.findall(r"{(\w+)}", path):
            for operation in operations.values():
                assert any(p["in"] == "path" and p["name"] == name for p in operation.get("parameters", ())), path


@pytest.mark.parametrize("component, schema", [
    ("LoginRequest", schemas.LoginSchema),
    ("CreateUserRequest", schemas.CreateUserSchema),
    ("CreateApiKeyRequest", schemas.CreateApiKeySchema),
    ("ImportPlanRequest", schemas.ImportPlanSchema),
    ("StatusChangeRequest", schemas.StatusChangeSchema),
    ("GuidanceRequest", schemas.GuidanceSchema),
    ("ProgressUpdateRequest", schemas.ProgressUpdateSchema),
    ("CommentRequest", schemas.CommentSchema),
    ("AssigneesRequest", schemas.AssigneesSchema),
    ("SectionRequest", schemas.SectionSchema),
    ("CommuneRequest", schemas.CommuneQuerySchema),
    ("ContentItemRequest", schemas.ContentItemSchema),
    ("ContentItemUpdateRequest", schemas.ContentItemUpdateSchema),
    ("ContentCommentRequest", schemas.ContentCommentSchema),
    ("ApproveRequest", schemas.ApproveSchema),
    ("ReturnRequest", schemas.ReturnSchema),
    ("PublishRequest", schemas.PublishSchema),
    ("ZoneRequest", schemas.ZoneSchema),
    ("ProgrammeRequest", schemas.ProgrammeSchema),
    ("BroadcastRequest", schemas.BroadcastSchema),
    ("BulletinRequest", schemas.BulletinSchema),
    ("ScheduleBroadcastRequest", schemas.ScheduleBroadcastSchema),
    ("OrderRequest", schemas.OrderSchema),
    ("CancelRequest", schemas.CancelSchema),

    ("DeviceRequest", schemas.DeviceSchema),
    ("DeviceUpdateRequest", schemas.DeviceUpdateSchema),
    ("DeviceImportRequest", schemas.DeviceImportSchema),
    ("RevokeRequest", schemas.RevokeSchema),
    ("CommandRequest", schemas.CommandSchema),
    ("AlarmNoteRequest", schemas.AlarmNoteSchema),
    ("AlarmRuleRequest", schemas.AlarmRuleSchema),

    ("PersonRequest", schemas.PersonSchema),
    ("PersonStatusRequest", schemas.PersonStatusSchema),
    ("ReplacePersonRequest", schemas.ReplacePersonSchema),
    ("TargetsRequest", schemas.TargetsSchema),
    ("ImportFileRequest", schemas.ImportFileSchema),
    ("CourseRequest", schemas.CourseSchema),
    ("SessionRequest", schemas.SessionSchema),
    ("PersonChoiceRequest", schemas.PersonChoiceSchema),
    ("AttendanceRequest", schemas.AttendanceSchema),
    ("RevokeCertificateRequest", schemas.RevokeCertificateSchema),
])
def test_documented_request_bodies_match_their_schemas(component, schema):
    documented = DOCUMENT["components"]["schemas"][component]
    loaded = schema().fields
    assert set(documented["properties"]) == set(loaded)
    assert set(documented.get("required", ())) == {name for name, field in loaded.items() if field.required}
    assert documented["additionalProperties"] is False


@pytest.mark.parametrize("component, schema, parts", [
    ("ImportPlanForm", schemas.ImportPlanFormSchema, {"file"}),
    ("ProgressUpdateForm", schemas.ProgressUpdateSchema, {"files"}),
    ("ContentItemForm", schemas.ContentItemFormSchema, {"images"}),
    ("ContentItemUpdateForm", schemas.ContentItemUpdateFormSchema, {"images"}),
    ("AudioUploadForm", schemas.AudioFormSchema, {"file"}),
])
def test_documented_forms_are_their_schemas_fields_and_files(component, schema, parts):
    documented = DOCUMENT["components"]["schemas"][component]
    assert set(documented["properties"]) == set(schema().fields) | parts
    for part in parts:
        described = documented["properties"][part]
        assert described.get("items", described)["format"] == "binary", part


@pytest.mark.parametrize("path, method", [
    ("/api/plans/preview", "post"), ("/api/plans/import", "post"), ("/api/tasks/{task_id}/updates", "post"),
    ("/api/content/items", "post"), ("/api/content/items/{item_id}", "patch"),
])
def test_upload_routes_document_both_bodies(path, method):
    content = DOCUMENT["paths"][path][method]["requestBody"]["content"]
    assert set(content) == {"application/json", "multipart/form-data"}, path
    assert "413" in DOCUMENT["paths"][path][method]["responses"], path


def test_the_audio_upload_is_a_form_only():
    operation = DOCUMENT["paths"]["/api/content/items/{item_id}/audio/upload"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data"}
    assert "413" in operation["responses"]


def test_content_routes_document_the_content_services_refusals():
    for path, operations in DOCUMENT["paths"].items():
        if path.startswith("/api/content/items/{item_id}"):
            for operation in operations.values():
                assert {"401", "403", "404"} <= set(operation["responses"]), path
                if "requestBody" in operation:
                    assert {"400", "409"} <= set(operation["responses"]), path


@pytest.mark.parametrize("path, method, schema", [
    ("/api/plans/{plan_id}/report", "get", schemas.ReportQuerySchema),
    ("/api/indicators", "get", schemas.IndicatorsQuerySchema),
    ("/api/users", "get", schemas.UserQuerySchema),
    ("/api/content/sections", "get", schemas.SectionQuerySchema),
    ("/api/content/items/{item_id}/diff", "get", schemas.DiffQuerySchema),
    ("/api/content/items/{item_id}", "get", schemas.CommuneQuerySchema),
    ("/api/content/media/{media_id}", "get", schemas.CommuneQuerySchema),
    ("/api/zones", "get", schemas.CommuneQuerySchema),
    ("/api/zones/{zone_id}", "delete", schemas.CommuneQuerySchema),
    ("/api/programmes/{programme_id}", "get", schemas.CommuneQuerySchema),
    ("/api/calendar", "get", schemas.CalendarQuerySchema),
    ("/api/broadcasts", "get", schemas.BroadcastQuerySchema),
    ("/api/plays", "get", schemas.PlayLogQuerySchema),
    ("/api/broadcast-hours", "get", schemas.HoursQuerySchema),
    ("/api/cap", "post", schemas.CommuneQuerySchema),
    ("/api/devices", "get", schemas.DeviceQuerySchema),
    ("/api/devices/{device_id}", "get", schemas.CommuneQuerySchema),
    ("/api/devices/{device_id}/telemetry", "get", schemas.TelemetryQuerySchema),
    ("/api/devices/{device_id}/connections", "get", schemas.PeriodQuerySchema),
    ("/api/uptime", "get", schemas.UptimeQuerySchema),
    ("/api/alarms", "get", schemas.AlarmQuerySchema),
    ("/api/alarm-rules", "get", schemas.CommuneQuerySchema),
    ("/api/training/roster", "get", schemas.CommuneQuerySchema),
    ("/api/training/roster/export", "get", schemas.ExportQuerySchema),
    ("/api/training/courses", "get", schemas.CourseQuerySchema),
    ("/api/training/certificates", "get", schemas.CertificateQuerySchema),
    ("/api/training/indicators", "get", schemas.IndicatorsQuerySchema),
    ("/api/training/sessions/{session_id}", "delete", schemas.CommuneQuerySchema),
    ("/api/sync", "get", schemas.CommuneQuerySchema),
])
def test_documented_query_parameters_are_the_schemas_fields(path, method, schema):
    parameters = DOCUMENT["paths"][path][method]["parameters"]
    names = {field.data_key or name for name, field in schema().fields.items()}
    assert {p["name"] for p in parameters if p["in"] == "query"} == names
