"""Proof of play (xác nhận đã phát): play records from what devices report,
and broadcast hours per device, village and commune per Vietnamese day — the
rules, with no I/O.

A device reports each play once it ended, with its true start and end, even
when it reports hours later after an outage (it played from its own copy of
the schedule). A report is kept once (by ``report_id``, which the device
keeps when it resends). Hours count airtime, not reports: a device's plays
on a day are merged as intervals before they are summed, so an interrupted
programme and its resumption, or a report that arrives twice under two ids,
never count the same minute twice. A play that crosses midnight (Vietnam
time) counts on each day for its part of it. A village's hours are the sum
of its devices' hours; the commune's the sum of all its devices' (device
hours: the quantity the commune's report asks for).
"""
from datetime import datetime, time, timedelta

from shared.timeutil import VIETNAM, iso, parse_iso

# a report normally arrives within a second or two of the play's end; later means the device was cut off
LATE_AFTER = timedelta(seconds=10)
DAY = timedelta(days=1)
MAX_PLAY = timedelta(days=1)


def play_record(report, village, broadcast_by_command, received_at):
    """The stored play of one report (a ``plays_reported`` item), or None if
    its times are unusable (ended before it started, or longer than a day)."""
    started, ended = parse_iso(report["started_at"]), parse_iso(report["ended_at"])
    if ended < started or ended - started > MAX_PLAY:
        return None
    slot_id = report.get("slot_id") or ""
    command_id = report.get("command_id") or ""
    return {
        "_id": report["report_id"],
        "report_id": report["report_id"],
        "device_id": report["device_id"],
        "village": village,
        "content_id": report.get("content_id") or "",
        "title": report.get("title") or "",
        "command_id": command_id,
        "broadcast_id": broadcast_by_command.get(command_id),
        "slot_id": slot_id,
        "programme_id": slot_id.split("/", 1)[0] if slot_id else None,
        "started_at": iso(started),
        "ended_at": iso(ended),
        "seconds": round((ended - started).total_seconds(), 3),
        "completed": bool(report.get("completed")),
        "reported_at": iso(received_at),
        "late": received_at - ended > LATE_AFTER,
        "days": days_touched(started, ended),
    }


def days_touched(started, ended):
    """The Vietnamese dates (ISO) a play from ``started`` to ``ended`` touches."""
    first, last = started.astimezone(VIETNAM).date(), ended.astimezone(VIETNAM).date()
    days = []
    while first <= last:
        days.append(first.isoformat())
        first += DAY
    return days


def day_bounds(day):
    """The UTC start and end of Vietnamese date ``day`` (a ``date``)."""
    start = datetime.combine(day, time(), tzinfo=VIETNAM)
    return start, start + DAY


def _merged_seconds(intervals):
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return total


def day_hours(day, plays):
    """Broadcast hours of Vietnamese date ``day`` from the ``plays`` touching
    it: ``{date, hours, villages: {id: h}, devices: {id: h}, plays}``; hours
    rounded to the second (in hours, 4 decimals)."""
    start, end = day_bounds(day)
    per_device, villages, counted = {}, {}, 0
    for play in plays:
        started, ended = max(parse_iso(play["started_at"]), start), min(parse_iso(play["ended_at"]), end)
        if ended <= started:
            continue
        counted += 1
        per_device.setdefault(play["device_id"], []).append((started, ended))
        villages.setdefault(play["device_id"], play.get("village"))
    devices = {device_id: _merged_seconds(intervals) / 3600 for device_id, intervals in per_device.items()}
    by_village = {}
    for device_id, hours in devices.items():
        village = villages[device_id] or ""
        by_village[village] = by_village.get(village, 0.0) + hours
    return {"date": day.isoformat(), "hours": round(sum(devices.values()), 4),
            "villages": {v: round(h, 4) for v, h in sorted(by_village.items())},
            "devices": {d: round(h, 4) for d, h in sorted(devices.items())}, "plays": counted}
