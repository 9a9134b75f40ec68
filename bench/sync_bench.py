"""The provincial link's catch-up rate after an outage, beside the raw gRPC
stream rate measured in the same run (issue #8).

    .venv/bin/python bench/sync_bench.py [--records 50000]

- raw: a bare ProvinceSync ``Pull`` server that streams ready-made records
  (same body size, same batches of 500) from memory to a client that counts
  them: what gRPC alone carries on this machine;
- catch-up: the real hub and agent processes on their own nx-27017; the hub
  is down while the commune's outbox fills with ``--records`` records over the
  five up streams; the time runs from the hub's start to the moment every
  record is applied at the hub.

Runs without eventlet (grpcio's client does not live under it); prints one
line per figure and a last line of JSON for bench/run.py.
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import requests
from pymongo import MongoClient

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "gen")]

from services.sync.hub_store import HubStore  # noqa: E402
from services.sync.store import SyncStore  # noqa: E402
from shared.testing import free_port  # noqa: E402
from tinxa.sync.v1 import province_sync_pb2 as pb, province_sync_pb2_grpc as pb_grpc  # noqa: E402

COMMUNE = "xuan-hung"
STREAMS = ("content", "broadcast_stats", "devices", "tasks", "training")
BATCH = 500
# about the size of a real up record (an event payload)
BODY = json.dumps({"event_id": "0" * 32, "commune_id": COMMUNE, "occurred_at": "2026-11-26T07:00:00.000Z",
                   "schema_version": 1, "actor": None, "item_id": "a" * 12, "title": "Thông báo lịch tiêm phòng "
                   "vắc-xin cho đàn gia súc, gia cầm đợt 2 năm 2026", "n": 0}, ensure_ascii=False).encode()


class RawPull(pb_grpc.ProvinceSyncServiceServicer):
    def __init__(self, records):
        self.records = records

    async def Pull(self, request, context):
        for start in range(0, self.records, BATCH):
            yield pb.PullResponse(records=[pb.Record(stream="bulletins", seq=seq, kind="bulletin", body=BODY)
                                           for seq in range(start + 1, min(start + BATCH, self.records) + 1)])


async def raw_rate(records):
    server = grpc.aio.server()
    pb_grpc.add_ProvinceSyncServiceServicer_to_server(RawPull(records), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ProvinceSyncServiceStub(channel)
            began, received = time.perf_counter(), 0
            async for response in stub.Pull(pb.PullRequest(commune_id=COMMUNE, batch_size=BATCH)):
                received += len(response.records)
            took = time.perf_counter() - began
    finally:
        await server.stop(None)
    assert received == records, (received, records)
    return received / took


def start(module, config, env, log, metrics_port):
    process = subprocess.Popen([sys.executable, "-m", module, "--config", config], cwd=REPO,
                               env=dict(env, METRICS_PORT=str(metrics_port)), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{module} exited; see its log")
        try:
            if requests.get(f"http://127.0.0.1:{metrics_port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{module} did not become healthy")


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def catch_up_rate(records, home):
    nx = str(Path(sys.executable).with_name("nx-27017"))
    mongo_port, grpc_port = free_port(), free_port()
    subprocess.run([nx, "-d", "--data-dir", str(home / "mongo"), "-p", str(mongo_port), "--log-file",
                    str(home / "mongo.log"), "--pid-file", str(home / "mongo.pid")], check=True)
    uri = f"mongodb://127.0.0.1:{mongo_port}/"
    client = MongoClient(uri, serverSelectionTimeoutMS=5000)
    env = dict(os.environ, MONGO_URI=uri, SYNC_DATABASE="sync", SYNC_HUB_DATABASE="sync_hub", COMMUNE_ID=COMMUNE,
               SYNC_GRPC_PORT=str(grpc_port), SYNC_GRPC_LOCAL_PORT=str(free_port()),
               HUB_TARGET=f"127.0.0.1:{grpc_port}", LOG_LEVEL="WARNING")
    log = open(home / "processes.log", "ab")
    hub = agent = None
    try:
        client.admin.command("ping")
        token = subprocess.run([sys.executable, "-m", "services.sync.hub_admin", "add-commune", COMMUNE, "Xuân Hưng"],
                               cwd=REPO, env=env, capture_output=True, text=True, check=True).stdout.strip()
        outbox, province = SyncStore(client["sync"]), HubStore(client["sync_hub"])
        outbox.create_indexes()
        per_stream = records // len(STREAMS)
        body = json.loads(BODY)
        for begin in range(0, per_stream, 1000):  # the outage: the outbox fills, nothing can leave
            for stream in STREAMS:
                outbox.append_many(stream, f"bench.{stream}", [dict(body, n=n)
                                                               for n in range(begin, min(begin + 1000, per_stream))])
        agent = start("services.sync.agent", "deploy/config/sync-agent.yaml", dict(env, SYNC_TOKEN=token), log,
                      free_port())
        total = per_stream * len(STREAMS)
        began = time.perf_counter()
        hub = start("services.sync.hub", "deploy/config/sync-hub.yaml", env, log, free_port())
        while sum(province.up_position(COMMUNE, stream) for stream in STREAMS) < total:
            if time.perf_counter() - began > 600:
                raise SystemExit("the catch-up did not finish in 10 minutes")
            time.sleep(0.05)
        took = time.perf_counter() - began
        return total / took, total, took
    finally:
        for process in (agent, hub):
            if process is not None:
                stop(process)
        log.close()
        client.close()
        subprocess.run([nx, "--stop", "--pid-file", str(home / "mongo.pid")], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000)
    args = parser.parse_args()
    raw = asyncio.run(raw_rate(args.records))
    with tempfile.TemporaryDirectory(prefix="tinxa-sync-bench-") as home:
        rate, total, took = catch_up_rate(args.records, Path(home))
    print(f"raw gRPC server stream (ProvinceSync Pull, batches of {BATCH}): {raw:,.0f} records/s")
    print(f"sync catch-up after an outage ({total:,} records, hub + agent + store): {rate:,.0f} records/s "
          f"in {took:.1f} s — {rate / raw:.3f} of the raw stream (target ≥ 2,000/s)")
    print(json.dumps({"raw_grpc": raw, "catch_up": rate, "records": total, "seconds": took}))


if __name__ == "__main__":
    main()
