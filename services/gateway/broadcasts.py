"""The gateway's broadcasting routes (phát thanh): the JSON API over the
broadcast service's RPC (services/broadcast/API.md), the console's pages
(the inbox and recent broadcasts, play now with the emergency's
confirmation, CAP alerts, a broadcast's live delivery, programmes and their
editor, the week's calendar, zones, proof of play) and the broadcast events
of the activity feed.

``BroadcastRoutes`` is a mixin of ``GatewayService``, as ``DeviceRoutes`` is.
Besides the service's authentication, layout, form handling, ``communes``,
``cookies`` and ``_record_activity``, it uses ``DeviceRoutes.telemetry``
for the devices a form offers. The broadcast service authorises every call
on the caller it receives (who may operate, who may play an emergency, who
may bring bulletins in); the gateway authenticates, scopes the commune and
shapes the request.
"""
from datetime import timedelta
from functools import partial
from urllib.parse import quote

from shared.errors import InvalidInput, load
from shared.handlers import event_handler
from shared.timeutil import local_today, utcnow

from services.gateway import broadcast_views, console, device_views, domain, forms, i18n, schemas
from services.gateway.entrypoints import EXPECTED_EXCEPTIONS, api, form_refusal, page
from services.gateway.rpc import TimedRpcProxy
from services.gateway.web import json_response, query, read_json, redirect, safe_next

# the longest message a flash cookie carries (a programme's notice names its clashes)
FLASH_LENGTH = 1500
PLAY_LOG_LIMIT = 200
PLAY_FILTERS = ("date", "device_id", "village")


class BroadcastRoutes:
    broadcast = TimedRpcProxy("broadcast")

    # --- activity feed, from the broadcast service's events ---------------------------------

    @event_handler("broadcast", "broadcast_created")
    def on_broadcast_created(self, event):
        self._record_activity("broadcast_created", event)

    @event_handler("broadcast", "broadcast_escalated")
    def on_broadcast_escalated(self, event):
        self._record_activity("broadcast_escalated", event)

    @event_handler("broadcast", "broadcast_cancelled")
    def on_broadcast_cancelled(self, event):
        self._record_activity("broadcast_cancelled", event)

    # --- HTTP API -------------------------------------------------------------------------

    def _broadcast_scope(self, request, schema=schemas.CommuneQuerySchema, body=False):
        """``(data, commune_id)``: the fields ``schema`` loads from the query
        string or, with ``body``, the JSON body (``commune_id`` taken out),
        and the commune the caller acts on."""
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        data = load(schema, read_json(request) if body else query(request))
        return data, caller.commune_for(data.pop("commune_id"))

    def _with_path_id(self, request, schema, key, value):
        """A PUT body whose id is the path's (given again or left out)."""
        caller = self._authenticate(request).caller.require(*domain.READ_ROLES)
        body = read_json(request)
        if body.setdefault(key, value) != value:
            raise InvalidInput(f"{key}: mã trong nội dung («{body[key]}») khác mã trên địa chỉ («{value}»).",
                               {key: body[key]})
        data = load(schema, body)
        return data, caller.commune_for(data.pop("commune_id"))

    @api("GET", "/api/zones")
    def list_zones(self, request):
        _, commune_id = self._broadcast_scope(request)
        return json_response({"items": self.broadcast.list_zones(commune_id=commune_id)})

    @api("POST", "/api/zones")
    def create_zone(self, request):
        """A group of devices (created, or replaced when its id exists)."""
        zone, commune_id = self._broadcast_scope(request, schemas.ZoneSchema, body=True)
        return json_response(self.broadcast.save_zone(zone, commune_id=commune_id), 201)

    @api("PUT", "/api/zones/<zone_id>")
    def replace_zone(self, request, zone_id):
        zone, commune_id = self._with_path_id(request, schemas.ZoneSchema, "id", zone_id)
        return json_response(self.broadcast.save_zone(zone, commune_id=commune_id))

    @api("DELETE", "/api/zones/<zone_id>")
    def delete_zone(self, request, zone_id):
        _, commune_id = self._broadcast_scope(request)
        return json_response(self.broadcast.delete_zone(zone_id, commune_id=commune_id))

    @api("GET", "/api/programmes")
    def list_programmes(self, request):
        _, commune_id = self._broadcast_scope(request)
        return json_response({"items": self.broadcast.list_programmes(commune_id=commune_id)})

    @api("POST", "/api/programmes")
    def create_programme(self, request):
        """``{programme, notice}``: the notice says how clashes with other priorities are ordered."""
        programme, commune_id = self._broadcast_scope(request, schemas.ProgrammeSchema, body=True)
        return json_response(self.broadcast.save_programme(programme, commune_id=commune_id), 201)

    @api("GET", "/api/programmes/<programme_id>")
    def get_programme(self, request, programme_id):
        _, commune_id = self._broadcast_scope(request)
        return json_response(self.broadcast.get_programme(programme_id, commune_id=commune_id))

    @api("PUT", "/api/programmes/<programme_id>")
    def replace_programme(self, request, programme_id):
        programme, commune_id = self._with_path_id(request, schemas.ProgrammeSchema, "id", programme_id)
        return json_response(self.broadcast.save_programme(programme, commune_id=commune_id))

    @api("DELETE", "/api/programmes/<programme_id>")
    def delete_programme(self, request, programme_id):
        _, commune_id = self._broadcast_scope(request)
        return json_response(self.broadcast.delete_programme(programme_id, commune_id=commune_id))

    @api("GET", "/api/calendar")
    def broadcast_calendar(self, request):
        """Occurrences per zone between two Vietnamese dates; this week unless given."""
        data, commune_id = self._broadcast_scope(request, schemas.CalendarQuerySchema)
        monday = broadcast_views.week_start(None, local_today())
        start = data["start"] or monday.isoformat()
        end = data["end"] or (broadcast_views.week_start(start, monday) + timedelta(days=6)).isoformat()
        return json_response(self.broadcast.calendar(start, end, zone_id=data["zone_id"], commune_id=commune_id))

    @api("GET", "/api/devices/<device_id>/schedule")
    def device_broadcast_schedule(self, request, device_id):
        """What the device keeps for the next 48 hours, and whether it has it."""
        _, commune_id = self._broadcast_scope(request)
        return json_response(self.broadcast.device_schedule(device_id, commune_id=commune_id))

    @api("GET", "/api/broadcasts")
    def list_broadcasts(self, request):
        filters, commune_id = self._broadcast_scope(request, schemas.BroadcastQuerySchema)
        return json_response(self.broadcast.list_broadcasts(filters, commune_id=commune_id))

    @api("POST", "/api/broadcasts")
    def create_broadcast(self, request):
        """Play now; an emergency without ``confirm`` is a 409 naming what it would interrupt."""
        data, commune_id = self._broadcast_scope(request, schemas.BroadcastSchema, body=True)
        return json_response(self.broadcast.create_broadcast(data, commune_id=commune_id), 201)

    @api("GET", "/api/broadcasts/<broadcast_id>")
    def get_broadcast(self, request, broadcast_id):
        _, commune_id = self._broadcast_scope(request)
        return json_response(self.broadcast.get_broadcast(broadcast_id, commune_id=commune_id))

    @api("POST", "/api/broadcasts/<broadcast_id>/schedule")
    def schedule_broadcast(self, request, broadcast_id):
        data, commune_id = self._broadcast_scope(request, schemas.ScheduleBroadcastSchema, body=True)
        return json_response(self.broadcast.schedule_broadcast(broadcast_id, at=data["at"], target=data["target"],
                                                               commune_id=commune_id))

    @api("POST", "/api/broadcasts/<broadcast_id>/order")
    def order_bulletin(self, request, broadcast_id):
        data, commune_id = self._broadcast_scope(request, schemas.OrderSchema, body=True)
        return json_response(self.broadcast.order_bulletin(broadcast_id, data["placement"], commune_id=commune_id))

    @api("POST", "/api/broadcasts/<broadcast_id>/cancel")
    def cancel_broadcast(self, request, broadcast_id):
        data, commune_id = self._broadcast_scope(request, schemas.CancelSchema, body=True)
        return json_response(self.broadcast.cancel_broadcast(broadcast_id, reason=data["reason"],
                                                             commune_id=commune_id))

    @api("POST", "/api/volume")
    def set_volume(self, request):
        """Set the volume of a target's loudspeakers (one command for all of them)."""
        data, commune_id = self._broadcast_scope(request, schemas.VolumeSchema, body=True)
        return json_response(self.broadcast.set_volume(data["target"], data["volume"], commune_id=commune_id))

    @api("POST", "/api/bulletins")
    def receive_bulletin(self, request):
        """A bulletin of the source system; the same (source, external_id) again is the same broadcast."""
        data, commune_id = self._broadcast_scope(request, schemas.BulletinSchema, body=True)
        return json_response(self.broadcast.receive_bulletin(data, commune_id=commune_id))

    @api("POST", "/api/cap")
    def ingest_cap(self, request):
        """A CAP 1.2 alert as the body (XML, at most 256 KiB): 201 when it created a broadcast."""
        _, commune_id = self._broadcast_scope(request)
        result = self.broadcast.ingest_cap(forms.cap_body(request), commune_id=commune_id)
        return json_response(result, 201 if result.get("action") == "created" else 200)

    @api("GET", "/api/plays")
    def play_log(self, request):
        filters, commune_id = self._broadcast_scope(request, schemas.PlayLogQuerySchema)
        return json_response(self.broadcast.play_log(filters, commune_id=commune_id))

    @api("GET", "/api/broadcast-hours")
    def broadcast_hours(self, request):
        """Hours on air per Vietnamese day, village and device; today unless given."""
        data, commune_id = self._broadcast_scope(request, schemas.HoursQuerySchema)
        today = local_today().isoformat()
        return json_response(self.broadcast.broadcast_hours(data["start"] or today, data["end"] or data["start"]
                                                            or today, commune_id=commune_id))

    # --- console ----------------------------------------------------------------------------

    def _broadcast_context(self, request, roles=domain.READ_ROLES):
        """``(identity, commune, lang)`` of a broadcasting page, or None while a
        district administrator has not picked a commune."""
        identity, commune = self._page_context(request, roles)
        if commune is None:
            return None
        return identity, commune, console.request_language(request, identity.user)

    def _broadcast_render(self, request, identity, template, commune, lang, section, **context):
        """A broadcasting page: the section's own navigation, the service's
        codes, and times and numbers in the reader's language."""
        now = utcnow()
        caller = identity.caller
        formats = {"ago": partial(device_views.ago, now=now, lang=lang),
                   "number": lambda value, digits=1: device_views.number(value, lang, digits),
                   "percent": partial(device_views.percent, lang=lang),
                   "clock": broadcast_views.clock, "wall_time": broadcast_views.wall_time,
                   "when": partial(broadcast_views.describe_when, lang=lang),
                   "target": lambda target, zone_names=None: broadcast_views.describe_target(
                       target, zone_names or {}, lang)}
        return self._render(request, identity, template, "broadcasts", commune, fmt=formats, section=section,
                            levels=broadcast_views.LEVELS, states=broadcast_views.STATES,
                            delivery_states=broadcast_views.DELIVERY_STATES, origins=broadcast_views.ORIGINS,
                            broadcast_kinds=broadcast_views.BROADCAST_KINDS, item_kinds=broadcast_views.ITEM_KINDS,
                            priorities=broadcast_views.PRIORITIES, weekdays=broadcast_views.WEEKDAYS,
                            can_operate=caller.has_any(*broadcast_views.OPERATE_ROLES),
                            can_send=caller.has_any(*broadcast_views.SENDER_ROLES),
                            can_receive=caller.has_any(*broadcast_views.BULLETIN_ROLES),
                            village_names=_village_names(commune), villages=commune.get("villages", []),
                            **context)

    def _broadcast_link(self, identity, commune, broadcast_id):
        return console.link(identity.caller, commune, f"/broadcasts/{quote(broadcast_id, safe='')}")

    def _programme_link(self, identity, commune, programme_id):
        return console.link(identity.caller, commune, f"/programmes/{quote(programme_id, safe='')}")

    def _devices_of(self, commune):
        return self.telemetry.list_devices({"commune_id": commune["_id"]})

    @page("GET", "/broadcasts")
    def broadcasts_page(self, request):
        """The inbox of bulletins by level, those that clash with the commune's
        own items, and the recent broadcasts with their state."""
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        commune_id = commune["_id"]
        waiting = self.broadcast.list_broadcasts({"state": "inbox"}, commune_id=commune_id)
        clashing = self.broadcast.list_broadcasts({"state": "needs_order"}, commune_id=commune_id)
        recent = self.broadcast.list_broadcasts({"limit": broadcast_views.RECENT_BROADCASTS}, commune_id=commune_id)
        return self._broadcast_render(
            request, identity, "broadcasts.html", commune, lang, "broadcasts",
            inbox=broadcast_views.inbox(waiting["items"], waiting.get("inbox") or {}), clashing=clashing["items"],
            recent=broadcast_views.newest_first([item for item in recent["items"]
                                                 if item["state"] not in ("inbox", "needs_order")]),
            actions=partial(broadcast_views.actions, caller=identity.caller),
            here_link=console.link(identity.caller, commune, "/broadcasts"))

    @page("GET", "/broadcasts/<broadcast_id>")
    def broadcast_page(self, request, broadcast_id):
        """A broadcast's delivery, device by device; reloads itself every two seconds while it is sending."""
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        broadcast = self.broadcast.get_broadcast(broadcast_id, commune_id=commune["_id"])
        live = broadcast["state"] == "sending"
        return self._broadcast_render(
            request, identity, "broadcast.html", commune, lang, "broadcasts", broadcast=broadcast,
            actions=partial(broadcast_views.actions, caller=identity.caller),
            refresh=broadcast_views.LIVE_REFRESH_SECONDS if live else None,
            here_link=self._broadcast_link(identity, commune, broadcast_id))

    @page("POST", "/broadcasts/<broadcast_id>/<any(schedule, order, cancel):step>")
    def broadcast_step_submit(self, request, broadcast_id, step):
        """Schedule an inbox bulletin (now or at a time), order a clashing one, or cancel."""
        context = self._broadcast_context(request, broadcast_views.SENDER_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        back = safe_next(request.form.get("next"), default=self._broadcast_link(identity, commune, broadcast_id))

        def act():
            values = {key: value for key, value in forms.form_values(request).items() if key != "next"}
            if step == "schedule":
                data = load(schemas.ScheduleBroadcastSchema, {"at": forms.wall_time(values.get("at"))})
                return self.broadcast.schedule_broadcast(broadcast_id, at=data["at"], target=None,
                                                         commune_id=commune["_id"])
            if step == "order":
                data = load(schemas.OrderSchema, values)
                return self.broadcast.order_bulletin(broadcast_id, data["placement"], commune_id=commune["_id"])
            data = load(schemas.CancelSchema, values)
            return self.broadcast.cancel_broadcast(broadcast_id, reason=data["reason"], commune_id=commune["_id"])

        def done(broadcast):
            if step == "schedule" and broadcast.get("state") == "scheduled":
                return i18n.t("broadcast.step.scheduled_at", lang, title=broadcast["title"],
                              time=console.local_time(broadcast.get("scheduled_at")))
            if step == "order":
                return i18n.t(f"broadcast.step.order_{broadcast.get('order') or request.form.get('placement')}",
                              lang, title=broadcast["title"])
            return i18n.t(f"broadcast.step.{step}", lang, title=broadcast["title"])

        return self._after_form(back, act, done)

    # --- console: play now, and an emergency's confirmation ---------------------------------

    def _broadcast_form(self, request, identity, commune, lang, values, error=None):
        return self._broadcast_render(
            request, identity, "broadcast_new.html", commune, lang, "new",
            status=error.status if error else 200, error=error.message if error else None, values=values,
            offered_levels=broadcast_views.offered_levels(identity.caller),
            zones=self.broadcast.list_zones(commune_id=commune["_id"]), devices=self._devices_of(commune))

    @page("GET", "/broadcasts/new")
    def broadcast_new_page(self, request):
        context = self._broadcast_context(request, broadcast_views.SENDER_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        levels = broadcast_views.offered_levels(identity.caller)
        values = {"title": "", "text": "", "content_id": "", "media_url": "", "kind": "audio", "level": levels[0],
                  "duration_seconds": "", "repeat": "1", "expires_in_minutes": "60", "commune": True, "zones": [],
                  "devices": []}
        return self._broadcast_form(request, identity, commune, lang, values)

    @page("POST", "/broadcasts/new")
    def broadcast_new_submit(self, request):
        """Play now. The service answers an emergency sent without ``confirm``
        with what it would interrupt: a page says so and sends it again, confirmed."""
        context = self._broadcast_context(request, broadcast_views.SENDER_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        values = forms.broadcast_values(request)
        if request.form.get("back"):
            return self._broadcast_form(request, identity, commune, lang, values)
        data = {}
        try:
            data = forms.broadcast_request(request)
            broadcast = self.broadcast.create_broadcast(data, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            refusal = form_refusal(err)
            devices = self._devices_of(commune) if refusal.status == 409 else []
            asked = broadcast_views.confirmation(refusal, data, devices)
            if asked is None:
                return self._broadcast_form(request, identity, commune, lang, values, refusal)
            return self._broadcast_render(request, identity, "broadcast_confirm.html", commune, lang, "new",
                                          values=values, confirmation=asked)
        response = redirect(self._broadcast_link(identity, commune, broadcast["broadcast_id"]))
        self.cookies.set_flash(response, "ok", i18n.t("broadcast.created", lang, title=broadcast["title"],
                                                      count=broadcast.get("device_count", 0)))
        return response

    # --- console: CAP alerts --------------------------------------------------------------

    def _cap_page(self, request, identity, commune, lang, status=200, **context):
        for key in ("result", "error"):
            context.setdefault(key, None)
        context.setdefault("pasted", "")
        return self._broadcast_render(request, identity, "broadcast_cap.html", commune, lang, "cap", status=status,
                                      **context)

    @page("GET", "/broadcasts/cap")
    def cap_page(self, request):
        context = self._broadcast_context(request, broadcast_views.BULLETIN_ROLES)
        if context is None:
            return redirect("/")
        return self._cap_page(request, *context)

    @page("POST", "/broadcasts/cap", uploads=True)
    def cap_submit(self, request):
        """A pasted or uploaded CAP alert, and what it did: created, updated, cancelled or ignored."""
        context = self._broadcast_context(request, broadcast_views.BULLETIN_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            result = self.broadcast.ingest_cap(forms.cap_document(request), commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            refusal = form_refusal(err)
            return self._cap_page(request, identity, commune, lang, status=refusal.status, error=refusal.message,
                                  pasted=request.form.get("xml", ""))
        return self._cap_page(request, identity, commune, lang, result=result)

    # --- console: programmes ----------------------------------------------------------------

    @page("GET", "/programmes")
    def programmes_page(self, request):
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        zones = self.broadcast.list_zones(commune_id=commune["_id"])
        programmes = sorted(self.broadcast.list_programmes(commune_id=commune["_id"]),
                            key=lambda programme: (programme.get("next_at") is None, programme.get("next_at") or "",
                                                   programme.get("name") or ""))
        return self._broadcast_render(request, identity, "programmes.html", commune, lang, "programmes",
                                      programmes=programmes, zone_names=_zone_names(zones))

    def _programme_editor(self, request, identity, commune, lang, values, programme=None, error=None):
        """The editor: a new programme (``programme`` None) or a stored one; after a refusal, what was written."""
        return self._broadcast_render(
            request, identity, "programme.html", commune, lang, "programmes",
            status=error.status if error else 200, error=error.message if error else None,
            clashes=(error.details or {}).get("clashes") if error else None, values=values, programme=programme,
            zones=self.broadcast.list_zones(commune_id=commune["_id"]), devices=self._devices_of(commune))

    @page("GET", "/programmes/new")
    def programme_new_page(self, request):
        context = self._broadcast_context(request, broadcast_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        return self._programme_editor(request, identity, commune, lang,
                                      broadcast_views.new_programme_values(local_today()))

    @page("GET", "/programmes/<programme_id>")
    def programme_page(self, request, programme_id):
        """A programme in its editor (read only for those who do not operate), with its next occurrences."""
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        programme = self.broadcast.get_programme(programme_id, commune_id=commune["_id"])
        return self._programme_editor(request, identity, commune, lang,
                                      broadcast_views.programme_values(programme, local_today()), programme)

    @page("POST", "/programmes/new")
    def programme_create_submit(self, request):
        return self._save_programme(request, None)

    @page("POST", "/programmes/<programme_id>")
    def programme_save_submit(self, request, programme_id):
        return self._save_programme(request, programme_id)

    def _save_programme(self, request, programme_id):
        """Save, then to the programme with its notice (how clashes with other
        priorities are ordered); a refusal shows the editor again with the
        clashes that made it."""
        context = self._broadcast_context(request, broadcast_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            programme = forms.programme_request(
                request, programme_id or broadcast_views.new_programme_id(request.form.get("name", "")))
            saved = self.broadcast.save_programme(programme, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            current = None
            if programme_id:
                current = self.broadcast.get_programme(programme_id, commune_id=commune["_id"])
            return self._programme_editor(request, identity, commune, lang, forms.programme_values(request),
                                          current, form_refusal(err))
        stored = saved["programme"]
        response = redirect(self._programme_link(identity, commune, stored["id"]))
        message = i18n.t("programme.saved", lang, name=stored["name"])
        if saved.get("notice"):
            message = domain.shorten(f"{message} {saved['notice']}", FLASH_LENGTH)
        self.cookies.set_flash(response, "ok", message)
        return response

    @page("POST", "/programmes/<programme_id>/delete")
    def programme_delete_submit(self, request, programme_id):
        context = self._broadcast_context(request, broadcast_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        name = request.form.get("name") or programme_id
        response = redirect(console.link(identity.caller, commune, "/programmes"))
        try:
            self.broadcast.delete_programme(programme_id, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            response = redirect(self._programme_link(identity, commune, programme_id))
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        self.cookies.set_flash(response, "ok", i18n.t("programme.deleted", lang, name=name))
        return response

    @page("GET", "/calendar")
    def calendar_page(self, request):
        """A week of occurrences (Monday to Sunday, Vietnamese dates) per zone."""
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        monday = broadcast_views.week_start(request.args.get("start"), local_today())
        zone_id = request.args.get("zone_id") or None
        answer = self.broadcast.calendar(monday.isoformat(), (monday + timedelta(days=6)).isoformat(),
                                         zone_id=zone_id, commune_id=commune["_id"])
        days, rows = broadcast_views.calendar_rows(answer, monday, zone_id)
        return self._broadcast_render(
            request, identity, "calendar.html", commune, lang, "calendar", days=days, rows=rows, zone_id=zone_id,
            zones=self.broadcast.list_zones(commune_id=commune["_id"]), today=local_today(),
            previous_week=(monday - timedelta(days=7)).isoformat(), next_week=(monday + timedelta(days=7)).isoformat())

    # --- console: zones ---------------------------------------------------------------------

    @page("GET", "/zones")
    def zones_page(self, request):
        """Villages (from the device registry) and the commune's groups of devices, with the group editor."""
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        zones = self.broadcast.list_zones(commune_id=commune["_id"])
        devices = self._devices_of(commune)
        return self._broadcast_render(request, identity, "zones.html", commune, lang, "zones", zones=zones,
                                      devices=devices, device_names=_device_names(devices))

    def _zone_form(self, request, action, success):
        context = self._broadcast_context(request, broadcast_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        return self._after_form(console.link(identity.caller, commune, "/zones"), lambda: action(commune),
                                lambda result: success(result, lang))

    @page("POST", "/zones")
    def zone_save_submit(self, request):
        """A group created, or replaced with the same id."""
        def save(commune):
            return self.broadcast.save_zone(forms.zone_request(request), commune_id=commune["_id"])

        return self._zone_form(request, save, lambda zone, lang: i18n.t(
            "zones.saved", lang, name=zone["name"], count=zone.get("device_count", len(zone.get("device_ids", ())))))

    @page("POST", "/zones/<zone_id>/delete")
    def zone_delete_submit(self, request, zone_id):
        def delete(commune):
            return self.broadcast.delete_zone(zone_id, commune_id=commune["_id"])

        return self._zone_form(request, delete, lambda _, lang: i18n.t(
            "zones.deleted", lang, name=request.form.get("name") or zone_id))

    # --- console: proof of play -----------------------------------------------------------

    @page("GET", "/plays")
    def plays_page(self, request):
        """A day's play log (by device or village) and its broadcast hours per village and for the commune."""
        context = self._broadcast_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        chosen = {key: value.strip() for key, value in query(request).items() if key in PLAY_FILTERS}
        day = chosen["date"] = broadcast_views.day_or_today(chosen.get("date"), local_today())
        log = self.broadcast.play_log(dict(chosen, limit=PLAY_LOG_LIMIT), commune_id=commune["_id"])
        hours = self.broadcast.broadcast_hours(day, day, commune_id=commune["_id"])
        devices = self._devices_of(commune)
        return self._broadcast_render(
            request, identity, "plays.html", commune, lang, "plays", filters=chosen, plays=log["items"],
            hours=broadcast_views.day_hours(hours, day, commune.get("villages", [])), devices=devices,
            device_names=_device_names(devices),
            limit=PLAY_LOG_LIMIT)


def _village_names(commune):
    return {village["id"]: village["name"] for village in commune.get("villages", ())}


def _device_names(devices):
    return {device["device_id"]: device.get("name") or device["device_id"] for device in devices}


def _zone_names(zones):
    return {zone["id"]: zone["name"] for zone in zones}

