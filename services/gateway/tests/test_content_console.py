"""Service tests of the console's content pages: list and search, editor,
item page with its workflow and audio panel, history with diffs, approval
queue, sections; the content service replaced by a stand-in."""
import base64
import re

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway import domain
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import content_samples as samples
from services.gateway.tests.test_console import hidden, html
from services.gateway.tests.test_tracking_console import flash, text_of


@pytest.fixture
def content(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    tasks, content = replace_dependencies(container, "tasks", "content")
    container.start()
    content.list_sections.return_value = samples.sections()
    content.list_items.return_value = samples.item_page()
    content.get_item.return_value = samples.detail()
    return content


@pytest.fixture
def approver(people, mongo_database, password_hash):
    return UserRepository(mongo_database).add(domain.new_user(
        {"username": "approver.xuanhung", "display_name": "Chị Lan", "commune_id": "xuan-hung",
         "roles": ["approver"]}, password_hash))


def nav(page):
    return re.findall(r'<li><a href="([^"]+)"', page.split('class="sidebar"', 1)[1].split("</nav>", 1)[0])


def sent(mock_method):
    mock_method.assert_called_once()
    return mock_method.call_args.args[0]


# --- navigation and the list ----------------------------------------------------------------------

def test_the_approval_queue_is_in_the_navigation_of_approvers_only(content, web_session, people, sign_in, approver):
    sign_in(people["editor"])
    assert nav(html(web_session.get("/content"))) == ["/", "/tasks", "/content", "/agencies", "/reports", "/broadcasts",
                                                      "/devices", "/alarms", "/roster", "/training", "/sync"]
    assert web_session.get("/content/review").status_code == 403
    sign_in(approver)
    page = html(web_session.get("/content/review"))
    assert nav(page) == ["/", "/tasks", "/content", "/content/review", "/agencies", "/reports", "/broadcasts",
                         "/devices", "/alarms", "/roster", "/training", "/sync"]
    assert '<a href="/content/review" aria-current="page">Duyệt tin</a>' in page
    sign_in(people["admin"])
    assert "/content/review" in nav(html(web_session.get("/")))


def test_the_list_searches_filters_and_shows_the_feeds(content, web_session, people, sign_in):
    sign_in(people["viewer"])
    page = html(web_session.get("/content", params={"q": "tiem chung", "status": "submitted", "kind": "",
                                                     "channel": "website", "page": "2"}))
    assert sent(content.list_items) == {"q": "tiem chung", "status": "submitted", "channel": "website",
                                        "commune_id": "xuan-hung", "offset": 50, "limit": 50}
    assert '<a href="/content" aria-current="page">Nội dung</a>' in page
    assert '<a href="/content/i1">Lịch tiêm chủng mở rộng tháng 4</a>' in page
    assert 'class="badge cstatus-submitted">Chờ duyệt</span>' in page
    assert '<option value="submitted" selected>' in page and 'value="tiem chung"' in page
    assert "Tin cũ (ngừng sử dụng)" in page  # old items keep deactivated sections, so the filter offers them
    text = text_of(page)
    assert "Trang thông tin điện tử" in text and "Zalo, Facebook" in text
    assert re.search(r'href="http://127\.0\.0\.1:\d+/feeds/xuan-hung/atom\.xml"', page)
    assert re.search(r'href="http://127\.0\.0\.1:\d+/feeds/xuan-hung/feed\.json"', page)
    assert "/content/new" not in page  # viewers write nothing


def test_an_editor_starts_a_new_item_by_its_kind(content, web_session, people, sign_in):
    sign_in(people["editor"])
    assert 'action="/content/new"' in html(web_session.get("/content"))
    page = html(web_session.get("/content/new", params={"kind": "radio_bulletin"}))
    assert '<option value="radio_bulletin" selected>Bản tin phát thanh</option>' in page
    checked = re.findall(r'name="channels" value="(\w+)" checked', page)
    assert checked == ["radio"]
    assert "Tin cũ" not in page  # a deactivated section is not offered for a new item
    assert 'name="revision"' not in page
    assert 'name="then" value="submit"' in page
    assert re.findall(r'name="channels" value="(\w+)" checked', html(web_session.get("/content/new"))) == [
        "website", "social"]


def test_viewers_cannot_open_the_editor(content, web_session, people, sign_in):
    sign_in(people["viewer"])
    assert web_session.get("/content/new").status_code == 403
    assert web_session.get("/content/i1/edit").status_code == 403


# --- writing --------------------------------------------------------------------------------------------

def editor_form(csrf, **changes):
    form = {"csrf_token": csrf, "kind": "news", "section_id": "xuan-hung:chuyen-doi-so",
            "title": "Lịch tiêm chủng", "summary": "", "body": "Đoạn 1\r\n\r\nĐoạn 2", "channels": ["website"],
            "rebuttal_url": "", "rebuttal_claim": ""}
    form.update(changes)
    return form


def test_a_new_item_with_an_image_is_created_and_opened(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.create_item.return_value = samples.item(status="draft", revision=1)
    response = web_session.post("/content/new", data=editor_form(csrf), allow_redirects=False,
                                files={"images": ("ảnh.png", samples.PNG, "image/png")})
    assert response.status_code == 303 and response.headers["Location"] == "/content/i1"
    request = sent(content.create_item)
    assert request == {"kind": "news", "section_id": "xuan-hung:chuyen-doi-so", "title": "Lịch tiêm chủng",
                       "summary": "", "body": "Đoạn 1\n\nĐoạn 2", "channels": ["website"], "commune_id": "xuan-hung",
                       "new_images": [{"name": "ảnh.png", "content_type": "image/png",
                                       "content_b64": base64.b64encode(samples.PNG).decode()}]}
    assert flash(web_session, "/content/i1") == ("ok", "Đã tạo «Lịch tiêm chủng mở rộng tháng 4» (bản sửa 1).")


def test_no_channel_chosen_leaves_the_kinds_default_and_a_rebuttal_says_what_it_answers(content, web_session, people,
                                                                                        sign_in):
    csrf = sign_in(people["editor"])
    content.create_item.return_value = samples.item(status="draft", revision=1)
    form = editor_form(csrf, kind="rebuttal", rebuttal_url=" https://mxh.example/sai ", rebuttal_claim="Tin đồn")
    del form["channels"]
    web_session.post("/content/new", data=form, allow_redirects=False)
    request = sent(content.create_item)
    assert "channels" not in request
    assert request["rebuttal"] == {"url": "https://mxh.example/sai", "claim": "Tin đồn"}


def test_save_and_submit_submits_the_saved_item(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.create_item.return_value = samples.item(status="draft", revision=1)
    web_session.post("/content/new", data=editor_form(csrf, then="submit"), allow_redirects=False)
    assert "then" not in sent(content.create_item)
    assert sent(content.submit_item) == {"item_id": "i1", "comment": "", "commune_id": "xuan-hung"}
    assert flash(web_session, "/content/i1") == ("ok", "Đã lưu và gửi duyệt «Lịch tiêm chủng mở rộng tháng 4».")


def test_a_refused_item_comes_back_with_the_text_and_a_readable_message(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.create_item.side_effect = RemoteError("InvalidInput", "Chuyên mục không tồn tại.")
    response = web_session.post("/content/new", data=editor_form(csrf, section_id="khong-co", body="Bài <b>dài</b>"))
    page = html(response, 400)
    assert '<p class="flash flash-error" role="alert">Chuyên mục không tồn tại.</p>' in page
    assert "Bài &lt;b&gt;dài&lt;/b&gt;</textarea>" in page and 'value="Lịch tiêm chủng"' in page


def test_an_oversized_image_is_refused_in_the_form(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    big = samples.PNG + b"\0" * (5 * 1024 * 1024)
    page = html(web_session.post("/content/new", data=editor_form(csrf),
                                 files={"images": ("to.png", big, "image/png")}), 413)
    assert "Tệp «to.png» lớn hơn 5 MB." in page
    assert not content.create_item.called


def test_the_edit_form_carries_the_revision_and_the_images(content, web_session, people, sign_in):
    sign_in(people["editor"])
    content.get_item.return_value = samples.detail(image_media_ids=["m1", "m2"], audio=samples.audio(current=False))
    page = html(web_session.get("/content/i1/edit"))
    assert hidden(page, "revision") == "2"
    assert re.findall(r'name="image_media_ids" value="(\w+)"', page) == ["m1", "m2"]
    assert '<img src="/api/content/media/m1"' in page
    assert 'name="remove_image_ids" value="m2"' in page
    assert '<audio controls preload="metadata" src="/api/content/media/m-audio"></audio>' in page
    assert "Nội dung đã thay đổi sau khi tạo âm thanh" in page
    assert 'name="then"' not in page  # a submitted item is already waiting


def test_an_edit_keeps_unremoved_images_and_clears_what_the_form_clears(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.update_item.return_value = samples.item(revision=3)
    form = editor_form(csrf, revision="2", image_media_ids=["m1", "m2"], remove_image_ids="m1",
                       channels=[], summary="")
    response = web_session.post("/content/i1/edit", data=form, allow_redirects=False,
                                files={"images": ("moi.jpg", samples.JPEG, "image/jpeg")})
    assert response.status_code == 303
    request = sent(content.update_item)
    assert request["image_media_ids"] == ["m2"] and [i["name"] for i in request["new_images"]] == ["moi.jpg"]
    assert (request["revision"], request["channels"], request["summary"], request["rebuttal"]) == (2, [], "", None)
    assert flash(web_session, "/content/i1") == ("ok", "Đã lưu «Lịch tiêm chủng mở rộng tháng 4» (bản sửa 3).")


def test_an_edit_over_a_newer_revision_keeps_the_text_and_shows_what_changed(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.update_item.side_effect = RemoteError("Conflict", "Bản tin đã được sửa (bản sửa 3).")
    content.get_item.return_value = samples.detail(revision=3, updated_by="Anh Hùng",
                                                   updated_at="2026-04-10T02:00:00.000Z")
    page = html(web_session.post("/content/i1/edit", data=editor_form(csrf, revision="2", title="Tiêu đề của tôi")),
                409)
    assert "Trong lúc bạn sửa bản sửa 2, Anh Hùng đã lưu bản sửa 3 (lúc 10/04/2026 09:00)" in text_of(page)
    assert hidden(page, "revision") == "3"  # saving again is a choice, made on top of revision 3
    assert 'value="Tiêu đề của tôi"' in page
    assert 'href="/content/i1/history?from=2&amp;to=3"' in page


def test_another_refusal_of_an_edit_keeps_the_edited_revision(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.update_item.side_effect = RemoteError("InvalidInput", "Tiêu đề không được để trống.")
    content.get_item.return_value = samples.detail(revision=3)
    page = html(web_session.post("/content/i1/edit", data=editor_form(csrf, revision="2", title="")), 400)
    assert "Tiêu đề không được để trống." in page and hidden(page, "revision") == "2"
    assert sent(content.update_item)["title"] == ""


# --- the item page: workflow by role, audio ----------------------------------------------------------

def forms_on(page):
    return sorted(set(re.findall(r'action="/content/i1/([\w/]+)"', page)))


@pytest.mark.parametrize("who, status, forms", [
    ("editor", "draft", ["audio", "audio/upload", "submit"]),
    ("editor", "submitted", ["audio", "audio/upload"]),
    ("approver", "submitted", ["approve", "archive", "audio", "return"]),
    ("approver", "approved", ["archive", "audio", "publish", "return"]),
    ("approver", "scheduled", ["archive", "audio", "return", "unschedule"]),
    ("admin", "published", ["archive", "audio", "audio/upload"]),
    ("viewer", "submitted", []),
    ("approver", "archived", []),
])
def test_the_item_page_offers_the_steps_of_the_callers_roles(content, web_session, people, sign_in, approver, who,
                                                            status, forms):
    sign_in(approver if who == "approver" else people[who])
    content.get_item.return_value = samples.detail(status=status, publish_at="2026-04-15T00:00:00.000Z")
    page = html(web_session.get("/content/i1"))
    assert forms_on(page) == forms
    assert ('href="/content/i1/edit"' in page) == (who in ("editor", "admin") and status != "archived")


def test_the_item_page_shows_the_working_copy_the_published_version_and_the_steps(content, web_session, people,
                                                                                  sign_in):
    sign_in(people["viewer"])
    content.get_item.return_value = samples.detail(
        **{k: v for k, v in samples.live_item(status="draft", revision=3, title="Tiêu đề mới").items()
           if k not in ("_id",)}, history=samples.detail()["history"])
    page = html(web_session.get("/content/i1"))
    text = text_of(page)
    assert "<h1>Tiêu đề mới</h1>" in page and "Bản nháp" in text and "Đang đăng" in text
    assert "Phiên bản đang xuất bản: bản sửa 2, xuất bản lúc 11/04/2026 08:00" in text
    assert 'href="/content/i1/history?from=2&amp;to=3"' in page
    assert "<p>Phụ huynh mang theo sổ tiêm chủng &amp; thẻ bảo hiểm y tế.</p>" in page
    assert "Biên tập viên gửi duyệt (Bản sửa 2) : Bản nháp → Chờ duyệt" in text  # text_of spaces out tags
    assert re.search(r'href="http://127\.0\.0\.1:\d+/p/xuan-hung/i1">Xem trang công khai', page)


def test_while_audio_renders_the_page_says_so_and_reloads_itself(content, web_session, people, sign_in):
    sign_in(people["editor"])
    content.get_item.return_value = samples.detail(audio=samples.audio(state="rendering", media_id=None,
                                                                       duration_seconds=None))
    page = html(web_session.get("/content/i1"))
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "Đang tạo âm thanh từ bản sửa 2…" in page
    assert 'action="/content/i1/audio"' not in page and "<audio" not in page


def test_ready_audio_plays_in_the_page_with_its_length(content, web_session, people, sign_in):
    sign_in(people["editor"])
    content.get_item.return_value = samples.detail(channels=["radio"], audio=samples.audio())
    page = html(web_session.get("/content/i1"))
    assert '<audio controls preload="metadata" src="/api/content/media/m-audio"></audio>' in page
    assert "Thời lượng 1:05 · bản sửa 2 · giọng đọc máy" in text_of(page)
    assert "http-equiv" not in page and "Nội dung đã thay đổi" not in page
    assert "Kênh đài truyền thanh cần âm thanh" not in page
    content.get_item.return_value = samples.detail(channels=["radio"], audio=samples.audio(current=False))
    page = text_of(html(web_session.get("/content/i1")))
    assert "Nội dung đã thay đổi sau khi tạo âm thanh (âm thanh của bản sửa 2, hiện là bản sửa 2)" in page
    assert "Kênh đài truyền thanh cần âm thanh của nội dung hiện tại trước khi xuất bản." in page


def test_failed_audio_shows_the_engines_reason(content, web_session, people, sign_in):
    sign_in(people["editor"])
    content.get_item.return_value = samples.detail(audio=samples.audio(
        state="failed", media_id=None, error="Bộ đọc không hỗ trợ ký tự «☃»."))
    assert "Không tạo được âm thanh: Bộ đọc không hỗ trợ ký tự «☃»." in html(web_session.get("/content/i1"))


def test_approving_names_the_revision_read(content, web_session, people, sign_in, approver):
    csrf = sign_in(approver)
    content.approve_item.return_value = samples.item(status="approved")
    response = web_session.post("/content/i1/approve", data={"csrf_token": csrf, "revision": "2", "comment": "Tốt"},
                                allow_redirects=False)
    assert response.headers["Location"] == "/content/i1"
    assert sent(content.approve_item) == {"item_id": "i1", "comment": "Tốt", "revision": 2, "commune_id": "xuan-hung"}
    assert flash(web_session, "/content/i1") == ("ok", "Đã duyệt «Lịch tiêm chủng mở rộng tháng 4».")


def test_a_refused_step_is_a_readable_message_on_the_item(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.approve_item.side_effect = RemoteError("Forbidden", "Bạn không có quyền thực hiện thao tác này.")
    web_session.post("/content/i1/approve", data={"csrf_token": csrf, "revision": "2"}, allow_redirects=False)
    assert flash(web_session, "/content/i1") == ("error", "Bạn không có quyền thực hiện thao tác này.")


def test_returning_needs_a_reason(content, web_session, people, sign_in, approver):
    csrf = sign_in(approver)
    web_session.post("/content/i1/return", data={"csrf_token": csrf, "comment": "  "}, allow_redirects=False)
    assert not content.return_item.called
    assert "lý do trả lại" in flash(web_session, "/content/i1")[1]


def test_publishing_at_a_time_is_vietnam_time(content, web_session, people, sign_in, approver):
    csrf = sign_in(approver)
    content.publish_item.return_value = samples.item(status="scheduled", publish_at="2026-04-15T00:30:00.000Z")
    web_session.post("/content/i1/publish", data={"csrf_token": csrf, "at": "2026-04-15T07:30"}, allow_redirects=False)
    assert sent(content.publish_item) == {"item_id": "i1", "at": "2026-04-15T07:30:00+07:00",
                                          "commune_id": "xuan-hung"}
    assert flash(web_session, "/content/i1") == (
        "ok", "Đã hẹn xuất bản «Lịch tiêm chủng mở rộng tháng 4» lúc 15/04/2026 07:30.")


def test_publishing_now_and_a_nonsense_time(content, web_session, people, sign_in, approver):
    csrf = sign_in(approver)
    content.publish_item.return_value = samples.live_item()
    web_session.post("/content/i1/publish", data={"csrf_token": csrf}, allow_redirects=False)
    assert sent(content.publish_item) == {"item_id": "i1", "at": None, "commune_id": "xuan-hung"}
    assert flash(web_session, "/content/i1") == ("ok", "Đã xuất bản «Lịch tiêm chủng mở rộng tháng 4».")
    content.publish_item.reset_mock()
    web_session.post("/content/i1/publish", data={"csrf_token": csrf, "at": "mai"}, allow_redirects=False)
    assert not content.publish_item.called
    assert "Thời điểm xuất bản không hợp lệ" in flash(web_session, "/content/i1")[1]


@pytest.mark.parametrize("step, method, form, expected, message", [
    ("submit", "submit_item", {"comment": "Nhờ duyệt"}, {"comment": "Nhờ duyệt"}, "Đã gửi duyệt"),
    ("unschedule", "unschedule_item", {}, {}, "Đã hủy hẹn giờ"),
    ("archive", "archive_item", {}, {"comment": ""}, "Đã lưu trữ"),
])
def test_the_other_steps(content, web_session, people, sign_in, step, method, form, expected, message):
    csrf = sign_in(people["admin"])
    getattr(content, method).return_value = samples.item()
    web_session.post(f"/content/i1/{step}", data=dict(form, csrf_token=csrf), allow_redirects=False)
    assert sent(getattr(content, method)) == dict(expected, item_id="i1", commune_id="xuan-hung")
    assert flash(web_session, "/content/i1")[1].startswith(message)


def test_audio_is_requested_and_uploaded_from_the_item(content, web_session, people, sign_in):
    csrf = sign_in(people["editor"])
    content.request_audio.return_value = samples.item(audio=samples.audio(state="rendering"))
    web_session.post("/content/i1/audio", data={"csrf_token": csrf}, allow_redirects=False)
    assert sent(content.request_audio) == {"item_id": "i1", "commune_id": "xuan-hung"}
    assert flash(web_session, "/content/i1")[1].startswith("Đang tạo âm thanh")

    content.upload_audio.return_value = samples.item(audio=samples.audio(source="upload", duration_seconds=125))
    web_session.post("/content/i1/audio/upload", data={"csrf_token": csrf}, allow_redirects=False,
                     files={"file": ("ban-tin.mp3", samples.MP3, "audio/mpeg")})
    assert sent(content.upload_audio)["name"] == "ban-tin.mp3"
    assert flash(web_session, "/content/i1") == ("ok", "Đã tải bản ghi âm lên (2:05).")

    content.request_audio.side_effect = RemoteError("InvalidInput", "Không có gì để đọc.")
    web_session.post("/content/i1/audio", data={"csrf_token": csrf}, allow_redirects=False)
    assert flash(web_session, "/content/i1") == ("error", "Không có gì để đọc.")


# --- history and diffs -------------------------------------------------------------------------------------

def test_the_history_shows_word_changes_and_the_unified_diff(content, web_session, people, sign_in):
    sign_in(people["viewer"])
    content.diff_revisions.return_value = samples.diff()
    page = html(web_session.get("/content/i1/history"))
    content.diff_revisions.assert_called_once_with("i1", 1, 2, "xuan-hung")
    assert ('<div class="diff-text">Ngày <del>14/4/2026</del><ins>15/4/2026</ins><ins> &lt;b&gt;mới&lt;/b&gt;</ins>'
            '</div>') in page
    assert "<summary>Toàn bộ thay đổi dạng văn bản</summary>" in page
    assert "+  Ngày 15/4/2026" in page
    assert re.search(r"<dt>Kênh</dt>\s*<dd><del><span class=\"chip\">Trang thông tin điện tử</span></del> → <ins>"
                     r"<span class=\"chip\">Trang thông tin điện tử</span><span class=\"chip\">Zalo, Facebook</span>"
                     r"</ins></dd>", page)
    text = text_of(page)
    assert "Bản sửa 2 · Biên tập viên · sửa" in text and "Thay đổi: Nội dung" in text


def test_any_two_revisions_can_be_compared(content, web_session, people, sign_in):
    sign_in(people["viewer"])
    content.get_item.return_value = samples.detail(revision=5)
    content.diff_revisions.return_value = dict(samples.diff(), from_revision=1, to_revision=4)
    page = html(web_session.get("/content/i1/history", params={"from": "1", "to": "4"}))
    content.diff_revisions.assert_called_once_with("i1", 1, 4, "xuan-hung")
    assert "Bản sửa 1 → bản sửa 4" in text_of(page)


def test_an_item_with_one_revision_has_nothing_to_compare(content, web_session, people, sign_in):
    sign_in(people["viewer"])
    content.get_item.return_value = samples.detail(revision=1)
    assert "Tin, bài mới có một bản sửa." in html(web_session.get("/content/i1/history"))
    assert not content.diff_revisions.called


# --- approval queue and sections ---------------------------------------------------------------------------

def test_the_queue_lists_the_longest_waiting_first(content, web_session, sign_in, approver):
    sign_in(approver)
    content.list_items.return_value = samples.item_page([
        samples.item(_id="new", title="Mới gửi", updated_at="2026-04-10T05:00:00.000Z"),
        samples.item(_id="old", title="Gửi từ hôm qua", updated_at="2026-04-09T05:00:00.000Z")])
    page = html(web_session.get("/content/review"))
    assert sent(content.list_items) == {"status": "submitted", "limit": 200, "commune_id": "xuan-hung"}
    assert page.index("Gửi từ hôm qua") < page.index("Mới gửi")
    assert "2 tin, bài chờ duyệt" in page


def test_sections_are_managed_by_the_commune_administrator(content, web_session, people, sign_in):
    sign_in(people["editor"])
    assert web_session.get("/content/sections").status_code == 403
    csrf = sign_in(people["admin"])
    page = html(web_session.get("/content/sections"))
    assert "Chuyển đổi số" in page and "theo kế hoạch" in page
    assert page.count('/deactivate"') == 2  # the inactive one has no button
    content.create_section.return_value = samples.section("s9", "Nông thôn mới")
    web_session.post("/content/sections", data={"csrf_token": csrf, "name": "Nông thôn mới"}, allow_redirects=False)
    assert sent(content.create_section) == {"name": "Nông thôn mới", "commune_id": "xuan-hung"}
    assert flash(web_session, "/content/sections") == ("ok", "Đã thêm chuyên mục «Nông thôn mới».")
    content.rename_section.return_value = samples.section("s9", "Nông thôn mới nâng cao")
    web_session.post("/content/sections/s9/rename", data={"csrf_token": csrf, "name": "Nông thôn mới nâng cao"},
                     allow_redirects=False)
    assert sent(content.rename_section) == {"name": "Nông thôn mới nâng cao", "section_id": "s9",
                                            "commune_id": "xuan-hung"}
    content.deactivate_section.return_value = samples.section("s9", "Nông thôn mới nâng cao", active=False)
    web_session.post("/content/sections/s9/deactivate", data={"csrf_token": csrf}, allow_redirects=False)
    assert flash(web_session, "/content/sections") == ("ok", "Đã ngừng sử dụng chuyên mục «Nông thôn mới nâng cao».")
    content.create_section.side_effect = RemoteError("Conflict", "Chuyên mục «Chuyển đổi số» đã có.")
    web_session.post("/content/sections", data={"csrf_token": csrf, "name": "chuyen doi so"}, allow_redirects=False)
    assert flash(web_session, "/content/sections") == ("error", "Chuyên mục «Chuyển đổi số» đã có.")


def test_content_pages_in_english(content, web_session, people, sign_in):
    sign_in(people["editor"])
    web_session.get("/lang/en")
    text = text_of(html(web_session.get("/content")))
    assert "Awaiting approval" in text and "Feeds for the website and social pages" in text
    text = text_of(html(web_session.get("/content/i1")))
    assert "Approval and publication" in text and "Make audio" in text


def test_a_district_administrator_works_on_the_commune_chosen(content, web_session, people, sign_in):
    sign_in(people["district"])
    assert web_session.get("/content", allow_redirects=False).headers["Location"] == "/"
    page = html(web_session.get("/content/i1", params={"commune_id": "yen-thang"}))
    content.get_item.assert_called_once_with("i1", "yen-thang")
    assert 'action="/content/i1/approve?commune_id=yen-thang"' in page
    assert 'src="/api/content/media/m-img?commune_id=yen-thang"' in page


def test_overview_activity_links_to_the_content_item(content, web_session, people, sign_in, mongo_database):
    content.get_item.return_value = samples.detail()
    mongo_database.activity.insert_one(domain.activity_entry("item_approved", {
        "event_id": "e" * 32, "commune_id": "xuan-hung", "occurred_at": "2026-04-10T03:00:00.000Z",
        "actor": "u", "item_id": "i1", "revision": 2, "kind": "news", "title": "Lịch tiêm chủng"}, "Chị Lan"))
    sign_in(people["viewer"])
    page = html(web_session.get("/"))
    assert '<a href="/content/i1">Chị Lan duyệt «Lịch tiêm chủng» (bản sửa 2)</a>' in page
