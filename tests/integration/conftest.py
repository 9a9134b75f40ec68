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
