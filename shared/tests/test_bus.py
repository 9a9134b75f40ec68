"""The confirming publisher on the real broker: an unroutable mandatory
message is reported, not raised, and the confirms of later messages stay
their own."""
import asyncio

import pytest
from kombu import Connection, Exchange, Queue

from shared.bus import Publisher
from shared.events import make_event
from shared.grpc_edge import BusUnavailable, EdgeBus


def test_a_mandatory_message_no_queue_takes_is_reported_and_the_next_ones_are_confirmed(rabbit_config):
    exchange = Exchange("bus-test", type="topic", durable=True)
    publisher = Publisher(rabbit_config["AMQP_URI"])
    try:
        assert publisher.publish({"n": 1}, exchange=exchange, routing_key="nobody", mandatory=True) is False
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            queue = Queue("bus-test-q", exchange, routing_key="somebody", exclusive=True)(conn.channel())
            queue.declare()
            assert publisher.publish({"n": 2}, exchange=exchange, routing_key="somebody", mandatory=True) is True
            assert publisher.publish({"n": 3}, exchange=exchange, routing_key="nobody", mandatory=True) is False
            assert publisher.publish({"n": 4}, exchange=exchange, routing_key="somebody") is True
            received = []
            while (message := queue.get(no_ack=True)) is not None:
                received.append(message.payload["n"])
        assert received == [2, 4]
    finally:
        publisher.close()


def test_the_edge_bus_refuses_an_event_no_queue_takes(rabbit_config):
    event = make_event("telemetry", "plays_reported", "xuan-hung", reports=[
        {"device_id": "loa-01", "report_id": "r-1", "started_at": "2026-11-26T06:00:00.000Z",
         "ended_at": "2026-11-26T06:05:00.000Z", "completed": True}])

    async def publish(bus):
        await bus.publish_event("telemetry", "plays_reported", event)

    bus = EdgeBus(rabbit_config["AMQP_URI"], timeout=5)
    try:
        with pytest.raises(BusUnavailable):  # nobody declared a queue for it: published, it would be lost
            asyncio.run(publish(bus))
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            Queue("plays", Exchange("telemetry.events", type="topic", durable=True), routing_key="plays_reported",
                  exclusive=True)(conn.channel()).declare()
            asyncio.run(publish(bus))
    finally:
        bus.close()
