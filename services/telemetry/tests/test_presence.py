"""Presence transitions from the edge's stamps: no I/O."""
from datetime import datetime, timezone

from services.telemetry import presence

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=timezone.utc)


def state(**fields):
    return {"_id": "xuan-hung/loa-01", "commune_id": "xuan-hung", "device_id": "loa-01",
            "sample": {"volume": 35, "playback": "playing"}, **fields}


def test_a_device_whose_timeout_passed_went_offline_then():
    seen = state(presence="online", presence_since="2026-11-26T06:00:00.000Z", last_seen="2026-11-26T06:57:00.000Z",
                 offline_after="2026-11-26T06:59:00.000Z")
    moved = presence.went_offline(seen, NOW)
    assert moved.online is False and moved.since == "2026-11-26T06:59:00.000Z"
    assert moved.change.set == {"presence": "offline", "presence_since": "2026-11-26T06:59:00.000Z",
                                "offline_alarm": "pending"}
    assert moved.change.expect == {"presence": "online", "offline_after": "2026-11-26T06:59:00.000Z"}
    assert moved.closes == ("2026-11-26T06:00:00.000Z", "2026-11-26T06:59:00.000Z")
    [event] = moved.change.events
    assert event.name == "device_status_reported"
    assert {k: event.payload[k] for k in ("device_id", "online", "volume", "playing", "reported_at")} == {
        "device_id": "loa-01", "online": False, "volume": 35, "playing": True,
        "reported_at": "2026-11-26T06:59:00.000Z"}


def test_a_device_within_its_timeout_or_already_offline_does_not_move():
    assert presence.went_offline(state(presence="online", offline_after="2026-11-26T07:00:30.000Z",
                                       last_seen="2026-11-26T06:58:30.000Z"), NOW) is None
    assert presence.went_offline(state(presence="offline", offline_after="2026-11-26T06:00:00.000Z"), NOW) is None
    assert presence.came_online(state(presence="online", offline_after="2026-11-26T07:01:00.000Z",
                                      last_seen="2026-11-26T06:59:00.000Z"), NOW) is None
    assert presence.came_online(state(presence="offline", offline_after="2026-11-26T06:59:00.000Z",
                                      last_seen="2026-11-26T06:57:00.000Z"), NOW) is None


def test_a_device_heard_from_for_the_first_time_comes_online_when_its_stream_opened():
    seen = state(connected_at="2026-11-26T06:59:58.000Z", last_seen="2026-11-26T06:59:59.000Z",
                 offline_after="2026-11-26T07:01:59.000Z")
    moved = presence.came_online(seen, NOW)
    assert moved.online and moved.since == moved.opens == "2026-11-26T06:59:58.000Z"
    assert moved.change.expect == {"presence": None} and moved.offline_since is None
    assert moved.change.set["offline_alarm"] == "none"
    [event] = moved.change.events
    assert event.payload["online"] is True and event.payload["reported_at"] == "2026-11-26T06:59:59.000Z"


def test_a_returning_device_counts_from_its_new_stream_or_its_first_message():
    away = dict(presence="offline", presence_since="2026-11-26T06:30:00.000Z", last_seen="2026-11-26T06:59:59.000Z",
                offline_after="2026-11-26T07:01:59.000Z")
    # the stream it had before going away does not count
    moved = presence.came_online(state(connected_at="2026-11-26T05:00:00.000Z", **away), NOW)
    assert moved.since == "2026-11-26T06:59:59.000Z" and moved.offline_since == "2026-11-26T06:30:00.000Z"
    assert moved.change.expect == {"presence": "offline"}
    moved = presence.came_online(state(connected_at="2026-11-26T06:59:50.000Z", **away), NOW)
    assert moved.since == "2026-11-26T06:59:50.000Z"


def test_a_sample_without_a_volume_reports_none():
    seen = state(sample={"playback": None}, last_seen="2026-11-26T06:59:59.000Z",
                 offline_after="2026-11-26T07:01:59.000Z")
    payload = presence.came_online(seen, NOW).change.events[0].payload
    assert payload["volume"] is None and payload["playing"] is False


def test_the_census_counts_every_communes_devices_by_presence_the_unheard_as_unknown():
    counts = presence.census({"xuan-hung": 5, "yen-thang": 2},
                             {("xuan-hung", "online"): 3, ("xuan-hung", "offline"): 1, ("yen-thang", "offline"): 2,
                              ("gone", "online"): 1})
    assert counts == {("xuan-hung", "online"): 3, ("xuan-hung", "offline"): 1, ("xuan-hung", "unknown"): 1,
                      ("yen-thang", "online"): 0, ("yen-thang", "offline"): 2, ("yen-thang", "unknown"): 0}
    assert presence.census({}, {}) == {}
