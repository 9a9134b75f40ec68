"""``recent_publications`` on the real broker and store: the caller's
commune's live items on every channel, as published, latest publication
first; never a draft, an archived item or another commune's."""
import pytest

from services.content.tests.conftest import APPROVER, COMMUNE, EDITOR, OTHER, VIEWER, as_caller, call
from shared.errors import Forbidden, InvalidInput, Unauthenticated


def published(container, section, title, context=EDITOR, approver=APPROVER, **fields):
    item = call(container, "create_item", {"kind": "news", "section_id": section["_id"], "title": title,
                                           "summary": "Tóm tắt.", "body": "Nội dung bản tin.", **fields},
                context=context)
    call(container, "submit_item", {"item_id": item["_id"]}, context=context)
    call(container, "approve_item", {"item_id": item["_id"]}, context=approver)
    return call(container, "publish_item", {"item_id": item["_id"]}, context=approver)


def test_latest_publications_first_on_every_channel_as_published(container, section):
    first = published(container, section, "Lịch tiêm chủng tháng 5")
    board = published(container, section, "Thông báo bảng tin", kind="eboard_notice")
    call(container, "create_item", {"kind": "news", "section_id": section["_id"], "title": "Bản nháp"}, context=EDITOR)
    archived = published(container, section, "Tin đã gỡ")
    call(container, "archive_item", {"item_id": archived["_id"]}, context=APPROVER)
    call(container, "update_item", {"item_id": first["_id"], "revision": first["revision"],
                                    "title": "Tiêu đề đang sửa"}, context=EDITOR)
    other_section = call(container, "list_sections", context=as_caller(OTHER))[0]
    published(container, other_section, "Tin của xã khác", context=as_caller(OTHER, "editor"),
              approver=as_caller(OTHER, "approver"))

    entries = call(container, "recent_publications", context=VIEWER)
    assert [e["title"] for e in entries] == ["Thông báo bảng tin", "Lịch tiêm chủng tháng 5"]
    assert entries[0]["id"] == board["_id"] and entries[0]["channels"] == board["channels"]
    assert entries[0]["section_name"] == section["name"] and entries[0]["kind"] == "eboard_notice"
    assert entries[1]["published_at"] == first["published"]["published_at"]
    assert entries[1]["first_published_at"] == first["first_published_at"]
    assert [e["title"] for e in call(container, "recent_publications", 1, context=VIEWER)] == ["Thông báo bảng tin"]
    assert [e["title"] for e in call(container, "recent_publications", context=as_caller(OTHER))] == [
        "Tin của xã khác"]


@pytest.mark.parametrize("limit", [0, 51, "5", True, None])
def test_the_limit_is_a_whole_number_from_1_to_50(container, limit):
    with pytest.raises(InvalidInput):
        call(container, "recent_publications", limit, context=VIEWER)


def test_another_communes_publications_are_refused_and_a_caller_is_needed(container):
    with pytest.raises(Forbidden):
        call(container, "recent_publications", 5, OTHER, context=VIEWER)
    with pytest.raises(Unauthenticated):
        call(container, "recent_publications", 5, COMMUNE, context={})
