"""The integration bridge (cầu nối tích hợp): every event of the catalogue,
republished on the public topic exchange ``tinxa.integration`` keyed by
commune, where plug-ins bind with their own broker users.

One durable queue, ``integration.bridge``, is bound with ``#`` to every
``<source>.events`` exchange of ``shared.events.CATALOGUE``. Each message is
published again, same body and headers, persistent and confirmed, with the
routing key ``<commune_id>.<source>.<event_type>``; it is acknowledged only
once the broker has confirmed that copy, so a crash or a failed publish
leaves it in the queue (plug-ins may then see it twice: they deduplicate on
``event_id``). A failed publish is tried again after
``INTEGRATION_RETRY_SECONDS``. A message without a valid ``commune_id`` (a
routing-key word) cannot be routed: it goes to the dead letters
(``python -m shared.deadletters``) as a failed handler's would; one whose
body is not a JSON object is logged and dropped (no TinXã code publishes
one, and the dead-letter tool reads bodies as JSON objects).

The broker keeps plug-ins to their commune (``shared.broker_admin``); the
plug-in author's contract is ``API.md`` beside this file.
"""
import logging
from functools import partial

import eventlet
from kombu import Exchange, Queue, binding
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import Consumer
from prometheus_client import Counter

from shared import faults
from shared.broker_admin import INTEGRATION_EXCHANGE
from shared.bus import PERSISTENT, Publisher, event_exchange
from shared.devicelink import ID_PATTERN
from shared.events import CATALOGUE
from shared.handlers import ATTEMPTS_HEADER, DEAD_LETTER_QUEUE, dead_letter_queue
from shared.observability import Observability, health_app
from shared.timeutil import iso

log = logging.getLogger(__name__)

BRIDGE_QUEUE = "integration.bridge"
EVENTS_SUFFIX = ".events"
# what dead-lettering adds to a message's headers; dropped when a replayed one is bridged
DEAD_LETTER_HEADERS = (ATTEMPTS_HEADER, "x-tinxa-queue", "x-tinxa-source", "x-tinxa-event-type", "x-tinxa-error",
                       "x-tinxa-failed-at")

BRIDGED = Counter("tinxa_integration_messages_total", "Messages taken from the bridge's queue, by outcome",
                  ["outcome"])


class Unroutable(Exception):
    """A message the bridge cannot give an integration routing key."""


def sources():
    """The services whose events the catalogue lists."""
    return sorted({source for source, _ in CATALOGUE})


def integration_exchange():
    return Exchange(INTEGRATION_EXCHANGE, type="topic", durable=True, delivery_mode=PERSISTENT)


def bridge_queue():
    return Queue(BRIDGE_QUEUE, bindings=[binding(event_exchange(source), routing_key="#") for source in sources()],
                 durable=True)


def integration_key(body, source, event_type):
    """``<commune_id>.<source>.<event_type>``; raises Unroutable."""
    commune_id = body.get("commune_id")
    if not isinstance(commune_id, str) or not ID_PATTERN.match(commune_id):
        raise Unroutable(f"no valid commune_id (a routing-key word): {commune_id!r}")
    if not source or not event_type:
        raise Unroutable(f"no source or event type: {source!r}, {event_type!r}")
    return f"{commune_id}.{source}.{event_type}"


class BridgeConsumer(Consumer):
    """nameko's ``@consume`` giving the worker what the bridge needs besides
    the decoded body: the raw body, where the message came from and all its
    headers. A failed worker's message is requeued after a pause, never
    acknowledged."""

    def setup(self):
        super().setup()
        self.retry_seconds = float(self.container.config.get("INTEGRATION_RETRY_SECONDS", 1.0))

    def handle_message(self, body, message):
        headers = dict(message.headers or {})
        exchange = message.delivery_info.get("exchange") or ""
        if exchange.endswith(EVENTS_SUFFIX):
            source, event_type = exchange[:-len(EVENTS_SUFFIX)], message.delivery_info.get("routing_key")
        else:  # a dead letter replayed straight into the queue
            source, event_type = headers.get("x-tinxa-source"), headers.get("x-tinxa-event-type")
            headers = {k: v for k, v in headers.items() if k not in DEAD_LETTER_HEADERS}
        args = (body, message.body, source, event_type, headers)
        try:
            self.container.spawn_worker(self, args, {}, context_data=self.unpack_message_headers(message),
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        BRIDGED.labels("retried").inc()
        log.warning("could not republish a message from %s (%s); trying again in %.1f s",
                    message.delivery_info.get("exchange"), exc_info[1], self.retry_seconds)
        eventlet.sleep(self.retry_seconds)
        self.queue_consumer.requeue_message(message)


bridge = BridgeConsumer.decorator


class IntegrationPublisher(DependencyProvider):
    """The bridge's confirming publisher: ``republish`` on
    ``tinxa.integration``, ``dead_letter`` to ``tinxa.dead-letters``."""

    def setup(self):
        self.publisher = Publisher(self.container.config["AMQP_URI"])

    def start(self):
        self.publisher.declare(integration_exchange(), dead_letter_queue())

    def stop(self):
        self.publisher.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def republish(self, raw_body, routing_key, headers):
        self.publisher.publish(raw_body, exchange=integration_exchange(), routing_key=routing_key, headers=headers)

    def dead_letter(self, raw_body, headers, source, event_type, error):
        routed = self.publisher.publish(raw_body, exchange="", routing_key=DEAD_LETTER_QUEUE, mandatory=True, headers=dict(headers, **{
            ATTEMPTS_HEADER: 0,
            "x-tinxa-queue": BRIDGE_QUEUE,
            "x-tinxa-source": source or "",
            "x-tinxa-event-type": event_type or "",
            "x-tinxa-error": error[:2000],
            "x-tinxa-failed-at": iso(),
        }))
        if not routed:  # the dead-letter queue was deleted: keep the message, declare it again
            self.publisher.declare(dead_letter_queue())
            raise RuntimeError(f"{DEAD_LETTER_QUEUE} did not take the message")


class BridgeObservability(Observability):
    """Metrics and ``/healthz`` as every service has them, less the MongoDB
    check: the bridge has no database. Healthy once its queue consumes."""

    client = None  # no MongoClientProvider: nothing to ping

    def start(self):
        if not self.port:
            return
        from eventlet import wsgi

        listener = eventlet.listen(("0.0.0.0", self.port))
        app = health_app({"consumers": self._consumers_ready})
        self._server = self.container.spawn_managed_thread(
            lambda: wsgi.server(listener, app, log_output=False), identifier="metrics-server")


class IntegrationService:
    name = "integration"

    integration = IntegrationPublisher()
    observability = BridgeObservability()

    @bridge(bridge_queue())
    def republish(self, body, raw_body, source, event_type, headers):
        if not isinstance(body, dict):
            BRIDGED.labels("dropped").inc()
            log.error("dropping a message from %s.%s whose body is not a JSON object: %r",
                      source, event_type, raw_body[:300])
            return
        try:
            key = integration_key(body, source, event_type)
        except Unroutable as err:
            BRIDGED.labels("dead_lettered").inc()
            log.error("dead-lettering event %s from %s.%s: %s", body.get("event_id"), source, event_type, err)
            self.integration.dead_letter(raw_body, headers, source, event_type, str(err))
            return
        self.integration.republish(raw_body, key, headers)
        faults.point("integration.republished")
        BRIDGED.labels("republished").inc()
