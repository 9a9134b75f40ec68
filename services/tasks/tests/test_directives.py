"""Directives of the province (chỉ đạo của tỉnh) handed over by the sync agent:
the tasks container on the real broker and store."""
import eventlet
import pytest

from services.tasks.tests.conftest import as_caller, call
from shared.context import CONTEXT_KEY, SYSTEM
from shared.errors import Forbidden, InvalidInput
from shared.testing import wait_until

C = "xuan-hung"
AS_SYSTEM = {CONTEXT_KEY: SYSTEM.to_json()}


def directive(external_id="ND-2026-117", **changes):
    return {
        "external_id": external_id,
        "title": "Tuyên truyền phòng, chống bão số 9",
        "text": "Các xã ven biển tổ chức phát bản tin phòng chống bão 3 lần/ngày đến khi bão tan.",
        "issued_by": "UBND tỉnh Ninh Bình",
        "issued_on": "2026-11-20",
        "due": "2026-11-30",
        "tasks": [
            {"code": "1", "title": "Phát bản tin phòng chống bão trên hệ thống truyền thanh", "due": "2026-11-25"},
            {"title": "Báo cáo kết quả về Sở Văn hóa, Thể thao và Du lịch"},
        ],
        **changes,
    }


def receive(container, body, commune_id=C, context=AS_SYSTEM):
    return call(container, "receive_directive", body, commune_id=commune_id, context=context)


def stored(mongo_database):
    return {name: mongo_database[name].count_documents({}) for name in ("plans", "tasks", "directives")}


def test_a_directive_becomes_a_task_of_the_plan_of_directives_with_its_tasks_and_note(container, events):
    result = receive(container, directive())
    plans = call(container, "list_plans")
    assert [p["title"] for p in plans] == ["Chỉ đạo của tỉnh"]
    assert result["plan_id"] == plans[0]["_id"] and plans[0]["task_count"] == 3
    tasks = call(container, "list_tasks", {"plan_id": result["plan_id"]})["items"]
    assert [(t["code"], t["parent_code"], t["status"], t["due"]) for t in tasks] == [
        ("1", None, "not_started", "2026-11-30"),
        ("1.1", "1", "not_started", "2026-11-25"),
        ("1.2", "1", "not_started", "2026-11-30"),  # no date of its own: the directive's
    ]
    assert tasks[0]["is_group"] is True and tasks[0]["title"] == "Tuyên truyền phòng, chống bão số 9"
    assert [t["_id"] for t in result["tasks"]] == [t["_id"] for t in tasks[1:]] and result["task_id"] == tasks[0]["_id"]
    history = call(container, "get_task", result["task_id"])["history"]
    assert [(h["action"], h["by"]) for h in history] == [("guidance", "UBND tỉnh Ninh Bình")]
    assert "phát bản tin phòng chống bão 3 lần/ngày" in history[0]["note"]
    imported = wait_until(lambda: [e for e in events() if e.name == "plan_imported"], message="plan_imported")
    assert imported[0].body["plan_id"] == result["plan_id"] and imported[0].body["task_count"] == 3
    assert imported[0].body["actor"] == "system"


def test_receiving_the_same_directive_again_answers_the_first_result_and_creates_nothing(container, mongo_database):
    first = receive(container, directive())
    before = stored(mongo_database)
    again = receive(container, directive(title="Tiêu đề khác", tasks=[]))
    assert again == first
    assert stored(mongo_database) == before == {"plans": 1, "tasks": 3, "directives": 1}
    assert len(call(container, "get_task", first["task_id"])["history"]) == 1


def test_directives_are_numbered_in_one_plan_and_one_without_tasks_is_a_task_itself(container):
    first = receive(container, directive())
    second = receive(container, directive("ND-2026-118", title="Kiểm tra cụm loa thôn", due=None, tasks=[]))
    assert (first["code"], second["code"]) == ("1", "2") and first["plan_id"] == second["plan_id"]
    assert second["tasks"] == []
    task = call(container, "get_task", second["task_id"])
    assert task["is_group"] is False and task["due"] is None and task["status"] == "not_started"
    assert call(container, "list_plans")[0]["task_count"] == 4


def test_concurrent_deliveries_of_one_directive_create_it_once(container, mongo_database):
    calls = [eventlet.spawn(receive, container, directive()) for _ in range(3)]
    results = [c.wait() for c in calls]
    assert len({r["task_id"] for r in results}) == 1
    assert stored(mongo_database) == {"plans": 1, "tasks": 3, "directives": 1}


def test_a_commune_admin_may_enter_a_directive_others_may_not(container, mongo_database):
    assert receive(container, directive(), commune_id=None, context=as_caller(C, "commune_admin"))["code"] == "1"
    with pytest.raises(Forbidden):
        receive(container, directive("x2"), commune_id=None, context=as_caller(C, "editor"))
    with pytest.raises(Forbidden):
        receive(container, directive("x3"), context=as_caller("yen-thang", "commune_admin"))
    with pytest.raises(Forbidden):  # the system must name the commune
        receive(container, directive("x4"), commune_id=None)
    assert stored(mongo_database)["directives"] == 1


@pytest.mark.parametrize("changes", [
    {"title": " "},
    {"issued_on": "20/11/2026"},
    {"text": ""},
    {"tasks": [{"code": "1", "title": "A"}, {"code": "1", "title": "B"}]},
    {"tasks": [{"title": "A"}, {"code": "1", "title": "B"}]},  # the first is 1 by its position
    {"tasks": [{"code": "1.1", "title": "A"}]},
    {"tasks": [{"title": "A", "owner": "Văn phòng"}]},
    {"surprise": True},
])
def test_a_malformed_directive_is_refused_and_writes_nothing(container, mongo_database, changes):
    with pytest.raises(InvalidInput):
        receive(container, directive(**changes))
    assert stored(mongo_database) == {"plans": 0, "tasks": 0, "directives": 0}
