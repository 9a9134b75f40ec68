"""The training service (tập huấn, bồi dưỡng tuyên truyền viên cơ sở): the
commune's roster of grassroots communicators, its courses and sessions,
enrolment and attendance, completions and their certificates.

The contract is ``API.md`` beside this file; the rules are the domain
modules (``roster``, ``courses``, ``roster_io``, ``online``,
``certificates``). This module validates, authorises, stores and publishes.
Every roster change rewrites the commune's count with its
``training.roster_counted`` event; the ``recount`` timer (one replica per
pass) publishes again whatever a crash left stale. A course is one document
changed by compare-and-set, so places are never over-filled and a promotion
carries its event in the same write.
"""
import base64
import hashlib
import logging
import uuid
from datetime import timedelta

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc

from services.training import certificates, courses, online, roster, roster_io
from services.training.repository import (CertificateRepository, CourseRepository, ImportRepository,
                                          PersonRepository, RosterRepository, UnmatchedRepository)
from services.training.schemas import (AnnouncedCourse, CertificateFilter, CourseFields, CourseFilter, DayRange,
                                       ExportRequest, ImportFile, PersonFields, RecordAttendance, ReplaceRequest,
                                       RevokeRequest, SaveTargets, SessionFields, SetStatus, load_ref)
from shared.context import READ_ROLES, SYSTEM, CallerContext
from shared.errors import CALLER_ERRORS, Conflict, InvalidInput, NotFound, load
from shared.events import outgoing
from shared.mongo import Store
from shared.observability import Observability
from shared.timers import LeaseRepository, Replica, configured_timer, lease_seconds
from shared.timeutil import iso, local_today, parse_iso, utcnow

log = logging.getLogger(__name__)

SOURCE = "training"
PERSONAL_ROLES = ("commune_admin", "trainer")
MANAGE_ROLES = ("commune_admin", "trainer")
# compare-and-set writes retried this many times against concurrent changes
ATTEMPTS = 50
BUSY = "Dữ liệu đang được nhiều người cập nhật cùng lúc; hãy thử lại."
PREVIEW_TTL = timedelta(hours=24)
# an application a crash interrupted may be confirmed again after this
STALE_APPLYING = timedelta(minutes=10)
ONLINE_ORGANISER = "Bộ Văn hóa, Thể thao và Du lịch (nền tảng học trực tuyến mở)"
MIN_SECRET = 16


class CertificateSigner(DependencyProvider):
    """The certificate key and the public verification address, from config
    (``CERTIFICATE_SECRET``, ``PUBLIC_URL``, ``CERTIFICATE_FONT_DIR``); the
    service does not start without the first two."""

    def setup(self):
        config = self.container.config
        self.secret = config.get("CERTIFICATE_SECRET") or ""
        if len(self.secret) < MIN_SECRET:
            raise RuntimeError(f"training: CERTIFICATE_SECRET must be set (at least {MIN_SECRET} characters); "
                               "it signs the verification codes printed on certificates")
        if not config.get("PUBLIC_URL"):
            raise RuntimeError("training: PUBLIC_URL must be set; certificates print <PUBLIC_URL>/xac-minh/<code>")
        self.verify_base = config["PUBLIC_URL"].rstrip("/") + "/xac-minh/"
        self.font_dir = config.get("CERTIFICATE_FONT_DIR") or None

    def get_dependency(self, worker_ctx):
        return self

    def code(self, certificate):
        return certificates.make_code(self.secret, certificate["serial"], certificates.statement(certificate))

    def verifies(self, code, certificate):
        return certificates.verify(self.secret, code, certificates.statement(certificate))

    def verify_url(self, code):
        return self.verify_base + code


def _by(caller):
    return caller.name or caller.subject


def _counts(rows, statuses):
    return {"rows": len(rows), **{s: sum(1 for r in rows if r["status"] == s) for s in statuses}}


def _certificate_view(certificate):
    return {k: v for k, v in certificate.items() if k != "origin"}


class TrainingService:
    name = "training"

    caller = CallerContext()
    config = Config()
    replica = Replica()
    gateway = RpcProxy("gateway")
    signer = CertificateSigner()
    people = Store(PersonRepository)
    rosters = Store(RosterRepository)
    course_store = Store(CourseRepository)
    certificate_store = Store(CertificateRepository)
    imports = Store(ImportRepository)
    unmatched = Store(UnmatchedRepository)
    leases = Store(LeaseRepository)
    observability = Observability()

    # ------------------------------------------------------------ helpers

    def _scope(self, roles, commune_id):
        caller = self.caller.current().require(*roles)
        return caller, caller.commune_for(commune_id)

    def _profile(self, commune_id):
        profile = self.gateway.commune_profile(commune_id)
        return {"name": profile.get("name") or commune_id,
                "villages": [{"id": v["id"], "name": v["name"]} for v in profile.get("villages") or ()]}

    def _person_out(self, caller, person, history=True):
        """A person as this caller may see them: the one place personal data
        is withheld from callers outside ``PERSONAL_ROLES``."""
        shown = {k: v for k, v in person.items() if k != "rev" and (history or k != "history")}
        return shown if caller.has_any(*PERSONAL_ROLES) else roster.without_personal(shown)

    def _change_person(self, commune_id, person_id, change):
        """Apply ``change`` (person → person) by compare-and-set; returns (was, saved)."""
        for _ in range(ATTEMPTS):
            was = self.people.get(commune_id, person_id)
            saved = self.people.replace(commune_id, was, change(was))
            if saved is not None:
                return was, saved
        raise Conflict(BUSY)

    def _change_course(self, commune_id, course_id, change):
        """Apply ``change`` (course → (course, events, result)) by
        compare-and-set on the course document; returns (saved, result)."""
        for _ in range(ATTEMPTS):
            was = self.course_store.get(commune_id, course_id)
            course, events, result = change(was)
            saved = self.course_store.replace(commune_id, was, course, events)
            if saved is not None:
                return saved, result
        raise Conflict(BUSY)

    def _recount(self, commune_id, villages, actor=None, settings=None, only_if_stale=False):
        """Count the roster and write it with its ``roster_counted`` event;
        ``settings`` (stored document → fields) changes targets in the same
        write. With ``only_if_stale``, nothing is written if the stored count
        is right. Compare-and-set, so a count never overwrites a newer one."""
        for _ in range(ATTEMPTS):
            was = self.rosters.get(commune_id)
            fields = settings(was or {}) if settings else {}
            targets = fields.get("targets", (was or {}).get("targets") or {})
            counted = roster.count(villages, self.people.of_commune(commune_id), targets)
            if only_if_stale and was is not None and was.get("count") == counted:
                return None
            counted_at = iso()
            event = outgoing(SOURCE, "roster_counted", commune_id, actor=actor,
                             **roster.counted_payload(counted, counted_at))
            if self.rosters.put(commune_id, was, dict(fields, count=counted, counted_at=counted_at), [event]):
                return counted
        raise Conflict(BUSY)

    # ------------------------------------------------------------ roster

    @rpc(expected_exceptions=CALLER_ERRORS)
    def roster(self, commune_id=None):
        caller, commune_id = self._scope(READ_ROLES, commune_id)
        profile = self._profile(commune_id)
        stored = self.rosters.get(commune_id) or {}
        view = roster.roster_view(profile["villages"], self.people.of_commune(commune_id), stored.get("targets") or {},
                                  stored.get("zalo") or {}, stored.get("zalo_url"), local_today())

        def shown(people):
            return [self._person_out(caller, p, history=False) for p in people]

        for row in view["villages"]:
            row["people"] = shown(row["people"])
        view["officers"], view["others"] = shown(view["officers"]), shown(view["others"])
        return view

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_person(self, person_id, commune_id=None):
        ref = load_ref(("person_id",), person_id=person_id, commune_id=commune_id)
        caller, commune_id = self._scope(READ_ROLES, ref["commune_id"])
        return self._person_out(caller, self.people.get(commune_id, ref["person_id"]))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_person(self, person, commune_id=None):
        caller, commune_id = self._scope(MANAGE_ROLES, commune_id)
        fields = load(PersonFields, person)
        profile = self._profile(commune_id)
        village_ids = {v["id"] for v in profile["villages"]}
        now = iso()
        if fields["person_id"] is None:
            if fields["status"] not in (None, "active"):
                raise InvalidInput("status: người mới luôn bắt đầu ở trạng thái «đang hoạt động»; "
                                   "đổi trạng thái sau khi lưu.", {"field": "status"})
            roster.check_place(fields, village_ids)
            saved = self.people.add(commune_id, roster.new_person(uuid.uuid4().hex[:12], fields,
                                                                  local_today().isoformat(), _by(caller), now))
            self._recount(commune_id, profile["villages"], caller.subject)
            return self._person_out(caller, saved)

        def change(was):
            if fields["status"] is not None and fields["status"] != was["status"]:
                raise InvalidInput("status: trạng thái không đổi khi sửa thông tin; dùng chức năng đổi trạng thái.",
                                   {"field": "status"})
            if roster.counting_changed(was, fields):
                roster.check_place(fields, village_ids)
            return roster.edited(was, fields, now)

        was, saved = self._change_person(commune_id, fields["person_id"], change)
        if roster.counting_changed(was, saved):
            self._recount(commune_id, profile["villages"], caller.subject)
        return self._person_out(caller, saved)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def set_status(self, person_id, status, since=None, reason="", commune_id=None):
        request = load(SetStatus, {"person_id": person_id, "status": status, "since": since, "reason": reason or "",
                                   "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        today, now = local_today(), iso()
        day = (request["since"] or today).isoformat()
        _, saved = self._change_person(commune_id, request["person_id"], lambda p: roster.with_status(
            p, request["status"], day, request["reason"], _by(caller), today, now))
        self._recount(commune_id, self._profile(commune_id)["villages"], caller.subject)
        return self._person_out(caller, saved)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def replace_person(self, person_id, replacement, since=None, reason="", commune_id=None):
        request = load(ReplaceRequest, {"person_id": person_id, "replacement": replacement, "since": since,
                                        "reason": reason or "", "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        profile = self._profile(commune_id)
        today, now, by = local_today(), iso(), _by(caller)
        day = (request["since"] or today).isoformat()
        given = request["replacement"]
        leaving = self.people.get(commune_id, request["person_id"])
        if given.get("person_id"):
            existing = self.people.get(commune_id, given["person_id"])
        else:
            fields = load(PersonFields, given)
            existing = roster.new_person(uuid.uuid4().hex[:12], dict(fields, village=leaving["village"],
                                                                    role=leaving["role"]), day, by, now)
        # checked once before anything is written, then each side by compare-and-set
        roster.replace(leaving, existing, day, request["reason"], by, today, now)
        _, left = self._change_person(commune_id, leaving["person_id"], lambda p: roster.replace(
            p, existing, day, request["reason"], by, today, now)[0])
        if given.get("person_id"):
            _, taking = self._change_person(commune_id, existing["person_id"], lambda p: roster.replace(
                leaving, p, day, request["reason"], by, today, now)[1])
        else:
            taking = self.people.add(commune_id, roster.replace(leaving, existing, day, request["reason"], by,
                                                                today, now)[1])
        self._recount(commune_id, profile["villages"], caller.subject)
        return {"left": self._person_out(caller, left), "replacement": self._person_out(caller, taking)}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_targets(self, targets, zalo_url=None, commune_id=None):
        request = load(SaveTargets, {"targets": targets, "zalo_url": zalo_url, "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        profile = self._profile(commune_id)
        village_ids = {v["id"] for v in profile["villages"]}

        def settings(stored):
            found, zalo = roster.targets_after(stored.get("targets") or {}, stored.get("zalo") or {},
                                               request["targets"], village_ids)
            link = stored.get("zalo_url") or ""
            if request["zalo_url"] is not None:
                link = roster.check_zalo(request["zalo_url"])
            return {"targets": found, "zalo": zalo, "zalo_url": link}

        return self._recount(commune_id, profile["villages"], caller.subject, settings=settings)["totals"]

    # ------------------------------------------------------------ imports

    def _store_preview(self, caller, commune_id, kind, filename, rows, checked, counts, columns=None):
        import_id = uuid.uuid4().hex[:16]
        preview = {"import_id": import_id, "kind": kind, "filename": filename, "state": "preview", "raw": rows,
                   "rows": checked, "counts": counts, "created_at": iso(), "created_by": _by(caller)}
        if columns is not None:
            preview["columns"] = columns
        self.imports.add(commune_id, preview)
        return import_id

    @rpc(expected_exceptions=CALLER_ERRORS)
    def preview_roster_import(self, filename, data_base64, commune_id=None):
        request = load(ImportFile, {"filename": filename, "data_base64": data_base64, "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        rows = roster_io.read_table(request["filename"], request["data_base64"])
        profile = self._profile(commune_id)
        checked = roster_io.check_rows(rows, profile["villages"], self.people.of_commune(commune_id))
        columns = [{"key": key, "label": label} for key, label in roster_io.COLUMNS
                   if any(r["values"].get(key) for r in rows)]
        counts = _counts(checked, ("ok", "error"))
        import_id = self._store_preview(caller, commune_id, "roster", request["filename"], rows, checked, counts, columns)
        return {"import_id": import_id, "kind": "roster", "rows": checked, "counts": counts, "columns": columns}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def preview_online_import(self, filename, data_base64, commune_id=None):
        request = load(ImportFile, {"filename": filename, "data_base64": data_base64, "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        rows = online.read_completions(request["filename"], request["data_base64"])
        matched = online.match(rows, self.people.of_commune(commune_id))
        counts = _counts(matched, ("matched", "unmatched", "error"))
        import_id = self._store_preview(caller, commune_id, "online", request["filename"], rows, matched, counts)
        shown = [{k: r[k] for k in ("row", "status", "errors", "person_id", "full_name", "course_title", "completed_on")}
                 for r in matched]
        return {"import_id": import_id, "kind": "online", "rows": shown, "counts": counts}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def confirm_import(self, import_id, commune_id=None):
        ref = load_ref(("import_id",), import_id=import_id, commune_id=commune_id)
        caller, commune_id = self._scope(MANAGE_ROLES, ref["commune_id"])
        found = self.imports.get(commune_id, ref["import_id"])
        if found["state"] == "applied":
            raise Conflict("Tệp này đã được áp dụng; không áp dụng lần nữa.", {"import_id": found["import_id"]})
        now = utcnow()
        if found["state"] == "preview" and parse_iso(found["created_at"]) < now - PREVIEW_TTL:
            raise Conflict("Bản xem trước đã quá 24 giờ; hãy tải tệp lên lại.", {"import_id": found["import_id"]})
        if found["kind"] == "roster":
            profile = self._profile(commune_id)
            # checked again: the roster may have changed since the preview
            others = [p for p in self.people.of_commune(commune_id)
                      if not p["person_id"].startswith(found["import_id"] + "-")]
            checked = roster_io.check_rows(found["raw"], profile["villages"], others)
            errors = sum(1 for r in checked if r["status"] == "error")
            if errors:
                raise Conflict(f"Còn {errors} dòng có lỗi; hãy sửa tệp rồi tải lên lại.", {"errors": errors})
        claimed = self.imports.claim(commune_id, found["import_id"], iso(now), iso(now - STALE_APPLYING))
        if claimed is None:
            raise Conflict("Tệp này đã hoặc đang được áp dụng; không áp dụng lần nữa.", {"import_id": found["import_id"]})
        if found["kind"] == "roster":
            return self._apply_roster(caller, commune_id, claimed, checked, profile)
        return self._apply_online(caller, commune_id, claimed)

    def _apply_roster(self, caller, commune_id, claimed, checked, profile):
        today, now, by = local_today().isoformat(), iso(), _by(caller)
        # ids fixed by the import and row: applying again after a crash adds nobody twice
        people = [roster.new_person(f"{claimed['import_id']}-{r['row']}", r["person"], today, by, now,
                                    status=r["person"].get("status") or "active") for r in checked]
        self.people.add_many(commune_id, people)
        self._recount(commune_id, profile["villages"], caller.subject)
        self.imports.finish(commune_id, claimed, {"applied": len(people), "applied_at": now, "applied_by": by}, [])
        return {"applied": len(people), "import_id": claimed["import_id"]}

    def _apply_online(self, caller, commune_id, claimed):
        import_id, now, by = claimed["import_id"], iso(), _by(caller)
        matched = [r for r in claimed["rows"] if r["status"] == "matched"]
        people = self.people.by_ids(commune_id, [r["person_id"] for r in matched])
        commune_name = self._profile(commune_id)["name"]
        events, applied = [], 0
        by_title = {}
        for row in matched:
            if row["person_id"] in people:
                by_title.setdefault(row["course_title"], []).append(row)
        for title, rows in by_title.items():
            course = self._online_course(commune_id, title, now)
            held = self._issue(commune_id, course, [(people[r["person_id"]], r["completed_on"]) for r in rows],
                               "online", commune_name, origin=import_id)
            recorded = [c for c in held.values() if c.get("origin") == import_id]
            applied += len(recorded)
            events += self._completion_events(commune_id, course, recorded, "online", caller.subject)
        pending = [{"row_id": f"{import_id}-{r['row']}", "import_id": import_id, "row": r["row"],
                    "full_name": r["full_name"], "email": r.get("email"), "phone": r.get("phone"),
                    "course_title": r["course_title"], "completed_on": r["completed_on"], "reason": r["errors"],
                    "state": "pending", "imported_at": now} for r in claimed["rows"] if r["status"] == "unmatched"]
        self.unmatched.add_many(commune_id, pending)
        self.imports.finish(commune_id, claimed, {"applied": applied, "pending": len(pending), "applied_at": now,
                                                  "applied_by": by}, events)
        return {"applied": applied, "import_id": import_id, "pending": len(pending)}

    def _online_course(self, commune_id, title, now):
        """The commune's online course of that title (one per title, whoever imports it first)."""
        course_id = "online-" + hashlib.sha256(f"{commune_id}\n{roster_io.name_key(title)}".encode()).hexdigest()[:12]
        fields = {"title": title, "topics": online.topics_for(title), "description": "", "organiser": ONLINE_ORGANISER}
        return self.course_store.add_once(commune_id, courses.new_course(course_id, fields, now, kind="online",
                                                                         state="closed"))

    def _issue(self, commune_id, course, completions, source, commune_name, origin):
        """Certificates for ``completions`` (``[(person, completed_on)]``) of
        a course, issued once per person; returns those held, by person."""
        now = iso()
        issued = []
        for person, completed_on in completions:
            certificate = {"certificate_id": uuid.uuid4().hex[:16], "serial": certificates.new_serial(),
                           "person_id": person["person_id"], "full_name": person["full_name"],
                           "village": person.get("village"), "course_id": course["course_id"],
                           "course_title": course["title"], "topics": list(course["topics"]),
                           "completed_on": completed_on, "commune_id": commune_id, "commune_name": commune_name,
                           "issued_at": now, "source": source, "revoked": None, "origin": origin}
            certificate["code"] = self.signer.code(certificate)
            issued.append(certificate)
        return self.certificate_store.issue(commune_id, course["course_id"], issued) if issued else {}

    @staticmethod
    def _completion_events(commune_id, course, held, source, actor):
        """One ``completions_recorded`` per completion day of the certificates held."""
        by_day = {}
        for certificate in held:
            by_day.setdefault(certificate["completed_on"], []).append(
                {"person_id": certificate["person_id"], "village": certificate.get("village")})
        return [outgoing(SOURCE, "completions_recorded", commune_id, actor=actor, course_id=course["course_id"],
                         course_title=course["title"], topics=list(course["topics"]), source=source,
                         completed_on=day, people=sorted(people, key=lambda p: p["person_id"]))
                for day, people in sorted(by_day.items())]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_unmatched(self, commune_id=None):
        _, commune_id = self._scope(MANAGE_ROLES, commune_id)
        return [{k: r.get(k) for k in ("row_id", "import_id", "full_name", "email", "phone", "course_title",
                                       "completed_on")} for r in self.unmatched.pending(commune_id)]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def match_unmatched(self, row_id, person_id, commune_id=None):
        ref = load_ref(("row_id", "person_id"), row_id=row_id, person_id=person_id, commune_id=commune_id)
        caller, commune_id = self._scope(MANAGE_ROLES, ref["commune_id"])
        row = self.unmatched.get(commune_id, ref["row_id"])
        if row["state"] != "pending":
            raise Conflict("Dòng này đã được ghép với một người.", {"row_id": row["row_id"]})
        person = self.people.get(commune_id, ref["person_id"])
        course = self._online_course(commune_id, row["course_title"], iso())
        held = self._issue(commune_id, course, [(person, row["completed_on"])], "online",
                           self._profile(commune_id)["name"], origin=row["row_id"])
        certificate = held[person["person_id"]]
        recorded = [certificate] if certificate.get("origin") == row["row_id"] else []
        events = self._completion_events(commune_id, course, recorded, "online", caller.subject)
        self.unmatched.matched(commune_id, row["row_id"], {"person_id": person["person_id"], "matched_at": iso(),
                                                           "matched_by": _by(caller)}, events)
        return _certificate_view(certificate)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def export_roster(self, fmt, commune_id=None):
        request = load(ExportRequest, {"fmt": fmt, "commune_id": commune_id})
        _, commune_id = self._scope(PERSONAL_ROLES, request["commune_id"])
        people = sorted(self.people.of_commune(commune_id), key=lambda p: (p.get("village") or "", roster.sort_key(p)))
        filename, content_type, data = roster_io.export(people, self._profile(commune_id)["villages"], request["fmt"])
        return {"filename": filename, "content_type": content_type,
                "data_base64": base64.b64encode(data).decode("ascii")}

    # ------------------------------------------------------------ courses and sessions

    @rpc(expected_exceptions=CALLER_ERRORS)
    def topics(self):
        self.caller.current().require(*READ_ROLES)
        return [{"key": key, "label": label} for key, label in courses.TOPICS.items()]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_courses(self, request=None, commune_id=None):
        query = load(CourseFilter, dict(request or {}, **({"commune_id": commune_id} if commune_id else {})))
        _, commune_id = self._scope(READ_ROLES, query["commune_id"])
        today = local_today()
        found = []
        for course in self.course_store.of_commune(commune_id, query["state"]):
            if query["topic"] and query["topic"] not in course["topics"]:
                continue
            if query["year"] and courses.year_of(course) != query["year"]:
                continue
            found.append(dict(courses.view(course), sessions_count=len(course["sessions"]),
                              next_session=courses.next_session(course, today)))
        return found

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_course(self, course_id, commune_id=None):
        ref = load_ref(("course_id",), course_id=course_id, commune_id=commune_id)
        _, commune_id = self._scope(READ_ROLES, ref["commune_id"])
        course = self.course_store.get(commune_id, ref["course_id"])
        listed = courses.enrolled(course) + courses.waiting_list(course)
        people = self.people.by_ids(commune_id, [e["person_id"] for e in listed])
        enrolments = [dict(courses.enrolment_view(course, e), full_name=people.get(e["person_id"], {}).get("full_name", ""),
                           village=people.get(e["person_id"], {}).get("village")) for e in listed]
        return dict(courses.view(course), sessions=[courses.session_view(s) for s in courses.sessions_by_date(course)],
                    enrolments=enrolments)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_course(self, course, commune_id=None):
        _, commune_id = self._scope(MANAGE_ROLES, commune_id)
        fields = load(CourseFields, course)
        now = iso()
        if fields["course_id"] is None:
            return courses.view(self.course_store.add(commune_id, courses.new_course(uuid.uuid4().hex[:12], fields, now)))
        changes = {k: v for k, v in fields.items() if v is not None}
        saved, _ = self._change_course(commune_id, fields["course_id"],
                                       lambda c: (courses.edited(c, changes, now), [], None))
        return courses.view(saved)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def receive_course(self, course, commune_id=None):
        """A course the province announces (handed over by the sync agent):
        an open in-person course with its sessions, under the rules of
        ``save_course`` and ``save_session``, once per ``external_id`` — its
        id comes from it and the course is written whole in one insert, so a
        second call finds it and creates nothing."""
        _, commune_id = self._scope(MANAGE_ROLES, commune_id)
        data = load(AnnouncedCourse, course)
        course_id = "province-" + hashlib.sha256(f"{commune_id}\n{data['external_id']}".encode()).hexdigest()[:12]
        now = iso()
        announced = dict(courses.new_course(course_id, data, now), external_id=data["external_id"], origin="province")
        for session in data["sessions"]:
            session_id = courses.session_id_for(course_id, uuid.uuid4().hex[:8])
            announced, _ = courses.put_session(announced, {"session_id": session_id, **session}, now)
        saved = self.course_store.add_once(commune_id, announced)
        return dict(courses.view(saved), sessions=[courses.session_view(s) for s in courses.sessions_by_date(saved)])

    def _promotion_events(self, commune_id, course, promoted, freed_by, actor):
        if not promoted:
            return []
        people = self.people.by_ids(commune_id, [e["person_id"] for e in promoted])
        return [outgoing(SOURCE, "enrolment_promoted", commune_id, actor=actor, enrolment_id=e["enrolment_id"],
                         course_id=course["course_id"], course_title=course["title"], person_id=e["person_id"],
                         full_name=people.get(e["person_id"], {}).get("full_name") or e["person_id"], freed_by=freed_by)
                for e in promoted]

    def _course_of(self, item_id, what):
        course_id = courses.course_of(item_id)
        if course_id is None:
            raise NotFound(f"Không có {what} «{item_id}».")
        return course_id

    @rpc(expected_exceptions=CALLER_ERRORS)
    def save_session(self, session, commune_id=None):
        caller, commune_id = self._scope(MANAGE_ROLES, commune_id)
        fields = load(SessionFields, session)
        if fields["session_id"]:
            session_id = fields["session_id"]
            course_id = self._course_of(session_id, "buổi học")
            if fields["course_id"] and fields["course_id"] != course_id:
                raise InvalidInput("course_id: không chuyển được buổi học sang khóa học khác.", {"field": "course_id"})
        else:
            course_id = fields["course_id"]
            session_id = courses.session_id_for(course_id, uuid.uuid4().hex[:8])
        now = iso()

        def change(course):
            if fields["session_id"]:
                courses.get_session(course, session_id)
            data = {"session_id": session_id, **{k: fields[k] for k in courses.SESSION_KEYS}}
            changed, promoted = courses.put_session(course, data, now)
            return changed, self._promotion_events(commune_id, changed, promoted, "session", caller.subject), promoted

        saved, promoted = self._change_course(commune_id, course_id, change)
        return {"session": courses.session_view(saved["sessions"][session_id]),
                "promoted": [courses.enrolment_view(saved, e) for e in promoted]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def delete_session(self, session_id, commune_id=None):
        ref = load_ref(("session_id",), session_id=session_id, commune_id=commune_id)
        caller, commune_id = self._scope(MANAGE_ROLES, ref["commune_id"])
        now = iso()

        def change(course):
            changed, promoted = courses.remove_session(course, ref["session_id"], now)
            return changed, self._promotion_events(commune_id, changed, promoted, "session", caller.subject), promoted

        saved, promoted = self._change_course(commune_id, self._course_of(ref["session_id"], "buổi học"), change)
        return {"deleted": True, "promoted": [courses.enrolment_view(saved, e) for e in promoted]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def enrol(self, course_id, person_id, commune_id=None):
        ref = load_ref(("course_id", "person_id"), course_id=course_id, person_id=person_id, commune_id=commune_id)
        _, commune_id = self._scope(MANAGE_ROLES, ref["commune_id"])
        person = self.people.get(commune_id, ref["person_id"])
        enrolment_id = courses.enrolment_id_for(ref["course_id"], uuid.uuid4().hex[:10])

        def change(course):
            changed, enrolment = courses.enrol(course, enrolment_id, person, iso())
            return changed, [], enrolment

        saved, enrolment = self._change_course(commune_id, ref["course_id"], change)
        return courses.enrolment_view(saved, enrolment)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def cancel_enrolment(self, enrolment_id, reason="", commune_id=None):
        ref = load_ref(("enrolment_id",), enrolment_id=enrolment_id, reason=reason or "", commune_id=commune_id)
        caller, commune_id = self._scope(MANAGE_ROLES, ref["commune_id"])

        def change(course):
            changed, cancelled, promoted = courses.cancel(course, ref["enrolment_id"], ref["reason"], iso())
            events = self._promotion_events(commune_id, changed, promoted, "cancellation", caller.subject)
            return changed, events, (cancelled, promoted)

        saved, (cancelled, promoted) = self._change_course(
            commune_id, self._course_of(ref["enrolment_id"], "lượt ghi danh"), change)
        return {"cancelled": courses.enrolment_view(saved, cancelled),
                "promoted": courses.enrolment_view(saved, promoted[0]) if promoted else None}

    def _sheet(self, commune_id, course, session_id):
        expected = courses.expected(course, courses.get_session(course, session_id))
        people = self.people.by_ids(commune_id, [e["person_id"] for e in expected])
        found = courses.sheet(course, session_id, people)
        return {"session": courses.session_view(found["session"]), "course": courses.view(course),
                "rows": found["rows"], "counts": found["counts"]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def attendance_sheet(self, session_id, commune_id=None):
        ref = load_ref(("session_id",), session_id=session_id, commune_id=commune_id)
        _, commune_id = self._scope(READ_ROLES, ref["commune_id"])
        course = self.course_store.get(commune_id, self._course_of(ref["session_id"], "buổi học"))
        return self._sheet(commune_id, course, ref["session_id"])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def record_attendance(self, session_id, entries, commune_id=None):
        request = load(RecordAttendance, {"session_id": session_id, "entries": entries, "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        names = {pid: p["full_name"] for pid, p in
                 self.people.by_ids(commune_id, [e["person_id"] for e in request["entries"]]).items()}
        now = iso()
        saved, _ = self._change_course(
            commune_id, self._course_of(request["session_id"], "buổi học"),
            lambda c: (courses.record_attendance(c, request["session_id"], request["entries"], names, _by(caller), now),
                       [], None))
        return self._sheet(commune_id, saved, request["session_id"])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def close_course(self, course_id, commune_id=None):
        ref = load_ref(("course_id",), course_id=course_id, commune_id=commune_id)
        caller, commune_id = self._scope(MANAGE_ROLES, ref["commune_id"])
        today, now = local_today(), iso()
        # frozen first: the completions are read from a course nobody changes any more
        frozen, _ = self._change_course(commune_id, ref["course_id"],
                                        lambda c: (courses.closing(c, today, now), [], None))
        results = courses.outcomes(frozen)
        people = self.people.by_ids(commune_id, [r["person_id"] for r in results])
        done = [r for r in results if r["completed"] and r["person_id"] in people]
        held = self._issue(commune_id, frozen, [(people[r["person_id"]], courses.last_day(frozen)) for r in done],
                           "course", self._profile(commune_id)["name"], origin=frozen["course_id"])
        events = self._completion_events(commune_id, frozen, list(held.values()), "course", caller.subject)

        def close(course):
            if course["state"] != "closing":
                raise Conflict(f"Khóa học «{course['title']}» đã kết thúc.", {"state": course["state"]})
            return dict(course, state="closed", closed_at=now, updated_at=now), events, None

        closed, _ = self._change_course(commune_id, ref["course_id"], close)
        return {"course": courses.view(closed),
                "completed": [{"person_id": r["person_id"], "full_name": people[r["person_id"]]["full_name"],
                               "certificate_id": held[r["person_id"]]["certificate_id"],
                               "code": held[r["person_id"]]["code"]} for r in done],
                "not_completed": [{"person_id": r["person_id"],
                                   "full_name": people.get(r["person_id"], {}).get("full_name", ""),
                                   "attended": r["attended"], "expected": r["expected"]}
                                  for r in results if not r["completed"]]}

    # ------------------------------------------------------------ certificates

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_certificates(self, request=None, commune_id=None):
        query = load(CertificateFilter, dict(request or {}, **({"commune_id": commune_id} if commune_id else {})))
        _, commune_id = self._scope(READ_ROLES, query["commune_id"])
        return [_certificate_view(c) for c in
                self.certificate_store.find(commune_id, query["person_id"], query["course_id"])]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def certificate_pdf(self, certificate_id, commune_id=None):
        ref = load_ref(("certificate_id",), certificate_id=certificate_id, commune_id=commune_id)
        _, commune_id = self._scope(READ_ROLES, ref["commune_id"])
        certificate = self.certificate_store.get(commune_id, ref["certificate_id"])
        data = certificates.render_pdf(certificate, self.signer.verify_url(certificate["code"]), self.signer.font_dir)
        return {"filename": f"giay-chung-nhan-{certificate['serial']}.pdf", "content_type": "application/pdf",
                "data_base64": base64.b64encode(data).decode("ascii")}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def revoke_certificate(self, certificate_id, reason, commune_id=None):
        request = load(RevokeRequest, {"certificate_id": certificate_id, "reason": reason, "commune_id": commune_id})
        caller, commune_id = self._scope(MANAGE_ROLES, request["commune_id"])
        revoked = {"at": iso(), "reason": request["reason"].strip(), "by": _by(caller)}
        return _certificate_view(self.certificate_store.revoke(commune_id, request["certificate_id"], revoked))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def verify_certificate(self, code):
        """The public verification page's question: is this code one we
        issued, unaltered, and not revoked? No caller needed; the answer
        holds only what the certificate states."""
        if not isinstance(code, str) or not code.strip() or len(code) > 200:
            return {"valid": False, "reason": "Mã xác minh không đúng định dạng."}
        code = code.strip()
        try:
            serial = certificates.parse_code(code)
        except ValueError:
            return {"valid": False, "reason": "Mã xác minh không đúng định dạng."}
        certificate = self.certificate_store.by_serial(serial)
        if certificate is None or not self.signer.verifies(code, certificate):
            return {"valid": False, "reason": "Không có giấy chứng nhận nào mang mã này: mã bị sai, bị sửa hoặc giả mạo."}
        stated = {k: certificate.get(k) for k in ("code", "full_name", "course_title", "topics", "completed_on",
                                                  "commune_name", "issued_at")}
        revoked = certificate.get("revoked")
        stated["revoked"] = {"at": revoked["at"], "reason": revoked.get("reason", "")} if revoked else None
        if revoked:
            return {"valid": False, "certificate": stated,
                    "reason": f"Giấy chứng nhận đã bị thu hồi ngày {courses.local_day(revoked['at'])}"
                              + (f": {revoked['reason']}" if revoked.get("reason") else ".")}
        return {"valid": True, "certificate": stated}

    # ------------------------------------------------------------ indicators

    @rpc(expected_exceptions=CALLER_ERRORS)
    def indicators(self, start, end, commune_id=None):
        window = load(DayRange, {"start": start, "end": end, "commune_id": commune_id})
        _, commune_id = self._scope(READ_ROLES, window["commune_id"])
        held = self.certificate_store.valid_between(commune_id, window["start"].isoformat(), window["end"].isoformat())
        by_topic = {topic: len({c["person_id"] for c in held if topic in c["topics"]}) for topic in courses.TOPICS}
        stored = self.rosters.get(commune_id) or {}
        counted = roster.count(self._profile(commune_id)["villages"], self.people.of_commune(commune_id),
                               stored.get("targets") or {})
        return {"people_trained": len({c["person_id"] for c in held}), "by_topic": by_topic,
                "roster": counted["totals"]}

    # ------------------------------------------------------------ timer

    @configured_timer("RECOUNT_SECONDS", 3600.0)
    def recount(self):
        """Publish the count of every commune whose stored count is stale (a
        crash between a roster change and its count), and forget expired previews."""
        if not self.leases.acquire("recount", self.replica, utcnow(),
                                   lease_seconds(self.config, "RECOUNT_SECONDS", 3600.0, 60.0)):
            return
        self.caller.act_as(SYSTEM)
        self.imports.delete_expired(iso(utcnow() - PREVIEW_TTL))
        for commune_id in sorted(self.people.communes() | self.rosters.communes()):
            try:
                self._recount(commune_id, self._profile(commune_id)["villages"], only_if_stale=True)
            except Exception:
                log.exception("recounting the roster of %s failed; the next pass retries", commune_id)
