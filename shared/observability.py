"""Metrics, health checks and structured logs, the same for every process.

- ``Observability`` (a nameko dependency): per-entrypoint call counts and
  latency histograms, and an HTTP server on ``METRICS_PORT`` answering
  ``/metrics`` (Prometheus) and ``/healthz`` (MongoDB reachable, container up).
- ``JsonFormatter`` + ``CorrelationFilter``: one JSON object per log line,
  carrying the correlation id of the call that caused it (the gateway's
  request id, propagated in nameko context data as ``correlation_id``).
"""
import contextvars
import json
import logging
import time

from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

from shared.mongo import MongoClientProvider

CORRELATION_KEY = "correlation_id"
correlation_id = contextvars.ContextVar("correlation_id", default=None)

CALLS = Counter(
    "tinxa_entrypoint_calls_total", "Entrypoint calls by outcome", ["service", "entrypoint", "outcome"]
)
LATENCY = Histogram(
    "tinxa_entrypoint_seconds", "Entrypoint latency", ["service", "entrypoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class CorrelationFilter(logging.Filter):
    def filter(self, record):
        record.correlation_id = correlation_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id.get(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def correlation_of(context_data, fallback):
    return context_data.get(CORRELATION_KEY) or (context_data.get("call_id_stack") or [fallback])[0]


def health_app(checks):
    """A WSGI app for /metrics and /healthz; ``checks`` maps a name to a
    callable raising on failure."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest()]
        if path in ("/healthz", "/health"):
            results, ok = {}, True
            for name, check in checks.items():
                try:
                    check()
                    results[name] = "ok"
                except Exception as err:  # a failing dependency is reported, not raised
                    results[name] = f"fail: {err}"
                    ok = False
            body = json.dumps({"status": "ok" if ok else "fail", "checks": results}).encode()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
            return [body]
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"error": "NOT_FOUND"}']

    return app


class Observability(DependencyProvider):
    """Declare once per service: ``observability = Observability()``."""

    client = MongoClientProvider()

    def setup(self):
        self.port = int(self.container.config.get("METRICS_PORT", 0) or 0)
        self._started = {}
        self._server = None

    def start(self):
        if not self.port:
            return
        import eventlet
        from eventlet import wsgi

        listener = eventlet.listen(("0.0.0.0", self.port))
        app = health_app({"mongo": lambda: self.client.client.admin.command("ping"),
                          "consumers": self._consumers_ready})
        self._server = self.container.spawn_managed_thread(
            lambda: wsgi.server(listener, app, log_output=False), identifier="metrics-server"
        )

    def stop(self):
        if self._server is not None:
            self._server.kill()

    def _consumers_ready(self):
        """Raises until every queue of the service consumes: this server starts
        beside the entrypoints, and an RPC sent before the service's queue
        exists comes back unroutable (nameko 2.14 keeps the readiness in
        ``QueueConsumer._consumers_ready``)."""
        waiting = [ext for ext in self.container.extensions
                   if isinstance(ext, QueueConsumer) and not ext._consumers_ready.ready()]
        if waiting:
            raise RuntimeError("the service's queues are not consuming yet")

    def worker_setup(self, worker_ctx):
        data = worker_ctx.data
        cid = correlation_of(worker_ctx.context_data, worker_ctx.call_id)
        data.setdefault(CORRELATION_KEY, cid)
        correlation_id.set(cid)
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        labels = (self.container.service_name, worker_ctx.entrypoint.method_name)
        outcome = "ok" if exc_info is None else ("caller_error" if _is_caller_error(worker_ctx, exc_info) else "error")
        CALLS.labels(*labels, outcome).inc()
        if started is not None:
            LATENCY.labels(*labels).observe(time.perf_counter() - started)


def _is_caller_error(worker_ctx, exc_info):
    expected = getattr(worker_ctx.entrypoint, "expected_exceptions", ()) or ()
    return bool(expected) and isinstance(exc_info[1], expected)
