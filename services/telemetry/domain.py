"""Device presence (hiện trạng thiết bị): the rules, with no I/O.

A device reports its status over DeviceLink; the edge turns a valid report
into a ``device_status_reported`` event and the service keeps each device's
latest status. Reports arrive late, twice or out of order (devices are often
offline and retry), so a report only counts if it is newer than the one kept.
"""
from datetime import datetime, timedelta, timezone

from shared.errors import InvalidInput
from shared.events import make_event
from shared.timeutil import iso, utcnow

SOURCE = "telemetry"
STATUS_REPORTED = "device_status_reported"

ID_MAX_LENGTH = 64
# A report stamped further ahead than this would hide every later report.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def status_reported_event(commune_id, device_id, online, volume, playing, reported_at, now=None):
    """The ``device_status_reported`` event for one report.

    ``volume`` is None when the device could not tell; ``reported_at`` an
    aware datetime, or None when the device sent none. Raises InvalidInput
    naming every problem of the report.
    """
    problems = []
    for field, value, label in (("commune_id", commune_id, "mã xã"), ("device_id", device_id, "mã thiết bị")):
        if not value or not value.strip():
            problems.append(f"{field}: thiếu {label}")
        elif len(value) > ID_MAX_LENGTH:
            problems.append(f"{field}: {label} dài quá {ID_MAX_LENGTH} ký tự")
    if volume is not None and not 0 <= volume <= 100:
        problems.append(f"volume: âm lượng phải từ 0 đến 100 (nhận {volume})")
    if reported_at is None:
        problems.append("reported_at: thiếu thời điểm báo cáo")
    elif reported_at > (now or utcnow()) + MAX_CLOCK_SKEW:
        problems.append(f"reported_at: thời điểm {iso(reported_at)} ở tương lai; kiểm tra đồng hồ thiết bị")
    if problems:
        raise InvalidInput("Báo cáo trạng thái không hợp lệ — " + "; ".join(problems), {"problems": problems})
    return make_event(
        SOURCE, STATUS_REPORTED, commune_id,
        device_id=device_id, online=online, volume=volume, playing=playing, reported_at=iso(reported_at),
    )


def presence_from_event(event):
    """A device's presence as of a ``device_status_reported`` event."""
    return {
        "commune_id": event["commune_id"],
        "device_id": event["device_id"],
        "online": event["online"],
        "volume": event.get("volume"),
        "playing": event.get("playing", False),
        "last_reported_at": _normalised(event["reported_at"]),
        "last_event_id": event["event_id"],
    }


def _normalised(moment):
    """One fixed-width UTC form, so stored times compare as strings."""
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return iso(parsed)
