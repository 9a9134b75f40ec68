"""Service tests of the broadcasting API: each route reaches its RPC of the
broadcast service (services/broadcast/API.md) with the right arguments and
the caller's commune, CAP alerts are refused by size and type before any
call, and the broadcast service's refusals come back through the one error
table; its events feed the activity feed. The broadcast service is replaced
by a stand-in."""
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, replace_dependencies

from shared.errors import Conflict
from shared.events import make_event
from shared.timeutil import local_today

from services.gateway import auth, domain
from services.gateway.openapi import DOCUMENT
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import broadcast_samples as samples
from services.gateway.tests.conftest import SYSTEM_CONTEXT
from services.gateway.tests.test_api import assert_error, assert_route_reaches_rpc, called, send

CAP = {"Content-Type": "application/cap+xml"}
XML = samples.CAP_ALERT.encode("utf-8")
PROGRAMME = {"id": "sang", "name": "Bản tin sáng", "priority": "high",
             "items": [{"content_id": "i1", "kind": "audio", "duration_seconds": 600, "media_url": "https://x/a.mp3"}],
             "repeat": 2, "gap_seconds": 30, "target": {"zones": ["thon-1"]},
             "when": {"rrule": "FREQ=DAILY;BYHOUR=6;BYMINUTE=0", "start_date": "2026-12-01"}}
ZONE = {"id": "loa-cho", "name": "Loa chợ và trường học", "device_ids": ["loa-thon-1b", "loa-du-phong"]}


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.broadcast_mock = replace_dependencies(container, "broadcast")
    container.start()
    return container


@pytest.fixture
def broadcast(gateway):
    return gateway.broadcast_mock


SCOPED = {"commune_id": "xuan-hung"}

# (method, path, JSON body or query, RPC, its answer, the call it gets, status)
ROUTES = [
    ("GET", "/api/zones", None, "list_zones", samples.zones(), ((), SCOPED), 200),
    ("POST", "/api/zones", ZONE, "save_zone", samples.zones()[1], ((ZONE,), SCOPED), 201),
    ("PUT", "/api/zones/loa-cho", {"name": ZONE["name"], "device_ids": ZONE["device_ids"]}, "save_zone",
     samples.zones()[1], ((ZONE,), SCOPED), 200),
    ("DELETE", "/api/zones/loa-cho", None, "delete_zone", {"deleted": True}, (("loa-cho",), SCOPED), 200),
    ("GET", "/api/programmes", None, "list_programmes", [samples.programme()], ((), SCOPED), 200),
    ("POST", "/api/programmes", PROGRAMME, "save_programme", {"programme": samples.programme(), "notice": ""},
     ((PROGRAMME,), SCOPED), 201),
    ("GET", "/api/programmes/sang", None, "get_programme", samples.programme_detail(), (("sang",), SCOPED), 200),
    ("PUT", "/api/programmes/sang", {k: v for k, v in PROGRAMME.items() if k != "id"}, "save_programme",
     {"programme": samples.programme(), "notice": ""}, ((PROGRAMME,), SCOPED), 200),
    ("DELETE", "/api/programmes/sang", None, "delete_programme", {"deleted": True}, (("sang",), SCOPED), 200),
    ("GET", "/api/calendar", {"start": "2026-11-23", "end": "2026-11-29", "zone_id": "thon-1"}, "calendar",
     samples.calendar(), (("2026-11-23", "2026-11-29"), {"zone_id": "thon-1", **SCOPED}), 200),
    ("GET", "/api/devices/loa-thon-1/schedule", None, "device_schedule",
     {"device_id": "loa-thon-1", "version": 7, "synced_version": 7, "synced_at": None, "entries": [], "moved": [],
      "dropped": []}, (("loa-thon-1",), SCOPED), 200),
    ("GET", "/api/broadcasts", {"level": "emergency", "state": "sending", "origin": "cap", "limit": "10"},
     "list_broadcasts", samples.recent_list(),
     (({"level": "emergency", "state": "sending", "origin": "cap", "limit": 10},), SCOPED), 200),
    ("POST", "/api/broadcasts", {"title": "Cắt điện", "text": "Chiều nay cắt điện từ 14:00.", "level": "priority",
                                 "target": {"zones": ["thon-1"]}, "duration_seconds": 45, "repeat": 2},
     "create_broadcast", samples.broadcast(level="priority"),
     (({"title": "Cắt điện", "text": "Chiều nay cắt điện từ 14:00.", "level": "priority",
        "target": {"zones": ["thon-1"]}, "duration_seconds": 45, "repeat": 2},), SCOPED), 201),
    ("GET", "/api/broadcasts/b1", None, "get_broadcast", samples.detail(), (("b1",), SCOPED), 200),
    ("POST", "/api/broadcasts/b2/schedule", {"at": "2026-12-01T06:30"}, "schedule_broadcast",
     samples.bulletin("b2", "priority", state="scheduled"),
     (("b2",), {"at": "2026-12-01T06:30", "target": None, **SCOPED}), 200),
    ("POST", "/api/broadcasts/b2/schedule", {}, "schedule_broadcast", samples.bulletin("b2", "priority", "sending"),
     (("b2",), {"at": None, "target": None, **SCOPED}), 200),
    ("POST", "/api/broadcasts/b5/order", {"placement": "after"}, "order_bulletin",
     samples.bulletin("b5", "priority", "scheduled", order="after"), (("b5", "after"), SCOPED), 200),
    ("POST", "/api/broadcasts/b1/cancel", {"reason": "Bão đã đi qua"}, "cancel_broadcast",
     samples.broadcast(state="cancelled"), (("b1",), {"reason": "Bão đã đi qua", **SCOPED}), 200),
    ("POST", "/api/volume", {"target": {"zones": ["thon-1"]}, "volume": 70}, "set_volume",
     {"command_id": "volume-1", "device_count": 2, "routed": True}, (({"zones": ["thon-1"]}, 70), SCOPED), 200),
    ("POST", "/api/bulletins", {"source": "province", "external_id": "NB-123", "title": "Tin tỉnh", "level": "normal"},
     "receive_bulletin", samples.bulletin("b7", "normal"),
     (({"source": "province", "external_id": "NB-123", "title": "Tin tỉnh", "level": "normal"},), SCOPED), 200),
    ("GET", "/api/plays", {"date": "2026-11-26", "device_id": "loa-thon-1", "village": "thon-1", "limit": "50"},
     "play_log", samples.plays(),
     (({"date": "2026-11-26", "device_id": "loa-thon-1", "village": "thon-1", "limit": 50},), SCOPED), 200),
    ("GET", "/api/plays", {"start": "2026-11-26T06:00:00+07:00", "end": "2026-11-26T12:00:00Z"}, "play_log",
     samples.plays(), (({"start": "2026-11-25T23:00:00.000Z", "end": "2026-11-26T12:00:00.000Z"},), SCOPED), 200),
    ("GET", "/api/broadcast-hours", {"start": "2026-11-20", "end": "2026-11-26"}, "broadcast_hours", samples.hours(),
     (("2026-11-20", "2026-11-26"), SCOPED), 200),
]


@pytest.mark.parametrize("method, path, payload, rpc, answer, call, status", ROUTES,
                         ids=[f"{route[0]} {route[1]}" for route in ROUTES])
def test_each_route_reaches_its_rpc_in_the_callers_commune(broadcast, web_session, operator, method, path, payload,
                                                           rpc, answer, call, status):
    assert_route_reaches_rpc(broadcast, web_session, operator, method, path, payload, rpc, answer, call, status)


def test_the_calendar_is_this_week_and_the_hours_today_unless_asked(broadcast, web_session, operator):
    broadcast.calendar.return_value = samples.calendar()
    web_session.get("/api/calendar")
    (start, end), kwargs = called(broadcast.calendar)
    today = local_today()
    assert start == (today - timedelta(days=today.weekday())).isoformat()
    assert (end, kwargs) == ((today + timedelta(days=6 - today.weekday())).isoformat(),
                             {"zone_id": None, "commune_id": "xuan-hung"})
    broadcast.broadcast_hours.return_value = samples.hours()
    web_session.get("/api/broadcast-hours")
    assert called(broadcast.broadcast_hours) == ((today.isoformat(), today.isoformat()), SCOPED)


@pytest.mark.parametrize("method, path, body, message", [
    ("POST", "/api/broadcasts", {"text": "Không có tiêu đề"}, "Hãy nhập tiêu đề bản tin (title)."),
    ("POST", "/api/broadcasts", {"title": "x", "urgent": True}, "urgent"),
    ("POST", "/api/broadcasts", {"title": "x", "duration_seconds": "một phút"}, "duration_seconds"),
    ("POST", "/api/broadcasts/b2/schedule", {"at": "01/12/2026 06:30"}, "ví dụ 2026-12-01T06:30"),
    ("POST", "/api/broadcasts/b5/order", {"placement": "middle"}, "before (phát trước) hoặc after (phát sau)"),
    ("POST", "/api/broadcasts/b5/order", {}, "Hãy chọn phát trước (before) hay sau (after)."),
    ("POST", "/api/zones", {"id": "cho", "name": "Chợ"}, "Hãy chọn các thiết bị của nhóm (device_ids)."),
    ("PUT", "/api/zones/loa-cho", dict(ZONE, id="khac"), "khác mã trên địa chỉ"),
    ("PUT", "/api/programmes/sang", dict(PROGRAMME, id="chieu"), "khác mã trên địa chỉ"),
    ("POST", "/api/programmes", {k: v for k, v in PROGRAMME.items() if k != "when"}, "Hãy chọn lịch phát (when)"),
    ("POST", "/api/bulletins", {"external_id": "1", "title": "x"}, "Hãy cho biết nguồn bản tin (source)"),
    ("GET", "/api/plays", {"date": "26/11/2026"}, "Ngày không hợp lệ"),
    ("GET", "/api/plays", {"start": "2026-11-26T06:00"}, "kèm múi giờ"),
    ("GET", "/api/broadcasts", {"limit": "0"}, "limit"),
])
def test_what_the_gateway_can_tell_is_wrong_is_refused_before_any_call(broadcast, web_session, operator, method,
                                                                       path, body, message):
    response = send(web_session, method, path, body, operator)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not broadcast.method_calls


@pytest.mark.parametrize("rpc, method, path, body, remote, status, code", [
    ("create_broadcast", "POST", "/api/broadcasts", {"title": "x", "target": {"zones": ["khong-co"]}},
     RemoteError("InvalidInput", "target.zones: không có vùng phát «khong-co»."), 400, "INVALID_INPUT"),
    ("create_broadcast", "POST", "/api/broadcasts", {"title": "Lũ", "level": "emergency"},
     RemoteError("Forbidden", "Chỉ lãnh đạo xã được phát tin khẩn cấp."), 403, "FORBIDDEN"),
    ("get_broadcast", "GET", "/api/broadcasts/khong-co", None,
     RemoteError("NotFound", "Không tìm thấy bản tin."), 404, "NOT_FOUND"),
    ("save_programme", "POST", "/api/programmes", PROGRAMME,
     RemoteError("Conflict", "Không thể xếp lịch «Bản tin sáng»: trùng giờ với chương trình cùng mức ưu tiên."),
     409, "CONFLICT"),
    ("delete_zone", "DELETE", "/api/zones/thon-1", None,
     RemoteError("Conflict", "Vùng phát đang được chương trình «Bản tin sáng» sử dụng."), 409, "CONFLICT"),
    ("order_bulletin", "POST", "/api/broadcasts/b2/order", {"placement": "before"},
     RemoteError("Conflict", "Bản tin không ở trạng thái cần sắp xếp thứ tự."), 409, "CONFLICT"),
    ("ingest_cap", "POST", "/api/cap", None,
     RemoteError("InvalidInput", "CAP không hợp lệ — alert/info[1]/urgency: giá trị «Soon» không hợp lệ"), 400,
     "INVALID_INPUT"),
])
def test_the_broadcast_services_refusals_keep_their_status_and_message(broadcast, web_session, operator, rpc, method,
                                                                       path, body, remote, status, code):
    getattr(broadcast, rpc).side_effect = remote
    if path == "/api/cap":
        response = web_session.post(path, data=XML, headers=dict(operator, **CAP))
    else:
        response = send(web_session, method, path, body, operator)
    assert assert_error(response, status, code)["message"] == remote.value
    assert getattr(broadcast, rpc).called


def test_an_emergency_without_confirm_is_a_409_naming_what_it_would_interrupt(broadcast, web_session, operator):
    """The confirmation's details reach an API client when the error carries them."""
    broadcast.create_broadcast.side_effect = Conflict(
        "Phát khẩn cấp sẽ ngắt nội dung đang phát trên 2 thiết bị; gửi lại với confirm: true.",
        {"confirmation_required": True, "device_count": 2, "devices": ["loa-thon-1", "loa-thon-1b"]})
    body = assert_error(web_session.post("/api/broadcasts", json={"title": "Lũ", "level": "emergency"},
                                         headers=operator), 409, "CONFLICT")
    assert body["details"] == {"confirmation_required": True, "device_count": 2,
                               "devices": ["loa-thon-1", "loa-thon-1b"]}
    broadcast.create_broadcast.reset_mock(side_effect=True)
    broadcast.create_broadcast.return_value = samples.broadcast()
    response = web_session.post("/api/broadcasts", json={"title": "Lũ", "level": "emergency", "confirm": True},
                                headers=operator)
    assert response.status_code == 201
    assert called(broadcast.create_broadcast)[0][0]["confirm"] is True


# --- CAP alerts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type, action, status", [
    ("application/cap+xml", "created", 201),
    ("application/xml; charset=utf-8", "updated", 200),
    ("text/xml", "cancelled", 200),
    ("application/cap+xml", "ignored", 200),
])
def test_a_cap_alert_is_its_body_as_text(broadcast, web_session, operator, content_type, action, status):
    answer = {"action": action, "broadcast": samples.broadcast(origin="cap"), "unmatched_areas": ["Thôn 9"]}
    broadcast.ingest_cap.return_value = answer
    response = web_session.post("/api/cap", data=XML, headers=dict(operator, **{"Content-Type": content_type}))
    assert response.status_code == status and response.json() == answer
    assert called(broadcast.ingest_cap) == ((samples.CAP_ALERT,), SCOPED)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/x-www-form-urlencoded"])
def test_a_cap_alert_that_is_not_xml_is_415(broadcast, web_session, operator, content_type):
    response = web_session.post("/api/cap", data=XML, headers=dict(operator, **{"Content-Type": content_type}))
    assert "application/cap+xml" in assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")["message"]
    assert not broadcast.ingest_cap.called


def test_a_cap_alert_over_256_kib_is_413_before_any_call(broadcast, web_session, operator):
    padding = b"<!-- " + b"x" * (256 * 1024) + b" -->"
    response = web_session.post("/api/cap", data=XML + padding, headers=dict(operator, **CAP))
    assert "256 KB" in assert_error(response, 413, "PAYLOAD_TOO_LARGE")["message"]
    exactly = XML + b" " * (256 * 1024 - len(XML))
    broadcast.ingest_cap.return_value = {"action": "ignored", "broadcast": None, "unmatched_areas": []}
    assert web_session.post("/api/cap", data=exactly, headers=dict(operator, **CAP)).status_code == 200


def test_a_cap_alert_that_is_not_utf8_is_refused(broadcast, web_session, operator):
    response = web_session.post("/api/cap", data=samples.CAP_ALERT.encode("utf-16"), headers=dict(operator, **CAP))
    assert "UTF-8" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not broadcast.ingest_cap.called


def test_the_sync_service_brings_bulletins_and_alerts_with_an_api_key(gateway, broadcast, web_session, people):
    with entrypoint_hook(gateway, "create_api_key", context_data=SYSTEM_CONTEXT) as create_api_key:
        key = create_api_key("xuan-hung", "Đồng bộ tỉnh Ninh Bình", ["operator"])["key"]
    broadcast.receive_bulletin.return_value = samples.bulletin("b7", "priority", "sending")
    body = {"source": "province", "external_id": "NB-7", "title": "Tin tỉnh", "level": "priority",
            "expires_at": "2026-11-27T07:00:00+07:00"}
    response = web_session.post("/api/bulletins", json=body, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert called(broadcast.receive_bulletin) == ((dict(body, expires_at="2026-11-27T00:00:00.000Z"),), SCOPED)
    broadcast.ingest_cap.return_value = {"action": "created", "broadcast": samples.broadcast(origin="cap"),
                                         "unmatched_areas": []}
    assert web_session.post("/api/cap", data=XML, headers={"X-API-Key": key, **CAP}).status_code == 201
    assert_error(web_session.post("/api/cap", data=XML, headers={"X-API-Key": key, **CAP},
                                  params={"commune_id": "yen-thang"}), 403, "FORBIDDEN")


# --- who and which commune ------------------------------------------------------------------------------

def test_another_communes_broadcasts_are_out_of_reach(broadcast, web_session, operator):
    assert_error(web_session.get("/api/broadcasts", params={"commune_id": "yen-thang"}), 403, "FORBIDDEN")
    assert_error(web_session.post("/api/broadcasts", json={"title": "x", "commune_id": "yen-thang"},
                                  headers=operator), 403, "FORBIDDEN")
    assert_error(web_session.delete("/api/zones/cho", params={"commune_id": "yen-thang"}, headers=operator), 403,
                 "FORBIDDEN")
    assert not broadcast.method_calls


def test_a_district_administrator_names_the_commune(broadcast, web_session, people, sign_in):
    csrf = {auth.CSRF_HEADER: sign_in(people["district"])}
    assert_error(web_session.get("/api/zones"), 403, "FORBIDDEN")
    broadcast.list_zones.return_value = []
    assert web_session.get("/api/zones", params={"commune_id": "yen-thang"}).json() == {"items": []}
    assert called(broadcast.list_zones) == ((), {"commune_id": "yen-thang"})
    broadcast.ingest_cap.return_value = {"action": "ignored", "broadcast": None, "unmatched_areas": []}
    web_session.post("/api/cap", data=XML, params={"commune_id": "yen-thang"}, headers=dict(csrf, **CAP))
    assert called(broadcast.ingest_cap)[1] == {"commune_id": "yen-thang"}


def test_a_write_on_a_session_needs_its_csrf_token(broadcast, web_session, operator):
    assert_error(web_session.post("/api/broadcasts", json={"title": "x"}), 403, "CSRF")
    assert_error(web_session.delete("/api/programmes/sang"), 403, "CSRF")
    assert_error(web_session.post("/api/cap", data=XML, headers=CAP), 403, "CSRF")
    assert not broadcast.method_calls


def test_signed_out_is_401(broadcast, web_session):
    assert_error(web_session.get("/api/broadcasts"), 401, "UNAUTHENTICATED")
    assert_error(web_session.post("/api/cap", data=b"x" * 300_000, headers=CAP), 401, "UNAUTHENTICATED")


# --- the OpenAPI document against the schemas ---------------------------------------------------





def test_the_cap_route_documents_its_xml_body_and_refusals():
    operation = DOCUMENT["paths"]["/api/cap"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/cap+xml", "application/xml", "text/xml"}
    assert {"201", "200", "400", "413", "415"} <= set(operation["responses"])


# --- the activity feed ------------------------------------------------------------------------------------

def event(name, actor=None, **payload):
    return make_event("broadcast", name, "xuan-hung", actor=actor, **payload)


@pytest.mark.parametrize("handler, name, payload, by_person, vi, en", [
    ("on_broadcast_created", "broadcast_created",
     {"broadcast_id": "b1", "level": "emergency", "origin": "commune", "title": "Bão số 9", "state": "sending",
      "device_count": 12}, True,
     "Anh Tuấn phát bản tin khẩn cấp «Bão số 9» tới 12 thiết bị",
     "Anh Tuấn broadcast the emergency bulletin “Bão số 9” to 12 devices"),
    ("on_broadcast_created", "broadcast_created",
     {"broadcast_id": "b2", "level": "normal", "origin": "province", "title": "Tin thuế", "state": "inbox",
      "device_count": 0}, False,
     "Bản tin thông thường «Tin thuế» từ tỉnh đang chờ trong hộp thư",
     "The normal bulletin “Tin thuế” from the province is waiting in the inbox"),
    ("on_broadcast_created", "broadcast_created",
     {"broadcast_id": "b5", "level": "priority", "origin": "central", "title": "Tin dịch", "state": "needs_order",
      "device_count": 4}, False,
     "Bản tin ưu tiên «Tin dịch» từ trung ương trùng giờ chương trình của xã, cần sắp xếp thứ tự",
     "The priority bulletin “Tin dịch” from the central government clashes with the commune's programme and "
     "needs ordering"),
    ("on_broadcast_created", "broadcast_created",
     {"broadcast_id": "b8", "level": "emergency", "origin": "cap", "title": "Lũ quét", "state": "sending",
      "device_count": 9}, False,
     "Bản tin khẩn cấp «Lũ quét» từ hệ thống cảnh báo CAP đang phát tới 9 thiết bị",
     "The emergency bulletin “Lũ quét” from the CAP alerting system is playing on 9 devices"),
    ("on_broadcast_escalated", "broadcast_escalated",
     {"broadcast_id": "b1", "level": "emergency", "title": "Bão số 9", "acknowledged": 5, "total": 12,
      "share": 5 / 12}, False,
     "Báo động: bản tin khẩn cấp «Bão số 9» mới được 5/12 thiết bị xác nhận (42%)",
     "Escalation: only 5/12 devices confirmed the emergency bulletin “Bão số 9” (42%)"),
    ("on_broadcast_cancelled", "broadcast_cancelled",
     {"broadcast_id": "b1", "level": "emergency", "title": "Bão số 9", "reason": "Bão đã đi qua"}, True,
     "Anh Tuấn hủy bản tin «Bão số 9»: «Bão đã đi qua»", "Anh Tuấn cancelled the bulletin “Bão số 9”: “Bão đã đi qua”"),
    ("on_broadcast_cancelled", "broadcast_cancelled",
     {"broadcast_id": "b8", "level": "emergency", "title": "Lũ quét", "reason": ""}, False,
     "Hệ thống hủy bản tin «Lũ quét»", "System cancelled the bulletin “Lũ quét”"),
])
def test_broadcast_events_reach_the_feed_once_in_both_languages(gateway, web_session, people, sign_in,
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
    assert domain.activity_link(entry) == f"/broadcasts/{payload['broadcast_id']}"
