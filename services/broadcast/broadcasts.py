"""A broadcast (lượt phát / bản tin): something played now or later on a
target's devices — the commune's own, a bulletin from the provincial or
central source system, or a CAP alert — the rules, with no I/O.

States::

    inbox ──(operator schedules)──→ scheduled ──(its time)──→ sending → done
    needs_order ──(operator orders)──┘                          │
    (created by the commune, a priority/emergency bulletin) ────┘
    any state but done/expired → cancelled;  sending → expired (its time ran out)

``sending`` lasts until every delivery is final (played or failed). What a
device is asked to do follows the content: audio → ``play`` on loudspeakers,
text → ``show_text`` on e-boards; the level gives the command's priority
(Circular 39: emergency interrupts, priority goes before the commune's own
items, normal waits its turn).
"""
import math
import uuid
from datetime import timedelta

from shared.errors import Conflict, InvalidInput
from shared.timeutil import iso, parse_iso

from services.broadcast.levels import LEVEL_VI, LEVELS

STATES = ("inbox", "needs_order", "scheduled", "sending", "done", "expired", "cancelled")
STATES_VI = {"inbox": "Chờ xử lý", "needs_order": "Chờ sắp xếp thứ tự", "scheduled": "Đã lên lịch",
             "sending": "Đang phát", "done": "Đã phát xong", "expired": "Hết hạn", "cancelled": "Đã hủy"}
OPEN = frozenset({"inbox", "needs_order", "scheduled", "sending"})
ORIGINS = ("commune", "province", "central", "cap")
COMMAND_PRIORITY = {"normal": "normal", "priority": "high", "emergency": "emergency"}
CONTENT_KINDS = ("audio", "text")
PLACEMENTS = ("before", "after")
MAX_TEXT = 2000
# where the content service serves a broadcast's speech (relative, like
# every media address devices get: they resolve it against their gateway)
SPEECH_PATH = "/p/{commune_id}/speech/{reference}"


def needs_speech(data):
    """Loudspeakers play audio: a broadcast for them that names neither a
    content item nor a media address is spoken from its text."""
    return (data.get("kind") or "audio") == "audio" and not data.get("media_url") and not data.get("content_id")


def spoken(data):
    """What a spoken broadcast says: its speech text (a CAP alert's), else
    its title, then its text."""
    if data.get("speech_text"):
        return data["speech_text"]
    title, text = (data.get("title") or "").strip(), (data.get("text") or "").strip()
    if not text or text.startswith(title):
        return text or title
    return f"{title}.\n{text}"


def speech_request(commune_id, reference, text, now):
    """The fields of a broadcast whose speech is asked for: its media address
    and the speech's state (``requested`` → ``ready`` | ``failed``)."""
    return {"media_url": SPEECH_PATH.format(commune_id=commune_id, reference=reference),
            "speech": {"state": "requested", "reference": reference, "text": text, "requested_at": iso(now),
                       "media_id": None, "duration_seconds": None, "error": "", "rendered_at": None}}


def speech_outcome(broadcast, outcome, now):
    """The fields a ``content.speech_rendered`` sets on the broadcast: the
    speech's state, and its real length while the broadcast has not gone out."""
    ready = outcome["state"] == "ready"
    fields = {"speech": dict(broadcast["speech"], state=outcome["state"], media_id=outcome.get("media_id"),
                             duration_seconds=outcome.get("duration_seconds"), error=outcome.get("error") or "",
                             rendered_at=iso(now))}
    if ready and outcome.get("duration_seconds") and broadcast["state"] in ("inbox", "needs_order", "scheduled"):
        fields["duration_seconds"] = max(1, math.ceil(outcome["duration_seconds"]))
    return fields


def new_broadcast(commune_id, data, origin, actor, now, device_ids, state):
    """A broadcast document (ids, times as ISO UTC)."""
    if origin not in ORIGINS:
        raise InvalidInput(f"origin: nguồn bản tin không hợp lệ «{origin}».")
    if data["level"] not in LEVELS:
        raise InvalidInput("level: mức bản tin phải là normal, priority hoặc emergency.")
    expires_at = data.get("expires_at") or now + timedelta(minutes=data.get("expires_in_minutes") or 60)
    if expires_at <= now:
        raise InvalidInput("expires_at: bản tin đã hết hạn trước khi phát.")
    broadcast_id = uuid.uuid4().hex
    doc = {
        "_id": broadcast_id, "broadcast_id": broadcast_id, "commune_id": commune_id, "origin": origin,
        "source": data.get("source"), "external_id": data.get("external_id"),
        "level": data["level"], "state": state, "title": data["title"], "text": data.get("text") or "",
        "content_id": data.get("content_id") or f"broadcast-{broadcast_id}", "media_url": data.get("media_url") or "",
        "kind": data.get("kind") or "audio", "target": data["target"], "device_ids": sorted(device_ids),
        "device_count": len(device_ids), "duration_seconds": data.get("duration_seconds") or 60,
        "repeat": data.get("repeat") or 1, "command_id": f"bc-{broadcast_id}",
        "created_at": iso(now), "created_by": actor, "received_at": iso(now),
        "scheduled_at": None, "dispatched_at": None, "expires_at": iso(expires_at), "finished_at": None,
        "cancelled_at": None, "reason": "", "escalated_at": None, "cap": data.get("cap"), "order": None,
        "clash": data.get("clash"), "stop_command_ids": [], "speech": None,
    }
    if needs_speech(data):
        doc.update(speech_request(commune_id, doc["content_id"], spoken(data), now))
    return doc


def command(broadcast):
    """(kind, params) of the DeviceLink command that plays ``broadcast``."""
    if broadcast["kind"] == "text":
        text = broadcast["text"] or broadcast["title"]
        return "show_text", {"text": text[:MAX_TEXT], "duration_seconds": broadcast["duration_seconds"]}
    return "play", {"content_id": broadcast["content_id"][:128], "title": broadcast["title"][:500],
                    "media_url": broadcast["media_url"], "priority": COMMAND_PRIORITY[broadcast["level"]],
                    "repeat": broadcast["repeat"], "duration_seconds": broadcast["duration_seconds"]}


def ttl(broadcast, now):
    """How long the command stays worth acting on: until the broadcast expires."""
    return max(timedelta(seconds=1), parse_iso(broadcast["expires_at"]) - now)


def check_open(broadcast, action):
    if broadcast["state"] not in OPEN:
        raise Conflict(f"Không thể {action}: bản tin «{broadcast['title']}» đang ở trạng thái "
                       f"«{STATES_VI[broadcast['state']]}».", {"state": broadcast["state"]})


def check_schedulable(broadcast):
    if broadcast["state"] != "inbox":
        raise Conflict(f"Chỉ bản tin đang chờ trong hộp thư mới được lên lịch; «{broadcast['title']}» đang ở trạng "
                       f"thái «{STATES_VI[broadcast['state']]}».", {"state": broadcast["state"]})


def check_orderable(broadcast, placement):
    if placement not in PLACEMENTS:
        raise InvalidInput("placement: chọn before (phát trước) hoặc after (phát sau) chương trình của xã.")
    if broadcast["state"] != "needs_order":
        raise Conflict(f"Bản tin «{broadcast['title']}» không cần sắp xếp thứ tự (trạng thái "
                       f"«{STATES_VI[broadcast['state']]}»).", {"state": broadcast["state"]})


def confirmation_needed(device_ids, title):
    """The refusal an emergency gets until its sender confirms it."""
    shown = sorted(device_ids)
    return Conflict(f"Phát khẩn cấp «{title}» sẽ ngắt mọi nội dung đang phát trên {len(shown)} thiết bị. "
                    "Hãy xác nhận (confirm) để phát.",
                    {"confirmation_required": True, "device_count": len(shown), "devices": shown})


def view(broadcast):
    """A broadcast as callers see it."""
    out = {k: v for k, v in broadcast.items() if not k.startswith("_") and k not in ("device_ids", "stop_command_ids")}
    out["level_vi"] = LEVEL_VI[broadcast["level"]]
    out["state_vi"] = STATES_VI[broadcast["state"]]
    return out


def inbox_key(broadcast):
    return broadcast["received_at"], broadcast["broadcast_id"]
