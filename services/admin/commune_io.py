"""One commune's data across every service database: export to one file, import it.

The file is gzip'd JSON lines, each line canonical extended JSON (ObjectId,
dates and the binary GridFS chunks survive):

- first line: ``{"format": "tinxa-commune-export", "version": 1, "commune_id", "exported_at"}``;
- then one line per document: ``{"db": …, "collection": …, "doc": {…}}``;
- last line: ``{"end": true, "counts": {"db.collection": n}}`` — a file
  without it (cut short by a full disk or a failed copy) is refused.

What belongs to a commune (decided collection by collection from each
service's ``repository.py``):

- every document whose ``commune_id`` is the commune, in every collection of
  every service database (gateway, tasks, content, broadcast, telemetry,
  training, sync);
- ``gateway.communes``: the commune's own document (``_id`` is the commune);
- GridFS ``<bucket>.files`` (content's ``media``, tasks' ``evidence``): a file
  whose ``metadata.commune_id`` is the commune, or whose ``_id`` an exported
  document of the same database refers to (tasks' evidence files carry no
  commune: ``updates.files[].file_id`` points at them), never a file that
  names another commune; ``<bucket>.chunks``: the chunks of those files;
- left out on purpose, because they are no commune's data:
  ``processed_events`` (handlers' dedupe claims) and ``leases`` (timer
  leases) in every database, ``gateway.login_attempts`` (rate-limit counts
  per user name and address), ``telemetry.meta`` (the alarm cursor),
  ``sync.streams`` and ``sync.link`` (this deployment's link to the province:
  positions are derived from the records), sync's ``outbox``/``inbox``
  records of the deployment's single province link when they carry no
  ``commune_id``, and the whole ``sync_hub`` database (the province's). Any
  other document without a ``commune_id`` is skipped too, and counted in the
  export's report so the operator sees it.

Users' password hashes and API keys' hashes ARE exported: an export exists to
move a commune to another deployment, whose people must still be able to log
in. The file is therefore as sensitive as the database: it is written
readable by its owner only, and the help text says so.

Import upserts by ``_id`` (importing the same file twice changes nothing). It
refuses, before writing anything, a file whose documents differ from what the
target holds under the same ``_id`` (the commune exists there with other
data) unless ``replace`` is given — then the file's version wins; documents of
the commune that the target has and the file has not are kept. It always
refuses a document whose ``_id`` the target holds for another commune, and a
GridFS file or chunk that differs from the target's (stored files never
change; nx-27017 cannot replace them): only missing ones are inserted. Import
writes data only: each service creates its indexes when it starts.
"""
import gzip
import os
from pathlib import Path

from pymongo import ReplaceOne

from services.admin.backup import AdminError, collection_names, decode, documents, encode, gridfs_part, service_databases
from shared.timeutil import iso

FORMAT = "tinxa-commune-export"
VERSION = 1
PROVINCE_DATABASES = ("SYNC_HUB_DATABASE",)
NOT_COMMUNE_DATA = {"processed_events", "leases", "login_attempts", "meta", "streams", "link"}
BATCH = 500


def commune_databases(environ=None):
    """``(databases, gateway database)``: the service databases a commune's
    data lives in (not the province's hub), and which of them is the gateway's."""
    found = service_databases(environ)
    databases = sorted({name for variable, name in found.items() if variable not in PROVINCE_DATABASES})
    return databases, found.get("GATEWAY_DATABASE", "gateway")


def export(client, commune_id, out_path, databases, gateway_database):
    """Write the commune's documents to ``out_path``; returns ``(counts,
    skipped)``: documents written and documents without a commune left out,
    both per ``db.collection``."""
    if client[gateway_database]["communes"].find_one({"_id": commune_id}, {"_id": 1}) is None:
        raise AdminError(f"commune {commune_id!r} not found in the {gateway_database} database")
    counts, skipped = {}, {}
    out = Path(out_path)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as stream:
        def write(line):
            stream.write(encode(line).encode("utf-8") + b"\n")

        write({"format": FORMAT, "version": VERSION, "commune_id": commune_id, "exported_at": iso()})
        for name in databases:
            communes = "communes" if name == gateway_database else None
            for collection_name, doc in _commune_documents(client[name], commune_id, communes, skipped):
                write({"db": name, "collection": collection_name, "doc": doc})
                key = f"{name}.{collection_name}"
                counts[key] = counts.get(key, 0) + 1
        write({"end": True, "counts": counts})
    return counts, skipped


def _commune_documents(database, commune_id, communes, skipped):
    """``(collection, document)`` of the commune in one database: ordinary
    collections first, then GridFS files they refer to, then those files' chunks."""
    names = collection_names(database)
    buckets = sorted({n.rsplit(".", 1)[0] for n in names if gridfs_part(database, n)})
    referenced = set()
    for name in names:
        if gridfs_part(database, name) or name in NOT_COMMUNE_DATA:
            continue
        if name == communes:  # the tenants themselves: _id is the commune
            yield from ((name, doc) for doc in database[name].find({"_id": commune_id}))
            continue
        for doc in documents(database, name, {"commune_id": commune_id}):
            _collect_values(doc, referenced)
            yield name, doc
        others = database[name].count_documents({"commune_id": {"$exists": False}})
        if others:
            skipped[f"{database.name}.{name}"] = others
    for bucket in buckets:
        file_ids = []
        for doc in documents(database, f"{bucket}.files"):
            owner = (doc.get("metadata") or {}).get("commune_id")
            if owner == commune_id or (owner is None and _hashable(doc["_id"]) in referenced):
                file_ids.append(doc["_id"])
                yield f"{bucket}.files", doc
        for file_id in file_ids:
            for chunk in database[f"{bucket}.chunks"].find({"files_id": file_id}).sort("n", 1):
                yield f"{bucket}.chunks", chunk


def _collect_values(value, into):
    if isinstance(value, dict):
        for item in value.values():
            _collect_values(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect_values(item, into)
    else:
        hashable = _hashable(value)
        if hashable is not None:
            into.add(hashable)


def _hashable(value):
    return value if isinstance(value, str) or type(value).__name__ == "ObjectId" else None


def read_export(path):
    """``(header, [(db, collection, doc)])`` of an export file; AdminError if
    it is not one, or was cut short."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            lines = [decode(line) for line in stream if line.strip()]
    except FileNotFoundError:
        raise AdminError(f"{path} not found") from None
    except (OSError, ValueError, EOFError) as err:
        raise AdminError(f"{path} is not a TinXã commune export: {err}") from None
    if not lines or lines[0].get("format") != FORMAT or lines[0].get("version") != VERSION:
        raise AdminError(f"{path} is not a {FORMAT} version {VERSION} file")
    if not lines[-1].get("end"):
        raise AdminError(f"{path} is incomplete (no end line): export it again")
    header, body, counts = lines[0], lines[1:-1], lines[-1]["counts"]
    if sum(counts.values()) != len(body):
        raise AdminError(f"{path} holds {len(body)} documents, its end line says {sum(counts.values())}")
    return header, [(line["db"], line["collection"], line["doc"]) for line in body]


def import_file(client, path, replace=False):
    """Upsert the file's documents by _id; returns ``{"commune_id",
    "written", "unchanged", "replaced"}``."""
    header, documents = read_export(path)
    commune_id = header["commune_id"]
    plan, differing, foreign = [], [], []
    for db, collection, doc in documents:
        if collection.endswith(".chunks"):
            # a chunk is (files_id, n); its _id is the store's own on nx-27017
            existing = client[db][collection].find_one({"files_id": doc["files_id"], "n": doc["n"]})
            if existing is None:
                plan.append((db, collection, doc))
            elif _without_id(existing) != _without_id(doc):
                foreign.append(f"{db}.{collection} files_id={doc['files_id']} n={doc['n']} (GridFS files never change)")
            continue
        existing = client[db][collection].find_one({"_id": doc["_id"]})
        if existing is None:
            plan.append((db, collection, doc))
        elif existing == doc:
            continue
        elif collection.endswith(".files"):
            foreign.append(f"{db}.{collection} {doc['_id']} (GridFS files never change)")
        elif _owner(existing, collection) not in (None, commune_id):
            foreign.append(f"{db}.{collection} {doc['_id']}")
        else:
            differing.append(f"{db}.{collection} {doc['_id']}")
            plan.append((db, collection, doc))
    if foreign:
        raise AdminError(f"{len(foreign)} documents of the file clash with other data in the target: another "
                         f"commune's _id, or a changed GridFS chunk (first: {foreign[0]}); nothing imported")
    if differing and not replace:
        raise AdminError(f"commune {commune_id!r} exists in the target with different data ({len(differing)} "
                         f"documents differ, first: {differing[0]}); nothing imported. Use --replace to overwrite them")
    by_collection = {}
    for db, collection, doc in plan:
        by_collection.setdefault((db, collection), []).append(doc)
    for (db, collection), docs in by_collection.items():
        if collection.endswith((".files", ".chunks")):
            # only missing GridFS documents are planned; nx-27017 replaces them badly
            client[db][collection].insert_many(docs)
            continue
        for start in range(0, len(docs), BATCH):
            client[db][collection].bulk_write(
                [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs[start:start + BATCH]])
    return {"commune_id": commune_id, "written": len(plan), "unchanged": len(documents) - len(plan),
            "replaced": len(differing)}


def _without_id(doc):
    return {k: v for k, v in doc.items() if k != "_id"}


def _owner(doc, collection):
    if collection.endswith(".files"):
        return (doc.get("metadata") or {}).get("commune_id")
    return doc.get("commune_id")
