"""The gateway's rules, with no I/O: who may grant which roles, what a user,
an API key and an activity entry look like, and the overview's arithmetic.

Tenancy (xã as tenant): every user and API key belongs to one commune, except
district administrators (quản trị cấp huyện), who belong to none and name the
commune they act on.
"""
import uuid
from collections import Counter, defaultdict

from shared.context import ROLES
from shared.errors import Forbidden, InvalidInput
from shared.timeutil import iso

from services.gateway.i18n import status_label, t

DISTRICT_ADMIN = "district_admin"
READ_ROLES = tuple(role for role in ROLES if role != DISTRICT_ADMIN)
TASK_EDIT_ROLES = ("commune_admin", "editor", "approver")
PLAN_IMPORT_ROLES = ("commune_admin", "editor")
ADMIN_ROLES = ("commune_admin",)

# The tasks service owns these; the console needs them for its status select.
TASK_STATUSES = ("not_started", "in_progress", "waiting_guidance", "done", "cancelled")
# The national template of a commune plan for thông tin cơ sở và thông tin đối
# ngoại has two parts: I grassroots information, II foreign information.
PLAN_PARTS = ("I", "II")


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


def new_user(data, password_hash):
    return {
        "_id": new_id(),
        "username": data["username"],
        "display_name": data["display_name"],
        "password_hash": password_hash,
        "commune_id": data.get("commune_id"),
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


def activity_entry(kind, event, actor_name):
    """The activity feed entry (hoạt động gần đây) for one event.

    Keyed by the event id so a redelivered event cannot add a second entry;
    ``summary`` is a ready Vietnamese sentence for API clients, while the
    console renders ``data`` in the reader's language.
    """
    if kind == "task_status_changed":
        data = {k: event[k] for k in ("task_id", "plan_id", "code", "title", "old_status", "new_status")}
    elif kind == "plan_imported":
        data = {k: event[k] for k in ("plan_id", "title", "task_count")}
    else:
        raise ValueError(f"no activity for event {kind}")
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
    if entry["kind"] == "task_status_changed":
        return t("activity.task_status_changed", lang, actor=actor, code=data["code"],
                 old=status_label(data["old_status"], lang), new=status_label(data["new_status"], lang))
    return t("activity.plan_imported", lang, actor=actor, title=data["title"], count=data["task_count"])


def public_activity(entry):
    return {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}


def progress_by_part(tasks):
    """Counts of tasks per part (I, II …) and status, in document order."""
    counts = defaultdict(Counter)
    for task in tasks:
        counts[task["part"]][task["status"]] += 1
    return {part: dict(by_status) for part, by_status in counts.items()}


def level(code):
    """Depth of a task code: "I" is 0, "I.1" is 1, "I.6.1" is 2."""
    return code.count(".")
