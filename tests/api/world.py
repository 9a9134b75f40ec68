"""The running system that the API fuzzing (test_fuzz.py) and the
authorisation matrix (test_authorization_matrix.py) call: the whole stack as
`make up` starts it (shared.testing.LocalStack, started once per test session
for both modules), the demo commune Xuân Hưng seeded by `make up`, a second
commune Yên Thắng seeded the same way over RPC (its plan, devices, roster and a
course), one API key per commune role in each commune, and a few more objects
in each made through the HTTP API (a section, an item, a zone, a bulletin, an
enrolment), so that path parameters can name real objects of either commune.

Also a "plausible body" for an operation, made from its OpenAPI request schema,
so that a request reaches the authorisation it is meant to test instead of
stopping at body validation.
"""
import base64
import copy
import importlib.util
import json
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway.openapi import DOCUMENT
from shared.context import CONTEXT_KEY, SYSTEM
from shared.testing import LocalStack

REPO = Path(__file__).resolve().parents[2]
SEED_DIR = REPO / "deploy" / "seed"
HOME = "xuan-hung"  # seeded by `make up`
OTHER = "yen-thang"  # seeded here
OTHER_NAME = "Yên Thắng"
COMMUNE_ROLES = ("commune_admin", "editor", "approver", "operator", "trainer", "viewer")
SYSTEM_CONTEXT = {CONTEXT_KEY: SYSTEM.to_json()}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Path parameters that name something every commune has under the same name
# (an alarm rule, a sync stream), not an object of one commune.
SHARED_NAMES = {"rule": "offline", "stream": "content"}


def operations(document=DOCUMENT):
    """Every operation of the document: (METHOD, path, operation)."""
    return [(method.upper(), path, op) for path, item in document["paths"].items()
            for method, op in item.items() if method in HTTP_METHODS]


def is_public(op, document=DOCUMENT):
    """An operation whose ``security`` is empty needs no credentials."""
    return op.get("security", document.get("security")) == []


def path_params(op):
    return [p["name"] for p in op.get("parameters", ()) if p["in"] == "path"]


def has_query(op, name):
    return any(p["in"] == "query" and p["name"] == name for p in op.get("parameters", ()))


@dataclass
class World:
    stack: LocalStack
    keys: dict = field(default_factory=dict)  # (commune, role) → API key
    ids: dict = field(default_factory=dict)  # commune → {path parameter name → a real value}
    other_ids: set = field(default_factory=set)  # every id of the other commune's objects

    @property
    def base_url(self):
        return self.stack.base_url

    def headers(self, commune, role):
        return {"Authorization": f"Bearer {self.keys[(commune, role)]}"}

    def call(self, method, path, commune=None, role=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}), **(self.headers(commune, role) if role else {}))
        return requests.request(method, self.base_url + path, headers=headers, timeout=30, **kwargs)


def report(config, lines):
    """Print ``lines`` on the terminal, whatever pytest captures."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="package")
def api_world():
    """The stack and its two seeded communes, made once for this package and
    stopped when its last module ends. Its home is a folder of its own, not
    pytest's numbered temporary folders, which another pytest run on the
    machine may delete while this one runs (and with them the pid files
    `make down` stops the processes by)."""
    home = Path(tempfile.mkdtemp(prefix="tinxa-api-"))
    stack = LocalStack(home)
    stack.env["TINXA_SIMULATOR"] = "0"  # no simulated fleet: the run needs no device traffic
    try:
        stack.up()
        world = World(stack)
        _seed(world)
        yield world
    finally:
        stack.down()
        shutil.rmtree(home, ignore_errors=True)


def _seed_module():
    spec = importlib.util.spec_from_file_location("tinxa_seed", REPO / "deploy" / "local" / "seed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seed(world):
    data = json.loads((SEED_DIR / "xuan-hung.json").read_text(encoding="utf-8"))
    other = copy.deepcopy(data["commune"])
    # agency ids are slugs of a commune's own registry: give the other commune its own
    other.update(id=OTHER, name=OTHER_NAME,
                 agencies=[dict(agency, id=f"yt-{agency['id']}") for agency in other.get("agencies", ())])
    with ClusterRpcProxy({"AMQP_URI": world.stack.amqp_uri}, context_data=SYSTEM_CONTEXT, timeout=60) as rpc:
        rpc.gateway.ensure_commune(other)
        rpc.tasks.import_plan({"text": (SEED_DIR / data["plan"]).read_text(encoding="utf-8"),
                               "source_name": data["plan"], "commune_id": OTHER})
        for device in data["devices"]:
            rpc.telemetry.register_device(dict(device, device_id=f"YT-{device['device_id']}", commune_id=OTHER))
        _seed_module().seed_training(rpc, OTHER, copy.deepcopy(data["training"]))
        for commune in (HOME, OTHER):
            for role in COMMUNE_ROLES:
                world.keys[(commune, role)] = rpc.gateway.create_api_key(commune, f"kiểm thử {role}", [role])["key"]
    for commune in (HOME, OTHER):
        world.ids[commune] = _objects(world, commune)
    for name, value in world.ids[OTHER].items():
        if name not in SHARED_NAMES and value != OTHER and len(value) >= 8:
            world.other_ids.add(value)
    world.other_ids |= _listed_ids(world, OTHER)


def _ok(response):
    assert response.status_code < 300, f"{response.request.method} {response.request.url}: " \
                                       f"{response.status_code} {response.text[:500]}"
    return response.json() if response.content else None


def _objects(world, commune):
    """Real objects of ``commune``, made or found through the HTTP API as its
    administrator: path parameter name → value."""
    def call(method, path, **kwargs):
        return _ok(world.call(method, path, commune, "commune_admin", **kwargs))

    tag = "yt" if commune == OTHER else "xh"
    ids = {"commune_id": commune, **SHARED_NAMES}
    ids["plan_id"] = call("GET", "/api/plans")["items"][0]["_id"]
    ids["task_id"] = call("GET", "/api/tasks", params={"limit": 1})["items"][0]["_id"]
    ids["agency_id"] = call("GET", f"/api/communes/{commune}")["agencies"][0]["id"]
    section = call("POST", "/api/content/sections", json={"name": f"Mục kiểm thử {tag}"})
    ids["section_id"] = section["_id"]
    item = call("POST", "/api/content/items", json={"kind": "news", "section_id": section["_id"],
                                                    "title": f"Tin kiểm thử {tag}", "body": "Nội dung thử."})
    ids["item_id"], ids["number"] = item["_id"], "1"
    devices = call("GET", "/api/devices")["items"]
    ids["device_id"] = devices[0]["device_id"]
    ids["zone_id"] = f"nhom-{tag}"
    call("POST", "/api/zones", json={"id": ids["zone_id"], "name": f"Nhóm {tag}", "device_ids": [ids["device_id"]]})
    bulletin = call("POST", "/api/bulletins", json={"source": "province", "external_id": uuid.uuid4().hex,
                                                    "title": f"Bản tin kiểm thử {tag}", "text": "Nội dung thử.",
                                                    "level": "normal"})
    ids["broadcast_id"] = bulletin["broadcast_id"]
    course = call("GET", "/api/training/courses")["items"][0]
    ids["course_id"] = course["course_id"]
    detail = call("GET", f"/api/training/courses/{course['course_id']}")
    ids["session_id"] = detail["sessions"][0]["session_id"]
    roster = call("GET", "/api/training/roster")
    people = [p for village in roster["villages"] for p in village["people"]]
    ids["person_id"] = people[0]["person_id"]
    enrolment = call("POST", f"/api/training/courses/{ids['course_id']}/enrolments",
                     json={"person_id": ids["person_id"]})
    ids["enrolment_id"] = enrolment["enrolment_id"]
    csv = (SEED_DIR / json.loads((SEED_DIR / "xuan-hung.json").read_text(encoding="utf-8"))["training"]["roster"])
    preview = call("POST", "/api/training/imports/roster",
                   files={"file": (csv.name, csv.read_bytes(), "text/csv")})
    ids["import_id"] = preview["import_id"]
    # no object of these kinds exists yet: an id nobody has (the refusal must not depend on it)
    for name in ("file_id", "media_id", "alarm_id", "programme_id", "row_id", "certificate_id", "code"):
        ids.setdefault(name, f"{tag}-{uuid.uuid4().hex[:12]}")
    return ids


def _listed_ids(world, commune):
    """Ids of the commune's objects as its lists show them (tasks, devices, people …)."""
    found = set()
    for path, key in (("/api/tasks", "_id"), ("/api/devices", "device_id"), ("/api/content/items", "_id"),
                      ("/api/training/courses", "course_id"), ("/api/broadcasts", "broadcast_id"),
                      ("/api/plans", "_id")):
        for entry in _ok(world.call("GET", path, commune, "commune_admin"))["items"]:
            found.add(entry[key])
    roster = _ok(world.call("GET", "/api/training/roster", commune, "commune_admin"))
    found |= {p["person_id"] for village in roster["villages"] for p in village["people"]}
    return {value for value in found if isinstance(value, str) and len(value) >= 8}


# --- plausible request bodies ---------------------------------------------------------------------

def _resolve(schema, document):
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


# the smallest valid WAV file: a header and no samples (for an audio upload)
WAV = (b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little") + (1).to_bytes(2, "little")
       + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little") + (16000).to_bytes(4, "little")
       + (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" + (0).to_bytes(4, "little"))


def plausible(schema, document=DOCUMENT, overrides=None, name=""):
    """A small value that fits ``schema``: required properties (and optional
    ones with a closed list of values; any name in ``overrides`` takes its
    value from there); ``name`` (the property's) guides a few values that
    depend on their neighbours (an end after the start, base64 text)."""
    overrides = overrides or {}
    schema = _resolve(schema, document)
    if not isinstance(schema, dict):
        return None
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return plausible(schema[combinator][0], document, overrides, name)
    if "allOf" in schema:
        merged = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, document))
        return plausible(merged, document, overrides, name)
    if "enum" in schema:
        return next((value for value in schema["enum"] if value is not None), schema["enum"][0])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        body = {}
        for prop, sub in properties.items():
            if prop in overrides:
                body[prop] = overrides[prop]
            elif prop in schema.get("required", ()) or "enum" in _resolve(sub, document):
                body[prop] = plausible(sub, document, overrides, prop)
        return body
    if kind == "array" and name == "roles":
        return ["viewer"]  # the least a caller can grant: a refusal is then the caller's own role's
    if kind == "array":
        return [plausible(schema.get("items", {}), document, overrides, name)
                for _ in range(max(1, schema.get("minItems", 0)))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    late = name.startswith(("end", "to"))
    text_format = schema.get("format")
    if name.endswith(("base64", "_b64")):
        return base64.b64encode(WAV).decode("ascii")
    if text_format == "date":
        return "2026-12-01"
    if text_format == "date-time":
        return "2026-12-01T10:00:00+07:00" if late else "2026-12-01T08:00:00+07:00"
    if text_format == "binary":
        return WAV
    pattern = schema.get("pattern", "")
    if pattern.startswith(r"^\d{4}-\d{2}-\d{2}T"):
        return "2026-12-01T10:00" if late else "2026-12-01T08:00"
    if "[0-5][0-9]" in pattern:
        return "10:00" if late else "08:00"
    if pattern:
        return "kiem-tra"
    if text_format == "password":
        return "mot-mat-khau-kiem-tra"
    return "Kiểm tra".ljust(schema.get("minLength", 0), ".")


def request_kwargs(op, values, document=DOCUMENT):
    """requests keyword arguments for a plausible call of ``op``: the query's
    commune (when the operation takes one) and a body that fits its schema,
    with ``values`` (path parameter names → values) filled into the body too."""
    kwargs = {}
    params = {p["name"]: plausible(p.get("schema", {}), document, name=p["name"])
              for p in op.get("parameters", ()) if p["in"] == "query"
              and (p.get("required") or "enum" in _resolve(p.get("schema", {}), document))}
    if has_query(op, "commune_id") and "commune_id" in values:
        params["commune_id"] = values["commune_id"]
    if params:
        kwargs["params"] = params
    # a body's own id, where it has one, is the path's (PUT /api/zones/{zone_id} …)
    own = [values[name] for name in path_params(op) if name.endswith("_id") and name in values]
    values = dict(values, **({"id": own[-1]} if own else {}))
    if "device_id" in values:
        values.setdefault("device_ids", [values["device_id"]])
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = plausible(content["application/json"]["schema"], document, values)
    elif "multipart/form-data" in content:
        form = plausible(content["multipart/form-data"]["schema"], document, values)
        kwargs["files"] = {name: ("kiem-tra.wav", value) if isinstance(value, bytes) else (None, str(value))
                           for name, value in form.items()}
    elif content:
        media_type = next(iter(content))
        kwargs["data"] = b"<alert/>"
        kwargs["headers"] = {"Content-Type": media_type}
    return kwargs


def fill_path(path, values):
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


