"""The edge's storage against the real store (nx-27017 unless
TINXA_TEST_MONGO_URI names another): provisioning, rotation, credential
checks, and the batch writes of samples."""
from datetime import timedelta

import pytest

from services.telemetry.edge_store import EdgeStore
from services.telemetry.tests.devicelink_client import issue_code, issue_credential, register
from shared.errors import Unauthenticated
from shared.mongo import OUTBOX, OUTBOX_SINCE


@pytest.fixture
def db(mongo_database):
    return mongo_database


@pytest.fixture
def store(db):
    return EdgeStore(db)


def test_a_code_is_exchanged_once_for_a_credential(db, store):
    register(db)
    old = issue_credential(db)
    code = issue_code(db)
    issued = store.provision(code.lower().replace("-", " "), firmware="2.1.0", model="TX-100")

    assert (issued.commune_id, issued.device_id) == ("xuan-hung", "loa-01")
    assert store.authenticate(f"Bearer {issued.credential}")["_id"] == issued.credential_id
    assert db.provisioning_codes.find_one()["status"] == "used"
    device = db.devices.find_one()
    assert device["credential"]["status"] == "active" and device["credential"]["credential_id"] == issued.credential_id
    assert (device["firmware"], device["model"]) == ("2.1.0", "TX-100")
    old_id = old.split(".")[0]
    assert issued.revoked == [old_id]
    assert db.credentials.find_one({"_id": old_id})["status"] == "revoked"
    assert store.authenticate(old) is None
    assert {(e.name, e.payload.get("how"), e.payload["credential_id"]) for e in issued.events} == {
        ("device_provisioned", "provisioning_code", issued.credential_id), ("credential_revoked", None, old_id)}

    with pytest.raises(Unauthenticated) as again:
        store.provision(code)
    assert "Mã kích hoạt không đúng, đã được dùng hoặc đã hết hạn" in again.value.message


@pytest.mark.parametrize("status, expires_in", [("pending", timedelta(seconds=-1)), ("void", timedelta(hours=1))])
def test_an_expired_or_void_code_does_not_work(db, store, status, expires_in):
    register(db)
    with pytest.raises(Unauthenticated):
        store.provision(issue_code(db, status=status, expires_in=expires_in))
    with pytest.raises(Unauthenticated):
        store.provision("K7QM-2XPA-9RTD")
    assert db.credentials.count_documents({}) == 0


def test_the_events_wait_in_the_credential_until_cleared(db, store):
    register(db)
    issued = store.provision(issue_code(db))
    doc = db.credentials.find_one({"_id": issued.credential_id})
    assert set(doc[OUTBOX]) == {e.event_id for e in issued.events} and doc[OUTBOX_SINCE]
    store.clear_outbox(issued.credential_id, [e.event_id for e in issued.events])
    doc = db.credentials.find_one({"_id": issued.credential_id})
    assert OUTBOX not in doc and OUTBOX_SINCE not in doc


def test_rotation_revokes_the_calling_credential(db, store):
    register(db)
    current = issue_credential(db)
    issued = store.rotate(store.authenticate(f"Bearer {current}"))
    assert issued.revoked == [current.split(".")[0]]
    assert store.authenticate(current) is None and store.authenticate(issued.credential)
    assert [e.payload["how"] for e in issued.events if e.name == "device_provisioned"] == ["rotation"]


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # wrong secret
    lambda c: "not-a-credential",
    lambda c: "",
    lambda c: "0" * 32 + ".secret",  # unknown id
])
def test_a_bad_credential_is_refused(db, store, mangle):
    register(db)
    assert store.authenticate(mangle(issue_credential(db))) is None


def test_revoked_and_mqtt_credentials_do_not_open_streams(db, store):
    register(db)
    assert store.open_session(issue_credential(db, status="revoked")) is None
    assert store.open_session(issue_credential(db, transport="mqtt")) is None


def test_a_session_knows_the_devices_timeout_and_stored_seq(db, store):
    register(db)
    credential = issue_credential(db)
    session = store.open_session(f"Bearer {credential}")
    assert (session.commune_id, session.device_id, session.presence_timeout_s, session.stored_through_seq) == (
        "xuan-hung", "loa-01", 90, 0)
    db.device_state.insert_one({"_id": "xuan-hung/loa-01", "stored_through_seq": 41})
    assert store.open_session(credential).stored_through_seq == 41
    register(db, device_id="loa-02", presence_timeout_s=None)
    assert store.device("xuan-hung", "loa-02") == (120, 0)
    assert store.device("xuan-hung", "nowhere") is None


def bucket(first, last, start="2026-11-26T13:50:00.000Z"):
    samples = [{"seq": seq, "volume": 10} for seq in range(first, last + 1)]
    return {"_id": f"xuan-hung/loa-01/{start}/{first}", "commune_id": "xuan-hung", "device_id": "loa-01",
            "start": start, "end": "2026-11-26T13:51:00.000Z", "first_seq": first, "last_seq": last,
            "count": len(samples), "samples": samples, "rollup": "pending"}


def state(through, **fields):
    return ("xuan-hung/loa-01", {"commune_id": "xuan-hung", "device_id": "loa-01"},
            {"last_seen": "2026-11-26T13:50:10.000Z", **fields}, through)


def test_samples_and_state_are_written_and_the_seq_never_goes_back(db, store):
    store.write([bucket(1, 3)], [state(3, firmware="2.1.0")])
    store.write([], [state(2, last_seen="2026-11-26T13:50:20.000Z")])
    doc = db.device_state.find_one()
    assert (doc["stored_through_seq"], doc["last_seen"], doc["firmware"]) == (3, "2026-11-26T13:50:20.000Z", "2.1.0")
    assert (doc["commune_id"], doc["device_id"]) == ("xuan-hung", "loa-01")
    assert db.telemetry_buckets.find_one()["samples"][2] == {"seq": 3, "volume": 10}


def test_a_resend_after_a_crash_stores_only_what_was_missing(db, store):
    store.write([bucket(1, 3)], [])
    store.write([bucket(1, 5), bucket(1, 2, start="2026-11-26T13:49:00.000Z")], [])
    stored = sorted(db.telemetry_buckets.find(), key=lambda d: d["_id"])
    assert [(d["_id"].split("/", 2)[2], d["first_seq"], d["last_seq"], d["count"]) for d in stored] == [
        ("2026-11-26T13:49:00.000Z/1", 1, 2, 2),
        ("2026-11-26T13:50:00.000Z/1", 1, 3, 3),
        ("2026-11-26T13:50:00.000Z/4", 4, 5, 2),
    ]
    store.write([bucket(1, 3)], [])  # all of it stored already: nothing more
    assert db.telemetry_buckets.count_documents({}) == 3
