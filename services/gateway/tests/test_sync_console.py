"""The console's provincial sync page: the link's state as a banner, the up
and down streams with what waits, lags in words, pausing and resuming for a
commune administrator, English, and a sync service that does not answer;
with the sync service replaced by a stand-in (or absent). Then the page's
view rules, with no I/O: lags, stream names, the banner."""
import re

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway import i18n, sync_views as views
from services.gateway.errors import ServiceUnavailable
from services.gateway.service import GatewayService
from services.gateway.tests import sync_samples as samples
from services.gateway.tests.test_broadcasts_console import hidden_fields
from services.gateway.tests.test_console import html
from services.gateway.tests.test_content_console import nav
from services.gateway.tests.test_tracking_console import flash, text_of

SCOPED = {"commune_id": "xuan-hung"}
UP_NAMES = {"content": "Tin, bài đã đăng", "broadcast_stats": "Thống kê phát thanh", "devices": "Thiết bị",
            "tasks": "Nhiệm vụ, báo cáo", "training": "Tập huấn, tuyên truyền viên"}
DOWN_NAMES = {"emergency": "Bản tin khẩn cấp", "bulletins": "Bản tin", "directives": "Văn bản chỉ đạo",
              "courses": "Lớp tập huấn của tỉnh"}


@pytest.fixture
def sync(container_factory, gateway_config, people):
    container = container_factory(GatewayService, gateway_config)
    sync = replace_dependencies(container, "sync")
    container.start()
    sync.status.return_value = samples.status()
    return sync


def submit(web_session, path, **kwargs):
    """A form sent as the browser sends it, stopping at the redirect (the next page shows the flash)."""
    return web_session.post(path, allow_redirects=False, **kwargs)


def banner(page):
    return re.search(r'<section class="flash flash-(\w+) sync-link sync-link-(\w+)"[^>]*>(.*?)</section>', page,
                     re.S).groups()


def row(page, row_id):
    """The HTML of the table row ``row_id`` (``up-devices``, ``down-courses``)."""
    return re.search(rf'<tr id="{row_id}"[^>]*>.*?</tr>', page, re.S).group(0)


def stream_forms(page):
    """The (stream, action) of every pause or resume form of the page."""
    return re.findall(r'<form method="post" action="/sync/streams/(\w+)/(pause|resume)', page)


# --- navigation and the link banner ----------------------------------------------------------------

def test_the_sync_page_is_last_in_everyones_navigation(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/sync"))
    assert nav(page)[-3:] == ["/roster", "/training", "/sync"]
    assert '<a href="/sync" aria-current="page">Đồng bộ tỉnh</a>' in page
    assert "<h1>Đồng bộ với tỉnh</h1>" in page
    assert sync.status.call_args.args == () and sync.status.call_args.kwargs == SCOPED


def test_a_lost_link_says_since_when_in_vietnam_time_and_the_last_error(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    tone, state, content = banner(html(web_session.get("/sync")))
    assert (tone, state) == ("error", "disconnected")
    text = text_of(content)
    assert "Mất kết nối từ 14/03/2026 08:20" in text  # 01:20 UTC
    assert "Lỗi gần nhất: UNAVAILABLE: failed to connect to all addresses" in text
    assert "Máy chủ của tỉnh: tinh-ninhbinh.example.vn:443" in text
    assert "Đã kết nối" not in text


def test_a_lost_link_without_a_last_contact_says_only_that_it_is_lost(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    sync.status.return_value = samples.status(link=samples.link(last_contact=None))
    _, _, content = banner(html(web_session.get("/sync")))
    assert text_of(content).startswith("Mất kết nối Lỗi gần nhất:")


def test_a_live_link_says_connected_and_when_it_last_spoke(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    sync.status.return_value = samples.status("connected")
    tone, state, content = banner(html(web_session.get("/sync")))
    assert (tone, state) == ("ok", "connected")
    text = text_of(content)
    assert text.startswith("Đã kết nối Liên lạc gần nhất lúc 14/03/2026 08:20.")
    assert "Lỗi" not in text and "Mất kết nối" not in text


def test_a_link_never_made_says_so_and_keeps_its_error(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    sync.status.return_value = samples.status("never", link=samples.link("never", last_error="UNAUTHENTICATED"))
    tone, state, content = banner(html(web_session.get("/sync")))
    assert (tone, state) == ("warning", "never")
    text = text_of(content)
    assert text.startswith("Chưa kết nối lần nào")
    assert "Lỗi gần nhất: UNAUTHENTICATED" in text and "Liên lạc gần nhất" not in text


# --- the streams ------------------------------------------------------------------------------------------

def test_the_streams_by_their_vietnamese_names_with_what_waits_highlighted(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/sync"))
    up = page.split('id="up-streams"', 1)[1].split("</table>", 1)[0]
    down = page.split('id="down-streams"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r"<strong>([^<]+)</strong>", up) == list(UP_NAMES.values())
    assert re.findall(r"<strong>([^<]+)</strong>", down) == list(DOWN_NAMES.values())
    highlighted = set(re.findall(r'<tr id="((?:up|down)-\w+)" class="backlog"', page))
    assert highlighted == {"up-broadcast_stats", "up-devices", "down-bulletins", "down-courses"}
    assert '<span class="flag flag-due-soon">20</span>' in row(page, "up-devices")
    assert "flag-due-soon" not in row(page, "up-content") and "flag-due-soon" not in row(page, "down-emergency")
    assert text_of(row(page, "up-broadcast_stats")) == "Thống kê phát thanh 40 37 3 3 phút Đang chạy"
    assert text_of(row(page, "up-devices")) == "Thiết bị 900 880 20 2 giờ 5 phút Đang tạm dừng"
    assert text_of(row(page, "up-content")) == "Tin, bài đã đăng 120 120 0 Không trễ Đang chạy"
    assert text_of(row(page, "down-courses")) == "Lớp tập huấn của tỉnh 1 0 1 Đang tạm dừng"
    assert text_of(row(page, "down-bulletins")) == "Bản tin 10 8 2 Đang chạy"


def test_each_table_scrolls_inside_its_own_container_and_becomes_cards_on_a_phone(sync, web_session, people,
                                                                                  sign_in):
    """At 375 px the console's stylesheet turns ``items`` tables into one card
    per row; each cell says which column it is."""
    sign_in(people["admin"])
    page = html(web_session.get("/sync"))
    assert len(re.findall(r'<div class="table-scroll">\s*<table class="items sync-streams"', page)) == 2
    for row_id in ("up-devices", "down-courses"):
        cells = re.findall(r"<td([^>]*)>", row(page, row_id))
        assert cells[0] == ' class="text"'
        assert all("data-label=" in cell for cell in cells[1:-1]), row_id


def test_a_service_with_no_streams_yet_says_so(sync, web_session, people, sign_in):
    sign_in(people["viewer"])
    sync.status.return_value = samples.status("never", up=[], down=[])
    page = html(web_session.get("/sync"))
    assert text_of(page).count("Chưa có luồng dữ liệu nào.") == 2
    assert "sync-streams" not in page


# --- pausing and resuming ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["viewer", "editor"])
def test_who_is_not_a_commune_administrator_gets_no_buttons_and_cannot_post(sync, web_session, people, sign_in, who):
    token = sign_in(people[who])
    page = html(web_session.get("/sync"))
    assert stream_forms(page) == [] and "Tạm dừng</button>" not in page and "Tiếp tục</button>" not in page
    response = submit(web_session, "/sync/streams/devices/pause", data={"csrf_token": token})
    assert response.status_code == 403
    assert not sync.pause_stream.called and not sync.resume_stream.called


def test_a_commune_administrator_pauses_a_running_stream_and_resumes_a_paused_one(sync, web_session, people,
                                                                                  sign_in):
    token = sign_in(people["admin"])
    page = html(web_session.get("/sync"))
    assert stream_forms(page) == [("content", "pause"), ("broadcast_stats", "pause"), ("devices", "resume"),
                                  ("tasks", "pause"), ("training", "pause"), ("emergency", "pause"),
                                  ("bulletins", "pause"), ("directives", "pause"), ("courses", "resume")]
    assert hidden_fields(page)["csrf_token"] == [token] * 10  # the nine forms and the sign-out
    assert 'aria-label="Tiếp tục luồng «Thiết bị»">Tiếp tục</button>' in row(page, "up-devices")
    assert 'aria-label="Tạm dừng luồng «Bản tin»">Tạm dừng</button>' in row(page, "down-bulletins")


@pytest.mark.parametrize("path, rpc, answer, message", [
    ("/sync/streams/bulletins/pause", "pause_stream", samples.down_stream("bulletins", 10, 8, paused=True),
     "Đã tạm dừng luồng «Bản tin». Dữ liệu của luồng vẫn được xếp hàng chờ."),
    ("/sync/streams/devices/resume", "resume_stream", samples.up_stream("devices", 900, 880, lag_seconds=7530),
     "Luồng «Thiết bị» đã chạy lại."),
])
def test_pausing_or_resuming_goes_back_to_the_page_saying_what_was_done(sync, web_session, people, sign_in, path,
                                                                        rpc, answer, message):
    token = sign_in(people["admin"])
    getattr(sync, rpc).return_value = answer
    response = submit(web_session, path, data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/sync"
    assert getattr(sync, rpc).call_args.args == (answer["stream"],)
    assert getattr(sync, rpc).call_args.kwargs == SCOPED
    assert flash(web_session, "/sync") == ("ok", message)


def test_a_form_without_the_sessions_csrf_token_is_refused(sync, web_session, people, sign_in):
    sign_in(people["admin"])
    assert submit(web_session, "/sync/streams/devices/pause", data={"csrf_token": "forged"}).status_code == 403
    assert not sync.pause_stream.called


@pytest.mark.parametrize("error, message", [
    (RemoteError("InvalidInput", "Không có luồng dữ liệu «radio»."), "Không có luồng dữ liệu «radio»."),
    (ServiceUnavailable("Dịch vụ «sync» không phản hồi; vui lòng thử lại sau ít phút.", {"service": "sync"}),
     "Dịch vụ đồng bộ không phản hồi nên luồng dữ liệu chưa được thay đổi. Vui lòng thử lại sau ít phút."),
])
def test_a_refusal_or_a_silent_service_is_said_on_the_page(sync, web_session, people, sign_in, error, message):
    token = sign_in(people["admin"])
    sync.pause_stream.side_effect = error
    response = submit(web_session, "/sync/streams/radio/pause", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/sync"
    assert flash(web_session, "/sync") == ("error", message)


def test_a_district_administrator_works_on_the_commune_they_pick(sync, web_session, people, sign_in):
    token = sign_in(people["district"])
    assert web_session.get("/sync", allow_redirects=False).headers["Location"] == "/"
    page = html(web_session.get("/sync?commune_id=xuan-hung"))
    assert sync.status.call_args.kwargs == SCOPED
    assert 'action="/sync/streams/devices/resume?commune_id=xuan-hung"' in page
    sync.resume_stream.return_value = samples.up_stream("devices")
    response = submit(web_session, "/sync/streams/devices/resume?commune_id=xuan-hung", data={"csrf_token": token})
    assert response.headers["Location"] == "/sync?commune_id=xuan-hung"
    assert sync.resume_stream.call_args.kwargs == SCOPED


# --- English, and no sync service ---------------------------------------------------------------------------

def test_the_page_in_english(sync, web_session, people, sign_in):
    sign_in(people["admin"])
    web_session.get("/lang/en?next=/sync")
    page = html(web_session.get("/sync"))
    assert '<html lang="en">' in page
    assert '<a href="/sync" aria-current="page">Provincial sync</a>' in page
    assert text_of(banner(page)[2]).startswith("Disconnected since 14/03/2026 08:20")
    assert text_of(row(page, "up-devices")) == "Devices 900 880 20 2 h 5 min Paused Resume"
    assert text_of(row(page, "up-broadcast_stats")) == "Broadcasting statistics 40 37 3 3 min Running Pause"
    assert text_of(row(page, "down-emergency")) == "Emergency bulletins 2 2 0 Running Pause"
    assert "Mất kết nối" not in page and "Đồng bộ tỉnh" not in page


def test_a_sync_service_that_does_not_answer_is_a_notice_on_the_page(container_factory, gateway_config,
                                                                     web_session, people, sign_in):
    """No sync service on the broker: the timed proxy gives up and the page
    says so in Vietnamese (503), in the layout, instead of an error."""
    container = container_factory(GatewayService, dict(gateway_config, RPC_TIMEOUT_SECONDS=0.5))
    container.start()
    sign_in(people["admin"])
    page = html(web_session.get("/sync"), 503)
    assert re.search(r'<section class="card warning sync-unavailable" role="alert">\s*<h2>Dịch vụ đồng bộ không '
                     r'phản hồi</h2>', page)
    assert "Hãy tải lại trang sau ít phút" in text_of(page)
    assert nav(page)[-1] == "/sync" and '<a href="/sync">Tải lại</a>' in page
    assert "sync-link" not in page and "<table" not in page


# --- view rules ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, vi, en", [
    (None, "Không trễ", "None"),
    (0, "Không trễ", "None"),
    (59, "Dưới 1 phút", "Under a minute"),
    (60, "1 phút", "1 min"),
    (200, "3 phút", "3 min"),
    (3599, "59 phút", "59 min"),
    (3600, "1 giờ", "1 h"),
    (7500, "2 giờ 5 phút", "2 h 5 min"),
    (7559.9, "2 giờ 5 phút", "2 h 5 min"),
    (86400, "1 ngày", "1 d"),
    (86400 + 3 * 3600 + 59 * 60, "1 ngày 3 giờ", "1 d 3 h"),
])
def test_a_lag_in_words_counted_down_to_the_minute(seconds, vi, en):
    assert views.lag(seconds, "vi") == vi
    assert views.lag(seconds, "en") == en


def test_every_stream_of_the_contract_has_its_vietnamese_name_and_an_english_one():
    assert {stream: views.stream_name(stream, "vi") for stream in views.UP_STREAMS} == UP_NAMES
    assert {stream: views.stream_name(stream, "vi") for stream in views.DOWN_STREAMS} == DOWN_NAMES
    for stream in views.UP_STREAMS + views.DOWN_STREAMS:
        english = views.stream_name(stream, "en")
        assert english != stream and english != views.stream_name(stream, "vi")


def test_a_stream_the_gateway_does_not_know_yet_shows_as_its_code():
    assert views.stream_name("weather", "vi") == "weather"
    (entry,) = views.up_rows({"up": [{"stream": "weather", "produced": 3}]}, "vi")
    assert (entry.name, entry.first, entry.second, entry.backlog, entry.behind, entry.paused, entry.lag) == \
        ("weather", 3, 0, 0, False, False, "Không trễ")


def test_the_rows_keep_the_services_order_and_its_counters():
    status = samples.status()
    up = views.up_rows(status, "vi")
    assert [(r.stream, r.first, r.second, r.backlog, r.behind, r.paused) for r in up] == [
        ("content", 120, 120, 0, False, False), ("broadcast_stats", 40, 37, 3, True, False),
        ("devices", 900, 880, 20, True, True), ("tasks", 15, 15, 0, False, False), ("training", 4, 4, 0, False, False)]
    down = views.down_rows(status, "en")
    assert [(r.name, r.first, r.second, r.backlog, r.paused, r.lag) for r in down] == [
        ("Emergency bulletins", 2, 2, 0, False, ""), ("Bulletins", 10, 8, 2, False, ""),
        ("Directives", 3, 3, 0, False, ""), ("Provincial training courses", 1, 0, 1, True, "")]
    assert views.up_rows({}, "vi") == [] and views.down_rows({"down": None}, "vi") == []


@pytest.mark.parametrize("link, state, tone, headline", [
    (samples.link("connected"), "connected", "ok", "Đã kết nối"),
    (samples.link("disconnected"), "disconnected", "error", "Mất kết nối từ 14/03/2026 08:20"),
    (samples.link("disconnected", last_contact=None), "disconnected", "error", "Mất kết nối"),
    (samples.link("never"), "never", "warning", "Chưa kết nối lần nào"),
    (None, "never", "warning", "Chưa kết nối lần nào"),
    ({"state": "connecting"}, "connecting", "warning", "Tình trạng kết nối: connecting"),
])
def test_the_banner_of_each_link_state(link, state, tone, headline):
    view = views.link_view(link, "vi")
    assert (view.state, view.tone, view.headline) == (state, tone, headline)


def test_the_banner_times_are_vietnam_time_and_its_words_english_when_asked():
    view = views.link_view(samples.link("connected", last_contact="2026-03-14T17:05:00.000Z"), "en")
    assert (view.headline, view.last_contact, view.hub, view.last_error) == (
        "Connected", "15/03/2026 00:05", samples.HUB, "")
    assert i18n.t("nav.sync", "en") == "Provincial sync" and i18n.t("nav.sync", "vi") == "Đồng bộ tỉnh"
