"""The broadcasting pages' view rules (phát thanh), with no I/O: which
levels and steps the console offers whom, the inbox by level, the
emergency's confirmation, the schedule builder's RRULE and its reading back,
a programme's schedule in words, the calendar's week, and times in Vietnam's
clock.

The broadcast service (services/broadcast/API.md) owns every rule about
broadcasts; these only shape its answers for the pages and the pages' forms
for its requests. Its codes are repeated here, not imported: services share
contracts, not code.
"""
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.errors import InvalidInput
from shared.text import fold
from shared.timeutil import VIETNAM

from services.gateway.device_views import parse_time
from services.gateway.domain import day_month_year
from services.gateway.i18n import label, t

# The broadcast service's codes, for the console's selects and labels.
LEVELS = ("normal", "priority", "emergency")
INBOX_ORDER = ("emergency", "priority", "normal")
STATES = ("inbox", "needs_order", "scheduled", "sending", "done", "expired", "cancelled")
DELIVERY_STATES = ("queued", "sent", "acknowledged", "playing", "played", "failed")
ORIGINS = ("commune", "province", "central", "cap")
BROADCAST_KINDS = ("audio", "text")
ITEM_KINDS = ("audio", "text", "image")
PRIORITIES = ("normal", "high")
CAP_ACTIONS = ("created", "updated", "cancelled", "ignored")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FINISHED = ("done", "expired", "cancelled")
# Who may do what (API.md "Roles"): the broadcast service decides; the console
# offers its forms to the same roles.
OPERATE_ROLES = ("commune_admin", "operator")
EMERGENCY_ROLES = ("commune_admin", "approver")
SENDER_ROLES = ("commune_admin", "operator", "approver")
BULLETIN_ROLES = OPERATE_ROLES
# while a broadcast is sending, its page reloads itself (pages carry no scripts)
LIVE_REFRESH_SECONDS = 2
PLAYLIST_ROWS = 5
RECENT_BROADCASTS = 30

_TIME_OF_DAY = re.compile(r"(\d{1,2})\s*[:hg.]\s*(\d{2})")


def offered_levels(caller):
    """The levels ``caller`` may play now: operators normal and priority
    bulletins, the commune's leaders an emergency."""
    levels = ["normal", "priority"] if caller.has_any(*OPERATE_ROLES) else []
    return levels + (["emergency"] if caller.has_any(*EMERGENCY_ROLES) else [])


def actions(broadcast, caller):
    """The steps the console offers ``caller`` on ``broadcast``: schedule an
    inbox bulletin, order one that clashes, cancel one not yet over. Those who
    may play an emergency may also stop it."""
    state = broadcast["state"]
    operating = caller.has_any(*OPERATE_ROLES)
    stopping = operating or (broadcast["level"] == "emergency" and caller.has_any(*EMERGENCY_ROLES))
    offered = {"schedule": operating and state == "inbox",
               "order": operating and state == "needs_order",
               "cancel": stopping and state not in FINISHED}
    return {action for action, allowed in offered.items() if allowed}


@dataclass(frozen=True)
class InboxLevel:
    """The bulletins of one level waiting for the commune, and how many there are."""

    level: str
    count: int
    items: list


def inbox(items, counts):
    """Waiting bulletins by level, emergency first, in the service's order;
    the counts are the service's where it gives them."""
    return [InboxLevel(level, counts.get(level, sum(1 for item in items if item["level"] == level)),
                       [item for item in items if item["level"] == level])
            for level in INBOX_ORDER]


def newest_first(items, limit=RECENT_BROADCASTS):
    return sorted(items, key=lambda item: item.get("created_at") or "", reverse=True)[:limit]


@dataclass(frozen=True)
class Confirmation:
    """What an emergency would interrupt: ``device_count`` (None when the
    service did not say) and the devices, each ``{device_id, name, village}``."""

    message: str
    device_count: int | None
    devices: list


def confirmation(refusal, request, known_devices):
    """The confirmation the service asks for before an emergency: its answer
    to an emergency sent without ``confirm`` is a Conflict whose details name
    the devices; None for any other refusal. Details cross nameko's RPC as
    text (numbers as strings), or not at all: then only the message is known."""
    if refusal.status != 409 or request.get("level") != "emergency" or request.get("confirm"):
        return None
    details = refusal.details or {}
    if details and str(details.get("confirmation_required")).lower() != "true":
        return None
    registry = {device["device_id"]: device for device in known_devices}
    devices = []
    for entry in details.get("devices") or ():
        given = entry if isinstance(entry, dict) else {"device_id": str(entry)}
        known = registry.get(given.get("device_id"), {})
        devices.append({"device_id": given.get("device_id"),
                        "name": given.get("name") or known.get("name") or given.get("device_id"),
                        "village": given.get("village") or known.get("village")})
    count = details.get("device_count")
    try:
        device_count = int(count) if count is not None else (len(devices) if devices else None)
    except (TypeError, ValueError):
        device_count = len(devices) or None
    return Confirmation(refusal.message, device_count, devices)


def clock(value):
    """An ISO UTC time on Vietnam's clock with seconds, "20:50:07": a
    delivery's steps are seconds apart."""
    if not value:
        return ""
    return parse_time(value).astimezone(VIETNAM).strftime("%H:%M:%S")


def wall_time(value):
    """A Vietnamese wall time ("2026-12-01T06:30", no zone) as staff read it: "01/12/2026 06:30"."""
    if not value:
        return ""
    return datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M")


def local_day(value):
    """The Vietnamese date of an ISO UTC time."""
    return parse_time(value).astimezone(VIETNAM).date()


# --- the schedule builder --------------------------------------------------------------------

def times_of_day(text):
    """"6:00, 17h30" as sorted, distinct ``(hour, minute)`` pairs."""
    pairs, wrong = set(), []
    for part in re.split(r"[,;\s]+", (text or "").strip()):
        match = _TIME_OF_DAY.fullmatch(part.lower()) if part else None
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            pairs.add((int(match[1]), int(match[2])))
        elif part:
            wrong.append(part)
    if wrong:
        raise InvalidInput("Giờ phát không hợp lệ: " + ", ".join(f"«{part}»" for part in wrong)
                           + " — ghi giờ:phút, ví dụ 06:00, 17:30.", {"times": text})
    if not pairs:
        raise InvalidInput("Hãy nhập ít nhất một giờ phát trong ngày (ví dụ 06:00, 17:30).", {"times": text})
    return sorted(pairs)


def weekly_rrule(times_text, weekdays):
    """The RRULE of the builder: the times of day on the chosen weekdays
    (every day: FREQ=DAILY). A rule fixes hours and minutes apart, so every
    chosen hour plays at every chosen minute; times that are no such grid
    ("06:00, 17:30" would also play 06:30 and 17:00) are refused rather than
    widened."""
    pairs = times_of_day(times_text)
    unknown = sorted(set(weekdays) - set(WEEKDAYS))
    if unknown:
        raise InvalidInput(f"Ngày trong tuần không hợp lệ: {', '.join(unknown)}.", {"weekdays": unknown})
    days = [day for day in WEEKDAYS if day in set(weekdays)]
    if not days:
        raise InvalidInput("Hãy chọn ít nhất một ngày trong tuần.", {"weekdays": []})
    hours = sorted({hour for hour, _ in pairs})
    minutes = sorted({minute for _, minute in pairs})
    if len(pairs) != len(hours) * len(minutes):
        raise InvalidInput("Các giờ phát phải cùng số phút (ví dụ 06:00, 11:00, 17:00) hoặc cùng giờ (06:00, 06:30): "
                           "một lịch lặp ghi giờ và phút riêng rẽ. Hãy tách thành hai chương trình, hoặc viết "
                           "quy tắc RRULE.", {"times": times_text})
    by_time = f"BYHOUR={','.join(map(str, hours))};BYMINUTE={','.join(map(str, minutes))}"
    if len(days) == len(WEEKDAYS):
        return f"FREQ=DAILY;{by_time}"
    return f"FREQ=WEEKLY;BYDAY={','.join(days)};{by_time}"


def builder_schedule(rrule):
    """``{"times", "weekdays"}`` of a rule the builder could have made, or
    None (the editor then shows the rule as written)."""
    parts = dict(part.split("=", 1) for part in (rrule or "").split(";") if "=" in part)
    if set(parts) - {"FREQ", "BYDAY", "BYHOUR", "BYMINUTE"} or not {"BYHOUR", "BYMINUTE"} <= set(parts):
        return None
    if parts["FREQ"] == "DAILY" and "BYDAY" not in parts:
        days = list(WEEKDAYS)
    elif parts["FREQ"] == "WEEKLY" and parts.get("BYDAY"):
        days = parts["BYDAY"].split(",")
        if not set(days) <= set(WEEKDAYS):
            return None
        days = [day for day in WEEKDAYS if day in days]
    else:
        return None
    try:
        hours = sorted({int(hour) for hour in parts["BYHOUR"].split(",")})
        minutes = sorted({int(minute) for minute in parts["BYMINUTE"].split(",")})
    except ValueError:
        return None
    return {"times": ", ".join(f"{hour:02d}:{minute:02d}" for hour in hours for minute in minutes),
            "weekdays": days}


def describe_when(when, lang):
    """A programme's schedule in words: "Thứ Hai, Thứ Tư lúc 06:00, 17:00, từ
    01/12/2026", "Một lần lúc 01/12/2026 06:30", or the rule as written."""
    if not when:
        return t("common.none", lang)
    if when.get("at"):
        return t("when.once", lang, time=wall_time(when["at"]))
    built = builder_schedule(when.get("rrule"))
    if built:
        days = t("when.every_day", lang) if len(built["weekdays"]) == len(WEEKDAYS) else \
            ", ".join(label("weekday", day, lang) for day in built["weekdays"])
        text = t("when.recurring", lang, days=days, times=built["times"])
    else:
        text = t("when.rrule", lang, rrule=when.get("rrule") or "")
    if when.get("start_date"):
        text += t("when.from", lang, date=day_month_year(when["start_date"]))
    if when.get("until"):
        text += t("when.until", lang, date=day_month_year(when["until"]))
    return text


def describe_target(target, zone_names, lang):
    """Where a broadcast or programme plays: the whole commune, its zones by name, its single devices."""
    target = target or {}
    parts = [t("target.commune", lang)] if target.get("commune") else []
    if target.get("zones"):
        parts.append(t("target.zones", lang, zones=", ".join(zone_names.get(z, z) for z in target["zones"])))
    if target.get("devices"):
        parts.append(t("target.devices", lang, devices=", ".join(target["devices"])))
    return "; ".join(parts) or t("common.none", lang)


def new_programme_id(name):
    """A readable id for a new programme, unique by its random tail (the
    service replaces the programme saved under an existing id)."""
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:40].strip("-") or "chuong-trinh"
    return f"{base}-{secrets.token_hex(3)}"


def _blank_items(count):
    return [{"content_id": "", "title": "", "kind": "audio", "duration_seconds": "", "media_url": ""}
            for _ in range(count)]


def padded_items(items):
    """The playlist's rows: its items, then blank rows (at least two, at least ``PLAYLIST_ROWS`` in all)."""
    return list(items) + _blank_items(max(PLAYLIST_ROWS - len(items), 2))


def target_values(target):
    target = target or {}
    return {"commune": bool(target.get("commune")), "zones": list(target.get("zones") or ()),
            "devices": list(target.get("devices") or ())}


def new_programme_values(today):
    """The editor of a new programme: normal priority, every day at 06:00 and 17:00 from today, the whole commune."""
    return {"name": "", "priority": "normal", "repeat": "1", "gap_seconds": "0", "valid_from": "", "valid_until": "",
            **target_values({"commune": True}), "items": padded_items([]), "schedule_mode": "builder",
            "times": "06:00, 17:00", "weekdays": list(WEEKDAYS), "rrule": "", "start_date": today.isoformat(),
            "until": "", "at": ""}


def programme_values(programme, today):
    """The editor's fields of a stored programme."""
    when = programme.get("when") or {}
    built = builder_schedule(when.get("rrule")) if when.get("rrule") else None
    mode = "once" if when.get("at") else "builder" if built else "rrule"
    items = [{"content_id": item.get("content_id", ""), "title": item.get("title", ""),
              "kind": item.get("kind", "audio"), "duration_seconds": str(item.get("duration_seconds", "")),
              "media_url": item.get("media_url", "")} for item in programme.get("items", ())]
    return {"name": programme.get("name", ""), "priority": programme.get("priority", "normal"),
            "repeat": str(programme.get("repeat", 1)), "gap_seconds": str(programme.get("gap_seconds", 0)),
            "valid_from": programme.get("valid_from") or "", "valid_until": programme.get("valid_until") or "",
            **target_values(programme.get("target")), "items": padded_items(items), "schedule_mode": mode,
            "times": built["times"] if built else "", "weekdays": built["weekdays"] if built else [],
            "rrule": when.get("rrule") or "", "start_date": when.get("start_date") or today.isoformat(),
            "until": when.get("until") or "", "at": (when.get("at") or "")[:16]}


# --- the calendar ----------------------------------------------------------------------------

def week_start(value, today):
    """The Monday of the week of ``value`` ("2026-11-26"), or of ``today``
    when it is missing or no date."""
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        day = today
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Slot:
    """One occurrence in the calendar, on Vietnam's clock."""

    programme_id: str
    name: str
    priority: str
    starts: str
    ends: str
    device_count: int


@dataclass(frozen=True)
class CalendarRow:
    """A zone's week: ``days`` holds seven lists of slots, Monday first.
    ``zone_id`` None is the row of occurrences on devices of no listed zone."""

    zone_id: str | None
    name: str | None
    days: list


def calendar_rows(answer, monday, zone_id=None):
    """``(days, rows)``: the week's seven dates and a row per zone of the
    service's calendar answer (only ``zone_id``'s when given), each
    occurrence under the day it starts (Vietnam's date) in every zone it
    plays in."""
    days = [monday + timedelta(days=offset) for offset in range(7)]
    zones = [zone for zone in answer.get("zones") or () if zone_id in (None, zone["id"])]
    cells = {zone["id"]: [[] for _ in days] for zone in zones}
    elsewhere = [[] for _ in days]
    for occurrence in sorted(answer.get("occurrences") or (), key=lambda o: o["starts_at"]):
        starts = parse_time(occurrence["starts_at"]).astimezone(VIETNAM)
        index = (starts.date() - monday).days
        if not 0 <= index < len(days):
            continue
        slot = Slot(occurrence["programme_id"], occurrence.get("name") or occurrence["programme_id"],
                    occurrence.get("priority") or "normal", starts.strftime("%H:%M"),
                    parse_time(occurrence["ends_at"]).astimezone(VIETNAM).strftime("%H:%M"),
                    occurrence.get("device_count") or 0)
        placed = [zone for zone in occurrence.get("zones") or () if zone in cells]
        for zone in placed:
            cells[zone][index].append(slot)
        if not placed and zone_id is None:
            elsewhere[index].append(slot)
    rows = [CalendarRow(zone["id"], zone.get("name") or zone["id"], cells[zone["id"]]) for zone in zones]
    if any(elsewhere):
        rows.append(CalendarRow(None, None, elsewhere))
    return days, rows


# --- proof of play ---------------------------------------------------------------------------

def day_or_today(value, today):
    """A Vietnamese date ("2026-11-26") as given, or today's when it is missing or no date."""
    try:
        return date.fromisoformat(value).isoformat() if value else today.isoformat()
    except ValueError:
        return today.isoformat()


@dataclass(frozen=True)
class DayHours:
    """A Vietnamese day's broadcast hours: the commune's, and per village ``[(village id, name, hours)]``."""

    day: str
    hours: float
    plays: int
    villages: list


def day_hours(answer, day, villages):
    """The hours of ``day`` in a broadcast_hours answer, villages in the
    commune's order (one it no longer lists keeps its id as its name)."""
    found = next((entry for entry in answer.get("days") or () if entry.get("date") == day), None) or {}
    measured = found.get("villages") or {}
    names = {village["id"]: village["name"] for village in villages}
    order = [village["id"] for village in villages if village["id"] in measured]
    order += sorted(key for key in measured if key not in names)
    return DayHours(day, found.get("hours") or 0, found.get("plays") or 0,
                    [(key, names.get(key, key), measured[key]) for key in order])
