"""A simple device over MQTT, as an installer would set it up: an operator
registers it and gets its credential from the telemetry service, the device
publishes with `mosquitto_pub` through RabbitMQ's MQTT plugin, and the sample
shows in the device's latest state. The broker itself keeps the device to its
own topic."""
import json
import shutil
import subprocess
import uuid
from datetime import datetime, timezone

import pytest
from nameko.testing.services import entrypoint_hook

from services.telemetry.service import TelemetryService
from services.telemetry.tests.test_edge import EdgeProcess
from shared.context import CONTEXT_KEY, Caller
from shared.testing import wait_until


OPERATOR = Caller(subject="op-1", commune_id="xuan-hung", roles=frozenset({"operator"}), name="Trần Văn Bình")

@pytest.fixture
def telemetry(container_factory, service_config):
    container = container_factory(TelemetryService, dict(service_config, PRESENCE_SWEEP_SECONDS=0.5))
    container.start()
    return container

@pytest.fixture
def edge(tmp_path, rabbit_config, mongo_uri, mongo_database):
    process = EdgeProcess(tmp_path / "edge.log", AMQP_URI=rabbit_config["AMQP_URI"], MONGO_URI=mongo_uri,
                          TELEMETRY_DATABASE=mongo_database.name)
    try:
        wait_until(lambda: process.health() == "SERVING", timeout=20, message="the edge to serve")
        yield process
    finally:
        process.stop()

def call(container, method, *args, **kwargs):
    with entrypoint_hook(container, method, context_data={CONTEXT_KEY: OPERATOR.to_json()}) as hook:
        return hook(*args, **kwargs)

def mosquitto_pub(credential, topic, payload):
    return subprocess.run(
        ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(credential["mqtt_port"]), "-u", credential["username"],
         "-P", credential["password"], "-t", topic, "-q", "1", "-m", json.dumps(payload)],
        capture_output=True, text=True, timeout=20)

def test_mosquitto_pub_with_a_devices_credential_lands_in_its_latest_state(telemetry, edge):
    assert shutil.which("mosquitto_pub"), "mosquitto-clients is installed by `make test` (deploy/local/setup.sh)"
    # broker users are broker-wide: ids unique to this run
    ours, theirs = f"BT-{uuid.uuid4().hex[:6]}", f"BT-{uuid.uuid4().hex[:6]}"
    for device_id in (ours, theirs):
        call(telemetry, "register_device", {"device_id": device_id, "kind": "eboard", "village": "thon-3",
                                            "transport": "mqtt"})
    credential = call(telemetry, "issue_mqtt_credential", ours)
    try:
        assert credential["topic"] == f"tinxa/xuan-hung/{ours}/telemetry"
        sample = {"seq": 1, "sampled_at": datetime.now(timezone.utc).isoformat(), "brightness": 80, "screen": "on",
                  "power_source": "mains", "mains_voltage": 221.5, "temperature_c": 38.5}
        published = mosquitto_pub(credential, credential["topic"], sample)
        assert published.returncode == 0, published.stderr

        state = wait_until(lambda: (call(telemetry, "get_device", ours).get("state") or {}).get("sample"),
                           message="the sample in the device's latest state")
        assert (state["seq"], state["brightness"], state["screen"], state["mains_voltage"]) == (1, 80, "on", 221.5)
        wait_until(lambda: call(telemetry, "get_device", ours)["state"].get("presence") == "online",
                   message="the device online")

        # the same credential on another device's topic: the broker refuses it
        forged = mosquitto_pub(credential, f"tinxa/xuan-hung/{theirs}/telemetry", dict(sample, seq=7))
        wrong_password = mosquitto_pub(dict(credential, password="đoán-bừa"), credential["topic"], dict(sample, seq=2))
        assert forged.returncode != 0 and wrong_password.returncode != 0
        untouched = call(telemetry, "get_device", theirs)["state"]
        assert untouched["presence"] == "unknown" and not untouched.get("sample")
    finally:
        call(telemetry, "revoke_credentials", ours, "hết thử nghiệm")
