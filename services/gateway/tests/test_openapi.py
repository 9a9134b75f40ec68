"""The OpenAPI document against the code: every /api route is documented and
every documented path exists; documented bodies are the schemas' fields."""
import re

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.gateway import schemas
from services.gateway.entrypoints import ApiEntrypoint
from services.gateway.openapi import DOCUMENT
from services.gateway.service import GatewayService


def registered_api_routes():
    """(OpenAPI path, method) of every HTTP entrypoint under /api."""
    routes = set()
    for attribute in vars(GatewayService).values():
        for entrypoint in getattr(attribute, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ApiEntrypoint) and entrypoint.url.startswith("/api/"):
                path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
                routes |= {(path, method.lower()) for method in entrypoint.method.split(",")}
    return routes


def documented_routes():
    return {(path, method) for path, operations in DOCUMENT["paths"].items() for method in operations}


def test_every_api_route_is_documented_and_every_documented_route_exists():
    registered = registered_api_routes()
    assert len(registered) >= 14
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
])
def test_documented_request_bodies_match_their_schemas(component, schema):
    documented = DOCUMENT["components"]["schemas"][component]
    loaded = schema().fields
    assert set(documented["properties"]) == set(loaded)
    assert set(documented["required"]) == {name for name, field in loaded.items() if field.required}
    assert documented["additionalProperties"] is False
