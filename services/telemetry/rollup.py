"""Telemetry series: hourly roll-ups of raw samples and the points a chart
gets — aggregation, with no I/O.

Raw samples live in time buckets written by the edge. A sample resent after a
crash between the edge's write and its acknowledgement may be stored twice,
so every reader keeps one sample per ``seq``.
"""
import math
from datetime import timedelta

from shared.timeutil import iso, parse_iso

RAW_POINT_LIMIT = 500
# "auto" resolution: raw samples up to this span, hourly roll-ups beyond
RAW_SPAN = timedelta(hours=48)
NUMERIC = ("volume", "signal_dbm", "temperature_c", "mains_voltage", "battery_voltage")
CATEGORICAL = ("power_source", "speaker_line", "connection")
SPEAKER_FAULTS = ("open_circuit", "short_circuit")


def hour_of(moment):
    """The start of the UTC hour holding ``moment`` (an ISO string)."""
    return iso(parse_iso(moment).replace(minute=0, second=0, microsecond=0))


def next_hour(hour):
    return iso(parse_iso(hour) + timedelta(hours=1))


def hours_spanned(start, end):
    """The hours a bucket [start, end) touches."""
    last = hour_of(iso(max(parse_iso(start), parse_iso(end) - timedelta(milliseconds=1))))
    hours, hour = [], hour_of(start)
    while hour <= last:
        hours.append(hour)
        hour = next_hour(hour)
    return hours


def unique_samples(buckets, start=None, end=None):
    """The buckets' samples taken in [start, end), one per ``seq``, by time."""
    seen, samples = set(), []
    for bucket in buckets:
        for sample in bucket.get("samples") or ():
            at = sample.get("sampled_at")
            if not at or (start and at < start) or (end and at >= end):
                continue
            if sample.get("seq") in seen:
                continue
            seen.add(sample.get("seq"))
            samples.append(sample)
    return sorted(samples, key=lambda s: (s["sampled_at"], s.get("seq") or 0))


def _values(samples, name):
    return [float(s[name]) for s in samples if isinstance(s.get(name), (int, float)) and not isinstance(s[name], bool)]


def _avg(values):
    return round(sum(values) / len(values), 2) if values else None


def hourly(commune_id, device_id, hour, samples):
    """The ``telemetry_hourly`` document of one device and hour."""
    def stats(name, *kinds):
        values = _values(samples, name)
        pick = {"min": min, "max": max}
        return {kind: (_avg(values) if kind == "avg" else (pick[kind](values) if values else None)) for kind in kinds}

    playback = [s["playback"] for s in samples if s.get("playback")]
    return {
        "_id": f"{commune_id}/{device_id}/{hour}",
        "commune_id": commune_id,
        "device_id": device_id,
        "hour": hour,
        "count": len(samples),
        "volume": stats("volume", "min", "max", "avg"),
        "signal_dbm": stats("signal_dbm", "min", "avg"),
        "temperature_c": stats("temperature_c", "max", "avg"),
        "mains_voltage": stats("mains_voltage", "min", "avg"),
        "battery_voltage": stats("battery_voltage", "min"),
        "playing_share": round(playback.count("playing") / len(playback), 4) if playback else None,
        "speaker_faults": sum(1 for s in samples if s.get("speaker_line") in SPEAKER_FAULTS),
    }


def raw_point(sample):
    return {"at": sample["sampled_at"], **{name: sample.get(name) for name in NUMERIC},
            "playing": sample.get("playback") == "playing", **{name: sample.get(name) for name in CATEGORICAL}}


def downsample(points, limit=RAW_POINT_LIMIT):
    """At most ``limit`` points: consecutive points merged (measurements
    averaged, playing if any was, the last state of the categorical ones),
    each merged point at its first sample's time."""
    if len(points) <= limit:
        return points
    size = math.ceil(len(points) / limit)
    merged = []
    for index in range(0, len(points), size):
        group = points[index:index + size]
        point = {"at": group[0]["at"], **{name: _avg(_values(group, name)) for name in NUMERIC},
                 "playing": any(p["playing"] for p in group)}
        for name in CATEGORICAL:
            point[name] = next((p[name] for p in reversed(group) if p.get(name) is not None), None)
        merged.append(point)
    return merged


def hourly_point(doc):
    """A chart point of one hour: averages as the main values, with the
    extremes that matter beside them; ``playing`` is the share of the hour."""
    return {
        "at": doc["hour"],
        "count": doc["count"],
        "volume": doc["volume"]["avg"],
        "volume_min": doc["volume"]["min"],
        "volume_max": doc["volume"]["max"],
        "signal_dbm": doc["signal_dbm"]["avg"],
        "signal_dbm_min": doc["signal_dbm"]["min"],
        "temperature_c": doc["temperature_c"]["avg"],
        "temperature_c_max": doc["temperature_c"]["max"],
        "mains_voltage": doc["mains_voltage"]["avg"],
        "mains_voltage_min": doc["mains_voltage"]["min"],
        "battery_voltage": doc["battery_voltage"]["min"],
        "playing": doc["playing_share"],
        "speaker_faults": doc["speaker_faults"],
    }


def resolution_for(requested, start, end):
    if requested != "auto":
        return requested
    return "raw" if end - start <= RAW_SPAN else "hourly"
