"""Backups of a whole TinXã store, and RabbitMQ's definitions.

``dump`` writes every service database (the names in ``deploy/config/*.yaml``,
``MONGO_DATABASE: ${VAR:default}``, so the same environment overrides the
services use apply here) to a folder::

    DIR/manifest.json                 what is in the backup, and how to check it
    DIR/<database>/<collection>.jsonl.gz   one document per line, canonical
                                      extended JSON (ObjectId, dates and binary
                                      GridFS chunks survive), sorted by _id

``manifest.json`` holds, per collection, the file, its document count, its
SHA-256 and its index definitions (keys and options, never names: nx-27017 and
MongoDB name indexes differently). A dump is a copy of what is stored at the
moment each collection is read, not a snapshot across collections: stop the
writers first (docs/restore-drill.md).

``restore`` checks every file against the manifest before writing anything,
refuses a store where any backed-up database already has a document (unless
``force``: documents are then upserted by _id), recreates the indexes and
counts what it wrote against the manifest.

Not in a backup: messages waiting in RabbitMQ's queues (use
``rabbitmq_definitions`` for the broker's shape), and the secrets kept outside
the store (``$TINXA_HOME/*-secret``, ``sync-token``, the environment).
"""
import gzip
import hashlib
import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bson import json_util
from pymongo import ReplaceOne
from pymongo.errors import CollectionInvalid

from shared.timeutil import iso

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
MANIFEST = "manifest.json"
FORMAT = "tinxa-backup"
VERSION = 1
BATCH = 1000
CANONICAL = json_util.JSONOptions(json_mode=json_util.JSONMode.CANONICAL, tz_aware=False)
INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")
DEFAULT_MANAGEMENT_URL = "http://127.0.0.1:15672"
_DATABASE_LINE = re.compile(r"^MONGO_DATABASE:\s*\$\{(\w+):([^}]*)\}\s*$", re.MULTILINE)


class AdminError(Exception):
    """A refusal or failure the operator can act on: one line, no traceback."""


def service_databases(environ=None, config_dir=CONFIG_DIR):
    """``{variable: database name}`` of every process config, e.g.
    ``{"GATEWAY_DATABASE": "gateway", "SYNC_HUB_DATABASE": "sync_hub", …}``."""
    environ = os.environ if environ is None else environ
    found = {}
    for path in sorted(Path(config_dir).glob("*.yaml")):
        for variable, default in _DATABASE_LINE.findall(path.read_text(encoding="utf-8")):
            found[variable] = environ.get(variable) or default
    if not found:
        raise AdminError(f"no MONGO_DATABASE found in {config_dir}/*.yaml")
    return found


def encode(doc):
    return json_util.dumps(doc, json_options=CANONICAL, ensure_ascii=False)


def decode(line):
    return json_util.loads(line, json_options=CANONICAL)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def index_definitions(collection):
    """The collection's indexes but the one on _id: ``[{"keys": [[field,
    direction]], "options": {...}}]``, in a stable order."""
    definitions = []
    for info in collection.index_information().values():
        keys = [[field, direction] for field, direction in info["key"]]
        if keys == [["_id", 1]]:
            continue
        options = {name: info[name] for name in INDEX_OPTIONS if name in info}
        definitions.append({"keys": keys, "options": options})
    return sorted(definitions, key=lambda d: json.dumps(d, sort_keys=True))


_GRIDFS_NAME = re.compile(r"(.+)[._](files|chunks)")
# the indexes every GridFS driver makes; nx-27017 keeps GridFS in tables of its
# own, reports their indexes in its own way and makes these a no-op
GRIDFS_INDEXES = {"files": [{"keys": [["filename", 1], ["uploadDate", 1]], "options": {}}],
                  "chunks": [{"keys": [["files_id", 1], ["n", 1]], "options": {"unique": True}}]}


def collection_names(database):
    """The database's collections, GridFS buckets as ``<bucket>.files`` and
    ``<bucket>.chunks`` on both stores: nx-27017 lists them as
    ``<bucket>_files``/``<bucket>_chunks``, names that cannot be queried."""
    listed = {name for name in database.list_collection_names() if not name.startswith("system.")}
    names = set()
    for name in listed:
        match = _GRIDFS_NAME.fullmatch(name)
        if match:
            separator = name[len(match[1])]
            partner = f"{match[1]}{separator}{'chunks' if match[2] == 'files' else 'files'}"
            if partner in listed:
                names.add(f"{match[1]}.{match[2]}")
                continue
        names.add(name)
    return sorted(names)


def gridfs_part(database, name):
    """``"files"`` or ``"chunks"`` for a GridFS collection, else None."""
    return _GRIDFS_NAME.fullmatch(name)[2] if _is_gridfs(name, collection_names(database)) else None


def documents(database, name, query=None):
    """Every document of a collection (matching ``query``), by _id. GridFS
    chunks are read file by file, by ``files_id`` (nx-27017 answers nothing
    else on them), so chunks whose file is gone are not read."""
    if gridfs_part(database, name) == "chunks":
        files = database[name[:-len("chunks")] + "files"]
        for file_doc in files.find({}, {"_id": 1}).sort("_id", 1):
            yield from database[name].find({**(query or {}), "files_id": file_doc["_id"]}).sort("n", 1)
        return
    yield from database[name].find(query or {}).sort("_id", 1)


def count(database, name):
    if gridfs_part(database, name):  # nx-27017 cannot count GridFS collections
        return sum(1 for _ in documents(database, name))
    return database[name].count_documents({})


def has_documents(database, name):
    return next(iter(documents(database, name)), None) is not None


def dump(client, out_dir, databases):
    """Write every collection of ``databases`` to ``out_dir``; returns the manifest."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise AdminError(f"{out} is not empty; give a new folder for the backup")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "version": VERSION, "created_at": iso(), "databases": {}}
    for name in databases:
        database = client[name]
        collections = {}
        for collection_name in collection_names(database):
            part = gridfs_part(database, collection_name)
            relative = f"{name}/{collection_name}.jsonl.gz"
            written = _write_collection(documents(database, collection_name), out / relative)
            collections[collection_name] = {
                "file": relative, "count": written, "sha256": sha256_of(out / relative),
                "indexes": GRIDFS_INDEXES[part] if part else index_definitions(database[collection_name])}
        manifest["databases"][name] = {"collections": collections}
    (out / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return manifest


def _write_collection(docs, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as stream:
        for doc in docs:
            stream.write(encode(doc).encode("utf-8") + b"\n")
            written += 1
    return written


def read_manifest(in_dir):
    path = Path(in_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AdminError(f"{path} not found: not a TinXã backup folder") from None
    except ValueError as err:
        raise AdminError(f"{path} is not valid JSON: {err}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise AdminError(f"{path} is not a {FORMAT} version {VERSION} manifest")
    return manifest


def verify(in_dir, manifest=None):
    """Check every file against the manifest (exists, SHA-256, line count);
    returns the manifest or raises AdminError naming the first bad file."""
    manifest = manifest or read_manifest(in_dir)
    for entry in _entries(manifest):
        path = Path(in_dir) / entry["file"]
        if not path.is_file():
            raise AdminError(f"{entry['file']} is missing from the backup")
        if sha256_of(path) != entry["sha256"]:
            raise AdminError(f"{entry['file']} does not match its SHA-256 in the manifest (changed or damaged)")
        lines = sum(1 for _ in read_documents(path))
        if lines != entry["count"]:
            raise AdminError(f"{entry['file']} holds {lines} documents, the manifest says {entry['count']}")
    return manifest


def _entries(manifest):
    for database in manifest["databases"].values():
        yield from database["collections"].values()


def read_documents(path):
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                yield decode(line)


def occupied(client, databases):
    """``database.collection`` names that already hold documents."""
    return [f"{name}.{collection}" for name in databases for collection in collection_names(client[name])
            if has_documents(client[name], collection)]


def restore(client, in_dir, force=False):
    """Restore a dump; returns ``[(database, collection, expected, found)]``.
    Raises AdminError before writing if a file is bad or the store is not
    empty (unless ``force``), and after writing if a count differs."""
    manifest = verify(in_dir)
    busy = occupied(client, manifest["databases"])
    if busy and not force:
        shown = ", ".join(busy[:5]) + (f" and {len(busy) - 5} more" if len(busy) > 5 else "")
        raise AdminError(f"the target store is not empty ({shown}); restore into an empty store, or use --force "
                         "to upsert the backup's documents over what is there")
    report = []
    for name, backed_up in manifest["databases"].items():
        # a GridFS file before its chunks: nx-27017 makes an empty file for chunks without one
        for collection_name, entry in sorted(backed_up["collections"].items(), key=_restore_order):
            database = client[name]
            collection = database[collection_name]
            if not _is_gridfs(collection_name, backed_up["collections"]):
                # a GridFS collection is made by its first document (nx-27017 keeps them apart)
                _ensure_collection(database, collection_name)
            _load(collection, Path(in_dir) / entry["file"], upsert=has_documents(database, collection_name))
            for index in entry["indexes"]:
                collection.create_index([tuple(key) for key in index["keys"]], **index["options"])
            report.append((name, collection_name, entry["count"], count(database, collection_name)))
    wrong = [row for row in report if row[2] != row[3] and not (force and row[3] > row[2])]
    if wrong:
        raise AdminError("counts differ after the restore: " + ", ".join(
            f"{db}.{coll} expected {expected} found {found}" for db, coll, expected, found in wrong))
    return report


def _restore_order(item):
    name = item[0]
    return (name.endswith(".chunks"), name.endswith(".files"), name)


def _is_gridfs(name, names):
    match = _GRIDFS_NAME.fullmatch(name)
    return bool(match) and name[len(match[1])] == "." and \
        f"{match[1]}.{'chunks' if match[2] == 'files' else 'files'}" in names


def _ensure_collection(database, name):
    if name not in database.list_collection_names():
        try:
            database.create_collection(name)
        except CollectionInvalid:  # created meanwhile
            pass


def _load(collection, path, upsert):
    batch = []
    for doc in read_documents(path):
        batch.append(doc)
        if len(batch) >= BATCH:
            _write(collection, batch, upsert)
            batch = []
    if batch:
        _write(collection, batch, upsert)


def _write(collection, docs, upsert):
    if upsert and collection.name.endswith((".files", ".chunks")):
        # GridFS files never change, and nx-27017 replaces them badly (a
        # replaced file loses its fields; a chunk, whose _id it assigns
        # itself, is not upserted at all): only what is missing is inserted,
        # a file by _id, a chunk by (files_id, n)
        for doc in docs:
            query = {"files_id": doc["files_id"], "n": doc["n"]} if "files_id" in doc else {"_id": doc["_id"]}
            if collection.find_one(query, {"_id": 1}) is None:
                collection.insert_one(doc)
    elif upsert:
        collection.bulk_write([ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs], ordered=True)
    else:
        collection.insert_many(docs, ordered=True)


def rabbitmq_definitions(amqp_uri, management_url=DEFAULT_MANAGEMENT_URL, timeout=30):
    """RabbitMQ's definitions (users, vhosts, permissions, queues, exchanges,
    bindings, policies) from the management API, with the AMQP URI's user."""
    import requests

    parts = urlsplit(amqp_uri)
    auth = (unquote(parts.username or "guest"), unquote(parts.password or "guest"))
    url = management_url.rstrip("/") + "/api/definitions"
    try:
        response = requests.get(url, auth=auth, timeout=timeout)
    except requests.RequestException as err:
        raise AdminError(f"RabbitMQ management API at {management_url} did not answer: {err}") from None
    if response.status_code != 200:
        raise AdminError(f"RabbitMQ management API refused GET /api/definitions: HTTP {response.status_code} "
                         f"{response.text[:200]} (the AMQP user needs the administrator tag)")
    return response.json()
