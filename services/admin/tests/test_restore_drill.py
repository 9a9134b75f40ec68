"""The restore drill (docs/restore-drill.md) on the real system: a backup of
the running system, and one taken after stopping the writers, each restored
into an empty nx-27017 and compared collection by collection, document by
document, with the same indexes. Runs last in this package: it stops the
system."""
import json
import time

import pytest
from pymongo import MongoClient

from services.admin.backup import collection_names, documents, read_documents, service_databases
from services.admin.tests.conftest import EmptyStore
from services.admin.tests.test_commune_io import comparable, key

pytestmark = pytest.mark.e2e

DATABASES = sorted(set(service_databases().values()))


def _snapshot(client):
    """database → collection → {_id: document}; and → the set of index keys."""
    found, indexes = {}, {}
    for db in DATABASES:
        for name in collection_names(client[db]):
            found.setdefault(db, {})[name] = {key(name, d): comparable(name, d) for d in documents(client[db], name)}
            indexes.setdefault(db, {})[name] = {
                (tuple(tuple(k) for k in info["key"]), bool(info.get("unique")), bool(info.get("sparse")))
                for info in client[db][name].index_information().values()}
    return found, indexes


def _backup_documents(folder):
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {db: {name: {key(name, d): comparable(name, d) for d in read_documents(folder / entry["file"])}
                 for name, entry in database["collections"].items()}
            for db, database in manifest["databases"].items()}


def _differences(expected, found):
    """What differs between two snapshots, as readable lines (empty collections
    count as absent: a restore creates them, a GridFS bucket has none)."""
    lines = []
    for db in sorted(set(expected) | set(found)):
        for name in sorted(set(expected.get(db, {})) | set(found.get(db, {}))):
            want, got = expected.get(db, {}).get(name, {}), found.get(db, {}).get(name, {})
            lines += [f"{db}.{name} {k}: missing" for k in sorted(set(want) - set(got))]
            lines += [f"{db}.{name} {k}: extra" for k in sorted(set(got) - set(want))]
            lines += [f"{db}.{name} {k}: {got[k]!r:.300} != {want[k]!r:.300}" for k in sorted(set(want) & set(got))
                      if want[k] != got[k]]
    return lines


def test_a_backup_restored_into_an_empty_store_gives_the_same_data(stack, tinxa, stack_mongo_uri, content_with_audio,
                                                                   empty_store, tmp_path_factory):
    source = MongoClient(stack_mongo_uri)
    audio = source["content"]["media.files"].find_one({})
    assert audio and source["content"]["media.chunks"].find_one({"files_id": audio["_id"]}), "no GridFS audio"

    # 1. while everything runs (the simulated fleet keeps writing telemetry)
    hot = tmp_path_factory.mktemp("hot") / "backup"
    dumped = tinxa("backup", "dump", "--out", hot)
    assert dumped.returncode == 0, dumped.stderr
    hot_target = empty_store()
    restored = tinxa("backup", "restore", hot, "--mongo", hot_target.uri)
    assert restored.returncode == 0, restored.stderr
    hot_documents, _ = _snapshot(MongoClient(hot_target.uri))
    assert not _differences(_backup_documents(hot), hot_documents), _differences(_backup_documents(hot), hot_documents)[:5]

    # 2. the drill: stop the writers (make down), start the store alone, dump, restore, compare
    stack.stop()
    folder = tmp_path_factory.mktemp("stopped-source")
    stopped = EmptyStore(folder).start(data_dir=stack.home / "mongo")
    try:
        cold = tmp_path_factory.mktemp("cold") / "backup"
        started = time.monotonic()
        dumped = tinxa("backup", "dump", "--out", cold, "--mongo", stopped.uri)
        dump_seconds = time.monotonic() - started
        assert dumped.returncode == 0, dumped.stderr
        verified = tinxa("backup", "verify", cold)
        assert verified.returncode == 0 and "match manifest.json" in verified.stdout, verified.stderr

        target = empty_store()
        started = time.monotonic()
        restored = tinxa("backup", "restore", cold, "--mongo", target.uri)
        restore_seconds = time.monotonic() - started
        assert restored.returncode == 0, restored.stderr

        source_documents, source_indexes = _snapshot(MongoClient(stopped.uri))
        target_documents, target_indexes = _snapshot(MongoClient(target.uri))
        assert len(source_documents) >= 7
        differences = _differences(source_documents, target_documents)
        assert not differences, differences[:5]
        for db, collections in source_documents.items():
            assert set(target_documents[db]) == set(collections), db  # empty collections too
            for name in collections:
                assert target_indexes[db][name] == source_indexes[db][name], f"{db}.{name}: other indexes"
        total = sum(len(docs) for colls in source_documents.values() for docs in colls.values())
        print(f"\n[restore drill] {total} documents in {sum(map(len, source_documents.values()))} collections: "
              f"dump {dump_seconds:.1f} s, restore {restore_seconds:.1f} s (subprocess wall time)")

        # a store that is not empty is refused; a damaged backup is refused before anything is written
        again = tinxa("backup", "restore", cold, "--mongo", target.uri)
        assert again.returncode == 1 and "the target store is not empty" in again.stderr
        damaged = next(cold.glob("gateway/users.jsonl.gz"))
        damaged.write_bytes(damaged.read_bytes()[:-3] + b"xyz")
        other = empty_store()
        refused = tinxa("backup", "restore", cold, "--mongo", other.uri)
        assert refused.returncode == 1 and "gateway/users.jsonl.gz does not match its SHA-256" in refused.stderr
        assert MongoClient(other.uri)["gateway"].list_collection_names() == []
    finally:
        stopped.stop()
