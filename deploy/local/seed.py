"""Seed the demo commune Xuân Hưng through the running services' RPC.

Idempotent: the commune is created or updated, the admin account is created
once (its password is printed that one time only), the 2026 plan is imported
if the commune has no plan yet, the demo devices are registered, and every
demo device without a credential gets a provisioning code, written to
``$TINXA_HOME/sim/codes.json`` for the device simulator (``make sim``). A
commune with nobody on its communicators' roster gets the demo roster (through
the same preview-and-confirm import an officer uses), village targets that
leave some villages short, and a first training course. Runs as the system
caller over the bus.
"""
import argparse
import base64
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from shared.context import CONTEXT_KEY, SYSTEM
from shared.errors import NotFound
from shared.timeutil import local_today

SEED = Path(__file__).resolve().parents[1] / "seed"


def virtual_devices(count, villages):
    """``count`` simulated loudspeakers SIM-0001…, spread over the villages."""
    return [{"device_id": f"SIM-{n:04d}", "name": f"Cụm loa mô phỏng {n}", "kind": "loudspeaker",
             "village": villages[n % len(villages)]["id"], "model": "simulator"} for n in range(1, count + 1)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fleet", type=int, default=0,
                        help="devices in all: simulated ones are added beyond the demo fleet")
    args = parser.parse_args(argv)
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
        extra = max(0, args.fleet - len(data["devices"]))
        seed_devices(rpc, commune["id"], data["devices"] + virtual_devices(extra, commune["villages"]))
        seed_training(rpc, commune["id"], data["training"])
    if admin["created"]:
        print(f"[seed] admin account: {data['admin']['username']}  password: {admin['password']}")
        print("[seed] the password is shown once; keep it now.")
    else:
        print(f"[seed] admin account {data['admin']['username']} already exists (password unchanged)")
    return 0


def seed_devices(rpc, commune_id, devices):
    """Register the demo fleet; codes for the devices the simulator has no
    credential for yet (a credential once obtained is kept across runs)."""
    sim_dir = Path(os.environ.get("TINXA_HOME", "data")) / "sim"
    sim_dir.mkdir(parents=True, exist_ok=True)
    credentials_file = sim_dir / "credentials.json"
    provisioned = json.loads(credentials_file.read_text(encoding="utf-8")) if credentials_file.exists() else {}
    codes = []
    for device in devices:
        try:
            rpc.telemetry.get_device(device["device_id"], commune_id=commune_id)
        except NotFound:
            rpc.telemetry.register_device(dict(device, commune_id=commune_id))
            print(f"[seed] registered device {device['device_id']}")
        if device["device_id"] not in provisioned:
            code = rpc.telemetry.issue_provisioning_code(device["device_id"], commune_id=commune_id)
            codes.append({"device_id": device["device_id"], "code": code["code"], "kind": device["kind"],
                          "village": device["village"]})
    (sim_dir / "codes.json").write_text(json.dumps(codes, ensure_ascii=False, indent=2), encoding="utf-8")


def seed_training(rpc, commune_id, training):
    """The demo roster and a first course, once: only while nobody is on the roster."""
    roster = rpc.training.roster(commune_id=commune_id)
    if any(village["people"] for village in roster["villages"]) or roster["officers"]:
        return
    source = SEED / training["roster"]
    preview = rpc.training.preview_roster_import(source.name, base64.b64encode(source.read_bytes()).decode("ascii"),
                                                 commune_id=commune_id)
    applied = rpc.training.confirm_import(preview["import_id"], commune_id=commune_id)
    totals = rpc.training.save_targets(training["targets"], zalo_url=training["zalo_url"], commune_id=commune_id)
    print(f"[seed] roster: {applied['applied']} people; {totals['in_place']} communicators in place "
          f"of {totals['target']}, {totals['villages_short']} villages short")
    if not rpc.training.list_courses(commune_id=commune_id):
        course = rpc.training.save_course(training["course"], commune_id=commune_id)
        for session in training["sessions"]:  # dated from today, so the demo always has sessions ahead
            day = local_today() + timedelta(days=session.pop("in_days"))
            rpc.training.save_session(dict(session, date=day.isoformat(), course_id=course["course_id"]),
                                      commune_id=commune_id)
        print(f"[seed] course «{course['title']}» with {len(training['sessions'])} sessions")


if __name__ == "__main__":
    sys.exit(main())
