"""Service tests of the web console: server-rendered pages, the login form,
the language switch and the status form, with the tasks service mocked."""
import re
import unicodedata
from urllib.parse import unquote

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway import auth
from services.gateway.cookies import FLASH_COOKIE, LOGIN_FORM_COOKIE
from services.gateway.service import GatewayService
from services.gateway.tests import samples
from services.gateway.tests.conftest import PASSWORD

@pytest.fixture
def tasks(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    tasks = replace_dependencies(container, "tasks")
    container.start()
    tasks.list_plans.return_value = [samples.plan()]
    tasks.list_tasks.return_value = samples.task_page()
    tasks.get_task.return_value = samples.detail()
    return tasks


def html(response, status=200):
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert unicodedata.is_normalized("NFC", response.text)
    return response.text


def hidden(page, name):
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def test_signed_out_pages_redirect_to_login_with_next(tasks, web_session):
    response = web_session.get("/tasks?status=done", allow_redirects=False)
    assert response.status_code == 303
    assert unquote(response.headers["Location"]) == "/login?next=/tasks?status=done"


def test_login_page_is_vietnamese_first(tasks, web_session):
    page = html(web_session.get("/login?next=/tasks"))
    assert '<html lang="vi">' in page and '<meta charset="utf-8">' in page
    assert "Đăng nhập" in page and "Tên đăng nhập" in page and "Mật khẩu" in page
    assert hidden(page, "next") == "/tasks"
    assert hidden(page, "csrf_token") == web_session.cookies[LOGIN_FORM_COOKIE]
    assert "Tổng quan" not in page  # no navigation before signing in


def login(web_session, username, password, next_path="/"):
    page = html(web_session.get(f"/login?next={next_path}"))
    return web_session.post("/login", data={"username": username, "password": password, "next": next_path,
                                            "csrf_token": hidden(page, "csrf_token")}, allow_redirects=False)


def test_login_form_signs_in_and_goes_to_next(tasks, web_session, people):
    response = login(web_session, "admin.xuanhung", PASSWORD, "/tasks")
    assert response.status_code == 303 and response.headers["Location"] == "/tasks"
    assert "HttpOnly" in response.headers["Set-Cookie"]
    page = html(web_session.get("/tasks"))
    assert "Quản trị Xuân Hưng" in page and "Xuân Hưng" in page


def test_login_form_errors_are_shown_in_vietnamese(tasks, web_session, people):
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in html(login(web_session, "admin.xuanhung", "sai"), 401)
    for _ in range(4):
        login(web_session, "admin.xuanhung", "sai")
    page = html(login(web_session, "admin.xuanhung", PASSWORD), 429)
    assert "Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau 15 phút." in page
    assert auth.SESSION_COOKIE not in web_session.cookies


def test_login_form_without_its_token_is_refused(tasks, web_session, people):
    response = web_session.post("/login", data={"username": "admin.xuanhung", "password": PASSWORD})
    assert "Biểu mẫu đã hết hạn" in html(response, 400)
    assert auth.SESSION_COOKIE not in web_session.cookies


def test_login_never_redirects_off_site(tasks, web_session, people):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        web_session.cookies.clear()
        assert login(web_session, "admin.xuanhung", PASSWORD, target).headers["Location"] == "/"


def test_overview_shows_plans_progress_by_part_and_activity(tasks, web_session, people, sign_in, mongo_database):
    mongo_database.activity.insert_one({
        "_id": "e1", "commune_id": "xuan-hung", "occurred_at": "2026-05-04T03:02:01.000Z", "kind": "task_status_changed",
        "actor": "u", "actor_name": "Chị Lan", "summary": "…",
        "data": {"task_id": "t1", "plan_id": "p1", "code": "I.1.1", "title": "…", "old_status": "not_started",
                 "new_status": "in_progress"}})
    sign_in(people["viewer"])
    page = html(web_session.get("/"))
    assert samples.plan()["title"] in page
    assert "I. Thông tin cơ sở" in page and "II. Thông tin đối ngoại" in page
    assert "Chị Lan chuyển nhiệm vụ I.1.1 từ «Chưa thực hiện» sang «Đang thực hiện»" in page
    assert "04/05/2026 10:02" in page  # Vietnam time
    assert 'aria-current="page">Tổng quan' in page
    tasks.list_plans.assert_called_once_with("xuan-hung")


def test_task_list_shows_the_table_indented_with_labels_and_filters(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks", params={"status": "in_progress", "agency": "văn hóa", "q": "", "page": "2"}))
    tasks.list_tasks.assert_called_once_with(
        {"status": "in_progress", "agency": "văn hóa", "commune_id": "xuan-hung", "offset": 50, "limit": 50})
    for header in ("TT", "Nhiệm vụ cụ thể", "Cơ quan chủ trì", "Cơ quan phối hợp", "Thời gian thực hiện", "Trạng thái"):
        assert f">{header}</th>" in page
    assert '<tr class="level-2">' in page and '<tr class="level-0">' in page
    assert ">I.1.1</a>" in page and "Quý IV/2026" in page and "Đang thực hiện" in page
    assert '<option value="in_progress" selected>' in page


def test_language_switch_sets_a_cookie_and_returns(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    response = web_session.get("/lang/en", params={"next": "/tasks?status=done"}, allow_redirects=False)
    assert response.headers["Location"] == "/tasks?status=done"
    page = html(web_session.get("/tasks"))
    assert '<html lang="en">' in page and "Lead agency" in page and "In progress" in page
    assert web_session.get("/lang/en?next=https://evil.example", allow_redirects=False).headers["Location"] == "/"
    assert web_session.get("/lang/fr", allow_redirects=False).status_code == 404


def test_status_form_changes_status_and_flashes_once(tasks, web_session, people, sign_in):
    tasks.change_status.return_value = samples.task(status="done")
    csrf = sign_in(people["editor"])
    page = html(web_session.get("/tasks/t1"))
    assert hidden(page, "csrf_token") == csrf and 'action="/tasks/t1/status"' in page
    response = web_session.post("/tasks/t1/status", data={"status": "done", "csrf_token": csrf}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"] == "/tasks/t1"
    tasks.change_status.assert_called_once_with({"task_id": "t1", "status": "done", "commune_id": "xuan-hung"})
    assert "Đã chuyển nhiệm vụ I.1.1 sang «Hoàn thành»." in html(web_session.get("/tasks/t1"))
    assert FLASH_COOKIE not in web_session.cookies
    assert "Đã chuyển nhiệm vụ" not in html(web_session.get("/tasks/t1"))


def test_status_form_shows_the_tasks_services_refusal(tasks, web_session, people, sign_in):
    tasks.change_status.side_effect = RemoteError("Conflict", "Nhiệm vụ vừa được người khác cập nhật.")
    csrf = sign_in(people["editor"])
    web_session.post("/tasks/t1/status", data={"status": "done", "csrf_token": csrf}, allow_redirects=False)
    assert "Nhiệm vụ vừa được người khác cập nhật." in html(web_session.get("/tasks/t1"))


def test_status_form_without_csrf_is_refused(tasks, web_session, people, sign_in):
    sign_in(people["editor"])
    page = html(web_session.post("/tasks/t1/status", data={"status": "done"}), 403)
    assert "CSRF" in page and "Không có quyền truy cập" in page
    assert not tasks.change_status.called


def test_viewer_sees_no_status_form(tasks, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks/t1"))
    assert 'action="/tasks/t1/status"' not in page and "Bạn chỉ có quyền xem và bình luận nhiệm vụ này." in page


def test_missing_task_is_a_vietnamese_404_page(tasks, web_session, people, sign_in):
    tasks.get_task.side_effect = RemoteError("NotFound", "Không tìm thấy nhiệm vụ.")
    sign_in(people["viewer"])
    page = html(web_session.get("/tasks/nope"), 404)
    assert "Không tìm thấy nhiệm vụ." in page and "Mã yêu cầu" in page
    assert html(web_session.get("/no-such-page"), 404)


def test_district_admin_picks_a_commune_and_links_keep_it(tasks, web_session, people, sign_in):
    sign_in(people["district"])
    page = html(web_session.get("/"))
    assert 'href="/?commune_id=yen-thang"' in page and "Xuân Hưng" in page
    page = html(web_session.get("/tasks", params={"commune_id": "yen-thang"}))
    assert 'href="/tasks/t1?commune_id=yen-thang"' in page
    tasks.list_tasks.assert_called_with({"commune_id": "yen-thang", "offset": 0, "limit": 50})


def test_logout_form_ends_the_session(tasks, web_session, people, sign_in):
    csrf = sign_in(people["viewer"])
    response = web_session.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert response.headers["Location"] == "/login"
    assert "Bạn đã đăng xuất." in html(web_session.get("/login"))
    assert web_session.get("/", allow_redirects=False).status_code == 303


def test_stylesheet_is_served_and_nothing_else_of_the_disk(tasks, web_session):
    css = web_session.get("/static/console.css")
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "@media" in css.text
    assert web_session.get("/static/../service.py").status_code == 404
    assert web_session.get("/static/%2e%2e/service.py").status_code == 404


def test_api_keys_do_not_open_the_console(tasks, web_session, people):
    response = web_session.get("/", headers={"Authorization": "Bearer txk_whatever"}, allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login")
