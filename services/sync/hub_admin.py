"""The hub's command line (API.md "Two modes, four processes").

    python -m services.sync.hub_admin [--config deploy/config/sync-hub.yaml] COMMAND …

    add-commune ID NAME          register a commune; prints its token, once
    rotate-token ID              a new token for the commune (the old one stops working)
    send ID STREAM KIND JSON     a down record for the commune (JSON: the body, an object)
    communes [--json]            every commune: last contact, positions, backlogs, lag
"""
import argparse
import json
import sys
from pathlib import Path

from pymongo.errors import PyMongoError

from services.sync.hub_store import HubStore
from services.sync.records import DOWN_KINDS, DOWN_STREAMS
from shared.config import load_config
from shared.errors import InvalidInput, TinxaError
from shared.mongo import connect

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "sync-hub.yaml"
# API.md "Streams and records": an emergency goes on its own stream, so it overtakes any backlog
BULLETIN_LEVELS = {"emergency": ("emergency",), "bulletins": ("normal", "priority")}


def add_commune(store, args):
    token = store.add_commune(args.commune_id, args.name)
    print(f"Đã thêm xã «{args.commune_id}». Khóa đồng bộ (SYNC_TOKEN của xã) chỉ hiện một lần, "
          "hãy lưu lại:", file=sys.stderr)
    print(token)


def rotate_token(store, args):
    token = store.rotate_token(args.commune_id)
    print(f"Đã cấp khóa mới cho xã «{args.commune_id}»; khóa cũ không còn dùng được. "
          "Khóa mới chỉ hiện một lần:", file=sys.stderr)
    print(token)


def send(store, args):
    if args.stream not in DOWN_STREAMS:
        raise InvalidInput(f"Luồng «{args.stream}» không phải luồng gửi xuống xã (chỉ có: {', '.join(DOWN_STREAMS)}).")
    if args.kind != DOWN_KINDS[args.stream]:
        raise InvalidInput(f"Luồng «{args.stream}» chỉ nhận loại «{DOWN_KINDS[args.stream]}».")
    try:
        body = json.loads(args.body)
    except ValueError as err:
        raise InvalidInput(f"Nội dung không phải JSON hợp lệ: {err}") from err
    if not isinstance(body, dict):
        raise InvalidInput("Nội dung phải là một đối tượng JSON ({…}).")
    levels = BULLETIN_LEVELS.get(args.stream)
    if levels and body.get("level") not in levels:
        raise InvalidInput(f"Bản tin của luồng «{args.stream}» phải có level là "
                           f"{' hoặc '.join(repr(level) for level in levels)}.")
    seq = store.send(args.commune_id, args.stream, args.kind, body)
    print(json.dumps({"commune_id": args.commune_id, "stream": args.stream, "seq": seq}))


def communes(store, args):
    listed = store.communes()
    if args.json:
        print(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    if not listed:
        print("Chưa có xã nào.")
        return
    for commune in listed:
        print(f"{commune['commune_id']}  {commune['name']}  liên lạc lần cuối: {commune['last_contact'] or 'chưa'}"
              f"  phiên bản: {commune['agent_version'] or '-'}")
        up = ", ".join(f"{entry['stream']} {entry['applied']}" for entry in commune["up"])
        print(f"    nhận lên: {up}")
        for entry in commune["down"]:
            print(f"    gửi xuống {entry['stream']}: {entry['sent']}, xã đã nhận {entry['acknowledged']}, "
                  f"tồn {entry['backlog']}, trễ {entry['lag_seconds']:g} s")


def parser():
    root = argparse.ArgumentParser(prog="python -m services.sync.hub_admin", description=__doc__.split("\n\n")[0])
    root.add_argument("--config", default=str(DEFAULT_CONFIG), help="YAML config (default: %(default)s)")
    commands = root.add_subparsers(dest="command", required=True)
    command = commands.add_parser("add-commune", help="register a commune and print its token")
    command.add_argument("commune_id")
    command.add_argument("name")
    command.set_defaults(run=add_commune)
    command = commands.add_parser("rotate-token", help="give a commune a new token")
    command.add_argument("commune_id")
    command.set_defaults(run=rotate_token)
    command = commands.add_parser("send", help="append a down record for a commune")
    command.add_argument("commune_id")
    command.add_argument("stream", help=", ".join(DOWN_STREAMS))
    command.add_argument("kind", help="bulletin, directive or course")
    command.add_argument("body", help="the record's body, a JSON object")
    command.set_defaults(run=send)
    command = commands.add_parser("communes", help="list communes with their positions and backlogs")
    command.add_argument("--json", action="store_true", help="machine-readable output")
    command.set_defaults(run=communes)
    return root


def main(argv=None):
    args = parser().parse_args(argv)
    config = load_config(args.config)
    client = connect(config["MONGO_URI"])
    try:
        store = HubStore(client[config.get("MONGO_DATABASE", "sync_hub")])
        store.create_indexes()
        args.run(store, args)
    except TinxaError as err:
        print(f"Lỗi: {err.message}", file=sys.stderr)
        return 1
    except PyMongoError as err:
        print(f"Lỗi: không làm việc được với cơ sở dữ liệu của trạm tỉnh ({config['MONGO_URI']}): {err}",
              file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
