"""Presence (trạng thái kết nối): when a device counts as online or offline —
the transitions, with no I/O.

The edge stamps ``device_state.last_seen`` and ``offline_after`` (last seen +
the device's timeout) whenever it hears from a device; ``Goodbye`` sets
``offline_after`` to now. The service's sweep turns those stamps into
presence: a device whose ``offline_after`` passed went offline *at*
``offline_after``; a device heard from again came online. Each transition is
a compare-and-set on the state as read (a device heard from while the sweep
decided is left for the next pass) and carries its ``device_status_reported``
event and the connection history to write.
"""
from dataclasses import dataclass

from services.telemetry.domain import SOURCE, Change
from shared.events import outgoing
from shared.timeutil import iso

ONLINE = "online"
OFFLINE = "offline"
# never heard from (``domain.presence_of``)
UNKNOWN = "unknown"

# the offline alarm of an offline period: waiting for its threshold, raised,
# or not wanted (the device is online, or the rule is off)
ALARM_PENDING = "pending"
ALARM_RAISED = "raised"
ALARM_NONE = "none"


@dataclass
class Transition:
    """A presence change of one device and what it writes."""

    commune_id: str
    device_id: str
    online: bool
    since: str
    change: Change
    # the connection (online period) it opens, by its start
    opens: str | None = None
    # the connection it closes: (online_from, online_until)
    closes: tuple | None = None
    # when the device went offline before coming back: a connection a crash
    # left open is closed there
    offline_since: str | None = None


def _playing(sample):
    return (sample or {}).get("playback") == "playing"


def _volume(sample):
    volume = (sample or {}).get("volume")
    return int(volume) if isinstance(volume, (int, float)) and 0 <= volume <= 100 else None


def status_event(state, online, reported_at):
    """``device_status_reported``: the presence, with volume and playback from
    the latest sample."""
    sample = state.get("sample")
    return outgoing(SOURCE, "device_status_reported", state["commune_id"], device_id=state["device_id"],
                    online=online, volume=_volume(sample), playing=_playing(sample), reported_at=reported_at)


def went_offline(state, now):
    """The device was online and its ``offline_after`` passed: offline since
    then. The event's ``reported_at`` is that moment — later than the online
    report's last-heard time even for a device that sent one message and died,
    so readers that keep the newest report take it."""
    offline_after = state.get("offline_after")
    if state.get("presence") != ONLINE or not offline_after or offline_after >= iso(now):
        return None
    change = Change(
        set={"presence": OFFLINE, "presence_since": offline_after, "offline_alarm": ALARM_PENDING},
        expect={"presence": ONLINE, "offline_after": offline_after},
        events=[status_event(state, False, offline_after)],
    )
    opened = state.get("presence_since")
    return Transition(state["commune_id"], state["device_id"], False, offline_after, change,
                      closes=(opened, offline_after) if opened else None)


def online_from(state):
    """When the device came back: when its stream opened, if that was during
    this absence, else when it was heard from (the sweep sees the first
    message within a pass of it arriving)."""
    last_seen = state["last_seen"]
    away_since = state.get("presence_since") if state.get("presence") == OFFLINE else None
    connected = state.get("connected_at")
    fresh_stream = connected and connected <= last_seen and (away_since is None or connected > away_since)
    start = connected if fresh_stream else last_seen
    return max(start, away_since) if away_since else start


def came_online(state, now):
    """The device was offline or never heard from, and is heard from now."""
    offline_after = state.get("offline_after")
    if state.get("presence") == ONLINE or not offline_after or offline_after < iso(now) or not state.get("last_seen"):
        return None
    since = online_from(state)
    change = Change(
        set={"presence": ONLINE, "presence_since": since, "offline_alarm": ALARM_NONE},
        expect={"presence": state.get("presence")},
        events=[status_event(state, True, state["last_seen"])],
    )
    offline_since = state.get("presence_since") if state.get("presence") == OFFLINE else None
    return Transition(state["commune_id"], state["device_id"], True, since, change, opens=since,
                      offline_since=offline_since)


def census(registered, heard):
    """Devices per commune by presence, as the ``tinxa_devices`` gauge shows
    them: ``registered`` maps a commune to its number of devices, ``heard``
    maps (commune, presence) to its devices online or offline; the rest of a
    commune's devices were never heard from (``unknown``). Every state of
    every commune with devices is there, zeros included."""
    counts = {}
    for commune_id, total in registered.items():
        online, offline = heard.get((commune_id, ONLINE), 0), heard.get((commune_id, OFFLINE), 0)
        counts[(commune_id, ONLINE)] = online
        counts[(commune_id, OFFLINE)] = offline
        counts[(commune_id, UNKNOWN)] = max(0, total - online - offline)
    return counts
