"""Plans and tasks (kế hoạch, nhiệm vụ): the rules, with no I/O.

A plan comes from its document's appendix (``plan_import`` / ``docx_import``);
each row becomes a task keyed by its code within the plan, with its timeline
phrase interpreted (``timeline``) and its agencies matched to the commune's
registry (``agencies``), the original texts kept beside. Domain operations
return the new state and the events it causes; the service saves and
publishes them together (one document write each).
"""
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from services.tasks import timeline
from services.tasks.agencies import match_agencies, unknown_agencies
from shared.errors import Conflict, InvalidInput
from shared.events import outgoing
from shared.text import fold
from shared.timeutil import iso

SOURCE = "tasks"

STATUSES = ("not_started", "in_progress", "waiting_guidance", "done", "cancelled")

STATUS_LABELS_VI = {
    "not_started": "Chưa thực hiện",
    "in_progress": "Đang thực hiện",
    "waiting_guidance": "Chờ hướng dẫn",
    "done": "Hoàn thành",
    "cancelled": "Hủy bỏ",
}

# status-based progress of a leaf task; cancelled tasks count for nothing
STATUS_PROGRESS = {"not_started": 0, "in_progress": 50, "waiting_guidance": 0, "done": 100}

CLOSED = ("done", "cancelled")


@dataclass(frozen=True)
class Actor:
    """Who acts: ``subject`` (user id, ``apikey:<id>``, ``system``) goes into
    events and audit fields; ``name`` is what people read in the history."""

    subject: str
    name: str
DUE_SOON_DAYS = 7


def part_of(code):
    return code.split(".", 1)[0]


def level_of(code):
    return code.count(".")


def plan_year(title, today):
    """The plan's year from its title ("… NĂM 2026"), else this year."""
    years = re.findall(r"\b(20\d\d)\b", title or "")
    return int(years[-1]) if years else today.year


# ---------------------------------------------------------------- import


def describe_rows(parsed, registry, year):
    """What an import would create: each parsed row with its schedule and
    matched agencies, and the problems an officer should check."""
    rows, problems = [], list(parsed.problems)
    leaf_codes = _leaf_codes([task.code for task in parsed.tasks])
    for task in parsed.tasks:
        leads = match_agencies(task.lead_agency, registry) if task.lead_agency else []
        coordinating = match_agencies(task.coordinating_agencies, registry) if task.coordinating_agencies else []
        schedule = timeline.interpret(task.timeline, year).to_dict()
        is_group = task.code not in leaf_codes
        if is_group and schedule["kind"] == "blank":
            schedule["flagged"] = False  # a heading needs no deadline of its own
        for ref in unknown_agencies(leads + coordinating):
            problems.append(f"Nhiệm vụ {task.code}: không tìm thấy cơ quan «{ref.text}» trong danh sách cơ quan của xã.")
        rows.append({
            "code": task.code,
            "parent_code": task.parent_code,
            "title": task.title,
            "details": task.details,
            "lead_agency": task.lead_agency,
            "coordinating_agencies": task.coordinating_agencies,
            "timeline": task.timeline,
            "order": task.order,
            "schedule": schedule,
            "is_group": is_group,
            "lead_agencies": [ref.to_dict() for ref in leads],
            "coordinating": [ref.to_dict() for ref in coordinating],
        })
    for row in rows:
        if row["schedule"]["flagged"]:
            what = "chưa có thời gian thực hiện" if row["schedule"]["kind"] == "blank" else "thời gian thực hiện chưa hiểu được"
            problems.append(f"Nhiệm vụ {row['code']}: {what} («{row['timeline']}»); Phòng Văn hóa – Xã hội cần bổ sung.")
    return rows, problems


def _leaf_codes(codes):
    parents = {code.rsplit(".", 1)[0] for code in codes if "." in code}
    return {code for code in codes if code not in parents}


def new_plan(commune_id, title, year, actor, source_name, problems, task_count):
    return {
        "_id": uuid.uuid4().hex,
        "commune_id": commune_id,
        "title": title,
        "year": year,
        "source_name": source_name,
        "imported_at": iso(),
        "imported_by": actor,
        "task_count": task_count,
        "problems": list(problems),
    }


def reimported_plan(plan, title, actor, source_name, problems, task_count):
    return dict(plan, title=title, source_name=source_name, reimported_at=iso(), reimported_by=actor,
                task_count=task_count, problems=list(problems))


def task_documents(plan, rows):
    """Task documents for every row, without status fields: the repository
    sets those on insert only, so a re-import keeps recorded progress."""
    return [{
        "commune_id": plan["commune_id"],
        "plan_id": plan["_id"],
        "code": row["code"],
        "parent_code": row["parent_code"],
        "part": part_of(row["code"]),
        "level": level_of(row["code"]),
        "order": row["order"],
        "title": row["title"],
        "details": row["details"],
        "lead_agency": row["lead_agency"],
        "coordinating_agencies": row["coordinating_agencies"],
        "lead_agencies": row["lead_agencies"],
        "coordinating": row["coordinating"],
        "agency_ids": sorted({ref["agency_id"] for ref in row["lead_agencies"] if ref["agency_id"]}),
        "timeline": row["timeline"],
        "schedule": row["schedule"],
        "is_group": row["is_group"],
        "due": row["schedule"]["due"],
        "removed_from_plan": False,
        "search": fold(" ".join((row["code"], row["title"], row["details"], row["lead_agency"], row["coordinating_agencies"]))),
        "lead_search": fold(row["lead_agency"]),
    } for row in rows]


def initial_status(schedule):
    """A task waiting for outside guidance starts as waiting for it."""
    return "waiting_guidance" if schedule["kind"] == "conditional" else "not_started"


def plan_imported_event(plan, actor):
    return outgoing(SOURCE, "plan_imported", plan["commune_id"], actor=actor,
                    plan_id=plan["_id"], title=plan["title"], task_count=plan["task_count"])


# ---------------------------------------------------------------- directives of the province

DIRECTIVES_PLAN_TITLE = "Chỉ đạo của tỉnh"
# a directive's tasks sort after the directive, and directives in the order they came
DIRECTIVE_ORDER_STEP = 1000


def directives_plan(commune_id, year, actor):
    """The commune's plan of the province's directives (one per commune, its
    id fixed by the commune, so concurrent first directives make one)."""
    return dict(new_plan(commune_id, DIRECTIVES_PLAN_TITLE, year, actor, "Hệ thống chỉ đạo của tỉnh", [], 0),
                _id=f"directives-{commune_id}")


def directive_task_codes(tasks):
    """The code each task of a directive gets under the directive's own:
    the province's code, else its position (1, 2, …)."""
    return [task.get("code") or str(index) for index, task in enumerate(tasks, start=1)]


def directive_document(directive, actor):
    """What is kept of a received directive (dates as ISO strings)."""
    return {
        "external_id": directive["external_id"],
        "title": directive["title"],
        "text": directive["text"],
        "issued_by": directive["issued_by"],
        "issued_on": directive["issued_on"].isoformat(),
        "due": directive["due"].isoformat() if directive["due"] else None,
        "tasks": [{"code": task.get("code"), "title": task["title"],
                   "due": task["due"].isoformat() if task.get("due") else None} for task in directive["tasks"]],
        "received_at": iso(),
        "received_by": actor,
    }


def directive_rows(directive, number):
    """Rows (as ``describe_rows`` gives them) of a stored directive numbered
    ``number`` in its plan: the directive as a heading over its tasks (or a
    task itself when it lists none), each due when the directive says — a
    task without a date of its own by the directive's."""
    code = str(number)
    order = number * DIRECTIVE_ORDER_STEP
    rows = [_directive_row(code, None, directive["title"], directive["text"], directive["due"], order,
                           is_group=bool(directive["tasks"]))]
    for index, (suffix, task) in enumerate(zip(directive_task_codes(directive["tasks"]), directive["tasks"]), start=1):
        rows.append(_directive_row(f"{code}.{suffix}", code, task["title"], "", task["due"] or directive["due"],
                                   order + index, is_group=False))
    return rows


def _directive_row(code, parent_code, title, details, due, order, is_group):
    if due:
        day = date.fromisoformat(due)
        schedule = timeline.Schedule(f"Hạn {day.strftime('%d/%m/%Y')}", "date", due=day).to_dict()
    else:
        # a heading needs no deadline of its own; a task without one is flagged for the office
        schedule = timeline.Schedule("", "blank", flagged=not is_group).to_dict()
    return {"code": code, "parent_code": parent_code, "title": title, "details": details, "lead_agency": "",
            "coordinating_agencies": "", "timeline": schedule["original"], "order": order, "schedule": schedule,
            "is_group": is_group, "lead_agencies": [], "coordinating": []}


def directive_note(directive, actor):
    """The guidance note (the directive's text, by whoever issued it) on the
    directive's task; its id is the directive's, so writing it again changes nothing."""
    entry = history_entry(Actor(actor, directive["issued_by"]), "guidance",
                          note=f"{directive['issued_by']}, ngày {date.fromisoformat(directive['issued_on']).strftime('%d/%m/%Y')}: "
                               f"{directive['text']}")
    return dict(entry, id=f"directive-{directive['_id']}")


def directive_result(directive, plan, tasks):
    """What receiving a directive answers (and answers again for the same ``external_id``)."""
    return {
        "external_id": directive["external_id"],
        "number": directive["number"],
        "plan_id": plan["_id"],
        "task_id": tasks[0]["_id"],
        "code": tasks[0]["code"],
        "title": directive["title"],
        "tasks": [{"_id": t["_id"], "code": t["code"], "title": t["title"], "due": t["due"], "status": t["status"]}
                  for t in tasks[1:]],
        "received_at": directive["received_at"],
    }


# ---------------------------------------------------------------- changes


def history_entry(actor, action, changes=None, note=None):
    """One line of a task's activity log: who did what, when."""
    return {"id": uuid.uuid4().hex, "at": iso(), "by": actor.name, "by_subject": actor.subject, "action": action,
            "changes": changes or {}, "note": note or ""}


def change_status(task, new_status, actor, note=None):
    """The fields to set, the history entry and the event, or None if nothing changes."""
    if new_status not in STATUSES:
        raise InvalidInput(
            f"Trạng thái không hợp lệ: «{new_status}». Chọn một trong: "
            + ", ".join(f"{s} ({STATUS_LABELS_VI[s]})" for s in STATUSES),
            {"status": new_status},
        )
    old_status = task["status"]
    if old_status == new_status:
        return None
    changes = {"status": new_status, "status_changed_at": iso(), "status_changed_by": actor.name}
    entry = history_entry(actor, "status", {"status": [old_status, new_status]}, note)
    event = outgoing(
        SOURCE, "task_status_changed", task["commune_id"], actor=actor.subject,
        task_id=task["_id"], plan_id=task["plan_id"], code=task["code"], title=task["title"],
        old_status=old_status, new_status=new_status,
    )
    return changes, entry, event


def record_guidance(task, received_on, due, actor, note=None):
    """The outside guidance a conditional task waited for has arrived: the
    task gets a due date (by default three months later) and can start."""
    schedule = task.get("schedule") or {}
    if schedule.get("kind") != "conditional":
        raise InvalidInput(f"Nhiệm vụ {task['code']} không chờ hướng dẫn nào; không thể ghi nhận.")
    if due is not None and due < received_on:
        raise InvalidInput("Hạn hoàn thành không được trước ngày nhận hướng dẫn.")
    due = due or timeline.due_after_guidance(received_on)
    new_schedule = dict(schedule, due=due.isoformat(), guidance_received_on=received_on.isoformat())
    changes = {"schedule": new_schedule, "due": due.isoformat()}
    diff = {"due": [schedule.get("due"), due.isoformat()]}
    if task["status"] == "waiting_guidance":
        changes["status"] = "not_started"
        diff["status"] = ["waiting_guidance", "not_started"]
    entry = history_entry(actor, "guidance", diff, note or f"Đã có hướng dẫn ngày {received_on.strftime('%d/%m/%Y')}")
    events = []
    if "status" in changes:
        events.append(outgoing(SOURCE, "task_status_changed", task["commune_id"], actor=actor.subject,
                               task_id=task["_id"], plan_id=task["plan_id"], code=task["code"], title=task["title"],
                               old_status="waiting_guidance", new_status="not_started"))
    return changes, entry, events


def assign(task, assignees, actor):
    old = [a["user_id"] for a in task.get("assignees", [])]
    new = [a["user_id"] for a in assignees]
    entry = history_entry(actor, "assign", {"assignees": [old, new]})
    return {"assignees": assignees}, entry


def new_update(task, text, links, files, actor):
    """A progress report (báo cáo tiến độ) with its evidence, and its event."""
    update = {"_id": uuid.uuid4().hex, "commune_id": task["commune_id"], "task_id": task["_id"],
              "plan_id": task["plan_id"], "text": text, "links": links, "files": files, "by": actor.name,
              "by_subject": actor.subject, "at": iso()}
    event = outgoing(SOURCE, "task_progress_reported", task["commune_id"], actor=actor.subject,
                     task_id=task["_id"], plan_id=task["plan_id"], code=task["code"], title=task["title"],
                     update_id=update["_id"], text=text[:500])
    return update, event


def new_comment(task, text, actor):
    return {"_id": uuid.uuid4().hex, "commune_id": task["commune_id"], "task_id": task["_id"],
            "text": text, "by": actor.name, "by_subject": actor.subject, "at": iso()}


# ---------------------------------------------------------------- progress and follow-up


def rolled_up_progress(tasks):
    """code → progress (0–100): leaves by status, parents the mean of their
    children that count (cancelled children and cancelled leaves count for nothing)."""
    children = {}
    for task in tasks:
        if task.get("parent_code"):
            children.setdefault(task["parent_code"], []).append(task["code"])
    by_code = {task["code"]: task for task in tasks}
    memo = {}

    def progress(code):
        if code in memo:
            return memo[code]
        kids = [p for p in (progress(c) for c in children.get(code, ())) if p is not None]
        if children.get(code):
            value = round(sum(kids) / len(kids)) if kids else None
        else:
            value = STATUS_PROGRESS.get(by_code[code]["status"])
        memo[code] = value
        return value

    return {code: progress(code) for code in by_code}


def is_leaf(task, tasks):
    return not any(other.get("parent_code") == task["code"] for other in tasks)


def follow_up_state(task, today):
    """"overdue", "due_soon" or None for an open task with a due date."""
    due = task.get("due")
    if not due or task["status"] in CLOSED or task.get("removed_from_plan"):
        return None
    due = date.fromisoformat(due)
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=DUE_SOON_DAYS):
        return "due_soon"
    return None


def follow_up_event(task, state):
    """The event telling others a task is late or nearly due (once per due date)."""
    name = "task_overdue" if state == "overdue" else "task_due_soon"
    return outgoing(SOURCE, name, task["commune_id"], actor="system", task_id=task["_id"], plan_id=task["plan_id"],
                    code=task["code"], title=task["title"], due=task["due"])


def plan_progress(plan, tasks, today):
    """The plan's progress for the overview: overall, by status, by part."""
    progress = rolled_up_progress(tasks)
    leaves = [t for t in tasks if is_leaf(t, tasks) and not t.get("removed_from_plan")]
    by_status = {status: 0 for status in STATUSES}
    for task in leaves:
        by_status[task["status"]] += 1
    counted = [progress[t["code"]] for t in leaves if progress[t["code"]] is not None]
    by_part = {}
    for task in tasks:
        if task.get("level", level_of(task["code"])) == 0:
            part_leaves = [t for t in leaves if part_of(t["code"]) == task["code"]]
            done = sum(1 for t in part_leaves if t["status"] == "done")
            open_ = [t for t in part_leaves if t["status"] != "cancelled"]
            by_part[task["code"]] = {"title": task["title"], "total": len(part_leaves), "done": done,
                                     "percent": progress.get(task["code"]) or 0 if open_ else 0}
    states = [follow_up_state(t, today) for t in leaves]
    return {
        "percent": round(sum(counted) / len(counted), 1) if counted else 0.0,
        "by_status": by_status,
        "by_part": by_part,
        "overdue": states.count("overdue"),
        "due_soon": states.count("due_soon"),
        "leaves": len(leaves),
    }


def ensure_open(task):
    if task.get("removed_from_plan"):
        raise Conflict(f"Nhiệm vụ {task['code']} đã bị bỏ khỏi kế hoạch khi nhập lại; không thể cập nhật.")
