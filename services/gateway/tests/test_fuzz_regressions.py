"""5xx answers found by fuzzing the API (tests/api/test_fuzz.py),
each kept here as the smallest request that caused it."""
import pytest
from nameko.testing.services import replace_dependencies

from services.gateway import schemas
from services.gateway.service import GatewayService
from services.gateway.tests.test_api import assert_error
from shared.errors import InvalidInput, load


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.telemetry_mock = replace_dependencies(container, "telemetry")
    container.start()
    return container


# A moment with a time zone that has no UTC form (year 1 east of Greenwich,
# year 9999 west of it): datetime raised OverflowError converting it, a 500.
OUT_OF_RANGE = ["0001-01-01T00:00:00+01:01", "9999-12-31T23:59:59-00:01"]


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_a_moment_outside_utc_is_invalid_input(moment):
    with pytest.raises(InvalidInput):
        load(schemas.TelemetryQuerySchema, {"end": moment})


@pytest.mark.parametrize("moment", OUT_OF_RANGE)
def test_a_telemetry_period_outside_utc_is_refused_not_a_server_error(gateway, web_session, operator, moment):
    response = web_session.get("/api/devices/loa-thon-1/telemetry", params={"start": "2000-01-12T18:20:16+01:01",
                                                                            "end": moment})
    assert_error(response, 400, "INVALID_INPUT")
    assert not gateway.telemetry_mock.get_telemetry.called
