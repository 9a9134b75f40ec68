"""Test fixtures shared by every service's tests (a pytest plugin, loaded by
the root conftest).

- ``mongo_uri``: a real MongoDB wire-protocol server for the session: the one
  in ``TINXA_TEST_MONGO_URI`` if set, else an nx-27017 started on a free port
  with its data in a temporary folder, and stopped at the end.
- ``mongo_database``: a fresh database per test, dropped afterwards.
- ``service_config``: a nameko config for a container under test, on the
  per-test RabbitMQ vhost of nameko's ``rabbit_config`` fixture.
"""
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
