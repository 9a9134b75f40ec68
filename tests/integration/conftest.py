"""Fixtures for tests across services: the real gateway and tasks services
run together on the test's vhost and store."""
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.gateway.service import GatewayService
from services.gateway.tests.conftest import SECRET, SEED, SYSTEM_CONTEXT
from services.tasks.service import TasksService
from shared.testing import free_port


@pytest.fixture
def system(runner_factory, service_config):
    """The real gateway and the real tasks service on the test's vhost and
    store; yields the gateway's base URL and the config."""
    port = free_port()
    config = dict(service_config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", GATEWAY_SECRET_KEY=SECRET)
    runner = runner_factory(config, GatewayService, TasksService)
    runner.start()
    return f"http://127.0.0.1:{port}", config



def seed_commune(config):
    """What deploy/local/seed.py does: the commune and its admin, over RPC as
    the system caller; returns the admin's username and one-time password."""
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        assert rpc.gateway.ensure_commune(SEED["commune"])["created"] is True
        admin = rpc.gateway.ensure_user(dict(SEED["admin"], commune_id=SEED["commune"]["id"]))
        assert rpc.gateway.ensure_commune(SEED["commune"])["created"] is False
    assert admin["created"] is True
    return SEED["admin"]["username"], admin["password"]


@pytest.fixture
def content_system(runner_factory, service_config):
    """The real gateway and the real content service on the test's vhost and
    store (text-to-speech with the espeak-ng and ffmpeg of the machine);
    yields the gateway's base URL and the config."""
    from services.content.service import ContentService

    port = free_port()
    config = dict(service_config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", GATEWAY_SECRET_KEY=SECRET)
    runner = runner_factory(config, GatewayService, ContentService)
    runner.start()
    return f"http://127.0.0.1:{port}", config


def seed_people(config, commune, people):
    """A commune and its accounts, as a district tool makes them over RPC;
    ``people`` maps a name to ``(username, display name, roles)``; returns
    name → ``(username, one-time password)``."""
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        rpc.gateway.ensure_commune(commune)
        made = {name: rpc.gateway.ensure_user({"username": username, "display_name": display_name,
                                               "roles": roles, "commune_id": commune["id"]})
                for name, (username, display_name, roles) in people.items()}
    return {name: (people[name][0], user["password"]) for name, user in made.items()}
