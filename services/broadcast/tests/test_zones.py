"""Zones (villages and named groups) and what a broadcast target reaches."""
import pytest

from services.broadcast.zones import Zone, members, parse_zone, targets, village_zones
from shared.errors import InvalidInput

DEVICES = [
    {"device_id": "loa-dong-1", "kind": "loudspeaker", "village": "Thôn Đông", "name": "Cụm loa đầu thôn"},
    {"device_id": "loa-dong-2", "kind": "loudspeaker", "village": "Thôn Đông", "name": "Cụm loa chợ"},
    {"device_id": "bang-dong", "kind": "eboard", "village": "Thôn Đông", "name": "Bảng tin nhà văn hóa"},
    {"device_id": "loa-tay-1", "kind": "loudspeaker", "village": "Thôn Tây", "name": "Cụm loa trường học"},
    {"device_id": "gw-tay", "kind": "other", "village": "Thôn Tây", "name": "Bộ thu phát"},
    {"device_id": "bang-ubnd", "kind": "eboard", "village": None, "name": "Bảng tin UBND xã"},
]
ZONES = [
    Zone("thon-dong", "Thôn Đông", village="Thôn Đông"),
    Zone("thon-tay", "Thôn Tây", village="Thôn Tây"),
    Zone("cho-truong", "Chợ và trường học", device_ids=("loa-dong-2", "loa-tay-1")),
]


def test_parse_village_zone_normalises_the_name():
    zone = parse_zone({"id": "thon-dong", "name": "  Thôn   Đông ", "village": "Thôn Đông "}, DEVICES)
    assert zone == Zone("thon-dong", "Thôn Đông", village="Thôn Đông")
    assert zone.kind == "village"


def test_parse_group_zone():
    zone = parse_zone({"id": "cho-truong", "name": "Chợ và trường học", "device_ids": ["loa-dong-2", "loa-tay-1"]},
                      DEVICES)
    assert zone.kind == "group"
    assert zone.device_ids == ("loa-dong-2", "loa-tay-1")


@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.id)
def test_zone_round_trips_through_its_dict(zone):
    assert parse_zone(zone.to_dict(), DEVICES) == zone


@pytest.mark.parametrize("data, expected", [
    ({"id": "a b", "name": "X", "village": "Thôn Đông"}, "id: mã vùng phát không hợp lệ"),
    ({"id": "x", "name": "  ", "village": "Thôn Đông"}, "name: tên vùng phát không được để trống."),
    ({"id": "x", "name": "X" * 201, "village": "Thôn Đông"}, "name: tên vùng phát dài quá 200 ký tự."),
    ({"id": "x", "name": "X"}, "phải chọn đúng một trong hai"),
    ({"id": "x", "name": "X", "village": "Thôn Đông", "device_ids": ["loa-dong-1"]}, "phải chọn đúng một trong hai"),
    ({"id": "x", "name": "X", "village": "Thôn Bắc"}, "village: không có thiết bị nào thuộc thôn «Thôn Bắc»."),
    ({"id": "x", "name": "X", "village": ""}, "village: tên thôn không được để trống."),
    ({"id": "x", "name": "X", "device_ids": []}, "device_ids: nhóm thiết bị phải có ít nhất một mã thiết bị."),
    ({"id": "x", "name": "X", "device_ids": ["loa-dong-1", "loa-9"]}, "device_ids: không có thiết bị «loa-9»."),
    ({"id": "x", "name": "X", "device_ids": ["loa-dong-1", "loa-dong-1"]},
     "device_ids: thiết bị bị lặp lại: «loa-dong-1»."),
    ({"id": "x", "name": "X", "village": "Thôn Đông", "colour": "red"}, "zone: trường không được hỗ trợ: colour."),
])
def test_bad_zone_is_refused_naming_the_field(data, expected):
    with pytest.raises(InvalidInput) as err:
        parse_zone(data, DEVICES)
    assert expected in err.value.message


def test_bad_zone_lists_every_problem():
    with pytest.raises(InvalidInput) as err:
        parse_zone({"id": "", "name": "", "device_ids": ["loa-9"]}, DEVICES)
    assert err.value.details["problems"][0].startswith("id:")
    assert [p.split(":")[0] for p in err.value.details["problems"]] == ["id", "name", "device_ids"]


def test_village_zones_are_derived_with_stable_ids():
    devices = DEVICES + [{"device_id": "loa-d", "kind": "loudspeaker", "village": "Thôn Dong"}]
    zones = village_zones(devices)
    assert [(z.id, z.name) for z in zones] == [("thon-dong", "Thôn Dong"), ("thon-dong-2", "Thôn Đông"),
                                               ("thon-tay", "Thôn Tây")]
    assert village_zones(list(reversed(devices))) == zones
    assert members(zones[1], DEVICES) == {"loa-dong-1", "loa-dong-2", "bang-dong"}


def test_group_members_skip_devices_no_longer_registered():
    zone = Zone("g", "Nhóm", device_ids=("loa-dong-1", "loa-da-go"))
    assert members(zone, DEVICES) == {"loa-dong-1"}


@pytest.mark.parametrize("target, kind, expected", [
    ({"commune": True}, None, {d["device_id"] for d in DEVICES}),
    ({"commune": True}, "audio", {"loa-dong-1", "loa-dong-2", "loa-tay-1"}),
    ({"commune": True}, "text", {"bang-dong", "bang-ubnd"}),
    ({"commune": True}, "image", {"bang-dong", "bang-ubnd"}),
    ({"zones": ["thon-tay"]}, None, {"loa-tay-1", "gw-tay"}),
    ({"zones": ["thon-dong"]}, "audio", {"loa-dong-1", "loa-dong-2"}),
    ({"zones": ["thon-tay", "cho-truong"]}, "audio", {"loa-tay-1", "loa-dong-2"}),
    ({"devices": ["bang-ubnd"]}, "text", {"bang-ubnd"}),
    ({"zones": ["thon-tay"], "devices": ["loa-dong-1"]}, "audio", {"loa-tay-1", "loa-dong-1"}),
    ({"zones": ["thon-dong"], "devices": ["bang-ubnd"]}, "image", {"bang-dong", "bang-ubnd"}),
    ({"commune": True, "zones": ["thon-dong"]}, "audio", {"loa-dong-1", "loa-dong-2", "loa-tay-1"}),
])
def test_targets_resolve_to_the_devices_that_can_play(target, kind, expected):
    assert targets(target, DEVICES, ZONES, kind) == expected


@pytest.mark.parametrize("target, kind, expected", [
    ({"zones": ["thon-bac", "thon-dong", "cho"]}, None, "target.zones: không có vùng phát «thon-bac», «cho»."),
    ({"devices": ["loa-dong-1", "loa-99"]}, "audio", "target.devices: không có thiết bị «loa-99»."),
    ({"devices": ["bang-dong", "loa-dong-1"]}, "audio",
     "target.devices: thiết bị «bang-dong» không phải cụm loa, không phát được nội dung âm thanh."),
    ({"devices": ["loa-tay-1"]}, "text",
     "target.devices: thiết bị «loa-tay-1» không phải bảng tin điện tử, không phát được nội dung văn bản."),
    ({"zones": ["cho-truong"]}, "image",
     "target: phạm vi đã chọn không có bảng tin điện tử nào để phát nội dung hình ảnh."),
    ({"commune": False}, None, "target.commune: chỉ nhận giá trị true"),
    ({"zones": []}, None, "target.zones: danh sách mã vùng phát phải có ít nhất một mã."),
    ({"devices": "loa-dong-1"}, None, "target.devices: danh sách mã thiết bị phải có ít nhất một mã."),
    ({"village": "Thôn Đông"}, None, "target: trường không được hỗ trợ: village."),
    ({}, None, "target: phải chọn phạm vi phát"),
    (None, None, "target: phải chọn phạm vi phát"),
    ({"commune": True}, "video", "kind: loại nội dung không hợp lệ: «video»."),
])
def test_bad_target_is_refused_naming_what_is_wrong(target, kind, expected):
    with pytest.raises(InvalidInput) as err:
        targets(target, DEVICES, ZONES, kind)
    assert expected in err.value.message


def test_target_names_unknown_zones_and_devices_together():
    with pytest.raises(InvalidInput) as err:
        targets({"zones": ["thon-bac"], "devices": ["loa-99"]}, DEVICES, ZONES)
    assert "«thon-bac»" in err.value.message and "«loa-99»" in err.value.message
    assert len(err.value.details["problems"]) == 2
