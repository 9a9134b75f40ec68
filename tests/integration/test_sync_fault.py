"""The provincial link's fault test (issue #8): the hub is stopped while the
commune produces 50,000 records; it comes back; during the catch-up the agent
is killed (SIGKILL) and restarted, then the hub is; in the end every record
has arrived exactly once and in order per stream — the test counts and checks
each one.

The hub and the agent run as the real processes `make up` starts
(``python -m services.sync.hub`` / ``services.sync.agent``) against the
session's nx-27017, each with its own database."""
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from services.sync.hub_store import HubStore
from services.sync.store import SyncStore
from shared.testing import ServiceProcess, free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
COMMUNE = "xuan-hung"
STREAMS = ("content", "broadcast_stats", "devices", "tasks", "training")
PER_STREAM = 10_000
CHUNK = 1_000


def process(module, config, env, log_path):
    """The hub or the agent, started, killed and restarted as an operator (or a crash) would."""
    return ServiceProcess(module, env, log_path, command=[sys.executable, "-m", module, "--config", config])


@pytest.fixture
def databases(mongo_uri):
    client = MongoClient(mongo_uri)
    names = (f"t{uuid.uuid4().hex[:12]}", f"t{uuid.uuid4().hex[:12]}")
    yield client, names
    # the session's own nx-27017 is thrown away with its folder; dropping 100,000 documents
    # there takes longer than the test, so only a store named by TINXA_TEST_MONGO_URI is cleaned
    if os.environ.get("TINXA_TEST_MONGO_URI"):
        for name in names:
            client.drop_database(name)
    client.close()


def test_fifty_thousand_records_cross_an_outage_and_restarts_exactly_once_in_order(mongo_uri, databases, tmp_path):
    client, (agent_db, hub_db) = databases
    port = free_port()
    env = {"MONGO_URI": mongo_uri, "SYNC_DATABASE": agent_db, "SYNC_HUB_DATABASE": hub_db,
           "SYNC_GRPC_PORT": str(port), "SYNC_GRPC_LOCAL_PORT": str(free_port()), "COMMUNE_ID": COMMUNE,
           "HUB_TARGET": f"127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    token = subprocess.run([sys.executable, "-m", "services.sync.hub_admin", "add-commune", COMMUNE, "Xuân Hưng"],
                           cwd=REPO, env=dict(os.environ, **env), capture_output=True, text=True, check=True,
                           timeout=60).stdout.strip()
    hub = process("services.sync.hub", "deploy/config/sync-hub.yaml", env, tmp_path / "hub.log")
    agent = process("services.sync.agent", "deploy/config/sync-agent.yaml", dict(env, SYNC_TOKEN=token),
                    tmp_path / "agent.log")
    outbox, province = SyncStore(client[agent_db]), HubStore(client[hub_db])
    link_state = lambda: outbox.link().get("state")  # noqa: E731
    arrived = lambda: sum(province.up_position(COMMUNE, stream) for stream in STREAMS)  # noqa: E731
    try:
        hub.start()
        agent.start()
        wait_until(lambda: link_state() == "connected", timeout=30, message="the agent to connect")

        hub.stop()  # the province's link goes down …
        wait_until(lambda: link_state() == "disconnected", timeout=30, message="the agent to see the hub gone")
        for start in range(0, PER_STREAM, CHUNK):  # … while the commune goes on producing
            for stream in STREAMS:
                outbox.append_many(stream, f"test.{stream}", [{"stream": stream, "n": n}
                                                              for n in range(start, start + CHUNK)])
        assert sum(outbox.outbox_position(stream) for stream in STREAMS) == len(STREAMS) * PER_STREAM
        assert arrived() == 0

        began = time.monotonic()
        hub.start()  # it comes back: the catch-up begins
        wait_until(lambda: arrived() >= 10_000, timeout=60, interval=0.05, message="10,000 records at the hub")
        agent.kill9()  # the commune's side dies mid catch-up, without a goodbye
        agent.start()
        wait_until(lambda: arrived() >= 30_000, timeout=60, interval=0.05, message="30,000 records at the hub")
        hub.kill9()  # then the province's side
        hub.start()
        wait_until(lambda: arrived() == len(STREAMS) * PER_STREAM, timeout=120, interval=0.2,
                   message="all 50,000 records at the hub")
        took = time.monotonic() - began
    finally:
        agent.stop()
        hub.stop()

    for stream in STREAMS:
        records = province.up_after(COMMUNE, stream, 0, PER_STREAM + 10)
        assert [r["seq"] for r in records] == list(range(1, PER_STREAM + 1)), stream  # each once, no gap
        assert [r["body"]["n"] for r in records] == list(range(PER_STREAM)), stream  # in the commune's order
        assert {r["body"]["stream"] for r in records} == {stream}
    print(f"catch-up of {len(STREAMS) * PER_STREAM} records with two restarts: {took:.1f} s")
