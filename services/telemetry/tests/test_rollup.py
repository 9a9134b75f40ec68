"""Hourly roll-ups and chart points from raw buckets: no I/O."""
from datetime import timedelta

from services.telemetry import rollup
from shared.timeutil import iso, parse_iso


def sample(seq, at, **fields):
    return {"seq": seq, "sampled_at": at, "volume": None, "signal_dbm": None, "temperature_c": None,
            "mains_voltage": None, "battery_voltage": None, "playback": None, "power_source": None,
            "speaker_line": None, "connection": None, **fields}


def test_hours_and_the_hours_a_bucket_touches():
    assert rollup.hour_of("2026-11-26T13:59:59.999Z") == "2026-11-26T13:00:00.000Z"
    assert rollup.next_hour("2026-11-26T23:00:00.000Z") == "2026-11-27T00:00:00.000Z"
    assert rollup.hours_spanned("2026-11-26T13:59:00.000Z", "2026-11-26T14:00:00.000Z") == ["2026-11-26T13:00:00.000Z"]
    assert rollup.hours_spanned("2026-11-26T13:59:30.000Z", "2026-11-26T14:00:30.000Z") == [
        "2026-11-26T13:00:00.000Z", "2026-11-26T14:00:00.000Z"]


def test_a_sample_stored_twice_counts_once():
    first = {"samples": [sample(1, "2026-11-26T13:00:10.000Z"), sample(2, "2026-11-26T13:00:20.000Z")]}
    resent = {"samples": [sample(2, "2026-11-26T13:00:20.000Z"), sample(3, "2026-11-26T13:00:30.000Z")]}
    assert [s["seq"] for s in rollup.unique_samples([first, resent])] == [1, 2, 3]
    assert [s["seq"] for s in rollup.unique_samples([first, resent], "2026-11-26T13:00:15.000Z",
                                                    "2026-11-26T13:00:30.000Z")] == [2]


def test_an_hour_rolls_up_into_its_statistics():
    samples = [
        sample(1, "2026-11-26T13:00:00.000Z", volume=40, signal_dbm=-70, temperature_c=41.5, mains_voltage=221.0,
               battery_voltage=12.6, playback="playing", speaker_line="ok"),
        sample(2, "2026-11-26T13:01:00.000Z", volume=60, signal_dbm=-80, temperature_c=44.5, mains_voltage=0.0,
               battery_voltage=12.1, playback="idle", speaker_line="open_circuit"),
        sample(3, "2026-11-26T13:02:00.000Z", volume=50, playback="playing"),
    ]
    doc = rollup.hourly("xuan-hung", "loa-01", "2026-11-26T13:00:00.000Z", samples)
    assert doc == {
        "_id": "xuan-hung/loa-01/2026-11-26T13:00:00.000Z", "commune_id": "xuan-hung", "device_id": "loa-01",
        "hour": "2026-11-26T13:00:00.000Z", "count": 3,
        "volume": {"min": 40.0, "max": 60.0, "avg": 50.0},
        "signal_dbm": {"min": -80.0, "avg": -75.0},
        "temperature_c": {"max": 44.5, "avg": 43.0},
        "mains_voltage": {"min": 0.0, "avg": 110.5},
        "battery_voltage": {"min": 12.1},
        "playing_share": round(2 / 3, 4),
        "speaker_faults": 1,
    }
    empty = rollup.hourly("xuan-hung", "loa-01", "2026-11-26T13:00:00.000Z", [sample(1, "2026-11-26T13:00:00.000Z")])
    assert empty["volume"] == {"min": None, "max": None, "avg": None} and empty["playing_share"] is None
    point = rollup.hourly_point(doc)
    assert (point["at"], point["volume"], point["volume_max"], point["battery_voltage"], point["playing"]) == (
        "2026-11-26T13:00:00.000Z", 50.0, 60.0, 12.1, round(2 / 3, 4))


def test_a_long_raw_series_is_merged_down_to_the_point_limit():
    start = parse_iso("2026-11-26T00:00:00.000Z")
    points = [rollup.raw_point(sample(n, iso(start + timedelta(seconds=10 * n)), volume=n % 100,
                                      playback="playing" if n == 7 else "idle", power_source="mains"))
              for n in range(1, 1202)]
    assert len(rollup.downsample(points[:500])) == 500
    merged = rollup.downsample(points)
    assert len(merged) <= rollup.RAW_POINT_LIMIT
    assert merged[0]["at"] == points[0]["at"] and merged[0]["volume"] == 2.0  # seq 1, 2, 3
    assert merged[2]["playing"] is True and merged[0]["playing"] is False
    assert merged[-1]["power_source"] == "mains" and merged[-1]["at"] <= points[-1]["at"]


def test_auto_resolution_is_raw_up_to_two_days():
    start = parse_iso("2026-11-24T00:00:00.000Z")
    assert rollup.resolution_for("auto", start, start + timedelta(hours=48)) == "raw"
    assert rollup.resolution_for("auto", start, start + timedelta(hours=49)) == "hourly"
    assert rollup.resolution_for("raw", start, start + timedelta(days=20)) == "raw"
