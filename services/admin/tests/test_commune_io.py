"""``tinxa export`` / ``tinxa import`` of one commune between real stores:
the running system's store and an empty nx-27017."""
import gzip

import gridfs
import pytest
from pymongo import MongoClient

from services.admin.backup import collection_names, decode, documents
from services.admin.commune_io import commune_databases

pytestmark = pytest.mark.e2e

A, B = "xuan-hung", "gia-hoa"


@pytest.fixture(scope="module")
def two_communes(rpc, content_with_audio):
    """A is the seeded demo commune (plan, devices, roster, course, a news item
    with audio); B gets an account, a device and a news item of its own."""
    rpc.gateway.ensure_commune({"id": B, "name": "Gia Hòa", "province": "Ninh Bình", "villages": [{"id": "thon-a", "name": "Thôn A"}],
                                "agencies": []})
    rpc.gateway.ensure_user({"username": "admin.giahoa", "display_name": "Quản trị Gia Hòa",
                             "roles": ["commune_admin"], "commune_id": B})
    try:
        rpc.telemetry.register_device({"commune_id": B, "device_id": "LOA-B1", "name": "Loa B1",
                                       "kind": "loudspeaker", "village": "thon-a"})
    except Exception as err:  # already there from an earlier test of the session
        assert type(err).__name__ == "RemoteError" and "Conflict" in str(err)
    section = rpc.content.list_sections(commune_id=B)[0]
    rpc.content.create_item({"commune_id": B, "kind": "news", "section_id": section["_id"], "title": "Tin của B"})
    return content_with_audio


def key(collection, doc):
    """A document's identity: its _id, but (files_id, n) for a GridFS chunk,
    whose _id nx-27017 assigns itself."""
    return repr((doc["files_id"], doc["n"])) if collection.endswith(".chunks") else repr(doc["_id"])


def comparable(collection, doc):
    return {k: v for k, v in doc.items() if k != "_id"} if collection.endswith(".chunks") else doc


def _file_documents(path):
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        lines = [decode(line) for line in stream]
    return [(line["db"], line["collection"], line["doc"]) for line in lines[1:-1]]


def _all_documents(client, databases):
    return {(db, name, key(name, doc)): comparable(name, doc) for db in databases
            for name in collection_names(client[db]) for doc in documents(client[db], name)}


def _owner(doc):
    return doc.get("commune_id", (doc.get("metadata") or {}).get("commune_id"))


def test_export_one_commune_and_import_it_into_an_empty_store_twice(two_communes, tinxa, stack_mongo_uri,
                                                                     empty_store, tmp_path):
    source = MongoClient(stack_mongo_uri)
    databases, _ = commune_databases()
    before = {(db, name): {repr(d["_id"]) for d in source[db][name].find({"commune_id": A}, {"_id": 1})}
              for db in databases for name in collection_names(source[db]) if not name.endswith((".files", ".chunks"))}
    out = tmp_path / "xuan-hung.jsonl.gz"
    exported = tinxa("export", "--commune", A, "--out", out)
    assert exported.returncode == 0, exported.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"

    exported_docs = _file_documents(out)
    in_file = {(db, coll, key(coll, doc)) for db, coll, doc in exported_docs}
    for (db, name), ids in before.items():  # everything A had when the export began is in it
        assert {(db, name, i) for i in ids} <= in_file, f"{db}.{name} incomplete"
    assert all(_owner(doc) in (A, None) for _, _, doc in exported_docs)
    assert ("gateway", "communes", repr(A)) in in_file and ("gateway", "communes", repr(B)) not in in_file
    assert any(coll == "users" for _, coll, _ in exported_docs)
    assert any(coll == "media.chunks" for _, coll, _ in exported_docs)

    target_store = empty_store()
    imported = tinxa("import", out, "--mongo", target_store.uri)
    assert imported.returncode == 0, imported.stderr
    assert f"{len(exported_docs)} documents written" in imported.stdout

    target = MongoClient(target_store.uri)
    restored = _all_documents(target, databases)
    assert set(restored) == in_file
    differing = [(db, coll, restored[(db, coll, key(coll, doc))], doc) for db, coll, doc in exported_docs
                 if restored[(db, coll, key(coll, doc))] != comparable(coll, doc)]
    assert not differing, differing[:2]
    assert not any(_owner(doc) == B for doc in restored.values())
    assert target["gateway"]["communes"].find_one({"_id": B}) is None

    # the audio's bytes came along: GridFS reads the same file in both stores
    audio = source["content"]["media"].find_one({"commune_id": A, "kind": "audio"}) or \
        source["content"]["media"].find_one({"commune_id": A})
    assert audio is not None, "the test item's audio is missing from the source"
    assert gridfs.GridFSBucket(target["content"], "media").open_download_stream(audio["_id"]).read() == \
        gridfs.GridFSBucket(source["content"], "media").open_download_stream(audio["_id"]).read()

    again = tinxa("import", out, "--mongo", target_store.uri)
    assert again.returncode == 0, again.stderr
    assert f"0 documents written (0 replaced), {len(exported_docs)} already there unchanged" in again.stdout
    assert _all_documents(target, databases) == restored


def test_import_refuses_a_commune_with_different_data_unless_replace(two_communes, tinxa, empty_store, tmp_path):
    out = tmp_path / "a.jsonl.gz"
    assert tinxa("export", "--commune", A, "--out", out).returncode == 0
    target_store = empty_store()
    assert tinxa("import", out, "--mongo", target_store.uri).returncode == 0
    target = MongoClient(target_store.uri)
    target["gateway"]["communes"].update_one({"_id": A}, {"$set": {"name": "Đổi tên"}})

    refused = tinxa("import", out, "--mongo", target_store.uri)
    assert refused.returncode == 1
    assert "exists in the target with different data (1 documents differ, first: gateway.communes xuan-hung)" \
        in refused.stderr
    assert target["gateway"]["communes"].find_one({"_id": A})["name"] == "Đổi tên"

    replaced = tinxa("import", out, "--mongo", target_store.uri, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "1 documents written (1 replaced)" in replaced.stdout
    assert target["gateway"]["communes"].find_one({"_id": A})["name"] == "Xuân Hưng"


def test_export_of_an_unknown_commune_and_a_truncated_file_are_refused(tinxa, empty_store, tmp_path):
    missing = tinxa("export", "--commune", "khong-co", "--out", tmp_path / "x.gz")
    assert missing.returncode == 1 and "commune 'khong-co' not found" in missing.stderr
    out = tmp_path / "a.jsonl.gz"
    assert tinxa("export", "--commune", A, "--out", out).returncode == 0
    with gzip.open(out, "rt", encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    cut = tmp_path / "cut.jsonl.gz"
    with gzip.open(cut, "wt", encoding="utf-8") as stream:
        stream.write("\n".join(lines[:-1]) + "\n")
    refused = tinxa("import", cut, "--mongo", empty_store().uri)
    assert refused.returncode == 1 and "is incomplete (no end line)" in refused.stderr
