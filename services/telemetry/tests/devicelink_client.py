"""A scriptable DeviceLink device for tests, in a process of its own.

grpcio's blocking client deadlocks on streaming calls under the eventlet the
test process runs, so streams are driven from a child process
(``python -m services.telemetry.tests.devicelink_client TARGET``) speaking
JSON lines: commands on stdin, what happened on stdout.

Commands: ``{"op": "open", "stream", "credential", "hello"}`` (a Connect call;
``hello`` is sent first if given), ``{"op": "send", "stream", "message"}`` (a
DeviceMessage as a dict, proto field names), ``{"op": "close", "stream"}``
(the device hangs up). Output:
``{"stream", "event": "message", "kind", "message"}`` per ServerMessage and
``{"stream", "event": "end", "code", "details"}`` when the call ends.

``DeviceLinkClient`` runs it from a test; ``register``, ``issue_code`` and
``issue_credential`` seed the registry as the telemetry service would.
"""
import asyncio
import json
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
from google.protobuf import json_format

from services.telemetry import credentials
from shared.testing import wait_until
from shared.timeutil import iso, utcnow
from tinxa.devicelink.v1 import devicelink_pb2 as pb
from tinxa.devicelink.v1 import devicelink_pb2_grpc

ROOT = Path(__file__).resolve().parents[3]


def register(db, device_id="loa-01", commune_id="xuan-hung", **fields):
    """A device in the registry (API.md ``devices``)."""
    doc = {"_id": f"{commune_id}/{device_id}", "commune_id": commune_id, "device_id": device_id, "kind": "loudspeaker",
           "transport": "grpc", "presence_timeout_s": 90, "credential": {"status": "none"}, **fields}
    db.devices.insert_one(doc)
    return doc


def issue_code(db, device_id="loa-01", commune_id="xuan-hung", status="pending", expires_in=timedelta(hours=1)):
    """A provisioning code as ``issue_provisioning_code`` stores it; returns the code."""
    code = credentials.new_provisioning_code()
    db.provisioning_codes.insert_one({
        "_id": credentials.code_digest(code), "commune_id": commune_id, "device_id": device_id, "status": status,
        "expires_at": iso(utcnow() + expires_in), "issued_by": "u1", "used_at": None})
    return code


def issue_credential(db, device_id="loa-01", commune_id="xuan-hung", status="active", transport="grpc"):
    """A stored credential; returns ``<id>.<secret>``."""
    credential_id, credential, digest = credentials.new_credential()
    db.credentials.insert_one({"_id": credential_id, "commune_id": commune_id, "device_id": device_id,
                               "transport": transport, "secret_sha256": digest, "status": status,
                               "created_at": iso(), "revoked_at": None, "reason": None})
    return credential


def sample(seq, at=None, **fields):
    """A Sample as a dict for ``send``: ``sampled_at`` defaults to now."""
    moment = at or datetime.now(timezone.utc)
    return {"seq": seq, "sampled_at": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "volume": 40, **fields}


def batch(*seqs, start=None, step=timedelta(seconds=1), **fields):
    """A TelemetryBatch message of samples ``seqs``, one ``step`` apart."""
    first = start or datetime.now(timezone.utc) - step * len(seqs)
    return {"telemetry": {"samples": [sample(seq, first + step * i, **fields) for i, seq in enumerate(seqs)]}}


class DeviceLinkClient:
    """The child process seen from a test: ``open``/``send``/``close`` and
    retrying waits on what the streams received."""

    def __init__(self, target):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.telemetry.tests.devicelink_client", target], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.events = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for line in self.process.stdout:
            self.events.append(json.loads(line))

    def _command(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def open(self, stream, credential, hello=None):
        hello = {"firmware": "2.1.0", "capabilities": ["audio"]} if hello is None else hello
        self._command(op="open", stream=stream, credential=credential, hello=hello or None)

    def send(self, stream, message):
        self._command(op="send", stream=stream, message=message)

    def close(self, stream):
        self._command(op="close", stream=stream)

    def received(self, stream, kind):
        return [e["message"] for e in list(self.events)
                if e["stream"] == stream and e["event"] == "message" and e["kind"] == kind]

    def wait_for(self, stream, kind, check=lambda message: True, timeout=10):
        """The first ``kind`` message on ``stream`` passing ``check``."""
        def found():
            matches = [m for m in self.received(stream, kind) if check(m)]
            assert matches, f"{stream}: no matching {kind} yet; ended: {self.end(stream)}"
            return matches[0]
        return wait_until(found, timeout=timeout, message=f"{kind} on stream {stream}")

    def welcome(self, stream, timeout=10):
        return self.wait_for(stream, "welcome", timeout=timeout)

    def acked(self, stream, seq, timeout=10):
        return self.wait_for(stream, "telemetry_ack", lambda m: int(m.get("stored_through_seq", 0)) >= seq,
                             timeout=timeout)

    def end(self, stream):
        ends = [e for e in list(self.events) if e["stream"] == stream and e["event"] == "end"]
        return ends[0] if ends else None

    def wait_end(self, stream, timeout=10):
        def ended():
            if self.process.poll() is not None:
                raise AssertionError(f"the device process exited: {self.process.stderr.read()}")
            return self.end(stream)
        return wait_until(ended, timeout=timeout, message=f"stream {stream} to end")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


async def _main(target):
    def emit(**event):
        print(json.dumps(event, ensure_ascii=False), flush=True)

    async def receive(name, call):
        try:
            async for message in call:
                kind = message.WhichOneof("body")
                emit(stream=name, event="message", kind=kind,
                     message=json_format.MessageToDict(getattr(message, kind), preserving_proto_field_name=True))
            code = await call.code()
            emit(stream=name, event="end", code=code.name, details=await call.details())
        except grpc.aio.AioRpcError as err:
            emit(stream=name, event="end", code=err.code().name, details=err.details())

    async def quietly(operation):
        try:
            await operation
        except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
            pass  # the call already ended; its end event says why

    loop = asyncio.get_running_loop()
    lines = asyncio.Queue()
    threading.Thread(target=lambda: [loop.call_soon_threadsafe(lines.put_nowait, line) for line in sys.stdin],
                     daemon=True).start()
    calls, receivers = {}, []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = devicelink_pb2_grpc.DeviceLinkServiceStub(channel)
        while True:
            command = json.loads(await lines.get())
            name = command.get("stream")
            if command["op"] == "open":
                metadata = [("authorization", f"Bearer {command['credential']}")] if command["credential"] else []
                call = calls[name] = stub.Connect(metadata=metadata)
                receivers.append(asyncio.ensure_future(receive(name, call)))
                if command.get("hello"):
                    await quietly(call.write(pb.DeviceMessage(hello=pb.Hello(**command["hello"]))))
            elif command["op"] == "send":
                await quietly(calls[name].write(json_format.ParseDict(command["message"], pb.DeviceMessage())))
            elif command["op"] == "close":
                await quietly(calls[name].done_writing())


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
