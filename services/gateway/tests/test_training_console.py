"""Service tests of the console's roster and training pages: the roster by
village with who is missing, a person, their status and replacement,
targets, the roster import's preview, courses with their sessions,
enrolment and waiting list, closing a course, the attendance sheet made for
a phone, online learning imports and rows to match, certificates, and the
public verification page; the training service replaced by a stand-in."""
import re

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from shared.errors import Conflict
from shared.timeutil import local_today

from services.gateway import domain, i18n
from services.gateway.repository import CommuneRepository, UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import training_samples as samples
from services.gateway.tests.test_broadcasts_console import hidden_fields, subnav
from services.gateway.tests.test_console import html
from services.gateway.tests.test_content_console import nav
from services.gateway.tests.test_tracking_console import flash, text_of

SCOPED = {"commune_id": "xuan-hung"}
VILLAGES = [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}]


@pytest.fixture
def training(container_factory, gateway_config, people, mongo_database):
    """The training stand-in answering as a commune administrator or trainer
    is answered (personal data included); Xuân Hưng has two villages."""
    CommuneRepository(mongo_database).ensure({"id": "xuan-hung", "villages": VILLAGES})
    container = container_factory(GatewayService, gateway_config)
    training = replace_dependencies(container, "training")
    container.start()
    training.roster.return_value = samples.roster()
    training.get_person.side_effect = lambda person_id, commune_id=None: samples.person_detail(person_id)
    training.topics.return_value = samples.topics()
    training.list_courses.return_value = [samples.course(), samples.course(
        "c2", title="Thông tin đối ngoại cho cán bộ xã", topics=["foreign_information"], state="closed",
        places=None, enrolled=0, waitlisted=0, sessions_count=0, next_session=None)]
    training.get_course.return_value = samples.course_detail()
    training.list_certificates.return_value = [samples.certificate()]
    training.attendance_sheet.return_value = samples.attendance_sheet()
    training.indicators.return_value = {"people_trained": 14, "by_topic": {"oral_propaganda": 9, "radio_operation": 5},
                                        "roster": samples.roster()["totals"]}
    return training


@pytest.fixture
def trainer(people, mongo_database, password_hash):
    return UserRepository(mongo_database).add(domain.new_user(
        {"username": "trainer.xuanhung", "display_name": "Chị Hoa", "commune_id": "xuan-hung", "roles": ["trainer"]},
        password_hash))


def submit(web_session, path, **kwargs):
    """A form sent as the browser sends it, stopping at the redirect (the next page shows the flash)."""
    return web_session.post(path, allow_redirects=False, **kwargs)


def form_of(page, action):
    """The form posting to ``action``: its HTML."""
    match = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert match, f"no form posting to {action}"
    return match.group(1)


def csrf(page):
    return hidden_fields(page)["csrf_token"][0]


def section_of(page, element_id):
    """The HTML of the section with ``element_id``, up to its end."""
    return page.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


# --- navigation and the roster -------------------------------------------------------------------

def test_communicators_and_training_are_in_everyones_navigation(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/roster"))
    assert nav(page)[-3:-1] == ["/roster", "/training"]
    assert '<a href="/roster" aria-current="page">Tuyên truyền viên</a>' in page
    assert subnav(page) == ["/roster"]  # a viewer imports and sets targets nowhere
    page = html(web_session.get("/training"))
    assert '<a href="/training" aria-current="page">Tập huấn</a>' in page
    assert subnav(page) == ["/training", "/training/certificates"]


def test_the_roster_by_village_highlights_who_is_missing_and_since_when(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    training.roster.return_value = samples.roster(personal=False)
    page = html(web_session.get("/roster"))
    assert called_once(training.roster) == ((), SCOPED)
    short = re.search(r'<section class="card village-roster village-short" id="village-thon-2"', page)
    assert short, "Thôn 2 is short and must be highlighted"
    assert '<section class="card village-roster" id="village-thon-1"' in page
    thon_2 = text_of(section_of(page, "village-thon-2"))
    assert "Thiếu 2 người · từ 12/03/2026" in thon_2
    assert "Định biên 2 · đang làm 0 · tạm nghỉ 1 · thiếu 2" in thon_2
    assert "Trần Văn Bình Tổ trưởng tổ tuyên truyền Tạm nghỉ · từ 01/02/2026" in thon_2
    assert "Lê Văn Cường Tuyên truyền viên Đã thôi làm · từ 12/03/2026" in thon_2
    assert "Chưa có nhóm Zalo" in thon_2
    thon_1 = section_of(page, "village-thon-1")
    assert "Thiếu" not in text_of(thon_1)
    assert '<a href="https://zalo.me/g/thon1" rel="noopener">Nhóm Zalo của thôn</a>' in thon_1
    assert '<a href="https://zalo.me/g/xuanhung" rel="noopener">Nhóm Zalo tuyên truyền viên của xã</a>' in page
    text = text_of(page)
    assert "Định biên: 3 Đang làm: 1 Tạm nghỉ: 1 Còn thiếu: 2 Thôn thiếu người: 1" in text
    assert "Phạm Thu Hà Cán bộ, công chức xã" in text_of(section_of(page, "officers-title"))
    assert "Đỗ Minh Khoa" in text_of(section_of(page, "others-title"))
    # the service kept personal data from a viewer: no columns for it, no export, no forms
    assert "Điện thoại" not in page and "0912" not in page and "/roster/export" not in page
    assert "/roster/people/new" not in page


def test_the_roster_shows_personal_columns_when_the_service_answered_them(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster"))
    assert "<th scope=\"col\">Điện thoại</th>" in page and "<th scope=\"col\">Thư điện tử</th>" in page
    assert '<a href="tel:0912 345 678">0912 345 678</a>' in page
    assert '<a href="mailto:lan@xuanhung.vn">lan@xuanhung.vn</a>' in page
    assert '<a href="/roster/export/csv">Xuất CSV</a>' in page and '<a href="/roster/export/xlsx">' in page
    assert '<a class="button" href="/roster/people/new">Thêm người</a>' in page
    assert '<a href="/roster/people/new?village=thon-2">Thêm người vào thôn này</a>' in page
    assert subnav(page) == ["/roster", "/roster/targets", "/roster/import"]


def test_the_roster_in_english(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    web_session.get("/lang/en?next=/roster")
    page = html(web_session.get("/roster"))
    text = text_of(page)
    assert "Grassroots communicators" in text
    assert "Short of 2 · since 12/03/2026" in text
    assert "Communicators' team lead On leave · since 01/02/2026" in text
    assert '<html lang="en">' in page


def called_once(mock_method):
    mock_method.assert_called_once()
    return mock_method.call_args.args, mock_method.call_args.kwargs


# --- a person: add, edit, status, replace ---------------------------------------------------------

def test_a_person_is_added_from_the_form(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/people/new?village=thon-2"))
    assert '<option value="thon-2" selected>Thôn 2</option>' in page
    training.save_person.return_value = samples.person("p9", full_name="Hoàng Văn Đức", village="thon-2")
    response = submit(web_session, "/roster/people/new", data={
        "csrf_token": csrf(page), "full_name": " Hoàng Văn Đức ", "role": "communicator", "village": "thon-2",
        "gender": "male", "birth_date": "1995-07-01", "phone": "0987 654 321", "email": "", "address": "",
        "decision_number": "", "decision_date": "", "notes": ""})
    assert response.status_code == 303 and response.headers["Location"] == "/roster/people/p9"
    assert called_once(training.save_person) == (({
        "full_name": "Hoàng Văn Đức", "role": "communicator", "village": "thon-2", "gender": "male",
        "birth_date": "1995-07-01", "phone": "0987 654 321", "email": None, "address": None,
        "decision_number": None, "decision_date": None, "notes": None},), SCOPED)
    assert flash(web_session, "/roster/people/p9") == ("ok", "Đã thêm Hoàng Văn Đức vào danh sách.")


def test_a_refused_person_shows_the_form_again_as_written(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/people/new"))
    training.save_person.side_effect = RemoteError("InvalidInput", "Số điện thoại «12» không hợp lệ.")
    response = submit(web_session, "/roster/people/new", data={
        "csrf_token": csrf(page), "full_name": "Hoàng Văn Đức", "role": "lead", "village": "thon-1", "phone": "12"})
    page = html(response, 400)
    assert '<p class="flash flash-error" role="alert">Số điện thoại «12» không hợp lệ.</p>' in page
    assert 'value="Hoàng Văn Đức"' in page and 'value="12"' in page
    assert '<option value="lead" selected>' in page


def test_a_person_is_edited_under_their_id(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/people/p1/edit"))
    assert 'value="Nguyễn Thị Lan"' in page and 'value="1990-05-12"' in page
    training.save_person.return_value = samples.person()
    fields = {"csrf_token": csrf(page), "full_name": "Nguyễn Thị Lan", "role": "communicator", "village": "thon-1",
              "gender": "female", "birth_date": "1990-05-12", "phone": "0912 345 678", "email": "lan@xuanhung.vn",
              "address": "Xóm Đông", "decision_number": "12/QĐ-UBND", "decision_date": "2025-01-15", "notes": ""}
    response = submit(web_session, "/roster/people/p1/edit", data=fields)
    assert response.headers["Location"] == "/roster/people/p1"
    sent = called_once(training.save_person)[0][0]
    assert sent["person_id"] == "p1" and sent["notes"] is None and sent["address"] == "Xóm Đông"


def test_a_persons_page_offers_the_status_changes_of_their_status(training, web_session, trainer, sign_in, people):
    sign_in(trainer)
    page = html(web_session.get("/roster/people/p1"))
    text = text_of(page)
    assert "Nguyễn Thị Lan" in text and "Điện thoại 0912 345 678" in text and "Ngày sinh 12/05/1990" in text
    assert "15/01/2025 Đang làm — Quyết định công nhận" in text
    form = form_of(page, "/roster/people/p1/status")
    assert re.findall(r'name="status" value="(\w+)"', form) == ["on_leave", "left"]
    assert "Tạm nghỉ" in form and "Thôi làm" in form
    assert f'name="since" type="date" value="{local_today().isoformat()}"' in form
    assert '<a href="/roster/people/p1/replace">Thay người</a>' in page
    sign_in(people["viewer"])
    training.get_person.side_effect = lambda person_id, commune_id=None: samples.person(person_id, personal=False)
    page = html(web_session.get("/roster/people/p1"))
    assert "/status" not in page and "/replace" not in page and "/edit" not in page
    assert "Thông tin cá nhân chỉ hiển thị cho quản trị xã" in page


def test_a_status_change_goes_to_the_service_and_back(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/people/p1"))
    training.set_status.return_value = samples.person(status="on_leave", status_since="2026-03-12")
    response = submit(web_session, "/roster/people/p1/status", data={
        "csrf_token": csrf(page), "status": "on_leave", "since": "2026-03-12", "reason": "Sinh con"})
    assert response.headers["Location"] == "/roster/people/p1"
    assert called_once(training.set_status) == (("p1", "on_leave"), {"since": "2026-03-12", "reason": "Sinh con",
                                                                     **SCOPED})
    assert flash(web_session, "/roster/people/p1") == ("ok", "Nguyễn Thị Lan: Tạm nghỉ từ 12/03/2026.")


@pytest.mark.parametrize("form, replacement", [
    ({"full_name": "Hoàng Văn Đức", "phone": "0987 654 321", "existing_person_id": ""},
     {"full_name": "Hoàng Văn Đức", "phone": "0987 654 321", "email": None, "address": None, "decision_number": None,
      "notes": None, "gender": None, "birth_date": None, "decision_date": None}),
    ({"full_name": "", "existing_person_id": "p5"}, {"person_id": "p5"}),
])
def test_a_replacement_is_a_new_person_or_someone_listed(training, web_session, trainer, sign_in, form, replacement):
    sign_in(trainer)
    page = html(web_session.get("/roster/people/p3/replace"))
    assert "người thay thế nhận cùng thôn (Thôn 2) và vai trò (Tuyên truyền viên)" in text_of(page)
    assert re.findall(r'<option value="(p\d)"', page) == ["p5", "p1", "p4", "p2"]  # not p3 itself nor those who left
    training.replace_person.return_value = {"left": samples.person("p3", full_name="Lê Văn Cường", status="left"),
                                            "replacement": samples.person("p9", full_name="Hoàng Văn Đức",
                                                                          status_since="2026-03-15")}
    fields = {key: "" for key in ("email", "address", "decision_number", "notes", "gender", "birth_date",
                                  "decision_date", "phone")}
    response = submit(web_session, "/roster/people/p3/replace", data=dict(
        fields, csrf_token=csrf(page), since="2026-03-15", reason="Chuyển công tác", **form))
    assert response.headers["Location"] == "/roster/people/p9"
    assert called_once(training.replace_person) == (("p3", replacement), {
        "since": "2026-03-15", "reason": "Chuyển công tác", **SCOPED})
    assert flash(web_session, "/roster/people/p9") == ("ok", "Lê Văn Cường thôi làm; Hoàng Văn Đức thay thế từ "
                                                             "15/03/2026.")


def test_targets_and_zalo_groups_are_saved_per_village(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/targets"))
    assert 'name="target-thon-2" type="number" min="0" max="50" required inputmode="numeric" value="2"' in page
    assert 'name="zalo-thon-1" type="url" maxlength="500" placeholder="https://zalo.me/g/…" ' \
           'value="https://zalo.me/g/thon1"' in page
    training.save_targets.return_value = dict(samples.roster()["totals"], target=4, villages_short=1)
    response = submit(web_session, "/roster/targets", data={
        "csrf_token": csrf(page), "target-thon-1": "2", "zalo-thon-1": "https://zalo.me/g/thon1",
        "target-thon-2": "2", "zalo-thon-2": "", "zalo_url": "https://zalo.me/g/xuanhung"})
    assert response.headers["Location"] == "/roster"
    assert called_once(training.save_targets) == (
        ([{"village": "thon-1", "target": 2, "zalo_url": "https://zalo.me/g/thon1"},
          {"village": "thon-2", "target": 2, "zalo_url": None}],),
        {"zalo_url": "https://zalo.me/g/xuanhung", **SCOPED})
    assert flash(web_session, "/roster") == ("ok", "Đã lưu định biên: 4 tuyên truyền viên; 1 thôn đang thiếu người.")


def test_a_refused_target_shows_the_form_again_as_written(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/targets"))
    training.save_targets.side_effect = RemoteError("InvalidInput", "Địa chỉ nhóm Zalo phải là https://zalo.me/…")
    page = html(submit(web_session, "/roster/targets", data={
        "csrf_token": csrf(page), "target-thon-1": "1", "zalo-thon-1": "https://facebook.com/g/1",
        "target-thon-2": "3", "zalo_url": ""}), 400)
    assert "Địa chỉ nhóm Zalo phải là https://zalo.me/…" in page
    assert 'value="https://facebook.com/g/1"' in page and 'name="target-thon-2"' in page and 'value="3"' in page


def test_viewers_cannot_open_or_post_the_roster_forms(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    for path in ("/roster/people/new", "/roster/targets", "/roster/import", "/roster/people/p1/replace",
                 "/roster/export/csv", "/training/courses/new", "/training/online", "/training/unmatched"):
        assert web_session.get(path).status_code == 403, path
    token = hidden_fields(html(web_session.get("/roster")))["csrf_token"][0]
    for path in ("/roster/people/new", "/roster/people/p1/status", "/roster/targets",
                 "/training/sessions/s1/attendance", "/training/courses/c1/close"):
        assert submit(web_session, path, data={"csrf_token": token, "status": "left"}).status_code == 403, path
    assert not [call for call in training.method_calls if call[0] not in ("roster", "get_person")]


# --- importing and exporting the roster --------------------------------------------------------------

def test_an_import_preview_with_errors_shows_them_per_row_and_offers_no_confirmation(training, web_session, trainer,
                                                                                     sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/import"))
    training.preview_roster_import.return_value = samples.roster_preview(with_errors=True)
    page = html(web_session.post("/roster/import", data={"csrf_token": csrf(page)},
                                 files={"file": ("danh-sách.csv", "họ và tên\nĐức\n".encode(), "text/csv")}))
    args, kwargs = called_once(training.preview_roster_import)
    assert args[0] == "danh-sách.csv" and kwargs == SCOPED
    text = text_of(page)
    assert "2 dòng: 1 hợp lệ, 1 có lỗi." in text
    assert "1 dòng có lỗi: hãy sửa trong tệp rồi tải lên lại. Chưa có gì thay đổi." in text
    assert "Dòng 3: Họ và tên: không được để trống; Thôn: không có «Thôn 9» trong xã" in text
    assert '<tr class="row-invalid">' in page and '<tr class="row-valid">' in page
    assert "/confirm" not in page and "Xác nhận" not in text


def test_an_import_preview_without_errors_is_confirmed(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/roster/import"))
    training.preview_roster_import.return_value = samples.roster_preview(with_errors=False)
    page = html(web_session.post("/roster/import", data={"csrf_token": csrf(page)},
                                 files={"file": ("ds.xlsx", b"PK\x03\x04", "application/octet-stream")}))
    form = form_of(page, "/roster/import/imp1/confirm")
    assert "Xác nhận nhập 1 người" in form
    training.confirm_import.return_value = {"applied": 1, "import_id": "imp1"}
    response = submit(web_session, "/roster/import/imp1/confirm", data={"csrf_token": csrf(page)})
    assert response.headers["Location"] == "/roster"
    assert called_once(training.confirm_import) == (("imp1",), SCOPED)
    assert flash(web_session, "/roster") == ("ok", "Đã nhập 1 người vào danh sách.")


def test_an_import_the_gateway_or_service_refuses_shows_the_upload_form_again(training, web_session, trainer, sign_in):
    sign_in(trainer)
    token = csrf(html(web_session.get("/roster/import")))
    page = html(web_session.post("/roster/import", data={"csrf_token": token},
                                 files={"file": ("lon.csv", b"x" * (2 * 1024 * 1024 + 1), "text/csv")}), 413)
    assert "lớn hơn 2 MB" in page and 'name="file" type="file"' in page
    assert not training.preview_roster_import.called
    training.preview_roster_import.side_effect = RemoteError("InvalidInput", "Thiếu cột: họ và tên.")
    page = html(web_session.post("/roster/import", data={"csrf_token": token},
                                 files={"file": ("a.csv", b"x\n", "text/csv")}), 400)
    assert "Thiếu cột: họ và tên." in page


def test_a_confirmation_the_service_refuses_goes_back_with_why(training, web_session, trainer, sign_in):
    sign_in(trainer)
    token = csrf(html(web_session.get("/roster/import")))
    training.confirm_import.side_effect = Conflict("Bản xem trước đã được áp dụng.")
    response = submit(web_session, "/roster/import/imp1/confirm", data={"csrf_token": token})
    assert response.headers["Location"] == "/roster/import"
    assert flash(web_session, "/roster/import") == ("error", "Bản xem trước đã được áp dụng.")


def test_the_roster_downloads_from_the_console(training, web_session, trainer, sign_in):
    sign_in(trainer)
    training.export_roster.return_value = samples.export("xlsx")
    response = web_session.get("/roster/export/xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="tuyen-truyen-vien-xuan-hung.xlsx"')
    assert called_once(training.export_roster) == (("xlsx",), SCOPED)


# --- courses -------------------------------------------------------------------------------------------

def test_courses_are_listed_with_their_next_session_and_places(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/training?topic=oral_propaganda&state=open&year=2026&other=x"))
    assert called_once(training.list_courses) == (({"topic": "oral_propaganda", "state": "open", "year": 2026},),
                                                  SCOPED)
    today = local_today()
    assert called_once(training.indicators) == ((f"{today.year}-01-01", today.isoformat()), SCOPED)
    text = text_of(page)
    assert f"Năm {today.year}: 14 người được tập huấn" in text
    assert "Tuyên truyền miệng: 9" in text
    assert ("Kỹ năng tuyên truyền miệng UBND xã Xuân Hưng Tuyên truyền miệng 10/04/2026 07:30–11:00 · "
            "Hội trường UBND xã 2/2 đã ghi danh · 1 chờ Đang mở") in text
    assert "Không có buổi sắp tới (0 buổi) 0/∞ đã ghi danh · 0 chờ Đã kết thúc" in text
    assert '<option value="oral_propaganda" selected>Tuyên truyền miệng</option>' in page
    assert "/training/courses/new" not in page


def test_a_course_page_shows_sessions_enrolled_and_the_waiting_list(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/c1"))
    assert called_once(training.list_certificates) == (({"course_id": "c1"},), SCOPED)
    text = text_of(page)
    assert "Kỹ năng tuyên truyền miệng" in text and "Chuyên cần tối thiểu 80%" in text
    assert "10/04/2026 07:30–11:00 Hội trường UBND xã Ông Vũ Văn Hải 2" in text
    enrolled = text_of(section_of(page, "enrolled-title"))
    assert "Đã ghi danh (2)" in enrolled and "1 Nguyễn Thị Lan Thôn 1" in enrolled and "2 Trần Văn Bình Thôn 2" in enrolled
    waiting = text_of(section_of(page, "waiting-title"))
    assert "Danh sách chờ (1)" in waiting and "1 Lê Văn Cường Thôn 2" in waiting
    assert len(re.findall(r'action="/training/courses/c1/enrolments/e\d/cancel"', page)) == 3
    # only active people not yet enrolled or waiting are offered
    enrol = form_of(page, "/training/courses/c1/enrol")
    assert re.findall(r'<option value="(p\d)"', enrol) == ["p5", "p4"]
    assert '<a href="/training/sessions/s1/attendance">Điểm danh</a>' in page
    assert '<a href="/training/certificates/cert1.pdf">PDF</a>' in page
    assert 'action="/training/courses/c1/close"' in page


def test_a_closed_course_offers_no_changes(training, web_session, trainer, sign_in):
    sign_in(trainer)
    training.get_course.return_value = samples.course_detail(state="closed")
    page = html(web_session.get("/training/courses/c1"))
    assert "/enrol" not in page and "/close" not in page and "/cancel" not in page and "/sessions/new" not in page
    assert not training.roster.called


def test_enrolling_when_full_puts_the_person_on_the_waiting_list(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/c1"))
    # the enrolment the service answers names nobody: the gateway asks whose it is
    enrolment = samples.enrolment("e4", "p4", "Phạm Thu Hà", state="waitlisted", position=2)
    training.enrol.return_value = {key: value for key, value in enrolment.items() if key not in ("full_name", "village")}
    response = submit(web_session, "/training/courses/c1/enrol", data={"csrf_token": csrf(page), "person_id": "p4"})
    assert response.headers["Location"] == "/training/courses/c1"
    assert called_once(training.enrol) == (("c1", "p4"), SCOPED)
    assert flash(web_session, "/training/courses/c1") == (
        "ok", "Lớp đã hết chỗ: Phạm Thu Hà ở danh sách chờ, thứ 2.")


def test_cancelling_an_enrolment_says_who_got_the_place(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/c1"))
    training.cancel_enrolment.return_value = {
        "cancelled": samples.enrolment("e1", "p1", "Nguyễn Thị Lan", state="cancelled"),
        "promoted": dict(samples.enrolment("e3", "p3", "Lê Văn Cường"), full_name=None)}
    response = submit(web_session, "/training/courses/c1/enrolments/e1/cancel", data={
        "csrf_token": csrf(page), "name": "Nguyễn Thị Lan", "reason": "Bận việc nhà"})
    assert response.headers["Location"] == "/training/courses/c1"
    assert called_once(training.cancel_enrolment) == (("e1",), {"reason": "Bận việc nhà", **SCOPED})
    assert flash(web_session, "/training/courses/c1") == (
        "ok", "Đã hủy ghi danh Nguyễn Thị Lan. Lê Văn Cường được chuyển từ danh sách chờ vào lớp.")


def test_closing_a_course_lists_who_completed_with_their_certificates(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/c1"))
    training.close_course.return_value = {
        "course": samples.course(state="closed"),
        "completed": [{"person_id": "p1", "full_name": "Nguyễn Thị Lan", "certificate_id": "cert1",
                       "code": "000017-K7Q2M9XW"}],
        "not_completed": [{"person_id": "p2", "full_name": "Trần Văn Bình", "attended": 1, "expected": 2}]}
    page = html(submit(web_session, "/training/courses/c1/close", data={"csrf_token": csrf(page)}))
    assert called_once(training.close_course) == (("c1",), SCOPED)
    text = text_of(page)
    assert "Lớp đã kết thúc: 1 người hoàn thành, 1 người chưa hoàn thành." in text
    assert "Hoàn thành (1) Nguyễn Thị Lan 000017-K7Q2M9XW Giấy chứng nhận (PDF)" in text
    assert "Chưa hoàn thành (1) Trần Văn Bình dự 1/2 buổi" in text
    assert '<a href="/training/certificates/cert1.pdf">' in page


def test_closing_too_early_goes_back_to_the_course_with_why(training, web_session, trainer, sign_in):
    sign_in(trainer)
    token = csrf(html(web_session.get("/training/courses/c1")))
    training.close_course.side_effect = RemoteError("Conflict", "Chưa đến ngày của buổi học cuối (17/04/2026).")
    response = submit(web_session, "/training/courses/c1/close", data={"csrf_token": token})
    assert response.headers["Location"] == "/training/courses/c1"
    assert flash(web_session, "/training/courses/c1") == ("error", "Chưa đến ngày của buổi học cuối (17/04/2026).")


def test_a_course_is_created_from_the_form(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/new"))
    assert re.findall(r'name="topics" value="(\w+)"', page) == [topic["key"] for topic in samples.topics()]
    assert 'name="min_attendance" type="number" min="0" max="100" inputmode="numeric" value="80"' in page
    training.save_course.return_value = samples.course("c9", title="Vận hành đài")
    response = submit(web_session, "/training/courses/new", data={
        "csrf_token": csrf(page), "title": "Vận hành đài", "topics": ["radio_operation", "content_production"],
        "organiser": "Sở VHTTDL", "description": "", "min_attendance": "75"})
    assert response.headers["Location"] == "/training/courses/c9"
    assert called_once(training.save_course) == (({
        "title": "Vận hành đài", "topics": ["radio_operation", "content_production"], "organiser": "Sở VHTTDL",
        "description": "", "min_attendance": 0.75},), SCOPED)


# --- sessions and attendance ----------------------------------------------------------------------------

def test_a_session_is_added_and_who_got_the_new_places_is_said(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/c1/sessions/new"))
    training.save_session.return_value = {"session": samples.session("s3", date="2026-04-24", capacity=3),
                                          "promoted": [samples.enrolment("e3", "p3", "Lê Văn Cường")]}
    response = submit(web_session, "/training/courses/c1/sessions/new", data={
        "csrf_token": csrf(page), "date": "2026-04-24", "starts_at": "07:30", "ends_at": "11:00",
        "place": "Nhà văn hóa Thôn 2", "trainer": "", "capacity": "3"})
    assert response.headers["Location"] == "/training/courses/c1"
    assert called_once(training.save_session) == (({
        "date": "2026-04-24", "starts_at": "07:30", "ends_at": "11:00", "place": "Nhà văn hóa Thôn 2", "trainer": "",
        "capacity": 3, "course_id": "c1"},), SCOPED)
    assert flash(web_session, "/training/courses/c1") == (
        "ok", "Đã lưu buổi học ngày 24/04/2026 (07:30–11:00). 1 người được chuyển từ danh sách chờ vào lớp: "
              "Lê Văn Cường.")


def test_a_capacity_below_those_enrolled_shows_the_form_again(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/courses/c1/sessions/s1/edit"))
    assert 'name="date" type="date" required value="2026-04-10"' in page and 'value="Ông Vũ Văn Hải"' in page
    training.save_session.side_effect = Conflict("Buổi học chỉ có 1 chỗ nhưng lớp đã có 2 người.",
                                                 {"enrolled": 2, "capacity": 1})
    page = html(submit(web_session, "/training/courses/c1/sessions/s1/edit", data={
        "csrf_token": csrf(page), "date": "2026-04-10", "starts_at": "07:30", "ends_at": "11:00", "place": "Hội trường",
        "trainer": "Ông Hải", "capacity": "1"}), 409)
    assert "Buổi học chỉ có 1 chỗ nhưng lớp đã có 2 người." in page
    assert 'name="capacity" type="number" min="1" max="1000" required inputmode="numeric" value="1"' in page
    assert called_once(training.save_session)[0][0]["session_id"] == "s1"


def test_the_attendance_sheet_is_one_row_per_person_with_four_marks_and_a_remark(training, web_session, trainer,
                                                                                 sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/sessions/s1/attendance"))
    assert called_once(training.attendance_sheet) == (("s1",), SCOPED)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    form = form_of(page, "/training/sessions/s1/attendance")
    assert re.findall(r'name="person_id" value="(\w+)"', form) == ["p1", "p2"]
    for person_id in ("p1", "p2"):
        assert re.findall(rf'type="radio" name="status-{person_id}" value="(\w+)"', form) == [
            "present", "late", "excused", "absent"]
        assert f'name="remark-{person_id}" maxlength="300"' in form
    assert 'name="status-p1" value="present" checked' in form
    assert "checked" not in form.split('name="person_id" value="p2"', 1)[1]
    assert [text_of(label) for label in re.findall(r'<label class="mark mark-\w+">(.*?)</label>', form)][:4] == [
        "Có mặt", "Muộn", "Có phép", "Vắng"]
    assert form.count('type="submit"') == 1
    assert "Có mặt: 1 Muộn: 0 Có phép: 0 Vắng: 0 Chưa điểm danh: 1" in text_of(page)


def test_attendance_is_recorded_and_the_counts_said(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/sessions/s1/attendance"))
    training.record_attendance.return_value = samples.attendance_sheet(present=1, late=1, not_taken=0)
    response = submit(web_session, "/training/sessions/s1/attendance", data={
        "csrf_token": csrf(page), "person_id": ["p1", "p2"], "name-p1": "Nguyễn Thị Lan", "name-p2": "Trần Văn Bình",
        "status-p1": "present", "remark-p1": "", "status-p2": "late", "remark-p2": "Đến muộn 15 phút"})
    assert response.headers["Location"] == "/training/sessions/s1/attendance"
    assert called_once(training.record_attendance) == (("s1", [
        {"person_id": "p1", "status": "present", "remark": ""},
        {"person_id": "p2", "status": "late", "remark": "Đến muộn 15 phút"}]), SCOPED)
    assert flash(web_session, "/training/sessions/s1/attendance") == (
        "ok", "Đã lưu điểm danh: 1 có mặt, 1 muộn, 0 có phép, 0 vắng, 0 chưa điểm danh.")


def test_a_refused_sheet_comes_back_as_marked(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/sessions/s1/attendance"))
    page = html(submit(web_session, "/training/sessions/s1/attendance", data={
        "csrf_token": csrf(page), "person_id": ["p1", "p2"], "name-p1": "Nguyễn Thị Lan", "name-p2": "Trần Văn Bình",
        "status-p1": "absent", "remark-p1": "", "remark-p2": "Ốm"}), 400)
    assert "chưa chọn có mặt, muộn, có phép hay vắng cho: Trần Văn Bình" in page
    assert 'name="status-p1" value="absent" checked' in page and 'value="Ốm"' in page
    assert not training.record_attendance.called


def test_viewers_read_the_sheet_without_a_form(training, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/training/sessions/s1/attendance"))
    assert "<form method=\"post\" action=\"/training/sessions" not in page
    assert "Nguyễn Thị Lan Có mặt" in text_of(page) and "Trần Văn Bình Chưa điểm danh" in text_of(page)


# --- online learning, unmatched rows, certificates ------------------------------------------------------

def test_an_online_import_is_previewed_matched_and_unmatched_then_confirmed(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/online"))
    training.preview_online_import.return_value = samples.online_preview()
    page = html(web_session.post("/training/online", data={"csrf_token": csrf(page)},
                                 files={"file": ("ket-qua.csv", b"email,ho_ten\n", "text/csv")}))
    text = text_of(page)
    assert "2 dòng: 1 đã khớp, 1 chưa khớp, 0 có lỗi." in text
    assert "Nguyễn Thị Lan Kỹ năng số cho tuyên truyền viên 01/03/2026 Đã khớp" in text
    assert "Ngô Thị Mai Kỹ năng số cho tuyên truyền viên 02/03/2026 Chưa khớp" in text
    assert '<tr class="row-unmatched">' in page
    form_of(page, "/training/online/imp2/confirm")
    training.confirm_import.return_value = {"applied": 1, "import_id": "imp2"}
    response = submit(web_session, "/training/online/imp2/confirm", data={"csrf_token": csrf(page)})
    assert response.headers["Location"] == "/training/unmatched"
    assert called_once(training.confirm_import) == (("imp2",), SCOPED)


def test_unmatched_rows_suggest_the_person_and_are_matched(training, web_session, trainer, sign_in):
    sign_in(trainer)
    training.list_unmatched.return_value = [
        {"row_id": "r1", "import_id": "imp2", "full_name": "nguyen thi lan", "email": None, "phone": None,
         "course_title": "Kỹ năng số", "completed_on": "2026-03-02"},
        {"row_id": "r2", "import_id": "imp2", "full_name": "Ngô Thị Mai", "email": None, "phone": None,
         "course_title": "Kỹ năng số", "completed_on": "2026-03-02"}]
    page = html(web_session.get("/training/unmatched"))
    first, second = form_of(page, "/training/unmatched/r1/match"), form_of(page, "/training/unmatched/r2/match")
    assert '<option value="p1" selected>' in first and "selected" not in second
    training.match_unmatched.return_value = {"person_id": "p1"}
    response = submit(web_session, "/training/unmatched/r1/match", data={
        "csrf_token": csrf(page), "person_id": "p1", "name": "nguyen thi lan"})
    assert response.headers["Location"] == "/training/unmatched"
    assert called_once(training.match_unmatched) == (("r1", "p1"), SCOPED)


def test_certificates_are_listed_and_revoked(training, web_session, trainer, sign_in):
    sign_in(trainer)
    page = html(web_session.get("/training/certificates?course_id=c1"))
    assert called_once(training.list_certificates) == (({"course_id": "c1"},), SCOPED)
    assert '<a href="/xac-minh/000017-K7Q2M9XW"><code>000017-K7Q2M9XW</code></a>' in page
    training.revoke_certificate.return_value = samples.certificate(revoked={"at": "2026-05-01T02:00:00.000Z",
                                                                            "reason": "Cấp nhầm"})
    response = submit(web_session, "/training/certificates/cert1/revoke", data={"csrf_token": csrf(page),
                                                                                "reason": "Cấp nhầm"})
    assert called_once(training.revoke_certificate) == (("cert1", "Cấp nhầm"), SCOPED)
    assert response.headers["Location"] == "/training/certificates"


# --- the public verification page ------------------------------------------------------------------------

def test_the_verification_page_states_a_valid_certificate_without_sign_in(training, web_session):
    training.verify_certificate.return_value = samples.verification()
    response = web_session.get("/xac-minh/000017-K7Q2M9XW")
    page = html(response)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in response.headers
    text = text_of(page)
    assert "Giấy chứng nhận hợp lệ" in text
    assert ("Họ và tên Nguyễn Thị Lan Lớp tập huấn Kỹ năng tuyên truyền miệng Chủ đề Tuyên truyền miệng; "
            "Thông tin đối ngoại Ngày hoàn thành 17/04/2026 Đơn vị cấp UBND xã Xuân Hưng Ngày cấp 17/04/2026 "
            "Mã xác minh 000017-K7Q2M9XW") in text
    assert "0912" not in page and "1990" not in page and "/logout" not in page
    assert 'name="code"' in page and 'method="get" action="/xac-minh"' in page


def test_the_verification_page_in_english(training, web_session):
    training.verify_certificate.return_value = samples.verification()
    web_session.get("/lang/en?next=/xac-minh/000017-K7Q2M9XW")
    text = text_of(html(web_session.get("/xac-minh/000017-K7Q2M9XW")))
    assert "Valid certificate" in text and "Oral communication; Foreign information" in text
    assert "People's Committee of Xuân Hưng commune" in text


def test_an_invalid_code_is_a_404_page_that_still_helps(training, web_session):
    training.verify_certificate.return_value = {"valid": False, "reason": "Mã xác minh không khớp với giấy nào."}
    page = html(web_session.get("/xac-minh/000017-K7Q2M9XX"), 404)
    text = text_of(page)
    assert "Mã không hợp lệ" in text and "Mã xác minh không khớp với giấy nào." in text
    assert "Hãy kiểm tra lại từng ký tự" in text
    assert 'name="code" maxlength="200" required autocomplete="off" autocapitalize="off" spellcheck="false" ' \
           'value="000017-K7Q2M9XX"' in page


def test_a_revoked_certificate_says_so_and_why(training, web_session):
    training.verify_certificate.return_value = samples.verification(
        revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm người"})
    text = text_of(html(web_session.get("/xac-minh/000017-K7Q2M9XW"), 410))
    assert "Giấy chứng nhận đã bị thu hồi" in text
    assert "Giấy này đã bị thu hồi ngày 01/05/2026. Lý do: Cấp nhầm người" in text
    assert "Giấy chứng nhận hợp lệ" not in text


def test_the_verification_form_goes_to_the_codes_address(training, web_session):
    page = html(web_session.get("/xac-minh"))
    assert "Nhập mã xác minh in trên giấy chứng nhận" in text_of(page)
    response = web_session.get("/xac-minh", params={"code": " 000017-K7Q2M9XW "}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/xac-minh/000017-K7Q2M9XW"
    assert not training.verify_certificate.called


def test_a_district_administrator_works_on_the_commune_they_pick(training, web_session, people, sign_in):
    sign_in(people["district"])
    assert web_session.get("/roster", allow_redirects=False).headers["Location"] == "/"
    page = html(web_session.get("/roster?commune_id=xuan-hung"))
    assert called_once(training.roster) == ((), SCOPED)
    assert '<a href="/roster/people/p1?commune_id=xuan-hung">Nguyễn Thị Lan</a>' in page
    assert 'action="/roster/import?commune_id=xuan-hung"' in html(web_session.get("/roster/import?commune_id=xuan-hung"))


def test_every_page_is_vietnamese_first_with_its_diacritics(training, web_session, trainer, sign_in):
    """Each page renders in NFC (``html`` checks) with the words of its section."""
    sign_in(trainer)
    for path, words in [("/roster", "Tuyên truyền viên cơ sở"), ("/roster/targets", "Định biên và nhóm Zalo"),
                        ("/roster/import", "Nhập danh sách tuyên truyền viên"), ("/training", "Tập huấn, bồi dưỡng"),
                        ("/training/courses/c1", "Đã ghi danh"), ("/training/online", "Nhập kết quả học trực tuyến"),
                        ("/training/certificates", "Giấy chứng nhận")]:
        assert words in html(web_session.get(path)), path
    assert i18n.t("nav.roster", "vi") == "Tuyên truyền viên"
