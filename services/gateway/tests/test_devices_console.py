"""Service tests of the console's device pages: the list by village with
the map, a device's page with its charts and actions, the alarms page, and
provisioning (register, CSV import with preview and confirm, codes shown
once, revocation); the telemetry service replaced by a stand-in."""
import base64
import re
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from shared.timeutil import parse_iso

from services.gateway import domain
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import device_samples as samples
from services.gateway.tests.test_console import hidden, html
from services.gateway.tests.test_content_console import nav
from services.gateway.tests.test_tracking_console import flash, text_of

# what a browser sends for a file input left empty (the form is multipart either way)
NO_FILE = {"file": ("", b"", "application/octet-stream")}
CSV = ("device_id,name,kind,village,lat,lon\r\n"
       "loa-thon-2,Cụm loa Thôn 2,loudspeaker,thon-1,20.26,105.99\r\n"
       "bang-tin-2,Bảng tin chợ,eboard,,,\r\n")


@pytest.fixture
def telemetry(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    telemetry = replace_dependencies(container, "telemetry")
    container.start()
    telemetry.list_devices.return_value = samples.devices()
    telemetry.list_alarms.return_value = samples.alarms()
    telemetry.get_uptime.return_value = samples.uptime()
    telemetry.get_device.return_value = samples.detail()
    telemetry.get_telemetry.return_value = samples.telemetry()
    telemetry.connection_history.return_value = samples.connections()
    telemetry.list_alarm_rules.return_value = samples.rules()
    return telemetry


@pytest.fixture
def operator(people, mongo_database, password_hash):
    return UserRepository(mongo_database).add(domain.new_user(
        {"username": "operator.xuanhung", "display_name": "Anh Tuấn", "commune_id": "xuan-hung",
         "roles": ["operator"]}, password_hash))


def submit(web_session, path, **kwargs):
    """A form sent as the browser sends it, stopping at the redirect (the next page shows the flash)."""
    return web_session.post(path, allow_redirects=False, **kwargs)


def sent(mock_method):
    mock_method.assert_called_once()
    return mock_method.call_args


def svg(page, css_class):
    return re.search(rf'<svg class="{css_class}".*?</svg>', page, re.S).group(0)


# --- the device list and its map ------------------------------------------------------------------

def test_devices_and_alarms_are_in_everyones_navigation(telemetry, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/devices"))
    assert nav(page)[-5:-3] == ["/devices", "/alarms"]
    assert '<a href="/devices" aria-current="page">Thiết bị</a>' in page
    assert '<a href="/alarms" aria-current="page">Cảnh báo</a>' in html(web_session.get("/alarms"))


def test_the_list_groups_devices_by_village_with_their_state(telemetry, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/devices"))
    assert sent(telemetry.list_devices).args == ({"commune_id": "xuan-hung"},)
    assert sent(telemetry.list_alarms).args == ({"status": "active", "commune_id": "xuan-hung"},)
    start, end = sent(telemetry.get_uptime).args
    assert parse_iso(end) - parse_iso(start) == timedelta(days=7)
    text = text_of(page)
    # the village first (by the commune's order), with its counts and uptime; then the devices of no village
    assert text.index("Thôn 1 3 thiết bị · 1 trực tuyến · 1 ngoại tuyến · 1 chưa kết nối") < text.index(
        "Chưa gắn với thôn 1 thiết bị · 0 trực tuyến · 1 ngoại tuyến · 0 chưa kết nối")
    assert "hoạt động 87,5% thời gian trong 7 ngày qua" in text
    assert re.search(r'<span class="badge presence-online">Trực tuyến</span> <span class="muted seen">3 phút trước',
                     page)
    assert "5 giờ trước" in text and "chưa từng kết nối" in text
    assert "65% Đang phát Bản tin sáng Điện lưới 221,5 V 41,5 °C" in text
    assert '<a href="/devices/loa-thon-1">Cụm loa nhà văn hóa Thôn 1</a>' in page
    assert '<a href="/devices/loa-du-phong">loa-du-phong</a>' in page  # a device without a name shows its id
    # an open-alarm badge per device, and the commune's count
    assert '<a class="flag flag-alarm" href="/alarms?device_id=loa-thon-1b">1 cảnh báo</a>' in page
    assert re.search(r'href="/alarms"><strong>2</strong> cảnh báo đang mở</a>', page)
    assert '<a class="count presence-count-online" href="/devices?presence=online"><strong>1</strong> trực tuyến' \
        in page
    assert "/devices/provisioning" not in page  # viewers provision nothing


def test_the_filters_go_to_the_telemetry_service(telemetry, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/devices", params={"kind": "eboard", "presence": "unknown", "village": "",
                                                     "other": "x"}))
    assert sent(telemetry.list_devices).args == ({"kind": "eboard", "presence": "unknown",
                                                  "commune_id": "xuan-hung"},)
    assert '<option value="eboard" selected>Bảng tin điện tử</option>' in page
    assert '<option value="unknown" selected>Chưa kết nối</option>' in page
    telemetry.list_devices.return_value = []
    assert "Không có thiết bị nào phù hợp." in html(web_session.get("/devices", params={"kind": "other"}))
    assert "Xã chưa đăng ký thiết bị nào." in html(web_session.get("/devices"))


def test_the_map_places_devices_by_their_coordinates_with_links(telemetry, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/devices"))
    drawn = svg(page, "device-map")
    marks = re.findall(r'<a href="/devices/([\w-]+)" class="map-mark">.*?<circle class="presence-(\w+)" '
                       r'cx="([\d.]+)" cy="([\d.]+)"', drawn, re.S)
    assert [(device_id, state) for device_id, state, _, _ in marks] == [("loa-thon-1", "online"),
                                                                       ("loa-thon-1b", "offline")]
    (_, _, x1, y1), (_, _, x2, y2) = marks
    assert float(x2) > float(x1) and float(y2) < float(y1)  # the second is further east and north
    assert "Cụm loa chợ Thôn 1" in drawn and re.search(r"<text [^>]*>\d+ m</text>", drawn)
    assert "Chưa có tọa độ:" in text_of(page) and '<a href="/devices/bang-tin-ubnd">Bảng tin UBND xã</a>' in page
    telemetry.list_devices.return_value = [samples.listed(location=None)]
    assert "Chưa thiết bị nào có tọa độ" in html(web_session.get("/devices"))


def test_the_list_in_english(telemetry, web_session, people, sign_in):
    sign_in(people["viewer"])
    web_session.get("/lang/en")
    text = text_of(html(web_session.get("/devices")))
    assert "devices: 3 · online: 1 · offline: 1 · never connected: 1" in text
    assert "221.5 V" in text and "3 min ago" in text and "Device map" in text


# --- a device's page ------------------------------------------------------------------------------------

def test_the_device_page_shows_registry_state_charts_connections_uptime_and_alarms(telemetry, web_session, people,
                                                                                  sign_in):
    telemetry.get_uptime.side_effect = [samples.uptime(), samples.uptime(devices=[
        {"device_id": "loa-thon-1", "village": "thon-1", "uptime": 0.8}])]
    telemetry.list_alarms.return_value = [samples.alarm()]
    sign_in(people["viewer"])
    page = html(web_session.get("/devices/loa-thon-1"))
    assert sent(telemetry.get_device).args == ("loa-thon-1",) and \
        telemetry.get_device.call_args.kwargs == {"commune_id": "xuan-hung"}
    query = sent(telemetry.get_telemetry)
    assert query.kwargs["resolution"] == "raw" and query.kwargs["commune_id"] == "xuan-hung"
    assert parse_iso(query.kwargs["end"]) - parse_iso(query.kwargs["start"]) == timedelta(hours=24)
    assert sent(telemetry.list_alarms).args == ({"device_id": "loa-thon-1", "status": "all",
                                                 "commune_id": "xuan-hung"},)
    text = text_of(page)
    assert "Cụm thu loa · Thôn 1" in text and "Trực tuyến" in text and "Liên lạc lần cuối: vừa xong" in text
    for fact in ("Âm lượng 65%", "Phát Đang phát: «Bản tin sáng» Trong giờ phát theo lịch",
                 "Nguồn điện Điện lưới · lưới 221,5 V · ắc quy 12,6 V", "Nhiệt độ 41,5 °C",
                 "Đường truyền Mạng di động · -71 dBm", "Đường dây loa Bình thường",
                 "Tọa độ 20,25060, 105,97450", "Ngày lắp đặt 15/03/2026", "Coi là mất kết nối sau 120 giây",
                 "Khóa truy cập Đang hoạt động", "Thời gian hoạt động 7 ngày: 97,5%",
                 "Thời gian hoạt động 30 ngày: 80%", "Nhẹ Nhiệt độ cao Chưa xử lý"):
        assert fact in text, fact
    # five charts; the three-hour silence breaks each line in two
    charts = re.findall(r'<figure class="chart">.*?</figure>', page, re.S)
    assert [re.search(r"<strong>([^<]+)</strong>", chart).group(1) for chart in charts] == [
        "Âm lượng", "Cường độ tín hiệu", "Nhiệt độ", "Điện áp lưới", "Điện áp ắc quy"]
    assert all(len(re.findall(r'<path class="chart-line', chart)) == 2 for chart in charts)
    assert "Đang kết nối" in text and "2 giờ 0 phút" in text and "1 ngày 0 giờ" in text
    assert "Cấp mã kích hoạt" not in text and 'name="volume"' not in page  # viewers act on nothing


def test_a_month_of_readings_is_asked_for_hour_by_hour(telemetry, web_session, people, sign_in):
    telemetry.get_telemetry.return_value = samples.telemetry(points=[], resolution="hourly")
    sign_in(people["viewer"])
    page = html(web_session.get("/devices/loa-thon-1", params={"period": "30d"}))
    query = sent(telemetry.get_telemetry)
    assert query.kwargs["resolution"] == "hourly"
    assert parse_iso(query.kwargs["end"]) - parse_iso(query.kwargs["start"]) == timedelta(days=30)
    assert "Không có số liệu trong khoảng thời gian này." in page
    assert re.search(r'href="/devices/loa-thon-1\?period=30d#charts" aria-current="true">30 ngày qua', page)


def test_a_device_never_heard_from(telemetry, web_session, people, sign_in):
    never = samples.detail(credential={"status": "none", "credential_id": None, "at": None}, location=None)
    never.update(state={"presence": "unknown", "presence_since": None, "last_seen": None, "sample": None},
                 open_alarms=[])
    telemetry.get_device.return_value = never
    telemetry.get_telemetry.return_value = samples.telemetry(points=[])
    telemetry.connection_history.return_value = []
    telemetry.list_alarms.return_value = []
    telemetry.get_uptime.return_value = samples.uptime(devices=[])
    sign_in(people["viewer"])
    text = text_of(html(web_session.get("/devices/loa-thon-1")))
    for fact in ("Chưa kết nối", "Liên lạc lần cuối: chưa từng kết nối", "Thiết bị chưa gửi số liệu nào.",
                 "Chưa có lần kết nối nào trong 30 ngày qua.", "Thời gian hoạt động 7 ngày: —",
                 "Thiết bị chưa có cảnh báo nào.", "Khóa truy cập Chưa cấp", "Tọa độ —"):
        assert fact in text, fact


def test_an_unknown_device_is_a_404_page(telemetry, web_session, people, sign_in):
    telemetry.get_device.side_effect = RemoteError("NotFound", "Không tìm thấy thiết bị.")
    sign_in(people["viewer"])
    assert "Không tìm thấy thiết bị." in html(web_session.get("/devices/khong-co"), 404)


def test_operators_get_the_actions(telemetry, web_session, people, sign_in, operator):
    sign_in(operator)
    page = html(web_session.get("/devices/loa-thon-1"))
    assert 'action="/devices/loa-thon-1/provisioning-code"' in page and "Cấp mã kích hoạt mới" in page
    assert 'action="/devices/loa-thon-1/revoke"' in page and 'action="/devices/loa-thon-1/edit"' in page
    assert 'name="volume" type="number" min="0" max="100" required value="65"' in page
    telemetry.get_device.return_value = samples.detail(transport="mqtt")
    page = html(web_session.get("/devices/loa-thon-1"))
    assert 'action="/devices/loa-thon-1/mqtt-credential"' in page and "provisioning-code" not in page


@pytest.mark.parametrize("form, kind, params, message", [
    ({"kind": "set_volume", "volume": "40"}, "set_volume", {"volume": 40},
     "Đã gửi lệnh đặt âm lượng 40% tới thiết bị."),
    ({"kind": "show_text", "text": "Kiểm tra bảng tin"}, "show_text", {"text": "Kiểm tra bảng tin"},
     "Đã gửi lệnh hiện dòng chữ «Kiểm tra bảng tin» tới thiết bị."),
])
def test_a_test_command_is_sent_and_its_delivery_told(telemetry, web_session, operator, sign_in, form, kind, params,
                                                      message):
    csrf = sign_in(operator)
    telemetry.send_command.return_value = {"command_id": "c9", "delivered": True}
    response = submit(web_session, "/devices/loa-thon-1/commands", data=dict(form, csrf_token=csrf))
    assert response.status_code == 303 and response.headers["Location"] == "/devices/loa-thon-1"
    call = sent(telemetry.send_command)
    assert call.args == ("loa-thon-1", kind, params) and call.kwargs == {"commune_id": "xuan-hung"}
    assert flash(web_session, "/devices/loa-thon-1") == ("ok", message)


def test_a_command_no_edge_took_is_an_error(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.send_command.return_value = {"command_id": "c9", "delivered": False}
    submit(web_session, "/devices/loa-thon-1/commands", data={"csrf_token": csrf, "kind": "set_volume", "volume": "0"})
    assert flash(web_session, "/devices/loa-thon-1") == (
        "error", "Chưa gửi được lệnh đặt âm lượng 0%: thiết bị không kết nối.")


@pytest.mark.parametrize("form, message", [
    ({"kind": "set_volume", "volume": "120"}, "Âm lượng phải là số nguyên từ 0 đến 100."),
    ({"kind": "set_volume", "volume": "to"}, "Âm lượng phải là số nguyên từ 0 đến 100."),
    ({"kind": "show_text", "text": " "}, "Hãy nhập dòng chữ cần hiện trên bảng tin."),
    ({"kind": "stop"}, "Hãy chọn lệnh thử: đặt âm lượng hoặc hiện dòng chữ."),
])
def test_a_command_the_gateway_can_tell_is_wrong_is_not_sent(telemetry, web_session, operator, sign_in, form,
                                                             message):
    csrf = sign_in(operator)
    submit(web_session, "/devices/loa-thon-1/commands", data=dict(form, csrf_token=csrf))
    assert flash(web_session, "/devices/loa-thon-1") == ("error", message)
    assert not telemetry.send_command.called


def test_forms_without_csrf_are_refused(telemetry, web_session, operator, sign_in):
    sign_in(operator)
    for path in ("/devices/loa-thon-1/commands", "/devices/loa-thon-1/revoke", "/devices/loa-thon-1/provisioning-code",
                 "/alarms/a1/acknowledge", "/devices/provisioning/register"):
        assert submit(web_session, path, data={"kind": "set_volume", "volume": "1"}).status_code == 403, path
    assert not telemetry.send_command.called and not telemetry.issue_provisioning_code.called


def test_the_provisioning_code_is_shown_once_with_the_installers_steps(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.issue_provisioning_code.return_value = {"code": "K7QM-2XPA-9RTD",
                                                      "expires_at": "2026-04-13T01:00:00.000Z"}
    response = submit(web_session, "/devices/loa-thon-1/provisioning-code", data={"csrf_token": csrf})
    page = html(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert sent(telemetry.issue_provisioning_code).args == ("loa-thon-1",)
    assert '<code id="provisioning-code">K7QM-2XPA-9RTD</code>' in page
    text = text_of(page)
    assert "Mã này chỉ hiện một lần" in text and "Hết hạn lúc 13/04/2026 08:00." in text
    assert "nhập địa chỉ máy chủ 127.0.0.1:50051." in text
    assert "K7QM" not in html(web_session.get("/devices/loa-thon-1"))  # nowhere else, ever


def test_an_mqtt_login_is_shown_once(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.get_device.return_value = samples.detail(transport="mqtt")
    telemetry.issue_mqtt_credential.return_value = {"username": "device.xuan-hung.loa-thon-1", "password": "s3cret-pw",
                                                    "topic": "tinxa/xuan-hung/loa-thon-1/telemetry", "mqtt_port": 1884}
    page = html(submit(web_session, "/devices/loa-thon-1/mqtt-credential", data={"csrf_token": csrf}))
    text = text_of(page)
    for fact in ("Tài khoản MQTT cho «Cụm loa nhà văn hóa Thôn 1»", "Máy chủ 127.0.0.1:1884",
                 "Tên đăng nhập device.xuan-hung.loa-thon-1", "Mật khẩu s3cret-pw",
                 "Chủ đề gửi số liệu tinxa/xuan-hung/loa-thon-1/telemetry"):
        assert fact in text, fact


def test_a_refused_code_goes_back_with_the_reason(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.issue_provisioning_code.side_effect = RemoteError(
        "Conflict", "Thiết bị kết nối qua MQTT: hãy cấp tài khoản MQTT thay cho mã kích hoạt.")
    response = submit(web_session, "/devices/loa-thon-1/provisioning-code",
                      data={"csrf_token": csrf, "next": "/devices/provisioning"})
    assert response.headers["Location"] == "/devices/provisioning"
    assert flash(web_session, "/devices/provisioning")[0] == "error"


def test_revoking_says_the_device_is_cut_off(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.revoke_credentials.return_value = {"device_id": "loa-thon-1", "revoked": ["c1"], "codes_voided": 0}
    response = submit(web_session, "/devices/loa-thon-1/revoke",
                      data={"csrf_token": csrf, "reason": "Thiết bị bị mất trộm"})
    assert response.headers["Location"] == "/devices/loa-thon-1"
    call = sent(telemetry.revoke_credentials)
    assert call.args == ("loa-thon-1",) and call.kwargs == {"reason": "Thiết bị bị mất trộm", "commune_id": "xuan-hung"}
    assert flash(web_session, "/devices/loa-thon-1") == (
        "ok", "Đã thu hồi khóa truy cập của thiết bị loa-thon-1; thiết bị đã bị ngắt kết nối.")


def test_a_revoke_never_leaves_the_site(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    response = submit(web_session, "/devices/loa-thon-1/revoke",
                      data={"csrf_token": csrf, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/devices/loa-thon-1"


def test_editing_moves_a_device_and_clears_its_location(telemetry, web_session, operator, sign_in, people):
    csrf = sign_in(operator)
    telemetry.update_device.return_value = samples.device(village=None, location=None)
    submit(web_session, "/devices/loa-thon-1/edit", data={
        "csrf_token": csrf, "name": "Cụm loa chợ", "village": "", "lat": "", "lon": "", "model": "",
        "installed_on": "2026-03-16", "presence_timeout_s": "300"})
    call = sent(telemetry.update_device)
    assert call.args == ("loa-thon-1", {"name": "Cụm loa chợ", "model": "", "village": None, "lat": None, "lon": None,
                                        "installed_on": "2026-03-16", "presence_timeout_s": 300})
    assert call.kwargs == {"commune_id": "xuan-hung"}
    assert flash(web_session, "/devices/loa-thon-1") == (
        "ok", "Đã lưu thông tin thiết bị «Cụm loa nhà văn hóa Thôn 1».")


def test_a_village_the_commune_does_not_have_is_refused_before_any_call(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    submit(web_session, "/devices/loa-thon-1/edit", data={"csrf_token": csrf, "village": "thon-9"})
    assert flash(web_session, "/devices/loa-thon-1") == (
        "error", "village: thôn «thon-9» không có trong danh sách thôn của xã: thon-1 (Thôn 1).")
    assert not telemetry.update_device.called


# --- alarms -------------------------------------------------------------------------------------------

def test_the_alarms_page_lists_active_alarms_with_their_forms(telemetry, web_session, operator, sign_in):
    sign_in(operator)
    page = html(web_session.get("/alarms"))
    assert sent(telemetry.list_alarms).args == ({"status": "active", "commune_id": "xuan-hung"},)
    alarms = re.findall(r'<li class="card alarm severity-edge-(\w+)">.*?</li>', page, re.S)
    assert alarms == ["critical", "minor"]  # newest first, as the telemetry service orders them
    text = text_of(page)
    assert text.index("Nghiêm trọng Mất kết nối Đang xử lý") < text.index("Nhẹ Nhiệt độ cao Chưa xử lý")
    assert "Anh Tuấn: «Đang xử lý» lúc 10/04/2026 14:10: «Đang ra kiểm tra nguồn điện»" in text
    assert "Lần đầu 10/04/2026 12:00, gần nhất 10/04/2026 13:00 (2 lần)" in text
    # only an open alarm can be acknowledged; both can be cleared; the forms come back here
    assert page.count('action="/alarms/a1/acknowledge"') == 1 and 'action="/alarms/a2/acknowledge"' not in page
    assert 'action="/alarms/a2/clear"' in page and 'action="/alarms/a1/clear"' in page
    assert hidden(page, "next") == "/alarms?status=active"
    # the rules, with a form each
    assert 'id="rule-temperature_high" action="/alarms/rules/temperature_high"' in page
    assert 'name="threshold" form="rule-temperature_high" inputmode="decimal" value="60"' in page
    assert 'name="threshold" form="rule-silent_slot"' not in page


def test_viewers_see_alarms_but_no_forms(telemetry, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/alarms", params={"status": "all", "severity": "critical", "x": "y"}))
    assert sent(telemetry.list_alarms).args == ({"status": "all", "severity": "critical",
                                                 "commune_id": "xuan-hung"},)
    assert "/acknowledge" not in page and "/clear" not in page and "/alarms/rules/" not in page
    assert '<option value="all" selected>Tất cả</option>' in page
    telemetry.list_alarms.return_value = []
    assert "Không có cảnh báo nào đang mở." in html(web_session.get("/alarms"))


@pytest.mark.parametrize("step, method, message", [
    ("acknowledge", "acknowledge_alarm", "Đã nhận xử lý cảnh báo «Nhiệt độ cao» của thiết bị loa-thon-1."),
    ("clear", "clear_alarm", "Đã đóng cảnh báo «Nhiệt độ cao» của thiết bị loa-thon-1."),
])
def test_acknowledging_and_clearing_with_a_note(telemetry, web_session, operator, sign_in, step, method, message):
    csrf = sign_in(operator)
    getattr(telemetry, method).return_value = samples.alarm(status="acknowledged")
    response = submit(web_session, f"/alarms/a1/{step}", data={
        "csrf_token": csrf, "note": "Đã thay quạt tản nhiệt", "next": "/alarms?status=active&severity=minor"})
    assert response.headers["Location"] == "/alarms?status=active&severity=minor"
    call = sent(getattr(telemetry, method))
    assert call.args == ("a1",) and call.kwargs == {"note": "Đã thay quạt tản nhiệt", "commune_id": "xuan-hung"}
    assert flash(web_session, "/alarms") == ("ok", message)


def test_an_alarm_someone_else_cleared_meanwhile(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.clear_alarm.side_effect = RemoteError("Conflict", "Cảnh báo đã được xử lý xong.")
    submit(web_session, "/alarms/a1/clear", data={"csrf_token": csrf})
    assert flash(web_session, "/alarms") == ("error", "Cảnh báo đã được xử lý xong.")


def test_a_rule_is_changed_from_its_row(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    submit(web_session, "/alarms/rules/temperature_high", data={
        "csrf_token": csrf, "enabled": "on", "severity": "major", "threshold": "65,5"})
    call = sent(telemetry.set_alarm_rule)
    assert call.args == ("temperature_high", {"enabled": True, "severity": "major", "threshold": 65.5})
    assert flash(web_session, "/alarms") == ("ok", "Đã lưu quy tắc «Nhiệt độ cao».")
    telemetry.set_alarm_rule.reset_mock()
    submit(web_session, "/alarms/rules/silent_slot", data={"csrf_token": csrf, "severity": "major"})
    assert sent(telemetry.set_alarm_rule).args == ("silent_slot", {"enabled": False, "severity": "major"})


# --- provisioning -----------------------------------------------------------------------------------------

def test_provisioning_is_for_operators_and_commune_administrators(telemetry, web_session, people, sign_in, operator):
    sign_in(people["viewer"])
    assert web_session.get("/devices/provisioning").status_code == 403
    sign_in(operator)
    page = html(web_session.get("/devices/provisioning"))
    assert '<option value="thon-1" >Thôn 1</option>' in page
    assert 'action="/devices/provisioning/import" enctype="multipart/form-data"' in page
    rows = re.findall(r'<tr>\s*<td class="text"><a href="/devices/([\w-]+)">.*?</tr>', page, re.S)
    assert rows == ["loa-thon-1", "loa-thon-1b", "bang-tin-ubnd", "loa-du-phong"]
    assert "Chưa cấp" in text_of(page) and page.count('/revoke"') == 3


def test_registering_a_device_opens_its_page(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.register_device.return_value = samples.device("loa-thon-2", name="Cụm loa Thôn 2")
    response = submit(web_session, "/devices/provisioning/register", data={
        "csrf_token": csrf, "device_id": "loa-thon-2", "name": "Cụm loa Thôn 2", "kind": "loudspeaker",
        "village": "thon-1", "lat": "20.26", "lon": "105.99", "transport": "grpc", "model": "", "installed_on": ""})
    assert response.headers["Location"] == "/devices/loa-thon-2"
    assert sent(telemetry.register_device).args == ({
        "device_id": "loa-thon-2", "name": "Cụm loa Thôn 2", "kind": "loudspeaker", "village": "thon-1",
        "lat": 20.26, "lon": 105.99, "transport": "grpc", "commune_id": "xuan-hung"},)
    assert flash(web_session, "/devices/loa-thon-2")[1].startswith("Đã đăng ký thiết bị «Cụm loa Thôn 2».")


@pytest.mark.parametrize("changes, refusal, status, message", [
    ({"village": "thon-9"}, None, 400, "thôn «thon-9» không có trong danh sách thôn của xã"),
    ({"lat": "hai mươi"}, None, 400, "Vĩ độ (lat) phải là số"),
    ({}, RemoteError("Conflict", "Thiết bị «loa-thon-2» đã có trong danh sách của xã."), 409,
     "Thiết bị «loa-thon-2» đã có trong danh sách của xã."),
])
def test_a_refused_registration_shows_the_form_again_with_what_was_written(telemetry, web_session, operator,
                                                                           sign_in, changes, refusal, status,
                                                                           message):
    csrf = sign_in(operator)
    telemetry.register_device.side_effect = refusal
    page = html(submit(web_session, "/devices/provisioning/register", data={
        "csrf_token": csrf, "device_id": "loa-thon-2", "name": "Cụm loa Thôn 2", "kind": "eboard", **changes}),
        status)
    assert message in page and 'value="Cụm loa Thôn 2"' in page
    assert '<option value="eboard" selected>' in page
    assert telemetry.register_device.called is (refusal is not None)


def test_a_device_list_is_previewed_row_by_row_then_imported(telemetry, web_session, operator, sign_in):
    csrf = sign_in(operator)
    telemetry.import_devices.return_value = samples.import_result()
    page = html(submit(web_session, "/devices/provisioning/import", data={"csrf_token": csrf},
                                 files={"file": ("thiết bị.csv", CSV.encode("utf-8"), "text/csv")}))
    call = sent(telemetry.import_devices)
    assert call.args == (CSV,) and call.kwargs == {"confirm": False, "commune_id": "xuan-hung"}
    assert "2 dòng: 2 hợp lệ, 0 cần sửa." in text_of(page)
    assert re.findall(r'<tr class="row-valid">\s*<td class="num">(\d+)</td>', page) == ["2", "3"]
    telemetry.import_devices.reset_mock()
    telemetry.import_devices.return_value = samples.import_result(created=2)
    response = submit(web_session, "/devices/provisioning/import/confirm",
                      data={"csrf_token": csrf, "csv_b64": hidden(page, "csv_b64")})
    assert response.headers["Location"] == "/devices"
    call = sent(telemetry.import_devices)
    assert call.args == (CSV,) and call.kwargs == {"confirm": True, "commune_id": "xuan-hung"}
    assert flash(web_session, "/devices") == ("ok", "Đã nhập 2 thiết bị.")


def test_an_unknown_village_is_a_problem_of_its_row_and_nothing_is_imported(telemetry, web_session, operator,
                                                                            sign_in):
    csrf = sign_in(operator)
    text = "device_id;kind;village\nloa-a;loudspeaker;thon-1\nloa-b;loudspeaker;Thôn 2\n"
    telemetry.import_devices.return_value = samples.import_result([
        {"line": 2, "device_id": "loa-a", "problems": []}, {"line": 3, "device_id": "loa-b", "problems": []}])
    page = html(submit(web_session, "/devices/provisioning/import", data={"csrf_token": csrf, "csv": text},
                                 files=NO_FILE))
    assert "2 dòng: 1 hợp lệ, 1 cần sửa." in text_of(page)
    assert re.search(r'<tr class="row-invalid">\s*<td class="num">3</td>.*?thôn «Thôn 2» không có', page, re.S)
    assert "csv_b64" not in page  # nothing to confirm
    # a confirm made anyway is only previewed again
    telemetry.import_devices.reset_mock()
    page = html(submit(web_session, "/devices/provisioning/import/confirm", data={
        "csrf_token": csrf, "csv_b64": base64.b64encode(text.encode()).decode()}))
    assert sent(telemetry.import_devices).kwargs["confirm"] is False
    assert "1 cần sửa" in text_of(page)


@pytest.mark.parametrize("data, files, message", [
    ({}, NO_FILE, "Hãy chọn tệp CSV danh sách thiết bị hoặc dán nội dung của nó."),
    ({"csv": "device_id,kind\n"}, {"file": ("a.csv", b"device_id,kind\n", "text/csv")}, "Chọn một cách"),
    ({}, {"file": ("a.csv", "device_id,kind\nloa,loudspeaker\n".encode("utf-16"), "text/csv")},
     "không phải văn bản UTF-8"),
])
def test_a_list_that_cannot_be_read_is_refused_on_the_form(telemetry, web_session, operator, sign_in, data, files,
                                                           message):
    csrf = sign_in(operator)
    page = html(submit(web_session, "/devices/provisioning/import", data=dict(data, csrf_token=csrf), files=files),
                400)
    assert message in page and not telemetry.import_devices.called


def test_a_district_administrator_works_on_the_commune_they_pick(telemetry, web_session, people, sign_in):
    sign_in(people["district"])
    assert web_session.get("/devices", allow_redirects=False).headers["Location"] == "/"
    page = html(web_session.get("/devices", params={"commune_id": "xuan-hung"}))
    assert sent(telemetry.list_devices).args == ({"commune_id": "xuan-hung"},)
    assert '<a href="/devices/loa-thon-1?commune_id=xuan-hung">' in page
    assert '<input type="hidden" name="commune_id" value="xuan-hung">' in page
