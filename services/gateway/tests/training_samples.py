"""What the training service answers, shaped as its contract says
(services/training/API.md), for tests where a stand-in replaces it. Each
function returns a fresh copy, so a test may change what it gets."""
import base64
import copy

PERSONAL = ("phone", "email", "address", "birth_date", "gender", "decision_number", "decision_date", "notes",
            "status_reason")


def person(person_id="p1", personal=True, **changes):
    """Chị Lan, the communicator of Thôn 1, active since 2025; without the
    personal fields unless ``personal`` (as the service answers a viewer)."""
    base = {"person_id": person_id, "full_name": "Nguyễn Thị Lan", "village": "thon-1", "role": "communicator",
            "gender": "female", "birth_date": "1990-05-12", "phone": "0912 345 678", "email": "lan@xuanhung.vn",
            "address": "Xóm Đông, Thôn 1", "decision_number": "12/QĐ-UBND", "decision_date": "2025-01-15",
            "status": "active", "status_since": "2025-01-15", "status_reason": "", "replaces": None,
            "replaced_by": None, "notes": "", "created_at": "2025-01-15T02:00:00.000Z",
            "updated_at": "2025-01-15T02:00:00.000Z"}
    made = {**base, **changes}
    if not personal:
        made = {key: value for key, value in made.items() if key not in PERSONAL}
    return copy.deepcopy(made)


def person_detail(person_id="p1", **changes):
    """A person of ``roster()`` (Chị Lan unless another of them), with the history of their status."""
    listed = {p["person_id"]: p for v in roster()["villages"] for p in v["people"]}
    listed.update({p["person_id"]: p for p in roster()["officers"] + roster()["others"]})
    return dict(listed.get(person_id) or person(person_id), **changes, history=[
        {"at": "2025-01-15T02:00:00.000Z", "status": "active", "reason": "Quyết định công nhận", "by": "Quản trị"}])


def roster(personal=True):
    """Thôn 1 in place; Thôn 2 short since 12/03/2026 (its communicator left,
    another on leave); an officer; someone of a former village."""
    thon_1 = [person("p1", personal)]
    thon_2 = [person("p2", personal, full_name="Trần Văn Bình", village="thon-2", role="lead", status="on_leave",
                     status_since="2026-02-01", status_reason="Ốm dài ngày"),
              person("p3", personal, full_name="Lê Văn Cường", village="thon-2", status="left",
                     status_since="2026-03-12", status_reason="Chuyển công tác")]
    return {"villages": [
        {"village": "thon-1", "name": "Thôn 1", "target": 1, "in_place": 1, "on_leave": 0, "vacancies": 0,
         "vacant_since": None, "zalo_url": "https://zalo.me/g/thon1", "people": thon_1},
        {"village": "thon-2", "name": "Thôn 2", "target": 2, "in_place": 0, "on_leave": 1, "vacancies": 2,
         "vacant_since": "2026-03-12", "zalo_url": None, "people": thon_2}],
        "officers": [person("p4", personal, full_name="Phạm Thu Hà", village=None, role="officer")],
        "others": [person("p5", personal, full_name="Đỗ Minh Khoa", village="thon-cu")],
        "totals": {"target": 3, "in_place": 1, "on_leave": 1, "vacancies": 2, "villages_short": 1},
        "zalo_url": "https://zalo.me/g/xuanhung"}


def topics():
    return [{"key": "radio_operation", "label": "Vận hành đài truyền thanh ứng dụng CNTT-VT và hệ thống thông tin nguồn"},
            {"key": "content_production", "label": "Sản xuất tin, phóng sự, chương trình phát thanh"},
            {"key": "oral_propaganda", "label": "Tuyên truyền miệng"},
            {"key": "foreign_information", "label": "Thông tin đối ngoại"},
            {"key": "other", "label": "Khác"}]


def session(session_id="s1", **changes):
    base = {"session_id": session_id, "course_id": "c1", "date": "2026-04-10", "starts_at": "07:30",
            "ends_at": "11:00", "place": "Hội trường UBND xã", "trainer": "Ông Vũ Văn Hải", "capacity": 2}
    return copy.deepcopy({**base, **changes})


def course(course_id="c1", **changes):
    base = {"course_id": course_id, "title": "Kỹ năng tuyên truyền miệng", "topics": ["oral_propaganda"],
            "description": "Hai buổi thực hành tại hội trường.", "organiser": "UBND xã Xuân Hưng",
            "kind": "in_person", "min_attendance": 0.8, "state": "open", "places": 2, "enrolled": 2, "waitlisted": 1,
            "sessions_count": 2, "next_session": session()}
    return copy.deepcopy({**base, **changes})


def enrolment(enrolment_id, person_id, full_name, state="enrolled", position=None, **changes):
    base = {"enrolment_id": enrolment_id, "course_id": "c1", "person_id": person_id, "full_name": full_name,
            "village": "thon-1", "state": state, "enrolled_at": "2026-03-20T02:00:00.000Z" if state == "enrolled"
            else None, "requested_at": "2026-03-20T02:00:00.000Z", "position": position}
    return copy.deepcopy({**base, **changes})


def course_detail(course_id="c1", **changes):
    """Two sessions of two seats, both taken (Lan and Bình), Cường waiting first."""
    detail = course(course_id, **changes)
    detail["sessions"] = [session("s1"), session("s2", date="2026-04-17")]
    detail["enrolments"] = [
        enrolment("e1", "p1", "Nguyễn Thị Lan"),
        enrolment("e2", "p2", "Trần Văn Bình", village="thon-2", enrolled_at="2026-03-21T02:00:00.000Z"),
        enrolment("e3", "p3", "Lê Văn Cường", state="waitlisted", position=1, village="thon-2"),
    ]
    return detail


def attendance_sheet(session_id="s1", **counts):
    return {"session": session(session_id), "course": course(),
            "rows": [{"person_id": "p1", "full_name": "Nguyễn Thị Lan", "village": "thon-1", "status": "present",
                      "remark": ""},
                     {"person_id": "p2", "full_name": "Trần Văn Bình", "village": "thon-2", "status": None,
                      "remark": ""}],
            "counts": {"present": 1, "late": 0, "excused": 0, "absent": 0, "not_taken": 1, **counts}}


def roster_preview(with_errors=True):
    """Row 2 fine; row 3 without a name and with an unknown village (when ``with_errors``)."""
    rows = [{"row": 2, "status": "ok", "errors": [],
             "person": {"full_name": "Hoàng Văn Đức", "village": "thon-2", "role": "communicator"}}]
    if with_errors:
        rows.append({"row": 3, "status": "error", "errors": ["Họ và tên: không được để trống", "Thôn: không có «Thôn 9» trong xã"],
                     "person": {"full_name": "", "village": "Thôn 9", "role": "communicator"}})
    return {"import_id": "imp1", "kind": "roster", "rows": rows,
            "counts": {"rows": len(rows), "ok": 1, "error": len(rows) - 1},
            "columns": ["full_name", "village", "role", "phone"]}


def online_preview():
    return {"import_id": "imp2", "kind": "online", "rows": [
        {"row": 2, "status": "matched", "errors": [], "person_id": "p1", "full_name": "Nguyễn Thị Lan",
         "course_title": "Kỹ năng số cho tuyên truyền viên", "completed_on": "2026-03-01"},
        {"row": 3, "status": "unmatched", "errors": [], "person_id": None, "full_name": "Ngô Thị Mai",
         "course_title": "Kỹ năng số cho tuyên truyền viên", "completed_on": "2026-03-02"}],
        "counts": {"rows": 2, "matched": 1, "unmatched": 1, "error": 0}}


def certificate(certificate_id="cert1", **changes):
    base = {"certificate_id": certificate_id, "code": "000017-K7Q2M9XW", "person_id": "p1",
            "full_name": "Nguyễn Thị Lan", "course_id": "c1", "course_title": "Kỹ năng tuyên truyền miệng",
            "topics": ["oral_propaganda", "foreign_information"], "completed_on": "2026-04-17",
            "commune_id": "xuan-hung", "commune_name": "Xuân Hưng", "issued_at": "2026-04-17T10:00:00.000Z",
            "source": "course", "revoked": None}
    return copy.deepcopy({**base, **changes})


def verification(**changes):
    """``verify_certificate`` of a valid code, with more than the statement
    (a careless service could answer it): the gateway passes on only the statement."""
    stored = certificate(**changes)
    return {"valid": True, "certificate": dict(stored, phone="0912 345 678", birth_date="1990-05-12"),
            "person_id": "p1"}


def pdf(filename="giấy-chứng-nhận Nguyễn Thị Lan.pdf"):
    return {"filename": filename, "content_type": "application/pdf",
            "data_base64": base64.b64encode(b"%PDF-1.7\n% certificate\n").decode("ascii")}


def export(fmt):
    content = "full_name,village\nNguyễn Thị Lan,thon-1\n".encode("utf-8")
    return {"filename": f"tuyên-truyền-viên-xuân-hưng.{fmt}",
            "content_type": "text/csv" if fmt == "csv" else "application/octet-stream",
            "data_base64": base64.b64encode(content).decode("ascii")}
