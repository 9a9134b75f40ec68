"""End to end in a real browser: device work in the console (register,
import, provision, watch, command, alarms, MQTT login, revoke) against the
real gateway and telemetry services, the real DeviceLink edge and a
simulated device provisioned with the code the console showed.

The browser runs in its own process (devices_browser_flow.py), the edge and
the simulator in theirs; the services run here. Screenshots go to
TINXA_SCREENSHOT_DIR if set, else to the test's tmp dir.
"""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from shared.testing import free_port, wait_until

from services.gateway.service import GatewayService
from services.gateway.tests.conftest import SECRET, SYSTEM_CONTEXT
from services.telemetry.service import TelemetryService
from tests.integration.conftest import seed_people
from tests.integration.test_gateway_content import XUAN_HUNG

REPO = Path(__file__).resolve().parents[2]
FLOW = Path(__file__).with_name("devices_browser_flow.py")
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ("devices-empty-vi", "provisioning-vi", "import-problem-vi", "import-preview-vi", "code-vi",
               "device-online-vi", "devices-vi", "alarms-vi", "alarms-cleared-vi", "mqtt-vi", "device-revoked-vi",
               "devices-en", "device-en", "devices-phone-vi", "device-phone-vi", "alarms-phone-vi",
               "provisioning-phone-vi")
OPERATOR = {"operator": ("vanhanh.xuanhung", "Phạm Văn Hành", ["operator"])}


def _accepts(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def devices_system(runner_factory, service_config, tmp_path):
    """The real gateway and telemetry services on the test's vhost and store,
    and the DeviceLink edge (its own process) on the same database; yields
    the gateway's base URL, the config and the edge's address."""
    grpc_port = free_port()
    edge_log = tmp_path / "edge.log"
    environment = dict(os.environ, AMQP_URI=service_config["AMQP_URI"], MONGO_URI=service_config["MONGO_URI"],
                       TELEMETRY_DATABASE=service_config["MONGO_DATABASE"], GRPC_HOST="127.0.0.1",
                       GRPC_PORT=str(grpc_port), METRICS_PORT=str(free_port()), TELEMETRY_FLUSH_SECONDS="0.2",
                       EDGE_ID="edge-browser-test")
    with open(edge_log, "wb") as log:
        edge = subprocess.Popen([sys.executable, "-m", "services.telemetry.edge"], cwd=REPO, env=environment,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: edge.poll() is None and _accepts(grpc_port), timeout=30,
                   message=f"the edge to listen (log: {edge_log})")
        port = free_port()
        config = dict(service_config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}", GATEWAY_SECRET_KEY=SECRET,
                      PRESENCE_SWEEP_SECONDS=1, DEVICES_PUBLIC_HOST="127.0.0.1", DEVICELINK_PUBLIC_PORT=grpc_port)
        runner = runner_factory(config, GatewayService, TelemetryService)
        runner.start()
        yield f"http://127.0.0.1:{port}", config, f"127.0.0.1:{grpc_port}"
    finally:
        edge.terminate()
        try:
            edge.wait(timeout=15)
        except subprocess.TimeoutExpired:
            edge.kill()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)")
def test_device_work_in_a_browser(devices_system, tmp_path):
    base, config, edge = devices_system
    accounts = seed_people(config, XUAN_HUNG, OPERATOR)
    shots = Path(os.environ.get("TINXA_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)

    run = subprocess.run([sys.executable, str(FLOW), base, *accounts["operator"], edge, str(shots)],
                         capture_output=True, text=True, timeout=420)
    assert run.returncode == 0, run.stdout + run.stderr

    for name in SCREENSHOTS:
        assert (shots / f"{name}.png").stat().st_size > 10_000, name
    # what the pages said is what the telemetry service holds
    with ClusterRpcProxy(config, context_data=SYSTEM_CONTEXT, timeout=30) as rpc:
        devices = {d["device_id"]: d for d in rpc.telemetry.list_devices({"commune_id": "xuan-hung"})}
        assert sorted(devices) == ["BANGTIN-DEN", "LOA-CHO", "LOA-DEN"]
        assert devices["LOA-CHO"]["credential"]["status"] == "revoked"
        assert devices["LOA-CHO"]["location"] == {"lat": 20.253, "lon": 105.962}
        assert (devices["LOA-CHO"]["presence_timeout_s"], devices["LOA-CHO"]["model"]) == (30, "IPL-30W")
        assert devices["LOA-DEN"]["credential"]["status"] == "revoked"
        alarms = {a["rule"]: a for a in rpc.telemetry.list_alarms({"status": "all", "commune_id": "xuan-hung"})}
        mains = alarms["mains_lost"]
        assert (mains["status"], mains["acknowledged"]["note"], mains["cleared"]["by_name"]) == (
            "cleared", "Đang kiểm tra ổn áp", "Phạm Văn Hành")
        # cut off by the revocation, the loudspeaker went offline
        assert (alarms["offline"]["device_id"], alarms["offline"]["status"]) == ("LOA-CHO", "open")
