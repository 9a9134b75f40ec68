"""`make bench`: throughput of the request paths, as ratios to a baseline
measured in the same run on the same machine.

Starts its own copy of the system (deploy/local/up.sh in a temporary folder,
own ports and vhost), then measures, sequentially, one client:
- baseline: raw kombu publish/s (transient messages, no confirms);
- nameko RPC round-trips/s straight to the tasks service;
- HTTP round-trips/s through the gateway's API (an API key, keep-alive),
  each one a gateway → tasks RPC;
- telemetry ingestion: 2,000 simulated devices (one simulator process) each
  stream a batch of 5 samples a second over DeviceLink for 60 s; the figure
  is the samples stored in MongoDB per second during that minute (from the
  devices' stored sequence numbers), and afterwards every sample sent is
  counted in the stored buckets;
- emergency broadcast: the same 2,000 devices connected again; an emergency
  to all of them (a zone holding them) is created over RPC, and the time
  from the call to the last device's acknowledgement is measured twice: as
  the devices stamped it, and as the broadcast service recorded it (its
  deliveries, read from its database); per-device p50 and p99 from the
  devices' acknowledgement times. The devices run as 4 simulator processes
  without state files (``--no-state``): one process writing 2,000 state
  files in a row would measure the harness, not the system (measured: last
  acknowledgement 1.7 s with them, 0.35–0.7 s without). ``BENCH_EDGES=2``
  adds a second DeviceLink edge replica and splits the devices over both;
- provincial sync (bench/sync_bench.py, after the system is stopped): the
  catch-up rate of 50,000 records after an outage through the real hub and
  agent, beside the raw gRPC stream rate measured in the same run
  (``--only sync`` runs it alone).
Prints each figure and its ratio to the baseline, then stops the system.
"""
import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import eventlet

eventlet.monkey_patch()

import requests  # noqa: E402
import pymongo  # noqa: E402
from kombu import Connection, Exchange, Queue  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared.context import CONTEXT_KEY, SYSTEM  # noqa: E402
from shared.testing import LocalStack  # noqa: E402


def rate(count, fn):
    started = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - started)


def kombu_publish_rate(amqp_uri, count):
    with Connection(amqp_uri) as conn:
        exchange = Exchange("bench", type="direct", durable=False, auto_delete=True)
        queue = Queue("bench", exchange, routing_key="bench", auto_delete=True, max_length=count)
        producer = conn.Producer()
        queue(producer.channel).declare()
        body = json.dumps({"event_id": "x" * 32, "commune_id": "xuan-hung"})
        return rate(count, lambda: producer.publish(body, exchange=exchange, routing_key="bench",
                                                    content_type="application/json", delivery_mode=1))


def stored_through(db):
    """Samples stored so far, by the devices' stored sequence numbers."""
    return sum(d.get("stored_through_seq") or 0 for d in db.device_state.find({}, {"stored_through_seq": 1}))


def counted_samples(db):
    """Distinct (device, seq) pairs in the stored buckets: every sample once."""
    seen = set()
    for bucket in db.telemetry_buckets.find({}, {"device_id": 1, "samples": 1}):
        seen.update((bucket["device_id"], sample["seq"]) for sample in bucket["samples"])
    return len(seen)


def provision_fleet(stack, rpc, devices, home):
    """Register and provision ``devices`` simulated loudspeakers; their credentials file."""
    ids = [f"BENCH-{n:05d}" for n in range(1, devices + 1)]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["device_id", "kind"])
    writer.writerows([device_id, "loudspeaker"] for device_id in ids)
    imported = rpc.telemetry.import_devices(table.getvalue(), confirm=True, commune_id="xuan-hung")
    assert imported["created"] == devices, imported
    codes = [{"device_id": device_id, "kind": "loudspeaker", "village": None,
              "code": rpc.telemetry.issue_provisioning_code(device_id, commune_id="xuan-hung")["code"]}
             for device_id in ids]
    sim = Path(home) / "bench-sim"
    sim.mkdir()
    (sim / "codes.json").write_text(json.dumps(codes))
    simulator = [sys.executable, "-m", "services.telemetry.simulator"]
    subprocess.run([*simulator, "provision", "--target", stack.grpc_target, "--codes", str(sim / "codes.json"),
                    "--out", str(sim / "credentials.json")], check=True, stdout=subprocess.DEVNULL)
    return sim


def ingestion(stack, rpc, devices, seconds, home):
    """(samples stored per second over ``seconds``, samples sent, samples counted)."""
    sim = Path(home) / "bench-sim"
    simulator = [sys.executable, "-m", "services.telemetry.simulator"]
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{stack.env['TINXA_MONGO_PORT']}/").telemetry
    stats_file = sim / "stats.json"
    # what earlier scenarios stored is not this minute's
    stored_before = counted_samples(db)
    baseline = {d["device_id"]: d.get("stored_through_seq") or 0
                for d in db.device_state.find({"device_id": {"$regex": "^BENCH-"}}, {"device_id": 1, "stored_through_seq": 1})}
    run = subprocess.Popen([*simulator, "run", "--target", stack.grpc_target, "--credentials", str(sim / "credentials.json"),
                            "--sample-interval", "0.2", "--batch", "5", "--duration", str(seconds + 30),
                            "--log-dir", str(sim), "--stats-file", str(stats_file)], stdout=subprocess.DEVNULL)
    try:
        # the minute starts once every device streams
        deadline = time.monotonic() + 120
        def streaming():
            return sum(1 for d in db.device_state.find({"device_id": {"$regex": "^BENCH-"}},
                                                       {"device_id": 1, "stored_through_seq": 1})
                       if (d.get("stored_through_seq") or 0) > baseline.get(d["device_id"], 0))
        while streaming() < devices:
            if time.monotonic() > deadline:
                raise SystemExit("the simulated devices did not all connect within 2 minutes")
            time.sleep(1)
        first, started = stored_through(db), time.perf_counter()
        time.sleep(seconds)
        last, elapsed = stored_through(db), time.perf_counter() - started
        run.wait(timeout=seconds + 120)
    finally:
        if run.poll() is None:
            run.kill()
    stats = json.loads(stats_file.read_text())
    stored_rate = (last - first) / elapsed
    print(f"telemetry: {stored_rate:.0f} samples stored/s over {elapsed:.0f} s; counting every stored sample…", flush=True)
    return stored_rate, stats["samples_sent"], counted_samples(db) - stored_before, stats


SIMULATOR_PROCESSES = 4
# how long the fleet may take to come online before the emergency (setting up, not measured)
ONLINE_WITHIN = 420
EDGES = int(os.environ.get("BENCH_EDGES", "1"))


def second_edge(stack, home):
    """A second DeviceLink edge replica (DESIGN: any number run behind a
    balancer); half of the simulated devices connect to it."""
    from shared.testing import free_port, wait_until

    port, metrics = free_port(), free_port()
    env = dict(stack.env, AMQP_URI=stack.amqp_uri, MONGO_URI=f"mongodb://127.0.0.1:{stack.env['TINXA_MONGO_PORT']}/",
               GRPC_PORT=str(port), METRICS_PORT=str(metrics), EDGE_ID="bench-edge-2", MQTT_INGEST="false")
    log = open(Path(home) / "telemetry-edge-2.log", "ab")
    edge = subprocess.Popen([sys.executable, "-m", "services.telemetry.edge"], env=env, stdout=log, stderr=log)
    def ready():
        try:
            return requests.get(f"http://127.0.0.1:{metrics}/healthz", timeout=2).ok
        except requests.ConnectionError:
            return False
    try:
        wait_until(ready, timeout=30, message="the second edge ready")
    except BaseException:
        edge.kill()
        raise
    return edge, f"127.0.0.1:{port}"


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def emergency(stack, rpc, devices, home):
    """An emergency to ``devices`` connected simulated devices: (seconds to
    the last device's ack as stamped by the devices, to every ack stored by
    the broadcast service, to every delivery shown acknowledged, per-device
    p50, p99)."""
    from shared.timeutil import parse_iso, utcnow

    sim = Path(home) / "bench-sim"
    ids = [f"BENCH-{n:05d}" for n in range(1, devices + 1)]
    # real devices answer in parallel; one Python process answering for 2,000 would queue them
    # behind each other, so the fleet runs as SIMULATOR_PROCESSES processes
    credentials = json.loads((sim / "credentials.json").read_text())
    edge, edge_target = second_edge(stack, home) if EDGES == 2 else (None, stack.grpc_target)
    runs = [edge] if edge else []
    for part in range(SIMULATOR_PROCESSES):
        share = {device_id: credentials[device_id] for device_id in ids[part::SIMULATOR_PROCESSES]}
        (sim / f"credentials-{part}.json").write_text(json.dumps(share))
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "services.telemetry.simulator", "run",
             "--target", stack.grpc_target if part % 2 == 0 else edge_target,
             "--credentials", str(sim / f"credentials-{part}.json"), "--sample-interval", "5", "--duration", str(ONLINE_WITHIN + 180),
             "--no-state",
             "--log-dir", str(sim / f"emergency-{part}")], stdout=subprocess.DEVNULL))
    db = pymongo.MongoClient(f"mongodb://127.0.0.1:{stack.env['TINXA_MONGO_PORT']}/").broadcast
    try:
        # setting up, not measured: on a slow machine 2,000 first connections take minutes
        began, deadline = time.monotonic(), time.monotonic() + ONLINE_WITHIN
        online = 0
        while online < devices:
            online = len(rpc.telemetry.list_devices({"commune_id": "xuan-hung", "presence": "online"}))
            if time.monotonic() > deadline:
                raise SystemExit(f"only {online} of {devices} simulated devices came online within "
                                 f"{ONLINE_WITHIN / 60:.0f} minutes")
            time.sleep(1)
        print(f"emergency: {devices} devices online after {time.monotonic() - began:.0f} s", flush=True)
        time.sleep(5)  # every stream settled
        rpc.broadcast.save_zone({"id": "bench", "name": "Thiết bị đo tải", "device_ids": ids}, commune_id="xuan-hung")
        started = utcnow()
        clock = time.perf_counter()
        created = rpc.broadcast.create_broadcast(
            {"title": "Diễn tập khẩn cấp", "text": "Đây là tin diễn tập.", "level": "emergency",
             "target": {"zones": ["bench"]}, "duration_seconds": 10, "confirm": True}, commune_id="xuan-hung")
        acked = ("acknowledged", "playing", "played")
        recorded = shown = None
        while shown is None:
            if time.perf_counter() - clock > 60:
                raise SystemExit("the emergency was not acknowledged by every device within 60 s")
            if recorded is None and db.answers.count_documents({"command_id": created["command_id"],
                                                                "status": "accepted"}) >= devices:
                recorded = time.perf_counter() - clock
            if recorded is not None and db.deliveries.count_documents(
                    {"broadcast_id": created["broadcast_id"], "state": {"$in": acked}}) >= devices:
                shown = time.perf_counter() - clock
            time.sleep(0.01)
        first = {}
        for answer in db.answers.find({"command_id": created["command_id"]}):
            at = parse_iso(answer["at"])
            first[answer["device_id"]] = min(at, first.get(answer["device_id"], at))
        latencies = [(at - started).total_seconds() for at in first.values()]
        print(f"emergency: {len(latencies)} devices acknowledged", flush=True)
        return max(latencies), recorded, shown, percentile(latencies, 0.5), percentile(latencies, 0.99)
    finally:
        for run in reversed(runs):
            run.terminate()
        for run in runs:
            try:
                run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()


def emergency_only(args):
    home = args.keep or tempfile.mkdtemp(prefix="tinxa-bench-")
    stack = LocalStack(home)
    stack.env["TINXA_SIMULATOR"] = "0"
    try:
        stack.up()
        with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()},
                             timeout=120) as rpc:
            provision_fleet(stack, rpc, args.devices, home)
            last_ack, recorded, shown, p50, p99 = emergency(stack, rpc, args.devices, home)
    finally:
        stack.down()
    print(f"emergency broadcast to {args.devices} devices: last device acknowledged {last_ack:.3f} s after the call "
          f"(device clocks), every ack stored by the broadcast service after {recorded:.3f} s, every delivery "
          f"shown acknowledged after {shown:.3f} s; per device p50 "
          f"{p50:.3f} s, p99 {p99:.3f} s (target: all within 1 s)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--publishes", type=int, default=20000)
    parser.add_argument("--rpcs", type=int, default=1000)
    parser.add_argument("--http", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--only", choices=("emergency", "sync"), help="run one scenario alone (no baseline ratios)")
    parser.add_argument("--sync-records", type=int, default=50_000)
    parser.add_argument("--keep", help="keep the system's data and logs in this folder")
    args = parser.parse_args()
    if args.only == "emergency":
        return emergency_only(args)
    if args.only == "sync":
        return sync_catch_up(args.sync_records)

    with tempfile.TemporaryDirectory(prefix="tinxa-bench-") as home:
        stack = LocalStack(home)
        stack.env["TINXA_SIMULATOR"] = "0"  # only the benchmark's own devices
        try:
            stack.up()
            with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()}) as rpc:
                key = rpc.gateway.create_api_key("xuan-hung", "bench", ["viewer"])["key"]
                task_id = rpc.tasks.list_tasks({"commune_id": "xuan-hung", "limit": 1})["items"][0]["_id"]
                baseline = kombu_publish_rate(stack.amqp_uri, args.publishes)
                rpc_rate = rate(args.rpcs, lambda: rpc.tasks.get_task(task_id, commune_id="xuan-hung"))
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {key}"
            url = f"{stack.base_url}/api/tasks/{task_id}"
            assert session.get(url, timeout=5).status_code == 200
            http_rate = rate(args.http, lambda: session.get(url, timeout=5).raise_for_status())
            with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data={CONTEXT_KEY: SYSTEM.to_json()},
                                 timeout=120) as rpc:
                provision_fleet(stack, rpc, args.devices, home)
                # the emergency first: after the ingestion minute the store is still busy digesting
                # 900,000 samples (roll-ups), and an emergency measured then measures that
                last_ack, recorded, shown, p50, p99 = emergency(stack, rpc, args.devices, home)
                ingest_rate, sent, counted, sim_stats = ingestion(stack, rpc, args.devices, args.seconds, home)
        finally:
            stack.down()

    rows = [
        ("kombu publish (baseline)", baseline),
        ("nameko RPC tasks.get_task", rpc_rate),
        ("HTTP GET /api/tasks/<id> via gateway", http_rate),
        (f"telemetry samples stored/s ({args.devices} devices)", ingest_rate),
    ]
    print(f"{'path':40} {'per second':>12} {'ratio to baseline':>18}")
    for name, value in rows:
        print(f"{name:40} {value:12.0f} {value / baseline:18.4f}")
    # a device keeps a sample until the edge acknowledges it having stored it: at the end, what was
    # sent but not stored must be among what the devices still hold unacknowledged (resent on reconnect)
    held = sim_stats.get("samples_unacked", 0)
    if counted == sent:
        verdict = "every sample accounted for"
    elif sent - counted <= held and counted >= sim_stats.get("samples_acked", 0):
        verdict = (f"every acknowledged sample stored; {sent - counted} sent at the end were not yet received by "
                   f"the edge and are among the {held} the devices still hold unacknowledged")
    else:
        verdict = f"MISSING {sent - counted}"
    print(f"emergency broadcast to {args.devices} devices: last device acknowledged {last_ack:.3f} s after the call "
          f"(device clocks), every ack stored by the broadcast service after {recorded:.3f} s, every delivery "
          f"shown acknowledged after {shown:.3f} s; per device p50 "
          f"{p50:.3f} s, p99 {p99:.3f} s (target: all within 1 s)")
    print(f"telemetry: {sent} samples sent, {counted} distinct samples stored — {verdict}; simulator: {sim_stats}")
    sync_catch_up(args.sync_records)


def sync_catch_up(records):
    """The provincial link's catch-up after an outage beside the raw gRPC
    stream rate (bench/sync_bench.py, in its own process: no eventlet there)."""
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("sync_bench.py")), "--records", str(records)],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"sync benchmark failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")
    for line in result.stdout.splitlines()[:-1]:
        if line.startswith(("raw gRPC", "sync catch-up")):
            print(line)


if __name__ == "__main__":
    main()
