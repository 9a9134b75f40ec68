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


def test_the_emergency_overtakes_a_backlog_of_ten_thousand_bulletins_on_the_whole_path(stack):
    """Hub → agent → inbox → broadcast, all real: 10,000 normal bulletins are
    waiting at the hub when an emergency is sent after them; it reaches the
    broadcast service before the backlog has, and then an operator pauses the
    bulletins stream (the rest stays queued, nothing is lost)."""
    from pymongo import MongoClient

    from services.sync.hub_store import HubStore

    session = login(stack, stack.password)
    client = MongoClient(f"mongodb://127.0.0.1:{stack.env['TINXA_MONGO_PORT']}/")
    hub = HubStore(client["sync_hub"])
    backlog = [{"source": "province", "external_id": f"e2e-thuong-{n}", "title": f"Bản tin thông thường số {n}",
                "text": "Thông tin tuyên truyền định kỳ.", "level": "normal", "kind": "audio"} for n in range(10_000)]
    hub.send_many("xuan-hung", "bulletins", "bulletin", backlog)
    emergency = {"source": "province", "external_id": "e2e-chay-rung", "title": "Cảnh báo cháy rừng cấp V",
                 "text": "Nghiêm cấm đốt nương rẫy.", "level": "emergency", "kind": "audio"}
    hub.send("xuan-hung", "emergency", "bulletin", emergency)

    def arrived():
        items = session.get(f"{stack.base_url}/api/broadcasts", params={"origin": "province", "limit": 200},
                            timeout=10).json()["items"]
        return [b for b in items if b["title"] == emergency["title"]]
    wait_until(arrived, timeout=60, message="the emergency at the broadcast service")
    down = {s["stream"]: s for s in session.get(f"{stack.base_url}/api/sync", timeout=10).json()["down"]}
    assert down["bulletins"]["delivered"] < 10_000  # it overtook the backlog
    paused = session.post(f"{stack.base_url}/api/sync/streams/bulletins/pause", json={}, timeout=10)
    assert paused.status_code == 200, paused.text
    client.close()
