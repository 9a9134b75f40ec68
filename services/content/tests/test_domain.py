"""The workflow, revisions and diffs, with no I/O: a fake store applies each
Change the way the repository does (compare-and-set on ``expect``)."""
import pytest

from services.content import domain
from shared.errors import Conflict, InvalidInput

SECTION = {"_id": "s1", "name": "Chuyển đổi số", "active": True}
INACTIVE = {"_id": "s2", "name": "Cũ", "active": False}


class FakeItems:
    """The repository's compare-and-set, in memory."""

    def __init__(self):
        self.docs = {}
        self.events = []

    def add(self, item):
        self.docs[item["_id"]] = dict(item)
        return dict(item)

    def apply(self, item, change):
        doc = self.docs[item["_id"]]
        if any(doc.get(k) != v for k, v in change.expect.items()):
            raise Conflict("changed meanwhile")
        for key, value in change.set.items():
            if "." in key:
                head, tail = key.split(".", 1)
                doc[head] = dict(doc.get(head) or {}, **{tail: value})
            else:
                doc[key] = value
        if change.history:
            doc["history"] = dict(doc["history"], **{change.history["id"]: change.history})
        self.events += change.events
        return dict(doc)


def fields(**overrides):
    return {"kind": "news", "section_id": "s1", "title": "Xã triển khai Đề án 06",
            "summary": "Tóm tắt", "body": "Ủy ban nhân dân xã tổ chức hội nghị.", "channels": [],
            "rebuttal": None, **overrides}


@pytest.fixture
def store():
    return FakeItems()


@pytest.fixture
def item(store):
    return store.add(domain.new_item("i1", "xuan-hung", fields(), SECTION, "Biên"))


def approved(store, item):
    item = store.apply(item, domain.submit(item, "Biên"))
    return store.apply(item, domain.approve(item, "Duyệt", "approver-1", "Đồng ý"))


def test_a_new_item_is_a_draft_with_its_first_revision(item):
    assert item["status"] == "draft" and item["revision"] == 1 and item["channels"] == ["website", "social"]
    assert item["revisions"]["r1"]["fields"]["title"] == "Xã triển khai Đề án 06"
    assert item["search"] == "xa trien khai de an 06 tom tat uy ban nhan dan xa to chuc hoi nghi."


@pytest.mark.parametrize("kind, channels", [
    ("radio_bulletin", ["radio"]), ("eboard_notice", ["eboard"]), ("press_release", ["website", "social"]),
])
def test_default_channels_follow_the_kind(kind, channels):
    assert domain.new_item("i", "c", fields(kind=kind), SECTION, "a")["channels"] == channels


@pytest.mark.parametrize("overrides, section, message", [
    ({"title": "   "}, SECTION, "Tiêu đề"),
    ({}, None, "Chuyên mục không tồn tại"),
    ({}, INACTIVE, "ngừng sử dụng"),
    ({"kind": "gossip"}, SECTION, "Loại tin"),
    ({"channels": ["tv"]}, SECTION, "Kênh không hợp lệ"),
    ({"kind": "rebuttal"}, SECTION, "đính chính"),
    ({"kind": "rebuttal", "rebuttal": {"url": None, "claim": "  "}}, SECTION, "đính chính"),
    ({"image_media_ids": ["someone-elses"]}, SECTION, "Ảnh không thuộc"),
])
def test_bad_items_are_refused(overrides, section, message):
    data = fields(**overrides)
    with pytest.raises(InvalidInput) as refused:
        if "image_media_ids" in overrides:
            domain.check_fields(dict(data, channels=["website"]), section, [])
        else:
            domain.new_item("i", "c", data, section, "a")
    assert message.lower() in refused.value.message.lower()


@pytest.mark.parametrize("rebuttal", [{"url": "https://example.vn/tin-sai", "claim": ""},
                                      {"url": None, "claim": "Tin đồn xã thu hồi đất"}])
def test_a_rebuttal_links_to_what_it_answers(rebuttal):
    item = domain.new_item("i", "c", fields(kind="rebuttal", rebuttal=rebuttal), SECTION, "a")
    assert item["rebuttal"] == rebuttal


def test_the_whole_workflow_with_its_history_and_events(store, item):
    item = approved(store, item)
    assert item["status"] == "approved" and item["approval"]["comment"] == "Đồng ý"
    item = store.apply(item, domain.publish(item, "Duyệt", "approver-1", "Chuyển đổi số"))
    assert item["status"] == "published" and item["live"] and item["in_feed"]
    assert item["published"]["title"] == item["title"] and item["slug"].startswith("xa-trien-khai-de-an-06-")
    item = store.apply(item, domain.archive(item, "Duyệt", "approver-1"))
    assert item["status"] == "archived" and not item["live"] and not item["in_feed"]
    assert [e.name for e in store.events] == ["item_approved", "item_published", "item_archived"]
    published = store.events[1].payload
    assert published["channels"] == ["website", "social"] and published["has_audio"] is False
    assert published["first_publication"] is True and published["section_name"] == "Chuyển đổi số"
    assert store.events[2].payload["was_live"] is True
    assert [h["action"] for h in sorted(item["history"].values(), key=lambda h: h["at"])] == [
        "submit", "approve", "publish", "archive"]


@pytest.mark.parametrize("action, status", [
    (lambda i: domain.approve(i, "a", "a"), "draft"),
    (lambda i: domain.return_(i, "a", "a", "x"), "draft"),
    (lambda i: domain.publish(i, "a", "a", "S"), "draft"),
    (lambda i: domain.unschedule(i, "a"), "draft"),
    (lambda i: domain.submit(i, "a"), "submitted"),
    (lambda i: domain.publish(i, "a", "a", "S"), "submitted"),
    (lambda i: domain.submit(i, "a"), "published"),
    (lambda i: domain.archive(i, "a", "a"), "archived"),
    (lambda i: domain.edit(i, {"title": "Mới"}, SECTION, "a"), "archived"),
])
def test_actions_the_status_does_not_allow_are_conflicts(item, action, status):
    with pytest.raises(Conflict):
        action(dict(item, status=status))


def test_a_return_needs_a_reason(store, item):
    item = store.apply(item, domain.submit(item, "Biên"))
    with pytest.raises(InvalidInput):
        domain.return_(item, "Duyệt", "approver-1", "  ")
    item = store.apply(item, domain.return_(item, "Duyệt", "approver-1", "Bổ sung số liệu"))
    assert item["status"] == "returned" and item["returned"]["comment"] == "Bổ sung số liệu"
    assert store.events[-1].name == "item_returned" and store.events[-1].payload["comment"] == "Bổ sung số liệu"


def test_approving_a_revision_that_changed_since_it_was_read_is_refused(store, item):
    item = store.apply(item, domain.submit(item, "Biên"))
    item = store.apply(item, domain.edit(item, {"body": "Nội dung mới."}, SECTION, "Biên"))
    with pytest.raises(Conflict):
        domain.approve(item, "Duyệt", "approver-1", revision=1)


@pytest.mark.parametrize("status, after", [
    ("draft", "draft"), ("returned", "draft"), ("submitted", "submitted"), ("approved", "submitted"),
    ("scheduled", "submitted"), ("published", "draft"),
])
def test_an_edit_sets_the_status_the_rules_say(item, status, after):
    change = domain.edit(dict(item, status=status), {"title": "Tiêu đề mới"}, SECTION, "Biên")
    assert change.set["status"] == after and change.set["revision"] == 2
    assert change.expect == {"status": status, "revision": 1}


def test_an_item_may_stay_in_a_section_deactivated_since_but_not_move_to_one(item):
    stays = dict(SECTION, active=False)
    assert domain.edit(item, {"title": "Sửa"}, stays, "Biên").set["title"] == "Sửa"
    with pytest.raises(InvalidInput):
        domain.edit(item, {"section_id": "s2"}, INACTIVE, "Biên")


def test_an_edit_that_changes_nothing_makes_no_revision(item):
    assert domain.edit(item, {"title": item["title"], "body": item["body"]}, SECTION, "Biên") is None


def test_editing_a_published_item_keeps_the_published_version_until_the_new_one_is_published(store, item):
    item = approved(store, item)
    item = store.apply(item, domain.publish(item, "Duyệt", "approver-1", "Chuyển đổi số",
                                            now="2026-04-14T08:00:00.000Z"))
    item = store.apply(item, domain.edit(item, {"title": "Tiêu đề đã sửa"}, SECTION, "Biên"))
    assert item["status"] == "draft" and item["live"] and item["published"]["title"] == "Xã triển khai Đề án 06"
    assert domain.feed_entry(item)["title"] == "Xã triển khai Đề án 06"
    item = approved(store, item)
    item = store.apply(item, domain.publish(item, "Duyệt", "approver-1", "Chuyển đổi số",
                                            now="2026-04-15T08:00:00.000Z"))
    entry = domain.feed_entry(item)
    assert entry["title"] == "Tiêu đề đã sửa" and entry["published_at"] < entry["updated_at"]
    assert store.events[-1].payload["first_publication"] is False and store.events[-1].payload["revision"] == 2


def test_scheduling_and_the_timer_publish_once(store, item):
    item = approved(store, item)
    item = store.apply(item, domain.publish(item, "Duyệt", "approver-1", "S", at="2026-04-15T00:00:00.000Z",
                                            now="2026-04-14T00:00:00.000Z"))
    assert item["status"] == "scheduled" and item["publish_at"] == "2026-04-15T00:00:00.000Z"
    assert domain.publish_due(item, "S", "2026-04-14T23:59:59.000Z") is None
    first = domain.publish_due(item, "S", "2026-04-15T00:00:01.000Z")
    second = domain.publish_due(item, "S", "2026-04-15T00:00:01.000Z")  # another replica read the same item
    store.apply(item, first)
    with pytest.raises(Conflict):
        store.apply(item, second)
    assert [e.name for e in store.events].count("item_published") == 1


def test_the_radio_needs_audio_of_the_current_text(store):
    item = store.add(domain.new_item("r1", "c", fields(kind="radio_bulletin"), SECTION, "Biên"))
    item = approved(store, item)
    with pytest.raises(Conflict):
        domain.publish(item, "Duyệt", "approver-1", "S")
    item = store.apply(item, domain.request_audio(item, "Biên", "editor-1", "2026-01-01T00:00:00.000Z", ""))
    job = item["audio_job"]
    media = {"_id": "m1", "format": "mp3", "duration_seconds": 9.5, "size": 1000, "engine": "espeak-ng:vi",
             "revision": item["revision"], "source": "tts", "name": "x.mp3"}
    item = store.apply(item, domain.audio_finished(item, job, media, "2026-01-01T00:00:05.000Z"))
    assert domain.audio_ready(item)
    item = store.apply(item, domain.publish(item, "Duyệt", "approver-1", "S"))
    assert item["published"]["audio_media_id"] == "m1" and store.events[-1].payload["has_audio"] is True
    item = store.apply(item, domain.edit(item, {"body": "Nội dung khác."}, SECTION, "Biên"))
    assert not domain.audio_ready(item)  # the text changed: the audio is stale
    assert domain.view(item, {})["audio"]["current"] is False
    item = store.apply(item, domain.edit(item, {"channels": ["radio", "eboard"]}, SECTION, "Biên"))
    assert item["text_revision"] == 2  # a change of channels does not make audio stale


def test_a_rendering_in_progress_blocks_a_second_request_until_its_lease_ends(store, item):
    item = store.apply(item, domain.request_audio(item, "Biên", "editor-1", "2026-01-01T00:00:00.000Z", ""))
    with pytest.raises(Conflict):
        domain.request_audio(item, "Biên", "editor-1", "2026-01-01T00:01:00.000Z", "2025-12-31T23:46:00.000Z")
    assert domain.request_audio(item, "Biên", "editor-1", "2026-01-01T00:20:00.000Z", "2026-01-01T00:05:00.000Z")


def test_a_finished_job_that_was_superseded_changes_nothing(store, item):
    item = store.apply(item, domain.request_audio(item, "Biên", "editor-1", "2026-01-01T00:00:00.000Z", ""))
    old_job = item["audio_job"]
    item = store.apply(item, domain.request_audio(item, "Biên", "editor-1", "2026-01-01T01:00:00.000Z",
                                                  "2026-01-01T00:45:00.000Z"))
    media = {"_id": "m1", "format": "mp3", "duration_seconds": 1.0, "size": 10, "engine": "e", "revision": 1,
             "source": "tts"}
    with pytest.raises(Conflict):
        store.apply(item, domain.audio_finished(item, old_job, media, "2026-01-01T01:00:01.000Z"))


def test_an_uploaded_recording_needs_approval_again(store, item):
    item = approved(store, item)
    media = {"_id": "m9", "format": "mp3", "duration_seconds": 30.0, "size": 240000, "engine": "upload",
             "revision": 2, "source": "upload", "name": "ban-tin.m4a"}
    item = store.apply(item, domain.attach_recording(item, media, "Biên", "editor-1", "2026-01-01T00:00:00.000Z"))
    assert item["status"] == "submitted" and domain.audio_ready(item)
    assert store.events[-1].name == "audio_rendered" and store.events[-1].payload["origin"] == "upload"


def test_public_media_are_only_those_of_the_live_published_version(store, item):
    item = store.apply(item, domain.edit(item, {}, SECTION, "Biên", ["img-1"]))
    assert not domain.publicly_readable(item, "img-1")
    item = approved(store, item)
    item = store.apply(item, domain.publish(item, "Duyệt", "approver-1", "S"))
    assert domain.publicly_readable(item, "img-1") and not domain.publicly_readable(item, "img-2")
    item = store.apply(item, domain.edit(item, {}, SECTION, "Biên", ["img-2"]))
    assert not domain.publicly_readable(item, "img-2")  # only in the new draft
    item = store.apply(item, domain.archive(item, "Duyệt", "approver-1"))
    assert not domain.publicly_readable(item, "img-1")


def test_a_diff_between_any_two_revisions(store, item):
    item = store.apply(item, domain.edit(item, {"body": "Ủy ban nhân dân xã tổ chức hội nghị trực tuyến."},
                                         SECTION, "Biên"))
    item = store.apply(item, domain.edit(item, {"title": "Xã triển khai mạnh Đề án 06", "channels": ["website"]},
                                         SECTION, "Biên"))
    diff = domain.diff(item, 1, 3)
    assert diff["changed"] == ["title", "body", "channels"]
    assert diff["fields"] == {"channels": {"old": ["website", "social"], "new": ["website"]}}
    body = diff["text"]["body"]
    assert [op for op in body if op["op"] != "equal"] == [{"op": "replace", "old": "nghị.", "new": "nghị trực tuyến."}]
    for name, ops in diff["text"].items():
        old, new = domain.revision_of(item, 1)["fields"][name], domain.revision_of(item, 3)["fields"][name]
        assert "".join(op["old"] for op in ops) == old and "".join(op["new"] for op in ops) == new
    assert "--- bản sửa 1" in diff["unified"] and "+Tiêu đề: Xã triển khai mạnh Đề án 06" in diff["unified"]
    assert "-Tiêu đề: Xã triển khai Đề án 06" in diff["unified"]
    assert domain.diff(item, 3, 1)["text"]["title"][1]["op"] in ("delete", "replace")
    with pytest.raises(InvalidInput):
        domain.diff(item, 1, 9)


@pytest.mark.parametrize("text, folded", [
    ("Quyền con người", "quyen con nguoi"), ("ĐỀ ÁN 06", "de an 06"), ("Phòng chống thiên tai", "phong chong thien tai"),
])
def test_fold(text, folded):
    assert domain.fold(text) == folded


def test_seeded_sections_are_the_plans_themes_with_stable_ids():
    seeds = domain.seed_sections("xuan-hung", "2026-01-01T00:00:00.000Z")
    assert [s["name"] for s in seeds] == list(domain.SEED_SECTIONS)
    assert seeds[1]["_id"] == "xuan-hung:de-an-06" and all(s["active"] and s["seeded"] for s in seeds)
