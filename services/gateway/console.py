"""The web console's shell (bảng điều khiển): one layout, the navigation,
language choice and page rendering. Pages are server-rendered HTML; later
issues add a page by adding a route, a template and one line to ``NAV``.
"""
import functools
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from werkzeug.wrappers import Response

from shared.timeutil import parse_iso

from services.gateway import domain, i18n
from services.gateway.web import current_path

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
# Vietnam keeps UTC+7 all year (no daylight saving), so no tz database is needed.
VIETNAM_TIME = timezone(timedelta(hours=7))


@dataclass(frozen=True)
class NavItem:
    """A link of the navigation; with ``roles``, shown only to those roles."""

    key: str
    path: str
    label: str
    roles: tuple = ()


NAV = (
    NavItem("overview", "/", "nav.overview"),
    NavItem("tasks", "/tasks", "nav.tasks"),
    NavItem("content", "/content", "nav.content"),
    NavItem("review", "/content/review", "nav.review", domain.CONTENT_REVIEW_ROLES),
    NavItem("agencies", "/agencies", "nav.agencies"),
    NavItem("reports", "/reports", "nav.reports"),
    NavItem("broadcasts", "/broadcasts", "nav.broadcasts"),
    NavItem("devices", "/devices", "nav.devices"),
    NavItem("alarms", "/alarms", "nav.alarms"),
    NavItem("roster", "/roster", "nav.roster"),
    NavItem("training", "/training", "nav.training"),
    NavItem("sync", "/sync", "nav.sync"),
)


def local_time(value):
    """An ISO UTC time as commune staff read it: "26/11/2026 20:50"."""
    if not value:
        return ""
    return parse_iso(value).astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M")


def is_web_link(value):
    """Only http(s) links become clickable: a stored "javascript:" never does."""
    return isinstance(value, str) and urlsplit(value).scheme in ("http", "https")


@functools.lru_cache(maxsize=1)
def environment():
    """Built on first use, not at import; templates are read once."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    env.filters["local_date"] = domain.day_month_year
    env.filters["shorten"] = domain.shorten
    env.filters["duration"] = domain.duration
    env.filters["paragraphs"] = domain.paragraphs
    env.tests["web_link"] = is_web_link
    env.globals.update(nav=NAV, level=domain.level, statuses=domain.TASK_STATUSES, parts=domain.PLAN_PARTS,
                       due_filters=domain.DUE_FILTERS, period_value=domain.period_value,
                       roman={1: "I", 2: "II", 3: "III", 4: "IV"},
                       content_kinds=domain.CONTENT_KINDS, content_channels=domain.CONTENT_CHANNELS,
                       content_statuses=domain.CONTENT_STATUSES,
                       content_roles={"edit": domain.CONTENT_EDIT_ROLES, "admin": domain.CONTENT_ADMIN_ROLES})
    return env


def request_language(request, user=None):
    """The reader's language: the switch's cookie, else the account's, else Vietnamese."""
    chosen = request.cookies.get(i18n.LANGUAGE_COOKIE) or (user or {}).get("language")
    return i18n.language(chosen)


def render(template, request, lang, status=200, shell=None, flash=None, **context):
    """An HTML page in ``lang``. Templates get ``t(key, **values)`` and
    ``label(kind, code)`` bound to it, ``here`` (for the language switch)
    and ``shell``: the signed-in layout (user, commune, navigation), or None
    on pages shown before login or for errors."""
    html = environment().get_template(template).render(
        lang=lang,
        t=lambda key, **values: i18n.t(key, lang, **values),
        label=lambda kind, value: i18n.label(kind, value, lang),
        here=current_path(request),
        shell=shell,
        flash=flash,
        **context,
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def error_page(request, reply, request_id):
    """The console's page for an error reply of the edge's table."""
    lang = request_language(request)
    title_key = f"error.{reply.status}"
    title = i18n.t(title_key if title_key in i18n.VI else "error.title", lang)
    return render("error.html", request, lang, status=reply.status, title=title, message=reply.message,
                  request_id=request_id)


def link(caller, commune, path, **params):
    """A console link; a district administrator's links keep the commune chosen."""
    if caller.is_district and commune is not None:
        params["commune_id"] = commune["_id"]
    pairs = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(pairs)}" if pairs else "")
