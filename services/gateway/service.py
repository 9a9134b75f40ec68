"""The gateway (cổng): the HTTP JSON API and web console for people and
machines, the tenancy data (communes, users, API keys), and the activity
feed built from other services' events.

Every request is authenticated here (session cookie or API key) and the
caller is put into the nameko context data before other services are called,
so they authorise on it. Errors become replies in ``entrypoints``.
"""
import dataclasses
import logging
import math
import secrets
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

from eventlet import tpool
from eventlet.semaphore import Semaphore
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from shared.asyncapi import document as asyncapi_document
from shared.context import Caller, CallerContext
from shared.errors import CALLER_ERRORS, InvalidInput, NotFound, Unauthenticated, load
from shared.handlers import event_handler
from shared.mongo import Store
from shared.observability import Observability
from shared.timeutil import iso, local_today, utcnow

from services.gateway import auth, console, domain, feeds, files, forms, i18n, schemas
from services.gateway.cookies import CookieJar
from services.gateway import broadcasts, devices, home, sync_status, training
from services.gateway.entrypoints import EXPECTED_EXCEPTIONS, api, form_refusal, page
from services.gateway.errors import CsrfRejected, RateLimited
from services.gateway.feeds import PublicSite
from services.gateway.openapi import DOCUMENT
from services.gateway.repository import (
    ActivityRepository, ApiKeyRepository, CommuneRepository, LoginAttemptRepository, UserRepository,
)
from services.gateway.rpc import TimedRpcProxy
from services.gateway.web import PUBLIC_CACHE, json_response, query, read_json, redirect, safe_next

log = logging.getLogger(__name__)
# how soon a device asks again for a broadcast's speech still being made
SPEECH_RETRY_SECONDS = 2

EVENTS_DOCUMENT = asyncapi_document()

TASKS_PAGE_SIZE = 50
TASK_LIST_FILTERS = ("plan_id", "status", "part", "agency", "agency_id", "due", "q")
CONTENT_PAGE_SIZE = 50
CONTENT_LIST_FILTERS = ("kind", "section_id", "status", "channel", "q")
# the approval queue shows every item waiting, up to the content service's page limit
REVIEW_QUEUE_LIMIT = 200
PUBLIC_INDEX_LENGTH = 50
# while text-to-speech runs, the item page reloads itself (pages carry no scripts)
AUDIO_REFRESH_SECONDS = 5
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


class GatewayService(devices.DeviceRoutes, broadcasts.BroadcastRoutes, training.TrainingRoutes,
                     sync_status.SyncRoutes, home.HomeRoutes):
    name = "gateway"

    caller = CallerContext()
    config = Config()
    cookies = CookieJar()
    tasks = TimedRpcProxy("tasks")
    content = TimedRpcProxy("content")
    training = TimedRpcProxy("training")
    sync = TimedRpcProxy("sync")
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

    @rpc(expected_exceptions=CALLER_ERRORS)
    def commune_profile(self, commune_id=None):
        """A commune's name and villages (thôn), ``{id, name, villages: [{id,
        name}]}``: the broadcast service reads a CAP alert's areas against them."""
        caller = self.caller.current().require(*domain.READ_ROLES)
        commune = self.communes.get(caller.commune_for(commune_id))
        return {"id": commune["_id"], "name": commune.get("name") or commune["_id"],
                "villages": [{"id": v["id"], "name": v["name"]} for v in commune.get("villages") or ()]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def commune_list(self):
        """The communes the caller may see (a district caller: all), by name,
        for district tools (``tinxa commune list``)."""
        caller = self.caller.current().require(*domain.READ_ROLES)
        communes = self.communes.list(None if caller.is_district else caller.commune_for())
        return [domain.public_commune(c) for c in communes]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def commune_users(self, commune_id=None):
        """A commune's active accounts as clients see them (never a password
        hash), for district tools (``tinxa user list``)."""
        caller = self.caller.current().require(*domain.ADMIN_ROLES)
        commune = self.communes.get(caller.commune_for(commune_id))
        return [domain.public_user(user) for user in self.users.of_commune(commune["_id"])]

    # --- activity feed, from other services' events --------------------------

    def _record_activity(self, kind, event):
        self.activity.record(domain.activity_entry(kind, event, self._actor_name(event.get("actor"))))

    @event_handler("tasks", "task_status_changed")
    def on_task_status_changed(self, event):
        self._record_activity("task_status_changed", event)

    @event_handler("tasks", "plan_imported")
    def on_plan_imported(self, event):
        self._record_activity("plan_imported", event)

    @event_handler("tasks", "task_overdue")
    def on_task_overdue(self, event):
        self._record_activity("task_overdue", event)

    @event_handler("tasks", "task_due_soon")
    def on_task_due_soon(self, event):
        self._record_activity("task_due_soon", event)

    @event_handler("tasks", "task_progress_reported")
    def on_task_progress_reported(self, event):
        self._record_activity("task_progress_reported", event)

    @event_handler("content", "item_approved")
    def on_content_item_approved(self, event):
        self._record_activity("item_approved", event)

    @event_handler("content", "item_returned")
    def on_content_item_returned(self, event):
        self._record_activity("item_returned", event)

    @event_handler("content", "item_published")
    def on_content_item_published(self, event):
        self._record_activity("item_published", event)

    @event_handler("content", "item_archived")
    def on_content_item_archived(self, event):
        self._record_activity("item_archived", event)

    @event_handler("content", "audio_rendered")
    def on_content_audio_rendered(self, event):
        self._record_activity("audio_rendered", event)

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

    @api("GET", "/api/asyncapi.json")
    def asyncapi(self, request):
        return json_response(EVENTS_DOCUMENT)

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

    # --- HTTP API: content (services/content/API.md) ----------------------------------
    # The content service authorises every call on the caller it receives
    # (which roles may edit, review, publish); the gateway authenticates,
    # scopes the commune and shapes the request.

    def _content_caller(self, request):
        return self._authenticate(request).caller.require(*domain.READ_ROLES)

    def _content_step(self, request, item_id, schema, step, status=200):
        """A workflow step on an item: ``step(request)`` is the RPC."""
        caller = self._content_caller(request)
        data = load(schema, read_json(request))
        return json_response(step(dict(data, item_id=item_id, commune_id=caller.commune_for(data["commune_id"]))),
                             status)

    @api("GET", "/api/content/sections")
    def list_content_sections(self, request):
        caller = self._content_caller(request)
        data = load(schemas.SectionQuerySchema, query(request))
        return json_response({"items": self.content.list_sections(
            caller.commune_for(data["commune_id"]), include_inactive=data["include_inactive"])})

    @api("POST", "/api/content/sections")
    def create_content_section(self, request):
        caller = self._content_caller(request)
        data = load(schemas.SectionSchema, read_json(request))
        return json_response(self.content.create_section(
            dict(data, commune_id=caller.commune_for(data["commune_id"]))), 201)

    @api("POST", "/api/content/sections/<section_id>/rename")
    def rename_content_section(self, request, section_id):
        caller = self._content_caller(request)
        data = load(schemas.SectionSchema, read_json(request))
        return json_response(self.content.rename_section(
            dict(data, section_id=section_id, commune_id=caller.commune_for(data["commune_id"]))))

    @api("POST", "/api/content/sections/<section_id>/deactivate")
    def deactivate_content_section(self, request, section_id):
        """A section no longer offered for new items; existing ones keep it."""
        caller = self._content_caller(request)
        data = load(schemas.CommuneQuerySchema, read_json(request))
        return json_response(self.content.deactivate_section(
            {"section_id": section_id, "commune_id": caller.commune_for(data["commune_id"])}))

    @api("GET", "/api/content/items")
    def list_content_items(self, request):
        """Filters and the accent-insensitive search go to the content service as given (it validates them)."""
        caller = self._content_caller(request)
        filters = query(request)
        filters["commune_id"] = caller.commune_for(filters.get("commune_id"))
        return json_response(self.content.list_items(filters))

    @api("POST", "/api/content/items", uploads=True)
    def create_content_item(self, request):
        """A new draft: JSON, or a multipart form with images."""
        caller = self._content_caller(request)
        data = forms.content_item(request)
        return json_response(self.content.create_item(
            dict(data, commune_id=caller.commune_for(data["commune_id"]))), 201)

    @api("GET", "/api/content/items/<item_id>")
    def get_content_item(self, request, item_id):
        caller = self._content_caller(request)
        data = load(schemas.CommuneQuerySchema, query(request))
        return json_response(self.content.get_item(item_id, caller.commune_for(data["commune_id"])))

    @api("PATCH", "/api/content/items/<item_id>", uploads=True)
    def update_content_item(self, request, item_id):
        """A new revision: JSON, or a multipart form with new images."""
        caller = self._content_caller(request)
        data = forms.content_item(request, update=True)
        return json_response(self.content.update_item(
            dict(data, item_id=item_id, commune_id=caller.commune_for(data["commune_id"]))))

    @api("GET", "/api/content/items/<item_id>/revisions/<int:number>")
    def get_content_revision(self, request, item_id, number):
        caller = self._content_caller(request)
        data = load(schemas.CommuneQuerySchema, query(request))
        return json_response(self.content.get_revision(item_id, number, caller.commune_for(data["commune_id"])))

    @api("GET", "/api/content/items/<item_id>/diff")
    def diff_content_revisions(self, request, item_id):
        caller = self._content_caller(request)
        data = load(schemas.DiffQuerySchema, query(request))
        return json_response(self.content.diff_revisions(
            item_id, data["from_revision"], data["to_revision"], caller.commune_for(data["commune_id"])))

    @api("POST", "/api/content/items/<item_id>/submit")
    def submit_content_item(self, request, item_id):
        return self._content_step(request, item_id, schemas.ContentCommentSchema, self.content.submit_item)

    @api("POST", "/api/content/items/<item_id>/approve")
    def approve_content_item(self, request, item_id):
        return self._content_step(request, item_id, schemas.ApproveSchema, self.content.approve_item)

    @api("POST", "/api/content/items/<item_id>/return")
    def return_content_item(self, request, item_id):
        return self._content_step(request, item_id, schemas.ReturnSchema, self.content.return_item)

    @api("POST", "/api/content/items/<item_id>/publish")
    def publish_content_item(self, request, item_id):
        """Publish now, or at ``at`` (then the item is scheduled)."""
        return self._content_step(request, item_id, schemas.PublishSchema, self.content.publish_item)

    @api("POST", "/api/content/items/<item_id>/unschedule")
    def unschedule_content_item(self, request, item_id):
        return self._content_step(request, item_id, schemas.CommuneQuerySchema, self.content.unschedule_item)

    @api("POST", "/api/content/items/<item_id>/archive")
    def archive_content_item(self, request, item_id):
        return self._content_step(request, item_id, schemas.ContentCommentSchema, self.content.archive_item)

    @api("POST", "/api/content/items/<item_id>/audio")
    def request_content_audio(self, request, item_id):
        """Text-to-speech of the item, in the background: 202 while it renders."""
        return self._content_step(request, item_id, schemas.CommuneQuerySchema, self.content.request_audio, 202)

    @api("POST", "/api/content/items/<item_id>/audio/upload", uploads=True)
    def upload_content_audio(self, request, item_id):
        """A recording of the bulletin (multipart ``file``) becomes the item's audio."""
        caller = self._content_caller(request)
        data = forms.audio_recording(request)
        return json_response(self.content.upload_audio(
            dict(data, item_id=item_id, commune_id=caller.commune_for(data["commune_id"]))))

    @api("GET", "/api/content/media/<media_id>")
    def content_media(self, request, media_id):
        """An image or audio of the caller's commune (the content service checks whose it is)."""
        caller = self._content_caller(request)
        data = load(schemas.CommuneQuerySchema, query(request))
        return files.media_download(self.content.get_media(media_id, caller.commune_for(data["commune_id"])))

    # --- public: the commune's feeds, pages and media (no sign-in) ---------------------

    def _public_site(self, request, commune_id):
        """The commune's public addresses, on ``PUBLIC_BASE_URL`` if set."""
        commune = self.communes.get(commune_id)
        base = self.config.get("PUBLIC_BASE_URL") or request.host_url
        return commune, PublicSite(str(base), commune["_id"])

    @api("GET", "/feeds/<commune_id>/atom.xml")
    def atom_feed(self, request, commune_id):
        commune, site = self._public_site(request, commune_id)
        body = feeds.atom(commune, self.content.feed_items(commune["_id"], feeds.FEED_LENGTH), site)
        return Response(body, content_type=feeds.ATOM_TYPE, headers={"Cache-Control": PUBLIC_CACHE})

    @api("GET", "/feeds/<commune_id>/feed.json")
    def json_feed(self, request, commune_id):
        commune, site = self._public_site(request, commune_id)
        body = feeds.json_feed(commune, self.content.feed_items(commune["_id"], feeds.FEED_LENGTH), site)
        return Response(body, content_type=feeds.JSON_FEED_TYPE, headers={"Cache-Control": PUBLIC_CACHE})

    def _public_page(self, request, template, **context):
        response = console.render(template, request, console.request_language(request), **context)
        response.headers["Cache-Control"] = PUBLIC_CACHE
        return response

    @page("GET", "/p/<commune_id>")
    def public_index(self, request, commune_id):
        """The commune's latest published news, for people and for the feeds' alternate link."""
        commune, site = self._public_site(request, commune_id)
        return self._public_page(request, "public_index.html", commune=commune, site=site,
                                 entries=self.content.feed_items(commune["_id"], PUBLIC_INDEX_LENGTH))

    @page("GET", "/p/<commune_id>/<item_id>")
    def public_item(self, request, commune_id, item_id):
        """The published version of a live item on the website or social pages; a
        newer draft, an unpublished or archived item is not found."""
        commune, site = self._public_site(request, commune_id)
        self.caller.act_as(auth.public_reader(commune["_id"]))
        item = self.content.get_item(item_id, commune["_id"])
        if not item.get("live") or not domain.on_web(item.get("published")):
            raise NotFound("Không tìm thấy tin này.", {"item_id": item_id})
        return self._public_page(request, "public_item.html", commune=commune, site=site, item_id=item["_id"],
                                 version=item["published"], first_published_at=item.get("first_published_at"))

    @page("GET", "/p/<commune_id>/media/<media_id>")
    def public_media(self, request, commune_id, media_id):
        """An image or audio of a live item's published version (the content service checks)."""
        commune, _ = self._public_site(request, commune_id)
        return files.media_download(self.content.get_media(media_id, commune["_id"], public=True), public=True)

    @api("GET", "/p/<commune_id>/speech/<reference>")
    def public_speech(self, request, commune_id, reference):
        """A broadcast's speech, for the loudspeakers that play it (and the
        console's player): 503 with Retry-After while it is being made."""
        commune, _ = self._public_site(request, commune_id)
        speech = self.content.get_speech(reference, commune["_id"])
        if speech["state"] == "ready":
            return files.media_download(speech["media"], public=True)
        if speech["state"] == "failed":
            raise NotFound(f"Không tạo được giọng đọc của bản tin: {speech['error']}", {"reference": reference})
        return json_response({"error": "SPEECH_NOT_READY",
                              "message": "Giọng đọc của bản tin đang được tạo; hãy thử lại sau ít giây."},
                             503, {"Retry-After": str(SPEECH_RETRY_SECONDS), "Cache-Control": "no-store"})

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
            "link": partial(console.link, identity.caller, commune),
            "can": identity.caller.has_any,
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
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        self.cookies.set_flash(response, "ok", success(result))
        return response

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
            return self._import_form(request, identity, commune, values, form_refusal(err))
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
            return self._import_form(request, identity, commune, forms.form_values(request), form_refusal(err))
        response = redirect(console.link(identity.caller, commune, f"/plans/{quote(plan['_id'], safe='')}"))
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
        back = console.link(identity.caller, commune, f"/tasks/{quote(task_id, safe='')}")
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
            return self._report_form(request, identity, commune, values, form_refusal(err))
        return files.report_download(report)

    # --- console: content (nội dung) ----------------------------------------------------

    def _content_page(self, request, roles=domain.READ_ROLES):
        """``(identity, commune, lang)`` of a content page, or None while a
        district administrator has not picked a commune."""
        identity, commune = self._page_context(request, roles)
        if commune is None:
            return None
        return identity, commune, console.request_language(request, identity.user)

    def _item_link(self, identity, commune, item_id, tail=""):
        return console.link(identity.caller, commune, f"/content/{quote(item_id, safe='')}{tail}")

    @page("GET", "/content")
    def content_page(self, request):
        """The commune's items: search (accents ignored), filters, the feeds' addresses."""
        context = self._content_page(request)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        filters = {k: v.strip() for k, v in query(request).items() if k in CONTENT_LIST_FILTERS}
        page_number = _page_number(request.args.get("page"))
        offset = (page_number - 1) * CONTENT_PAGE_SIZE
        result = self.content.list_items(dict(filters, commune_id=commune["_id"], offset=offset,
                                              limit=CONTENT_PAGE_SIZE))
        _, site = self._public_site(request, commune["_id"])
        return self._render(request, identity, "content_list.html", "content", commune, result=result,
                            filters=filters, page_number=page_number, site=site,
                            sections=self.content.list_sections(commune["_id"], include_inactive=True))

    def _editor(self, request, identity, commune, values, item=None, error=None, revision=None, stale=None):
        """The editor: new (``item`` None) or an edit of ``item`` on top of
        ``revision`` (the item's own unless said); ``values`` are what the form
        shows, ``stale`` the newer revision someone saved meanwhile."""
        sections = [section for section in self.content.list_sections(commune["_id"], include_inactive=True)
                    if section["active"] or section["_id"] == values.get("section_id")]
        return self._render(request, identity, "content_editor.html", "content", commune,
                            status=error.status if error else 200, error=error.message if error else None,
                            item=item, values=values, sections=sections, stale=stale,
                            revision=revision or (item["revision"] if item else None))

    @page("GET", "/content/new")
    def content_new_page(self, request):
        context = self._content_page(request, domain.CONTENT_EDIT_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        kind = request.args.get("kind")
        kind = kind if kind in domain.CONTENT_KINDS else domain.CONTENT_KINDS[0]
        values = {"kind": kind, "section_id": request.args.get("section_id", ""), "title": "", "summary": "",
                  "body": "", "rebuttal_url": "", "rebuttal_claim": "", "image_media_ids": [],
                  "channels": list(domain.default_channels(kind)), "remove_image_ids": []}
        return self._editor(request, identity, commune, values)

    @page("POST", "/content/new", uploads=True)
    def content_create_submit(self, request):
        context = self._content_page(request, domain.CONTENT_EDIT_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            item = self.content.create_item(dict(forms.content_editor(request), commune_id=commune["_id"]))
        except EXPECTED_EXCEPTIONS as err:
            return self._editor(request, identity, commune, forms.editor_values(request), error=form_refusal(err))
        return self._after_save(request, identity, commune, lang, item, "content.created_item")

    def _after_save(self, request, identity, commune, lang, item, saved_key):
        """Back to the item; "save and submit" submits the saved revision too."""
        response = redirect(self._item_link(identity, commune, item["_id"]))
        message = i18n.t(saved_key, lang, title=item["title"], revision=item["revision"])
        if request.form.get("then") == "submit":
            try:
                self.content.submit_item({"item_id": item["_id"], "comment": "", "commune_id": commune["_id"]})
            except EXPECTED_EXCEPTIONS as err:
                self.cookies.set_flash(response, "error", f"{message} {form_refusal(err).message}")
                return response
            message = i18n.t("content.saved_and_submitted", lang, title=item["title"])
        self.cookies.set_flash(response, "ok", message)
        return response

    @page("GET", "/content/<item_id>/edit")
    def content_edit_page(self, request, item_id):
        context = self._content_page(request, domain.CONTENT_EDIT_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        item = self.content.get_item(item_id, commune["_id"])
        return self._editor(request, identity, commune, _editor_values(item), item=item)

    @page("POST", "/content/<item_id>/edit", uploads=True)
    def content_edit_submit(self, request, item_id):
        """A new revision; when someone saved another since this one was read,
        the form comes back with the writer's text and what changed meanwhile."""
        context = self._content_page(request, domain.CONTENT_EDIT_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            data = forms.content_editor(request, update=True)
            item = self.content.update_item(dict(data, item_id=item_id, commune_id=commune["_id"]))
        except EXPECTED_EXCEPTIONS as err:
            refusal = form_refusal(err)
            current = self.content.get_item(item_id, commune["_id"])
            edited = _int_or_none(request.form.get("revision"))
            if refusal.status == 409 and edited and current["revision"] != edited:
                # saving again is the writer's choice, made on top of the newer revision
                message = i18n.t("editor.stale", lang, edited=edited, revision=current["revision"],
                                 by=current["updated_by"], time=console.local_time(current["updated_at"]))
                return self._editor(request, identity, commune, forms.editor_values(request), item=current,
                                    error=dataclasses.replace(refusal, message=message),
                                    stale=dict(current, edited=edited))
            return self._editor(request, identity, commune, forms.editor_values(request), item=current,
                                error=refusal, revision=edited)
        return self._after_save(request, identity, commune, lang, item, "content.saved")

    @page("GET", "/content/<item_id>")
    def content_item_page(self, request, item_id):
        context = self._content_page(request)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        item = self.content.get_item(item_id, commune["_id"])
        _, site = self._public_site(request, commune["_id"])
        rendering = (item.get("audio") or {}).get("state") == "rendering"
        return self._render(request, identity, "content_item.html", "content", commune, item=item, site=site,
                            actions=domain.content_actions(item, identity.caller),
                            public=item.get("live") and domain.on_web(item.get("published")),
                            refresh=AUDIO_REFRESH_SECONDS if rendering else None)

    @page("GET", "/content/<item_id>/history")
    def content_history_page(self, request, item_id):
        """The item's revisions and steps, and the difference between any two revisions."""
        context = self._content_page(request)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        item = self.content.get_item(item_id, commune["_id"])
        wanted = (_int_or_none(request.args.get("from")), _int_or_none(request.args.get("to")))
        default = (item["revision"] - 1, item["revision"]) if item["revision"] > 1 else (None, None)
        chosen = wanted if all(wanted) else default
        diff = self.content.diff_revisions(item_id, chosen[0], chosen[1], commune["_id"]) if all(chosen) else None
        names = {s["_id"]: s["name"] for s in self.content.list_sections(commune["_id"], include_inactive=True)}
        return self._render(request, identity, "content_history.html", "content", commune, item=item, diff=diff,
                            chosen=chosen, section_names=names)

    def _content_form(self, request, item_id, action, success):
        """A form of the item page: ``action(values, commune)`` is the step;
        back on the item, ``success(item, lang)`` or the refusal is shown."""
        context = self._content_page(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        return self._after_form(self._item_link(identity, commune, item_id),
                                lambda: action(forms.form_values(request), commune),
                                lambda item: success(item, lang))

    @page("POST", "/content/<item_id>/<any(submit, approve, return, publish, unschedule, archive):step>")
    def content_step_submit(self, request, item_id, step):
        """The workflow buttons; the content service decides whether the caller
        and the item's status allow the step."""
        schema, rpc_method = {
            "submit": (schemas.ContentCommentSchema, self.content.submit_item),
            "approve": (schemas.ApproveSchema, self.content.approve_item),
            "return": (schemas.ReturnSchema, self.content.return_item),
            "publish": (schemas.PublishSchema, self.content.publish_item),
            "unschedule": (schemas.CommuneQuerySchema, self.content.unschedule_item),
            "archive": (schemas.ContentCommentSchema, self.content.archive_item),
        }[step]

        def act(values, commune):
            if step == "publish":
                values = dict(values, at=forms.publication_time(values.get("at")))
            data = load(schema, values)
            return rpc_method(dict(data, item_id=item_id, commune_id=commune["_id"]))

        def done(item, lang):
            key = "content.step.scheduled" if item["status"] == "scheduled" and step == "publish" else \
                f"content.step.{step}"
            return i18n.t(key, lang, title=item["title"], time=console.local_time(item.get("publish_at")))

        return self._content_form(request, item_id, act, done)

    @page("POST", "/content/<item_id>/audio")
    def content_audio_submit(self, request, item_id):
        def render(values, commune):
            return self.content.request_audio({"item_id": item_id, "commune_id": commune["_id"]})

        return self._content_form(request, item_id, render, lambda item, lang: i18n.t("audio.requested", lang))

    @page("POST", "/content/<item_id>/audio/upload", uploads=True)
    def content_audio_upload_submit(self, request, item_id):
        def upload(values, commune):
            return self.content.upload_audio(dict(forms.audio_recording(request), item_id=item_id,
                                                  commune_id=commune["_id"]))

        return self._content_form(request, item_id, upload, lambda item, lang: i18n.t(
            "audio.uploaded", lang, duration=domain.duration(item["audio"]["duration_seconds"])))

    @page("GET", "/content/review")
    def content_review_page(self, request):
        """The approval queue (hàng chờ duyệt): submitted items, the longest waiting first."""
        context = self._content_page(request, domain.CONTENT_REVIEW_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        waiting = self.content.list_items({"status": "submitted", "limit": REVIEW_QUEUE_LIMIT,
                                           "commune_id": commune["_id"]})
        items = sorted(waiting["items"], key=lambda item: item["updated_at"])
        return self._render(request, identity, "content_review.html", "review", commune, items=items,
                            total=waiting["total"])

    @page("GET", "/content/sections")
    def content_sections_page(self, request):
        context = self._content_page(request, domain.CONTENT_ADMIN_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, _ = context
        return self._render(request, identity, "content_sections.html", "content", commune,
                            sections=self.content.list_sections(commune["_id"], include_inactive=True))

    def _section_form(self, request, action, success):
        context = self._content_page(request, domain.CONTENT_ADMIN_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        return self._after_form(console.link(identity.caller, commune, "/content/sections"),
                                lambda: action(forms.form_values(request), commune),
                                lambda section: success(section, lang))

    @page("POST", "/content/sections")
    def content_section_create_submit(self, request):
        def create(values, commune):
            return self.content.create_section(dict(load(schemas.SectionSchema, values), commune_id=commune["_id"]))

        return self._section_form(request, create, lambda section, lang: i18n.t(
            "sections.created", lang, name=section["name"]))

    @page("POST", "/content/sections/<section_id>/rename")
    def content_section_rename_submit(self, request, section_id):
        def rename(values, commune):
            data = load(schemas.SectionSchema, values)
            return self.content.rename_section(dict(data, section_id=section_id, commune_id=commune["_id"]))

        return self._section_form(request, rename, lambda section, lang: i18n.t(
            "sections.renamed", lang, name=section["name"]))

    @page("POST", "/content/sections/<section_id>/deactivate")
    def content_section_deactivate_submit(self, request, section_id):
        def deactivate(values, commune):
            return self.content.deactivate_section({"section_id": section_id, "commune_id": commune["_id"]})

        return self._section_form(request, deactivate, lambda section, lang: i18n.t(
            "sections.deactivated", lang, name=section["name"]))


def _check_csrf(request, session):
    """A write made with a session cookie must echo the session's CSRF token."""
    if request.method in auth.UNSAFE_METHODS:
        presented = request.headers.get(auth.CSRF_HEADER) or request.form.get(auth.CSRF_FIELD)
        if not auth.csrf_matches(session.csrf_token, presented):
            raise CsrfRejected("Thiếu hoặc sai mã chống giả mạo (CSRF). Hãy tải lại trang rồi thử lại.")


def _agency_names(commune):
    """Agency id → name, for links to the agencies' pages."""
    return {agency["id"]: agency["name"] for agency in commune.get("agencies", ())}


def _page_number(value):
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _editor_values(item):
    """The editor's fields from an item's working copy."""
    rebuttal = item.get("rebuttal") or {}
    return {"kind": item["kind"], "section_id": item["section_id"], "title": item["title"],
            "summary": item.get("summary") or "", "body": item.get("body") or "",
            "rebuttal_url": rebuttal.get("url") or "", "rebuttal_claim": rebuttal.get("claim") or "",
            "channels": list(item["channels"]), "image_media_ids": list(item.get("image_media_ids") or ()),
            "remove_image_ids": []}
