"""The content service on the real broker and store, with the real espeak-ng
and ffmpeg: the workflow and its events, roles, revisions, audio, media
access, the feed, and bad input leaving nothing behind."""
import base64
import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from unittest import mock

import eventlet
import pytest
from nameko.testing.services import entrypoint_hook

from services.content.repository import ItemRepository
from services.content.service import ContentService
from services.content.speech import normalize
from services.content.tests.conftest import (APPROVER, COMMUNE, EDITOR, JPEG, OTHER, PDF, PNG, VIEWER, WEBP, as_caller,
                                             b64, call, recording, stored_files, tone_wav)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.testing import wait_until
from shared.timeutil import parse_iso

BULLETIN = (
    "Sáng ngày 15/4/2026, UBND xã Xuân Hưng tổ chức hội nghị triển khai Đề án 06 về chuyển đổi số. "
    "Hội nghị có 105 đại biểu của 21 thôn tham dự; tỷ lệ hộ dân có tài khoản định danh điện tử đạt 85,5%. "
    "Từ tháng 5, bộ phận một cửa làm việc từ 7h30 đến 17h00 các ngày thứ 2 đến thứ 6. "
    "Đề nghị bà con mang theo CCCD và thẻ BHYT khi đến làm thủ tục."
)


def new_item(container, section, context=EDITOR, **overrides):
    request = {"kind": "news", "section_id": section["_id"], "title": "Xã Xuân Hưng triển khai Đề án 06",
               "summary": "Hội nghị triển khai Đề án 06 năm 2026.", "body": BULLETIN, **overrides}
    return call(container, "create_item", request, context=context)


def approve(container, item, comment="Đồng ý phát hành."):
    call(container, "submit_item", {"item_id": item["_id"]}, context=EDITOR)
    return call(container, "approve_item", {"item_id": item["_id"], "comment": comment}, context=APPROVER)


def ffprobe(data, tmp_path):
    path = tmp_path / "audio.bin"
    path.write_bytes(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,channels,sample_rate:"
                          "format=duration", "-of", "json", str(path)], capture_output=True, check=True, timeout=30)
    info = json.loads(out.stdout)
    return info["streams"][0], float(info["format"]["duration"])


def published_events(events, item_id):
    return [e for e in events() if e.name == "item_published" and e.body["item_id"] == item_id]


# ------------------------------------------------------------------ sections


def test_sections_are_seeded_per_commune_and_managed_by_the_commune_admin(container):
    names = [s["name"] for s in call(container, "list_sections", context=VIEWER)]
    assert names == ["Chuyển đổi số", "Đề án 06", "Biển, đảo", "Quyền con người", "Quảng bá hình ảnh xã",
                     "Thông tin đối ngoại", "An ninh trật tự", "Phòng chống thiên tai"]
    created = call(container, "create_section", {"name": "Nông thôn mới"})
    renamed = call(container, "rename_section", {"section_id": created["_id"], "name": "Xây dựng nông thôn mới"})
    assert renamed["name"] == "Xây dựng nông thôn mới" and renamed["active"] is True
    with pytest.raises(Conflict):
        call(container, "create_section", {"name": "xay dung NONG THON moi"})
    with pytest.raises(Forbidden):
        call(container, "create_section", {"name": "Khác"}, context=EDITOR)
    call(container, "deactivate_section", {"section_id": created["_id"]})
    assert "Xây dựng nông thôn mới" not in [s["name"] for s in call(container, "list_sections")]
    assert [s["name"] for s in call(container, "list_sections", include_inactive=True)][-1] == "Xây dựng nông thôn mới"
    with pytest.raises(InvalidInput, match="ngừng sử dụng"):
        new_item(container, created)
    # another commune gets its own seeded sections, and never sees these
    other = call(container, "list_sections", context=as_caller(OTHER))
    assert len(other) == 8 and all(s["commune_id"] == OTHER for s in other)
    with pytest.raises(NotFound):
        call(container, "rename_section", {"section_id": created["_id"], "name": "X"}, context=as_caller(OTHER))


# ------------------------------------------------------------------ workflow


def test_an_item_goes_from_draft_to_published_with_its_events(container, section, events):
    item = new_item(container, section)
    assert item["status"] == "draft" and item["section_name"] == "Chuyển đổi số" and item["created_by"] == "Trần Văn Biên"
    assert call(container, "submit_item", {"item_id": item["_id"]}, context=EDITOR)["status"] == "submitted"
    approved = call(container, "approve_item", {"item_id": item["_id"], "comment": "Đồng ý.", "revision": 1},
                    context=APPROVER)
    assert approved["status"] == "approved" and approved["approval"]["by"] == "Đỗ Văn Duyệt"
    published = call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    assert published["status"] == "published" and published["live"] is True
    wait_until(lambda: published_events(events, item["_id"]), message="item_published")
    approved_event = next(e for e in events() if e.name == "item_approved")
    assert approved_event.body["comment"] == "Đồng ý." and approved_event.body["actor"] == "approver-1"
    body = published_events(events, item["_id"])[0].body
    assert body["channels"] == ["website", "social"] and body["kind"] == "news"
    assert body["section_name"] == "Chuyển đổi số" and body["title"] == "Xã Xuân Hưng triển khai Đề án 06"
    assert body["slug"] == published["slug"] and body["slug"].startswith("xa-xuan-hung-trien-khai-de-an-06-")
    assert body["has_audio"] is False and body["published_at"] == published["published"]["published_at"]
    assert body["commune_id"] == COMMUNE and body["first_publication"] is True
    detail = call(container, "get_item", item["_id"], context=VIEWER)
    assert [h["action"] for h in detail["history"]] == ["publish", "approve", "submit"]
    assert detail["history"][1]["comment"] == "Đồng ý."
    archived = call(container, "archive_item", {"item_id": item["_id"]}, context=APPROVER)
    assert archived["status"] == "archived" and archived["live"] is False
    wait_until(lambda: [e for e in events() if e.name == "item_archived" and e.body["was_live"]], message="archived")
    assert call(container, "feed_items", COMMUNE, context={}) == []


@pytest.mark.parametrize("context", [EDITOR, VIEWER, as_caller(COMMUNE, "operator")])
def test_only_approvers_approve_and_publish(container, section, context):
    item = new_item(container, section)
    call(container, "submit_item", {"item_id": item["_id"]}, context=EDITOR)
    with pytest.raises(Forbidden):
        call(container, "approve_item", {"item_id": item["_id"]}, context=context)
    with pytest.raises(Forbidden):
        call(container, "return_item", {"item_id": item["_id"], "comment": "Sửa lại"}, context=context)
    call(container, "approve_item", {"item_id": item["_id"]}, context=APPROVER)
    with pytest.raises(Forbidden):
        call(container, "publish_item", {"item_id": item["_id"]}, context=context)
    assert call(container, "get_item", item["_id"])["status"] == "approved"


def test_an_approver_cannot_write_and_another_commune_cannot_reach_an_item(container, section):
    with pytest.raises(Forbidden):
        new_item(container, section, context=APPROVER)
    item = new_item(container, section)
    with pytest.raises(NotFound):
        call(container, "get_item", item["_id"], context=as_caller(OTHER))
    with pytest.raises(Forbidden):
        call(container, "get_item", item["_id"], COMMUNE, context=as_caller(OTHER))
    with pytest.raises(NotFound):
        call(container, "submit_item", {"item_id": item["_id"]}, context=as_caller(OTHER, "editor"))


def test_a_returned_item_is_edited_and_resubmitted(container, section, events):
    item = new_item(container, section)
    call(container, "submit_item", {"item_id": item["_id"]}, context=EDITOR)
    with pytest.raises(InvalidInput):
        call(container, "return_item", {"item_id": item["_id"], "comment": " "}, context=APPROVER)
    returned = call(container, "return_item", {"item_id": item["_id"], "comment": "Bổ sung số liệu thôn."},
                    context=APPROVER)
    assert returned["status"] == "returned" and returned["returned"]["comment"] == "Bổ sung số liệu thôn."
    edited = call(container, "update_item", {"item_id": item["_id"], "revision": 1, "body": BULLETIN + " Thêm."},
                  context=EDITOR)
    assert edited["status"] == "draft" and edited["revision"] == 2
    wait_until(lambda: [e for e in events() if e.name == "item_returned"], message="item_returned")


def test_editing_an_approved_item_sends_it_back_to_submitted(container, section):
    item = approve(container, new_item(container, section))
    edited = call(container, "update_item", {"item_id": item["_id"], "revision": 1, "title": "Tiêu đề sửa sau duyệt"},
                  context=EDITOR)
    assert edited["status"] == "submitted" and edited["revision"] == 2
    with pytest.raises(Conflict):
        call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    with pytest.raises(Conflict):  # an edit based on revision 1 would overwrite revision 2
        call(container, "update_item", {"item_id": item["_id"], "revision": 1, "title": "Khác"}, context=EDITOR)


def test_an_edited_published_item_stays_published_in_its_approved_version(container, section, events):
    item = approve(container, new_item(container, section))
    call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    edited = call(container, "update_item", {"item_id": item["_id"], "revision": 1, "title": "Tiêu đề mới"},
                  context=EDITOR)
    assert edited["status"] == "draft" and edited["live"] is True
    assert edited["published"]["title"] == "Xã Xuân Hưng triển khai Đề án 06"
    assert [f["title"] for f in call(container, "feed_items", COMMUNE, context={})] == [
        "Xã Xuân Hưng triển khai Đề án 06"]
    call(container, "submit_item", {"item_id": item["_id"]}, context=EDITOR)
    call(container, "approve_item", {"item_id": item["_id"]}, context=APPROVER)
    call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    feed = call(container, "feed_items", COMMUNE, context={})
    assert [f["title"] for f in feed] == ["Tiêu đề mới"] and feed[0]["updated_at"] > feed[0]["published_at"]
    wait_until(lambda: len(published_events(events, item["_id"])) == 2, message="two publications")
    assert [e.body["first_publication"] for e in published_events(events, item["_id"])] == [True, False]


def test_revisions_and_their_diff(container, section):
    item = new_item(container, section)
    call(container, "update_item", {"item_id": item["_id"], "revision": 1,
                                    "body": BULLETIN.replace("105 đại biểu", "120 đại biểu")}, context=EDITOR)
    call(container, "update_item", {"item_id": item["_id"], "revision": 2, "channels": ["website"]}, context=EDITOR)
    detail = call(container, "get_item", item["_id"])
    assert [(r["number"], r["changed"]) for r in detail["revisions"]] == [
        (3, ["channels"]), (2, ["body"]), (1, ["kind", "section_id", "title", "summary", "body", "channels",
                                              "image_media_ids", "rebuttal"])]
    assert call(container, "get_revision", item["_id"], 1)["fields"]["body"] == BULLETIN
    diff = call(container, "diff_revisions", item["_id"], 1, 3)
    assert diff["changed"] == ["body", "channels"]
    assert [op for op in diff["text"]["body"] if op["op"] != "equal"] == [{"op": "replace", "old": "105", "new": "120"}]
    assert "-  " + BULLETIN in diff["unified"] and "+Kênh: website" in diff["unified"]
    with pytest.raises(InvalidInput):
        call(container, "diff_revisions", item["_id"], 1, 7)


def test_scheduled_items_are_published_once_by_concurrent_timers(container, section, events):
    item = approve(container, new_item(container, section))
    at = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    scheduled = call(container, "publish_item", {"item_id": item["_id"], "at": at}, context=APPROVER)
    assert scheduled["status"] == "scheduled" and scheduled["live"] is False
    time.sleep(1.1)

    def timer_pass():
        with entrypoint_hook(container, "publish_due") as hook:
            hook()

    # two replicas' timers at the same moment
    passes = [eventlet.spawn(timer_pass) for _ in range(3)]
    for run in passes:
        run.wait()
    assert call(container, "get_item", item["_id"])["status"] == "published"
    wait_until(lambda: published_events(events, item["_id"]), message="item_published")
    time.sleep(0.5)
    assert len(published_events(events, item["_id"])) == 1


def test_search_ignores_case_and_diacritics_and_filters(container, section):
    rights = next(s for s in call(container, "list_sections") if s["name"] == "Quyền con người")
    new_item(container, rights, kind="human_rights", title="Truyền thông về quyền con người năm 2026")
    new_item(container, section, kind="radio_bulletin", title="Bản tin chuyển đổi số")
    new_item(container, section, context=as_caller(OTHER, "editor"),
             section_id=next(s for s in call(container, "list_sections", context=as_caller(OTHER))
                             if s["name"] == "Quyền con người")["_id"], title="Quyền con người ở Yên Thắng")
    found = call(container, "list_items", {"q": "quyen con NGUOI"})
    assert [i["title"] for i in found["items"]] == ["Truyền thông về quyền con người năm 2026"]
    assert found["items"][0]["section_name"] == "Quyền con người" and "body" not in found["items"][0]
    assert call(container, "list_items", {"channel": "radio"})["total"] == 1
    assert call(container, "list_items", {"section_id": rights["_id"], "kind": "human_rights"})["total"] == 1
    assert call(container, "list_items", {"status": "draft", "limit": 1})["total"] == 2
    with pytest.raises(InvalidInput):
        call(container, "list_items", {"status": "lost"})


# ------------------------------------------------------------------ feed and media


def test_feed_items_holds_only_that_communes_published_website_and_social_items(container, section):
    web = approve(container, new_item(container, section, title="Tin đã đăng", new_images=[
        {"name": "hoi-nghi.png", "content_type": "image/png", "content_b64": b64(PNG)}]))
    call(container, "publish_item", {"item_id": web["_id"]}, context=APPROVER)
    new_item(container, section, title="Bản nháp chưa đăng")
    approve(container, new_item(container, section, title="Đã duyệt, chưa đăng"))
    board = approve(container, new_item(container, section, title="Thông báo bảng tin", kind="eboard_notice"))
    call(container, "publish_item", {"item_id": board["_id"]}, context=APPROVER)
    other_section = call(container, "list_sections", context=as_caller(OTHER))[0]
    other = new_item(container, other_section, context=as_caller(OTHER), title="Tin của xã khác")
    call(container, "submit_item", {"item_id": other["_id"]}, context=as_caller(OTHER))
    call(container, "approve_item", {"item_id": other["_id"]}, context=as_caller(OTHER))
    call(container, "publish_item", {"item_id": other["_id"]}, context=as_caller(OTHER))

    feed = call(container, "feed_items", COMMUNE, 10, context={})  # public: no caller
    assert [f["title"] for f in feed] == ["Tin đã đăng"]
    entry = feed[0]
    assert entry["section"] == "Chuyển đổi số" and entry["kind"] == "news" and entry["body"] == BULLETIN
    assert entry["slug"] and entry["published_at"] == entry["updated_at"] and len(entry["image_media_ids"]) == 1
    assert [f["title"] for f in call(container, "feed_items", OTHER, context={})] == ["Tin của xã khác"]
    with pytest.raises(InvalidInput):
        call(container, "feed_items", COMMUNE, 500, context={})


def test_media_are_readable_only_as_the_rules_say(container, section):
    item = new_item(container, section, new_images=[{"name": "a.png", "content_type": "image/png",
                                                     "content_b64": b64(PNG)}])
    image = item["image_media_ids"][0]
    got = call(container, "get_media", image, context=VIEWER)
    assert base64.b64decode(got["content_b64"]) == PNG and got["content_type"] == "image/png"
    assert got["kind"] == "image" and got["item_id"] == item["_id"]
    with pytest.raises(NotFound):  # another commune's officer
        call(container, "get_media", image, context=as_caller(OTHER))
    with pytest.raises(NotFound):  # the public, before publication
        call(container, "get_media", image, COMMUNE, True, context={})
    with pytest.raises(NotFound):  # the public, naming another commune
        call(container, "get_media", image, OTHER, True, context={})
    approve(container, item)
    call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    assert base64.b64decode(call(container, "get_media", image, COMMUNE, True, context={})["content_b64"]) == PNG
    # an image added in a newer, unpublished revision stays private
    edited = call(container, "update_item", {"item_id": item["_id"], "revision": 1, "new_images": [
        {"name": "b.jpg", "content_b64": b64(JPEG)}, {"name": "c.webp", "content_b64": b64(WEBP)}]}, context=EDITOR)
    newer = edited["image_media_ids"][1]
    assert call(container, "get_media", newer, context=EDITOR)["content_type"] == "image/jpeg"
    with pytest.raises(NotFound):
        call(container, "get_media", newer, COMMUNE, True, context={})
    call(container, "archive_item", {"item_id": item["_id"]}, context=APPROVER)
    with pytest.raises(NotFound):
        call(container, "get_media", image, COMMUNE, True, context={})


# ------------------------------------------------------------------ bad input leaves nothing


@pytest.mark.parametrize("overrides", [
    {"title": "   "},
    {"title": ""},
    {"section_id": "no-such-section"},
    {"kind": "rebuttal"},  # a rebuttal must say what it answers
    {"kind": "rebuttal", "rebuttal": {"url": "javascript:alert(1)"}},
    {"new_images": [{"name": "a.png", "content_type": "image/png", "content_b64": b64(PDF)}]},  # mislabelled
    {"new_images": [{"name": "a.png", "content_type": "image/jpeg", "content_b64": b64(PNG)}]},  # mislabelled
    {"new_images": [{"name": "a.pdf", "content_b64": b64(PDF)}]},  # not an image
    {"new_images": [{"name": "big.png", "content_b64": b64(PNG + b"\0" * (5 * 1024 * 1024))}]},  # > 5 MB
    {"new_images": [{"name": "x.png", "content_b64": "not base64!"}]},
    {"new_images": [{"name": "ok.png", "content_b64": b64(PNG)}], "section_id": "no-such-section"},
    {"new_images": [{"name": "ok.png", "content_b64": b64(PNG)}], "title": " "},
])
def test_bad_items_are_refused_and_leave_nothing(container, section, mongo_database, overrides):
    with pytest.raises(InvalidInput):
        new_item(container, section, **overrides)
    assert mongo_database.items.count_documents({}) == 0
    assert mongo_database.media.count_documents({}) == 0 and stored_files(mongo_database) == 0


def test_images_stored_for_an_edit_that_cannot_be_saved_are_removed(container, section, mongo_database):
    item = new_item(container, section)
    lost_race = Conflict("Bản tin vừa được người khác thay đổi; vui lòng tải lại và thử lại.")
    with mock.patch.object(ItemRepository, "apply", side_effect=lost_race):
        with pytest.raises(Conflict):
            call(container, "update_item", {"item_id": item["_id"], "revision": 1,
                                            "new_images": [{"name": "a.png", "content_b64": b64(PNG)}]},
                 context=EDITOR)
    assert mongo_database.media.count_documents({}) == 0 and stored_files(mongo_database) == 0
    assert call(container, "get_item", item["_id"])["revision"] == 1


# ------------------------------------------------------------------ audio


def test_a_radio_bulletin_is_spoken_by_espeak_ng_into_a_playable_mp3(container, section, events, tmp_path):
    item = approve(container, new_item(container, section, kind="radio_bulletin",
                                       title="Bản tin phát thanh ngày 15/4/2026"))
    assert item["channels"] == ["radio"]
    with pytest.raises(Conflict, match="âm thanh"):  # the radio needs audio
        call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    requested = call(container, "request_audio", {"item_id": item["_id"]}, context=EDITOR)
    assert requested["audio"]["state"] == "rendering" and requested["status"] == "approved"
    ready = wait_until(lambda: call(container, "get_item", item["_id"])["audio"]["state"] in ("ready", "failed")
                       and call(container, "get_item", item["_id"]), timeout=60, message="audio rendered")
    audio = ready["audio"]
    assert audio["state"] == "ready" and audio["current"] is True and audio["engine"] == "espeak-ng:vi", audio
    media = call(container, "get_media", audio["media_id"], context=VIEWER)
    assert media["content_type"] == "audio/mpeg" and media["revision"] == 1 and media["source"] == "tts"
    stream, duration = ffprobe(base64.b64decode(media["content_b64"]), tmp_path)
    assert stream["codec_name"] == "mp3" and stream["channels"] == 1 and stream["sample_rate"] == "22050"
    # Vietnamese is one syllable per written word; espeak-ng's "vi" voice at rate
    # 175 speaks about 2.5–3 syllables a second, with pauses at punctuation.
    # Any sane speech rate lies within 1.5–5 syllables a second, so the duration
    # must lie between words/5 and words/1.5 seconds (+1 s for leading and
    # trailing silence): far outside either bound means truncated or padded audio.
    words = len(normalize(f"{item['title']}.\n{BULLETIN}").split())
    assert words > 100
    assert words / 5 <= duration <= words / 1.5 + 1, (words, duration)
    assert abs(duration - audio["duration_seconds"]) < 0.2
    wait_until(lambda: [e for e in events() if e.name == "audio_rendered" and e.body["media_id"] == audio["media_id"]],
               message="audio_rendered")
    published = call(container, "publish_item", {"item_id": item["_id"]}, context=APPROVER)
    assert published["published"]["audio_media_id"] == audio["media_id"]
    wait_until(lambda: published_events(events, item["_id"]), message="item_published")
    body = published_events(events, item["_id"])[0].body
    assert body["has_audio"] is True and body["audio_media_id"] == audio["media_id"] and body["channels"] == ["radio"]
    # radio-only: not in the website feed, but its audio is public now
    assert call(container, "feed_items", COMMUNE, context={}) == []
    assert call(container, "get_media", audio["media_id"], COMMUNE, True, context={})["kind"] == "audio"


def test_rendering_a_long_bulletin_does_not_block_other_calls(container, section):
    long_body = " ".join([BULLETIN] * 16)  # about 1,400 words: several seconds of espeak-ng and ffmpeg
    item = new_item(container, section, kind="radio_bulletin", body=long_body)
    call(container, "request_audio", {"item_id": item["_id"]}, context=EDITOR)
    wait_until(lambda: call(container, "get_item", item["_id"])["audio"]["started_at"], timeout=10,
               message="the rendering to start")
    # The test runs in the service's own process: had the rendering blocked it,
    # every greenlet would stall — a call or the sleep between calls — and
    # the time from one answer to the next would jump by the blocking time.
    answers, previous = [], time.monotonic()
    while True:
        detail = call(container, "get_item", item["_id"])
        now = time.monotonic()
        answers.append((now - previous, detail["audio"]["state"]))
        previous = now
        if detail["audio"]["state"] != "rendering":
            break
        time.sleep(0.1)
    audio = detail["audio"]
    rendering_seconds = (parse_iso(audio["finished_at"]) - parse_iso(audio["started_at"])).total_seconds()
    assert rendering_seconds > 1.5, rendering_seconds  # long enough for a blocked service to show
    assert len([a for a in answers if a[1] == "rendering"]) >= 5, answers
    assert max(gap for gap, _ in answers) < 0.6, answers
    assert answers[-1][1] == "ready" and detail["audio"]["duration_seconds"] > 300


@pytest.mark.parametrize("title, body, message", [
    ("???", "", "ký hiệu"),
    ("https://xuanhung.ninhbinh.gov.vn/tin", "", "trống"),
    ("…", "https://xuanhung.ninhbinh.gov.vn/tin", "ký hiệu"),
    ("Bản tin dài", "Thông báo của xã. " * 1500, "quá dài"),
])
def test_text_tts_cannot_handle_is_refused_and_nothing_stored(container, section, mongo_database, title, body,
                                                              message):
    item = new_item(container, section, kind="radio_bulletin", title=title, body=body)
    with pytest.raises(InvalidInput, match=message):
        call(container, "request_audio", {"item_id": item["_id"]}, context=EDITOR)
    assert call(container, "get_item", item["_id"])["audio"] is None
    assert mongo_database.media.count_documents({}) == 0 and stored_files(mongo_database) == 0


def test_a_failing_engine_is_recorded_on_the_item_and_stores_nothing(container_factory, content_config,
                                                                     mongo_database):
    broken = container_factory(ContentService, dict(content_config, ESPEAK_BINARY="/nonexistent/espeak-ng"))
    broken.start()
    section = call(broken, "list_sections")[0]
    item = new_item(broken, section, kind="radio_bulletin")
    call(broken, "request_audio", {"item_id": item["_id"]}, context=EDITOR)
    failed = wait_until(lambda: call(broken, "get_item", item["_id"])["audio"]["state"] == "failed"
                        and call(broken, "get_item", item["_id"])["audio"], timeout=30, message="the failure")
    assert "espeak-ng" in failed["error"] and failed["media_id"] is None
    assert mongo_database.media.count_documents({}) == 0 and stored_files(mongo_database) == 0
    retried = call(broken, "request_audio", {"item_id": item["_id"]}, context=EDITOR)  # a failure may be retried
    assert retried["audio"]["state"] == "rendering"


@pytest.mark.parametrize("fmt, content_type", [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("ogg", None),
                                               ("m4a", "audio/mp4")])
def test_an_uploaded_recording_is_transcoded_for_the_devices(container, section, events, tmp_path, fmt, content_type):
    item = approve(container, new_item(container, section, kind="radio_bulletin"))
    uploaded = call(container, "upload_audio", {"item_id": item["_id"], "name": f"ban-tin-15-4.{fmt}",
                                                "content_type": content_type, "content_b64": b64(recording(fmt))},
                    context=EDITOR)
    assert uploaded["status"] == "submitted"  # the approver has to hear it
    audio = uploaded["audio"]
    assert audio["state"] == "ready" and audio["source"] == "upload" and audio["format"] == "mp3"
    media = call(container, "get_media", audio["media_id"], context=EDITOR)
    assert media["name"] == f"ban-tin-15-4.{fmt}" and media["content_type"] == "audio/mpeg"
    stream, duration = ffprobe(base64.b64decode(media["content_b64"]), tmp_path)
    assert stream["codec_name"] == "mp3" and stream["channels"] == 1 and 1.9 < duration < 2.3
    wait_until(lambda: [e for e in events() if e.name == "audio_rendered" and e.body["origin"] == "upload"],
               message="audio_rendered")


@pytest.mark.parametrize("upload", [
    {"name": "a.mp3", "content_type": "audio/mpeg", "content_b64": b64(tone_wav(0.5))},  # mislabelled WAV
    {"name": "a.mp3", "content_b64": b64(PNG)},  # not audio
    {"name": "a.mp3", "content_b64": b64(b"ID3" + b"\0" * 2000)},  # audio magic, no audio in it
    {"name": "big.wav", "content_b64": b64(b"RIFF\0\0\0\0WAVE" + b"\0" * (20 * 1024 * 1024))},  # > 20 MB
])
def test_bad_recordings_are_refused_and_leave_nothing(container, section, mongo_database, upload):
    item = new_item(container, section, kind="radio_bulletin")
    with pytest.raises(InvalidInput):
        call(container, "upload_audio", dict(upload, item_id=item["_id"]), context=EDITOR)
    assert call(container, "get_item", item["_id"])["audio"] is None
    assert mongo_database.media.count_documents({}) == 0 and stored_files(mongo_database) == 0
