"""What the broadcast service answers, shaped as its contract says
(services/broadcast/API.md), for tests where a stand-in replaces it. Each
function returns a fresh copy, so a test may change what it gets."""
import copy

CAP_ALERT = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NB-2026-11-26-001</identifier>
  <sender>pctt@ninhbinh.gov.vn</sender>
  <sent>2026-11-26T06:00:00+07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Bão số 9</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>Bão số 9 đổ bộ</headline>
    <description>Bão số 9 đổ bộ vào Ninh Bình chiều nay; người dân ở trong nhà.</description>
    <area><areaDesc>Xã Xuân Hưng: Thôn 1; Thôn 9</areaDesc></area>
  </info>
</alert>
"""


def broadcast(broadcast_id="b1", **changes):
    """An emergency of the commune, on air on three loudspeakers."""
    base = {"broadcast_id": broadcast_id, "commune_id": "xuan-hung", "origin": "commune", "level": "emergency",
            "state": "sending", "title": "Bão số 9 đổ bộ", "text": "Bà con ở trong nhà, tránh xa bờ sông.",
            "content_id": None, "media_url": None, "kind": "audio", "target": {"commune": True}, "device_count": 3,
            "duration_seconds": 90, "repeat": 2, "created_at": "2026-11-26T01:00:00.000Z", "created_by": "u1",
            "scheduled_at": None, "dispatched_at": "2026-11-26T01:00:01.000Z", "expires_at": "2026-11-26T02:00:00.000Z",
            "finished_at": None, "cancelled_at": None, "reason": "", "escalated_at": None, "cap": None, "order": None}
    return copy.deepcopy({**base, **changes})


def bulletin(broadcast_id, level, state="inbox", origin="province", **changes):
    return broadcast(broadcast_id, level=level, state=state, origin=origin, dispatched_at=None, **changes)


def delivery(device_id, state, attempts=1, **changes):
    base = {"device_id": device_id, "village": "thon-1", "state": state, "attempts": attempts,
            "sent_at": "2026-11-26T01:00:01.000Z", "acknowledged_at": None, "playing_at": None, "played_at": None,
            "message": "", "failure": None}
    return copy.deepcopy({**base, **changes})


def detail(broadcast_id="b1", **changes):
    """What ``get_broadcast`` answers: two devices acknowledged of three."""
    deliveries = [
        delivery("loa-thon-1", "playing", acknowledged_at="2026-11-26T01:00:02.000Z",
                 playing_at="2026-11-26T01:00:03.000Z"),
        delivery("loa-thon-1b", "acknowledged", acknowledged_at="2026-11-26T01:00:04.000Z"),
        delivery("loa-du-phong", "failed", attempts=4, village=None, failure="thiết bị ngoại tuyến"),
    ]
    summary = {"total": 3, "states": {"queued": 0, "sent": 0, "acknowledged": 1, "playing": 1, "played": 0,
                                      "failed": 1},
               "acknowledged": 2, "share_acknowledged": 2 / 3, "unacknowledged": ["loa-du-phong"]}
    return dict(broadcast(broadcast_id, **changes), delivery=summary, deliveries=deliveries)


def inbox_list():
    """``list_broadcasts({"state": "inbox"})``: two priority bulletins and a normal one, in inbox order."""
    return {"items": [bulletin("b2", "priority", title="Lịch tiêm chủng mở rộng",
                               created_at="2026-11-25T01:00:00.000Z"),
                      bulletin("b3", "priority", origin="central", title="Thông báo của Bộ Y tế",
                               created_at="2026-11-25T03:00:00.000Z"),
                      bulletin("b4", "normal", title="Hướng dẫn khai báo thuế", created_at="2026-11-24T01:00:00.000Z")],
            "inbox": {"normal": 1, "priority": 2, "emergency": 0}}


def clashing_list():
    return {"items": [bulletin("b5", "priority", state="needs_order", title="Tin phòng chống dịch")],
            "inbox": {"normal": 1, "priority": 2, "emergency": 0}}


def recent_list():
    return {"items": [broadcast("b1", created_at="2026-11-26T01:00:00.000Z"),
                      broadcast("b6", level="normal", state="done", title="Bản tin sáng",
                                created_at="2026-11-26T00:00:00.000Z"),
                      bulletin("b4", "normal", title="Hướng dẫn khai báo thuế")],
            "inbox": {"normal": 1, "priority": 2, "emergency": 0}}


def zones():
    return [{"id": "thon-1", "name": "Thôn 1", "kind": "village", "village": "thon-1",
             "device_ids": ["loa-thon-1", "loa-thon-1b"], "device_count": 2},
            {"id": "loa-cho", "name": "Loa chợ và trường học", "kind": "group", "village": None,
             "device_ids": ["loa-thon-1b", "loa-du-phong"], "device_count": 2}]


def programme(programme_id="sang", **changes):
    base = {"id": programme_id, "name": "Bản tin sáng", "priority": "normal",
            "items": [{"content_id": "i1", "title": "Thời sự", "kind": "audio", "duration_seconds": 600,
                       "media_url": "https://xuanhung.example/a/i1.mp3"}],
            "repeat": 1, "gap_seconds": 0, "target": {"zones": ["thon-1"]},
            "when": {"rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=6,17;BYMINUTE=0", "start_date": "2026-11-01"},
            "valid_from": None, "valid_until": None, "device_count": 2, "next_at": "2026-11-27T10:00:00.000Z",
            "updated_at": "2026-11-20T02:00:00.000Z", "updated_by": "Anh Tuấn"}
    return copy.deepcopy({**base, **changes})


def programme_detail(programme_id="sang", **changes):
    return dict(programme(programme_id, **changes), next=[
        {"starts_at": "2026-11-27T10:00:00.000Z", "ends_at": "2026-11-27T10:10:00.000Z"},
        {"starts_at": "2026-11-27T23:00:00.000Z", "ends_at": "2026-11-27T23:10:00.000Z"}])


def calendar():
    """The week of Monday 23/11/2026: the morning bulletin in Thôn 1, and a one-off on a single device."""
    return {"start": "2026-11-23", "end": "2026-11-29", "zones": [{"id": "thon-1", "name": "Thôn 1"},
                                                                  {"id": "loa-cho", "name": "Loa chợ và trường học"}],
            "occurrences": [
                {"programme_id": "sang", "name": "Bản tin sáng", "priority": "normal",
                 "starts_at": "2026-11-22T23:00:00.000Z", "ends_at": "2026-11-22T23:10:00.000Z", "zones": ["thon-1"],
                 "device_count": 2},
                {"programme_id": "dich", "name": "Tin phòng dịch", "priority": "high",
                 "starts_at": "2026-11-25T10:30:00.000Z", "ends_at": "2026-11-25T10:45:00.000Z",
                 "zones": ["thon-1", "loa-cho"], "device_count": 3},
                {"programme_id": "le", "name": "Lễ hội làng", "priority": "normal",
                 "starts_at": "2026-11-29T01:00:00.000Z", "ends_at": "2026-11-29T02:00:00.000Z", "zones": [],
                 "device_count": 1}]}


def plays():
    return {"items": [
        {"report_id": "r2", "device_id": "loa-thon-1", "village": "thon-1", "content_id": "i1", "title": "Thời sự",
         "broadcast_id": None, "programme_id": "sang", "slot_id": "sang/2026-11-25T23:00:00.000Z/0/1",
         "started_at": "2026-11-25T23:00:00.000Z", "ended_at": "2026-11-25T23:10:00.000Z", "seconds": 600,
         "completed": True, "reported_at": "2026-11-26T03:00:00.000Z", "late": True},
        {"report_id": "r1", "device_id": "loa-thon-1b", "village": "thon-1", "content_id": None,
         "title": "Bão số 9 đổ bộ", "broadcast_id": "b1", "programme_id": None, "slot_id": None,
         "started_at": "2026-11-25T22:00:00.000Z", "ended_at": "2026-11-25T22:01:30.000Z", "seconds": 90,
         "completed": False, "reported_at": "2026-11-25T22:01:31.000Z", "late": False}]}


def hours(day="2026-11-26"):
    return {"days": [{"date": day, "hours": 2.5, "villages": {"thon-1": 1.75, "thon-cu": 0.25},
                      "devices": {"loa-thon-1": 1.5}, "plays": 14}]}
