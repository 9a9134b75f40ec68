"""The gateway (cổng): the HTTP JSON API and web console for people and
machines, the tenancy data (communes, users, API keys), and the activity
feed built from other services' events.

Every request is authenticated here (session cookie or API key) and the
caller is put into the nameko context data before other services are called,
so they authorise on it. Errors become replies in ``entrypoints``.
"""
import logging
import math
import secrets
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlencode

from eventlet import tpool
from eventlet.semaphore import Semaphore
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from shared.context import Caller, CallerContext
from shared.errors import CALLER_ERRORS, InvalidInput, NotFound, Unauthenticated, load
from shared.handlers import event_handler
from shared.mongo import Store
from shared.observability import Observability
from shared.timeutil import iso, local_today, utcnow

from services.gateway import auth, console, domain, files, forms, i18n, schemas
from services.gateway.cookies import CookieJar
from services.gateway.entrypoints import EXPECTED_EXCEPTIONS, api, describe, page
from services.gateway.errors import CsrfRejected, RateLimited
from services.gateway.openapi import DOCUMENT
from services.gateway.repository import (
    ActivityRepository, ApiKeyRepository, CommuneRepository, LoginAttemptRepository, UserRepository,
)
from services.gateway.rpc import TimedRpcProxy
from services.gateway.web import json_response, query, read_json, redirect, safe_next

log = logging.getLogger(__name__)

TASKS_PAGE_SIZE = 50
OVERVIEW_ACTIVITY = 10
TASK_LIST_FILTERS = ("plan_id", "status", "part", "agency", "agency_id", "due", "q")
# argon2 costs ~0.1–0.2 s of CPU and 64 MiB per check: run it off the event
# loop (so other requests go on), at most two at a time (so memory stays bounded).
_password_checks = Semaphore(2)


def _off_loop(function, *args):
    with _password_checks:
        return tpool.execute(function, *args)


@dataclass(frozen=True)
class Identity:
    """Who made a request: the caller, and for a person their user record and
    the session's CSRF token (None for an API key)."""

    caller: Caller
    user: dict | None = None
    csrf_token: str | None = None


class GatewayService:
    name = "gateway"

    caller = CallerContext()
    config = Config()
    cookies = CookieJar()
    tasks = TimedRpcProxy("tasks")
    communes = Store(CommuneRepository)
    users = Store(UserRepository)
    api_keys = Store(ApiKeyRepository)
    login_attempts = Store(LoginAttemptRepository)
    activity = Store(ActivityRepository)
    observability = Observability()

    # --- authentication ---------------------------------------------------

    def _authenticate(self, request, allow_api_key=True):
        """The request's identity, which calls to other services then carry.

        An API key, when present, decides alone (a bad key is refused, not
        replaced by a cookie). A session must belong to an active user, and a
        write on a session must echo its CSRF token.
        """
        key = auth.presented_api_key(request.headers) if allow_api_key else None
        if key is not None:
            record = self.api_keys.active_by_hash(auth.hash_api_key(key))
            if record is None:
                raise Unauthenticated("Khóa API không hợp lệ hoặc đã bị thu hồi.")
            identity = Identity(auth.api_key_caller(record))
        else:
            session = self.cookies.session(request)
            user = self.users.active(session.user_id) if session else None
            if user is None:
                raise Unauthenticated("Bạn chưa đăng nhập hoặc phiên đăng nhập đã hết hạn.")
            _check_csrf(request, session)
            identity = Identity(auth.user_caller(user), user, session.csrf_token)
        self.caller.act_as(identity.caller)
        return identity

    def _log_in(self, request, username, password):
        """The user whose password this is, or an error; failures are counted
        per (username, client address) and a sixth one in 15 minutes is refused."""
        username = auth.normalise_username(username)
        ip = auth.client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"),
                            int(self.config.get("GATEWAY_TRUSTED_PROXIES", 0) or 0))
        key = auth.attempt_key(username, ip)
        now = utcnow()
        window_start = iso(now - auth.LOGIN_WINDOW)
        retry_after = auth.login_retry_after(self.login_attempts.failures_since(key, window_start), now)
        if retry_after:
            raise RateLimited(
                f"Bạn đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {math.ceil(retry_after / 60)} phút.",
                {"retry_after": retry_after},
            )
        user = self.users.by_username(username)
        matches = _off_loop(auth.verify_password, user["password_hash"] if user else None, password)
        if not matches or not user.get("active", True):
            self.login_attempts.record_failure(key, iso(now), domain.new_id(), window_start)
            raise Unauthenticated("Tên đăng nhập hoặc mật khẩu không đúng.")
        self.login_attempts.clear(key)
        if auth.needs_rehash(user["password_hash"]):
            self.users.set_password_hash(user["_id"], _off_loop(auth.hash_password, password))
        return user

    def _actor_name(self, actor):
        if not actor:
            return None
        if actor.startswith("apikey:"):
            return self.api_keys.name(actor.split(":", 1)[1])
        return self.users.display_name(actor)

    def _create_api_key(self, caller, data):
        commune_id = caller.commune_for(data["commune_id"])
        self.communes.get(commune_id)
        key = auth.new_api_key()
        record = self.api_keys.add(domain.new_api_key_record(
            commune_id, data["name"], data["roles"], auth.hash_api_key(key), caller.subject))
        return {"api_key": domain.public_api_key(record), "key": key}

    # --- RPC for district tools and the seed script -------------------------

    @rpc(expected_exceptions=CALLER_ERRORS)
    def ensure_commune(self, commune):
        """Create or update a commune with its villages and agencies (idempotent)."""
        self.caller.current().require(domain.DISTRICT_ADMIN)
        data = load(schemas.CommuneSchema, commune)
        created = self.communes.ensure(data)
        return {"created": created, "commune": domain.public_commune(self.communes.get(data["id"]))}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def ensure_user(self, user):
        """Create an account with a generated password (returned this once),
        or update an existing one's name, commune, roles and state."""
        self.caller.current().require(domain.DISTRICT_ADMIN)
        data = load(schemas.EnsureUserSchema, user)
        domain.check_user_scope(data["roles"], data["commune_id"])
        commune = self.communes.get(data["commune_id"]) if data["commune_id"] else None
        domain.check_agency(commune, data.get("agency_id"))
        existing = self.users.by_username(data["username"])
        if existing:
            self.users.update_profile(data["username"], domain.profile_update(existing, data))
            return {"created": False, "password": None,
                    "user": domain.public_user(self.users.by_username(data["username"]))}
        password = auth.generate_password()
        created = self.users.add(domain.new_user(data, _off_loop(auth.hash_password, password)))
        return {"created": True, "password": password, "user": domain.public_user(created)}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def create_api_key(self, commune_id, name, roles):
        """A new API key for a commune's machine; the key is returned this once."""
        caller = self.caller.current().require(domain.DISTRICT_ADMIN)
        data = load(schemas.CreateApiKeySchema, {"commune_id": commune_id, "name": name, "roles": roles})
        return self._create_api_key(caller, data)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_agencies(self, commune_id=None):
        """A commune's agency registry (cơ quan), ``[{id, name, aliases}]``:
        the tasks service matches a plan's agency names against it."""
        caller = self.caller.current().require(*domain.READ_ROLES)
        return self.communes.get(caller.commune_for(commune_id)).get("agencies", [])

    # --- activity feed, from other services' events --------------------------

    @event_handler("tasks", "task_status_changed")
    def on_task_status_changed(self, event):
        self.activity.record(domain.activity_entry("task_status_changed", event, self._actor_name(event.get("actor"))))

    @event_handler("tasks", "plan_imported")
    def on_plan_imported(self, event):
        self.activity.record(domain.activity_entry("plan_imported", event, self._actor_name(event.get("actor"))))

    @event_handler("tasks", "task_overdue")
    def on_task_overdue(self, event):
        self.activity.record(domain.activity_entry("task_overdue", event, self._actor_name(event.get("actor"))))

    @event_handler("tasks", "task_due_soon")
    def on_task_due_soon(self, event):
        self.activity.record(domain.activity_entry("task_due_soon", event, self._actor_name(event.get("actor"))))

    @event_handler("tasks", "task_progress_reported")
    def on_task_progress_reported(self, event):
        self.activity.record(domain.activity_entry("task_progress_reported", event,
                                                   self._actor_name(event.get("actor"))))

    # --- HTTP API -------------------------------------------------------------

    @api("GET", "/healthz")
    def healthz(self, request):
        """The probe of the public port: says what failed, not why (that is logged)."""
        try:
            self.communes.ping()
        except Exception:  # reported to the probe, not raised
            log.warning("health check: MongoDB does not answer", exc_info=True)
            return json_response({"status": "fail", "checks": {"mongo": "fail"}}, 503)
        return json_response({"status": "ok", "checks": {"mongo": "ok"}})

    @api("GET", "/api/openapi.json")
    def openapi(self, request):
        return json_response(DOCUMENT)

    @api("POST", "/api/auth/login")
    def api_login(self, request):
        data = load(schemas.LoginSchema, read_json(request))
        user = self._log_in(request, data["username"], data["password"])
        session = self.cookies.new_session(user["_id"])
        response = json_response({"user": domain.public_user(user), "csrf_token": session.csrf_token})
        self.cookies.set_session(response, session)
        return response

    @api("POST", "/api/auth/logout")
    def api_logout(self, request):
        session = self.cookies.session(request)
        if session is not None:
            _check_csrf(request, session)
        response = Response(status=204)
        self.cookies.end_session(response)
        return response

    @api("GET", "/api/me")
    def me(self, request):
        identity = self._authenticate(request)
        return json_response({
            "caller": domain.caller_json(identity.caller),
            "user": domain.public_user(identity.user) if identity.user else None,
            "csrf_token": identity.csrf_token,
        })

    @api("GET", "/api/communes")
    def list_communes(self, request):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        communes = self.communes.list(None if caller.is_district else caller.commune_for())
        return json_response({"items": [domain.public_commune(c) for c in communes]})

    @api("GET", "/api/communes/<commune_id>")
    def get_commune(self, request, commune_id):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        return json_response(domain.public_commune(self.communes.get(caller.commune_for(commune_id))))

    @api("POST", "/api/users")
    def create_user(self, request):
        caller = self._authenticate(request).caller.require(*domain.ADMIN_ROLES)
        data = load(schemas.CreateUserSchema, read_json(request))
        domain.check_grant(caller, data["roles"])
        if domain.DISTRICT_ADMIN in data["roles"]:
            domain.check_user_scope(data["roles"], data["commune_id"])
            domain.check_agency(None, data["agency_id"])
        else:
            data["commune_id"] = caller.commune_for(data["commune_id"])
            domain.check_agency(self.communes.get(data["commune_id"]), data["agency_id"])
        user = self.users.add(domain.new_user(data, _off_loop(auth.hash_password, data["password"])))
        return json_response({"user": domain.public_user(user)}, 201)

    @api("GET", "/api/users")
    def list_users(self, request):
        """The commune's active accounts, of one agency with ``agency_id``
        (the assignee picker offers the lead agency's people)."""
        caller = self._authenticate(request).caller.require(*domain.ADMIN_ROLES)
        data = load(schemas.UserQuerySchema, query(request))
        commune = self.communes.get(caller.commune_for(data["commune_id"]))
        domain.check_agency(commune, data["agency_id"])
        users = self.users.of_commune(commune["_id"], data["agency_id"])
        return json_response({"items": [domain.public_user(user) for user in users]})

    @api("POST", "/api/api-keys")
    def create_api_key_http(self, request):
        caller = self._authenticate(request).caller.require(*domain.ADMIN_ROLES)
        data = load(schemas.CreateApiKeySchema, read_json(request))
        return json_response(self._create_api_key(caller, data), 201)

    @api("GET", "/api/plans")
    def list_plans(self, request):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        return json_response({"items": self.tasks.list_plans(caller.commune_for(data["commune_id"]))})

    @api("GET", "/api/plans/<plan_id>")
    def get_plan(self, request, plan_id):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        return json_response(self.tasks.get_plan(plan_id, caller.commune_for(data["commune_id"])))

    @api("POST", "/api/plans/preview", uploads=True)
    def preview_plan_import(self, request):
        """What importing a plan would do (tasks, problems, changes); writes nothing."""
        caller = self._authenticate(request).caller.require(*domain.PLAN_IMPORT_ROLES)
        source = forms.plan_source(request)
        preview = self.tasks.preview_import(dict(source, commune_id=caller.commune_for(source["commune_id"])))
        return json_response(preview)

    @api("POST", "/api/plans/import", uploads=True)
    def import_plan(self, request):
        caller = self._authenticate(request).caller.require(*domain.PLAN_IMPORT_ROLES)
        source = forms.plan_source(request)
        plan = self.tasks.import_plan(dict(source, commune_id=caller.commune_for(source["commune_id"])))
        return json_response(plan, 201)

    @api("GET", "/api/plans/<plan_id>/report-periods")
    def report_periods(self, request, plan_id):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        return json_response({"items": self.tasks.report_periods(plan_id, caller.commune_for(data["commune_id"]))})

    @api("GET", "/api/plans/<plan_id>/report")
    def download_report(self, request, plan_id):
        """The plan's implementation report for a period, as a DOCX or XLSX attachment."""
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        options = load(schemas.ReportQuerySchema, query(request))
        commune = self.communes.get(caller.commune_for(options["commune_id"]))
        return files.report_download(self.tasks.generate_report(forms.report_request(plan_id, options, commune)))

    @api("GET", "/api/indicators")
    def indicators(self, request):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.IndicatorsQuerySchema, query(request))
        return json_response({"items": self.tasks.get_indicators(
            dict(data, commune_id=caller.commune_for(data["commune_id"])))})

    @api("GET", "/api/tasks")
    def list_tasks(self, request):
        """Filters go to the tasks service as given (it validates them)."""
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        filters = query(request)
        filters["commune_id"] = caller.commune_for(filters.get("commune_id"))
        return json_response(self.tasks.list_tasks(filters))

    @api("GET", "/api/tasks/<task_id>")
    def get_task(self, request, task_id):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        return json_response(self.tasks.get_task(task_id, caller.commune_for(data["commune_id"])))

    @api("POST", "/api/tasks/<task_id>/status")
    def change_task_status(self, request, task_id):
        caller = self._authenticate(request).caller.require(*domain.TASK_EDIT_ROLES)
        data = load(schemas.StatusChangeSchema, read_json(request))
        return json_response(self.tasks.change_status(dict(
            data, task_id=task_id, commune_id=caller.commune_for(data["commune_id"]))))

    @api("POST", "/api/tasks/<task_id>/guidance")
    def record_guidance(self, request, task_id):
        """The guidance a conditional task waited for has arrived; it gets a due date."""
        caller = self._authenticate(request).caller.require(*domain.TASK_EDIT_ROLES)
        data = load(schemas.GuidanceSchema, read_json(request))
        return json_response(self.tasks.record_guidance(dict(
            data, task_id=task_id, commune_id=caller.commune_for(data["commune_id"]))))

    @api("POST", "/api/tasks/<task_id>/updates", uploads=True)
    def add_task_update(self, request, task_id):
        """A progress report with evidence: links, and files as multipart parts."""
        caller = self._authenticate(request).caller.require(*domain.TASK_REPORT_ROLES)
        data = forms.progress_update(request)
        return json_response(self.tasks.add_update(dict(
            data, task_id=task_id, commune_id=caller.commune_for(data["commune_id"]))), 201)

    @api("GET", "/api/tasks/<task_id>/evidence/<file_id>")
    def task_evidence(self, request, task_id, file_id):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        evidence = self.tasks.get_evidence(task_id, file_id, caller.commune_for(data["commune_id"]))
        return files.evidence_download(evidence)

    @api("POST", "/api/tasks/<task_id>/comments")
    def add_task_comment(self, request, task_id):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommentSchema, read_json(request))
        return json_response(self.tasks.add_comment(dict(
            data, task_id=task_id, commune_id=caller.commune_for(data["commune_id"]))), 201)

    @api("POST", "/api/tasks/<task_id>/assignees")
    def assign_task(self, request, task_id):
        """Give a task to people of its lead agency (their names come from the accounts)."""
        caller = self._authenticate(request).caller.require(*domain.ASSIGN_ROLES)
        data = load(schemas.AssigneesSchema, read_json(request))
        return json_response(self._assign(task_id, caller.commune_for(data["commune_id"]), data["user_ids"]))

    def _assign(self, task_id, commune_id, user_ids):
        task = self.tasks.get_task(task_id, commune_id)
        chosen = domain.assignees(task, user_ids, self.users.of_commune(commune_id))
        return self.tasks.assign({"task_id": task_id, "assignees": chosen, "commune_id": commune_id})

    @api("GET", "/api/agencies/<agency_id>/tasks")
    def agency_tasks(self, request, agency_id):
        """What an agency leads, and what of it is late or due soon."""
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        commune = self.communes.get(caller.commune_for(data["commune_id"]))
        agency = domain.agency(commune, agency_id)
        return json_response(self.tasks.agency_view(agency["id"], commune["_id"]))

    @api("GET", "/api/activity")
    def list_activity(self, request):
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.ActivityQuerySchema, query(request))
        entries = self.activity.recent(caller.commune_for(data["commune_id"]), data["limit"])
        return json_response({"items": [domain.public_activity(e) for e in entries]})

    # --- console --------------------------------------------------------------

    def _console_identity(self, request):
        """Console pages are for people: sessions only, never API keys."""
        return self._authenticate(request, allow_api_key=False)

    def _console_commune(self, identity, request):
        """The commune a page works on: the user's own; a district
        administrator picks one (``?commune_id=``) and gets None until then."""
        wanted = request.args.get("commune_id") or None
        if identity.caller.is_district and not wanted:
            return None
        return self.communes.get(identity.caller.commune_for(wanted))

    def _render(self, request, identity, template, active, commune=None, status=200, **context):
        """A signed-in page in the layout: header, navigation, flash message."""
        lang = console.request_language(request, identity.user)
        shell = {
            "user_name": identity.user["display_name"],
            "commune_name": commune["name"] if commune else i18n.t("header.district", lang),
            "csrf_token": identity.csrf_token,
            "active": active,
            "link": partial(_link, identity.caller, commune),
            # a district administrator's forms carry the commune they work on
            "district_commune_id": commune["_id"] if commune and identity.caller.is_district else None,
        }
        response = console.render(template, request, lang, status=status, shell=shell,
                                  flash=self.cookies.flash(request), **context)
        self.cookies.clear_flash(request, response)
        return response

    @page("GET", "/static/<path:filename>")
    def static(self, request, filename):
        path = safe_join(str(console.STATIC), filename)
        if path is None or not Path(path).is_file():
            raise NotFound("Không tìm thấy tệp.")
        content_type = "text/css; charset=utf-8" if path.endswith(".css") else "application/octet-stream"
        return Response(Path(path).read_bytes(), content_type=content_type,
                        headers={"Cache-Control": "public, max-age=3600"})

    @page("GET", "/lang/<any(vi, en):lang>")
    def switch_language(self, request, lang):
        response = redirect(safe_next(request.args.get("next")))
        self.cookies.set_language(response, lang)
        return response

    @page("GET", "/login")
    def login_page(self, request):
        if self.cookies.session(request) is not None:
            try:
                self._console_identity(request)
                return redirect(safe_next(request.args.get("next")))
            except Unauthenticated:
                pass  # a stale cookie: show the form
        return self._login_form(request, status=200)

    def _login_form(self, request, status, error=None, username=""):
        token = secrets.token_urlsafe(32)
        response = console.render(
            "login.html", request, console.request_language(request), status=status, error=error,
            username=username, next=safe_next(request.values.get("next"), default=""),
            flash=self.cookies.flash(request), csrf_token=token,
        )
        self.cookies.set_login_form_token(response, token)
        self.cookies.clear_flash(request, response)
        return response

    @page("POST", "/login")
    def login_submit(self, request):
        lang = console.request_language(request)
        form = request.form
        if not auth.csrf_matches(self.cookies.login_form_token(request), form.get(auth.CSRF_FIELD)):
            return self._login_form(request, 400, i18n.t("login.form_expired", lang), form.get("username", ""))
        try:
            user = self._log_in(request, form.get("username", ""), form.get("password", ""))
        except RateLimited as err:
            minutes = math.ceil(err.details["retry_after"] / 60)
            return self._login_form(request, 429, i18n.t("login.rate_limited", lang, minutes=minutes),
                                    form.get("username", ""))
        except Unauthenticated:
            return self._login_form(request, 401, i18n.t("login.failed", lang), form.get("username", ""))
        response = redirect(safe_next(form.get("next")))
        self.cookies.set_session(response, self.cookies.new_session(user["_id"]))
        return response

    @page("POST", "/logout")
    def logout(self, request):
        identity = self._console_identity(request)
        response = redirect("/login")
        self.cookies.end_session(response)
        self.cookies.set_flash(response, "ok", i18n.t("login.logged_out", console.request_language(request, identity.user)))
        return response

    def _page_context(self, request, roles=domain.READ_ROLES):
        """``(identity, commune)`` of a page for ``roles``; the commune is None
        while a district administrator has not picked one."""
        identity = self._console_identity(request)
        identity.caller.require(*roles)
        return identity, self._console_commune(identity, request)

    def _after_form(self, back, action, success):
        """Run a form's ``action``, then back to ``back`` with ``success(result)``
        as the message, or the refusal's (a caller error of the table; anything
        else is the server's error page)."""
        response = redirect(back)
        try:
            result = action()
        except EXPECTED_EXCEPTIONS as err:
            self.cookies.set_flash(response, "error", _refusal(err).message)
            return response
        self.cookies.set_flash(response, "ok", success(result))
        return response

    @page("GET", "/")
    def overview(self, request):
        identity, commune = self._page_context(request)
        if commune is None:
            communes = self.communes.list()
            return self._render(request, identity, "choose_commune.html", "overview", communes=communes)
        lang = console.request_language(request, identity.user)
        activity = [
            {"when": entry["occurred_at"], "text": domain.describe_activity(entry, lang),
             "task_id": entry["data"].get("task_id")}
            for entry in self.activity.recent(commune["_id"], OVERVIEW_ACTIVITY)
        ]
        return self._render(request, identity, "overview.html", "overview", commune,
                            plans=self.tasks.list_plans(commune["_id"]), activity=activity,
                            can_import=identity.caller.has_any(*domain.PLAN_IMPORT_ROLES))

    @page("GET", "/plans/<plan_id>")
    def plan_page(self, request, plan_id):
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        return self._render(request, identity, "plan.html", "overview", commune,
                            plan=self.tasks.get_plan(plan_id, commune["_id"]),
                            can_import=identity.caller.has_any(*domain.PLAN_IMPORT_ROLES))

    # --- console: importing a plan (upload or paste → preview → apply) -------------

    def _import_form(self, request, identity, commune, values, error=None):
        return self._render(request, identity, "import.html", "overview", commune,
                            status=error.status if error else 200, error=error.message if error else None,
                            plans=self.tasks.list_plans(commune["_id"]), values=values)

    @page("GET", "/plans/import")
    def import_page(self, request):
        identity, commune = self._page_context(request, domain.PLAN_IMPORT_ROLES)
        if commune is None:
            return redirect("/")
        return self._import_form(request, identity, commune, {"plan_id": request.args.get("plan_id", "")})

    @page("POST", "/plans/import/preview", uploads=True)
    def import_preview(self, request):
        """What the document would import: nothing is written yet."""
        identity, commune = self._page_context(request, domain.PLAN_IMPORT_ROLES)
        if commune is None:
            return redirect("/")
        values = forms.form_values(request)
        try:
            source = forms.plan_source(request)
            preview = self.tasks.preview_import(dict(source, commune_id=commune["_id"]))
        except EXPECTED_EXCEPTIONS as err:
            return self._import_form(request, identity, commune, values, _refusal(err))
        content_kind, content_b64 = forms.carried_content(source)
        return self._render(request, identity, "import_preview.html", "overview", commune, preview=preview,
                            content_kind=content_kind, content_b64=content_b64,
                            source_name=source["source_name"], plan_id=source["plan_id"] or "",
                            agencies=_agency_names(commune), headings=domain.heading_codes(preview["tasks"]))

    @page("POST", "/plans/import/apply", uploads=True)
    def import_apply(self, request):
        identity, commune = self._page_context(request, domain.PLAN_IMPORT_ROLES)
        if commune is None:
            return redirect("/")
        lang = console.request_language(request, identity.user)
        try:
            source = forms.applied_source(request)
            plan = self.tasks.import_plan(dict(source, commune_id=commune["_id"]))
        except EXPECTED_EXCEPTIONS as err:
            return self._import_form(request, identity, commune, forms.form_values(request), _refusal(err))
        response = redirect(_link(identity.caller, commune, f"/plans/{quote(plan['_id'], safe='')}"))
        key = "import.reimported" if plan.get("diff") else "import.imported"
        self.cookies.set_flash(response, "ok", i18n.t(key, lang, title=plan["title"], count=plan["task_count"]))
        return response

    # --- console: tasks ---------------------------------------------------------------

    @page("GET", "/tasks")
    def tasks_page(self, request):
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        filters = {k: v.strip() for k, v in query(request).items() if k in TASK_LIST_FILTERS}
        page_number = _page_number(request.args.get("page"))
        result = self.tasks.list_tasks(dict(
            filters, commune_id=commune["_id"], offset=(page_number - 1) * TASKS_PAGE_SIZE, limit=TASKS_PAGE_SIZE))
        return self._render(request, identity, "tasks.html", "tasks", commune, result=result, filters=filters,
                            page_number=page_number, page_size=TASKS_PAGE_SIZE, agencies=commune["agencies"],
                            headings=domain.heading_codes(result["items"]))

    @page("GET", "/tasks/<task_id>")
    def task_page(self, request, task_id):
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        task = self.tasks.get_task(task_id, commune["_id"])
        caller = identity.caller
        can_assign = caller.has_any(*domain.ASSIGN_ROLES)
        candidates = domain.assignable(task, self.users.of_commune(commune["_id"])) if can_assign else []
        return self._render(request, identity, "task.html", "tasks", commune, task=task,
                            history=domain.task_history(task), agencies=_agency_names(commune),
                            can_edit=caller.has_any(*domain.TASK_EDIT_ROLES),
                            can_report=caller.has_any(*domain.TASK_REPORT_ROLES),
                            can_assign=can_assign, candidates=candidates)

    def _task_form(self, request, task_id, roles, action, success):
        """A form of the task page: ``action(values, commune)`` makes the
        change; back on the task, ``success(result, lang)`` or the refusal is shown."""
        identity, commune = self._page_context(request, roles)
        if commune is None:
            return redirect("/")
        lang = console.request_language(request, identity.user)
        back = _link(identity.caller, commune, f"/tasks/{quote(task_id, safe='')}")
        return self._after_form(back, lambda: action(forms.form_values(request), commune),
                                lambda result: success(result, lang))

    @page("POST", "/tasks/<task_id>/status")
    def task_status_submit(self, request, task_id):
        def change(values, commune):
            data = load(schemas.StatusChangeSchema, values)
            return self.tasks.change_status(dict(data, task_id=task_id, commune_id=commune["_id"]))

        return self._task_form(request, task_id, domain.TASK_EDIT_ROLES, change, lambda task, lang: i18n.t(
            "task.status_changed", lang, code=task["code"], status=i18n.status_label(task["status"], lang)))

    @page("POST", "/tasks/<task_id>/guidance")
    def task_guidance_submit(self, request, task_id):
        def record(values, commune):
            data = load(schemas.GuidanceSchema, values)
            return self.tasks.record_guidance(dict(data, task_id=task_id, commune_id=commune["_id"]))

        return self._task_form(request, task_id, domain.TASK_EDIT_ROLES, record, lambda task, lang: i18n.t(
            "task.guidance_recorded", lang, code=task["code"], due=domain.day_month_year(task["schedule"]["due"])))

    @page("POST", "/tasks/<task_id>/updates", uploads=True)
    def task_update_submit(self, request, task_id):
        def report(values, commune):
            data = forms.progress_update(request)
            return self.tasks.add_update(dict(data, task_id=task_id, commune_id=commune["_id"]))

        return self._task_form(request, task_id, domain.TASK_REPORT_ROLES, report, lambda update, lang: i18n.t(
            "task.update_added", lang, links=len(update["links"]), files=len(update["files"])))

    @page("POST", "/tasks/<task_id>/comments")
    def task_comment_submit(self, request, task_id):
        def comment(values, commune):
            data = load(schemas.CommentSchema, values)
            return self.tasks.add_comment(dict(data, task_id=task_id, commune_id=commune["_id"]))

        return self._task_form(request, task_id, domain.READ_ROLES, comment,
                               lambda _, lang: i18n.t("task.comment_added", lang))

    @page("POST", "/tasks/<task_id>/assignees")
    def task_assignees_submit(self, request, task_id):
        def assign(values, commune):
            return self._assign(task_id, commune["_id"], request.form.getlist("user_id"))

        return self._task_form(request, task_id, domain.ASSIGN_ROLES, assign, lambda task, lang: i18n.t(
            "task.assigned", lang, code=task["code"], count=len(task["assignees"])))

    @page("GET", "/tasks/<task_id>/evidence/<file_id>")
    def task_evidence_page(self, request, task_id, file_id):
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        return files.evidence_download(self.tasks.get_evidence(task_id, file_id, commune["_id"]))

    # --- console: agencies -------------------------------------------------------------

    @page("GET", "/agencies")
    def agencies_page(self, request):
        """The commune's offices, each with what it leads and what of it is late."""
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        rows = [dict(agency, view=self.tasks.agency_view(agency["id"], commune["_id"]))
                for agency in commune["agencies"]]
        return self._render(request, identity, "agencies.html", "agencies", commune, rows=rows,
                            own_agency_id=identity.user.get("agency_id"))

    @page("GET", "/agencies/<agency_id>")
    def agency_page(self, request, agency_id):
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        agency = domain.agency(commune, agency_id)
        return self._render(request, identity, "agency.html", "agencies", commune, agency=agency,
                            view=self.tasks.agency_view(agency["id"], commune["_id"]))

    # --- console: reports ----------------------------------------------------------------

    def _report_form(self, request, identity, commune, values, error=None):
        plans = self.tasks.list_plans(commune["_id"])
        plan_id = values.get("plan_id") or (plans[0]["_id"] if plans else "")
        periods = self.tasks.report_periods(plan_id, commune["_id"]) if plan_id else []
        chosen = values.get("period") or domain.current_period(periods, local_today())
        return self._render(request, identity, "reports.html", "reports", commune,
                            status=error.status if error else 200, error=error.message if error else None,
                            plans=plans, plan_id=plan_id, periods=periods, values=dict(values, period=chosen))

    @page("GET", "/reports")
    def reports_page(self, request):
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        return self._report_form(request, identity, commune, {"plan_id": request.args.get("plan_id", "")})

    @page("POST", "/reports")
    def report_submit(self, request):
        """The report as a download, or the form again with what was wrong."""
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        values = forms.form_values(request)
        options = {k: v for k, v in values.items() if k != "plan_id"}
        try:
            if not values.get("plan_id"):
                raise InvalidInput(i18n.t("reports.choose_plan", console.request_language(request, identity.user)))
            report = self.tasks.generate_report(
                forms.report_request(values["plan_id"], forms.report_options(options), commune))
        except EXPECTED_EXCEPTIONS as err:
            return self._report_form(request, identity, commune, values, _refusal(err))
        return files.report_download(report)


def _check_csrf(request, session):
    """A write made with a session cookie must echo the session's CSRF token."""
    if request.method in auth.UNSAFE_METHODS:
        presented = request.headers.get(auth.CSRF_HEADER) or request.form.get(auth.CSRF_FIELD)
        if not auth.csrf_matches(session.csrf_token, presented):
            raise CsrfRejected("Thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang rồi thử lại.")


def _refusal(err):
    """The reply a form shows for a caller error; a server error is raised on."""
    reply = describe(err, request_id="")
    if reply.status >= 500:
        raise err
    return reply


def _agency_names(commune):
    """Agency id → name, for links to the agencies' pages."""
    return {agency["id"]: agency["name"] for agency in commune.get("agencies", ())}


def _link(caller, commune, path, **params):
    """A console link; a district administrator's links keep the commune chosen."""
    if caller.is_district and commune is not None:
        params["commune_id"] = commune["_id"]
    pairs = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(pairs)}" if pairs else "")


def _page_number(value):
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1
