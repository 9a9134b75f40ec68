"""The gateway's training routes (tuyên truyền viên cơ sở, tập huấn): the
JSON API over the training service's RPC (services/training/API.md), the
console's pages (the roster by village with who is missing, a person and
their status, replacement, targets and Zalo groups, roster import and
export; courses, their sessions, enrolment and waiting list, the attendance
sheet, closing a course; online learning imports and the rows still to
match; certificates), the public verification of a certificate, and the
training events of the activity feed.

``TrainingRoutes`` is a mixin of ``GatewayService``, as ``BroadcastRoutes``
is; it uses the service's ``training`` proxy, authentication, layout, form
handling, ``cookies`` and ``_record_activity``. The training service
authorises every call on the caller it receives; the gateway authenticates,
refuses what the caller's roles could never do, scopes the commune and
shapes the request.
"""
from datetime import date
from urllib.parse import quote

from shared.errors import InvalidInput, load
from shared.handlers import event_handler
from shared.timeutil import local_today

from services.gateway import console, domain, files, forms, i18n, schemas, training_views as views
from services.gateway.entrypoints import EXPECTED_EXCEPTIONS, api, form_refusal, page
from services.gateway.errors import UnsupportedMediaType
from services.gateway.web import (
    JSON_MIMETYPE, PUBLIC_CACHE, download, is_multipart, json_response, query, read_json, redirect,
)

# the public verification page's address, printed on every certificate
VERIFY_PATH = "/xac-minh"
COURSE_FILTERS = ("topic", "state", "year")
CERTIFICATE_FILTERS = ("course_id", "person_id")


class TrainingRoutes:

    # --- activity feed, from the training service's events ---------------------------------

    @event_handler("training", "enrolment_promoted")
    def on_enrolment_promoted(self, event):
        self._record_activity("enrolment_promoted", event)

    @event_handler("training", "completions_recorded")
    def on_completions_recorded(self, event):
        self._record_activity("completions_recorded", dict(event, people_count=len(event["people"])))

    # --- HTTP API ------------------------------------------------------------------------------

    def _training_scope(self, request, schema=schemas.CommuneQuerySchema, body=False, roles=domain.READ_ROLES):
        """``(data, commune_id)``: the fields ``schema`` loads from the query
        string or, with ``body``, the JSON body (``commune_id`` taken out),
        and the commune the caller acts on; refused unless the caller holds
        one of ``roles``."""
        caller = self._authenticate(request).caller.require(*roles)
        data = load(schema, read_json(request) if body else query(request))
        return data, caller.commune_for(data.pop("commune_id"))

    def _training_change(self, request, schema, key=None, value=None):
        """A change to the roster or a course (MANAGE_ROLES): the JSON body
        ``schema`` loads, and for a PUT the path's id under ``key`` (the body
        may give it again, not another)."""
        caller = self._authenticate(request).caller.require(*views.MANAGE_ROLES)
        body = read_json(request)
        if key is not None:
            given = body.pop(key, value)
            if given != value:
                raise InvalidInput(f"{key}: mã trong nội dung («{given}») khác mã trên địa chỉ («{value}»).",
                                   {key: given})
        data = load(schema, body)
        commune_id = caller.commune_for(data.pop("commune_id"))
        return (dict(data, **{key: value}) if key is not None else data), commune_id

    @api("GET", "/api/training/roster")
    def training_roster(self, request):
        """The roster by village (personal data only for PERSONAL_ROLES, as the service answers)."""
        _, commune_id = self._training_scope(request)
        return json_response(self.training.roster(commune_id=commune_id))

    @api("GET", "/api/training/people/<person_id>")
    def training_person(self, request, person_id):
        _, commune_id = self._training_scope(request)
        return json_response(self.training.get_person(person_id, commune_id=commune_id))

    @api("POST", "/api/training/people")
    def training_create_person(self, request):
        person, commune_id = self._training_change(request, schemas.PersonSchema)
        return json_response(self.training.save_person(person, commune_id=commune_id), 201)

    @api("PUT", "/api/training/people/<person_id>")
    def training_save_person(self, request, person_id):
        person, commune_id = self._training_change(request, schemas.PersonSchema, "person_id", person_id)
        return json_response(self.training.save_person(person, commune_id=commune_id))

    @api("POST", "/api/training/people/<person_id>/status")
    def training_person_status(self, request, person_id):
        data, commune_id = self._training_change(request, schemas.PersonStatusSchema)
        return json_response(self.training.set_status(person_id, data["status"], since=data["since"],
                                                      reason=data["reason"], commune_id=commune_id))

    @api("POST", "/api/training/people/<person_id>/replace")
    def training_replace_person(self, request, person_id):
        """The person leaves and the replacement takes their village and role: ``{left, replacement}``."""
        data, commune_id = self._training_change(request, schemas.ReplacePersonSchema)
        return json_response(self.training.replace_person(person_id, data["replacement"], since=data["since"],
                                                          reason=data["reason"], commune_id=commune_id))

    @api("PUT", "/api/training/targets")
    def training_targets(self, request):
        data, commune_id = self._training_change(request, schemas.TargetsSchema)
        return json_response(self.training.save_targets(data["targets"], zalo_url=data["zalo_url"],
                                                        commune_id=commune_id))

    def _import_source(self, request):
        """``(filename, data_base64, commune_id)`` of a file to preview: a
        multipart ``file``, or JSON ``{filename, data_base64}``."""
        caller = self._authenticate(request).caller.require(*views.MANAGE_ROLES)
        if is_multipart(request):
            data = load(schemas.CommuneQuerySchema, forms.form_values(request))
            filename, data_base64 = _uploaded_file(request)
        elif request.mimetype == JSON_MIMETYPE:
            data = load(schemas.ImportFileSchema, read_json(request))
            filename = data["filename"]
            data_base64 = views.checked_base64(data["data_base64"], filename)
        else:
            raise UnsupportedMediaType("Dữ liệu gửi lên phải là application/json hoặc multipart/form-data.")
        return filename, data_base64, caller.commune_for(data["commune_id"])

    @api("POST", "/api/training/imports/roster", uploads=True)
    def training_preview_roster_import(self, request):
        """A roster file (CSV or XLSX) checked row by row; nothing changes until it is confirmed."""
        filename, data_base64, commune_id = self._import_source(request)
        return json_response(self.training.preview_roster_import(filename, data_base64, commune_id=commune_id))

    @api("POST", "/api/training/imports/online", uploads=True)
    def training_preview_online_import(self, request):
        """The Ministry's export of completed online courses, each row matched to a person or not."""
        filename, data_base64, commune_id = self._import_source(request)
        return json_response(self.training.preview_online_import(filename, data_base64, commune_id=commune_id))

    @api("POST", "/api/training/imports/<import_id>/confirm")
    def training_confirm_import(self, request, import_id):
        _, commune_id = self._training_change(request, schemas.CommuneQuerySchema)
        return json_response(self.training.confirm_import(import_id, commune_id=commune_id))

    @api("GET", "/api/training/roster/export")
    def training_export_roster(self, request):
        """The roster as a CSV or XLSX file, the columns the import reads (PERSONAL_ROLES)."""
        data, commune_id = self._training_scope(request, schemas.ExportQuerySchema, roles=views.PERSONAL_ROLES)
        return self._roster_file(data["fmt"], commune_id)

    def _roster_file(self, fmt, commune_id):
        answer = self.training.export_roster(fmt, commune_id=commune_id)
        return download(views.file_bytes(answer), answer.get("filename") or f"tuyen-truyen-vien.{fmt}",
                        views.EXPORT_TYPES[fmt])

    @api("GET", "/api/training/topics")
    def training_topics(self, request):
        """The plan's training topics: the same for every commune."""
        self._authenticate(request).caller.require(*domain.READ_ROLES)
        return json_response({"items": self.training.topics()})

    @api("GET", "/api/training/courses")
    def training_courses(self, request):
        filters, commune_id = self._training_scope(request, schemas.CourseQuerySchema)
        return json_response({"items": self.training.list_courses(filters, commune_id=commune_id)})

    @api("POST", "/api/training/courses")
    def training_create_course(self, request):
        course, commune_id = self._training_change(request, schemas.CourseSchema)
        return json_response(self.training.save_course(course, commune_id=commune_id), 201)

    @api("GET", "/api/training/courses/<course_id>")
    def training_course(self, request, course_id):
        _, commune_id = self._training_scope(request)
        return json_response(self.training.get_course(course_id, commune_id=commune_id))

    @api("PUT", "/api/training/courses/<course_id>")
    def training_save_course(self, request, course_id):
        course, commune_id = self._training_change(request, schemas.CourseSchema, "course_id", course_id)
        return json_response(self.training.save_course(course, commune_id=commune_id))

    @api("POST", "/api/training/courses/<course_id>/sessions")
    def training_create_session(self, request, course_id):
        """``{session, promoted}``: places a new session frees go to the waiting list at once."""
        session, commune_id = self._training_change(request, schemas.SessionSchema)
        return json_response(self.training.save_session(dict(session, course_id=course_id),
                                                        commune_id=commune_id), 201)

    @api("PUT", "/api/training/sessions/<session_id>")
    def training_save_session(self, request, session_id):
        session, commune_id = self._training_change(request, schemas.SessionSchema, "session_id", session_id)
        return json_response(self.training.save_session(session, commune_id=commune_id))

    @api("DELETE", "/api/training/sessions/<session_id>")
    def training_delete_session(self, request, session_id):
        _, commune_id = self._training_scope(request, roles=views.MANAGE_ROLES)
        return json_response(self.training.delete_session(session_id, commune_id=commune_id))

    @api("POST", "/api/training/courses/<course_id>/enrolments")
    def training_enrol(self, request, course_id):
        """Enrolled while the course has a place, else on the waiting list."""
        data, commune_id = self._training_change(request, schemas.PersonChoiceSchema)
        return json_response(self.training.enrol(course_id, data["person_id"], commune_id=commune_id), 201)

    @api("POST", "/api/training/enrolments/<enrolment_id>/cancel")
    def training_cancel_enrolment(self, request, enrolment_id):
        data, commune_id = self._training_change(request, schemas.CancelSchema)
        return json_response(self.training.cancel_enrolment(enrolment_id, reason=data["reason"],
                                                            commune_id=commune_id))

    @api("GET", "/api/training/sessions/<session_id>/attendance")
    def training_attendance(self, request, session_id):
        _, commune_id = self._training_scope(request)
        return json_response(self.training.attendance_sheet(session_id, commune_id=commune_id))

    @api("PUT", "/api/training/sessions/<session_id>/attendance")
    def training_record_attendance(self, request, session_id):
        data, commune_id = self._training_change(request, schemas.AttendanceSchema)
        return json_response(self.training.record_attendance(session_id, data["entries"], commune_id=commune_id))

    @api("POST", "/api/training/courses/<course_id>/close")
    def training_close_course(self, request, course_id):
        """Completions and certificates for those whose attendance reached the course's minimum."""
        _, commune_id = self._training_change(request, schemas.CommuneQuerySchema)
        return json_response(self.training.close_course(course_id, commune_id=commune_id))

    @api("GET", "/api/training/unmatched")
    def training_unmatched(self, request):
        _, commune_id = self._training_scope(request)
        return json_response({"items": self.training.list_unmatched(commune_id=commune_id)})

    @api("POST", "/api/training/unmatched/<row_id>/match")
    def training_match_unmatched(self, request, row_id):
        data, commune_id = self._training_change(request, schemas.PersonChoiceSchema)
        return json_response(self.training.match_unmatched(row_id, data["person_id"], commune_id=commune_id))

    @api("GET", "/api/training/certificates")
    def training_certificates(self, request):
        filters, commune_id = self._training_scope(request, schemas.CertificateQuerySchema)
        return json_response({"items": self.training.list_certificates(filters, commune_id=commune_id)})

    @api("GET", "/api/training/certificates/<certificate_id>.pdf")
    def training_certificate_pdf(self, request, certificate_id):
        _, commune_id = self._training_scope(request)
        return self._certificate_pdf(certificate_id, commune_id)

    def _certificate_pdf(self, certificate_id, commune_id):
        answer = self.training.certificate_pdf(certificate_id, commune_id=commune_id)
        return download(views.file_bytes(answer), answer.get("filename") or f"giay-chung-nhan-{certificate_id}.pdf",
                        views.PDF_TYPE, inline=True)

    @api("POST", "/api/training/certificates/<certificate_id>/revoke")
    def training_revoke_certificate(self, request, certificate_id):
        data, commune_id = self._training_change(request, schemas.RevokeCertificateSchema)
        return json_response(self.training.revoke_certificate(certificate_id, data["reason"], commune_id=commune_id))

    @api("GET", "/api/training/indicators")
    def training_indicators(self, request):
        """People trained per topic between two Vietnamese dates (this year to
        today unless given), and the roster's totals."""
        data, commune_id = self._training_scope(request, schemas.IndicatorsQuerySchema)
        start, end = _period(data["start"], data["end"])
        return json_response(self.training.indicators(start, end, commune_id=commune_id))

    # --- public: verifying a certificate (no sign-in, no cookie) -----------------------------

    def _verify(self, code):
        """What the public may know of ``code``: the service's answer cut to
        what the certificate states. A code that cannot be one is answered
        here; the service's refusal of a malformed one is an invalid code."""
        cleaned = views.clean_code(code)
        if cleaned is None:
            return {"valid": False, "reason": "Mã xác minh không đúng dạng."}
        try:
            answer = self.training.verify_certificate(cleaned)
        except EXPECTED_EXCEPTIONS as err:
            refusal = form_refusal(err)
            if refusal.status not in (400, 404):
                raise
            return {"valid": False, "reason": refusal.message}
        return views.public_verification(answer)

    @api("GET", "/api/certificates/verify/<code>")
    def verify_certificate_api(self, request, code):
        """Public: 200 with what a valid certificate states; 410 with what a
        revoked one stated and why; 404 for a code that is none (the reason
        also as an error body)."""
        result = self._verify(code)
        status = views.verification_status(result)
        body = result if status == 200 else dict(result, error="REVOKED" if status == 410 else "NOT_FOUND",
                                                 message=result["reason"] or "Mã xác minh không hợp lệ.")
        return json_response(body, status, headers={"Cache-Control": PUBLIC_CACHE})

    @page("GET", VERIFY_PATH)
    def verify_page(self, request):
        """The form to type a code; its GET submission goes to the code's own address."""
        code = request.args.get("code", "").strip()
        if code:
            return redirect(f"{VERIFY_PATH}/{quote(code, safe='')}")
        return self._verification_page(request, None, None)

    @page("GET", f"{VERIFY_PATH}/<code>")
    def verify_code_page(self, request, code):
        """What the certificate of ``code`` states (200), that it was revoked and why (410), or why the code
        is not valid (404)."""
        return self._verification_page(request, code, self._verify(code))

    def _verification_page(self, request, code, result):
        lang = console.request_language(request)
        topics = {key: i18n.label("training_topic", key, lang) for key in views.TOPICS}
        response = console.render("training_verify.html", request, lang,
                                  status=200 if result is None else views.verification_status(result),
                                  code=code or "", result=result, topic_names=topics, day=views.local_day,
                                  verify_path=VERIFY_PATH)
        response.headers["Cache-Control"] = PUBLIC_CACHE
        response.headers["Vary"] = "Cookie"  # the language switch's cookie chooses the words
        return response

    # --- console ----------------------------------------------------------------------------

    def _training_context(self, request, roles=domain.READ_ROLES):
        """``(identity, commune, lang)`` of a training page, or None while a
        district administrator has not picked a commune."""
        identity, commune = self._page_context(request, roles)
        if commune is None:
            return None
        return identity, commune, console.request_language(request, identity.user)

    def _training_render(self, request, identity, template, commune, lang, section, **context):
        """A roster or training page: its section's navigation, the service's
        codes in the reader's language, and what the reader may do."""
        caller = identity.caller
        active = "roster" if section in ("roster", "targets", "import") else "training"
        return self._render(request, identity, template, active, commune, section=section,
                            can_manage=caller.has_any(*views.MANAGE_ROLES),
                            can_personal=caller.has_any(*views.PERSONAL_ROLES),
                            person_roles=views.PERSON_ROLES, person_statuses=views.PERSON_STATUSES,
                            genders=views.GENDERS, attendance_statuses=views.ATTENDANCE_STATUSES,
                            course_states=views.COURSE_STATES, day=views.local_day, time_range=views.session_time,
                            village_names=_village_names(commune), villages=commune.get("villages", []),
                            **context)

    def _training_link(self, identity, commune, path, *ids, **params):
        return console.link(identity.caller, commune, path.format(*(quote(i, safe="") for i in ids)), **params)

    def _course_link(self, identity, commune, course_id):
        return self._training_link(identity, commune, "/training/courses/{}", course_id)

    def _person_link(self, identity, commune, person_id):
        return self._training_link(identity, commune, "/roster/people/{}", person_id)

    def _topic_names(self, lang):
        return views.topic_labels(self.training.topics(), lang)

    # --- console: the roster ------------------------------------------------------------------

    @page("GET", "/roster")
    def roster_page(self, request):
        """The commune's communicators by village: targets, who is in place or
        on leave, the villages short of people and since when, the Zalo groups."""
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        roster = self.training.roster(commune_id=commune["_id"])
        return self._training_render(request, identity, "training_roster.html", commune, lang, "roster",
                                     roster=roster, sections=views.village_sections(roster),
                                     personal=views.shows_personal(views.roster_people(roster)))

    def _person_form(self, request, identity, commune, lang, values, person=None, error=None):
        return self._training_render(request, identity, "training_person_form.html", commune, lang, "roster",
                                     status=error.status if error else 200, error=error.message if error else None,
                                     values=values, person=person)

    @page("GET", "/roster/people/new")
    def person_new_page(self, request):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        return self._person_form(request, *context, views.person_values(village=request.args.get("village")))

    @page("POST", "/roster/people/new")
    def person_create_submit(self, request):
        return self._save_person(request, None)

    @page("GET", "/roster/people/<person_id>/edit")
    def person_edit_page(self, request, person_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        person = self.training.get_person(person_id, commune_id=commune["_id"])
        return self._person_form(request, identity, commune, lang, views.person_values(person), person)

    @page("POST", "/roster/people/<person_id>/edit")
    def person_save_submit(self, request, person_id):
        return self._save_person(request, person_id)

    def _save_person(self, request, person_id):
        """Save, then to the person; a refusal shows the form again as written."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            person = load(schemas.PersonFieldsSchema, views.person_fields(request.form))
            if person_id:
                person["person_id"] = person_id
            saved = self.training.save_person(person, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            current = self.training.get_person(person_id, commune_id=commune["_id"]) if person_id else None
            values = dict(views.person_values(), **{key: request.form.get(key, "") for key in request.form})
            return self._person_form(request, identity, commune, lang, values, current, form_refusal(err))
        response = redirect(self._person_link(identity, commune, saved["person_id"]))
        self.cookies.set_flash(response, "ok", i18n.t("person.saved" if person_id else "person.created", lang,
                                                      name=saved["full_name"]))
        return response

    @page("GET", "/roster/people/<person_id>")
    def person_page(self, request, person_id):
        """A person: their details (personal ones as the service answers), status and its history, who they replaced."""
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        person = self.training.get_person(person_id, commune_id=commune["_id"])
        linked = {key: self._linked_person(person[key], commune) for key in ("replaces", "replaced_by")
                  if person.get(key)}
        return self._training_render(request, identity, "training_person.html", commune, lang, "roster",
                                     person=person, linked=linked, offers=views.status_offers(person),
                                     replaceable=views.replaceable(person) and person.get("status") != "left",
                                     today=local_today().isoformat())

    def _linked_person(self, person_id, commune):
        """Whom a person replaced or was replaced by; only the id when the service no longer finds them."""
        try:
            return self.training.get_person(person_id, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            form_refusal(err)
            return {"person_id": person_id, "full_name": person_id}

    @page("POST", "/roster/people/<person_id>/status")
    def person_status_submit(self, request, person_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context

        def change():
            data = load(schemas.PersonStatusSchema, forms.form_values(request))
            return self.training.set_status(person_id, data["status"], since=data["since"], reason=data["reason"],
                                            commune_id=commune["_id"])

        return self._after_form(self._person_link(identity, commune, person_id), change, lambda person: i18n.t(
            "person.status_changed", lang, name=person["full_name"],
            status=i18n.label("person_status", person["status"], lang),
            since=views.local_day(person.get("status_since"))))

    def _replace_form(self, request, identity, commune, lang, person, values, error=None):
        people = views.roster_people(self.training.roster(commune_id=commune["_id"]))
        return self._training_render(request, identity, "training_replace.html", commune, lang, "roster",
                                     status=error.status if error else 200, error=error.message if error else None,
                                     person=person, values=values,
                                     candidates=views.replacement_candidates(people, person["person_id"]),
                                     today=local_today().isoformat())

    @page("GET", "/roster/people/<person_id>/replace")
    def person_replace_page(self, request, person_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        person = self.training.get_person(person_id, commune_id=commune["_id"])
        values = dict(views.person_values(), since=local_today().isoformat(), reason="", existing_person_id="")
        return self._replace_form(request, identity, commune, lang, person, values)

    @page("POST", "/roster/people/<person_id>/replace")
    def person_replace_submit(self, request, person_id):
        """The person leaves and someone takes their place; a refusal shows the form again as written."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            data = load(schemas.ReplacePersonSchema, {
                "replacement": views.replacement_fields(request.form),
                "since": request.form.get("since", "").strip() or None,
                "reason": request.form.get("reason", "").strip()})
            result = self.training.replace_person(person_id, data["replacement"], since=data["since"],
                                                  reason=data["reason"], commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            person = self.training.get_person(person_id, commune_id=commune["_id"])
            values = dict(views.person_values(), **{key: request.form.get(key, "") for key in request.form})
            return self._replace_form(request, identity, commune, lang, person, values, form_refusal(err))
        replacement = result["replacement"]
        response = redirect(self._person_link(identity, commune, replacement["person_id"]))
        self.cookies.set_flash(response, "ok", i18n.t(
            "person.replaced", lang, left=result["left"]["full_name"], name=replacement["full_name"],
            since=views.local_day(replacement.get("status_since"))))
        return response

    def _targets_form(self, request, identity, commune, lang, roster, values, error=None):
        return self._training_render(request, identity, "training_targets.html", commune, lang, "targets",
                                     status=error.status if error else 200, error=error.message if error else None,
                                     sections={s.village: s for s in views.village_sections(roster)}, values=values)

    @page("GET", "/roster/targets")
    def targets_page(self, request):
        """Each village's target (định biên) and Zalo group, and the commune's group."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        roster = self.training.roster(commune_id=commune["_id"])
        return self._targets_form(request, identity, commune, lang, roster, views.targets_values(roster))

    @page("POST", "/roster/targets")
    def targets_submit(self, request):
        """Save, then to the roster with how many villages are now short; a refusal shows the form as written."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            data = load(schemas.TargetsSchema, views.targets_request(request.form, commune.get("villages", [])))
            totals = self.training.save_targets(data["targets"], zalo_url=data["zalo_url"], commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            roster = self.training.roster(commune_id=commune["_id"])
            return self._targets_form(request, identity, commune, lang, roster, request.form, form_refusal(err))
        response = redirect(console.link(identity.caller, commune, "/roster"))
        self.cookies.set_flash(response, "ok", i18n.t("targets.saved", lang, target=totals.get("target", 0),
                                                      short=totals.get("villages_short", 0)))
        return response

    # --- console: roster import and export ---------------------------------------------------------

    def _import_page(self, request, identity, commune, lang, kind, error=None):
        section = "import" if kind == "roster" else "online"
        return self._training_render(request, identity, "training_import.html", commune, lang, section, kind=kind,
                                     status=error.status if error else 200, error=error.message if error else None)

    def _preview(self, request, kind):
        """An uploaded file's rows as the import would take them: nothing changes yet."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        preview_rpc = self.training.preview_roster_import if kind == "roster" else self.training.preview_online_import
        try:
            filename, data_base64 = _uploaded_file(request)
            preview = preview_rpc(filename, data_base64, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            return self._import_page(request, identity, commune, lang, kind, form_refusal(err))
        section = "import" if kind == "roster" else "online"
        return self._training_render(request, identity, "training_import_preview.html", commune, lang, section,
                                     kind=kind, preview=preview, filename=filename,
                                     counts=views.row_counts(preview.get("rows") or ()),
                                     confirmable=views.confirmable(preview))

    def _confirm(self, request, import_id, kind):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        done = "/roster" if kind == "roster" else "/training/unmatched"
        back = "/roster/import" if kind == "roster" else "/training/online"
        try:
            result = self.training.confirm_import(import_id, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            response = redirect(console.link(identity.caller, commune, back))
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        response = redirect(console.link(identity.caller, commune, done))
        self.cookies.set_flash(response, "ok", i18n.t(f"import_{kind}.confirmed", lang, count=result.get("applied", 0)))
        return response

    @page("GET", "/roster/import")
    def roster_import_page(self, request):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        return self._import_page(request, *context, "roster")

    @page("POST", "/roster/import", uploads=True)
    def roster_import_submit(self, request):
        return self._preview(request, "roster")

    @page("POST", "/roster/import/<import_id>/confirm")
    def roster_import_confirm(self, request, import_id):
        return self._confirm(request, import_id, "roster")

    @page("GET", "/roster/export/<any(csv, xlsx):fmt>")
    def roster_export(self, request, fmt):
        context = self._training_context(request, views.PERSONAL_ROLES)
        if context is None:
            return redirect("/")
        return self._roster_file(fmt, context[1]["_id"])

    # --- console: courses -----------------------------------------------------------------------

    @page("GET", "/training")
    def courses_page(self, request):
        """The commune's courses (by topic, state, year) and the people trained this year by topic."""
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        filters = {key: value.strip() for key, value in query(request).items() if key in COURSE_FILTERS}
        try:
            wanted = load(schemas.CourseQuerySchema, filters)
            wanted.pop("commune_id")
            courses = self.training.list_courses(wanted, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            courses, error = [], form_refusal(err).message
        else:
            error = None
        start, end = _period(None, None)
        return self._training_render(request, identity, "training_courses.html", commune, lang, "courses",
                                     courses=courses, filters=filters, error=error,
                                     topic_names=self._topic_names(lang),
                                     indicators=self.training.indicators(start, end, commune_id=commune["_id"]),
                                     year=start[:4])

    def _course_form(self, request, identity, commune, lang, values, course=None, error=None):
        return self._training_render(request, identity, "training_course_form.html", commune, lang, "courses",
                                     status=error.status if error else 200, error=error.message if error else None,
                                     values=values, course=course, topic_names=self._topic_names(lang))

    @page("GET", "/training/courses/new")
    def course_new_page(self, request):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        return self._course_form(request, *context, views.course_values())

    @page("POST", "/training/courses/new")
    def course_create_submit(self, request):
        return self._save_course(request, None)

    @page("GET", "/training/courses/<course_id>/edit")
    def course_edit_page(self, request, course_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        course = self.training.get_course(course_id, commune_id=commune["_id"])
        return self._course_form(request, identity, commune, lang, views.course_values(course), course)

    @page("POST", "/training/courses/<course_id>/edit")
    def course_save_submit(self, request, course_id):
        return self._save_course(request, course_id)

    def _save_course(self, request, course_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            course = load(schemas.CourseSchema, views.course_fields(request.form))
            course.pop("commune_id")
            if course_id:
                course["course_id"] = course_id
            saved = self.training.save_course(course, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            current = self.training.get_course(course_id, commune_id=commune["_id"]) if course_id else None
            values = dict(views.course_values(), **{key: request.form.get(key, "") for key in request.form},
                          topics=request.form.getlist("topics"))
            return self._course_form(request, identity, commune, lang, values, current, form_refusal(err))
        response = redirect(self._course_link(identity, commune, saved["course_id"]))
        self.cookies.set_flash(response, "ok", i18n.t("course.saved", lang, title=saved["title"]))
        return response

    @page("GET", "/training/courses/<course_id>")
    def course_page(self, request, course_id):
        """A course: topics, sessions, places, the enrolled and the waiting
        list, the enrol form, and the certificates issued."""
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        course = self.training.get_course(course_id, commune_id=commune["_id"])
        enrolled, waiting = views.enrolment_lists(course)
        can_manage = identity.caller.has_any(*views.MANAGE_ROLES)
        offered = []
        if can_manage and course.get("state") == "open" and course.get("kind") != "online":
            people = views.roster_people(self.training.roster(commune_id=commune["_id"]))
            offered = views.enrol_options(people, course.get("enrolments"))
        certificates = self.training.list_certificates({"course_id": course_id}, commune_id=commune["_id"])
        return self._training_render(request, identity, "training_course.html", commune, lang, "courses",
                                     course=course, enrolled=enrolled, waiting=waiting, offered=offered,
                                     certificates=certificates, topic_names=self._topic_names(lang))

    def _course_step(self, request, course_id, action, success):
        """A form of the course page: ``action(commune)`` makes the change; back on the course with the outcome."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        return self._after_form(self._course_link(identity, commune, course_id), lambda: action(commune),
                                lambda result: success(result, lang))

    @page("POST", "/training/courses/<course_id>/enrol")
    def course_enrol_submit(self, request, course_id):
        def enrol(commune):
            data = load(schemas.PersonChoiceSchema, forms.form_values(request))
            enrolment = self.training.enrol(course_id, data["person_id"], commune_id=commune["_id"])
            return enrolment, self._names_of([enrolment], commune)

        def done(result, lang):
            enrolment, (name,) = result
            if enrolment.get("state") == "waitlisted":
                return i18n.t("enrol.waitlisted", lang, name=name, position=enrolment.get("position") or "?")
            return i18n.t("enrol.enrolled", lang, name=name)

        return self._course_step(request, course_id, enrol, done)

    def _names_of(self, enrolments, commune):
        """The names of the people of ``enrolments``: an enrolment the service
        answers after a change may not carry the person's name."""
        return [enrolment.get("full_name") or self._linked_person(enrolment["person_id"], commune)["full_name"]
                for enrolment in enrolments]

    @page("POST", "/training/courses/<course_id>/enrolments/<enrolment_id>/cancel")
    def enrolment_cancel_submit(self, request, course_id, enrolment_id):
        def cancel(commune):
            data = load(schemas.CancelSchema, {"reason": request.form.get("reason", "").strip()})
            result = self.training.cancel_enrolment(enrolment_id, reason=data["reason"], commune_id=commune["_id"])
            return result, self._names_of([result["promoted"]] if result.get("promoted") else [], commune)

        def done(result, lang):
            message = i18n.t("enrol.cancelled", lang, name=request.form.get("name") or "")
            for name in result[1]:
                message += " " + i18n.t("enrol.promoted", lang, name=name)
            return message

        return self._course_step(request, course_id, cancel, done)

    @page("POST", "/training/courses/<course_id>/close")
    def course_close_submit(self, request, course_id):
        """Close the course: the page lists who completed (with certificates) and who did not."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            result = self.training.close_course(course_id, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            response = redirect(self._course_link(identity, commune, course_id))
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        return self._training_render(request, identity, "training_closed.html", commune, lang, "courses",
                                     course=result["course"], completed=result.get("completed") or [],
                                     not_completed=result.get("not_completed") or [])

    # --- console: sessions and attendance -----------------------------------------------------

    def _session_form(self, request, identity, commune, lang, course, values, session=None, error=None):
        return self._training_render(request, identity, "training_session_form.html", commune, lang, "courses",
                                     status=error.status if error else 200, error=error.message if error else None,
                                     course=course, values=values, session=session)

    @page("GET", "/training/courses/<course_id>/sessions/new")
    def session_new_page(self, request, course_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        course = self.training.get_course(course_id, commune_id=commune["_id"])
        return self._session_form(request, identity, commune, lang, course, views.session_values())

    @page("GET", "/training/courses/<course_id>/sessions/<session_id>/edit")
    def session_edit_page(self, request, course_id, session_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        course = self.training.get_course(course_id, commune_id=commune["_id"])
        session = views.find_session(course, session_id)
        return self._session_form(request, identity, commune, lang, course, views.session_values(session), session)

    @page("POST", "/training/courses/<course_id>/sessions/new")
    def session_create_submit(self, request, course_id):
        return self._save_session(request, course_id, None)

    @page("POST", "/training/courses/<course_id>/sessions/<session_id>/edit")
    def session_save_submit(self, request, course_id, session_id):
        return self._save_session(request, course_id, session_id)

    def _save_session(self, request, course_id, session_id):
        """Save, then to the course with who the new places went to; a refusal
        (a capacity below those enrolled) shows the form again as written."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            session = load(schemas.SessionSchema, views.session_fields(request.form))
            session.pop("commune_id")
            session.update({"course_id": course_id, **({"session_id": session_id} if session_id else {})})
            result = self.training.save_session(session, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            course = self.training.get_course(course_id, commune_id=commune["_id"])
            current = views.find_session(course, session_id) if session_id else None
            values = dict(views.session_values(), **{key: request.form.get(key, "") for key in request.form})
            return self._session_form(request, identity, commune, lang, course, values, current, form_refusal(err))
        saved = result["session"]
        message = i18n.t("session.saved", lang, date=views.local_day(saved["date"]), time=views.session_time(saved))
        promoted = self._names_of(result.get("promoted") or [], commune)
        if promoted:
            message += " " + i18n.t("session.promoted", lang, count=len(promoted), names=", ".join(promoted))
        response = redirect(self._course_link(identity, commune, course_id))
        self.cookies.set_flash(response, "ok", message)
        return response

    @page("POST", "/training/courses/<course_id>/sessions/<session_id>/delete")
    def session_delete_submit(self, request, course_id, session_id):
        def delete(commune):
            result = self.training.delete_session(session_id, commune_id=commune["_id"])
            return self._names_of(result.get("promoted") or [], commune)

        def done(promoted, lang):
            message = i18n.t("session.deleted", lang)
            if promoted:
                message += " " + i18n.t("session.promoted", lang, count=len(promoted), names=", ".join(promoted))
            return message

        return self._course_step(request, course_id, delete, done)

    def _attendance_page(self, request, identity, commune, lang, sheet, form=None, error=None):
        return self._training_render(request, identity, "training_attendance.html", commune, lang, "courses",
                                     status=error.status if error else 200, error=error.message if error else None,
                                     sheet=sheet, rows=views.attendance_rows(sheet.get("rows") or (), form),
                                     summary=views.attendance_summary(sheet.get("counts") or {}))

    @page("GET", "/training/sessions/<session_id>/attendance")
    def attendance_page(self, request, session_id):
        """The attendance sheet of a session, made for a phone: one row per person expected."""
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        sheet = self.training.attendance_sheet(session_id, commune_id=commune["_id"])
        return self._attendance_page(request, identity, commune, lang, sheet)

    @page("POST", "/training/sessions/<session_id>/attendance")
    def attendance_submit(self, request, session_id):
        """Record the sheet; a refusal shows it again as marked, so nothing has to be marked twice."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            data = load(schemas.AttendanceSchema, {"entries": views.attendance_entries(request.form)})
            sheet = self.training.record_attendance(session_id, data["entries"], commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            sheet = self.training.attendance_sheet(session_id, commune_id=commune["_id"])
            return self._attendance_page(request, identity, commune, lang, sheet, request.form, form_refusal(err))
        counts = sheet.get("counts") or {}
        response = redirect(self._training_link(identity, commune, "/training/sessions/{}/attendance", session_id))
        self.cookies.set_flash(response, "ok", i18n.t("attendance.saved", lang, **{
            status: counts.get(status, 0) for status in views.ATTENDANCE_STATUSES + ("not_taken",)}))
        return response

    # --- console: online learning, unmatched rows, certificates -------------------------------

    @page("GET", "/training/online")
    def online_import_page(self, request):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        return self._import_page(request, *context, "online")

    @page("POST", "/training/online", uploads=True)
    def online_import_submit(self, request):
        return self._preview(request, "online")

    @page("POST", "/training/online/<import_id>/confirm")
    def online_import_confirm(self, request, import_id):
        return self._confirm(request, import_id, "online")

    @page("GET", "/training/unmatched")
    def unmatched_page(self, request):
        """Online completions no person was found for: the officer picks the person of each."""
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        rows = self.training.list_unmatched(commune_id=commune["_id"])
        people = views.enrol_options(views.roster_people(self.training.roster(commune_id=commune["_id"])), ())
        return self._training_render(request, identity, "training_unmatched.html", commune, lang, "unmatched",
                                     rows=[dict(row, suggested=views.suggested_person(row, people)) for row in rows],
                                     people=people)

    @page("POST", "/training/unmatched/<row_id>/match")
    def unmatched_match_submit(self, request, row_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context

        def match():
            data = load(schemas.PersonChoiceSchema, {"person_id": request.form.get("person_id", "")})
            return self.training.match_unmatched(row_id, data["person_id"], commune_id=commune["_id"])

        return self._after_form(console.link(identity.caller, commune, "/training/unmatched"), match,
                                lambda result: i18n.t("unmatched.matched", lang, name=request.form.get("name") or ""))

    @page("GET", "/training/certificates")
    def certificates_page(self, request):
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        filters = {key: value.strip() for key, value in query(request).items() if key in CERTIFICATE_FILTERS}
        certificates = self.training.list_certificates(filters, commune_id=commune["_id"])
        return self._training_render(request, identity, "training_certificates.html", commune, lang, "certificates",
                                     certificates=certificates, filters=filters, topic_names=self._topic_names(lang))

    @page("GET", "/training/certificates/<certificate_id>.pdf")
    def certificate_pdf_page(self, request, certificate_id):
        context = self._training_context(request)
        if context is None:
            return redirect("/")
        return self._certificate_pdf(certificate_id, context[1]["_id"])

    @page("POST", "/training/certificates/<certificate_id>/revoke")
    def certificate_revoke_submit(self, request, certificate_id):
        context = self._training_context(request, views.MANAGE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context

        def revoke():
            data = load(schemas.RevokeCertificateSchema, forms.form_values(request))
            return self.training.revoke_certificate(certificate_id, data["reason"], commune_id=commune["_id"])

        return self._after_form(console.link(identity.caller, commune, "/training/certificates"), revoke,
                                lambda certificate: i18n.t("certificates.revoked_flash", lang,
                                                           name=certificate.get("full_name") or "",
                                                           code=certificate.get("code") or ""))


def _uploaded_file(request):
    """``(filename, data_base64)`` of the one file of a multipart form's ``file`` part, within 2 MB."""
    if not is_multipart(request):
        raise UnsupportedMediaType("Tệp gửi lên dưới dạng multipart/form-data (trường «file»).")
    chosen = files.chosen_files(request, "file")
    if len(chosen) != 1:
        raise InvalidInput("Hãy chọn một tệp (CSV hoặc XLSX) để nhập." if not chosen
                           else "Mỗi lần chỉ nhập một tệp.", {"files": len(chosen)})
    content = files.read_file(chosen[0], views.MAX_IMPORT_BYTES)
    return files.file_name(chosen[0]), files.b64(content)


def _period(start, end):
    """A period of Vietnamese dates: from the first of this year to today unless given."""
    today = local_today()
    return start or date(today.year, 1, 1).isoformat(), end or today.isoformat()


def _village_names(commune):
    return {village["id"]: village["name"] for village in commune.get("villages", ())}

