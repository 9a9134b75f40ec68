"""The commune's grassroots communicators (tuyên truyền viên cơ sở): people,
their status (active, on leave, left), the village targets (định biên) and
vacancies, and the replacement flow. Pure rules: no I/O.

A person is a dict with the keys of ``API.md``; dates are ``YYYY-MM-DD``
strings (they sort as dates). ``history`` lists the status changes, each
``{at (the day it took effect), status, reason, by, recorded_at}``, oldest
first: it is what ``vacant_since`` reads a village's past from.
"""
import re
from datetime import date, timedelta

from shared.errors import Conflict, InvalidInput
from shared.text import fold

ROLES = ("communicator", "lead", "officer")
# a lead (tổ trưởng tổ tuyên truyền) is also a communicator; officers never fill a village's place
COUNTED_ROLES = ("communicator", "lead")
STATUSES = ("active", "on_leave", "left")
GENDERS = ("male", "female", "other")
ROLE_VI = {"communicator": "tuyên truyền viên", "lead": "tổ trưởng tổ tuyên truyền", "officer": "cán bộ, công chức xã"}
STATUS_VI = {"active": "đang hoạt động", "on_leave": "tạm nghỉ", "left": "đã nghỉ"}
PERSONAL_KEYS = ("phone", "email", "address", "birth_date", "gender", "decision_number", "decision_date", "notes",
                 "status_reason")
# what a person's own form edits (status moves through set_status and replace only)
EDITABLE = ("full_name", "village", "role", "gender", "birth_date", "phone", "email", "address", "decision_number",
            "decision_date", "notes")
DEFAULT_TARGET = 1
MAX_TARGET = 50
LEFT_SHOWN_FOR = timedelta(days=365)
ZALO_URL = re.compile(r"^https://(chat\.)?zalo\.me/\S+$")


def without_personal(person):
    """The person as someone outside ``PERSONAL_ROLES`` sees them."""
    shown = {k: v for k, v in person.items() if k not in PERSONAL_KEYS}
    if "history" in shown:
        shown["history"] = [{k: v for k, v in h.items() if k != "reason"} for h in shown["history"]]
    return shown


def _history_entry(day, status, reason, by, now_iso):
    return {"at": day, "status": status, "reason": reason or "", "by": by, "recorded_at": now_iso}


def new_person(person_id, fields, since, by, now_iso, status="active"):
    """A person added to the roster (``fields``: the editable keys), with
    ``status`` from ``since``."""
    return {"person_id": person_id, **{k: fields.get(k) for k in EDITABLE}, "status": status, "status_since": since,
            "status_reason": "", "replaces": None, "replaced_by": None, "created_at": now_iso, "updated_at": now_iso,
            "history": [_history_entry(since, status, "", by, now_iso)]}


def check_place(fields, village_ids):
    """A communicator or lead belongs to one of the commune's villages; an
    officer may name one or none."""
    village = fields.get("village")
    if village is not None and village not in village_ids:
        raise InvalidInput(f"village: xã không có thôn «{village}».", {"field": "village"})
    if village is None and fields.get("role") in COUNTED_ROLES:
        raise InvalidInput(f"village: {ROLE_VI[fields['role']]} phải thuộc một thôn.", {"field": "village"})


def edited(person, fields, now_iso):
    """The person with their editable fields replaced."""
    return dict(person, **{k: fields.get(k) for k in EDITABLE}, updated_at=now_iso)


def counting_changed(before, after):
    """Whether a change moves the person between the places counted."""
    return (before.get("village"), before.get("role")) != (after.get("village"), after.get("role"))


def with_status(person, status, since, reason, by, today, now_iso):
    """The person moved to ``status`` from the day ``since`` (leave, departure,
    return). ``since`` is not in the future nor before the current status began."""
    if status not in STATUSES:
        raise InvalidInput(f"status: trạng thái «{status}» không hợp lệ (active, on_leave hoặc left).", {"field": "status"})
    if status == person["status"]:
        raise Conflict(f"status: {person['full_name']} đã ở trạng thái «{STATUS_VI[status]}».", {"field": "status"})
    if since > today.isoformat():
        raise InvalidInput("since: ngày bắt đầu trạng thái không được sau hôm nay.", {"field": "since"})
    if since < (person.get("status_since") or ""):
        raise InvalidInput(f"since: ngày bắt đầu trạng thái không được trước ngày {person['status_since']} "
                           f"(khi {person['full_name']} chuyển sang «{STATUS_VI[person['status']]}»).",
                           {"field": "since"})
    history = list(person.get("history") or []) + [_history_entry(since, status, reason, by, now_iso)]
    return dict(person, status=status, status_since=since, status_reason=reason or "", history=history,
                updated_at=now_iso)


def replace(person, replacement, since, reason, by, today, now_iso):
    """``person`` leaves (if not already) and ``replacement`` (a new person,
    or one on the roster) becomes active in the same village and role.
    Returns ``(left, replacement)`` linked by ``replaced_by``/``replaces``."""
    if person["role"] not in COUNTED_ROLES:
        raise InvalidInput("Chỉ thay thế được tuyên truyền viên hoặc tổ trưởng của một thôn, không thay thế cán bộ xã.")
    if person.get("replaced_by"):
        raise Conflict(f"{person['full_name']} đã có người thay thế.", {"replaced_by": person["replaced_by"]})
    if replacement["person_id"] == person["person_id"]:
        raise InvalidInput("replacement: người thay thế phải là người khác.", {"field": "replacement"})
    if since > today.isoformat():
        raise InvalidInput("since: ngày thay thế không được sau hôm nay.", {"field": "since"})
    left = person
    if person["status"] != "left":
        left = with_status(person, "left", since, reason, by, today, now_iso)
    left = dict(left, replaced_by=replacement["person_id"])
    taking = dict(replacement, village=person["village"], role=person["role"], replaces=person["person_id"],
                  updated_at=now_iso)
    if taking["status"] != "active":
        taking = with_status(taking, "active", max(since, taking.get("status_since") or since), "", by, today, now_iso)
    return left, taking


def targets_after(targets, zalo, entries, village_ids):
    """The village targets and Zalo links after ``entries`` (``[{village,
    target, zalo_url?}]``); unknown villages and bad links are refused."""
    targets, zalo = dict(targets), dict(zalo)
    for entry in entries:
        village = entry["village"]
        if village not in village_ids:
            raise InvalidInput(f"targets: xã không có thôn «{village}».", {"field": "targets", "village": village})
        targets[village] = entry["target"]
        if entry.get("zalo_url") is not None:
            zalo[village] = check_zalo(entry["zalo_url"], f"targets.{village}.zalo_url")
    return targets, zalo


def check_zalo(url, field="zalo_url"):
    url = (url or "").strip()
    if url and not ZALO_URL.match(url):
        raise InvalidInput(f"{field}: đường dẫn nhóm Zalo phải bắt đầu bằng https://zalo.me/ hoặc https://chat.zalo.me/.",
                           {"field": field})
    return url


# ------------------------------------------------------------------ counting

def vacant_since(people, target):
    """The day from which the village has been short ever since: the
    ``status_since`` of the departure or leave that opened the place. None
    when the village is not short, or has never been filled to this target
    (no departure opened the place). Status changes are replayed in the
    order they took effect (their day, then when they were recorded), so
    changes within one day count in the order they happened."""
    counted = [p for p in people if p["role"] in COUNTED_ROLES]
    changes = sorted((entry["at"], entry.get("recorded_at") or "", p["person_id"], entry["status"])
                     for p in counted for entry in p.get("history") or ())
    status, in_place, full, since = {}, 0, False, None
    for day, _, person_id, new_status in changes:
        in_place += (new_status == "active") - (status.get(person_id) == "active")
        status[person_id] = new_status
        if in_place >= target:
            full, since = True, None
        elif full:
            full, since = False, day
    return since


def _village_count(village, people, target):
    counted = [p for p in people if p["role"] in COUNTED_ROLES]
    in_place = sum(1 for p in counted if p["status"] == "active")
    on_leave = sum(1 for p in counted if p["status"] == "on_leave")
    vacancies = max(0, target - in_place)
    return {"village": village["id"], "name": village["name"], "target": target, "in_place": in_place,
            "on_leave": on_leave, "vacancies": vacancies,
            "vacant_since": vacant_since(counted, target) if vacancies else None}


def count(villages, people, targets):
    """Communicators in place against the target, per village of the
    commune (in its order) and in total."""
    by_village = {}
    for person in people:
        by_village.setdefault(person.get("village"), []).append(person)
    rows = [_village_count(v, by_village.get(v["id"], []), targets.get(v["id"], DEFAULT_TARGET)) for v in villages]
    totals = {key: sum(r[key] for r in rows) for key in ("target", "in_place", "on_leave", "vacancies")}
    totals["villages_short"] = sum(1 for r in rows if r["vacancies"] > 0)
    return {"villages": rows, "totals": totals}


def counted_payload(counted, counted_at):
    """The ``training.roster_counted`` payload of a count."""
    villages = [{k: r[k] for k in ("village", "name", "target", "in_place", "on_leave", "vacancies")}
                for r in counted["villages"]]
    return {"villages": villages, **counted["totals"], "counted_at": counted_at}


def sort_key(person):
    """Active first, then on leave, then left; by given name (tên) as
    Vietnamese lists are ordered, then the whole name."""
    name = fold(person.get("full_name") or "")
    return (STATUSES.index(person["status"]), name.split()[-1] if name.split() else "", name)


def shown(people, today):
    """People in roster order, without those who left more than 12 months ago."""
    cutoff = (today - LEFT_SHOWN_FOR).isoformat()
    return sorted((p for p in people if p["status"] != "left" or (p.get("status_since") or "") >= cutoff), key=sort_key)


def roster_view(villages, people, targets, zalo, zalo_url, today: date):
    """The roster page: each village with its count and people, the
    officers, people of villages the commune no longer has, the totals."""
    counted = count(villages, people, targets)
    known = {v["id"] for v in villages}
    by_village = {}
    for person in people:
        if person["role"] in COUNTED_ROLES:
            by_village.setdefault(person.get("village"), []).append(person)
    rows = [dict(row, zalo_url=zalo.get(row["village"], ""), people=shown(by_village.get(row["village"], []), today))
            for row in counted["villages"]]
    others = [p for p in people if p["role"] in COUNTED_ROLES and p.get("village") not in known]
    return {"villages": rows, "officers": shown([p for p in people if p["role"] not in COUNTED_ROLES], today),
            "others": shown(others, today), "totals": counted["totals"], "zalo_url": zalo_url or ""}
