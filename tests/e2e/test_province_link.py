"""End to end: the provincial link of the system as `make up` starts it (the
demo province's hub runs beside the commune): what the commune does goes up,
and an emergency bulletin sent down by the province reaches the commune's
broadcast service and its operators' page."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.testing import wait_until
from tests.e2e.test_slice import login

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def hub_admin(stack, *args):
    env = dict(stack.env, MONGO_URI=f"mongodb://127.0.0.1:{stack.env['TINXA_MONGO_PORT']}/", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-m", "services.sync.hub_admin", *args], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_commune_is_linked_and_its_work_goes_up_to_the_province(stack):
    session = login(stack, stack.password)
    wait_until(lambda: session.get(f"{stack.base_url}/api/sync", timeout=10).json()["link"]["state"] == "connected",
               timeout=30, message="the agent connected to the hub")
    task = session.get(f"{stack.base_url}/api/tasks", params={"q": "II.3.1"}, timeout=10).json()["items"][0]
    assert session.post(f"{stack.base_url}/api/tasks/{task['_id']}/status", json={"status": "in_progress"},
                        timeout=10).ok

    def tasks_applied_at_the_hub():
        communes = json.loads(hub_admin(stack, "communes", "--json"))
        commune = next(c for c in communes if c["commune_id"] == "xuan-hung")
        return next(e["applied"] for e in commune["up"] if e["stream"] == "tasks")
    wait_until(lambda: tasks_applied_at_the_hub() >= 1, timeout=30, message="the status change at the hub")
    page = session.get(f"{stack.base_url}/sync", timeout=10)
    assert page.status_code == 200 and "Đã kết nối" in page.text


def test_an_emergency_sent_down_by_the_province_reaches_the_commune_broadcast_service(stack):
    session = login(stack, stack.password)
    body = {"source": "province", "external_id": "e2e-lu-quet-1", "title": "Cảnh báo lũ quét khu vực ven sông",
            "text": "Yêu cầu người dân khẩn trương di chuyển lên vùng cao.", "level": "emergency", "kind": "audio"}
    hub_admin(stack, "send", "xuan-hung", "emergency", "bulletin", json.dumps(body, ensure_ascii=False))

    def received():
        items = session.get(f"{stack.base_url}/api/broadcasts", params={"origin": "province"}, timeout=10).json()["items"]
        return [b for b in items if b["title"] == body["title"]]
    found = wait_until(received, timeout=30, message="the province's emergency at the broadcast service")
    assert found[0]["level"] == "emergency"
    status = session.get(f"{stack.base_url}/api/sync", timeout=10).json()
    emergency = next(s for s in status["down"] if s["stream"] == "emergency")
    assert emergency["delivered"] == emergency["received"] >= 1
