"""MQTT ingestion: samples that devices publish through RabbitMQ's MQTT plugin.

A device publishes JSON samples on ``tinxa/<commune>/<device>/telemetry``;
the plugin puts them on ``amq.topic`` with routing key
``tinxa.<commune>.<device>.telemetry``. The broker's topic permissions allow
each device user only its own topic, so the routing key is the device's
identity. The edge consumes the durable queue ``telemetry.mqtt-ingest`` and
feeds the same buffers and writer as the gRPC streams (``ingest.py``).

A message is acked only after the flush that stored its samples (a failed
write requeues it); a malformed one, or one for a device that is not
registered, is rejected without requeue, logged and counted: redelivering
it cannot fix it.

``ConsumerThread`` (kombu, one connection per thread, operations on its
channel run by that thread) is also what the edge's command relay uses.
"""
import asyncio
import json
import logging
import queue
import socket
import threading
import time
from collections import deque

from kombu import Connection, Consumer, Exchange, Queue
from prometheus_client import Counter

from services.telemetry.ingest import InvalidSample, iso_at, samples_from_json
from shared.devicelink import ID_PATTERN

log = logging.getLogger(__name__)

QUEUE = "telemetry.mqtt-ingest"
BINDING = "tinxa.*.*.telemetry"
RECHECK_SECONDS = 600  # how long a device's registration (and presence timeout) is trusted
UNKNOWN_SECONDS = 60  # how long "not registered" is trusted, so a stray device costs one lookup a minute
RETRY_SECONDS = 1.0

REJECTED = Counter("tinxa_telemetry_mqtt_rejected_total", "MQTT messages rejected without requeue", ["reason"])


def ingest_queue():
    # amq.topic exists on every vhost and cannot be declared by clients
    return Queue(QUEUE, Exchange("amq.topic", type="topic", durable=True, no_declare=True),
                 routing_key=BINDING, durable=True)


def device_of(routing_key):
    """``(commune_id, device_id)`` from ``tinxa.<commune>.<device>.telemetry``, or None."""
    parts = (routing_key or "").split(".")
    if len(parts) != 4 or parts[0] != "tinxa" or parts[3] != "telemetry":
        return None
    if not (ID_PATTERN.match(parts[1]) and ID_PATTERN.match(parts[2])):
        return None
    return parts[1], parts[2]


class ConsumerThread:
    """A kombu connection driven by one daemon thread.

    kombu channels are not thread-safe, so whatever touches the channel
    (acks, bindings) is handed over with ``call(fn)`` and run by this thread
    between two reads. ``consumers(channel)`` declares what it consumes and
    returns its kombu Consumers; it runs again after every reconnection.
    """

    def __init__(self, amqp_uri, name, consumers, poll_seconds=0.05):
        self._amqp_uri = amqp_uri
        self._name = name
        self._consumers = consumers
        self._poll = poll_seconds
        self._calls = queue.SimpleQueue()
        self._stopping = threading.Event()
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self._thread.start()

    def call(self, fn):
        """Run ``fn(channel)`` on the consumer thread."""
        self._calls.put(fn)

    def stop(self, timeout=2.0):
        """Run the calls already handed over, then close the connection."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self):
        while not self._stopping.is_set():
            try:
                with Connection(self._amqp_uri, connect_timeout=5) as connection:
                    connection.ensure_connection(max_retries=1)
                    channel = connection.channel()
                    for consumer in self._consumers(channel):
                        consumer.consume()
                    self.connected.set()
                    log.info("%s: consuming", self._name)
                    self._serve(connection, channel)
            except Exception as err:  # broker gone or refused: reconnect, the broker redelivers
                self.connected.clear()
                if self._stopping.is_set():
                    return
                log.warning("%s: connection lost (%r); reconnecting", self._name, err)
                self._stopping.wait(RETRY_SECONDS)

    def _serve(self, connection, channel):
        while True:
            self._run_calls(channel)
            if self._stopping.is_set():
                return
            try:
                connection.drain_events(timeout=self._poll)
            except socket.timeout:
                pass

    def _run_calls(self, channel):
        while True:
            try:
                fn = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn(channel)
            except Exception:  # e.g. an ack for a delivery of a channel that since closed
                log.warning("%s: operation on the channel failed", self._name, exc_info=True)


class MqttIngest:
    """Turns MQTT messages into buffered samples; owned by the event loop.

    The consumer thread only queues messages; one loop callback takes all
    that arrived, so a busy broker costs one wake-up per batch, not per message.
    """

    def __init__(self, ingest, store, executor, loop, amqp_uri, prefetch=2000):
        self._ingest = ingest
        self._store = store
        self._executor = executor
        self._loop = loop
        self._prefetch = prefetch
        self._inbox = deque()
        self._scheduled = False
        self._checked = {}  # key -> when its registration was read
        self._unknown = {}  # key -> when it was found unregistered
        self._waiting = {}  # key -> [(samples, message)] while its registration is read
        self._tasks = set()
        self.thread = ConsumerThread(amqp_uri, "mqtt-ingest", self._consumers)

    def _consumers(self, channel):
        return [Consumer(channel, [ingest_queue()], on_message=self._on_message, prefetch_count=self._prefetch)]

    def _on_message(self, message):
        """On the consumer thread."""
        self._inbox.append(message)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon_threadsafe(self._drain)

    def _drain(self):
        self._scheduled = False
        now = time.time()
        received_at = iso_at(now)
        inbox = self._inbox
        while inbox:
            self._handle(inbox.popleft(), now, received_at)

    def _handle(self, message, now, received_at):
        routing_key = message.delivery_info.get("routing_key")
        device = device_of(routing_key)
        if device is None:
            self._reject(message, "routing_key", f"{routing_key!r} is not tinxa.<commune>.<device>.telemetry")
            return
        try:
            samples = samples_from_json(json.loads(message.body), received_at, now)
        except (ValueError, InvalidSample) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            self._reject(message, "malformed", f"{routing_key}: {getattr(err, 'message', None) or err}")
            return
        key = f"{device[0]}/{device[1]}"
        buffer = self._ingest.device(key)
        if buffer is not None and now - self._checked.get(key, 0) < RECHECK_SECONDS:
            self._accept(buffer, samples, message, now)
        elif now - self._unknown.get(key, -UNKNOWN_SECONDS) < UNKNOWN_SECONDS:
            self._reject(message, "unregistered", f"{routing_key}: device not registered")
        else:
            self._look_up(device, key, samples, message)

    def _accept(self, buffer, samples, message, now):
        ingest = self._ingest
        ingest.accept(buffer, samples, "mqtt")
        ingest.heard(buffer, now)
        ingest.when_stored(buffer, lambda ok: self.thread.call(
            (lambda channel: message.ack()) if ok else (lambda channel: message.requeue())))

    def _reject(self, message, reason, why):
        REJECTED.labels(reason).inc()
        log.warning("MQTT message rejected (%s): %s", reason, why)
        self.thread.call(lambda channel: message.reject(requeue=False))

    def _look_up(self, device, key, samples, message):
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.append((samples, message))
            return
        self._waiting[key] = [(samples, message)]
        task = asyncio.ensure_future(self._read_registration(device, key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read_registration(self, device, key):
        try:
            found = await self._loop.run_in_executor(self._executor, self._store.device, *device)
        except Exception:  # the store is down: the broker keeps the messages
            log.warning("could not read the registration of %s; requeueing its messages", key, exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)
            for _, message in self._waiting.pop(key, []):
                self.thread.call(lambda channel, message=message: message.requeue())
            return
        waiting = self._waiting.pop(key, [])
        now = time.time()
        if found is None:
            self._unknown[key] = now
            for _, message in waiting:
                self._reject(message, "unregistered", f"{key}: device not registered")
            return
        self._unknown.pop(key, None)
        self._checked[key] = now
        buffer = self._ingest.attach(*device, *found)
        for samples, message in waiting:
            self._accept(buffer, samples, message, now)
