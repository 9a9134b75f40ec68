"""Plans and tasks (kế hoạch, nhiệm vụ): the rules, with no I/O.

A plan comes from its document's appendix (``plan_import``); each row becomes
a task keyed by its code within the plan. Domain operations return the new
state and the events it causes; the service saves and publishes them together.
"""
import unicodedata
import uuid

from shared.errors import InvalidInput
from shared.events import outgoing
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


def fold(text):
    """Lower-case, accent-free form for search ("Văn hoá" ~ "van hoa")."""
    decomposed = unicodedata.normalize("NFD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").replace("Đ", "D").lower()


def part_of(code):
    return code.split(".", 1)[0]


def new_plan(commune_id, parsed, actor, source_name):
    plan_id = uuid.uuid4().hex
    plan = {
        "_id": plan_id,
        "commune_id": commune_id,
        "title": parsed.title,
        "source_name": source_name,
        "imported_at": iso(),
        "imported_by": actor,
        "task_count": len(parsed.tasks),
        "problems": list(parsed.problems),
    }
    return plan


def tasks_from_plan(plan, parsed):
    """Task documents for every parsed row (status fields are left to the
    repository so a re-import keeps the progress already recorded)."""
    tasks = []
    for row in parsed.tasks:
        tasks.append({
            "commune_id": plan["commune_id"],
            "plan_id": plan["_id"],
            "code": row.code,
            "parent_code": row.parent_code,
            "part": part_of(row.code),
            "order": row.order,
            "title": row.title,
            "details": row.details,
            "lead_agency": row.lead_agency,
            "coordinating_agencies": row.coordinating_agencies,
            "timeline": row.timeline,
            "search": fold(" ".join((row.code, row.title, row.details, row.lead_agency, row.coordinating_agencies))),
            "lead_search": fold(row.lead_agency),
        })
    return tasks


def plan_imported_event(plan, actor):
    return outgoing(SOURCE, "plan_imported", plan["commune_id"], actor=actor,
                    plan_id=plan["_id"], title=plan["title"], task_count=plan["task_count"])


def change_status(task, new_status, actor):
    """The fields to set and the event to emit, or (None, None) if nothing changes."""
    if new_status not in STATUSES:
        raise InvalidInput(
            f"Trạng thái không hợp lệ: «{new_status}». Chọn một trong: "
            + ", ".join(f"{s} ({STATUS_LABELS_VI[s]})" for s in STATUSES),
            {"status": new_status},
        )
    old_status = task["status"]
    if old_status == new_status:
        return None, None
    changes = {"status": new_status, "status_changed_at": iso(), "status_changed_by": actor}
    event = outgoing(
        SOURCE, "task_status_changed", task["commune_id"], actor=actor,
        task_id=task["_id"], plan_id=task["plan_id"], code=task["code"], title=task["title"],
        old_status=old_status, new_status=new_status,
    )
    return changes, event
