"""The three levels of Circular 39/2020/TT-BTTTT for bulletins from the
provincial or central source-information system (hệ thống thông tin nguồn
tỉnh / trung ương): thông thường (normal), ưu tiên (priority), khẩn cấp
(emergency) — the rules, with no I/O.

Rules decided here:

* The commune's inbox (hộp thư đến) lists emergency bulletins first, then
  priority, then normal; within a level the oldest received first (then id).
* A device's play queue at one moment (``queue_order``):
  emergency bulletins first (oldest first); then the priority bulletins
  (oldest first), before the commune's own items; then the commune's items,
  high before normal, each by scheduled start then id. Normal bulletins are
  never queued: they wait in the inbox until an operator schedules them,
  after which they come back as commune items.
  When the commune has its own high-priority items in the same queue as
  priority bulletins, the Circular leaves their order to the commune: the
  clashing items are returned in ``needs_operator`` and left out of the
  queue (they belong between the emergencies and the commune's normal
  items, at ``pending_at``) until an operator's order is passed in.
* An emergency (``interrupt_plan``) starts at once on every targeted device,
  stopping what plays; it never interrupts another emergency, it follows
  it. When it ends, the interrupted item plays again from its beginning,
  under the slot id ``<slot_id>/resumed`` (a device plays each slot id
  once), and the rest of the interrupted occurrence follows with its own
  gaps kept, i.e. shifted by the delay (an occurrence's entries share the
  first two parts of their slot ids, ``<programme_id>/<scheduled start>``,
  as ``schedule.device_plan`` makes them). Every other later entry starts at its own time or as soon as the
  entry before it ends, whichever is later: the first free stretch of the
  plan absorbs the delay. Nothing is dropped.
"""
from dataclasses import dataclass
from datetime import timedelta

from shared.errors import InvalidInput
from shared.timeutil import iso, parse_iso

LEVELS = ("normal", "priority", "emergency")
LEVEL_RANK = {"normal": 0, "priority": 1, "emergency": 2}
LEVEL_VI = {"normal": "thông thường", "priority": "ưu tiên", "emergency": "khẩn cấp"}
COMMUNE_PRIORITIES = ("normal", "high")
RESUMED = "/resumed"


def _check_levels(bulletins):
    wrong = [str(b.get("id")) for b in bulletins if b.get("level") not in LEVELS]
    if wrong:
        raise InvalidInput("level: mức bản tin phải là normal (thông thường), priority (ưu tiên) hoặc emergency "
                           f"(khẩn cấp) — bản tin {', '.join(f'«{i}»' for i in wrong)}.", {"ids": wrong})


def _oldest_first(bulletin):
    return bulletin["received_at"], bulletin["id"]


def inbox_order(items):
    """Bulletins (``id``, ``level``, ``received_at``) in inbox order."""
    items = list(items)
    _check_levels(items)
    return sorted(items, key=lambda b: (-LEVEL_RANK[b["level"]], *_oldest_first(b)))


@dataclass(frozen=True)
class QueueOrder:
    """A device's play queue: ``queue`` in play order; ``needs_operator``
    the priority bulletins and commune high items whose order an operator
    decides (absent from ``queue``; they go at index ``pending_at``);
    ``inbox`` the normal bulletins, which wait to be scheduled."""

    queue: tuple
    needs_operator: tuple = ()
    pending_at: int | None = None
    inbox: tuple = ()

    def message(self):
        """What the operator is asked, in Vietnamese ("" if nothing)."""
        if not self.needs_operator:
            return ""
        bulletins = [_label(i) for i in self.needs_operator if "level" in i]
        own = [_label(i) for i in self.needs_operator if "level" not in i]
        return (f"Bản tin ưu tiên của cấp trên {', '.join(bulletins)} trùng lúc với chương trình ưu tiên của xã "
                f"{', '.join(own)}: cần cán bộ sắp xếp thứ tự phát.")


def _label(item):
    return f"«{item.get('title') or item['id']}»"


def queue_order(bulletins, commune_items, operator_order=None):
    """The QueueOrder of a device at one moment.

    ``bulletins``: ``id``, ``level``, ``received_at``. ``commune_items``:
    ``id``, ``priority`` normal|high, ``starts_at``. ``operator_order``: the
    ids of the items that needed an operator, in the order chosen.
    """
    bulletins, commune_items = list(bulletins), list(commune_items)
    _check_levels(bulletins)
    wrong = [str(i.get("id")) for i in commune_items if i.get("priority") not in COMMUNE_PRIORITIES]
    if wrong:
        raise InvalidInput("priority: mức ưu tiên chương trình của xã phải là normal hoặc high — "
                           f"{', '.join(f'«{i}»' for i in wrong)}.", {"ids": wrong})
    by_level = {level: sorted((b for b in bulletins if b["level"] == level), key=_oldest_first) for level in LEVELS}
    own = {p: sorted((i for i in commune_items if i["priority"] == p), key=lambda i: (i["starts_at"], i["id"]))
           for p in COMMUNE_PRIORITIES}
    head, tail, inbox = by_level["emergency"], own["normal"], tuple(by_level["normal"])
    if not (by_level["priority"] and own["high"]):
        return QueueOrder(tuple(head + by_level["priority"] + own["high"] + tail), inbox=inbox)
    undecided = by_level["priority"] + own["high"]
    if operator_order is None:
        return QueueOrder(tuple(head + tail), tuple(undecided), len(head), inbox)
    return QueueOrder(tuple(head + _operator_ordered(undecided, operator_order) + tail), inbox=inbox)


def _operator_ordered(undecided, operator_order):
    by_id = {item["id"]: item for item in undecided}
    order = list(operator_order)
    problems = []
    missing = [i for i in by_id if i not in order]
    if missing:
        problems.append("thiếu " + ", ".join(f"«{i}»" for i in missing))
    stray = [i for i in dict.fromkeys(order) if i not in by_id]
    if stray:
        problems.append("không thuộc nhóm cần sắp xếp: " + ", ".join(f"«{i}»" for i in stray))
    repeated = [i for i in dict.fromkeys(order) if order.count(i) > 1]
    if repeated:
        problems.append("ghi hai lần: " + ", ".join(f"«{i}»" for i in repeated))
    if problems:
        raise InvalidInput("operator_order: thứ tự phát không hợp lệ — " + "; ".join(problems) + ".",
                           {"problems": problems})
    return [by_id[i] for i in order]


@dataclass(frozen=True)
class InterruptPlan:
    """What an emergency does on one device (times ISO UTC): ``stop`` the
    entry playing (None: nothing to stop), play the emergency from
    ``starts_at`` to ``ends_at``, then ``resumed`` (the interrupted item
    again, or None) and the rest of the ``plan`` (every entry from the end of
    the emergency on, ``resumed`` first)."""

    stop: dict | None
    starts_at: str
    ends_at: str
    resumed: dict | None
    plan: tuple


def _occurrence(slot_id):
    """The programme occurrence a slot belongs to (its first two parts)."""
    return tuple(slot_id.split("/")[:2])


def _moved(entry, starts_at):
    length = parse_iso(entry["ends_at"]) - parse_iso(entry["starts_at"])
    return {**entry, "starts_at": iso(starts_at), "ends_at": iso(starts_at + length)}


def interrupt_plan(now, playing_entry, emergency_duration, plan=()):
    """The InterruptPlan of an emergency of ``emergency_duration`` seconds
    arriving at ``now`` (aware) while ``playing_entry`` (a ScheduleSync
    entry, or None) plays, with ``plan`` the device's other entries. An
    entry counts as playing only if ``now`` falls within it."""
    if isinstance(emergency_duration, bool) or not isinstance(emergency_duration, int) or emergency_duration <= 0:
        raise InvalidInput("emergency_duration: thời lượng bản tin khẩn cấp phải là số giây dương.")
    playing = playing_entry
    if playing is not None and not parse_iso(playing["starts_at"]) <= now < parse_iso(playing["ends_at"]):
        playing = None
    later = sorted((e for e in plan if parse_iso(e["ends_at"]) > now and (playing is None or
                                                                       e["slot_id"] != playing["slot_id"])),
                   key=lambda e: (e["starts_at"], e["slot_id"]))
    if playing is not None and playing.get("priority") == "emergency":
        start = parse_iso(playing["ends_at"])
        end = start + timedelta(seconds=emergency_duration)
        return InterruptPlan(None, iso(start), iso(end), None, tuple(_cascade([playing], later, end)[1:]))
    end = now + timedelta(seconds=emergency_duration)
    if playing is None:
        return InterruptPlan(None, iso(now), iso(end), None, tuple(_cascade([], later, end)))
    resumed = _moved(dict(playing, slot_id=playing["slot_id"] + RESUMED), end)
    delay = end - parse_iso(playing["starts_at"])
    same = _occurrence(playing["slot_id"])
    ours = [_moved(e, parse_iso(e["starts_at"]) + delay) for e in later if _occurrence(e["slot_id"]) == same]
    others = [e for e in later if _occurrence(e["slot_id"]) != same]
    return InterruptPlan(playing, iso(now), iso(end), resumed, tuple(_cascade([resumed] + ours, others, end)))


def _cascade(fixed, entries, free_from):
    """``fixed`` (kept as they are, in order) then ``entries`` by start time,
    each moved to start no earlier than ``free_from`` nor before the
    previous one ends."""
    result = list(fixed)
    cursor = max([free_from] + [parse_iso(e["ends_at"]) for e in fixed])
    for entry in sorted(entries, key=lambda e: (e["starts_at"], e["slot_id"])):
        start = max(parse_iso(entry["starts_at"]), cursor)
        moved = _moved(entry, start) if start != parse_iso(entry["starts_at"]) else entry
        result.append(moved)
        cursor = parse_iso(moved["ends_at"])
    return result
