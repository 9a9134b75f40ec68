"""The gateway's provincial sync routes (đồng bộ với tỉnh): the JSON API
over the sync service's RPC (services/sync/API.md, "RPCs of the nameko sync
service") and the console's page, which shows the link with the province,
what waits to go up and to come down, and lets a commune administrator pause
and resume a stream.

``SyncRoutes`` is a mixin of ``GatewayService``, as ``TrainingRoutes`` is;
it uses the service's ``sync`` proxy, authentication, layout and
``cookies``. The sync service authorises every call on the caller it
receives; the gateway authenticates, refuses what the caller's roles could
never do and scopes the commune.
"""
from urllib.parse import quote

from shared.errors import load

from services.gateway import console, domain, i18n, schemas, sync_views as views
from services.gateway.entrypoints import EXPECTED_EXCEPTIONS, api, form_refusal, page
from services.gateway.errors import ServiceUnavailable
from services.gateway.web import json_response, query, read_json, redirect

# the flash message after a stream was paused or resumed from the console
_DONE = {"pause": "sync.paused_flash", "resume": "sync.resumed_flash"}


class SyncRoutes:

    # --- HTTP API ------------------------------------------------------------------------------

    def _sync_commune(self, request, body=False, roles=domain.READ_ROLES):
        """The commune the caller acts on (``commune_id`` of the query string
        or, with ``body``, of the JSON body); refused unless the caller holds
        one of ``roles``."""
        caller = self._authenticate(request).caller.require(*roles)
        data = load(schemas.CommuneQuerySchema, read_json(request) if body else query(request))
        return caller.commune_for(data["commune_id"])

    @api("GET", "/api/sync")
    def sync_state(self, request):
        """The link with the province and every stream's counters, as the sync service answers them."""
        return json_response(self.sync.status(commune_id=self._sync_commune(request)))

    @api("POST", "/api/sync/streams/<stream>/pause")
    def sync_pause(self, request, stream):
        """Stop pushing (up) or delivering (down) a stream; its records keep queueing."""
        commune_id = self._sync_commune(request, body=True, roles=views.MANAGE_ROLES)
        return json_response(self.sync.pause_stream(stream, commune_id=commune_id))

    @api("POST", "/api/sync/streams/<stream>/resume")
    def sync_resume(self, request, stream):
        commune_id = self._sync_commune(request, body=True, roles=views.MANAGE_ROLES)
        return json_response(self.sync.resume_stream(stream, commune_id=commune_id))

    # --- console --------------------------------------------------------------------------------

    @page("GET", "/sync")
    def sync_page(self, request):
        """The link with the province as a banner, and the up and down streams
        with what still waits. A sync service that does not answer is said so
        on the page (503), with the navigation still there."""
        identity, commune = self._page_context(request)
        if commune is None:
            return redirect("/")
        lang = console.request_language(request, identity.user)
        try:
            status = self.sync.status(commune_id=commune["_id"])
        except ServiceUnavailable:
            return self._sync_render(request, identity, commune, status=503, unavailable=True)
        return self._sync_render(request, identity, commune, unavailable=False,
                                 link=views.link_view(status.get("link"), lang),
                                 up=views.up_rows(status, lang), down=views.down_rows(status, lang))

    def _sync_render(self, request, identity, commune, status=200, **context):
        return self._render(request, identity, "sync.html", "sync", commune, status=status,
                            can_manage=identity.caller.has_any(*views.MANAGE_ROLES),
                            stream_path=lambda stream, action: f"/sync/streams/{quote(stream, safe='')}/{action}",
                            **context)

    @page("POST", "/sync/streams/<stream>/<any(pause, resume):action>")
    def sync_stream_submit(self, request, stream, action):
        """Pause or resume a stream, then back to the page with what was done,
        the sync service's refusal, or that it did not answer."""
        identity, commune = self._page_context(request, views.MANAGE_ROLES)
        if commune is None:
            return redirect("/")
        lang = console.request_language(request, identity.user)
        response = redirect(console.link(identity.caller, commune, "/sync"))
        change = self.sync.pause_stream if action == "pause" else self.sync.resume_stream
        try:
            entry = change(stream, commune_id=commune["_id"])
        except ServiceUnavailable:
            self.cookies.set_flash(response, "error", i18n.t("sync.unavailable_action", lang))
            return response
        except EXPECTED_EXCEPTIONS as err:
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        name = views.stream_name((entry or {}).get("stream") or stream, lang)
        self.cookies.set_flash(response, "ok", i18n.t(_DONE[action], lang, name=name))
        return response
