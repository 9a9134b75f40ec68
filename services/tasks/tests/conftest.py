"""Fixtures of the tasks service's tests: the container on the real broker and
store, the gateway replaced by a stand-in holding the seed commune's agencies."""
import json
from pathlib import Path

import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies

from services.tasks.service import TasksService
from shared.context import CONTEXT_KEY, Caller
from shared.testing import event_tap

SEED_DIR = Path(__file__).resolve().parents[3] / "deploy" / "seed"
SEED = SEED_DIR / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt"
REGISTRY = json.loads((SEED_DIR / "xuan-hung.json").read_text(encoding="utf-8"))["commune"]["agencies"]


def as_caller(commune_id="xuan-hung", *roles, name="Nguyễn Thị Lan"):
    caller = Caller(subject="u1", commune_id=commune_id, roles=frozenset(roles or ("commune_admin",)), name=name)
    return {CONTEXT_KEY: caller.to_json()}


class GatewayStandIn:
    """What the tasks service asks the gateway: a commune's agency registry."""

    def list_agencies(self, commune_id):
        return REGISTRY


@pytest.fixture
def container(container_factory, service_config):
    container = container_factory(TasksService, service_config)
    replace_dependencies(container, gateway=GatewayStandIn())
    container.start()
    return container


@pytest.fixture
def events(service_config):
    with event_tap(service_config["AMQP_URI"], "tasks") as tap:
        yield tap


def call(container, method, *args, context=None, **kwargs):
    with entrypoint_hook(container, method, context_data=context or as_caller()) as hook:
        return hook(*args, **kwargs)


@pytest.fixture
def plan(container):
    return call(container, "import_plan", {"text": SEED.read_text(encoding="utf-8"), "source_name": SEED.name})


@pytest.fixture
def task_by_code(container, plan):
    def find(code):
        return next(t for t in call(container, "list_tasks", {"plan_id": plan["_id"], "limit": 500})["items"]
                    if t["code"] == code)
    return find
