"""Courses announced by the province, handed over by the sync agent: the
training container on the real broker and store."""
import eventlet
import pytest
from nameko.testing.services import replace_dependencies

from services.training.service import TrainingService
from services.training.tests.test_service import (ADMIN, NEIGHBOUR, TRAINER, VIEWER, Gateway, add_person, call,
                                                  config, refused)
from shared.context import SYSTEM

C = "xuan-hung"


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(TrainingService, config(service_config))
    replace_dependencies(container, gateway=Gateway())
    container.start()
    return container


def announced(external_id="TH-2026-05", **changes):
    return {
        "external_id": external_id,
        "title": "Bồi dưỡng kỹ năng vận hành đài truyền thanh ứng dụng CNTT-VT",
        "topics": ["radio_operation"],
        "description": "Lớp do Sở tổ chức cho tuyên truyền viên các xã ven biển.",
        "organiser": "Sở Văn hóa, Thể thao và Du lịch tỉnh Ninh Bình",
        "sessions": [
            {"date": "2026-12-03", "starts_at": "07:30", "ends_at": "11:00", "place": "Hội trường UBND xã",
             "trainer": "Trần Văn Bình", "capacity": 25},
            {"date": "2026-12-02", "starts_at": "13:30", "ends_at": "16:30", "place": "Phòng họp nhỏ",
             "trainer": "Trần Văn Bình", "capacity": 2},
        ],
        **changes,
    }


def receive(container, body, caller=SYSTEM, commune_id=C):
    return call(container, "receive_course", body, caller=caller, commune_id=commune_id)


def test_an_announced_course_is_an_open_in_person_course_with_its_sessions(container):
    course = receive(container, announced())
    assert course["kind"] == "in_person" and course["state"] == "open" and course["external_id"] == "TH-2026-05"
    assert course["organiser"] == "Sở Văn hóa, Thể thao và Du lịch tỉnh Ninh Bình" and course["min_attendance"] == 0.8
    assert [(s["date"], s["capacity"]) for s in course["sessions"]] == [("2026-12-02", 2), ("2026-12-03", 25)]
    shown = call(container, "get_course", course["course_id"], caller=VIEWER)
    assert shown["places"] == 2 and len(shown["sessions"]) == 2
    assert [c["course_id"] for c in call(container, "list_courses", caller=VIEWER)] == [course["course_id"]]


def test_its_places_and_sessions_follow_the_services_own_rules(container):
    course = receive(container, announced())
    people = [add_person(container, f"Người {n}") for n in range(3)]
    states = [call(container, "enrol", course["course_id"], p["person_id"])["state"] for p in people]
    assert states == ["enrolled", "enrolled", "waitlisted"]  # the small room binds
    session = next(s for s in course["sessions"] if s["capacity"] == 2)
    saved = call(container, "save_session", dict(session, capacity=30), caller=TRAINER)
    assert [e["person_id"] for e in saved["promoted"]] == [people[2]["person_id"]]


def test_receiving_the_same_course_again_creates_nothing(container, mongo_database):
    first = receive(container, announced())
    again = receive(container, announced(title="Tên khác", sessions=[]))
    assert again == first
    assert mongo_database.courses.count_documents({}) == 1


def test_concurrent_deliveries_of_one_course_create_it_once(container, mongo_database):
    calls = [eventlet.spawn(receive, container, announced()) for _ in range(3)]
    assert len({c.wait()["course_id"] for c in calls}) == 1
    assert mongo_database.courses.count_documents({}) == 1


def test_the_same_external_id_in_two_communes_is_two_courses(container, mongo_database):
    ours = receive(container, announced())
    theirs = receive(container, announced(), commune_id="yen-thang")
    assert ours["course_id"] != theirs["course_id"]
    assert mongo_database.courses.count_documents({"commune_id": "yen-thang"}) == 1


def test_who_may_hand_a_course_over(container, mongo_database):
    assert receive(container, announced("a"), caller=ADMIN, commune_id=None)["state"] == "open"
    assert receive(container, announced("b"), caller=TRAINER, commune_id=None)["state"] == "open"
    assert refused(container, "receive_course", announced("c"), caller=VIEWER).code == "FORBIDDEN"
    assert refused(container, "receive_course", announced("d"), caller=NEIGHBOUR, commune_id=C).code == "FORBIDDEN"
    assert refused(container, "receive_course", announced("e"), caller=SYSTEM).code == "FORBIDDEN"  # names no commune
    assert mongo_database.courses.count_documents({}) == 2


@pytest.mark.parametrize("changes, field", [
    ({"title": "  "}, "title"),
    ({"topics": ["weather"]}, "topics"),
    ({"topics": []}, "topics"),
    ({"external_id": ""}, "external_id"),
    ({"course_id": "mine"}, "course_id"),
    ({"kind": "online"}, "kind"),
    ({"sessions": [{"date": "2026-12-02", "capacity": 0}]}, "sessions"),
    ({"sessions": [{"date": "02/12/2026", "capacity": 10}]}, "sessions"),
    ({"sessions": [{"date": "2026-12-02", "capacity": 10, "starts_at": "11:00", "ends_at": "07:30"}]}, "sessions"),
    ({"sessions": [{"date": "2026-12-02", "capacity": 10, "session_id": "x-s1"}]}, "sessions"),
])
def test_a_malformed_course_is_refused_and_writes_nothing(container, mongo_database, changes, field):
    error = refused(container, "receive_course", announced(**changes), caller=SYSTEM, commune_id=C)
    assert error.code == "INVALID_INPUT" and field in error.message
    assert mongo_database.courses.count_documents({}) == 0
