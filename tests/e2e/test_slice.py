"""End to end: the system started as `make up` starts it (deploy/local/up.sh,
in a temporary folder with its own ports and vhost), driven over HTTP and
gRPC as a user and a device would, then stopped and started again."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.testing import wait_until

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def login(stack, password):
    session = requests.Session()
    response = session.post(f"{stack.base_url}/api/auth/login",
                            json={"username": "admin.xuanhung", "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    session.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return session


def test_up_seeds_the_commune_and_prints_the_admin_password_once(stack):
    assert stack.password
    assert f"Console: {stack.base_url}/" in stack.output
    assert "imported «NHIỆM VỤ THỰC HIỆN CÔNG TÁC THÔNG TIN CƠ SỞ VÀ THÔNG TIN ĐỐI NGOẠI XÃ XUÂN HƯNG NĂM 2026» with 38 tasks" in stack.output


def test_the_slice_through_real_processes(stack):
    session = login(stack, stack.password)

    page = session.get(f"{stack.base_url}/api/tasks", params={"q": "quy che quan ly", "limit": 50}, timeout=10).json()
    task = next(t for t in page["items"] if t["code"] == "I.1.1")
    assert task["timeline"] == "Quý IV/2026" and task["lead_agency"] == "Phòng Văn hoá – Xã hội"

    response = session.post(f"{stack.base_url}/api/tasks/{task['_id']}/status", json={"status": "in_progress"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "in_progress"

    def activity_shows_it():
        items = session.get(f"{stack.base_url}/api/activity", timeout=10).json()["items"]
        return [a for a in items if a.get("data", {}).get("task_id") == task["_id"] or task["_id"] in str(a)]
    wait_until(activity_shows_it, timeout=20, message="the status change in the activity feed")

    console = session.get(f"{stack.base_url}/tasks", timeout=10)
    assert console.status_code == 200 and "I.1.1" in console.text and "Đang thực hiện" in console.text


def test_bad_requests_get_readable_json_errors_and_change_nothing(stack):
    session = login(stack, stack.password)
    task = session.get(f"{stack.base_url}/api/tasks", params={"q": "I.1.2"}, timeout=10).json()["items"][0]
    url = f"{stack.base_url}/api/tasks/{task['_id']}/status"

    malformed = session.post(url, data="{status: done", headers={"Content-Type": "application/json"}, timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error"] == "INVALID_JSON" and malformed.json()["message"]
    unknown = session.post(url, json={"status": "done", "colour": "red"}, timeout=10)
    assert unknown.status_code == 400 and unknown.json()["message"]
    bad_status = session.post(url, json={"status": "finished"}, timeout=10)
    assert bad_status.status_code == 400 and "Trạng thái" in bad_status.json()["message"]
    assert session.get(f"{stack.base_url}/api/tasks/{task['_id']}", timeout=10).json()["status"] == task["status"]


def test_another_communes_task_is_refused(stack):
    from nameko.standalone.rpc import ClusterRpcProxy
    from shared.context import CONTEXT_KEY, SYSTEM

    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()}) as rpc:
        rpc.gateway.ensure_commune({"id": "xuan-lam", "name": "Xuân Lâm", "province": "Ninh Bình", "villages": [], "agencies": []})
        other = rpc.gateway.ensure_user({"username": "admin.xuanlam", "display_name": "Quản trị Xuân Lâm",
                                         "roles": ["commune_admin"], "commune_id": "xuan-lam"})
    ours = login(stack, stack.password)
    task = ours.get(f"{stack.base_url}/api/tasks", params={"q": "I.1.1"}, timeout=10).json()["items"][0]

    theirs = requests.Session()
    response = theirs.post(f"{stack.base_url}/api/auth/login",
                           json={"username": "admin.xuanlam", "password": other["password"]}, timeout=10)
    theirs.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    assert theirs.get(f"{stack.base_url}/api/tasks/{task['_id']}", timeout=10).status_code in (403, 404)
    assert theirs.post(f"{stack.base_url}/api/tasks/{task['_id']}/status", json={"status": "done"}, timeout=10).status_code in (403, 404)
    assert theirs.get(f"{stack.base_url}/api/tasks", timeout=10).json()["total"] == 0
    assert ours.get(f"{stack.base_url}/api/tasks/{task['_id']}", timeout=10).json()["status"] != "done"


def telemetry_rpc(stack):
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.context import CONTEXT_KEY, SYSTEM

    return ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()}, timeout=30)


def simulator(stack, *args, **popen):
    return subprocess.Popen([sys.executable, "-m", "services.telemetry.simulator", *args], cwd=REPO, **popen)


def test_up_runs_the_demo_fleet_and_its_devices_come_online(stack):
    """`make up` registers the demo commune's devices, provisions them with
    the simulator and runs it: every device is online, with a sample."""
    session = login(stack, stack.password)
    demo = json.loads((REPO / "deploy" / "seed" / "xuan-hung.json").read_text(encoding="utf-8"))["devices"]

    def all_online():
        response = session.get(f"{stack.base_url}/api/devices", timeout=10)
        assert response.status_code == 200, response.text
        body = response.json()
        devices = {d["device_id"]: d for d in (body["items"] if isinstance(body, dict) else body)}
        return all(devices.get(d["device_id"], {}).get("presence") == "online"
                   and devices[d["device_id"]].get("sample") for d in demo) and devices
    devices = wait_until(all_online, timeout=60, message="the demo fleet online, each with a sample")
    assert {devices[d["device_id"]]["village"] for d in demo} == {f"thon-{n}" for n in range(1, 7)}


def test_a_device_killed_without_goodbye_is_offline_within_its_timeout_and_its_return_clears_the_alarm(stack, tmp_path):
    timeout_s = 30  # the shortest a commune may set
    with telemetry_rpc(stack) as rpc:
        rpc.telemetry.register_device({"commune_id": "xuan-hung", "device_id": "LOA-KILL", "name": "Cụm loa thử",
                                       "kind": "loudspeaker", "village": "thon-2", "presence_timeout_s": timeout_s})
        code = rpc.telemetry.issue_provisioning_code("LOA-KILL", commune_id="xuan-hung")["code"]
        (tmp_path / "codes.json").write_text(json.dumps([{"device_id": "LOA-KILL", "code": code, "kind": "loudspeaker",
                                                           "village": "thon-2"}]))
        provision = simulator(stack, "provision", "--target", stack.grpc_target, "--codes", str(tmp_path / "codes.json"),
                              "--out", str(tmp_path / "creds.json"))
        assert provision.wait(timeout=60) == 0
        run = ["run", "--target", stack.grpc_target, "--credentials", str(tmp_path / "creds.json"),
               "--sample-interval", "1", "--log-dir", str(tmp_path)]

        def presence():
            return (rpc.telemetry.get_device("LOA-KILL", commune_id="xuan-hung").get("state") or {}).get("presence")

        def offline_alarms(status):
            return [a for a in rpc.telemetry.list_alarms({"commune_id": "xuan-hung", "device_id": "LOA-KILL",
                                                          "status": status}) if a["rule"] == "offline"]

        device = simulator(stack, *run)
        try:
            wait_until(lambda: presence() == "online", timeout=30, message="the device online")
            device.kill()  # SIGKILL: no goodbye, the stream just breaks
            device.wait(timeout=10)
            killed = time.monotonic()
            wait_until(lambda: presence() == "offline", timeout=timeout_s + 20, interval=0.5, message="offline")
            assert time.monotonic() - killed <= timeout_s + 10
            alarm = wait_until(lambda: offline_alarms("active"), timeout=10, message="the offline alarm")[0]
            assert alarm["severity"] == "critical" and alarm["status"] == "open"

            device = simulator(stack, *run)
            wait_until(lambda: presence() == "online", timeout=30, message="the device back online")
            wait_until(lambda: not offline_alarms("active"), timeout=15, message="the alarm cleared by the return")
            assert [a["alarm_id"] for a in offline_alarms("cleared")] == [alarm["alarm_id"]]
        finally:
            device.kill()
            device.wait(timeout=10)


def test_data_survives_down_and_up(stack):
    session = login(stack, stack.password)
    task = session.get(f"{stack.base_url}/api/tasks", params={"q": "I.2.1"}, timeout=10).json()["items"][0]
    assert session.post(f"{stack.base_url}/api/tasks/{task['_id']}/status", json={"status": "done"}, timeout=10).ok
    before = session.get(f"{stack.base_url}/api/tasks", params={"limit": 500}, timeout=10).json()
    stack.stop()
    output = stack.up()
    assert "already exists (password unchanged)" in output and "imported" not in output
    after = login(stack, stack.password).get(f"{stack.base_url}/api/tasks", params={"limit": 500}, timeout=10).json()
    assert after["total"] == before["total"] == 38
    assert [(t["_id"], t["status"]) for t in after["items"]] == [(t["_id"], t["status"]) for t in before["items"]]
    assert next(t for t in after["items"] if t["_id"] == task["_id"])["status"] == "done"
