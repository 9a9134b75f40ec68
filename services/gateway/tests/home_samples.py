"""What the home dashboard's services answer, for tests where stand-ins
replace them: today's calendar (built on today's Vietnamese date, as the
page asks for it) and the latest publications. Devices, alarms, plans and
the sync state come from the other sample modules."""
from datetime import datetime, time, timedelta

from shared.timeutil import VIETNAM, iso, local_today


def at(day, hour, minute=0):
    """An ISO UTC time of ``hour:minute`` on ``day`` in Vietnam."""
    return iso(datetime.combine(day, time(hour, minute), VIETNAM))


def todays_calendar(today=None):
    """Today: the morning bulletin in Thôn 1 (06:00–06:15), an epidemic notice
    in Thôn 1 and the market group (17:30–17:45), a one-off on a device of
    no zone (20:00–20:30); and yesterday evening's bulletin, which is not today's."""
    today = today or local_today()
    yesterday = today - timedelta(days=1)
    return {"start": today.isoformat(), "end": today.isoformat(),
            "zones": [{"id": "thon-1", "name": "Thôn 1"}, {"id": "loa-cho", "name": "Loa chợ và trường học"},
                      {"id": "thon-2", "name": "Thôn 2"}],
            "occurrences": [
                {"programme_id": "dich", "name": "Tin phòng dịch", "priority": "high",
                 "starts_at": at(today, 17, 30), "ends_at": at(today, 17, 45), "zones": ["thon-1", "loa-cho"],
                 "device_count": 3},
                {"programme_id": "sang", "name": "Bản tin sáng", "priority": "normal",
                 "starts_at": at(today, 6), "ends_at": at(today, 6, 15), "zones": ["thon-1"], "device_count": 2},
                {"programme_id": "toi", "name": "Bản tin tối hôm qua", "priority": "normal",
                 "starts_at": at(yesterday, 19), "ends_at": at(yesterday, 19, 30), "zones": ["thon-2"],
                 "device_count": 1},
                {"programme_id": "le", "name": "Lễ hội làng", "priority": "normal",
                 "starts_at": at(today, 20), "ends_at": at(today, 20, 30), "zones": [], "device_count": 1}]}


def publications():
    """Latest publication first; 02:15 UTC is 09:15 in Vietnam."""
    return [
        {"id": "tin-tiem-chung", "title": "Lịch tiêm chủng mở rộng tháng 5", "kind": "news", "section_id": "s1",
         "section_name": "Y tế", "channels": ["website", "radio"], "published_at": "2026-05-04T02:15:00.000Z",
         "first_published_at": "2026-05-04T02:15:00.000Z"},
        {"id": "thong-bao-nuoc", "title": "Thông báo tạm ngừng cấp nước", "kind": "eboard_notice",
         "section_id": "s2", "section_name": "Thông báo", "channels": ["eboard"],
         "published_at": "2026-05-03T08:00:00.000Z", "first_published_at": "2026-05-02T08:00:00.000Z"},
    ]
