"""The operator's view of dead letters: list them, replay them.

    python -m shared.deadletters list   [--amqp URI]
    python -m shared.deadletters replay [--amqp URI] [--event-id ID]

A replayed message goes back to the queue of the handler that gave up on it,
with its attempt count reset; others stay dead-lettered, in order.
"""
import argparse
import json
import os
import sys

from kombu import Connection

from shared.bus import Publisher
from shared.handlers import ATTEMPTS_HEADER, dead_letter_queue


def _drain(amqp_uri):
    """Read every dead letter without losing any: each is acked only after the
    caller has dealt with it (kept ones are republished first)."""
    with Connection(amqp_uri) as connection:
        queue = dead_letter_queue()(connection.channel())
        _, count, _ = queue.queue_declare()
        # only what was there at the start: kept letters go back to the tail
        for _ in range(count):
            message = queue.get(no_ack=False)
            if message is None:
                return
            yield message


def list_dead_letters(amqp_uri):
    """The dead letters, oldest first, without consuming them."""
    seen = []
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = dead_letter_queue()(channel)
        queue.declare()
        messages = []
        while True:
            message = queue.get(no_ack=False)
            if message is None:
                break
            messages.append(message)
            headers = message.headers or {}
            seen.append({
                "event_id": json.loads(message.body).get("event_id"),
                "queue": headers.get("x-tinxa-queue"),
                "event": f'{headers.get("x-tinxa-source")}.{headers.get("x-tinxa-event-type")}',
                "attempts": headers.get(ATTEMPTS_HEADER),
                "error": headers.get("x-tinxa-error"),
                "failed_at": headers.get("x-tinxa-failed-at"),
            })
        for message in messages:
            message.requeue()
    return seen


def replay(amqp_uri, event_id=None):
    """Send dead letters (all, or one event) back to their handler's queue."""
    publisher = Publisher(amqp_uri)
    replayed = 0
    try:
        for message in _drain(amqp_uri):
            headers = dict(message.headers or {})
            body_id = json.loads(message.body).get("event_id")
            if event_id and body_id != event_id:
                publisher.publish(message.body, exchange="", routing_key=dead_letter_queue().name, headers=headers)
            else:
                headers[ATTEMPTS_HEADER] = 0
                publisher.publish(message.body, exchange="", routing_key=headers["x-tinxa-queue"], headers=headers)
                replayed += 1
            message.ack()
    finally:
        publisher.close()
    return replayed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m shared.deadletters")
    parser.add_argument("command", choices=("list", "replay"))
    parser.add_argument("--amqp", default=os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/"))
    parser.add_argument("--event-id")
    args = parser.parse_args(argv)
    if args.command == "list":
        for row in list_dead_letters(args.amqp):
            print(json.dumps(row, ensure_ascii=False))
    else:
        print(f"replayed {replay(args.amqp, args.event_id)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
