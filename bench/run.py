"""`make bench`: throughput of the request paths, as ratios to a baseline
measured in the same run on the same machine.

Starts its own copy of the system (deploy/local/up.sh in a temporary folder,
own ports and vhost), then measures, sequentially, one client:
- baseline: raw kombu publish/s (transient messages, no confirms);
- nameko RPC round-trips/s straight to the tasks service;
- HTTP round-trips/s through the gateway's API (an API key, keep-alive),
  each one a gateway → tasks RPC.
Prints each figure and its ratio to the baseline, then stops the system.
"""
import argparse
import json
import tempfile
import time

import eventlet

eventlet.monkey_patch()

import requests  # noqa: E402
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--publishes", type=int, default=20000)
    parser.add_argument("--rpcs", type=int, default=1000)
    parser.add_argument("--http", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tinxa-bench-") as home:
        stack = LocalStack(home)
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
        finally:
            stack.down()

    rows = [
        ("kombu publish (baseline)", baseline),
        ("nameko RPC tasks.get_task", rpc_rate),
        ("HTTP GET /api/tasks/<id> via gateway", http_rate),
    ]
    print(f"{'path':40} {'per second':>12} {'ratio to baseline':>18}")
    for name, value in rows:
        print(f"{name:40} {value:12.0f} {value / baseline:18.4f}")


if __name__ == "__main__":
    main()
