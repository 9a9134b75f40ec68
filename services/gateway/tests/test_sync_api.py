"""Service tests of the provincial sync API: each route reaches its RPC of
the sync service (services/sync/API.md) with the caller's commune; pausing
and resuming are refused to anyone but a commune administrator before any
call; another commune is out of reach; the sync service's refusals come back
through the one error table, and a sync service that does not answer is a
503. The sync service is replaced by a stand-in."""
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway import auth
from services.gateway.openapi import DOCUMENT
from services.gateway.service import GatewayService
from services.gateway.tests import sync_samples as samples
from services.gateway.tests.test_api import assert_error, assert_route_reaches_rpc, called, send

SCOPED = {"commune_id": "xuan-hung"}
CHANGES = [("/api/sync/streams/devices/pause", "pause_stream"), ("/api/sync/streams/courses/resume", "resume_stream")]


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.sync_mock = replace_dependencies(container, "sync")
    container.start()
    return container


@pytest.fixture
def sync(gateway):
    return gateway.sync_mock


@pytest.fixture
def admin(gateway, people, sign_in):
    """Signed in as Xuân Hưng's commune administrator; the session's CSRF header."""
    return {auth.CSRF_HEADER: sign_in(people["admin"])}


# (method, path, JSON body or query, RPC, its answer, the call it gets, status)
ROUTES = [
    ("GET", "/api/sync", None, "status", samples.status(), ((), SCOPED), 200),
    ("GET", "/api/sync", {"commune_id": "xuan-hung"}, "status", samples.status("never"), ((), SCOPED), 200),
    ("POST", "/api/sync/streams/devices/pause", {}, "pause_stream",
     samples.up_stream("devices", 900, 880, lag_seconds=7530, paused=True), (("devices",), SCOPED), 200),
    ("POST", "/api/sync/streams/courses/resume", {"commune_id": "xuan-hung"}, "resume_stream",
     samples.down_stream("courses", 1, 0), (("courses",), SCOPED), 200),
]


@pytest.mark.parametrize("method, path, payload, rpc, answer, call, status", ROUTES,
                         ids=[f"{route[0]} {route[1]} {route[3]}" for route in ROUTES])
def test_each_route_reaches_its_rpc_in_the_callers_commune(sync, web_session, admin, method, path, payload, rpc,
                                                           answer, call, status):
    assert_route_reaches_rpc(sync, web_session, admin, method, path, payload, rpc, answer, call, status)


@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_every_commune_role_reads_the_state(sync, web_session, people, sign_in, who):
    sign_in(people[who])
    sync.status.return_value = samples.status()
    response = web_session.get("/api/sync")
    assert response.status_code == 200, response.text
    assert response.json() == samples.status()
    assert called(sync.status) == ((), SCOPED)


# --- who and which commune -----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["viewer", "editor", "operator"])
@pytest.mark.parametrize("path, rpc", CHANGES)
def test_only_a_commune_administrator_pauses_or_resumes(sync, web_session, people, sign_in, operator, who, path,
                                                        rpc):
    """Refused before any call: the sync service is never asked."""
    headers = operator if who == "operator" else {auth.CSRF_HEADER: sign_in(people[who])}
    body = assert_error(web_session.post(path, json={}, headers=headers), 403, "FORBIDDEN")
    assert body["details"]["required_roles"] == ["commune_admin"]
    assert not sync.method_calls


@pytest.mark.parametrize("method, path, payload", [
    ("GET", "/api/sync", {"commune_id": "yen-thang"}),
    ("POST", "/api/sync/streams/devices/pause", {"commune_id": "yen-thang"}),
    ("POST", "/api/sync/streams/courses/resume", {"commune_id": "yen-thang"}),
])
def test_another_communes_sync_is_out_of_reach(sync, web_session, admin, method, path, payload):
    body = assert_error(send(web_session, method, path, payload, admin), 403, "FORBIDDEN")
    assert "xã khác" in body["message"]
    assert not sync.method_calls


def test_another_communes_administrator_is_refused_by_the_sync_service(sync, web_session, people, sign_in):
    """Yên Thắng's administrator acts on Yên Thắng; the agent deployment serves
    Xuân Hưng only and refuses, which comes back as a 403."""
    csrf = {auth.CSRF_HEADER: sign_in(people["other_admin"])}
    sync.pause_stream.side_effect = RemoteError("Forbidden", "Dịch vụ đồng bộ này chỉ phục vụ xã xuan-hung.")
    body = assert_error(web_session.post("/api/sync/streams/devices/pause", json={}, headers=csrf), 403, "FORBIDDEN")
    assert body["message"] == "Dịch vụ đồng bộ này chỉ phục vụ xã xuan-hung."
    assert called(sync.pause_stream) == (("devices",), {"commune_id": "yen-thang"})


def test_a_district_administrator_names_the_commune(sync, web_session, people, sign_in):
    csrf = {auth.CSRF_HEADER: sign_in(people["district"])}
    assert_error(web_session.get("/api/sync"), 403, "FORBIDDEN")
    assert_error(web_session.post("/api/sync/streams/devices/pause", json={}, headers=csrf), 403, "FORBIDDEN")
    assert not sync.method_calls
    sync.resume_stream.return_value = samples.up_stream("devices")
    response = web_session.post("/api/sync/streams/devices/resume", json={"commune_id": "xuan-hung"}, headers=csrf)
    assert response.status_code == 200, response.text
    assert called(sync.resume_stream) == (("devices",), SCOPED)


def test_a_write_needs_the_sessions_csrf_token_and_a_json_body(sync, web_session, admin):
    assert_error(web_session.post("/api/sync/streams/devices/pause", json={}), 403, "CSRF")
    assert_error(web_session.post("/api/sync/streams/devices/pause", data="x=1", headers=dict(
        admin, **{"Content-Type": "application/x-www-form-urlencoded"})), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(web_session.post("/api/sync/streams/devices/pause", json={"stream": "tasks"}, headers=admin), 400,
                 "INVALID_INPUT")
    assert not sync.method_calls


def test_signed_out_is_401(sync, web_session):
    assert_error(web_session.get("/api/sync"), 401, "UNAUTHENTICATED")
    assert_error(web_session.post("/api/sync/streams/devices/pause", json={}), 401, "UNAUTHENTICATED")
    assert not sync.method_calls


# --- the sync service's refusals, and no sync service at all ----------------------------------------------

@pytest.mark.parametrize("error, status, code", [
    (RemoteError("InvalidInput", "Không có luồng dữ liệu «radio»."), 400, "INVALID_INPUT"),
    (RemoteError("NotFound", "Không có luồng dữ liệu «radio»."), 404, "NOT_FOUND"),
    (RemoteError("Forbidden", "Bạn không có quyền thực hiện thao tác này."), 403, "FORBIDDEN"),
])
def test_the_sync_services_refusals_keep_their_status_and_message(sync, web_session, admin, error, status, code):
    sync.pause_stream.side_effect = error
    body = assert_error(web_session.post("/api/sync/streams/radio/pause", json={}, headers=admin), status, code)
    assert body["message"] == error.value
    assert called(sync.pause_stream) == (("radio",), SCOPED)


def test_a_sync_service_that_does_not_answer_is_a_503(container_factory, gateway_config, web_session, people,
                                                      sign_in):
    """No sync service on the broker: the timed proxy gives up."""
    container = container_factory(GatewayService, dict(gateway_config, RPC_TIMEOUT_SECONDS=0.5))
    container.start()
    csrf = {auth.CSRF_HEADER: sign_in(people["admin"])}
    body = assert_error(web_session.get("/api/sync"), 503, "SERVICE_UNAVAILABLE")
    assert "«sync»" in body["message"] and body["request_id"]
    assert_error(web_session.post("/api/sync/streams/devices/pause", json={}, headers=csrf), 503,
                 "SERVICE_UNAVAILABLE")


# --- the OpenAPI document --------------------------------------------------------------------------------

def test_the_routes_are_documented_with_the_contracts_fields():
    paths = DOCUMENT["paths"]
    assert paths["/api/sync"]["get"]["tags"] == ["sync"]
    assert [p["name"] for p in paths["/api/sync"]["get"]["parameters"]] == ["commune_id"]
    for action in ("pause", "resume"):
        operation = paths[f"/api/sync/streams/{{stream}}/{action}"]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/CommuneRequest"}
        assert {"401", "403", "503"} <= set(operation["responses"])
    schemas = DOCUMENT["components"]["schemas"]
    answer = samples.status()
    assert set(schemas["SyncStatus"]["properties"]) == set(answer)
    assert set(schemas["SyncLink"]["properties"]) == set(answer["link"])
    assert set(schemas["SyncUpStream"]["properties"]) == set(answer["up"][0])
    assert set(schemas["SyncDownStream"]["properties"]) == set(answer["down"][0])
    assert schemas["SyncLink"]["properties"]["state"]["enum"] == ["connected", "disconnected", "never"]
