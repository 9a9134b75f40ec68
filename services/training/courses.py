"""Courses (lớp tập huấn, bồi dưỡng), their sessions (buổi học), enrolment
(ghi danh) with a waiting list, attendance (điểm danh) and completion (hoàn
thành). Pure rules: no I/O.

A course is one dict that holds its ``sessions``, ``enrolments`` and
``attendance`` (maps keyed by id; attendance by session, then person), so
every change to a course is one compare-and-set write of one document:
places are never over-filled by concurrent enrolments, and a promotion from
the waiting list is written together with its event. Session and enrolment
ids begin with their course's id (``course_of``).
"""
from shared.errors import Conflict, InvalidInput, NotFound
from shared.text import fold
from shared.timeutil import VIETNAM, parse_iso

TOPICS = {
    "radio_operation": "Vận hành đài truyền thanh ứng dụng CNTT-VT và hệ thống thông tin nguồn",
    "content_production": "Sản xuất tin, phóng sự, chương trình phát thanh",
    "oral_propaganda": "Tuyên truyền miệng",
    "foreign_information": "Thông tin đối ngoại",
    "other": "Khác",
}
KINDS = ("in_person", "online")
# ``closing``: completions are being recorded (a crash there is resumed by closing again)
COURSE_STATES = ("open", "closing", "closed")
ENROLMENT_STATES = ("enrolled", "waitlisted", "cancelled")
ATTENDANCE_STATUSES = ("present", "late", "excused", "absent")
ATTENDED = ("present", "late")
DEFAULT_MIN_ATTENDANCE = 0.8
MAX_CAPACITY = 1000
# a course is one document: its live enrolments (places and waiting list) are bounded
MAX_LIVE_ENROLMENTS = 2000
EDITABLE = ("title", "topics", "description", "organiser", "min_attendance")
SESSION_KEYS = ("date", "starts_at", "ends_at", "place", "trainer", "capacity")


def local_day(moment_iso):
    """The Vietnamese calendar day of a stored time."""
    return parse_iso(moment_iso).astimezone(VIETNAM).date().isoformat()


def course_of(item_id):
    """The course id a session or enrolment id begins with (None if it has none)."""
    head, sep, tail = (item_id or "").rpartition("-")
    return head if sep and head and tail[:1] in ("s", "e") else None


def session_id_for(course_id, token):
    return f"{course_id}-s{token}"


def enrolment_id_for(course_id, token):
    return f"{course_id}-e{token}"


def new_course(course_id, fields, now_iso, kind="in_person", state="open"):
    course = {"course_id": course_id, **{k: fields.get(k) for k in EDITABLE}, "kind": kind, "state": state,
              "places": None, "enrolled": 0, "waitlisted": 0, "sessions": {}, "enrolments": {}, "attendance": {},
              "created_at": now_iso, "updated_at": now_iso, "closed_at": None}
    if course["min_attendance"] is None:
        course["min_attendance"] = DEFAULT_MIN_ATTENDANCE
    return course


def _require_open(course, doing):
    if course["kind"] != "in_person":
        raise InvalidInput(f"Khóa học trực tuyến «{course['title']}» chỉ được cập nhật từ tệp kết quả của Bộ; "
                           f"không thể {doing}.")
    if course["state"] != "open":
        raise Conflict(f"Khóa học «{course['title']}» đã kết thúc; không thể {doing}.", {"state": course["state"]})


def edited(course, fields, now_iso):
    _require_open(course, "sửa thông tin")
    return dict(course, **{k: fields[k] for k in EDITABLE if k in fields}, updated_at=now_iso)


# ------------------------------------------------------------------ places and enrolment

def places(sessions):
    """Everyone enrolled attends every session, so the smallest room binds;
    no sessions, no limit (None)."""
    capacities = [s["capacity"] for s in sessions.values()]
    return min(capacities) if capacities else None


def _in_state(course, state):
    return [e for e in course["enrolments"].values() if e["state"] == state]


def enrolled(course):
    """Those with a place, by when they got it."""
    return sorted(_in_state(course, "enrolled"), key=lambda e: (e["enrolled_at"], e["enrolment_id"]))


def waiting_list(course):
    """Those waiting, oldest request first."""
    return sorted(_in_state(course, "waitlisted"), key=lambda e: (e["requested_at"], e["enrolment_id"]))


def _recounted(course):
    return dict(course, places=places(course["sessions"]), enrolled=len(_in_state(course, "enrolled")),
                waitlisted=len(_in_state(course, "waitlisted")))


def _has_place(course):
    limit = places(course["sessions"])
    return limit is None or len(_in_state(course, "enrolled")) < limit


def _with_enrolment(course, enrolment):
    return dict(course, enrolments={**course["enrolments"], enrolment["enrolment_id"]: enrolment})


def enrol(course, enrolment_id, person, now_iso):
    """The person gets a place while the course has one, else joins the
    waiting list; one live enrolment per person and course."""
    _require_open(course, "ghi danh")
    if person["status"] == "left":
        raise InvalidInput(f"person_id: {person['full_name']} đã nghỉ; không thể ghi danh.", {"field": "person_id"})
    live = [e for e in course["enrolments"].values() if e["state"] != "cancelled"]
    if any(e["person_id"] == person["person_id"] for e in live):
        raise Conflict(f"{person['full_name']} đã ghi danh khóa học «{course['title']}».",
                       {"person_id": person["person_id"]})
    if len(live) >= MAX_LIVE_ENROLMENTS:
        raise Conflict(f"Khóa học «{course['title']}» đã có {MAX_LIVE_ENROLMENTS} lượt ghi danh.")
    has_place = _has_place(course)
    enrolment = {"enrolment_id": enrolment_id, "course_id": course["course_id"], "person_id": person["person_id"],
                 "state": "enrolled" if has_place else "waitlisted", "requested_at": now_iso,
                 "enrolled_at": now_iso if has_place else None, "cancelled_at": None, "cancel_reason": ""}
    return _recounted(dict(_with_enrolment(course, enrolment), updated_at=now_iso)), enrolment


def fill(course, now_iso):
    """Promote from the waiting list, first come first served, while a place
    is free; returns ``(course, promoted)``."""
    promoted = []
    for waiting in waiting_list(course):
        if not _has_place(course):
            break
        moved = dict(waiting, state="enrolled", enrolled_at=now_iso)
        course = _with_enrolment(course, moved)
        promoted.append(moved)
    return _recounted(course), promoted


def cancel(course, enrolment_id, reason, now_iso):
    """Cancel an enrolment; a place it frees goes to the first waiting.
    Returns ``(course, cancelled, promoted)``."""
    _require_open(course, "hủy ghi danh")
    enrolment = course["enrolments"].get(enrolment_id)
    if enrolment is None:
        raise NotFound(f"Không có lượt ghi danh «{enrolment_id}».")
    if enrolment["state"] == "cancelled":
        raise Conflict("Lượt ghi danh này đã được hủy.", {"enrolment_id": enrolment_id})
    cancelled = dict(enrolment, state="cancelled", cancelled_at=now_iso, cancel_reason=reason or "")
    course, promoted = fill(dict(_with_enrolment(course, cancelled), updated_at=now_iso), now_iso)
    return course, cancelled, promoted


def put_session(course, session, now_iso):
    """Add or change a session; a capacity below those already enrolled is
    refused, places it frees go to the waiting list. Returns ``(course, promoted)``."""
    _require_open(course, "thêm hoặc sửa buổi học")
    holding = len(_in_state(course, "enrolled"))
    if session["capacity"] < holding:
        raise Conflict(f"capacity: buổi học chỉ có {session['capacity']} chỗ nhưng đã có {holding} người ghi danh "
                       f"được nhận vào khóa học.", {"enrolled": holding, "capacity": session["capacity"]})
    sessions = {**course["sessions"], session["session_id"]: dict(session, course_id=course["course_id"])}
    return fill(dict(course, sessions=sessions, updated_at=now_iso), now_iso)


def remove_session(course, session_id, now_iso):
    """Delete a session not yet taken attendance of. Returns ``(course, promoted)``."""
    _require_open(course, "xóa buổi học")
    session = get_session(course, session_id)
    if course["attendance"].get(session_id):
        raise Conflict(f"Buổi học ngày {session['date']} đã được điểm danh; không xóa được.",
                       {"session_id": session_id})
    sessions = {k: v for k, v in course["sessions"].items() if k != session_id}
    return fill(dict(course, sessions=sessions, updated_at=now_iso), now_iso)


def get_session(course, session_id):
    session = course["sessions"].get(session_id)
    if session is None:
        raise NotFound(f"Không có buổi học «{session_id}».")
    return session


def sessions_by_date(course):
    return sorted(course["sessions"].values(), key=lambda s: (s["date"], s.get("starts_at") or "", s["session_id"]))


# ------------------------------------------------------------------ attendance and completion

def expected(course, session):
    """Those expected at a session: enrolled on or before its day (someone
    enrolled later is never counted absent for it)."""
    return [e for e in enrolled(course) if local_day(e["enrolled_at"]) <= session["date"]]


def record_attendance(course, session_id, entries, names, by, now_iso):
    """Record (or record again) attendance of people expected at a session;
    ``names`` maps person ids to names for the messages."""
    _require_open(course, "điểm danh")
    session = get_session(course, session_id)
    allowed = {e["person_id"] for e in expected(course, session)}
    for entry in entries:
        if entry["person_id"] not in allowed:
            who = names.get(entry["person_id"]) or entry["person_id"]
            raise InvalidInput(f"entries: {who} không thuộc danh sách phải dự buổi học ngày {session['date']} "
                               f"(chưa được nhận vào khóa học trước buổi học).", {"person_id": entry["person_id"]})
    taken = dict(course["attendance"].get(session_id) or {})
    for entry in entries:
        taken[entry["person_id"]] = {"status": entry["status"], "remark": entry.get("remark") or "",
                                     "by": by, "recorded_at": now_iso}
    return dict(course, attendance={**course["attendance"], session_id: taken}, updated_at=now_iso)


def sheet(course, session_id, people):
    """The attendance sheet of a session: the people expected, their status
    (None if not taken) and the counts. ``people`` maps ids to persons."""
    session = get_session(course, session_id)
    rows = []
    for enrolment in expected(course, session):
        person = people.get(enrolment["person_id"]) or {}
        record = _taken(course, session_id, enrolment["person_id"])
        rows.append({"person_id": enrolment["person_id"], "full_name": person.get("full_name", ""),
                     "village": person.get("village"), "status": record.get("status"), "remark": record.get("remark", "")})
    rows.sort(key=lambda r: (fold(r["full_name"]).split()[-1:], fold(r["full_name"])))
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in ATTENDANCE_STATUSES}
    counts["not_taken"] = sum(1 for r in rows if r["status"] is None)
    return {"session": session, "rows": rows, "counts": counts}


def _taken(course, session_id, person_id):
    return (course["attendance"].get(session_id) or {}).get(person_id) or {}


def outcomes(course):
    """Per person enrolled: sessions attended (present or late) over sessions
    expected, excused sessions left out of both, and whether that reaches
    the course's minimum share."""
    found = []
    for enrolment in enrolled(course):
        attended = due = 0
        for session in course["sessions"].values():
            if local_day(enrolment["enrolled_at"]) > session["date"]:
                continue
            status = _taken(course, session["session_id"], enrolment["person_id"]).get("status")
            if status == "excused":
                continue
            due += 1
            attended += status in ATTENDED
        # compared as a product, so 4 of 5 reaches 0.8 without rounding surprises
        completed = due > 0 and attended >= course["min_attendance"] * due - 1e-9
        found.append({"person_id": enrolment["person_id"], "attended": attended, "expected": due,
                      "completed": completed})
    return found


def last_day(course):
    return max((s["date"] for s in course["sessions"].values()), default=None)


def closing(course, today, now_iso):
    """The course frozen for recording completions: no enrolment, session or
    attendance changes from here. Refused before its last session's day."""
    if course["state"] == "closing":
        return course
    _require_open(course, "kết thúc")
    last = last_day(course)
    if last is None:
        raise Conflict(f"Khóa học «{course['title']}» chưa có buổi học nào; không thể kết thúc.")
    if today.isoformat() < last:
        raise Conflict(f"Khóa học «{course['title']}» còn buổi học ngày {last}; chỉ kết thúc được từ ngày đó.",
                       {"last_session": last})
    return dict(course, state="closing", updated_at=now_iso)


# ------------------------------------------------------------------ views

def session_view(session):
    return {"session_id": session["session_id"], "course_id": session["course_id"],
            **{k: session.get(k) for k in SESSION_KEYS}}


def enrolment_view(course, enrolment):
    position = None
    if enrolment["state"] == "waitlisted":
        position = [e["enrolment_id"] for e in waiting_list(course)].index(enrolment["enrolment_id"]) + 1
    return dict(enrolment, position=position)


def view(course):
    """A course as callers see it: without its maps, nor the revision its store keeps."""
    return {k: v for k, v in course.items() if k not in ("sessions", "enrolments", "attendance", "rev")}


def next_session(course, today):
    upcoming = [s for s in sessions_by_date(course) if s["date"] >= today.isoformat()]
    return session_view(upcoming[0]) if upcoming else None


def year_of(course):
    """The year a course belongs to: its first session's, else when it was created."""
    first = min((s["date"] for s in course["sessions"].values()), default=None)
    return int((first or local_day(course["created_at"]))[:4])
