"""Content items (tin, bài, bản tin…): kinds, sections, the approval workflow,
revisions and their diffs — the rules, with no I/O.

An item is a working copy (the latest revision, with its workflow ``status``)
and, once published, the ``published`` version that the channels show until
a newer approved revision is published over it. Every operation returns a
``Change``: the fields to set, the state it expects to find (compare-and-set,
so concurrent reviewers and several timer replicas cannot both act), a line
for the item's history and the events it causes; the service writes them as
one document update.
"""
import difflib
import re
import uuid
from dataclasses import dataclass, field

from shared.errors import Conflict, InvalidInput
from shared.events import outgoing
from shared.text import fold
from shared.timeutil import iso

SOURCE = "content"

KINDS = {
    "news": "Tin",
    "article": "Bài",
    "radio_bulletin": "Bản tin phát thanh",
    "eboard_notice": "Thông báo bảng tin",
    "press_release": "Thông cáo báo chí",
    "rebuttal": "Đính chính thông tin sai sự thật",
    "promotion": "Quảng bá đầu tư, du lịch",
    "human_rights": "Truyền thông về quyền con người",
}

CHANNELS = ("website", "social", "eboard", "radio", "province")
FEED_CHANNELS = frozenset({"website", "social"})
DEFAULT_CHANNELS = {"radio_bulletin": ["radio"], "eboard_notice": ["eboard"]}
WEB_DEFAULT = ["website", "social"]

STATUSES = ("draft", "submitted", "returned", "approved", "scheduled", "published", "archived")
STATUS_LABELS_VI = {
    "draft": "Bản nháp",
    "submitted": "Chờ duyệt",
    "returned": "Trả lại",
    "approved": "Đã duyệt",
    "scheduled": "Hẹn giờ xuất bản",
    "published": "Đã xuất bản",
    "archived": "Lưu trữ",
}

# the fields a revision holds; the text fields are diffed word by word
FIELDS = ("kind", "section_id", "title", "summary", "body", "channels", "image_media_ids", "rebuttal")
TEXT_FIELDS = ("title", "summary", "body")
SPOKEN_FIELDS = ("title", "body")
FIELD_LABELS_VI = {"kind": "Loại", "section_id": "Chuyên mục", "title": "Tiêu đề", "summary": "Tóm tắt",
                   "body": "Nội dung", "channels": "Kênh", "image_media_ids": "Ảnh", "rebuttal": "Đính chính cho"}

# status of the working copy after an edit: approval is of a revision, so a
# changed approved item needs approving again; a published one keeps its
# published version live while the new draft is worked on
AFTER_EDIT = {"draft": "draft", "returned": "draft", "submitted": "submitted", "approved": "submitted",
              "scheduled": "submitted", "published": "draft"}
# an uploaded recording is new content the approver has not heard
AFTER_RECORDING = {"draft": "draft", "returned": "returned", "submitted": "submitted", "approved": "submitted",
                   "scheduled": "submitted", "published": "submitted"}

# a commune's sections on first use: the themes of the commune's plan
SEED_SECTIONS = ("Chuyển đổi số", "Đề án 06", "Biển, đảo", "Quyền con người", "Quảng bá hình ảnh xã",
                 "Thông tin đối ngoại", "An ninh trật tự", "Phòng chống thiên tai")


def slugify(text, max_length=60):
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:max_length].strip("-")


def new_id():
    return uuid.uuid4().hex


@dataclass
class Change:
    """One document update: ``set`` applied where the item still matches ``expect``."""

    set: dict
    expect: dict
    history: dict | None = None
    events: list = field(default_factory=list)


def history_entry(actor, action, revision, old_status, new_status, comment=""):
    return {"id": new_id(), "at": iso(), "by": actor, "action": action, "revision": revision,
            "comment": comment or "", "status": [old_status, new_status]}


# ---------------------------------------------------------------- sections


def seed_sections(commune_id, now):
    """The seeded sections of a commune, with ids stable per commune so a
    second (concurrent) seeding inserts nothing new."""
    return [{"_id": f"{commune_id}:{slugify(name)}", "commune_id": commune_id, "name": name,
             "name_folded": fold(name), "active": True, "seeded": True, "order": index + 1, "created_at": now}
            for index, name in enumerate(SEED_SECTIONS)]


def new_section(commune_id, name, order, now):
    name = clean_name(name)
    return {"_id": new_id(), "commune_id": commune_id, "name": name, "name_folded": fold(name), "active": True,
            "seeded": False, "order": order, "created_at": now}


def clean_name(name):
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Tên chuyên mục không được để trống.")
    return name


# ---------------------------------------------------------------- items


def default_channels(kind):
    return list(DEFAULT_CHANNELS.get(kind, WEB_DEFAULT))


def check_fields(fields, section, image_ids_allowed, require_active=True):
    """Refuse a working copy that cannot stand (InvalidInput, listing why).
    An item may stay in a section deactivated since; it may not move to one."""
    problems = []
    if not fields["title"].strip():
        problems.append("Tiêu đề không được để trống.")
    if fields["kind"] not in KINDS:
        problems.append(f"Loại tin không hợp lệ: «{fields['kind']}».")
    if section is None:
        problems.append("Chuyên mục không tồn tại.")
    elif require_active and not section.get("active"):
        problems.append(f"Chuyên mục «{section['name']}» đã ngừng sử dụng.")
    if not fields["channels"]:
        problems.append("Cần chọn ít nhất một kênh xuất bản.")
    unknown = [c for c in fields["channels"] if c not in CHANNELS]
    if unknown:
        problems.append(f"Kênh không hợp lệ: {', '.join(unknown)}.")
    if fields["kind"] == "rebuttal":
        rebuttal = fields.get("rebuttal") or {}
        if not (rebuttal.get("url") or (rebuttal.get("claim") or "").strip()):
            problems.append("Bài đính chính phải nêu thông tin sai sự thật mà nó trả lời: "
                            "đường dẫn (url) và/hoặc mô tả (claim).")
    stray = [m for m in fields["image_media_ids"] if m not in image_ids_allowed]
    if stray:
        problems.append("Ảnh không thuộc bản tin này: " + ", ".join(stray))
    if problems:
        raise InvalidInput(" ".join(problems), {"problems": problems})


def _revision(number, actor, action, fields, changed):
    return {"number": number, "at": iso(), "by": actor, "action": action,
            "fields": {name: fields[name] for name in FIELDS}, "changed": list(changed)}


def search_text(fields):
    return fold(" ".join(fields.get(name) or "" for name in TEXT_FIELDS))


def new_item(item_id, commune_id, fields, section, actor):
    """A new draft (revision 1)."""
    fields = dict(fields)
    fields["channels"] = list(dict.fromkeys(fields.get("channels") or default_channels(fields["kind"])))
    fields.setdefault("image_media_ids", [])
    check_fields(fields, section, fields["image_media_ids"])
    now = iso()
    item = {"_id": item_id, "commune_id": commune_id, **{name: fields[name] for name in FIELDS},
            "status": "draft", "revision": 1, "text_revision": 1,
            "revisions": {"r1": _revision(1, actor, "create", fields, FIELDS)},
            "history": {}, "created_at": now, "created_by": actor, "updated_at": now, "updated_by": actor,
            "approval": None, "returned": None, "publish_at": None, "slug": None, "live": False, "in_feed": False,
            "published": None, "first_published_at": None, "last_published_at": None,
            "audio": None, "audio_job": "", "search": search_text(fields)}
    return item


def edit(item, changes, section, actor, new_image_ids=()):
    """A new revision from ``changes`` (any of FIELDS); None if nothing changed."""
    if item["status"] == "archived":
        raise Conflict("Bản tin đã lưu trữ; không thể sửa.")
    fields = {name: item[name] for name in FIELDS}
    fields.update({k: v for k, v in changes.items() if k in FIELDS and v is not None})
    if "rebuttal" in changes and changes["rebuttal"] is None:
        fields["rebuttal"] = None
    fields["image_media_ids"] = list(dict.fromkeys(list(fields["image_media_ids"]) + list(new_image_ids)))
    fields["channels"] = list(dict.fromkeys(fields["channels"]))
    check_fields(fields, section, set(all_image_ids(item)) | set(new_image_ids),
                 require_active=fields["section_id"] != item["section_id"])
    changed = [name for name in FIELDS if fields[name] != item[name]]
    if not changed:
        return None
    number = item["revision"] + 1
    status = AFTER_EDIT[item["status"]]
    now = iso()
    update = {**{name: fields[name] for name in changed}, "revision": number, "status": status,
              f"revisions.r{number}": _revision(number, actor, "edit", fields, changed),
              "updated_at": now, "updated_by": actor, "search": search_text(fields), "publish_at": None}
    if any(name in SPOKEN_FIELDS for name in changed):
        update["text_revision"] = number
    history = None
    if status != item["status"]:
        history = history_entry(actor, "edit", number, item["status"], status)
    return Change(update, {"status": item["status"], "revision": item["revision"]}, history)


def all_image_ids(item):
    """Every image ever attached to the item (any revision may name them)."""
    ids = list(item.get("image_media_ids") or [])
    for revision in (item.get("revisions") or {}).values():
        ids += revision["fields"].get("image_media_ids") or []
    return list(dict.fromkeys(ids))


# ---------------------------------------------------------------- workflow


def _require(item, allowed, action_vi):
    if item["status"] not in allowed:
        raise Conflict(f"Không thể {action_vi} khi bản tin đang ở trạng thái «{STATUS_LABELS_VI[item['status']]}».",
                       {"status": item["status"]})


def _transition(item, new_status, actor, action, comment="", extra=None):
    update = {"status": new_status, "updated_at": iso(), "updated_by": actor, **(extra or {})}
    history = history_entry(actor, action, item["revision"], item["status"], new_status, comment)
    return Change(update, {"status": item["status"], "revision": item["revision"]}, history)


def _review_event(name, item, actor, comment):
    return outgoing(SOURCE, name, item["commune_id"], actor=actor, item_id=item["_id"], revision=item["revision"],
                    kind=item["kind"], title=item["title"], comment=comment or "")


def submit(item, actor, comment=""):
    _require(item, ("draft", "returned"), "gửi duyệt")
    return _transition(item, "submitted", actor, "submit", comment)


def approve(item, actor, actor_id, comment="", revision=None):
    _require(item, ("submitted",), "duyệt")
    if revision is not None and revision != item["revision"]:
        raise Conflict(f"Bản tin đã được sửa (bản sửa {item['revision']}) sau bản bạn đã đọc ({revision}); "
                       "vui lòng xem lại trước khi duyệt.")
    approval = {"revision": item["revision"], "by": actor, "at": iso(), "comment": comment or ""}
    change = _transition(item, "approved", actor, "approve", comment, {"approval": approval})
    change.events.append(_review_event("item_approved", item, actor_id, comment))
    return change


def return_(item, actor, actor_id, comment):
    _require(item, ("submitted", "approved", "scheduled"), "trả lại")
    if not (comment or "").strip():
        raise InvalidInput("Cần ghi lý do trả lại để người viết biết cần sửa gì.")
    returned = {"revision": item["revision"], "by": actor, "at": iso(), "comment": comment}
    change = _transition(item, "returned", actor, "return", comment, {"returned": returned, "publish_at": None})
    change.events.append(_review_event("item_returned", item, actor_id, comment))
    return change


def audio_ready(item):
    """Whether the item has audio of its current text, ready for the radio."""
    audio = item.get("audio") or {}
    return audio.get("state") == "ready" and audio.get("text_revision") == item["text_revision"]


def _check_radio(item):
    if "radio" in item["channels"] and not audio_ready(item):
        raise Conflict("Kênh truyền thanh cần âm thanh của nội dung hiện tại: hãy tạo giọng đọc hoặc tải bản ghi âm "
                       "lên trước khi xuất bản.")


def publish(item, actor, actor_id, section_name, at=None, now=None):
    """Publish an approved item now, or schedule it for ``at`` (ISO UTC)."""
    _require(item, ("approved",), "xuất bản")
    _check_radio(item)
    now = now or iso()
    if at and at > now:
        return _transition(item, "scheduled", actor, "schedule", f"Hẹn xuất bản lúc {at}", {"publish_at": at})
    return _published(item, actor, actor_id, section_name, now)


def publish_due(item, section_name, now):
    """The timer's publication of a scheduled item; None if it must wait (its
    radio audio is not ready)."""
    if item["status"] != "scheduled" or not item.get("publish_at") or item["publish_at"] > now:
        return None
    if "radio" in item["channels"] and not audio_ready(item):
        return None
    return _published(item, "system", "system", section_name, now)


def _published(item, actor, actor_id, section_name, now):
    first = item.get("first_published_at") is None
    slug = item.get("slug") or f"{slugify(item['title']) or 'tin'}-{item['_id'][:6]}"
    audio_media_id = (item.get("audio") or {}).get("media_id") if audio_ready(item) else None
    version = {"revision": item["revision"], **{name: item[name] for name in FIELDS}, "section_name": section_name,
               "audio_media_id": audio_media_id, "published_at": now, "published_by": actor}
    in_feed = bool(FEED_CHANNELS.intersection(item["channels"]))
    change = _transition(item, "published", actor, "publish", "", {
        "published": version, "slug": slug, "live": True, "in_feed": in_feed, "publish_at": None,
        "first_published_at": item.get("first_published_at") or now, "last_published_at": now})
    change.events.append(outgoing(
        SOURCE, "item_published", item["commune_id"], actor=actor_id, item_id=item["_id"], revision=item["revision"],
        kind=item["kind"], title=item["title"], section_id=item["section_id"], section_name=section_name, slug=slug,
        channels=list(item["channels"]), has_audio=audio_media_id is not None, audio_media_id=audio_media_id,
        published_at=now, first_publication=first))
    return change


def unschedule(item, actor):
    _require(item, ("scheduled",), "hủy hẹn giờ")
    return _transition(item, "approved", actor, "unschedule", "", {"publish_at": None})


def archive(item, actor, actor_id, comment=""):
    _require(item, tuple(s for s in STATUSES if s != "archived"), "lưu trữ")
    was_live = bool(item.get("live"))
    channels = list(item["published"]["channels"]) if was_live and item.get("published") else []
    change = _transition(item, "archived", actor, "archive", comment,
                         {"live": False, "in_feed": False, "publish_at": None})
    change.events.append(outgoing(SOURCE, "item_archived", item["commune_id"], actor=actor_id, item_id=item["_id"],
                                  revision=item["revision"], kind=item["kind"], title=item["title"],
                                  was_live=was_live, channels=channels))
    return change


# ---------------------------------------------------------------- audio


def spoken_text(fields):
    """What the radio reads: the title, then the body."""
    title = (fields.get("title") or "").strip()
    body = (fields.get("body") or "").strip()
    return f"{title}.\n{body}" if title and body else title or body


def request_audio(item, actor, actor_id, now, lease_cutoff):
    """Ask for text-to-speech of the current revision (a background job)."""
    if item["status"] == "archived":
        raise Conflict("Bản tin đã lưu trữ; không tạo âm thanh.")
    audio = item.get("audio") or {}
    if audio.get("state") == "rendering" and audio.get("requested_at", "") > lease_cutoff:
        raise Conflict("Đang tạo âm thanh cho bản tin này; vui lòng chờ.")
    job_id = new_id()
    rendering = {"state": "rendering", "source": "tts", "job_id": job_id, "revision": item["revision"],
                 "text_revision": item["text_revision"], "requested_at": now, "requested_by": actor,
                 "started_at": None, "finished_at": None, "media_id": None, "format": None,
                 "duration_seconds": None, "size": None, "engine": None, "error": None}
    event = outgoing(SOURCE, "audio_requested", item["commune_id"], actor=actor_id, item_id=item["_id"],
                     job_id=job_id, revision=item["revision"])
    return Change({"audio": rendering, "audio_job": job_id}, {"audio_job": item.get("audio_job", "")}, None, [event])


def audio_started(item, job_id, now):
    return Change({"audio": dict(item["audio"], started_at=now)}, {"audio_job": job_id})


def audio_finished(item, job_id, media, now):
    """The job's audio is stored: the item's audio is ready (if the job is still current)."""
    audio = dict(item["audio"], state="ready", finished_at=now, media_id=media["_id"], format=media["format"],
                 duration_seconds=media["duration_seconds"], size=media["size"], engine=media["engine"], error=None)
    return Change({"audio": audio}, {"audio_job": job_id}, None, [_rendered_event(item, media, "system")])


def audio_failed(item, job_id, message, now):
    return Change({"audio": dict(item["audio"], state="failed", finished_at=now, error=message)}, {"audio_job": job_id})


def attach_recording(item, media, actor, actor_id, now):
    """An uploaded recording becomes the item's audio; approval has to hear it."""
    if item["status"] == "archived":
        raise Conflict("Bản tin đã lưu trữ; không thể thêm âm thanh.")
    status = AFTER_RECORDING[item["status"]]
    audio = {"state": "ready", "source": "upload", "job_id": media["_id"], "revision": item["revision"],
             "text_revision": item["text_revision"], "requested_at": now, "requested_by": actor, "started_at": now,
             "finished_at": now, "media_id": media["_id"], "format": media["format"],
             "duration_seconds": media["duration_seconds"], "size": media["size"], "engine": media["engine"],
             "error": None}
    update = {"audio": audio, "audio_job": media["_id"], "status": status, "updated_at": now, "updated_by": actor,
              "publish_at": None if status != item["status"] else item.get("publish_at")}
    history = history_entry(actor, "audio_upload", item["revision"], item["status"], status, media["name"])
    return Change(update, {"status": item["status"], "revision": item["revision"],
                           "audio_job": item.get("audio_job", "")}, history, [_rendered_event(item, media, actor_id)])


def _rendered_event(item, media, actor_id):
    return outgoing(SOURCE, "audio_rendered", item["commune_id"], actor=actor_id, item_id=item["_id"],
                    revision=media["revision"], media_id=media["_id"], format=media["format"],
                    duration_seconds=media["duration_seconds"], size=media["size"], engine=media["engine"],
                    origin=media["source"])


def speech_media(media_id, commune_id, reference, title, rendered, engine):
    """The media document of a broadcast's speech (no item: it is read
    through its reference, ``/p/<commune>/speech/<reference>``)."""
    name = f"{slugify(title) or 'loi-doc'}.{rendered.format}"
    return media_document(media_id, commune_id, None, "audio", name, rendered.content_type, len(rendered.data),
                          "system", 1, format=rendered.format, duration_seconds=rendered.duration_seconds,
                          engine=engine, source="tts", purpose="broadcast", reference=reference)


def speech_rendered_event(commune_id, reference, media=None, error=""):
    """``content.speech_rendered``: ready with its media, or failed with why."""
    if media is None:
        return outgoing(SOURCE, "speech_rendered", commune_id, reference=reference, state="failed", error=error)
    return outgoing(SOURCE, "speech_rendered", commune_id, reference=reference, state="ready",
                    media_id=media["_id"], format=media["format"], duration_seconds=media["duration_seconds"],
                    engine=media["engine"])


# ---------------------------------------------------------------- reading


def view(item, section_names):
    """An item as callers see it (the stored document without storage fields)."""
    out = {k: v for k, v in item.items() if k not in ("search", "revisions", "history", "audio_job")}
    out["section_name"] = section_names.get(item["section_id"], "")
    if out.get("audio"):
        out["audio"] = {k: v for k, v in out["audio"].items() if k != "job_id"}
        out["audio"]["current"] = item["audio"].get("text_revision") == item["text_revision"]
    return out


def detail(item, section_names):
    out = view(item, section_names)
    out["history"] = sorted((item.get("history") or {}).values(), key=lambda e: e["at"], reverse=True)
    out["revisions"] = sorted(({k: v for k, v in r.items() if k != "fields"} for r in item["revisions"].values()),
                              key=lambda r: r["number"], reverse=True)
    return out


def feed_entry(item):
    """What the public feeds show of a live item: its published version only."""
    version = item["published"]
    return {"id": item["_id"], "title": version["title"], "summary": version["summary"], "body": version["body"],
            "section": version["section_name"], "section_id": version["section_id"], "kind": version["kind"],
            "published_at": item["first_published_at"], "updated_at": version["published_at"], "slug": item["slug"],
            "image_media_ids": list(version["image_media_ids"]), "audio_media_id": version["audio_media_id"],
            "channels": list(version["channels"])}


def publication_entry(item, section_names):
    """A live item as the latest publications list it: its published version's
    title, kind, section and channels, and when that version went out."""
    version = item["published"]
    return {"id": item["_id"], "title": version["title"], "kind": version["kind"],
            "section_id": version["section_id"],
            "section_name": section_names.get(version["section_id"]) or version["section_name"],
            "channels": list(version["channels"]), "published_at": version["published_at"],
            "first_published_at": item.get("first_published_at")}


def publicly_readable(item, media_id):
    """Whether a media file belongs to the live published version of the item."""
    version = item.get("published")
    return bool(item.get("live")) and version is not None and (
        media_id in version["image_media_ids"] or media_id == version.get("audio_media_id"))


# ---------------------------------------------------------------- diffs


def revision_of(item, number):
    revision = (item.get("revisions") or {}).get(f"r{number}")
    if revision is None:
        raise InvalidInput(f"Bản tin không có bản sửa số {number} (hiện có 1–{item['revision']}).")
    return revision


def word_ops(old, new):
    """A word-level diff of two texts: ops whose ``old`` parts join to the old
    text and ``new`` parts to the new one."""
    a, b = re.findall(r"\s+|\S+", old or ""), re.findall(r"\s+|\S+", new or "")
    ops = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        ops.append({"op": tag, "old": "".join(a[i1:i2]), "new": "".join(b[j1:j2])})
    return ops


def _as_lines(fields):
    lines = []
    for name in FIELDS:
        value = fields.get(name)
        if name == "body":
            lines.append(f"{FIELD_LABELS_VI[name]}:")
            lines += [f"  {line}" for line in (value or "").splitlines()]
        elif isinstance(value, list):
            lines.append(f"{FIELD_LABELS_VI[name]}: {', '.join(value)}")
        elif isinstance(value, dict):
            lines.append(f"{FIELD_LABELS_VI[name]}: {value.get('url') or ''} {value.get('claim') or ''}".rstrip())
        else:
            lines.append(f"{FIELD_LABELS_VI[name]}: {value or ''}")
    return lines


def diff(item, from_number, to_number):
    """What changed between two revisions: structured and as unified text."""
    old, new = revision_of(item, from_number)["fields"], revision_of(item, to_number)["fields"]
    changed = [name for name in FIELDS if old.get(name) != new.get(name)]
    unified = "\n".join(difflib.unified_diff(_as_lines(old), _as_lines(new), fromfile=f"bản sửa {from_number}",
                                             tofile=f"bản sửa {to_number}", lineterm=""))
    return {"item_id": item["_id"], "from_revision": from_number, "to_revision": to_number, "changed": changed,
            "fields": {name: {"old": old.get(name), "new": new.get(name)} for name in changed
                       if name not in TEXT_FIELDS},
            "text": {name: word_ops(old.get(name), new.get(name)) for name in changed if name in TEXT_FIELDS},
            "unified": unified}


def media_document(media_id, commune_id, item_id, kind, name, content_type, size, actor, revision, **extra):
    return {"_id": media_id, "commune_id": commune_id, "item_id": item_id, "kind": kind, "name": name,
            "content_type": content_type, "size": size, "created_at": iso(), "created_by": actor,
            "revision": revision, **extra}
