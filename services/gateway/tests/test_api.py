"""Service tests of the HTTP API: the gateway container on the real broker
and store, the tasks service replaced by a mock."""
import json

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.gateway import auth
from services.gateway.openapi import DOCUMENT
from services.gateway.service import GatewayService
from services.gateway.tests.conftest import PASSWORD, SYSTEM_CONTEXT

TASK = {"_id": "t1", "code": "I.1.1", "status": "in_progress", "commune_id": "xuan-hung"}


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    tasks = replace_dependencies(container, "tasks")
    container.start()
    container.tasks_mock = tasks
    return container


@pytest.fixture
def tasks(gateway):
    return gateway.tasks_mock


def post_json(session, url, body, csrf=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if csrf:
        headers[auth.CSRF_HEADER] = csrf
    return session.post(url, json=body, headers=headers, **kwargs)


def called(mock_method):
    """``(args, kwargs)`` of the one call a stand-in's RPC got."""
    mock_method.assert_called_once()
    return mock_method.call_args.args, mock_method.call_args.kwargs


def send(web_session, method, path, payload, headers):
    """A request with ``payload`` as the query (GET, DELETE) or the JSON body."""
    if method in ("GET", "DELETE"):
        return web_session.request(method, path, params=payload, headers=headers)
    return web_session.request(method, path, json=payload, headers=headers)


def assert_route_reaches_rpc(stand_in, web_session, headers, method, path, payload, rpc, answer, call, status):
    """One row of a route table ``(method, path, payload, rpc, answer, call,
    status)``: the route answers ``status`` with the RPC's answer (a list as
    ``{"items": ...}``) after calling the stand-in's ``rpc`` once with ``call``."""
    getattr(stand_in, rpc).return_value = answer
    response = send(web_session, method, path, payload, headers)
    assert response.status_code == status, response.text
    assert response.json() == ({"items": answer} if isinstance(answer, list) else answer)
    assert called(getattr(stand_in, rpc)) == call


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    return body


# --- request ids, health, the document --------------------------------------

def test_every_response_has_a_request_id_taking_a_sane_incoming_one(gateway, web_session):
    generated = web_session.get("/healthz")
    assert generated.status_code == 200 and generated.json()["status"] == "ok"
    assert len(generated.headers["X-Request-Id"]) == 32
    echoed = web_session.get("/healthz", headers={"X-Request-Id": "client-req-0001"})
    assert echoed.headers["X-Request-Id"] == "client-req-0001"
    replaced = web_session.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["X-Request-Id"] != "bad id\twith spaces"
    missing = web_session.get("/api/no-such-route", headers={"X-Request-Id": "client-req-0002"})
    assert_error(missing, 404, "NOT_FOUND")
    assert missing.headers["X-Request-Id"] == "client-req-0002"


def test_responses_are_not_cached_framed_or_sniffed(gateway, web_session):
    for response in (web_session.get("/healthz"), web_session.get("/api/me"), web_session.get("/nowhere")):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert web_session.get("/static/console.css").headers["Cache-Control"] == "public, max-age=3600"


def test_openapi_document_is_served(gateway, web_session):
    response = web_session.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(DOCUMENT))


def test_unknown_method_is_a_json_405(gateway, web_session):
    assert_error(web_session.delete("/api/me"), 405, "METHOD_NOT_ALLOWED")


# --- login, sessions, rate limiting -----------------------------------------

def test_login_sets_a_hardened_session_cookie_and_returns_the_csrf_token(gateway, web_session, people):
    response = post_json(web_session, "/api/auth/login", {"username": "Admin.XuanHung", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["username"] == "admin.xuanhung" and "password_hash" not in body["user"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{auth.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # SESSION_COOKIE_SECURE is off in tests
    me = web_session.get("/api/me").json()
    assert me["caller"] == {"subject": people["admin"]["_id"], "commune_id": "xuan-hung",
                            "roles": ["commune_admin"], "kind": "user", "name": "Quản trị Xuân Hưng"}
    assert me["csrf_token"] == body["csrf_token"]


@pytest.mark.parametrize("username, password", [("admin.xuanhung", "wrong-password"), ("nobody", PASSWORD)])
def test_failed_login_says_the_same_whatever_was_wrong(gateway, web_session, people, username, password):
    response = post_json(web_session, "/api/auth/login", {"username": username, "password": password})
    body = assert_error(response, 401, "UNAUTHENTICATED")
    assert body["message"] == "Tên đăng nhập hoặc mật khẩu không đúng."
    assert auth.SESSION_COOKIE not in web_session.cookies


def test_sixth_login_attempt_within_the_window_is_refused(gateway, web_session, people):
    for _ in range(5):
        assert post_json(web_session, "/api/auth/login", {"username": "editor.xuanhung", "password": "nope"}).status_code == 401
    refused = post_json(web_session, "/api/auth/login", {"username": "editor.xuanhung", "password": PASSWORD})
    body = assert_error(refused, 429, "RATE_LIMITED")
    assert "thử lại sau 15 phút" in body["message"]
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    # the lock is per username: others still sign in
    assert post_json(web_session, "/api/auth/login", {"username": "viewer.xuanhung", "password": PASSWORD}).status_code == 200


def test_inactive_user_cannot_use_an_old_session(gateway, web_session, people, sign_in, mongo_database):
    sign_in(people["editor"])
    assert web_session.get("/api/me").status_code == 200
    mongo_database.users.update_one({"_id": people["editor"]["_id"]}, {"$set": {"active": False}})
    assert_error(web_session.get("/api/me"), 401, "UNAUTHENTICATED")


def test_logout_needs_the_csrf_token_and_clears_the_cookie(gateway, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    assert_error(web_session.post("/api/auth/logout"), 403, "CSRF")
    response = web_session.post("/api/auth/logout", headers={auth.CSRF_HEADER: csrf})
    assert response.status_code == 204
    assert auth.SESSION_COOKIE not in web_session.cookies
    assert_error(web_session.get("/api/me"), 401, "UNAUTHENTICATED")


# --- CSRF and API keys --------------------------------------------------------

@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_session_writes_without_the_csrf_token_are_refused(gateway, web_session, people, sign_in, tasks, token):
    sign_in(people["editor"])
    response = post_json(web_session, "/api/tasks/t1/status", {"status": "done"}, csrf=token)
    body = assert_error(response, 403, "CSRF")
    assert "CSRF" in body["message"]
    assert not tasks.change_status.called


def test_session_write_with_the_csrf_token_goes_through(gateway, web_session, people, sign_in, tasks):
    tasks.change_status.return_value = TASK
    csrf = sign_in(people["editor"])
    response = post_json(web_session, "/api/tasks/t1/status", {"status": "in_progress"}, csrf=csrf)
    assert response.status_code == 200 and response.json() == TASK
    tasks.change_status.assert_called_once_with({"task_id": "t1", "status": "in_progress", "commune_id": "xuan-hung"})


def test_api_key_is_shown_once_and_works_without_csrf(gateway, web_session, people, sign_in, tasks, mongo_database):
    csrf = sign_in(people["admin"])
    created = post_json(web_session, "/api/api-keys", {"name": "Bảng tin điện tử", "roles": ["editor"]}, csrf=csrf)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert created.json()["api_key"]["commune_id"] == "xuan-hung"
    assert mongo_database.api_keys.count_documents({"key_hash": auth.hash_api_key(key)}) == 1
    assert mongo_database.api_keys.count_documents({"key_hash": key}) == 0

    web_session.cookies.clear()
    tasks.change_status.return_value = TASK
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        response = post_json(web_session, "/api/tasks/t1/status", {"status": "in_progress"}, headers=headers)
        assert response.status_code == 200, response.text
    me = web_session.get("/api/me", headers={"X-API-Key": key}).json()
    assert me["caller"]["kind"] == "api_key" and me["caller"]["roles"] == ["editor"] and me["user"] is None
    assert_error(web_session.get("/api/me", headers={"X-API-Key": key + "x"}), 401, "UNAUTHENTICATED")


def test_viewer_cannot_create_api_keys(gateway, web_session, people, sign_in):
    csrf = sign_in(people["viewer"])
    assert_error(post_json(web_session, "/api/api-keys", {"name": "k", "roles": ["viewer"]}, csrf=csrf), 403, "FORBIDDEN")


def test_unauthenticated_api_requests_get_401_json(gateway, web_session):
    for response in (web_session.get("/api/tasks"), post_json(web_session, "/api/plans/import", {"text": "x"})):
        assert_error(response, 401, "UNAUTHENTICATED")


# --- bodies -------------------------------------------------------------------

def test_malformed_json_is_a_400_json_error(gateway, web_session, people, sign_in):
    csrf = sign_in(people["admin"])
    response = web_session.post("/api/users", data=b'{"username": "lan",', headers={
        "Content-Type": "application/json", auth.CSRF_HEADER: csrf})
    assert_error(response, 400, "INVALID_JSON")


@pytest.mark.parametrize("data, content_type, status, code", [
    (b'["not", "an", "object"]', "application/json", 400, "INVALID_INPUT"),
    (b"\xff\xfe", "application/json", 400, "INVALID_JSON"),
    (b"username=lan", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"status": "done"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
])
def test_other_bad_bodies(gateway, web_session, people, sign_in, data, content_type, status, code):
    csrf = sign_in(people["admin"])
    response = web_session.post("/api/tasks/t1/status", data=data, headers={
        "Content-Type": content_type, auth.CSRF_HEADER: csrf})
    assert_error(response, status, code)


def test_oversized_body_is_refused(gateway, web_session, people, sign_in, tasks):
    csrf = sign_in(people["editor"])
    body = {"text": "x" * (5 * 1024 * 1024)}
    assert_error(post_json(web_session, "/api/plans/import", body, csrf=csrf), 413, "PAYLOAD_TOO_LARGE")
    assert not tasks.import_plan.called


def test_unknown_field_is_a_400_naming_it(gateway, web_session, people, sign_in, tasks):
    csrf = sign_in(people["editor"])
    response = post_json(web_session, "/api/tasks/t1/status", {"status": "done", "priority": "high"}, csrf=csrf)
    body = assert_error(response, 400, "INVALID_INPUT")
    assert "priority" in body["details"]["fields"] and "priority" in body["message"]
    assert not tasks.change_status.called


# --- tenancy --------------------------------------------------------------------

def test_communes_visible_to_each_caller(gateway, web_session, people, sign_in):
    sign_in(people["viewer"])
    assert [c["id"] for c in web_session.get("/api/communes").json()["items"]] == ["xuan-hung"]
    commune = web_session.get("/api/communes/xuan-hung").json()
    assert commune["villages"] == [{"id": "thon-1", "name": "Thôn 1"}]
    assert commune["agencies"][0]["aliases"] == ["Phòng Văn hoá – Xã hội"]
    sign_in(people["district"])
    assert [c["id"] for c in web_session.get("/api/communes").json()["items"]] == ["xuan-hung", "yen-thang"]
    assert_error(web_session.get("/api/communes/no-such-commune"), 404, "NOT_FOUND")


def test_another_communes_data_is_refused(gateway, web_session, people, sign_in, tasks):
    sign_in(people["other_admin"])
    assert_error(web_session.get("/api/communes/xuan-hung"), 403, "FORBIDDEN")
    assert_error(web_session.get("/api/tasks", params={"commune_id": "xuan-hung"}), 403, "FORBIDDEN")
    assert_error(web_session.get("/api/activity", params={"commune_id": "xuan-hung"}), 403, "FORBIDDEN")
    assert not tasks.list_tasks.called
    # the tasks service keeps its own check: a task of another commune is not found
    tasks.get_task.side_effect = RemoteError("NotFound", "Không tìm thấy nhiệm vụ.")
    body = assert_error(web_session.get("/api/tasks/t1"), 404, "NOT_FOUND")
    assert body["message"] == "Không tìm thấy nhiệm vụ."
    tasks.get_task.assert_called_once_with("t1", "yen-thang")


def test_district_admin_must_name_the_commune(gateway, web_session, people, sign_in, tasks):
    tasks.list_tasks.return_value = {"items": [], "total": 0, "offset": 0, "limit": 100}
    sign_in(people["district"])
    assert_error(web_session.get("/api/tasks"), 403, "FORBIDDEN")
    assert web_session.get("/api/tasks", params={"commune_id": "yen-thang"}).status_code == 200
    tasks.list_tasks.assert_called_once_with({"commune_id": "yen-thang"})


def test_task_filters_pass_through_without_empty_ones(gateway, web_session, people, sign_in, tasks):
    tasks.list_tasks.return_value = {"items": [TASK], "total": 1, "offset": 0, "limit": 10}
    sign_in(people["viewer"])
    response = web_session.get("/api/tasks", params={"status": "in_progress", "agency": "", "q": "văn hóa",
                                                      "part": "I", "plan_id": " ", "limit": "10"})
    assert response.json()["items"] == [TASK]
    tasks.list_tasks.assert_called_once_with(
        {"status": "in_progress", "q": "văn hóa", "part": "I", "limit": "10", "commune_id": "xuan-hung"})


def test_plan_import_is_for_admins_and_editors(gateway, web_session, people, sign_in, tasks):
    tasks.import_plan.return_value = {"_id": "p1", "task_count": 38}
    csrf = sign_in(people["viewer"])
    assert_error(post_json(web_session, "/api/plans/import", {"text": "…"}, csrf=csrf), 403, "FORBIDDEN")
    csrf = sign_in(people["editor"])
    response = post_json(web_session, "/api/plans/import", {"text": "Phụ lục …", "source_name": "kh.txt"}, csrf=csrf)
    assert response.status_code == 201 and response.json()["task_count"] == 38
    tasks.import_plan.assert_called_once_with(
        {"text": "Phụ lục …", "source_name": "kh.txt", "plan_id": None, "commune_id": "xuan-hung"})


# --- users ----------------------------------------------------------------------------

def test_commune_admin_creates_a_user_who_can_sign_in(gateway, web_session, people, sign_in):
    csrf = sign_in(people["admin"])
    response = post_json(web_session, "/api/users", {
        "username": "Thu.Nguyen", "display_name": "Nguyễn Thị Thu", "password": "mật khẩu mới 2026",
        "roles": ["editor", "approver"]}, csrf=csrf)
    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert (user["username"], user["commune_id"], user["roles"]) == ("thu.nguyen", "xuan-hung", ["approver", "editor"])
    web_session.cookies.clear()
    login = post_json(web_session, "/api/auth/login", {"username": "thu.nguyen", "password": "mật khẩu mới 2026"})
    assert login.status_code == 200


@pytest.mark.parametrize("who, body, status, code", [
    ("admin", {"roles": ["district_admin"]}, 403, "FORBIDDEN"),
    ("admin", {"commune_id": "yen-thang"}, 403, "FORBIDDEN"),
    ("admin", {"username": "editor.xuanhung"}, 409, "CONFLICT"),
    ("admin", {"roles": ["chairman"]}, 400, "INVALID_INPUT"),
    ("editor", {}, 403, "FORBIDDEN"),
    ("district", {}, 403, "FORBIDDEN"),  # must name the commune
    ("district", {"commune_id": "no-such-commune"}, 404, "NOT_FOUND"),
    ("district", {"roles": ["district_admin"], "commune_id": "xuan-hung"}, 400, "INVALID_INPUT"),
])
def test_user_creation_rules(gateway, web_session, people, sign_in, who, body, status, code):
    csrf = sign_in(people[who])
    request = {"username": "moi.nguoi", "display_name": "Người mới", "password": "mot-mat-khau-dai", "roles": ["viewer"]}
    assert_error(post_json(web_session, "/api/users", dict(request, **body), csrf=csrf), status, code)


def test_district_admin_creates_users_anywhere(gateway, web_session, people, sign_in):
    csrf = sign_in(people["district"])
    request = {"username": "moi.nguoi", "display_name": "Người mới", "password": "mot-mat-khau-dai",
               "roles": ["commune_admin"], "commune_id": "yen-thang"}
    assert post_json(web_session, "/api/users", request, csrf=csrf).json()["user"]["commune_id"] == "yen-thang"
    request = dict(request, username="huyen.hai", roles=["district_admin"], commune_id=None)
    assert post_json(web_session, "/api/users", request, csrf=csrf).json()["user"]["commune_id"] is None


# --- the error-mapping table ---------------------------------------------------------------

@pytest.mark.parametrize("exc_type, status, code", [
    ("InvalidInput", 400, "INVALID_INPUT"),
    ("Unauthenticated", 401, "UNAUTHENTICATED"),
    ("Forbidden", 403, "FORBIDDEN"),
    ("NotFound", 404, "NOT_FOUND"),
    ("Conflict", 409, "CONFLICT"),
])
def test_remote_caller_errors_map_to_their_status(gateway, web_session, people, sign_in, tasks, exc_type, status, code):
    tasks.list_plans.side_effect = RemoteError(exc_type, "Thông điệp của dịch vụ nhiệm vụ.")
    sign_in(people["viewer"])
    body = assert_error(web_session.get("/api/plans"), status, code)
    assert body["message"] == "Thông điệp của dịch vụ nhiệm vụ."


@pytest.mark.parametrize("error", [RemoteError("KeyError", "'status' at tasks/service.py line 3"),
                                   RuntimeError("database password is hunter2")])
def test_unexpected_errors_are_a_generic_500_with_the_request_id(gateway, web_session, people, sign_in, tasks, error):
    tasks.list_plans.side_effect = error
    sign_in(people["viewer"])
    response = web_session.get("/api/plans", headers={"X-Request-Id": "req-500-test"})
    body = assert_error(response, 500, "INTERNAL")
    assert body["request_id"] == "req-500-test" and "req-500-test" in body["message"]
    assert "hunter2" not in response.text and "service.py" not in response.text and "Traceback" not in response.text


# --- RPC for tools, and the activity feed ---------------------------------------------------

def test_ensure_commune_and_user_are_idempotent_and_need_a_district_caller(gateway, web_session):
    commune = {"id": "gia-vien", "name": "Gia Viễn", "province": "Ninh Bình",
               "villages": [{"id": "thon-a", "name": "Thôn A"}], "agencies": []}
    user = {"username": "admin.giavien", "display_name": "Quản trị", "roles": ["commune_admin"], "commune_id": "gia-vien"}
    with entrypoint_hook(gateway, "ensure_commune", context_data=SYSTEM_CONTEXT) as ensure_commune:
        assert ensure_commune(commune)["created"] is True
        assert ensure_commune(dict(commune, name="Gia Viễn mới"))["commune"]["name"] == "Gia Viễn mới"
    with entrypoint_hook(gateway, "ensure_user", context_data=SYSTEM_CONTEXT) as ensure_user:
        first = ensure_user(user)
        again = ensure_user(dict(user, display_name="Quản trị xã"))
    assert first["created"] is True and len(first["password"]) >= 20
    assert again == {"created": False, "password": None, "user": dict(first["user"], display_name="Quản trị xã")}
    login = post_json(web_session, "/api/auth/login", {"username": "admin.giavien", "password": first["password"]})
    assert login.status_code == 200
    with pytest.raises(Exception) as refused:
        with entrypoint_hook(gateway, "ensure_commune") as hook:
            hook(commune)
    assert type(refused.value).__name__ == "Unauthenticated"


def test_create_api_key_over_rpc(gateway, people, web_session):
    with entrypoint_hook(gateway, "create_api_key", context_data=SYSTEM_CONTEXT) as create_api_key:
        created = create_api_key("yen-thang", "Cụm loa thôn 2", ["operator"])
    me = web_session.get("/api/me", headers={"Authorization": f"Bearer {created['key']}"}).json()
    assert me["caller"]["commune_id"] == "yen-thang" and me["caller"]["name"] == "Cụm loa thôn 2"


def test_activity_feed_stores_each_event_once(gateway, web_session, people, sign_in):
    event = {"event_id": "a" * 32, "commune_id": "xuan-hung", "occurred_at": "2026-05-04T03:02:01.000Z",
             "schema_version": 1, "actor": people["editor"]["_id"], "task_id": "t1", "plan_id": "p1",
             "code": "I.1.1", "title": "Xây dựng Quy chế", "old_status": "not_started", "new_status": "done"}
    for _ in range(2):  # a redelivery
        with entrypoint_hook(gateway, "on_task_status_changed") as handle:
            handle(event)
    sign_in(people["viewer"])
    items = web_session.get("/api/activity").json()["items"]
    assert len(items) == 1
    assert items[0]["summary"] == "Biên tập viên chuyển nhiệm vụ I.1.1 từ «Chưa thực hiện» sang «Hoàn thành»"
    sign_in(people["other_admin"])
    assert web_session.get("/api/activity").json()["items"] == []
