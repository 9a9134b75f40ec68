"""The AsyncAPI document against the catalogue and the code: every catalogued
event is described, every event the code can publish is catalogued, and the
document holds together."""
import ast
import json
import re
from pathlib import Path

import pytest
from marshmallow import Schema, fields, validate

from shared import asyncapi
from shared.asyncapi import UnsupportedField, document
from shared.events import CATALOGUE, TOPICS

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = document()
ENVELOPE = ("event_id", "commune_id", "occurred_at", "schema_version")


def payload_of(source, name):
    ref = DOCUMENT["components"]["messages"][f"{source}.{name}"]["payload"]["$ref"]
    return resolve(ref)


def resolve(ref):
    assert ref.startswith("#/"), ref
    node = DOCUMENT
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


# ---------------------------------------------------------------- catalogue → document


@pytest.mark.parametrize("source, name", sorted(CATALOGUE))
def test_every_catalogued_event_has_its_channel_operation_and_message(source, name):
    key = f"{source}.{name}"
    channel = DOCUMENT["channels"][key]
    assert channel["address"] == name
    assert channel["bindings"]["amqp"]["is"] == "routingKey"
    assert channel["bindings"]["amqp"]["exchange"] == {
        "name": f"{source}.events", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}
    operation = DOCUMENT["operations"][key]
    assert operation["action"] == "send"
    assert operation["channel"] == {"$ref": f"#/channels/{key}"}
    assert operation["x-consumers"] == sorted(CATALOGUE[(source, name)].consumers)
    message = DOCUMENT["components"]["messages"][key]
    assert message["name"] == name and message["contentType"] == "application/json"
    assert message["x-schema-version"] == CATALOGUE[(source, name)].version
    payload = payload_of(source, name)
    loaded = CATALOGUE[(source, name)].schema().fields
    assert set(payload["properties"]) == set(loaded)
    assert set(payload["required"]) == {field for field, spec in loaded.items() if spec.required}
    assert set(ENVELOPE) <= set(payload["required"])
    assert payload["additionalProperties"] is False


def test_the_document_describes_nothing_outside_the_catalogue():
    keys = {f"{source}.{name}" for source, name in CATALOGUE}
    assert set(DOCUMENT["channels"]) == set(DOCUMENT["operations"]) == set(DOCUMENT["components"]["messages"]) == keys


def test_enums_bounds_and_nested_items_come_through():
    completions = payload_of("training", "completions_recorded")["properties"]
    assert completions["topics"]["items"]["enum"] == list(TOPICS)
    assert completions["topics"]["minItems"] == 1
    people = resolve(completions["people"]["items"]["$ref"])
    assert people["required"] == ["person_id"] and people["properties"]["village"]["type"] == ["string", "null"]
    created = payload_of("broadcast", "broadcast_created")["properties"]
    assert created["origin"]["enum"] == ["commune", "province", "central", "cap"]
    assert created["level"]["enum"] == ["normal", "priority", "emergency"]
    status = payload_of("telemetry", "device_status_reported")["properties"]
    assert status["volume"] == {"type": ["integer", "null"], "minimum": 0, "maximum": 100, "default": None}
    acks = payload_of("telemetry", "commands_acknowledged")["properties"]["acks"]
    assert (acks["minItems"], acks["maxItems"]) == (1, 5000)
    assert resolve(acks["items"]["$ref"])["properties"]["status"]["enum"] == ["accepted", "rejected", "completed"]
    villages = payload_of("telemetry", "uptime_reported")["properties"]["villages"]
    assert villages["additionalProperties"] == {"type": ["number", "null"]}
    envelope = payload_of("tasks", "plan_imported")["properties"]
    assert envelope["event_id"] == {"type": "string", "minLength": 8, "maxLength": 64}
    assert envelope["schema_version"] == {"type": "integer", "minimum": 1}


def test_a_field_type_the_converter_does_not_know_is_refused():
    class WithEmail(Schema):
        contact = fields.Email(required=True)

    class WithRegexp(Schema):
        code = fields.String(validate=validate.Regexp(r"^\d+$"))

    for schema in (WithEmail, WithRegexp):
        with pytest.raises(UnsupportedField, match=schema.__name__):
            asyncapi._Converter().schema(schema)


def test_the_document_is_deterministic_json():
    assert json.dumps(document(), sort_keys=False) == json.dumps(DOCUMENT, sort_keys=False)
    assert list(DOCUMENT["channels"]) == sorted(DOCUMENT["channels"])
    assert list(DOCUMENT["components"]["schemas"]) == sorted(DOCUMENT["components"]["schemas"])


# ---------------------------------------------------------------- structure (no asyncapi validator installed)


def test_the_document_is_structurally_asyncapi_3():
    assert DOCUMENT["asyncapi"] == "3.0.0"
    assert DOCUMENT["info"]["title"] == "TinXã events" and DOCUMENT["info"]["version"]
    assert "<source>.events" in DOCUMENT["info"]["description"]
    server = DOCUMENT["servers"]["rabbitmq"]
    assert (server["protocol"], server["host"]) == ("amqp", "rabbitmq:5672") and server["description"]
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(DOCUMENT))
    assert len(refs) > 3 * len(CATALOGUE)
    for ref in refs:
        resolve(ref)  # KeyError if it points nowhere
    for key, operation in DOCUMENT["operations"].items():
        assert operation["action"] in ("send", "receive")
        channel_ref = operation["channel"]["$ref"]
        channel = resolve(channel_ref)
        assert operation["messages"], key
        for message in operation["messages"]:
            # AsyncAPI 3: an operation's messages are its channel's messages
            assert message["$ref"].startswith(channel_ref + "/messages/"), key
            assert resolve(message["$ref"]) in channel["messages"].values()
    for key, channel in DOCUMENT["channels"].items():
        for message in channel["messages"].values():
            assert resolve(message["$ref"])["payload"], key
    component_key = re.compile(r"^[a-zA-Z0-9.\-_]+$")
    for kind, components in DOCUMENT["components"].items():
        assert all(component_key.match(name) for name in components), kind


# ---------------------------------------------------------------- code → catalogue

PUBLISHERS = {"outgoing", "make_event", "publish_event", "dispatch"}

# Publish sites whose (source, name) the walker cannot resolve: (file, function) → why, and what
# it can publish (None: the events were built by publish sites the walker checks).
UNRESOLVED = {
    ("shared/events.py", "outgoing"): (
        "the wrapper itself: passes its own arguments to make_event", None),
    ("shared/mongo.py", "OutboxRelay.publish_document"): (
        "relays Outgoing events saved by outgoing(...) calls, which are walked", None),
    ("services/telemetry/edge.py", "DeviceLinkServicer._publish_outbox"): (
        "relays the Outgoing events EdgeStore built with outgoing(...), which are walked", None),
    ("services/telemetry/answers.py", "AnswerBatcher._publish"): (
        "name is the key of a pending batch, one of ITEMS_FIELD (make_event refuses others)", "ITEMS_FIELD"),
}


class Module:
    """One parsed source file: its module-level constants, imported names and functions."""

    def __init__(self, relative, tree):
        self.relative, self.tree = relative, tree
        self.constants, self.imports = {}, {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.constants[node.targets[0].id] = node.value
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (node.module, alias.name)


def walk_functions(tree, scope=""):
    """(qualified name, node) of every function and method, nested ones too."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{scope}{node.name}"
            yield name, node
            yield from walk_functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from walk_functions(node, f"{scope}{node.name}.")


def source_modules():
    paths = sorted(p for folder in ("services", "shared") for p in (REPO / folder).rglob("*.py")
                   if "tests" not in p.relative_to(REPO).parts)
    return {".".join(p.relative_to(REPO).with_suffix("").parts):
            Module(p.relative_to(REPO).as_posix(), ast.parse(p.read_text(encoding="utf-8"), filename=str(p)))
            for p in paths}


MODULES = source_modules()


def parameters(function):
    args = function.args
    return [a.arg for a in (*args.posonlyargs, *args.args)]


def argument(call, function, parameter, is_method):
    """The expression a call gives for ``parameter`` of ``function``, or None."""
    for keyword in call.keywords:
        if keyword.arg == parameter:
            return keyword.value
    names = parameters(function)
    index = names.index(parameter) - (1 if is_method and names[:1] in (["self"], ["cls"]) else 0)
    return call.args[index] if 0 <= index < len(call.args) and not isinstance(call.args[index], ast.Starred) else None


class Resolver:
    """The string values an expression can have, following literals, ``a if c else b``,
    local assignments, module constants, imported constants and, for a parameter, the
    arguments every caller in the same module passes; None when any path is dynamic."""

    def __init__(self, modules):
        self.modules = modules
        self.parents = {}
        for module in modules.values():
            for node in ast.walk(module.tree):
                for child in ast.iter_child_nodes(node):
                    self.parents[child] = node

    def enclosing(self, node):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def values(self, expr, module, seen=frozenset()):
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self._union([self.values(expr.body, module, seen), self.values(expr.orelse, module, seen)])
        if not isinstance(expr, ast.Name) or (id(expr), module.relative) in seen:
            return None
        seen = seen | {(id(expr), module.relative)}
        function = self.enclosing(expr)
        if function is not None:
            assigned = [node.value for node in ast.walk(function) if isinstance(node, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)]
            if assigned:
                return self._union([self.values(value, module, seen) for value in assigned])
            if expr.id in parameters(function):
                return self._from_callers(function, expr.id, module, seen)
        if expr.id in module.constants:
            return self.values(module.constants[expr.id], module, seen)
        if expr.id in module.imports:
            origin, name = module.imports[expr.id]
            if origin in self.modules:
                return self.values(ast.Name(id=name), self.modules[origin], seen)
        return None

    def _from_callers(self, function, parameter, module, seen):
        is_method = isinstance(self.parents.get(function), ast.ClassDef)
        found = []
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and callee(node) == function.name:
                given = argument(node, function, parameter, is_method)
                found.append(None if given is None else self.values(given, module, seen))
        return self._union(found) if found else None

    @staticmethod
    def _union(sets):
        return None if any(s is None for s in sets) else set().union(*sets)


def callee(call):
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def event_dispatchers(module):
    """``self.<attribute>`` names bound to nameko's EventDispatcher, by class, with the class's service name."""
    found = {}
    for node in ast.walk(module.tree):
        if isinstance(node, ast.ClassDef):
            service = next((s.value.value for s in node.body if isinstance(s, ast.Assign)
                            and any(isinstance(t, ast.Name) and t.id == "name" for t in s.targets)
                            and isinstance(s.value, ast.Constant)), None)
            for statement in node.body:
                if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
                        and callee(statement.value) == "EventDispatcher"):
                    for target in statement.targets:
                        found[(node.name, target.id)] = service
    return found


def publish_sites(modules):
    """[(file, function, line, {(source, name)} or None)] for every call that makes or publishes an event."""
    resolver = Resolver(modules)
    sites = []
    for module in modules.values():
        qualified = {node: name for name, node in walk_functions(module.tree)}
        dispatchers = event_dispatchers(module)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            function = resolver.enclosing(node)
            where = (module.relative, qualified.get(function, "<module>"), node.lineno)
            name = callee(node)
            if name in PUBLISHERS and len(node.args) >= 2:
                sources = resolver.values(node.args[0], module)
                names = resolver.values(node.args[1], module)
            elif (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                  and node.func.value.id == "self" and function is not None
                  and (where[1].split(".")[0], name) in dispatchers and node.args):
                service = dispatchers[(where[1].split(".")[0], name)]
                sources = {service} if service else None
                names = resolver.values(node.args[0], module)
            else:
                continue
            pairs = None if sources is None or names is None else {(s, n) for s in sources for n in names}
            sites.append((*where, pairs))
    return sites


SITES = publish_sites(MODULES)


def unresolved_pairs(reason_and_pairs):
    _, pairs = reason_and_pairs
    if pairs == "ITEMS_FIELD":
        from services.telemetry.answers import ITEMS_FIELD
        return {("telemetry", name) for name in ITEMS_FIELD}
    return set()


def test_the_walker_finds_the_publish_sites_and_resolves_them():
    resolved = [site for site in SITES if site[3] is not None]
    assert len(resolved) >= 20, SITES
    published = set().union(*(site[3] for site in resolved))
    # every producer, the helpers whose name is a parameter, and the edge's own sites are followed
    assert {("telemetry", n) for n in ("alarm_raised", "alarm_repeated", "alarm_acknowledged", "alarm_cleared",
                                       "device_provisioned", "credential_revoked")} <= published
    assert {("tasks", "task_overdue"), ("tasks", "task_due_soon"), ("content", "item_approved"),
            ("content", "item_returned"), ("broadcast", "broadcast_cancelled"),
            ("training", "completions_recorded")} <= published


def test_every_event_the_code_can_publish_is_catalogued_and_in_the_document():
    unknown = [site for site in SITES if site[3] is not None and not site[3] <= set(CATALOGUE)]
    assert unknown == [], "publish sites with events missing from shared/events.py CATALOGUE"
    described = {tuple(key.split(".", 1)) for key in DOCUMENT["channels"]}
    for site in SITES:
        assert site[3] is None or site[3] <= described, site
    for reason_and_pairs in UNRESOLVED.values():
        pairs = unresolved_pairs(reason_and_pairs)
        assert pairs <= set(CATALOGUE) and pairs <= described, pairs


def test_every_catalogued_event_is_published_somewhere():
    published = set().union(*(site[3] for site in SITES if site[3] is not None),
                            *(unresolved_pairs(entry) for entry in UNRESOLVED.values()))
    assert set(CATALOGUE) - published == set(), "catalogued events no code publishes"


def test_no_publish_site_is_dynamic_unless_allow_listed():
    dynamic = {(path, function) for path, function, _, pairs in SITES if pairs is None}
    assert dynamic - set(UNRESOLVED) == set(), "new dynamic publish sites: resolve them or allow-list them"
    assert set(UNRESOLVED) - dynamic == set(), "stale UNRESOLVED entries"


def test_the_allow_listed_batcher_publishes_only_its_two_events():
    assert unresolved_pairs(UNRESOLVED[("services/telemetry/answers.py", "AnswerBatcher._publish")]) == {
        ("telemetry", "commands_acknowledged"), ("telemetry", "plays_reported")}


def test_the_walker_resolves_constants_parameters_and_dispatchers():
    """The walker on a module of its own: a literal, an imported constant, a helper's
    parameter, a conditional, a nameko EventDispatcher, and a dynamic name."""
    shared_constants = ast.parse('SOURCE = "broadcast"\n')
    code = ast.parse(
        "from pkg.constants import SOURCE\n"
        "def _event(name, x):\n    return outgoing(SOURCE, name, x)\n"
        "def a():\n    return _event('broadcast_created', 1)\n"
        "def b(late):\n    kind = 'broadcast_cancelled' if late else 'broadcast_escalated'\n"
        "    return _event(kind, 2)\n"
        "class Service:\n    name = 'tasks'\n    dispatch_event = EventDispatcher()\n"
        "    def c(self):\n        self.dispatch_event('plan_imported', {})\n"
        "def d(names):\n    for n in names:\n        make_event('tasks', n, 'c')\n")
    modules = {"pkg.constants": Module("pkg/constants.py", shared_constants), "pkg.code": Module("pkg/code.py", code)}
    sites = {(function, frozenset(pairs) if pairs else None) for _, function, _, pairs in publish_sites(modules)}
    assert sites == {
        ("_event", frozenset({("broadcast", "broadcast_created"), ("broadcast", "broadcast_cancelled"),
                              ("broadcast", "broadcast_escalated")})),
        ("Service.c", frozenset({("tasks", "plan_imported")})),
        ("d", None),
    }
