"""Publishing on RabbitMQ in nameko's layout, with publisher confirms.

Used by the outbox (inside nameko services) and by the gRPC edges (plain
processes), so both produce messages nameko's ``@event_handler`` reads:
exchange ``<source>.events`` (topic, durable), routing key = event type,
JSON body, context data in ``nameko.*`` headers, persistent delivery.
"""
import json
import threading

from kombu import Connection, Exchange, Producer
PERSISTENT = 2  # AMQP delivery mode: written to disk

HEADER_PREFIX = "nameko"


def event_exchange(source):
    return Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


def context_headers(context_data):
    """nameko's header encoding; None values are dropped as nameko drops them."""
    return {f"{HEADER_PREFIX}.{key}": value for key, value in (context_data or {}).items() if value is not None}


class Publisher:
    """A confirming publisher on one connection, safe to share between threads
    or greenlets. ``publish`` returns only once the broker has confirmed."""

    def __init__(self, amqp_uri, heartbeat=None):
        self._connection = Connection(amqp_uri, transport_options={"confirm_publish": True}, heartbeat=heartbeat)
        self._lock = threading.Lock()
        self._producer = None
        self._declared = set()
        self._returned = False

    def _ensure(self):
        if self._producer is None:
            self._connection.ensure_connection(max_retries=3)
            # with a return listener the channel records an unroutable
            # mandatory message and goes on to wait for its confirm; without
            # one, py-amqp raises mid-wait and the confirm that follows would
            # be taken for the next message's
            self._producer = Producer(self._connection.channel(), on_return=self._on_return)
        return self._producer

    def _on_return(self, exception, exchange, routing_key, message):
        self._returned = True

    def _reset(self):
        self._producer = None
        self._declared.clear()
        try:
            self._connection.release()
        except Exception:  # the connection is already gone; a new one is made on next use
            pass
        self._connection = self._connection.clone()

    def declare(self, *entities):
        """Declare queues or exchanges on this publisher's connection."""
        with self._lock:
            try:
                channel = self._ensure().channel
                for entity in entities:
                    entity(channel).declare()
            except Exception:
                self._reset()
                raise

    def publish_event(self, source, name, payload, context_data=None):
        exchange = event_exchange(source)
        self.publish(payload, exchange=exchange, routing_key=name, headers=context_headers(context_data))

    def publish(self, body, exchange, routing_key, headers=None, **kwargs):
        """Publish one persistent JSON message, waiting for the broker's confirm.

        ``exchange`` may be an Exchange (declared once per connection) or a name.
        Returns whether the message reached a queue: False only for a
        ``mandatory=True`` message no queue is bound to take (still confirmed).
        """
        with self._lock:
            self._returned = False
            try:
                producer = self._ensure()
                if isinstance(exchange, Exchange) and exchange.name not in self._declared:
                    exchange(producer.channel).declare()
                    self._declared.add(exchange.name)
                producer.publish(
                    json.dumps(body, ensure_ascii=False) if not isinstance(body, (bytes, str)) else body,
                    exchange=exchange,
                    routing_key=routing_key,
                    headers=headers or {},
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=PERSISTENT,
                    retry=False,
                    **kwargs,
                )
            except Exception:
                self._reset()
                raise
            return not self._returned

    def close(self):
        with self._lock:
            try:
                self._connection.release()
            finally:
                self._producer = None
