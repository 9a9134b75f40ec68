"""Integration: the real gateway and the real tasks service on one broker
vhost and store, driven over the bus (seeding) and HTTP (everything else)."""
import io

import docx
import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway import auth
from services.gateway.tests.conftest import PLAN_TEXT, SEED, SYSTEM_CONTEXT
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
    assert imported.json()["task_count"] == 38
    # what the office must complete: the tasks the plan gives no timeline
    assert all("chưa có thời gian thực hiện" in problem for problem in imported.json()["problems"])
    assert any(problem.startswith("Nhiệm vụ II.1.1:") for problem in imported.json()["problems"])

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

    progress = http.get(f"{base}/api/plans").json()["items"][0]["progress"]
    assert progress["by_status"]["in_progress"] == 1 and progress["percent"] > 0
    assert progress["by_part"]["I"]["percent"] > 0 == progress["by_part"]["II"]["percent"]


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
    # the service's details travel with its error (nameko rebuilds it from its args)
    assert missing.status_code == 404 and missing.json() == {"error": "NOT_FOUND", "message": "Không tìm thấy nhiệm vụ.",
                                                            "details": {"task_id": "no-such-task"}}
    bad_filter = http.get(f"{base}/api/tasks", params={"status": "finished"})
    assert bad_filter.status_code == 400 and bad_filter.json()["error"] == "INVALID_INPUT"
    unknown_filter = http.get(f"{base}/api/tasks", params={"colour": "red"})
    assert unknown_filter.status_code == 400 and "colour" in unknown_filter.json()["message"]



def plan_docx(with_table=True):
    """A small plan as the Word file an office sends: a heading and the appendix table."""
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH Thông tin cơ sở năm 2026")
    document.add_paragraph("Phụ lục")
    document.add_paragraph("NHIỆM VỤ THỰC HIỆN CÔNG TÁC THÔNG TIN CƠ SỞ NĂM 2026")
    if with_table:
        rows = [("TT", "NHIỆM VỤ CỤ THỂ", "CƠ QUAN CHỦ TRÌ", "CƠ QUAN PHỐI HỢP", "THỜI GIAN THỰC HIỆN"),
                ("I", "NHIỆM VỤ THÔNG TIN CƠ SỞ", "", "", ""),
                ("1", "Triển khai thực hiện các chính sách, pháp luật về thông tin cơ sở", "", "", ""),
                ("1.1", "Xây dựng Quy chế quản lý, vận hành Hệ thống thông tin nguồn của xã", "Phòng Văn hoá – Xã hội",
                 "Các cơ quan, đơn vị có liên quan", "Quý IV/2026"),
                ("1.2", "Rà soát đội ngũ tuyên truyền viên cơ sở", "Ban Quản lý chợ", "", "")]
        table = document.add_table(rows=len(rows), cols=5)
        for row, values in zip(table.rows, rows):
            for cell, value in zip(row.cells, values):
                cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def signed_in(base, username, password):
    http = requests.Session()
    login = http.post(f"{base}/api/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    http.headers[auth.CSRF_HEADER] = login.json()["csrf_token"]
    return http


def test_task_tracking_over_http(system, service_config):
    base, config = system
    http = signed_in(base, *seed_commune(config))

    # a .docx through multipart: previewed, agencies matched, the unknown one and the blank timeline flagged
    preview = http.post(f"{base}/api/plans/preview", files={"file": ("Kế hoạch TTCS.docx", plan_docx(), DOCX)})
    assert preview.status_code == 200, preview.text
    rows = {row["code"]: row for row in preview.json()["tasks"]}
    assert rows["I.1.1"]["lead_agencies"][0]["agency_id"] == "vhxh"
    assert rows["I.1.1"]["schedule"]["kind"] == "quarter" and rows["I.1.1"]["schedule"]["due"] == "2026-12-31"
    problems = " ".join(preview.json()["problems"])
    assert "Ban Quản lý chợ" in problems and "I.1.2" in problems
    assert http.get(f"{base}/api/plans").json()["items"] == []  # a preview writes nothing

    plan = http.post(f"{base}/api/plans/import", json={"text": PLAN_TEXT, "source_name": SEED["plan"]}).json()
    tasks = {t["code"]: t for t in http.get(f"{base}/api/tasks", params={"limit": 500}).json()["items"]}

    led = http.get(f"{base}/api/tasks", params={"agency_id": "vhxh", "limit": 500}).json()["items"]
    assert "I.1.1" in {t["code"] for t in led} and "I.5.2" not in {t["code"] for t in led}  # I.5.2: the Office
    blank = {t["code"] for t in http.get(f"{base}/api/tasks", params={"due": "no_deadline", "limit": 500}).json()["items"]}
    assert "II.1.1" in blank and "I.1.1" not in blank

    # a progress report with a link and a photo; the photo comes back as it went
    task_id = tasks["I.1.1"]["_id"]
    update = http.post(f"{base}/api/tasks/{task_id}/updates",
                       data={"text": "Đã dự thảo Quy chế", "links": "https://xuanhung.ninhbinh.gov.vn/quy-che"},
                       files={"files": ("ảnh họp.png", PNG, "image/png")})
    assert update.status_code == 201, update.text
    file_id = update.json()["files"][0]["file_id"]
    evidence = http.get(f"{base}/api/tasks/{task_id}/evidence/{file_id}")
    assert evidence.content == PNG and evidence.headers["Content-Type"] == "image/png"
    assert evidence.headers["Content-Disposition"].startswith('inline; filename="anh hop.png"')
    detail = http.get(f"{base}/api/tasks/{task_id}").json()
    assert detail["updates"][0]["links"] == ["https://xuanhung.ninhbinh.gov.vn/quy-che"]

    comment = http.post(f"{base}/api/tasks/{task_id}/comments", json={"text": "Cần lấy ý kiến Công an xã."})
    assert comment.status_code == 201, comment.text
    assert http.get(f"{base}/api/tasks/{task_id}").json()["comments"][0]["text"] == "Cần lấy ý kiến Công an xã."

    # the guidance a conditional task waited for: it gets a due date
    conditional = next(t for t in tasks.values() if t["schedule"]["kind"] == "conditional")
    assert conditional["schedule"]["due"] is None
    guided = http.post(f"{base}/api/tasks/{conditional['_id']}/guidance",
                       json={"received_on": "2026-11-02", "due": "2027-01-31"})
    assert guided.status_code == 200, guided.text
    assert guided.json()["schedule"]["due"] == "2027-01-31"

    # an officer of the lead agency is assigned by name
    officer = http.post(f"{base}/api/users", json={"username": "lan.vhxh", "display_name": "Nguyễn Thị Lan",
                                                   "password": "mot-mat-khau-dai", "roles": ["editor"],
                                                   "agency_id": "vhxh"})
    assert officer.status_code == 201, officer.text
    assigned = http.post(f"{base}/api/tasks/{task_id}/assignees", json={"user_ids": [officer.json()["user"]["id"]]})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignees"] == [{"user_id": officer.json()["user"]["id"], "name": "Nguyễn Thị Lan"}]

    view = http.get(f"{base}/api/agencies/vhxh/tasks").json()
    assert task_id in {t["_id"] for t in view["tasks"]}

    # the report of the quarter, as Word and as Excel
    periods = http.get(f"{base}/api/plans/{plan['_id']}/report-periods").json()["items"]
    assert {"kind": "quarter", "year": 2026, "number": 4}.items() <= periods[3].items()
    for fmt, content_type in (("docx", DOCX), ("xlsx", XLSX)):
        report = http.get(f"{base}/api/plans/{plan['_id']}/report",
                          params={"period": "quarter", "year": 2026, "number": 4, "format": fmt,
                                  "signer_name": "Nguyễn Văn An"})
        assert report.status_code == 200, report.text
        assert report.headers["Content-Type"] == content_type
        assert report.headers["Content-Disposition"].startswith("attachment; filename=")
        assert f'.{fmt}"; filename*=' in report.headers["Content-Disposition"]
        assert report.content[:4] == b"PK\x03\x04" and len(report.content) > 2000

    # the progress report reached the activity feed
    def reported():
        kinds = [e["kind"] for e in http.get(f"{base}/api/activity").json()["items"]]
        assert "task_progress_reported" in kinds, kinds
        return True

    wait_until(reported, message="the progress report in the activity feed")


def test_bad_input_is_explained_and_changes_nothing(system):
    base, config = system
    http = signed_in(base, *seed_commune(config))
    plan = http.post(f"{base}/api/plans/import", json={"text": PLAN_TEXT, "source_name": SEED["plan"]}).json()
    task = next(t for t in http.get(f"{base}/api/tasks", params={"q": "I.1.1"}).json()["items"] if t["code"] == "I.1.1")

    corrupt = http.post(f"{base}/api/plans/import", files={"file": ("ke-hoach.docx", b"PK\x03\x04 not really", DOCX)})
    assert corrupt.status_code == 400 and corrupt.json()["message"] == "Tệp không phải là tài liệu Word (.docx) hợp lệ."
    no_table = http.post(f"{base}/api/plans/import", files={"file": ("ke-hoach.docx", plan_docx(with_table=False), DOCX)})
    assert no_table.status_code == 400 and no_table.json()["error"] == "INVALID_INPUT", no_table.text
    wrong_kind = http.post(f"{base}/api/plans/import", files={"file": ("ke-hoach.pdf", b"%PDF-1.7", "application/pdf")})
    assert wrong_kind.status_code == 400 and ".docx" in wrong_kind.json()["message"]
    assert [p["_id"] for p in http.get(f"{base}/api/plans").json()["items"]] == [plan["_id"]]

    unknown_status = http.post(f"{base}/api/tasks/{task['_id']}/status", json={"status": "finished"})
    assert unknown_status.status_code == 400 and "finished" in unknown_status.json()["message"]
    assert http.get(f"{base}/api/tasks/{task['_id']}").json()["status"] == "not_started"

    # another commune's officer cannot report progress on this commune's task
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        rpc.gateway.ensure_commune({"id": "yen-thang", "name": "Yên Thắng", "province": "Ninh Bình"})
        other = rpc.gateway.ensure_user({"username": "admin.yenthang", "display_name": "Quản trị Yên Thắng",
                                         "roles": ["commune_admin"], "commune_id": "yen-thang"})
    intruder = signed_in(base, "admin.yenthang", other["password"])
    refused = intruder.post(f"{base}/api/tasks/{task['_id']}/updates", json={"text": "Đã xong"})
    assert refused.status_code == 404 and refused.json()["error"] == "NOT_FOUND", refused.text
    assert http.get(f"{base}/api/tasks/{task['_id']}").json()["updates"] == []
