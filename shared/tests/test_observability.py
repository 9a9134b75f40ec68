"""A service reports healthy only once its queues consume: before that an RPC
sent to it comes back unroutable (seen as a flaky crash test under load)."""

import pytest
import requests
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook

from shared.observability import Observability
from shared.testing import free_port, wait_until


class Pinger:
    name = "pinger"
    observability = Observability()

    @rpc
    def ping(self):
        return "pong"


def health(port):
    response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    return response.status_code, response.json()["checks"]


def test_healthz_waits_for_the_queues_and_then_says_so(container_factory, service_config):
    port = free_port()
    container = container_factory(Pinger, dict(service_config, METRICS_PORT=port))
    consumers = [ext for ext in container.extensions if type(ext).__name__ == "QueueConsumer"]
    assert consumers, "an RPC entrypoint brings a queue consumer"
    observability = next(ext for ext in container.extensions if isinstance(ext, Observability))
    with pytest.raises(RuntimeError, match="not consuming yet"):
        observability._consumers_ready()  # set up, nothing started
    container.start()
    assert wait_until(lambda: health(port)[0] == 200 and health(port), message="healthy")[1] == {
        "mongo": "ok", "consumers": "ok"}
    with entrypoint_hook(container, "ping") as ping:
        assert ping() == "pong"
