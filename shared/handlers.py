"""Event handlers that never lose an event and never handle one twice.

``@event_handler("tasks", "task_status_changed")`` is nameko's SERVICE_POOL,
reliable-delivery handler with three additions (DESIGN.md "Not losing data"):

- the payload is checked against its catalogue schema; one that does not fit
  is dead-lettered at once (retrying cannot fix it);
- an ``event_id`` this handler already processed is acknowledged and skipped:
  a worker first claims the event in the ``processed_events`` collection of
  the service's own database; a copy arriving while another worker holds the
  claim waits in the retry queue; a claim left by a crashed process expires
  after ``HANDLER_LEASE_SECONDS``;
- a handler that raises is retried with exponential backoff through a retry
  queue whose messages expire back into the handler's queue; after
  ``HANDLER_MAX_ATTEMPTS`` the message goes to the dead-letter queue
  ``tinxa.dead-letters`` where ``python -m shared.deadletters`` lists and
  replays it. The original is acknowledged only after the retry or
  dead-letter copy is confirmed by the broker.

A handler's effect and its "processed" mark are two writes: a crash between
them redelivers the event, so handlers write with upserts keyed by event data.
"""
import logging
import traceback
from datetime import timedelta

from kombu import Exchange, Queue
from nameko.events import EventHandler, SERVICE_POOL
from pymongo.errors import DuplicateKeyError

from shared.bus import Publisher
from shared.events import validate_event
from shared.errors import InvalidInput
from shared.mongo import MongoClientProvider
from shared.timeutil import iso, utcnow

log = logging.getLogger(__name__)

DEAD_LETTER_QUEUE = "tinxa.dead-letters"
ATTEMPTS_HEADER = "x-tinxa-attempts"
PROCESSED = "processed_events"


def dead_letter_queue():
    return Queue(DEAD_LETTER_QUEUE, exchange=Exchange(""), routing_key=DEAD_LETTER_QUEUE, durable=True)


def retry_queue(queue_name):
    return Queue(
        f"{queue_name}.retry",
        exchange=Exchange(""),
        routing_key=f"{queue_name}.retry",
        durable=True,
        queue_arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name},
    )


class ReliableEventHandler(EventHandler):
    client = MongoClientProvider()

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL, reliable_delivery=True, **kwargs)

    def setup(self):
        super().setup()
        config = self.container.config
        self.max_attempts = int(config.get("HANDLER_MAX_ATTEMPTS", 5))
        self.backoff = float(config.get("HANDLER_BACKOFF_SECONDS", 1.0))
        self.publisher = Publisher(config["AMQP_URI"])
        self.processed = self.client.database[PROCESSED]
        self.processed.create_index([("handler", 1), ("event_id", 1)], unique=True)
        self.lease = float(config.get("HANDLER_LEASE_SECONDS", 60.0))
        self._declared = False

    def stop(self):
        super().stop()
        self.publisher.close()

    @property
    def handler_key(self):
        return self.queue.name

    def handle_message(self, body, message):
        try:
            validate_event(self.source_service, self.event_type, body)
        except InvalidInput as err:
            self._dead_letter(message, body, f"invalid payload: {err.message}", attempts=0)
            self.queue_consumer.ack_message(message)
            return
        claim = self._claim(body["event_id"])
        if claim == "done":
            log.info("skipping duplicate event %s for %s", body["event_id"], self.handler_key)
        elif claim == "busy":
            self._publish_retry(message, body, attempts=int((message.headers or {}).get(ATTEMPTS_HEADER, 0)))
        else:
            super().handle_message(body, message)
            return
        self.queue_consumer.ack_message(message)

    def _claim(self, event_id):
        """"claimed" (this worker handles it), "done" (handled before) or
        "busy" (another worker is handling it now)."""
        key = {"handler": self.handler_key, "event_id": event_id}
        try:
            self.processed.insert_one({**key, "state": "processing", "at": iso()})
            return "claimed"
        except DuplicateKeyError:
            pass
        existing = self.processed.find_one(key) or {}
        if existing.get("state") == "done":
            return "done"
        stale = iso(utcnow() - timedelta(seconds=self.lease))
        taken = self.processed.find_one_and_update(
            {**key, "state": "processing", "at": {"$lt": stale}}, {"$set": {"at": iso()}})
        return "claimed" if taken else "busy"

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        body = worker_ctx.args[0]
        try:
            key = {"handler": self.handler_key, "event_id": body["event_id"]}
            if exc_info is None:
                self.processed.update_one(key, {"$set": {"state": "done", "at": iso()}})
            else:
                self.processed.delete_one(key)
                self._retry_or_dead_letter(message, body, exc_info)
        except Exception:
            # neither acked nor dropped: the broker redelivers it
            log.exception("could not settle event %s; leaving it unacknowledged", body.get("event_id"))
            self.queue_consumer.requeue_message(message)
            return result, exc_info
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _declare(self):
        if not self._declared:
            self.publisher.declare(retry_queue(self.queue.name), dead_letter_queue())
            self._declared = True

    def _retry_or_dead_letter(self, message, body, exc_info):
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
        if attempts >= self.max_attempts:
            self._dead_letter(message, body, error, attempts)
            return
        log.warning("handler %s failed on %s (attempt %d): %s", self.handler_key, body.get("event_id"), attempts, error)
        self._publish_retry(message, body, attempts)

    def _publish_retry(self, message, body, attempts):
        """Park the message in the retry queue; it expires back into the
        handler's queue after an exponential backoff."""
        self._declare()
        delay = min(self.backoff * (2 ** max(attempts - 1, 0)), 300.0)
        headers = dict(message.headers or {}, **{ATTEMPTS_HEADER: attempts})
        self.publisher.publish(message.body, exchange="", routing_key=f"{self.queue.name}.retry",
                               headers=headers, expiration=delay)

    def _dead_letter(self, message, body, error, attempts):
        self._declare()
        log.error("dead-lettering event %s from %s: %s", body.get("event_id"), self.handler_key, error)
        headers = dict(message.headers or {})
        headers.update({
            ATTEMPTS_HEADER: attempts,
            "x-tinxa-queue": self.queue.name,
            "x-tinxa-source": self.source_service,
            "x-tinxa-event-type": self.event_type,
            "x-tinxa-error": error[:2000],
            "x-tinxa-failed-at": iso(),
        })
        self.publisher.publish(message.body, exchange="", routing_key=DEAD_LETTER_QUEUE, headers=headers)


event_handler = ReliableEventHandler.decorator
