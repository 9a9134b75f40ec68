"""Service tests of the console's task-tracking pages and forms: plan
overview, task list and detail, import with preview, agencies, reports; the
tasks service replaced by a stand-in."""
import base64
import html as html_lib
import re

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from shared.timeutil import local_today
from services.gateway import domain
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import samples
from services.gateway.tests.test_console import hidden, html
from services.gateway.tests.test_tracking_api import DOCX, DOCX_BYTES

PLAN_TEXT = "Phụ lục\n| TT | NHIỆM VỤ CỤ THỂ |\n| 1.1 | Xây dựng Quy chế |\n"


@pytest.fixture
def tasks(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    tasks = replace_dependencies(container, "tasks")
    container.start()
    tasks.list_plans.return_value = [samples.plan()]
    tasks.get_plan.return_value = samples.plan()
    tasks.list_tasks.return_value = samples.task_page()
    tasks.get_task.return_value = samples.detail()
    tasks.agency_view.side_effect = lambda agency_id, commune_id: samples.agency_view(agency_id)
    tasks.report_periods.return_value = samples.periods()
    return tasks


def text_of(page):
    """The page's text, tags removed and spaces collapsed (what a reader sees)."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def flash(web_session, path):
    return re.search(r'class="flash flash-(\w+)"[^>]*>([^<]*)<', html(web_session.get(path))).groups()


# --- overview and plan ---------------------------------------------------------------------------

def test_overview_counts_overdue_and_due_soon_tasks_with_links(tasks, web_session, people, sign_in):
    sign_in(people["editor"])
    page = html(web_session.get("/"))
    assert 'href="/tasks?plan_id=p1&amp;due=overdue"><strong>3</strong> quá hạn</a>' in page
    assert 'href="/tasks?plan_id=p1&amp;due=due_soon"><strong>2</strong> sắp đến hạn</a>' in page
    assert "38% hoàn thành" in text_of(page)  # 37.6 shown whole
    assert "1/12 hoàn thành · 20%" in text_of(page)
    assert 'href="/plans/import">Nhập kế hoạch</a>' in page
    assert not tasks.list_tasks.called  # progress comes with the plans


def test_viewers_get_no_import_link(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    assert "/plans/import" not in html(web_session.get("/"))
    assert web_session.get("/plans/import").status_code == 403


def test_plan_page_lists_its_problems(tasks, web_session, people, sign_in):
    sign_in(people["editor"])
    page = text_of(html(web_session.get("/plans/p1")))
    assert "Nhiệm vụ II.1.1: chưa có thời gian thực hiện" in page
    assert "ke-hoach-2026.txt" in page and "Nhập lại kế hoạch" in page
    tasks.get_plan.assert_called_once_with("p1", "xuan-hung")


def test_navigation_has_agencies_and_reports(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/agencies"))
    assert '<a href="/agencies" aria-current="page">Cơ quan</a>' in page
    assert '<a href="/reports" >Báo cáo</a>' in page


# --- task list ---------------------------------------------------------------------------------------

def test_task_list_filters_by_agency_and_deadline(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks", params={"agency_id": "vhxh", "due": "overdue", "status": "", "x": "1"}))
    tasks.list_tasks.assert_called_once_with(
        {"agency_id": "vhxh", "due": "overdue", "commune_id": "xuan-hung", "offset": 0, "limit": 50})
    assert '<option value="vhxh" selected>Phòng Văn hóa – Xã hội</option>' in page
    assert '<option value="overdue" selected>Quá hạn</option>' in page
    assert '<option value="this_quarter" >Đến hạn trong quý này</option>' in page


def test_task_list_marks_overdue_rows_and_blank_timelines_of_tasks_not_headings(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks"))
    rows = dict(re.findall(r'<td class="code"><a href="/tasks/[^"]+">([\w.]+)</a></td>(.*?)</tr>', page, re.S))
    assert set(rows) == {"I", "I.1", "I.1.1", "I.1.2", "II.1.1"}
    assert '<tr class="level-2 overdue">' in page and "Quá hạn" in rows["I.1.2"]
    assert "Cần bổ sung thời hạn" in rows["II.1.1"]
    assert "Cần bổ sung thời hạn" not in rows["I"] + rows["I.1"] + rows["I.1.1"]
    assert "hạn 31/12/2026" in rows["I.1.1"]


# --- task detail ----------------------------------------------------------------------------------------

def test_task_detail_shows_agencies_as_matched_and_the_timeline_beside_its_reading(tasks, web_session, people, sign_in):
    tasks.get_task.return_value = samples.detail(coordinating=[samples.ref("Ban Quản lý chợ")],
                                                 coordinating_agencies="Ban Quản lý chợ")
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks/t1"))
    assert '<a href="/agencies/vhxh">Phòng Văn hóa – Xã hội</a>' in page
    assert "(Phòng Văn hoá – Xã hội)" in page  # the plan's own spelling
    assert '<span class="unknown">Ban Quản lý chợ</span>' in page and "Không có trong danh sách cơ quan" in page
    text = text_of(page)
    assert "«Quý IV/2026» Theo quý từ 01/10/2026 hạn 31/12/2026" in text
    assert "Tiến độ: 50%" in text


def test_a_conditional_task_offers_the_guidance_form(tasks, web_session, people, sign_in):
    tasks.get_task.return_value = samples.conditional_detail()
    tasks.record_guidance.return_value = samples.task(
        code="II.5.3", schedule=samples.schedule("Sau khi …", "conditional", due="2027-02-02"))
    csrf = sign_in(people["editor"])
    page = html(web_session.get("/tasks/t9"))
    assert "Điều kiện: hướng dẫn của Sở Văn hóa, Thể thao và Du lịch" in text_of(page)
    assert 'action="/tasks/t9/guidance"' in page and "Ghi nhận đã có hướng dẫn" in page
    response = web_session.post("/tasks/t9/guidance", data={"received_on": "2026-11-02", "due": "", "note": "",
                                                             "csrf_token": csrf}, allow_redirects=False)
    assert response.headers["Location"] == "/tasks/t9"
    tasks.record_guidance.assert_called_once_with(
        {"received_on": "2026-11-02", "due": None, "note": "", "task_id": "t9", "commune_id": "xuan-hung"})
    assert flash(web_session, "/tasks/t9") == ("ok", "Đã ghi nhận hướng dẫn cho nhiệm vụ II.5.3; hạn hoàn thành 02/02/2027.")


def test_a_task_with_a_deadline_has_no_guidance_form(tasks, web_session, people, sign_in):
    sign_in(people["editor"])
    assert 'action="/tasks/t1/guidance"' not in html(web_session.get("/tasks/t1"))


def test_a_bad_guidance_date_is_shown_not_sent(tasks, web_session, people, sign_in):
    tasks.get_task.return_value = samples.conditional_detail()
    csrf = sign_in(people["editor"])
    web_session.post("/tasks/t9/guidance", data={"received_on": "hôm qua", "csrf_token": csrf}, allow_redirects=False)
    level, message = flash(web_session, "/tasks/t9")
    assert level == "error" and "Ngày không hợp lệ" in message
    assert not tasks.record_guidance.called


def test_updates_show_their_evidence_and_history_is_in_vietnam_time(tasks, web_session, people, sign_in):
    detail = samples.detail()
    detail["updates"][0]["links"].append("javascript:alert(1)")
    tasks.get_task.return_value = detail
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks/t1"))
    assert '<a href="https://xuanhung.ninhbinh.gov.vn/du-thao-quy-che" rel="noopener noreferrer nofollow">' in page
    assert 'href="javascript:' not in page and "<li>javascript:alert(1)</li>" in page
    assert '<a href="/tasks/t1/evidence/f1">Dự thảo quy chế.pdf</a>' in page
    history = text_of(page.split('id="history"')[1])
    # newest first: the progress report (21/11 10:00), then the status change (20/11 09:00)
    assert history.index("21/11/2026 10:00 Chị Lan báo cáo tiến độ") < history.index(
        "20/11/2026 09:00 Chị Lan đổi trạng thái Trạng thái: Chưa thực hiện → Đang thực hiện Đã họp triển khai")
    assert "Anh Hùng" in text_of(page.split('id="comments"')[1])


def test_the_progress_form_is_multipart_with_csrf_and_sends_files(tasks, web_session, people, sign_in):
    tasks.add_update.return_value = {"_id": "u2", "links": ["https://a.example/tin"], "files": [{"file_id": "f2"}]}
    csrf = sign_in(people["editor"])
    form = html(web_session.get("/tasks/t1")).split('action="/tasks/t1/updates"')[1].split("</form>")[0]
    assert 'enctype="multipart/form-data"' in form and f'name="csrf_token" value="{csrf}"' in form
    response = web_session.post("/tasks/t1/updates", data={"text": "Đã lắp loa\r\nthôn 3", "links": "https://a.example/tin",
                                                           "csrf_token": csrf},
                                files={"files": ("biên bản.pdf", b"%PDF-1.7", "application/pdf")}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/tasks/t1"
    tasks.add_update.assert_called_once_with({
        "text": "Đã lắp loa\nthôn 3", "links": ["https://a.example/tin"], "commune_id": "xuan-hung", "task_id": "t1",
        "files": [{"name": "biên bản.pdf", "content_type": "application/pdf",
                   "content_b64": base64.b64encode(b"%PDF-1.7").decode()}]})
    assert flash(web_session, "/tasks/t1") == ("ok", "Đã ghi nhận báo cáo tiến độ (1 liên kết, 1 tệp).")


def test_a_progress_form_without_csrf_is_refused(tasks, web_session, people, sign_in):
    sign_in(people["editor"])
    page = html(web_session.post("/tasks/t1/updates", files={"text": (None, "x")}), 403)
    assert "CSRF" in page
    assert not tasks.add_update.called


def test_a_progress_report_on_another_communes_task_shows_the_refusal(tasks, web_session, people, sign_in):
    tasks.add_update.side_effect = RemoteError("NotFound", "Không tìm thấy nhiệm vụ.")
    csrf = sign_in(people["other_admin"])
    web_session.post("/tasks/t1/updates", files={"text": (None, "Báo cáo"), "csrf_token": (None, csrf)},
                     allow_redirects=False)
    assert tasks.add_update.call_args.args[0]["commune_id"] == "yen-thang"
    tasks.get_task.side_effect = RemoteError("NotFound", "Không tìm thấy nhiệm vụ.")
    assert "Không tìm thấy nhiệm vụ." in html(web_session.get("/tasks/t1"), 404)


def test_comments_from_every_role(tasks, web_session, people, sign_in):
    tasks.add_comment.return_value = {"_id": "c2"}
    csrf = sign_in(people["viewer"])
    web_session.post("/tasks/t1/comments", data={"text": "Đề nghị bổ sung ảnh.", "csrf_token": csrf},
                     allow_redirects=False)
    tasks.add_comment.assert_called_once_with(
        {"text": "Đề nghị bổ sung ảnh.", "commune_id": "xuan-hung", "task_id": "t1"})
    assert flash(web_session, "/tasks/t1") == ("ok", "Đã gửi bình luận.")


def test_the_assignee_picker_offers_the_lead_agencys_people(tasks, web_session, people, sign_in, mongo_database):
    users = UserRepository(mongo_database)
    lan = users.add(domain.new_user({"username": "lan.vhxh", "display_name": "Nguyễn Thị Lan",
                                     "commune_id": "xuan-hung", "agency_id": "vhxh", "roles": ["editor"]}, "h"))
    users.add(domain.new_user({"username": "hung.ca", "display_name": "Lê Văn Hùng", "commune_id": "xuan-hung",
                               "agency_id": "ca", "roles": ["editor"]}, "h"))
    tasks.get_task.return_value = samples.detail(assignees=[{"user_id": lan["_id"], "name": "Nguyễn Thị Lan"}])
    tasks.assign.return_value = samples.task(assignees=[{"user_id": lan["_id"], "name": "Nguyễn Thị Lan"}])
    csrf = sign_in(people["admin"])
    page = html(web_session.get("/tasks/t1"))
    picker = page.split('action="/tasks/t1/assignees"')[1].split("</form>")[0]
    assert f'value="{lan["_id"]}" checked> Nguyễn Thị Lan' in picker and "Lê Văn Hùng" not in picker
    web_session.post("/tasks/t1/assignees", data={"user_id": lan["_id"], "csrf_token": csrf}, allow_redirects=False)
    tasks.assign.assert_called_once_with({"task_id": "t1", "commune_id": "xuan-hung",
                                          "assignees": [{"user_id": lan["_id"], "name": "Nguyễn Thị Lan"}]})
    assert flash(web_session, "/tasks/t1") == ("ok", "Đã giao nhiệm vụ I.1.1 cho 1 người.")
    sign_in(people["editor"])
    assert 'action="/tasks/t1/assignees"' not in html(web_session.get("/tasks/t1"))


def test_the_task_page_in_english(tasks, web_session, people, sign_in):
    sign_in(people["editor"])
    web_session.get("/lang/en")
    text = text_of(html(web_session.get("/tasks/t1")))
    for phrase in ("Progress reports", "Discussion", "History", "Assigned to", "Nobody yet",
                   "«Quý IV/2026» Quarter from 01/10/2026 due 31/12/2026"):
        assert phrase in text


# --- import: upload or paste, preview, apply ----------------------------------------------------------

def test_pasted_text_is_previewed_then_applied_unchanged(tasks, web_session, people, sign_in):
    tasks.preview_import.return_value = samples.preview()
    tasks.import_plan.return_value = dict(samples.plan(_id="p2", title="KẾ HOẠCH 2026", task_count=38), diff=None)
    csrf = sign_in(people["editor"])
    form = html(web_session.get("/plans/import"))
    assert 'enctype="multipart/form-data"' in form and '<option value="p1"' in form
    page = html(web_session.post("/plans/import/preview", files={
        "text": (None, PLAN_TEXT.replace("\n", "\r\n")), "file": ("", b""), "csrf_token": (None, csrf)}))
    tasks.preview_import.assert_called_once_with(
        {"text": PLAN_TEXT, "source_name": "", "plan_id": None, "commune_id": "xuan-hung"})
    assert not tasks.import_plan.called
    text = text_of(page)
    assert "Tìm thấy 4 nhiệm vụ" in text and "không tìm thấy cơ quan «Ban Quản lý chợ»" in text
    assert '<span class="unknown">Ban Quản lý chợ</span>' in page
    assert "«Quý IV/2026» Theo quý từ 01/10/2026 hạn 31/12/2026" in text
    rows = dict(re.findall(r'<td class="code">([\w.]+)</td>(.*?)</tr>', page, re.S))
    assert "Cần bổ sung thời hạn" in rows["I.1.2"] and "Cần bổ sung thời hạn" not in rows["I.1"]
    assert hidden(page, "content_kind") == "text"
    assert base64.b64decode(hidden(page, "content_b64")).decode() == PLAN_TEXT

    response = web_session.post("/plans/import/apply", files={
        name: (None, hidden(page, name)) for name in ("csrf_token", "content_kind", "content_b64", "source_name",
                                                      "plan_id")}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/plans/p2"
    tasks.import_plan.assert_called_once_with(
        {"text": PLAN_TEXT, "source_name": "", "plan_id": None, "commune_id": "xuan-hung"})
    assert flash(web_session, "/plans/p2") == ("ok", "Đã nhập kế hoạch «KẾ HOẠCH 2026» với 38 nhiệm vụ.")


def test_a_docx_re_import_shows_the_changes_and_applies_the_same_file(tasks, web_session, people, sign_in):
    diff = {"added": ["I.8"], "removed": ["II.5.3"], "changed": [{"code": "I.1.1", "fields": ["timeline"]}],
            "unchanged": 35}
    tasks.preview_import.return_value = samples.preview(diff=diff)
    tasks.import_plan.return_value = dict(samples.plan(), diff=diff)
    csrf = sign_in(people["admin"])
    page = html(web_session.post("/plans/import/preview", data={"plan_id": "p1", "csrf_token": csrf},
                                 files={"file": ("ke-hoach-sua.docx", DOCX_BYTES, DOCX)}))
    text = text_of(page)
    assert "Thêm mới I.8" in text and "Bỏ khỏi kế hoạch II.5.3" in text
    assert "Sửa nội dung I.1.1 (Thời gian thực hiện)" in text and "Không đổi 35" in text
    assert (hidden(page, "content_kind"), hidden(page, "plan_id"), hidden(page, "source_name")) == (
        "docx", "p1", "ke-hoach-sua.docx")
    web_session.post("/plans/import/apply", data={name: hidden(page, name) for name in (
        "csrf_token", "content_kind", "content_b64", "source_name", "plan_id")}, allow_redirects=False)
    sent = tasks.import_plan.call_args.args[0]
    assert base64.b64decode(sent["docx_b64"]) == DOCX_BYTES and sent["plan_id"] == "p1"
    assert flash(web_session, "/plans/p1")[1].startswith("Đã nhập lại kế hoạch")


@pytest.mark.parametrize("upload, message", [
    (("ke-hoach.docx", b"not a zip", DOCX), "Tệp không phải là tài liệu Word (.docx) hợp lệ."),
    (("ke-hoach.pdf", b"%PDF", "application/pdf"), "không phải tài liệu Word .docx"),
])
def test_a_bad_document_is_explained_on_the_page_and_nothing_is_applied(tasks, web_session, people, sign_in,
                                                                        upload, message):
    tasks.preview_import.side_effect = RemoteError("InvalidInput", "Tệp không phải là tài liệu Word (.docx) hợp lệ.")
    csrf = sign_in(people["editor"])
    page = html(web_session.post("/plans/import/preview", data={"csrf_token": csrf, "source_name": "KH 12"},
                                 files={"file": upload}), 400)
    assert message in page and '<p class="flash flash-error" role="alert">' in page
    assert 'value="KH 12"' in page  # what was typed stays
    assert not tasks.import_plan.called


def test_a_document_without_the_table_is_refused_at_apply_too(tasks, web_session, people, sign_in):
    tasks.import_plan.side_effect = RemoteError("InvalidInput", "Không tìm thấy bảng Phụ lục trong văn bản.")
    csrf = sign_in(people["editor"])
    page = html(web_session.post("/plans/import/apply", data={
        "csrf_token": csrf, "content_kind": "text", "content_b64": base64.b64encode(b"Thu moi").decode()}), 400)
    assert "Không tìm thấy bảng Phụ lục trong văn bản." in page


def test_an_upload_page_takes_more_than_the_small_body_limit_others_do_not(tasks, web_session, people, sign_in):
    tasks.preview_import.return_value = samples.preview()
    csrf = sign_in(people["editor"])
    five_mb = b"PK\x03\x04" + b"\0" * (5 * 1024 * 1024)
    ok = web_session.post("/plans/import/preview", data={"csrf_token": csrf}, files={"file": ("lon.docx", five_mb, DOCX)})
    assert ok.status_code == 200
    refused = web_session.post("/tasks/t1/comments", data={"csrf_token": csrf}, files={"file": ("lon.pdf", five_mb)})
    assert "Dữ liệu gửi lên quá lớn" in html(refused, 413)
    assert not tasks.add_comment.called


# --- agencies ----------------------------------------------------------------------------------------------

def test_agencies_list_their_tasks_and_mark_my_office(tasks, web_session, people, sign_in, mongo_database):
    UserRepository(mongo_database).update_profile("viewer.xuanhung", {"agency_id": "vhxh"})
    sign_in(people["viewer"])
    page = html(web_session.get("/agencies"))
    row = page.split('<tr class="own">')[1].split("</tr>")[0]
    assert "Phòng Văn hóa – Xã hội" in row and "Cơ quan của bạn" in row
    assert 'href="/tasks?agency_id=vhxh&amp;due=overdue"><strong>1</strong>' in row
    tasks.agency_view.assert_called_with("vhxh", "xuan-hung")


def test_an_agency_page_shows_what_is_late(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/agencies/vhxh"))
    late = text_of(page.split('class="card late"')[1].split("</section>")[0])
    assert "I.1.2 Xây dựng Kế hoạch hành động năm 2026 hạn 20/11/2026" in late
    assert "Không có nhiệm vụ sắp đến hạn." in page
    assert "Không tìm thấy cơ quan" in html(web_session.get("/agencies/khong-co"), 404)


# --- reports -------------------------------------------------------------------------------------------------

def test_the_report_form_offers_the_plans_periods_with_this_quarter_chosen(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/reports"))
    tasks.report_periods.assert_called_once_with("p1", "xuan-hung")
    assert 'name="plan_id" value="p1"' in page and 'id="choose-plan"' not in page  # one plan: nothing to choose
    options = re.findall(r'<option value="([\w:]+)" ?(selected)?>([^<]+)</option>', page)
    assert [(value, text) for value, _, text in options][3:] == [
        ("quarter:2026:4", "Quý IV năm 2026"), ("half_year:2026:1", "6 tháng đầu năm 2026"),
        ("half_year:2026:2", "6 tháng cuối năm 2026"), ("year:2026", "Năm 2026"),
        ("adhoc", "Đột xuất (từ ngày – đến ngày)")]
    chosen = [value for value, selected, _ in options if selected]
    assert chosen == [domain.current_period(samples.periods(), local_today())]


def test_with_several_plans_the_report_form_lets_me_choose(tasks, web_session, people, sign_in):
    tasks.list_plans.return_value = [samples.plan(), samples.plan(_id="p2", title="KẾ HOẠCH 2027", year=2027)]
    tasks.report_periods.return_value = samples.periods(2027)
    sign_in(people["viewer"])
    page = html(web_session.get("/reports", params={"plan_id": "p2"}))
    assert '<option value="p2" selected>KẾ HOẠCH 2027</option>' in page
    tasks.report_periods.assert_called_once_with("p2", "xuan-hung")
    assert "Quý I năm 2027" in page


def test_the_report_form_downloads_the_file(tasks, web_session, people, sign_in):
    tasks.generate_report.return_value = {"filename": "bao-cao-quy-iv-nam-2026.docx", "content_type": DOCX,
                                          "content_b64": base64.b64encode(b"PK\x03\x04docx").decode()}
    csrf = sign_in(people["viewer"])
    response = web_session.post("/reports", data={
        "csrf_token": csrf, "plan_id": "p1", "period": "quarter:2026:4", "start": "2026-01-01", "format": "docx",
        "doc_number": "45/BC-UBND", "proposals": "Đề nghị hỗ trợ\r\nkinh phí", "signer_name": "Nguyễn Văn An"})
    assert response.status_code == 200 and response.content == b"PK\x03\x04docx"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="bao-cao-quy-iv-nam-2026.docx"')
    tasks.generate_report.assert_called_once_with({
        "plan_id": "p1", "period": {"kind": "quarter", "year": 2026, "number": 4}, "format": "docx",
        "number": "45/BC-UBND", "proposals": "Đề nghị hỗ trợ\nkinh phí", "signer_name": "Nguyễn Văn An",
        "commune": {"name": "Xuân Hưng", "province": "Ninh Bình"}, "commune_id": "xuan-hung"})


def test_an_ad_hoc_report_without_dates_comes_back_with_the_reason(tasks, web_session, people, sign_in):
    tasks.generate_report.side_effect = RemoteError("InvalidInput", "Kỳ báo cáo không hợp lệ: chọn quý (1–4) …")
    csrf = sign_in(people["viewer"])
    page = html(web_session.post("/reports", data={"csrf_token": csrf, "plan_id": "p1", "period": "adhoc",
                                                   "format": "xlsx", "signer_name": "Nguyễn Văn An"}), 400)
    assert "Kỳ báo cáo không hợp lệ" in page
    assert '<option value="adhoc" selected>' in page and 'value="xlsx" checked' in page
    assert 'value="Nguyễn Văn An"' in page
    assert tasks.generate_report.call_args.args[0]["period"] == {"kind": "adhoc"}


def test_a_district_administrators_new_forms_and_links_keep_the_commune(tasks, web_session, people, sign_in):
    tasks.get_task.return_value = samples.conditional_detail()
    csrf = sign_in(people["district"])
    page = html(web_session.get("/tasks/t9", params={"commune_id": "yen-thang"}))
    for action in ("updates", "comments", "guidance", "status"):
        assert f'action="/tasks/t9/{action}?commune_id=yen-thang"' in page, action
    assert "Cơ quan chủ trì chưa có tài khoản nào để giao việc." in page  # nobody of the lead agency there
    tasks.get_task.assert_called_once_with("t9", "yen-thang")
    tasks.add_comment.return_value = {"_id": "c1"}
    web_session.post("/tasks/t9/comments?commune_id=yen-thang", data={"text": "Ý kiến huyện", "csrf_token": csrf},
                     allow_redirects=False)
    assert tasks.add_comment.call_args.args[0]["commune_id"] == "yen-thang"
    assert 'href="/plans/import?commune_id=yen-thang"' in html(web_session.get("/", params={"commune_id": "yen-thang"}))
    reports = html(web_session.get("/reports", params={"commune_id": "yen-thang"}))
    assert 'action="/reports?commune_id=yen-thang"' in reports
