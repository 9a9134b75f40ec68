"""Integration: the real gateway and the real tasks service on one broker
vhost and store, driven over the bus (seeding) and HTTP (everything else)."""
import pytest
import requests

from services.gateway import auth
from services.gateway.tests.conftest import PLAN_TEXT, SEED
from tests.integration.conftest import seed_commune
from shared.testing import event_tap, wait_until


@pytest.fixture
def task_events(service_config):
    with event_tap(service_config["AMQP_URI"], "tasks", "task_status_changed") as tap:
        yield lambda: [message.headers for message in tap()]


def test_import_change_status_and_see_the_activity(system, task_events):
    base, config = system
    username, password = seed_commune(config)
    http = requests.Session()

    login = http.post(f"{base}/api/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    csrf = {auth.CSRF_HEADER: login.json()["csrf_token"]}

    imported = http.post(f"{base}/api/plans/import", json={"text": PLAN_TEXT, "source_name": SEED["plan"]}, headers=csrf)
    assert imported.status_code == 201, imported.text
    assert imported.json()["task_count"] == 38 and imported.json()["problems"] == []

    found = http.get(f"{base}/api/tasks", params={"q": "I.1.1", "part": "I", "status": ""}).json()
    task = next(t for t in found["items"] if t["code"] == "I.1.1")
    assert task["status"] == "not_started" and task["timeline"] == "Quý IV/2026"

    changed = http.post(f"{base}/api/tasks/{task['_id']}/status", json={"status": "in_progress"},
                        headers={**csrf, "X-Request-Id": "trace-status-0001"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "in_progress"
    assert http.get(f"{base}/api/tasks/{task['_id']}").json()["status"] == "in_progress"

    def activity_of_both_events():
        items = http.get(f"{base}/api/activity").json()["items"]
        assert [e["kind"] for e in items] == ["task_status_changed", "plan_imported"], items
        return items

    status_entry, plan_entry = wait_until(activity_of_both_events, message="activity entries")
    assert status_entry["summary"] == (
        "Quản trị xã Xuân Hưng chuyển nhiệm vụ I.1.1 từ «Chưa thực hiện» sang «Đang thực hiện»")
    assert status_entry["data"]["task_id"] == task["_id"] and status_entry["commune_id"] == "xuan-hung"
    assert plan_entry["data"]["task_count"] == 38

    # the request id travelled gateway → tasks (RPC) → the event (its context headers)
    headers = wait_until(task_events, message="the task event")[0]
    assert headers["nameko.correlation_id"] == "trace-status-0001"

    plans = http.get(f"{base}/api/plans").json()["items"]
    assert plans[0]["progress"] == {"not_started": 37, "in_progress": 1}


def test_tasks_service_refusals_reach_http_as_mapped_errors(system):
    base, config = system
    username, password = seed_commune(config)
    http = requests.Session()
    csrf = {auth.CSRF_HEADER: http.post(f"{base}/api/auth/login",
                                        json={"username": username, "password": password}).json()["csrf_token"]}
    not_a_plan = http.post(f"{base}/api/plans/import", json={"text": "Không có phụ lục."}, headers=csrf)
    assert not_a_plan.status_code == 400 and not_a_plan.json()["error"] == "INVALID_INPUT"
    assert "Phụ lục" in not_a_plan.json()["message"]
    missing = http.get(f"{base}/api/tasks/no-such-task")
    assert missing.status_code == 404 and missing.json() == {"error": "NOT_FOUND", "message": "Không tìm thấy nhiệm vụ."}
    bad_filter = http.get(f"{base}/api/tasks", params={"status": "finished"})
    assert bad_filter.status_code == 400 and bad_filter.json()["error"] == "INVALID_INPUT"
    unknown_filter = http.get(f"{base}/api/tasks", params={"colour": "red"})
    assert unknown_filter.status_code == 400 and "colour" in unknown_filter.json()["message"]

