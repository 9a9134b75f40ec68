"""The device pages' view rules, with no I/O: grouping by village, times
and numbers in words, the charts' and the map's geometry, and the villages
a device list names."""
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import InvalidInput
from shared.timeutil import iso

from services.gateway import device_views as views
from services.gateway.tests import device_samples as samples

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=timezone.utc)
VILLAGES = [{"id": "thon-2", "name": "Thôn 2"}, {"id": "thon-1", "name": "Thôn 1"}]


def test_devices_are_grouped_in_the_communes_order_of_villages():
    devices = [samples.listed("a", village="thon-1"), samples.listed("b", "offline", village="thon-2"),
               samples.listed("c", "unknown", village=None), samples.listed("d", village="thon-cu"),
               samples.listed("e", "offline", village="thon-1")]
    groups = views.village_groups(devices, VILLAGES)
    assert [(g.village_id, g.name, [d["device_id"] for d in g.devices]) for g in groups] == [
        ("thon-2", "Thôn 2", ["b"]), ("thon-1", "Thôn 1", ["a", "e"]), ("thon-cu", "thon-cu", ["d"]),
        (None, None, ["c"])]
    assert groups[1].counts == {"online": 1, "offline": 1}


@pytest.mark.parametrize("seconds_ago, vi, en", [
    (20, "vừa xong", "just now"), (125, "2 phút trước", "2 min ago"), (3 * 3600 + 5, "3 giờ trước", "3 h ago"),
    (47 * 3600, "47 giờ trước", "47 h ago"), (3 * 86400, "3 ngày trước", "3 days ago"),
])
def test_how_long_ago(seconds_ago, vi, en):
    moment = iso(NOW - timedelta(seconds=seconds_ago))
    assert views.ago(moment, NOW, "vi") == vi and views.ago(moment, NOW, "en") == en


def test_numbers_spans_and_shares_as_each_language_writes_them():
    assert views.ago(None, NOW, "vi") == "chưa từng kết nối"
    assert [views.number(v, "vi") for v in (41.5, 65, 220.0, None)] == ["41,5", "65", "220", "—"]
    assert views.number(20.25061, "en", 5) == "20.25061"
    assert views.percent(0.875, "vi") == "87,5%" and views.percent(1, "en") == "100%"
    assert views.percent(None, "en") == "—"
    assert views.span("2026-04-10T08:00:00.000Z", "2026-04-10T10:05:00.000Z", "vi") == "2 giờ 5 phút"
    assert views.span("2026-04-08T08:00:00.000Z", "2026-04-10T10:05:00.000Z", "en") == "2 d 2 h"


def test_a_sample_has_every_field():
    full = views.sample({"volume": 5})
    assert full["volume"] == 5 and full["temperature_c"] is None and set(full) == set(views.SAMPLE_FIELDS)
    assert views.sample(None) is None


def test_a_village_must_be_the_communes():
    commune = {"villages": VILLAGES}
    views.check_village(commune, "thon-1")
    views.check_village(commune, None)
    with pytest.raises(InvalidInput) as refused:
        views.check_village(commune, "Thôn 1")
    assert refused.value.message == ("village: thôn «Thôn 1» không có trong danh sách thôn của xã: "
                                     "thon-2 (Thôn 2); thon-1 (Thôn 1).")


@pytest.mark.parametrize("text, found", [
    ("device_id,kind,village\nloa-1,loudspeaker,thon-1\nloa-2,other,thon-9\n", [(3, "loa-2", "thon-9")]),
    ("\ufeffDevice_ID;Kind;Village\n\nloa-1;other;Thôn 1\n", [(3, "loa-1", "Thôn 1")]),
    ("device_id\tkind\tvillage\nloa-1\tother\t \n", []),
    ('device_id,kind,village,name\nloa-1,other,thon-x,"Hai\ndòng"\nloa-2,other,thon-y,\n',
     [(3, "loa-1", "thon-x"), (4, "loa-2", "thon-y")]),
    ("device_id,kind\nloa-1,other\n", []),
    ("", []),
])
def test_the_villages_a_list_names_are_found_on_their_lines(text, found):
    assert views.unknown_villages(text, VILLAGES) == found


def test_village_problems_join_the_rows_the_telemetry_service_checked():
    result = samples.import_result([{"line": 2, "device_id": "loa-1", "problems": ["kind: thiếu loại thiết bị"]},
                                    {"line": 3, "device_id": "loa-2", "problems": []},
                                    {"line": 4, "device_id": "loa-3", "problems": []}])
    merged = views.with_village_problems(result, [(3, "loa-2", "thon-9"), (9, "loa-3", "thon-8")], VILLAGES)
    assert [len(row["problems"]) for row in merged["rows"]] == [1, 1, 1]  # line 9: matched by its device id
    assert (merged["valid"], merged["invalid"], merged["created"]) == (0, 3, 0)
    assert result["rows"][1]["problems"] == []  # the answer itself is left as it was


def points(*readings, field="temperature_c"):
    return [{"at": iso(NOW - timedelta(minutes=minutes)), field: value} for minutes, value in readings]


def test_a_chart_is_scaled_to_its_readings_and_broken_where_the_device_was_silent():
    start = NOW - timedelta(hours=24)
    series = views.CHART_SERIES[2]
    chart = views.line_chart(points((60, 40.0), (59, 41.5), (58, 43.0), (10, 42.0), (9, 42.5), (8, None), (7, 39.0)),
                             series, start, NOW, "raw", "vi")
    assert (chart.low, chart.high, chart.latest, chart.count) == (39.0, 43.0, 39.0, 6)
    assert len(chart.paths) == 2 and len(chart.dots) == 1  # a gap of 48 minutes, then a reading alone
    assert [tick["label"] for tick in chart.y_ticks] == ["43", "41", "39"]
    assert chart.y_ticks[0]["y"] == 10 and chart.y_ticks[-1]["y"] == views.CHART_HEIGHT - 26
    assert [tick["label"] for tick in chart.x_ticks] == ["19:00", "01:00", "07:00", "13:00", "19:00"]
    first = chart.paths[0].split(" L")[0]
    assert first.startswith("M") and float(first[1:].split(",")[0]) > 600  # an hour ago is near the right edge


def test_volume_keeps_its_0_to_100_scale_and_readings_spaced_widely_stay_joined():
    start = NOW - timedelta(days=30)
    chart = views.line_chart([{"at": iso(NOW - timedelta(hours=3 * n)), "volume": 50} for n in range(10)],
                             views.CHART_SERIES[0], start, NOW, "hourly", "en")
    assert (chart.low, chart.high) == (50, 50) and [t["label"] for t in chart.y_ticks] == ["100", "50", "0"]
    assert len(chart.paths) == 1 and chart.x_ticks[0]["label"] == "11/03"
    assert views.line_chart(points((5, None)), views.CHART_SERIES[2], start, NOW, "raw", "vi") is None
    assert [c.series.field for c in views.charts(points((5, 40.0), (4, 41.0)), start, NOW, "raw", "vi")] == [
        "temperature_c"]


def test_the_map_keeps_north_up_and_distances_true():
    devices = [samples.listed("west", location={"lat": 20.25, "lon": 105.97}),
               samples.listed("east", "offline", location={"lat": 20.25, "lon": 105.99}, name=""),
               samples.listed("north", "unknown", location={"lat": 20.27, "lon": 105.98}),
               samples.listed("nowhere", location=None)]
    drawn = views.device_map(devices)
    marks = {mark.device_id: mark for mark in drawn.marks}
    assert marks["west"].x < marks["north"].x < marks["east"].x and marks["north"].y < marks["west"].y
    assert marks["west"].y == marks["east"].y and marks["east"].label == "east" and marks["east"].anchor == "end"
    # 0.02° of longitude at 20.25°N is ~2.09 km, 0.02° of latitude ~2.23 km: the drawing keeps the ratio
    width, height = marks["east"].x - marks["west"].x, marks["west"].y - marks["north"].y
    assert width / height == pytest.approx(0.938, abs=0.01)
    assert [d["device_id"] for d in drawn.unplaced] == ["nowhere"]
    assert drawn.scale_metres == 1000 and 0 < drawn.scale_pixels <= views.MAP_WIDTH / 4


def test_one_device_alone_is_drawn_in_the_middle():
    drawn = views.device_map([samples.listed()])
    assert (drawn.marks[0].x, drawn.marks[0].y) == (views.MAP_WIDTH / 2, views.MAP_HEIGHT / 2)
    assert views.device_map([samples.listed(location=None)]) is None
