"""Alarm rules, their per-commune settings and an alarm's life: no I/O."""
from datetime import datetime, timedelta, timezone

import pytest

from services.telemetry import alarms
from shared.errors import Conflict, InvalidInput

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=timezone.utc)
DEVICE = {"commune_id": "xuan-hung", "device_id": "loa-01", "name": "Cụm loa thôn Đông", "village": "Thôn Đông"}
OPERATOR = {"subject": "op-1", "name": "Trần Văn Vận"}
DEFAULTS = alarms.settings()


def holding(sample, settings=DEFAULTS):
    return {rule for rule, on in alarms.sample_conditions(sample, settings).items() if on}


def test_the_defaults_are_those_of_the_contract():
    assert {name: (s["severity"], s["threshold"], s["enabled"], s["clears_itself"]) for name, s in DEFAULTS.items()} == {
        "offline": ("critical", 0, True, True),
        "silent_slot": ("major", None, True, False),
        "mains_lost": ("major", 180, True, False),
        "temperature_high": ("minor", 60, True, False),
        "speaker_line_fault": ("major", None, True, False),
    }


@pytest.mark.parametrize("sample, expected", [
    ({}, set()),
    ({"volume": 0, "slot_active": True}, {"silent_slot"}),
    ({"volume": 0, "slot_active": 1}, {"silent_slot"}),  # a boolean as nx-27017 may give it back
    ({"volume": 0, "slot_active": False}, set()),
    ({"volume": 20, "slot_active": True}, set()),
    ({"power_source": "battery"}, {"mains_lost"}),
    ({"power_source": "solar", "mains_voltage": None}, {"mains_lost"}),
    ({"power_source": "mains", "mains_voltage": 179.9}, {"mains_lost"}),
    ({"power_source": "mains", "mains_voltage": 180}, set()),
    ({"temperature_c": 60}, set()),
    ({"temperature_c": 60.5}, {"temperature_high"}),
    ({"speaker_line": "open_circuit"}, {"speaker_line_fault"}),
    ({"speaker_line": "short_circuit", "temperature_c": 75}, {"speaker_line_fault", "temperature_high"}),
    ({"speaker_line": "ok"}, set()),
])
def test_each_rule_holds_on_its_condition(sample, expected):
    assert holding(sample) == expected


def test_a_commune_changes_thresholds_and_turns_rules_off():
    changed = alarms.settings([{"rule": "temperature_high", "threshold": 45.0, "severity": "major", "enabled": True},
                               {"rule": "speaker_line_fault", "enabled": 0}])
    assert changed["temperature_high"]["threshold"] == 45 and changed["temperature_high"]["severity"] == "major"
    assert changed["speaker_line_fault"]["enabled"] is False
    assert holding({"temperature_c": 50, "speaker_line": "open_circuit"}, changed) == {"temperature_high"}


@pytest.mark.parametrize("rule, changes, message", [
    ("noise", {"enabled": False}, "rule: quy tắc phải là một trong"),
    ("silent_slot", {"threshold": 3}, "threshold: quy tắc «Âm lượng 0 trong khung giờ phát» không có ngưỡng"),
    ("temperature_high", {"threshold": 200}, "threshold: ngưỡng của «Nhiệt độ cao» phải từ 30 đến 120 °C"),
    ("offline", {"threshold": -1}, "threshold: ngưỡng của «Mất kết nối» phải từ 0 đến 604800 giây"),
    ("offline", {}, "changes: cần ít nhất một thay đổi"),
])
def test_bad_rule_changes_are_refused(rule, changes, message):
    with pytest.raises(InvalidInput, match=message):
        alarms.rule_update(rule, changes, "op-1", NOW)


def test_the_offline_alarm_waits_for_its_threshold():
    since = "2026-11-26T06:55:00.000Z"
    assert alarms.offline_alarm_due(since, DEFAULTS["offline"], NOW) == "raise"
    later = dict(DEFAULTS["offline"], threshold=600)
    assert alarms.offline_alarm_due(since, later, NOW) == "wait"
    assert alarms.offline_alarm_due(since, later, NOW + timedelta(minutes=5)) == "raise"
    assert alarms.offline_alarm_due(since, dict(later, enabled=False), NOW) == "drop"


def test_messages_say_what_is_wrong_in_vietnamese():
    def text(rule, **kwargs):
        return alarms.message(rule, DEVICE, DEFAULTS[rule], **kwargs)

    assert text("offline", offline_since="2026-11-26T06:55:00.000Z") == \
        "«Cụm loa thôn Đông» mất kết nối từ 13:55 ngày 26/11/2026."
    assert text("mains_lost", sample={"power_source": "battery"}) == \
        "«Cụm loa thôn Đông» mất điện lưới, đang chạy bằng pin."
    assert text("mains_lost", sample={"power_source": "mains", "mains_voltage": 172.5}) == \
        "«Cụm loa thôn Đông»: điện áp lưới 172.5 V, dưới ngưỡng 180 V."
    assert text("temperature_high", sample={"temperature_c": 71}) == \
        "«Cụm loa thôn Đông»: nhiệt độ 71 °C, vượt ngưỡng 60 °C."
    assert text("speaker_line_fault", sample={"speaker_line": "short_circuit"}) == \
        "«Cụm loa thôn Đông»: đường dây loa bị chập mạch."
    assert "loa-01" in alarms.message("silent_slot", dict(DEVICE, name=""), DEFAULTS["silent_slot"])


def raised(rule="temperature_high", cause="2026-11-26T06:59:00.000Z"):
    return alarms.new_alarm(DEVICE, rule, DEFAULTS[rule], "nóng", cause, NOW)


def test_a_raised_alarm_is_open_and_holds_the_device_and_rule():
    alarm, event = raised()
    assert alarm["status"] == "open" and alarm["occurrences"] == 1 and alarm["severity"] == "minor"
    assert alarm["active_key"] == "xuan-hung/loa-01/temperature_high"
    assert event.name == "alarm_raised"
    assert {k: event.payload[k] for k in ("alarm_id", "device_id", "village", "rule", "status", "occurrences")} == {
        "alarm_id": alarm["_id"], "device_id": "loa-01", "village": "Thôn Đông", "rule": "temperature_high",
        "status": "open", "occurrences": 1}


def test_a_repetition_counts_once_per_cause():
    alarm, _ = raised()
    assert alarms.repeated(alarm, "nóng", alarm["cause"], NOW) is None
    change = alarms.repeated(alarm, "nóng hơn", "2026-11-26T07:10:00.000Z", NOW)
    assert change.set["occurrences"] == 2 and change.set["message"] == "nóng hơn"
    assert change.expect == {"status": "open", "occurrences": 1}
    assert change.events[0].name == "alarm_repeated" and change.events[0].payload["occurrences"] == 2


def test_an_operator_takes_an_alarm_on_then_clears_it():
    alarm, _ = raised()
    change = alarms.acknowledged(alarm, OPERATOR, "Đang đi kiểm tra", NOW)
    assert change.set["status"] == "acknowledged" and change.expect == {"status": "open"}
    assert change.set["acknowledged"] == {"at": "2026-11-26T07:00:00.000Z", "by": "op-1", "by_name": "Trần Văn Vận",
                                          "note": "Đang đi kiểm tra"}
    assert change.events[0].name == "alarm_acknowledged" and change.events[0].payload["actor"] == "op-1"
    acknowledged = dict(alarm, **change.set)
    with pytest.raises(Conflict):
        alarms.acknowledged(acknowledged, OPERATOR, "", NOW)
    cleared = alarms.cleared(acknowledged, OPERATOR, "Đã thay quạt", NOW)
    assert cleared.set["status"] == "cleared" and cleared.set["active_key"] == alarm["_id"]
    assert cleared.events[0].name == "alarm_cleared" and cleared.events[0].payload["status"] == "cleared"
    with pytest.raises(Conflict):
        alarms.cleared(dict(acknowledged, **cleared.set), OPERATOR, "", NOW)
    assert alarms.repeated(dict(acknowledged, **cleared.set), "nóng", "later", NOW) is None


def test_the_system_clears_without_an_actor():
    alarm, _ = raised("offline")
    change = alarms.cleared(alarm, alarms.SYSTEM, "Thiết bị đã kết nối lại.", NOW)
    assert change.events[0].payload["actor"] is None and change.set["cleared"]["by"] == "system"
