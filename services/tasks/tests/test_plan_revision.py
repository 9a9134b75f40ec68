"""Re-importing a revised plan: what the diff reports."""

import dataclasses
from pathlib import Path

import pytest

from services.tasks.plan_import import parse_plan_text
from services.tasks.plan_revision import PlanDiff, diff_tasks

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt"


@pytest.fixture(scope="module")
def seed_text():
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def plan(seed_text):
    return parse_plan_text(seed_text)


def stored(plan):
    """Task documents as the repository holds them: the parsed fields plus progress."""
    return [
        {**dataclasses.asdict(task), "_id": f"t{task.order}", "status": "in_progress", "plan_id": "p1"}
        for task in plan.tasks
    ]


def test_the_same_plan_changes_nothing(plan):
    diff = diff_tasks(stored(plan), plan)
    assert diff == PlanDiff(added=(), removed=(), changed=(), unchanged=len(plan.tasks))


def test_a_revised_seed_plan(seed_text, plan):
    revised_text = (
        seed_text.replace("| Quý IV/2026 |", "| Quý III/2026 |")
        .replace(
            "| 5.3 | Đẩy mạnh truyền thông các thông tin, sự kiện, quảng bá mảnh đất và con người xã Xuân Hưng "
            "trên các phương tiện thông tin đại chúng | Phòng Văn hóa – Xã hội | "
            "VP HĐND- UBND- các Phòng, ban liên quan | Các năm tiếp theo |\n",
            "",
        )
        .replace(
            "| 2.2 | Tiếp tục phát triển và duy trì hiệu quả bảng tin điện tử công cộng của xã | | | |",
            "| 2.2 | Tiếp tục phát triển và duy trì hiệu quả bảng tin điện tử công cộng của xã "
            "| Phòng Văn hóa – Xã hội | Công an xã | Năm 2026 |\n"
            "| 2.3 | Lắp đặt bảng tin điện tử tại nhà văn hóa các thôn | Phòng Văn hóa – Xã hội | | Quý II/2026 |",
        )
    )
    revised = parse_plan_text(revised_text)
    assert revised.problems == []
    diff = diff_tasks(stored(plan), revised)
    assert diff.added == ("I.2.3",)
    assert diff.removed == ("II.5.3",)
    assert diff.changed == (
        ("I.1.1", ("timeline",)),
        ("I.2.2", ("lead_agency", "coordinating_agencies", "timeline")),
    )
    assert diff.unchanged == len(plan.tasks) - 1 - 2


def test_moving_rows_down_is_not_a_change(plan):
    # every row after an inserted one has a new position; only its content counts
    shifted = [dict(task, order=task["order"] + 1) for task in stored(plan)]
    assert diff_tasks(shifted, plan).changed == ()


def test_missing_or_none_fields_equal_empty_text(plan):
    tasks = stored(plan)
    for task in tasks:
        if task["details"] == "":
            del task["details"]
        if task["timeline"] == "":
            task["timeline"] = None
    assert diff_tasks(tasks, plan).changed == ()


def test_a_moved_task_reports_its_parent(plan):
    tasks = stored(plan)
    task = next(task for task in tasks if task["code"] == "I.6.1")
    task["parent_code"] = "I.5"
    assert diff_tasks(tasks, plan).changed == (("I.6.1", ("parent_code",)),)


def test_removed_codes_follow_the_stored_order():
    parsed = parse_plan_text("Phụ lục\n\n| TT | NHIỆM VỤ | | | |\n| I | PHẦN | | | |\n")
    existing = [
        {"code": "I.2", "order": 2, "title": "Hai"},
        {"code": "I", "order": 0, "title": "PHẦN"},
        {"code": "I.1", "order": 1, "title": "Một"},
    ]
    diff = diff_tasks(existing, parsed)
    assert diff.removed == ("I.1", "I.2")
    assert diff.unchanged == 1


def test_a_duplicated_code_is_compared_once():
    parsed = parse_plan_text(
        "Phụ lục\n\n| TT | NHIỆM VỤ | | | |\n| I | PHẦN | | | |\n"
        "| 1 | Việc một | Phòng A | | Năm 2026 |\n| 1 | Việc một lần nữa | Phòng B | | Năm 2026 |\n"
    )
    existing = [{"code": "I", "title": "PHẦN"}, {"code": "I.1", "title": "Việc một", "parent_code": "I",
                                                   "lead_agency": "Phòng A", "timeline": "Năm 2026"}]
    diff = diff_tasks(existing, parsed)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == ((), (), (), 2)


def test_tasks_dropped_by_an_earlier_revision(plan):
    tasks = stored(plan)
    for task in tasks:
        if task["code"] in ("I.1.1", "I.1.2"):
            task["removed_from_plan"] = True
    tasks.append({"code": "I.9", "order": 99, "title": "Đã bỏ từ trước", "removed_from_plan": True})
    diff = diff_tasks(tasks, plan)
    assert diff.added == ("I.1.1", "I.1.2")  # back in the plan
    assert diff.removed == ()  # I.9 was reported when it was dropped
    assert diff.unchanged == len(plan.tasks) - 2


def test_to_dict():
    diff = PlanDiff(added=("I.2.3",), removed=("II.5.3",), changed=(("I.1.1", ("timeline",)),), unchanged=35)
    assert diff.to_dict() == {
        "added": ["I.2.3"],
        "removed": ["II.5.3"],
        "changed": [{"code": "I.1.1", "fields": ["timeline"]}],
        "unchanged": 35,
    }


def test_an_empty_store_adds_everything(plan):
    diff = diff_tasks([], plan)
    assert diff.added == tuple(task.code for task in plan.tasks)
    assert (diff.removed, diff.changed, diff.unchanged) == ((), (), 0)
