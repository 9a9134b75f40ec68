"""The gateway's rules, with no I/O: who may grant which roles, what a user,
an API key and an activity entry look like, and who may be assigned a task.

Tenancy (xã as tenant): every user and API key belongs to one commune, except
district administrators (quản trị cấp huyện), who belong to none and name the
commune they act on. A commune user may work in one of its agencies (cơ quan).
"""
import re
import uuid
from datetime import date
from urllib.parse import quote

from shared.context import ROLES
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.timeutil import iso

from services.gateway.i18n import label, status_label, t

DISTRICT_ADMIN = "district_admin"
READ_ROLES = tuple(role for role in ROLES if role != DISTRICT_ADMIN)
TASK_EDIT_ROLES = ("commune_admin", "editor", "approver")
# operators run the radio and e-boards, so they report progress on what they do
TASK_REPORT_ROLES = TASK_EDIT_ROLES + ("operator",)
PLAN_IMPORT_ROLES = ("commune_admin", "editor")
ADMIN_ROLES = ("commune_admin",)
ASSIGN_ROLES = ("commune_admin",)

# The tasks service owns these; the console needs them for its status select.
TASK_STATUSES = ("not_started", "in_progress", "waiting_guidance", "done", "cancelled")
# The national template of a commune plan for thông tin cơ sở và thông tin đối
# ngoại has two parts: I grassroots information, II foreign information.
PLAN_PARTS = ("I", "II")
# The tasks service's due-date filters and timeline kinds, for the console's labels.
DUE_FILTERS = ("overdue", "due_soon", "no_deadline", "this_quarter")
ACTIVITY_TEXT_LENGTH = 120

# The content service decides who may do what with content (services/content/API.md)
# and refuses the rest; the console uses the same role sets only to choose the
# forms and pages it offers.
CONTENT_EDIT_ROLES = ("commune_admin", "editor")
CONTENT_REVIEW_ROLES = ("commune_admin", "approver")
CONTENT_AUDIO_ROLES = CONTENT_EDIT_ROLES + ("approver",)
CONTENT_ADMIN_ROLES = ("commune_admin",)
# The training service decides who may change the roster and courses and who
# sees people's personal data (services/training/API.md "Roles"); the gateway
# refuses the rest before calling it, and the console offers forms to the same roles.
TRAINING_MANAGE_ROLES = ("commune_admin", "trainer")
TRAINING_PERSONAL_ROLES = ("commune_admin", "trainer")
# The content service's codes, for the console's selects and labels.
CONTENT_KINDS = ("news", "article", "radio_bulletin", "eboard_notice", "press_release", "rebuttal", "promotion",
                 "human_rights")
CONTENT_CHANNELS = ("website", "social", "eboard", "radio", "province")
CONTENT_STATUSES = ("draft", "submitted", "returned", "approved", "scheduled", "published", "archived")
# what the public feeds and pages show: the commune website and its social pages
FEED_CHANNELS = ("website", "social")
_KIND_CHANNELS = {"radio_bulletin": ("radio",), "eboard_notice": ("eboard",)}


def new_id():
    return uuid.uuid4().hex


def check_user_scope(roles, commune_id):
    """A district administrator belongs to no commune; everyone else to one."""
    if DISTRICT_ADMIN in roles and commune_id:
        raise InvalidInput("Quản trị cấp huyện không gắn với một xã: bỏ commune_id.")
    if DISTRICT_ADMIN not in roles and not commune_id:
        raise InvalidInput("Tài khoản cấp xã cần có commune_id.")


def check_grant(caller, roles):
    """Only a district administrator may create another one."""
    if DISTRICT_ADMIN in roles and not caller.is_district:
        raise Forbidden("Chỉ quản trị cấp huyện mới được cấp vai trò quản trị cấp huyện.")


def check_agency(commune, agency_id):
    """A user's office must be one of their commune's agencies."""
    if agency_id is None:
        return
    known = [agency["id"] for agency in (commune or {}).get("agencies", ())]
    if agency_id not in known:
        raise InvalidInput(
            f"Cơ quan «{agency_id}» không có trong danh sách cơ quan của xã"
            + (f" ({', '.join(known)})." if known else "."),
            {"agency_id": agency_id},
        )


def agency(commune, agency_id):
    """One of the commune's agencies, or NotFound."""
    for candidate in commune.get("agencies", ()):
        if candidate["id"] == agency_id:
            return candidate
    raise NotFound("Không tìm thấy cơ quan này trong danh sách cơ quan của xã.", {"agency_id": agency_id})


def profile_update(existing, data):
    """The fields ``ensure_user`` sets on an existing account. Its office is
    changed only when one is given, and dropped when it moves to another commune."""
    profile = {k: data[k] for k in ("display_name", "commune_id", "roles", "language", "active")}
    if "agency_id" in data:
        profile["agency_id"] = data["agency_id"]
    elif existing.get("commune_id") != data["commune_id"]:
        profile["agency_id"] = None
    return profile


def new_user(data, password_hash):
    return {
        "_id": new_id(),
        "username": data["username"],
        "display_name": data["display_name"],
        "password_hash": password_hash,
        "commune_id": data.get("commune_id"),
        "agency_id": data.get("agency_id"),
        "roles": sorted(set(data["roles"])),
        "language": data.get("language", "vi"),
        "active": data.get("active", True),
        "created_at": iso(),
    }


def public_user(user):
    """A user as clients see it: never the password hash."""
    return {
        "id": user["_id"],
        "username": user["username"],
        "display_name": user["display_name"],
        "commune_id": user.get("commune_id"),
        "agency_id": user.get("agency_id"),
        "roles": list(user.get("roles", ())),
        "language": user.get("language", "vi"),
        "active": user.get("active", True),
        "created_at": user.get("created_at"),
    }


def public_commune(commune):
    return {k: v for k, v in commune.items() if k not in ("_id", "created_at", "updated_at")} | {"id": commune["_id"]}


def caller_json(caller):
    return {"subject": caller.subject, "commune_id": caller.commune_id, "roles": sorted(caller.roles),
            "kind": caller.kind, "name": caller.name}


def new_api_key_record(commune_id, name, roles, key_hash, created_by):
    """API keys act inside one commune, so they never hold district rights."""
    if DISTRICT_ADMIN in roles:
        raise Forbidden("Khóa API chỉ dùng trong một xã, không mang vai trò quản trị cấp huyện.")
    return {
        "_id": new_id(),
        "key_hash": key_hash,
        "name": name,
        "commune_id": commune_id,
        "roles": sorted(set(roles)),
        "active": True,
        "created_at": iso(),
        "created_by": created_by,
    }


def public_api_key(record):
    return {k: record[k] for k in ("name", "commune_id", "roles", "active", "created_at")} | {"id": record["_id"]}


def lead_agency_ids(task):
    """The registry ids of a task's lead agencies, as the tasks service matched them."""
    return [ref["agency_id"] for ref in task.get("lead_agencies", ()) if ref.get("agency_id")]


def assignees(task, wanted_ids, users):
    """``[{user_id, name}]`` for the people to assign a task to.

    ``users`` are the commune's active accounts. When the lead agency is
    known, assignees come from it (nhiệm vụ giao cho cán bộ của cơ quan chủ
    trì); a task whose lead agency is unmatched may go to anyone in the commune.
    """
    by_id = {user["_id"]: user for user in users}
    unknown = [user_id for user_id in wanted_ids if user_id not in by_id]
    if unknown:
        raise InvalidInput("Không tìm thấy tài khoản đang hoạt động của xã: " + ", ".join(unknown) + ".",
                           {"user_ids": unknown})
    leads = lead_agency_ids(task)
    outside = [by_id[user_id]["display_name"] for user_id in wanted_ids
               if leads and by_id[user_id].get("agency_id") not in leads]
    if outside:
        names = ", ".join(ref.get("agency_name") or ref["text"]
                          for ref in task["lead_agencies"] if ref.get("agency_id"))
        raise InvalidInput(f"Nhiệm vụ {task['code']} chỉ giao cho cán bộ của cơ quan chủ trì ({names}); "
                           f"không thuộc cơ quan này: {', '.join(outside)}.", {"outside": outside})
    return [{"user_id": user_id, "name": by_id[user_id]["display_name"]} for user_id in dict.fromkeys(wanted_ids)]


def assignable(task, users):
    """The accounts the assignee picker offers: the lead agency's people, or
    everyone when the lead agency is unmatched."""
    leads = lead_agency_ids(task)
    return [user for user in users if not leads or user.get("agency_id") in leads]


_ACTIVITY_FIELDS = {
    "task_status_changed": ("task_id", "plan_id", "code", "title", "old_status", "new_status"),
    "plan_imported": ("plan_id", "title", "task_count"),
    "task_overdue": ("task_id", "plan_id", "code", "title", "due"),
    "task_due_soon": ("task_id", "plan_id", "code", "title", "due"),
    "task_progress_reported": ("task_id", "plan_id", "code", "title", "update_id", "text"),
    "item_approved": ("item_id", "revision", "kind", "title", "comment"),
    "item_returned": ("item_id", "revision", "kind", "title", "comment"),
    "item_published": ("item_id", "revision", "kind", "title", "section_name", "channels", "first_publication"),
    "item_archived": ("item_id", "revision", "kind", "title", "was_live"),
    "audio_rendered": ("item_id", "revision", "media_id", "duration_seconds", "origin"),
    # the gateway adds ``village_name`` to device events: the village as the commune calls it then
    "device_registered": ("device_id", "kind", "village", "village_name", "transport"),
    "device_provisioned": ("device_id", "credential_id", "transport", "how"),
    "credential_revoked": ("device_id", "credential_id", "reason"),
    "device_status_reported": ("device_id", "online", "reported_at"),
    "alarm_raised": ("alarm_id", "device_id", "rule", "severity", "village", "village_name", "occurrences"),
    "alarm_cleared": ("alarm_id", "device_id", "rule", "severity", "village", "village_name", "occurrences"),
    "broadcast_created": ("broadcast_id", "level", "origin", "title", "state", "device_count"),
    "broadcast_escalated": ("broadcast_id", "level", "title", "acknowledged", "total", "share"),
    "broadcast_cancelled": ("broadcast_id", "title", "reason"),
    "enrolment_promoted": ("enrolment_id", "course_id", "course_title", "person_id", "full_name", "freed_by"),
    # the gateway counts the event's ``people`` into ``people_count``: the feed keeps no list of people
    "completions_recorded": ("course_id", "course_title", "topics", "source", "completed_on", "people_count"),
}
# fields an event may leave out (the catalogue gives them a default)
_ACTIVITY_DEFAULTS = {"comment": "", "reason": "", "village": None, "village_name": None, "share": None}


def activity_entry(kind, event, actor_name):
    """The activity feed entry (hoạt động gần đây) for one event.

    Keyed by the event id so a redelivered event cannot add a second entry;
    ``summary`` is a ready Vietnamese sentence for API clients, while the
    console renders ``data`` in the reader's language.
    """
    if kind not in _ACTIVITY_FIELDS:
        raise ValueError(f"no activity for event {kind}")
    data = {k: event[k] if k in event else _ACTIVITY_DEFAULTS[k] for k in _ACTIVITY_FIELDS[kind]}
    entry = {
        "_id": event["event_id"],
        "commune_id": event["commune_id"],
        "occurred_at": event["occurred_at"],
        "kind": kind,
        "actor": event.get("actor"),
        "actor_name": actor_name,
        "data": data,
    }
    entry["summary"] = describe_activity(entry, "vi")
    return entry


def describe_activity(entry, lang):
    actor = entry.get("actor_name") or t("activity.system", lang)
    data = entry["data"]
    kind = entry["kind"]
    if kind == "task_status_changed":
        return t("activity.task_status_changed", lang, actor=actor, code=data["code"],
                 old=status_label(data["old_status"], lang), new=status_label(data["new_status"], lang))
    if kind in ("task_overdue", "task_due_soon"):
        return t(f"activity.{kind}", lang, code=data["code"], title=data["title"], due=day_month_year(data["due"]))
    if kind == "task_progress_reported":
        return t("activity.task_progress_reported", lang, actor=actor, code=data["code"],
                 text=shorten(data["text"], ACTIVITY_TEXT_LENGTH))
    if kind in _CONTENT_ACTIVITY:
        return _CONTENT_ACTIVITY[kind](data, actor, lang)
    if kind in _DEVICE_ACTIVITY:
        return _DEVICE_ACTIVITY[kind](data, entry.get("actor_name"), lang)
    if kind in _BROADCAST_ACTIVITY:
        return _BROADCAST_ACTIVITY[kind](data, actor, lang)
    if kind in _TRAINING_ACTIVITY:
        return _TRAINING_ACTIVITY[kind](data, lang)
    return t("activity.plan_imported", lang, actor=actor, title=data["title"], count=data["task_count"])


def _reviewed(key):
    def describe(data, actor, lang):
        text = t(key, lang, actor=actor, title=data["title"], revision=data["revision"])
        if data["comment"]:
            text += t("activity.comment", lang, comment=shorten(data["comment"], ACTIVITY_TEXT_LENGTH))
        return text
    return describe


def _published(data, actor, lang):
    channels = ", ".join(label("channel", channel, lang) for channel in data["channels"])
    key = "activity.item_published" if data["first_publication"] else "activity.item_republished"
    return t(key, lang, actor=actor, title=data["title"], channels=channels)


def _archived(data, actor, lang):
    key = "activity.item_archived_live" if data["was_live"] else "activity.item_archived"
    return t(key, lang, actor=actor, title=data["title"])


def _audio(data, actor, lang):
    return t(f"activity.audio_rendered_{data['origin']}", lang, actor=actor, revision=data["revision"],
             duration=duration(data["duration_seconds"]))


_CONTENT_ACTIVITY = {
    "item_approved": _reviewed("activity.item_approved"),
    "item_returned": _reviewed("activity.item_returned"),
    "item_published": _published,
    "item_archived": _archived,
    "audio_rendered": _audio,
}


def _registered(data, actor, lang):
    kind = label("device_kind", data["kind"], lang)
    where = data["village_name"] or data["village"]
    return t("activity.device_registered" if where else "activity.device_registered_no_village", lang,
             actor=actor or t("activity.system", lang), device=data["device_id"], kind=kind, village=where)


def _provisioned(data, actor, lang):
    return t(f"activity.device_provisioned_{data['how']}", lang, actor=actor or t("activity.system", lang),
             device=data["device_id"])


def _revoked(data, actor, lang):
    text = t("activity.credential_revoked", lang, actor=actor or t("activity.system", lang), device=data["device_id"])
    if data["reason"]:
        text += t("activity.comment", lang, comment=shorten(data["reason"], ACTIVITY_TEXT_LENGTH))
    return text


def _status(data, actor, lang):
    return t("activity.device_online" if data["online"] else "activity.device_offline", lang, device=data["device_id"])


def _alarm(data, actor, lang, raised):
    """A raised alarm, or a cleared one: by a person, or by itself (no actor:
    an offline device came back)."""
    values = {"device": data["device_id"], "rule": label("alarm_rule", data["rule"], lang),
              "severity": label("severity", data["severity"], lang), "actor": actor}
    key = "activity.alarm_raised" if raised else "activity.alarm_cleared" if actor else "activity.alarm_cleared_itself"
    return t(key, lang, **values)


# Device events: the actor is a person's name, or None for the telemetry
# service itself (a device provisioning itself, an alarm that clears).
_DEVICE_ACTIVITY = {
    "device_registered": _registered,
    "device_provisioned": _provisioned,
    "credential_revoked": _revoked,
    "device_status_reported": _status,
    "alarm_raised": lambda data, actor, lang: _alarm(data, actor, lang, raised=True),
    "alarm_cleared": lambda data, actor, lang: _alarm(data, actor, lang, raised=False),
}


def _broadcast_created(data, actor, lang):
    """The commune's own broadcast is someone's; a bulletin from outside is
    told by where it came from and what waits for the commune."""
    values = {"actor": actor, "title": data["title"], "count": data["device_count"],
              "level": label("broadcast_level", data["level"], lang).lower(),
              "origin": label("broadcast_from", data["origin"], lang)}
    if data["origin"] == "commune":
        return t("activity.broadcast_created", lang, **values)
    waiting = data["state"] if data["state"] in ("inbox", "needs_order") else "dispatched"
    return t(f"activity.bulletin_{waiting}", lang, **values)


def _broadcast_escalated(data, actor, lang):
    share = data["share"] if data["share"] is not None else (
        data["acknowledged"] / data["total"] if data["total"] else 0)
    return t("activity.broadcast_escalated", lang, title=data["title"], acknowledged=data["acknowledged"],
             total=data["total"], percent=round(share * 100),
             level=label("broadcast_level", data["level"], lang).lower())


def _broadcast_cancelled(data, actor, lang):
    text = t("activity.broadcast_cancelled", lang, actor=actor, title=data["title"])
    if data["reason"]:
        text += t("activity.comment", lang, comment=shorten(data["reason"], ACTIVITY_TEXT_LENGTH))
    return text


# Broadcast events (services/broadcast/API.md "Events"); an escalation is the
# service's own, a bulletin's creation the source system's.
_BROADCAST_ACTIVITY = {
    "broadcast_created": _broadcast_created,
    "broadcast_escalated": _broadcast_escalated,
    "broadcast_cancelled": _broadcast_cancelled,
}


def _enrolment_promoted(data, lang):
    return t("activity.enrolment_promoted", lang, name=data["full_name"], title=data["course_title"])


def _completions_recorded(data, lang):
    key = "activity.online_completions_recorded" if data["source"] == "online" else "activity.completions_recorded"
    return t(key, lang, count=data["people_count"], title=data["course_title"])


# Training events (services/training/API.md "Events"): the service's own doing
# (a freed place, a closed course, an import), told without an actor.
_TRAINING_ACTIVITY = {
    "enrolment_promoted": _enrolment_promoted,
    "completions_recorded": _completions_recorded,
}


def activity_link(entry):
    """The console page an activity entry is about: its task, content item, device, broadcast or course."""
    data = entry["data"]
    if data.get("broadcast_id"):
        return f"/broadcasts/{quote(data['broadcast_id'], safe='')}"
    if data.get("task_id"):
        return f"/tasks/{quote(data['task_id'], safe='')}"
    if data.get("item_id"):
        return f"/content/{quote(data['item_id'], safe='')}"
    if data.get("device_id"):
        return f"/devices/{quote(data['device_id'], safe='')}"
    if data.get("course_id"):
        return f"/training/courses/{quote(data['course_id'], safe='')}"
    return None


def duration(seconds):
    """A recording's length as "1:05" (minutes:seconds), "1:02:05" past an hour."""
    total = round(float(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def default_channels(kind):
    """Where a kind of item goes unless the editor chooses (API.md's table)."""
    return _KIND_CHANNELS.get(kind, FEED_CHANNELS)


def content_actions(item, caller):
    """The workflow steps the item page offers ``caller``, by the content
    service's state diagram (it decides again when the step is asked for)."""
    status = item["status"]
    editing = caller.has_any(*CONTENT_EDIT_ROLES)
    reviewing = caller.has_any(*CONTENT_REVIEW_ROLES)
    rendering = (item.get("audio") or {}).get("state") == "rendering"
    offered = {
        "edit": editing and status != "archived",
        "submit": editing and status in ("draft", "returned"),
        "approve": reviewing and status == "submitted",
        "return": reviewing and status in ("submitted", "approved", "scheduled"),
        "publish": reviewing and status == "approved",
        "unschedule": reviewing and status == "scheduled",
        "archive": reviewing and status != "archived",
        "request_audio": caller.has_any(*CONTENT_AUDIO_ROLES) and status != "archived" and not rendering,
        "upload_audio": editing and status != "archived",
    }
    return {action for action, allowed in offered.items() if allowed}


def on_web(version):
    """Whether a published version is on the commune website or social pages."""
    return bool(version) and any(channel in FEED_CHANNELS for channel in version.get("channels", ()))


def paragraphs(text):
    """A body as its paragraphs (separated by blank lines), each stripped."""
    return [part.strip() for part in re.split(r"\n\s*\n", (text or "").replace("\r\n", "\n")) if part.strip()]


def public_activity(entry):
    return {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}


def day_month_year(value):
    """An ISO date ("2026-12-31") as officials write it: "31/12/2026"."""
    if not value:
        return ""
    return date.fromisoformat(value[:10]).strftime("%d/%m/%Y")


def shorten(text, length):
    """One line of at most ``length`` characters, cut at a word."""
    line = " ".join((text or "").split())
    if len(line) <= length:
        return line
    return line[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def level(code):
    """Depth of a task code: "I" is 0, "I.1" is 1, "I.6.1" is 2."""
    return code.count(".")


def heading_codes(tasks):
    """Codes of the tasks others in the list belong to: headings ("I",
    "I.1"), whose sub-tasks carry the deadlines."""
    return {task["parent_code"] for task in tasks if task.get("parent_code")}


def task_history(task):
    """What happened to a task, newest first: the changes the tasks service
    recorded (status, guidance, assignees …) and the progress reports, which
    it keeps apart from them."""
    entries = [dict(entry, kind="change") for entry in task.get("history", ())]
    entries += [{"kind": "update", "id": update["_id"], "at": update["at"], "by": update["by"],
                 "text": update["text"], "links": len(update.get("links", ())), "files": len(update.get("files", ()))}
                for update in task.get("updates", ())]
    return sorted(entries, key=lambda entry: entry["at"], reverse=True)


def period_value(period):
    """A report period as the console's select sends it: "quarter:2026:4", "year:2026"."""
    return ":".join(str(part) for part in (period["kind"], period["year"], period.get("number")) if part is not None)


def current_period(periods, today):
    """The select's default: the quarter we are in, else the first period offered."""
    for period in periods:
        if period["kind"] == "quarter" and period["start"] <= today.isoformat() <= period["end"]:
            return period_value(period)
    return period_value(periods[0]) if periods else ""
