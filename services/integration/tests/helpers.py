"""What the integration tests share: the broker's management API, a plug-in
connecting with its own credentials, and commune ids of this test run only
(broker users are the broker's, not a vhost's)."""
import uuid

from kombu import Connection

from shared.bus import Publisher
from shared.events import make_event
from shared.testing import broker_connection, management_api as api, quoted  # noqa: F401 (the tests' helpers)

RUN = uuid.uuid4().hex[:8]
# ids with '-' (escaped in the permissions), and B starting with A's id: "xa-…-a" is a prefix of "xa-…-ab"
A = f"xa-{RUN}-a"
B = f"xa-{RUN}-ab"
PASSWORD = "mật-khẩu-trình-cắm"


def connect(vhost, user, password=PASSWORD):
    return broker_connection(vhost, user, password)


class PluginClient:
    """A plug-in as its author writes it, on py-amqp's channel: its own queue
    bound to ``tinxa.integration``, read with basic_get."""

    def __init__(self, vhost, commune_id, name):
        self.prefix = f"plugin.{commune_id}.{name}."
        self.connection = connect(vhost, f"plugin.{commune_id}.{name}")
        self.channel = self.connection.channel()

    def subscribe(self, *keys, queue="events", **arguments):
        name = self.prefix + queue
        self.channel.queue_declare(name, durable=True, auto_delete=False, arguments=arguments or None)
        for key in keys:
            self.channel.queue_bind(name, "tinxa.integration", key)
        return name

    def take(self, queue="events"):
        """The next message of the queue (acknowledged), or None."""
        return self.channel.basic_get(self.prefix + queue, no_ack=True)

    def close(self):
        self.connection.release()


def queue_depth(amqp_uri, name):
    """Ready messages in ``name`` now (a passive declare: no statistics lag)."""
    with Connection(amqp_uri) as connection:
        _, count, _ = connection.channel().queue_declare(name, passive=True)
        return count


def publish_task_event(amqp_uri, commune_id, **context):
    body = make_event("tasks", "task_status_changed", commune_id, task_id="t1", plan_id="p1", code="1.1",
                      title="Tuyên truyền", old_status="open", new_status="done")
    publisher = Publisher(amqp_uri)
    try:
        publisher.publish_event("tasks", "task_status_changed", body, context_data=context)
    finally:
        publisher.close()
    return body
