"""Seed the demo commune Xuân Hưng through the running services' RPC.

Idempotent: the commune is created or updated, the admin account is created
once (its password is printed that one time only), the 2026 plan is imported
if the commune has no plan yet. Runs as the system caller over the bus.
"""
import json
import os
import sys
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from shared.context import CONTEXT_KEY, SYSTEM

SEED = Path(__file__).resolve().parents[1] / "seed"


def main():
    data = json.loads((SEED / "xuan-hung.json").read_text(encoding="utf-8"))
    commune = data["commune"]
    config = {"AMQP_URI": os.environ["AMQP_URI"]}
    with ClusterRpcProxy(config, context_data={CONTEXT_KEY: SYSTEM.to_json()}, timeout=60) as rpc:
        rpc.gateway.ensure_commune(commune)
        admin = rpc.gateway.ensure_user(dict(data["admin"], commune_id=commune["id"]))
        if not rpc.tasks.list_plans(commune_id=commune["id"]):
            text = (SEED / data["plan"]).read_text(encoding="utf-8")
            plan = rpc.tasks.import_plan({"text": text, "source_name": data["plan"], "commune_id": commune["id"]})
            print(f"[seed] imported «{plan['title']}» with {plan['task_count']} tasks")
    if admin["created"]:
        print(f"[seed] admin account: {data['admin']['username']}  password: {admin['password']}")
        print("[seed] the password is shown once; keep it now.")
    else:
        print(f"[seed] admin account {data['admin']['username']} already exists (password unchanged)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
