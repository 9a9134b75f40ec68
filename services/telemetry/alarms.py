"""Alarms (cảnh báo): the rules, each commune's settings of them, and an
alarm's life — with no I/O.

A rule's condition is evaluated on a device's latest state. An alarm opens
when the condition *becomes* true (false → true); while that alarm is active
(open or acknowledged) the condition coming back counts as a repetition of
it, never as a second alarm. Operators acknowledge (I'm on it) and clear
(done); ``offline`` also clears itself when the device is back.

Every change names its *cause* (the sample or the offline period that
raised or repeated it) and is skipped when the alarm already records that
cause, so a pass redone after a crash does not count a repetition twice.
"""
import uuid
from dataclasses import dataclass
from datetime import timedelta

from services.telemetry.domain import SOURCE, Change, label
from shared.errors import Conflict, InvalidInput
from shared.events import outgoing
from shared.timeutil import VIETNAM, iso, parse_iso

OPEN, ACKNOWLEDGED, CLEARED = "open", "acknowledged", "cleared"
ACTIVE = (OPEN, ACKNOWLEDGED)
SEVERITIES = ("critical", "major", "minor", "warning")
SYSTEM = {"subject": "system", "name": "Hệ thống"}


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    severity: str
    threshold: float | None = None
    unit: str = ""
    limits: tuple = ()
    clears_itself: bool = False


RULES = {rule.name: rule for rule in (
    Rule("offline", "Mất kết nối", "critical", 0, "giây", (0, 7 * 86400), clears_itself=True),
    Rule("silent_slot", "Âm lượng 0 trong khung giờ phát", "major"),
    Rule("mains_lost", "Mất điện lưới", "major", 180, "V", (90, 250)),
    Rule("temperature_high", "Nhiệt độ cao", "minor", 60, "°C", (30, 120)),
    Rule("speaker_line_fault", "Lỗi đường dây loa", "major"),
)}
SAMPLE_RULES = tuple(name for name in RULES if name != "offline")

POWER_LABELS = {"battery": "pin", "solar": "năng lượng mặt trời"}
LINE_LABELS = {"open_circuit": "hở mạch", "short_circuit": "chập mạch"}


# ---------------------------------------------------------------- settings


def settings(overrides=()):
    """A commune's rules as they apply: the defaults, changed by its
    ``alarm_rules`` documents."""
    by_rule = {doc["rule"]: doc for doc in overrides}
    result = {}
    for name, rule in RULES.items():
        doc = by_rule.get(name, {})
        result[name] = {
            "rule": name,
            "label": rule.label,
            "enabled": bool(doc.get("enabled", True)),
            "severity": doc.get("severity") or rule.severity,
            "threshold": doc["threshold"] if doc.get("threshold") is not None else rule.threshold,
            "unit": rule.unit,
            "clears_itself": rule.clears_itself,
            "default": {"enabled": True, "severity": rule.severity, "threshold": rule.threshold},
            "updated_at": doc.get("updated_at"),
            "updated_by": doc.get("updated_by"),
        }
    return result


def rule_update(rule_name, changes, actor, now):
    """The stored settings an operator's ``changes`` make; InvalidInput naming
    the problem. A null threshold means the default one."""
    rule = RULES.get(rule_name)
    if rule is None:
        raise InvalidInput(f"rule: quy tắc phải là một trong: {', '.join(RULES)}.", {"rule": rule_name})
    if not changes:
        raise InvalidInput("changes: cần ít nhất một thay đổi (enabled, severity, threshold).")
    threshold = changes.get("threshold")
    if threshold is not None:
        if rule.threshold is None:
            raise InvalidInput(f"threshold: quy tắc «{rule.label}» không có ngưỡng.")
        low, high = rule.limits
        if not low <= threshold <= high:
            raise InvalidInput(f"threshold: ngưỡng của «{rule.label}» phải từ {low:g} đến {high:g} {rule.unit}.")
    return {**changes, "rule": rule_name, "updated_at": iso(now), "updated_by": actor}


# ---------------------------------------------------------------- conditions


def _holds(rule, sample, threshold):
    if rule == "silent_slot":
        return bool(sample.get("slot_active")) and sample.get("volume") == 0
    if rule == "mains_lost":
        voltage = sample.get("mains_voltage")
        return sample.get("power_source") in POWER_LABELS or (voltage is not None and voltage < threshold)
    if rule == "temperature_high":
        return sample.get("temperature_c") is not None and sample["temperature_c"] > threshold
    return sample.get("speaker_line") in LINE_LABELS


def sample_conditions(sample, commune_settings):
    """Which sample rules hold on ``sample`` (a disabled rule never holds)."""
    return {rule: commune_settings[rule]["enabled"] and _holds(rule, sample or {}, commune_settings[rule]["threshold"])
            for rule in SAMPLE_RULES}


def offline_alarm_due(offline_since, setting, now):
    """``raise`` (offline longer than the threshold), ``wait`` or ``drop``
    (the rule is off)."""
    if not setting["enabled"]:
        return "drop"
    elapsed = now - parse_iso(offline_since)
    return "raise" if elapsed >= timedelta(seconds=setting["threshold"] or 0) else "wait"


def _local(moment):
    return parse_iso(moment).astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y")


def message(rule, device, setting, sample=None, offline_since=None):
    """What the alarm says, for the operator's list and notifications."""
    name = label(device)
    sample = sample or {}
    threshold = setting["threshold"]
    if rule == "offline":
        return f"«{name}» mất kết nối từ {_local(offline_since)}."
    if rule == "silent_slot":
        return f"«{name}» để âm lượng 0 trong khung giờ phát."
    if rule == "mains_lost":
        if sample.get("power_source") in POWER_LABELS:
            return f"«{name}» mất điện lưới, đang chạy bằng {POWER_LABELS[sample['power_source']]}."
        return f"«{name}»: điện áp lưới {sample.get('mains_voltage'):g} V, dưới ngưỡng {threshold:g} V."
    if rule == "temperature_high":
        return f"«{name}»: nhiệt độ {sample.get('temperature_c'):g} °C, vượt ngưỡng {threshold:g} °C."
    return f"«{name}»: đường dây loa bị {LINE_LABELS.get(sample.get('speaker_line'), 'lỗi')}."


# ---------------------------------------------------------------- an alarm's life


def active_key(commune_id, device_id, rule):
    """Held by the one active alarm of a device and rule (a unique index);
    a cleared alarm holds its own id instead."""
    return f"{commune_id}/{device_id}/{rule}"


def _event(name, alarm, actor=None):
    return outgoing(SOURCE, name, alarm["commune_id"], actor=actor, device_id=alarm["device_id"],
                    alarm_id=alarm["_id"], rule=alarm["rule"], severity=alarm["severity"], status=alarm["status"],
                    message=alarm["message"], village=alarm.get("village"), occurrences=alarm["occurrences"])


def new_alarm(device, rule, setting, text, cause, now):
    """A raised alarm and its ``alarm_raised`` event: ``(document, event)``."""
    alarm = {
        "_id": uuid.uuid4().hex,
        "commune_id": device["commune_id"],
        "device_id": device["device_id"],
        "device_name": device.get("name") or "",
        "village": device.get("village"),
        "rule": rule,
        "severity": setting["severity"],
        "status": OPEN,
        "message": text,
        "occurrences": 1,
        "raised_at": iso(now),
        "last_at": iso(now),
        "cause": cause,
        "active_key": active_key(device["commune_id"], device["device_id"], rule),
        "acknowledged": None,
        "cleared": None,
    }
    return alarm, _event("alarm_raised", alarm)


def repeated(alarm, text, cause, now):
    """The condition came back while the alarm is active; None if this cause
    was already counted."""
    if alarm["status"] not in ACTIVE or alarm.get("cause") == cause:
        return None
    after = dict(alarm, occurrences=alarm["occurrences"] + 1, message=text, last_at=iso(now), cause=cause)
    return Change(set={k: after[k] for k in ("occurrences", "message", "last_at", "cause")},
                  expect={"status": alarm["status"], "occurrences": alarm["occurrences"]},
                  events=[_event("alarm_repeated", after)])


def _by(actor, note, now):
    return {"at": iso(now), "by": actor["subject"], "by_name": actor["name"], "note": note or ""}


def acknowledged(alarm, actor, note, now):
    """An operator took the alarm on; ``actor`` is ``{"subject", "name"}``."""
    if alarm["status"] != OPEN:
        raise Conflict("Chỉ xác nhận được cảnh báo đang mở." if alarm["status"] == ACKNOWLEDGED
                       else "Cảnh báo đã được xử lý xong.", {"alarm_id": alarm["_id"], "status": alarm["status"]})
    after = dict(alarm, status=ACKNOWLEDGED, acknowledged=_by(actor, note, now))
    return Change(set={"status": ACKNOWLEDGED, "acknowledged": after["acknowledged"], "last_at": iso(now)},
                  expect={"status": OPEN}, events=[_event("alarm_acknowledged", after, actor["subject"])])


def cleared(alarm, actor, note, now):
    """The alarm is dealt with (by an operator, or by itself); the device
    and rule may raise a new one from now on."""
    if alarm["status"] not in ACTIVE:
        raise Conflict("Cảnh báo đã được xử lý xong.", {"alarm_id": alarm["_id"], "status": alarm["status"]})
    after = dict(alarm, status=CLEARED, cleared=_by(actor, note, now))
    event_actor = None if actor is SYSTEM else actor["subject"]
    return Change(set={"status": CLEARED, "cleared": after["cleared"], "last_at": iso(now), "active_key": alarm["_id"]},
                  expect={"status": alarm["status"]}, events=[_event("alarm_cleared", after, event_actor)])


def view(alarm):
    return {**{k: v for k, v in alarm.items() if k not in ("_id", "active_key", "cause")}, "alarm_id": alarm["_id"]}
