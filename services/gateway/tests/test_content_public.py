"""Service tests of what anyone may read without signing in: each commune's
Atom and JSON feeds, its public item pages and media. The content service is
replaced by a stand-in; feedparser reads the Atom feed as a website or a
Zalo/Facebook connector would."""
import json

import feedparser
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import replace_dependencies

from services.gateway.service import GatewayService
from services.gateway.tests import content_samples as samples
from services.gateway.tests.test_console import html

SECOND = samples.feed_entry(
    id="i2", title="Bản tin «An toàn giao thông» & <mùa lễ hội>", summary="",
    body="Dòng 1 <script>alert('x')</script>\nDòng 2\n\nĐoạn 2: a < b & c > d", section="An ninh trật tự",
    section_id="xuan-hung:an-ninh-trat-tu", published_at="2026-04-09T01:00:00.000Z",
    updated_at="2026-04-09T01:00:00.000Z", image_media_ids=[], audio_media_id="m-audio",
    channels=["website", "social", "radio"])


@pytest.fixture
def content(container_factory, gateway_config, people):
    container = container_factory(GatewayService, gateway_config)
    tasks, content = replace_dependencies(container, "tasks", "content")
    container.start()
    content.feed_items.return_value = [samples.feed_entry(), SECOND]
    return content


@pytest.fixture
def base(web_config):
    return f"http://{web_config['WEB_SERVER_ADDRESS']}"


# --- the Atom feed ------------------------------------------------------------------------------

def test_the_atom_feed_parses_and_holds_exactly_the_given_items(content, web_session, base):
    response = web_session.get("/feeds/xuan-hung/atom.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    content.feed_items.assert_called_once_with("xuan-hung", 30)

    feed = feedparser.parse(response.content)
    assert feed.bozo is False, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Tin tức – UBND xã Xuân Hưng"
    assert feed.feed.author == "UBND xã Xuân Hưng"
    assert feed.feed.id.startswith("urn:uuid:")
    assert feed.feed.updated == "2026-04-12T01:00:00.000Z"
    links = {(link.rel, link.type): link.href for link in feed.feed.links}
    assert links[("self", "application/atom+xml")] == f"{base}/feeds/xuan-hung/atom.xml"
    assert links[("alternate", "text/html")] == f"{base}/p/xuan-hung"
    assert links[("alternate", "application/feed+json")] == f"{base}/feeds/xuan-hung/feed.json"

    assert [entry.title for entry in feed.entries] == ["Lịch tiêm chủng mở rộng tháng 4",
                                                       "Bản tin «An toàn giao thông» & <mùa lễ hội>"]
    first, second = feed.entries
    assert first.link == f"{base}/p/xuan-hung/i1"
    assert (first.published, first.updated) == ("2026-04-11T01:00:00.000Z", "2026-04-12T01:00:00.000Z")
    assert first.summary == "Trẻ em dưới 5 tuổi tiêm tại trạm y tế xã."
    assert [tag.term for tag in first.tags] == ["Chuyển đổi số"]
    assert [e.href for e in first.enclosures] == [f"{base}/p/xuan-hung/media/m-img"]
    assert [e.href for e in second.enclosures] == [f"{base}/p/xuan-hung/media/m-audio"]
    assert first.content[0].type == "text/html"
    assert "<p>Phụ huynh mang theo sổ tiêm chủng &amp; thẻ bảo hiểm y tế.</p>" in first.content[0].value
    assert f'src="{base}/p/xuan-hung/media/m-img"' in first.content[0].value


def test_entry_ids_are_stable_and_distinct_per_commune_and_item(content, web_session):
    ids = [entry.id for entry in feedparser.parse(web_session.get("/feeds/xuan-hung/atom.xml").content).entries]
    again = [entry.id for entry in feedparser.parse(web_session.get("/feeds/xuan-hung/atom.xml").content).entries]
    assert ids == again and len(set(ids)) == 2 and all(i.startswith("urn:uuid:") for i in ids)
    content.feed_items.return_value = [samples.feed_entry()]
    other = feedparser.parse(web_session.get("/feeds/yen-thang/atom.xml").content).entries[0].id
    assert other not in ids  # the same item id in another commune is another entry


def test_bodies_are_escaped_paragraph_by_paragraph(content, web_session):
    raw = web_session.get("/feeds/xuan-hung/atom.xml").text
    # the body's markup is text: escaped once as HTML, once more as XML
    assert "&lt;p&gt;Dòng 1 &amp;lt;script&amp;gt;alert('x')&amp;lt;/script&amp;gt;&lt;br&gt;Dòng 2&lt;/p&gt;" in raw
    assert "<script>" not in raw
    second = feedparser.parse(raw.encode()).entries[1]
    assert second.content[0].value == (
        "<p>Dòng 1 &lt;script&gt;alert('x')&lt;/script&gt;<br />Dòng 2</p>\n<p>Đoạn 2: a &lt; b &amp; c &gt; d</p>")
    assert second.title == "Bản tin «An toàn giao thông» & <mùa lễ hội>"
    assert raw.count("<summary>") == 1  # the second item's empty summary is left out


def test_text_xml_cannot_hold_is_dropped_not_fatal(content, web_session):
    content.feed_items.return_value = [samples.feed_entry(title="Tin\x0bmới\x00", body="Đoạn\x1b một")]
    feed = feedparser.parse(web_session.get("/feeds/xuan-hung/atom.xml").content)
    assert feed.bozo is False and feed.entries[0].title == "Tinmới"


def test_a_commune_without_published_items_has_a_valid_empty_feed(content, web_session):
    content.feed_items.return_value = []
    feed = feedparser.parse(web_session.get("/feeds/yen-thang/atom.xml").content)
    assert feed.bozo is False and feed.entries == [] and feed.feed.title == "Tin tức – UBND xã Yên Thắng"
    assert feed.feed.updated  # the commune's own last change


def test_an_unknown_commune_has_no_feed(content, web_session):
    for path in ("/feeds/no-such-commune/atom.xml", "/feeds/no-such-commune/feed.json"):
        response = web_session.get(path)
        assert response.status_code == 404 and response.json()["error"] == "NOT_FOUND"
    assert not content.feed_items.called


def test_absolute_addresses_use_the_configured_public_base_url(container_factory, gateway_config, web_session,
                                                                people):
    container = container_factory(GatewayService, dict(gateway_config,
                                                       PUBLIC_BASE_URL="https://tin.xuanhung.gov.vn/"))
    _, content = replace_dependencies(container, "tasks", "content")
    container.start()
    content.feed_items.return_value = [samples.feed_entry()]
    feed = feedparser.parse(web_session.get("/feeds/xuan-hung/atom.xml").content)
    assert feed.entries[0].link == "https://tin.xuanhung.gov.vn/p/xuan-hung/i1"
    assert json.loads(web_session.get("/feeds/xuan-hung/feed.json").content)["feed_url"] == \
        "https://tin.xuanhung.gov.vn/feeds/xuan-hung/feed.json"


# --- the JSON feed --------------------------------------------------------------------------------

def test_the_json_feed_is_json_feed_1_1(content, web_session, base):
    response = web_session.get("/feeds/xuan-hung/feed.json")
    assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    feed = json.loads(response.content)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert (feed["title"], feed["home_page_url"], feed["feed_url"], feed["language"]) == (
        "Tin tức – UBND xã Xuân Hưng", f"{base}/p/xuan-hung", f"{base}/feeds/xuan-hung/feed.json", "vi")
    assert feed["authors"] == [{"name": "UBND xã Xuân Hưng", "url": f"{base}/p/xuan-hung"}]
    first, second = feed["items"]
    assert first["id"].startswith("urn:uuid:") and first["url"] == f"{base}/p/xuan-hung/i1"
    assert (first["date_published"], first["date_modified"]) == ("2026-04-11T01:00:00.000Z",
                                                                 "2026-04-12T01:00:00.000Z")
    assert first["tags"] == ["Chuyển đổi số"] and first["image"] == f"{base}/p/xuan-hung/media/m-img"
    assert first["content_text"] == samples.BODY
    assert first["summary"] == "Trẻ em dưới 5 tuổi tiêm tại trạm y tế xã."
    assert "<script>" not in second["content_html"] and "&lt;script&gt;" in second["content_html"]
    assert "image" not in second and "summary" not in second
    assert second["_tinxa"] == {"item_id": "i2", "kind": "news", "section_id": "xuan-hung:an-ninh-trat-tu",
                                "channels": ["website", "social", "radio"], "images": [],
                                "audio": f"{base}/p/xuan-hung/media/m-audio"}


# --- public pages and media -------------------------------------------------------------------------

def test_the_public_page_shows_the_published_version_not_the_newer_draft(content, web_session):
    content.get_item.return_value = samples.live_item(
        title="Bản nháp mới chưa duyệt", body="Nội dung nháp", status="draft", revision=3)
    response = web_session.get("/p/xuan-hung/i1")
    page = html(response)
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "<h1>Lịch tiêm chủng mở rộng tháng 4</h1>" in page
    assert "<p>Phụ huynh mang theo sổ tiêm chủng &amp; thẻ bảo hiểm y tế.</p>" in page
    assert "Bản nháp mới" not in page and "Nội dung nháp" not in page
    assert 'src="http://127.0.0.1' in page and '/p/xuan-hung/media/m-img"' in page
    assert 'type="application/atom+xml"' in page and "UBND xã Xuân Hưng" in page
    assert "Đăng lúc 11/04/2026 08:00" in page
    content.get_item.assert_called_once_with("i1", "xuan-hung")


@pytest.mark.parametrize("stored", [
    samples.item(status="approved"),                                          # never published
    samples.live_item(live=False, status="archived"),                         # taken down
    samples.live_item(published=samples.published_version(channels=["radio"])),  # not for the web
])
def test_the_public_page_of_an_item_not_on_the_web_is_not_found(content, web_session, stored):
    content.get_item.return_value = stored
    response = web_session.get("/p/xuan-hung/i1")
    assert response.status_code == 404 and "Không tìm thấy" in response.text


def test_public_pages_of_an_unknown_commune_or_item_are_not_found(content, web_session):
    assert web_session.get("/p/no-such-commune/i1").status_code == 404
    assert web_session.get("/p/no-such-commune").status_code == 404
    assert not content.get_item.called
    content.get_item.side_effect = RemoteError("NotFound", "Không tìm thấy tin, bài.")
    assert web_session.get("/p/xuan-hung/unknown").status_code == 404


def test_the_public_index_lists_the_feed_items(content, web_session):
    page = html(web_session.get("/p/xuan-hung"))
    assert "Lịch tiêm chủng mở rộng tháng 4" in page and 'href="http://127.0.0.1' in page
    assert "Bản tin «An toàn giao thông» &amp; &lt;mùa lễ hội&gt;" in page
    content.feed_items.assert_called_once_with("xuan-hung", 50)


def test_public_media_are_read_as_public_and_cached_briefly(content, web_session):
    content.get_media.return_value = samples.media()
    response = web_session.get("/p/xuan-hung/media/m-img")
    assert response.status_code == 200 and response.content == samples.PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline; ")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    content.get_media.assert_called_once_with("m-img", "xuan-hung", public=True)


def test_media_of_an_unpublished_item_are_not_found_publicly(content, web_session):
    content.get_media.side_effect = RemoteError("NotFound", "Không tìm thấy tệp.")
    response = web_session.get("/p/xuan-hung/media/m-draft")
    assert response.status_code == 404 and response.headers["Cache-Control"] == "no-store"
    assert web_session.get("/p/no-such-commune/media/m-img").status_code == 404


# --- broadcasts' speech (what loudspeakers fetch) -----------------------------------------------------

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 64


def test_a_broadcasts_speech_is_served_publicly_once_ready(content, web_session):
    content.get_speech.return_value = {
        "state": "ready", "reference": "broadcast-b1", "duration_seconds": 7.4, "error": "",
        "media": samples.media(MP3, _id="m-speech", item_id=None, kind="audio", name="canh-bao.mp3",
                               content_type="audio/mpeg")}
    response = web_session.get("/p/xuan-hung/speech/broadcast-b1")
    assert response.status_code == 200 and response.content == MP3
    assert response.headers["Content-Type"] == "audio/mpeg" and response.headers["Cache-Control"] == "public, max-age=300"
    content.get_speech.assert_called_once_with("broadcast-b1", "xuan-hung")


def test_speech_still_being_made_answers_503_with_retry_after_and_a_failed_one_404_with_why(content, web_session):
    content.get_speech.return_value = {"state": "rendering", "reference": "broadcast-b2", "duration_seconds": None,
                                       "error": ""}
    response = web_session.get("/p/xuan-hung/speech/broadcast-b2")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["error"] == "SPEECH_NOT_READY" and "thử lại" in response.json()["message"]
    content.get_speech.return_value = {"state": "failed", "reference": "broadcast-b2", "duration_seconds": None,
                                       "error": "Văn bản chỉ có ký hiệu, không có chữ nào để đọc."}
    response = web_session.get("/p/xuan-hung/speech/broadcast-b2")
    assert response.status_code == 404 and "ký hiệu" in response.json()["message"]
    content.get_speech.side_effect = RemoteError("NotFound", "Không có giọng đọc này.")
    assert web_session.get("/p/xuan-hung/speech/broadcast-none").status_code == 404
    assert web_session.get("/p/no-such-commune/speech/broadcast-b1").status_code == 404
