"""End to end: the DeviceLink edge started as a user starts it
(``python -m services.telemetry.edge``, the repository's config), on the
test's RabbitMQ vhost and database. Unary calls are made from this process;
streams from a child process (``devicelink_client.py``): grpcio's blocking
streaming client deadlocks under the eventlet this process runs."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kombu import Exchange

from services.telemetry.tests.devicelink_client import (
    DeviceLinkClient, batch, issue_code, issue_credential, register, sample,
)
from shared.bus import Publisher
from shared.devicelink import COMMANDS_EXCHANGE, make_command
from shared.events import make_event, validate_event
from shared.testing import event_tap, free_port, wait_until
from tinxa.devicelink.v1 import devicelink_pb2, devicelink_pb2_grpc

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "tinxa.devicelink.v1.DeviceLinkService"
# reconnect quickly while the edge starts (grpcio backs off up to 2 min)
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 250)]
# No generated stubs: what a standard tool (grpcurl, Postman) does with reflection alone.
REFLECTION_CLIENT = """
import json, sys, grpc
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
with grpc.insecure_channel(sys.argv[1]) as channel:
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = DescriptorPool(database)
    check = pool.FindServiceByName("grpc.health.v1.Health").FindMethodByName("Check")
    Request, Response = GetMessageClass(check.input_type), GetMessageClass(check.output_type)
    call = channel.unary_unary("/grpc.health.v1.Health/Check", request_serializer=Request.SerializeToString,
                               response_deserializer=Response.FromString)
    answer = call(Request(service=sys.argv[2]), timeout=5)
    print(json.dumps({
        "services": sorted(database.get_services()),
        "methods": [m.name for m in pool.FindServiceByName(sys.argv[2]).methods],
        "status": check.output_type.fields_by_name["status"].enum_type.values_by_number[answer.status].name,
    }))
"""


class EdgeProcess:
    """``python -m services.telemetry.edge`` on free ports, its output in a log file."""

    def __init__(self, log_path, **env):
        self.grpc_port, self.metrics_port = free_port(), free_port()
        self.target = f"127.0.0.1:{self.grpc_port}"
        self.log_path = log_path
        environment = dict(os.environ, GRPC_HOST="127.0.0.1", GRPC_PORT=str(self.grpc_port),
                           METRICS_PORT=str(self.metrics_port), TELEMETRY_FLUSH_SECONDS="0.2", **env)
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

    def http(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def metric(self, line_start):
        """The value of the first /metrics line starting with ``line_start``."""
        lines = [line for line in self.http("/metrics")[1].splitlines() if line.startswith(line_start)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else None

    def stop(self):
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def edge(tmp_path, rabbit_config, mongo_uri, mongo_database):
    """An edge on the test's vhost and database, serving."""
    process = EdgeProcess(tmp_path / "edge.log", AMQP_URI=rabbit_config["AMQP_URI"], MONGO_URI=mongo_uri,
                          TELEMETRY_DATABASE=mongo_database.name, EDGE_ID="edge-test")
    try:
        wait_until(lambda: process.health() == "SERVING", timeout=20, message="the edge to serve")
        yield process
    finally:
        process.stop()


@pytest.fixture
def device(edge):
    """The child process holding device streams."""
    client = DeviceLinkClient(edge.target)
    yield client
    client.stop()


@pytest.fixture
def db(mongo_database):
    return mongo_database


def stored_seqs(db, device_id="loa-01"):
    return sorted(s["seq"] for doc in db.telemetry_buckets.find({"device_id": device_id}) for s in doc["samples"])


def state_of(db, device_id="loa-01"):
    return db.device_state.find_one({"_id": f"xuan-hung/{device_id}"}) or {}


def bearer(credential):
    return [("authorization", f"Bearer {credential}")]


def test_a_device_provisions_with_a_code_once_then_rotates(edge, db, rabbit_config):
    register(db)
    code = issue_code(db)
    with event_tap(rabbit_config["AMQP_URI"], "telemetry") as events:
        answer = edge.devicelink.Provision(devicelink_pb2.ProvisionRequest(provisioning_code=code, firmware="2.1.0",
                                                                           model="TX-100"), timeout=10)
        assert (answer.commune_id, answer.device_id) == ("xuan-hung", "loa-01")
        with pytest.raises(grpc.RpcError) as again:
            edge.devicelink.Provision(devicelink_pb2.ProvisionRequest(provisioning_code=code), timeout=10)
        assert again.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "Mã kích hoạt không đúng, đã được dùng hoặc đã hết hạn" in again.value.details()

        rotated = edge.devicelink.RotateCredential(devicelink_pb2.RotateCredentialRequest(),
                                                   metadata=bearer(answer.credential), timeout=10)
        with pytest.raises(grpc.RpcError) as old:
            edge.devicelink.RotateCredential(devicelink_pb2.RotateCredentialRequest(),
                                             metadata=bearer(answer.credential), timeout=10)
        assert old.value.code() == grpc.StatusCode.UNAUTHENTICATED

        def published():
            tapped = events()
            assert len(tapped) == 3, tapped
            return tapped
        tapped = wait_until(published, message="the provisioning events")
    first_id, second_id = answer.credential.split(".")[0], rotated.credential.split(".")[0]
    assert {(t.name, t.body["credential_id"], t.body.get("how")) for t in tapped} == {
        ("device_provisioned", first_id, "provisioning_code"), ("device_provisioned", second_id, "rotation"),
        ("credential_revoked", first_id, None)}
    for t in tapped:
        assert validate_event("telemetry", t.name, t.body) == t.body
    device = db.devices.find_one()
    assert device["credential"]["credential_id"] == second_id and device["firmware"] == "2.1.0"
    assert {c["_id"]: c["status"] for c in db.credentials.find()} == {first_id: "revoked", second_id: "active"}
    # published events leave the credentials' outboxes
    wait_until(lambda: not db.credentials.count_documents({"_outbox_since": {"$exists": True}}),
               message="the outboxes to be cleared")


def test_a_stream_needs_a_good_credential_and_a_hello_first(edge, device, db):
    register(db)
    credential = issue_credential(db)
    revoked = issue_credential(db, status="revoked")
    device.open("garbage", "not-a-credential")
    device.open("none", None)
    device.open("revoked", revoked)
    device.open("no-hello", credential, hello={})
    device.send("no-hello", {"ping": {}})
    for name in ("garbage", "none", "revoked"):
        assert device.wait_end(name)["code"] == "UNAUTHENTICATED", device.end(name)
    ended = device.wait_end("no-hello")
    assert (ended["code"], ended["details"]) == ("INVALID_ARGUMENT", "Tin nhắn đầu tiên của luồng phải là Hello.")
    device.open("good", credential)
    device.welcome("good")
    device.send("good", {"telemetry": {"samples": [sample(1, volume=101)]}})
    assert device.wait_end("good")["code"] == "INVALID_ARGUMENT"
    wait_until(lambda: edge.metric('tinxa_devicelink_streams_ended_total{code="INVALID_ARGUMENT"}') == 1,
               message="the stream's end to be counted")
    with pytest.raises(grpc.RpcError) as refused:
        edge.devicelink.RotateCredential(devicelink_pb2.RotateCredentialRequest(), metadata=bearer("x.y"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_samples_land_in_buckets_and_device_state_and_resume_after_a_reconnect(edge, device, db):
    register(db)
    credential = issue_credential(db)
    device.open("first", credential, hello={"firmware": "2.1.0", "capabilities": ["audio", "schedule"],
                                            "schedule_version": 7})
    welcome = device.welcome("first")
    assert int(welcome.get("stored_through_seq", 0)) == 0 and welcome["keepalive_seconds"] == 30
    device.send("first", batch(1, 2, 3, volume=65, mains_voltage=221.4, connection="CONNECTION_TYPE_WIFI"))
    device.send("first", batch(4, 5))
    device.acked("first", 5)
    assert stored_seqs(db) == [1, 2, 3, 4, 5]
    doc = db.telemetry_buckets.find_one({"first_seq": 1})
    assert doc["_id"] == f"xuan-hung/loa-01/{doc['start']}/1" and doc["rollup"] == "pending"
    assert doc["samples"][0]["volume"] == 65 and doc["samples"][0]["mains_voltage"] == 221.4
    assert doc["samples"][0]["connection"] == "wifi" and doc["samples"][0]["signal_dbm"] is None

    state = state_of(db)
    assert state["stored_through_seq"] == 5 and state["sample"]["seq"] == 5
    assert (state["firmware"], state["capabilities"], state["schedule_version"]) == ("2.1.0", ["audio", "schedule"], 7)
    assert (state["session_id"], state["edge_id"]) == (welcome["session_id"], "edge-test")
    last_seen = datetime.fromisoformat(state["last_seen"])
    assert datetime.fromisoformat(state["offline_after"]) - last_seen == timedelta(seconds=90)
    assert abs(datetime.now(timezone.utc) - last_seen) < timedelta(seconds=10)

    # the device reconnects without hanging up: the new stream takes over
    device.open("second", credential)
    assert device.wait_end("first")["code"] == "ABORTED"
    assert int(device.welcome("second")["stored_through_seq"]) == 5
    device.send("second", batch(3, 4, 5, 6, 7))
    device.acked("second", 7)
    assert stored_seqs(db) == [1, 2, 3, 4, 5, 6, 7]

    device.send("second", {"goodbye": {"reason": "bảo trì"}})
    wait_until(lambda: state_of(db)["offline_after"] == state_of(db)["last_seen"], message="the goodbye")
    device.close("second")
    assert device.wait_end("second")["code"] == "OK"


def test_a_malformed_sample_ends_only_its_own_stream_and_a_silent_one_is_closed(edge, device, db):
    register(db, device_id="loa-01")
    register(db, device_id="loa-02")
    register(db, device_id="loa-03", presence_timeout_s=1)
    device.open("quiet", issue_credential(db, device_id="loa-03"))
    device.open("bad", issue_credential(db, device_id="loa-01"))
    device.open("good", issue_credential(db, device_id="loa-02"))
    device.welcome("bad")
    device.welcome("good")
    device.send("good", batch(1, 2))
    device.send("bad", {"telemetry": {"samples": [sample(1, volume=150)]}})
    ended = device.wait_end("bad")
    assert ended["code"] == "INVALID_ARGUMENT"
    assert ended["details"] == "Mẫu đo không hợp lệ (seq 1) — volume: âm lượng phải từ 0 đến 100 (nhận 150)"
    device.send("good", batch(3))
    device.acked("good", 3)
    assert stored_seqs(db, "loa-02") == [1, 2, 3] and stored_seqs(db, "loa-01") == []
    assert device.end("good") is None
    # a device silent for its presence timeout has lost its link: its stream is ended
    assert device.wait_end("quiet")["code"] == "UNAVAILABLE"


def test_revoking_a_credential_ends_its_open_stream(edge, device, db, rabbit_config):
    register(db)
    credential = issue_credential(db)
    device.open("loa", credential)
    device.welcome("loa")
    event = make_event("telemetry", "credential_revoked", "xuan-hung", device_id="loa-01",
                       credential_id=credential.split(".")[0], reason="mất thiết bị")
    publisher = Publisher(rabbit_config["AMQP_URI"])
    try:
        publisher.publish_event("telemetry", "credential_revoked", event)
    finally:
        publisher.close()
    published = time.monotonic()
    ended = device.wait_end("loa", timeout=5)
    assert time.monotonic() - published < 2
    assert (ended["code"], ended["details"]) == ("UNAUTHENTICATED", "Khóa truy cập của thiết bị đã bị thu hồi.")


def routed(amqp_uri, command):
    """Publish as the services do (mandatory): False if no edge has the device's key bound."""
    publisher = Publisher(amqp_uri)
    try:
        return publisher.publish(command, exchange=Exchange(COMMANDS_EXCHANGE, type="topic", durable=True),
                                 mandatory=True, routing_key=f"{command['commune_id']}.{command['device_id']}")
    finally:
        publisher.close()


def test_commands_reach_the_device_and_its_answers_become_events(edge, device, db, rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    register(db)
    device.open("loa", issue_credential(db))
    device.welcome("loa")
    expired = make_command("xuan-hung", "loa-01", "stop", {}, now=datetime.now(timezone.utc) - timedelta(hours=1))
    wait_until(lambda: routed(amqp_uri, expired), message="the device's command binding")
    command = make_command("xuan-hung", "loa-01", "play", {"content_id": "bt-12", "title": "Bản tin sáng",
                                                           "priority": "emergency", "repeat": 2})
    assert routed(amqp_uri, command)
    received = device.wait_for("loa", "command")
    assert received["command_id"] == command["command_id"]
    assert received["play"] == {"content_id": "bt-12", "title": "Bản tin sáng", "priority": "PRIORITY_EMERGENCY",
                                "repeat": 2}

    with event_tap(amqp_uri, "telemetry") as events:
        device.send("loa", {"command_ack": {"command_id": command["command_id"], "status": "COMMAND_STATUS_ACCEPTED",
                                            "message": "đang phát"}})
        device.send("loa", {"play_report": {"report_id": "r-1", "command_id": command["command_id"],
                                            "content_id": "bt-12", "started_at": "2026-11-26T06:00:00Z",
                                            "ended_at": "2026-11-26T06:05:00Z", "completed": True}})
        receipts = wait_until(lambda: len(device.received("loa", "receipt")) == 2 and device.received("loa", "receipt"),
                              message="two receipts")
        tapped = wait_until(lambda: len(events()) == 2 and events(), message="two events")
    assert {r["id"] for r in receipts} == {command["command_id"], "r-1"}
    by_name = {t.name: t.body for t in tapped}
    for t in tapped:
        assert validate_event("telemetry", t.name, t.body) == t.body and t.body["commune_id"] == "xuan-hung"
    [ack] = by_name["commands_acknowledged"]["acks"]
    assert (ack["device_id"], ack["status"], ack["message"]) == ("loa-01", "accepted", "đang phát")
    [report] = by_name["plays_reported"]["reports"]
    assert report["started_at"] == "2026-11-26T06:00:00.000Z"
    assert report["completed"] is True and report["device_id"] == "loa-01"
    assert [c["command_id"] for c in device.received("loa", "command")] == [command["command_id"]]
    assert "expired at" in edge.log()
    # gone: a command for it comes back unroutable, so its sender knows it was not delivered
    device.close("loa")
    device.wait_end("loa")
    wait_until(lambda: not routed(amqp_uri, command), message="the binding to go")


def test_a_device_reconnecting_to_another_edge_takes_over_from_its_older_stream(
        edge, device, db, tmp_path, rabbit_config, mongo_uri, mongo_database):
    other = EdgeProcess(tmp_path / "edge-2.log", AMQP_URI=rabbit_config["AMQP_URI"], MONGO_URI=mongo_uri,
                        TELEMETRY_DATABASE=mongo_database.name, EDGE_ID="edge-test-2")
    second = DeviceLinkClient(other.target)
    try:
        wait_until(lambda: other.health() == "SERVING", timeout=20, message="the second edge to serve")
        register(db)
        credential = issue_credential(db)
        device.open("old", credential)
        device.welcome("old")
        second.open("new", credential)  # the device came back through another replica
        second.welcome("new")
        ended = device.wait_end("old")
        assert (ended["code"], ended["details"]) == ("ABORTED", "Thiết bị đã mở một luồng kết nối khác; luồng này bị đóng.")
        second.send("new", batch(1, 2))
        second.acked("new", 2)
        # commands now reach the new stream only
        command = make_command("xuan-hung", "loa-01", "set_volume", {"volume": 55})
        wait_until(lambda: routed(rabbit_config["AMQP_URI"], command), message="the new stream's binding")
        assert second.wait_for("new", "command")["command_id"] == command["command_id"]
        assert second.end("new") is None
    finally:
        second.stop()
        other.stop()


def test_reflection_health_metrics_and_healthz(edge, device, db):
    listed = subprocess.run([sys.executable, "-c", REFLECTION_CLIENT, edge.target, SERVICE], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert listed.returncode == 0, listed.stderr
    answer = json.loads(listed.stdout)
    assert {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= set(answer["services"])
    assert answer["methods"] == ["Provision", "RotateCredential", "Connect"]
    assert answer["status"] == "SERVING"

    register(db)
    device.open("loa", issue_credential(db))
    device.welcome("loa")
    device.send("loa", batch(1, 2, 3))
    device.acked("loa", 3)
    device.send("loa", batch(2, 3, 4))
    device.acked("loa", 4)
    assert edge.metric('tinxa_telemetry_samples_received_total{transport="grpc"}') == 6
    assert edge.metric("tinxa_telemetry_samples_stored_total") == 4
    assert edge.metric("tinxa_telemetry_samples_skipped_total") == 2
    assert edge.metric("tinxa_devicelink_streams_open") == 1
    assert edge.metric("tinxa_telemetry_flush_seconds_count") >= 1
    status, body = edge.http("/healthz")
    assert (status, json.loads(body)["checks"]) == (200, {"broker": "ok", "mongo": "ok", "writer": "ok"})


def test_mqtt_samples_are_stored_and_malformed_ones_rejected(edge, db, rabbit_config):
    register(db, device_id="loa-m1", transport="mqtt")
    publisher = Publisher(rabbit_config["AMQP_URI"])

    def publish(device_id, body):
        def routed():  # unroutable until the edge declared its queue
            return publisher.publish(body, exchange="amq.topic", mandatory=True,
                                     routing_key=f"tinxa.xuan-hung.{device_id}.telemetry")
        wait_until(routed, message="the MQTT ingest queue")

    now = datetime.now(timezone.utc)
    try:
        publish("loa-m1", {"samples": [{"seq": 1, "sampled_at": (now - timedelta(seconds=2)).isoformat(), "volume": 30},
                                       {"seq": 2, "sampled_at": now.isoformat(), "volume": 35, "slot_active": True}]})
        publish("loa-m1", "{not json")
        publish("loa-m1", {"seq": 3, "sampled_at": now.isoformat(), "volume": 300})
        publish("loa-unknown", {"seq": 1, "sampled_at": now.isoformat()})
        state = wait_until(lambda: state_of(db, "loa-m1").get("stored_through_seq") == 2 and state_of(db, "loa-m1"),
                           message="the MQTT samples")
        wait_until(lambda: edge.metric('tinxa_telemetry_mqtt_rejected_total{reason="unregistered"}') == 1,
                   message="the unregistered device's message to be rejected")
    finally:
        publisher.close()
    assert state["sample"]["volume"] == 35 and state["sample"]["slot_active"] is True
    assert datetime.fromisoformat(state["offline_after"]) - datetime.fromisoformat(state["last_seen"]) == timedelta(
        seconds=90)
    assert stored_seqs(db, "loa-m1") == [1, 2]
    assert edge.metric('tinxa_telemetry_mqtt_rejected_total{reason="malformed"}') == 2
    assert "volume: âm lượng phải từ 0 đến 100 (nhận 300)" in edge.log()


def test_sigterm_stores_and_acknowledges_then_ends_the_streams(edge, device, db):
    register(db)
    device.open("loa", issue_credential(db))
    device.welcome("loa")
    device.send("loa", batch(1, 2))
    device.acked("loa", 2)
    device.send("loa", batch(3, 4))
    wait_until(lambda: edge.metric('tinxa_telemetry_samples_received_total{transport="grpc"}') == 4,
               message="the samples to arrive")
    started = time.monotonic()
    edge.process.send_signal(signal.SIGTERM)
    assert edge.process.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert stored_seqs(db) == [1, 2, 3, 4]
    device.acked("loa", 4)
    assert device.wait_end("loa")["code"] == "UNAVAILABLE"
    assert '"msg": "stopped"' in edge.log()
