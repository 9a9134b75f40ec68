"""MQTT devices' broker users, against this machine's RabbitMQ management API
on the test's own vhost: what the API says the user may do, and what the
broker then lets it do over AMQP and MQTT."""
import os
import shutil
import subprocess
import uuid

import pytest

from shared.broker_admin import BrokerError, BrokerUsers
from shared.testing import broker_connection, closed_by_broker, management_api as api, quoted, wait_until

MQTT_PORT = os.environ.get("TINXA_MQTT_PORT", "1884")
# broker users are the broker's, not a vhost's: a commune of this test run
# only, so tests running beside these (other vhosts) never share a user
C = f"xa-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker(rabbit_config):
    users = BrokerUsers.from_config(rabbit_config)
    yield users
    users.remove_device(C, "loa-01")


def amqp(broker, user, password):
    return broker_connection(broker.vhost, user, password)


def mqtt_publish(broker, user, password, topic):
    if shutil.which("mosquitto_pub") is None:
        pytest.skip("mosquitto-clients is not installed")
    return subprocess.run(["mosquitto_pub", "-p", MQTT_PORT, "-u", broker.login(user), "-P", password, "-t", topic,
                           "-m", '{"seq": 1}', "-q", "1"], capture_output=True, timeout=15).returncode


def test_the_config_names_the_vhost_and_the_login_carries_it(rabbit_config, broker):
    assert broker.vhost == rabbit_config["vhost"] != "/"
    assert broker.login(f"device.{C}.loa-01") == f"{broker.vhost}:device.{C}.loa-01"
    assert BrokerUsers.from_config({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/"}).login("u") == "u"
    with pytest.raises(ValueError):
        BrokerUsers.username(C, "loa.01")


def test_a_device_user_may_publish_only_its_own_samples(broker):
    user = broker.grant_device(C, "loa-01", "mật-khẩu-1")
    assert user == f"device.{C}.loa-01"
    assert api(f"/users/{quoted(user)}")["tags"] in ("", [])
    [permissions] = [p for p in api(f"/users/{quoted(user)}/permissions")]
    assert (permissions["vhost"], permissions["configure"], permissions["write"], permissions["read"]) == (
        broker.vhost, "^$", r"^amq\.topic$", "^$")
    [topic] = api(f"/topic-permissions/{quoted(broker.vhost)}/{quoted(user)}")
    assert (topic["exchange"], topic["write"], topic["read"]) == (
        "amq.topic", rf"^tinxa\.{C}\.loa-01\.telemetry$", "^$")
    assert mqtt_publish(broker, user, "mật-khẩu-1", f"tinxa/{C}/loa-01/telemetry") == 0
    assert mqtt_publish(broker, user, "mật-khẩu-1", f"tinxa/{C}/loa-02/telemetry") != 0
    assert mqtt_publish(broker, user, "sai", f"tinxa/{C}/loa-01/telemetry") != 0


def test_a_new_password_ends_the_old_ones_connections(broker):
    user = broker.grant_device(C, "loa-01", "cũ")
    old = amqp(broker, user, "cũ")
    assert not closed_by_broker(old)
    broker.grant_device(C, "loa-01", "mới")
    wait_until(lambda: closed_by_broker(old), timeout=10, message="the old connection to be closed")
    old.release()
    with pytest.raises(Exception):
        amqp(broker, user, "cũ")
    amqp(broker, user, "mới").release()


def test_removing_the_user_deletes_it_and_closes_its_connections(broker):
    user = broker.grant_device(C, "loa-01", "mật-khẩu")
    open_connection = amqp(broker, user, "mật-khẩu")
    broker.remove_device(C, "loa-01")
    assert api(f"/users/{quoted(user)}") is None
    wait_until(lambda: closed_by_broker(open_connection), timeout=10, message="the connection to be closed")
    open_connection.release()
    assert broker.close_connections(user) == 0
    broker.remove_device(C, "loa-01")  # nothing left to remove is fine


def test_an_unreachable_management_api_is_a_broker_error():
    users = BrokerUsers("http://127.0.0.1:1", "guest", "guest", "/", timeout=2)
    with pytest.raises(BrokerError):
        users.grant_device(C, "loa-01", "x")
