"""RabbitMQ users of things outside TinXã's services, kept through the
broker's management HTTP API: MQTT devices and integration plug-ins.

- An MQTT device logs into RabbitMQ's MQTT plugin as
  ``device.<commune>.<device>`` (``<vhost>:device.…`` on a vhost other than
  ``/``) and may only publish its own samples: it can configure and read
  nothing, write only to ``amq.topic``, and there only with the routing key
  its topic ``tinxa/<commune>/<device>/telemetry`` maps to.
- An integration plug-in (trình cắm tích hợp) logs in over AMQP as
  ``plugin.<commune>.<name>`` and may declare, read and delete only its own
  queues (``plugin.<commune>.<name>.…``), bind them to the public exchange
  ``tinxa.integration`` only with keys of its commune (``<commune>.…``, the
  broker's topic read permission) and publish there only as itself
  (``<commune>.plugin.<name>.…``, topic write permission). The broker refuses
  the rest with ACCESS_REFUSED. ``services/integration/API.md`` is the
  plug-in author's side.

The broker checks the password, so revoking means deleting the user and
closing the connections it has open (a changed or deleted user keeps its open
connections otherwise). Users are the broker's, not a vhost's: the commune id
in the name keeps users of different communes apart.

The management URL comes from ``RABBITMQ_MANAGEMENT_URL``; the account and the
vhost from ``AMQP_URI``.
"""
import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request

from shared.devicelink import ID_PATTERN

DEFAULT_MANAGEMENT_URL = "http://127.0.0.1:15672"
# the public topic exchange plug-ins bind to: routing key <commune>.<source>.<event>
INTEGRATION_EXCHANGE = "tinxa.integration"
PLUGIN_PREFIX = "plugin."


class BrokerError(Exception):
    """The management API refused or could not be reached."""


def _check_ids(*values):
    for value in values:
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            raise ValueError(f"not a routing-key word: {value!r}")


def _literal(value):
    """``value`` as a regular expression matching only itself (RabbitMQ's
    permissions are PCRE; ``re.escape``'s output is valid there too)."""
    return re.escape(value)


class BrokerUsers:
    def __init__(self, management_url, username, password, vhost, timeout=10.0):
        self._base = management_url.rstrip("/") + "/api"
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.vhost = vhost
        self._timeout = timeout

    @classmethod
    def from_config(cls, config):
        uri = urllib.parse.urlparse(config["AMQP_URI"])
        vhost = urllib.parse.unquote(uri.path[1:]) if len(uri.path) > 1 else "/"
        return cls(config.get("RABBITMQ_MANAGEMENT_URL") or DEFAULT_MANAGEMENT_URL,
                   urllib.parse.unquote(uri.username or "guest"), urllib.parse.unquote(uri.password or "guest"), vhost)

    # ------------------------------------------------------------ MQTT devices

    @staticmethod
    def username(commune_id, device_id):
        _check_ids(commune_id, device_id)
        return f"device.{commune_id}.{device_id}"

    def login(self, username):
        """What the device types as its MQTT user name."""
        return username if self.vhost == "/" else f"{self.vhost}:{username}"

    def grant_device(self, commune_id, device_id, password):
        """Create the device's user, or give it a new password, confined to
        publishing its own samples; connections opened with the old password
        are closed. Returns the user name."""
        user = self.username(commune_id, device_id)
        vhost = self._quote(self.vhost)
        self._request("PUT", f"/users/{self._quote(user)}", {"password": password, "tags": ""})
        self._request("PUT", f"/permissions/{vhost}/{self._quote(user)}",
                      {"configure": "^$", "write": r"^amq\.topic$", "read": "^$"})
        self._request("PUT", f"/topic-permissions/{vhost}/{self._quote(user)}",
                      {"exchange": "amq.topic", "write": rf"^tinxa\.{commune_id}\.{device_id}\.telemetry$",
                       "read": "^$"})
        self.close_connections(user)
        return user

    def remove_device(self, commune_id, device_id):
        """Delete the device's user (if any) and close its connections."""
        user = self.username(commune_id, device_id)
        self._request("DELETE", f"/users/{self._quote(user)}", missing_ok=True)
        self.close_connections(user)

    # ------------------------------------------------------------ integration plug-ins

    @staticmethod
    def plugin_username(commune_id, name):
        _check_ids(commune_id, name)
        return f"{PLUGIN_PREFIX}{commune_id}.{name}"

    @staticmethod
    def plugin_permissions(commune_id, name):
        """(vhost permissions, topic permissions on ``tinxa.integration``) of
        a plug-in: its own queues only, its commune's keys only."""
        own = _literal(f"{PLUGIN_PREFIX}{commune_id}.{name}.")
        reach = rf"^({_literal(INTEGRATION_EXCHANGE)}|{own}.*)$"
        permissions = {"configure": rf"^{own}.*", "write": reach, "read": reach}
        topic = {"exchange": INTEGRATION_EXCHANGE,
                 "write": "^" + _literal(f"{commune_id}.plugin.{name}."),
                 "read": "^" + _literal(f"{commune_id}.")}
        return permissions, topic

    def grant_plugin(self, commune_id, name, password):
        """Create the plug-in's user, or give it a new password, confined to
        its commune on ``tinxa.integration``; connections opened with the old
        password are closed. Returns the user name."""
        user = self.plugin_username(commune_id, name)
        permissions, topic = self.plugin_permissions(commune_id, name)
        vhost = self._quote(self.vhost)
        self._request("PUT", f"/users/{self._quote(user)}", {"password": password, "tags": ""})
        self._request("PUT", f"/permissions/{vhost}/{self._quote(user)}", permissions)
        self._request("PUT", f"/topic-permissions/{vhost}/{self._quote(user)}", topic)
        self.close_connections(user)
        return user

    def remove_plugin(self, commune_id, name):
        """Delete the plug-in's user (if any) and close its connections. Its
        queues stay until it or an operator deletes them."""
        user = self.plugin_username(commune_id, name)
        self._request("DELETE", f"/users/{self._quote(user)}", missing_ok=True)
        self.close_connections(user)

    def list_plugins(self, commune_id=None):
        """The broker's plug-in users, of one commune or all, sorted:
        ``[{"username", "commune_id", "name"}]``."""
        if commune_id is not None:
            _check_ids(commune_id)
        plugins = []
        for user in self._request("GET", "/users") or ():
            parts = user["name"].split(".")
            if len(parts) != 3 or f"{parts[0]}." != PLUGIN_PREFIX or not all(ID_PATTERN.match(p) for p in parts[1:]):
                continue
            if commune_id is None or parts[1] == commune_id:
                plugins.append({"username": user["name"], "commune_id": parts[1], "name": parts[2]})
        return sorted(plugins, key=lambda p: p["username"])

    # ------------------------------------------------------------ both

    def close_connections(self, user):
        """Close every connection ``user`` has open; returns how many.

        All of them, on any vhost: the user (and so its password) is the
        broker's. Asked of the broker's connection tracking
        (``/connections/username``), which knows a connection the moment it
        opens, unlike the statistics behind ``/connections``, which lag by
        seconds (a connection opened just before would be missed).
        """
        path = f"/connections/username/{self._quote(user)}"
        opened = self._request("GET", path, missing_ok=True) or []
        if opened:
            self._request("DELETE", path, missing_ok=True, headers={"X-Reason": "credential revoked or replaced"})
        return len(opened)

    @staticmethod
    def _quote(value):
        return urllib.parse.quote(value, safe="")

    def _request(self, method, path, body=None, missing_ok=False, headers=None):
        request = urllib.request.Request(self._base + path, method=method, headers={**self._headers, **(headers or {})},
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            if missing_ok and err.code == 404:
                return None
            raise BrokerError(f"{method} {path}: HTTP {err.code} {err.read()[:300]!r}") from err
        except (urllib.error.URLError, OSError) as err:
            raise BrokerError(f"{method} {path}: {err}") from err
        return json.loads(raw) if raw else None
