"""Service tests of the task-tracking API: uploads, downloads, filters,
assignees and the agencies' registry, with the tasks service replaced by a
stand-in (the tests are about what the gateway sends and answers)."""
import base64
import http.client
import json
from urllib.parse import unquote

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.gateway import auth
from services.gateway.files import MAX_FILE_BYTES
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import samples
from services.gateway.tests.conftest import SYSTEM_CONTEXT
from services.gateway.tests.test_api import assert_error, post_json
from services.gateway.web import MAX_UPLOAD_BODY_BYTES
from shared.context import CONTEXT_KEY, Caller

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# a .docx is a zip; the gateway does not look inside, the tasks service does
DOCX_BYTES = b"PK\x03\x04" + bytes(range(256)) * 40


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    tasks = replace_dependencies(container, "tasks")
    container.start()
    container.tasks_mock = tasks
    return container


@pytest.fixture
def tasks(gateway):
    return gateway.tasks_mock


@pytest.fixture
def csrf(people, sign_in):
    """Signed in as the commune administrator; the session's CSRF header."""
    return {auth.CSRF_HEADER: sign_in(people["admin"])}


def b64(content):
    return base64.b64encode(content).decode("ascii")


def disposition_name(header):
    """The UTF-8 file name of a Content-Disposition (RFC 6266 filename*)."""
    return unquote(header.split("filename*=UTF-8''", 1)[1])


# --- importing a plan: JSON or multipart ---------------------------------------------------

def test_a_docx_upload_reaches_the_tasks_service_as_base64(gateway, web_session, csrf, tasks):
    tasks.import_plan.return_value = dict(samples.plan(), diff=None)
    response = web_session.post("/api/plans/import", headers=csrf,
                                files={"file": ("Kế hoạch 2026.docx", DOCX_BYTES, DOCX)})
    assert response.status_code == 201, response.text
    sent = tasks.import_plan.call_args.args[0]
    assert base64.b64decode(sent["docx_b64"]) == DOCX_BYTES
    assert sent == {"docx_b64": sent["docx_b64"], "source_name": "Kế hoạch 2026.docx", "plan_id": None,
                    "commune_id": "xuan-hung"}


def test_a_multipart_re_import_names_its_plan_and_source(gateway, web_session, csrf, tasks):
    tasks.preview_import.return_value = samples.preview(diff={"added": [], "removed": [], "changed": [],
                                                              "unchanged": 4})
    response = web_session.post("/api/plans/preview", headers=csrf, data={"plan_id": "p1", "source_name": "KH 12"},
                                files={"file": ("C:\\Users\\lan\\ke-hoach.DOCX", DOCX_BYTES, "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert response.json()["diff"]["unchanged"] == 4
    sent = tasks.preview_import.call_args.args[0]
    assert (sent["plan_id"], sent["source_name"]) == ("p1", "KH 12")
    assert not tasks.import_plan.called


def test_pasted_text_in_a_form_loses_the_browsers_crlf(gateway, web_session, csrf, tasks):
    tasks.preview_import.return_value = samples.preview()
    web_session.post("/api/plans/preview", headers=csrf,
                     files={"text": (None, "Phụ lục\r\n| TT | Nhiệm vụ |\r\n"), "file": ("", b"")})
    assert tasks.preview_import.call_args.args[0] == {
        "text": "Phụ lục\n| TT | Nhiệm vụ |\n", "source_name": "", "plan_id": None, "commune_id": "xuan-hung"}


def test_json_import_with_a_plan_id(gateway, web_session, csrf, tasks):
    tasks.import_plan.return_value = dict(samples.plan(), diff={"added": ["I.8"], "removed": [], "changed": [],
                                                                "unchanged": 37})
    response = post_json(web_session, "/api/plans/import", {"text": "Phụ lục …", "plan_id": "p1"}, csrf=csrf[auth.CSRF_HEADER])
    assert response.status_code == 201 and response.json()["diff"]["added"] == ["I.8"]
    assert tasks.import_plan.call_args.args[0]["plan_id"] == "p1"


@pytest.mark.parametrize("name", ["ke-hoach.doc", "ke-hoach.pdf", "ke-hoach.docx.exe", "ke-hoach"])
def test_a_plan_file_that_is_not_docx_is_refused_by_the_gateway(gateway, web_session, csrf, tasks, name):
    response = web_session.post("/api/plans/import", headers=csrf, files={"file": (name, DOCX_BYTES, DOCX)})
    body = assert_error(response, 400, "INVALID_INPUT")
    assert ".docx" in body["message"]
    assert not tasks.import_plan.called


def test_a_plan_file_over_10_mb_is_refused_with_413(gateway, web_session, csrf, tasks):
    big = b"PK\x03\x04" + b"\0" * MAX_FILE_BYTES
    response = web_session.post("/api/plans/preview", headers=csrf, files={"file": ("lon.docx", big, DOCX)})
    body = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert "10 MB" in body["message"] and "lon.docx" in body["message"]
    assert not tasks.preview_import.called


def test_a_file_of_exactly_10_mb_is_taken(gateway, web_session, csrf, tasks):
    tasks.preview_import.return_value = samples.preview()
    exact = b"PK\x03\x04" + b"\0" * (MAX_FILE_BYTES - 4)
    response = web_session.post("/api/plans/preview", headers=csrf, files={"file": ("vua.docx", exact, DOCX)})
    assert response.status_code == 200, response.text
    assert len(base64.b64decode(tasks.preview_import.call_args.args[0]["docx_b64"])) == MAX_FILE_BYTES


def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(gateway, web_session, web_config, csrf, tasks):
    """A declared length over 60 MB is refused on the header: the client
    need not send (and the gateway does not read) the body."""
    host, port = web_config["WEB_SERVER_ADDRESS"].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/api/plans/import")
    for name, value in {**csrf, "Cookie": f"{auth.SESSION_COOKIE}={web_session.cookies[auth.SESSION_COOKIE]}",
                        "Content-Type": "multipart/form-data; boundary=x",
                        "Content-Length": str(MAX_UPLOAD_BODY_BYTES + 1)}.items():
        connection.putheader(name, value)
    connection.endheaders(b"--x\r\n")
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"] == "PAYLOAD_TOO_LARGE"
    connection.close()
    assert not tasks.import_plan.called


def test_routes_without_files_take_json_only(gateway, web_session, csrf, tasks):
    response = web_session.post("/api/tasks/t1/comments", headers=csrf, files={"text": (None, "Đồng ý")})
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert not tasks.add_comment.called


@pytest.mark.parametrize("form, files, message", [
    ({"text": "Phụ lục …"}, {"file": ("a.docx", DOCX_BYTES, DOCX)}, "không dùng cả hai"),
    ({"source_name": "KH"}, {"file": ("", b"")}, "Hãy chọn tệp"),
    ({}, [("file", ("a.docx", DOCX_BYTES, DOCX)), ("file", ("b.docx", DOCX_BYTES, DOCX))], "một tệp"),
])
def test_a_multipart_import_needs_exactly_one_source(gateway, web_session, csrf, tasks, form, files, message):
    response = web_session.post("/api/plans/import", headers=csrf, data=form, files=files)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not tasks.import_plan.called


def test_the_tasks_services_refusal_of_a_corrupt_docx_is_a_400(gateway, web_session, csrf, tasks):
    tasks.import_plan.side_effect = RemoteError("InvalidInput", "Tệp không phải là tài liệu Word (.docx) hợp lệ.")
    response = web_session.post("/api/plans/import", headers=csrf, files={"file": ("hong.docx", b"not a zip", DOCX)})
    assert assert_error(response, 400, "INVALID_INPUT")["message"] == "Tệp không phải là tài liệu Word (.docx) hợp lệ."


def test_other_bodies_are_refused_with_415(gateway, web_session, csrf, tasks):
    response = web_session.post("/api/plans/import", headers={**csrf, "Content-Type": "text/plain"}, data="Phụ lục".encode())
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_viewers_cannot_preview_or_import(gateway, web_session, people, sign_in, tasks):
    csrf = {auth.CSRF_HEADER: sign_in(people["viewer"])}
    for path in ("/api/plans/preview", "/api/plans/import"):
        assert_error(web_session.post(path, headers=csrf, files={"file": ("a.docx", DOCX_BYTES, DOCX)}), 403, "FORBIDDEN")
    assert not tasks.preview_import.called and not tasks.import_plan.called


# --- plans, filters, reports -------------------------------------------------------------

def test_one_plan_and_its_report_periods(gateway, web_session, people, sign_in, tasks):
    tasks.get_plan.return_value = samples.plan()
    tasks.report_periods.return_value = samples.periods()
    sign_in(people["viewer"])
    assert web_session.get("/api/plans/p1").json()["progress"]["overdue"] == 3
    tasks.get_plan.assert_called_once_with("p1", "xuan-hung")
    periods = web_session.get("/api/plans/p1/report-periods").json()["items"]
    assert [p["kind"] for p in periods] == ["quarter"] * 4 + ["half_year"] * 2 + ["year"]


def test_new_task_filters_pass_through(gateway, web_session, people, sign_in, tasks):
    tasks.list_tasks.return_value = samples.task_page()
    sign_in(people["viewer"])
    web_session.get("/api/tasks", params={"agency_id": "vhxh", "due": "overdue", "plan_id": "p1"})
    tasks.list_tasks.assert_called_once_with(
        {"agency_id": "vhxh", "due": "overdue", "plan_id": "p1", "commune_id": "xuan-hung"})


def test_an_unknown_filter_value_is_the_tasks_services_400(gateway, web_session, people, sign_in, tasks):
    tasks.list_tasks.side_effect = RemoteError("InvalidInput", "Bộ lọc hạn phải là một trong: overdue, due_soon.")
    sign_in(people["viewer"])
    assert_error(web_session.get("/api/tasks", params={"due": "tomorrow"}), 400, "INVALID_INPUT")


def report_reply(filename="bao-cao-quy-iv-nam-2026.docx", content_type=DOCX, content=b"PK\x03\x04report"):
    return {"filename": filename, "content_type": content_type, "content_b64": b64(content)}


def test_a_report_downloads_as_an_attachment_with_its_type(gateway, web_session, people, sign_in, tasks):
    tasks.generate_report.return_value = report_reply()
    sign_in(people["viewer"])
    response = web_session.get("/api/plans/p1/report", params={
        "period": "quarter", "year": "2026", "number": "4", "format": "docx", "doc_number": "45/BC-UBND",
        "signer_name": "Nguyễn Văn An"})
    assert response.status_code == 200, response.text
    assert response.content == b"PK\x03\x04report"
    assert response.headers["Content-Type"] == DOCX
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="bao-cao-quy-iv-nam-2026.docx"')
    assert response.headers["Cache-Control"] == "no-store"
    tasks.generate_report.assert_called_once_with({
        "plan_id": "p1", "period": {"kind": "quarter", "year": 2026, "number": 4}, "format": "docx",
        "number": "45/BC-UBND", "proposals": "", "signer_name": "Nguyễn Văn An",
        "commune": {"name": "Xuân Hưng", "province": "Ninh Bình"}, "commune_id": "xuan-hung"})


def test_an_ad_hoc_xlsx_report_names_its_dates(gateway, web_session, people, sign_in, tasks):
    tasks.generate_report.return_value = report_reply("Báo cáo đột xuất.xlsx", XLSX, b"PK\x03\x04xlsx")
    sign_in(people["viewer"])
    response = web_session.get("/api/plans/p1/report", params={
        "kind": "adhoc", "start": "2026-10-01", "end": "2026-11-15", "format": "xlsx"})
    assert response.status_code == 200 and response.headers["Content-Type"] == XLSX
    assert disposition_name(response.headers["Content-Disposition"]) == "Báo cáo đột xuất.xlsx"
    assert 'filename="Bao cao dot xuat.xlsx"' in response.headers["Content-Disposition"]
    assert tasks.generate_report.call_args.args[0]["period"] == {"kind": "adhoc", "start": "2026-10-01",
                                                                 "end": "2026-11-15"}


@pytest.mark.parametrize("params, field", [
    ({"period": "quarter", "year": "2026", "number": "4", "format": "pdf"}, "format"),
    ({"period": "month", "year": "2026"}, "period"),
    ({"year": "2026"}, "period"),
    ({"period": "quarter", "year": "2026", "number": "5"}, "number"),
    ({"period": "adhoc", "start": "1/10/2026", "end": "2026-11-15"}, "start"),
])
def test_a_bad_report_request_is_a_400_before_any_call(gateway, web_session, people, sign_in, tasks, params, field):
    sign_in(people["viewer"])
    body = assert_error(web_session.get("/api/plans/p1/report", params=params), 400, "INVALID_INPUT")
    assert field in body["details"]["fields"]
    assert not tasks.generate_report.called


def test_indicators_pass_their_dates(gateway, web_session, people, sign_in, tasks):
    tasks.get_indicators.return_value = [{"key": "devices_online", "label": "Thiết bị trực tuyến", "value": None,
                                          "unit": "%"}]
    sign_in(people["viewer"])
    items = web_session.get("/api/indicators", params={"start": "2026-10-01", "end": "2026-12-31"}).json()["items"]
    assert items[0]["value"] is None
    tasks.get_indicators.assert_called_once_with({"start": "2026-10-01", "end": "2026-12-31", "commune_id": "xuan-hung"})


# --- evidence ---------------------------------------------------------------------------------

@pytest.mark.parametrize("given, served, kind", [
    ("application/pdf", "application/pdf", "inline"),
    ("image/jpeg", "image/jpeg", "inline"),
    (DOCX, DOCX, "attachment"),
    ("text/html", "application/octet-stream", "attachment"),
    ("image/svg+xml", "application/octet-stream", "attachment"),
])
def test_evidence_streams_with_a_type_the_browser_cannot_misuse(gateway, web_session, people, sign_in, tasks,
                                                                given, served, kind):
    tasks.get_evidence.return_value = {"name": "Biên bản họp.pdf", "content_type": given, "size": 9,
                                       "content_b64": b64(b"%PDF-1.7\n")}
    sign_in(people["viewer"])
    response = web_session.get("/api/tasks/t1/evidence/f1")
    assert response.status_code == 200 and response.content == b"%PDF-1.7\n"
    assert response.headers["Content-Type"] == served
    assert response.headers["Content-Disposition"].startswith(f'{kind}; filename="Bien ban hop.pdf"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    tasks.get_evidence.assert_called_once_with("t1", "f1", "xuan-hung")


def test_an_evidence_name_cannot_break_its_header(gateway, web_session, people, sign_in, tasks):
    tasks.get_evidence.return_value = {"name": '../"ảnh"\r\nSet-Cookie: x=1.png', "content_type": "image/png",
                                       "size": 4, "content_b64": b64(b"\x89PNG")}
    sign_in(people["viewer"])
    response = web_session.get("/api/tasks/t1/evidence/f1")
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "Set-Cookie" not in response.headers
    assert disposition_name(disposition) == "ảnhSet-Cookie: x=1.png"
    assert disposition.count('"') == 2


def test_evidence_of_another_communes_task_is_not_found(gateway, web_session, people, sign_in, tasks):
    tasks.get_evidence.side_effect = RemoteError("NotFound", "Không tìm thấy tệp minh chứng.")
    sign_in(people["other_admin"])
    assert_error(web_session.get("/api/tasks/t1/evidence/f1"), 404, "NOT_FOUND")
    tasks.get_evidence.assert_called_once_with("t1", "f1", "yen-thang")


# --- progress reports, guidance, comments ------------------------------------------------------

def test_a_json_progress_report(gateway, web_session, csrf, tasks):
    tasks.add_update.return_value = {"_id": "u1", "links": [], "files": []}
    response = post_json(web_session, "/api/tasks/t1/updates", {
        "text": "Đã họp triển khai", "links": ["https://xuanhung.gov.vn/tin/1"]}, csrf=csrf[auth.CSRF_HEADER])
    assert response.status_code == 201, response.text
    tasks.add_update.assert_called_once_with({
        "text": "Đã họp triển khai", "links": ["https://xuanhung.gov.vn/tin/1"], "files": [], "task_id": "t1",
        "commune_id": "xuan-hung"})


def test_a_multipart_progress_report_carries_its_files(gateway, web_session, csrf, tasks):
    tasks.add_update.return_value = {"_id": "u1", "links": [], "files": []}
    photo, minutes = b"\xff\xd8\xff\xe0photo", b"PK\x03\x04minutes"
    response = web_session.post("/api/tasks/t1/updates", headers=csrf, data={
        "text": "Lắp cụm loa thôn 3", "links": "https://a.example/1\r\nhttps://a.example/2"},
        files=[("files", ("ảnh lắp đặt.jpg", photo, "image/jpeg")),
               ("files", ("bien-ban.docx", minutes, "application/octet-stream"))])
    assert response.status_code == 201, response.text
    sent = tasks.add_update.call_args.args[0]
    assert sent["links"] == ["https://a.example/1", "https://a.example/2"]
    assert sent["files"] == [
        {"name": "ảnh lắp đặt.jpg", "content_type": "image/jpeg", "content_b64": b64(photo)},
        {"name": "bien-ban.docx", "content_type": DOCX, "content_b64": b64(minutes)},
    ]


def test_six_files_are_refused(gateway, web_session, csrf, tasks):
    files = [("files", (f"{n}.pdf", b"%PDF", "application/pdf")) for n in range(6)]
    response = web_session.post("/api/tasks/t1/updates", headers=csrf, data={"text": "x"}, files=files)
    assert "5" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not tasks.add_update.called


def test_an_evidence_file_over_10_mb_is_refused(gateway, web_session, csrf, tasks):
    big = b"%PDF" + b"\0" * MAX_FILE_BYTES
    response = web_session.post("/api/tasks/t1/updates", headers=csrf, data={"text": "x"},
                                files={"files": ("scan.pdf", big, "application/pdf")})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert not tasks.add_update.called


@pytest.mark.parametrize("body, field", [
    ({"text": ""}, "text"),
    ({"links": ["https://a.example"]}, "text"),
    ({"text": "x", "links": ["javascript:alert(1)"]}, "links"),
    ({"text": "x", "links": ["xuanhung.gov.vn"]}, "links"),
    ({"text": "x", "links": [f"https://a.example/{n}" for n in range(11)]}, "links"),
    ({"text": "x", "status": "done"}, "status"),
])
def test_bad_progress_reports_are_refused(gateway, web_session, csrf, tasks, body, field):
    response = post_json(web_session, "/api/tasks/t1/updates", body, csrf=csrf[auth.CSRF_HEADER])
    assert field in assert_error(response, 400, "INVALID_INPUT")["details"]["fields"]
    assert not tasks.add_update.called


@pytest.mark.parametrize("exc_type, status", [("NotFound", 404), ("Forbidden", 403)])
def test_a_progress_report_on_another_communes_task_is_refused(gateway, web_session, people, sign_in, tasks,
                                                              exc_type, status):
    """The tasks service finds no such task in the caller's commune; the
    gateway asks it for the caller's own commune and maps its refusal."""
    tasks.add_update.side_effect = RemoteError(exc_type, "Không tìm thấy nhiệm vụ.")
    csrf = sign_in(people["other_admin"])
    response = post_json(web_session, "/api/tasks/t1/updates", {"text": "Báo cáo"}, csrf=csrf)
    assert assert_error(response, status, exc_type.upper().replace("NOTFOUND", "NOT_FOUND"))["message"] == \
        "Không tìm thấy nhiệm vụ."
    assert tasks.add_update.call_args.args[0]["commune_id"] == "yen-thang"
    # naming the other commune is refused by the gateway itself
    response = post_json(web_session, "/api/tasks/t1/updates", {"text": "B", "commune_id": "xuan-hung"}, csrf=csrf)
    assert_error(response, 403, "FORBIDDEN")
    assert tasks.add_update.call_count == 1


def test_operators_report_progress_but_viewers_do_not(gateway, web_session, people, sign_in, tasks, mongo_database):
    tasks.add_update.return_value = {"_id": "u1", "links": [], "files": []}
    UserRepository(mongo_database).update_profile("viewer.xuanhung", {"roles": ["operator"]})
    csrf = sign_in(people["viewer"])
    assert post_json(web_session, "/api/tasks/t1/updates", {"text": "Đã phát bản tin"}, csrf=csrf).status_code == 201
    UserRepository(mongo_database).update_profile("viewer.xuanhung", {"roles": ["viewer"]})
    assert_error(post_json(web_session, "/api/tasks/t1/updates", {"text": "x"}, csrf=csrf), 403, "FORBIDDEN")


def test_guidance_dates_travel_as_iso_strings(gateway, web_session, csrf, tasks):
    tasks.record_guidance.return_value = samples.task()
    response = post_json(web_session, "/api/tasks/t9/guidance", {"received_on": "2026-11-02"},
                         csrf=csrf[auth.CSRF_HEADER])
    assert response.status_code == 200, response.text
    tasks.record_guidance.assert_called_once_with(
        {"received_on": "2026-11-02", "due": None, "note": "", "task_id": "t9", "commune_id": "xuan-hung"})


@pytest.mark.parametrize("body, field", [
    ({}, "received_on"),
    ({"received_on": "02/11/2026"}, "received_on"),
    ({"received_on": "2026-11-02", "due": "2026-13-01"}, "due"),
])
def test_bad_guidance_is_refused(gateway, web_session, csrf, tasks, body, field):
    response = post_json(web_session, "/api/tasks/t9/guidance", body, csrf=csrf[auth.CSRF_HEADER])
    assert field in assert_error(response, 400, "INVALID_INPUT")["details"]["fields"]
    assert not tasks.record_guidance.called


def test_guidance_for_a_task_that_waits_for_none_is_the_tasks_services_400(gateway, web_session, csrf, tasks):
    tasks.record_guidance.side_effect = RemoteError("InvalidInput", "Nhiệm vụ I.1.1 không chờ hướng dẫn nào.")
    response = post_json(web_session, "/api/tasks/t1/guidance", {"received_on": "2026-11-02"},
                         csrf=csrf[auth.CSRF_HEADER])
    assert assert_error(response, 400, "INVALID_INPUT")["message"] == "Nhiệm vụ I.1.1 không chờ hướng dẫn nào."


def test_every_commune_role_may_comment(gateway, web_session, people, sign_in, tasks):
    tasks.add_comment.return_value = {"_id": "c1", "text": "Đồng ý"}
    csrf = sign_in(people["viewer"])
    assert post_json(web_session, "/api/tasks/t1/comments", {"text": "Đồng ý"}, csrf=csrf).status_code == 201
    tasks.add_comment.assert_called_once_with({"text": "Đồng ý", "task_id": "t1", "commune_id": "xuan-hung"})
    assert_error(post_json(web_session, "/api/tasks/t1/comments", {"text": ""}, csrf=csrf), 400, "INVALID_INPUT")


# --- assignees, users and agencies ----------------------------------------------------------------

@pytest.fixture
def staff(people, mongo_database):
    """Two officers of the Culture–Society office and one of the police."""
    from services.gateway import domain
    users = UserRepository(mongo_database)
    made = {}
    for key, username, name, agency_id in (("lan", "lan.vhxh", "Nguyễn Thị Lan", "vhxh"),
                                           ("minh", "minh.vhxh", "Trần Văn Minh", "vhxh"),
                                           ("hung", "hung.ca", "Lê Văn Hùng", None)):
        made[key] = users.add(domain.new_user({"username": username, "display_name": name, "commune_id": "xuan-hung",
                                               "agency_id": agency_id, "roles": ["editor"]}, "h"))
    return made


def test_assignees_come_from_the_lead_agency_with_their_names(gateway, web_session, csrf, tasks, staff):
    tasks.get_task.return_value = samples.detail()
    tasks.assign.return_value = samples.task(assignees=[])
    ids = [staff["lan"]["_id"], staff["minh"]["_id"]]
    response = post_json(web_session, "/api/tasks/t1/assignees", {"user_ids": ids}, csrf=csrf[auth.CSRF_HEADER])
    assert response.status_code == 200, response.text
    tasks.assign.assert_called_once_with({"task_id": "t1", "commune_id": "xuan-hung", "assignees": [
        {"user_id": ids[0], "name": "Nguyễn Thị Lan"}, {"user_id": ids[1], "name": "Trần Văn Minh"}]})


def test_someone_outside_the_lead_agency_is_not_assigned(gateway, web_session, csrf, tasks, staff):
    tasks.get_task.return_value = samples.detail()
    response = post_json(web_session, "/api/tasks/t1/assignees", {"user_ids": [staff["hung"]["_id"]]},
                         csrf=csrf[auth.CSRF_HEADER])
    assert "Lê Văn Hùng" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not tasks.assign.called


def test_a_task_with_an_unmatched_lead_agency_may_go_to_anyone_in_the_commune(gateway, web_session, csrf, tasks, staff):
    tasks.get_task.return_value = samples.detail(lead_agencies=[samples.ref("Ban chỉ đạo 35")])
    tasks.assign.return_value = samples.task()
    response = post_json(web_session, "/api/tasks/t1/assignees", {"user_ids": [staff["hung"]["_id"]]},
                         csrf=csrf[auth.CSRF_HEADER])
    assert response.status_code == 200, response.text


def test_accounts_of_another_commune_are_not_assigned(gateway, web_session, csrf, tasks, people):
    tasks.get_task.return_value = samples.detail(lead_agencies=[])
    response = post_json(web_session, "/api/tasks/t1/assignees", {"user_ids": [people["other_admin"]["_id"]]},
                         csrf=csrf[auth.CSRF_HEADER])
    assert_error(response, 400, "INVALID_INPUT")
    assert not tasks.assign.called


def test_only_commune_admins_assign(gateway, web_session, people, sign_in, tasks):
    csrf = sign_in(people["editor"])
    assert_error(post_json(web_session, "/api/tasks/t1/assignees", {"user_ids": []}, csrf=csrf), 403, "FORBIDDEN")
    assert not tasks.get_task.called


def test_the_user_list_filters_by_agency_and_checks_it(gateway, web_session, people, sign_in, staff):
    sign_in(people["admin"])
    names = [u["display_name"] for u in web_session.get("/api/users", params={"agency_id": "vhxh"}).json()["items"]]
    assert names == ["Nguyễn Thị Lan", "Trần Văn Minh"]
    everyone = web_session.get("/api/users").json()["items"]
    assert len(everyone) == 6 and all("password_hash" not in u for u in everyone)
    assert_error(web_session.get("/api/users", params={"agency_id": "no-such"}), 400, "INVALID_INPUT")
    sign_in(people["editor"])
    assert_error(web_session.get("/api/users"), 403, "FORBIDDEN")


@pytest.mark.parametrize("agency_id, status", [("vhxh", 201), ("ca", 400), ("Phòng VH", 400)])
def test_a_new_users_agency_must_be_one_of_the_communes(gateway, web_session, people, sign_in, agency_id, status):
    csrf = sign_in(people["admin"])
    response = post_json(web_session, "/api/users", {
        "username": "moi.nguoi", "display_name": "Người mới", "password": "mot-mat-khau-dai", "roles": ["editor"],
        "agency_id": agency_id}, csrf=csrf)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["user"]["agency_id"] == "vhxh"
        assert web_session.get("/api/me").json()["user"]["agency_id"] is None  # the admin has none


def test_ensure_user_sets_keeps_and_checks_the_agency(gateway, people):
    user = {"username": "lan.vhxh", "display_name": "Nguyễn Thị Lan", "roles": ["editor"], "commune_id": "xuan-hung"}
    with entrypoint_hook(gateway, "ensure_user", context_data=SYSTEM_CONTEXT) as ensure_user:
        assert ensure_user(dict(user, agency_id="vhxh"))["user"]["agency_id"] == "vhxh"
        assert ensure_user(user)["user"]["agency_id"] == "vhxh"  # the seed's form: the office stays
        assert ensure_user(dict(user, agency_id=None))["user"]["agency_id"] is None
        with pytest.raises(Exception) as refused:
            ensure_user(dict(user, agency_id="no-such-office"))
    assert type(refused.value).__name__ == "InvalidInput"


def test_the_agency_registry_for_other_services(gateway, people):
    with entrypoint_hook(gateway, "list_agencies", context_data=SYSTEM_CONTEXT) as list_agencies:
        registry = list_agencies("xuan-hung")
    assert registry == [{"id": "vhxh", "name": "Phòng Văn hóa – Xã hội", "aliases": ["Phòng Văn hoá – Xã hội"]}]


def test_the_commune_profile_for_other_services_is_its_name_and_villages(gateway, people):
    with entrypoint_hook(gateway, "commune_profile", context_data=SYSTEM_CONTEXT) as commune_profile:
        profile = commune_profile("xuan-hung")
    assert profile["id"] == "xuan-hung" and profile["name"]
    assert profile["villages"] and all(set(v) == {"id", "name"} for v in profile["villages"])
    other = Caller(subject="u9", commune_id="yen-thang", roles=frozenset({"viewer"}))
    with entrypoint_hook(gateway, "commune_profile", context_data={CONTEXT_KEY: other.to_json()}) as commune_profile:
        with pytest.raises(Exception) as refused:
            commune_profile("xuan-hung")
    assert type(refused.value).__name__ == "Forbidden"


def test_an_agencys_tasks(gateway, web_session, people, sign_in, tasks):
    tasks.agency_view.return_value = samples.agency_view()
    sign_in(people["viewer"])
    view = web_session.get("/api/agencies/vhxh/tasks").json()
    assert [t["code"] for t in view["overdue"]] == ["I.1.2"]
    tasks.agency_view.assert_called_once_with("vhxh", "xuan-hung")
    assert_error(web_session.get("/api/agencies/ca/tasks"), 404, "NOT_FOUND")
    assert tasks.agency_view.call_count == 1


# --- the activity feed ------------------------------------------------------------------------------

EVENT = {"commune_id": "xuan-hung", "occurred_at": "2026-11-26T01:00:00.000Z", "schema_version": 1,
         "task_id": "t1", "plan_id": "p1", "code": "I.1.1", "title": "Xây dựng Quy chế"}


@pytest.mark.parametrize("handler, extra, summary", [
    ("on_task_overdue", {"due": "2026-11-25", "actor": "system"},
     "Nhiệm vụ I.1.1 quá hạn (hạn 25/11/2026): Xây dựng Quy chế"),
    ("on_task_due_soon", {"due": "2026-12-01", "actor": "system"},
     "Nhiệm vụ I.1.1 sắp đến hạn (hạn 01/12/2026): Xây dựng Quy chế"),
])
def test_follow_up_events_reach_the_feed(gateway, web_session, people, sign_in, handler, extra, summary):
    with entrypoint_hook(gateway, handler) as handle:
        handle(dict(EVENT, event_id=handler.ljust(32, "0"), **extra))
    sign_in(people["viewer"])
    items = web_session.get("/api/activity").json()["items"]
    assert [(i["summary"], i["data"]["task_id"]) for i in items] == [(summary, "t1")]


def test_a_progress_report_reaches_the_feed_with_its_author(gateway, web_session, people, sign_in):
    text = "Đã dự thảo Quy chế quản lý, vận hành Hệ thống thông tin nguồn của xã và gửi các phòng, ban góp ý " * 3
    with entrypoint_hook(gateway, "on_task_progress_reported") as handle:
        handle(dict(EVENT, event_id="p" * 32, actor=people["editor"]["_id"], update_id="u1", text=text))
    sign_in(people["viewer"])
    summary = web_session.get("/api/activity").json()["items"][0]["summary"]
    assert summary.startswith("Biên tập viên báo cáo tiến độ nhiệm vụ I.1.1: «Đã dự thảo Quy chế")
    assert summary.endswith("…»") and len(summary) < 200
