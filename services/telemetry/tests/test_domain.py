"""The registry and credential rules, and the boundary's validation of a
device: no I/O."""
from datetime import datetime, timezone

import pytest

from services.telemetry import credentials, domain
from services.telemetry.schemas import DeviceChanges, RegisterDevice
from shared.errors import Conflict, InvalidInput, load

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=timezone.utc)
COMMUNE = "xuan-hung"


def registered(**fields):
    data = load(RegisterDevice, {"device_id": "loa-01", "kind": "loudspeaker", **fields})
    data.pop("commune_id")
    return domain.new_device(COMMUNE, data, "u1", NOW)


@pytest.mark.parametrize("fields, message", [
    ({"device_id": None}, "device_id: mã thiết bị không được để trống"),
    ({"device_id": "loa 01"}, "device_id: mã thiết bị chỉ gồm chữ không dấu"),
    ({"device_id": "x" * 65}, "device_id: mã thiết bị chỉ gồm"),
    ({"device_id": "loa.01"}, "device_id: mã thiết bị chỉ gồm"),
    ({"kind": "speaker"}, "kind: loại thiết bị phải là một trong: loudspeaker, eboard, other"),
    ({"kind": None}, "kind: loại thiết bị không được để trống"),
    ({"name": "x" * 201}, "name: tên thiết bị dài quá 200 ký tự"),
    ({"village": "   "}, "village: tên thôn không được để trống"),
    ({"village": "x" * 101}, "village: tên thôn dài quá 100 ký tự"),
    ({"lat": 21.0}, "lat: cần nhập cả vĩ độ và kinh độ"),
    ({"lon": 105.8}, "lat: cần nhập cả vĩ độ và kinh độ"),
    ({"lat": 21.0, "lon": None}, "lat: cần nhập cả vĩ độ và kinh độ"),
    ({"lat": 105.8, "lon": 21.0}, "lat: vĩ độ phải trong khoảng 6–24 (lãnh thổ Việt Nam)"),
    ({"lat": 21.0, "lon": 95.0}, "lon: kinh độ phải trong khoảng 102–118"),
    ({"lat": "bắc", "lon": 105.8}, "lat: vĩ độ phải là số"),
    ({"installed_on": "26/11/2026"}, "installed_on: ngày lắp đặt phải có dạng YYYY-MM-DD"),
    ({"transport": "lora"}, "transport: phương thức kết nối phải là một trong: grpc, mqtt"),
    ({"presence_timeout_s": 29}, "presence_timeout_s: thời gian chờ phải từ 30 đến 3600 giây"),
    ({"presence_timeout_s": 3601}, "presence_timeout_s: thời gian chờ phải từ 30 đến 3600 giây"),
    ({"presence_timeout_s": "hai phút"}, "presence_timeout_s: thời gian chờ phải là số nguyên"),
    ({"model": "m" * 101}, "model: mẫu thiết bị dài quá 100 ký tự"),
    ({"colour": "đỏ"}, "colour: trường không được hỗ trợ"),
])
def test_each_bad_field_is_refused_with_a_vietnamese_message_naming_it(fields, message):
    with pytest.raises(InvalidInput) as err:
        load(RegisterDevice, {"device_id": "loa-01", "kind": "loudspeaker", **fields})
    assert message in err.value.message


def test_only_the_id_and_kind_are_required():
    with pytest.raises(InvalidInput) as err:
        load(RegisterDevice, {})
    assert "device_id: thiếu mã thiết bị" in err.value.message and "kind: thiếu loại thiết bị" in err.value.message
    device, event = registered()
    assert device["_id"] == "xuan-hung/loa-01"
    assert {k: device[k] for k in ("name", "village", "location", "model", "firmware", "installed_on", "transport",
                                   "presence_timeout_s")} == {
        "name": "", "village": None, "location": None, "model": "", "firmware": "", "installed_on": None,
        "transport": "grpc", "presence_timeout_s": 120}
    assert device["credential"] == {"status": "none", "credential_id": None, "at": None}
    assert event.name == "device_registered"
    assert {k: event.payload[k] for k in ("commune_id", "device_id", "kind", "village", "transport", "actor")} == {
        "commune_id": COMMUNE, "device_id": "loa-01", "kind": "loudspeaker", "village": None, "transport": "grpc",
        "actor": "u1"}


def test_a_device_is_stored_in_plain_forms():
    device, event = registered(name="Cụm loa thôn Đông", village="  Thôn   Đông ", lat="21.05", lon=105.8,
                               installed_on="2026-03-01", transport="mqtt", presence_timeout_s="300")
    assert device["village"] == "Thôn Đông" == event.payload["village"]
    assert device["location"] == {"lat": 21.05, "lon": 105.8}
    assert device["installed_on"] == "2026-03-01" and device["presence_timeout_s"] == 300
    assert device["created_at"] == "2026-11-26T07:00:00.000Z"


def test_an_update_sets_only_what_changed():
    device, _ = registered(name="Loa 1", lat=21.0, lon=105.0)
    assert domain.device_update(device, load(DeviceChanges, {"name": "Loa 1"}), NOW) is None
    change = domain.device_update(device, load(DeviceChanges, {"name": "Loa thôn Tây", "lat": None, "lon": None}), NOW)
    assert change.set == {"name": "Loa thôn Tây", "location": None, "updated_at": "2026-11-26T07:00:00.000Z"}
    with pytest.raises(InvalidInput, match="device_id: không đổi được mã thiết bị"):
        load(DeviceChanges, {"device_id": "loa-02"})
    with pytest.raises(InvalidInput, match="lat: cần nhập cả vĩ độ và kinh độ"):
        load(DeviceChanges, {"lat": 21.0})


@pytest.mark.parametrize("status, allowed", [("none", True), ("revoked", True), ("active", False),
                                             ("code_issued", False)])
def test_the_transport_changes_only_while_the_device_holds_no_credential(status, allowed):
    device, _ = registered()
    device["credential"]["status"] = status
    changes = load(DeviceChanges, {"transport": "mqtt"})
    if allowed:
        assert domain.device_update(device, changes, NOW).set["transport"] == "mqtt"
    else:
        with pytest.raises(Conflict, match="thu hồi"):
            domain.device_update(device, changes, NOW)


def test_a_provisioning_code_is_stored_as_its_digest_only():
    device, _ = registered()
    code, doc = domain.provisioning_code(device, "u1", NOW, 72)
    assert len(code) == 14 and code.count("-") == 2
    assert doc["_id"] == credentials.code_digest(code) == credentials.code_digest(code.lower().replace("-", " "))
    assert code.replace("-", "") not in str(doc)
    assert doc["status"] == "pending" and doc["expires_at"] == "2026-11-29T07:00:00.000Z"
    mqtt, _ = registered(transport="mqtt")
    with pytest.raises(Conflict, match="MQTT"):
        domain.provisioning_code(mqtt, "u1", NOW, 72)


def test_an_mqtt_credential_keeps_the_password_digest_and_announces_itself():
    device, _ = registered(transport="mqtt")
    password, doc, event = domain.mqtt_credential(device, "u1", NOW)
    assert len(password) >= 40 and password not in str(doc)
    assert credentials.secret_matches(password, doc["secret_sha256"])
    assert doc["status"] == "active" and doc["transport"] == "mqtt"
    assert event.name == "device_provisioned" and event.payload["how"] == "operator"
    assert event.payload["credential_id"] == doc["_id"]
    assert domain.mqtt_topic(device) == "tinxa/xuan-hung/loa-01/telemetry"
    grpc, _ = registered()
    with pytest.raises(Conflict, match="gRPC"):
        domain.mqtt_credential(grpc, "u1", NOW)


def test_a_revocation_is_a_compare_and_set_with_its_event():
    device, _ = registered(transport="mqtt")
    _, doc, _ = domain.mqtt_credential(device, "u1", NOW)
    change = domain.revocation(doc, "Mất thiết bị", "u1", NOW)
    assert change.expect == {"status": "active"}
    assert change.set == {"status": "revoked", "revoked_at": "2026-11-26T07:00:00.000Z", "reason": "Mất thiết bị"}
    [event] = change.events
    assert event.name == "credential_revoked" and event.payload["credential_id"] == doc["_id"]


def test_devices_are_listed_by_village_then_id_with_their_presence():
    devices = [registered(device_id=i, village=v)[0] for i, v in (("b", "Thôn Tây"), ("a", None), ("c", "Thôn Đông"),
                                                                   ("a2", "Thôn Đông"))]
    assert [d["device_id"] for d in sorted(devices, key=domain.listing_order)] == ["a2", "c", "b", "a"]
    line = domain.listed(devices[0], {"presence": "online", "last_seen": "2026-11-26T06:59:00.000Z",
                                      "sample": {"volume": 40}})
    assert (line["presence"], line["last_seen"], line["sample"]) == ("online", "2026-11-26T06:59:00.000Z",
                                                                     {"volume": 40})
    assert "_id" not in line
    assert domain.listed(devices[1], None)["presence"] == "unknown"
