"""The telemetry service: its entrypoints as units on the repositories'
twins (``worker_factory``) — roles and communes, the registry, credentials,
commands, the presence sweep, alarms, roll-ups and uptime — then the
container on the real broker and store, its events read off the bus."""
import json
import uuid
from datetime import datetime, timedelta

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_hook, worker_factory
from prometheus_client import REGISTRY

from services.telemetry import credentials
from services.telemetry import service as service_module
from services.telemetry.service import TelemetryService
from services.telemetry.tests import fakes
from shared.context import CONTEXT_KEY, Caller
from shared.devicelink import COMMANDS_EXCHANGE, routing_key
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from shared.testing import event_tap, wait_until
from shared.timeutil import VIETNAM, iso, utcnow

C = "xuan-hung"
OTHER = "yen-thang"
CONFIG = {"PROVISIONING_CODE_HOURS": 72, "MQTT_PORT": 1884, "PRESENCE_SWEEP_SECONDS": 2, "ROLLUP_SECONDS": 300,
          "TELEMETRY_RAW_RETENTION_DAYS": 30, "TELEMETRY_HOURLY_RETENTION_DAYS": 730}


def who(commune_id=C, *roles, subject="u1"):
    return Caller(subject=subject, commune_id=commune_id, roles=frozenset(roles or ("commune_admin",)),
                  name="Nguyễn Thị Lan")


ADMIN = who()
OPERATOR = who(C, "operator", subject="op-1")
VIEWER = who(C, "viewer", subject="v-1")
DISTRICT = who(None, "district_admin", subject="d-1")


class CallerOf:
    """Stands in for CallerContext: the caller of the call, or none."""

    def __init__(self, caller):
        self.caller = caller

    def current(self):
        if self.caller is None:
            raise Unauthenticated("Chưa đăng nhập.")
        return self.caller


class Edges:
    """Stands in for the command exchange: the commands sent, and whether an
    edge has the device."""

    def __init__(self, connected=()):
        self.connected = set(connected)
        self.sent = []

    def __call__(self, command):
        self.sent.append(command)
        return (command["commune_id"], command["device_id"]) in self.connected


@pytest.fixture
def repos():
    return fakes.twins()


@pytest.fixture
def edges():
    return Edges()


@pytest.fixture
def service(repos, edges):
    """``service(caller)``: a worker acting for ``caller`` on the twins."""
    def make(caller=ADMIN, replica="replica-a"):
        return worker_factory(TelemetryService, caller=CallerOf(caller), config=CONFIG, replica=replica,
                              deliver=edges, **repos)
    return make


def register(service, device_id="loa-01", caller=ADMIN, **fields):
    return service(caller).register_device({"device_id": device_id, "kind": "loudspeaker", **fields})


# ------------------------------------------------------------ roles and communes


@pytest.mark.parametrize("method, args", [
    ("register_device", ({"device_id": "loa-02", "kind": "other"},)),
    ("update_device", ("loa-01", {"name": "x"})),
    ("import_devices", ("device_id,kind\nloa-02,other\n",)),
    ("issue_provisioning_code", ("loa-01",)),
    ("issue_mqtt_credential", ("loa-01",)),
    ("revoke_credentials", ("loa-01",)),
    ("send_command", ("loa-01", "stop", {})),
    # an id without "edge" in it, or `-k "not edge"` (leaving out the edge's tests) would leave it out too
    pytest.param("acknowledge_alarm", ("a1",), id="ack_alarm"),
    ("clear_alarm", ("a1",)),
    ("set_alarm_rule", ("offline", {"enabled": False})),
])
def test_only_operators_change_things(service, method, args):
    register(service)
    for caller in (VIEWER, who(C, "editor"), who(C, "approver")):
        with pytest.raises(Forbidden):
            getattr(service(caller), method)(*args)
    with pytest.raises(Unauthenticated):
        getattr(service(None), method)(*args)


@pytest.mark.parametrize("method, args", [
    ("get_device", ("loa-01",)),
    ("list_devices", ()),
    ("get_telemetry", ("loa-01",)),
    ("connection_history", ("loa-01",)),
    ("get_uptime", ("2026-11-01", "2026-11-02")),
    ("list_alarms", ()),
    ("list_alarm_rules", ()),
])
def test_every_commune_role_reads(service, method, args):
    register(service)
    for role in ("commune_admin", "editor", "approver", "operator", "trainer", "viewer"):
        getattr(service(who(C, role)), method)(*args)
    with pytest.raises(Unauthenticated):
        getattr(service(None), method)(*args)


def test_another_communes_device_is_not_found_and_naming_that_commune_is_refused(service):
    register(service)
    stranger = who(OTHER)
    for call in (lambda s: s.get_device("loa-01"), lambda s: s.update_device("loa-01", {"name": "x"}),
                 lambda s: s.issue_provisioning_code("loa-01"), lambda s: s.send_command("loa-01", "stop", {}),
                 lambda s: s.get_telemetry("loa-01"), lambda s: s.revoke_credentials("loa-01")):
        with pytest.raises(NotFound):
            call(service(stranger))
    with pytest.raises(Forbidden):
        service(stranger).get_device("loa-01", commune_id=C)
    assert service(stranger).list_devices() == []


def test_a_district_admin_names_the_commune(service):
    with pytest.raises(Forbidden):
        service(DISTRICT).register_device({"device_id": "loa-01", "kind": "other"})
    device = service(DISTRICT).register_device({"device_id": "loa-01", "kind": "other", "commune_id": OTHER})
    assert device["commune_id"] == OTHER
    assert service(DISTRICT).get_device("loa-01", commune_id=OTHER)["device_id"] == "loa-01"


# ------------------------------------------------------------ registry


def test_a_registered_device_is_announced_and_listed(service, repos):
    device = register(service, name="Cụm loa thôn Đông", village="Thôn Đông", lat=21.05, lon=105.8)
    assert device["created_by"] == "u1" and device["location"] == {"lat": 21.05, "lon": 105.8}
    assert repos["devices"].names() == ["device_registered"]
    with pytest.raises(Conflict, match="loa-01"):
        register(service)
    register(service, "bang-01", kind="eboard")
    repos["states"].put({"_id": f"{C}/loa-01", "commune_id": C, "device_id": "loa-01", "presence": "online",
                         "last_seen": "2026-11-26T06:59:00.000Z", "sample": {"volume": 40}})
    listed = service(VIEWER).list_devices()
    assert [(d["device_id"], d["presence"]) for d in listed] == [("loa-01", "online"), ("bang-01", "unknown")]
    assert listed[0]["sample"] == {"volume": 40} and listed[0]["last_seen"] == "2026-11-26T06:59:00.000Z"
    assert [d["device_id"] for d in service().list_devices({"presence": "unknown"})] == ["bang-01"]
    assert [d["device_id"] for d in service().list_devices({"kind": "eboard"})] == ["bang-01"]
    assert [d["device_id"] for d in service().list_devices({"village": "Thôn Đông"})] == ["loa-01"]
    with pytest.raises(InvalidInput, match="presence: trạng thái kết nối phải là một trong"):
        service().list_devices({"presence": "asleep"})


def test_a_device_shows_its_state_credential_and_open_alarms(service, repos):
    register(service)
    detail = service(VIEWER).get_device("loa-01")
    assert detail["state"]["presence"] == "unknown" and detail["open_alarms"] == []
    assert detail["credential"] == {"status": "none", "credential_id": None, "at": None}


def test_an_update_changes_the_registry_fields(service):
    register(service)
    updated = service(OPERATOR).update_device("loa-01", {"village": "Thôn Tây", "presence_timeout_s": 300})
    assert (updated["village"], updated["presence_timeout_s"]) == ("Thôn Tây", 300)
    with pytest.raises(InvalidInput, match="device_id: không đổi được mã thiết bị"):
        service().update_device("loa-01", {"device_id": "loa-02"})
    with pytest.raises(InvalidInput, match="changes: nội dung thay đổi phải là một đối tượng"):
        service().update_device("loa-01", "village")
    with pytest.raises(NotFound):
        service().update_device("loa-09", {"name": "x"})


def test_an_import_writes_nothing_until_confirmed_and_valid(service, repos):
    register(service, "loa-01")
    bad = "device_id,kind,village\nloa-02,loudspeaker,Thôn Đông\nloa-01,eboard,\n"
    report = service().import_devices(bad, confirm=True)
    assert (report["valid"], report["invalid"], report["created"]) == (1, 1, 0)
    assert report["rows"][1] == {"line": 3, "device_id": "loa-01",
                                 "problems": ["device_id: thiết bị đã có trong danh sách của xã"]}
    good = "device_id,kind,village\nloa-02,loudspeaker,Thôn Đông\nbang-01,eboard,\n"
    assert service().import_devices(good)["created"] == 0
    assert repos["devices"].ids(C) == {"loa-01"}
    report = service(OPERATOR).import_devices(good, confirm=True)
    assert (report["valid"], report["invalid"], report["created"]) == (2, 0, 2)
    assert repos["devices"].ids(C) == {"loa-01", "loa-02", "bang-01"}
    assert repos["devices"].names().count("device_registered") == 3


# ------------------------------------------------------------ credentials


def test_a_new_provisioning_code_voids_the_unused_one(service, repos):
    register(service)
    first = service(OPERATOR).issue_provisioning_code("loa-01")
    second = service(OPERATOR).issue_provisioning_code("loa-01")
    codes = repos["codes"].docs
    assert codes[credentials.code_digest(first["code"])]["status"] == "void"
    assert codes[credentials.code_digest(second["code"])]["status"] == "pending"
    assert second["code"] not in str(codes) and second["expires_at"] > iso(utcnow() + timedelta(hours=71))
    assert service().get_device("loa-01")["credential"]["status"] == "code_issued"
    register(service, "mqtt-01", transport="mqtt")
    with pytest.raises(Conflict, match="MQTT"):
        service().issue_provisioning_code("mqtt-01")


def test_an_mqtt_credential_rekeys_the_broker_user_and_revokes_the_previous_one(service, repos):
    register(service, "mqtt-01", transport="mqtt")
    first = service(OPERATOR).issue_mqtt_credential("mqtt-01")
    assert first == {"username": "device.xuan-hung.mqtt-01", "password": first["password"],
                     "topic": "tinxa/xuan-hung/mqtt-01/telemetry", "mqtt_port": 1884}
    second = service(OPERATOR).issue_mqtt_credential("mqtt-01")
    assert repos["broker"].users == {"device.xuan-hung.mqtt-01": second["password"]}
    statuses = sorted(c["status"] for c in repos["credentials"].docs.values())
    assert statuses == ["active", "revoked"]
    assert repos["credentials"].names() == ["device_provisioned", "credential_revoked", "device_provisioned"]
    [active] = repos["credentials"].active(C, "mqtt-01")
    assert credentials.secret_matches(second["password"], active["secret_sha256"])
    assert service().get_device("mqtt-01")["credential"]["credential_id"] == active["_id"]
    register(service)
    with pytest.raises(Conflict, match="gRPC"):
        service().issue_mqtt_credential("loa-01")


def test_revoking_ends_every_credential_code_and_broker_user(service, repos):
    register(service, "mqtt-01", transport="mqtt")
    service().issue_mqtt_credential("mqtt-01")
    result = service(OPERATOR).revoke_credentials("mqtt-01", reason="Thiết bị bị mất")
    [credential_id] = result["revoked"]
    assert repos["credentials"].docs[credential_id]["reason"] == "Thiết bị bị mất"
    assert repos["credentials"].names()[-1] == "credential_revoked"
    assert repos["broker"].users == {} and repos["broker"].removed == ["device.xuan-hung.mqtt-01"]
    assert service().get_device("mqtt-01")["credential"]["status"] == "revoked"
    register(service)
    service().issue_provisioning_code("loa-01")
    assert service().revoke_credentials("loa-01") == {"device_id": "loa-01", "revoked": [], "codes_voided": 1}
    assert repos["broker"].removed == ["device.xuan-hung.mqtt-01"]  # gRPC devices have no broker user


# ------------------------------------------------------------ commands


def test_a_command_reports_whether_the_device_took_it(service, edges):
    register(service)
    register(service, "loa-02")
    edges.connected.add((C, "loa-02"))
    assert service(OPERATOR).send_command("loa-01", "set_volume", {"volume": 30})["delivered"] is False
    sent = service(OPERATOR).send_command("loa-02", "play", {"content_id": "c1", "title": "Bản tin sáng"})
    assert sent["delivered"] is True and sent["command_id"] == edges.sent[-1]["command_id"]
    assert edges.sent[-1]["params"]["priority"] == "normal"
    with pytest.raises(InvalidInput, match="kind: lệnh không được hỗ trợ"):
        service().send_command("loa-01", "reboot", {})
    with pytest.raises(InvalidInput, match="volume"):
        service().send_command("loa-01", "set_volume", {"volume": 130})


# ------------------------------------------------------------ presence sweep


def seen(repos, device_id, last_seen, offline_after, **fields):
    """The edge stamps a device as heard from."""
    key = f"{C}/{device_id}"
    doc = repos["states"].docs.setdefault(key, {"_id": key, "commune_id": C, "device_id": device_id})
    doc.update(last_seen=iso(last_seen), offline_after=iso(offline_after), **fields)


def status_events(repos):
    return [(e.payload["device_id"], e.payload["online"]) for e in repos["states"].events]


def test_the_sweep_moves_devices_online_and_offline_with_history_and_the_offline_alarm(service, repos):
    register(service, village="Thôn Đông")
    now = utcnow()
    seen(repos, "loa-01", now - timedelta(seconds=5), now + timedelta(seconds=115),
         connected_at=iso(now - timedelta(seconds=6)), sample={"volume": 50, "playback": "playing"})
    service().sweep()
    assert status_events(repos) == [("loa-01", True)]
    assert repos["states"].events[0].payload["playing"] is True
    [opened] = service().connection_history("loa-01")
    assert opened == {"online_from": iso(now - timedelta(seconds=6)), "online_until": None}
    service().sweep()
    assert len(repos["states"].events) == 1  # nothing moved
    # killed without a goodbye: its timeout passes
    seen(repos, "loa-01", now - timedelta(seconds=125), now - timedelta(seconds=5))
    service().sweep()
    assert status_events(repos) == [("loa-01", True), ("loa-01", False)]
    assert repos["states"].events[1].payload["reported_at"] == iso(now - timedelta(seconds=5))
    assert service().connection_history("loa-01")[0]["online_until"] == iso(now - timedelta(seconds=5))
    [alarm] = service(VIEWER).list_alarms()
    assert (alarm["rule"], alarm["severity"], alarm["status"], alarm["village"]) == (
        "offline", "critical", "open", "Thôn Đông")
    assert service().get_device("loa-01")["open_alarms"][0]["alarm_id"] == alarm["alarm_id"]
    service().sweep()
    assert len(service().list_alarms()) == 1 and repos["alarms"].names() == ["alarm_raised"]
    # heard from again: online, the alarm clears itself
    seen(repos, "loa-01", now, now + timedelta(seconds=120))
    service().sweep()
    assert status_events(repos)[-1] == ("loa-01", True)
    assert service().list_alarms() == [] and repos["alarms"].names() == ["alarm_raised", "alarm_cleared"]
    assert [c["online_until"] is None for c in service().connection_history("loa-01")] == [True, False]


def test_an_offline_alarm_with_a_threshold_waits_and_a_disabled_one_never_comes(service, repos):
    register(service)
    register(service, "loa-02")
    service().set_alarm_rule("offline", {"threshold": 600})
    now = utcnow()
    for device_id, quiet_for in (("loa-01", timedelta(minutes=10, seconds=1)), ("loa-02", timedelta(minutes=5))):
        repos["states"].put({"_id": f"{C}/{device_id}", "commune_id": C, "device_id": device_id, "presence": "online",
                             "presence_since": iso(now - timedelta(hours=1)),
                             "last_seen": iso(now - quiet_for - timedelta(minutes=2)),
                             "offline_after": iso(now - quiet_for)})
    service().sweep()
    assert [a["device_id"] for a in service().list_alarms()] == ["loa-01"]  # 10 min > 600 s; loa-02 5 min only
    service().set_alarm_rule("offline", {"enabled": False})
    service().sweep()
    assert repos["states"].docs[f"{C}/loa-02"]["offline_alarm"] == "none"


def test_only_the_replica_holding_the_lease_sweeps(service, repos):
    register(service)
    now = utcnow()
    seen(repos, "loa-01", now, now + timedelta(seconds=120))
    repos["leases"].acquire("presence-sweep", "replica-b", now, 60)
    service(replica="replica-a").sweep()
    assert repos["states"].events == []
    service(replica="replica-b").sweep()
    assert status_events(repos) == [("loa-01", True)]


def devices_gauge(commune_id=C):
    return {state: REGISTRY.get_sample_value("tinxa_devices", {"commune_id": commune_id, "state": state})
            for state in ("online", "offline", "unknown")}


def test_the_sweep_sets_the_devices_gauge_by_commune_and_presence_on_the_lease_holder_only(service, repos):
    for device_id in ("loa-01", "loa-02", "loa-03"):
        register(service, device_id)
    register(service, "loa-01", caller=who(OTHER))
    now = utcnow()
    seen(repos, "loa-01", now, now + timedelta(seconds=120))
    seen(repos, "loa-02", now - timedelta(seconds=125), now - timedelta(seconds=5), presence="online",
         presence_since=iso(now - timedelta(hours=1)))
    service().sweep()
    assert devices_gauge() == {"online": 1, "offline": 1, "unknown": 1}
    assert devices_gauge(OTHER) == {"online": 0, "offline": 0, "unknown": 1}
    seen(repos, "loa-02", now, now + timedelta(seconds=120))
    service().sweep()
    assert devices_gauge() == {"online": 2, "offline": 0, "unknown": 1}
    # another replica holds the lease: this one's gauge goes, the holder's counts stand
    repos["leases"].acquire("presence-sweep", "replica-b", now + timedelta(minutes=5), 60)
    service(replica="replica-a").sweep()
    assert devices_gauge() == {"online": None, "offline": None, "unknown": None}


class Clock:
    """The service's clock, moved by the test."""

    def __init__(self):
        self.now = utcnow().replace(microsecond=0)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(service_module, "utcnow", clock)
    return clock


def test_sample_alarms_open_once_and_count_repetitions(service, repos, clock):
    register(service, name="Cụm loa thôn Đông")

    def changed(**sample):
        """The edge writes a new latest sample; the next pass comes 5 s later."""
        at = iso(clock.now)
        seen(repos, "loa-01", clock.now, clock.now + timedelta(seconds=120), changed_at=at, sample_at=at,
             sample=sample)
        clock.advance(5)
        service().sweep()

    changed(temperature_c=72.0, speaker_line="ok")
    [alarm] = service().list_alarms()
    assert alarm["rule"] == "temperature_high" and alarm["occurrences"] == 1
    assert alarm["message"] == "«Cụm loa thôn Đông»: nhiệt độ 72 °C, vượt ngưỡng 60 °C."
    changed(temperature_c=73.0, speaker_line="ok")  # still hot: the same occurrence
    repos["meta"].docs.clear()  # a pass redone from the start (a crash before the cursor moved)
    service().sweep()
    assert service().list_alarms()[0]["occurrences"] == 1
    changed(temperature_c=50.0)
    changed(temperature_c=65.0)
    [again] = service().list_alarms()
    assert again["occurrences"] == 2 and repos["alarms"].names() == ["alarm_raised", "alarm_repeated"]
    # a busy device's state is restamped at every flush, just before each pass: each pass still sees it
    seen(repos, "loa-01", clock.now, clock.now + timedelta(seconds=120), changed_at=iso(clock.now),
         sample_at=iso(clock.now), sample={"speaker_line": "short_circuit"})
    service().sweep()
    assert sorted(a["rule"] for a in service().list_alarms()) == ["speaker_line_fault", "temperature_high"]
    # a state stamped a little before the previous pass but written after it is still read
    late = clock.now - timedelta(seconds=1)
    clock.advance(2)
    seen(repos, "loa-01", late, late + timedelta(seconds=120), changed_at=iso(late), sample_at=iso(late),
         sample={"power_source": "battery"})
    service().sweep()
    assert sorted(a["rule"] for a in service().list_alarms()) == ["mains_lost", "speaker_line_fault", "temperature_high"]


def test_operators_take_on_and_clear_alarms_with_notes(service, repos):
    register(service)
    now = utcnow()
    seen(repos, "loa-01", now, now + timedelta(seconds=120), changed_at=iso(now - timedelta(seconds=10)),
         sample_at=iso(now - timedelta(seconds=10)), sample={"power_source": "battery"})
    service().sweep()
    [alarm] = service().list_alarms()
    acknowledged = service(OPERATOR).acknowledge_alarm(alarm["alarm_id"], note="Đang đi kiểm tra")
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledged"]["note"] == "Đang đi kiểm tra"
    assert service().list_alarms({"status": "open"}) == []
    with pytest.raises(Conflict):
        service().acknowledge_alarm(alarm["alarm_id"])
    cleared = service(OPERATOR).clear_alarm(alarm["alarm_id"], note="Đã có điện lại")
    assert cleared["cleared"]["by"] == "op-1" and service().list_alarms() == []
    assert [a["alarm_id"] for a in service().list_alarms({"status": "cleared"})] == [alarm["alarm_id"]]
    assert repos["alarms"].names() == ["alarm_raised", "alarm_acknowledged", "alarm_cleared"]
    with pytest.raises(NotFound):
        service(who(OTHER)).clear_alarm(alarm["alarm_id"])


def test_rule_settings_per_commune(service):
    rules = {r["rule"]: r for r in service(VIEWER).list_alarm_rules()}
    assert rules["mains_lost"]["threshold"] == 180 and rules["offline"]["enabled"] is True
    changed = service(OPERATOR).set_alarm_rule("mains_lost", {"threshold": 190, "severity": "critical"})
    assert (changed["threshold"], changed["severity"], changed["updated_by"]) == (190, "critical", "op-1")
    assert {r["rule"]: r for r in service(who(OTHER)).list_alarm_rules()}["mains_lost"]["threshold"] == 180
    with pytest.raises(InvalidInput, match="changes.severity: mức độ phải là một trong"):
        service().set_alarm_rule("mains_lost", {"severity": "huge"})
    with pytest.raises(InvalidInput, match="threshold"):
        service().set_alarm_rule("mains_lost", {"threshold": 1000})


# ------------------------------------------------------------ measurements


def put_bucket(repos, start, samples, rollup="pending", device_id="loa-01"):
    end = iso(datetime.fromisoformat(start.replace("Z", "+00:00")) + timedelta(minutes=1))
    repos["buckets"].put({"_id": f"{C}/{device_id}/{start}/{samples[0]['seq']}", "commune_id": C,
                          "device_id": device_id, "start": start, "end": end, "first_seq": samples[0]["seq"],
                          "rollup": rollup, "samples": samples})


def sample(seq, at, volume):
    return {"seq": seq, "sampled_at": at, "volume": volume, "playback": "idle"}


def test_raw_telemetry_dedupes_and_hourly_includes_hours_not_rolled_up_yet(service, repos):
    register(service)
    put_bucket(repos, "2026-11-26T05:10:00.000Z", [sample(1, "2026-11-26T05:10:05.000Z", 10),
                                                    sample(2, "2026-11-26T05:10:35.000Z", 20)])
    put_bucket(repos, "2026-11-26T05:10:00.000Z", [sample(2, "2026-11-26T05:10:35.000Z", 20)])
    put_bucket(repos, "2026-11-26T06:00:00.000Z", [sample(3, "2026-11-26T06:00:10.000Z", 60)])
    raw = service(VIEWER).get_telemetry("loa-01", start="2026-11-26T05:00:00Z", end="2026-11-26T07:00:00+00:00")
    assert raw["resolution"] == "raw" and [p["volume"] for p in raw["points"]] == [10, 20, 60]
    assert (raw["start"], raw["end"]) == ("2026-11-26T05:00:00.000Z", "2026-11-26T07:00:00.000Z")
    hourly = service().get_telemetry("loa-01", start="2026-11-26T05:00:00Z", end="2026-11-26T07:00:00Z",
                                     resolution="hourly")
    assert [(p["at"], p["volume"], p["count"]) for p in hourly["points"]] == [
        ("2026-11-26T05:00:00.000Z", 15.0, 2), ("2026-11-26T06:00:00.000Z", 60.0, 1)]
    assert service().get_telemetry("loa-01", start="2026-11-20T00:00:00Z",
                                   end="2026-11-26T07:00:00Z")["resolution"] == "hourly"
    with pytest.raises(InvalidInput, match="end: thời điểm kết thúc phải sau"):
        service().get_telemetry("loa-01", start="2026-11-26T07:00:00Z", end="2026-11-26T05:00:00Z")
    with pytest.raises(InvalidInput, match="start: thời điểm bắt đầu phải có múi giờ"):
        service().get_telemetry("loa-01", start="2026-11-26T07:00:00")
    with pytest.raises(InvalidInput, match="resolution"):
        service().get_telemetry("loa-01", resolution="minute")


def test_the_roll_up_pass_rolls_past_hours_and_expires_old_data(service, repos):
    register(service)
    hour = iso((utcnow() - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0))
    put_bucket(repos, hour, [sample(1, hour, 30), sample(2, hour, 50)])
    current = iso(utcnow().replace(minute=0, second=0, microsecond=0))
    put_bucket(repos, current, [sample(3, current, 70)])
    put_bucket(repos, "2020-01-01T00:00:00.000Z", [sample(1, "2020-01-01T00:00:00.000Z", 1)], rollup="done")
    repos["hourly"].save({"_id": "old", "commune_id": C, "device_id": "loa-01", "hour": "2020-01-01T00:00:00.000Z"})
    service().roll_up()
    [doc] = repos["hourly"].docs.values()
    assert (doc["hour"], doc["count"], doc["volume"]["avg"]) == (hour, 2, 40.0)
    assert sorted(b["rollup"] for b in repos["buckets"].docs.values()) == ["done", "pending"]
    assert all(b["start"] > "2021" for b in repos["buckets"].docs.values())
    # a late bucket of a rolled-up hour rolls the hour up again
    put_bucket(repos, hour, [sample(4, hour, 10)])
    service().roll_up()
    assert repos["hourly"].docs[f"{C}/loa-01/{hour}"]["count"] == 3
    # ... and the bucket's documents (one per edge flush) are one again
    [past] = [b for b in repos["buckets"].docs.values() if b["start"] == hour]
    assert [x["seq"] for x in past["samples"]] == [1, 2, 4] and past["rollup"] == "done"


def test_uptime_comes_from_the_connection_history(service, repos):
    register(service, village="Thôn Đông")
    register(service, "loa-02", village="Thôn Tây")
    for device_id in ("loa-01", "loa-02"):
        repos["devices"].docs[f"{C}/{device_id}"]["created_at"] = "2026-11-01T00:00:00.000Z"
    repos["connections"].close(C, "loa-01", "2026-11-24T17:00:00.000Z", "2026-11-25T05:00:00.000Z")
    result = service(VIEWER).get_uptime("2026-11-25", "2026-11-25")
    assert (result["start"], result["end"], result["uptime"]) == ("2026-11-24T17:00:00.000Z",
                                                                  "2026-11-25T17:00:00.000Z", 0.25)
    assert result["villages"] == {"Thôn Tây": 0.0, "Thôn Đông": 0.5}
    with pytest.raises(InvalidInput, match="end"):
        service().get_uptime("2026-11-25", "2026-11-24")
    with pytest.raises(InvalidInput, match="start: thời điểm bắt đầu phải là ngày"):
        service().get_uptime("25/11/2026", "2026-11-25")


def test_each_ended_local_day_is_reported_once(service, repos, clock):
    register(service)
    repos["devices"].docs[f"{C}/loa-01"]["created_at"] = iso(clock.now - timedelta(days=3))
    repos["connections"].open(C, "loa-01", iso(clock.now - timedelta(days=3)))
    service().roll_up()
    service().roll_up()
    today = clock.now.astimezone(VIETNAM).date()
    assert [(e.payload["date"], e.payload["devices"]) for e in repos["uptime_days"].events] == [
        ((today - timedelta(days=n)).isoformat(), 1) for n in (3, 2, 1)]
    assert [e.payload["uptime"] for e in repos["uptime_days"].events][1:] == [1.0, 1.0]
    clock.advance(86400)
    service().roll_up()
    assert repos["uptime_days"].events[-1].payload["date"] == today.isoformat()


# ------------------------------------------------------------ the container on the real broker and store


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(TelemetryService, dict(service_config, PRESENCE_SWEEP_SECONDS=0.2, MQTT_PORT=1884))
    container.start()
    return container


@pytest.fixture
def events(service_config):
    with event_tap(service_config["AMQP_URI"], "telemetry") as tap:
        yield tap


def call(container, method, *args, caller=ADMIN, **kwargs):
    context = {CONTEXT_KEY: caller.to_json()} if caller else {}
    with entrypoint_hook(container, method, context_data=context) as hook:
        return hook(*args, **kwargs)


def named(events, name, **fields):
    return [e.body for e in events() if e.name == name and all(e.body.get(k) == v for k, v in fields.items())]


def test_a_registered_device_is_announced_through_the_outbox(container, events, mongo_database):
    device = call(container, "register_device", {"device_id": "loa-01", "kind": "loudspeaker", "village": "Thôn Đông"})
    [event] = wait_until(lambda: named(events, "device_registered"), message="device_registered")
    assert (event["device_id"], event["village"], event["transport"], event["actor"]) == (
        "loa-01", "Thôn Đông", "grpc", "u1")
    wait_until(lambda: "_outbox" not in mongo_database.devices.find_one({"_id": "xuan-hung/loa-01"}),
               message="the outbox emptied")
    assert call(container, "get_device", "loa-01", caller=VIEWER)["created_at"] == device["created_at"]
    with pytest.raises(NotFound):
        call(container, "get_device", "loa-01", caller=who(OTHER))
    with pytest.raises(Unauthenticated):
        call(container, "list_devices", caller=None)
    with pytest.raises(InvalidInput, match="kind: loại thiết bị phải là một trong"):
        call(container, "register_device", {"device_id": "loa-02", "kind": "radio"})


def test_a_device_killed_without_goodbye_goes_offline_within_its_timeout(container, events, mongo_database):
    call(container, "register_device", {"device_id": "loa-01", "kind": "loudspeaker"})
    now = utcnow()
    # what the edge writes when it hears from a device (here with a 1 s timeout)
    mongo_database.device_state.insert_one({
        "_id": "xuan-hung/loa-01", "commune_id": C, "device_id": "loa-01", "connected_at": iso(now),
        "last_seen": iso(now), "offline_after": iso(now + timedelta(seconds=1)), "changed_at": iso(now),
        "sample": {"seq": 1, "volume": 45, "playback": "idle"}, "sample_at": iso(now)})
    [online] = wait_until(lambda: named(events, "device_status_reported", online=True), message="online")
    assert (online["volume"], online["playing"], online["reported_at"]) == (45, False, iso(now))
    [offline] = wait_until(lambda: named(events, "device_status_reported", online=False), timeout=5,
                           message="offline")
    assert offline["reported_at"] == iso(now + timedelta(seconds=1))
    assert utcnow() - now < timedelta(seconds=4)
    [raised] = wait_until(lambda: named(events, "alarm_raised"), message="the offline alarm")
    assert (raised["rule"], raised["severity"]) == ("offline", "critical")
    assert call(container, "get_device", "loa-01")["state"]["presence"] == "offline"
    assert call(container, "connection_history", "loa-01") == [
        {"online_from": iso(now), "online_until": iso(now + timedelta(seconds=1))}]
    back = utcnow()
    mongo_database.device_state.update_one({"_id": "xuan-hung/loa-01"}, {"$set": {
        "last_seen": iso(back), "offline_after": iso(back + timedelta(seconds=60))}})
    wait_until(lambda: named(events, "alarm_cleared", alarm_id=raised["alarm_id"]), message="the alarm cleared")
    assert len(named(events, "device_status_reported", online=True)) == 2
    assert [c["online_until"] for c in call(container, "connection_history", "loa-01")][0] is None


def test_sample_alarms_reach_the_bus_and_operators_work_them(container, events, mongo_database):
    call(container, "register_device", {"device_id": "loa-01", "kind": "loudspeaker"})
    at = iso(utcnow() - timedelta(seconds=5))
    mongo_database.device_state.insert_one({
        "_id": "xuan-hung/loa-01", "commune_id": C, "device_id": "loa-01", "last_seen": at,
        "offline_after": iso(utcnow() + timedelta(seconds=120)), "changed_at": at, "sample_at": at,
        "sample": {"seq": 7, "power_source": "battery", "volume": 0, "slot_active": True}})
    raised = wait_until(lambda: sorted(e["rule"] for e in named(events, "alarm_raised")) == ["mains_lost", "silent_slot"]
                        and named(events, "alarm_raised"), message="two alarms")
    mains = next(e for e in raised if e["rule"] == "mains_lost")
    call(container, "acknowledge_alarm", mains["alarm_id"], note="Đang kiểm tra", caller=OPERATOR)
    call(container, "clear_alarm", mains["alarm_id"], note="Đã có điện", caller=OPERATOR)
    wait_until(lambda: named(events, "alarm_cleared", alarm_id=mains["alarm_id"], actor="op-1"), message="cleared")
    assert [a["rule"] for a in call(container, "list_alarms", caller=VIEWER)] == ["silent_slot"]
    assert named(events, "alarm_acknowledged")[0]["status"] == "acknowledged"


def test_a_command_reaches_only_a_connected_device(container, service_config):
    call(container, "register_device", {"device_id": "loa-01", "kind": "loudspeaker"})
    assert call(container, "send_command", "loa-01", "stop", {}, caller=OPERATOR)["delivered"] is False
    received = []
    with Connection(service_config["AMQP_URI"]) as connection:
        # an edge with the device connected: its queue bound to the device's key
        queue = Queue("edge-test", Exchange(COMMANDS_EXCHANGE, type="topic", durable=True),
                      routing_key=routing_key(C, "loa-01"), exclusive=True)
        with connection.Consumer(queue, callbacks=[lambda body, message: (received.append(body), message.ack())]):
            sent = call(container, "send_command", "loa-01", "set_volume", {"volume": 25}, caller=OPERATOR)
            wait_until(lambda: connection.drain_events(timeout=1) or received, message="the command")
    assert sent["delivered"] is True
    command = json.loads(received[0]) if isinstance(received[0], str) else received[0]
    assert (command["command_id"], command["kind"], command["params"]) == (sent["command_id"], "set_volume",
                                                                           {"volume": 25})


def test_an_mqtt_device_gets_and_loses_its_broker_user(container, events, rabbit_config):
    # broker users are the broker's, not a vhost's: a device id of this test only
    device_id = f"mqtt-{uuid.uuid4().hex[:8]}"
    user = f"device.{C}.{device_id}"
    call(container, "register_device", {"device_id": device_id, "kind": "other", "transport": "mqtt"})
    issued = call(container, "issue_mqtt_credential", device_id, caller=OPERATOR)
    vhost = rabbit_config["vhost"]
    assert issued["username"] == f"{vhost}:{user}" and issued["mqtt_port"] == 1884
    assert issued["topic"] == f"tinxa/{C}/{device_id}/telemetry"
    login = f"amqp://{user}:{issued['password']}@127.0.0.1:5672/{vhost}"
    with Connection(login) as device:
        device.connect()
    result = call(container, "revoke_credentials", device_id, reason="Thu hồi thử", caller=OPERATOR)
    [revoked] = wait_until(lambda: named(events, "credential_revoked"), message="credential_revoked")
    assert revoked["credential_id"] == result["revoked"][0] and revoked["reason"] == "Thu hồi thử"
    with pytest.raises(AccessRefused):
        with Connection(login, connect_timeout=5) as device:
            device.connect()


def test_the_roll_up_timer_feeds_hourly_charts(container, mongo_database):
    call(container, "register_device", {"device_id": "loa-01", "kind": "loudspeaker"})
    hour = (utcnow() - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    mongo_database.telemetry_buckets.insert_one({
        "_id": f"xuan-hung/loa-01/{iso(hour)}/1", "commune_id": C, "device_id": "loa-01", "start": iso(hour),
        "end": iso(hour + timedelta(minutes=1)), "first_seq": 1, "last_seq": 2, "count": 2, "rollup": "pending",
        "samples": [sample(1, iso(hour), 20), sample(2, iso(hour + timedelta(seconds=30)), 40)]})
    call(container, "roll_up", caller=None)
    assert mongo_database.telemetry_buckets.find_one({})["rollup"] == "done"
    chart = call(container, "get_telemetry", "loa-01", start=iso(hour - timedelta(hours=1)), end=iso(utcnow()),
                 resolution="hourly", caller=VIEWER)
    assert [(p["at"], p["volume"], p["count"]) for p in chart["points"]] == [(iso(hour), 30.0, 2)]
