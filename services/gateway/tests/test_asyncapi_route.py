"""The gateway serves the AsyncAPI description of the events, like the
OpenAPI one: without sign-in, as JSON."""
import json

import pytest

from services.gateway.service import GatewayService
from shared.asyncapi import document


@pytest.fixture
def gateway(container_factory, gateway_config):
    container = container_factory(GatewayService, gateway_config)
    container.start()
    return container


def test_the_asyncapi_document_is_served_without_sign_in(gateway, web_session):
    response = web_session.get("/api/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    served = response.json()
    assert served == json.loads(json.dumps(document()))
    assert served["asyncapi"] == "3.0.0" and "telemetry.plays_reported" in served["channels"]
