"""The gateway's device and alarm routes (thiết bị, cảnh báo): the JSON API
over the telemetry service's RPC (services/telemetry/API.md), the console's
device list and map, device page, alarms and provisioning pages, and the
telemetry events of the activity feed.

``DeviceRoutes`` is a mixin of ``GatewayService`` (nameko finds entrypoints
and dependencies on base classes), the first piece split out of service.py.
It relies on the service's authentication (``_authenticate``,
``_page_context``), layout (``_render``), form handling (``_after_form``),
``communes``, ``cookies`` and ``_record_activity``. The telemetry service
authorises every call on the caller it receives (who may register,
provision, command, acknowledge); the gateway authenticates, scopes the
commune, checks villages against the commune's and shapes the request.
"""
from collections import Counter
from datetime import timedelta
from functools import partial
from urllib.parse import quote

from shared.errors import load
from shared.handlers import event_handler
from shared.timeutil import iso, utcnow

from services.gateway import console, device_views, domain, forms, i18n, schemas
from services.gateway.entrypoints import EXPECTED_EXCEPTIONS, api, form_refusal, page
from services.gateway.rpc import TimedRpcProxy
from services.gateway.web import json_response, query, read_json, redirect, safe_next

DEVICE_LIST_FILTERS = ("village", "kind", "presence")
ALARM_LIST_FILTERS = ("status", "severity", "device_id")
# the device page's telemetry: the last day sample by sample, or a month hour by hour
CHART_PERIODS = {"24h": (timedelta(hours=24), "raw"), "30d": (timedelta(days=30), "hourly")}
CONNECTION_HISTORY = timedelta(days=30)
UPTIME_DAYS = (7, 30)
DEVICE_PAGE_ALARMS = 20
# where installers point devices: DEVICES_PUBLIC_HOST (else the host the
# console was reached on) and DEVICELINK_PUBLIC_PORT (else the edge's default)
DEVICELINK_PORT = 50051


class DeviceRoutes:
    telemetry = TimedRpcProxy("telemetry")

    # --- activity feed, from the telemetry service's events -----------------------------

    def _record_device_activity(self, kind, event):
        """An entry naming the device's village as the commune calls it then."""
        communes = self.communes.list(event["commune_id"])
        villages = {v["id"]: v["name"] for v in communes[0].get("villages", ())} if communes else {}
        self._record_activity(kind, dict(event, village_name=villages.get(event.get("village"))))

    @event_handler("telemetry", "device_registered")
    def on_device_registered(self, event):
        self._record_device_activity("device_registered", event)

    @event_handler("telemetry", "device_provisioned")
    def on_device_provisioned(self, event):
        self._record_device_activity("device_provisioned", event)

    @event_handler("telemetry", "credential_revoked")
    def on_credential_revoked(self, event):
        self._record_device_activity("credential_revoked", event)

    @event_handler("telemetry", "device_status_reported")
    def on_device_status_reported(self, event):
        self._record_device_activity("device_status_reported", event)

    @event_handler("telemetry", "alarm_raised")
    def on_alarm_raised(self, event):
        self._record_device_activity("alarm_raised", event)

    @event_handler("telemetry", "alarm_cleared")
    def on_alarm_cleared(self, event):
        self._record_device_activity("alarm_cleared", event)

    # --- HTTP API -------------------------------------------------------------------------

    def _device_caller(self, request):
        return self._authenticate(request).caller.require(*domain.READ_ROLES)

    def _commune_of(self, request, schema=schemas.CommuneQuerySchema, body=False):
        """``(data, commune_id)`` of a request whose only fields ``schema`` loads
        from the query string or, with ``body``, the JSON body."""
        caller = self._device_caller(request)
        data = load(schema, read_json(request) if body else query(request))
        return data, caller.commune_for(data["commune_id"])

    @api("GET", "/api/devices")
    def list_devices(self, request):
        data, commune_id = self._commune_of(request, schemas.DeviceQuerySchema)
        return json_response({"items": self.telemetry.list_devices(dict(data, commune_id=commune_id))})

    @api("POST", "/api/devices")
    def register_device(self, request):
        caller = self._device_caller(request)
        data = load(schemas.DeviceSchema, read_json(request))
        commune = self.communes.get(caller.commune_for(data["commune_id"]))
        device_views.check_village(commune, data.get("village"))
        return json_response(self.telemetry.register_device(dict(data, commune_id=commune["_id"])), 201)

    @api("GET", "/api/devices/<device_id>")
    def get_device(self, request, device_id):
        _, commune_id = self._commune_of(request)
        return json_response(self.telemetry.get_device(device_id, commune_id=commune_id))

    @api("PATCH", "/api/devices/<device_id>")
    def update_device(self, request, device_id):
        """Only the fields given change; a village must be one of the commune's."""
        caller = self._device_caller(request)
        changes = load(schemas.DeviceUpdateSchema, read_json(request))
        commune_id = caller.commune_for(changes.pop("commune_id"))
        return json_response(self._update_device(device_id, changes, commune_id))

    def _update_device(self, device_id, changes, commune_id):
        if "village" in changes:
            device_views.check_village(self.communes.get(commune_id), changes["village"])
        return self.telemetry.update_device(device_id, changes, commune_id=commune_id)

    @api("POST", "/api/devices/import", uploads=True)
    def import_devices(self, request):
        """A device list (CSV) previewed row by row, or imported with ``confirm``: 201 when devices were created."""
        caller = self._device_caller(request)
        data = forms.device_import(request)
        commune = self.communes.get(caller.commune_for(data["commune_id"]))
        result = self._import_devices(commune, data["csv"], data["confirm"])
        return json_response(result, 201 if result.get("created") else 200)

    def _import_devices(self, commune, csv_text, confirm):
        """The telemetry service's preview or import; a list naming villages
        the commune does not have is only previewed, with those rows' problems."""
        villages = commune.get("villages", [])
        unknown = device_views.unknown_villages(csv_text, villages)
        result = self.telemetry.import_devices(csv_text, confirm=confirm and not unknown, commune_id=commune["_id"])
        return device_views.with_village_problems(result, unknown, villages) if unknown else result

    @api("POST", "/api/devices/<device_id>/provisioning-code")
    def issue_provisioning_code(self, request, device_id):
        """A one-time code a gRPC device exchanges for its credential; shown this once."""
        _, commune_id = self._commune_of(request, body=True)
        return json_response(self.telemetry.issue_provisioning_code(device_id, commune_id=commune_id), 201)

    @api("POST", "/api/devices/<device_id>/mqtt-credential")
    def issue_mqtt_credential(self, request, device_id):
        """An MQTT device's broker login (replacing any earlier one); shown this once."""
        _, commune_id = self._commune_of(request, body=True)
        return json_response(self.telemetry.issue_mqtt_credential(device_id, commune_id=commune_id), 201)

    @api("POST", "/api/devices/<device_id>/revoke")
    def revoke_device_credentials(self, request, device_id):
        data, commune_id = self._commune_of(request, schemas.RevokeSchema, body=True)
        return json_response(self.telemetry.revoke_credentials(device_id, reason=data["reason"],
                                                               commune_id=commune_id))

    @api("POST", "/api/devices/<device_id>/commands")
    def send_device_command(self, request, device_id):
        """A test command; 202, since the device answers later (``delivered``
        false: no edge has the device connected)."""
        data, commune_id = self._commune_of(request, schemas.CommandSchema, body=True)
        return json_response(self.telemetry.send_command(device_id, data["kind"], data["params"],
                                                         commune_id=commune_id), 202)

    @api("GET", "/api/devices/<device_id>/telemetry")
    def device_telemetry(self, request, device_id):
        data, commune_id = self._commune_of(request, schemas.TelemetryQuerySchema)
        return json_response(self.telemetry.get_telemetry(device_id, start=data["start"], end=data["end"],
                                                          resolution=data["resolution"], commune_id=commune_id))

    @api("GET", "/api/devices/<device_id>/connections")
    def device_connections(self, request, device_id):
        data, commune_id = self._commune_of(request, schemas.PeriodQuerySchema)
        return json_response({"items": self.telemetry.connection_history(
            device_id, start=data["start"], end=data["end"], commune_id=commune_id)})

    @api("GET", "/api/uptime")
    def uptime(self, request):
        """The share of time online per device, village and commune; the last 7 days unless a period is given."""
        data, commune_id = self._commune_of(request, schemas.UptimeQuerySchema)
        if data["start"] is None and data["end"] is None:
            data["start"], data["end"] = _last_days(UPTIME_DAYS[0], utcnow())
        return json_response(self.telemetry.get_uptime(data["start"], data["end"], commune_id=commune_id))

    @api("GET", "/api/alarms")
    def list_alarms(self, request):
        data, commune_id = self._commune_of(request, schemas.AlarmQuerySchema)
        return json_response({"items": self.telemetry.list_alarms(dict(data, commune_id=commune_id))})

    @api("POST", "/api/alarms/<alarm_id>/acknowledge")
    def acknowledge_alarm(self, request, alarm_id):
        """"I'm on it": an open alarm becomes acknowledged."""
        data, commune_id = self._commune_of(request, schemas.AlarmNoteSchema, body=True)
        return json_response(self.telemetry.acknowledge_alarm(alarm_id, note=data["note"], commune_id=commune_id))

    @api("POST", "/api/alarms/<alarm_id>/clear")
    def clear_alarm(self, request, alarm_id):
        data, commune_id = self._commune_of(request, schemas.AlarmNoteSchema, body=True)
        return json_response(self.telemetry.clear_alarm(alarm_id, note=data["note"], commune_id=commune_id))

    @api("GET", "/api/alarm-rules")
    def list_alarm_rules(self, request):
        _, commune_id = self._commune_of(request)
        return json_response({"items": self.telemetry.list_alarm_rules(commune_id=commune_id)})

    @api("PATCH", "/api/alarm-rules/<rule>")
    def set_alarm_rule(self, request, rule):
        changes, commune_id = self._commune_of(request, schemas.AlarmRuleSchema, body=True)
        changes.pop("commune_id")
        return json_response(self.telemetry.set_alarm_rule(rule, changes, commune_id=commune_id))

    # --- console ----------------------------------------------------------------------------

    def _device_context(self, request, roles=domain.READ_ROLES):
        """``(identity, commune, lang)`` of a device page, or None while a
        district administrator has not picked a commune."""
        identity, commune = self._page_context(request, roles)
        if commune is None:
            return None
        return identity, commune, console.request_language(request, identity.user)

    def _device_render(self, request, identity, template, commune, lang, active="devices", **context):
        """A device page, with the telemetry codes and the formatting of
        numbers and times in the reader's language."""
        now = utcnow()
        formats = {"ago": partial(device_views.ago, now=now, lang=lang),
                   "number": lambda value, digits=1: device_views.number(value, lang, digits),
                   "percent": partial(device_views.percent, lang=lang),
                   "span": lambda start, end: device_views.span(start, end or iso(now), lang)}
        return self._render(request, identity, template, active, commune, fmt=formats,
                            device_kinds=device_views.DEVICE_KINDS, presences=device_views.PRESENCES,
                            transports=device_views.TRANSPORTS, severities=device_views.SEVERITIES,
                            alarm_statuses=device_views.ALARM_STATUSES, presence=device_views.presence,
                            sample_of=device_views.sample,
                            can_operate=identity.caller.has_any(*device_views.OPERATE_ROLES),
                            villages=commune.get("villages", []), **context)

    @page("GET", "/devices")
    def devices_page(self, request):
        """The commune's devices by village, with their state and open alarms, and the map."""
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        commune_id = commune["_id"]
        filters = {k: v.strip() for k, v in query(request).items() if k in DEVICE_LIST_FILTERS}
        devices = self.telemetry.list_devices(dict(filters, commune_id=commune_id))
        alarms = self.telemetry.list_alarms({"status": "active", "commune_id": commune_id})
        uptime = self.telemetry.get_uptime(*_last_days(UPTIME_DAYS[0], utcnow()), commune_id=commune_id)
        return self._device_render(
            request, identity, "devices.html", commune, lang, filters=filters, devices=devices,
            groups=device_views.village_groups(devices, commune.get("villages", [])),
            device_map=device_views.device_map(devices), alarm_counts=device_views.open_alarm_counts(alarms),
            open_alarms=len(alarms), totals=Counter(device_views.presence(d) for d in devices),
            village_uptime=uptime["villages"], uptime_days=UPTIME_DAYS[0])

    @page("GET", "/devices/<device_id>")
    def device_page(self, request, device_id):
        """One device: registry, credential, latest sample, charts, connections, uptime, alarms, actions."""
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        commune_id = commune["_id"]
        device = self.telemetry.get_device(device_id, commune_id=commune_id)
        period = request.args.get("period") if request.args.get("period") in CHART_PERIODS else "24h"
        length, resolution = CHART_PERIODS[period]
        now = utcnow()
        series = self.telemetry.get_telemetry(device_id, start=iso(now - length), end=iso(now),
                                              resolution=resolution, commune_id=commune_id)
        connections = self.telemetry.connection_history(device_id, start=iso(now - CONNECTION_HISTORY),
                                                        end=iso(now), commune_id=commune_id)
        uptime = {days: device_views.device_uptime(
            self.telemetry.get_uptime(*_last_days(days, now), commune_id=commune_id), device_id)
            for days in UPTIME_DAYS}
        alarms = self.telemetry.list_alarms({"device_id": device_id, "status": "all", "commune_id": commune_id})
        return self._device_render(
            request, identity, "device.html", commune, lang, device=device, period=period,
            periods=tuple(CHART_PERIODS), charts=device_views.charts(
                series["points"], now - length, now, series["resolution"], lang),
            connections=connections, uptime=uptime, alarms=alarms[:DEVICE_PAGE_ALARMS],
            more_alarms=len(alarms) > DEVICE_PAGE_ALARMS, village_names=_village_names(commune))

    def _device_link(self, identity, commune, device_id):
        return console.link(identity.caller, commune, f"/devices/{quote(device_id, safe='')}")

    def _device_form(self, request, device_id, action, success):
        """A form of the device page (or of the provisioning page, which names
        itself in ``next``): ``action(values, commune)`` acts, then back with
        ``success(result, lang)`` or the refusal."""
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        back = safe_next(request.form.get("next"), default=self._device_link(identity, commune, device_id))
        return self._after_form(back, lambda: action(forms.form_values(request), commune),
                                lambda result: success(result, lang))

    @page("POST", "/devices/<device_id>/edit")
    def device_edit_submit(self, request, device_id):
        def edit(values, commune):
            return self._update_device(device_id, forms.device_changes(request), commune["_id"])

        return self._device_form(request, device_id, edit, lambda device, lang: i18n.t(
            "device.saved", lang, name=device.get("name") or device_id))

    @page("POST", "/devices/<device_id>/revoke")
    def device_revoke_submit(self, request, device_id):
        def revoke(values, commune):
            data = load(schemas.RevokeSchema, {k: v for k, v in values.items() if k != "next"})
            return self.telemetry.revoke_credentials(device_id, reason=data["reason"], commune_id=commune["_id"])

        return self._device_form(request, device_id, revoke,
                                 lambda _, lang: i18n.t("credential.revoked", lang, device=device_id))

    @page("POST", "/devices/<device_id>/commands")
    def device_command_submit(self, request, device_id):
        """A test command; when no edge has the device connected, the page says so as an error."""
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        response = redirect(self._device_link(identity, commune, device_id))
        try:
            command = forms.device_command(forms.form_values(request))
            sent = self.telemetry.send_command(device_id, command["kind"], command["params"],
                                               commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        what = i18n.t(f"command.{command['kind']}", lang, **command["params"])
        if sent.get("delivered"):
            self.cookies.set_flash(response, "ok", i18n.t("command.delivered", lang, what=what))
        else:
            self.cookies.set_flash(response, "error", i18n.t("command.not_delivered", lang, what=what))
        return response

    @page("POST", "/devices/<device_id>/provisioning-code")
    def device_code_submit(self, request, device_id):
        return self._issue(request, device_id, "provisioning-code")

    @page("POST", "/devices/<device_id>/mqtt-credential")
    def device_mqtt_submit(self, request, device_id):
        return self._issue(request, device_id, "mqtt-credential")

    def _issue(self, request, device_id, what):
        """The code or MQTT login, on a page of its own: it is shown this once
        (never put in a cookie or a redirect), with what the installer does with it."""
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        issue = self.telemetry.issue_provisioning_code if what == "provisioning-code" \
            else self.telemetry.issue_mqtt_credential
        try:
            device = self.telemetry.get_device(device_id, commune_id=commune["_id"])
            issued = issue(device_id, commune_id=commune["_id"])
        except EXPECTED_EXCEPTIONS as err:
            response = redirect(safe_next(request.form.get("next"),
                                          default=self._device_link(identity, commune, device_id)))
            self.cookies.set_flash(response, "error", form_refusal(err).message)
            return response
        host = self.config.get("DEVICES_PUBLIC_HOST") or request.host.rsplit(":", 1)[0]
        port = self.config.get("DEVICELINK_PUBLIC_PORT") or DEVICELINK_PORT
        return self._device_render(request, identity, "device_provisioning.html", commune, lang, mode="issued",
                                   device=device, issued=issued, what=what, host=host, devicelink=f"{host}:{port}")

    # --- console: alarms ---------------------------------------------------------------------

    @page("GET", "/alarms")
    def alarms_page(self, request):
        """Active alarms newest first (or as filtered), with acknowledge and clear forms, and the rules."""
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        commune_id = commune["_id"]
        filters = {k: v.strip() for k, v in query(request).items() if k in ALARM_LIST_FILTERS}
        filters.setdefault("status", "active")
        alarms = self.telemetry.list_alarms(dict(filters, commune_id=commune_id))
        return self._device_render(request, identity, "alarms.html", commune, lang, active="alarms",
                                   filters=filters, alarms=alarms, village_names=_village_names(commune),
                                   rules=self.telemetry.list_alarm_rules(commune_id=commune_id),
                                   here_link=console.link(identity.caller, commune, "/alarms", **filters))

    def _alarm_form(self, request, action, success):
        context = self._device_context(request)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        back = safe_next(request.form.get("next"), default=console.link(identity.caller, commune, "/alarms"))
        return self._after_form(back, lambda: action(forms.form_values(request), commune),
                                lambda result: success(result, lang))

    @page("POST", "/alarms/<alarm_id>/<any(acknowledge, clear):step>")
    def alarm_step_submit(self, request, alarm_id, step):
        def act(values, commune):
            data = load(schemas.AlarmNoteSchema, {k: v for k, v in values.items() if k != "next"})
            method = self.telemetry.acknowledge_alarm if step == "acknowledge" else self.telemetry.clear_alarm
            return method(alarm_id, note=data["note"], commune_id=commune["_id"])

        done = {"acknowledge": "alarm.acknowledged", "clear": "alarm.cleared"}[step]
        return self._alarm_form(request, act, lambda alarm, lang: i18n.t(
            done, lang, rule=i18n.label("alarm_rule", alarm["rule"], lang), device=alarm["device_id"]))

    @page("POST", "/alarms/rules/<rule>")
    def alarm_rule_submit(self, request, rule):
        def change(values, commune):
            return self.telemetry.set_alarm_rule(rule, forms.alarm_rule_changes(request), commune_id=commune["_id"])

        return self._alarm_form(request, change, lambda _, lang: i18n.t(
            "alarm_rules.saved", lang, rule=i18n.label("alarm_rule", rule, lang)))

    # --- console: provisioning (register, import, codes) ----------------------------------

    def _provisioning(self, request, identity, commune, lang, values=None, error=None, mode="forms", **context):
        """The provisioning page: its forms (again with ``values`` and the
        refusal after one), or an import's preview."""
        devices = self.telemetry.list_devices({"commune_id": commune["_id"]})
        return self._device_render(request, identity, "device_provisioning.html", commune, lang,
                                   status=error.status if error else 200, error=error.message if error else None,
                                   mode=mode, values=values or {}, devices=devices, **context)

    @page("GET", "/devices/provisioning")
    def provisioning_page(self, request):
        context = self._device_context(request, device_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        return self._provisioning(request, *context)

    @page("POST", "/devices/provisioning/register")
    def provisioning_register_submit(self, request):
        """Register one device, then to its page (where its code is issued)."""
        context = self._device_context(request, device_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        values = forms.form_values(request)
        try:
            data = load(schemas.DeviceSchema, values)
            device_views.check_village(commune, data.get("village"))
            device = self.telemetry.register_device(dict(data, commune_id=commune["_id"]))
        except EXPECTED_EXCEPTIONS as err:
            return self._provisioning(request, identity, commune, lang, values, form_refusal(err))
        response = redirect(self._device_link(identity, commune, device["device_id"]))
        self.cookies.set_flash(response, "ok", i18n.t("provisioning.registered", lang,
                                                      name=device.get("name") or device["device_id"]))
        return response

    @page("POST", "/devices/provisioning/import", uploads=True)
    def provisioning_import_submit(self, request):
        """The list's rows as the import would take them: nothing is written yet."""
        context = self._device_context(request, device_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            data = forms.device_import(request)
            result = self._import_devices(commune, data["csv"], confirm=False)
        except EXPECTED_EXCEPTIONS as err:
            return self._provisioning(request, identity, commune, lang, error=form_refusal(err))
        return self._provisioning(request, identity, commune, lang, mode="preview", result=result,
                                  csv_b64=forms.carried_csv(data["csv"]))

    @page("POST", "/devices/provisioning/import/confirm")
    def provisioning_confirm_submit(self, request):
        """The previewed list, imported; should it no longer be valid, its preview again."""
        context = self._device_context(request, device_views.OPERATE_ROLES)
        if context is None:
            return redirect("/")
        identity, commune, lang = context
        try:
            csv_text = forms.confirmed_csv(request.form.get("csv_b64"))
            result = self._import_devices(commune, csv_text, confirm=True)
        except EXPECTED_EXCEPTIONS as err:
            return self._provisioning(request, identity, commune, lang, error=form_refusal(err))
        if not result.get("created"):
            return self._provisioning(request, identity, commune, lang, mode="preview", result=result,
                                      csv_b64=forms.carried_csv(csv_text))
        response = redirect(console.link(identity.caller, commune, "/devices"))
        self.cookies.set_flash(response, "ok", i18n.t("provisioning.imported", lang, count=result["created"]))
        return response


def _last_days(days, now):
    return iso(now - timedelta(days=days)), iso(now)


def _village_names(commune):
    return {village["id"]: village["name"] for village in commune.get("villages", ())}


