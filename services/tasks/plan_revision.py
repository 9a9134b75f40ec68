"""What re-importing a revised plan changes (kế hoạch sửa đổi).

A commune revises its plan and imports it again. Tasks are matched by code
so their progress (status, updates, assignees) survives; ``diff_tasks``
says, before and after applying, which codes are new, which are gone and
which rows were edited, field by field, so the officer can check the revision
did what was meant.
"""

from dataclasses import dataclass

from services.tasks.plan_import import ParsedPlan

# The row's content. ``order`` is left out on purpose: inserting one row
# shifts the position of every row after it, which would bury the real edits.
COMPARED_FIELDS = (
    "parent_code",
    "title",
    "details",
    "lead_agency",
    "coordinating_agencies",
    "timeline",
)


@dataclass(frozen=True)
class PlanDiff:
    """Codes added and removed (in document order), the changed codes with
    the names of their changed fields, and how many rows stayed the same."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[tuple[str, tuple[str, ...]], ...]
    unchanged: int

    def to_dict(self) -> dict:
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [{"code": code, "fields": list(fields)} for code, fields in self.changed],
            "unchanged": self.unchanged,
        }


def diff_tasks(existing: list[dict], parsed: ParsedPlan) -> PlanDiff:
    """Compare stored tasks (dicts with ParsedTask's field names) with a
    newly parsed plan.

    A stored task an earlier revision dropped (``removed_from_plan``) is not
    in the plan any more: it is not removed again, and its code coming back
    is an addition. A code the parser saw twice (already reported as a
    problem) is compared by its first row.
    """
    stored = {}
    for task in sorted(existing, key=lambda task: task.get("order") or 0):
        if not task.get("removed_from_plan"):
            stored.setdefault(task["code"], task)
    added, changed, unchanged, seen = [], [], 0, set()
    for task in parsed.tasks:
        if task.code in seen:
            continue
        seen.add(task.code)
        before = stored.get(task.code)
        if before is None:
            added.append(task.code)
            continue
        fields = tuple(name for name in COMPARED_FIELDS if _value(before.get(name)) != _value(getattr(task, name)))
        if fields:
            changed.append((task.code, fields))
        else:
            unchanged += 1
    removed = tuple(code for code in stored if code not in seen)
    return PlanDiff(tuple(added), removed, tuple(changed), unchanged)


def _value(value):
    """Stored documents may hold None or lack a field the parser gives as ""."""
    return value or ""
