"""Fuzzing the HTTP API from its OpenAPI document (issue #9).

Schemathesis generates requests for every operation of the document the
gateway serves at /api/openapi.json (checked equal to the one parametrised
here) — valid and invalid path, query and body values, examples and
boundary cases — and sends them to the whole system as `make up` starts it
(tests/api/world.py), as the commune administrator of Xuân Hưng
(an API key: no session, so nothing a request does, logout included, can sign
the run out; so no operation is excluded). Every answer must not be a 5xx and
its status must be one the operation documents (every operation that takes
input documents its 400: services/gateway/openapi.py).

Bounded: at most MAX_EXAMPLES generated cases per operation and phase, with a
fixed seed and derandomised generation (the same cases every run), no
shrinking deadline; the counts are printed at the end of the module.
"""
import collections
import time

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from services.gateway.openapi import DOCUMENT
from tests.api.world import HOME, report

MAX_EXAMPLES = 20
CONFIG = schemathesis.Config.from_dict({
    "seed": 20260009,
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        "mode": "all",  # valid and invalid inputs
        # the API key is sent by the test; no generated credentials beside it
        "with-security-parameters": False,
    },
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

CASES = collections.Counter()  # operation label → cases sent
STATUSES = collections.Counter()  # status code → answers
STARTED = []


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary(request):
    STARTED.append(time.monotonic())
    yield
    if not CASES:
        return
    lines = [
        f"API fuzzing: {len(CASES)} of {len(list(schema.get_all_operations()))} operations, "
        f"{sum(CASES.values())} generated cases in {time.monotonic() - STARTED[0]:.0f} s "
        f"(max {MAX_EXAMPLES} per operation and phase)",
        "  answers by status: " + ", ".join(f"{status}: {count}" for status, count in sorted(STATUSES.items())),
        "  fewest cases: " + ", ".join(f"{label} ({count})" for label, count in
                                       sorted(CASES.items(), key=lambda kv: kv[1])[:5]),
    ]
    report(request.config, lines)


@pytest.fixture(scope="module")
def admin_session(api_world):
    session = requests.Session()
    session.headers.update(api_world.headers(HOME, "commune_admin"))
    return session


def test_served_document_is_the_one_fuzzed(api_world):
    served = requests.get(f"{api_world.base_url}/api/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
def test_api(case, api_world, admin_session):
    response = case.call_and_validate(base_url=api_world.base_url, session=admin_session, timeout=30,
                                      checks=[not_a_server_error, status_code_conformance])
    CASES[case.operation.label] += 1
    STATUSES[response.status_code] += 1
