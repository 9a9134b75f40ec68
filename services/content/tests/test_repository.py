"""The repositories against the real store (nx-27017 here, MongoDB with
TINXA_TEST_MONGO_URI): what the service relies on the store for."""
import pytest

from services.content import domain
from services.content.repository import ItemRepository, MediaRepository, SectionRepository
from services.content.tests.conftest import PNG, stored_files
from shared.errors import Conflict, NotFound

NOW = "2026-04-15T00:00:00.000Z"


@pytest.fixture
def repos(mongo_database):
    for cls in (SectionRepository, ItemRepository, MediaRepository):
        cls.create_indexes(mongo_database)
    return SectionRepository(mongo_database), ItemRepository(mongo_database), MediaRepository(mongo_database)


def add_item(items, item_id, commune="xuan-hung", **overrides):
    fields = {"kind": "news", "section_id": "s1", "title": "Tin", "summary": "", "body": "", "channels": [],
              "rebuttal": None, **overrides}
    return items.add(domain.new_item(item_id, commune, fields, {"active": True, "name": "S"}, "Biên"))


def test_sections_are_seeded_once_and_names_are_unique_ignoring_accents(repos):
    sections, _, _ = repos
    for _ in range(2):
        sections.ensure_seeded("xuan-hung", domain.seed_sections("xuan-hung", NOW))
    listed = sections.list("xuan-hung")
    assert [s["name"] for s in listed] == list(domain.SEED_SECTIONS) and listed[0]["active"] is True
    with pytest.raises(Conflict):
        sections.add(domain.new_section("xuan-hung", "CHUYEN DOI SO", 9, NOW))
    sections.add(domain.new_section("yen-thang", "Chuyển đổi số", 1, NOW))  # another commune may
    sections.update("xuan-hung", "xuan-hung:bien-dao", {"active": False})
    assert "Biển, đảo" not in [s["name"] for s in sections.list("xuan-hung")]
    assert sections.get("xuan-hung", "xuan-hung:bien-dao")["active"] is False
    with pytest.raises(NotFound):
        sections.get("yen-thang", "xuan-hung:bien-dao")


def test_apply_is_a_compare_and_set_with_the_events_in_the_same_write(repos, mongo_database):
    _, items, _ = repos
    item = add_item(items, "i1")
    change = domain.submit(item, "Biên")
    items.apply(item, change)
    with pytest.raises(Conflict):
        items.apply(item, domain.submit(item, "Biên"))  # read before the first submit: stale
    stored = items.get("xuan-hung", "i1")
    assert stored["status"] == "submitted" and len(stored["history"]) == 1
    approve = domain.approve(stored, "Duyệt", "approver-1", "Được")
    items.apply(stored, approve)
    raw = mongo_database.items.find_one({"_id": "i1"})
    assert list(raw["_outbox"]) == [approve.events[0].event_id]  # waiting for the relay, in the same document


def test_find_filters_and_folded_search(repos):
    _, items, _ = repos
    add_item(items, "a", title="Truyền thông về quyền con người", kind="human_rights")
    add_item(items, "b", title="Lịch phát thanh", kind="radio_bulletin", body="Quyền và nghĩa vụ công dân")
    add_item(items, "c", commune="yen-thang", title="Quyền con người ở Yên Thắng", kind="human_rights")
    found, total = items.find("xuan-hung", q=domain.fold("QUYEN CON NGUOI"))
    assert [i["_id"] for i in found] == ["a"] and total == 1 and "body" not in found[0]
    assert [i["_id"] for i in items.find("xuan-hung", channel="radio")[0]] == ["b"]
    assert [i["_id"] for i in items.find("xuan-hung", kind="human_rights")[0]] == ["a"]
    assert items.find("xuan-hung", live=True) == ([], 0)
    assert len(items.find("xuan-hung", live=False)[0]) == 2
    page, total = items.find("xuan-hung", limit=1, offset=1)
    assert len(page) == 1 and total == 2


def test_due_and_feed(repos):
    _, items, _ = repos
    item = add_item(items, "s")
    item = items.apply(item, domain.submit(item, "B"))
    item = items.apply(item, domain.approve(item, "D", "d"))
    items.apply(item, domain.publish(item, "D", "d", "S", at="2026-04-15T01:00:00.000Z", now=NOW))
    assert items.due(NOW) == [] and [i["_id"] for i in items.due("2026-04-15T01:00:00.000Z")] == ["s"]
    due = items.due("2026-04-15T01:00:00.000Z")[0]
    items.apply(due, domain.publish_due(due, "S", "2026-04-15T01:00:00.000Z"))
    assert [i["_id"] for i in items.feed("xuan-hung", 10)] == ["s"] and items.feed("yen-thang", 10) == []
    live = items.get("xuan-hung", "s")
    assert live["live"] is True and live["in_feed"] is True  # booleans as booleans on either store


def test_media_files_and_their_metadata_are_stored_and_deleted_together(repos, mongo_database):
    _, _, media = repos
    meta = domain.media_document("m1", "xuan-hung", "i1", "image", "anh.png", "image/png", len(PNG), "Biên", 1)
    media.store(meta, PNG)
    big = domain.media_document("m2", "xuan-hung", "i1", "audio", "a.mp3", "audio/mpeg", 600_000, "Biên", 1)
    media.store(big, bytes(range(256)) * 2400)  # several GridFS chunks
    assert media.read("m1") == PNG and len(media.read("m2")) == 614_400
    assert media.get("xuan-hung", "m1")["name"] == "anh.png"
    with pytest.raises(NotFound):
        media.get("yen-thang", "m1")
    assert stored_files(mongo_database) == 2 and media.file_ids() == ["m1", "m2"]
    media.delete(["m1", "m2", "never-stored"])
    assert stored_files(mongo_database) == 0 and mongo_database.media.count_documents({}) == 0
