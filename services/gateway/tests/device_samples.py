"""What the telemetry service answers, shaped as its contract says
(services/telemetry/API.md) and as its views build them, for tests where a
stand-in replaces it. Each function returns a fresh copy, so a test may
change what it gets."""
import copy
from datetime import timedelta

from shared.timeutil import iso, utcnow


def sample(**changes):
    """A loudspeaker playing the morning bulletin on mains power."""
    base = {"seq": 412, "sampled_at": "2026-04-10T00:30:00.000Z", "received_at": "2026-04-10T00:30:01.000Z",
            "connection": "cellular", "signal_dbm": -71.0, "volume": 65, "playback": "playing",
            "playing_content_id": "i1", "playing_title": "Bản tin sáng", "power_source": "mains",
            "mains_voltage": 221.5, "battery_voltage": 12.6, "temperature_c": 41.5, "speaker_line": "ok",
            "brightness": None, "screen": None, "slot_active": True}
    return copy.deepcopy({**base, **changes})


def device(device_id="loa-thon-1", **changes):
    base = {"commune_id": "xuan-hung", "device_id": device_id, "name": "Cụm loa nhà văn hóa Thôn 1",
            "kind": "loudspeaker", "village": "thon-1", "location": {"lat": 20.2506, "lon": 105.9745},
            "model": "TX-200", "firmware": "1.4.2", "installed_on": "2026-03-15", "transport": "grpc",
            "presence_timeout_s": 120, "credential": {"status": "active", "credential_id": "c1",
                                                      "at": "2026-03-15T02:00:00.000Z"},
            "created_at": "2026-03-15T01:00:00.000Z", "updated_at": "2026-03-15T02:00:00.000Z", "created_by": "u1"}
    return copy.deepcopy({**base, **changes})


def listed(device_id="loa-thon-1", presence="online", last_seen=None, with_sample=True, **changes):
    """A line of ``list_devices``: the device with its presence, last contact and latest sample."""
    return dict(device(device_id, **changes), presence=presence,
                last_seen=last_seen or iso(utcnow() - timedelta(minutes=3)),
                sample=sample() if with_sample else None)


def devices():
    """Three devices of Thôn 1 and one of no village: online, offline, never connected."""
    return [
        listed(),
        listed("loa-thon-1b", "offline", last_seen=iso(utcnow() - timedelta(hours=5)), with_sample=False,
               name="Cụm loa chợ Thôn 1", location={"lat": 20.2551, "lon": 105.9812}),
        dict(listed("bang-tin-ubnd", "unknown", with_sample=False, name="Bảng tin UBND xã", kind="eboard",
                    village="thon-1", location=None, credential={"status": "none", "credential_id": None, "at": None}),
             last_seen=None),
        listed("loa-du-phong", "offline", with_sample=False, name="", village=None, location=None),
    ]


def state(**changes):
    base = {"presence": "online", "presence_since": "2026-04-10T00:00:00.000Z",
            "last_seen": iso(utcnow() - timedelta(seconds=20)), "offline_after": None, "sample": sample(),
            "sample_at": "2026-04-10T00:30:00.000Z", "firmware": "1.4.2", "capabilities": ["play", "set_volume"],
            "schedule_version": 3, "connected_at": "2026-04-10T00:00:00.000Z", "stored_through_seq": 412}
    return copy.deepcopy({**base, **changes})


def detail(device_id="loa-thon-1", **changes):
    """What ``get_device`` answers."""
    return dict(device(device_id, **changes), state=state(), open_alarms=[alarm()])


def alarm(alarm_id="a1", **changes):
    base = {"commune_id": "xuan-hung", "device_id": "loa-thon-1", "device_name": "Cụm loa nhà văn hóa Thôn 1",
            "village": "thon-1", "rule": "temperature_high", "severity": "minor", "status": "open",
            "message": "«Cụm loa nhà văn hóa Thôn 1»: nhiệt độ 63.5 °C, vượt ngưỡng 60 °C.", "occurrences": 2,
            "raised_at": "2026-04-10T05:00:00.000Z", "last_at": "2026-04-10T06:00:00.000Z", "acknowledged": None,
            "cleared": None, "alarm_id": alarm_id}
    return copy.deepcopy({**base, **changes})


def alarms():
    """Newest first: a critical offline alarm someone took on, and an open temperature alarm."""
    return [
        alarm("a2", device_id="loa-thon-1b", device_name="Cụm loa chợ Thôn 1", rule="offline", severity="critical",
              status="acknowledged", message="«Cụm loa chợ Thôn 1» mất kết nối từ 12:00 ngày 10/04/2026.",
              occurrences=1, raised_at="2026-04-10T07:00:00.000Z", last_at="2026-04-10T07:10:00.000Z",
              acknowledged={"at": "2026-04-10T07:10:00.000Z", "by": "u2", "by_name": "Anh Tuấn",
                            "note": "Đang ra kiểm tra nguồn điện"}),
        alarm(),
    ]


def rules():
    def rule(name, severity, threshold, unit):
        return {"rule": name, "label": name, "enabled": True, "severity": severity, "threshold": threshold,
                "unit": unit, "clears_itself": name == "offline",
                "default": {"enabled": True, "severity": severity, "threshold": threshold},
                "updated_at": None, "updated_by": None}
    return [rule("offline", "critical", 0, "giây"), rule("silent_slot", "major", None, ""),
            rule("mains_lost", "major", 180, "V"), rule("temperature_high", "minor", 60, "°C"),
            rule("speaker_line_fault", "major", None, "")]


def uptime(**changes):
    base = {"start": "2026-04-03T00:00:00.000Z", "end": "2026-04-10T00:00:00.000Z", "uptime": 0.9,
            "villages": {"thon-1": 0.875}, "devices": [{"device_id": "loa-thon-1", "village": "thon-1", "uptime": 0.975},
                                                      {"device_id": "loa-thon-1b", "village": "thon-1", "uptime": 0.5}]}
    return copy.deepcopy({**base, **changes})


def telemetry(points=None, resolution="raw"):
    """A day of readings: one every half hour, then a gap of three hours."""
    now = utcnow()
    if points is None:
        points = [{"at": iso(now - timedelta(minutes=30 * n)), "volume": 60 + n % 5, "signal_dbm": -70.0 - n % 3,
                   "temperature_c": 40.0 + n % 4, "mains_voltage": 220.0, "battery_voltage": 12.5,
                   "playing": n % 2 == 0, "connection": "cellular"}
                  for n in range(1, 40) if not 10 <= n <= 15]
    return {"resolution": resolution, "start": iso(now - timedelta(hours=24)), "end": iso(now),
            "points": sorted(points, key=lambda point: point["at"])}


def connections():
    now = utcnow()
    return [{"online_from": iso(now - timedelta(hours=2)), "online_until": None},
            {"online_from": iso(now - timedelta(days=1, hours=3)), "online_until": iso(now - timedelta(hours=3))}]


def import_result(rows=None, created=0):
    rows = rows if rows is not None else [{"line": 2, "device_id": "loa-thon-2", "problems": []},
                                          {"line": 3, "device_id": "loa-thon-3", "problems": []}]
    invalid = sum(1 for row in rows if row["problems"])
    return {"rows": rows, "valid": len(rows) - invalid, "invalid": invalid, "created": created}
