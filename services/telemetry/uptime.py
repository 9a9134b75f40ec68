"""Uptime (thời gian hoạt động): the share of a period a device was online,
from its connection history — interval arithmetic, with no I/O.

A device counts only from its registration: its uptime over a period is the
time it was online within the period divided by the time it was registered
within it (up to now, for a period not over yet). A village's and the
commune's uptime are the same ratio over their devices' summed times, so a
device registered for half the period weighs half.
"""
from datetime import datetime, time, timedelta, timezone

from services.telemetry.domain import SOURCE
from shared.events import outgoing
from shared.timeutil import VIETNAM, iso, parse_iso

# how many ended days a commune's first report (or one after a long outage)
# goes back: older days are not reported late
MAX_CATCH_UP_DAYS = 31


def local_day(day):
    """``(start, end)`` of a calendar day in Vietnam, as aware UTC datetimes."""
    start = datetime.combine(day, time(0), VIETNAM).astimezone(timezone.utc)
    return start, start + timedelta(days=1)


def period(start, end):
    """The bounds of a period given as dates (whole local days, ``end``
    included) or aware datetimes."""
    start = local_day(start)[0] if not isinstance(start, datetime) else start
    end = local_day(end)[1] if not isinstance(end, datetime) else end
    return start, end


def _seconds(start, end):
    return max((end - start).total_seconds(), 0.0)


def device_times(created_at, connections, start, end, now):
    """``(online seconds, registered seconds)`` of one device within
    [start, end); an open connection lasts until now."""
    window_start = max(start, parse_iso(created_at))
    window_end = min(end, now)
    registered = _seconds(window_start, window_end)
    online = 0.0
    for connection in connections:
        until = parse_iso(connection["online_until"]) if connection.get("online_until") else now
        online += _seconds(max(window_start, parse_iso(connection["online_from"])), min(window_end, until))
    return min(online, registered), registered


def _ratio(online, registered):
    return round(online / registered, 4) if registered > 0 else None


def summary(devices, connections, start, end, now):
    """Uptime of each device, village and the commune over [start, end).

    ``connections`` maps a device id to its connections overlapping the
    period. Devices registered after the period are left out.
    """
    lines, villages, total = [], {}, [0.0, 0.0]
    for device in sorted(devices, key=lambda d: (d.get("village") or "", d["device_id"])):
        online, registered = device_times(device["created_at"], connections.get(device["device_id"], ()),
                                          start, end, now)
        if registered <= 0:
            continue
        lines.append({"device_id": device["device_id"], "village": device.get("village"),
                      "uptime": _ratio(online, registered)})
        total[0] += online
        total[1] += registered
        if device.get("village"):
            sums = villages.setdefault(device["village"], [0.0, 0.0])
            sums[0] += online
            sums[1] += registered
    return {"start": iso(start), "end": iso(end), "uptime": _ratio(*total),
            "villages": {name: _ratio(*sums) for name, sums in sorted(villages.items())}, "devices": lines}


def days_to_report(last_reported, first_day, today):
    """The ended local days not reported yet, oldest first: after the last
    reported one (or from the commune's first device), before today."""
    start = last_reported + timedelta(days=1) if last_reported else first_day
    start = max(start, today - timedelta(days=MAX_CATCH_UP_DAYS))
    return [start + timedelta(days=n) for n in range((today - start).days)]


def uptime_event(commune_id, day, result):
    """``uptime_reported`` of one local day."""
    return outgoing(SOURCE, "uptime_reported", commune_id, start=result["start"], end=result["end"],
                    date=day.isoformat(), devices=len(result["devices"]), uptime=result["uptime"],
                    villages=result["villages"])
