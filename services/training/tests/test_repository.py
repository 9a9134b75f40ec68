"""The training repositories against the real store (nx-27017 here, or the
MongoDB of ``TINXA_TEST_MONGO_URI``): compare-and-set, issuing once,
claiming an import once."""
from datetime import timedelta

import eventlet
import pytest

from services.training import courses, roster
from services.training.repository import (CertificateRepository, CourseRepository, ImportRepository,
                                          PersonRepository, RosterRepository, UnmatchedRepository)
from shared.errors import Conflict, NotFound
from shared.events import outgoing
from shared.mongo import OUTBOX
from shared.timeutil import iso, utcnow

C = "xuan-hung"
NOW = "2026-05-20T03:00:00.000Z"


def repo(cls, database):
    cls.create_indexes(database)
    return cls(database)


def test_a_person_is_changed_only_at_the_revision_read_and_never_shown_in_another_commune(mongo_database):
    people = repo(PersonRepository, mongo_database)
    added = people.add(C, roster.new_person("p1", {"full_name": "Nguyễn Thị Lan", "village": "thon-1",
                                                   "role": "communicator"}, "2026-05-01", "x", NOW))
    assert added["rev"] == 1 and "commune_id" not in added and "search" not in added
    saved = people.replace(C, added, dict(added, phone="0912345678"))
    assert saved["rev"] == 2 and saved["phone"] == "0912345678"
    assert people.replace(C, added, dict(added, phone="0987654321")) is None  # stale: rev 1 was read
    assert people.get(C, "p1")["phone"] == "0912345678"
    with pytest.raises(NotFound):
        people.get("yen-thang", "p1")
    assert people.of_commune("yen-thang") == [] and people.communes() == {C}
    with pytest.raises(Conflict):
        people.add(C, added)


def test_people_of_a_redone_import_are_added_once(mongo_database):
    people = repo(PersonRepository, mongo_database)
    batch = [roster.new_person(f"imp-{n}", {"full_name": f"Người {n}", "village": "thon-1", "role": "communicator"},
                               "2026-05-01", "x", NOW) for n in range(3)]
    assert people.add_many(C, batch[:2]) == 2
    assert people.add_many(C, batch) == 1
    assert sorted(people.by_ids(C, ["imp-0", "imp-2", "nobody"])) == ["imp-0", "imp-2"]


def test_the_roster_document_is_written_once_per_version_with_its_event(mongo_database):
    rosters = repo(RosterRepository, mongo_database)
    event = outgoing("training", "roster_counted", C, villages=[], target=0, in_place=0, on_leave=0, vacancies=0,
                     villages_short=0, counted_at=NOW)
    assert rosters.put(C, None, {"targets": {"thon-1": 2}}, [event])
    assert not rosters.put(C, None, {"targets": {"thon-1": 3}}, [])  # someone else created it first
    stored = rosters.get(C)
    assert stored["version"] == 1 and stored["targets"] == {"thon-1": 2}
    assert mongo_database["rosters"].find_one({"_id": C})[OUTBOX][event.event_id]["name"] == "roster_counted"
    assert rosters.put(C, stored, {"targets": {"thon-1": 4}}, [])
    assert not rosters.put(C, stored, {"targets": {"thon-1": 5}}, [])
    assert rosters.get(C)["targets"] == {"thon-1": 4} and rosters.communes() == {C}


def test_concurrent_enrolments_by_compare_and_set_never_overfill_a_course(mongo_database):
    store = repo(CourseRepository, mongo_database)
    course, _ = courses.put_session(courses.new_course("k1", {"title": "Lớp A", "topics": ["other"]}, NOW),
                                    {"session_id": "k1-s1", "date": "2026-06-01", "capacity": 3}, NOW)
    store.add(C, course)

    def enrol(n):
        for _ in range(50):
            was = store.get(C, "k1")
            changed, enrolment = courses.enrol(was, f"k1-e{n}", {"person_id": f"p{n}", "full_name": f"P{n}",
                                                                 "status": "active"}, iso())
            if store.replace(C, was, changed) is not None:
                return enrolment["state"]
        raise AssertionError("never written")

    pool = eventlet.GreenPool()
    found = list(pool.imap(enrol, range(8)))
    stored = store.get(C, "k1")
    assert sorted(found) == ["enrolled"] * 3 + ["waitlisted"] * 5
    assert (stored["enrolled"], stored["waitlisted"], len(stored["enrolments"])) == (3, 5, 8)
    assert stored["rev"] == 1 + 8  # added, then eight enrolments: each written exactly once


def test_an_online_course_is_created_once_by_its_id(mongo_database):
    store = repo(CourseRepository, mongo_database)
    first = store.add_once(C, courses.new_course("online-x", {"title": "Kỹ năng số", "topics": ["other"]}, NOW,
                                                 kind="online", state="closed"))
    again = store.add_once(C, courses.new_course("online-x", {"title": "kỹ năng số", "topics": ["other"]}, NOW,
                                                 kind="online", state="closed"))
    assert again == first and [c["course_id"] for c in store.of_commune(C, "closed")] == ["online-x"]


def certificate(person_id, serial, course_id="k1", completed_on="2026-03-12", topics=("oral_propaganda",)):
    return {"certificate_id": f"c-{serial}", "serial": serial, "person_id": person_id, "full_name": person_id,
            "course_id": course_id, "course_title": "Lớp A", "topics": list(topics), "completed_on": completed_on,
            "commune_id": C, "commune_name": "Xuân Hưng", "issued_at": NOW, "source": "course", "revoked": None,
            "code": f"{serial}-TAG", "origin": course_id}


def test_a_certificate_is_issued_once_per_person_and_course_and_revoked_once(mongo_database):
    store = repo(CertificateRepository, mongo_database)
    held = store.issue(C, "k1", [certificate("p1", "AAAA000001"), certificate("p2", "AAAA000002")])
    again = store.issue(C, "k1", [certificate("p1", "BBBB000001")])  # a redone close makes new serials
    assert again["p1"]["serial"] == held["p1"]["serial"] == "AAAA000001"
    assert store.by_serial("AAAA000002")["person_id"] == "p2" and store.by_serial("BBBB000001") is None
    assert store.by_serial("AAAA000001")["commune_id"] == C  # a certificate states its commune
    store.issue(C, "k2", [certificate("p1", "AAAA000003", course_id="k2", completed_on="2026-04-01")])
    assert [c["course_id"] for c in store.find(C, person_id="p1")] and len(store.find(C, course_id="k1")) == 2
    assert len(store.valid_between(C, "2026-03-01", "2026-03-31")) == 2
    revoked = store.revoke(C, "c-AAAA000002", {"at": NOW, "reason": "cấp nhầm"})
    assert revoked["revoked"]["reason"] == "cấp nhầm"
    with pytest.raises(Conflict):
        store.revoke(C, "c-AAAA000002", {"at": NOW, "reason": "lần nữa"})
    with pytest.raises(NotFound):
        store.revoke("yen-thang", "c-AAAA000001", {"at": NOW, "reason": "x"})
    assert [c["person_id"] for c in store.valid_between(C, "2026-03-01", "2026-03-31")] == ["p1"]


def test_an_import_is_claimed_once_finished_once_and_a_stale_claim_is_taken_over(mongo_database):
    imports = repo(ImportRepository, mongo_database)
    now = utcnow()
    imports.add(C, {"import_id": "i1", "kind": "roster", "state": "preview", "rows": [], "created_at": iso(now)})
    claimed = imports.claim(C, "i1", iso(now), iso(now - timedelta(minutes=10)))
    assert claimed["state"] == "applying"
    assert imports.claim(C, "i1", iso(now), iso(now - timedelta(minutes=10))) is None
    later = now + timedelta(minutes=11)
    taken_over = imports.claim(C, "i1", iso(later), iso(later - timedelta(minutes=10)))
    assert taken_over["claimed_at"] == iso(later)
    with pytest.raises(Conflict):
        imports.finish(C, claimed, {"applied": 1}, [])  # the first claim lost it
    assert imports.finish(C, taken_over, {"applied": 1}, [])["state"] == "applied"
    assert imports.claim(C, "i1", iso(later), iso(later)) is None


def test_expired_previews_are_forgotten_but_applied_imports_kept(mongo_database):
    imports = repo(ImportRepository, mongo_database)
    old = iso(utcnow() - timedelta(hours=25))
    imports.add(C, {"import_id": "old", "kind": "roster", "state": "preview", "created_at": old})
    imports.add(C, {"import_id": "done", "kind": "roster", "state": "applied", "created_at": old})
    imports.add(C, {"import_id": "new", "kind": "roster", "state": "preview", "created_at": iso()})
    assert imports.delete_expired(iso(utcnow() - timedelta(hours=24))) == 1
    with pytest.raises(NotFound):
        imports.get(C, "old")
    assert imports.get(C, "done")["state"] == "applied"


def test_an_unmatched_row_is_matched_once(mongo_database):
    rows = repo(UnmatchedRepository, mongo_database)
    pending = [{"row_id": f"i1-{n}", "import_id": "i1", "row": n, "full_name": "X", "state": "pending",
                "imported_at": NOW} for n in (3, 2)]
    assert rows.add_many(C, pending) == 2 and rows.add_many(C, pending) == 0
    assert [r["row_id"] for r in rows.pending(C)] == ["i1-2", "i1-3"]
    assert rows.matched(C, "i1-2", {"person_id": "p1"}, [])["state"] == "matched"
    with pytest.raises(Conflict):
        rows.matched(C, "i1-2", {"person_id": "p2"}, [])
    assert [r["row_id"] for r in rows.pending(C)] == ["i1-3"]
