"""Service tests of the content API: each route reaches its RPC of the
content service (services/content/API.md) with the right arguments, uploads
go on as base64, and the content service's refusals come back through the
one error table. The content service is replaced by a stand-in."""
import base64

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway import auth, domain
from services.gateway.files import MAX_AUDIO_BYTES, MAX_IMAGE_BYTES
from services.gateway.repository import UserRepository
from services.gateway.service import GatewayService
from services.gateway.tests import content_samples as samples
from services.gateway.tests.test_api import assert_error

FORBIDDEN = RemoteError("Forbidden", "Bạn không có quyền thực hiện thao tác này.")


@pytest.fixture
def content(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    tasks, content = replace_dependencies(container, "tasks", "content")
    container.start()
    return content


@pytest.fixture
def editor(content, people, sign_in):
    """Signed in as the editor; the session's CSRF header."""
    return {auth.CSRF_HEADER: sign_in(people["editor"])}


@pytest.fixture
def approver(content, people, sign_in, mongo_database, password_hash):
    user = UserRepository(mongo_database).add(domain.new_user(
        {"username": "approver.xuanhung", "display_name": "Chị Lan", "commune_id": "xuan-hung",
         "roles": ["approver"]}, password_hash))
    return {auth.CSRF_HEADER: sign_in(user)}


def sent(mock_method):
    """The one request dict the RPC got."""
    mock_method.assert_called_once()
    return mock_method.call_args.args[0]


# --- sections --------------------------------------------------------------------------------

def test_sections_are_listed_created_renamed_and_deactivated(content, web_session, editor):
    content.list_sections.return_value = samples.sections()
    listed = web_session.get("/api/content/sections", params={"include_inactive": "true"})
    assert listed.status_code == 200 and [s["name"] for s in listed.json()["items"]][:2] == [
        "Chuyển đổi số", "Quyền con người"]
    content.list_sections.assert_called_once_with("xuan-hung", include_inactive=True)

    content.create_section.return_value = samples.section("s9", "Nông thôn mới", seeded=False)
    created = web_session.post("/api/content/sections", json={"name": "Nông thôn mới"}, headers=editor)
    assert created.status_code == 201 and created.json()["_id"] == "s9"
    assert sent(content.create_section) == {"name": "Nông thôn mới", "commune_id": "xuan-hung"}

    content.rename_section.return_value = samples.section("s9", "Xây dựng nông thôn mới")
    web_session.post("/api/content/sections/s9/rename", json={"name": "Xây dựng nông thôn mới"}, headers=editor)
    assert sent(content.rename_section) == {"name": "Xây dựng nông thôn mới", "section_id": "s9",
                                            "commune_id": "xuan-hung"}

    content.deactivate_section.return_value = samples.section("s9", "Xây dựng nông thôn mới", active=False)
    deactivated = web_session.post("/api/content/sections/s9/deactivate", json={}, headers=editor)
    assert deactivated.json()["active"] is False
    assert sent(content.deactivate_section) == {"section_id": "s9", "commune_id": "xuan-hung"}


def test_a_section_refused_by_the_content_service_keeps_its_status(content, web_session, editor):
    """An editor may not manage sections: the content service says so, the gateway maps it."""
    content.create_section.side_effect = FORBIDDEN
    assert_error(web_session.post("/api/content/sections", json={"name": "Mới"}, headers=editor), 403, "FORBIDDEN")
    content.create_section.side_effect = RemoteError("Conflict", "Chuyên mục «Chuyển đổi số» đã có.")
    body = assert_error(web_session.post("/api/content/sections", json={"name": "chuyen doi so"}, headers=editor),
                        409, "CONFLICT")
    assert "Chuyển đổi số" in body["message"]


# --- items: list, create, update ---------------------------------------------------------------

def test_the_list_passes_filters_and_search_as_given(content, web_session, editor):
    content.list_items.return_value = samples.item_page()
    response = web_session.get("/api/content/items", params={
        "q": "quyen con nguoi", "status": "submitted", "channel": "radio", "kind": "", "limit": "20"})
    assert response.status_code == 200 and response.json()["total"] == 1
    assert sent(content.list_items) == {"q": "quyen con nguoi", "status": "submitted", "channel": "radio",
                                        "limit": "20", "commune_id": "xuan-hung"}


def test_a_json_item_is_created_in_the_callers_commune(content, web_session, editor):
    content.create_item.return_value = samples.item(status="draft", revision=1)
    body = {"kind": "news", "section_id": "xuan-hung:chuyen-doi-so", "title": "Lịch tiêm chủng",
            "body": samples.BODY, "channels": ["website"]}
    response = web_session.post("/api/content/items", json=body, headers=editor)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "draft"
    assert sent(content.create_item) == dict(body, commune_id="xuan-hung")


def test_a_multipart_item_sends_its_images_as_base64(content, web_session, editor):
    content.create_item.return_value = samples.item(status="draft", revision=1)
    response = web_session.post("/api/content/items", headers=editor, data={
        "kind": "rebuttal", "section_id": "xuan-hung:quyen-con-nguoi", "title": "Đính chính", "summary": "",
        "body": "Thông tin trên mạng là sai.\r\n\r\nUBND xã khẳng định…", "channels": ["website", "social"],
        "rebuttal_url": "https://mang-xa-hoi.example/bai-sai", "rebuttal_claim": "Xã thu hồi đất trái phép",
    }, files=[("images", ("ảnh 1.png", samples.PNG, "image/png")),
              ("images", ("C:\\Ảnh\\anh-2.jpg", samples.JPEG, "application/octet-stream"))])
    assert response.status_code == 201, response.text
    request = sent(content.create_item)
    assert request["new_images"] == [
        {"name": "ảnh 1.png", "content_type": "image/png", "content_b64": base64.b64encode(samples.PNG).decode()},
        {"name": "anh-2.jpg", "content_type": None, "content_b64": base64.b64encode(samples.JPEG).decode()},
    ]
    assert {k: v for k, v in request.items() if k != "new_images"} == {
        "kind": "rebuttal", "section_id": "xuan-hung:quyen-con-nguoi", "title": "Đính chính", "summary": "",
        "body": "Thông tin trên mạng là sai.\n\nUBND xã khẳng định…", "channels": ["website", "social"],
        "rebuttal": {"url": "https://mang-xa-hoi.example/bai-sai", "claim": "Xã thu hồi đất trái phép"},
        "commune_id": "xuan-hung"}


@pytest.mark.parametrize("body, message", [
    ({"section_id": "s1", "title": "Tin"}, "Hãy chọn loại tin (kind)."),
    ({"kind": "news", "title": "Tin"}, "Hãy chọn chuyên mục (section_id)."),
    ({"kind": "news", "section_id": "s1"}, "Hãy nhập tiêu đề (title)."),
    ({"kind": "news", "section_id": "s1", "title": "Tin", "author": "An"}, "author"),
    ({"kind": "news", "section_id": "s1", "title": "Tin", "channels": "website"}, "channels"),
])
def test_an_item_the_gateway_can_tell_is_incomplete_is_refused_before_any_call(content, web_session, editor, body,
                                                                               message):
    response = web_session.post("/api/content/items", json=body, headers=editor)
    assert message in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not content.create_item.called


@pytest.mark.parametrize("refusal", [
    "Dữ liệu không hợp lệ — title: Tiêu đề không được để trống.",
    "Dữ liệu không hợp lệ — new_images.0.content_type: Tệp «a.jpg» khai báo là image/jpeg nhưng nội dung là "
    "image/png.",
    "Dữ liệu không hợp lệ — new_images.0.content_b64: Tệp «ghi-chu.png» không phải ảnh PNG, JPEG hoặc WebP.",
])
def test_the_content_services_refusals_are_readable_400s(content, web_session, editor, refusal):
    content.create_item.side_effect = RemoteError("InvalidInput", refusal)
    response = web_session.post("/api/content/items", headers=editor, data={
        "kind": "news", "section_id": "s1", "title": ""}, files={"images": ("a.jpg", samples.PNG, "image/jpeg")})
    assert assert_error(response, 400, "INVALID_INPUT")["message"] == refusal
    assert sent(content.create_item)["new_images"][0]["content_type"] == "image/jpeg"


def test_an_image_over_5_mb_is_refused_with_413_and_never_sent(content, web_session, editor):
    big = samples.PNG + b"\0" * MAX_IMAGE_BYTES
    response = web_session.post("/api/content/items", headers=editor, data={
        "kind": "news", "section_id": "s1", "title": "Ảnh lớn"}, files={"images": ("lon.png", big, "image/png")})
    body = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert "lon.png" in body["message"] and "5 MB" in body["message"]
    assert not content.create_item.called


def test_more_than_ten_images_at_once_are_refused(content, web_session, editor):
    images = [("images", (f"anh-{n}.png", samples.PNG, "image/png")) for n in range(11)]
    response = web_session.post("/api/content/items", headers=editor, data={
        "kind": "news", "section_id": "s1", "title": "Nhiều ảnh"}, files=images)
    assert "10 ảnh" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not content.create_item.called


def test_an_edit_names_the_revision_it_was_made_on(content, web_session, editor):
    content.update_item.return_value = samples.item(revision=3)
    response = web_session.patch("/api/content/items/i1", json={
        "revision": 2, "title": "Lịch tiêm chủng (cập nhật)", "image_media_ids": []}, headers=editor)
    assert response.status_code == 200 and response.json()["revision"] == 3
    assert sent(content.update_item) == {"revision": 2, "title": "Lịch tiêm chủng (cập nhật)", "image_media_ids": [],
                                         "item_id": "i1", "commune_id": "xuan-hung"}


def test_a_multipart_edit_keeps_images_and_appends_new_ones(content, web_session, editor):
    content.update_item.return_value = samples.item(revision=3)
    web_session.patch("/api/content/items/i1", headers=editor, data={
        "revision": "2", "image_media_ids": ["m2", "m1"], "summary": ""},
        files={"images": ("moi.webp", b"RIFF\0\0\0\0WEBPVP8 ", "image/webp")})
    request = sent(content.update_item)
    assert (request["revision"], request["image_media_ids"], request["summary"]) == (2, ["m2", "m1"], "")
    assert [image["name"] for image in request["new_images"]] == ["moi.webp"]
    assert "title" not in request and "channels" not in request  # what is not sent does not change


def test_an_edit_without_its_revision_is_refused(content, web_session, editor):
    body = assert_error(web_session.patch("/api/content/items/i1", json={"title": "Mới"}, headers=editor), 400,
                        "INVALID_INPUT")
    assert "revision" in body["message"] and "ghi đè" in body["message"]
    assert not content.update_item.called


def test_a_stale_edit_is_a_409(content, web_session, editor):
    content.update_item.side_effect = RemoteError(
        "Conflict", "Bản tin đã được sửa (bản sửa 3) sau bản bạn sửa (2); vui lòng tải lại.")
    response = web_session.patch("/api/content/items/i1", json={"revision": 2, "title": "Mới"}, headers=editor)
    assert "bản sửa 3" in assert_error(response, 409, "CONFLICT")["message"]


# --- reading: one item, a revision, a diff ----------------------------------------------------------

def test_an_item_a_revision_and_a_diff_are_read_in_the_callers_commune(content, web_session, editor):
    content.get_item.return_value = samples.detail()
    assert web_session.get("/api/content/items/i1").json()["revisions"][0]["number"] == 2
    content.get_item.assert_called_once_with("i1", "xuan-hung")

    content.get_revision.return_value = {"number": 1, "fields": {"title": "Cũ"}}
    assert web_session.get("/api/content/items/i1/revisions/1").json()["fields"]["title"] == "Cũ"
    content.get_revision.assert_called_once_with("i1", 1, "xuan-hung")
    assert web_session.get("/api/content/items/i1/revisions/one").status_code == 404

    content.diff_revisions.return_value = samples.diff()
    assert web_session.get("/api/content/items/i1/diff", params={"from": "1", "to": "2"}).json()["changed"] == [
        "body", "channels"]
    content.diff_revisions.assert_called_once_with("i1", 1, 2, "xuan-hung")


def test_a_diff_needs_both_revisions(content, web_session, editor):
    response = web_session.get("/api/content/items/i1/diff", params={"from": "1"})
    assert "(to)" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not content.diff_revisions.called


# --- the workflow ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, method, body, expected, status", [
    ("submit", "submit_item", {}, {"comment": ""}, 200),
    ("submit", "submit_item", {"comment": "Nhờ chị Lan xem"}, {"comment": "Nhờ chị Lan xem"}, 200),
    ("approve", "approve_item", {"comment": "Được", "revision": 2}, {"comment": "Được", "revision": 2}, 200),
    ("approve", "approve_item", {}, {"comment": "", "revision": None}, 200),
    ("return", "return_item", {"comment": "Thiếu giờ tiêm"}, {"comment": "Thiếu giờ tiêm"}, 200),
    ("publish", "publish_item", {}, {"at": None}, 200),
    ("publish", "publish_item", {"at": "2026-04-15T07:00:00+07:00"}, {"at": "2026-04-15T07:00:00+07:00"}, 200),
    ("unschedule", "unschedule_item", {}, {}, 200),
    ("archive", "archive_item", {"comment": "Hết thời hạn"}, {"comment": "Hết thời hạn"}, 200),
    ("audio", "request_audio", {}, {}, 202),
])
def test_each_workflow_route_reaches_its_rpc(content, web_session, approver, path, method, body, expected, status):
    getattr(content, method).return_value = samples.item()
    response = web_session.post(f"/api/content/items/i1/{path}", json=body, headers=approver)
    assert response.status_code == status, response.text
    assert sent(getattr(content, method)) == dict(expected, item_id="i1", commune_id="xuan-hung")


def test_an_editor_who_approves_gets_the_content_services_403(content, web_session, editor):
    content.approve_item.side_effect = FORBIDDEN
    response = web_session.post("/api/content/items/i1/approve", json={"revision": 2}, headers=editor)
    body = assert_error(response, 403, "FORBIDDEN")
    assert body["message"] == "Bạn không có quyền thực hiện thao tác này."
    assert sent(content.approve_item)["item_id"] == "i1"  # the content service decided, not the gateway


def test_a_return_needs_its_reason(content, web_session, approver):
    response = web_session.post("/api/content/items/i1/return", json={"comment": ""}, headers=approver)
    assert "lý do" in assert_error(response, 400, "INVALID_INPUT")["message"]
    assert not content.return_item.called


@pytest.mark.parametrize("error, status, code", [
    ("Conflict", 409, "CONFLICT"), ("NotFound", 404, "NOT_FOUND"), ("InvalidInput", 400, "INVALID_INPUT"),
])
def test_the_content_services_errors_map_through_the_table(content, web_session, approver, error, status, code):
    content.publish_item.side_effect = RemoteError(error, "Thông điệp của dịch vụ nội dung.")
    response = web_session.post("/api/content/items/i1/publish", json={}, headers=approver)
    assert assert_error(response, status, code)["message"] == "Thông điệp của dịch vụ nội dung."


def test_text_the_speech_engine_cannot_read_is_a_readable_400(content, web_session, editor):
    content.request_audio.side_effect = RemoteError(
        "InvalidInput", "Không có gì để đọc: tiêu đề và nội dung chỉ gồm ký hiệu.")
    response = web_session.post("/api/content/items/i1/audio", json={}, headers=editor)
    assert "Không có gì để đọc" in assert_error(response, 400, "INVALID_INPUT")["message"]


# --- audio upload and media ---------------------------------------------------------------------------

def test_a_recording_is_uploaded_as_base64(content, web_session, editor):
    content.upload_audio.return_value = samples.item(audio=samples.audio(source="upload"))
    response = web_session.post("/api/content/items/i1/audio/upload", headers=editor,
                                files={"file": ("bản tin sáng.mp3", samples.MP3, "audio/mpeg")})
    assert response.status_code == 200, response.text
    assert sent(content.upload_audio) == {"item_id": "i1", "name": "bản tin sáng.mp3", "content_type": "audio/mpeg",
                                          "content_b64": base64.b64encode(samples.MP3).decode(),
                                          "commune_id": "xuan-hung"}


def test_a_recording_must_be_one_file_under_20_mb_sent_as_a_form(content, web_session, editor):
    assert_error(web_session.post("/api/content/items/i1/audio/upload", json={}, headers=editor), 415,
                 "UNSUPPORTED_MEDIA_TYPE")
    assert_error(web_session.post("/api/content/items/i1/audio/upload", headers=editor, data={"x": "1"},
                                  files={"other": ("a.mp3", samples.MP3, "audio/mpeg")}), 400, "INVALID_INPUT")
    big = samples.MP3 + b"\0" * MAX_AUDIO_BYTES
    body = assert_error(web_session.post("/api/content/items/i1/audio/upload", headers=editor,
                                         files={"file": ("dai.mp3", big, "audio/mpeg")}), 413, "PAYLOAD_TOO_LARGE")
    assert "20 MB" in body["message"]
    assert not content.upload_audio.called


@pytest.mark.parametrize("kind, content_type, body", [
    ("image", "image/png", samples.PNG), ("audio", "audio/mpeg", samples.MP3)])
def test_media_are_served_inline_with_their_type_and_not_sniffed(content, web_session, editor, kind, content_type,
                                                                 body):
    content.get_media.return_value = samples.media(body, kind=kind, content_type=content_type, name="Tệp «1».x")
    response = web_session.get("/api/content/media/m1")
    assert response.status_code == 200 and response.content == body
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"].startswith("inline; ")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    content.get_media.assert_called_once_with("m1", "xuan-hung")


def test_a_media_type_a_browser_could_run_is_an_attachment(content, web_session, editor):
    content.get_media.return_value = samples.media(b"<script>alert(1)</script>", content_type="text/html")
    response = web_session.get("/api/content/media/m1")
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment; ")


def test_another_communes_media_are_not_found(content, web_session, editor):
    content.get_media.side_effect = RemoteError("NotFound", "Không tìm thấy tệp.")
    assert_error(web_session.get("/api/content/media/m-other"), 404, "NOT_FOUND")


# --- who may call ---------------------------------------------------------------------------------------

def test_content_routes_need_a_signed_in_caller_of_the_commune(content, web_session, people, sign_in):
    assert_error(web_session.get("/api/content/items"), 401, "UNAUTHENTICATED")
    assert_error(web_session.get("/api/content/media/m1"), 401, "UNAUTHENTICATED")
    csrf = {auth.CSRF_HEADER: sign_in(people["editor"])}
    assert_error(web_session.get("/api/content/items", params={"commune_id": "yen-thang"}), 403, "FORBIDDEN")
    assert_error(web_session.post("/api/content/items/i1/submit", json={"commune_id": "yen-thang"}, headers=csrf),
                 403, "FORBIDDEN")
    assert_error(web_session.post("/api/content/items/i1/submit", json={}), 403, "CSRF")
    assert_error(web_session.post("/api/content/items/i1/submit", data="comment=x", headers=csrf), 415,
                 "UNSUPPORTED_MEDIA_TYPE")
    assert not content.list_items.called and not content.submit_item.called


def test_a_district_administrator_names_the_commune(content, web_session, people, sign_in):
    content.list_items.return_value = samples.item_page([])
    sign_in(people["district"])
    assert_error(web_session.get("/api/content/items"), 403, "FORBIDDEN")
    assert web_session.get("/api/content/items", params={"commune_id": "yen-thang"}).status_code == 200
    assert sent(content.list_items) == {"commune_id": "yen-thang"}


def test_a_content_service_that_does_not_answer_is_a_503(container_factory, gateway_config, web_session, people,
                                                         sign_in):
    """No content service on the broker: the timed proxy gives up."""
    container = container_factory(GatewayService, dict(gateway_config, RPC_TIMEOUT_SECONDS=0.5))
    replace_dependencies(container, "tasks")
    container.start()
    sign_in(people["viewer"])
    body = assert_error(web_session.get("/api/content/items"), 503, "SERVICE_UNAVAILABLE")
    assert "content" in body["message"]
