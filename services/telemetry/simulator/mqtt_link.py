"""A simulated device publishing its samples over MQTT (paho-mqtt 2.x).

For devices registered with ``transport: mqtt``: JSON samples with the
names of services/telemetry/API.md, ``{"samples": [...]}`` per message, QoS 1
on the device's topic ``tinxa/<commune>/<device>/telemetry`` of RabbitMQ's
MQTT plugin. A sample leaves the device's buffer when the broker's PUBACK for
its message comes back; after a reconnect everything unacknowledged is
published again (the edge ignores a ``seq`` it has already stored). There is
no downlink: commands, acks and play reports are DeviceLink-only.

paho runs on the fleet's asyncio loop (its documented external-loop hooks),
so the callbacks below run on the loop and need no locks. Only the TCP
connect itself blocks the loop (at most ``CONNECT_TIMEOUT``): MQTT devices
are meant by the tens, the bulk of a fleet talks DeviceLink.
"""
import asyncio
import json
import logging
import random
import socket
from datetime import datetime, timezone

import paho.mqtt.client as mqtt

from services.telemetry.simulator.reconnect import Reconnect
from shared.timeutil import iso

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
KEEPALIVE = 30
MAX_INFLIGHT = 20
RESEND_CHUNK = 100


def sample_json(sample):
    """A sample as API.md's JSON: ISO-8601 UTC times, "" as null."""
    document = dict(sample)
    document["sampled_at"] = iso(datetime.fromtimestamp(sample["sampled_at"], timezone.utc))
    return document


def broker_username(username, vhost):
    """RabbitMQ takes ``<vhost>:<user>`` for a vhost other than the default."""
    if vhost and vhost != "/" and ":" not in username:
        return f"{vhost}:{username}"
    return username


class MqttTransport:
    """One device's MQTT session, reconnected until ``stopping`` is set
    (the same interface as ``grpc_link.GrpcTransport``)."""

    def __init__(self, runner, host, port, credentials, stats, batch=1, vhost=None,
                 offline_seconds=(1.0, 5.0), reconnect_max=30.0, rng=None):
        self.runner = runner
        self.device = runner.device
        self.host, self.port = host, int(port)
        self.username = broker_username(credentials["username"], vhost)
        self.password = credentials["password"]
        self.topic = credentials["topic"]
        self.stats = stats
        self.batch = max(1, int(batch))
        self.offline_seconds = offline_seconds
        self.reconnect_max = reconnect_max
        self.rng = rng or random.Random()
        self.connected = False
        self.sessions = 0
        self._client = None
        self._inflight = {}
        self._connack = None
        self._lost = None
        self._misc = None
        self._dropping = False
        self._closing = False
        self._settled = None

    def next_deadline(self):
        return float("inf")  # paho keeps the connection alive itself

    def _new_client(self, loop):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"tinxa-sim-{self.device.device_id}",
                             clean_session=True, reconnect_on_failure=False)
        client.username_pw_set(self.username, self.password)
        client.connect_timeout = CONNECT_TIMEOUT
        client.max_inflight_messages_set(MAX_INFLIGHT)

        def on_socket_open(client, userdata, sock):
            loop.add_reader(sock, client.loop_read)
            self._misc = loop.create_task(self._misc_loop(client))

        def on_socket_close(client, userdata, sock):
            loop.remove_reader(sock)
            loop.remove_writer(sock)
            if self._misc is not None:
                self._misc.cancel()

        client.on_socket_open = on_socket_open
        client.on_socket_close = on_socket_close
        client.on_socket_register_write = lambda client, userdata, sock: loop.add_writer(sock, client.loop_write)
        client.on_socket_unregister_write = lambda client, userdata, sock: loop.remove_writer(sock)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        return client

    @staticmethod
    async def _misc_loop(client):
        while client.loop_misc() == mqtt.MQTT_ERR_SUCCESS:
            await asyncio.sleep(1)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not self._connack.done():
            self._connack.set_result(reason_code)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason_code)
        if self._lost is not None:
            self._lost.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        seq = self._inflight.pop(mid, None)
        if seq is not None and not reason_code.is_failure:
            self.stats.samples_acked += self.device.ack_samples(seq)
        if self._settled is not None and not self._inflight and not self.device.unsent_count():
            self._settled.set()

    async def run(self, stopping):
        loop = asyncio.get_running_loop()
        reconnect = Reconnect(self.rng, self.offline_seconds, self.reconnect_max)
        while not stopping.is_set() and not self._closing:
            sessions = self.sessions
            dropped = await self._session(loop)
            if stopping.is_set() or self._closing:
                break
            try:
                await asyncio.wait_for(stopping.wait(), reconnect.delay(self.sessions > sessions, dropped))
            except asyncio.TimeoutError:
                pass

    async def _session(self, loop):
        """One connection; True if it was up and then dropped on purpose."""
        self._connack = loop.create_future()
        self._lost = asyncio.Event()
        self._inflight = {}
        self._client = client = self._new_client(loop)
        try:
            client.connect(self.host, self.port, keepalive=KEEPALIVE)
            reason = await asyncio.wait_for(self._connack, CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError, mqtt.WebsocketConnectionError) as err:
            self.stats.error("MQTT_CONNECT")
            log.debug("%s: MQTT connect failed: %r", self.device.device_id, err)
            client.disconnect()
            return False
        if reason.is_failure:
            self.stats.error(f"MQTT_{reason.getName().upper().replace(' ', '_')}")
            client.disconnect()
            return False
        self.device.link_up(None)
        self.connected = True
        self.stats.connected += 1
        if self.sessions:
            self.stats.reconnects += 1
        self.sessions += 1
        self.runner.on_connected()
        try:
            await self._lost.wait()
        finally:
            self.connected = False
            self.stats.connected -= 1
            self._inflight = {}
            if self._settled is not None:
                self._settled.set()
        dropped, self._dropping = self._dropping, False
        return dropped

    def push(self, now, flush=False):
        if not self.connected:
            return
        device, stats = self.device, self.stats
        while len(self._inflight) < 2 * MAX_INFLIGHT:
            backlog = device.unsent_count()
            if backlog < self.batch and not (flush and backlog):
                break
            samples = device.samples_to_send(RESEND_CHUNK if backlog > 2 * self.batch else self.batch)
            payload = json.dumps({"samples": [sample_json(sample) for sample in samples]}, separators=(",", ":"))
            info = self._client.publish(self.topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                self.stats.error("MQTT_PUBLISH")
                return  # the disconnect callback follows; link_up resends
            self._inflight[info.mid] = samples[-1]["seq"]
            stats.samples_sent += len(samples)

    def drop(self):
        """Lose the connection abruptly (no DISCONNECT packet)."""
        if self.connected and self._client is not None and self._client.socket() is not None:
            self._dropping = True
            self.stats.drops += 1
            try:
                self._client.socket().shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    async def close(self, timeout):
        self._closing = True
        if not self.connected:
            return
        self.push(asyncio.get_running_loop().time(), flush=True)
        self._settled = asyncio.Event()
        if not self._inflight:
            self._settled.set()
        try:
            await asyncio.wait_for(self._settled.wait(), timeout)
        except asyncio.TimeoutError:
            self.stats.error("GOODBYE_TIMEOUT")
        self._client.disconnect()
        try:
            await asyncio.wait_for(self._lost.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
