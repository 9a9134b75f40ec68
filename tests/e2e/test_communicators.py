"""End to end: the communicators' roster and a training course through the
system as `make up` starts it (seeded Xuân Hưng), driven over HTTP as the
commune's officer would, with attendance taken in Chromium at phone width, and
the certificate checked by a stranger with no account."""
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.testing import wait_until
from shared.timeutil import local_today
from tests.e2e.test_slice import login

pytestmark = pytest.mark.e2e

FLOW = Path(__file__).with_name("training_browser_flow.py")


def village(roster, village_id):
    return next(v for v in roster["villages"] if v["village"] == village_id)


def test_the_seeded_roster_shows_where_communicators_are_missing(stack):
    session = login(stack, stack.password)
    roster = session.get(f"{stack.base_url}/api/training/roster", timeout=10).json()
    assert [v["village"] for v in roster["villages"]] == [f"thon-{n}" for n in range(1, 7)]
    # seeded: thôn 1 full (2 of 2), thôn 3 one active and one on leave (target 2), thôn 6 nobody (target 1)
    assert (village(roster, "thon-1")["in_place"], village(roster, "thon-1")["vacancies"]) == (2, 0)
    assert (village(roster, "thon-3")["in_place"], village(roster, "thon-3")["on_leave"],
            village(roster, "thon-3")["vacancies"]) == (1, 1, 1)
    assert village(roster, "thon-6")["vacancies"] == 1
    assert roster["totals"]["villages_short"] == 2
    assert [p["full_name"] for p in roster["officers"]] == ["Bùi Thị Hương"]

    page = session.get(f"{stack.base_url}/roster", timeout=10)
    assert page.status_code == 200 and "Thôn 6" in page.text and "Thiếu 1" in page.text


def test_leave_and_replacement_move_the_vacancy_count_and_the_report_follows(stack):
    session = login(stack, stack.password)
    api = f"{stack.base_url}/api/training"
    person = next(p for p in village(session.get(f"{api}/roster", timeout=10).json(), "thon-2")["people"]
                  if p["full_name"] == "Lê Văn Cường")
    today = local_today().isoformat()

    answer = session.post(f"{api}/people/{person['person_id']}/status",
                          json={"status": "on_leave", "since": today, "reason": "Ốm dài ngày"}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert village(session.get(f"{api}/roster", timeout=10).json(), "thon-2")["vacancies"] == 1

    answer = session.post(f"{api}/people/{person['person_id']}/replace", json={
        "replacement": {"full_name": "Ngô Thị Lan", "phone": "0912000299"}, "since": today,
        "reason": "Chuyển công tác"}, timeout=10)
    assert answer.status_code == 200, answer.text
    roster = session.get(f"{api}/roster", timeout=10).json()
    thon_2 = village(roster, "thon-2")
    assert (thon_2["in_place"], thon_2["vacancies"]) == (1, 0)
    assert {p["full_name"]: p["status"] for p in thon_2["people"]} == {"Ngô Thị Lan": "active", "Lê Văn Cường": "left"}

    # the tasks service's report indicators follow the training service's events
    def in_place_indicator():
        items = session.get(f"{stack.base_url}/api/indicators", timeout=10).json()["items"]
        return next(i["value"] for i in items if i["key"] == "communicators_in_place")
    wait_until(lambda: in_place_indicator() == roster["totals"]["in_place"], timeout=20,
               message="the report's communicators indicator")


def test_a_course_from_waiting_list_to_verified_certificate(stack, tmp_path):
    session = login(stack, stack.password)
    api = f"{stack.base_url}/api/training"
    people = [p for v in session.get(f"{api}/roster", timeout=10).json()["villages"] for p in v["people"]
              if p["status"] == "active"][:3]
    course = session.post(f"{api}/courses", json={
        "title": "Kỹ năng tuyên truyền miệng", "topics": ["oral_propaganda"], "organiser": "Phòng Văn hóa – Xã hội"},
        timeout=10)
    assert course.status_code == 201, course.text
    course = course.json()
    session_answer = session.post(f"{api}/courses/{course['course_id']}/sessions", json={
        "date": local_today().isoformat(), "starts_at": "08:00", "ends_at": "10:00", "place": "Nhà văn hóa thôn 1",
        "trainer": "Đỗ Minh Tuấn", "capacity": 2}, timeout=10)
    assert session_answer.status_code == 201, session_answer.text
    session_id = session_answer.json()["session"]["session_id"]

    enrolments = [session.post(f"{api}/courses/{course['course_id']}/enrolments", json={"person_id": p["person_id"]},
                               timeout=10).json() for p in people]
    assert [e["state"] for e in enrolments] == ["enrolled", "enrolled", "waitlisted"]
    cancelled = session.post(f"{api}/enrolments/{enrolments[0]['enrolment_id']}/cancel",
                             json={"reason": "Bận việc gia đình"}, timeout=10).json()
    assert cancelled["promoted"]["person_id"] == people[2]["person_id"]

    def promotion_in_activity():
        items = session.get(f"{stack.base_url}/api/activity", timeout=10).json()["items"]
        return [a for a in items if a.get("kind") == "enrolment_promoted"]
    wait_until(promotion_in_activity, timeout=20, message="the promotion in the activity feed")

    # attendance taken on a phone, in Chromium, through the console's form
    flow = subprocess.run([sys.executable, str(FLOW), stack.base_url, "admin.xuanhung", stack.password,
                           f"/training/sessions/{session_id}/attendance", str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert flow.returncode == 0, flow.stdout[-3000:] + flow.stderr[-3000:]
    sheet = session.get(f"{api}/sessions/{session_id}/attendance", timeout=10).json()
    assert sorted(r["status"] for r in sheet["rows"]) == ["late", "present"]

    closed = session.post(f"{api}/courses/{course['course_id']}/close", json={}, timeout=10)
    assert closed.status_code == 200, closed.text
    completed = closed.json()["completed"]
    assert {c["person_id"] for c in completed} == {people[1]["person_id"], people[2]["person_id"]}

    pdf = session.get(f"{api}/certificates/{completed[0]['certificate_id']}.pdf", timeout=20)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"].startswith("application/pdf")
    assert pdf.content.startswith(b"%PDF")

    stranger = requests.Session()  # no account, no cookie
    code = completed[0]["code"]
    verified = stranger.get(f"{stack.base_url}/api/certificates/verify/{code}", timeout=10)
    assert verified.status_code == 200, verified.text
    stated = verified.json()["certificate"]
    assert stated["course_title"] == "Kỹ năng tuyên truyền miệng" and stated["full_name"] == completed[0]["full_name"]
    assert not {"phone", "email", "person_id", "village"} & set(stated)
    page = stranger.get(f"{stack.base_url}/xac-minh/{code}", timeout=10)
    assert page.status_code == 200 and completed[0]["full_name"] in page.text
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert stranger.get(f"{stack.base_url}/api/certificates/verify/{altered}", timeout=10).status_code == 404
    assert stranger.get(f"{stack.base_url}/xac-minh/{altered}", timeout=10).status_code == 404

    def people_trained():
        items = session.get(f"{stack.base_url}/api/indicators", timeout=10).json()["items"]
        return {i["key"]: i["value"] for i in items}
    wait_until(lambda: (people_trained()["people_trained_oral_propaganda"] or 0) >= 2, timeout=20,
               message="the report's people-trained indicator")
