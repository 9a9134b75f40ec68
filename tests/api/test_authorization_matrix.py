"""Who may call what (issue #9): every operation of the OpenAPI document —
iterated from the document, so a new endpoint is covered the day it is
documented — called on the whole running system (tests/api/world.py)
by callers who must be refused:

(a) nobody (no cookie, no key): 401, unless the operation is public
    (``security: []`` in the document: the documents, login, logout,
    certificate verification);
(b) the administrator of another commune (Xuân Hưng's, against Yên Thắng's
    real objects, each seeded with data): 403 or 404 when the path names the
    other commune's object, 403 when the request names the other commune
    (``commune_id``), a refusal when the body refers to its objects — and never
    any of the other commune's data in the answer, whatever the status;
(c) a commune role not allowed to write there: 403. The document does not say
    which roles an operation allows, so the rule is derived from the services'
    role checks (services/*/service.py, services/gateway/domain.py) by area (the
    operation's first tag) — WRITE_REFUSED below; an area this test does not
    know yet refuses at least viewers every write.

Requests carry a body that fits the operation's schema and real path
parameters, so that a refusal comes from the authorisation, not from
validation or a missing object. The counts are printed at the end.
"""
import collections

import pytest
import requests

from services.gateway.openapi import DOCUMENT
from tests.api.world import (
    HOME, OTHER, OTHER_NAME, SHARED_NAMES, fill_path, has_query, is_public, operations, path_params, plausible, report,
    request_kwargs,
)

# Roles refused every write (any method but GET) of an area (the operation's first tag).
ALL_BUT_ADMIN = {"editor", "approver", "operator", "trainer", "viewer"}
WRITE_REFUSED = {
    "tenancy": ALL_BUT_ADMIN,  # users and API keys: commune administrators
    "tasks": {"trainer", "viewer"},  # editors, approvers (operators report progress); see also below
    "content": {"operator", "trainer", "viewer"},  # editors write, approvers approve
    "devices": {"editor", "trainer", "viewer"},  # commune administrators and operators
    "alarms": {"editor", "trainer", "viewer"},
    "broadcasting": {"editor", "trainer", "viewer"},  # operators; approvers for emergencies
    "training": {"editor", "approver", "operator", "viewer"},  # commune administrators and trainers
    "sync": ALL_BUT_ADMIN,
}
DEFAULT_REFUSED = {"viewer"}
# Writes every commune role may make (the document says so in their summaries).
OPEN_WRITES = {("POST", "/api/tasks/{task_id}/comments")}
# Operations whose path id is not looked up as an object: they answer, for an id the caller's commune does not
# have, what they answer for one of its own with nothing stored yet (scoped to the caller's commune, so nothing
# of another's) — checked to be exactly that answer.
NOT_LOOKED_UP = {
    ("GET", "/api/devices/{device_id}/schedule"):  # services/broadcast/service.py device_schedule
        lambda body: body["version"] == 0 and body["entries"] == [],
}
# Auth's own operations, for every caller.
AUTH_TAG = "auth"

OPERATIONS = operations()
COUNTS = collections.Counter()  # (caller, outcome) → calls


def _id(operation):
    method, path, _ = operation
    return f"{method} {path}"


@pytest.fixture(scope="module", autouse=True)
def matrix_summary(request):
    yield
    if not COUNTS:
        return
    callers = sorted({caller for caller, _ in COUNTS})
    lines = [f"Authorisation matrix: {len(OPERATIONS)} operations, "
             f"{sum(COUNTS.values())} calls, {sum(n for (_, o), n in COUNTS.items() if o == 'refused')} refusals"]
    for caller in callers:
        lines.append(f"  {caller}: " + ", ".join(f"{outcome} {n}" for (c, outcome), n in sorted(COUNTS.items())
                                                  if c == caller))
    report(request.config, lines)


def test_the_document_iterated_is_the_one_served(api_world):
    assert requests.get(f"{api_world.base_url}/api/openapi.json", timeout=10).json() == DOCUMENT


def _values(world, commune, op):
    """Path parameter values for ``op``: the commune's real objects."""
    return {name: world.ids[commune].get(name, f"khong-co-{name}") for name in path_params(op)}


def _sent(values, kwargs):
    """Everything a request said: its path values, query and body, as text."""
    return " ".join(map(str, values)) + repr(kwargs.get("params", "")) + repr(kwargs.get("json", "")) \
        + repr(kwargs.get("files", ""))


def _leaks(world, response, sent):
    """The other commune's data in an answer (its name, or the id of one of its
    objects that the request did not itself name — a session's id begins with
    its course's, so an id within what was sent counts as named)."""
    text = response.text
    found = [value for value in world.other_ids if value in text and value not in sent]
    if OTHER_NAME in text:
        found.append(OTHER_NAME)
    return found


def _references_other(world, kwargs):
    body = repr(kwargs.get("json", "")) + repr(kwargs.get("files", ""))
    return any(value in body for value in world.other_ids)


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_without_credentials(api_world, operation):
    method, path, op = operation
    values = _values(api_world, HOME, op)
    response = api_world.call(method, fill_path(path, values), **request_kwargs(op, {**api_world.ids[HOME], **values}))
    assert response.status_code < 500, response.text
    if is_public(op):
        COUNTS["nobody", "public"] += 1
        return
    assert response.status_code == 401, f"{method} {path} without credentials: {response.status_code} {response.text[:300]}"
    assert response.json()["error"] == "UNAUTHENTICATED"
    COUNTS["nobody", "refused"] += 1


@pytest.mark.parametrize("operation", OPERATIONS, ids=_id)
def test_another_communes_objects(api_world, operation):
    """Xuân Hưng's administrator names Yên Thắng's objects in the path (or the
    body): refused, and nothing of Yên Thắng's comes back."""
    method, path, op = operation
    if is_public(op):
        COUNTS["other commune", "public"] += 1
        return
    objects = [name for name in path_params(op) if name not in SHARED_NAMES and name != "commune_id"]
    values = {name: (api_world.ids[HOME] if name in SHARED_NAMES else api_world.ids[OTHER])[name]
              for name in path_params(op)}
    # the body refers to the other commune's objects too — but on a registration (no path id) a device_id is
    # the new device's own id (ids are per commune), not a reference
    body_values = {name: value for name, value in api_world.ids[OTHER].items()
                   if name != "commune_id" and not (name == "device_id" and not objects)}
    kwargs = request_kwargs(op, {**api_world.ids[HOME], **body_values, **values})
    kwargs.get("params", {}).pop("commune_id", None)  # the caller's own commune
    if isinstance(kwargs.get("json"), dict):
        kwargs["json"].pop("commune_id", None)
    upsert = _is_upsert(method, op)
    if upsert:  # PUT /api/zones/{zone_id} …: ids are the commune's own names, a PUT makes or replaces its own
        collection = path.rsplit("/", 1)[0]
        before = _ok_json(api_world.call("GET", collection, OTHER, "commune_admin"))
    response = api_world.call(method, fill_path(path, values), HOME, "commune_admin", **kwargs)
    assert response.status_code < 500, response.text
    leaks = _leaks(api_world, response, _sent(values.values(), kwargs))
    assert not leaks, f"{method} {path} as {HOME}'s administrator answered {OTHER}'s data {leaks}: {response.text[:500]}"
    if upsert:
        assert _ok_json(api_world.call("GET", collection, OTHER, "commune_admin")) == before, \
            f"{method} {path} as {HOME}'s administrator changed {OTHER}'s {collection}"
        COUNTS["other commune (path, own upsert)", "checked"] += 1
    elif (method, path) in NOT_LOOKED_UP:
        assert response.status_code == 200 and NOT_LOOKED_UP[method, path](response.json()), response.text[:300]
        COUNTS["other commune (path, not looked up)", "checked"] += 1
    elif objects or "commune_id" in path_params(op):
        assert response.status_code in (403, 404), \
            f"{method} {path} with {OTHER}'s {objects or 'commune'}: {response.status_code} {response.text[:300]}"
        COUNTS["other commune (path)", "refused"] += 1
    elif method != "GET" and _references_other(api_world, kwargs):
        assert response.status_code >= 400, \
            f"{method} {path} with a body naming {OTHER}'s objects: {response.status_code} {response.text[:300]}"
        COUNTS["other commune (body)", "refused"] += 1
    else:
        COUNTS["other commune (own data only)", "checked"] += 1


def _is_upsert(method, op):
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return method == "PUT" and bool(content) and "id" in plausible(content["schema"], DOCUMENT, {"id": "x"})


def _ok_json(response):
    assert response.status_code == 200, response.text[:300]
    return response.json()


def _takes_commune(op):
    if has_query(op, "commune_id"):
        return True
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    return bool(content) and "commune_id" in plausible(content["schema"], DOCUMENT, {"commune_id": OTHER})


@pytest.mark.parametrize("operation", [o for o in OPERATIONS if not is_public(o[2]) and _takes_commune(o[2])],
                         ids=_id)
def test_naming_another_commune(api_world, operation):
    """Xuân Hưng's administrator asks, on its own objects, for commune_id
    Yên Thắng: refused (403), and nothing of Yên Thắng's comes back. (Every
    operation that takes a commune_id, in its query or body.)"""
    method, path, op = operation
    values = _values(api_world, HOME, op)
    kwargs = request_kwargs(op, {**api_world.ids[HOME], **values, "commune_id": OTHER})
    response = api_world.call(method, fill_path(path, values), HOME, "commune_admin", **kwargs)
    assert not _leaks(api_world, response, _sent(values.values(), kwargs)), response.text[:500]
    assert response.status_code == 403, f"{method} {path} naming {OTHER}: {response.status_code} {response.text[:300]}"
    COUNTS["other commune (commune_id)", "refused"] += 1


def _refused_roles(method, path, op):
    if method == "GET" or is_public(op) or (method, path) in OPEN_WRITES:
        return set()
    tag = (op.get("tags") or ["?"])[0]
    if tag == AUTH_TAG:
        return set()
    return WRITE_REFUSED.get(tag, DEFAULT_REFUSED)


def _role_cases():
    cases = []
    for method, path, op in OPERATIONS:
        for role in sorted(_refused_roles(method, path, op)):
            cases.append(pytest.param((method, path, op), role, id=f"{role}-{method} {path}"))
    return cases


@pytest.mark.parametrize("operation, role", _role_cases())
def test_a_role_not_allowed_is_refused(api_world, operation, role):
    method, path, op = operation
    values = _values(api_world, HOME, op)
    kwargs = request_kwargs(op, {**api_world.ids[HOME], **values})
    response = api_world.call(method, fill_path(path, values), HOME, role, **kwargs)
    assert response.status_code == 403, f"{method} {path} as {role}: {response.status_code} {response.text[:300]}"
    COUNTS[f"role {role}", "refused"] += 1


def test_every_write_refuses_someone():
    """The role rule covers every write but the open ones (no area left out)."""
    writes = [(m, p) for m, p, op in OPERATIONS if m != "GET" and not is_public(op)]
    uncovered = [(m, p) for m, p, op in OPERATIONS
                 if (m, p) in writes and (m, p) not in OPEN_WRITES and not _refused_roles(m, p, op)]
    assert not uncovered
    assert OPEN_WRITES <= set(writes), "an open write is no longer in the document"
