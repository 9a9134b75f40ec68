"""Service tests of the device and alarm API: each route reaches its RPC of
the telemetry service (services/telemetry/API.md) with the right arguments,
villages are checked against the commune's, and the telemetry service's
refusals come back through the one error table; the telemetry events feed
the activity feed. The telemetry service is replaced by a stand-in."""
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, replace_dependencies

from shared.events import make_event
from shared.timeutil import parse_iso

from services.gateway import auth, domain, schemas
from services.gateway.openapi import DOCUMENT
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import device_samples as samples
from services.gateway.tests.test_api import assert_error, called

CSV = "device_id,name,kind,village\nloa-thon-2,Cụm loa Thôn 2,loudspeaker,thon-1\n"


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.telemetry_mock = replace_dependencies(container, "telemetry")
    container.start()
    return container


@pytest.fixture
def telemetry(gateway):
    return gateway.telemetry_mock


# --- the registry -------------------------------------------------------------------------------

def test_devices_are_listed_with_the_filters_given(telemetry, web_session, operator):
    telemetry.list_devices.return_value = samples.devices()
    response = web_session.get("/api/devices", params={"village": "thon-1", "presence": "offline", "kind": ""})
    assert response.status_code == 200 and len(response.json()["items"]) == 4
    assert called(telemetry.list_devices) == (({"village": "thon-1", "presence": "offline",
                                                 "commune_id": "xuan-hung"},), {})


def test_a_device_is_registered_in_the_callers_commune(telemetry, web_session, operator):
    telemetry.register_device.return_value = samples.device("loa-thon-2")
    body = {"device_id": "loa-thon-2", "name": "Cụm loa Thôn 2", "kind": "loudspeaker", "village": "thon-1",
            "lat": 20.26, "lon": 105.99, "installed_on": "2026-04-01", "transport": "grpc", "presence_timeout_s": 90}
    response = web_session.post("/api/devices", json=body, headers=operator)
    assert response.status_code == 201 and response.json()["device_id"] == "loa-thon-2"
    assert called(telemetry.register_device) == ((dict(body, commune_id="xuan-hung"),), {})


@pytest.mark.parametrize("body, message", [
    ({"kind": "loudspeaker"}, "Hãy nhập mã thiết bị (device_id)."),
    ({"device_id": "loa-1"}, "Hãy chọn loại thiết bị (kind)."),
    ({"device_id": "loa-1", "kind": "loudspeaker", "village": "thon-9"},
     "village: thôn «thon-9» không có trong danh sách thôn của xã: thon-1 (Thôn 1)."),
    ({"device_id": "loa-1", "kind": "loudspeaker", "lat": "bắc"}, "Vĩ độ (lat) phải là số"),
    ({"device_id": "loa-1", "kind": "loudspeaker", "installed_on": "15/03/2026"}, "Ngày không hợp lệ"),
    ({"device_id": "loa-1", "kind": "loudspeaker", "serial": "X1"}, "serial"),
])
def test_a_device_the_gateway_can_tell_is_wrong_is_refused_before_any_call(telemetry, web_session, operator, body,
                                                                           message):
    response = web_session.post("/api/devices", json=body, headers=operator)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not telemetry.register_device.called


@pytest.mark.parametrize("remote, status, code", [
    (RemoteError("InvalidInput", "Dữ liệu không hợp lệ — lat: vĩ độ phải trong khoảng 6–24"), 400, "INVALID_INPUT"),
    (RemoteError("Forbidden", "Bạn không có quyền thực hiện thao tác này."), 403, "FORBIDDEN"),
    (RemoteError("Conflict", "Thiết bị «loa-1» đã có trong danh sách của xã."), 409, "CONFLICT"),
])
def test_the_telemetry_services_refusals_keep_their_status(telemetry, web_session, operator, remote, status, code):
    telemetry.register_device.side_effect = remote
    response = web_session.post("/api/devices", json={"device_id": "loa-1", "kind": "other"}, headers=operator)
    assert assert_error(response, status, code)["message"] == remote.value


def test_one_device_and_a_change_to_it(telemetry, web_session, operator):
    telemetry.get_device.return_value = samples.detail()
    body = web_session.get("/api/devices/loa-thon-1").json()
    assert body["state"]["presence"] == "online" and body["open_alarms"][0]["alarm_id"] == "a1"
    assert called(telemetry.get_device) == (("loa-thon-1",), {"commune_id": "xuan-hung"})
    telemetry.update_device.return_value = samples.device(village=None)
    response = web_session.patch("/api/devices/loa-thon-1", json={"village": None, "name": "Loa chợ"},
                                 headers=operator)
    assert response.status_code == 200
    assert called(telemetry.update_device) == (("loa-thon-1", {"village": None, "name": "Loa chợ"}),
                                               {"commune_id": "xuan-hung"})


def test_a_change_to_a_village_the_commune_lacks_is_refused(telemetry, web_session, operator):
    response = web_session.patch("/api/devices/loa-thon-1", json={"village": "thon-9"}, headers=operator)
    assert "thon-9" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not telemetry.update_device.called


def test_another_communes_devices_are_out_of_reach(telemetry, web_session, operator):
    assert_error(web_session.get("/api/devices", params={"commune_id": "yen-thang"}), 403, "FORBIDDEN")
    assert_error(web_session.post("/api/devices", json={"device_id": "x", "kind": "other", "commune_id": "yen-thang"},
                                  headers=operator), 403, "FORBIDDEN")
    assert not telemetry.list_devices.called and not telemetry.register_device.called


def test_a_district_administrator_names_the_commune(telemetry, web_session, people, sign_in):
    csrf = {auth.CSRF_HEADER: sign_in(people["district"])}
    assert_error(web_session.get("/api/devices"), 403, "FORBIDDEN")
    telemetry.list_devices.return_value = []
    assert web_session.get("/api/devices", params={"commune_id": "yen-thang"}).status_code == 200
    assert called(telemetry.list_devices) == (({"commune_id": "yen-thang"},), {})
    # Yên Thắng has no villages: any village is refused there
    response = web_session.post("/api/devices", json={"device_id": "x", "kind": "other", "village": "thon-1",
                                                      "commune_id": "yen-thang"}, headers=csrf)
    assert assert_error(response, 400, "INVALID_INPUT")["message"].endswith("danh sách thôn của xã.")


def test_a_write_on_a_session_needs_its_csrf_token(telemetry, web_session, operator):
    assert_error(web_session.post("/api/devices", json={"device_id": "x", "kind": "other"}), 403, "CSRF")
    assert_error(web_session.post("/api/alarms/a1/clear", json={}), 403, "CSRF")


def test_signed_out_is_401(telemetry, web_session):
    assert_error(web_session.get("/api/devices"), 401, "UNAUTHENTICATED")


# --- importing a list -------------------------------------------------------------------------------

def test_a_json_list_is_previewed_then_imported(telemetry, web_session, operator):
    telemetry.import_devices.return_value = samples.import_result([{"line": 2, "device_id": "loa-thon-2",
                                                                    "problems": []}])
    preview = web_session.post("/api/devices/import", json={"csv": CSV}, headers=operator)
    assert preview.status_code == 200 and preview.json()["valid"] == 1
    assert called(telemetry.import_devices) == ((CSV,), {"confirm": False, "commune_id": "xuan-hung"})
    telemetry.import_devices.reset_mock()
    telemetry.import_devices.return_value = samples.import_result(created=2)
    done = web_session.post("/api/devices/import", json={"csv": CSV, "confirm": True}, headers=operator)
    assert done.status_code == 201 and done.json()["created"] == 2
    assert called(telemetry.import_devices)[1]["confirm"] is True


def test_a_csv_file_is_imported_from_a_form(telemetry, web_session, operator):
    telemetry.import_devices.return_value = samples.import_result(created=1)
    response = web_session.post("/api/devices/import", headers=operator, data={"confirm": "true"},
                                files={"file": ("thiết bị.csv", ("\ufeff" + CSV).encode("utf-8"), "text/csv")})
    assert response.status_code == 201
    assert called(telemetry.import_devices) == (("\ufeff" + CSV,), {"confirm": True, "commune_id": "xuan-hung"})


def test_rows_naming_villages_the_commune_lacks_are_problems_and_block_the_import(telemetry, web_session, operator):
    """A semicolon list (as a Vietnamese-locale spreadsheet saves it) with one unknown village."""
    text = "device_id;kind;village\nloa-a;loudspeaker;thon-1\n\nloa-b;loudspeaker;Thôn 2\n"
    telemetry.import_devices.return_value = samples.import_result([
        {"line": 2, "device_id": "loa-a", "problems": []}, {"line": 4, "device_id": "loa-b", "problems": []}])
    response = web_session.post("/api/devices/import", json={"csv": text, "confirm": True}, headers=operator)
    assert response.status_code == 200
    assert response.json() == {"rows": [
        {"line": 2, "device_id": "loa-a", "problems": []},
        {"line": 4, "device_id": "loa-b", "problems": [
            "village: thôn «Thôn 2» không có trong danh sách thôn của xã: thon-1 (Thôn 1)."]}],
        "valid": 1, "invalid": 1, "created": 0}
    assert called(telemetry.import_devices)[1]["confirm"] is False  # so nothing is written


@pytest.mark.parametrize("body, message", [
    ({}, "Hãy gửi nội dung tệp CSV danh sách thiết bị (csv)."),
    ({"csv": "device_id,kind\n", "commit": True}, "commit"),
])
def test_an_import_without_its_list_is_refused(telemetry, web_session, operator, body, message):
    response = web_session.post("/api/devices/import", json=body, headers=operator)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not telemetry.import_devices.called


def test_a_csv_file_over_2_mb_is_413(telemetry, web_session, operator):
    big = ("device_id,kind\n" + "loa,other\n" * 250_000).encode()
    response = web_session.post("/api/devices/import", headers=operator, files={"file": ("lon.csv", big, "text/csv")})
    assert "2 MB" in assert_error(response, 413, "PAYLOAD_TOO_LARGE")["message"]
    assert not telemetry.import_devices.called


# --- credentials and commands -----------------------------------------------------------------------

@pytest.mark.parametrize("path, method, answer", [
    ("provisioning-code", "issue_provisioning_code",
     {"code": "K7QM-2XPA-9RTD", "expires_at": "2026-04-13T01:00:00.000Z"}),
    ("mqtt-credential", "issue_mqtt_credential", {"username": "device.xuan-hung.loa", "password": "pw",
                                                  "topic": "tinxa/xuan-hung/loa/telemetry", "mqtt_port": 1884}),
])
def test_a_code_or_login_is_issued_and_answered_once(telemetry, web_session, operator, path, method, answer):
    getattr(telemetry, method).return_value = answer
    response = web_session.post(f"/api/devices/loa-thon-1/{path}", json={}, headers=operator)
    assert response.status_code == 201 and response.json() == answer
    assert response.headers["Cache-Control"] == "no-store"
    assert called(getattr(telemetry, method)) == (("loa-thon-1",), {"commune_id": "xuan-hung"})


def test_revoking_names_the_reason(telemetry, web_session, operator):
    telemetry.revoke_credentials.return_value = {"device_id": "loa-thon-1", "revoked": ["c1"], "codes_voided": 1}
    response = web_session.post("/api/devices/loa-thon-1/revoke", json={"reason": "Mất trộm"}, headers=operator)
    assert response.json()["revoked"] == ["c1"]
    assert called(telemetry.revoke_credentials) == (("loa-thon-1",), {"reason": "Mất trộm", "commune_id": "xuan-hung"})


def test_a_command_is_accepted_and_its_delivery_said(telemetry, web_session, operator):
    telemetry.send_command.return_value = {"command_id": "c9", "delivered": False}
    response = web_session.post("/api/devices/loa-thon-1/commands", headers=operator,
                                json={"kind": "show_text", "params": {"text": "Thử", "duration_seconds": 30}})
    assert response.status_code == 202 and response.json() == {"command_id": "c9", "delivered": False}
    assert called(telemetry.send_command) == (("loa-thon-1", "show_text", {"text": "Thử", "duration_seconds": 30}),
                                              {"commune_id": "xuan-hung"})
    assert "Hãy chọn lệnh" in assert_error(web_session.post("/api/devices/loa-thon-1/commands", json={"params": {}},
                                                            headers=operator), 400, "INVALID_INPUT")["message"]


# --- measurements ----------------------------------------------------------------------------------------

def test_telemetry_periods_go_on_in_utc(telemetry, web_session, operator):
    telemetry.get_telemetry.return_value = samples.telemetry(points=[])
    response = web_session.get("/api/devices/loa-thon-1/telemetry", params={
        "start": "2026-04-10T07:00:00+07:00", "end": "2026-04-11T00:00:00Z", "resolution": "hourly"})
    assert response.status_code == 200
    assert called(telemetry.get_telemetry) == (("loa-thon-1",), {
        "start": "2026-04-10T00:00:00.000Z", "end": "2026-04-11T00:00:00.000Z", "resolution": "hourly",
        "commune_id": "xuan-hung"})
    telemetry.get_telemetry.reset_mock()
    web_session.get("/api/devices/loa-thon-1/telemetry")
    assert called(telemetry.get_telemetry)[1] == {"start": None, "end": None, "resolution": "auto",
                                                  "commune_id": "xuan-hung"}


@pytest.mark.parametrize("params, message", [
    ({"start": "2026-04-10T07:00:00"}, "kèm múi giờ"),
    ({"start": "hôm qua"}, "kèm múi giờ"),
    ({"resolution": "minute"}, "auto, raw hoặc hourly"),
])
def test_a_bad_period_is_refused_before_any_call(telemetry, web_session, operator, params, message):
    response = web_session.get("/api/devices/loa-thon-1/telemetry", params=params)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not telemetry.get_telemetry.called


def test_connections_and_uptime(telemetry, web_session, operator):
    telemetry.connection_history.return_value = samples.connections()
    items = web_session.get("/api/devices/loa-thon-1/connections", params={"start": "2026-04-01T00:00:00Z"}).json()
    assert items["items"][0]["online_until"] is None
    assert called(telemetry.connection_history) == (("loa-thon-1",), {"start": "2026-04-01T00:00:00.000Z",
                                                                       "end": None, "commune_id": "xuan-hung"})
    telemetry.get_uptime.return_value = samples.uptime()
    assert web_session.get("/api/uptime").json()["villages"] == {"thon-1": 0.875}
    (start, end), kwargs = called(telemetry.get_uptime)
    assert parse_iso(end) - parse_iso(start) == timedelta(days=7) and kwargs == {"commune_id": "xuan-hung"}
    telemetry.get_uptime.reset_mock()
    web_session.get("/api/uptime", params={"start": "2026-04-01", "end": "2026-04-08"})
    assert called(telemetry.get_uptime) == (("2026-04-01", "2026-04-08"), {"commune_id": "xuan-hung"})


# --- alarms ---------------------------------------------------------------------------------------------

def test_alarms_are_listed_acknowledged_and_cleared(telemetry, web_session, operator):
    telemetry.list_alarms.return_value = samples.alarms()
    listed = web_session.get("/api/alarms", params={"status": "all", "severity": "critical", "device_id": "loa"})
    assert [a["alarm_id"] for a in listed.json()["items"]] == ["a2", "a1"]
    assert called(telemetry.list_alarms) == (({"status": "all", "severity": "critical", "device_id": "loa",
                                               "commune_id": "xuan-hung"},), {})
    telemetry.acknowledge_alarm.return_value = samples.alarm(status="acknowledged")
    response = web_session.post("/api/alarms/a1/acknowledge", json={"note": "Đang xử lý"}, headers=operator)
    assert response.json()["status"] == "acknowledged"
    assert called(telemetry.acknowledge_alarm) == (("a1",), {"note": "Đang xử lý", "commune_id": "xuan-hung"})
    telemetry.clear_alarm.side_effect = RemoteError("Conflict", "Cảnh báo đã được xử lý xong.")
    assert_error(web_session.post("/api/alarms/a1/clear", json={}, headers=operator), 409, "CONFLICT")
    assert called(telemetry.clear_alarm) == (("a1",), {"note": "", "commune_id": "xuan-hung"})


def test_alarm_rules_are_listed_and_changed(telemetry, web_session, operator):
    telemetry.list_alarm_rules.return_value = samples.rules()
    assert len(web_session.get("/api/alarm-rules").json()["items"]) == 5
    assert called(telemetry.list_alarm_rules) == ((), {"commune_id": "xuan-hung"})
    telemetry.set_alarm_rule.return_value = samples.rules()[3]
    response = web_session.patch("/api/alarm-rules/temperature_high", json={"threshold": 65, "enabled": False},
                                 headers=operator)
    assert response.status_code == 200
    assert called(telemetry.set_alarm_rule) == (("temperature_high", {"threshold": 65.0, "enabled": False}),
                                                {"commune_id": "xuan-hung"})
    assert_error(web_session.patch("/api/alarm-rules/offline", json={"threshold": "cao"}, headers=operator), 400,
                 "INVALID_INPUT")


# --- the OpenAPI document against the schemas ---------------------------------------------------



def test_the_import_form_is_its_schemas_fields_and_the_file():
    documented = DOCUMENT["components"]["schemas"]["DeviceImportForm"]
    assert set(documented["properties"]) == set(schemas.DeviceImportFormSchema().fields) | {"file"}
    assert set(DOCUMENT["paths"]["/api/devices/import"]["post"]["requestBody"]["content"]) == {
        "application/json", "multipart/form-data"}




# --- the activity feed ------------------------------------------------------------------------------------

def event(name, actor=None, **payload):
    return make_event("telemetry", name, "xuan-hung", actor=actor, **payload)


ALARM = {"alarm_id": "a1", "device_id": "loa-thon-1", "rule": "offline", "severity": "critical", "status": "open",
         "message": "«Cụm loa» mất kết nối.", "village": "thon-1", "occurrences": 1}


@pytest.mark.parametrize("handler, name, payload, by_person, vi, en", [
    ("on_device_registered", "device_registered",
     {"device_id": "loa-thon-1", "kind": "loudspeaker", "village": "thon-1", "transport": "grpc"}, True,
     "Anh Tuấn đăng ký thiết bị loa-thon-1 (Cụm thu loa, Thôn 1)",
     "Anh Tuấn registered device loa-thon-1 (Loudspeaker cluster receiver, Thôn 1)"),
    ("on_device_registered", "device_registered",
     {"device_id": "bang-tin", "kind": "eboard", "village": None, "transport": "mqtt"}, True,
     "Anh Tuấn đăng ký thiết bị bang-tin (Bảng tin điện tử)", "Anh Tuấn registered device bang-tin (Public e-board)"),
    ("on_device_provisioned", "device_provisioned",
     {"device_id": "loa-thon-1", "credential_id": "c1", "transport": "grpc", "how": "provisioning_code"}, False,
     "Thiết bị loa-thon-1 đã kết nối lần đầu bằng mã kích hoạt",
     "Device loa-thon-1 connected for the first time with its provisioning code"),
    ("on_device_provisioned", "device_provisioned",
     {"device_id": "loa-thon-1", "credential_id": "c2", "transport": "mqtt", "how": "operator"}, True,
     "Anh Tuấn cấp tài khoản MQTT cho thiết bị loa-thon-1", "Anh Tuấn issued an MQTT login for device loa-thon-1"),
    ("on_credential_revoked", "credential_revoked",
     {"device_id": "loa-thon-1", "credential_id": "c1", "reason": "Mất trộm"}, True,
     "Anh Tuấn thu hồi khóa truy cập của thiết bị loa-thon-1: «Mất trộm»",
     "Anh Tuấn revoked the credential of device loa-thon-1: “Mất trộm”"),
    ("on_device_status_reported", "device_status_reported",
     {"device_id": "loa-thon-1", "online": False, "volume": None, "playing": False,
      "reported_at": "2026-04-10T05:00:00.000Z"}, False,
     "Thiết bị loa-thon-1 mất kết nối", "Device loa-thon-1 went offline"),
    ("on_alarm_raised", "alarm_raised", ALARM, False,
     "Cảnh báo mới (Nghiêm trọng): Mất kết nối ở thiết bị loa-thon-1",
     "New alarm (Critical): Offline on device loa-thon-1"),
    ("on_alarm_cleared", "alarm_cleared", dict(ALARM, status="cleared"), True,
     "Anh Tuấn đóng cảnh báo «Mất kết nối» của thiết bị loa-thon-1",
     "Anh Tuấn cleared the “Offline” alarm of device loa-thon-1"),
    ("on_alarm_cleared", "alarm_cleared", dict(ALARM, status="cleared"), False,
     "Cảnh báo «Mất kết nối» của thiết bị loa-thon-1 đã tự hết",
     "The “Offline” alarm of device loa-thon-1 cleared itself"),
])
def test_telemetry_events_reach_the_feed_once_in_both_languages(gateway, web_session, people, sign_in,
                                                                mongo_database, password_hash, handler, name,
                                                                payload, by_person, vi, en):
    person = UserRepository(mongo_database).add(domain.new_user(
        {"username": "operator.xuanhung", "display_name": "Anh Tuấn", "commune_id": "xuan-hung",
         "roles": ["operator"]}, password_hash))
    received = event(name, actor=person["_id"] if by_person else None, **payload)
    for _ in range(2):  # a redelivery
        with entrypoint_hook(gateway, handler) as handle:
            handle(received)
    sign_in(people["viewer"])
    items = web_session.get("/api/activity").json()["items"]
    assert [(item["kind"], item["summary"]) for item in items] == [(name, vi)]
    entry = {"kind": name, "actor_name": items[0]["actor_name"], "data": items[0]["data"]}
    assert domain.describe_activity(entry, "en") == en
    assert domain.activity_link(entry) == f"/devices/{payload['device_id']}"
