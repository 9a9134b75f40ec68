"""The read-only RPCs district tools use (``tinxa commune list``, ``tinxa user list``)."""
import pytest
from nameko.testing.services import entrypoint_hook

from shared.context import CONTEXT_KEY, Caller
from services.gateway.service import GatewayService
from services.gateway.tests.conftest import SYSTEM_CONTEXT


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.start()
    return container


def _context(user):
    return {CONTEXT_KEY: Caller(subject=user["_id"], commune_id=user["commune_id"], roles=frozenset(user["roles"]),
                                kind="user", name=user["display_name"]).to_json()}


def test_commune_list_shows_every_commune_to_the_district_and_one_to_a_commune(gateway, people):
    with entrypoint_hook(gateway, "commune_list", context_data=SYSTEM_CONTEXT) as commune_list:
        assert [c["id"] for c in commune_list()] == ["xuan-hung", "yen-thang"]
    with entrypoint_hook(gateway, "commune_list", context_data=_context(people["viewer"])) as commune_list:
        assert [c["id"] for c in commune_list()] == ["xuan-hung"]


def test_commune_users_lists_one_communes_accounts_without_password_hashes(gateway, people):
    with entrypoint_hook(gateway, "commune_users", context_data=SYSTEM_CONTEXT) as commune_users:
        users = commune_users("xuan-hung")
    assert sorted(u["username"] for u in users) == ["admin.xuanhung", "editor.xuanhung", "viewer.xuanhung"]
    assert all("password_hash" not in u for u in users)
    with pytest.raises(Exception) as refused:
        with entrypoint_hook(gateway, "commune_users", context_data=_context(people["viewer"])) as commune_users:
            commune_users("xuan-hung")
    assert type(refused.value).__name__ == "Forbidden"
