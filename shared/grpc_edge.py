"""What every gRPC edge process shares (DESIGN.md "Processes").

grpcio does not work under eventlet, so an edge is a plain asyncio process
(never monkey-patched) that reaches the bus with kombu:

- ``serve``: a ``grpc.aio`` server with health checking and reflection, that
  stops gracefully on SIGTERM/SIGINT;
- ``EdgeInterceptor``: maps errors to status codes with ``STATUS_CODES`` (the
  one table), counts and times every call by code, and carries the caller's
  correlation id (metadata ``x-correlation-id``) into the logs and events;
- ``EdgeBus``: ``shared.bus.Publisher`` (blocking kombu with confirms) run off
  the event loop; an event the broker does not confirm, or that reaches no
  queue, raises ``BusUnavailable``, so the client is told to retry instead of
  the event being lost;
- ``start_metrics_server``: ``/metrics`` and ``/healthz`` in a thread;
- ``configure_logging``: JSON logs, from the config's ``LOGGING`` like nameko's.
"""
import argparse
import asyncio
import functools
import logging
import logging.config
import queue
import signal
import threading
import time
import uuid
from concurrent.futures import Executor, Future, wait
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import grpc
from amqp.exceptions import AMQPError, MessageNacked
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from kombu import Connection
from kombu.exceptions import KombuError
from prometheus_client import Counter, Histogram

from shared.bus import Publisher, context_headers, event_exchange
from shared.errors import BY_NAME, Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from shared.observability import CorrelationFilter, JsonFormatter, correlation_id, health_app

log = logging.getLogger(__name__)

CORRELATION_HEADER = "x-correlation-id"

HANDLED = Counter(
    "tinxa_grpc_server_handled_total", "gRPC calls completed, by status code",
    ["grpc_service", "grpc_method", "grpc_code"],
)
HANDLING_SECONDS = Histogram(
    "tinxa_grpc_server_handling_seconds", "gRPC call latency until the status is sent",
    ["grpc_service", "grpc_method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class BusUnavailable(Exception):
    """The broker did not take an event; the client should retry later."""


class Unroutable(Exception):
    """The broker confirmed an event no queue takes (its consumer never
    declared its queue): published, but lost, so not taken as done."""


# The one table from errors to gRPC status codes. Conflict is ABORTED rather
# than ALREADY_EXISTS: the services raise it for lost concurrent updates as
# well as duplicates, and ABORTED tells the client to re-read and retry.
STATUS_CODES = {
    InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    Forbidden: grpc.StatusCode.PERMISSION_DENIED,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    Conflict: grpc.StatusCode.ABORTED,
    BusUnavailable: grpc.StatusCode.UNAVAILABLE,
}

INTERNAL_MESSAGE = "Lỗi máy chủ; sự cố đã được ghi lại."


def status_for(error):
    """The status code and message a client gets for ``error``.

    Also maps a nameko ``RemoteError`` (a service's caller error, named in its
    ``exc_type``) so an edge calling services over RPC uses the same table.
    """
    error_class = BY_NAME.get(getattr(error, "exc_type", None)) or type(error)
    for cls in error_class.__mro__:
        if cls in STATUS_CODES:
            message = getattr(error, "message", None) or str(error)
            return STATUS_CODES[cls], message
    return grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE


def _split_method(full_method):
    """"/pkg.Service/Method" -> ("pkg.Service", "Method")."""
    service, _, method = full_method.lstrip("/").partition("/")
    return service, method


class EdgeInterceptor(grpc.aio.ServerInterceptor):
    """Error mapping, metrics and correlation ids for unary-unary calls.

    Streaming handlers pass through unwrapped: a long-lived stream keeps its
    own metrics and ends itself with a status (DeviceLink's ``Connect``).
    """

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        service, method = _split_method(handler_call_details.method)
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(handler.unary_unary, service, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    @staticmethod
    def _wrap(behaviour, service, method):
        async def call(request, context):
            metadata = dict(context.invocation_metadata() or ())
            correlation_id.set(metadata.get(CORRELATION_HEADER) or uuid.uuid4().hex)
            started = time.perf_counter()
            code = grpc.StatusCode.UNKNOWN
            try:
                response = await behaviour(request, context)
                code = context.code() or grpc.StatusCode.OK
                return response
            except grpc.aio.AbortError:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as err:
                code, message = status_for(err)
                if code is grpc.StatusCode.INTERNAL:
                    log.exception("%s/%s failed", service, method)
                else:
                    log.info("%s/%s: %s %s", service, method, code.name, message)
                await context.abort(code, message)
            finally:
                HANDLED.labels(service, method, code.name).inc()
                HANDLING_SECONDS.labels(service, method).observe(time.perf_counter() - started)

        return call


class _PublishingThread(Executor):
    """One daemon thread running jobs in order.

    Not ThreadPoolExecutor, whose threads hold the process at exit: a publish
    still retrying a dead broker (kombu tries for about 12 s) must not delay
    a SIGTERM; its caller was already answered UNAVAILABLE.
    """

    def __init__(self):
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._run, name="bus-publisher", daemon=True).start()

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        self._jobs.put((future, functools.partial(fn, *args, **kwargs)))
        return future

    def _run(self):
        while True:
            future, job = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue  # its caller timed out while it waited
            try:
                future.set_result(job())
            except BaseException as err:  # handed to the caller, as an executor does
                future.set_exception(err)


class EdgeBus:
    """Publishes events in nameko's layout from an asyncio process.

    One publishing thread: ``Publisher`` serialises on its connection anyway,
    and calls that time out while still queued are cancelled, not published
    late. Events are published ``mandatory``: one that no queue receives (the
    consuming service never declared its queue) comes back as an error rather
    than being dropped by the broker after it confirmed.
    """

    def __init__(self, amqp_uri, timeout=5.0):
        self._amqp_uri = amqp_uri
        self._timeout = timeout
        self._publisher = Publisher(amqp_uri)
        self._thread = _PublishingThread()

    async def publish_event(self, source, name, payload, context_data=None):
        """Return once the broker confirmed the event; BusUnavailable otherwise."""

        def publish():
            if not self._publisher.publish(
                payload, exchange=event_exchange(source), routing_key=name,
                headers=context_headers(context_data), mandatory=True, confirm_timeout=self._timeout,
            ):
                raise Unroutable(f"no queue takes {source}.{name}")

        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._thread, publish), self._timeout)
        except (asyncio.TimeoutError, KombuError, AMQPError, MessageNacked, OSError, Unroutable) as err:
            log.warning("could not publish %s.%s %s: %r", source, name, payload.get("event_id"), err)
            raise BusUnavailable("Hệ thống tạm thời không nhận được dữ liệu; vui lòng gửi lại sau.") from err

    def check(self):
        """For /healthz: raises unless the broker accepts a connection."""
        with Connection(self._amqp_uri, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=0)  # one attempt, no back-off sleep

    def close(self, timeout=1.0):
        """Close the connection after the publish in flight, waiting at most ``timeout``."""
        wait([self._thread.submit(self._publisher.close)], timeout=timeout)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        """Scrapes and probes every few seconds would drown the JSON logs."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def start_metrics_server(port, checks, host="0.0.0.0"):
    """Serve /metrics and /healthz (``checks`` as in ``health_app``) from a
    daemon thread; returns the server (``.shutdown()`` to stop it)."""
    server = make_server(host, port, health_app(checks), server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


def configure_logging(config):
    """JSON logs: the config's ``LOGGING`` (nameko's dictConfig form) if it
    has one, else one JSON line per record on stderr at ``LOG_LEVEL``."""
    if config.get("LOGGING"):
        logging.config.dictConfig(config["LOGGING"])
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationFilter())
    logging.basicConfig(level=config.get("LOG_LEVEL", "INFO"), handlers=[handler], force=True)


async def serve(register, service_names, port, host="0.0.0.0", grace=10.0, before_stop=None):
    """Run a gRPC server until SIGTERM or SIGINT, then stop gracefully.

    ``register(server)`` adds the edge's servicers; ``service_names`` are their
    full names, served by reflection and reported SERVING by the health
    service along with the server as a whole (""). On a signal every status
    turns NOT_SERVING (probes take the process out of rotation), then
    ``before_stop()`` is awaited (an edge with long-lived streams ends them
    itself, after storing what they sent), and calls in flight get ``grace``
    seconds to finish.
    """
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)

    server = grpc.aio.server(interceptors=[EdgeInterceptor()])
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    log.info("gRPC server listening on %s:%s serving %s", host, bound, ", ".join(service_names))
    await stopping.wait()

    log.info("stopping: letting calls in flight finish (up to %ss)", grace)
    await health_servicer.enter_graceful_shutdown()
    if before_stop is not None:
        await before_stop()
    await server.stop(grace)
    log.info("stopped")


def main(prog, doc, default_config, run, argv=None):
    """The command line of an asyncio gRPC process: ``--config`` (a YAML
    file, ``default_config`` unless given), logging from it, then ``run(config)``."""
    from shared.config import load_config

    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--config", default=str(default_config), help="YAML config (default: %(default)s)")
    args = parser.parse_args(argv)
    config = load_config(args.config)
    configure_logging(config)
    asyncio.run(run(config))
