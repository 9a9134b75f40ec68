"""End to end: the hub started as a user starts it (``python -m
services.sync.hub``, the repository's config), driven over gRPC from a
child process (``sync_client.py``: grpcio's streaming client deadlocks under
the eventlet this process runs) and with ``hub_admin``; its database read
directly."""
import json
import subprocess
import sys
import time
import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import MongoClient

from services.sync import hub_admin
from services.sync.hub_store import HubStore
from services.sync.tests.processes import ROOT, HubProcess
from services.sync.tests.sync_client import calls, record

pytestmark = pytest.mark.e2e

SERVICE = "tinxa.sync.v1.ProvinceSyncService"


@pytest.fixture(scope="module")
def hub_db(mongo_uri):
    client = MongoClient(mongo_uri)
    name = f"hub{uuid.uuid4().hex[:10]}"
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, mongo_uri, hub_db):
    """One hub for the module; every test has communes of its own."""
    process = HubProcess(tmp_path_factory.mktemp("hub") / "hub.log", mongo_uri, hub_db.name).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def store(hub, hub_db):
    return HubStore(hub_db)


def commune(store, prefix):
    commune_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return commune_id, store.add_commune(commune_id, f"Xã {prefix}")


def hello(token, commune_id):
    return {"call": "hello", "token": token, "commune_id": commune_id}


def push(token, commune_id, *messages):
    return {"call": "push", "token": token, "commune_id": commune_id, "messages": list(messages)}


def pull(token, commune_id, records=0, seconds=3, after=None, batch_size=0):
    return {"call": "pull", "token": token, "commune_id": commune_id, "records": records, "seconds": seconds,
            "after": after or {}, "batch_size": batch_size}


def ack(token, commune_id, applied):
    return {"call": "ack", "token": token, "commune_id": commune_id, "applied": applied}


def contents(*seqs):
    return [record("content", seq) for seq in seqs]


def stored(hub_db, commune_id, stream="content"):
    return list(hub_db.up.find({"commune_id": commune_id, "stream": stream}).sort("key"))


def test_a_token_reads_and_writes_only_its_own_commune(hub, store, hub_db):
    a, token_a = commune(store, "a")
    b, token_b = commune(store, "b")
    store.send(a, "bulletins", "bulletin", {"for": "a"})
    store.send(b, "bulletins", "bulletin", {"for": "b"})

    def every_call(token, commune_id):
        return [hello(token, commune_id), push(token, commune_id, contents(1)),
                pull(token, commune_id, records=1, seconds=2), ack(token, commune_id, {"bulletins": 1})]

    script = (every_call(token_a, b) + every_call("not-a-token", a) + every_call(None, a)
              # a Push that names its own commune first, then another one
              + [push(token_a, a, contents(1), {"commune_id": b, "records": contents(2)})]
              + [push(token_a, a, contents(1, 2, 3)), pull(token_b, b, records=1, seconds=2), hello(token_b, b)])
    outcomes = calls(hub.target, script)

    foreign, unknown, missing = outcomes[0:4], outcomes[4:8], outcomes[8:12]
    assert [o["code"] for o in foreign] == ["PERMISSION_DENIED"] * 4, foreign
    assert all(f"không phải của xã «{b}»" in o["details"] for o in foreign)
    assert [o["code"] for o in unknown + missing] == ["UNAUTHENTICATED"] * 8, unknown + missing
    assert "không hợp lệ" in unknown[0]["details"] and "Thiếu khóa" in missing[0]["details"]
    assert not any(o.get("batches") for o in foreign + unknown + missing)
    mixed = outcomes[12]
    assert (mixed["code"], mixed["responses"]) == ("PERMISSION_DENIED", [{"content": 1}])
    own_push, own_pull, own_hello = outcomes[13:]
    assert (own_push["code"], own_push["responses"]) == ("OK", [{"content": 3}])
    assert own_pull["batches"] == [[["bulletins", 1, {"for": "b"}]]]  # B's own down records, not A's
    assert own_hello["applied"] == {}  # nothing of A's counts as B's

    assert [d["seq"] for d in stored(hub_db, a)] == [1, 2, 3]
    assert hub_db.up.count_documents({"commune_id": b}) == 0
    assert store.up_positions(b) == dict.fromkeys(store.up_positions(b), 0)
    assert store.down_acknowledged(b)["bulletins"] == 0  # A's Ack naming B changed nothing


def test_push_applies_once_in_order_and_refuses_gaps(hub, store, hub_db):
    a, token = commune(store, "idem")
    batch = contents(1, 2, 3)
    [first] = calls(hub.target, [push(token, a, batch, batch)])
    assert (first["code"], first["responses"]) == ("OK", [{"content": 3}, {"content": 3}])
    before = stored(hub_db, a)

    again, gap, overlap, mixed, bad_stream, bad_body = calls(hub.target, [
        push(token, a, batch),
        push(token, a, contents(5, 6)),
        push(token, a, contents(2, 3, 4, 5, 6)),
        push(token, a, [record("tasks", 1, kind="tasks.plan_imported"), record("content", 7),
                        record("tasks", 2, kind="tasks.plan_imported")]),
        push(token, a, [record("emergency", 1, kind="bulletin")]),
        push(token, a, [{"stream": "content", "seq": 8, "kind": "k", "body": [1, 2]}]),
    ])
    assert (again["code"], again["responses"]) == ("OK", [{"content": 3}])
    assert (gap["code"], gap["details"]) == ("FAILED_PRECONDITION", "stream content: expected seq 4, got seq 5")
    assert gap["trailers"]["x-expected-stream"] == "content" and gap["trailers"]["x-expected-seq"] == "4"
    assert (overlap["code"], overlap["responses"]) == ("OK", [{"content": 6}])
    assert (mixed["code"], mixed["responses"]) == ("OK", [{"content": 7, "tasks": 2}])
    assert bad_stream["code"] == "INVALID_ARGUMENT" and "'emergency' seq 1: unknown stream" in bad_stream["details"]
    assert bad_body["code"] == "INVALID_ARGUMENT" and "stream content seq 8" in bad_body["details"]

    after = stored(hub_db, a)
    assert [d["seq"] for d in after] == [1, 2, 3, 4, 5, 6, 7]
    assert after[:3] == before  # the resent records were not written again
    assert [d["body"] for d in after] == [{"n": seq} for seq in range(1, 8)]
    assert [d["seq"] for d in stored(hub_db, a, "tasks")] == [1, 2]
    assert hub.metric('tinxa_sync_hub_records_applied_total{stream="content"}') >= 7


def test_pull_sends_emergency_first_then_each_stream_in_order_and_stays_open(hub, store):
    a, token = commune(store, "pull")
    store.send_many(a, "bulletins", "bulletin", [{"n": n} for n in range(1, 1201)])
    store.send(a, "directives", "directive", {"n": 1})
    store.send(a, "emergency", "bulletin", {"n": 1})
    child = subprocess.Popen([sys.executable, "-m", "services.sync.tests.sync_client", hub.target], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child.stdin.write(json.dumps([pull(token, a, records=1103, seconds=20, after={"bulletins": 100},
                                       batch_size=500)]))
    child.stdin.close()
    time.sleep(2)  # the backlog is sent by now; the stream waits for more
    store.send(a, "courses", "course", {"n": 1})
    [outcome] = json.loads(child.stdout.read())
    child.wait(timeout=10)
    batches = [[(stream, seq) for stream, seq, _ in batch] for batch in outcome["batches"]]
    assert batches == [
        [("emergency", 1)],
        [("bulletins", seq) for seq in range(101, 601)],
        [("bulletins", seq) for seq in range(601, 1101)],
        [("bulletins", seq) for seq in range(1101, 1201)],
        [("directives", 1)],
        [("courses", 1)],
    ]
    assert outcome["batches"][1][0][2] == {"n": 101}

    acked, beyond, unknown = calls(hub.target, [ack(token, a, {"bulletins": 1200, "emergency": 1}),
                                                ack(token, a, {"directives": 2}), ack(token, a, {"content": 1})])
    assert acked["code"] == "OK"
    assert store.down_acknowledged(a) == {"emergency": 1, "bulletins": 1200, "directives": 0, "courses": 0}
    assert beyond["code"] == "INVALID_ARGUMENT" and "stream directives seq 2" in beyond["details"]
    assert unknown["code"] == "INVALID_ARGUMENT" and "'content'" in unknown["details"]
    assert hub.metric('tinxa_sync_hub_records_sent_total{stream="bulletins"}') >= 1100
    assert hub.metric('tinxa_sync_hub_pull_lag_seconds_count{stream="emergency"}') >= 1


def test_hub_admin_adds_rotates_sends_and_lists(hub, store, mongo_uri, hub_db, monkeypatch, capsys):
    commune_id = f"xuan-hung-{uuid.uuid4().hex[:6]}"
    added = hub.admin("add-commune", commune_id, "Xã Xuân Hưng")
    first = added.stdout.strip()
    assert "chỉ hiện một lần" in added.stderr and len(first) >= 40
    sent = hub.admin_json("send", commune_id, "emergency", "bulletin",
                          json.dumps({"external_id": "lu-1", "title": "Lũ khẩn cấp", "level": "emergency"}))
    assert sent == {"commune_id": commune_id, "stream": "emergency", "seq": 1}

    # the same commands in this process (each subprocess costs a second)
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("SYNC_HUB_DATABASE", hub_db.name)

    def admin(*args):
        code = hub_admin.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, rotated, _ = admin("rotate-token", commune_id)
    assert code == 0 and rotated.strip() and rotated.strip() != first
    rotated = rotated.strip()
    code, _, err = admin("add-commune", commune_id, "Xã Xuân Hưng")
    assert code == 1 and "đã có trong danh sách" in err
    code, _, err = admin("send", commune_id, "directives", "bulletin", "{}")
    assert code == 1 and "chỉ nhận loại «directive»" in err
    code, _, err = admin("send", commune_id, "bulletins", "bulletin", "[1]")
    assert code == 1 and "đối tượng JSON" in err
    code, _, err = admin("send", commune_id, "bulletins", "bulletin", '{"level": "emergency"}')
    assert code == 1 and "phải có level là 'normal' hoặc 'priority'" in err
    code, _, err = admin("send", "nowhere", "directives", "directive", "{}")
    assert code == 1 and "Không có xã «nowhere»" in err

    old, new, pulled = calls(hub.target, [hello(first, commune_id), hello(rotated, commune_id),
                                          pull(rotated, commune_id, records=1)])
    assert old["code"] == "UNAUTHENTICATED" and new["code"] == "OK"
    assert pulled["batches"] == [[["emergency", 1, {"external_id": "lu-1", "title": "Lũ khẩn cấp",
                                                    "level": "emergency"}]]]
    code, out, _ = admin("communes", "--json")
    [listed] = [c for c in json.loads(out) if c["commune_id"] == commune_id]
    assert listed["name"] == "Xã Xuân Hưng" and listed["agent_version"] == "test" and listed["last_contact"]
    emergency = next(entry for entry in listed["down"] if entry["stream"] == "emergency")
    assert (emergency["sent"], emergency["acknowledged"], emergency["backlog"]) == (1, 0, 1)
    assert "gửi xuống emergency: 1, xã đã nhận 0, tồn 1" in admin("communes")[1]


def test_health_reflection_and_metrics(hub):
    with grpc.insecure_channel(hub.target) as channel:
        for service in ("", SERVICE):
            answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                               timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
    listed = subprocess.run([sys.executable, "-c", (
        "import sys, grpc\n"
        "from grpc_reflection.v1alpha.proto_reflection_descriptor_database import "
        "ProtoReflectionDescriptorDatabase\n"
        "with grpc.insecure_channel(sys.argv[1]) as channel:\n"
        "    print(sorted(ProtoReflectionDescriptorDatabase(channel).get_services()))\n"), hub.target],
        capture_output=True, text=True, timeout=30)
    assert SERVICE in listed.stdout, listed.stderr
    status, body = hub.http("/healthz")
    assert status == 200 and json.loads(body)["checks"] == {"mongo": "ok"}
    assert "tinxa_sync_hub_streams_open" in hub.http("/metrics")[1]
