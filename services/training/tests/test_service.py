"""The training service as a container on the real broker and store; the
gateway's commune profile (villages thon-1…thon-3) is a stand-in, events are
read from the ``training.events`` exchange as their consumers would."""
import base64

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.training.schemas import CourseFields, PersonFields, SessionFields
from services.training.service import TrainingService
from shared.context import CONTEXT_KEY, Caller
from shared.errors import InvalidInput, TinxaError, load
from shared.testing import event_tap, wait_until
from shared.timeutil import local_today

C = "xuan-hung"
SECRET = "khóa ký giấy chứng nhận của huyện, đủ dài"


def who(*roles, commune_id=C):
    return Caller(subject="u1", commune_id=commune_id, roles=frozenset(roles), name="Nguyễn Thị Lan")


ADMIN, TRAINER, VIEWER = who("commune_admin"), who("trainer"), who("viewer")
NEIGHBOUR = who("commune_admin", commune_id="yen-thang")


class Gateway:
    def commune_profile(self, commune_id):
        assert commune_id == C
        return {"id": C, "name": "Xuân Hưng", "villages": [{"id": f"thon-{n}", "name": f"Thôn {n}"} for n in (1, 2, 3)]}


def config(service_config, **extra):
    return {**service_config, "CERTIFICATE_SECRET": SECRET, "PUBLIC_URL": "https://tinxa.example.vn/",
            "RECOUNT_SECONDS": 3600, **extra}


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(TrainingService, config(service_config))
    replace_dependencies(container, gateway=Gateway())
    container.start()
    return container


@pytest.fixture
def events(service_config):
    with event_tap(service_config["AMQP_URI"], "training") as tap:
        yield tap


def call(container, method, *args, caller=ADMIN, **kwargs):
    context = {CONTEXT_KEY: caller.to_json()} if caller else {}
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args, **kwargs)


def refused(container, method, *args, **kwargs):
    with pytest.raises(TinxaError) as caught:
        call(container, method, *args, **kwargs)
    return caught.value


def add_person(container, full_name, village="thon-1", role="communicator", **extra):
    return call(container, "save_person", {"full_name": full_name, "village": village, "role": role, **extra})


def course_with_session(container, capacity, day=None):
    course = call(container, "save_course", {"title": "Kỹ năng tuyên truyền miệng", "topics": ["oral_propaganda"]},
                  caller=TRAINER)
    saved = call(container, "save_session", {"course_id": course["course_id"], "date": day or local_today().isoformat(),
                                             "starts_at": "07:30", "ends_at": "11:00", "place": "Hội trường UBND",
                                             "capacity": capacity}, caller=TRAINER)
    return course, saved["session"]


def published(events, name):
    """The distinct events of that name so far, oldest first (delivery is at
    least once: a copy has the same ``event_id``)."""
    found = {}
    for event in events():
        if event.name == name:
            found.setdefault(event.body["event_id"], event.body)
    return sorted(found.values(), key=lambda body: body["occurred_at"])


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# --- enrolment ------------------------------------------------------------------------------------

def test_enrolling_past_the_places_waitlists_and_a_cancellation_promotes_the_first_with_its_event(container, events):
    course, _ = course_with_session(container, 2)
    people = [add_person(container, name) for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung")]
    enrolled = [call(container, "enrol", course["course_id"], p["person_id"], caller=TRAINER) for p in people]
    assert [e["state"] for e in enrolled] == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    assert [e["position"] for e in enrolled] == [None, None, 1, 2]

    done = call(container, "cancel_enrolment", enrolled[0]["enrolment_id"], "bận việc", caller=TRAINER)
    assert done["cancelled"]["state"] == "cancelled"
    assert (done["promoted"]["person_id"], done["promoted"]["state"]) == (people[2]["person_id"], "enrolled")
    [event] = wait_until(lambda: published(events, "enrolment_promoted"), message="the promotion")
    assert (event["enrolment_id"], event["full_name"], event["freed_by"], event["course_title"]) == (
        enrolled[2]["enrolment_id"], "Lê Văn Cường", "cancellation", "Kỹ năng tuyên truyền miệng")

    found = call(container, "get_course", course["course_id"], caller=VIEWER)
    assert (found["enrolled"], found["waitlisted"], found["places"]) == (2, 1, 2)
    assert [(e["full_name"], e["state"], e["position"]) for e in found["enrolments"]] == [
        ("Trần Thị Bình", "enrolled", None), ("Lê Văn Cường", "enrolled", None), ("Phạm Thị Dung", "waitlisted", 1)]
    again = refused(container, "enrol", course["course_id"], people[1]["person_id"])
    assert type(again).__name__ == "Conflict" and "Trần Thị Bình" in again.message

    # a bigger room promotes at once, announced as freed by the session
    bigger = call(container, "save_session", dict(found["sessions"][0], capacity=3), caller=TRAINER)
    assert [p["person_id"] for p in bigger["promoted"]] == [people[3]["person_id"]]
    wait_until(lambda: [e for e in published(events, "enrolment_promoted") if e["freed_by"] == "session"],
               message="the second promotion")
    smaller = refused(container, "save_session", dict(found["sessions"][0], capacity=2), caller=TRAINER)
    assert type(smaller).__name__ == "Conflict" and smaller.details == {"enrolled": 3, "capacity": 2}


def test_concurrent_enrolments_never_overfill_a_course(container, service_config):
    course, _ = course_with_session(container, 3)
    people = [add_person(container, f"Học viên {n}") for n in range(10)]
    # over the broker (entrypoint_hook answers concurrent calls with the first result): ten workers at once
    with ServiceRpcProxy("training", service_config, context_data={CONTEXT_KEY: ADMIN.to_json()}) as training:
        pending = [training.enrol.call_async(course["course_id"], p["person_id"]) for p in people]
        states = [reply.result()["state"] for reply in pending]
    assert sorted(states) == ["enrolled"] * 3 + ["waitlisted"] * 7
    found = call(container, "get_course", course["course_id"])
    assert (found["enrolled"], found["waitlisted"]) == (3, 7)
    assert [e["position"] for e in found["enrolments"] if e["state"] == "waitlisted"] == list(range(1, 8))


# --- the roster ----------------------------------------------------------------------------------

def village(container, village_id, caller=ADMIN):
    return next(v for v in call(container, "roster", caller=caller)["villages"] if v["village"] == village_id)


def test_vacancies_follow_the_roster_through_leave_departure_and_replacement(container, events):
    an = add_person(container, "Nguyễn Văn An", role="lead")
    binh = add_person(container, "Trần Thị Bình")
    add_person(container, "Lê Văn Cường", village="thon-2")
    add_person(container, "Ngô Thị Hạnh", village=None, role="officer")
    totals = call(container, "save_targets", [{"village": "thon-1", "target": 2,
                                               "zalo_url": "https://zalo.me/g/thon1"}], zalo_url="https://zalo.me/g/xa")
    assert totals == {"target": 4, "in_place": 3, "on_leave": 0, "vacancies": 1, "villages_short": 1}

    today = local_today().isoformat()
    early = refused(container, "set_status", binh["person_id"], "on_leave", since="2020-01-05")
    assert type(early).__name__ == "InvalidInput" and early.message.startswith("since:")  # before she was active
    call(container, "set_status", binh["person_id"], "on_leave", since=today, reason="sinh con")
    row = village(container, "thon-1")
    assert (row["in_place"], row["on_leave"], row["vacancies"], row["vacant_since"]) == (1, 1, 1, today)
    assert row["zalo_url"] == "https://zalo.me/g/thon1"

    call(container, "set_status", binh["person_id"], "active")
    assert village(container, "thon-1")["vacancies"] == 0

    call(container, "set_status", an["person_id"], "left", reason="chuyển công tác")
    assert village(container, "thon-1")["vacancies"] == 1
    replaced = call(container, "replace_person", an["person_id"], {"full_name": "Đỗ Văn Dũng", "phone": "0903 111 222"})
    assert replaced["left"]["replaced_by"] == replaced["replacement"]["person_id"]
    assert (replaced["replacement"]["village"], replaced["replacement"]["role"], replaced["replacement"]["replaces"]) == (
        "thon-1", "lead", an["person_id"])
    row = village(container, "thon-1")
    assert (row["in_place"], row["vacancies"], row["vacant_since"]) == (2, 0, None)
    assert [p["full_name"] for p in row["people"]] == ["Trần Thị Bình", "Đỗ Văn Dũng", "Nguyễn Văn An"]
    officers = refused(container, "replace_person", call(container, "roster")["officers"][0]["person_id"],
                       {"full_name": "X"})
    assert type(officers).__name__ == "InvalidInput"

    # each change published the count; the last one says what the roster says now
    # four people, targets, three status changes, the replacement
    wait_until(lambda: len(published(events, "roster_counted")) == 9, message="nine counts")
    counted = published(events, "roster_counted")
    assert (counted[-1]["in_place"], counted[-1]["target"], counted[-1]["villages_short"]) == (3, 4, 1)
    assert [v["vacancies"] for v in counted[-1]["villages"]] == [0, 0, 1]
    history = call(container, "get_person", an["person_id"])["history"]
    assert [(h["status"], h["reason"]) for h in history] == [("active", ""), ("left", "chuyển công tác")]


def test_a_save_person_is_refused_naming_the_field(container):
    for person, field in (({"full_name": "A", "village": "thon-9"}, "village"),
                          ({"full_name": "A", "village": None}, "village"),
                          ({"full_name": "A", "village": "thon-1", "status": "left"}, "status")):
        error = refused(container, "save_person", person)
        assert type(error).__name__ == "InvalidInput" and field in error.message, error.message
    saved = add_person(container, "Nguyễn Văn An")
    error = refused(container, "save_person", dict(saved, status="on_leave"))
    assert "status" in error.message
    moved = call(container, "save_person", dict(saved, village="thon-2", phone="0912.345.678"))
    assert (moved["village"], moved["phone"], moved["status"]) == ("thon-2", "0912345678", "active")


@pytest.mark.parametrize("fields, field", [
    ({"village": "thon-1"}, "full_name"),
    ({"full_name": "   ", "village": "thon-1"}, "full_name"),
    ({"full_name": "A", "phone": "12345"}, "phone"),
    ({"full_name": "A", "email": "an@"}, "email"),
    ({"full_name": "A", "birth_date": "31/02/1990"}, "birth_date"),
    ({"full_name": "A", "role": "chairman"}, "role"),
    ({"full_name": "A", "gender": "x"}, "gender"),
    ({"full_name": "A", "nickname": "x"}, "nickname"),
])
def test_a_person_is_loaded_only_with_valid_fields(fields, field):
    with pytest.raises(InvalidInput) as caught:
        load(PersonFields, fields)
    assert field in caught.value.message and caught.value.message.startswith("Dữ liệu không hợp lệ")


@pytest.mark.parametrize("schema, fields, field", [
    (CourseFields, {"title": "Lớp", "topics": []}, "topics"),
    (CourseFields, {"title": "Lớp", "topics": ["cooking"]}, "topics"),
    (CourseFields, {"title": "Lớp", "topics": ["other"], "kind": "online"}, "kind"),
    (CourseFields, {"title": "Lớp", "topics": ["other"], "min_attendance": 1.5}, "min_attendance"),
    (SessionFields, {"date": "2026-03-01", "capacity": 10}, "course_id"),
    (SessionFields, {"course_id": "k", "date": "2026-03-01", "capacity": 0}, "capacity"),
    (SessionFields, {"course_id": "k", "date": "2026-03-01", "capacity": 1001}, "capacity"),
    (SessionFields, {"course_id": "k", "date": "2026-03-01", "capacity": 5, "starts_at": "9:00"}, "starts_at"),
    (SessionFields, {"course_id": "k", "date": "2026-03-01", "capacity": 5, "starts_at": "09:00",
                     "ends_at": "08:00"}, "ends_at"),
])
def test_courses_and_sessions_are_loaded_only_with_valid_fields(schema, fields, field):
    with pytest.raises(InvalidInput) as caught:
        load(schema, fields)
    assert field in caught.value.message


def test_personal_data_is_hidden_from_a_viewer_shown_to_a_trainer_and_another_commune_is_refused(container):
    saved = add_person(container, "Nguyễn Văn An", phone="0912345678", email="an@example.vn", birth_date="1975-04-05",
                       address="Xóm Giữa", notes="ghi chú riêng", gender="male")
    call(container, "set_status", saved["person_id"], "on_leave", reason="điều trị bệnh")
    personal = ("phone", "email", "address", "birth_date", "gender", "notes", "status_reason", "decision_number")

    seen = call(container, "get_person", saved["person_id"], caller=VIEWER)
    assert not set(personal) & set(seen) and seen["full_name"] == "Nguyễn Văn An"
    assert "điều trị bệnh" not in repr(seen) and "0912345678" not in repr(call(container, "roster", caller=VIEWER))
    shown = call(container, "get_person", saved["person_id"], caller=TRAINER)
    assert (shown["phone"], shown["email"], shown["status_reason"]) == ("0912345678", "an@example.vn", "điều trị bệnh")
    assert village(container, "thon-1", caller=TRAINER)["people"][0]["address"] == "Xóm Giữa"

    assert type(refused(container, "export_roster", "csv", caller=VIEWER)).__name__ == "Forbidden"
    exported = call(container, "export_roster", "csv", caller=TRAINER)
    assert "0912345678" in base64.b64decode(exported["data_base64"]).decode("utf-8-sig")
    assert type(refused(container, "save_person", {"full_name": "X", "village": "thon-1"}, caller=VIEWER)).__name__ == \
        "Forbidden"
    for method, args in (("roster", ()), ("get_person", (saved["person_id"],))):
        error = refused(container, method, *args, caller=NEIGHBOUR, commune_id=C)
        assert type(error).__name__ == "Forbidden"
    assert type(refused(container, "get_person", saved["person_id"], caller=NEIGHBOUR)).__name__ == "NotFound"


# --- imports -------------------------------------------------------------------------------------

MALFORMED = """Họ và tên,Thôn,Vai trò,Số điện thoại,Ngày sinh,Email
Nguyễn Văn An,Thôn 1,Tổ trưởng,0912345678,05/04/1975,an@example.vn
,Thôn 2,Tuyên truyền viên,,,
Trần Thị Bình,Thôn 9,Tuyên truyền viên,0987,31/02/1990,binh@
Lê Văn Cường,thon-3,Phó chủ tịch,,,
Phạm Văn Dũng,Thôn 2,,0912 345 678,,
"""
CLEAN = """Họ và tên;Thôn;Vai trò;Số điện thoại;Trạng thái
Nguyễn Văn An;Thôn 1;Tổ trưởng;0912345678;
Trần Thị Bình;thon-2;;0987654321;Tạm nghỉ
Lê Văn Cường;;Cán bộ;;
"""


def test_a_malformed_roster_import_is_reported_row_by_row_and_changes_nothing(container):
    preview = call(container, "preview_roster_import", "danh-sach.csv", b64(MALFORMED))
    assert preview["kind"] == "roster" and preview["counts"] == {"rows": 5, "ok": 1, "error": 4}
    errors = {r["row"]: " | ".join(r["errors"]) for r in preview["rows"]}
    assert errors[2] == ""
    assert "Họ và tên" in errors[3]
    assert all(word in errors[4] for word in ("Thôn", "Số điện thoại", "Ngày sinh", "Email"))
    assert "Vai trò" in errors[5] and "trùng với dòng 2" in errors[6]
    assert {c["key"] for c in preview["columns"]} == {"full_name", "village", "role", "phone", "birth_date", "email"}
    assert call(container, "roster")["totals"]["in_place"] == 0

    error = refused(container, "confirm_import", preview["import_id"])
    assert type(error).__name__ == "Conflict" and error.details == {"errors": 4}
    assert call(container, "roster")["totals"]["in_place"] == 0

    unreadable = refused(container, "preview_roster_import", "x.csv", b64("Tên,Tuổi\nAn,30\n"))
    assert type(unreadable).__name__ == "InvalidInput" and "Họ và tên" in unreadable.message


def test_a_clean_roster_import_is_applied_once(container, events):
    preview = call(container, "preview_roster_import", "danh-sach.csv", b64(CLEAN), caller=TRAINER)
    assert preview["counts"] == {"rows": 3, "ok": 3, "error": 0}
    applied = call(container, "confirm_import", preview["import_id"], caller=TRAINER)
    assert applied == {"applied": 3, "import_id": preview["import_id"]}
    again = refused(container, "confirm_import", preview["import_id"])
    assert type(again).__name__ == "Conflict"
    roster = call(container, "roster")
    assert [(p["full_name"], p["status"]) for v in roster["villages"] for p in v["people"]] == [
        ("Nguyễn Văn An", "active"), ("Trần Thị Bình", "on_leave")]
    assert [p["full_name"] for p in roster["officers"]] == ["Lê Văn Cường"]
    assert roster["totals"] == {"target": 3, "in_place": 1, "on_leave": 1, "vacancies": 2, "villages_short": 2}
    [counted] = wait_until(lambda: published(events, "roster_counted"), message="one count")
    assert counted["in_place"] == 1
    # the same file again: every row is now a duplicate of someone on the roster
    twice = call(container, "preview_roster_import", "danh-sach.csv", b64(CLEAN))
    assert twice["counts"]["error"] == 2


def test_online_completions_are_recorded_and_an_unmatched_row_waits_for_an_officer(container, events):
    an = add_person(container, "Nguyễn Văn An", email="an@example.vn")
    dung = add_person(container, "Phạm Thị Dung", village="thon-2")
    add_person(container, "Phạm Thị Dung", village="thon-3")  # a namesake: the name alone is not enough
    export = ("Học viên,Thư điện tử,Điện thoại,Tên khóa học,Thời gian hoàn thành\n"
              "Nguyễn Văn An,AN@example.vn,,Kỹ năng tuyên truyền miệng,15/03/2026 10:22\n"
              "Phạm Thị Dung,,,Thông tin đối ngoại trong tình hình mới,17/03/2026\n"
              "Nguyễn Văn An,,,Kỹ năng tuyên truyền miệng,hôm qua\n")
    preview = call(container, "preview_online_import", "ket-qua.csv", b64(export))
    assert [(r["status"], r["person_id"]) for r in preview["rows"]] == [
        ("matched", an["person_id"]), ("unmatched", None), ("error", None)]
    assert preview["counts"] == {"rows": 3, "matched": 1, "unmatched": 1, "error": 1}
    assert call(container, "list_certificates") == []

    applied = call(container, "confirm_import", preview["import_id"])
    assert (applied["applied"], applied["pending"]) == (1, 1)
    [recorded] = wait_until(lambda: published(events, "completions_recorded"), message="online")
    assert (recorded["source"], recorded["completed_on"], recorded["topics"]) == ("online", "2026-03-15", ["oral_propaganda"])
    assert recorded["people"] == [{"person_id": an["person_id"], "village": "thon-1"}]

    [waiting] = call(container, "list_unmatched")
    assert (waiting["full_name"], waiting["course_title"]) == ("Phạm Thị Dung", "Thông tin đối ngoại trong tình hình mới")
    certificate = call(container, "match_unmatched", waiting["row_id"], dung["person_id"])
    assert (certificate["person_id"], certificate["source"], certificate["topics"]) == (
        dung["person_id"], "online", ["foreign_information"])
    assert call(container, "list_unmatched") == []
    assert type(refused(container, "match_unmatched", waiting["row_id"], dung["person_id"])).__name__ == "Conflict"
    wait_until(lambda: len(published(events, "completions_recorded")) == 2, message="matched by hand")
    online = call(container, "list_courses", {"state": "closed"})
    assert sorted(c["kind"] for c in online) == ["online", "online"]
    trained = call(container, "indicators", "2026-03-01", "2026-03-31")
    assert trained["people_trained"] == 2 and trained["by_topic"]["oral_propaganda"] == 1


# --- completion and certificates --------------------------------------------------------------------

def test_closing_a_course_certifies_those_who_attended_enough_and_the_code_verifies_without_a_caller(container, events):
    course, session = course_with_session(container, 10)
    people = [add_person(container, name) for name in ("Nguyễn Văn An", "Trần Thị Bình")]
    for person in people:
        call(container, "enrol", course["course_id"], person["person_id"], caller=TRAINER)
    sheet = call(container, "record_attendance", session["session_id"], [
        {"person_id": people[0]["person_id"], "status": "present"},
        {"person_id": people[1]["person_id"], "status": "absent", "remark": "không báo"}], caller=TRAINER)
    assert sheet["counts"] == {"present": 1, "late": 0, "excused": 0, "absent": 1, "not_taken": 0}
    closed = call(container, "close_course", course["course_id"], caller=TRAINER)
    assert closed["course"]["state"] == "closed"
    [completed] = closed["completed"]
    assert completed["full_name"] == "Nguyễn Văn An"
    assert closed["not_completed"] == [{"person_id": people[1]["person_id"], "full_name": "Trần Thị Bình",
                                        "attended": 0, "expected": 1}]
    [recorded] = wait_until(lambda: published(events, "completions_recorded"), message="completions")
    assert (recorded["source"], recorded["completed_on"]) == ("course", local_today().isoformat())
    assert type(refused(container, "close_course", course["course_id"])).__name__ == "Conflict"

    code = completed["code"]
    answer = call(container, "verify_certificate", code, caller=None)
    assert answer["valid"] is True
    assert set(answer["certificate"]) == {"code", "full_name", "course_title", "topics", "completed_on", "commune_name",
                                          "issued_at", "revoked"}
    assert (answer["certificate"]["full_name"], answer["certificate"]["commune_name"]) == ("Nguyễn Văn An", "Xuân Hưng")
    assert call(container, "verify_certificate", code.lower().replace("-", " "), caller=None)["valid"] is True

    serial, tag = code.split("-")
    altered_tag = serial + "-" + ("A" if tag[0] != "A" else "B") + tag[1:]
    altered_serial = ("A" if serial[0] != "A" else "B") + serial[1:] + "-" + tag
    for forged in (altered_tag, altered_serial, "0000000000-0000000000", "not a code", ""):
        answer = call(container, "verify_certificate", forged, caller=None)
        assert answer["valid"] is False and answer["reason"] and "certificate" not in answer, forged

    pdf = call(container, "certificate_pdf", completed["certificate_id"], caller=VIEWER)
    assert pdf["content_type"] == "application/pdf" and base64.b64decode(pdf["data_base64"]).startswith(b"%PDF")
    revoked = call(container, "revoke_certificate", completed["certificate_id"], "cấp nhầm người", caller=TRAINER)
    assert revoked["revoked"]["reason"] == "cấp nhầm người"
    answer = call(container, "verify_certificate", code, caller=None)
    assert answer["valid"] is False and "thu hồi" in answer["reason"]
    assert answer["certificate"]["revoked"]["reason"] == "cấp nhầm người"


def test_a_course_does_not_close_before_its_last_session_and_attendance_is_for_those_expected(container):
    course, session = course_with_session(container, 10, day="2099-01-01")
    error = refused(container, "close_course", course["course_id"], caller=TRAINER)
    assert type(error).__name__ == "Conflict" and "2099-01-01" in error.message
    past = call(container, "save_session", {"course_id": course["course_id"], "date": "2020-01-01", "capacity": 10},
                caller=TRAINER)["session"]
    late = add_person(container, "Vũ Thị Hoa")
    call(container, "enrol", course["course_id"], late["person_id"], caller=TRAINER)
    assert call(container, "attendance_sheet", past["session_id"], caller=VIEWER)["rows"] == []
    error = refused(container, "record_attendance", past["session_id"],
                    [{"person_id": late["person_id"], "status": "absent"}], caller=TRAINER)
    assert type(error).__name__ == "InvalidInput" and "Vũ Thị Hoa" in error.message
    assert [r["full_name"] for r in call(container, "attendance_sheet", session["session_id"])["rows"]] == ["Vũ Thị Hoa"]
    assert call(container, "delete_session", past["session_id"], caller=TRAINER) == {"deleted": True, "promoted": []}


# --- timer and configuration -------------------------------------------------------------------------

def test_the_recount_timer_publishes_a_count_a_crash_left_stale(container_factory, service_config, mongo_database, events):
    container = container_factory(TrainingService, config(service_config, RECOUNT_SECONDS=0.3))
    replace_dependencies(container, gateway=Gateway())
    container.start()
    # a person stored by a process that died before writing the count
    mongo_database["people"].insert_one({
        "_id": "p1", "person_id": "p1", "commune_id": C, "full_name": "Nguyễn Văn An", "village": "thon-2",
        "role": "communicator", "status": "active", "status_since": "2026-01-01", "rev": 1,
        "history": [{"at": "2026-01-01", "status": "active", "reason": "", "by": "x", "recorded_at": "x"}]})
    [counted] = wait_until(lambda: published(events, "roster_counted"), message="the recount")
    assert (counted["in_place"], counted["vacancies"], counted["villages_short"]) == (1, 2, 2)
    eventlet.sleep(1)  # further passes find the count right and publish nothing
    assert len(published(events, "roster_counted")) == 1


def test_the_service_does_not_start_without_a_certificate_secret(container_factory, service_config):
    container = container_factory(TrainingService, dict(config(service_config), CERTIFICATE_SECRET=""))
    with pytest.raises(RuntimeError, match="CERTIFICATE_SECRET"):
        container.start()
