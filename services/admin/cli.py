"""``tinxa``: the district IT team's command line (công cụ quản trị cho tổ CNTT huyện).

    tinxa commune create --file commune.json | --id ID --name NAME [--village id:Tên]... [--agency id:Tên]...
    tinxa commune list | show ID
    tinxa user create --commune ID --username U --name "Họ tên" --role commune_admin [--role …]
    tinxa user list --commune ID
    tinxa devices import --commune ID FILE.csv [--confirm]
    tinxa devices list --commune ID
    tinxa plugin grant|revoke --commune ID --name NAME;  tinxa plugin list [--commune ID]
    tinxa deadletters list | replay [--event-id ID]
    tinxa export --commune ID --out FILE;  tinxa import FILE [--replace]
    tinxa backup dump --out DIR | restore DIR [--force] | rabbitmq-definitions --out FILE

Service operations go over nameko RPC as the system caller (like
``deploy/local/seed.py``), with ``--amqp`` (default ``$AMQP_URI``); exports,
imports and backups work on the databases directly with ``--mongo`` (default
``$MONGO_URI``). Exit codes: 0 done, 1 refused or failed (one line on
stderr), 2 bad arguments.
"""
import argparse
import json
import os
import secrets
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import quote

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO = "mongodb://127.0.0.1:27017/"
RPC_TIMEOUT = 60


class UsageError(Exception):
    """Arguments that cannot be used: exit code 2, like argparse's own."""


def main(argv=None):
    if not sys.warnoptions:  # eventlet's and pkg_resources' deprecation notes are not the operator's business
        warnings.simplefilter("ignore")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.handler(args) or 0
    except UsageError as err:
        print(f"tinxa: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 — every failure becomes one readable line
        message = _failure(err)
        if message is None:
            raise
        print(f"tinxa: error: {message}", file=sys.stderr)
        return 1


def _failure(err):
    """One line for an error the operator can act on; None for a bug (which
    keeps its traceback)."""
    from nameko.exceptions import RemoteError, RpcTimeout
    from pymongo.errors import PyMongoError

    from services.admin.backup import AdminError
    from shared.broker_admin import BrokerError
    from shared.errors import TinxaError

    if isinstance(err, TinxaError):  # a service's caller error, deserialised by nameko
        details = f" {json.dumps(err.details, ensure_ascii=False)}" if err.details else ""
        return f"{type(err).__name__}: {err.message}{details}"
    if isinstance(err, RemoteError):
        return f"{err.exc_type}: {err.value}"
    if isinstance(err, RpcTimeout):
        return f"no answer over RPC within {RPC_TIMEOUT} s: are the services running on this broker/vhost?"
    if isinstance(err, PyMongoError):
        return f"database: {str(err).splitlines()[0][:300]}"
    if isinstance(err, (AdminError, BrokerError)):
        return str(err)
    if isinstance(err, OSError):
        return f"{type(err).__name__}: {err}"
    return None


# --------------------------------------------------------------------- plumbing

def _rpc(args):
    """A cluster RPC proxy acting as the system caller; refuses fast when the broker is unreachable."""
    from kombu import Connection
    from kombu.exceptions import OperationalError
    from nameko.standalone.rpc import ClusterRpcProxy

    from services.admin.backup import AdminError
    from shared.context import CONTEXT_KEY, SYSTEM

    try:
        with Connection(args.amqp, connect_timeout=5) as connection:
            connection.ensure_connection(max_retries=1)
    except (OperationalError, OSError) as err:
        raise AdminError(f"RabbitMQ at {_redact(args.amqp)} did not answer: {err}") from None
    return ClusterRpcProxy({"AMQP_URI": args.amqp}, context_data={CONTEXT_KEY: SYSTEM.to_json()},
                           timeout=RPC_TIMEOUT)


def _mongo(uri):
    from pymongo import MongoClient

    return MongoClient(uri, serverSelectionTimeoutMS=5000)


def _redact(uri):
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    if parts.password:
        return uri.replace(f":{parts.password}@", ":***@", 1)
    return uri


def _print_json(value):
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _pair(text, what):
    """``"id:Tên"`` → ``{"id": …, "name": …}``."""
    key, sep, name = text.partition(":")
    if not sep or not key.strip() or not name.strip():
        raise UsageError(f"{what} {text!r}: write it as id:Tên (e.g. thon-1:Thôn 1)")
    return {"id": key.strip(), "name": name.strip()}


def _read_text(path):
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None


# --------------------------------------------------------------------- communes

def commune_create(args):
    if args.file and (args.id or args.name or args.village or args.agency):
        raise UsageError("give either --file or --id/--name/--village/--agency, not both")
    if args.file:
        try:
            data = json.loads(_read_text(args.file))
        except ValueError as err:
            raise UsageError(f"{args.file}: not JSON ({err})") from None
        commune = data.get("commune", data) if isinstance(data, dict) else None
        if not isinstance(commune, dict):
            raise UsageError(f"{args.file}: expected a commune object (id, name, villages, agencies)")
    else:
        if not (args.id and args.name and args.province):
            raise UsageError("commune create needs --file, or --id, --name and --province")
        commune = {"id": args.id, "name": args.name,
                   "villages": [_pair(v, "--village") for v in args.village],
                   "agencies": [_pair(a, "--agency") for a in args.agency], "province": args.province}
    with _rpc(args) as rpc:
        result = rpc.gateway.ensure_commune(commune)
    made = result["commune"]
    print(f"{'created' if result['created'] else 'updated'} commune {made['id']} «{made.get('name')}»: "
          f"{len(made.get('villages') or [])} villages, {len(made.get('agencies') or [])} agencies")


def commune_list(args):
    with _rpc(args) as rpc:
        communes = rpc.gateway.commune_list()
    if not communes:
        print("no communes")
    for commune in communes:
        print(f"{commune['id']}\t{commune.get('name', '')}\t{commune.get('province', '')}\t"
              f"{len(commune.get('villages') or [])} villages\t{len(commune.get('agencies') or [])} agencies")


def commune_show(args):
    with _rpc(args) as rpc:
        profile = rpc.gateway.commune_profile(commune_id=args.commune_id)
        profile["agencies"] = rpc.gateway.list_agencies(commune_id=args.commune_id)
    _print_json(profile)


# --------------------------------------------------------------------- users

def user_create(args):
    user = {"username": args.username, "display_name": args.name, "roles": args.role, "commune_id": args.commune}
    if args.agency:
        user["agency_id"] = args.agency
    with _rpc(args) as rpc:
        result = rpc.gateway.ensure_user(user)
    made = result["user"]
    if result["created"]:
        print(f"created user {made['username']} ({', '.join(made['roles'])}) in {made['commune_id']}")
        print(f"password: {result['password']}")
        print("The password is shown this once: give it to the user now; it cannot be shown again.")
    else:
        print(f"user {made['username']} exists: name, roles and agency updated; password unchanged")


def user_list(args):
    with _rpc(args) as rpc:
        users = rpc.gateway.commune_users(commune_id=args.commune)
    if not users:
        print(f"no active users in {args.commune}")
    for user in users:
        print(f"{user['username']}\t{user['display_name']}\t{','.join(user['roles'])}\t{user.get('agency_id') or ''}")


# --------------------------------------------------------------------- devices

def devices_import(args):
    csv_text = _read_text(args.file)
    with _rpc(args) as rpc:
        preview = rpc.telemetry.import_devices(csv_text, confirm=False, commune_id=args.commune)
        for row in preview["rows"]:
            if row["problems"]:
                print(f"line {row['line']} {row.get('device_id') or '-'}: {'; '.join(row['problems'])}")
        print(f"{preview['valid']} rows valid, {preview['invalid']} with problems")
        if preview["invalid"]:
            print("nothing imported: correct the rows above and run again", file=sys.stderr)
            return 1
        if not args.confirm:
            print("preview only: run again with --confirm to register these devices")
            return 0
        done = rpc.telemetry.import_devices(csv_text, confirm=True, commune_id=args.commune)
    for row in done["rows"]:
        if row["problems"]:
            print(f"line {row['line']} {row.get('device_id') or '-'}: {'; '.join(row['problems'])}")
    print(f"registered {done['created']} devices in {args.commune}")
    return 0 if done["created"] == len(done["rows"]) else 1


def devices_list(args):
    with _rpc(args) as rpc:
        devices = rpc.telemetry.list_devices({"commune_id": args.commune})
    if not devices:
        print(f"no devices in {args.commune}")
    for device in devices:
        print(f"{device['device_id']}\t{device.get('kind', '')}\t{device.get('village') or ''}\t"
              f"{device.get('presence', '')}\t{device.get('name', '')}")


# --------------------------------------------------------------------- plug-ins

def _broker_users(args):
    from shared.broker_admin import BrokerUsers

    return BrokerUsers.from_config({"AMQP_URI": args.amqp, "RABBITMQ_MANAGEMENT_URL": args.management_url})


def plugin_grant(args):
    from shared.broker_admin import INTEGRATION_EXCHANGE

    users = _broker_users(args)
    password = secrets.token_urlsafe(32)
    try:
        username = users.grant_plugin(args.commune, args.name, password)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(f"login:    {username}")
    print(f"password: {password}")
    print(f"vhost:    {users.vhost}")
    print(f"uri:      amqp://{username}:<password>@<broker>:5672/{quote(users.vhost, safe='')}")
    print(f"exchange: {INTEGRATION_EXCHANGE} (topic)")
    print(f"may bind with keys:     {args.commune}.#")
    print(f"may publish with keys:  {args.commune}.plugin.{args.name}.#")
    print(f"may declare queues:     plugin.{args.commune}.{args.name}.*")
    print("The password is shown this once; grant again to issue a new one (the old one stops working).")


def plugin_revoke(args):
    try:
        _broker_users(args).remove_plugin(args.commune, args.name)
    except ValueError as err:
        raise UsageError(str(err)) from None
    print(f"revoked plug-in {args.name} of {args.commune} (its open connections are closed)")


def plugin_list(args):
    try:
        plugins = _broker_users(args).list_plugins(args.commune)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if not plugins:
        print("no plug-ins")
    for plugin in plugins:
        print(f"{plugin['username']}\t{plugin['commune_id']}\t{plugin['name']}")


# --------------------------------------------------------------------- dead letters

def deadletters_list(args):
    from shared.deadletters import list_dead_letters

    letters = list_dead_letters(args.amqp)
    if not letters:
        print("no dead letters")
    for letter in letters:
        print(json.dumps(letter, ensure_ascii=False))


def deadletters_replay(args):
    from shared.deadletters import replay

    print(f"replayed {replay(args.amqp, args.event_id)}")


# --------------------------------------------------------------------- export / import

def export_commune(args):
    from services.admin import commune_io

    databases, gateway = commune_io.commune_databases()
    started = time.monotonic()
    counts, skipped = commune_io.export(_mongo(args.mongo), args.commune, args.out, databases, gateway)
    for key in sorted(counts):
        print(f"{key}\t{counts[key]}")
    print(f"exported {sum(counts.values())} documents of {args.commune} to {args.out} "
          f"in {time.monotonic() - started:.1f} s (readable by you only: it holds password hashes)")
    if skipped:
        print("not exported (no commune_id; see services/admin/commune_io.py): "
              + ", ".join(f"{key} {n}" for key, n in sorted(skipped.items())))


def import_commune(args):
    from services.admin import commune_io

    result = commune_io.import_file(_mongo(args.mongo), args.file, replace=args.replace)
    print(f"imported {result['commune_id']}: {result['written']} documents written "
          f"({result['replaced']} replaced), {result['unchanged']} already there unchanged")
    if result["written"]:
        print("restart the services (or wait for their caches) so they see the imported data")


# --------------------------------------------------------------------- backups

def backup_dump(args):
    from services.admin import backup

    databases = args.database or list(dict.fromkeys(backup.service_databases().values()))
    started = time.monotonic()
    manifest = backup.dump(_mongo(args.mongo), args.out, databases)
    elapsed = time.monotonic() - started
    total = 0
    for name, database in manifest["databases"].items():
        count = sum(c["count"] for c in database["collections"].values())
        total += count
        print(f"{name}\t{len(database['collections'])} collections\t{count} documents")
    print(f"dumped {total} documents to {args.out} in {elapsed:.1f} s; check it with: tinxa backup verify {args.out}")


def backup_verify(args):
    from services.admin import backup

    manifest = backup.verify(args.dir)
    files = sum(len(d["collections"]) for d in manifest["databases"].values())
    print(f"{args.dir}: {files} files match manifest.json (made {manifest['created_at']})")


def backup_restore(args):
    from services.admin import backup

    started = time.monotonic()
    report = backup.restore(_mongo(args.mongo), args.dir, force=args.force)
    by_database = {}
    for database, _, expected, found in report:
        totals = by_database.setdefault(database, [0, 0])
        totals[0] += expected
        totals[1] += found
    for database, (expected, found) in by_database.items():
        print(f"{database}\t{found} documents (backup: {expected})")
    print(f"restored {len(report)} collections into {_redact(args.mongo)} in {time.monotonic() - started:.1f} s; "
          "counts match the manifest")


def backup_rabbitmq_definitions(args):
    from services.admin import backup

    definitions = backup.rabbitmq_definitions(args.amqp, args.management_url)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(definitions, stream, ensure_ascii=False, indent=2)
    print(f"wrote {len(definitions.get('vhosts', []))} vhosts, {len(definitions.get('queues', []))} queues, "
          f"{len(definitions.get('exchanges', []))} exchanges, {len(definitions.get('users', []))} users to {args.out} "
          "(holds the broker users' password hashes: keep it like a secret)")


# --------------------------------------------------------------------- parser

def build_parser():
    amqp = argparse.ArgumentParser(add_help=False)
    amqp.add_argument("--amqp", default=os.environ.get("AMQP_URI", DEFAULT_AMQP),
                      help="RabbitMQ URI with the vhost (default: $AMQP_URI)")
    mongo = argparse.ArgumentParser(add_help=False)
    mongo.add_argument("--mongo", default=os.environ.get("MONGO_URI", DEFAULT_MONGO),
                       help="the store's URI (default: $MONGO_URI)")
    management = argparse.ArgumentParser(add_help=False)
    management.add_argument("--management-url",
                            default=os.environ.get("RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672"),
                            help="RabbitMQ management API (default: $RABBITMQ_MANAGEMENT_URL or http://127.0.0.1:15672)")

    parser = argparse.ArgumentParser(prog="tinxa", description="TinXã: the district IT team's tool (công cụ quản trị).",
                                     epilog="Exit codes: 0 done, 1 refused or failed, 2 bad arguments.")
    areas = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(subparsers, name, handler, help_text, parents=(), **kwargs):
        sub = subparsers.add_parser(name, help=help_text, description=help_text, parents=list(parents), **kwargs)
        sub.set_defaults(handler=handler)
        return sub

    def area(name, help_text):
        sub = areas.add_parser(name, help=help_text, description=help_text)
        return sub.add_subparsers(title="commands", metavar="COMMAND", required=True)

    communes = area("commune", "communes (xã): create or update, list, show")
    create = command(communes, "create", commune_create, "create or update a commune (idempotent)", [amqp])
    create.add_argument("--file", help="JSON: a commune {id, name, villages, agencies} or a seed file with \"commune\"")
    create.add_argument("--id", help="the commune's id (slug), e.g. xuan-hung")
    create.add_argument("--name", help="its name, e.g. \"Xuân Hưng\"")
    create.add_argument("--province", help="its province, e.g. \"Ninh Bình\"")
    create.add_argument("--village", action="append", default=[], metavar="ID:NAME", help="a village (thôn), repeatable")
    create.add_argument("--agency", action="append", default=[], metavar="ID:NAME", help="an agency (cơ quan), repeatable")
    command(communes, "list", commune_list, "list the communes", [amqp])
    show = command(communes, "show", commune_show, "a commune's villages and agencies (JSON)", [amqp])
    show.add_argument("commune_id", metavar="ID")

    users = area("user", "user accounts (tài khoản)")
    create = command(users, "create", user_create, "create an account (its password is printed once) or update "
                     "an existing one's name, roles and agency", [amqp])
    create.add_argument("--commune", required=True, metavar="ID")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="the person's full name (họ tên)")
    create.add_argument("--role", action="append", required=True,
                        help="commune_admin, editor, approver, operator, trainer or viewer; repeatable")
    create.add_argument("--agency", metavar="AGENCY_ID", help="the agency the person works for")
    listing = command(users, "list", user_list, "a commune's active accounts (never password hashes)", [amqp])
    listing.add_argument("--commune", required=True, metavar="ID")

    devices = area("devices", "devices (thiết bị): import a CSV list, list")
    imports = command(devices, "import", devices_import, "check a CSV device list row by row; register it with "
                      "--confirm when every row is valid", [amqp])
    imports.add_argument("--commune", required=True, metavar="ID")
    imports.add_argument("file", metavar="FILE.csv")
    imports.add_argument("--confirm", action="store_true", help="register the devices (default: preview only)")
    listing = command(devices, "list", devices_list, "a commune's devices with their presence", [amqp])
    listing.add_argument("--commune", required=True, metavar="ID")

    plugins = area("plugin", "integration plug-ins' broker accounts (trình cắm tích hợp)")
    for name, handler, help_text in (
            ("grant", plugin_grant, "create a plug-in's account, or issue it a new password (printed once)"),
            ("revoke", plugin_revoke, "delete a plug-in's account and close its connections")):
        sub = command(plugins, name, handler, help_text, [amqp, management])
        sub.add_argument("--commune", required=True, metavar="ID")
        sub.add_argument("--name", required=True, help="the plug-in's name, e.g. zalo-bridge")
    listing = command(plugins, "list", plugin_list, "the plug-in accounts, of one commune or all", [amqp, management])
    listing.add_argument("--commune", metavar="ID")

    letters = area("deadletters", "events a handler gave up on (thư chết)")
    command(letters, "list", deadletters_list, "list the dead letters, oldest first (nothing is consumed)", [amqp])
    replay = command(letters, "replay", deadletters_replay, "send dead letters back to their handler's queue", [amqp])
    replay.add_argument("--event-id", help="only this event (default: all)")

    export = command(areas, "export", export_commune,
                     "write one commune's data from every service database to one file. SENSITIVE: the file "
                     "holds the commune's users' password hashes and personal data; keep it like a backup",
                     [mongo])
    export.add_argument("--commune", required=True, metavar="ID")
    export.add_argument("--out", required=True, metavar="FILE", help="e.g. xuan-hung.tinxa.jsonl.gz")
    imported = command(areas, "import", import_commune,
                       "upsert an export's documents by _id (running it twice changes nothing); refuses a file "
                       "whose documents differ from the target's unless --replace", [mongo])
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--replace", action="store_true",
                          help="overwrite the target's differing documents of that commune with the file's")

    backups = area("backup", "backups of every service database, and RabbitMQ's definitions")
    dump = command(backups, "dump", backup_dump, "dump every service database (documents, indexes, "
                   "manifest.json with counts and SHA-256); stop the writers first", [mongo])
    dump.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
    dump.add_argument("--database", action="append", help="only this database (repeatable; default: every "
                      "MONGO_DATABASE of deploy/config)")
    verify = command(backups, "verify", backup_verify, "check a backup's files against its manifest")
    verify.add_argument("dir", metavar="DIR")
    restore = command(backups, "restore", backup_restore, "restore a dump into an EMPTY store (refused if any of "
                      "its databases holds data, unless --force), recreate indexes, verify counts", [mongo])
    restore.add_argument("dir", metavar="DIR")
    restore.add_argument("--force", action="store_true", help="restore over existing data (upsert by _id)")
    definitions = command(backups, "rabbitmq-definitions", backup_rabbitmq_definitions,
                          "save RabbitMQ's definitions (vhosts, users, queues, exchanges, bindings, policies) "
                          "from the management API", [amqp, management])
    definitions.add_argument("--out", required=True, metavar="FILE")
    return parser
