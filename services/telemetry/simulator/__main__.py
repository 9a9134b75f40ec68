"""python -m services.telemetry.simulator provision|run …

provision: exchange provisioning codes for credentials (DeviceLink.Provision).
run:       run the devices of a credentials file until --duration or a signal.
"""
import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from services.telemetry.simulator import fleet, grpc_link
from services.telemetry.simulator.device import FIRMWARE, MODELS


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{what} {path}: no such file")
    except json.JSONDecodeError as err:
        raise SystemExit(f"{what} {path}: not JSON ({err})")


def write_private_json(path, document):
    """Write ``document`` readable by its owner only (0600), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=1, sort_keys=True)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def provision(args):
    entries = _read_json(args.codes, "--codes")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("device_id") and e.get("code")
                                                for e in entries):
        raise SystemExit("--codes: expected a JSON list of {device_id, code, kind, village}")
    known = _read_json(args.out, "--out") if Path(args.out).exists() else {}
    todo = [entry for entry in entries if args.force or entry["device_id"] not in known]
    credentials, failures = asyncio.run(grpc_link.provision(
        args.target, todo, FIRMWARE, MODELS, concurrency=args.concurrency, tls=args.tls))
    known.update(credentials)
    write_private_json(args.out, known)
    for failure in failures:
        print(f"{failure['device_id']}: {failure['error']}", file=sys.stderr)
    print(json.dumps({"provisioned": len(credentials), "already": len(entries) - len(todo),
                      "failed": len(failures), "credentials": len(known)}))
    return 1 if failures and not args.allow_failures else 0


def _host_port(text):
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return text


def run(args):
    credentials = _read_json(args.credentials, "--credentials")
    options = fleet.FleetOptions(
        target=args.target, devices=args.devices, sample_interval=args.sample_interval, batch=args.batch,
        drop_rate=args.drop_rate, offline_seconds=(args.offline_min, args.offline_max),
        reconnect_max=args.reconnect_max, duration=args.duration,
        log_dir=args.log_dir, keep_state=not args.no_state, stats_file=args.stats_file, stats_interval=args.stats_interval, mqtt=args.mqtt,
        mqtt_vhost=args.mqtt_vhost, tls=args.tls, streams_per_channel=args.streams_per_channel, ramp=args.ramp,
        goodbye_timeout=args.goodbye_timeout, faults=args.faults,
    )
    fleet.run(options, credentials)
    return 0


def parser():
    top = argparse.ArgumentParser(prog="python -m services.telemetry.simulator", description=__doc__.split("\n\n")[0])
    top.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "WARNING"))
    commands = top.add_subparsers(dest="command", required=True)

    p = commands.add_parser("provision", help="exchange provisioning codes for credentials")
    p.add_argument("--target", required=True, type=_host_port, help="the DeviceLink edge, HOST:PORT")
    p.add_argument("--codes", required=True, help="JSON list of {device_id, code, kind, village}")
    p.add_argument("--out", required=True, help="credentials file (JSON, 0600); devices already in it are kept "
                                                "and not provisioned again")
    p.add_argument("--force", action="store_true", help="provision devices already in --out too")
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--allow-failures", action="store_true", help="exit 0 even if some codes were refused")
    p.add_argument("--tls", action="store_true")
    p.set_defaults(func=provision)

    r = commands.add_parser("run", help="run the devices")
    r.add_argument("--target", default="127.0.0.1:50051", type=_host_port, help="the DeviceLink edge, HOST:PORT")
    r.add_argument("--credentials", required=True, help="as written by provision (entries with an \"mqtt\" "
                                                        "object publish over MQTT)")
    r.add_argument("--devices", type=int, default=0, help="run the first N devices (default: all)")
    r.add_argument("--sample-interval", type=float, default=5.0, help="seconds between samples")
    r.add_argument("--batch", type=int, default=1, help="samples per TelemetryBatch")
    r.add_argument("--drop-rate", type=float, default=0.0, help="link drops per device and connected hour")
    r.add_argument("--offline-min", type=float, default=1.0, help="a dropped device stays away at least…")
    r.add_argument("--offline-max", type=float, default=5.0, help="…and at most this many seconds")
    r.add_argument("--reconnect-max", type=float, default=30.0,
                   help="longest back-off between failed connection attempts (s)")
    r.add_argument("--duration", type=float, default=0.0, help="seconds; 0 = until SIGTERM/SIGINT")
    r.add_argument("--log-dir", help="state files (seq, schedule, unreceipted reports) and plays.jsonl")
    r.add_argument("--no-state", action="store_true",
                   help="keep no state files in --log-dir (a restart starts afresh): real devices save their "
                        "state on their own flash in parallel, one process writing thousands of files does not")
    r.add_argument("--stats-file", help="the latest stats line, rewritten each time")
    r.add_argument("--stats-interval", type=float, default=10.0)
    r.add_argument("--mqtt", type=_host_port, default=f"127.0.0.1:{os.environ.get('TINXA_MQTT_PORT', '1884')}",
                   help="RabbitMQ's MQTT listener for MQTT devices (default: %(default)s)")
    r.add_argument("--mqtt-vhost", help="RabbitMQ vhost of the MQTT devices' users")
    r.add_argument("--tls", action="store_true", help="DeviceLink over TLS (system roots)")
    r.add_argument("--streams-per-channel", type=int, default=100, help="devices sharing one HTTP/2 connection")
    r.add_argument("--ramp", type=float, default=2.0, help="spread the first connections over this many seconds")
    r.add_argument("--goodbye-timeout", type=float, default=5.0,
                   help="on exit, wait at most this long for the last TelemetryAck and receipts")
    r.add_argument("--faults", type=float, default=1.0,
                   help="multiply the rates of outages, speaker faults and volume changes (e.g. 100 for a demo)")
    r.set_defaults(func=run)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
