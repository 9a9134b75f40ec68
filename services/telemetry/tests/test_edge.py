"""End to end: the DeviceLink edge started as a user starts it
(``python -m services.telemetry.edge``, its own process, the repository's
config), driven with a grpcio client, on the test's RabbitMQ vhost."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_hook

from services.telemetry.service import TelemetryService
from shared.context import CONTEXT_KEY, Caller
from shared.events import validate_event
from shared.testing import free_port, wait_until
from shared.timeutil import utcnow
from tinxa.telemetry.v1 import devicelink_pb2, devicelink_pb2_grpc

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "tinxa.telemetry.v1.DeviceLinkService"
# reconnect quickly while the edge starts (grpcio backs off up to 2 min)
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 250)]
# Reflection is a streaming call, which grpcio's blocking client deadlocks on
# under the eventlet this test process runs: it is asked from a process of its own.
LIST_SERVICES = """
import sys, grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
with grpc.insecure_channel(sys.argv[1]) as channel:
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    for answer in reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([request]), timeout=5):
        print(*(service.name for service in answer.list_services_response.service))
"""


class EdgeProcess:
    """``python -m services.telemetry.edge`` on free ports, its output in a log file."""

    def __init__(self, amqp_uri, log_path, **env):
        self.grpc_port, self.metrics_port = free_port(), free_port()
        self.target = f"127.0.0.1:{self.grpc_port}"
        self.log_path = log_path
        environment = dict(os.environ, AMQP_URI=amqp_uri, GRPC_HOST="127.0.0.1", GRPC_PORT=str(self.grpc_port),
                           METRICS_PORT=str(self.metrics_port), **env)
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "services.telemetry.edge"], cwd=ROOT,
                                            env=environment, stdout=log, stderr=subprocess.STDOUT)
        self.channel = grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        self.devicelink = devicelink_pb2_grpc.DeviceLinkServiceStub(self.channel)

    def log(self):
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def health(self, service=""):
        if self.process.poll() is not None:
            raise RuntimeError(f"the edge exited with {self.process.returncode}:\n{self.log()}")
        try:
            response = health_pb2_grpc.HealthStub(self.channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=0.5)
        except grpc.RpcError as err:
            return err.code().name
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def wait_serving(self):
        wait_until(lambda: self.health() == "SERVING", timeout=20, message="the edge to serve")

    def report(self, request, correlation_id="test-correlation"):
        return self.devicelink.ReportStatus(request, timeout=10, metadata=[("x-correlation-id", correlation_id)])

    def http(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def stop(self):
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_edge(tmp_path):
    """Starts edges and waits until they serve; stops every one of them."""
    edges = []

    def start(amqp_uri, **env):
        edge = EdgeProcess(amqp_uri, tmp_path / f"edge-{len(edges)}.log", **env)
        edges.append(edge)
        edge.wait_serving()
        return edge

    yield start
    for edge in edges:
        edge.stop()


def status_request(**changes):
    reported_at = Timestamp()
    reported_at.FromDatetime(utcnow() - timedelta(seconds=1))
    fields = dict(commune_id="xuan-hung", device_id="loa-01", online=True, volume=65, playing=True,
                  reported_at=reported_at)
    fields.update(changes)
    return devicelink_pb2.ReportStatusRequest(**fields)


def presence(container, device_id):
    context = {CONTEXT_KEY: Caller(subject="u1", commune_id="xuan-hung", roles=frozenset({"viewer"})).to_json()}
    with entrypoint_hook(container, "list_presence", context_data=context) as hook:
        return {d["device_id"]: d for d in hook()}.get(device_id)


def test_a_report_reaches_the_nameko_handler(start_edge, rabbit_config, container_factory, service_config):
    edge = start_edge(rabbit_config["AMQP_URI"])
    # the telemetry service never ran on this broker, so no queue would take
    # the event: the device is told to retry rather than the event dropped
    with pytest.raises(grpc.RpcError) as refused:
        edge.report(status_request())
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

    container = container_factory(TelemetryService, service_config)
    container.start()
    response = edge.report(status_request())
    device = wait_until(lambda: presence(container, "loa-01"), message="the handler to store the report")
    assert device["last_event_id"] == response.event_id
    assert (device["online"], device["volume"], device["playing"]) == (True, 65, True)


def test_the_event_has_nameko_layout_and_is_persistent(start_edge, rabbit_config):
    edge = start_edge(rabbit_config["AMQP_URI"])
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        queue = Queue("test-device-status", Exchange("telemetry.events", type="topic", durable=True),
                      routing_key="device_status_reported", exclusive=True)(connection.channel())
        queue.declare()
        response = edge.report(status_request(volume=0), correlation_id="cid-42")
        message = queue.get(no_ack=True)
    body = json.loads(message.body)
    assert validate_event("telemetry", "device_status_reported", body) == body
    assert body["event_id"] == response.event_id and body["volume"] == 0
    assert message.headers["nameko.correlation_id"] == "cid-42"
    assert message.properties["delivery_mode"] == 2
    assert message.delivery_info["routing_key"] == "device_status_reported"


@pytest.mark.parametrize("changes, problem", [
    ({"commune_id": ""}, "commune_id: thiếu mã xã"),
    ({"volume": 101}, "volume: âm lượng phải từ 0 đến 100 (nhận 101)"),
    ({"reported_at": None}, "reported_at: thiếu thời điểm báo cáo"),
])
def test_a_malformed_report_is_invalid_argument(start_edge, rabbit_config, changes, problem):
    edge = start_edge(rabbit_config["AMQP_URI"])
    with pytest.raises(grpc.RpcError) as refused:
        edge.report(status_request(**changes))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem in refused.value.details()


def test_health_reflection_and_metrics(start_edge, rabbit_config):
    edge = start_edge(rabbit_config["AMQP_URI"])
    probe = [sys.executable, "-m", "shared.grpc_health_probe", edge.target]
    assert subprocess.run(probe, cwd=ROOT, capture_output=True).returncode == 0
    assert subprocess.run([*probe, SERVICE], cwd=ROOT, capture_output=True).returncode == 0
    assert subprocess.run([*probe, "tinxa.nothing.v1.NoService"], cwd=ROOT, capture_output=True).returncode == 1

    listed = subprocess.run([sys.executable, "-c", LIST_SERVICES, edge.target], cwd=ROOT, capture_output=True,
                            text=True, timeout=20)
    assert {SERVICE, "grpc.health.v1.Health"} <= set(listed.stdout.split()), listed.stderr

    with pytest.raises(grpc.RpcError):
        edge.report(status_request(device_id=""))
    status, metrics = edge.http("/metrics")
    assert status == 200
    assert ('tinxa_grpc_server_handled_total{grpc_code="INVALID_ARGUMENT",grpc_method="ReportStatus",'
            f'grpc_service="{SERVICE}"}} 1.0') in metrics
    assert f'tinxa_grpc_server_handling_seconds_count{{grpc_method="ReportStatus",grpc_service="{SERVICE}"}} 1.0' in metrics
    assert edge.http("/healthz") == (200, '{"status": "ok", "checks": {"broker": "ok"}}')


def test_an_unreachable_broker_is_unavailable(start_edge):
    edge = start_edge(f"amqp://guest:guest@127.0.0.1:{free_port()}/", PUBLISH_TIMEOUT_SECONDS="0.5")
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as refused:
        edge.report(status_request())
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert time.monotonic() - started < 3
    status, body = edge.http("/healthz")
    assert status == 503 and json.loads(body)["checks"]["broker"].startswith("fail")


def test_sigterm_stops_the_edge_promptly(start_edge, rabbit_config):
    edge = start_edge(rabbit_config["AMQP_URI"])
    started = time.monotonic()
    edge.process.send_signal(signal.SIGTERM)
    assert edge.process.wait(timeout=5) == 0
    assert time.monotonic() - started < 3
    assert '"msg": "stopped"' in edge.log()
