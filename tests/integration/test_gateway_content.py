"""Integration: the real gateway and the real content service on one broker
vhost and store, driven over HTTP as the console and API clients drive them:
writing, review by role, publication, the public feeds and media, and bad
input that must leave nothing behind."""
import base64

import feedparser
import pytest
import requests

from services.gateway import auth
from services.gateway.tests.conftest import SEED
from shared.testing import wait_until
from tests.integration.conftest import seed_people

# a real 1×1 PNG; the content service reads types from the bytes
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
XUAN_HUNG = dict(SEED["commune"])
YEN_THANG = {"id": "yen-thang", "name": "Yên Thắng", "province": "Ninh Bình", "villages": [], "agencies": []}
PEOPLE = {
    "editor": ("bientap.xuanhung", "Nguyễn Văn Biên", ["editor"]),
    "approver": ("duyet.xuanhung", "Trần Thị Duyệt", ["approver"]),
}
OTHER_PEOPLE = {
    "admin": ("admin.yenthang", "Quản trị Yên Thắng", ["commune_admin"]),
}
NEWS_BODY = ("Trạm y tế xã tổ chức tiêm chủng mở rộng cho trẻ em dưới 5 tuổi vào sáng thứ Bảy.\n\n"
             "Phụ huynh mang theo sổ tiêm chủng & thẻ bảo hiểm y tế <bản chính>.")


class Client:
    """A signed-in HTTP client of the gateway: an officer's session."""

    def __init__(self, base, username, password):
        self.base = base
        self.http = requests.Session()
        login = self.http.post(f"{base}/api/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.text
        self.csrf = {auth.CSRF_HEADER: login.json()["csrf_token"]}

    def get(self, path, **kwargs):
        return self.http.get(f"{self.base}{path}", **kwargs)

    def post(self, path, **kwargs):
        return self.http.post(f"{self.base}{path}", headers=self.csrf, **kwargs)

    def patch(self, path, **kwargs):
        return self.http.patch(f"{self.base}{path}", headers=self.csrf, **kwargs)

    def ok(self, response, status=200):
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
def officers(content_system):
    base, config = content_system
    accounts = seed_people(config, XUAN_HUNG, PEOPLE)
    other = seed_people(config, YEN_THANG, OTHER_PEOPLE)
    return {name: Client(base, *account) for name, account in {**accounts, "other_admin": other["admin"]}.items()}


def first_section(client):
    sections = client.ok(client.get("/api/content/sections"))["items"]
    assert [s["name"] for s in sections][:2] == ["Chuyển đổi số", "Đề án 06"], sections
    return sections[0]["_id"]


def atom(base, commune_id):
    response = requests.get(f"{base}/feeds/{commune_id}/atom.xml")
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.content)
    assert feed.bozo is False, feed.get("bozo_exception")
    return feed


def publish_in_other_commune(admin):
    """Yên Thắng publishes an item of its own (its administrator writes and reviews)."""
    section = first_section(admin)
    item = admin.ok(admin.post("/api/content/items", json={
        "kind": "news", "section_id": section, "title": "Tin của xã Yên Thắng", "body": "Chỉ của Yên Thắng."}), 201)
    for step in ("submit", "approve", "publish"):
        admin.ok(admin.post(f"/api/content/items/{item['_id']}/{step}", json={}))
    return item


def test_write_review_publish_and_read_the_feed(content_system, officers):
    base, _ = content_system
    editor, approver, other_admin = officers["editor"], officers["approver"], officers["other_admin"]
    section = first_section(editor)

    # the editor writes a news item with a photo (multipart) and a radio bulletin (JSON)
    news = editor.ok(editor.post("/api/content/items", data={
        "kind": "news", "section_id": section, "title": "Lịch tiêm chủng mở rộng tháng 4",
        "summary": "Trẻ em dưới 5 tuổi tiêm tại trạm y tế xã.", "body": NEWS_BODY},
        files={"images": ("tiem-chung.png", PNG, "image/png")}), 201)
    assert (news["status"], news["revision"], news["channels"]) == ("draft", 1, ["website", "social"])
    bulletin = editor.ok(editor.post("/api/content/items", json={
        "kind": "radio_bulletin", "section_id": section, "title": "Bản tin phát thanh sáng thứ Hai",
        "body": "Thông báo lịch tiêm chủng mở rộng vào sáng thứ Bảy, ngày 18 tháng 4."}), 201)
    assert bulletin["channels"] == ["radio"]
    draft = editor.ok(editor.post("/api/content/items", json={
        "kind": "news", "section_id": section, "title": "Bản nháp chưa gửi", "body": "Chưa duyệt."}), 201)
    draft = editor.ok(editor.patch(f"/api/content/items/{draft['_id']}", data={"revision": "1"},
                                   files={"images": ("nhap.png", PNG, "image/png")}))
    for item in (news, bulletin):
        assert editor.ok(editor.post(f"/api/content/items/{item['_id']}/submit", json={}))["status"] == "submitted"

    # an editor may not approve: the content service refuses, the gateway answers 403
    refused = editor.post(f"/api/content/items/{news['_id']}/approve", json={"revision": 1})
    assert refused.status_code == 403 and refused.json()["error"] == "FORBIDDEN", refused.text

    approved = approver.ok(approver.post(f"/api/content/items/{news['_id']}/approve",
                                         json={"revision": 1, "comment": "Đủ thông tin."}))
    assert approved["status"] == "approved"

    # the approved item is edited: back to submitted, approved again, then published
    edited = editor.ok(editor.patch(f"/api/content/items/{news['_id']}", json={
        "revision": 1, "body": NEWS_BODY + "\n\nLiên hệ trạm y tế: 0229 3 123 456."}))
    assert (edited["status"], edited["revision"]) == ("submitted", 2)
    stale = approver.post(f"/api/content/items/{news['_id']}/approve", json={"revision": 1})
    assert stale.status_code == 409 and stale.json()["error"] == "CONFLICT", stale.text
    approver.ok(approver.post(f"/api/content/items/{news['_id']}/approve", json={"revision": 2}))
    published = approver.ok(approver.post(f"/api/content/items/{news['_id']}/publish", json={}))
    assert (published["status"], published["live"]) == ("published", True)

    # the diff between the two revisions, word by word
    diff = editor.ok(editor.get(f"/api/content/items/{news['_id']}/diff", params={"from": 1, "to": 2}))
    assert diff["changed"] == ["body"] and any(op["op"] == "insert" for op in diff["text"]["body"])

    # the radio bulletin needs its audio before it goes on the radio
    approver.ok(approver.post(f"/api/content/items/{bulletin['_id']}/approve", json={}))
    early = approver.post(f"/api/content/items/{bulletin['_id']}/publish", json={})
    assert early.status_code == 409, early.text
    rendering = approver.ok(approver.post(f"/api/content/items/{bulletin['_id']}/audio", json={}), 202)
    assert rendering["audio"]["state"] == "rendering"
    ready = wait_until(lambda: (lambda item: item if item["audio"]["state"] != "rendering" else None)(
        editor.ok(editor.get(f"/api/content/items/{bulletin['_id']}"))), timeout=60, message="the bulletin's audio")
    assert ready["audio"]["state"] == "ready" and ready["audio"]["duration_seconds"] > 1, ready["audio"]
    audio = editor.get(f"/api/content/media/{ready['audio']['media_id']}")
    assert audio.status_code == 200 and audio.headers["Content-Type"].startswith("audio/")
    assert audio.headers["Content-Disposition"].startswith("inline;")
    assert approver.ok(approver.post(f"/api/content/items/{bulletin['_id']}/publish", json={}))["live"] is True

    # another commune publishes too
    other = publish_in_other_commune(other_admin)

    # the Atom feed holds exactly this commune's published website/social items
    feed = atom(base, "xuan-hung")
    assert [entry.title for entry in feed.entries] == ["Lịch tiêm chủng mở rộng tháng 4"]
    entry = feed.entries[0]
    assert entry.link == f"{base}/p/xuan-hung/{news['_id']}"
    assert "Liên hệ trạm y tế" in entry.content[0].value  # the published revision 2
    assert "&lt;bản chính&gt;" in entry.content[0].value and "<bản chính>" not in entry.content[0].value
    assert [tag.term for tag in entry.tags] == ["Chuyển đổi số"]
    assert [e.title for e in atom(base, "yen-thang").entries] == ["Tin của xã Yên Thắng"]
    json_feed = requests.get(f"{base}/feeds/xuan-hung/feed.json").json()
    assert [item["title"] for item in json_feed["items"]] == ["Lịch tiêm chủng mở rộng tháng 4"]
    assert requests.get(f"{base}/feeds/no-such-commune/atom.xml").status_code == 404

    # public pages and media: published only, and only under their own commune
    page = requests.get(f"{base}/p/xuan-hung/{news['_id']}")
    assert page.status_code == 200 and "Lịch tiêm chủng mở rộng tháng 4" in page.text
    assert requests.get(f"{base}/p/xuan-hung/{draft['_id']}").status_code == 404
    assert requests.get(f"{base}/p/yen-thang/{news['_id']}").status_code == 404
    image_id = published["published"]["image_media_ids"][0]
    image = requests.get(f"{base}/p/xuan-hung/media/{image_id}")
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["Content-Type"] == "image/png" and image.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{base}/p/yen-thang/media/{image_id}").status_code == 404
    draft_image = draft["image_media_ids"][0]
    assert requests.get(f"{base}/p/xuan-hung/media/{draft_image}").status_code == 404
    assert editor.get(f"/api/content/media/{draft_image}").status_code == 200  # its own commune, signed in
    assert other_admin.get(f"/api/content/media/{draft_image}").status_code == 404
    assert other_admin.get(f"/api/content/items/{news['_id']}").status_code == 404
    assert other["_id"] not in {e.link.rsplit("/", 1)[1] for e in feed.entries}

    # the activity feed tells the commune what happened
    def activity():
        kinds = [entry["kind"] for entry in editor.ok(editor.get("/api/activity"))["items"]]
        assert {"item_approved", "item_published", "audio_rendered"} <= set(kinds), kinds
        return kinds
    wait_until(activity, message="content activity")
    summaries = [e["summary"] for e in editor.ok(editor.get("/api/activity"))["items"]]
    assert any(s.startswith("Trần Thị Duyệt xuất bản «Lịch tiêm chủng mở rộng tháng 4»") for s in summaries), summaries


@pytest.fixture
def mongo_media(mongo_database):
    """How many media files the content service holds: metadata and GridFS bytes."""
    return lambda: (mongo_database["media"].count_documents({}),
                    len(list(mongo_database["media.files"].find({}, {"_id": 1}))))


def test_bad_input_gets_a_readable_400_and_leaves_nothing_behind(content_system, officers, mongo_media):
    editor = officers["editor"]
    section = first_section(editor)
    total = editor.ok(editor.get("/api/content/items"))["total"]
    media = mongo_media()

    def refused(response, status=400):
        assert response.status_code == status, response.text
        body = response.json()
        assert body["message"] and body["error"] in ("INVALID_INPUT", "PAYLOAD_TOO_LARGE"), body
        return body["message"]

    form = {"kind": "news", "section_id": section, "title": "Tin có ảnh"}
    assert "Tiêu đề" in refused(editor.post("/api/content/items", json={
        "kind": "news", "section_id": section, "title": "  "}))
    assert "Tiêu đề" in refused(editor.post("/api/content/items", data=dict(form, title=""),
                                            files={"images": ("a.png", PNG, "image/png")}))
    assert "Chuyên mục" in refused(editor.post("/api/content/items", data=dict(form, section_id="khong-co"),
                                               files={"images": ("a.png", PNG, "image/png")}))
    assert "5 MB" in refused(editor.post("/api/content/items", data=form, files={
        "images": ("lon.png", PNG + b"\0" * (5 * 1024 * 1024), "image/png")}), 413)
    assert "image/jpeg" in refused(editor.post("/api/content/items", data=form, files={
        "images": ("anh.jpg", PNG, "image/jpeg")}))
    # a good photo beside a text file labelled as one: neither is kept
    assert "ghi-chu.png" in refused(editor.post("/api/content/items", data=form, files=[
        ("images", ("anh.png", PNG, "image/png")),
        ("images", ("ghi-chu.png", "Không phải ảnh".encode(), "image/png"))]))

    assert editor.ok(editor.get("/api/content/items"))["total"] == total
    assert mongo_media() == media, "a refused item left a file behind"

    # text the speech engine cannot read: refused at once, nothing stored
    symbols = editor.ok(editor.post("/api/content/items", json={
        "kind": "radio_bulletin", "section_id": section, "title": "***", "body": "… — ***"}), 201)
    assert refused(editor.post(f"/api/content/items/{symbols['_id']}/audio", json={}))
    assert editor.ok(editor.get(f"/api/content/items/{symbols['_id']}"))["audio"] is None
    assert mongo_media() == media
