"""End to end: the agent and the hub started as a user starts them
(``python -m services.sync.agent`` / ``services.sync.hub``, the repository's
config files), each on its own database; the outbox is filled and the
results read through the stores, as the nameko sync service and
``hub_admin`` would."""
import shutil
import subprocess
import time
import uuid
from types import SimpleNamespace

import pytest
from pymongo import MongoClient

from services.sync.hub_store import HubStore
from services.sync.store import SyncStore
from services.sync.tests.processes import AgentProcess, HubProcess
from shared.testing import free_port, wait_until
from shared.timeutil import parse_iso

pytestmark = pytest.mark.e2e

COMMUNE = "xuan-hung"


@pytest.fixture
def sync(tmp_path, mongo_uri):
    """A hub and an agent of one commune (not started), their stores, and the commune's token."""
    client = MongoClient(mongo_uri)
    names = f"hub{uuid.uuid4().hex[:10]}", f"agent{uuid.uuid4().hex[:10]}"
    hub_store, agent_store = HubStore(client[names[0]]), SyncStore(client[names[1]])
    hub_store.create_indexes()
    agent_store.create_indexes()
    token = hub_store.add_commune(COMMUNE, "Xã Xuân Hưng")
    port = free_port()
    processes = []

    def hub(**env):
        processes.append(HubProcess(tmp_path / "hub.log", mongo_uri, names[0], port=port, **env))
        return processes[-1]

    def agent(token=token, **env):
        processes.append(AgentProcess(tmp_path / "agent.log", mongo_uri, names[1], f"127.0.0.1:{port}", COMMUNE,
                                      token, POLL_SECONDS=0.1, **env))
        return processes[-1]

    yield SimpleNamespace(hub=hub, agent=agent, hub_store=hub_store, agent_store=agent_store, token=token)
    for process in processes:
        process.terminate()  # all at once: each takes a second to stop
    for process in processes:
        process.stop()
    for name in names:
        client.drop_database(name)
    client.close()


def up_seqs(hub_store, stream):
    return [r["seq"] for r in hub_store.up_after(COMMUNE, stream, 0, 100000)]


def test_records_flow_both_ways_in_order_and_are_acknowledged(sync):
    hub = sync.hub().start()
    agent = sync.agent().start()
    outbox, hub_store = sync.agent_store, sync.hub_store
    wait_until(lambda: outbox.link()["state"] == "connected", message="the agent to connect")
    outbox.set_paused("tasks", True)
    time.sleep(0.6)  # the agent reads pauses every 0.5 s
    for n in range(3):
        outbox.append("content", "content.item_published", {"n": n}, event_id=f"e{n}")
    outbox.append_many("devices", "telemetry.uptime_reported", [{"n": n} for n in range(20)])
    outbox.append_many("tasks", "tasks.task_status_changed", [{"n": n} for n in range(5)])
    hub_store.send(COMMUNE, "bulletins", "bulletin", {"external_id": "b1"})
    hub_store.send(COMMUNE, "directives", "directive", {"external_id": "d1"})
    hub_store.send(COMMUNE, "bulletins", "bulletin", {"external_id": "b2"})

    wait_until(lambda: up_seqs(hub_store, "content") == [1, 2, 3] and len(up_seqs(hub_store, "devices")) == 20,
               message="the up records at the hub")
    assert [r["body"]["n"] for r in hub_store.up_after(COMMUNE, "devices", 0, 100)] == list(range(20))
    assert [r["kind"] for r in hub_store.up_after(COMMUNE, "content", 0, 100)] == ["content.item_published"] * 3
    wait_until(lambda: outbox.acknowledged("devices") == 20, message="the hub's acknowledgement in the outbox")

    def down_stored_and_acknowledged():
        assert [r["body"]["external_id"] for r in outbox.inbox_after("bulletins", 0, 10)] == ["b1", "b2"]
        assert [r["body"]["external_id"] for r in outbox.inbox_after("directives", 0, 10)] == ["d1"]
        assert hub_store.down_acknowledged(COMMUNE) == {"emergency": 0, "bulletins": 2, "directives": 1,
                                                        "courses": 0}
        return True
    wait_until(down_stored_and_acknowledged, message="the down records in the inbox, acknowledged")

    # a paused stream stays at the commune, then goes once resumed
    assert up_seqs(hub_store, "tasks") == []
    outbox.set_paused("tasks", False)
    wait_until(lambda: up_seqs(hub_store, "tasks") == [1, 2, 3, 4, 5], message="the resumed stream")

    # a later down record reaches the open Pull
    hub_store.send(COMMUNE, "courses", "course", {"external_id": "c1"})
    wait_until(lambda: outbox.inbox_position("courses") == 1, timeout=5, message="a record sent later")

    link = outbox.link()
    assert (link["state"], link["hub"], link["last_error"]) == ("connected", hub.target, None)
    assert hub_store.commune(COMMUNE)["agent_version"].startswith("tinxa-sync-agent")
    assert agent.metric('tinxa_sync_agent_records_pushed_total{stream="devices"}') == 20
    assert agent.metric('tinxa_sync_agent_records_pulled_total{stream="bulletins"}') == 2

    # the hub stops (SIGTERM) with the agent's calls open, and comes back
    assert hub.stop() == 0
    wait_until(lambda: outbox.link()["state"] == "disconnected", message="the agent to notice")
    outbox.append("content", "content.item_archived", {"n": 3})
    hub.start()
    wait_until(lambda: up_seqs(hub_store, "content") == [1, 2, 3, 4], message="the record kept meanwhile")
    assert outbox.link()["state"] == "connected"
    assert agent.stop() == 0  # SIGTERM: a clean stop
    assert outbox.link()["state"] == "disconnected" and outbox.link()["last_error"] is None


def test_a_wrong_token_leaves_the_link_down_with_the_reason(sync):
    sync.hub().start()
    sync.agent(token="not-the-token").start()
    sync.agent_store.append("content", "content.item_published", {"n": 1})

    def refused():
        link = sync.agent_store.link()
        assert link["state"] == "disconnected" and "khóa đồng bộ" in (link["last_error"] or ""), link
        return True
    wait_until(refused, message="the refusal in the link state")
    assert sync.hub_store.up_positions(COMMUNE)["content"] == 0


def test_an_emergency_overtakes_a_backlog_of_bulletins(sync):
    sync.hub_store.send_many(COMMUNE, "bulletins", "bulletin", [{"n": n} for n in range(1, 2001)])
    sync.hub_store.send(COMMUNE, "emergency", "bulletin", {"external_id": "lu-1", "level": "emergency"})
    sync.hub().start()
    sync.agent().start()
    inbox = sync.agent_store
    wait_until(lambda: inbox.inbox_position("bulletins") == 2000 and inbox.inbox_position("emergency") == 1,
               timeout=30, message="the backlog in the inbox")
    stored = list(inbox._inbox.find({}, {"stream": 1, "seq": 1, "arrival": 1}).sort("arrival"))
    assert (stored[0]["stream"], stored[0]["seq"]) == ("emergency", 1)
    assert [doc["seq"] for doc in stored[1:]] == list(range(1, 2001))  # then the bulletins, in order
    wait_until(lambda: sync.hub_store.down_acknowledged(COMMUNE)["bulletins"] == 2000, message="the last Ack")


def test_store_and_forward_through_a_hub_outage_and_an_agent_killed_mid_catch_up(sync):
    outbox, hub_store = sync.agent_store, sync.hub_store
    hub = sync.hub()
    agent = sync.agent(PUSH_BATCH=100).start()  # the hub is not running

    def disconnected():
        link = outbox.link()
        assert link["state"] == "disconnected" and "Không kết nối được trạm tỉnh" in (link["last_error"] or "")
        return True
    wait_until(disconnected, message="the agent to find the hub down")
    for start in range(0, 3000, 500):
        outbox.append_many("content", "content.item_published", [{"n": n} for n in range(start, start + 500)])
    for start in range(0, 2000, 500):
        outbox.append_many("devices", "telemetry.uptime_reported", [{"n": n} for n in range(start, start + 500)])

    hub.start()
    started = time.monotonic()
    wait_until(lambda: len(up_seqs(hub_store, "content")) == 3000 and len(up_seqs(hub_store, "devices")) == 2000,
               timeout=30, message="the backlog at the hub")
    elapsed = time.monotonic() - started
    applied_at = sorted(doc["applied_at"] for doc in hub_store._up.find({"commune_id": COMMUNE}, {"applied_at": 1}))
    moving = (parse_iso(applied_at[-1]) - parse_iso(applied_at[0])).total_seconds()
    print(f"\n5,000 records after the outage: all at the hub {elapsed:.2f} s after its start (the agent's back-off "
          f"included); first to last applied in {moving:.2f} s")
    assert up_seqs(hub_store, "content") == list(range(1, 3001))
    assert [r["body"]["n"] for r in hub_store.up_after(COMMUNE, "devices", 0, 5000)] == list(range(2000))

    # a second backlog; the agent dies (kill -9) while catching up, then comes back
    for start in range(3000, 8000, 500):
        outbox.append_many("content", "content.item_published", [{"n": n} for n in range(start, start + 500)])
    wait_until(lambda: hub_store.up_position(COMMUNE, "content") >= 3500, interval=0.02,
               message="the catch-up to begin")
    agent.kill9()
    at_kill = hub_store.up_position(COMMUNE, "content")
    assert at_kill < 8000, "the catch-up ended before the kill: nothing was tested"
    sync.agent(PUSH_BATCH=100).start()
    wait_until(lambda: hub_store.up_position(COMMUNE, "content") == 8000, timeout=30,
               message="the rest after the restart")
    records = hub_store.up_after(COMMUNE, "content", 0, 10000)
    assert [r["seq"] for r in records] == list(range(1, 8001))  # each once (the key is unique), none missing
    assert [r["body"]["n"] for r in records] == list(range(8000))
    assert hub_store._up.count_documents({"commune_id": COMMUNE}) == 10000
    print(f"killed at hub position {at_kill} of 8000")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make certificates")
def test_mutual_tls_carries_the_same_exchange(sync, tmp_path):
    pki = tmp_path / "pki"
    pki.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=Tram tinh test CA", cwd=pki)
    extensions = {"hub": "subjectAltName=IP:127.0.0.1,DNS:localhost", "agent": "extendedKeyUsage=clientAuth"}
    for name, extension in extensions.items():
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=pki)
        (pki / f"{name}.ext").write_text(extension + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=pki)
    hub = sync.hub(TLS_CERT=pki / "hub.pem", TLS_KEY=pki / "hub.key", TLS_CA=pki / "ca.pem",
                   SYNC_GRPC_LOCAL_PORT=free_port()).start()
    agent = sync.agent(TLS_CA=pki / "ca.pem", TLS_CERT=pki / "agent.pem", TLS_KEY=pki / "agent.key").start()
    sync.agent_store.append("content", "content.item_published", {"n": 1})
    sync.hub_store.send(COMMUNE, "emergency", "bulletin", {"external_id": "lu-1"})
    wait_until(lambda: up_seqs(sync.hub_store, "content") == [1] and sync.agent_store.inbox_position("emergency") == 1,
               message="the records over TLS")
    assert agent.stop() == 0
    # without a client certificate signed by the CA, the hub does not let the agent in
    sync.agent(TLS_CA=pki / "ca.pem").start()

    def refused():
        link = sync.agent_store.link()
        assert link["state"] == "disconnected" and "Không kết nối được trạm tỉnh" in (link["last_error"] or ""), link
        return True
    wait_until(refused, message="the refusal")
    assert hub.running()
