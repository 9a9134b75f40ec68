"""The commune's home dashboard (trang tổng quan) worked out from other
services' answers, with no I/O: devices online per village (thôn), what
plays today per zone on Vietnam's clock, open alarms by severity, the
link with the province in a few numbers, the latest publications, and the
same data as the JSON of ``GET /api/home``.

Each panel comes as an ``Answer``: the service's reply, or ``available``
False when the service did not answer in time (the page says so for that
panel alone). The services' codes are repeated here, not imported:
services share contracts, not code.
"""
from dataclasses import asdict, dataclass
from datetime import datetime, time

from shared.timeutil import VIETNAM

from services.gateway import device_views

# the panels, in the order the page and the JSON give them; each is one service's answer
PANELS = ("plans", "devices", "programmes", "alarms", "sync", "publications")
RECENT_ALARMS = 5
RECENT_PUBLICATIONS = 5


@dataclass(frozen=True)
class Answer:
    """A service's reply to one panel, or ``available`` False without one."""

    available: bool
    value: object = None


UNAVAILABLE = Answer(False)


# --- devices by village ----------------------------------------------------------------------

@dataclass(frozen=True)
class VillagePresence:
    """A village's devices: how many answer now out of how many there are.
    ``village`` None is the devices of no village."""

    village: str | None
    name: str | None
    online: int
    total: int

    @property
    def offline(self):
        """Devices not online now: offline, or never heard from."""
        return self.total - self.online


@dataclass(frozen=True)
class DevicesPanel:
    online: int
    total: int
    villages: list

    @property
    def villages_with_offline(self):
        return [village for village in self.villages if village.offline]


def devices_panel(devices, villages):
    """Devices online per village in the commune's order of villages (those
    with no device left out), from a ``list_devices`` answer."""
    rows = [VillagePresence(group.village_id, group.name, group.counts.get("online", 0), len(group.devices))
            for group in device_views.village_groups(devices, villages)]
    return DevicesPanel(online=sum(row.online for row in rows), total=sum(row.total for row in rows), villages=rows)


# --- today's programmes ----------------------------------------------------------------------

@dataclass(frozen=True)
class Slot:
    """One occurrence of a programme, its times on Vietnam's clock ("06:30")."""

    programme_id: str
    name: str
    priority: str
    starts_at: str
    ends_at: str
    starts: str
    ends: str
    device_count: int
    from_yesterday: bool = False


@dataclass(frozen=True)
class ZoneDay:
    """A zone's programmes of the day; ``zone_id`` None is the row of
    occurrences on devices of no listed zone."""

    zone_id: str | None
    name: str | None
    slots: list


def todays_programmes(answer, today):
    """The zones that play something on ``today`` (a Vietnamese date), in the
    calendar's order of zones, each with its occurrences by starting time,
    from a ``calendar(today, today)`` answer. An occurrence that began
    yesterday evening and still plays after midnight is today's too
    (``from_yesterday``); one that ended by midnight is not."""
    zones = answer.get("zones") or ()
    cells = {zone["id"]: [] for zone in zones}
    elsewhere = []
    for occurrence in sorted(answer.get("occurrences") or (), key=lambda o: o["starts_at"]):
        starts = device_views.parse_time(occurrence["starts_at"]).astimezone(VIETNAM)
        ends = device_views.parse_time(occurrence["ends_at"]).astimezone(VIETNAM)
        from_yesterday = starts.date() < today and ends > datetime.combine(today, time.min, VIETNAM)
        if starts.date() != today and not from_yesterday:
            continue
        slot = Slot(occurrence["programme_id"], occurrence.get("name") or occurrence["programme_id"],
                    occurrence.get("priority") or "normal", occurrence["starts_at"], occurrence["ends_at"],
                    starts.strftime("%H:%M"), ends.strftime("%H:%M"), occurrence.get("device_count") or 0,
                    from_yesterday)
        placed = [zone for zone in occurrence.get("zones") or () if zone in cells]
        for zone in placed:
            cells[zone].append(slot)
        if not placed:
            elsewhere.append(slot)
    rows = [ZoneDay(zone["id"], zone.get("name") or zone["id"], cells[zone["id"]])
            for zone in zones if cells[zone["id"]]]
    if elsewhere:
        rows.append(ZoneDay(None, None, elsewhere))
    return rows


# --- open alarms -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlarmsPanel:
    total: int
    by_severity: dict
    recent: list


def alarms_panel(alarms):
    """Active alarms (a ``list_alarms`` answer, newest first) counted by
    severity, most severe first, and the few most recent."""
    counts = dict.fromkeys(device_views.SEVERITIES, 0)
    for alarm in alarms:
        counts[alarm.get("severity")] = counts.get(alarm.get("severity"), 0) + 1
    return AlarmsPanel(total=len(alarms), by_severity=counts, recent=list(alarms[:RECENT_ALARMS]))


# --- the link with the province ------------------------------------------------------------------

@dataclass(frozen=True)
class SyncPanel:
    link: dict
    backlog_up: int
    backlog_down: int
    lag_seconds: int
    paused: list


def sync_panel(status):
    """A ``status`` answer in a few numbers: the link, what waits to go up
    and to come down, the oldest unacknowledged record's age, the paused streams."""
    up, down = status.get("up") or (), status.get("down") or ()
    link = status.get("link") or {}
    return SyncPanel(
        link={"state": link.get("state") or "never", "hub": link.get("hub"), "last_contact": link.get("last_contact"),
              "last_error": link.get("last_error")},
        backlog_up=sum(entry.get("backlog") or 0 for entry in up),
        backlog_down=sum(entry.get("backlog") or 0 for entry in down),
        lag_seconds=max((int(entry.get("lag_seconds") or 0) for entry in up), default=0),
        paused=[entry["stream"] for entry in (*up, *down) if entry.get("paused")])


# --- the whole dashboard -------------------------------------------------------------------------

@dataclass(frozen=True)
class Home:
    """Every panel, shaped, or None where its service did not answer."""

    plans: list | None
    devices: DevicesPanel | None
    programmes: list | None
    alarms: AlarmsPanel | None
    sync: SyncPanel | None
    publications: list | None


def home(answers, commune, today):
    """The dashboard from the panels' ``Answer``s (name → Answer)."""
    def shaped(name, shape):
        answer = answers.get(name, UNAVAILABLE)
        return shape(answer.value) if answer.available else None

    return Home(
        plans=shaped("plans", list),
        devices=shaped("devices", lambda devices: devices_panel(devices, commune.get("villages") or [])),
        programmes=shaped("programmes", lambda answer: todays_programmes(answer, today)),
        alarms=shaped("alarms", alarms_panel),
        sync=shaped("sync", sync_panel),
        publications=shaped("publications", lambda items: list(items)[:RECENT_PUBLICATIONS]),
    )


def home_json(dashboard, commune_id, today, generated_at, activity):
    """The body of ``GET /api/home``: every panel as ``{available, …}``."""
    def panel(value, shape):
        return {"available": False} if value is None else {"available": True, **shape(value)}

    return {
        "commune_id": commune_id,
        "date": today.isoformat(),
        "generated_at": generated_at,
        "plans": panel(dashboard.plans, lambda plans: {"items": plans}),
        "devices": panel(dashboard.devices, lambda devices: {
            "online": devices.online, "total": devices.total,
            "villages": [dict(asdict(row), offline=row.offline) for row in devices.villages]}),
        "programmes": panel(dashboard.programmes, lambda rows: {"zones": [asdict(row) for row in rows]}),
        "alarms": panel(dashboard.alarms, asdict),
        "sync": panel(dashboard.sync, asdict),
        "publications": panel(dashboard.publications, lambda items: {"items": items}),
        "activity": {"available": True, "items": activity},
    }
