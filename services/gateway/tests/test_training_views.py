"""The roster and training pages' view rules, with no I/O: the roster by
village, what the public verification may say, the forms as the training
service's requests, whom the pages offer, and dates in Vietnam's calendar."""
import base64

import pytest
from werkzeug.datastructures import MultiDict

from shared.errors import InvalidInput, NotFound

from services.gateway import domain, training_views as views
from services.gateway.errors import PayloadTooLarge
from services.gateway.tests import training_samples as samples


# --- the roster ------------------------------------------------------------------------------------

def test_villages_keep_the_services_order_and_say_whether_they_are_short():
    sections = views.village_sections(samples.roster())
    assert [(s.village, s.name, s.target, s.in_place, s.vacancies, s.short, s.vacant_since) for s in sections] == [
        ("thon-1", "Thôn 1", 1, 1, 0, False, None), ("thon-2", "Thôn 2", 2, 0, 2, True, "2026-03-12")]
    assert [p["person_id"] for p in sections[1].people] == ["p2", "p3"]


def test_a_village_without_its_name_or_people_is_shown_by_its_id():
    (section,) = views.village_sections({"villages": [{"village": "thon-9"}]})
    assert (section.name, section.target, section.people, section.short) == ("thon-9", 0, [], False)


def test_everyone_of_the_roster_villages_officers_and_former_villages():
    assert [p["person_id"] for p in views.roster_people(samples.roster())] == ["p1", "p2", "p3", "p4", "p5"]
    assert views.roster_people({}) == []


def test_personal_columns_show_only_when_the_service_answered_them():
    assert views.shows_personal(views.roster_people(samples.roster(personal=True)))
    assert not views.shows_personal(views.roster_people(samples.roster(personal=False)))
    # a phone left empty is still an answer to someone who may see it
    assert views.shows_personal([samples.person(phone=None, email=None)])


@pytest.mark.parametrize("status, offered", [
    ("active", ("on_leave", "left")), ("on_leave", ("active", "left")), ("left", ("active",)), ("unknown", ()),
])
def test_the_status_changes_offered_from_each_status(status, offered):
    assert views.status_offers({"status": status}) == offered


@pytest.mark.parametrize("role, replaceable", [("communicator", True), ("lead", True), ("officer", False)])
def test_only_those_counted_against_a_village_are_replaced(role, replaceable):
    assert views.replaceable({"role": role}) is replaceable


def test_replacement_candidates_are_those_who_have_not_left_but_the_person_by_name():
    people = views.roster_people(samples.roster())
    assert [p["person_id"] for p in views.replacement_candidates(people, "p3")] == ["p5", "p1", "p4", "p2"]
    assert "p1" not in [p["person_id"] for p in views.replacement_candidates(people, "p1")]


# --- forms: people and targets --------------------------------------------------------------------

def test_the_person_form_is_filled_from_a_person_or_for_a_new_one():
    assert views.person_values(samples.person())["birth_date"] == "1990-05-12"
    new = views.person_values(village="thon-2")
    assert (new["role"], new["village"], new["full_name"], new["phone"]) == ("communicator", "thon-2", "", "")
    assert views.person_values(village=None)["village"] == ""


def test_the_person_form_sends_every_field_it_shows_empty_ones_as_null():
    form = MultiDict({"full_name": "  Hoàng Văn Đức ", "village": "", "role": "lead", "phone": "0987 654 321 ",
                      "notes": "Dòng 1\r\nDòng 2", "csrf_token": "x", "other": "y"})
    assert views.person_fields(form) == {"full_name": "Hoàng Văn Đức", "village": None, "role": "lead",
                                         "phone": "0987 654 321", "notes": "Dòng 1\nDòng 2"}


def test_an_empty_name_stays_empty_for_the_schema_to_refuse_and_names_come_out_in_nfc():
    decomposed = "Nguye\u0302\u0303n"  # what some keyboards send
    assert views.person_fields(MultiDict({"full_name": "  "})) == {"full_name": ""}
    assert views.person_fields(MultiDict({"full_name": decomposed}))["full_name"] == "Nguyễn"


def test_a_replacement_is_someone_listed_or_a_new_person_without_village_and_role():
    assert views.replacement_fields(MultiDict({"existing_person_id": "p5", "full_name": "ignored"})) == {
        "person_id": "p5"}
    new = views.replacement_fields(MultiDict({"existing_person_id": " ", "full_name": "Đức", "village": "thon-1",
                                              "role": "officer", "phone": ""}))
    assert new == {"full_name": "Đức", "phone": None}


def test_the_targets_form_is_a_target_and_group_per_village_of_the_commune():
    villages = [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}]
    form = MultiDict({"target-thon-1": " 2 ", "zalo-thon-1": " https://zalo.me/g/1 ", "target-thon-2": "0",
                      "zalo-thon-2": "", "target-thon-9": "5", "zalo_url": ""})
    assert views.targets_request(form, villages) == {
        "targets": [{"village": "thon-1", "target": "2", "zalo_url": "https://zalo.me/g/1"},
                    {"village": "thon-2", "target": "0", "zalo_url": None}], "zalo_url": None}


def test_the_targets_form_is_filled_from_the_roster():
    assert views.targets_values(samples.roster()) == {
        "zalo_url": "https://zalo.me/g/xuanhung", "target-thon-1": "1", "zalo-thon-1": "https://zalo.me/g/thon1",
        "target-thon-2": "2", "zalo-thon-2": ""}


def test_the_enrol_form_offers_active_people_not_yet_enrolled_or_waiting_by_name():
    people = views.roster_people(samples.roster())
    enrolments = samples.course_detail()["enrolments"] + [samples.enrolment("e9", "p5", "Đỗ Minh Khoa",
                                                                            state="cancelled")]
    assert [p["person_id"] for p in views.enrol_options(people, enrolments)] == ["p5", "p4"]
    assert [p["person_id"] for p in views.enrol_options(people, enrolments[:1])] == ["p5", "p4"]
    assert [p["person_id"] for p in views.enrol_options(people, ())] == ["p5", "p1", "p4"]


@pytest.mark.parametrize("row, expected", [
    ({"full_name": "Ai đó", "email": "LAN@xuanhung.vn "}, "p1"),
    ({"full_name": "Ai đó", "phone": "+84 912 345 678"}, "p1"),
    ({"full_name": "  nguyen   thi LAN"}, "p1"),
    ({"full_name": "Nguyễn Thị Lan", "email": "khac@x.vn"}, "p1"),
    ({"full_name": "Ngô Thị Mai"}, None),
    ({"full_name": ""}, None),
])
def test_an_unmatched_row_suggests_the_person_the_way_the_service_matches(row, expected):
    people = [samples.person("p1"), samples.person("p2", full_name="Trần Văn Bình", phone="0988 000 111",
                                                   email="binh@x.vn")]
    assert views.suggested_person(row, people) == expected


def test_a_name_two_people_share_suggests_nobody():
    people = [samples.person("p1"), samples.person("p6", phone="0900 000 000", email="lan2@x.vn")]
    assert views.suggested_person({"full_name": "Nguyễn Thị Lan"}, people) is None


# --- forms: courses, sessions, attendance ---------------------------------------------------------

def test_the_course_form_writes_the_minimum_attendance_as_a_percentage():
    assert views.course_values()["min_attendance"] == 80
    assert views.course_values(samples.course(min_attendance=0.75))["min_attendance"] == 75
    assert views.course_values(samples.course(min_attendance=0))["min_attendance"] == 0
    form = MultiDict([("title", " Lớp "), ("topics", "radio_operation"), ("topics", "other"),
                      ("min_attendance", "66,5%"), ("description", "a\r\nb")])
    assert views.course_fields(form) == {"title": "Lớp", "topics": ["radio_operation", "other"],
                                         "description": "a\nb", "organiser": "", "min_attendance": 0.665}
    assert "min_attendance" not in views.course_fields(MultiDict({"title": "x", "min_attendance": ""}))
    with pytest.raises(InvalidInput, match="ví dụ 80"):
        views.course_fields(MultiDict({"min_attendance": "tám mươi"}))


def test_the_session_form():
    assert views.session_values(samples.session())["capacity"] == 2
    assert views.session_values()["date"] == ""
    form = MultiDict({"date": "2026-04-10", "starts_at": "07:30", "ends_at": "", "place": "", "capacity": " 30 "})
    assert views.session_fields(form) == {"date": "2026-04-10", "starts_at": "07:30", "place": "", "trainer": "",
                                          "capacity": "30"}


def test_a_session_of_a_course():
    course = samples.course_detail()
    assert views.find_session(course, "s2")["date"] == "2026-04-17"
    with pytest.raises(NotFound):
        views.find_session(course, "s9")


def test_the_enrolled_by_when_they_got_a_place_and_the_waiting_list_by_position():
    course = samples.course_detail()
    course["enrolments"] = list(reversed(course["enrolments"])) + [
        samples.enrolment("e5", "p5", "Đỗ Minh Khoa", state="waitlisted", position=2),
        samples.enrolment("e6", "p6", "Hủy", state="cancelled")]
    enrolled, waiting = views.enrolment_lists(course)
    assert [e["enrolment_id"] for e in enrolled] == ["e1", "e2"]
    assert [e["enrolment_id"] for e in waiting] == ["e3", "e5"]


def test_the_attendance_form_is_one_entry_per_person_marked_in_the_sheets_order():
    form = MultiDict([("person_id", "p2"), ("person_id", "p1"), ("person_id", "p3"), ("status-p1", "late"),
                      ("remark-p1", " 15 phút "), ("status-p2", "present"), ("remark-p2", "")])
    assert views.attendance_entries(form) == [{"person_id": "p2", "status": "present", "remark": ""},
                                              {"person_id": "p1", "status": "late", "remark": "15 phút"}]


def test_a_remark_for_someone_not_marked_is_refused_naming_them():
    form = MultiDict([("person_id", "p1"), ("person_id", "p2"), ("status-p1", "present"), ("remark-p2", "Ốm"),
                      ("name-p2", "Trần Văn Bình")])
    with pytest.raises(InvalidInput, match="cho: Trần Văn Bình.") as refused:
        views.attendance_entries(form)
    assert refused.value.details == {"unmarked": ["Trần Văn Bình"]}


def test_a_sheet_with_nobody_marked_is_refused():
    with pytest.raises(InvalidInput, match="ít nhất một người"):
        views.attendance_entries(MultiDict([("person_id", "p1")]))


def test_the_sheet_shows_what_is_stored_or_what_a_refused_form_held():
    rows = samples.attendance_sheet()["rows"]
    assert [(r["status"], r["remark"]) for r in views.attendance_rows(rows)] == [("present", ""), ("", "")]
    form = MultiDict({"status-p1": "absent", "remark-p2": "Ốm"})
    assert [(r["status"], r["remark"]) for r in views.attendance_rows(rows, form)] == [("absent", ""), ("", "Ốm")]
    assert views.attendance_summary({"present": 3, "not_taken": 1}) == [
        ("present", 3), ("late", 0), ("excused", 0), ("absent", 0), ("not_taken", 1)]


# --- imports ---------------------------------------------------------------------------------------

def test_a_file_in_json_must_be_base64_within_two_megabytes():
    assert views.checked_base64("aGVsbG8=", "a.csv") == "aGVsbG8="
    with pytest.raises(InvalidInput, match="base64"):
        views.checked_base64("không phải", "a.csv")
    with pytest.raises(PayloadTooLarge, match="2 MB"):
        views.checked_base64(base64.b64encode(b"x" * (views.MAX_IMPORT_BYTES + 1)).decode(), "a.csv")
    assert views.checked_base64(base64.b64encode(b"x" * views.MAX_IMPORT_BYTES).decode(), "a.csv")


def test_a_preview_is_confirmed_only_without_errors():
    assert views.row_counts(samples.roster_preview()["rows"]) == {"ok": 1, "error": 1}
    assert views.row_counts(samples.online_preview()["rows"]) == {"matched": 1, "unmatched": 1}
    assert not views.confirmable(samples.roster_preview(with_errors=True))
    assert views.confirmable(samples.roster_preview(with_errors=False))
    assert views.confirmable(samples.online_preview())  # unmatched rows wait; they are no error
    assert not views.confirmable({"rows": []})


# --- certificates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, code", [
    (" 000017-K7Q2M9XW\n", "000017-K7Q2M9XW"), ("", None), ("   ", None), ("x" * 201, None),
    ("x" * 200, "x" * 200), ("abc\x00", None), ("abc\tdef", None),
    ("k7q2 m9xw 0000 1700", "k7q2 m9xw 0000 1700"),  # typed in groups, in lower case: the service reads it
])
def test_a_code_as_typed(typed, code):
    assert views.clean_code(typed) == code


def test_the_public_verification_passes_on_only_what_the_certificate_states():
    stated = {"code": "000017-K7Q2M9XW", "full_name": "Nguyễn Thị Lan", "course_title": "Kỹ năng tuyên truyền miệng",
              "topics": ["oral_propaganda", "foreign_information"], "completed_on": "2026-04-17",
              "commune_name": "Xuân Hưng", "issued_at": "2026-04-17T10:00:00.000Z", "revoked": None}
    assert views.public_verification(samples.verification()) == {"valid": True, "certificate": stated}


@pytest.mark.parametrize("answer, reason", [
    (samples.verification(revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm", "by": "u1"}),
     "Giấy chứng nhận đã bị thu hồi."),
    ({"valid": False, "reason": "Đã bị thu hồi ngày 01/05/2026: Cấp nhầm",
      "certificate": samples.certificate(revoked={"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm", "by": "u1"})},
     "Đã bị thu hồi ngày 01/05/2026: Cấp nhầm"),
])
def test_a_revoked_certificate_is_no_longer_valid_and_keeps_its_statement(answer, reason):
    result = views.public_verification(answer)
    assert (result["valid"], result["reason"]) == (False, reason)
    assert result["certificate"]["revoked"] == {"at": "2026-05-01T02:00:00.000Z", "reason": "Cấp nhầm"}
    assert set(result["certificate"]) == set(views.STATEMENT_KEYS)
    assert views.verification_status(result) == 410


def test_the_status_of_a_verification():
    assert views.verification_status({"valid": True, "certificate": {}}) == 200
    assert views.verification_status({"valid": False, "reason": "x"}) == 404


@pytest.mark.parametrize("answer, reason", [
    ({"valid": False, "reason": "Mã không khớp."}, "Mã không khớp."),
    ({"valid": False}, ""),
    ({"valid": "true", "certificate": samples.certificate()}, ""),
    ({"valid": False, "reason": "Sai mã.", "certificate": samples.certificate()}, "Sai mã."),
    ({"valid": True, "certificate": "x"}, ""),
    (None, ""),
])
def test_anything_but_a_valid_answer_is_no_valid_certificate(answer, reason):
    assert views.public_verification(answer) == {"valid": False, "reason": reason}


# --- words and dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, day", [
    ("2026-03-12", "12/03/2026"), ("2026-04-17T10:00:00.000Z", "17/04/2026"),
    ("2026-04-17T17:30:00.000Z", "18/04/2026"),  # past 17:00 UTC it is the next day in Vietnam
    ("2026-04-17T23:30:00+07:00", "17/04/2026"), ("", ""), (None, ""),
])
def test_days_are_vietnamese_days(value, day):
    assert views.local_day(value) == day


def test_topics_in_the_readers_language_and_an_unknown_one_in_the_services_words():
    topics = samples.topics() + [{"key": "digital_skills", "label": "Kỹ năng số"}]
    names = views.topic_labels(topics, "en")
    assert names["oral_propaganda"] == "Oral communication"
    assert names["digital_skills"] == "Kỹ năng số"
    assert views.topic_labels(topics, "vi")["foreign_information"] == "Thông tin đối ngoại"


def test_a_sessions_time():
    assert views.session_time(samples.session()) == "07:30–11:00"
    assert views.session_time({"starts_at": "07:30"}) == "07:30"


def test_training_activity_in_words_and_its_link():
    entry = {"kind": "enrolment_promoted", "actor_name": None, "data": {
        "course_id": "c 1", "course_title": "Lớp A", "full_name": "Lê Văn Cường"}}
    assert domain.describe_activity(entry, "vi") == "Lê Văn Cường được chuyển từ danh sách chờ vào lớp «Lớp A»"
    assert domain.activity_link(entry) == "/training/courses/c%201"
    entry = {"kind": "completions_recorded", "actor_name": None, "data": {
        "course_id": "c1", "course_title": "Lớp A", "source": "course", "people_count": 12}}
    assert domain.describe_activity(entry, "vi") == "12 người hoàn thành lớp «Lớp A»"
