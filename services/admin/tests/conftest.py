"""Fixtures of the admin tool's tests: the whole system as `make up` starts it
(one start-up for the package; ``test_restore_drill.py`` stops it, so it runs
last), data made through the services' RPC, ``tinxa`` run as a subprocess the
way an operator runs it, and empty stores to restore or import into."""
import base64
import io
import math
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from shared.context import CONTEXT_KEY, SYSTEM
from shared.testing import REPO, LocalStack, free_port, nx_binary, wait_until

SYSTEM_CONTEXT = {CONTEXT_KEY: SYSTEM.to_json()}
COMMUNE = "xuan-hung"  # the demo commune make up seeds


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = LocalStack(tmp_path_factory.mktemp("admin-stack"))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def stack_mongo_uri(stack):
    return f"mongodb://127.0.0.1:{stack.env['TINXA_MONGO_PORT']}/"


@pytest.fixture(scope="session")
def rpc(stack):
    with ClusterRpcProxy({"AMQP_URI": stack.amqp_uri}, context_data=SYSTEM_CONTEXT, timeout=60) as proxy:
        yield proxy


def tone_wav(seconds=1.0, rate=8000):
    """A short sine tone as WAV bytes: a recorded bulletin for upload_audio."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
                                 for n in range(int(seconds * rate))))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def content_with_audio(rpc):
    """A news item of the demo commune with an uploaded recording (GridFS bytes)."""
    section = rpc.content.list_sections(commune_id=COMMUNE)[0]
    item = rpc.content.create_item({"commune_id": COMMUNE, "kind": "news", "section_id": section["_id"],
                                    "title": "Lịch tiêm phòng tháng 6", "body": "Trạm y tế xã thông báo…"})
    return rpc.content.upload_audio({"commune_id": COMMUNE, "item_id": item["_id"], "name": "thong-bao.wav",
                                     "content_b64": base64.b64encode(tone_wav()).decode("ascii")})


def run_tinxa(*args, env=None, timeout=300):
    """``tinxa …`` as an operator runs it: ``python -m services.admin``."""
    return subprocess.run([sys.executable, "-m", "services.admin", *map(str, args)], cwd=REPO,
                          env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def tinxa(stack, stack_mongo_uri):
    env = {"AMQP_URI": stack.amqp_uri, "MONGO_URI": stack_mongo_uri, "PYTHONWARNINGS": "ignore"}
    return lambda *args, **kwargs: run_tinxa(*args, env={**env, **kwargs.pop("env", {})}, **kwargs)


class EmptyStore:
    """A second nx-27017, started empty the way shared.testing starts one."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.pid_file = self.folder / "nx.pid"
        self.port = free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"

    def start(self, data_dir=None):
        subprocess.run([nx_binary(), "-d", "--data-dir", str(data_dir or self.folder / "data"), "-p", str(self.port),
                        "--log-file", str(self.folder / "nx.log"), "--pid-file", str(self.pid_file)], check=True)
        client = MongoClient(self.uri, serverSelectionTimeoutMS=500)

        def answers():
            try:
                return client.admin.command("ping")
            except PyMongoError:  # still starting
                return False

        wait_until(answers, timeout=30, message="nx-27017 to answer")
        client.close()
        return self

    def stop(self):
        subprocess.run([nx_binary(), "--stop", "--pid-file", str(self.pid_file)], check=False)


@pytest.fixture
def empty_store(tmp_path_factory):
    """A factory of empty stores, all stopped at the end of the test."""
    started = []

    def make():
        store = EmptyStore(tmp_path_factory.mktemp("empty-nx")).start()
        started.append(store)
        return store

    yield make
    for store in started:
        store.stop()
