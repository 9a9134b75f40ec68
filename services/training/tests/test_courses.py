"""Courses' rules (no I/O): places from sessions, enrolment with a waiting
list and promotion, who is expected at a session, completion."""
from datetime import date, datetime

import pytest

from services.training import courses
from shared.errors import Conflict, InvalidInput, NotFound
from shared.timeutil import VIETNAM, iso

PEOPLE = {f"p{n}": {"person_id": f"p{n}", "full_name": f"Người số {n}", "status": "active", "village": "thon-1"}
          for n in range(1, 8)}


def at(day, hour=9):
    """An ISO time on a Vietnamese day."""
    return iso(datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=VIETNAM))


def course(*capacities, min_attendance=0.8):
    made = courses.new_course("k1", {"title": "Tuyên truyền miệng", "topics": ["oral_propaganda"],
                                     "min_attendance": min_attendance}, at("2026-03-01"))
    for n, capacity in enumerate(capacities, start=1):
        made, _ = courses.put_session(made, session(n, capacity), at("2026-03-01"))
    return made


def session(n, capacity=30, day=None):
    return {"session_id": f"k1-s{n}", "date": day or f"2026-03-{10 + n:02d}", "starts_at": "07:30", "ends_at": "11:00",
            "place": "Hội trường UBND xã", "trainer": "Sở VHTTDL", "capacity": capacity}


def enrol(made, *numbers, when="2026-03-02"):
    found = []
    for n in numbers:
        made, enrolment = courses.enrol(made, f"k1-e{n}", PEOPLE[f"p{n}"], at(when, 8 + n))
        found.append(enrolment)
    return made, found


def states(made):
    return {e["person_id"]: e["state"] for e in made["enrolments"].values()}


def test_the_smallest_room_sets_the_places_and_a_course_without_sessions_has_no_limit():
    assert courses.places({}) is None
    assert course(30, 12, 20)["places"] == 12
    made, found = enrol(course(), 1, 2, 3, 4, 5)
    assert {e["state"] for e in found} == {"enrolled"} and made["places"] is None


def test_enrolling_past_the_places_waitlists_in_request_order_and_a_cancellation_promotes_the_first():
    made, found = enrol(course(2), 1, 2, 3, 4)
    assert [e["state"] for e in found] == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    assert (made["enrolled"], made["waitlisted"]) == (2, 2)
    assert [courses.enrolment_view(made, e)["position"] for e in courses.waiting_list(made)] == [1, 2]
    made, cancelled, promoted = courses.cancel(made, "k1-e2", "bận việc gia đình", at("2026-03-05"))
    assert cancelled["state"] == "cancelled" and [e["person_id"] for e in promoted] == ["p3"]
    assert promoted[0]["enrolled_at"] == at("2026-03-05")
    assert states(made) == {"p1": "enrolled", "p2": "cancelled", "p3": "enrolled", "p4": "waitlisted"}
    assert courses.enrolment_view(made, made["enrolments"]["k1-e4"])["position"] == 1


def test_cancelling_someone_waiting_promotes_nobody_and_a_cancellation_is_final():
    made, _ = enrol(course(1), 1, 2, 3)
    made, _, promoted = courses.cancel(made, "k1-e3", "", at("2026-03-05"))
    assert promoted == [] and states(made)["p2"] == "waitlisted"
    with pytest.raises(Conflict):
        courses.cancel(made, "k1-e3", "", at("2026-03-05"))
    with pytest.raises(NotFound):
        courses.cancel(made, "k1-e9", "", at("2026-03-05"))


def test_one_live_enrolment_per_person_and_course_but_again_after_a_cancellation():
    made, _ = enrol(course(5), 1)
    with pytest.raises(Conflict) as refused:
        courses.enrol(made, "k1-e9", PEOPLE["p1"], at("2026-03-03"))
    assert "Người số 1" in refused.value.message
    made, _, _ = courses.cancel(made, "k1-e1", "", at("2026-03-04"))
    made, again = courses.enrol(made, "k1-e9", PEOPLE["p1"], at("2026-03-05"))
    assert again["state"] == "enrolled"


def test_someone_who_left_and_online_or_closed_courses_take_no_enrolment():
    with pytest.raises(InvalidInput):
        courses.enrol(course(5), "k1-e1", dict(PEOPLE["p1"], status="left"), at("2026-03-03"))
    online = dict(course(), kind="online")
    with pytest.raises(InvalidInput):
        courses.enrol(online, "k1-e1", PEOPLE["p1"], at("2026-03-03"))
    with pytest.raises(Conflict):
        courses.enrol(dict(course(), state="closed"), "k1-e1", PEOPLE["p1"], at("2026-03-03"))


def test_a_session_smaller_than_those_enrolled_is_refused_and_a_bigger_room_promotes_at_once():
    made, _ = enrol(course(3), 1, 2, 3, 4, 5)
    with pytest.raises(Conflict) as refused:
        courses.put_session(made, session(2, 2), at("2026-03-06"))
    assert refused.value.details == {"enrolled": 3, "capacity": 2}
    made, promoted = courses.put_session(made, session(1, 4), at("2026-03-06"))
    assert [e["person_id"] for e in promoted] == ["p4"] and made["places"] == 4
    made, promoted = courses.put_session(made, session(2, 10), at("2026-03-06"))
    assert promoted == [] and made["places"] == 4


def test_deleting_the_smallest_session_frees_places_unless_attendance_was_taken():
    made, _ = enrol(course(10, 2), 1, 2, 3)
    made, promoted = courses.remove_session(made, "k1-s2", at("2026-03-06"))
    assert [e["person_id"] for e in promoted] == ["p3"] and made["places"] == 10
    made = courses.record_attendance(made, "k1-s1", [{"person_id": "p1", "status": "present"}], {}, "GV", at("2026-03-11"))
    with pytest.raises(Conflict):
        courses.remove_session(made, "k1-s1", at("2026-03-12"))


def test_only_those_enrolled_by_a_sessions_day_are_expected_at_it():
    made = course(10, 10, 10)  # sessions on 11, 12 and 13 March
    made, _ = enrol(made, 1, 2, when="2026-03-02")
    made, _ = enrol(made, 3, when="2026-03-12")  # enrolled on the second day, 11:00
    first, second, _ = courses.sessions_by_date(made)
    assert [e["person_id"] for e in courses.expected(made, first)] == ["p1", "p2"]
    assert [e["person_id"] for e in courses.expected(made, second)] == ["p1", "p2", "p3"]
    with pytest.raises(InvalidInput) as refused:
        courses.record_attendance(made, "k1-s1", [{"person_id": "p3", "status": "absent"}],
                                  {"p3": "Người số 3"}, "GV", at("2026-03-11"))
    assert "Người số 3" in refused.value.message and "2026-03-11" in refused.value.message
    made = courses.record_attendance(made, "k1-s1", [{"person_id": "p1", "status": "late", "remark": "xe hỏng"}],
                                     {}, "GV", at("2026-03-11"))
    sheet = courses.sheet(made, "k1-s1", PEOPLE)
    assert [(r["person_id"], r["status"], r["remark"]) for r in sheet["rows"]] == [("p1", "late", "xe hỏng"),
                                                                                   ("p2", None, "")]
    assert sheet["counts"] == {"present": 0, "late": 1, "excused": 0, "absent": 0, "not_taken": 1}


def test_recording_again_replaces_that_persons_status():
    made, _ = enrol(course(10), 1, 2)
    made = courses.record_attendance(made, "k1-s1", [{"person_id": "p1", "status": "absent"},
                                                     {"person_id": "p2", "status": "present"}], {}, "GV", at("2026-03-11"))
    made = courses.record_attendance(made, "k1-s1", [{"person_id": "p1", "status": "excused", "remark": "có giấy"}],
                                     {}, "GV", at("2026-03-11", 15))
    assert {r["person_id"]: r["status"] for r in courses.sheet(made, "k1-s1", PEOPLE)["rows"]} == {
        "p1": "excused", "p2": "present"}


def test_completion_counts_present_and_late_over_the_sessions_expected_leaving_excused_out():
    made = course(*[20] * 5)  # 11…15 March
    made, _ = enrol(made, 1, 2, 3, 4, when="2026-03-02")
    made, _ = enrol(made, 5, when="2026-03-13")  # expected at the last three only
    sheet = {
        "p1": ["present", "present", "late", "present", "absent"],       # 4 of 5 = 0.8: completes
        "p2": ["present", "present", "absent", "absent", "present"],     # 3 of 5: does not
        "p3": ["present", "excused", "excused", "present", "present"],   # 3 of 3: completes
        "p4": ["present", "present", "present", None, None],             # 3 of 5, two never taken
        "p5": [None, None, "present", "present", "late"],                # 3 of 3 expected
    }
    for index, (session_id, day) in enumerate((f"k1-s{n}", f"2026-03-{10 + n}") for n in range(1, 6)):
        entries = [{"person_id": pid, "status": marks[index]} for pid, marks in sheet.items() if marks[index]]
        made = courses.record_attendance(made, session_id, entries, {}, "GV", at(day, 16))
    found = {r["person_id"]: (r["attended"], r["expected"], r["completed"]) for r in courses.outcomes(made)}
    assert found == {"p1": (4, 5, True), "p2": (3, 5, False), "p3": (3, 3, True), "p4": (3, 5, False),
                     "p5": (3, 3, True)}


def test_someone_excused_from_every_session_has_nothing_to_complete():
    made, _ = enrol(course(10), 1)
    made = courses.record_attendance(made, "k1-s1", [{"person_id": "p1", "status": "excused"}], {}, "GV", at("2026-03-11"))
    assert courses.outcomes(made) == [{"person_id": "p1", "attended": 0, "expected": 0, "completed": False}]


def test_a_course_closes_from_its_last_sessions_day_and_only_with_sessions():
    made = course(10, 10)  # last session on 12 March
    with pytest.raises(Conflict) as refused:
        courses.closing(made, date(2026, 3, 11), at("2026-03-11"))
    assert refused.value.details == {"last_session": "2026-03-12"}
    assert courses.closing(made, date(2026, 3, 12), at("2026-03-12"))["state"] == "closing"
    with pytest.raises(Conflict):
        courses.closing(course(), date(2026, 3, 12), at("2026-03-12"))
    with pytest.raises(Conflict):
        courses.enrol(courses.closing(made, date(2026, 3, 12), at("2026-03-12")), "k1-e1", PEOPLE["p1"], at("2026-03-12"))


@pytest.mark.parametrize("item_id, course_id", [
    ("3f2a9c1b7d4e-s1a2b3c4d", "3f2a9c1b7d4e"), ("online-abc123def456-e0123456789", "online-abc123def456"),
    ("3f2a9c1b7d4e", None), ("-s123", None), ("", None),
])
def test_session_and_enrolment_ids_name_their_course(item_id, course_id):
    assert courses.course_of(item_id) == course_id


def test_a_courses_year_is_its_first_sessions_else_when_it_was_created():
    assert courses.year_of(course(10)) == 2026
    made = courses.new_course("k2", {"title": "x", "topics": ["other"]}, at("2025-12-31", 23))
    assert courses.year_of(made) == 2025 and made["min_attendance"] == courses.DEFAULT_MIN_ATTENDANCE
