"""A scriptable ProvinceSync client for tests, in a process of its own.

grpcio's streaming client deadlocks under the eventlet the test process
runs, so raw calls to the hub are made from a child process:
``python -m services.sync.tests.sync_client TARGET`` reads a JSON list of
calls on stdin and prints a JSON list of outcomes, one per call, each with
the call's final ``code`` and ``details``:

- ``{"call": "hello", "token", "commune_id"}`` → ``applied`` ({stream: seq});
- ``{"call": "push", "token", "commune_id", "messages": [[record, …], …]}``
  → ``responses`` (per message answered: {stream: seq}) and ``trailers``;
  a message may name another ``commune_id`` with ``{"commune_id", "records"}``;
- ``{"call": "pull", "token", "commune_id", "after", "batch_size", "records",
  "seconds"}`` → ``batches`` ([[stream, seq, body], …] per message), once
  ``records`` records came or ``seconds`` passed (then the call is cancelled);
- ``{"call": "ack", "token", "commune_id", "applied"}``.

``calls(target, script)`` runs it from a test. A record is a dict with
``stream``, ``seq``, ``kind`` and ``body``; ``token`` None sends no token.
"""
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import grpc

from services.sync.records import decode_body, encode_body, positions_from_proto, positions_to_proto
from tinxa.sync.v1 import province_sync_pb2 as pb
from tinxa.sync.v1 import province_sync_pb2_grpc

ROOT = Path(__file__).resolve().parents[3]


def calls(target, script, timeout=60):
    """Run ``script`` (a list of calls) in a child process; returns the outcomes."""
    done = subprocess.run([sys.executable, "-m", "services.sync.tests.sync_client", target], cwd=ROOT,
                          input=json.dumps(script), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"sync_client failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout)


def record(stream, seq, kind="content.item_published", **body):
    return {"stream": stream, "seq": seq, "kind": kind, "body": body or {"n": seq}}


def _proto(item):
    return pb.Record(stream=item["stream"], seq=item["seq"], kind=item["kind"], body=encode_body(item["body"]))


async def _run(stub, call):
    metadata = [("authorization", f"Bearer {call['token']}")] if call.get("token") else []
    outcome = {"code": "OK", "details": ""}
    commune_id = call.get("commune_id", "")
    try:
        if call["call"] == "hello":
            answer = await stub.Hello(pb.HelloRequest(commune_id=commune_id, agent_version="test"),
                                      metadata=metadata, timeout=10)
            outcome["applied"] = positions_from_proto(answer.applied)
        elif call["call"] == "ack":
            await stub.Ack(pb.AckRequest(commune_id=commune_id, applied=positions_to_proto(call["applied"])),
                           metadata=metadata, timeout=10)
        elif call["call"] == "push":
            outcome["responses"] = []
            stream = stub.Push(metadata=metadata, timeout=20)
            try:
                for message in call["messages"]:
                    if isinstance(message, dict):
                        request = pb.PushRequest(commune_id=message["commune_id"],
                                                 records=[_proto(r) for r in message["records"]])
                    else:
                        request = pb.PushRequest(commune_id=commune_id, records=[_proto(r) for r in message])
                    await stream.write(request)
                    response = await stream.read()
                    if response is grpc.aio.EOF:
                        break
                    outcome["responses"].append(positions_from_proto(response.applied))
                await stream.done_writing()
                code = await stream.code()
            finally:
                outcome["trailers"] = dict(await stream.trailing_metadata() or ())
            outcome["code"], outcome["details"] = code.name, await stream.details()
        elif call["call"] == "pull":
            outcome["batches"] = []
            stream = stub.Pull(pb.PullRequest(commune_id=commune_id, after=positions_to_proto(call.get("after", {})),
                                              batch_size=call.get("batch_size", 0)), metadata=metadata)
            wanted, count = call.get("records", 0), 0

            async def collect():
                nonlocal count
                async for response in stream:
                    outcome["batches"].append([[r.stream, r.seq, decode_body(r.body)] for r in response.records])
                    count += len(response.records)
                    if wanted and count >= wanted:
                        return
            try:
                await asyncio.wait_for(collect(), call.get("seconds", 10))
            except asyncio.TimeoutError:
                pass
            stream.cancel()
    except grpc.aio.AioRpcError as err:
        outcome.update(code=err.code().name, details=err.details(), trailers=dict(err.trailing_metadata() or ()))
    return outcome


async def _main(target):
    script = json.loads(sys.stdin.read())
    async with grpc.aio.insecure_channel(target) as channel:
        stub = province_sync_pb2_grpc.ProvinceSyncServiceStub(channel)
        print(json.dumps([await _run(stub, call) for call in script], ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
