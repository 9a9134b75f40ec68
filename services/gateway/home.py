"""The commune's home dashboard (trang tổng quan): the console's first page
and ``GET /api/home``. Plan progress (tasks), devices online by village and
open alarms (telemetry), what plays today (broadcast), the link with the
province (sync), the latest publications (content) and recent activity.

``HomeRoutes`` is a mixin of ``GatewayService``, as ``SyncRoutes`` is; it
uses the service's proxies, authentication, layout and activity store.
The panels' services are asked at once, each in its own green thread with
a short deadline (``HOME_PANEL_TIMEOUT_SECONDS``): the page waits for the
slowest answer, not for the sum, and a service that does not answer in
time costs only its own panel, which says so. Every call names the caller's
commune; each service scopes and authorises on the caller it receives.
"""
import logging

import eventlet

from shared.errors import load
from shared.timeutil import iso, local_today, utcnow

from services.gateway import console, device_views, domain, home_views, schemas, sync_views
from services.gateway.entrypoints import api, page
from services.gateway.web import json_response, query

log = logging.getLogger(__name__)

DEFAULT_PANEL_TIMEOUT_SECONDS = 3.0
HOME_ACTIVITY = 10


def gather(calls, timeout):
    """``{name: Answer}`` for ``{name: call}``, the calls run side by side;
    one that fails or outlasts ``timeout`` seconds is an unavailable answer."""
    pool = eventlet.GreenPool(len(calls))
    threads = {name: pool.spawn(_answer, name, call, timeout) for name, call in calls.items()}
    return {name: thread.wait() for name, thread in threads.items()}


def _answer(name, call, timeout):
    try:
        with eventlet.Timeout(timeout, False):
            return home_views.Answer(True, call())
        log.warning("home panel %s: no answer within %s s", name, timeout)
    except Exception:  # the panel says it has no data; the rest of the page stands
        log.warning("home panel %s: the service's call failed", name, exc_info=True)
    return home_views.UNAVAILABLE


class HomeRoutes:

    def _home(self, commune, today):
        """The dashboard of ``commune`` on ``today`` (a Vietnamese date)."""
        commune_id, day = commune["_id"], today.isoformat()
        calls = {
            "plans": lambda: self.tasks.list_plans(commune_id),
            "devices": lambda: self.telemetry.list_devices({"commune_id": commune_id}),
            "programmes": lambda: self.broadcast.calendar(day, day, commune_id=commune_id),
            "alarms": lambda: self.telemetry.list_alarms({"status": "active", "commune_id": commune_id}),
            "sync": lambda: self.sync.status(commune_id=commune_id),
            "publications": lambda: self.content.recent_publications(home_views.RECENT_PUBLICATIONS,
                                                                     commune_id=commune_id),
        }
        timeout = float(self.config.get("HOME_PANEL_TIMEOUT_SECONDS") or DEFAULT_PANEL_TIMEOUT_SECONDS)
        return home_views.home(gather(calls, timeout), commune, today)

    @api("GET", "/api/home")
    def home_api(self, request):
        """Every panel of the home page as data; a panel whose service did not answer is ``available: false``."""
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schemas.CommuneQuerySchema, query(request))
        commune = self.communes.get(caller.commune_for(data["commune_id"]))
        today = local_today()
        activity = [domain.public_activity(entry) for entry in self.activity.recent(commune["_id"], HOME_ACTIVITY)]
        return json_response(home_views.home_json(self._home(commune, today), commune["_id"], today, iso(utcnow()),
                                                  activity))

    @page("GET", "/")
    def overview(self, request):
        """The commune's home page; a district administrator first picks a commune."""
        identity, commune = self._page_context(request)
        if commune is None:
            return self._render(request, identity, "choose_commune.html", "overview", communes=self.communes.list())
        lang = console.request_language(request, identity.user)
        today = local_today()
        dashboard = self._home(commune, today)
        activity = [
            {"when": entry["occurred_at"], "text": domain.describe_activity(entry, lang),
             "href": domain.activity_link(entry)}
            for entry in self.activity.recent(commune["_id"], HOME_ACTIVITY)
        ]
        banner = sync_views.link_view(dashboard.sync.link, lang) if dashboard.sync else None
        lag = sync_views.lag(dashboard.sync.lag_seconds, lang) if dashboard.sync else ""
        return self._render(request, identity, "overview.html", "overview", commune, home=dashboard,
                            plans=dashboard.plans, activity=activity, today=today, sync_banner=banner, sync_lag=lag,
                            severities=device_views.SEVERITIES,
                            can_import=identity.caller.has_any(*domain.PLAN_IMPORT_ROLES))
