"""The repositories against the real store (nx-27017, or the MongoDB of
TINXA_TEST_MONGO_URI), and the same tests on their in-memory twins, so the
twins the unit tests use behave like the store."""
from datetime import datetime, timedelta, timezone

import pytest

from services.telemetry import alarms, domain
from services.telemetry import repository as store
from services.telemetry.domain import Change
from services.telemetry.tests import fakes
from shared.errors import Conflict, NotFound
from shared.events import outgoing
from shared.timers import LeaseRepository

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=timezone.utc)
C = "xuan-hung"
TWINS = {
    store.DeviceRepository: fakes.FakeDevices, store.DeviceStateRepository: fakes.FakeStates,
    store.ProvisioningCodeRepository: fakes.FakeCodes, store.CredentialRepository: fakes.FakeCredentials,
    store.ConnectionRepository: fakes.FakeConnections, store.AlarmRepository: fakes.FakeAlarms,
    store.AlarmRuleRepository: fakes.FakeAlarmRules, store.BucketRepository: fakes.FakeBuckets,
    store.HourlyRepository: fakes.FakeHourly, store.UptimeDayRepository: fakes.FakeUptimeDays,
    LeaseRepository: fakes.FakeLeases, store.MetaRepository: fakes.FakeMeta,
}


@pytest.fixture(params=["store", "twin"])
def make(request):
    """``make(RepositoryClass)``: the repository on the real store, or its twin;
    ``make.seed(repo, doc)`` writes a document as another writer (the edge) would."""
    if request.param == "twin":
        def build(cls):
            return TWINS[cls]()
        build.seed = lambda repo, doc: repo.put(doc)
        return build
    database = request.getfixturevalue("mongo_database")

    def build(cls):
        cls.create_indexes(database)
        return cls(database)
    build.seed = lambda repo, doc: database[repo.collection_name].insert_one(dict(doc))
    return build


def device(device_id, commune_id=C, village=None, created_at="2026-01-01T00:00:00.000Z", kind="loudspeaker"):
    return {"_id": domain.key(commune_id, device_id), "commune_id": commune_id, "device_id": device_id, "name": "",
            "kind": kind, "village": village, "transport": "grpc", "created_at": created_at,
            "credential": {"status": "none", "credential_id": None, "at": None}}


def registered_event(device_id):
    return outgoing("telemetry", "device_registered", C, device_id=device_id, kind="loudspeaker", village=None,
                    transport="grpc")


def test_devices_are_kept_per_commune(make):
    devices = make(store.DeviceRepository)
    devices.add(device("loa-01", village="Thôn Đông"), [registered_event("loa-01")])
    devices.add(device("loa-02", kind="eboard", created_at="2026-06-01T00:00:00.000Z"), [registered_event("loa-02")])
    devices.add(device("loa-01", commune_id="yen-thang"), [])
    with pytest.raises(Conflict, match="loa-01"):
        devices.add(device("loa-01"), [])
    assert devices.get(C, "loa-01")["village"] == "Thôn Đông" and "_outbox" not in devices.get(C, "loa-01")
    with pytest.raises(NotFound):
        devices.get("yen-thang", "loa-02")
    assert [d["device_id"] for d in devices.find(C, kind="eboard")] == ["loa-02"]
    assert [d["device_id"] for d in devices.find(C, village="Thôn Đông")] == ["loa-01"]
    assert devices.ids(C) == {"loa-01", "loa-02"}
    assert set(devices.by_keys(["xuan-hung/loa-02", "xuan-hung/nope"])) == {"xuan-hung/loa-02"}
    assert [d["device_id"] for d in devices.registered_before(C, "2026-03-01T00:00:00.000Z")] == ["loa-01"]
    assert devices.communes() == [C, "yen-thang"]
    updated = devices.apply(devices.get(C, "loa-01"), Change(set={"name": "Loa 1"}))
    assert updated["name"] == "Loa 1"
    with pytest.raises(Conflict):
        devices.apply(updated, Change(set={"name": "x"}, expect={"name": "Loa cũ"}))
    devices.set_credential(C, "loa-01", domain.credential_status("code_issued", None, NOW))
    assert devices.get(C, "loa-01")["credential"] == {"status": "code_issued", "credential_id": None,
                                                      "at": "2026-11-26T07:00:00.000Z"}


def state(device_id, **fields):
    return {"_id": domain.key(C, device_id), "commune_id": C, "device_id": device_id, **fields}


def test_the_sweep_finds_devices_by_their_presence_strings(make):
    states = make(store.DeviceStateRepository)
    now = "2026-11-26T07:00:00.000Z"
    for doc in (state("quiet", presence="online", offline_after="2026-11-26T06:59:00.000Z"),
                state("alive", presence="online", offline_after="2026-11-26T07:01:00.000Z"),
                state("back", presence="offline", offline_after="2026-11-26T07:01:00.000Z"),
                state("new", offline_after="2026-11-26T07:01:00.000Z"),
                state("gone", presence="offline", offline_after="2026-11-26T06:00:00.000Z",
                      presence_since="2026-11-26T06:00:00.000Z", offline_alarm="pending")):
        make.seed(states, doc)
    assert [s["device_id"] for s in states.went_quiet(now)] == ["quiet"]
    assert sorted(s["device_id"] for s in states.heard_again(now)) == ["back", "new"]
    assert [s["device_id"] for s in states.offline_alarm_pending()] == ["gone"]
    assert set(states.of_commune(C)) == {"quiet", "alive", "back", "new", "gone"}
    # compare-and-set: a field never written counts as null
    new = states.get(C, "new")
    assert states.apply(new, Change(set={"presence": "online"}, expect={"presence": None}))
    assert not states.apply(new, Change(set={"presence": "online"}, expect={"presence": None}))
    gone = states.get(C, "gone")
    assert states.mark_offline_alarm(gone, "raised") and not states.mark_offline_alarm(gone, "raised")
    assert states.offline_alarm_pending() == []
    states.set_conditions(gone, {"temperature_high": "2026-11-26T06:00:00.000Z"})
    assert states.get(C, "gone")["conditions"] == {"temperature_high": "2026-11-26T06:00:00.000Z"}
    states.set_conditions(gone, {})
    assert states.get(C, "gone")["conditions"] == {}


def test_devices_and_presences_are_counted_per_commune_for_the_presence_gauge(make):
    devices, states = make(store.DeviceRepository), make(store.DeviceStateRepository)
    assert devices.count_by_commune() == {} and states.presence_counts() == {}
    for device_id, commune_id in (("loa-01", C), ("loa-02", C), ("loa-03", C), ("loa-01", "yen-thang")):
        devices.add(device(device_id, commune_id=commune_id), [])
    assert devices.count_by_commune() == {C: 3, "yen-thang": 1}
    for doc in (state("loa-01", presence="online"), state("loa-02", presence="offline"),
                state("loa-03", offline_after="2026-11-26T07:01:00.000Z"),  # heard from, not swept yet
                {**state("loa-01", presence="offline"), "_id": "yen-thang/loa-01", "commune_id": "yen-thang"}):
        make.seed(states, doc)
    assert states.presence_counts() == {(C, "online"): 1, (C, "offline"): 1, ("yen-thang", "offline"): 1}


def test_changed_states_are_read_in_order_of_change(make):
    states = make(store.DeviceStateRepository)
    for device_id, at in (("b", "2026-11-26T07:00:02.000Z"), ("a", "2026-11-26T07:00:01.000Z"),
                          ("c", "2026-11-26T07:00:03.000Z"), ("d", "2026-11-26T06:00:00.000Z")):
        make.seed(states, state(device_id, changed_at=at))
    assert [s["device_id"] for s in states.changed_between("2026-11-26T06:00:00.000Z",
                                                           "2026-11-26T07:00:02.000Z")] == ["a", "b"]
    assert len(states.changed_between("", "9999")) == 4


def test_codes_and_credentials(make):
    codes = make(store.ProvisioningCodeRepository)
    codes.add({"_id": "d1", "commune_id": C, "device_id": "loa-01", "status": "pending"})
    codes.add({"_id": "d2", "commune_id": C, "device_id": "loa-01", "status": "used"})
    codes.add({"_id": "d3", "commune_id": C, "device_id": "loa-02", "status": "pending"})
    assert codes.void_pending(C, "loa-01", "2026-11-26T07:00:00.000Z") == 1
    assert codes.void_pending(C, "loa-01", "2026-11-26T07:00:00.000Z") == 0
    credentials = make(store.CredentialRepository)
    for credential_id, status in (("c1", "active"), ("c2", "revoked"), ("c3", "active")):
        credentials.add({"_id": credential_id, "commune_id": C, "device_id": "loa-01", "status": status}, [])
    active = credentials.active(C, "loa-01")
    assert sorted(c["_id"] for c in active) == ["c1", "c3"]
    revoke = Change(set={"status": "revoked"}, expect={"status": "active"})
    assert credentials.apply(active[0], revoke)["status"] == "revoked"
    assert credentials.apply(active[0], revoke) is None


def test_connection_history_is_idempotent_and_heals(make):
    connections = make(store.ConnectionRepository)
    connections.open(C, "loa-01", "2026-11-26T01:00:00.000Z")
    connections.close(C, "loa-01", "2026-11-26T01:00:00.000Z", "2026-11-26T02:00:00.000Z")
    connections.close(C, "loa-01", "2026-11-26T01:00:00.000Z", "2026-11-26T02:00:00.000Z")
    connections.open(C, "loa-01", "2026-11-26T01:00:00.000Z")  # a redone pass does not reopen it
    # a period whose start a crash lost is recorded whole
    connections.close(C, "loa-01", "2026-11-26T03:00:00.000Z", "2026-11-26T04:00:00.000Z")
    # a period whose end a crash lost is closed when the device comes back
    connections.open(C, "loa-01", "2026-11-26T05:00:00.000Z")
    connections.close_dangling(C, "loa-01", "2026-11-26T06:30:00.000Z", "2026-11-26T05:30:00.000Z")
    connections.open(C, "loa-01", "2026-11-26T06:30:00.000Z")
    connections.open(C, "loa-02", "2026-11-26T06:00:00.000Z")
    assert connections.history(C, "loa-01") == [
        {"online_from": "2026-11-26T06:30:00.000Z", "online_until": None},
        {"online_from": "2026-11-26T05:00:00.000Z", "online_until": "2026-11-26T05:30:00.000Z"},
        {"online_from": "2026-11-26T03:00:00.000Z", "online_until": "2026-11-26T04:00:00.000Z"},
        {"online_from": "2026-11-26T01:00:00.000Z", "online_until": "2026-11-26T02:00:00.000Z"},
    ]
    window = connections.history(C, "loa-01", "2026-11-26T03:30:00.000Z", "2026-11-26T05:10:00.000Z")
    assert [c["online_from"] for c in window] == ["2026-11-26T05:00:00.000Z", "2026-11-26T03:00:00.000Z"]
    assert [c["online_from"] for c in connections.history(C, "loa-01", "2026-11-26T07:00:00.000Z")] == [
        "2026-11-26T06:30:00.000Z"]
    overlapping = connections.overlapping(C, "2026-11-26T05:10:00.000Z", "2026-11-26T06:10:00.000Z")
    assert {d: [c["online_from"] for c in found] for d, found in overlapping.items()} == {
        "loa-01": ["2026-11-26T05:00:00.000Z"], "loa-02": ["2026-11-26T06:00:00.000Z"]}


def alarm(device_id="loa-01", rule="temperature_high", last_at="2026-11-26T07:00:00.000Z"):
    doc, event = alarms.new_alarm({"commune_id": C, "device_id": device_id, "name": "", "village": None}, rule,
                                  alarms.settings()[rule], "nóng", "cause", NOW)
    return dict(doc, last_at=last_at), event


def test_a_device_and_rule_have_one_active_alarm(make):
    repo = make(store.AlarmRepository)
    first, event = alarm()
    repo.add(first, [event])
    with pytest.raises(Conflict):
        repo.add(alarm()[0], [])
    assert repo.active(first["active_key"])["_id"] == first["_id"]
    cleared = repo.apply(first, alarms.cleared(first, alarms.SYSTEM, "", NOW))
    assert cleared["status"] == "cleared" and repo.active(first["active_key"]) is None
    with pytest.raises(Conflict):
        repo.apply(first, alarms.cleared(first, alarms.SYSTEM, "", NOW))
    second, _ = alarm(last_at="2026-11-26T08:00:00.000Z")
    repo.add(second, [])
    repo.add(alarm("loa-02", "offline", "2026-11-26T07:30:00.000Z")[0], [])
    assert [a["device_id"] for a in repo.find(C, alarms.ACTIVE)] == ["loa-01", "loa-02"]
    assert [a["_id"] for a in repo.find(C, ("cleared",))] == [first["_id"]]
    assert len(repo.find(C)) == 3 and len(repo.find(C, limit=1)) == 1
    assert [a["rule"] for a in repo.find(C, None, severity="critical")] == ["offline"]
    assert [a["_id"] for a in repo.active_of_device(C, "loa-01")] == [second["_id"]]
    with pytest.raises(NotFound):
        repo.get("yen-thang", second["_id"])


def test_rule_settings_read_back_as_booleans(make):
    rules = make(store.AlarmRuleRepository)
    rules.save(C, {"rule": "offline", "enabled": False, "updated_at": "t"})
    rules.save(C, {"rule": "offline", "threshold": 300.0, "updated_at": "t"})
    rules.save("yen-thang", {"rule": "mains_lost", "enabled": True})
    [saved] = rules.of_commune(C)
    assert saved["enabled"] is False and saved["threshold"] == 300
    assert alarms.settings(rules.of_commune(C))["offline"]["enabled"] is False
    assert set(rules.by_commune()) == {C, "yen-thang"}


def bucket(device_id, start, end, seqs, rollup="pending"):
    return {"_id": f"{C}/{device_id}/{start}/{seqs[0]}", "commune_id": C, "device_id": device_id, "start": start,
            "end": end, "first_seq": seqs[0], "last_seq": seqs[-1], "count": len(seqs), "rollup": rollup,
            "samples": [{"seq": s, "sampled_at": start, "volume": s} for s in seqs]}


def test_buckets_are_found_for_roll_up_and_charts_and_expire(make):
    buckets = make(store.BucketRepository)
    for doc in (bucket("loa-01", "2026-11-26T05:59:00.000Z", "2026-11-26T06:00:00.000Z", [1, 2], "done"),
                bucket("loa-01", "2026-11-26T06:00:00.000Z", "2026-11-26T06:01:00.000Z", [3]),
                bucket("loa-01", "2026-11-26T07:00:00.000Z", "2026-11-26T07:01:00.000Z", [4]),
                bucket("loa-02", "2026-10-01T00:00:00.000Z", "2026-10-01T00:01:00.000Z", [1])):
        make.seed(buckets, doc)
    pending = buckets.pending_before("2026-11-26T07:00:00.000Z")
    assert [(b["device_id"], b["start"]) for b in pending] == [("loa-02", "2026-10-01T00:00:00.000Z"),
                                                               ("loa-01", "2026-11-26T06:00:00.000Z")]
    assert "samples" not in pending[0]
    found = buckets.overlapping(C, "loa-01", "2026-11-26T05:59:30.000Z", "2026-11-26T07:00:00.000Z")
    assert [b["first_seq"] for b in found] == [1, 3] and found[0]["samples"][0]["seq"] == 1
    assert [b["start"] for b in buckets.overlapping(C, "loa-01", "2026-11-26T06:00:00.000Z",
                                                     "2026-11-26T08:00:00.000Z", pending_only=True)] == [
        "2026-11-26T06:00:00.000Z", "2026-11-26T07:00:00.000Z"]
    buckets.mark_done([pending[1]["_id"]])
    assert [b["device_id"] for b in buckets.pending_before("2026-11-26T07:00:00.000Z")] == ["loa-02"]
    assert buckets.delete_ended_before("2026-10-27T07:00:00.000Z") == 1
    assert buckets.pending_before("2026-11-26T07:00:00.000Z") == []


def test_a_past_buckets_documents_become_one_with_each_sample_once(make):
    buckets = make(store.BucketRepository)
    start, end = "2026-11-26T06:00:00.000Z", "2026-11-26T06:01:00.000Z"
    for doc in (bucket("loa-01", start, end, [1, 2]), bucket("loa-01", start, end, [3, 4]),
                bucket("loa-01", start, end, [4, 5]),  # a resend after a crash: 4 twice
                bucket("loa-02", start, end, [1])):
        make.seed(buckets, doc)
    merged_id = buckets.compact(C, "loa-01", start)
    [merged] = buckets.overlapping(C, "loa-01", start, end)
    assert merged["_id"] == merged_id == f"{C}/loa-01/{start}/1"
    assert [x["seq"] for x in merged["samples"]] == [1, 2, 3, 4, 5]
    assert (merged["count"], merged["first_seq"], merged["last_seq"], merged["rollup"]) == (5, 1, 5, "done")
    assert buckets.compact(C, "loa-01", start) == merged_id  # nothing more to merge
    assert len(buckets.overlapping(C, "loa-02", start, end)) == 1


def test_hourly_roll_ups_replace_their_hour_and_expire(make):
    hourly = make(store.HourlyRepository)
    for hour, count in (("2026-11-26T05:00:00.000Z", 1), ("2026-11-26T06:00:00.000Z", 2),
                        ("2026-11-26T06:00:00.000Z", 3), ("2024-01-01T00:00:00.000Z", 9)):
        hourly.save({"_id": f"{C}/loa-01/{hour}", "commune_id": C, "device_id": "loa-01", "hour": hour, "count": count})
    assert [(d["hour"], d["count"]) for d in hourly.between(C, "loa-01", "2026-11-26T05:00:00.000Z",
                                                            "2026-11-26T07:00:00.000Z")] == [
        ("2026-11-26T05:00:00.000Z", 1), ("2026-11-26T06:00:00.000Z", 3)]
    assert hourly.delete_before("2024-11-26T00:00:00.000Z") == 1


def test_a_day_is_reported_once(make):
    days = make(store.UptimeDayRepository)
    result = {"uptime": 0.5, "villages": {}, "devices": [{}]}
    event = outgoing("telemetry", "uptime_reported", C, start="s", end="e", date="2026-11-25", devices=1, uptime=0.5,
                     villages={})
    assert days.last_date(C) is None
    assert days.add(C, "2026-11-24", result, event) and days.add(C, "2026-11-25", result, event)
    assert not days.add(C, "2026-11-25", result, event)
    assert days.last_date(C) == "2026-11-25" and days.last_date("yen-thang") is None


def test_one_replica_holds_a_lease_until_it_expires(make):
    leases = make(LeaseRepository)
    assert leases.acquire("presence-sweep", "a", NOW, 10)
    assert not leases.acquire("presence-sweep", "b", NOW + timedelta(seconds=5), 10)
    assert leases.acquire("presence-sweep", "a", NOW + timedelta(seconds=5), 10)  # renewed to 15 s
    assert not leases.acquire("presence-sweep", "b", NOW + timedelta(seconds=12), 10)
    assert leases.acquire("presence-sweep", "b", NOW + timedelta(seconds=16), 10)
    assert leases.acquire("rollup", "a", NOW, 10)


def test_a_cursor_is_kept(make):
    meta = make(store.MetaRepository)
    assert meta.cursor("alarm_evaluation") is None
    meta.set_cursor("alarm_evaluation", "2026-11-26T07:00:00.000Z")
    meta.set_cursor("alarm_evaluation", "2026-11-26T07:00:02.000Z")
    assert meta.cursor("alarm_evaluation") == "2026-11-26T07:00:02.000Z"
