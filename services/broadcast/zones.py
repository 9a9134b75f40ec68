"""Broadcast zones (vùng phát) and broadcast targets: the rules, with no I/O.

A zone is either a village (thôn): every device the registry places in that
village, whatever is installed there later; or a named group (nhóm): an
explicit list of device ids, e.g. "Loa chợ và trường học". A broadcast or a
programme targets the whole commune, some zones, single devices, or any
combination of these: the devices reached are the union.

Content reaches only the devices that can play it: audio goes to
loudspeakers (cụm loa), text and images to e-boards (bảng tin điện tử).
Devices of another kind inside a selected zone or the commune are skipped
silently; a device the operator names one by one but that cannot play the
content is a mistake and is refused. A target that reaches no device at all
is refused too, naming what was selected.

Devices are the telemetry registry's documents (``device_id``, ``kind``
loudspeaker|eboard|other, ``village``, ``name``).
"""
import re
import unicodedata
from dataclasses import dataclass

from shared.devicelink import ID_PATTERN
from shared.errors import InvalidInput
from shared.text import fold

TARGET_KEYS = ("commune", "zones", "devices")
# content kind → the device kind that plays it
DEVICE_KIND = {"audio": "loudspeaker", "text": "eboard", "image": "eboard"}
DEVICE_KIND_VI = {"loudspeaker": "cụm loa", "eboard": "bảng tin điện tử", "other": "thiết bị khác"}
CONTENT_KIND_VI = {"audio": "âm thanh", "text": "văn bản", "image": "hình ảnh"}
MAX_NAME = 200


def _clean(text):
    """One form of a human-typed name: NFC, single spaces (the registry trims
    village names the same way)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Zone:
    """A broadcast zone: a village's devices (``village`` set) or a named group
    (``device_ids`` set). Exactly one of the two is set."""

    id: str
    name: str
    village: str | None = None
    device_ids: tuple = ()

    @property
    def kind(self):
        return "village" if self.village is not None else "group"

    def to_dict(self):
        """Plain types for storage and JSON; ``parse_zone`` reads it back."""
        chosen = {"village": self.village} if self.kind == "village" else {"device_ids": list(self.device_ids)}
        return {"id": self.id, "name": self.name, **chosen}


def parse_zone(data, devices):
    """A validated Zone from ``data`` (id, name, and village or device_ids),
    checked against the commune's ``devices``; raises InvalidInput listing
    every problem."""
    problems = []
    if not isinstance(data, dict):
        raise InvalidInput("zone: dữ liệu vùng phát phải là một đối tượng JSON.")
    known = {device["device_id"] for device in devices}
    stray = sorted(set(data) - {"id", "name", "village", "device_ids"})
    if stray:
        problems.append(f"zone: trường không được hỗ trợ: {', '.join(stray)}.")
    zone_id = data.get("id")
    if not isinstance(zone_id, str) or not ID_PATTERN.match(zone_id):
        problems.append("id: mã vùng phát không hợp lệ (chỉ chữ, số, '-' và '_', tối đa 64 ký tự).")
    name = _clean(data["name"]) if isinstance(data.get("name"), str) else ""
    if not name:
        problems.append("name: tên vùng phát không được để trống.")
    elif len(name) > MAX_NAME:
        problems.append(f"name: tên vùng phát dài quá {MAX_NAME} ký tự.")
    village, device_ids = data.get("village"), data.get("device_ids")
    if (village is None) == (device_ids is None):
        problems.append("zone: vùng phát là một thôn (village) hoặc một nhóm thiết bị (device_ids), "
                        "phải chọn đúng một trong hai.")
    elif village is not None:
        village = _clean(village) if isinstance(village, str) else ""
        if not village:
            problems.append("village: tên thôn không được để trống.")
        elif not any(_clean(device.get("village") or "") == village for device in devices):
            problems.append(f"village: không có thiết bị nào thuộc thôn «{village}».")
    elif not isinstance(device_ids, list) or not device_ids or not all(isinstance(d, str) for d in device_ids):
        problems.append("device_ids: nhóm thiết bị phải có ít nhất một mã thiết bị.")
    else:
        duplicated = sorted({d for d in device_ids if device_ids.count(d) > 1})
        if duplicated:
            problems.append(f"device_ids: thiết bị bị lặp lại: {_quoted(duplicated)}.")
        unknown = [d for d in dict.fromkeys(device_ids) if d not in known]
        if unknown:
            problems.append(f"device_ids: không có thiết bị {_quoted(unknown)}.")
    if problems:
        raise InvalidInput(" ".join(problems), {"problems": problems})
    return Zone(zone_id, name, village, tuple(device_ids) if device_ids is not None else ())


def village_zones(devices):
    """One zone per village that has devices, named after it, with an id
    derived from the name ("Thôn Đông" → ``thon-dong``) so it stays the same
    each time it is derived."""
    villages = sorted({_clean(d["village"]) for d in devices if (d.get("village") or "").strip()},
                      key=lambda v: (fold(v), v))
    zones, used = [], set()
    for village in villages:
        base = re.sub(r"[^a-z0-9]+", "-", fold(village)).strip("-")[:56] or "thon"
        zone_id, n = base, 1
        while zone_id in used:  # "Thôn Đông" and "Thôn Dong" fold alike
            n += 1
            zone_id = f"{base}-{n}"
        used.add(zone_id)
        zones.append(Zone(zone_id, village, village=village))
    return zones


def members(zone, devices):
    """The ids of the devices in ``zone`` (a group's ids that the registry
    no longer holds are left out)."""
    if zone.kind == "village":
        return {d["device_id"] for d in devices if _clean(d.get("village") or "") == zone.village}
    known = {d["device_id"] for d in devices}
    return {d for d in zone.device_ids if d in known}


def target_problems(target):
    """What is wrong with the shape of a target (empty list: nothing):
    ``{"commune": true}`` | ``{"zones": [ids]}`` | ``{"devices": [ids]}``,
    combinations allowed."""
    if not isinstance(target, dict) or not target:
        return ["target: phải chọn phạm vi phát: cả xã (commune), vùng phát (zones) hoặc thiết bị (devices)."]
    problems = []
    stray = sorted(set(target) - set(TARGET_KEYS))
    if stray:
        problems.append(f"target: trường không được hỗ trợ: {', '.join(map(str, stray))}.")
    if "commune" in target and target["commune"] is not True:
        problems.append("target.commune: chỉ nhận giá trị true (phát cho cả xã).")
    for key, what in (("zones", "vùng phát"), ("devices", "thiết bị")):
        if key not in target:
            continue
        ids = target[key]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            problems.append(f"target.{key}: danh sách mã {what} phải có ít nhất một mã.")
    return problems


def targets(target, devices, zones, content_kind=None):
    """The ids of the devices ``target`` reaches.

    ``content_kind`` (audio|text|image) keeps only the devices that can play
    it; None keeps every device. Raises InvalidInput naming unknown zones and
    devices, named devices of the wrong kind, and a target that reaches none.
    """
    problems = target_problems(target)
    if content_kind is not None and content_kind not in DEVICE_KIND:
        problems.append(f"kind: loại nội dung không hợp lệ: «{content_kind}».")
    if problems:
        raise InvalidInput(" ".join(problems), {"problems": problems})
    devices = list(devices)
    by_id = {d["device_id"]: d for d in devices}
    zones_by_id = {zone.id: zone for zone in zones}
    wanted = DEVICE_KIND.get(content_kind)

    def fits(device_id):
        return wanted is None or by_id[device_id].get("kind") == wanted

    reached = set()
    if target.get("commune"):
        reached |= set(by_id)
    unknown_zones = [z for z in dict.fromkeys(target.get("zones", ())) if z not in zones_by_id]
    if unknown_zones:
        problems.append(f"target.zones: không có vùng phát {_quoted(unknown_zones)}.")
    for zone_id in target.get("zones", ()):
        if zone_id in zones_by_id:
            reached |= members(zones_by_id[zone_id], devices)
    named = list(dict.fromkeys(target.get("devices", ())))
    unknown_devices = [d for d in named if d not in by_id]
    if unknown_devices:
        problems.append(f"target.devices: không có thiết bị {_quoted(unknown_devices)}.")
    unfit = [d for d in named if d in by_id and not fits(d)]
    if unfit:
        problems.append(f"target.devices: thiết bị {_quoted(unfit)} không phải {DEVICE_KIND_VI[wanted]}, "
                        f"không phát được nội dung {CONTENT_KIND_VI[content_kind]}.")
    reached |= {d for d in named if d in by_id}
    if problems:
        raise InvalidInput(" ".join(problems), {"problems": problems})
    reached = {d for d in reached if fits(d)}
    if not reached:
        message = ("target: phạm vi đã chọn không có thiết bị nào." if wanted is None else
                   f"target: phạm vi đã chọn không có {DEVICE_KIND_VI[wanted]} nào để phát nội dung "
                   f"{CONTENT_KIND_VI[content_kind]}.")
        raise InvalidInput(message, {"problems": [message]})
    return reached


def _quoted(ids):
    return ", ".join(f"«{i}»" for i in ids)
