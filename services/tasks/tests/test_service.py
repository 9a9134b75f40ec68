"""Service tests: the tasks container on the real broker and store, called
through its entrypoints with a caller in the context data."""
import pytest
from nameko.testing.services import entrypoint_hook

from services.tasks.domain import fold
from services.tasks.tests.conftest import as_caller, call
from shared.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from shared.testing import wait_until

def test_import_stores_every_task_in_document_order(container, plan):
    page = call(container, "list_tasks", {"plan_id": plan["_id"], "limit": 500})
    assert page["total"] == plan["task_count"] > 30
    codes = [t["code"] for t in page["items"]]
    assert codes[:3] == ["I", "I.1", "I.1.1"] and codes[-1] == "II.5.3"
    waiting = {t["code"] for t in page["items"] if t["status"] == "waiting_guidance"}
    assert waiting == {t["code"] for t in page["items"] if t["schedule"]["kind"] == "conditional"} == {"I.1.2", "II.1.2"}
    assert all(t["status"] == "not_started" for t in page["items"] if t["code"] not in waiting)


def test_filters_by_accent_folded_agency_and_status(container, plan):
    hoa = call(container, "list_tasks", {"agency": "van hoa"})
    assert hoa["total"] > 0
    leads = {t["lead_agency"] for t in hoa["items"]}
    assert {"Phòng Văn hoá – Xã hội", "Phòng Văn hóa – Xã hội"} <= leads
    assert all("van hoa" in fold(lead) for lead in leads)
    assert call(container, "list_tasks", {"status": "done"})["total"] == 0


def test_status_change_emits_one_event(container, plan, events, mongo_database):
    task = call(container, "list_tasks", {"q": "I.1.1"})["items"][0]
    updated = call(container, "change_status", {"task_id": task["_id"], "status": "in_progress"})
    assert updated["status"] == "in_progress"
    got = wait_until(lambda: [e for e in events() if e.name == "task_status_changed"], message="event")
    body = got[0].body
    assert body["task_id"] == task["_id"] and body["new_status"] == "in_progress"
    assert body["commune_id"] == "xuan-hung" and body["schema_version"] == 1
    # the outbox is emptied once the broker confirmed
    wait_until(lambda: "_outbox" not in mongo_database.tasks.find_one({"_id": task["_id"]}), message="outbox emptied")


@pytest.mark.parametrize("request_body, error", [
    ({"task_id": "x", "status": "finished"}, NotFound),
    ({"status": "done"}, InvalidInput),
    ({"task_id": "x", "status": "done", "extra": 1}, InvalidInput),
    ("not an object", InvalidInput),
])
def test_bad_status_requests_are_refused(container, plan, request_body, error):
    with pytest.raises(error):
        call(container, "change_status", request_body)


def test_unknown_status_is_refused_and_changes_nothing(container, plan):
    task = call(container, "list_tasks", {"q": "I.1.1"})["items"][0]
    with pytest.raises(InvalidInput, match="Trạng thái không hợp lệ"):
        call(container, "change_status", {"task_id": task["_id"], "status": "finished"})
    assert call(container, "get_task", task["_id"])["status"] == task["status"]


def test_another_commune_cannot_see_or_change_the_task(container, plan):
    task = call(container, "list_tasks", {"q": "I.1.1"})["items"][0]
    other = as_caller("another-commune")
    assert call(container, "list_tasks", {}, context=other)["total"] == 0
    with pytest.raises(NotFound):
        call(container, "get_task", task["_id"], context=other)
    with pytest.raises(Forbidden):
        call(container, "change_status", {"task_id": task["_id"], "status": "done", "commune_id": "xuan-hung"}, context=other)
    assert call(container, "get_task", task["_id"])["status"] == task["status"]


def test_viewer_cannot_change_status_and_anonymous_cannot_read(container, plan):
    task = call(container, "list_tasks", {"q": "I.1.1"})["items"][0]
    with pytest.raises(Forbidden):
        call(container, "change_status", {"task_id": task["_id"], "status": "done"}, context=as_caller("xuan-hung", "viewer"))
    with pytest.raises(Unauthenticated):
        with entrypoint_hook(container, "list_tasks") as hook:
            hook({})
