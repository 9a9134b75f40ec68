"""Uptime from connection history: interval arithmetic, no I/O."""
from datetime import date, datetime, timezone

from services.telemetry import uptime
from shared.timeutil import parse_iso

DAY = date(2026, 11, 25)
START, END = uptime.local_day(DAY)
AFTER = datetime(2026, 11, 27, tzinfo=timezone.utc)


def device(device_id, village, created_at="2026-01-01T00:00:00.000Z"):
    return {"device_id": device_id, "village": village, "created_at": created_at}


def period(online_from, online_until):
    return {"online_from": online_from, "online_until": online_until}


def test_a_local_day_runs_from_midnight_in_vietnam():
    assert (START.isoformat(), END.isoformat()) == ("2026-11-24T17:00:00+00:00", "2026-11-25T17:00:00+00:00")
    assert uptime.period(DAY, date(2026, 11, 26)) == (START, uptime.local_day(date(2026, 11, 26))[1])
    moment = parse_iso("2026-11-25T00:00:00.000Z")
    assert uptime.period(moment, AFTER) == (moment, AFTER)


def test_online_time_is_clipped_to_the_period_and_the_registration():
    connections = [period("2026-11-24T11:00:00.000Z", "2026-11-24T23:00:00.000Z"),  # 6 h inside
                   period("2026-11-25T11:00:00.000Z", None)]  # open: until the day's end, 6 h
    assert uptime.device_times("2026-01-01T00:00:00.000Z", connections, START, END, AFTER) == (12 * 3600, 24 * 3600)
    # registered at noon local (05:00 UTC): only the afternoon counts
    online, registered = uptime.device_times("2026-11-25T05:00:00.000Z", connections, START, END, AFTER)
    assert (online, registered) == (6 * 3600, 12 * 3600)
    # a period not over yet counts up to now
    now = parse_iso("2026-11-25T13:00:00.000Z")
    assert uptime.device_times("2026-01-01T00:00:00.000Z", connections, START, END, now) == (8 * 3600, 20 * 3600)


def test_villages_and_the_commune_weigh_devices_by_their_registered_time():
    devices = [device("a", "Thôn Đông"), device("b", "Thôn Đông", "2026-11-25T05:00:00.000Z"),
               device("c", None), device("late", "Thôn Tây", "2026-11-26T00:00:00.000Z")]
    connections = {"a": [period("2026-11-24T17:00:00.000Z", "2026-11-25T17:00:00.000Z")],
                   "b": [period("2026-11-25T05:00:00.000Z", "2026-11-25T11:00:00.000Z")]}
    result = uptime.summary(devices, connections, START, END, AFTER)
    assert result["devices"] == [{"device_id": "c", "village": None, "uptime": 0.0},
                                 {"device_id": "a", "village": "Thôn Đông", "uptime": 1.0},
                                 {"device_id": "b", "village": "Thôn Đông", "uptime": 0.5}]
    assert result["villages"] == {"Thôn Đông": round(30 / 36, 4)}
    assert result["uptime"] == round(30 / 60, 4)
    assert (result["start"], result["end"]) == ("2026-11-24T17:00:00.000Z", "2026-11-25T17:00:00.000Z")
    assert uptime.summary([], {}, START, END, AFTER)["uptime"] is None


def test_every_ended_day_is_reported_once_with_a_bounded_catch_up():
    today = date(2026, 11, 26)
    assert uptime.days_to_report(None, date(2026, 11, 24), today) == [date(2026, 11, 24), date(2026, 11, 25)]
    assert uptime.days_to_report(date(2026, 11, 25), date(2026, 1, 1), today) == []
    assert uptime.days_to_report(None, today, today) == []
    assert len(uptime.days_to_report(None, date(2025, 1, 1), today)) == uptime.MAX_CATCH_UP_DAYS


def test_the_day_event_carries_the_summary():
    result = uptime.summary([device("a", "Thôn Đông")], {}, START, END, AFTER)
    event = uptime.uptime_event("xuan-hung", DAY, result)
    assert event.name == "uptime_reported"
    assert {k: event.payload[k] for k in ("date", "start", "end", "devices", "uptime", "villages")} == {
        "date": "2026-11-25", "start": "2026-11-24T17:00:00.000Z", "end": "2026-11-25T17:00:00.000Z", "devices": 1,
        "uptime": 0.0, "villages": {"Thôn Đông": 0.0}}
