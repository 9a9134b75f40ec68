"""What the sync agent needs of the province, and the ProvinceSync client
that provides it (API.md "Adapters").

``ProvinceLink`` speaks in record dicts (``records.py``); a province behind
another protocol gets another implementation, and the outbox, the inbox and
the agent stay as they are. Errors reach the agent as ``LinkError`` with a
Vietnamese message for the operator (it ends up in ``link.last_error``).
"""
import abc
import asyncio
from dataclasses import dataclass

import grpc

from services.sync.records import (
    DOWN_STREAMS, from_proto, iso_of, positions_from_proto, positions_to_proto, to_proto,
)
from tinxa.sync.v1 import province_sync_pb2 as pb
from tinxa.sync.v1 import province_sync_pb2_grpc

# the hub's grpcio refuses messages over 4 MiB: Push messages stay well under
MAX_PUSH_BYTES = 2 * 1024 * 1024
MAX_RECEIVE_BYTES = 64 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    # the agent backs off itself; grpcio's own back-off (up to 2 min) would keep it away longer
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.min_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 10000),
]
EXPECTED_STREAM = "x-expected-stream"
EXPECTED_SEQ = "x-expected-seq"


@dataclass(frozen=True)
class Hello:
    """Where the hub stands: ``applied`` = ``{up stream: highest seq applied}``."""

    applied: dict
    server_time: str = None


class LinkError(Exception):
    """The province was not reached or refused the call."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        self.code = code


class OutOfOrder(LinkError):
    """The hub refused a record: it expects ``expected`` next on ``stream``."""

    def __init__(self, message, stream, expected):
        super().__init__(message, "FAILED_PRECONDITION")
        self.stream = stream
        self.expected = expected


class ProvinceLink(abc.ABC):
    """One session with the province; ``open`` before use, ``close`` after."""

    async def open(self):
        """Prepare the connection (nothing to do for a stateless protocol)."""

    async def close(self):
        """Release the connection; calls in flight end with LinkError."""

    @abc.abstractmethod
    async def hello(self):
        """Introduce the commune; returns a ``Hello``."""

    @abc.abstractmethod
    async def push(self, records):
        """Send up records (in seq order per stream); returns ``{stream:
        highest seq applied}`` for the streams they belong to."""

    @abc.abstractmethod
    def pull(self, after, batch_size):
        """An async iterator of batches (lists of down records) after the
        positions ``after`` (``{stream: seq}``), that waits for new ones."""

    @abc.abstractmethod
    async def ack(self, positions):
        """Tell the province the commune holds down records up to ``positions``."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM bytes: the CA that signed the hub's certificate, and the agent's
    own certificate and key when the hub asks for mutual TLS."""

    ca: bytes = None
    cert: bytes = None
    key: bytes = None


class GrpcProvinceLink(ProvinceLink):
    """The ProvinceSync client (grpc.aio), authenticated by the commune's token."""

    def __init__(self, target, commune_id, token, agent_version="", tls=None, timeout=30.0):
        self.target = target
        self._commune_id = commune_id
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._agent_version = agent_version
        self._tls = tls
        self._timeout = timeout
        self._channel = None
        self._stub = None
        self._push_call = None
        self._push_lock = None

    async def open(self):
        if self._tls is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=self._tls.ca, private_key=self._tls.key,
                                                       certificate_chain=self._tls.cert)
            self._channel = grpc.aio.secure_channel(self.target, credentials, options=CHANNEL_OPTIONS)
        else:
            self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        self._stub = province_sync_pb2_grpc.ProvinceSyncServiceStub(self._channel)
        self._push_lock = asyncio.Lock()

    async def close(self):
        if self._push_call is not None:
            self._push_call.cancel()
            self._push_call = None
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    async def hello(self):
        try:
            response = await self._stub.Hello(
                pb.HelloRequest(commune_id=self._commune_id, agent_version=self._agent_version),
                metadata=self._metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise self._error(err) from err
        server_time = iso_of(response.server_time) if response.HasField("server_time") else None
        return Hello(positions_from_proto(response.applied), server_time)

    async def push(self, records):
        """One Push message per ~2 MiB of records (one for a usual batch),
        each answered before the next is sent."""
        applied = {}
        async with self._push_lock:
            if self._push_call is None:
                self._push_call = self._stub.Push(metadata=self._metadata)
            for message in _split(self._commune_id, [to_proto(record) for record in records]):
                try:
                    await asyncio.wait_for(self._push_call.write(message), self._timeout)
                    response = await asyncio.wait_for(self._push_call.read(), self._timeout)
                except grpc.aio.AioRpcError as err:
                    raise self._error(err) from err
                except asyncio.TimeoutError as err:
                    raise LinkError(f"Trạm tỉnh ({self.target}) không trả lời trong {self._timeout:g} giây.",
                                    "DEADLINE_EXCEEDED") from err
                if response is grpc.aio.EOF:
                    code = await self._push_call.code()
                    raise LinkError(f"Trạm tỉnh đóng luồng gửi lên ({code.name}): "
                                    f"{await self._push_call.details()}", code.name)
                for stream, seq in positions_from_proto(response.applied).items():
                    applied[stream] = max(seq, applied.get(stream, 0))
        return applied

    async def pull(self, after, batch_size):
        call = self._stub.Pull(pb.PullRequest(commune_id=self._commune_id, after=positions_to_proto(after),
                                              batch_size=batch_size), metadata=self._metadata)
        try:
            async for response in call:
                yield [from_proto(record, DOWN_STREAMS) for record in response.records]
        except grpc.aio.AioRpcError as err:
            raise self._error(err) from err
        finally:
            call.cancel()
        raise LinkError("Trạm tỉnh kết thúc luồng nhận tin (Pull) không rõ lý do.")

    async def ack(self, positions):
        try:
            await self._stub.Ack(pb.AckRequest(commune_id=self._commune_id, applied=positions_to_proto(positions)),
                                 metadata=self._metadata, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise self._error(err) from err

    def _error(self, err):
        code, details = err.code(), err.details() or ""
        if code == grpc.StatusCode.FAILED_PRECONDITION:
            trailers = dict(err.trailing_metadata() or ())
            stream = trailers.get(EXPECTED_STREAM)
            expected = int(trailers.get(EXPECTED_SEQ) or 0)
            return OutOfOrder(f"Trạm tỉnh chờ bản ghi số {expected} của luồng «{stream}» ({details}).",
                              stream, expected)
        messages = {
            grpc.StatusCode.UNAUTHENTICATED: "Trạm tỉnh không nhận khóa đồng bộ của xã "
                                             "(SYNC_TOKEN sai, thiếu hoặc đã được cấp lại).",
            grpc.StatusCode.PERMISSION_DENIED: f"Khóa đồng bộ này không phải của xã «{self._commune_id}» "
                                               "(COMMUNE_ID hoặc SYNC_TOKEN sai).",
            grpc.StatusCode.UNAVAILABLE: f"Không kết nối được trạm tỉnh ({self.target}).",
            grpc.StatusCode.DEADLINE_EXCEEDED: f"Trạm tỉnh ({self.target}) không trả lời kịp.",
        }
        message = messages.get(code, f"Trạm tỉnh báo lỗi {code.name}.")
        return LinkError(f"{message} Chi tiết: {details}" if details else message, code.name)


def _split(commune_id, records):
    """PushRequests of at most MAX_PUSH_BYTES of records each (at least one record)."""
    chunk, size = [], 0
    for record in records:
        record_size = record.ByteSize() + 8
        if chunk and size + record_size > MAX_PUSH_BYTES:
            yield pb.PushRequest(commune_id=commune_id, records=chunk)
            chunk, size = [], 0
        chunk.append(record)
        size += record_size
    if chunk:
        yield pb.PushRequest(commune_id=commune_id, records=chunk)
