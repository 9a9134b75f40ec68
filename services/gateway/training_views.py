"""The training pages' view rules, with no I/O: the roster by village and
who is missing, what a certificate's public verification may say, the forms
of people, targets, courses, sessions and attendance as the training
service's requests, and the choices the pages offer (whom to enrol, whom an
online completion is probably about).

The training service (services/training/API.md) owns every rule about
people, courses and certificates; these only shape its answers for the pages
and the pages' forms for its requests. Its codes are repeated here, not
imported: services share contracts, not code.
"""
import base64
import binascii
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone

from shared.errors import InvalidInput, NotFound
from shared.text import fold
from shared.timeutil import VIETNAM

from services.gateway import domain, schemas
from services.gateway.errors import PayloadTooLarge
from services.gateway.files import XLSX_TYPE
from services.gateway.i18n import label

# The training service's codes, for the console's selects and labels.
TOPICS = ("radio_operation", "content_production", "oral_propaganda", "foreign_information", "other")
PERSON_ROLES = schemas.PERSON_ROLES
PERSON_STATUSES = schemas.PERSON_STATUSES
GENDERS = schemas.GENDERS
ATTENDANCE_STATUSES = schemas.ATTENDANCE_STATUSES
COURSE_STATES = ("open", "closed")
COMMUNICATOR_ROLES = ("communicator", "lead")
MANAGE_ROLES = domain.TRAINING_MANAGE_ROLES
PERSONAL_ROLES = domain.TRAINING_PERSONAL_ROLES
# a person's fields the console's form writes (status is changed apart)
PERSON_TEXTS = ("full_name", "phone", "email", "address", "decision_number", "notes")
PERSON_CHOICES = ("village", "role", "gender", "birth_date", "decision_date")
# What a certificate states (API.md ``verify_certificate``): the public
# verification passes on these and nothing else, whatever the service answered.
STATEMENT_KEYS = ("code", "full_name", "course_title", "topics", "completed_on", "commune_name", "issued_at",
                  "revoked")
MAX_CODE_LENGTH = 200
# the training service's limit for an imported file (API.md ``preview_roster_import``)
MAX_IMPORT_BYTES = 2 * 1024 * 1024
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}
PDF_TYPE = "application/pdf"
DEFAULT_MIN_ATTENDANCE = 0.8


# --- the roster ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VillageRoster:
    """One village of the roster: its target (định biên), who is in place
    and on leave, and since when it has been short of communicators."""

    village: str
    name: str
    target: int
    in_place: int
    on_leave: int
    vacancies: int
    vacant_since: str | None
    zalo_url: str | None
    people: list

    @property
    def short(self):
        return self.vacancies > 0


def village_sections(roster):
    """The roster's villages in the service's order (the commune's)."""
    return [VillageRoster(village=entry["village"], name=entry.get("name") or entry["village"],
                          target=entry.get("target", 0), in_place=entry.get("in_place", 0),
                          on_leave=entry.get("on_leave", 0), vacancies=entry.get("vacancies", 0),
                          vacant_since=entry.get("vacant_since"), zalo_url=entry.get("zalo_url"),
                          people=list(entry.get("people") or ()))
            for entry in roster.get("villages") or ()]


def roster_people(roster):
    """Everyone the roster answer lists: villages' people, officers, and those of former villages."""
    people = [person for entry in roster.get("villages") or () for person in entry.get("people") or ()]
    return people + list(roster.get("officers") or ()) + list(roster.get("others") or ())


def shows_personal(people):
    """Whether the personal columns have anything to show: the service leaves
    personal fields out of its answer for readers who may not see them."""
    return any(key in person for person in people for key in ("phone", "email"))


def status_offers(person):
    """The statuses a person may be moved to from theirs: on leave or left
    while active, back or left while on leave, back after leaving."""
    return {"active": ("on_leave", "left"), "on_leave": ("active", "left"),
            "left": ("active",)}.get(person.get("status"), ())


def replaceable(person):
    """A village's communicator or lead can be replaced; an officer is not counted against a village."""
    return person.get("role") in COMMUNICATOR_ROLES


# --- forms: people and targets -------------------------------------------------------------------

def person_values(person=None, **defaults):
    """The person form's fields: a stored person's, or a new one's."""
    person = person or {}
    values = {key: person.get(key) or "" for key in PERSON_TEXTS + PERSON_CHOICES}
    values["role"] = values["role"] or "communicator"
    values.update({key: value for key, value in defaults.items() if value})
    return values


def person_fields(form, keys=PERSON_TEXTS + PERSON_CHOICES):
    """The person form as the service's person: every field the form shows is
    sent, an empty one as null (it clears), text trimmed."""
    fields = {}
    for key in keys:
        if key not in form:
            continue
        value = form.get(key, "").replace("\r\n", "\n").strip()
        fields[key] = value or (None if key != "full_name" else "")
    return {key: unicodedata.normalize("NFC", value) if isinstance(value, str) else value
            for key, value in fields.items()}


def replacement_fields(form):
    """The replace form's replacement: someone already on the roster
    (``existing_person_id``), or a new person written in the form, who takes
    the village and role of the one they replace."""
    existing = (form.get("existing_person_id") or "").strip()
    if existing:
        return {"person_id": existing}
    return person_fields(form, keys=PERSON_TEXTS + ("gender", "birth_date", "decision_date"))


def targets_request(form, villages):
    """The targets form: a target and a Zalo group per village of the commune
    (fields ``target-<village>`` and ``zalo-<village>``), and the commune's group."""
    targets = []
    for village in villages:
        entry = {"village": village["id"], "target": form.get(f"target-{village['id']}", "").strip()}
        if f"zalo-{village['id']}" in form:
            entry["zalo_url"] = form[f"zalo-{village['id']}"].strip() or None
        targets.append(entry)
    return {"targets": targets, "zalo_url": (form.get("zalo_url") or "").strip() or None}


def targets_values(roster):
    """The targets form's fields from the roster: each village's target and Zalo group, and the commune's."""
    values = {"zalo_url": roster.get("zalo_url") or ""}
    for entry in roster.get("villages") or ():
        values[f"target-{entry['village']}"] = str(entry.get("target", 0))
        values[f"zalo-{entry['village']}"] = entry.get("zalo_url") or ""
    return values


def enrol_options(people, enrolments):
    """Whom the enrol form offers: active people not already enrolled or
    waiting (a cancelled enrolment does not count), by name."""
    taken = {e["person_id"] for e in enrolments or () if e.get("state") in ("enrolled", "waitlisted")}
    offered = [person for person in people if person.get("status") == "active" and person["person_id"] not in taken]
    return sorted(offered, key=lambda person: fold(person.get("full_name")))


def replacement_candidates(people, person_id):
    """Whom the replace form offers besides a new person: anyone listed who
    has not left, but the person replaced, by name."""
    offered = [person for person in people if person["person_id"] != person_id and person.get("status") != "left"]
    return sorted(offered, key=lambda person: fold(person.get("full_name")))


def suggested_person(row, people):
    """The person an unmatched online completion is most likely about, the
    way the service matches (e-mail, then phone, then a unique name without
    accents or case), or None: the officer still confirms."""
    for key in ("email", "phone"):
        wanted = _same(row.get(key), key)
        if wanted:
            found = [person for person in people if _same(person.get(key), key) == wanted]
            if len(found) == 1:
                return found[0]["person_id"]
    name = " ".join(fold(row.get("full_name")).split())
    found = [person for person in people if name and " ".join(fold(person.get("full_name")).split()) == name]
    return found[0]["person_id"] if len(found) == 1 else None


def _same(value, key):
    value = (value or "").strip()
    if key == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        return "0" + digits[2:] if digits.startswith("84") else digits
    return value.lower()


# --- forms: courses, sessions, attendance ----------------------------------------------------------

def course_values(course=None):
    course = course or {}
    share = course.get("min_attendance")
    return {"title": course.get("title") or "", "topics": list(course.get("topics") or ()),
            "description": course.get("description") or "", "organiser": course.get("organiser") or "",
            "min_attendance": round((DEFAULT_MIN_ATTENDANCE if share is None else share) * 100)}


def course_fields(form):
    """The course form: the minimum attendance is written as a percentage (80 is 0.8)."""
    fields = {"title": form.get("title", "").strip(), "topics": form.getlist("topics"),
              "description": form.get("description", "").replace("\r\n", "\n").strip(),
              "organiser": form.get("organiser", "").strip()}
    written = form.get("min_attendance", "").strip().rstrip("%").replace(",", ".")
    if written:
        try:
            fields["min_attendance"] = round(float(written) / 100, 4)
        except ValueError as err:
            raise InvalidInput("Tỷ lệ chuyên cần tối thiểu là một số phần trăm, ví dụ 80.",
                               {"min_attendance": written}) from err
    return fields


def session_values(session=None):
    session = session or {}
    return {key: session.get(key) if session.get(key) is not None else ""
            for key in ("date", "starts_at", "ends_at", "place", "trainer", "capacity")}


def session_fields(form):
    return {key: form.get(key, "").strip() for key in ("date", "starts_at", "ends_at", "place", "trainer", "capacity")
            if form.get(key, "").strip() or key in ("place", "trainer")}


def find_session(course, session_id):
    for session in course.get("sessions") or ():
        if session["session_id"] == session_id:
            return session
    raise NotFound("Không tìm thấy buổi học này trong lớp.", {"session_id": session_id})


def enrolment_lists(course):
    """``(enrolled, waiting)``: those with a place by when they got it, then the waiting list by position."""
    enrolments = course.get("enrolments") or ()
    enrolled = sorted((e for e in enrolments if e.get("state") == "enrolled"), key=lambda e: e.get("enrolled_at") or "")
    waiting = sorted((e for e in enrolments if e.get("state") == "waitlisted"), key=lambda e: e.get("position") or 0)
    return enrolled, waiting


def attendance_entries(form):
    """The attendance form as ``record_attendance`` entries: one per person
    marked (``status-<person_id>``), with their remark. A remark for someone
    not marked is refused rather than dropped."""
    entries, unmarked = [], []
    for person_id in form.getlist("person_id"):
        status = form.get(f"status-{person_id}", "").strip()
        remark = form.get(f"remark-{person_id}", "").strip()
        if status:
            entries.append({"person_id": person_id, "status": status, "remark": remark})
        elif remark:
            unmarked.append(form.get(f"name-{person_id}") or person_id)
    if unmarked:
        raise InvalidInput("Có ghi chú nhưng chưa chọn có mặt, muộn, có phép hay vắng cho: " + ", ".join(unmarked)
                           + ".", {"unmarked": unmarked})
    if not entries:
        raise InvalidInput("Hãy điểm danh ít nhất một người.")
    return entries


def attendance_rows(rows, form=None):
    """The sheet's rows, with what a refused form held instead of what is stored."""
    if form is None:
        return [dict(row, status=row.get("status") or "", remark=row.get("remark") or "") for row in rows]
    return [dict(row, status=form.get(f"status-{row['person_id']}", ""),
                 remark=form.get(f"remark-{row['person_id']}", "")) for row in rows]


def attendance_summary(counts):
    """The sheet's counts in the order of the form's buttons, then those not taken."""
    return [(status, counts.get(status, 0)) for status in ATTENDANCE_STATUSES + ("not_taken",)]


# --- imports -------------------------------------------------------------------------------------

def checked_base64(data_base64, filename):
    """A file sent as base64 in JSON: refused when it is not base64 or over the service's 2 MB."""
    try:
        content = base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise InvalidInput(f"Nội dung tệp «{filename}» (data_base64) không phải base64 hợp lệ.",
                           {"filename": filename}) from err
    if len(content) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(f"Tệp «{filename}» lớn hơn 2 MB.", {"file": filename, "max_bytes": MAX_IMPORT_BYTES})
    return data_base64


def row_counts(rows):
    """How many rows of a preview have each status (ok/error, or matched/unmatched/error)."""
    counts = {}
    for row in rows:
        counts[row.get("status")] = counts.get(row.get("status"), 0) + 1
    return counts


def confirmable(preview):
    """A preview is confirmed only when none of its rows has an error (the service refuses otherwise)."""
    return bool(preview.get("rows")) and not any(row.get("status") == "error" for row in preview["rows"])


# --- certificates ----------------------------------------------------------------------------------

def clean_code(text):
    """A verification code as typed or scanned: NFC, outer spaces removed
    (spaces and dashes inside are the service's to read: people type codes
    in groups); None when it cannot be one (empty, too long, control
    characters), which is answered without asking the service."""
    code = unicodedata.normalize("NFC", text or "").strip()
    if not code or len(code) > MAX_CODE_LENGTH or any(not (ch.isprintable() or ch == " ") for ch in code):
        return None
    return code


def public_verification(answer):
    """What the public may read of a verification: what the certificate
    states — only ``STATEMENT_KEYS``, and of a revocation only when and why —
    or why the code is not valid. A revoked certificate is no longer valid,
    whichever way the service says so (``valid: false`` with the
    certificate, or ``valid: true`` with ``revoked`` set): its statement is
    kept, so the page can say what was revoked."""
    answer = answer if isinstance(answer, dict) else {}
    certificate = answer.get("certificate")
    reason = str(answer.get("reason") or "")
    if not isinstance(certificate, dict) or (answer.get("valid") is not True and not certificate.get("revoked")):
        return {"valid": False, "reason": reason}
    statement = {key: certificate.get(key) for key in STATEMENT_KEYS}
    statement["topics"] = [str(topic) for topic in statement["topics"] or ()]
    revoked = statement["revoked"]
    if not isinstance(revoked, dict):
        return {"valid": True, "certificate": dict(statement, revoked=None)}
    statement["revoked"] = {"at": revoked.get("at"), "reason": revoked.get("reason") or ""}
    return {"valid": False, "certificate": statement, "reason": reason or "Giấy chứng nhận đã bị thu hồi."}


def verification_status(result):
    """The HTTP status of a verification: 200 valid, 410 revoked (it was
    issued, and withdrawn), 404 not a code of any certificate."""
    if result["valid"]:
        return 200
    return 410 if result.get("certificate") else 404


def file_bytes(answer):
    """The bytes of a file the service answered (``data_base64``)."""
    return base64.b64decode(answer["data_base64"])


# --- words and dates -------------------------------------------------------------------------------

def local_day(value):
    """A date ("2026-03-12") or an ISO time as the Vietnamese day staff write: "12/03/2026"."""
    if not value:
        return ""
    if len(value) == 10:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


def topic_labels(topics, lang):
    """Topic code → words in ``lang``; a topic the gateway does not know keeps the service's own label."""
    return {topic["key"]: label("training_topic", topic["key"], lang) if topic["key"] in TOPICS
            else topic.get("label") or topic["key"] for topic in topics}


def session_time(session):
    """"07:30–11:00"."""
    start, end = session.get("starts_at") or "", session.get("ends_at") or ""
    return f"{start}–{end}" if start and end else start or end
