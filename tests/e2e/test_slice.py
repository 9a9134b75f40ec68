"""End to end: the system started as `make up` starts it (deploy/local/up.sh,
in a temporary folder with its own ports and vhost), driven over HTTP and
gRPC as a user and a device would, then stopped and started again."""
import pytest
import requests

from shared.testing import LocalStack, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("stack"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


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


def test_a_device_report_over_grpc_reaches_the_telemetry_service(stack):
    import grpc
    from google.protobuf.timestamp_pb2 import Timestamp
    from nameko.standalone.rpc import ClusterRpcProxy

    from shared.context import CONTEXT_KEY, SYSTEM
    from tinxa.telemetry.v1 import devicelink_pb2, devicelink_pb2_grpc

    now = Timestamp()
    now.GetCurrentTime()
    with grpc.insecure_channel(stack.grpc_target) as channel:
        reply = devicelink_pb2_grpc.DeviceLinkServiceStub(channel).ReportStatus(
            devicelink_pb2.ReportStatusRequest(commune_id="xuan-hung", device_id="loa-thon-1", online=True,
                                               volume=70, reported_at=now), timeout=10)
    assert reply.event_id
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()}) as rpc:
        devices = wait_until(lambda: rpc.telemetry.list_presence(commune_id="xuan-hung"), message="presence")
    assert devices[0]["device_id"] == "loa-thon-1" and devices[0]["volume"] == 70


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
