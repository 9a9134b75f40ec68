"""The bulletin levels of Circular 39/2020/TT-BTTTT: inbox order, a device's
play queue, and an emergency's interruption and resumption."""
from datetime import datetime

import pytest

from services.broadcast.levels import inbox_order, interrupt_plan, queue_order
from services.broadcast.schedule import device_plan, local, parse_programme, to_utc
from shared.errors import InvalidInput
from shared.timeutil import parse_iso


def bulletin(bulletin_id, level, received_at, title=""):
    return {"id": bulletin_id, "level": level, "received_at": received_at, "title": title}


def own(item_id, priority, starts_at, title=""):
    return {"id": item_id, "priority": priority, "starts_at": starts_at, "title": title}


def ids(items):
    return [item["id"] for item in items]


# ---------------------------------------------------------------- inbox


def test_inbox_lists_emergency_then_priority_then_normal_oldest_first():
    items = [
        bulletin("n-old", "normal", "2026-12-01T01:00:00.000Z"),
        bulletin("p-new", "priority", "2026-12-01T03:00:00.000Z"),
        bulletin("e-new", "emergency", "2026-12-01T04:00:00.000Z"),
        bulletin("n-new", "normal", "2026-12-01T05:00:00.000Z"),
        bulletin("p-old", "priority", "2026-12-01T02:00:00.000Z"),
        bulletin("e-old", "emergency", "2026-12-01T00:30:00.000Z"),
        bulletin("p-old-b", "priority", "2026-12-01T02:00:00.000Z"),
    ]
    assert ids(inbox_order(items)) == ["e-old", "e-new", "p-old", "p-old-b", "p-new", "n-old", "n-new"]
    assert ids(inbox_order(reversed(items))) == ids(inbox_order(items))


def test_unknown_level_is_refused_naming_the_bulletin():
    with pytest.raises(InvalidInput) as err:
        inbox_order([bulletin("ok", "normal", "t"), bulletin("b-7", "urgent", "t")])
    assert "bản tin «b-7»" in err.value.message and "«ok»" not in err.value.message


# ---------------------------------------------------------------- play queue

EMERGENCY = bulletin("bao-so-9", "emergency", "2026-12-01T02:00:00.000Z", "Bão số 9")
PRIORITY_OLD = bulletin("tinh-1", "priority", "2026-12-01T01:00:00.000Z", "Chỉ thị của tỉnh")
PRIORITY_NEW = bulletin("tinh-2", "priority", "2026-12-01T01:30:00.000Z")
NORMAL = bulletin("huyen-1", "normal", "2026-12-01T00:00:00.000Z")
OWN_HIGH = own("xa-tiem-chung", "high", "2026-11-30T23:00:00.000Z", "Lịch tiêm chủng")
OWN_NORMAL_LATE = own("xa-tin-2", "normal", "2026-11-30T23:30:00.000Z")
OWN_NORMAL = own("xa-tin-1", "normal", "2026-11-30T23:10:00.000Z")


def test_priority_bulletins_go_before_the_commune_s_items():
    order = queue_order([PRIORITY_NEW, NORMAL, PRIORITY_OLD, EMERGENCY], [OWN_NORMAL_LATE, OWN_NORMAL])
    assert ids(order.queue) == ["bao-so-9", "tinh-1", "tinh-2", "xa-tin-1", "xa-tin-2"]
    assert ids(order.inbox) == ["huyen-1"]  # normal bulletins wait for an operator
    assert order.needs_operator == () and order.pending_at is None and order.message() == ""


def test_commune_high_items_go_before_its_normal_ones_without_bulletins():
    order = queue_order([NORMAL], [OWN_NORMAL, OWN_HIGH])
    assert ids(order.queue) == ["xa-tiem-chung", "xa-tin-1"]


def test_priority_bulletin_against_commune_high_item_needs_the_operator():
    order = queue_order([PRIORITY_NEW, PRIORITY_OLD, EMERGENCY], [OWN_NORMAL, OWN_HIGH])
    assert ids(order.needs_operator) == ["tinh-1", "tinh-2", "xa-tiem-chung"]
    assert ids(order.queue) == ["bao-so-9", "xa-tin-1"]  # no guess: the clashing items are not queued
    assert order.pending_at == 1
    assert order.message() == ("Bản tin ưu tiên của cấp trên «Chỉ thị của tỉnh», «tinh-2» trùng lúc với chương trình "
                               "ưu tiên của xã «Lịch tiêm chủng»: cần cán bộ sắp xếp thứ tự phát.")


def test_operator_order_settles_the_clash():
    order = queue_order([PRIORITY_OLD, PRIORITY_NEW, EMERGENCY], [OWN_NORMAL, OWN_HIGH],
                        operator_order=["xa-tiem-chung", "tinh-2", "tinh-1"])
    assert ids(order.queue) == ["bao-so-9", "xa-tiem-chung", "tinh-2", "tinh-1", "xa-tin-1"]
    assert order.needs_operator == ()


@pytest.mark.parametrize("operator_order, expected", [
    (["tinh-1"], "thiếu «xa-tiem-chung»"),
    (["tinh-1", "xa-tiem-chung", "xa-tin-1"], "không thuộc nhóm cần sắp xếp: «xa-tin-1»"),
    (["tinh-1", "xa-tiem-chung", "tinh-1"], "ghi hai lần: «tinh-1»"),
])
def test_bad_operator_order_is_refused(operator_order, expected):
    with pytest.raises(InvalidInput) as err:
        queue_order([PRIORITY_OLD], [OWN_HIGH], operator_order=operator_order)
    assert err.value.message.startswith("operator_order: thứ tự phát không hợp lệ — ")
    assert expected in err.value.message


def test_commune_item_priority_must_be_known():
    with pytest.raises(InvalidInput) as err:
        queue_order([], [own("x-1", "emergency", "t")])
    assert "«x-1»" in err.value.message


# ---------------------------------------------------------------- emergency


def vn(*args):
    return to_utc(datetime(*args))


def audio(content_id, seconds):
    return {"content_id": content_id, "kind": "audio", "duration_seconds": seconds,
            "media_url": f"https://media.example/{content_id}.mp3"}


def morning_plan():
    """06:00 news (2 items of 2 min, twice, 1 min gap: 06:00–06:09), a 06:12
    notice (3 min), a 07:00 programme (5 min)."""
    news = parse_programme({"id": "tin", "name": "Bản tin sáng", "items": [audio("a", 120), audio("b", 120)],
                            "repeat": 2, "gap_seconds": 60, "target": {"commune": True},
                            "when": {"rrule": "FREQ=DAILY;BYHOUR=6;BYMINUTE=0", "start_date": "2026-12-01"}})
    notice = parse_programme({"id": "tb", "name": "Thông báo", "items": [audio("c", 180)],
                              "target": {"commune": True}, "when": {"at": "2026-12-01T06:12"}})
    later = parse_programme({"id": "nhac", "name": "Chương trình 7 giờ", "items": [audio("d", 300)],
                             "target": {"commune": True}, "when": {"at": "2026-12-01T07:00"}})
    targets = {"tin": {"loa-1"}, "tb": {"loa-1"}, "nhac": {"loa-1"}}
    return device_plan("loa-1", [news, notice, later], targets, vn(2026, 12, 1), vn(2026, 12, 2)).entries


def times(entries):
    """(slot id without the occurrence, local start, local end) per entry."""
    def hm(text):
        return local(parse_iso(text)).strftime("%H:%M:%S")

    return [(e["slot_id"].split("/")[0] + "/" + "/".join(e["slot_id"].split("/")[2:]), hm(e["starts_at"]),
             hm(e["ends_at"])) for e in entries]


def test_emergency_stops_the_item_and_resumes_it_from_its_start():
    plan = morning_plan()
    playing = plan[1]  # item b, first pass: 06:02–06:04
    result = interrupt_plan(vn(2026, 12, 1, 6, 3), playing, 180, plan)
    assert result.stop == playing
    assert (result.starts_at, result.ends_at) == ("2026-11-30T23:03:00.000Z", "2026-11-30T23:06:00.000Z")
    assert result.resumed["slot_id"] == playing["slot_id"] + "/resumed"
    assert times(result.plan) == [
        ("tin/1/1/resumed", "06:06:00", "06:08:00"),  # item b again, from its start
        ("tin/0/2", "06:09:00", "06:11:00"),  # the rest of the news, shifted 4 min, keeping its 1-min gap
        ("tin/1/2", "06:11:00", "06:13:00"),
        ("tb/0/1", "06:13:00", "06:16:00"),  # 06:12 notice follows as soon as the news ends
        ("nhac/0/1", "07:00:00", "07:05:00"),  # the delay is absorbed before 07:00
    ]
    assert result.plan[0] == result.resumed
    assert {e["content_id"] for e in result.plan} == {"b", "a", "c", "d"}


def test_emergency_with_nothing_playing_pushes_what_would_start_during_it():
    plan = morning_plan()
    result = interrupt_plan(vn(2026, 12, 1, 6, 10), None, 300, plan)
    assert result.stop is None and result.resumed is None
    assert times(result.plan) == [("tb/0/1", "06:15:00", "06:18:00"), ("nhac/0/1", "07:00:00", "07:05:00")]


def test_emergency_follows_an_emergency_instead_of_interrupting_it():
    playing = {"slot_id": "khan-1", "starts_at": "2026-11-30T23:00:00.000Z", "ends_at": "2026-11-30T23:05:00.000Z",
               "content_id": "bao", "title": "Bão", "media_url": "", "priority": "emergency"}
    result = interrupt_plan(vn(2026, 12, 1, 6, 2), playing, 120, morning_plan())
    assert result.stop is None and result.resumed is None
    assert (result.starts_at, result.ends_at) == ("2026-11-30T23:05:00.000Z", "2026-11-30T23:07:00.000Z")
    # what had not finished by then waits behind both emergencies, in order
    assert times(result.plan)[:3] == [("tin/1/1", "06:07:00", "06:09:00"), ("tin/0/2", "06:09:00", "06:11:00"),
                                      ("tin/1/2", "06:11:00", "06:13:00")]


def test_an_entry_not_playing_at_that_moment_is_not_stopped():
    plan = morning_plan()
    result = interrupt_plan(vn(2026, 12, 1, 6, 30), plan[0], 60, plan)
    assert result.stop is None and result.resumed is None
    assert times(result.plan) == [("nhac/0/1", "07:00:00", "07:05:00")]


@pytest.mark.parametrize("seconds", [0, -5, 1.5, True, "60"])
def test_emergency_duration_must_be_positive_seconds(seconds):
    with pytest.raises(InvalidInput) as err:
        interrupt_plan(vn(2026, 12, 1, 6, 3), None, seconds)
    assert err.value.message == "emergency_duration: thời lượng bản tin khẩn cấp phải là số giây dương."
