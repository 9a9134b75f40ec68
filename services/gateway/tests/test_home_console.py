"""The console's home page (Tổng quan): every panel from its service's
answer, a service that fails or does not answer in time costing only its
own panel (the page is still 200 and says which data is missing), the
services asked side by side, each call naming the caller's commune, and
English; with every service replaced by a stand-in. Then the panels' view
rules, with no I/O."""
import re
import time
from datetime import date, timedelta
from urllib.parse import unquote

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway import home_views, i18n
from services.gateway.errors import ServiceUnavailable
from services.gateway.service import GatewayService
from services.gateway.tests import device_samples, home_samples, samples, sync_samples
from services.gateway.tests.test_console import html
from services.gateway.tests.test_tracking_console import text_of
from shared.timeutil import local_today

SERVICES = ("tasks", "telemetry", "broadcast", "sync", "content")


class Stand:
    """The stand-ins of the home page's services, answering the samples."""

    def __init__(self, container):
        self.tasks, self.telemetry, self.broadcast, self.sync, self.content = replace_dependencies(
            container, *SERVICES)
        self.tasks.list_plans.return_value = [samples.plan()]
        self.telemetry.list_devices.return_value = device_samples.devices()
        self.telemetry.list_alarms.return_value = device_samples.alarms()
        self.broadcast.calendar.return_value = home_samples.todays_calendar()
        self.sync.status.return_value = sync_samples.status()
        self.content.recent_publications.return_value = home_samples.publications()

    def communes_asked(self):
        """The commune each call of the page named."""
        today = local_today().isoformat()
        assert self.broadcast.calendar.call_args.args == (today, today)
        return {
            "tasks": self.tasks.list_plans.call_args.args[0],
            "devices": self.telemetry.list_devices.call_args.args[0]["commune_id"],
            "alarms": self.telemetry.list_alarms.call_args.args[0]["commune_id"],
            "programmes": self.broadcast.calendar.call_args.kwargs["commune_id"],
            "sync": self.sync.status.call_args.kwargs["commune_id"],
            "publications": self.content.recent_publications.call_args.kwargs["commune_id"],
        }


@pytest.fixture
def home_config(gateway_config):
    return dict(gateway_config, HOME_PANEL_TIMEOUT_SECONDS=0.5)


@pytest.fixture
def stand(container_factory, home_config, people):
    container = container_factory(GatewayService, home_config)
    stand = Stand(container)
    container.start()
    return stand


def panel(page, name):
    """The HTML of the home page's panel ``name`` (``devices``, ``alarms``…)."""
    return re.search(rf'<section[^>]*id="home-{name}"[^>]*>(.*?)</section>', page, re.S).group(1)


def unavailable(page):
    """The panels that say their data could not be had."""
    return set(re.findall(r'<section[^>]*id="home-(\w+)"[^>]*>(?:(?!</section>).)*home-unavailable', page, re.S))


# --- every panel from its service ----------------------------------------------------------------

def test_every_panel_shows_its_services_answer(stand, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/"))
    assert unavailable(page) == set()
    assert 'aria-current="page">Tổng quan' in page

    plans = text_of(panel(page, "plans"))
    assert samples.plan()["title"] in plans and "quá hạn" in plans.lower()

    devices = panel(page, "devices")
    assert "1/4 trực tuyến" in text_of(devices)
    assert "2 thôn có thiết bị mất kết nối" in text_of(devices)
    villages = re.findall(r'<li class="home-row( offline)?">\s*<a href="([^"]+)">([^<]+)</a>\s*<span>(.*?)</span>',
                          devices, re.S)
    assert [(flag, href, name, text_of(counts)) for flag, href, name, counts in villages] == [
        (" offline", "/devices?village=thon-1", "Thôn 1", "1/3 trực tuyến · 2 mất kết nối"),
        (" offline", "/devices", "Chưa gắn với thôn", "0/1 trực tuyến · 1 mất kết nối"),
    ]

    programmes = panel(page, "programmes")
    zones = re.findall(r'<h3>([^<]+)</h3>\s*<ul>(.*?)</ul>', programmes, re.S)
    assert [(zone, text_of(slots)) for zone, slots in zones] == [
        ("Thôn 1", "06:00–06:15 Bản tin sáng 17:30–17:45 Tin phòng dịch"),
        ("Loa chợ và trường học", "17:30–17:45 Tin phòng dịch"),
        ("Thiết bị lẻ", "20:00–20:30 Lễ hội làng"),
    ]
    assert "Bản tin tối hôm qua" not in programmes and "Thôn 2" not in programmes
    assert 'href="/programmes/sang"' in programmes and 'href="/calendar"' in programmes
    assert f"Lịch phát hôm nay ({local_today().strftime('%d/%m/%Y')})" in text_of(programmes)

    alarms = panel(page, "alarms")
    assert re.findall(r'href="/alarms\?severity=(\w+)">.*?<strong>(\d+)</strong>', alarms) == [
        ("critical", "1"), ("minor", "1")]
    assert 'href="/devices/loa-thon-1b">Cụm loa chợ Thôn 1</a>' in alarms
    assert "10/04/2026 14:10" in alarms  # the last occurrence, in Vietnam time
    assert 'href="/alarms"' in alarms

    sync = text_of(panel(page, "sync"))
    assert "Mất kết nối từ 14/03/2026 08:20" in sync
    assert "Chờ gửi 23" in sync and "Chờ chuyển 3" in sync and "Độ trễ 2 giờ 5 phút" in sync
    assert "Luồng đang tạm dừng 2" in sync

    publications = panel(page, "publications")
    assert re.findall(r'<time datetime="[^"]+">([^<]+)</time><br><a href="([^"]+)">([^<]+)</a>', publications) == [
        ("04/05/2026 09:15", "/content/tin-tiem-chung", "Lịch tiêm chủng mở rộng tháng 5"),
        ("03/05/2026 15:00", "/content/thong-bao-nuoc", "Thông báo tạm ngừng cấp nước"),
    ]
    stand.content.recent_publications.assert_called_once_with(5, commune_id="xuan-hung")
    stand.telemetry.list_alarms.assert_called_once_with({"status": "active", "commune_id": "xuan-hung"})


def test_empty_panels_say_there_is_nothing(stand, web_session, people, sign_in):
    stand.tasks.list_plans.return_value = []
    stand.telemetry.list_devices.return_value = []
    stand.telemetry.list_alarms.return_value = []
    stand.broadcast.calendar.return_value = {"zones": [], "occurrences": []}
    stand.sync.status.return_value = sync_samples.status("connected", up=[], down=[])
    stand.content.recent_publications.return_value = []
    sign_in(people["viewer"])
    page = text_of(html(web_session.get("/")))
    for key in ("overview.no_plans", "home.no_devices", "home.no_alarms", "home.no_programmes",
                "home.no_publications"):
        assert i18n.t(key, "vi") in page, key
    assert "Đã kết nối" in page and "Độ trễ Không trễ" in page


# --- a service that fails or does not answer -----------------------------------------------------

def test_a_service_that_does_not_answer_costs_only_its_panels(stand, web_session, people, sign_in):
    stand.telemetry.list_devices.side_effect = ServiceUnavailable("Dịch vụ «telemetry» không phản hồi.")
    stand.telemetry.list_alarms.side_effect = ServiceUnavailable("Dịch vụ «telemetry» không phản hồi.")
    sign_in(people["viewer"])
    page = html(web_session.get("/"))
    assert unavailable(page) == {"devices", "alarms"}
    assert "Không lấy được dữ liệu thiết bị" in panel(page, "devices")
    assert "Không lấy được dữ liệu cảnh báo" in panel(page, "alarms")
    assert "các phần khác của trang vẫn hiển thị" in panel(page, "devices")
    assert "Bản tin sáng" in page and "Mất kết nối từ" in page and "Lịch tiêm chủng" in page
    assert samples.plan()["title"] in page


@pytest.mark.parametrize("service, method, name, message", [
    ("tasks", "list_plans", "plans", "Không lấy được dữ liệu kế hoạch"),
    ("broadcast", "calendar", "programmes", "Không lấy được lịch phát hôm nay"),
    ("sync", "status", "sync", "Không lấy được trạng thái đồng bộ"),
    ("content", "recent_publications", "publications", "Không lấy được danh sách tin, bài đã đăng"),
])
def test_a_service_failing_leaves_the_other_panels(stand, web_session, people, sign_in, service, method, name,
                                                   message):
    getattr(getattr(stand, service), method).side_effect = RemoteError("KeyError", "boom")
    sign_in(people["viewer"])
    page = html(web_session.get("/"))
    assert unavailable(page) == {name}
    assert message in text_of(page)
    assert "1/4 trực tuyến" in page


def test_services_are_asked_side_by_side_and_a_slow_one_waits_only_its_deadline(stand, web_session, people,
                                                                               sign_in):
    def slow(*args, **kwargs):
        eventlet.sleep(5)

    for method in (stand.telemetry.list_devices, stand.broadcast.calendar, stand.sync.status,
                   stand.content.recent_publications):
        method.side_effect = slow
    sign_in(people["viewer"])
    started = time.monotonic()
    page = html(web_session.get("/"))
    elapsed = time.monotonic() - started
    assert unavailable(page) == {"devices", "programmes", "sync", "publications"}
    assert elapsed < 1.5, f"four panels with a 0.5 s deadline took {elapsed:.1f} s: not side by side"
    assert "Cụm loa chợ Thôn 1" in panel(page, "alarms")


def test_the_page_in_english(stand, web_session, people, sign_in):
    stand.telemetry.list_devices.side_effect = ServiceUnavailable("…")
    sign_in(people["viewer"])
    web_session.get("/lang/en")
    page = text_of(html(web_session.get("/")))
    assert "Could not load device data" in page and "Today's programmes" in page
    assert "Open alarms" in page and "Disconnected since 14/03/2026 08:20" in page
    assert "Latest publications" in page


# --- whose data ------------------------------------------------------------------------------------

@pytest.mark.parametrize("user, commune", [("viewer", "xuan-hung"), ("editor", "xuan-hung"),
                                           ("other_admin", "yen-thang")])
def test_every_call_names_the_callers_own_commune(stand, web_session, people, sign_in, user, commune):
    sign_in(people[user])
    html(web_session.get("/"))
    assert set(stand.communes_asked().values()) == {commune}


def test_another_communes_home_is_refused(stand, web_session, people, sign_in):
    sign_in(people["other_admin"])
    assert web_session.get("/", params={"commune_id": "xuan-hung"}).status_code == 403
    stand.telemetry.list_devices.assert_not_called()


def test_a_district_administrator_picks_the_commune_first(stand, web_session, people, sign_in):
    sign_in(people["district"])
    page = html(web_session.get("/"))
    assert 'href="/?commune_id=yen-thang"' in page
    stand.telemetry.list_devices.assert_not_called()
    page = html(web_session.get("/", params={"commune_id": "yen-thang"}))
    assert set(stand.communes_asked().values()) == {"yen-thang"}
    assert 'href="/alarms?commune_id=yen-thang"' in page


def test_signed_out_goes_to_the_login(stand, web_session):
    response = web_session.get("/", allow_redirects=False)
    assert response.status_code == 303 and unquote(response.headers["Location"]) == "/login?next=/"
    stand.tasks.list_plans.assert_not_called()


# --- the panels' view rules --------------------------------------------------------------------

VILLAGES = [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}]


def test_devices_are_counted_per_village_in_the_communes_order():
    devices = [device_samples.listed("a", "online", village="thon-2"),
               device_samples.listed("b", "online", village="thon-1"),
               device_samples.listed("c", "unknown", village="thon-1"),
               device_samples.listed("d", "offline", village="thon-9")]
    shaped = home_views.devices_panel(devices, VILLAGES)
    assert [(v.village, v.name, v.online, v.total, v.offline) for v in shaped.villages] == [
        ("thon-1", "Thôn 1", 1, 2, 1), ("thon-2", "Thôn 2", 1, 1, 0), ("thon-9", "thon-9", 0, 1, 1)]
    assert (shaped.online, shaped.total) == (2, 4)
    assert [v.village for v in shaped.villages_with_offline] == ["thon-1", "thon-9"]


def test_only_todays_occurrences_on_vietnams_clock():
    today = date(2026, 11, 26)
    late = {"programme_id": "khuya", "name": "Tin khuya", "priority": "normal", "zones": ["thon-1"],
            "starts_at": "2026-11-25T17:30:00.000Z", "ends_at": "2026-11-25T17:45:00.000Z"}  # 00:30 on the 26th
    answer = dict(home_samples.todays_calendar(today))
    answer["occurrences"] = [*answer["occurrences"], late]
    rows = home_views.todays_programmes(answer, today)
    assert [(row.zone_id, [(s.starts, s.name) for s in row.slots]) for row in rows] == [
        ("thon-1", [("00:30", "Tin khuya"), ("06:00", "Bản tin sáng"), ("17:30", "Tin phòng dịch")]),
        ("loa-cho", [("17:30", "Tin phòng dịch")]),
        (None, [("20:00", "Lễ hội làng")]),
    ]


def test_a_programme_from_yesterday_evening_still_playing_after_midnight_is_todays_too():
    today = date(2026, 11, 26)
    overnight = {"programme_id": "dem", "name": "Trực bão", "priority": "high", "zones": ["thon-1"],
                 "starts_at": "2026-11-25T16:30:00.000Z", "ends_at": "2026-11-25T17:30:00.000Z"}  # 23:30–00:30
    ended = {"programme_id": "toi", "name": "Tin tối", "priority": "normal", "zones": ["thon-1"],
             "starts_at": "2026-11-25T16:30:00.000Z", "ends_at": "2026-11-25T17:00:00.000Z"}  # 23:30–00:00
    answer = {"zones": [{"id": "thon-1", "name": "Thôn 1"}], "occurrences": [ended, overnight]}
    [row] = home_views.todays_programmes(answer, today)
    assert [(s.name, s.starts, s.ends, s.from_yesterday) for s in row.slots] == [("Trực bão", "23:30", "00:30", True)]


def test_the_overnight_programme_says_it_began_yesterday(stand, web_session, people, sign_in):
    today = local_today()
    answer = home_samples.todays_calendar(today)
    yesterday = today - timedelta(days=1)
    answer["occurrences"].append({"programme_id": "dem", "name": "Trực bão", "priority": "high", "zones": ["thon-1"],
                                  "starts_at": home_samples.at(yesterday, 23, 30),
                                  "ends_at": home_samples.at(today, 0, 30), "device_count": 2})
    stand.broadcast.calendar.return_value = answer
    sign_in(people["viewer"])
    programmes = text_of(panel(html(web_session.get("/")), "programmes"))
    assert "Thôn 1 (từ hôm qua) 23:30–00:30 Trực bão 06:00–06:15 Bản tin sáng" in programmes


def test_alarms_are_counted_by_severity_and_the_most_recent_kept():
    alarms = [device_samples.alarm(f"a{i}", severity=severity)
              for i, severity in enumerate(["critical", "minor", "minor", "warning", "major", "minor", "new"])]
    shaped = home_views.alarms_panel(alarms)
    assert shaped.total == 7
    assert shaped.by_severity == {"critical": 1, "major": 1, "minor": 3, "warning": 1, "new": 1}
    assert list(shaped.by_severity)[:4] == ["critical", "major", "minor", "warning"]
    assert [a["alarm_id"] for a in shaped.recent] == ["a0", "a1", "a2", "a3", "a4"]


def test_the_sync_state_in_a_few_numbers():
    shaped = home_views.sync_panel(sync_samples.status())
    assert (shaped.backlog_up, shaped.backlog_down, shaped.lag_seconds) == (23, 3, 7530)
    assert shaped.paused == ["devices", "courses"] and shaped.link["state"] == "disconnected"
    assert home_views.sync_panel({}).link["state"] == "never"
