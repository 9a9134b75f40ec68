"""Test fixtures shared by every service's tests (a pytest plugin, loaded by
the root conftest).

- ``mongo_uri``: a real MongoDB wire-protocol server for the session: the one
  in ``TINXA_TEST_MONGO_URI`` if set, else an nx-27017 started on a free port
  with its data in a temporary folder, and stopped at the end.
- ``mongo_database``: a fresh database per test, dropped afterwards.
- ``service_config``: a nameko config for a container under test, on the
  per-test RabbitMQ vhost of nameko's ``rabbit_config`` fixture.
"""
import base64
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from kombu import Connection
from pymongo import MongoClient


# Listening ports for test servers come from below the kernel's ephemeral
# range: a port from that range (what binding to port 0 gives) may be taken
# by any outgoing connection (to the broker, to the store) between the moment
# it is picked and the moment a slow-starting process binds it.
_LOWEST_PORT = 10000


def _ephemeral_start():
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(block=1):
    """A port (the first of ``block`` consecutive ones) free now, outside the
    ephemeral range."""
    highest = _ephemeral_start() - block
    if highest <= _LOWEST_PORT:
        highest = 65535 - block
    while True:
        base = random.randint(_LOWEST_PORT, highest)
        if all(_port_free(port) for port in range(base, base + block)):
            return base


def wait_until(check, timeout=15.0, interval=0.1, message="condition"):
    """Retrying assertion: call ``check`` until it returns truthy without raising."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except AssertionError as err:  # retried until the deadline
            last_error = err
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}: {last_error}")


def quoted(value):
    """A user, password or vhost as it goes into a URL."""
    return urllib.parse.quote(value, safe="")


def management_api(path):
    """GET the local broker's management API as guest; None for a 404."""
    request = urllib.request.Request(f"http://127.0.0.1:15672/api{path}", headers={
        "Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def broker_connection(vhost, user, password):
    """An open AMQP connection to the local broker as ``user`` (a device's or
    a plug-in's own account): the broker checks what it may do."""
    connection = Connection(f"amqp://{quoted(user)}:{quoted(password)}@127.0.0.1:5672/{quoted(vhost)}",
                            connect_timeout=5)
    connection.connect()
    return connection


def closed_by_broker(connection):
    """Whether the broker has closed ``connection`` (the client learns it on
    its next read)."""
    try:
        connection.drain_events(timeout=0.2)
    except TimeoutError:
        return False
    except Exception:  # ConnectionForced, or the socket is gone
        return True
    return False


def nx_binary():
    return str(Path(sys.executable).with_name("nx-27017"))


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    uri = os.environ.get("TINXA_TEST_MONGO_URI")
    if uri:
        yield uri
        return
    folder = tmp_path_factory.mktemp("nx")
    port = free_port()
    pid_file = folder / "nx.pid"
    subprocess.run(
        [nx_binary(), "-d", "--data-dir", str(folder / "data"), "-p", str(port),
         "--log-file", str(folder / "nx.log"), "--pid-file", str(pid_file)],
        check=True,
    )
    uri = f"mongodb://127.0.0.1:{port}/"
    client = MongoClient(uri, serverSelectionTimeoutMS=500)
    wait_until(lambda: client.admin.command("ping"), message="nx-27017 to answer")
    client.close()
    yield uri
    subprocess.run([nx_binary(), "--stop", "--pid-file", str(pid_file)], check=False)


@pytest.fixture
def mongo_database(mongo_uri):
    client = MongoClient(mongo_uri)
    name = f"t{uuid.uuid4().hex[:12]}"
    yield client[name]
    client.drop_database(name)
    client.close()


@pytest.fixture
def service_config(rabbit_config, mongo_uri, mongo_database):
    """Config for one container: the test's vhost and database, no metrics port."""
    return dict(
        rabbit_config,
        MONGO_URI=mongo_uri,
        MONGO_DATABASE=mongo_database.name,
        METRICS_PORT=0,
        OUTBOX_RELAY_SECONDS=0.2,
        OUTBOX_RELAY_GRACE_SECONDS=1.0,
        HANDLER_BACKOFF_SECONDS=0.05,
        HANDLER_MAX_ATTEMPTS=3,
    )


REPO = Path(__file__).resolve().parents[1]


class ServiceProcess:
    """A process started as `make up` starts it, for tests that kill or
    restart real processes: by default the nameko service ``service``
    (``nameko run`` with its config file); ``command`` for another process
    (an asyncio gRPC edge, the sync hub or agent)."""

    def __init__(self, service, env, log_path, command=None):
        self.service = service
        self.command = command or [str(Path(sys.executable).with_name("nameko")), "run",
                                   "--config", f"deploy/config/{service}.yaml", f"services.{service}.service"]
        self.metrics_port = free_port()
        self.env = dict(os.environ, **{k: str(v) for k, v in env.items()}, METRICS_PORT=str(self.metrics_port))
        self.log_path = log_path
        self.process = None

    def start(self, wait=True, **extra_env):
        env = dict(self.env, **extra_env)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            wait_until(self.healthy, timeout=30, message=f"{self.service} to be healthy (log: {self.log_path})")
        return self

    def healthy(self):
        import requests

        assert self.process.poll() is None, f"{self.service} exited; see {self.log_path}"
        try:
            return requests.get(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def kill9(self):
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


class LocalStack:
    """The whole system started by ``deploy/local/up.sh`` (what ``make up``
    runs) in its own data folder, ports and RabbitMQ vhost, and stopped by
    ``deploy/local/down.sh``. For end-to-end tests and benchmarks."""

    def __init__(self, home):
        self.home = Path(home)
        self.vhost = f"tinxa-{uuid.uuid4().hex[:8]}"
        mongo_port, gateway_port, grpc_port, sync_port, metrics_base = _distinct_ports()
        self.env = dict(
            os.environ,
            TINXA_HOME=str(self.home),
            TINXA_VHOST=self.vhost,
            TINXA_MONGO_PORT=str(mongo_port),
            GATEWAY_PORT=str(gateway_port),
            GRPC_PORT=str(grpc_port),
            SYNC_GRPC_PORT=str(sync_port),
            TINXA_METRICS_BASE=str(metrics_base),
        )
        for key in ("AMQP_URI", "MONGO_URI", "GATEWAY_BIND", "HUB_TARGET", "SYNC_TOKEN"):
            self.env.pop(key, None)
        self.base_url = f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{self.vhost}"
        self.grpc_target = f"127.0.0.1:{self.env['GRPC_PORT']}"
        self.sync_target = f"127.0.0.1:{self.env['SYNC_GRPC_PORT']}"
        self.output = ""
        self.password = None

    def up(self):
        result = subprocess.run(["bash", "deploy/local/up.sh"], cwd=REPO, env=self.env,
                                capture_output=True, text=True, timeout=300)
        self.output = result.stdout + result.stderr
        if result.returncode != 0:
            logs = "".join(f"\n--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted((self.home / "log").glob("*.log")))
            raise AssertionError(f"make up failed ({result.returncode}):\n{self.output}{logs}")
        import re

        match = re.search(r"password: (\S+)", self.output)
        self.password = match.group(1) if match else self.password
        return self.output

    def stop(self):
        """What `make down` does: stop the processes, keep the data."""
        subprocess.run(["bash", "deploy/local/down.sh"], cwd=REPO, env=self.env, capture_output=True, timeout=120)

    def down(self):
        self.stop()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.vhost], capture_output=True, timeout=60)


METRICS_BLOCK = 15  # metrics ports base+1 … base+14 (deploy/local/env.sh's offsets)


def _distinct_ports():
    """Ports for the store, the gateway, the DeviceLink edge, the sync hub,
    and a block of metrics ports, all free now and none overlapping."""
    base = free_port(METRICS_BLOCK)
    block = range(base, base + METRICS_BLOCK)
    singles = set()
    while len(singles) < 4:
        port = free_port()
        if port not in block:
            singles.add(port)
    return (*sorted(singles), base)


def _port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@contextlib.contextmanager
def event_tap(amqp_uri, source, routing_key="#"):
    """Listen to ``<source>.events`` with a plain kombu consumer; yields a
    function returning every message so far as ``Tapped(name, body, headers)``
    (call it inside ``wait_until``: each call drains what has arrived)."""
    from kombu import Connection, Exchange, Queue

    received = []

    def on_message(body, message):
        received.append(Tapped(message.delivery_info["routing_key"], body, message.headers))
        message.ack()

    with Connection(amqp_uri) as conn:
        queue = Queue(f"tap-{source}-{uuid.uuid4().hex[:8]}", Exchange(f"{source}.events", type="topic", durable=True),
                      routing_key=routing_key, exclusive=True)
        with conn.Consumer(queue, callbacks=[on_message]):
            def drain():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
                return list(received)
            yield drain


@dataclass(frozen=True)
class Tapped:
    name: str
    body: dict
    headers: dict
