"""The content service's events in the activity feed, and the content rules
the console uses to choose what to offer. Events are built with the
catalogue's ``make_event``, so a field the catalogue does not have fails here."""
import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies

from shared.context import Caller
from shared.events import make_event
from services.gateway import domain
from services.gateway.service import GatewayService
from services.gateway.tests import content_samples as samples

ITEM = {"item_id": "i1", "revision": 2, "kind": "news", "title": "Lịch tiêm chủng mở rộng tháng 4"}


def event(name, actor="u-lan", **payload):
    return make_event("content", name, "xuan-hung", actor=actor, **payload)


@pytest.mark.parametrize("name, payload, vi, en", [
    ("item_approved", dict(ITEM, comment=""),
     "Chị Lan duyệt «Lịch tiêm chủng mở rộng tháng 4» (bản sửa 2)",
     "Chị Lan approved “Lịch tiêm chủng mở rộng tháng 4” (revision 2)"),
    ("item_returned", dict(ITEM, comment="Thiếu giờ tiêm ở trạm y tế"),
     "Chị Lan trả lại «Lịch tiêm chủng mở rộng tháng 4» (bản sửa 2): «Thiếu giờ tiêm ở trạm y tế»",
     "Chị Lan returned “Lịch tiêm chủng mở rộng tháng 4” (revision 2): “Thiếu giờ tiêm ở trạm y tế”"),
    ("item_published", dict(ITEM, section_id="s1", section_name="Chuyển đổi số", slug="lich", has_audio=False,
                            channels=["website", "social"], published_at="2026-04-11T01:00:00.000Z",
                            first_publication=True),
     "Chị Lan xuất bản «Lịch tiêm chủng mở rộng tháng 4» lên Trang thông tin điện tử, Zalo, Facebook",
     "Chị Lan published “Lịch tiêm chủng mở rộng tháng 4” to Commune website, Zalo, Facebook"),
    ("item_published", dict(ITEM, section_id="s1", section_name="Chuyển đổi số", slug="lich", has_audio=True,
                            audio_media_id="m1", channels=["radio"], published_at="2026-04-11T01:00:00.000Z",
                            first_publication=False),
     "Chị Lan xuất bản bản sửa mới của «Lịch tiêm chủng mở rộng tháng 4» lên Đài truyền thanh",
     "Chị Lan published a new revision of “Lịch tiêm chủng mở rộng tháng 4” to Commune radio"),
    ("item_archived", dict(ITEM, was_live=True, channels=["website"]),
     "Chị Lan lưu trữ «Lịch tiêm chủng mở rộng tháng 4» và gỡ khỏi các kênh",
     "Chị Lan archived “Lịch tiêm chủng mở rộng tháng 4” and took it off every channel"),
    ("item_archived", dict(ITEM, was_live=False, channels=[]),
     "Chị Lan lưu trữ «Lịch tiêm chủng mở rộng tháng 4»",
     "Chị Lan archived “Lịch tiêm chủng mở rộng tháng 4”"),
    ("audio_rendered", dict(item_id="i1", revision=3, media_id="m1", format="mp3", duration_seconds=65.4,
                            size=523000, engine="espeak-ng", origin="upload"),
     "Chị Lan tải bản ghi âm lên cho bản sửa 3 (1:05)",
     "Chị Lan uploaded a recording for revision 3 (1:05)"),
])
def test_each_content_event_reads_as_a_sentence_in_both_languages(name, payload, vi, en):
    entry = domain.activity_entry(name, event(name, **payload), "Chị Lan")
    assert entry["summary"] == vi and domain.describe_activity(entry, "en") == en
    assert entry["data"]["item_id"] == "i1" and domain.activity_link(entry) == "/content/i1"


def test_machine_speech_is_the_systems():
    rendered = event("audio_rendered", actor="system", item_id="i1", revision=2, media_id="m1", format="opus",
                     duration_seconds=3725, size=1, engine="espeak-ng", origin="tts")
    entry = domain.activity_entry("audio_rendered", rendered, None)
    assert entry["summary"] == "Âm thanh giọng đọc máy của bản sửa 2 đã sẵn sàng (1:02:05)"


def test_a_review_event_without_its_optional_comment():
    payload = {**event("item_approved", **ITEM)}
    del payload["comment"]
    assert domain.activity_entry("item_approved", payload, "Chị Lan")["data"]["comment"] == ""


def test_task_activity_still_links_to_its_task():
    entry = {"data": {"task_id": "t 1"}}
    assert domain.activity_link(entry) == "/tasks/t%201"
    assert domain.activity_link({"data": {"plan_id": "p1"}}) is None


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    replace_dependencies(container, "tasks", "content")
    container.start()
    return container


@pytest.mark.parametrize("handler, name, payload", [
    ("on_content_item_approved", "item_approved", dict(ITEM, comment="")),
    ("on_content_item_returned", "item_returned", dict(ITEM, comment="Sửa lại")),
    ("on_content_item_published", "item_published", dict(
        ITEM, section_id="s1", section_name="Chuyển đổi số", slug="lich", has_audio=False, channels=["website"],
        published_at="2026-04-11T01:00:00.000Z", first_publication=True)),
    ("on_content_item_archived", "item_archived", dict(ITEM, was_live=False, channels=[])),
    ("on_content_audio_rendered", "audio_rendered", dict(item_id="i1", revision=2, media_id="m1", format="mp3",
                                                          duration_seconds=12.0, size=9, engine="espeak-ng",
                                                          origin="tts")),
])
def test_content_events_reach_the_feed_once_with_the_actors_name(gateway, web_session, people, sign_in, handler,
                                                                 name, payload):
    received = event(name, actor=people["editor"]["_id"], **payload)
    for _ in range(2):  # a redelivery
        with entrypoint_hook(gateway, handler) as handle:
            handle(received)
    sign_in(people["viewer"])
    items = web_session.get("/api/activity").json()["items"]
    assert [(i["kind"], i["data"]["item_id"]) for i in items] == [(name, "i1")]
    assert "Biên tập viên" in items[0]["summary"] or payload.get("origin") == "tts"


# --- what the console offers ----------------------------------------------------------------------

def caller(*roles):
    return Caller(subject="u", commune_id="xuan-hung", roles=frozenset(roles))


@pytest.mark.parametrize("roles, status, offered", [
    (("editor",), "draft", {"edit", "submit", "request_audio", "upload_audio"}),
    (("editor",), "returned", {"edit", "submit", "request_audio", "upload_audio"}),
    (("editor",), "approved", {"edit", "request_audio", "upload_audio"}),
    (("approver",), "submitted", {"approve", "return", "archive", "request_audio"}),
    (("approver",), "approved", {"publish", "return", "archive", "request_audio"}),
    (("approver",), "scheduled", {"unschedule", "return", "archive", "request_audio"}),
    (("approver",), "published", {"archive", "request_audio"}),
    (("commune_admin",), "submitted", {"edit", "approve", "return", "archive", "request_audio", "upload_audio"}),
    (("viewer", "operator"), "draft", set()),
    (("commune_admin",), "archived", set()),
])
def test_the_steps_offered_follow_the_contracts_roles_and_states(roles, status, offered):
    assert domain.content_actions(samples.item(status=status), caller(*roles)) == offered


def test_no_second_rendering_is_offered_while_one_runs():
    rendering = samples.item(status="draft", audio=samples.audio(state="rendering"))
    assert "request_audio" not in domain.content_actions(rendering, caller("editor"))


@pytest.mark.parametrize("kind, channels", [
    ("news", ("website", "social")), ("radio_bulletin", ("radio",)), ("eboard_notice", ("eboard",)),
    ("rebuttal", ("website", "social")),
])
def test_default_channels_by_kind(kind, channels):
    assert domain.default_channels(kind) == channels


def test_paragraphs_and_durations():
    assert domain.paragraphs("Một\r\ndòng\r\n\r\n  \n\nHai  ") == ["Một\ndòng", "Hai"]
    assert domain.paragraphs(None) == []
    assert [domain.duration(s) for s in (0, 59.6, 65.4, 3600)] == ["0:00", "1:00", "1:05", "1:00:00"]
    assert domain.on_web({"channels": ["radio", "social"]}) and not domain.on_web({"channels": ["radio"]})
    assert not domain.on_web(None)
