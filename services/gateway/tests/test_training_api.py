"""Service tests of the training API: each route reaches its RPC of the
training service (services/training/API.md) with the right arguments and
the caller's commune; changes are refused to roles that may not make them
and files over the limits before any call; the training service's refusals
come back through the one error table; the public verification answers
without a cookie and passes on only what a certificate states; the
training events feed the activity feed. The training service is replaced by
a stand-in."""
import base64

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, replace_dependencies

from shared.errors import Conflict, Forbidden, InvalidInput
from shared.events import make_event
from shared.timeutil import local_today

from services.gateway import auth, domain
from services.gateway.files import XLSX_TYPE
from services.gateway.openapi import DOCUMENT
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import training_samples as samples
from services.gateway.tests.conftest import SYSTEM_CONTEXT
from services.gateway.tests.test_api import assert_error, assert_route_reaches_rpc, called, send

SCOPED = {"commune_id": "xuan-hung"}
CSV = "họ và tên,thôn,vai trò\nHoàng Văn Đức,thon-2,communicator\n".encode("utf-8")
CSV_B64 = base64.b64encode(CSV).decode("ascii")
NEW_PERSON = {"full_name": "Hoàng Văn Đức", "village": "thon-2", "role": "communicator", "phone": "0987 654 321",
              "birth_date": "1995-07-01", "gender": "male"}
COURSE = {"title": "Vận hành đài truyền thanh thông minh", "topics": ["radio_operation"], "organiser": "Sở VHTTDL",
          "min_attendance": 0.75}
SESSION = {"date": "2026-04-10", "starts_at": "07:30", "ends_at": "11:00", "place": "Hội trường UBND xã",
           "trainer": "Ông Hải", "capacity": 30}
STATEMENT = ("code", "full_name", "course_title", "topics", "completed_on", "commune_name", "issued_at", "revoked")


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.training_mock = replace_dependencies(container, "training")
    container.start()
    return container


@pytest.fixture
def training(gateway):
    return gateway.training_mock


def account(mongo_database, password_hash, username, name, roles, commune_id="xuan-hung"):
    return UserRepository(mongo_database).add(domain.new_user(
        {"username": username, "display_name": name, "commune_id": commune_id, "roles": roles}, password_hash))


@pytest.fixture
def trainer(gateway, people, sign_in, mongo_database, password_hash):
    """Signed in as the commune's trainer (cán bộ phụ trách tập huấn); the session's CSRF header."""
    user = account(mongo_database, password_hash, "trainer.xuanhung", "Chị Hoa", ["trainer"])
    return {auth.CSRF_HEADER: sign_in(user)}


# (method, path, JSON body or query, RPC, its answer, the call it gets, status)
ROUTES = [
    ("GET", "/api/training/roster", None, "roster", samples.roster(), ((), SCOPED), 200),
    ("GET", "/api/training/people/p1", None, "get_person", samples.person_detail(), (("p1",), SCOPED), 200),
    ("POST", "/api/training/people", NEW_PERSON, "save_person", samples.person("p9"), ((NEW_PERSON,), SCOPED), 201),
    ("PUT", "/api/training/people/p1", {"full_name": "Nguyễn Thị Lan", "village": "thon-1", "email": None},
     "save_person", samples.person(),
     (({"full_name": "Nguyễn Thị Lan", "village": "thon-1", "email": None, "person_id": "p1"},), SCOPED), 200),
    ("PUT", "/api/training/people/p1", {"person_id": "p1", "full_name": "Nguyễn Thị Lan"}, "save_person",
     samples.person(), (({"full_name": "Nguyễn Thị Lan", "person_id": "p1"},), SCOPED), 200),
    ("POST", "/api/training/people/p1/status", {"status": "on_leave", "since": "2026-03-12", "reason": "Sinh con"},
     "set_status", samples.person(status="on_leave"),
     (("p1", "on_leave"), {"since": "2026-03-12", "reason": "Sinh con", **SCOPED}), 200),
    ("POST", "/api/training/people/p1/status", {"status": "active"}, "set_status", samples.person(),
     (("p1", "active"), {"since": None, "reason": "", **SCOPED}), 200),
    ("POST", "/api/training/people/p3/replace",
     {"replacement": {"full_name": "Hoàng Văn Đức", "phone": "0987 654 321"}, "since": "2026-03-15",
      "reason": "Chuyển công tác"}, "replace_person",
     {"left": samples.person("p3", status="left"), "replacement": samples.person("p9")},
     (("p3", {"full_name": "Hoàng Văn Đức", "phone": "0987 654 321"}),
      {"since": "2026-03-15", "reason": "Chuyển công tác", **SCOPED}), 200),
    ("POST", "/api/training/people/p3/replace", {"replacement": {"person_id": "p5"}}, "replace_person",
     {"left": samples.person("p3", status="left"), "replacement": samples.person("p5")},
     (("p3", {"person_id": "p5"}), {"since": None, "reason": "", **SCOPED}), 200),
    ("PUT", "/api/training/targets",
     {"targets": [{"village": "thon-1", "target": 1, "zalo_url": "https://zalo.me/g/thon1"},
                  {"village": "thon-2", "target": 2}], "zalo_url": "https://zalo.me/g/xuanhung"},
     "save_targets", samples.roster()["totals"],
     (([{"village": "thon-1", "target": 1, "zalo_url": "https://zalo.me/g/thon1"}, {"village": "thon-2", "target": 2}],),
      {"zalo_url": "https://zalo.me/g/xuanhung", **SCOPED}), 200),
    ("POST", "/api/training/imports/roster", {"filename": "danh-sách.csv", "data_base64": CSV_B64},
     "preview_roster_import", samples.roster_preview(), (("danh-sách.csv", CSV_B64), SCOPED), 200),
    ("POST", "/api/training/imports/online", {"filename": "ket-qua.csv", "data_base64": CSV_B64},
     "preview_online_import", samples.online_preview(), (("ket-qua.csv", CSV_B64), SCOPED), 200),
    ("POST", "/api/training/imports/imp1/confirm", {}, "confirm_import", {"applied": 1, "import_id": "imp1"},
     (("imp1",), SCOPED), 200),
    ("GET", "/api/training/topics", None, "topics", samples.topics(), ((), {}), 200),
    ("GET", "/api/training/courses", {"state": "open", "topic": "oral_propaganda", "year": "2026"}, "list_courses",
     [samples.course()], (({"state": "open", "topic": "oral_propaganda", "year": 2026},), SCOPED), 200),
    ("POST", "/api/training/courses", COURSE, "save_course", samples.course("c2"), ((COURSE,), SCOPED), 201),
    ("GET", "/api/training/courses/c1", None, "get_course", samples.course_detail(), (("c1",), SCOPED), 200),
    ("PUT", "/api/training/courses/c1", COURSE, "save_course", samples.course(),
     ((dict(COURSE, course_id="c1"),), SCOPED), 200),
    ("POST", "/api/training/courses/c1/sessions", SESSION, "save_session",
     {"session": samples.session("s3"), "promoted": []}, ((dict(SESSION, course_id="c1"),), SCOPED), 201),
    ("PUT", "/api/training/sessions/s1", dict(SESSION, session_id="s1", capacity=40), "save_session",
     {"session": samples.session(capacity=40), "promoted": [samples.enrolment("e3", "p3", "Lê Văn Cường")]},
     ((dict(SESSION, session_id="s1", capacity=40),), SCOPED), 200),
    ("DELETE", "/api/training/sessions/s2", None, "delete_session", {"deleted": True, "promoted": []},
     (("s2",), SCOPED), 200),
    ("POST", "/api/training/courses/c1/enrolments", {"person_id": "p4"}, "enrol",
     samples.enrolment("e4", "p4", "Phạm Thu Hà", state="waitlisted", position=2), (("c1", "p4"), SCOPED), 201),
    ("POST", "/api/training/enrolments/e1/cancel", {"reason": "Bận việc nhà"}, "cancel_enrolment",
     {"cancelled": samples.enrolment("e1", "p1", "Nguyễn Thị Lan", state="cancelled"),
      "promoted": samples.enrolment("e3", "p3", "Lê Văn Cường")},
     (("e1",), {"reason": "Bận việc nhà", **SCOPED}), 200),
    ("GET", "/api/training/sessions/s1/attendance", None, "attendance_sheet", samples.attendance_sheet(),
     (("s1",), SCOPED), 200),
    ("PUT", "/api/training/sessions/s1/attendance",
     {"entries": [{"person_id": "p1", "status": "present"}, {"person_id": "p2", "status": "absent", "remark": "Ốm"}]},
     "record_attendance", samples.attendance_sheet(absent=1, not_taken=0),
     (("s1", [{"person_id": "p1", "status": "present", "remark": ""},
              {"person_id": "p2", "status": "absent", "remark": "Ốm"}]), SCOPED), 200),
    ("POST", "/api/training/courses/c1/close", {}, "close_course",
     {"course": samples.course(state="closed"), "completed": [], "not_completed": []}, (("c1",), SCOPED), 200),
    ("GET", "/api/training/unmatched", None, "list_unmatched",
     [{"row_id": "r1", "import_id": "imp2", "full_name": "Ngô Thị Mai", "email": None, "phone": None,
       "course_title": "Kỹ năng số", "completed_on": "2026-03-02"}], ((), SCOPED), 200),
    ("POST", "/api/training/unmatched/r1/match", {"person_id": "p1"}, "match_unmatched",
     {"person_id": "p1", "certificate_id": "cert9"}, (("r1", "p1"), SCOPED), 200),
    ("GET", "/api/training/certificates", {"course_id": "c1"}, "list_certificates", [samples.certificate()],
     (({"course_id": "c1"},), SCOPED), 200),
    ("POST", "/api/training/certificates/cert1/revoke", {"reason": "Cấp nhầm người"}, "revoke_certificate",
     samples.certificate(revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm người"}),
     (("cert1", "Cấp nhầm người"), SCOPED), 200),
    ("GET", "/api/training/indicators", {"start": "2026-01-01", "end": "2026-06-30"}, "indicators",
     {"people_trained": 12, "by_topic": {"oral_propaganda": 12}, "roster": samples.roster()["totals"]},
     (("2026-01-01", "2026-06-30"), SCOPED), 200),
]


@pytest.mark.parametrize("method, path, payload, rpc, answer, call, status", ROUTES,
                         ids=[f"{route[0]} {route[1]} {route[3]}" for route in ROUTES])
def test_each_route_reaches_its_rpc_in_the_callers_commune(training, web_session, trainer, method, path, payload,
                                                           rpc, answer, call, status):
    assert_route_reaches_rpc(training, web_session, trainer, method, path, payload, rpc, answer, call, status)


def test_indicators_are_this_year_to_today_unless_asked(training, web_session, trainer):
    training.indicators.return_value = {"people_trained": 0, "by_topic": {}, "roster": {}}
    web_session.get("/api/training/indicators")
    today = local_today()
    assert called(training.indicators) == ((f"{today.year}-01-01", today.isoformat()), SCOPED)


# --- files in and out ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, rpc", [("/api/training/imports/roster", "preview_roster_import"),
                                       ("/api/training/imports/online", "preview_online_import")])
def test_an_import_is_a_multipart_file_sent_on_as_base64(training, web_session, trainer, path, rpc):
    getattr(training, rpc).return_value = samples.roster_preview()
    response = web_session.post(path, files={"file": ("C:\\Tài liệu\\danh sách.csv", CSV, "text/csv")},
                                headers=trainer)
    assert response.status_code == 200, response.text
    assert called(getattr(training, rpc)) == (("danh sách.csv", CSV_B64), SCOPED)


@pytest.mark.parametrize("request_kwargs, status, code, message", [
    ({"files": {"file": ("lon.csv", b"x" * (2 * 1024 * 1024 + 1), "text/csv")}}, 413, "PAYLOAD_TOO_LARGE", "2 MB"),
    ({"json": {"filename": "lon.csv", "data_base64": base64.b64encode(b"x" * (2 * 1024 * 1024 + 1)).decode()}},
     413, "PAYLOAD_TOO_LARGE", "2 MB"),
    ({"json": {"filename": "hong.csv", "data_base64": "đây không phải base64"}}, 400, "INVALID_INPUT", "base64"),
    ({"json": {"data_base64": CSV_B64}}, 400, "INVALID_INPUT", "filename"),
    ({"files": {"other": ("a.csv", CSV, "text/csv")}}, 400, "INVALID_INPUT", "Hãy chọn một tệp"),
    ({"files": [("file", ("a.csv", CSV, "text/csv")), ("file", ("b.csv", CSV, "text/csv"))]}, 400, "INVALID_INPUT",
     "Mỗi lần chỉ nhập một tệp"),
    ({"data": CSV, "headers": {"Content-Type": "text/csv"}}, 415, "UNSUPPORTED_MEDIA_TYPE", "multipart/form-data"),
])
def test_a_file_the_gateway_can_tell_is_wrong_is_refused_before_any_call(training, web_session, trainer,
                                                                         request_kwargs, status, code, message):
    kwargs = dict(request_kwargs)
    kwargs["headers"] = dict(trainer, **kwargs.get("headers", {}))
    response = web_session.post("/api/training/imports/roster", **kwargs)
    assert message in assert_error(response, status, code)["message"]
    assert not training.method_calls


@pytest.mark.parametrize("fmt, content_type", [("csv", "text/csv; charset=utf-8"), ("xlsx", XLSX_TYPE)])
def test_the_roster_export_is_a_download_with_an_ascii_safe_name(training, web_session, trainer, fmt, content_type):
    training.export_roster.return_value = samples.export(fmt)
    response = web_session.get("/api/training/roster/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == content_type
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="tuyen-truyen-vien-xuan-hung.{fmt}"; filename*=UTF-8\'\'')
    assert disposition.isascii()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content == "full_name,village\nNguyễn Thị Lan,thon-1\n".encode("utf-8")
    assert called(training.export_roster) == ((fmt,), SCOPED)


@pytest.mark.parametrize("params, message", [({"format": "pdf"}, "csv hoặc xlsx"), ({}, "format")])
def test_an_export_in_an_unknown_format_is_refused(training, web_session, trainer, params, message):
    response = web_session.get("/api/training/roster/export", params=params)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not training.method_calls


def test_a_certificate_is_a_pdf_readers_open_in_the_browser(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    training.certificate_pdf.return_value = samples.pdf()
    response = web_session.get("/api/training/certificates/cert1.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith(
        'inline; filename="giay-chung-nhan Nguyen Thi Lan.pdf"; filename*=UTF-8\'\'gi%E1%BA%A5y')
    assert response.content.startswith(b"%PDF-")
    assert called(training.certificate_pdf) == (("cert1",), SCOPED)


# --- who and which commune -----------------------------------------------------------------------------

CHANGES = [
    ("POST", "/api/training/people", NEW_PERSON),
    ("PUT", "/api/training/people/p1", {"full_name": "Nguyễn Thị Lan"}),
    ("POST", "/api/training/people/p1/status", {"status": "left"}),
    ("POST", "/api/training/people/p1/replace", {"replacement": {"person_id": "p5"}}),
    ("PUT", "/api/training/targets", {"targets": [{"village": "thon-1", "target": 3}]}),
    ("POST", "/api/training/imports/roster", {"filename": "a.csv", "data_base64": CSV_B64}),
    ("POST", "/api/training/imports/imp1/confirm", {}),
    ("POST", "/api/training/courses", COURSE),
    ("POST", "/api/training/courses/c1/sessions", SESSION),
    ("DELETE", "/api/training/sessions/s1", None),
    ("POST", "/api/training/courses/c1/enrolments", {"person_id": "p1"}),
    ("PUT", "/api/training/sessions/s1/attendance", {"entries": [{"person_id": "p1", "status": "late"}]}),
    ("POST", "/api/training/courses/c1/close", {}),
    ("POST", "/api/training/unmatched/r1/match", {"person_id": "p1"}),
    ("POST", "/api/training/certificates/cert1/revoke", {"reason": "Cấp nhầm"}),
    ("GET", "/api/training/roster/export", {"format": "csv"}),
]


@pytest.mark.parametrize("who", ["viewer", "operator", "editor"])
@pytest.mark.parametrize("method, path, payload", CHANGES, ids=[f"{c[0]} {c[1]}" for c in CHANGES])
def test_who_does_not_manage_training_cannot_change_the_roster_or_courses(training, web_session, people, sign_in,
                                                                          operator, who, method, path, payload):
    """Readers may read; a change (and the export, which holds personal data) is refused before any call."""
    headers = operator if who == "operator" else {auth.CSRF_HEADER: sign_in(people[who])}
    body = assert_error(send(web_session, method, path, payload, headers), 403, "FORBIDDEN")
    assert set(body["details"]["required_roles"]) == {"commune_admin", "trainer"}
    assert not training.method_calls


def test_a_viewer_reads_the_roster_without_what_the_service_keeps_from_them(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    training.roster.return_value = samples.roster(personal=False)
    body = web_session.get("/api/training/roster").json()
    assert body == samples.roster(personal=False)
    assert "phone" not in body["villages"][0]["people"][0]
    assert called(training.roster) == ((), SCOPED)


def test_a_commune_administrator_manages_training(training, web_session, people, sign_in):
    csrf = {auth.CSRF_HEADER: sign_in(people["admin"])}
    training.save_person.return_value = samples.person("p9")
    assert web_session.post("/api/training/people", json=NEW_PERSON, headers=csrf).status_code == 201


@pytest.mark.parametrize("method, path, payload", [
    ("GET", "/api/training/roster", {"commune_id": "yen-thang"}),
    ("GET", "/api/training/certificates/cert1.pdf", {"commune_id": "yen-thang"}),
    ("POST", "/api/training/people", dict(NEW_PERSON, commune_id="yen-thang")),
    ("PUT", "/api/training/sessions/s1/attendance",
     {"entries": [{"person_id": "p1", "status": "late"}], "commune_id": "yen-thang"}),
    ("DELETE", "/api/training/sessions/s1", {"commune_id": "yen-thang"}),
])
def test_another_communes_training_is_out_of_reach(training, web_session, trainer, method, path, payload):
    assert_error(send(web_session, method, path, payload, trainer), 403, "FORBIDDEN")
    assert not training.method_calls


def test_a_district_administrator_names_the_commune(training, web_session, people, sign_in):
    csrf = {auth.CSRF_HEADER: sign_in(people["district"])}
    assert_error(web_session.get("/api/training/roster"), 403, "FORBIDDEN")
    training.topics.return_value = samples.topics()
    assert web_session.get("/api/training/topics").json() == {"items": samples.topics()}  # no commune needed
    training.save_targets.return_value = samples.roster()["totals"]
    response = web_session.put("/api/training/targets", headers=csrf, json={
        "targets": [{"village": "thon-1", "target": 1}], "commune_id": "yen-thang"})
    assert response.status_code == 200, response.text
    assert called(training.save_targets) == (([{"village": "thon-1", "target": 1}],),
                                             {"zalo_url": None, "commune_id": "yen-thang"})


def test_a_write_on_a_session_needs_its_csrf_token(training, web_session, trainer):
    assert_error(web_session.post("/api/training/people", json=NEW_PERSON), 403, "CSRF")
    assert_error(web_session.delete("/api/training/sessions/s1"), 403, "CSRF")
    assert not training.method_calls


def test_signed_out_is_401(training, web_session):
    assert_error(web_session.get("/api/training/roster"), 401, "UNAUTHENTICATED")
    assert_error(web_session.get("/api/training/certificates/cert1.pdf"), 401, "UNAUTHENTICATED")
    assert not training.method_calls


def test_a_machine_with_an_api_key_of_a_trainer_reads_and_writes(gateway, training, web_session, people):
    with entrypoint_hook(gateway, "create_api_key", context_data=SYSTEM_CONTEXT) as create:
        key = create("xuan-hung", "Cổng học trực tuyến", ["trainer"])["key"]
    training.preview_online_import.return_value = samples.online_preview()
    response = web_session.post("/api/training/imports/online", headers={"X-API-Key": key},
                                json={"filename": "ket-qua.csv", "data_base64": CSV_B64})
    assert response.status_code == 200, response.text


# --- bad input and the service's refusals --------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, message", [
    ("POST", "/api/training/people", {"village": "thon-1"}, "Hãy nhập họ và tên (full_name)."),
    ("POST", "/api/training/people", {"full_name": ""}, "Hãy nhập họ và tên (full_name)."),
    ("POST", "/api/training/people", {"full_name": "Lan", "status": "left"}, "status"),
    ("POST", "/api/training/people", {"full_name": "Lan", "birth_date": "12/05/1990"}, "Ngày không hợp lệ"),
    ("POST", "/api/training/people", {"full_name": "Lan", "role": "chairman"}, "Vai trò (role)"),
    ("POST", "/api/training/people", {"full_name": "Lan", "gender": "nữ"}, "Giới tính (gender)"),
    ("PUT", "/api/training/people/p1", {"person_id": "p2", "full_name": "Lan"}, "khác mã trên địa chỉ"),
    ("POST", "/api/training/people/p1/status", {"status": "retired"}, "Trạng thái (status)"),
    ("POST", "/api/training/people/p1/status", {}, "Hãy chọn trạng thái mới"),
    ("POST", "/api/training/people/p1/replace", {}, "Hãy nhập người thay thế"),
    ("POST", "/api/training/people/p1/replace", {"replacement": {"person_id": "p5", "full_name": "x"}},
     "chỉ gửi person_id"),
    ("POST", "/api/training/people/p1/replace", {"replacement": {"phone": "0912"}}, "replacement.full_name"),
    ("PUT", "/api/training/targets", {"targets": [{"village": "thon-1", "target": 51}]}, "từ 0 đến 50"),
    ("PUT", "/api/training/targets", {"targets": [{"village": "thon-1", "target": 1},
                                                  {"village": "thon-1", "target": 2}]}, "Thôn bị lặp: thon-1"),
    ("PUT", "/api/training/targets", {"zalo_url": "https://zalo.me/g/x"}, "Hãy gửi định biên các thôn"),
    ("POST", "/api/training/courses", {"title": "Lớp", "topics": []}, "ít nhất một chủ đề"),
    ("POST", "/api/training/courses", dict(COURSE, min_attendance=80), "từ 0 đến 1"),
    ("POST", "/api/training/courses", dict(COURSE, kind="online"), "kind"),
    ("POST", "/api/training/courses/c1/sessions", dict(SESSION, ends_at="07:00"), "Giờ kết thúc phải sau giờ bắt đầu"),
    ("POST", "/api/training/courses/c1/sessions", dict(SESSION, starts_at="7h30"), "ví dụ 07:30"),
    ("POST", "/api/training/courses/c1/sessions", dict(SESSION, capacity=0), "Số chỗ (capacity) từ 1 đến 1000"),
    ("POST", "/api/training/courses/c1/sessions", {"date": "2026-04-10"}, "Hãy nhập số chỗ"),
    ("POST", "/api/training/courses/c1/enrolments", {}, "Hãy chọn người (person_id)."),
    ("PUT", "/api/training/sessions/s1/attendance", {"entries": [{"person_id": "p1", "status": "có mặt"}]},
     "Điểm danh (status)"),
    ("PUT", "/api/training/sessions/s1/attendance",
     {"entries": [{"person_id": "p1", "status": "late", "remark": "x" * 301}]}, "tối đa 300 ký tự"),
    ("POST", "/api/training/certificates/cert1/revoke", {}, "Hãy nêu lý do thu hồi"),
    ("GET", "/api/training/courses", {"year": "năm nay"}, "Năm (year)"),
    ("GET", "/api/training/indicators", {"start": "01/01/2026"}, "Ngày không hợp lệ"),
])
def test_what_the_gateway_can_tell_is_wrong_is_refused_before_any_call(training, web_session, trainer, method, path,
                                                                       body, message):
    response = send(web_session, method, path, body, trainer)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not training.method_calls


def test_a_body_that_is_not_json_is_refused(training, web_session, trainer):
    response = web_session.post("/api/training/people", data="full_name=Lan", headers=dict(
        trainer, **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert not training.method_calls


@pytest.mark.parametrize("rpc, method, path, body, error, status, code", [
    ("roster", "GET", "/api/training/roster", None,
     RemoteError("Forbidden", "Bạn không có quyền thực hiện thao tác này."), 403, "FORBIDDEN"),
    ("export_roster", "GET", "/api/training/roster/export", {"format": "csv"},
     Forbidden("Chỉ quản trị xã và cán bộ phụ trách tập huấn được xuất danh sách."), 403, "FORBIDDEN"),
    ("replace_person", "POST", "/api/training/people/p4/replace", {"replacement": {"full_name": "Mới"}},
     InvalidInput("Cán bộ xã không thay thế theo định biên thôn."), 400, "INVALID_INPUT"),
    ("save_targets", "PUT", "/api/training/targets", {"targets": [{"village": "thon-9", "target": 1}]},
     RemoteError("InvalidInput", "Không có thôn «thon-9» trong xã."), 400, "INVALID_INPUT"),
    ("get_course", "GET", "/api/training/courses/khong-co", None,
     RemoteError("NotFound", "Không tìm thấy lớp tập huấn."), 404, "NOT_FOUND"),
    ("enrol", "POST", "/api/training/courses/c1/enrolments", {"person_id": "p1"},
     RemoteError("Conflict", "Nguyễn Thị Lan đã ghi danh lớp này."), 409, "CONFLICT"),
    ("close_course", "POST", "/api/training/courses/c1/close", {},
     RemoteError("Conflict", "Chưa đến ngày của buổi học cuối (17/04/2026)."), 409, "CONFLICT"),
])
def test_the_training_services_refusals_keep_their_status_and_message(training, web_session, trainer, rpc, method,
                                                                      path, body, error, status, code):
    getattr(training, rpc).side_effect = error
    reply = assert_error(send(web_session, method, path, body, trainer), status, code)
    assert reply["message"] == (error.value if isinstance(error, RemoteError) else error.message)
    assert getattr(training, rpc).called


def test_a_refusal_with_details_passes_them_on(training, web_session, trainer):
    training.save_session.side_effect = Conflict("Buổi học chỉ có 2 chỗ nhưng lớp đã có 3 người.",
                                                 {"enrolled": 3, "capacity": 2})
    reply = assert_error(web_session.put("/api/training/sessions/s1", json=dict(SESSION, capacity=2), headers=trainer),
                         409, "CONFLICT")
    assert reply["details"] == {"enrolled": 3, "capacity": 2}
    training.confirm_import.side_effect = Conflict("Còn 1 dòng có lỗi.", {"errors": 1})
    reply = assert_error(web_session.post("/api/training/imports/imp1/confirm", json={}, headers=trainer), 409,
                         "CONFLICT")
    assert reply["details"] == {"errors": 1}


# --- public verification ---------------------------------------------------------------------------------

def test_verification_needs_no_sign_in_and_says_only_what_the_certificate_states(training, web_session):
    training.verify_certificate.return_value = samples.verification()
    response = web_session.get("/api/certificates/verify/000017-K7Q2M9XW")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"valid": True, "certificate": {key: samples.certificate()[key] for key in STATEMENT}}
    assert "phone" not in response.text and "1990-05-12" not in response.text and "p1" not in response.text
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in response.headers
    assert called(training.verify_certificate) == (("000017-K7Q2M9XW",), {})


@pytest.mark.parametrize("answer", [
    # as API.md words it: still valid, with revoked set
    samples.verification(revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm người", "by": "u-admin"}),
    # as the training service answers: not valid, the statement and why
    {"valid": False, "reason": "Giấy chứng nhận đã bị thu hồi ngày 01/05/2026: Cấp nhầm người",
     "certificate": samples.certificate(revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm người",
                                                 "by": "u-admin"})},
])
def test_a_revoked_certificate_is_a_410_saying_when_and_why_and_nothing_more(training, web_session, answer):
    training.verify_certificate.return_value = answer
    response = web_session.get("/api/certificates/verify/000017-K7Q2M9XW")
    assert response.status_code == 410
    body = response.json()
    assert body["valid"] is False and body["error"] == "REVOKED" and body["message"] == body["reason"]
    assert body["certificate"] == dict({key: samples.certificate()[key] for key in STATEMENT},
                                       revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm người"})
    assert "u-admin" not in response.text


def test_an_invalid_code_is_a_404_with_the_reason(training, web_session):
    training.verify_certificate.return_value = {"valid": False, "reason": "Mã xác minh không khớp với giấy nào."}
    response = web_session.get("/api/certificates/verify/000017-K7Q2M9XX")
    assert response.status_code == 404
    assert response.json() == {"valid": False, "reason": "Mã xác minh không khớp với giấy nào.",
                               "error": "NOT_FOUND", "message": "Mã xác minh không khớp với giấy nào."}
    assert response.headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("answer", [
    RemoteError("InvalidInput", "Mã xác minh không đúng dạng."),
    {"valid": "yes", "certificate": samples.certificate()},
    {"valid": True},
])
def test_a_refusal_or_a_malformed_answer_is_no_valid_certificate(training, web_session, answer):
    if isinstance(answer, Exception):
        training.verify_certificate.side_effect = answer
    else:
        training.verify_certificate.return_value = answer
    response = web_session.get("/api/certificates/verify/abc")
    assert response.status_code == 404 and response.json()["valid"] is False


def test_a_code_that_cannot_be_one_is_answered_without_asking(training, web_session):
    """Too long, or with control characters; spaces and dashes inside are the service's to read."""
    for code in ("000017%09K7Q2M9XW", "x" * 201):
        response = web_session.get(f"/api/certificates/verify/{code}")
        assert response.status_code == 404 and response.json()["valid"] is False
    assert not training.method_calls
    training.verify_certificate.return_value = samples.verification()
    assert web_session.get("/api/certificates/verify/000017 k7q2m9xw").status_code == 200
    assert called(training.verify_certificate) == (("000017 k7q2m9xw",), {})


def test_a_verification_the_service_cannot_answer_is_not_cached(training, web_session):
    training.verify_certificate.side_effect = RemoteError("Unexpected", "boom")
    response = web_session.get("/api/certificates/verify/000017-K7Q2M9XW")
    assert_error(response, 500, "INTERNAL")
    assert response.headers["Cache-Control"] == "no-store"


# --- the OpenAPI document against the schemas -----------------------------------------------------------





def test_the_verification_is_documented_as_public_and_the_imports_as_both_bodies():
    assert DOCUMENT["paths"]["/api/certificates/verify/{code}"]["get"]["security"] == []
    for kind in ("roster", "online"):
        operation = DOCUMENT["paths"][f"/api/training/imports/{kind}"]["post"]
        assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
        assert "413" in operation["responses"]


# --- the activity feed -------------------------------------------------------------------------------------

@pytest.mark.parametrize("handler, name, payload, vi, en", [
    ("on_enrolment_promoted", "enrolment_promoted",
     {"enrolment_id": "e3", "course_id": "c1", "course_title": "Kỹ năng tuyên truyền miệng", "person_id": "p3",
      "full_name": "Lê Văn Cường", "freed_by": "cancellation"},
     "Lê Văn Cường được chuyển từ danh sách chờ vào lớp «Kỹ năng tuyên truyền miệng»",
     "Lê Văn Cường moved from the waiting list into the course “Kỹ năng tuyên truyền miệng”"),
    ("on_completions_recorded", "completions_recorded",
     {"course_id": "c1", "course_title": "Kỹ năng tuyên truyền miệng", "topics": ["oral_propaganda"],
      "source": "course", "completed_on": "2026-04-17",
      "people": [{"person_id": "p1", "village": "thon-1"}, {"person_id": "p2", "village": "thon-2"},
                 {"person_id": "p4", "village": None}]},
     "3 người hoàn thành lớp «Kỹ năng tuyên truyền miệng»",
     "Completions of the course “Kỹ năng tuyên truyền miệng”: 3"),
    ("on_completions_recorded", "completions_recorded",
     {"course_id": "c7", "course_title": "Kỹ năng số", "topics": ["other"], "source": "online",
      "completed_on": "2026-03-02", "people": [{"person_id": "p1", "village": "thon-1"}]},
     "1 người hoàn thành khóa học trực tuyến «Kỹ năng số»", "Completions of the online course “Kỹ năng số”: 1"),
])
def test_training_events_reach_the_feed_once_in_both_languages(gateway, web_session, people, sign_in, handler, name,
                                                               payload, vi, en):
    received = make_event("training", name, "xuan-hung", **payload)
    for _ in range(2):  # a redelivery
        with entrypoint_hook(gateway, handler) as handle:
            handle(received)
    sign_in(people["viewer"])
    items = web_session.get("/api/activity").json()["items"]
    assert [(item["kind"], item["summary"]) for item in items] == [(name, vi)]
    assert "people" not in items[0]["data"]  # the feed keeps a count, not the list of people
    entry = {"kind": name, "actor_name": items[0]["actor_name"], "data": items[0]["data"]}
    assert domain.describe_activity(entry, "en") == en
    assert domain.activity_link(entry) == f"/training/courses/{payload['course_id']}"
