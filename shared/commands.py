"""Sending commands to devices from a nameko service (``shared.devicelink``
says what a command is and how the edges route it).

``DeviceCommands`` injects a sender: ``send(command)`` publishes one
device's command on ``tinxa.devicelink.commands``, ``send(fanout_command)``
(a command with ``device_ids``) one message for many devices of a commune on
``tinxa.devicelink.fanout``. Both are mandatory, persistent and confirmed;
the answer is whether an edge took the message (False: no edge holds the
device, or no edge holds any device of the commune — the caller retries).
"""
from kombu import Exchange
from nameko.extensions import DependencyProvider

from shared.bus import Publisher
from shared.devicelink import COMMANDS_EXCHANGE, FANOUT_EXCHANGE, fanout_routing_key, routing_key


class DeviceCommands(DependencyProvider):
    """Gives workers ``send(command) -> bool`` (routed to an edge or not)."""

    def setup(self):
        self.publisher = Publisher(self.container.config["AMQP_URI"])
        self.direct = Exchange(COMMANDS_EXCHANGE, type="topic", durable=True)
        self.fanout = Exchange(FANOUT_EXCHANGE, type="direct", durable=True)

    def stop(self):
        self.publisher.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.send

    def send(self, command):
        if "device_ids" in command:
            return self.publisher.publish(command, exchange=self.fanout, mandatory=True,
                                          routing_key=fanout_routing_key(command["commune_id"]))
        return self.publisher.publish(command, exchange=self.direct, mandatory=True,
                                      routing_key=routing_key(command["commune_id"], command["device_id"]))
