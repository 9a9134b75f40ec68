"""The telemetry service (giám sát thiết bị): the commune's devices —
registered, given credentials, watched and measured.

The RPC and storage contract is ``API.md`` beside this file. Devices talk to
the DeviceLink edge (``edge.py``, its own process), which writes their samples
and latest state; this service turns that state into presence, connection
history, alarms, hourly roll-ups and uptime, on two timers. Every timer pass
runs on one replica at a time (a lease in ``leases``); what a pass writes is
keyed so that a pass redone after a crash changes nothing twice.
"""
import logging
from datetime import date, timedelta

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from prometheus_client import Gauge

from services.telemetry import alarms, device_import, domain, presence, rollup, uptime
from services.telemetry.repository import (AlarmRepository, AlarmRuleRepository, BucketRepository,
                                           ConnectionRepository, CredentialRepository, DeviceRepository,
                                           DeviceStateRepository, HourlyRepository,
                                           MetaRepository, ProvisioningCodeRepository, UptimeDayRepository)
from services.telemetry.schemas import (AlarmAction, AlarmFilter, Command, DeviceChanges, DeviceFilter, DeviceRef,
                                        ImportRequest, Period, RegisterDevice, Revoke, SetRule, TelemetryQuery,
                                        UpdateDevice, UptimeQuery)
from shared.broker_admin import BrokerUsers
from shared.commands import DeviceCommands
from shared.context import READ_ROLES, CallerContext
from shared.devicelink import make_command
from shared.errors import CALLER_ERRORS, Conflict, InvalidInput, load
from shared.mongo import Store
from shared.observability import Observability
from shared.timers import LeaseRepository, Replica, configured_timer, lease_seconds
from shared.timeutil import VIETNAM, iso, parse_iso, utcnow

log = logging.getLogger(__name__)

OPERATE_ROLES = domain.OPERATE_ROLES
# how far back each alarm evaluation reads before the previous pass
SETTLE = timedelta(seconds=2)
DEFAULT_SPAN = timedelta(hours=24)
MAX_UPTIME_SPAN = timedelta(days=400)
ALARM_STATUSES = {"active": alarms.ACTIVE, "open": (alarms.OPEN,), "acknowledged": (alarms.ACKNOWLEDGED,),
                  "cleared": (alarms.CLEARED,), "all": None}
# set by the replica doing the presence sweep (the others clear theirs); alerts take max by commune
DEVICES = Gauge("tinxa_devices", "Registered devices by commune and presence (online, offline; unknown: never heard "
                "from), as of the last presence sweep", ["commune_id", "state"])


class BrokerAccounts(DependencyProvider):
    """The broker users of MQTT devices (``shared.broker_admin.BrokerUsers``)."""

    def setup(self):
        self.users = BrokerUsers.from_config(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.users


def _actor(caller):
    return {"subject": caller.subject, "name": caller.name or caller.subject}


class TelemetryService:
    name = "telemetry"

    caller = CallerContext()
    config = Config()
    replica = Replica()
    deliver = DeviceCommands()
    broker = BrokerAccounts()
    devices = Store(DeviceRepository)
    states = Store(DeviceStateRepository)
    codes = Store(ProvisioningCodeRepository)
    credentials = Store(CredentialRepository)
    connections = Store(ConnectionRepository)
    alarms = Store(AlarmRepository)
    alarm_rules = Store(AlarmRuleRepository)
    buckets = Store(BucketRepository)
    hourly = Store(HourlyRepository)
    uptime_days = Store(UptimeDayRepository)
    leases = Store(LeaseRepository)
    meta = Store(MetaRepository)
    observability = Observability()

    def _device(self, roles, request, schema=DeviceRef):
        """The caller (holding one of ``roles``), the loaded request and the
        device it names, in the caller's commune."""
        caller = self.caller.current().require(*roles)
        data = load(schema, request)
        commune_id = caller.commune_for(data.pop("commune_id"))
        return caller, data, self.devices.get(commune_id, data["device_id"])

    # ------------------------------------------------------------ registry

    @rpc(expected_exceptions=CALLER_ERRORS)
    def register_device(self, request):
        caller = self.caller.current().require(*OPERATE_ROLES)
        data = load(RegisterDevice, request)
        commune_id = caller.commune_for(data.pop("commune_id"))
        device, event = domain.new_device(commune_id, data, caller.subject, utcnow())
        return domain.device_view(self.devices.add(device, [event]))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def update_device(self, device_id, changes, commune_id=None):
        _, data, device = self._device(OPERATE_ROLES, {"device_id": device_id, "changes": changes,
                                                       "commune_id": commune_id}, UpdateDevice)
        change = domain.device_update(device, load(DeviceChanges, data["changes"]), utcnow())
        return domain.device_view(device if change is None else self.devices.apply(device, change))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_device(self, device_id, commune_id=None):
        _, _, device = self._device(READ_ROLES, {"device_id": device_id, "commune_id": commune_id})
        state = self.states.get(device["commune_id"], device_id)
        open_alarms = self.alarms.active_of_device(device["commune_id"], device_id)
        return dict(domain.device_view(device), state=domain.state_view(state),
                    open_alarms=[alarms.view(a) for a in open_alarms])

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_devices(self, request=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(DeviceFilter, request or {})
        commune_id = caller.commune_for(query["commune_id"])
        states = self.states.of_commune(commune_id)
        listed = [domain.listed(d, states.get(d["device_id"]))
                  for d in sorted(self.devices.find(commune_id, query["village"], query["kind"]), key=domain.listing_order)]
        return [d for d in listed if query["presence"] in (None, d["presence"])]

    @rpc(expected_exceptions=CALLER_ERRORS)
    def import_devices(self, csv_text, confirm=False, commune_id=None):
        """Check a CSV device list; with ``confirm`` and no problem in any
        row, register every device in it."""
        caller = self.caller.current().require(*OPERATE_ROLES)
        data = load(ImportRequest, {"csv_text": csv_text, "confirm": confirm, "commune_id": commune_id})
        commune_id = caller.commune_for(data["commune_id"])
        rows, valid = device_import.check(data["csv_text"], self.devices.ids(commune_id))
        created = 0
        if data["confirm"] and len(valid) == len(rows):
            by_id = {row["device_id"]: row for row in rows}
            now = utcnow()
            for fields in valid:
                device, event = domain.new_device(commune_id, fields, caller.subject, now)
                try:
                    self.devices.add(device, [event])
                    created += 1
                except Conflict as err:  # registered by someone else since the check
                    by_id[fields["device_id"]]["problems"].append(f"device_id: {err.message}")
        invalid = sum(1 for row in rows if row["problems"])
        return {"rows": rows, "valid": len(rows) - invalid, "invalid": invalid, "created": created}

    # ------------------------------------------------------------ credentials

    @rpc(expected_exceptions=CALLER_ERRORS)
    def issue_provisioning_code(self, device_id, commune_id=None):
        """A code the installer types into a gRPC device (shown once); the
        device's unused codes stop working."""
        caller, _, device = self._device(OPERATE_ROLES, {"device_id": device_id, "commune_id": commune_id})
        now = utcnow()
        code, doc = domain.provisioning_code(device, caller.subject, now,
                                             float(self.config.get("PROVISIONING_CODE_HOURS", 72)))
        self.codes.void_pending(device["commune_id"], device_id, iso(now))
        self.codes.add(doc)
        self.devices.set_credential(device["commune_id"], device_id, domain.credential_status(
            "code_issued", device["credential"].get("credential_id"), now))
        return {"code": code, "expires_at": doc["expires_at"]}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def issue_mqtt_credential(self, device_id, commune_id=None):
        """A broker password for an MQTT device (shown once). The broker user
        is re-keyed first: the previous password stops working at once."""
        caller, _, device = self._device(OPERATE_ROLES, {"device_id": device_id, "commune_id": commune_id})
        now = utcnow()
        password, credential, event = domain.mqtt_credential(device, caller.subject, now)
        user = self.broker.grant_device(device["commune_id"], device_id, password)
        for previous in self.credentials.active(device["commune_id"], device_id):
            self.credentials.apply(previous, domain.revocation(previous, "Đã cấp tài khoản MQTT mới.",
                                                               caller.subject, now))
        self.credentials.add(credential, [event])
        self.devices.set_credential(device["commune_id"], device_id,
                                    domain.credential_status("active", credential["_id"], now))
        return {"username": self.broker.login(user), "password": password, "topic": domain.mqtt_topic(device),
                "mqtt_port": int(self.config.get("MQTT_PORT", 1884))}

    @rpc(expected_exceptions=CALLER_ERRORS)
    def revoke_credentials(self, device_id, reason="", commune_id=None):
        """Stop the device connecting: its credentials are revoked (edges end
        its streams on the events), its unused codes voided, an MQTT device's
        broker user deleted and its connections closed."""
        caller, data, device = self._device(OPERATE_ROLES, {"device_id": device_id, "reason": reason,
                                                            "commune_id": commune_id}, Revoke)
        commune_id, now = device["commune_id"], utcnow()
        revoked = [c["_id"] for c in self.credentials.active(commune_id, device_id)
                   if self.credentials.apply(c, domain.revocation(c, data["reason"], caller.subject, now))]
        voided = self.codes.void_pending(commune_id, device_id, iso(now))
        last = revoked[-1] if revoked else device["credential"].get("credential_id")
        self.devices.set_credential(commune_id, device_id, domain.credential_status("revoked", last, now))
        if device["transport"] == "mqtt":
            self.broker.remove_device(commune_id, device_id)
        return {"device_id": device_id, "revoked": revoked, "codes_voided": voided}

    # ------------------------------------------------------------ commands

    @rpc(expected_exceptions=CALLER_ERRORS)
    def send_command(self, device_id, kind, params, commune_id=None):
        _, data, device = self._device(OPERATE_ROLES, {"device_id": device_id, "kind": kind, "params": params,
                                                       "commune_id": commune_id}, Command)
        command = make_command(device["commune_id"], device_id, data["kind"], data["params"])
        return {"command_id": command["command_id"], "delivered": self.deliver(command)}

    # ------------------------------------------------------------ measurements

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_telemetry(self, device_id, start=None, end=None, resolution="auto", commune_id=None):
        _, query, device = self._device(READ_ROLES, {"device_id": device_id, "start": start, "end": end,
                                                     "resolution": resolution, "commune_id": commune_id},
                                        TelemetryQuery)
        end = query["end"] or utcnow()
        start = query["start"] or end - DEFAULT_SPAN
        if end <= start:
            raise InvalidInput("end: thời điểm kết thúc phải sau thời điểm bắt đầu.")
        chosen = rollup.resolution_for(query["resolution"], start, end)
        commune_id, start, end = device["commune_id"], iso(start), iso(end)
        if chosen == "raw":
            samples = rollup.unique_samples(self.buckets.overlapping(commune_id, device_id, start, end), start, end)
            points = rollup.downsample([rollup.raw_point(s) for s in samples])
        else:
            points = [rollup.hourly_point(doc) for doc in self._hours(commune_id, device_id, start, end)]
        return {"resolution": chosen, "start": start, "end": end, "points": points}

    def _hours(self, commune_id, device_id, start, end):
        """Roll-ups of the hours in [start, end); hours with samples not
        rolled up yet (the current one, late buckets) are computed now."""
        first = rollup.hour_of(start)
        docs = {doc["hour"]: doc for doc in self.hourly.between(commune_id, device_id, first, end)}
        fresh = {hour for bucket in self.buckets.overlapping(commune_id, device_id, first, end, pending_only=True)
                 for hour in rollup.hours_spanned(bucket["start"], bucket["end"]) if first <= hour < end}
        for hour in fresh:
            doc = self._roll_up_hour(commune_id, device_id, hour)
            if doc is not None:
                docs[hour] = doc
        return [docs[hour] for hour in sorted(docs)]

    def _roll_up_hour(self, commune_id, device_id, hour):
        end = rollup.next_hour(hour)
        samples = rollup.unique_samples(self.buckets.overlapping(commune_id, device_id, hour, end), hour, end)
        return rollup.hourly(commune_id, device_id, hour, samples) if samples else None

    @rpc(expected_exceptions=CALLER_ERRORS)
    def connection_history(self, device_id, start=None, end=None, commune_id=None):
        _, query, device = self._device(READ_ROLES, {"device_id": device_id, "start": start, "end": end,
                                                     "commune_id": commune_id}, Period)
        return self.connections.history(device["commune_id"], device_id,
                                        iso(query["start"]) if query["start"] else None,
                                        iso(query["end"]) if query["end"] else None)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def get_uptime(self, start, end, commune_id=None):
        """Uptime per device, village and the commune over a period: dates
        (whole local days) or ISO times."""
        caller = self.caller.current().require(*READ_ROLES)
        query = load(UptimeQuery, {"start": start, "end": end, "commune_id": commune_id})
        commune_id = caller.commune_for(query["commune_id"])
        start, end = uptime.period(query["start"], query["end"])
        if end <= start:
            raise InvalidInput("end: thời điểm kết thúc phải sau thời điểm bắt đầu.")
        if end - start > MAX_UPTIME_SPAN:
            raise InvalidInput(f"end: khoảng thời gian tối đa {MAX_UPTIME_SPAN.days} ngày.")
        return uptime.summary(self.devices.registered_before(commune_id, iso(end)),
                              self.connections.overlapping(commune_id, iso(start), iso(end)), start, end, utcnow())

    # ------------------------------------------------------------ alarms

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_alarms(self, request=None):
        caller = self.caller.current().require(*READ_ROLES)
        query = load(AlarmFilter, request or {})
        commune_id = caller.commune_for(query["commune_id"])
        found = self.alarms.find(commune_id, ALARM_STATUSES[query["status"]], query["device_id"], query["severity"],
                                 query["limit"])
        return [alarms.view(a) for a in found]

    def _alarm_action(self, decide, alarm_id, note, commune_id):
        caller = self.caller.current().require(*OPERATE_ROLES)
        data = load(AlarmAction, {"alarm_id": alarm_id, "note": note, "commune_id": commune_id})
        alarm = self.alarms.get(caller.commune_for(data["commune_id"]), data["alarm_id"])
        return alarms.view(self.alarms.apply(alarm, decide(alarm, _actor(caller), data["note"], utcnow())))

    @rpc(expected_exceptions=CALLER_ERRORS)
    def acknowledge_alarm(self, alarm_id, note="", commune_id=None):
        return self._alarm_action(alarms.acknowledged, alarm_id, note, commune_id)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def clear_alarm(self, alarm_id, note="", commune_id=None):
        return self._alarm_action(alarms.cleared, alarm_id, note, commune_id)

    @rpc(expected_exceptions=CALLER_ERRORS)
    def list_alarm_rules(self, commune_id=None):
        caller = self.caller.current().require(*READ_ROLES)
        return list(alarms.settings(self.alarm_rules.of_commune(caller.commune_for(commune_id))).values())

    @rpc(expected_exceptions=CALLER_ERRORS)
    def set_alarm_rule(self, rule, changes, commune_id=None):
        caller = self.caller.current().require(*OPERATE_ROLES)
        data = load(SetRule, {"rule": rule, "changes": changes, "commune_id": commune_id})
        commune_id = caller.commune_for(data["commune_id"])
        self.alarm_rules.save(commune_id, alarms.rule_update(data["rule"], data["changes"], caller.subject, utcnow()))
        return alarms.settings(self.alarm_rules.of_commune(commune_id))[data["rule"]]

    # ------------------------------------------------------------ presence sweep

    def _lease(self, name, interval_setting, default_interval, floor):
        """Whether this replica does this pass (holding the lease for a few intervals)."""
        return self.leases.acquire(name, self.replica, utcnow(),
                                   lease_seconds(self.config, interval_setting, default_interval, floor))

    @configured_timer("PRESENCE_SWEEP_SECONDS", 2.0)
    def sweep(self):
        """Presence from the edge's stamps, then alarms: offline ones whose
        threshold passed, and the rules on states changed since the last pass."""
        if not self._lease("presence-sweep", "PRESENCE_SWEEP_SECONDS", 2.0, 10.0):
            DEVICES.clear()  # the replica holding the lease counts them
            return
        now = utcnow()
        changed = self.alarm_rules.by_commune()

        def settings(commune_id):
            return alarms.settings(changed.get(commune_id, ()))

        self._sweep_presence(now)
        self._offline_alarms(now, settings)
        self._sample_alarms(now, settings)
        self._count_devices()

    def _count_devices(self):
        """The ``tinxa_devices`` gauge: every commune's devices by presence."""
        counts = presence.census(self.devices.count_by_commune(), self.states.presence_counts())
        DEVICES.clear()  # communes and states no longer there go; nothing yields until all are set
        for (commune_id, state), number in counts.items():
            DEVICES.labels(commune_id, state).set(number)

    def _sweep_presence(self, now):
        for state in self.states.went_quiet(iso(now)):
            moved = presence.went_offline(state, now)
            if moved and self.states.apply(state, moved.change) and moved.closes:
                self.connections.close(moved.commune_id, moved.device_id, *moved.closes)
        for state in self.states.heard_again(iso(now)):
            moved = presence.came_online(state, now)
            if moved and self.states.apply(state, moved.change):
                if moved.offline_since:
                    self.connections.close_dangling(moved.commune_id, moved.device_id, moved.since,
                                                    moved.offline_since)
                self.connections.open(moved.commune_id, moved.device_id, moved.since)
                self._clear_offline_alarm(moved.commune_id, moved.device_id, now)

    def _clear_offline_alarm(self, commune_id, device_id, now):
        alarm = self.alarms.active(alarms.active_key(commune_id, device_id, "offline"))
        if alarm is None:
            return
        try:
            self.alarms.apply(alarm, alarms.cleared(alarm, alarms.SYSTEM, "Thiết bị đã kết nối lại.", now))
        except Conflict:
            log.info("offline alarm %s was changed meanwhile; left as it is", alarm["_id"])

    def _offline_alarms(self, now, settings):
        pending = self.states.offline_alarm_pending()
        devices = self.devices.by_keys(state["_id"] for state in pending)
        for state in pending:
            device = devices.get(state["_id"])
            setting = settings(state["commune_id"])["offline"]
            decision = alarms.offline_alarm_due(state["presence_since"], setting, now) if device else "drop"
            if decision == "wait":
                continue
            if decision == "raise":
                text = alarms.message("offline", device, setting, offline_since=state["presence_since"])
                self._raise(device, "offline", setting, text, state["presence_since"], now)
            self.states.mark_offline_alarm(state, presence.ALARM_RAISED if decision == "raise" else presence.ALARM_NONE)

    def _sample_alarms(self, now, settings):
        after = self.meta.cursor("alarm_evaluation")
        # the edge restamps a busy device's state every flush, so a window
        # that waited for states to settle would never see it; instead each
        # pass reads back SETTLE before the previous one (a state stamped then
        # may have landed after it). Evaluating a state twice changes nothing:
        # ``conditions`` records what already holds.
        since = iso(parse_iso(after) - SETTLE) if after else ""
        until = iso(now)
        states = self.states.changed_between(since, until)
        devices = self.devices.by_keys(state["_id"] for state in states)
        for state in states:
            device = devices.get(state["_id"])
            if device is None:
                continue
            commune_settings = settings(state["commune_id"])
            before = state.get("conditions") or {}
            cause = state.get("sample_at") or state["changed_at"]
            holding = [rule for rule, on in alarms.sample_conditions(state.get("sample"), commune_settings).items() if on]
            for rule in holding:
                if rule not in before:
                    text = alarms.message(rule, device, commune_settings[rule], sample=state.get("sample"))
                    self._raise(device, rule, commune_settings[rule], text, cause, now)
            conditions = {rule: before.get(rule, cause) for rule in holding}
            if conditions != before:
                self.states.set_conditions(state, conditions)
        if until > (after or ""):
            self.meta.set_cursor("alarm_evaluation", until)

    def _raise(self, device, rule, setting, text, cause, now):
        """Open an alarm, or count a repetition of the active one."""
        active_key = alarms.active_key(device["commune_id"], device["device_id"], rule)
        active = self.alarms.active(active_key)
        if active is None:
            alarm, event = alarms.new_alarm(device, rule, setting, text, cause, now)
            try:
                self.alarms.add(alarm, [event])
                return
            except Conflict:  # raised since the read above
                active = self.alarms.active(active_key)
        change = alarms.repeated(active, text, cause, now) if active else None
        if change is not None:
            try:
                self.alarms.apply(active, change)
            except Conflict:
                log.info("alarm %s was changed meanwhile; repetition not counted", active["_id"])

    # ------------------------------------------------------------ roll-up, retention, uptime

    @configured_timer("ROLLUP_SECONDS", 300.0, eager=True)
    def roll_up(self):
        """Hourly roll-ups of past hours' new buckets, retention, and the
        uptime of each local day that ended."""
        if not self._lease("rollup", "ROLLUP_SECONDS", 300.0, 60.0):
            return
        now = utcnow()
        self._roll_up_pending(now)
        self._expire(now)
        self._report_uptime(now)

    def _roll_up_pending(self, now):
        hours, buckets = {}, set()
        for bucket in self.buckets.pending_before(rollup.hour_of(iso(now))):
            buckets.add((bucket["commune_id"], bucket["device_id"], bucket["start"]))
            for hour in rollup.hours_spanned(bucket["start"], bucket["end"]):
                hours.setdefault((bucket["commune_id"], bucket["device_id"], hour), []).append(bucket["_id"])
        for (commune_id, device_id, hour) in sorted(hours):
            doc = self._roll_up_hour(commune_id, device_id, hour)
            if doc is not None:
                self.hourly.save(doc)
        self.buckets.mark_done({bucket_id for ids in hours.values() for bucket_id in ids})
        # the edge writes a document per flush; a past bucket becomes one
        for commune_id, device_id, start in sorted(buckets):
            self.buckets.compact(commune_id, device_id, start)

    def _expire(self, now):
        raw_days = float(self.config.get("TELEMETRY_RAW_RETENTION_DAYS", 30))
        hourly_days = float(self.config.get("TELEMETRY_HOURLY_RETENTION_DAYS", 730))
        self.buckets.delete_ended_before(iso(now - timedelta(days=raw_days)))
        self.hourly.delete_before(iso(now - timedelta(days=hourly_days)))

    def _report_uptime(self, now):
        today = now.astimezone(VIETNAM).date()
        for commune_id in self.devices.communes():
            devices = self.devices.registered_before(commune_id, iso(now))
            if not devices:
                continue
            first_day = min(parse_iso(d["created_at"]) for d in devices).astimezone(VIETNAM).date()
            last = self.uptime_days.last_date(commune_id)
            for day in uptime.days_to_report(date.fromisoformat(last) if last else None, first_day, today):
                start, end = uptime.local_day(day)
                result = uptime.summary(devices, self.connections.overlapping(commune_id, iso(start), iso(end)),
                                        start, end, now)
                self.uptime_days.add(commune_id, day.isoformat(), result, uptime.uptime_event(commune_id, day, result))
