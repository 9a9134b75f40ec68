"""Proof of play: records from reports, and broadcast hours that count
airtime once, per device, village and commune, per Vietnamese day."""
from datetime import date

import pytest

from services.broadcast import plays
from shared.timeutil import parse_iso


def report(report_id, device_id, started_at, ended_at, **extra):
    return {"report_id": report_id, "device_id": device_id, "started_at": started_at, "ended_at": ended_at,
            "completed": True, "command_id": "", "content_id": "c-1", "title": "Bản tin", "slot_id": "", **extra}


def record(report_id, device_id, started_at, ended_at, village="thon-1", received_at="2026-11-25T02:00:00.000Z"):
    return plays.play_record(report(report_id, device_id, started_at, ended_at), village, {}, parse_iso(received_at))


def test_a_record_keeps_the_devices_times_and_says_when_it_was_reported_late():
    on_time = record("r1", "LOA-1", "2026-11-25T01:00:00.000Z", "2026-11-25T01:10:00.000Z",
                     received_at="2026-11-25T01:10:05.000Z")
    late = record("r2", "LOA-1", "2026-11-25T01:00:00.000Z", "2026-11-25T01:10:00.000Z")
    assert on_time["seconds"] == 600 and not on_time["late"] and late["late"]
    assert on_time["days"] == ["2026-11-25"]


def test_a_slot_play_names_its_programme_and_a_command_play_its_broadcast():
    slot = plays.play_record(report("r1", "L", "2026-11-25T01:00:00.000Z", "2026-11-25T01:01:00.000Z",
                                    slot_id="thoi-su/2026-11-25T01:00:00.000Z/0/1"), None, {}, parse_iso(
        "2026-11-25T01:01:00.000Z"))
    command = plays.play_record(report("r2", "L", "2026-11-25T01:00:00.000Z", "2026-11-25T01:01:00.000Z",
                                       command_id="bc-1"), None, {"bc-1": "b1"}, parse_iso("2026-11-25T01:01:00.000Z"))
    assert (slot["programme_id"], slot["broadcast_id"]) == ("thoi-su", None)
    assert (command["programme_id"], command["broadcast_id"]) == (None, "b1")


@pytest.mark.parametrize("started, ended", [
    ("2026-11-25T01:00:00.000Z", "2026-11-25T00:59:59.000Z"),  # ends before it starts
    ("2026-11-25T01:00:00.000Z", "2026-11-26T01:00:01.000Z"),  # longer than a day
])
def test_unusable_times_give_no_record(started, ended):
    assert plays.play_record(report("r", "L", started, ended), None, {}, parse_iso(ended)) is None


def test_overlapping_plays_of_a_device_count_once_and_devices_add_up_per_village_and_commune():
    found = [
        record("a", "LOA-1", "2026-11-25T00:00:00.000Z", "2026-11-25T00:10:00.000Z"),  # interrupted
        record("b", "LOA-1", "2026-11-25T00:05:00.000Z", "2026-11-25T00:15:00.000Z"),  # resumed, overlapping
        record("c", "LOA-1", "2026-11-25T00:15:00.000Z", "2026-11-25T00:30:00.000Z"),  # back to back
        record("d", "LOA-2", "2026-11-25T00:00:00.000Z", "2026-11-25T01:00:00.000Z", village="thon-2"),
        record("e", "LOA-3", "2026-11-25T00:00:00.000Z", "2026-11-25T00:30:00.000Z", village="thon-2"),
    ]
    day = plays.day_hours(date(2026, 11, 25), found)
    assert day["devices"] == {"LOA-1": 0.5, "LOA-2": 1.0, "LOA-3": 0.5}
    assert day["villages"] == {"thon-1": 0.5, "thon-2": 1.5} and day["hours"] == 2.0 and day["plays"] == 5


def test_a_play_across_vietnamese_midnight_counts_on_each_day_for_its_part():
    # 23:30–00:30 Vietnam time (UTC+7)
    crossing = record("x", "LOA-1", "2026-11-25T16:30:00.000Z", "2026-11-25T17:30:00.000Z")
    assert crossing["days"] == ["2026-11-25", "2026-11-26"]
    assert plays.day_hours(date(2026, 11, 25), [crossing])["hours"] == 0.5
    assert plays.day_hours(date(2026, 11, 26), [crossing])["hours"] == 0.5
    assert plays.day_hours(date(2026, 11, 27), [crossing]) == {"date": "2026-11-27", "hours": 0, "villages": {},
                                                                "devices": {}, "plays": 0}
