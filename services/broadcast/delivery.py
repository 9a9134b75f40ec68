"""Delivery of a broadcast to one device (gửi tới từng thiết bị): its state,
retries and the escalation check — the rules, with no I/O.

A delivery is one command (``shared.devicelink`` kind ``play``,
``show_text``, ``schedule_sync``, ``stop`` or ``set_volume``) to one device,
a plain dict the service stores. Its state only moves forward::

    queued → sent → acknowledged → playing → played
       └───────┴──────→ failed (rejected by the device, or expired unsent)

What moves it:

- ``sent``: the edge took the command (the mandatory publish was routed and
  confirmed). An unroutable publish (device offline) leaves it as it was;
  the attempt still counts (``attempted``) for the back-off.
- ``command_acknowledged`` (``telemetry.command_acknowledged``):
  ``accepted`` → acknowledged; for a play or a text, which DeviceLink defines
  as *started* on acceptance, → playing — unless the device says it has
  ``queued`` it behind something else (as the simulator does), then
  acknowledged. ``completed`` → played for a play or a text (the play ended:
  ran out, or stopped), → acknowledged for the other kinds, which have
  nothing to play (a schedule sync is played later, slot by slot, and proved
  by play reports). ``rejected`` → failed, unless the device had already
  accepted or played it (a contradiction: the later state stands).
- ``play_reported`` (``telemetry.play_reported``, proof of play) → played,
  from any state, *including failed*: a device that played is the truth even
  if we had given up on it (its acknowledgement was lost, or it was offline
  when the broadcast expired and reported the play on reconnecting). The
  failure stays in the record. A report for an already played delivery only
  fills in what was missing (which report, whether it ran to the end).

Every transition returns a new dict, or None when the event changes
nothing: a duplicate, or an event older than the state (an ``accepted``
arriving after ``completed``; ``sent`` confirmed after the device answered).
'played' is final; 'failed' is final except for a play report.

Retries: a delivery not yet acknowledged (queued or sent) is resent after
5 s, then 10, 20, 40 … seconds, at most every 5 minutes, until the broadcast
expires; then it fails as ``expired``. A sent one is resent too (the edge
may have lost it with the device's stream) under the same ``command_id``,
which devices remember and do not act on twice.

Escalation: once the set time after the broadcast started has passed, if
fewer than the set share of its devices have acknowledged (acknowledged,
playing or played; a rejection is not an acknowledgement), the service
raises one escalation event. "Once" is the service's record: it stores
``escalated_at`` with a compare-and-set and passes ``escalated``.
"""
from datetime import timedelta

from shared.errors import InvalidInput
from shared.timeutil import iso, parse_iso

STATES = ("queued", "sent", "acknowledged", "playing", "played", "failed")
STATES_VI = {"queued": "Chờ gửi", "sent": "Đã gửi", "acknowledged": "Thiết bị đã nhận", "playing": "Đang phát",
             "played": "Đã phát", "failed": "Thất bại"}
ACK_STATUSES = ("accepted", "rejected", "completed")
# order of progress; failed is outside it
_RANK = {"queued": 0, "sent": 1, "acknowledged": 2, "playing": 3, "played": 4}
ACKNOWLEDGED = frozenset({"acknowledged", "playing", "played"})
RETRYABLE = frozenset({"queued", "sent"})
FINAL = frozenset({"played", "failed"})
# commands whose run is the play itself: accepted = started, completed = ended
PLAYBACK_KINDS = frozenset({"play", "show_text"})
# what a device answers on accepting a play it cannot start yet
QUEUED_MESSAGE = "queued"

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=5)

RETRY = "retry"
EXPIRE = "expire"


def new_delivery(device_id, command_id, kind, now):
    """A queued delivery of command ``command_id`` (of ``kind``) to a device."""
    return {"device_id": device_id, "command_id": command_id, "kind": kind, "state": "queued",
            "attempts": 0, "last_attempt_at": None, "created_at": iso(now),
            "sent_at": None, "acknowledged_at": None, "playing_at": None, "played_at": None, "failed_at": None,
            "report_id": None, "completed": None, "message": "", "failure": None,
            "history": [{"state": "queued", "at": iso(now)}]}


def _move(delivery, state, at, **fields):
    moved = dict(delivery, state=state, **fields)
    moved[f"{state}_at"] = iso(at)
    moved["history"] = [*delivery["history"], {"state": state, "at": iso(at)}]
    return moved


def _ahead(delivery, state):
    """Whether ``state`` is progress for ``delivery`` (failed never moves
    except by a play report, handled there)."""
    current = delivery["state"]
    return current != "failed" and _RANK[state] > _RANK[current]


def attempted(delivery, at):
    """One more publish of the command (routed or not): counted for the back-off."""
    if delivery["state"] in FINAL:
        return None
    return dict(delivery, attempts=delivery["attempts"] + 1, last_attempt_at=iso(at))


def sent(delivery, at):
    """The edge took the command."""
    if not _ahead(delivery, "sent"):
        return None
    return _move(delivery, "sent", at)


def command_acknowledged(delivery, status, at, message=""):
    """The device's answer to the command (accepted | rejected | completed)."""
    if status not in ACK_STATUSES:
        raise InvalidInput(f"status: trạng thái trả lời lệnh không hợp lệ «{status}» "
                           f"(chọn một trong {', '.join(ACK_STATUSES)}).")
    if status == "rejected":
        if delivery["state"] not in RETRYABLE:
            return None
        return _move(delivery, "failed", at, message=message,
                     failure={"reason": "rejected", "message": message, "at": iso(at)})
    playback = delivery["kind"] in PLAYBACK_KINDS
    if status == "accepted":
        state = "playing" if playback and message != QUEUED_MESSAGE else "acknowledged"
    else:
        state = "played" if playback else "acknowledged"
    if not _ahead(delivery, state):
        return None
    moved = _move(delivery, state, at, message=message)
    moved["acknowledged_at"] = delivery["acknowledged_at"] or iso(at)
    return moved


def play_reported(delivery, report_id, ended_at, completed):
    """Proof of play: the device played the command's content (or its
    scheduled slot) until ``ended_at``, to the end or not (``completed``)."""
    if delivery["state"] == "played":
        fill = {}
        if delivery["report_id"] is None:
            fill["report_id"] = report_id
        # unknown (played by a "completed" ack) or cut short, then a full play
        if delivery["completed"] is None or (completed and not delivery["completed"]):
            fill["completed"] = completed
        fill = {name: value for name, value in fill.items() if delivery[name] != value}
        return dict(delivery, **fill) if fill else None
    return _move(delivery, "played", ended_at, report_id=report_id, completed=completed)


def expire(delivery, now):
    """The broadcast expired before the device acknowledged: failed."""
    if delivery["state"] not in RETRYABLE:
        return None
    return _move(delivery, "failed", now, failure={"reason": "expired", "message": "", "at": iso(now)})


def backoff(attempts):
    """The wait after the ``attempts``-th publish: 5 s doubling, at most 5 min."""
    if attempts < 1:
        return timedelta(0)
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 32), MAX_RETRY)


def next_attempt_at(delivery):
    """When the next publish is due (None: now, never published)."""
    if delivery["last_attempt_at"] is None:
        return None
    return parse_iso(delivery["last_attempt_at"]) + backoff(delivery["attempts"])


def retry_due(delivery, now, expires_at):
    """What to do with a delivery now: ``RETRY`` (publish again, after
    ``attempted``), ``EXPIRE`` (``expire`` it) or None (nothing yet, or
    nothing ever again)."""
    if delivery["state"] not in RETRYABLE:
        return None
    if now >= expires_at:
        return EXPIRE
    due = next_attempt_at(delivery)
    return RETRY if due is None or now >= due else None


def summary(deliveries):
    """Counts per state, how many acknowledged, their share (None with no
    deliveries) and the devices that have not."""
    counts = dict.fromkeys(STATES, 0)
    waiting = []
    for delivery in deliveries:
        counts[delivery["state"]] += 1
        if delivery["state"] not in ACKNOWLEDGED:
            waiting.append(delivery["device_id"])
    total = sum(counts.values())
    acknowledged = total - len(waiting)
    return {"total": total, "states": counts, "acknowledged": acknowledged,
            "share_acknowledged": acknowledged / total if total else None, "unacknowledged": waiting}


def escalation_due(summary, started_at, now, share=0.9, within=timedelta(seconds=30), escalated=False):
    """True when the broadcast that started at ``started_at`` should be
    escalated now: ``within`` has passed, fewer than ``share`` of its devices
    acknowledged (a broadcast that reached no device at all counts as
    none), and it has not been escalated yet."""
    if escalated or now < started_at + within:
        return False
    reached = summary["share_acknowledged"]
    return reached is None or reached < share
