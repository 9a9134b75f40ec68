"""Programmes, their occurrences in Vietnam time, clashes, device plans and
schedule versions."""
from datetime import date, datetime, timezone

import pytest

from services.broadcast.schedule import (admit, conflicts, device_plan, duration, local, occurrences,
                                         parse_programme, schedule_version, to_utc)
from shared.devicelink import make_command
from shared.errors import Conflict, InvalidInput

WEEKDAYS_6_17 = "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0"
MONDAY = "2026-11-30"  # a Monday


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def vn(*args):
    """A Vietnamese wall time as aware UTC."""
    return to_utc(datetime(*args))


def audio(content_id, seconds, title=""):
    return {"content_id": content_id, "title": title or content_id, "kind": "audio", "duration_seconds": seconds,
            "media_url": f"https://media.example/{content_id}.mp3"}


def data(**changes):
    base = {"id": "ban-tin-sang", "name": "Bản tin sáng", "priority": "normal", "items": [audio("tin-1", 300)],
            "repeat": 1, "gap_seconds": 0, "target": {"commune": True},
            "when": {"rrule": WEEKDAYS_6_17, "start_date": MONDAY}}
    base.update(changes)
    return base


def programme(**changes):
    return parse_programme(data(**changes))


def once(programme_id, name, at, seconds, priority="normal"):
    return programme(id=programme_id, name=name, priority=priority, items=[audio(programme_id, seconds)],
                     when={"at": at})


def daily(programme_id, name, rrule, seconds, priority="normal", start_date="2026-12-01"):
    return programme(id=programme_id, name=name, priority=priority, items=[audio(programme_id, seconds)],
                     when={"rrule": rrule, "start_date": start_date})


# ---------------------------------------------------------------- validation

RRULE_ERRORS = [
    ("FREQ=HOURLY;BYHOUR=6;BYMINUTE=0", "FREQ=HOURLY: không lặp theo giây, phút hay giờ"),
    ("FREQ=MINUTELY;BYHOUR=6;BYMINUTE=0", "FREQ=MINUTELY: không lặp theo giây, phút hay giờ"),
    ("FREQ=SECONDLY;BYHOUR=6;BYMINUTE=0", "FREQ=SECONDLY: không lặp theo giây, phút hay giờ"),
    ("FREQ=YEARLY;BYHOUR=6;BYMINUTE=0", "FREQ=YEARLY: chỉ hỗ trợ DAILY, WEEKLY hoặc MONTHLY"),
    ("BYHOUR=6;BYMINUTE=0", "thiếu FREQ"),
    ("FREQ=DAILY", "phải cố định giờ phát bằng BYHOUR và BYMINUTE"),
    ("FREQ=DAILY;BYHOUR=6", "phải cố định giờ phát bằng BYHOUR và BYMINUTE"),
    ("FREQ=DAILY;BYMINUTE=0", "phải cố định giờ phát bằng BYHOUR và BYMINUTE"),
    ("FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0", "không dùng BYSECOND: lịch phát tính đến phút"),
    ("FREQ=DAILY;BYHOUR=24;BYMINUTE=0", "BYHOUR phải là các giờ từ 0 đến 23"),
    ("FREQ=DAILY;BYHOUR=6,x;BYMINUTE=0", "BYHOUR phải là các giờ từ 0 đến 23"),
    ("FREQ=DAILY;BYHOUR=6;BYMINUTE=60", "BYMINUTE phải là các phút từ 0 đến 59"),
    ("FREQ=DAILY;INTERVAL=0;BYHOUR=6;BYMINUTE=0", "INTERVAL phải là một số nguyên dương"),
    ("FREQ=DAILY;COUNT=0;BYHOUR=6;BYMINUTE=0", "COUNT phải là một số nguyên dương"),
    ("FREQ=DAILY;COUNT=5;UNTIL=20261231;BYHOUR=6;BYMINUTE=0", "không dùng cùng lúc COUNT và UNTIL"),
    ("FREQ=DAILY;UNTIL=20261231T000000Z;BYHOUR=6;BYMINUTE=0", "UNTIL là giờ Việt Nam, không có Z"),
    ("FREQ=DAILY;UNTIL=2026-12-31;BYHOUR=6;BYMINUTE=0", "UNTIL phải có dạng YYYYMMDD hoặc YYYYMMDDTHHMMSS"),
    ("FREQ=DAILY;UNTIL=20261131;BYHOUR=6;BYMINUTE=0", "UNTIL=20261131: không có ngày giờ này"),
    ("FREQ=DAILY;UNTIL=20261129;BYHOUR=6;BYMINUTE=0", "UNTIL trước start_date"),
    ("FREQ=WEEKLY;BYDAY=MO,XX;BYHOUR=6;BYMINUTE=0", "BYDAY: «XX» không phải thứ trong tuần"),
    ("FREQ=WEEKLY;BYDAY=1MO;BYHOUR=6;BYMINUTE=0", "BYDAY: «1MO» có số thứ tự, chỉ dùng với FREQ=MONTHLY"),
    ("FREQ=MONTHLY;BYDAY=6MO;BYHOUR=6;BYMINUTE=0", "BYDAY: «6MO» — thứ tự trong tháng từ 1 đến 5"),
    ("FREQ=WEEKLY;BYMONTHDAY=1;BYHOUR=6;BYMINUTE=0", "BYMONTHDAY không dùng với FREQ=WEEKLY"),
    ("FREQ=MONTHLY;BYMONTHDAY=0;BYHOUR=6;BYMINUTE=0", "BYMONTHDAY phải là các ngày từ 1 đến 31"),
    ("FREQ=MONTHLY;BYMONTH=13;BYHOUR=6;BYMINUTE=0", "BYMONTH phải là các tháng từ 1 đến 12"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0;BYHOUR=6;BYMINUTE=0", "BYSETPOS phải là các số từ 1 đến 366"),
    ("FREQ=WEEKLY;WKST=XX;BYHOUR=6;BYMINUTE=0", "WKST=XX: không phải thứ trong tuần"),
    ("FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYEASTER=0", "không hỗ trợ BYEASTER"),
    ("FREQ=DAILY;BYWEEKNO=1;BYHOUR=6;BYMINUTE=0", "không dùng BYWEEKNO (chỉ có nghĩa với FREQ=YEARLY)"),
    ("FREQ=DAILY;FREQ=WEEKLY;BYHOUR=6;BYMINUTE=0", "FREQ ghi hai lần"),
    ("FREQ=DAILY;BYHOUR;BYMINUTE=0", "«BYHOUR» không có dạng TÊN=GIÁ_TRỊ"),
    ("DTSTART:20261201T060000\nRRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0", "không ghi DTSTART"),
    ("", "chưa ghi quy tắc"),
    ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=6;BYMINUTE=0",
     "không có lần phát nào trong một năm kể từ start_date"),
    # the same impossible day, searched day by day: must be refused as fast
    ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=6;BYMINUTE=0",
     "không có lần phát nào trong một năm kể từ start_date"),
]


@pytest.mark.parametrize("rrule, expected", RRULE_ERRORS, ids=[r[0] or "empty" for r in RRULE_ERRORS])
def test_bad_rrule_is_refused_in_vietnamese(rrule, expected):
    with pytest.raises(InvalidInput) as err:
        programme(when={"rrule": rrule, "start_date": MONDAY})
    assert err.value.message.startswith("rrule: quy tắc lặp không hợp lệ — ")
    assert expected in err.value.message


def test_rrule_problems_are_listed_together():
    with pytest.raises(InvalidInput) as err:
        programme(when={"rrule": "FREQ=HOURLY;BYSECOND=5", "start_date": MONDAY})
    message = err.value.message
    assert "không dùng BYSECOND" in message and "FREQ=HOURLY" in message and "BYHOUR và BYMINUTE" in message


@pytest.mark.parametrize("rrule, normalised", [
    ("RRULE:freq=weekly;byday=mo;byhour=6;byminute=30;", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=6;BYMINUTE=30"),
    (WEEKDAYS_6_17, WEEKDAYS_6_17),
    ("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=19;BYMINUTE=0", "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=19;BYMINUTE=0"),
    ("FREQ=DAILY;INTERVAL=2;COUNT=10;BYHOUR=5;BYMINUTE=45", "FREQ=DAILY;INTERVAL=2;COUNT=10;BYHOUR=5;BYMINUTE=45"),
])
def test_good_rrule_is_kept_in_canonical_form(rrule, normalised):
    assert programme(when={"rrule": rrule, "start_date": MONDAY}).rrule == normalised


FIELD_ERRORS = [
    ({"id": "bản tin"}, "id: mã chương trình không hợp lệ"),
    ({"id": "a/b"}, "id: mã chương trình không hợp lệ"),
    ({"name": "  "}, "name: tên chương trình không được để trống."),
    ({"priority": "emergency"}, "priority: mức ưu tiên phải là normal (thường) hoặc high (cao)."),
    ({"items": []}, "items: chương trình phải có ít nhất một nội dung."),
    ({"items": [audio("a", 0)]}, "items[0].duration_seconds: thời lượng (giây) phải là số nguyên từ 1 đến 86400."),
    ({"items": [audio("a", 10), audio("b", "30")]}, "items[1].duration_seconds: thời lượng (giây) phải là số nguyên"),
    ({"items": [audio("a", True)]}, "items[0].duration_seconds: thời lượng (giây) phải là số nguyên"),
    ({"items": [dict(audio("a", 10), kind="video")]}, "items[0].kind: loại nội dung phải là audio"),
    ({"items": [dict(audio("a", 10), media_url="")]}, "items[0].media_url: nội dung âm thanh cần đường dẫn tệp."),
    ({"items": [{"content_id": "a", "kind": "image", "duration_seconds": 10}]},
     "items[0].media_url: nội dung hình ảnh cần đường dẫn tệp."),
    ({"items": [dict(audio("a", 10), content_id="")]}, "items[0].content_id: thiếu mã nội dung"),
    ({"items": [dict(audio("a", 10), volume=5)]}, "items[0]: trường không được hỗ trợ: volume."),
    ({"items": [audio("a", 10), {"content_id": "t", "kind": "text", "duration_seconds": 30}]},
     "items: một chương trình chỉ gồm âm thanh (cho cụm loa) hoặc chỉ gồm văn bản, hình ảnh"),
    ({"repeat": 0}, "repeat: số lần lặp phải là số nguyên từ 1 đến 20."),
    ({"repeat": 21}, "repeat: số lần lặp phải là số nguyên từ 1 đến 20."),
    ({"gap_seconds": -1}, "gap_seconds: khoảng nghỉ giữa hai lần lặp (giây) phải là số nguyên từ 0 đến 3600."),
    ({"gap_seconds": 3601}, "gap_seconds: khoảng nghỉ giữa hai lần lặp (giây) phải là số nguyên từ 0 đến 3600."),
    ({"target": {"zones": []}}, "target.zones: danh sách mã vùng phát phải có ít nhất một mã."),
    ({"when": {"at": "2026-12-01T06:30", "rrule": WEEKDAYS_6_17}}, "when: chọn lịch lặp (rrule cùng start_date)"),
    ({"when": {}}, "when: chọn lịch lặp (rrule cùng start_date) hoặc một thời điểm (at)"),
    ({"when": {"at": "2026-12-01T06:30Z"}}, "when.at: thời điểm phát không hợp lệ — ghi giờ Việt Nam"),
    ({"when": {"at": "2026-12-01T06:30+07:00"}}, "when.at: thời điểm phát không hợp lệ"),
    ({"when": {"at": "2026-12-32T06:30"}}, "when.at: thời điểm phát không hợp lệ"),
    ({"when": {"at": "2026-12-01T06:30", "until": "2026-12-02"}}, "when: trường không dùng với thời điểm một lần"),
    ({"when": {"rrule": WEEKDAYS_6_17}}, "when.start_date: ngày không hợp lệ (dạng YYYY-MM-DD"),
    ({"when": {"rrule": WEEKDAYS_6_17, "start_date": "01/12/2026"}}, "when.start_date: ngày không hợp lệ"),
    ({"when": {"rrule": WEEKDAYS_6_17, "start_date": MONDAY, "until": "2026-11-29"}},
     "when.until: ngày kết thúc lặp trước ngày bắt đầu (start_date)."),
    ({"valid_from": "2026-12-05", "valid_until": "2026-12-01"},
     "valid_until: ngày hết hiệu lực trước ngày bắt đầu hiệu lực (valid_from)."),
    ({"valid_from": "2026-12-05", "when": {"at": "2026-12-01T06:30"}},
     "when.at: thời điểm phát nằm ngoài thời hạn hiệu lực"),
    ({"items": [audio("a", 3601)], "when": {"rrule": "FREQ=DAILY;BYHOUR=6,7;BYMINUTE=0", "start_date": MONDAY}},
     "when: chương trình dài 1 giờ 1 giây nhưng hai giờ phát của nó chỉ cách nhau 1 giờ"),
    ({"items": [audio("a", 3601)], "when": {"rrule": "FREQ=DAILY;BYHOUR=23,0;BYMINUTE=30", "start_date": MONDAY}},
     "when: chương trình dài 1 giờ 1 giây nhưng hai giờ phát của nó chỉ cách nhau 1 giờ"),  # 23:30 → 00:30
    ({"items": [audio("a", 86400)], "repeat": 2, "when": {"at": "2026-12-01T06:30"}},
     "items: chương trình dài 48 giờ, quá 24 giờ."),
    ({"colour": "red"}, "programme: trường không được hỗ trợ: colour."),
]


@pytest.mark.parametrize("changes, expected", FIELD_ERRORS, ids=[str(c) for c, _ in FIELD_ERRORS])
def test_bad_field_is_refused_naming_it(changes, expected):
    with pytest.raises(InvalidInput) as err:
        programme(**changes)
    assert expected in err.value.message


def test_self_overlap_bound_allows_back_to_back_times():
    assert duration(programme(items=[audio("a", 3600)],
                              when={"rrule": "FREQ=DAILY;BYHOUR=6,7;BYMINUTE=0", "start_date": MONDAY})) == 3600


def test_several_problems_are_joined_in_one_message():
    with pytest.raises(InvalidInput) as err:
        programme(name="", repeat=0, when={"rrule": "FREQ=HOURLY", "start_date": MONDAY})
    problems = err.value.details["problems"]
    assert [p.split(":")[0] for p in problems] == ["name", "repeat", "rrule"]
    assert err.value.message == " ".join(problems)


@pytest.mark.parametrize("when", [
    {"rrule": WEEKDAYS_6_17, "start_date": MONDAY, "until": "2026-12-31"},
    {"at": "2026-12-01T06:30"},
])
def test_programme_round_trips_through_its_dict(when):
    original = programme(when=when, valid_from="2026-12-01", priority="high")
    assert parse_programme(original.to_dict()) == original


# ---------------------------------------------------------------- occurrences


def test_weekday_slots_across_a_week_in_vietnam_time():
    week = occurrences(programme(), vn(2026, 11, 30), vn(2026, 12, 7))
    assert len(week) == 10
    # 06:00 in Vietnam is 23:00 UTC the day before
    assert week[0] == (utc(2026, 11, 29, 23, 0), utc(2026, 11, 29, 23, 5))
    assert week[1][0] == utc(2026, 11, 30, 10, 0)  # 17:00
    assert {local(start).date() for start, _ in week} == {date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2),
                                                          date(2026, 12, 3), date(2026, 12, 4)}
    assert {local(start).strftime("%H:%M") for start, _ in week} == {"06:00", "17:00"}
    assert all(start.tzinfo == timezone.utc and end.tzinfo == timezone.utc for start, end in week)


def test_weekend_has_no_slots():
    assert occurrences(programme(), vn(2026, 12, 5), vn(2026, 12, 7)) == []


def test_naive_window_is_a_programming_error():
    with pytest.raises(ValueError):
        occurrences(programme(), datetime(2026, 12, 1), datetime(2026, 12, 2))


@pytest.mark.parametrize("window, expected", [
    ((vn(2026, 12, 1), vn(2026, 12, 2)), [(utc(2026, 11, 30, 23, 30), utc(2026, 11, 30, 23, 35))]),
    ((vn(2026, 12, 1, 6, 33), vn(2026, 12, 1, 7)), [(utc(2026, 11, 30, 23, 30), utc(2026, 11, 30, 23, 35))]),
    ((vn(2026, 12, 1, 6, 35), vn(2026, 12, 2)), []),  # ended as the window opens
    ((vn(2026, 12, 1), vn(2026, 12, 1, 6, 30)), []),  # starts as the window closes
    ((vn(2026, 12, 2), vn(2026, 12, 9)), []),
])
def test_one_off_time_is_vietnam_wall_time(window, expected):
    assert occurrences(programme(when={"at": "2026-12-01T06:30"}), *window) == expected


@pytest.mark.parametrize("changes, count", [
    ({"when": {"rrule": WEEKDAYS_6_17, "start_date": MONDAY, "until": "2026-12-02"}}, 6),
    ({"valid_from": "2026-12-02", "valid_until": "2026-12-03"}, 4),
    ({"when": {"rrule": WEEKDAYS_6_17 + ";COUNT=3", "start_date": MONDAY}}, 3),
    ({"when": {"rrule": WEEKDAYS_6_17 + ";UNTIL=20261201T120000", "start_date": MONDAY}}, 3),
    ({"when": {"rrule": WEEKDAYS_6_17, "start_date": "2026-12-03"}}, 4),
])
def test_date_bounds_limit_occurrences(changes, count):
    assert len(occurrences(programme(**changes), vn(2026, 11, 30), vn(2026, 12, 7))) == count


def test_monthly_first_monday():
    first_monday = programme(when={"rrule": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=7;BYMINUTE=30", "start_date": "2026-12-01"})
    starts = [start for start, _ in occurrences(first_monday, vn(2026, 12, 1), vn(2027, 3, 1))]
    assert starts == [vn(2026, 12, 7, 7, 30), vn(2027, 1, 4, 7, 30), vn(2027, 2, 1, 7, 30)]
    assert starts[0] == utc(2026, 12, 7, 0, 30)


@pytest.mark.parametrize("seconds, repeat, gap, expected", [
    ([300], 1, 0, 300),
    ([300], 1, 600, 300),  # no gap after the last pass
    ([120, 180], 3, 60, 1020),
    ([30, 30, 30], 20, 3600, 90 * 20 + 3600 * 19),
])
def test_duration_counts_repeats_and_gaps(seconds, repeat, gap, expected):
    p = programme(items=[audio(f"c{i}", s) for i, s in enumerate(seconds)], repeat=repeat, gap_seconds=gap,
                  when={"at": "2026-12-01T06:00"})
    assert duration(p) == expected
    (start, end), = occurrences(p, vn(2026, 12, 1), vn(2026, 12, 3))
    assert (end - start).total_seconds() == expected


# ---------------------------------------------------------------- clashes

MORNING = "FREQ=DAILY;BYHOUR=6;BYMINUTE=0"
WINDOW = (vn(2026, 12, 1), vn(2026, 12, 8))


def test_same_priority_overlap_is_refused_naming_both_programmes():
    news = daily("ban-tin", "Bản tin sáng", MORNING, 600)
    notice = once("tiem-chung", "Thông báo tiêm chủng", "2026-12-01T06:05", 300)
    device_targets = {"ban-tin": {"loa-1", "loa-2"}, "tiem-chung": {"loa-1", "loa-3"}}
    admission = admit(notice, [news], device_targets, WINDOW)
    assert not admission.admitted
    assert [(c.device_id, c.other.id, c.at[0], c.other_at[0]) for c in admission.refused] == [
        ("loa-1", "ban-tin", vn(2026, 12, 1, 6, 5), vn(2026, 12, 1, 6, 0))]
    message = admission.message()
    assert "«Thông báo tiêm chủng»" in message and "«Bản tin sáng»" in message
    assert "lúc 06:05 ngày 01/12/2026 trên thiết bị loa-1" in message
    assert "cùng mức ưu tiên «thường»" in message
    with pytest.raises(Conflict) as err:
        admission.check()
    assert err.value.message == message
    assert err.value.details["clashes"] == [{
        "device_id": "loa-1", "starts_at": "2026-11-30T23:05:00.000Z", "ends_at": "2026-11-30T23:10:00.000Z",
        "other_id": "ban-tin", "other_name": "Bản tin sáng", "other_starts_at": "2026-11-30T23:00:00.000Z",
        "other_ends_at": "2026-11-30T23:10:00.000Z"}]


def test_recurring_clash_is_summarised_with_count_and_first_time():
    news = daily("ban-tin", "Bản tin sáng", MORNING, 600)
    weather = daily("thoi-tiet", "Dự báo thời tiết", "FREQ=DAILY;BYHOUR=6;BYMINUTE=5", 300)
    device_targets = {"ban-tin": {f"loa-{i}" for i in range(8)}, "thoi-tiet": {f"loa-{i}" for i in range(8)}}
    message = admit(weather, [news], device_targets, WINDOW).message()
    assert "«Bản tin sáng» 7 lần, lần đầu 06:05 ngày 01/12/2026" in message
    assert "loa-0, loa-1, loa-2, loa-3, loa-4 và 3 thiết bị khác" in message


def test_different_priorities_are_admitted_and_ordered():
    news = daily("ban-tin", "Bản tin sáng", MORNING, 600)
    notice = once("tiem-chung", "Thông báo tiêm chủng", "2026-12-01T06:05", 300, priority="high")
    device_targets = {"ban-tin": {"loa-1"}, "tiem-chung": {"loa-1"}}
    admission = admit(notice, [news], device_targets, WINDOW)
    assert admission.admitted and not admission.refused
    assert [c.other.id for c in admission.ordered] == ["ban-tin"]
    assert "«Thông báo tiêm chủng» (ưu tiên cao) phát trước; «Bản tin sáng» dời đến ngay sau" in admission.message()
    admission.check()
    # and the other way round: the new, lower programme goes second
    reverse = admit(news, [notice], device_targets, WINDOW)
    assert reverse.admitted
    assert "«Thông báo tiêm chủng» (ưu tiên cao) phát trước" in reverse.message()


@pytest.mark.parametrize("at, targets_of_other, clashes", [
    ("2026-12-01T06:10", {"loa-1"}, False),  # back to back: 06:00–06:10 then 06:10
    ("2026-12-01T05:55", {"loa-1"}, False),  # ends as the other starts
    ("2026-12-01T06:09", {"loa-1"}, True),
    ("2026-12-01T06:05", {"loa-2"}, False),  # another device
    ("2026-12-08T06:05", {"loa-1"}, False),  # outside the window
])
def test_only_shared_time_on_a_shared_device_clashes(at, targets_of_other, clashes):
    news = daily("ban-tin", "Bản tin sáng", MORNING, 600)
    notice = once("tiem-chung", "Thông báo", at, 300)
    found = conflicts(notice, [news], {"ban-tin": {"loa-1"}, "tiem-chung": targets_of_other}, WINDOW)
    assert bool(found) is clashes


def test_conflicts_are_per_device_and_an_edited_programme_skips_its_old_self():
    news = daily("ban-tin", "Bản tin sáng", MORNING, 600)
    edited = daily("ban-tin", "Bản tin sáng (sửa)", "FREQ=DAILY;BYHOUR=6;BYMINUTE=5", 600)
    other = daily("thoi-tiet", "Dự báo thời tiết", "FREQ=DAILY;BYHOUR=6;BYMINUTE=8", 60)
    device_targets = {"ban-tin": {"loa-1", "loa-2"}, "thoi-tiet": {"loa-2", "loa-3"}}
    found = conflicts(edited, [news, other], device_targets, WINDOW)
    assert list(found) == ["loa-2"]
    assert len(found["loa-2"]) == 7 and {c.other.id for c in found["loa-2"]} == {"thoi-tiet"}
    assert admit(edited, [news], device_targets, WINDOW).message() == "«Bản tin sáng (sửa)» không trùng giờ với " \
                                                                     "chương trình nào."


# ---------------------------------------------------------------- device plans

DAY_1 = (vn(2026, 12, 1), vn(2026, 12, 2))


def plan(programmes, window=DAY_1, device="loa-1"):
    return device_plan(device, programmes, {p.id: {"loa-1"} for p in programmes}, *window)


def starts(entries, programme_id):
    return [e["starts_at"] for e in entries if e["slot_id"].startswith(programme_id + "/")]


def test_entries_follow_items_repeats_and_gaps():
    p = programme(id="chuyen-muc", items=[audio("a", 120, "Tin 1"), audio("b", 180, "Tin 2")], repeat=3,
                  gap_seconds=60, when={"at": "2026-12-01T06:00"}, priority="high")
    entries = plan([p]).entries
    assert [(e["slot_id"], e["starts_at"][11:16], e["ends_at"][11:16], e["content_id"]) for e in entries] == [
        ("chuyen-muc/2026-11-30T23:00:00.000Z/0/1", "23:00", "23:02", "a"),
        ("chuyen-muc/2026-11-30T23:00:00.000Z/1/1", "23:02", "23:05", "b"),
        ("chuyen-muc/2026-11-30T23:00:00.000Z/0/2", "23:06", "23:08", "a"),
        ("chuyen-muc/2026-11-30T23:00:00.000Z/1/2", "23:08", "23:11", "b"),
        ("chuyen-muc/2026-11-30T23:00:00.000Z/0/3", "23:12", "23:14", "a"),
        ("chuyen-muc/2026-11-30T23:00:00.000Z/1/3", "23:14", "23:17", "b"),
    ]
    assert entries[0] == {"slot_id": "chuyen-muc/2026-11-30T23:00:00.000Z/0/1", "starts_at": "2026-11-30T23:00:00.000Z",
                          "ends_at": "2026-11-30T23:02:00.000Z", "content_id": "a", "title": "Tin 1",
                          "media_url": "https://media.example/a.mp3", "priority": "high"}
    # what devices receive: the ScheduleSync command accepts the entries as they are
    command = make_command("xuan-hung", "loa-1", "schedule_sync",
                           {"version": schedule_version(entries), "entries": list(entries)})
    assert command["params"]["entries"] == list(entries)


def test_plan_holds_only_the_device_s_programmes_in_time_order():
    morning = daily("sang", "Bản tin sáng", MORNING, 600)
    evening = daily("chieu", "Bản tin chiều", "FREQ=DAILY;BYHOUR=17;BYMINUTE=0", 600)
    elsewhere = daily("khac", "Thôn khác", "FREQ=DAILY;BYHOUR=12;BYMINUTE=0", 600)
    result = device_plan("loa-1", [evening, elsewhere, morning],
                         {"sang": {"loa-1"}, "chieu": {"loa-1", "loa-2"}, "khac": {"loa-2"}},
                         vn(2026, 12, 1), vn(2026, 12, 3))
    assert [e["slot_id"].split("/")[0] for e in result.entries] == ["sang", "chieu", "sang", "chieu"]
    assert [e["starts_at"] for e in result.entries] == sorted(e["starts_at"] for e in result.entries)
    assert result.moved == () and result.dropped == ()


def test_higher_priority_plays_at_its_time_and_pushes_the_lower_one_later():
    urgent = once("khan", "Thông báo phòng chống bão", "2026-12-01T06:00", 600, priority="high")
    news = once("tin", "Bản tin sáng", "2026-12-01T06:05", 600)
    result = plan([news, urgent])
    assert starts(result.entries, "khan") == ["2026-11-30T23:00:00.000Z"]
    assert starts(result.entries, "tin") == ["2026-11-30T23:10:00.000Z"]
    # the slot keeps the id of its scheduled time
    assert result.entries[1]["slot_id"] == "tin/2026-11-30T23:05:00.000Z/0/1"
    assert result.moved == ({"programme_id": "tin", "name": "Bản tin sáng", "scheduled_at": "2026-11-30T23:05:00.000Z",
                             "starts_at": "2026-11-30T23:10:00.000Z", "because_of": "khan",
                             "reason": "Trùng giờ với «Thông báo phòng chống bão» (ưu tiên cao); dời đến 06:10 ngày "
                                       "01/12/2026."},)


def test_pushed_occurrence_that_would_reach_its_next_one_is_dropped():
    urgent = once("khan", "Thông báo phòng chống bão", "2026-12-01T06:00", 1800, priority="high")
    news = daily("tin", "Tin vắn", "FREQ=DAILY;BYHOUR=6;BYMINUTE=0,20", 900)
    result = plan([news, urgent])
    # 06:00 would move to 06:30–06:45, past its 06:20 occurrence: dropped; 06:20 moves to 06:30
    assert starts(result.entries, "tin") == ["2026-11-30T23:30:00.000Z"]
    assert [(m["scheduled_at"], m["starts_at"]) for m in result.moved] == [
        ("2026-11-30T23:20:00.000Z", "2026-11-30T23:30:00.000Z")]
    (dropped,) = result.dropped
    assert dropped["scheduled_at"] == "2026-11-30T23:00:00.000Z" and dropped["because_of"] == "khan"
    assert dropped["reason"] == ("Trùng giờ với «Thông báo phòng chống bão» (ưu tiên cao); không còn chỗ phát trọn "
                                 "chương trình trước lần phát kế tiếp lúc 06:20 ngày 01/12/2026, lần phát này bị bỏ.")


@pytest.mark.parametrize("seconds, moved_to", [(300, "2026-12-01T16:55:00.000Z"), (480, None)])
def test_pushed_occurrence_must_end_the_same_day(seconds, moved_to):
    late = once("khan", "Cảnh báo lũ", "2026-12-01T23:45", 600, priority="high")
    news = once("tin", "Tin cuối ngày", "2026-12-01T23:50", seconds)
    result = plan([late, news], window=(vn(2026, 12, 1, 12), vn(2026, 12, 2, 12)))
    if moved_to:
        assert starts(result.entries, "tin") == [moved_to]  # 23:55, ending at midnight
        assert result.dropped == ()
    else:
        assert starts(result.entries, "tin") == []
        assert "trước hết ngày 01/12/2026" in result.dropped[0]["reason"]


def test_a_pushed_programme_pushes_the_next_one_in_turn():
    urgent = once("khan", "Khẩn", "2026-12-01T06:05", 600, priority="high")
    first = once("a", "Chương trình A", "2026-12-01T06:10", 600)
    second = once("b", "Chương trình B", "2026-12-01T06:20", 600)
    result = plan([second, first, urgent])
    assert [(e["slot_id"][0], e["starts_at"][11:16]) for e in result.entries] == [
        ("k", "23:05"), ("a", "23:15"), ("b", "23:25")]
    assert [m["because_of"] for m in result.moved] == ["khan", "a"]


def test_plan_does_not_depend_on_where_the_window_starts():
    urgent = once("khan", "Khẩn", "2026-12-01T06:05", 600, priority="high")
    first = once("a", "Chương trình A", "2026-12-01T06:10", 600)
    whole_day = plan([first, urgent]).entries
    from_six = plan([first, urgent], window=(vn(2026, 12, 1, 6, 12), vn(2026, 12, 1, 7))).entries
    assert from_six == whole_day
    assert plan([first, urgent], window=(vn(2026, 12, 1, 7), vn(2026, 12, 2))).entries == ()


def test_same_priority_overlap_that_slipped_through_is_still_resolved():
    a = once("a", "A", "2026-12-01T06:00", 600)
    b = once("b", "B", "2026-12-01T06:00", 600)
    result = plan([b, a])
    assert [(e["slot_id"][0], e["starts_at"][11:16]) for e in result.entries] == [("a", "23:00"), ("b", "23:10")]


# ---------------------------------------------------------------- versions


def test_version_is_stable_for_the_same_entries():
    def build():
        return plan([daily("sang", "Bản tin sáng", MORNING, 600),
                     once("khan", "Khẩn", "2026-12-01T06:05", 300, priority="high")]).entries

    first, second = build(), build()
    assert first is not second
    assert schedule_version(first) == schedule_version(second) == schedule_version(list(second))
    assert 1 <= schedule_version(first) < 2**63
    assert 1 <= schedule_version([]) < 2**63


@pytest.mark.parametrize("field, value", [
    ("slot_id", "sang/x/0/1"), ("starts_at", "2026-11-30T23:00:01.000Z"), ("ends_at", "2026-11-30T23:11:00.000Z"),
    ("content_id", "khac"), ("title", "Bản tin sáng."), ("media_url", "https://media.example/v2.mp3"),
    ("priority", "high"),
])
def test_any_change_gives_another_version(field, value):
    entries = list(plan([daily("sang", "Bản tin sáng", MORNING, 600)], window=(vn(2026, 12, 1), vn(2026, 12, 3)))
                   .entries)
    changed = [dict(entries[0], **{field: value})] + entries[1:]
    assert schedule_version(changed) != schedule_version(entries)
    assert schedule_version(list(reversed(entries))) != schedule_version(entries)
    assert schedule_version(entries[:1]) != schedule_version(entries)
