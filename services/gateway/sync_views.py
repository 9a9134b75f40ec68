"""The provincial sync page's view rules, with no I/O: the link's state as
the banner says it, the up and down streams as the tables show them, and a
lag in words ("3 phút", "2 giờ 5 phút").

The sync service (services/sync/API.md, "RPCs of the nameko sync service")
owns the streams, their counters and pausing; these only shape its
``status`` answer for the page. Its codes are repeated here, not imported:
services share contracts, not code.
"""
from dataclasses import dataclass

from services.gateway import console, domain
from services.gateway.i18n import label, t

# The sync service's codes, in the contract's order.
UP_STREAMS = ("content", "broadcast_stats", "devices", "tasks", "training")
DOWN_STREAMS = ("emergency", "bulletins", "directives", "courses")
LINK_STATES = ("connected", "disconnected", "never")
# pausing and resuming a stream is the commune administrator's (API.md ``pause_stream``)
MANAGE_ROLES = domain.ADMIN_ROLES
# the banner's look per link state; a state the gateway does not know yet is a warning
_TONES = {"connected": "ok", "disconnected": "error", "never": "warning"}


@dataclass(frozen=True)
class LinkView:
    """The link with the province as the banner says it."""

    state: str
    tone: str
    headline: str
    hub: str
    last_contact: str
    last_error: str


def link_view(link, lang):
    """The banner of the ``status`` answer's ``link``: connected, lost since
    the last contact (Vietnam time), or never connected, and the last error."""
    link = link or {}
    state = link.get("state") or "never"
    last_contact = console.local_time(link.get("last_contact"))
    if state == "disconnected" and last_contact:
        headline = t("sync.link.disconnected_since", lang, time=last_contact)
    elif state in LINK_STATES:
        headline = t(f"sync.link.{state}", lang)
    else:
        headline = t("sync.link.unknown", lang, state=state)
    return LinkView(state=state, tone=_TONES.get(state, "warning"), headline=headline, hub=link.get("hub") or "",
                    last_contact=last_contact, last_error=link.get("last_error") or "")


@dataclass(frozen=True)
class StreamRow:
    """One stream of the page: its name, the two counters the table shows
    (produced and acknowledged going up, received and delivered coming
    down), what still waits, the lag (up only) and whether it is paused."""

    stream: str
    name: str
    first: int
    second: int
    backlog: int
    paused: bool
    lag: str = ""

    @property
    def behind(self):
        """Records still wait: the table highlights the row."""
        return self.backlog > 0


def stream_name(stream, lang):
    """A stream in words ("Thiết bị"); a stream the gateway does not know yet shows as its code."""
    return label("sync_stream", stream, lang)


def up_rows(status, lang):
    """The up streams (xã → tỉnh) in the service's order."""
    return [StreamRow(stream=entry["stream"], name=stream_name(entry["stream"], lang),
                      first=entry.get("produced") or 0, second=entry.get("acknowledged") or 0,
                      backlog=entry.get("backlog") or 0, paused=bool(entry.get("paused")),
                      lag=lag(entry.get("lag_seconds"), lang))
            for entry in status.get("up") or ()]


def down_rows(status, lang):
    """The down streams (tỉnh → xã) in the service's order."""
    return [StreamRow(stream=entry["stream"], name=stream_name(entry["stream"], lang),
                      first=entry.get("received") or 0, second=entry.get("delivered") or 0,
                      backlog=entry.get("backlog") or 0, paused=bool(entry.get("paused")))
            for entry in status.get("down") or ()]


def lag(seconds, lang):
    """The age of the oldest record the province has not acknowledged, in
    words, counted down to the minute: none, under a minute, "3 phút",
    "2 giờ 5 phút", "1 ngày 3 giờ"."""
    seconds = int(seconds or 0)
    if seconds <= 0:
        return t("sync.lag.none", lang)
    if seconds < 60:
        return t("sync.lag.under_minute", lang)
    minutes = seconds // 60
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if days:
        return t("sync.lag.days_hours", lang, days=days, hours=hours) if hours else t("sync.lag.days", lang, days=days)
    if hours:
        return t("sync.lag.hours_minutes", lang, hours=hours, minutes=minutes) if minutes else \
            t("sync.lag.hours", lang, hours=hours)
    return t("sync.lag.minutes", lang, minutes=minutes)
