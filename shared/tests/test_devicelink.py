"""Commands to devices are validated before they reach the bus."""
from datetime import datetime, timezone

import pytest

from shared.devicelink import make_command, routing_key
from shared.errors import InvalidInput

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)


def test_a_command_is_addressed_to_one_device_and_expires():
    command = make_command("xuan-hung", "LOA-THON1", "play", {"content_id": "c1", "priority": "emergency"}, now=NOW)
    assert routing_key(command["commune_id"], command["device_id"]) == "xuan-hung.LOA-THON1"
    assert command["params"] == {"content_id": "c1", "title": "", "media_url": "", "priority": "emergency",
                                 "repeat": 1, "gap_seconds": 0, "duration_seconds": 0}
    assert command["issued_at"] == "2026-11-26T06:00:00.000Z" and command["expires_at"] == "2026-11-26T06:10:00.000Z"
    assert len(command["command_id"]) == 32


@pytest.mark.parametrize("commune, device, kind, params, problem", [
    ("xuan-hung", "LOA.1", "stop", {}, "device_id"),
    ("xuan*", "LOA-1", "stop", {}, "commune_id"),
    ("xuan-hung", "LOA-1", "reboot", {}, "kind"),
    ("xuan-hung", "LOA-1", "set_volume", {"volume": 101}, "volume"),
    ("xuan-hung", "LOA-1", "show_text", {"text": ""}, "text"),
    ("xuan-hung", "LOA-1", "play", {"content_id": "c", "priority": "urgent"}, "priority"),
    ("xuan-hung", "LOA-1", "stop", {"surprise": 1}, "surprise"),
])
def test_a_bad_command_is_refused_naming_the_problem(commune, device, kind, params, problem):
    with pytest.raises(InvalidInput) as raised:
        make_command(commune, device, kind, params, now=NOW)
    assert problem in str(raised.value)
