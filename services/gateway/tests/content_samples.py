"""What the content service answers, shaped as its contract says
(services/content/API.md), for tests where a stand-in replaces it.
Each function returns a fresh copy, so a test may change what it gets."""
import copy

BODY = ("Ngày 15/4/2026, UBND xã Xuân Hưng tổ chức tiêm chủng mở rộng cho trẻ em dưới 5 tuổi tại trạm y tế xã.\n\n"
        "Phụ huynh mang theo sổ tiêm chủng & thẻ bảo hiểm y tế.")
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
MP3 = b"ID3\x03\x00" + b"\0" * 64


def section(section_id="xuan-hung:chuyen-doi-so", name="Chuyển đổi số", active=True, order=1, seeded=True):
    return {"_id": section_id, "commune_id": "xuan-hung", "name": name, "active": active, "seeded": seeded,
            "order": order, "created_at": "2026-04-01T01:00:00.000Z"}


def sections():
    return [section(), section("xuan-hung:quyen-con-nguoi", "Quyền con người", order=2),
            section("s-old", "Tin cũ", active=False, order=3, seeded=False)]


def audio(**changes):
    base = {"state": "ready", "source": "tts", "revision": 2, "text_revision": 2, "current": True,
            "requested_at": "2026-04-10T02:00:00.000Z", "requested_by": "Biên tập viên",
            "started_at": "2026-04-10T02:00:01.000Z", "finished_at": "2026-04-10T02:00:09.000Z",
            "media_id": "m-audio", "format": "mp3", "duration_seconds": 65.4, "size": 523000, "engine": "espeak-ng",
            "error": None}
    return copy.deepcopy({**base, **changes})


def item(**changes):
    """A news item awaiting approval, revision 2."""
    base = {
        "_id": "i1", "commune_id": "xuan-hung", "kind": "news", "section_id": "xuan-hung:chuyen-doi-so",
        "section_name": "Chuyển đổi số", "title": "Lịch tiêm chủng mở rộng tháng 4",
        "summary": "Trẻ em dưới 5 tuổi tiêm tại trạm y tế xã.", "body": BODY, "channels": ["website", "social"],
        "image_media_ids": ["m-img"], "rebuttal": None, "status": "submitted", "revision": 2, "text_revision": 2,
        "created_at": "2026-04-10T01:00:00.000Z", "created_by": "Biên tập viên",
        "updated_at": "2026-04-10T01:30:00.000Z", "updated_by": "Biên tập viên", "approval": None,
        "returned": None, "publish_at": None, "slug": None, "live": False, "first_published_at": None,
        "published": None, "audio": None,
    }
    return copy.deepcopy({**base, **changes})


def published_version(**changes):
    base = {"revision": 2, "kind": "news", "section_id": "xuan-hung:chuyen-doi-so", "section_name": "Chuyển đổi số",
            "title": "Lịch tiêm chủng mở rộng tháng 4", "summary": "Trẻ em dưới 5 tuổi tiêm tại trạm y tế xã.",
            "body": BODY, "channels": ["website", "social"], "image_media_ids": ["m-img"], "rebuttal": None,
            "audio_media_id": None, "published_at": "2026-04-11T01:00:00.000Z", "published_by": "Chị Lan"}
    return copy.deepcopy({**base, **changes})


def live_item(**changes):
    return item(**{"status": "published", "live": True, "slug": "lich-tiem-chung-mo-rong-thang-4",
                   "first_published_at": "2026-04-11T01:00:00.000Z", "published": published_version(),
                   "approval": {"revision": 2, "by": "Chị Lan", "at": "2026-04-10T03:00:00.000Z", "comment": ""},
                   **changes})


def detail(**changes):
    """``get_item``'s answer: the item with its steps and revisions."""
    return item(**{
        "history": [{"id": "h1", "at": "2026-04-10T01:30:00.000Z", "by": "Biên tập viên", "action": "submit",
                     "revision": 2, "comment": "", "status": ["draft", "submitted"]}],
        "revisions": [{"number": 2, "at": "2026-04-10T01:20:00.000Z", "by": "Biên tập viên", "action": "edit",
                       "changed": ["body"]},
                      {"number": 1, "at": "2026-04-10T01:00:00.000Z", "by": "Biên tập viên", "action": "create",
                       "changed": ["kind", "section_id", "title", "summary", "body", "channels", "image_media_ids",
                                   "rebuttal"]}],
        **changes,
    })


def item_page(items=None, total=None):
    items = [item()] if items is None else items
    return {"items": items, "total": len(items) if total is None else total, "offset": 0, "limit": 50}


def diff():
    return {"item_id": "i1", "from_revision": 1, "to_revision": 2, "changed": ["body", "channels"],
            "fields": {"channels": {"old": ["website"], "new": ["website", "social"]}},
            "text": {"body": [{"op": "equal", "old": "Ngày ", "new": "Ngày "},
                              {"op": "replace", "old": "14/4/2026", "new": "15/4/2026"},
                              {"op": "insert", "old": "", "new": " <b>mới</b>"}]},
            "unified": "--- bản sửa 1\n+++ bản sửa 2\n-  Ngày 14/4/2026\n+  Ngày 15/4/2026"}


def feed_entry(**changes):
    base = {"id": "i1", "title": "Lịch tiêm chủng mở rộng tháng 4", "summary": "Trẻ em dưới 5 tuổi tiêm tại trạm y tế xã.",
            "body": BODY, "section": "Chuyển đổi số", "section_id": "xuan-hung:chuyen-doi-so", "kind": "news",
            "published_at": "2026-04-11T01:00:00.000Z", "updated_at": "2026-04-12T01:00:00.000Z",
            "slug": "lich-tiem-chung-mo-rong-thang-4", "image_media_ids": ["m-img"], "audio_media_id": None,
            "channels": ["website", "social"]}
    return copy.deepcopy({**base, **changes})


def media(content=PNG, **changes):
    import base64
    base = {"_id": "m-img", "commune_id": "xuan-hung", "item_id": "i1", "kind": "image", "name": "Tiêm chủng.png",
            "content_type": "image/png", "size": len(content), "created_at": "2026-04-10T01:00:00.000Z",
            "created_by": "Biên tập viên", "revision": 1, "content_b64": base64.b64encode(content).decode("ascii")}
    return {**base, **changes}
