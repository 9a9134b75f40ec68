"""The broadcasting pages' view rules, with no I/O: the schedule builder's
RRULE and its reading back, schedules and targets in words, the inbox, the
steps offered to whom, the emergency's confirmation, the calendar's week and
a day's broadcast hours."""
from datetime import date

import pytest

from shared.context import Caller
from shared.errors import InvalidInput

from services.gateway import broadcast_views as views
from services.gateway.entrypoints import ErrorReply
from services.gateway.tests import broadcast_samples as samples
from services.gateway.tests import device_samples


def caller(*roles):
    return Caller(subject="u1", commune_id="xuan-hung", roles=frozenset(roles), kind="user")


# --- the schedule builder --------------------------------------------------------------------

@pytest.mark.parametrize("times, weekdays, rrule", [
    ("06:00, 17:00", views.WEEKDAYS, "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0"),
    ("17:00 6:00", ["SU", "MO", "WE", "FR"], "FREQ=WEEKLY;BYDAY=MO,WE,FR,SU;BYHOUR=6,17;BYMINUTE=0"),
    ("6h30", ["SA"], "FREQ=WEEKLY;BYDAY=SA;BYHOUR=6;BYMINUTE=30"),
    ("06:00; 06:30, 06:30", ["MO", "TU", "WE", "TH", "FR"], "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0,30"),
    ("06:00, 06:30, 17:00, 17:30", views.WEEKDAYS, "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0,30"),
    ("0:05", ["TU"], "FREQ=WEEKLY;BYDAY=TU;BYHOUR=0;BYMINUTE=5"),
])
def test_the_builder_makes_the_rrule(times, weekdays, rrule):
    assert views.weekly_rrule(times, weekdays) == rrule


@pytest.mark.parametrize("times, weekdays, message", [
    ("", ["MO"], "Hãy nhập ít nhất một giờ phát"),
    ("sáu giờ, 17:00", ["MO"], "Giờ phát không hợp lệ: «sáu», «giờ»"),
    ("24:00", ["MO"], "«24:00»"),
    ("06:60", ["MO"], "«06:60»"),
    ("06:00", [], "Hãy chọn ít nhất một ngày trong tuần."),
    ("06:00", ["MO", "XX"], "Ngày trong tuần không hợp lệ: XX"),
    # one rule fixes hours and minutes apart: 06:00 and 17:30 would also play 06:30 and 17:00
    ("06:00, 17:30", ["MO"], "Các giờ phát phải cùng số phút"),
    ("06:00, 06:30, 17:00", ["MO"], "Các giờ phát phải cùng số phút"),
])
def test_the_builder_refuses_what_one_rule_cannot_say(times, weekdays, message):
    with pytest.raises(InvalidInput) as refused:
        views.weekly_rrule(times, weekdays)
    assert message in refused.value.message


@pytest.mark.parametrize("rrule, built", [
    ("FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0", {"times": "06:00, 17:00", "weekdays": list(views.WEEKDAYS)}),
    ("FREQ=WEEKLY;BYDAY=FR,MO;BYHOUR=6;BYMINUTE=0,30", {"times": "06:00, 06:30", "weekdays": ["MO", "FR"]}),
    ("FREQ=WEEKLY;BYDAY=1MO;BYHOUR=6;BYMINUTE=0", None),
    ("FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=6;BYMINUTE=0", None),
    ("FREQ=DAILY;INTERVAL=2;BYHOUR=6;BYMINUTE=0", None),
    ("FREQ=DAILY;BYHOUR=6", None),
    ("FREQ=WEEKLY;BYHOUR=6;BYMINUTE=0", None),
    ("", None),
])
def test_a_rule_is_read_back_into_the_builder_when_it_could_have_made_it(rrule, built):
    assert views.builder_schedule(rrule) == built


@pytest.mark.parametrize("times, weekdays", [("06:00, 17:00", views.WEEKDAYS), ("05:15, 05:45", ["TU", "SU"])])
def test_the_builder_reads_back_what_it_made(times, weekdays):
    built = views.builder_schedule(views.weekly_rrule(times, weekdays))
    assert built == {"times": times, "weekdays": list(weekdays)}


@pytest.mark.parametrize("when, vi, en", [
    ({"rrule": "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0", "start_date": "2026-12-01"},
     "Hằng ngày lúc 06:00, 17:00, từ 01/12/2026", "Every day at 06:00, 17:00, from 01/12/2026"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=6;BYMINUTE=30", "start_date": "2026-12-01", "until": "2027-01-31"},
     "Thứ Hai, Thứ Tư lúc 06:30, từ 01/12/2026 đến 31/01/2027",
     "Monday, Wednesday at 06:30, from 01/12/2026 to 31/01/2027"),
    ({"rrule": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0", "start_date": "2026-12-01"},
     "Theo quy tắc FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0, từ 01/12/2026",
     "By the rule FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=8;BYMINUTE=0, from 01/12/2026"),
    ({"at": "2026-12-01T06:30"}, "Một lần lúc 01/12/2026 06:30", "Once at 01/12/2026 06:30"),
    (None, "—", "—"),
])
def test_a_schedule_in_words(when, vi, en):
    assert views.describe_when(when, "vi") == vi and views.describe_when(when, "en") == en


def test_a_target_in_words():
    names = {"thon-1": "Thôn 1"}
    assert views.describe_target({"commune": True}, names, "vi") == "Cả xã"
    assert views.describe_target({"zones": ["thon-1", "cu"], "devices": ["loa-1"]}, names, "vi") == \
        "vùng Thôn 1, cu; thiết bị loa-1"
    assert views.describe_target({}, names, "en") == "—"


def test_the_editor_shows_a_stored_programme():
    values = views.programme_values(samples.programme(), date(2026, 11, 26))
    assert values["schedule_mode"] == "builder" and values["times"] == "06:00, 17:00"
    assert values["weekdays"] == ["MO", "WE", "FR"] and values["start_date"] == "2026-11-01"
    assert values["zones"] == ["thon-1"] and not values["commune"]
    assert values["items"][0]["duration_seconds"] == "600" and len(values["items"]) == views.PLAYLIST_ROWS
    raw = views.programme_values(samples.programme(when={"rrule": "FREQ=DAILY;INTERVAL=2;BYHOUR=6;BYMINUTE=0",
                                                         "start_date": "2026-11-01"}), date(2026, 11, 26))
    assert raw["schedule_mode"] == "rrule" and raw["rrule"].startswith("FREQ=DAILY;INTERVAL=2")
    once = views.programme_values(samples.programme(when={"at": "2026-12-01T06:30"}), date(2026, 11, 26))
    assert once["schedule_mode"] == "once" and once["at"] == "2026-12-01T06:30" and once["start_date"] == "2026-11-26"


def test_a_long_playlist_keeps_two_blank_rows():
    assert len(views.padded_items([{"content_id": str(n)} for n in range(9)])) == 11


def test_a_new_programme_gets_a_readable_unique_id():
    first, second = views.new_programme_id("Bản tin sáng Thôn Đông"), views.new_programme_id("Bản tin sáng Thôn Đông")
    assert first.startswith("ban-tin-sang-thon-dong-") and first != second
    assert views.new_programme_id("   ").startswith("chuong-trinh-")
    assert len(views.new_programme_id("x" * 200)) <= 64


# --- the inbox, the steps, the confirmation --------------------------------------------------

def test_the_inbox_is_by_level_emergency_first():
    waiting = samples.inbox_list()
    groups = views.inbox(waiting["items"], waiting["inbox"])
    assert [(g.level, g.count, [i["broadcast_id"] for i in g.items]) for g in groups] == [
        ("emergency", 0, []), ("priority", 2, ["b2", "b3"]), ("normal", 1, ["b4"])]
    assert [g.count for g in views.inbox(waiting["items"], {})] == [0, 2, 1]


@pytest.mark.parametrize("roles, levels", [
    (("operator",), ["normal", "priority"]),
    (("approver",), ["emergency"]),
    (("commune_admin",), ["normal", "priority", "emergency"]),
    (("viewer", "editor"), []),
])
def test_who_may_play_which_level(roles, levels):
    assert views.offered_levels(caller(*roles)) == levels


@pytest.mark.parametrize("state, level, roles, offered", [
    ("inbox", "normal", ("operator",), {"schedule", "cancel"}),
    ("needs_order", "priority", ("commune_admin",), {"order", "cancel"}),
    ("sending", "normal", ("operator",), {"cancel"}),
    ("sending", "emergency", ("approver",), {"cancel"}),
    ("sending", "normal", ("approver",), set()),
    ("inbox", "normal", ("viewer",), set()),
    ("done", "emergency", ("commune_admin",), set()),
    ("cancelled", "normal", ("operator",), set()),
])
def test_the_steps_offered(state, level, roles, offered):
    assert views.actions({"state": state, "level": level}, caller(*roles)) == offered


def test_an_emergencys_conflict_is_a_confirmation_naming_the_devices():
    refusal = ErrorReply(409, "CONFLICT", "Cần xác nhận.", {"confirmation_required": "True", "device_count": "2",
                                                            "devices": ["loa-thon-1", {"device_id": "loa-x"}]})
    asked = views.confirmation(refusal, {"level": "emergency"}, device_samples.devices())
    assert asked.device_count == 2 and asked.message == "Cần xác nhận."
    assert asked.devices == [{"device_id": "loa-thon-1", "name": "Cụm loa nhà văn hóa Thôn 1", "village": "thon-1"},
                             {"device_id": "loa-x", "name": "loa-x", "village": None}]


def test_a_confirmation_without_details_keeps_the_services_message():
    asked = views.confirmation(ErrorReply(409, "CONFLICT", "Cần xác nhận trên 4 thiết bị."), {"level": "emergency"},
                               [])
    assert asked == views.Confirmation("Cần xác nhận trên 4 thiết bị.", None, [])


@pytest.mark.parametrize("refusal, request_", [
    (ErrorReply(409, "CONFLICT", "x"), {"level": "priority"}),
    (ErrorReply(409, "CONFLICT", "x"), {"level": "emergency", "confirm": True}),
    (ErrorReply(400, "INVALID_INPUT", "x"), {"level": "emergency"}),
    (ErrorReply(409, "CONFLICT", "x", {"clashes": []}), {"level": "emergency"}),
    (ErrorReply(409, "CONFLICT", "x", {"confirmation_required": "False"}), {"level": "emergency"}),
])
def test_other_refusals_are_no_confirmation(refusal, request_):
    assert views.confirmation(refusal, request_, []) is None


# --- times, the calendar, hours --------------------------------------------------------------

def test_times_on_vietnams_clock():
    assert views.clock("2026-11-26T13:50:07.000Z") == "20:50:07" and views.clock(None) == ""
    assert views.wall_time("2026-12-01T06:30") == "01/12/2026 06:30"


@pytest.mark.parametrize("value, monday", [
    ("2026-11-26", date(2026, 11, 23)), ("2026-11-23", date(2026, 11, 23)), ("2026-11-29", date(2026, 11, 23)),
    (None, date(2026, 11, 30)), ("tuần sau", date(2026, 11, 30)),
])
def test_a_week_starts_on_monday(value, monday):
    assert views.week_start(value, date(2026, 12, 3)) == monday


def test_the_calendar_puts_each_occurrence_under_its_vietnamese_day_in_each_zone():
    days, rows = views.calendar_rows(samples.calendar(), date(2026, 11, 23))
    assert days[0] == date(2026, 11, 23) and days[-1] == date(2026, 11, 29)
    placed = {(row.name, index, slot.name, slot.starts, slot.ends)
              for row in rows for index, slots in enumerate(row.days) for slot in slots}
    assert placed == {("Thôn 1", 0, "Bản tin sáng", "06:00", "06:10"),  # 23:00 UTC on Sunday is Monday 06:00
                      ("Thôn 1", 2, "Tin phòng dịch", "17:30", "17:45"),
                      ("Loa chợ và trường học", 2, "Tin phòng dịch", "17:30", "17:45"),
                      (None, 6, "Lễ hội làng", "08:00", "09:00")}
    assert [row.zone_id for row in rows] == ["thon-1", "loa-cho", None]
    _, quiet = views.calendar_rows({"zones": [{"id": "thon-1", "name": "Thôn 1"}], "occurrences": []},
                                   date(2026, 11, 23))
    assert [row.zone_id for row in quiet] == ["thon-1"]
    _, chosen = views.calendar_rows(samples.calendar(), date(2026, 11, 23), "loa-cho")
    assert [(row.zone_id, [len(slots) for slots in row.days]) for row in chosen] == [("loa-cho", [0, 0, 1, 0, 0, 0, 0])]


def test_a_days_hours_by_village_in_the_communes_order():
    villages = [{"id": "thon-2", "name": "Thôn 2"}, {"id": "thon-1", "name": "Thôn 1"}]
    day = views.day_hours(samples.hours("2026-11-26"), "2026-11-26", villages)
    assert (day.hours, day.plays) == (2.5, 14)
    assert day.villages == [("thon-1", "Thôn 1", 1.75), ("thon-cu", "thon-cu", 0.25)]
    assert views.day_hours({"days": []}, "2026-11-27", villages) == views.DayHours("2026-11-27", 0, 0, [])
    assert views.day_or_today("2026-02-30", date(2026, 11, 26)) == "2026-11-26"
