"""Service tests of the console's broadcasting pages: the inbox and recent
broadcasts with their steps, play now with the emergency's confirmation, a
broadcast's live delivery, CAP alerts, programmes and their editor, the
week's calendar, zones, and proof of play; the broadcast and telemetry
services replaced by stand-ins."""
import html as html_lib
import re

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from shared.errors import Conflict
from shared.timeutil import local_today

from services.gateway import domain
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import broadcast_samples as samples
from services.gateway.tests import device_samples
from services.gateway.tests.test_console import hidden, html
from services.gateway.tests.test_content_console import nav
from services.gateway.tests.test_tracking_console import flash, text_of

SCOPED = {"commune_id": "xuan-hung"}


def listed(request, commune_id):
    """``list_broadcasts`` as the service answers each of the inbox page's questions."""
    if request.get("state") == "inbox":
        return samples.inbox_list()
    if request.get("state") == "needs_order":
        return samples.clashing_list()
    return samples.recent_list()


@pytest.fixture
def services(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    broadcast, telemetry = replace_dependencies(container, "broadcast", "telemetry")
    container.start()
    broadcast.list_broadcasts.side_effect = listed
    broadcast.get_broadcast.return_value = samples.detail()
    broadcast.list_zones.return_value = samples.zones()
    broadcast.list_programmes.return_value = [samples.programme()]
    broadcast.get_programme.return_value = samples.programme_detail()
    broadcast.calendar.return_value = samples.calendar()
    broadcast.play_log.return_value = samples.plays()
    broadcast.broadcast_hours.return_value = samples.hours(local_today().isoformat())
    telemetry.list_devices.return_value = device_samples.devices()
    return broadcast, telemetry


@pytest.fixture
def broadcast(services):
    return services[0]


def person(mongo_database, password_hash, username, name, roles):
    return UserRepository(mongo_database).add(domain.new_user(
        {"username": username, "display_name": name, "commune_id": "xuan-hung", "roles": roles}, password_hash))


@pytest.fixture
def operator(people, mongo_database, password_hash):
    return person(mongo_database, password_hash, "operator.xuanhung", "Anh Tuấn", ["operator"])


@pytest.fixture
def approver(people, mongo_database, password_hash):
    return person(mongo_database, password_hash, "approver.xuanhung", "Chị Lan", ["approver"])


def submit(web_session, path, **kwargs):
    """A form sent as the browser sends it, stopping at the redirect (the next page shows the flash)."""
    return web_session.post(path, allow_redirects=False, **kwargs)


def sent(mock_method):
    mock_method.assert_called_once()
    return mock_method.call_args.args, mock_method.call_args.kwargs


def hidden_fields(page):
    """The hidden inputs of a page's form, repeated names as lists (what the browser sends back)."""
    fields = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page):
        fields.setdefault(name, []).append(html_lib.unescape(value))
    return fields


def subnav(page):
    return re.findall(r'<li><a href="([^"]+)"', page.split('class="subnav"', 1)[1].split("</nav>", 1)[0])


def row_cells(page, heading):
    """The cells of the calendar row of ``heading``, as text."""
    row = re.search(rf'<th scope="row">{heading}</th>(.*?)</tr>', page, re.S).group(1)
    return [text_of(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


# --- navigation and the inbox ---------------------------------------------------------------------

def test_broadcasting_is_in_everyones_navigation_with_its_own_pages(services, web_session, people, sign_in,
                                                                    operator):
    sign_in(people["viewer"])
    page = html(web_session.get("/broadcasts"))
    assert nav(page)[-6:-3] == ["/broadcasts", "/devices", "/alarms"]
    assert '<a href="/broadcasts" aria-current="page">Phát thanh</a>' in page
    assert subnav(page) == ["/broadcasts", "/programmes", "/calendar", "/zones", "/plays"]
    assert "/broadcasts/new" not in page  # a viewer plays nothing
    sign_in(operator)
    page = html(web_session.get("/programmes"))
    assert subnav(page) == ["/broadcasts", "/broadcasts/new", "/programmes", "/calendar", "/zones", "/plays",
                            "/broadcasts/cap"]
    assert '<a href="/programmes" aria-current="page">Chương trình</a>' in page
    assert '<a href="/broadcasts" aria-current="page">Phát thanh</a>' in page


def test_the_inbox_by_level_then_what_clashes_then_recent_broadcasts(services, broadcast, web_session, people,
                                                                     sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/broadcasts"))
    asked = [(call.args, call.kwargs) for call in broadcast.list_broadcasts.call_args_list]
    assert asked == [(({"state": "inbox"},), SCOPED), (({"state": "needs_order"},), SCOPED),
                     (({"limit": 30},), SCOPED)]
    text = text_of(page)
    assert "0 khẩn cấp 2 ưu tiên 1 thông thường" in text
    assert '<a class="count level-count-emergency none" href="#inbox-emergency">' in page
    # the levels in the order of Circular 39: emergency first; each bulletin with where it came from
    assert text.index("Khẩn cấp 0 bản tin đang chờ Không có bản tin nào đang chờ.") < text.index(
        "Ưu tiên 2 bản tin đang chờ Lịch tiêm chủng mở rộng Chờ xử lý Tỉnh gửi lúc 25/11/2026 08:00") < text.index(
        "Thông báo của Bộ Y tế Chờ xử lý Trung ương gửi lúc 25/11/2026 10:00") < text.index(
        "Thông thường 1 bản tin đang chờ Hướng dẫn khai báo thuế")
    assert "Cần sắp xếp thứ tự Bản tin ưu tiên trùng giờ" in text and "Tin phòng chống dịch" in text
    # recent broadcasts newest first, without those still waiting; an emergency stands out
    recent = page.split('id="recent-title"', 1)[1]
    assert re.findall(r'<a href="/broadcasts/(\w+)">', recent) == ["b1", "b6"]
    assert '<tr class="level-row-emergency">' in recent
    assert "Bão số 9 đổ bộ Xã Khẩn cấp Đang phát 3 26/11/2026 08:00" in text_of(recent)
    assert "/schedule" not in page and "/order" not in page and "/cancel" not in page


def test_operators_get_each_bulletins_steps(services, web_session, operator, sign_in):
    sign_in(operator)
    page = html(web_session.get("/broadcasts"))
    assert page.count('action="/broadcasts/b2/schedule"') == 2  # now, or at a time
    assert 'name="at" type="datetime-local" required' in page
    assert 'action="/broadcasts/b5/order"' in page and '<button type="submit" name="placement" value="after">' in page
    assert 'action="/broadcasts/b4/cancel"' in page and 'action="/broadcasts/b5/cancel"' in page
    assert 'action="/broadcasts/b5/schedule"' not in page and 'action="/broadcasts/b2/order"' not in page
    assert hidden(page, "next") == "/broadcasts"
    assert '<a class="button" href="/broadcasts/new">Phát bản tin</a>' in page


@pytest.mark.parametrize("step, form, rpc, answer, call, message", [
    ("schedule", {}, "schedule_broadcast", samples.bulletin("b2", "priority", "sending", title="Lịch tiêm chủng"),
     (("b2",), {"at": None, "target": None, **SCOPED}), "Đã phát bản tin «Lịch tiêm chủng»."),
    ("schedule", {"at": "2026-12-01T06:30"}, "schedule_broadcast",
     samples.bulletin("b2", "priority", "scheduled", title="Lịch tiêm chủng", scheduled_at="2026-11-30T23:30:00.000Z"),
     (("b2",), {"at": "2026-12-01T06:30", "target": None, **SCOPED}),
     "Đã hẹn phát bản tin «Lịch tiêm chủng» lúc 01/12/2026 06:30."),
    ("order", {"placement": "after"}, "order_bulletin",
     samples.bulletin("b2", "priority", "scheduled", title="Tin dịch", order="after"), (("b2", "after"), SCOPED),
     "Bản tin «Tin dịch» sẽ phát sau chương trình của xã."),
    ("cancel", {"reason": "Đã phát trên loa tay"}, "cancel_broadcast",
     samples.bulletin("b2", "normal", "cancelled", title="Tin thuế"),
     (("b2",), {"reason": "Đã phát trên loa tay", **SCOPED}),
     "Đã hủy bản tin «Tin thuế»; các thiết bị đang phát đã dừng."),
])
def test_a_bulletins_step_goes_to_the_service_and_back(broadcast, web_session, operator, sign_in, step, form, rpc,
                                                       answer, call, message):
    csrf = sign_in(operator)
    getattr(broadcast, rpc).return_value = answer
    response = submit(web_session, f"/broadcasts/b2/{step}", data=dict(form, csrf_token=csrf, next="/broadcasts"))
    assert response.status_code == 303 and response.headers["Location"] == "/broadcasts"
    assert sent(getattr(broadcast, rpc)) == call
    assert flash(web_session, "/broadcasts") == ("ok", message)


def test_a_refused_step_says_why(broadcast, web_session, operator, sign_in, people):
    csrf = sign_in(operator)
    broadcast.order_bulletin.side_effect = RemoteError("Conflict", "Bản tin đã được sắp xếp thứ tự.")
    response = submit(web_session, "/broadcasts/b5/order", data={"csrf_token": csrf, "placement": "before"})
    assert response.headers["Location"] == "/broadcasts/b5"  # its own page, when the form names no other
    assert flash(web_session, "/broadcasts/b5") == ("error", "Bản tin đã được sắp xếp thứ tự.")
    submit(web_session, "/broadcasts/b2/schedule", data={"csrf_token": csrf, "at": "sáng mai"})
    assert flash(web_session, "/broadcasts")[0] == "error" and not broadcast.schedule_broadcast.called
    response = submit(web_session, "/broadcasts/b2/cancel", data={"csrf_token": csrf, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/broadcasts/b2"
    csrf = sign_in(people["viewer"])
    broadcast.cancel_broadcast.reset_mock()
    assert submit(web_session, "/broadcasts/b2/cancel", data={"csrf_token": csrf}).status_code == 403
    assert not broadcast.cancel_broadcast.called


# --- play now, and the emergency's confirmation ------------------------------------------------------

def test_a_viewer_gets_no_form_and_cannot_post_one(broadcast, web_session, people, sign_in):
    csrf = sign_in(people["viewer"])
    assert web_session.get("/broadcasts/new").status_code == 403
    response = submit(web_session, "/broadcasts/new", data={"csrf_token": csrf, "title": "Thử", "commune": "on"})
    assert response.status_code == 403 and not broadcast.create_broadcast.called


@pytest.mark.parametrize("who, levels", [
    ("operator", ["normal", "priority"]),
    ("approver", ["emergency"]),
    ("admin", ["normal", "priority", "emergency"]),
])
def test_the_form_offers_the_levels_each_may_play(services, web_session, people, sign_in, operator, approver, who,
                                                  levels):
    sign_in({"operator": operator, "approver": approver}.get(who) or people[who])
    page = html(web_session.get("/broadcasts/new"))
    assert re.findall(r'<input type="radio" name="level" value="(\w+)"', page) == levels
    assert f'<input type="radio" name="level" value="{levels[0]}" checked>' in page
    assert '<input type="checkbox" name="commune" value="on" checked> Cả xã' in page
    assert re.findall(r'name="zones" value="([\w-]+)"', page) == ["thon-1", "loa-cho"]
    assert "Loa chợ và trường học (nhóm, 2 thiết bị)" in text_of(page)
    assert len(re.findall(r'name="devices" value="', page)) == 4
    assert '<button type="submit" class="primary">Phát</button>' in page


def test_playing_now_sends_the_form_as_the_services_request(broadcast, web_session, operator, sign_in):
    csrf = sign_in(operator)
    broadcast.create_broadcast.return_value = samples.broadcast("b9", level="priority", title="Cắt điện chiều nay")
    response = submit(web_session, "/broadcasts/new", data={
        "csrf_token": csrf, "title": "Cắt điện chiều nay", "text": "Từ 14:00 đến 17:00.\r\nBà con chú ý.",
        "kind": "audio", "level": "priority", "zones": ["thon-1"], "devices": ["loa-du-phong"],
        "duration_seconds": "45", "repeat": "2", "expires_in_minutes": "30", "media_url": "", "content_id": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/broadcasts/b9"
    assert sent(broadcast.create_broadcast) == (({
        "title": "Cắt điện chiều nay", "text": "Từ 14:00 đến 17:00.\nBà con chú ý.", "kind": "audio",
        "level": "priority", "duration_seconds": 45, "repeat": 2, "expires_in_minutes": 30,
        "target": {"zones": ["thon-1"], "devices": ["loa-du-phong"]}},), SCOPED)
    assert flash(web_session, "/broadcasts/b9") == ("ok", "Đã phát bản tin «Cắt điện chiều nay» tới 3 thiết bị.")


@pytest.mark.parametrize("form, refusal, status, message", [
    ({"title": "Tin mới"}, None, 400, "Hãy chọn phạm vi phát: cả xã, vùng phát hoặc thiết bị."),
    ({"commune": "on"}, None, 400, "Hãy nhập tiêu đề bản tin (title)."),
    ({"title": "Tin mới", "commune": "on", "repeat": "hai"}, None, 400, "Số lần phát (repeat) phải là số nguyên."),
    ({"title": "Tin mới", "kind": "text", "devices": ["loa-thon-1"]},
     RemoteError("InvalidInput", "target.devices: thiết bị «loa-thon-1» không phải bảng tin điện tử."), 400,
     "không phải bảng tin điện tử"),
])
def test_a_refused_broadcast_shows_the_form_again_with_what_was_written(broadcast, web_session, operator, sign_in,
                                                                        form, refusal, status, message):
    csrf = sign_in(operator)
    broadcast.create_broadcast.side_effect = refusal
    page = html(submit(web_session, "/broadcasts/new", data=dict(form, csrf_token=csrf, level="normal")), status)
    assert message in page
    assert f'value="{form.get("title", "")}"' in page
    assert ('name="commune" value="on" checked' in page) is ("commune" in form)
    assert broadcast.create_broadcast.called is (refusal is not None)


def test_an_emergency_asks_for_confirmation_naming_the_devices_it_interrupts(broadcast, web_session, people,
                                                                            sign_in):
    csrf = sign_in(people["admin"])
    broadcast.create_broadcast.side_effect = Conflict(
        "Phát khẩn cấp sẽ ngắt nội dung trên 2 thiết bị; cần xác nhận.",
        {"confirmation_required": True, "device_count": 2, "devices": ["loa-thon-1", "loa-thon-1b"]})
    form = {"csrf_token": csrf, "title": "Lũ quét", "text": "Sơ tán ngay\r\nkhỏi bờ suối.", "kind": "audio",
            "level": "emergency", "commune": "on", "zones": "loa-cho", "duration_seconds": "120", "repeat": "3",
            "expires_in_minutes": "", "media_url": "", "content_id": ""}
    page = html(submit(web_session, "/broadcasts/new", data=form))
    first = sent(broadcast.create_broadcast)[0][0]
    assert "confirm" not in first and first["level"] == "emergency"
    text = text_of(page)
    assert "Xác nhận phát khẩn cấp" in text
    assert ("Bản tin khẩn cấp sẽ ngắt mọi nội dung đang phát trên 2 thiết bị dưới đây và phát ngay." in text)
    assert "Cụm loa nhà văn hóa Thôn 1 loa-thon-1 · Thôn 1" in text and "Cụm loa chợ Thôn 1 loa-thon-1b" in text
    assert '<button type="submit" name="confirm" value="true" class="primary danger">' in page
    carried = hidden_fields(page)
    assert carried["title"] == ["Lũ quét"] and carried["level"] == ["emergency"] and carried["zones"] == ["loa-cho"]
    assert carried["commune"] == ["on"] and carried["text"] == ["Sơ tán ngay\nkhỏi bờ suối."]
    # confirmed: the same request again, with confirm
    broadcast.create_broadcast.reset_mock(side_effect=True)
    broadcast.create_broadcast.return_value = samples.broadcast("b10", title="Lũ quét", device_count=2)
    response = submit(web_session, "/broadcasts/new", data=dict(carried, confirm="true"))
    assert response.headers["Location"] == "/broadcasts/b10"
    second = sent(broadcast.create_broadcast)[0][0]
    assert second == dict(first, confirm=True)
    assert second["target"] == {"commune": True, "zones": ["loa-cho"]}
    assert second["text"] == "Sơ tán ngay\nkhỏi bờ suối."


def test_a_confirmation_without_the_services_details_still_asks(broadcast, web_session, people, sign_in):
    csrf = sign_in(people["admin"])
    broadcast.create_broadcast.side_effect = RemoteError("Conflict", "Cần xác nhận: sẽ ngắt nội dung trên 5 thiết bị.")
    page = html(submit(web_session, "/broadcasts/new", data={
        "csrf_token": csrf, "title": "Lũ", "level": "emergency", "commune": "on"}))
    text = text_of(page)
    assert "ngắt mọi nội dung đang phát trên các thiết bị của phạm vi đã chọn" in text
    assert "Cần xác nhận: sẽ ngắt nội dung trên 5 thiết bị." in text
    # going back to the form keeps what was written
    page = html(submit(web_session, "/broadcasts/new", data=dict(hidden_fields(page), back="1")))
    assert 'value="Lũ"' in page and '<input type="radio" name="level" value="emergency" checked>' in page
    assert broadcast.create_broadcast.call_count == 1


# --- a broadcast's live delivery ------------------------------------------------------------------------

def test_the_live_view_reloads_itself_while_sending(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/broadcasts/b1"))
    assert sent(broadcast.get_broadcast) == (("b1",), SCOPED)
    assert '<meta http-equiv="refresh" content="2">' in page
    text = text_of(page)
    assert "Khẩn cấp Đang phát Tự cập nhật mỗi 2 giây" in text
    assert "66,7% thiết bị đã xác nhận nhận bản tin (2/3)" in text
    assert "0 chờ gửi 0 đã gửi 1 thiết bị đã nhận 1 đang phát 0 đã phát 1 thất bại" in text
    assert 'aria-valuenow="67"' in page
    # device by device, on Vietnam's clock to the second
    assert "loa-thon-1 Thôn 1 Đang phát 1 08:00:01 08:00:02 08:00:03 —" in text
    assert "loa-thon-1b Thôn 1 Thiết bị đã nhận 1 08:00:01 08:00:04 — —" in text
    assert "loa-du-phong thiết bị ngoại tuyến — Thất bại 4 08:00:01 — — —" in text
    assert "Phạm vi phát Cả xã" in text and "Thời lượng 90 giây × 2" in text
    assert "Bắt đầu phát lúc 26/11/2026 08:00" in text and "Hết hạn lúc 26/11/2026 09:00" in text
    assert "/cancel" not in page  # a viewer stops nothing
    broadcast.get_broadcast.return_value = samples.detail(state="done", finished_at="2026-11-26T01:03:00.000Z")
    page = html(web_session.get("/broadcasts/b1"))
    assert 'http-equiv="refresh"' not in page and "Đã phát xong" in page and "Tự cập nhật" not in page


def test_an_escalated_broadcast_says_so_and_operators_may_stop_it(broadcast, web_session, operator, sign_in):
    broadcast.get_broadcast.return_value = samples.detail(escalated_at="2026-11-26T01:00:31.000Z")
    sign_in(operator)
    page = html(web_session.get("/broadcasts/b1"))
    assert re.search(r'<p class="warning escalated" role="alert">Báo động lúc 26/11/2026 08:00: quá ít thiết bị',
                     page)
    assert 'action="/broadcasts/b1/cancel"' in page and hidden(page, "next") == "/broadcasts/b1"


def test_the_live_view_in_english(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    web_session.get("/lang/en")
    text = text_of(html(web_session.get("/broadcasts/b1")))
    assert "Delivery to the devices" in text and "66.7% of the devices confirmed receiving it (2/3)" in text
    assert "Emergency On air Updates itself every 2 seconds" in text and "Failed" in text


def speech(state, **changes):
    return {"state": state, "reference": "broadcast-b1", "text": "Bão số 9 đổ bộ.", "media_id": None,
            "duration_seconds": None, "error": "", **changes}


def test_the_speech_of_a_text_broadcast_is_shown_while_made_then_played_or_why_it_failed(
        broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    address = "/p/xuan-hung/speech/broadcast-b1"
    broadcast.get_broadcast.return_value = samples.detail(media_url=address, speech=speech("requested"))
    text = text_of(html(web_session.get("/broadcasts/b1")))
    assert "Giọng đọc Đang tạo Đang tạo giọng đọc từ nội dung bản tin" in text
    broadcast.get_broadcast.return_value = samples.detail(
        media_url=address, speech=speech("ready", media_id="m-s", duration_seconds=7.4))
    page = html(web_session.get("/broadcasts/b1"))
    assert f'<audio controls preload="none" src="{address}"></audio>' in page
    assert "Giọng đọc Sẵn sàng 7 giây" in text_of(page)
    broadcast.get_broadcast.return_value = samples.detail(
        media_url=address, speech=speech("failed", error="Văn bản chỉ có ký hiệu, không có chữ nào để đọc."))
    page = html(web_session.get("/broadcasts/b1"))
    assert "<audio" not in page
    assert "Giọng đọc Không tạo được Văn bản chỉ có ký hiệu, không có chữ nào để đọc." in text_of(page)
    web_session.get("/lang/en")
    assert "Speech Could not be made" in text_of(html(web_session.get("/broadcasts/b1")))
    web_session.get("/lang/vi")
    broadcast.get_broadcast.return_value = samples.detail()  # a content item's audio: no speech card
    assert "Giọng đọc" not in text_of(html(web_session.get("/broadcasts/b1")))


def test_an_unknown_broadcast_is_a_404_page(broadcast, web_session, people, sign_in):
    broadcast.get_broadcast.side_effect = RemoteError("NotFound", "Không tìm thấy bản tin.")
    sign_in(people["viewer"])
    assert "Không tìm thấy bản tin." in html(web_session.get("/broadcasts/khong-co"), 404)


# --- CAP alerts --------------------------------------------------------------------------------------------

CAP_RESULT = {"action": "created", "broadcast": samples.broadcast(origin="cap", title="Bão số 9 đổ bộ"),
              "unmatched_areas": ["Thôn 9"]}


@pytest.mark.parametrize("form, files", [
    ({"xml": samples.CAP_ALERT}, None),
    ({"xml": ""}, {"file": ("canh-bao.xml", samples.CAP_ALERT.encode("utf-8"), "application/xml")}),
])
def test_a_cap_alert_is_pasted_or_uploaded_and_its_result_shown(broadcast, web_session, operator, sign_in, form,
                                                                files):
    csrf = sign_in(operator)
    broadcast.ingest_cap.return_value = CAP_RESULT
    page = html(submit(web_session, "/broadcasts/cap", data=dict(form, csrf_token=csrf), files=files))
    assert sent(broadcast.ingest_cap) == ((samples.CAP_ALERT.strip() if not files else samples.CAP_ALERT,), SCOPED)
    text = text_of(page)
    assert "Đã tạo bản tin mới Bão số 9 đổ bộ Khẩn cấp Đang phát 3 thiết bị" in text
    assert '<a href="/broadcasts/b1"><strong>Bão số 9 đổ bộ</strong></a>' in page
    assert "Các địa bàn sau không khớp với thôn nào của xã: Thôn 9" in text


def test_a_refused_cap_alert_shows_why_and_keeps_the_text(broadcast, web_session, operator, sign_in):
    csrf = sign_in(operator)
    broadcast.ingest_cap.side_effect = RemoteError("InvalidInput", "CAP không hợp lệ — alert/status: thiếu phần tử")
    page = html(submit(web_session, "/broadcasts/cap", data={"csrf_token": csrf, "xml": "<alert/>"}), 400)
    assert "CAP không hợp lệ — alert/status: thiếu phần tử" in page and "&lt;alert/&gt;</textarea>" in page


@pytest.mark.parametrize("form, files, status, message", [
    ({"xml": "<a>" + "x" * (256 * 1024) + "</a>"}, None, 413, "Cảnh báo CAP lớn hơn 256 KB."),
    ({}, {"file": ("lon.xml", b"<a>" + b"x" * (256 * 1024) + b"</a>", "text/xml")}, 413,
     "Tệp «lon.xml» lớn hơn 256 KB."),
    ({}, None, 400, "Hãy chọn tệp cảnh báo CAP (.xml) hoặc dán nội dung của nó."),
    ({"xml": "<alert/>"}, {"file": ("a.xml", b"<alert/>", "text/xml")}, 400, "Chọn một cách"),
])
def test_a_cap_alert_the_gateway_can_tell_is_wrong_is_not_sent(broadcast, web_session, operator, sign_in, form,
                                                               files, status, message):
    csrf = sign_in(operator)
    page = html(submit(web_session, "/broadcasts/cap", data=dict(form, csrf_token=csrf), files=files), status)
    assert message in page and not broadcast.ingest_cap.called


def test_cap_alerts_are_for_those_who_bring_bulletins_in(broadcast, web_session, people, sign_in, approver):
    csrf = sign_in(people["viewer"])
    assert web_session.get("/broadcasts/cap").status_code == 403
    assert submit(web_session, "/broadcasts/cap", data={"csrf_token": csrf, "xml": "<a/>"}).status_code == 403
    sign_in(approver)
    assert web_session.get("/broadcasts/cap").status_code == 403
    assert not broadcast.ingest_cap.called


# --- programmes ---------------------------------------------------------------------------------------

def test_programmes_are_listed_with_their_schedule_and_next_occurrence(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/programmes"))
    assert sent(broadcast.list_programmes) == ((), SCOPED)
    text = text_of(page)
    assert ("Bản tin sáng 1 nội dung · sửa lúc 20/11/2026 09:00 Thứ Hai, Thứ Tư, Thứ Sáu lúc 06:00, 17:00, từ "
            "01/11/2026 27/11/2026 17:00 vùng Thôn 1 (2 thiết bị) Thường") in text
    assert '<a href="/programmes/sang">Bản tin sáng</a>' in page and "/programmes/new" not in page
    broadcast.list_programmes.return_value = []
    assert "Xã chưa có chương trình phát nào." in html(web_session.get("/programmes"))


def test_a_programme_opens_in_its_editor_read_only_for_viewers(broadcast, web_session, people, sign_in, operator):
    sign_in(people["viewer"])
    page = html(web_session.get("/programmes/sang"))
    assert sent(broadcast.get_programme) == (("sang",), SCOPED)
    assert '<fieldset class="plain" disabled>' in page and "Lưu chương trình" not in page and "/delete" not in page
    assert 'name="times" value="06:00, 17:00"' in page
    assert re.findall(r'name="weekdays" value="(\w\w)" checked', page) == ["MO", "WE", "FR"]
    assert 'name="item_content_id" value="i1"' in page and page.count('name="item_content_id"') == 5
    assert "27/11/2026 17:00–17:10" in text_of(page) and "28/11/2026 06:00–06:10" in text_of(page)
    assert 'name="zones" value="thon-1" checked' in page
    sign_in(operator)
    page = html(web_session.get("/programmes/sang"))
    assert '<fieldset class="plain" >' in page and 'action="/programmes/sang"' in page
    assert 'action="/programmes/sang/delete"' in page


ROWS = {"item_content_id": ["i2", "", "i3", "", ""], "item_title": ["Tin chiều", "", "Nhạc", "", ""],
        "item_kind": ["audio"] * 5, "item_duration_seconds": ["300", "", "120", "", ""],
        "item_media_url": ["https://x/i2.mp3", "", "https://x/i3.mp3", "", ""]}
ITEMS = [{"content_id": "i2", "title": "Tin chiều", "kind": "audio", "duration_seconds": 300,
          "media_url": "https://x/i2.mp3"},
         {"content_id": "i3", "title": "Nhạc", "kind": "audio", "duration_seconds": 120,
          "media_url": "https://x/i3.mp3"}]


@pytest.mark.parametrize("schedule, when", [
    ({"schedule_mode": "builder", "times": "17:00, 11:00", "weekdays": ["MO", "TU", "WE", "TH", "FR"],
      "start_date": "2026-12-01", "until": ""},
     {"rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=11,17;BYMINUTE=0", "start_date": "2026-12-01"}),
    ({"schedule_mode": "builder", "times": "06:30", "weekdays": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"],
      "start_date": "2026-12-01", "until": "2026-12-31"},
     {"rrule": "FREQ=DAILY;BYHOUR=6;BYMINUTE=30", "start_date": "2026-12-01", "until": "2026-12-31"}),
    ({"schedule_mode": "rrule", "rrule": " FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0 ", "times": "06:00",
      "start_date": "2026-12-01"},
     {"rrule": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0", "start_date": "2026-12-01"}),
    ({"schedule_mode": "once", "at": "2026-12-24T19:00", "times": "06:00", "start_date": "2026-12-01"},
     {"at": "2026-12-24T19:00"}),
])
def test_a_new_programme_is_saved_from_the_editor(broadcast, web_session, operator, sign_in, schedule, when):
    csrf = sign_in(operator)
    broadcast.save_programme.return_value = {
        "programme": samples.programme("ban-tin-chieu-1a2b3c", name="Bản tin chiều"),
        "notice": "«Bản tin chiều» trùng giờ (giờ Việt Nam) với «Bản tin sáng» lúc 17:00 ngày 01/12/2026."}
    response = submit(web_session, "/programmes/new", data={
        "csrf_token": csrf, "name": "Bản tin chiều", "priority": "high", "repeat": "2", "gap_seconds": "30",
        "valid_from": "", "valid_until": "", "commune": "on", **ROWS, **schedule})
    assert response.status_code == 303 and response.headers["Location"] == "/programmes/ban-tin-chieu-1a2b3c"
    (programme,), kwargs = sent(broadcast.save_programme)
    assert kwargs == SCOPED and re.fullmatch(r"ban-tin-chieu-[0-9a-f]{6}", programme.pop("id"))
    assert programme == {"name": "Bản tin chiều", "priority": "high", "repeat": 2, "gap_seconds": 30,
                         "items": ITEMS, "target": {"commune": True}, "when": when}
    assert flash(web_session, "/programmes/ban-tin-chieu-1a2b3c") == (
        "ok", "Đã lưu chương trình «Bản tin chiều». «Bản tin chiều» trùng giờ (giờ Việt Nam) với «Bản tin sáng» "
              "lúc 17:00 ngày 01/12/2026.")


def test_a_stored_programme_is_saved_under_its_id(broadcast, web_session, operator, sign_in):
    csrf = sign_in(operator)
    broadcast.save_programme.return_value = {"programme": samples.programme(), "notice": ""}
    response = submit(web_session, "/programmes/sang", data={
        "csrf_token": csrf, "name": "Bản tin sáng", "priority": "normal", "zones": "thon-1", **ROWS,
        "schedule_mode": "builder", "times": "06:00, 17:00", "weekdays": ["MO", "WE", "FR"],
        "start_date": "2026-11-01", "valid_until": "2027-06-30"})
    assert response.headers["Location"] == "/programmes/sang"
    (programme,), _ = sent(broadcast.save_programme)
    assert programme["id"] == "sang" and programme["target"] == {"zones": ["thon-1"]}
    assert programme["valid_until"] == "2027-06-30"
    assert programme["when"]["rrule"] == "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=6,17;BYMINUTE=0"
    assert flash(web_session, "/programmes/sang") == ("ok", "Đã lưu chương trình «Bản tin sáng».")


def test_a_row_naming_only_a_content_item_leaves_its_file_title_and_length_to_the_service(broadcast, web_session,
                                                                                          operator, sign_in):
    csrf = sign_in(operator)
    broadcast.save_programme.return_value = {"programme": samples.programme(), "notice": ""}
    submit(web_session, "/programmes/sang", data={
        "csrf_token": csrf, "name": "Bản tin sáng", "commune": "on", "item_content_id": ["", "i7", ""],
        "item_title": ["", "", ""], "item_kind": ["audio", "audio", "text"], "item_duration_seconds": ["", "", ""],
        "item_media_url": ["", "", ""], "schedule_mode": "once", "at": "2026-12-24T19:00"})
    (programme,), _ = sent(broadcast.save_programme)
    assert programme["items"] == [{"content_id": "i7", "kind": "audio"}]


CLASH = {"device_id": "loa-thon-1", "starts_at": "2026-12-01T10:00:00.000Z", "ends_at": "2026-12-01T10:05:00.000Z",
         "other_id": "sang", "other_name": "Bản tin sáng", "other_starts_at": "2026-12-01T10:00:00.000Z",
         "other_ends_at": "2026-12-01T10:10:00.000Z"}


@pytest.mark.parametrize("refusal, clashes", [
    (Conflict("Không thể xếp lịch «Bản tin chiều»: trùng giờ với chương trình cùng mức ưu tiên «thường».",
              {"clashes": [CLASH]}), True),
    (RemoteError("Conflict", "Không thể xếp lịch «Bản tin chiều»: trùng giờ với chương trình cùng mức ưu tiên "
                             "«thường»."), False),
])
def test_a_clash_of_the_same_priority_shows_the_editor_again_with_the_clashes(broadcast, web_session, operator,
                                                                              sign_in, refusal, clashes):
    csrf = sign_in(operator)
    broadcast.save_programme.side_effect = refusal
    page = html(submit(web_session, "/programmes/new", data={
        "csrf_token": csrf, "name": "Bản tin chiều", "priority": "normal", "commune": "on", **ROWS,
        "schedule_mode": "builder", "times": "17:00", "weekdays": ["MO"], "start_date": "2026-12-01"}), 409)
    assert "Không thể xếp lịch «Bản tin chiều»: trùng giờ với chương trình cùng mức ưu tiên «thường»." in page
    assert 'name="name" value="Bản tin chiều"' in page and 'name="times" value="17:00"' in page
    assert 'name="item_content_id" value="i3"' in page and 'name="weekdays" value="MO" checked' in page
    assert ("loa-thon-1 01/12/2026 17:00 Bản tin sáng 01/12/2026 17:00" in text_of(page)) is clashes
    assert ('<a href="/programmes/sang">Bản tin sáng</a>' in page) is clashes


@pytest.mark.parametrize("changes, message", [
    ({"times": "06:00, 17:30"}, "Các giờ phát phải cùng số phút"),
    ({"weekdays": []}, "Hãy chọn ít nhất một ngày trong tuần."),
    ({"item_duration_seconds": ["mười", "", "", "", ""]}, "Dòng 1 của danh sách phát: thời lượng phải là số giây"),
    ({"commune": ""}, "Hãy chọn phạm vi phát"),
    ({"name": ""}, "Hãy nhập tên chương trình (name)."),
])
def test_an_editor_the_gateway_can_tell_is_wrong_is_not_saved(broadcast, web_session, operator, sign_in, changes,
                                                              message):
    csrf = sign_in(operator)
    form = {"csrf_token": csrf, "name": "Bản tin chiều", "commune": "on", **ROWS, "schedule_mode": "builder",
            "times": "06:00", "weekdays": ["MO"], "start_date": "2026-12-01", **changes}
    page = html(submit(web_session, "/programmes/new", data=form), 400)
    assert message in page and not broadcast.save_programme.called


def test_deleting_a_programme(broadcast, web_session, operator, sign_in, people):
    csrf = sign_in(operator)
    broadcast.delete_programme.return_value = {"deleted": True}
    response = submit(web_session, "/programmes/sang/delete", data={"csrf_token": csrf, "name": "Bản tin sáng"})
    assert response.headers["Location"] == "/programmes"
    assert sent(broadcast.delete_programme) == (("sang",), SCOPED)
    assert flash(web_session, "/programmes") == ("ok", "Đã xóa chương trình «Bản tin sáng».")
    csrf = sign_in(people["viewer"])
    assert web_session.get("/programmes/new").status_code == 403
    assert submit(web_session, "/programmes/new", data={"csrf_token": csrf, "name": "x"}).status_code == 403
    assert submit(web_session, "/programmes/sang/delete", data={"csrf_token": csrf}).status_code == 403
    assert broadcast.delete_programme.call_count == 1 and not broadcast.save_programme.called


# --- the calendar ----------------------------------------------------------------------------------------

def test_the_calendar_shows_a_week_per_zone(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/calendar", params={"start": "2026-11-26"}))
    assert sent(broadcast.calendar) == (("2026-11-23", "2026-11-29"), {"zone_id": None, **SCOPED})
    text = text_of(page)
    assert "Tuần 23/11/2026 – 29/11/2026" in text
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)<span class="day">([^<]+)</span>', page)
    assert headings == [("Thứ Hai", "23/11/2026"), ("Thứ Ba", "24/11/2026"), ("Thứ Tư", "25/11/2026"),
                        ("Thứ Năm", "26/11/2026"), ("Thứ Sáu", "27/11/2026"), ("Thứ Bảy", "28/11/2026"),
                        ("Chủ Nhật", "29/11/2026")]
    assert row_cells(page, "Thôn 1") == ["06:00–06:10 Bản tin sáng", "", "17:30–17:45 Tin phòng dịch", "", "", "",
                                         ""]
    assert row_cells(page, "Loa chợ và trường học")[2] == "17:30–17:45 Tin phòng dịch"
    assert row_cells(page, "Thiết bị lẻ")[6] == "08:00–09:00 Lễ hội làng"
    assert '<a class="slot priority-high" href="/programmes/dich">' in page
    assert 'href="/calendar?start=2026-11-16" rel="prev"' in page
    assert 'href="/calendar?start=2026-11-30" rel="next"' in page


def test_the_calendar_of_one_zone_keeps_it_from_week_to_week(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/calendar", params={"start": "2026-11-30", "zone_id": "loa-cho"}))
    assert sent(broadcast.calendar) == (("2026-11-30", "2026-12-06"), {"zone_id": "loa-cho", **SCOPED})
    assert '<option value="loa-cho" selected>' in page
    assert re.findall(r'<th scope="row">([^<]+)</th>', page) == ["Loa chợ và trường học"]
    assert 'href="/calendar?start=2026-11-23&amp;zone_id=loa-cho" rel="prev"' in page


def test_the_calendar_in_english(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    web_session.get("/lang/en")
    text = text_of(html(web_session.get("/calendar", params={"start": "2026-11-23"})))
    assert "Week 23/11/2026 – 29/11/2026" in text and "Monday 23/11/2026" in text and "Single devices" in text


# --- zones -----------------------------------------------------------------------------------------------

def test_zones_are_villages_and_groups_of_devices(services, web_session, people, sign_in, operator):
    sign_in(people["viewer"])
    page = html(web_session.get("/zones"))
    text = text_of(page)
    assert "Thôn Mỗi thôn có thiết bị là một vùng phát" in text and "Thôn 1 thon-1 · 2 thiết bị" in text
    assert "Nhóm thiết bị" in text and "Loa chợ và trường học loa-cho · 2 thiết bị" in text
    members = re.findall(r'<a href="/devices/([\w-]+)">([^<]+)</a>', page)
    assert members == [("loa-thon-1", "Cụm loa nhà văn hóa Thôn 1"), ("loa-thon-1b", "Cụm loa chợ Thôn 1"),
                       ("loa-thon-1b", "Cụm loa chợ Thôn 1"), ("loa-du-phong", "loa-du-phong")]
    assert 'action="/zones"' not in page and "/delete" not in page
    sign_in(operator)
    page = html(web_session.get("/zones"))
    assert page.count('action="/zones"') == 2  # the new group, and the group's own editor
    assert 'action="/zones/loa-cho/delete"' in page and 'action="/zones/thon-1/delete"' not in page
    assert len(re.findall(r'name="device_ids" value="loa-du-phong" checked', page)) == 1


def test_a_group_is_saved_and_deleted(broadcast, web_session, operator, sign_in):
    csrf = sign_in(operator)
    broadcast.save_zone.return_value = samples.zones()[1]
    response = submit(web_session, "/zones", data={"csrf_token": csrf, "id": "loa-cho", "name": "Loa chợ và trường học",
                                                   "device_ids": ["loa-thon-1b", "loa-du-phong"]})
    assert response.headers["Location"] == "/zones"
    assert sent(broadcast.save_zone) == (({"id": "loa-cho", "name": "Loa chợ và trường học",
                                           "device_ids": ["loa-thon-1b", "loa-du-phong"]},), SCOPED)
    assert flash(web_session, "/zones") == ("ok", "Đã lưu nhóm «Loa chợ và trường học» (2 thiết bị).")
    broadcast.delete_zone.side_effect = RemoteError("Conflict", "Chương trình «Bản tin sáng» đang phát cho nhóm này.")
    submit(web_session, "/zones/loa-cho/delete", data={"csrf_token": csrf, "name": "Loa chợ và trường học"})
    assert sent(broadcast.delete_zone) == (("loa-cho",), SCOPED)
    assert flash(web_session, "/zones") == ("error", "Chương trình «Bản tin sáng» đang phát cho nhóm này.")
    submit(web_session, "/zones", data={"csrf_token": csrf, "id": "trong", "name": "Nhóm trống"})
    assert flash(web_session, "/zones") == ("error", "Dữ liệu không hợp lệ — device_ids: Hãy chọn ít nhất một thiết bị "
                                                     "cho nhóm.")
    assert broadcast.save_zone.call_count == 1


# --- proof of play ---------------------------------------------------------------------------------------

def test_the_play_log_of_today_with_its_hours(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    today = local_today().isoformat()
    page = html(web_session.get("/plays"))
    assert sent(broadcast.play_log) == (({"date": today, "limit": 200},), SCOPED)
    assert sent(broadcast.broadcast_hours) == ((today, today), SCOPED)
    text = text_of(page)
    assert "2,5 giờ trên toàn xã (14 lượt phát)" in text and "Thôn 1 1,8 giờ" in text
    assert ("26/11/2026 06:00–06:10 Thời sự Cụm loa nhà văn hóa Thôn 1 Thôn 1 600 báo cáo muộn 26/11/2026 10:00"
            in text)
    assert "26/11/2026 05:00–05:01 Bão số 9 đổ bộ phát dở Cụm loa chợ Thôn 1 Thôn 1 90" in text
    assert '<tr class="late-report">' in page and page.count("báo cáo muộn") == 1
    assert '<a href="/broadcasts/b1">Bão số 9 đổ bộ</a>' in page and '<a href="/programmes/sang">Thời sự</a>' in page


def test_the_play_log_filters_go_to_the_service(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    broadcast.broadcast_hours.return_value = samples.hours("2026-11-20")
    page = html(web_session.get("/plays", params={"date": "2026-11-20", "village": "thon-1", "device_id": "",
                                                  "other": "x"}))
    assert sent(broadcast.play_log) == (({"date": "2026-11-20", "village": "thon-1", "limit": 200},), SCOPED)
    assert "Thời lượng phát ngày 20/11/2026" in text_of(page) and '<option value="thon-1" selected>' in page
    broadcast.play_log.reset_mock()
    web_session.get("/plays", params={"date": "hôm qua"})
    assert sent(broadcast.play_log)[0][0]["date"] == local_today().isoformat()


def test_the_play_log_in_english(broadcast, web_session, people, sign_in):
    sign_in(people["viewer"])
    web_session.get("/lang/en")
    text = text_of(html(web_session.get("/plays")))
    assert "2.5 h in the whole commune (14 plays)" in text and "late report" in text


# --- a district administrator ------------------------------------------------------------------------------

def test_a_district_administrator_works_on_the_commune_they_pick(broadcast, web_session, people, sign_in):
    sign_in(people["district"])
    assert web_session.get("/broadcasts", allow_redirects=False).headers["Location"] == "/"
    page = html(web_session.get("/broadcasts", params={"commune_id": "xuan-hung"}))
    assert broadcast.list_broadcasts.call_args.kwargs == SCOPED
    assert '<a href="/broadcasts/b1?commune_id=xuan-hung">' in page
    assert 'href="/programmes?commune_id=xuan-hung"' in page
