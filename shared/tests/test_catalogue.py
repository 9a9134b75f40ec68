"""The event catalogue document and the code agree."""
import re
from pathlib import Path

import pytest

from shared.events import CATALOGUE, make_event
from shared.errors import InvalidInput

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"
ROW = re.compile(r"^\| `(\w+)\.(\w+)` \| (\d+) \| (\w+)[^|]*\| ([^|]+) \|", re.M)


def documented():
    return {(m[1], m[2]): (int(m[3]), m[4], tuple(c.strip() for c in m[5].split(","))) for m in ROW.finditer(DOC.read_text(encoding="utf-8"))}


def test_every_event_is_documented_with_its_version_producer_and_consumers():
    in_code = {key: (e.version, e.source, e.consumers) for key, e in CATALOGUE.items()}
    assert documented() == in_code


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_schema_has_the_envelope(key):
    fields = CATALOGUE[key].schema().fields
    for name in ("event_id", "commune_id", "occurred_at", "schema_version"):
        assert fields[name].required


def test_make_event_fills_the_envelope_and_refuses_a_payload_that_does_not_fit():
    event = make_event("tasks", "plan_imported", "xuan-hung", plan_id="p", title="Kế hoạch", task_count=3)
    assert len(event["event_id"]) == 32 and event["schema_version"] == 1 and event["occurred_at"].endswith("Z")
    with pytest.raises(InvalidInput):
        make_event("tasks", "plan_imported", "xuan-hung", plan_id="p", title="x", task_count="many")
    with pytest.raises(InvalidInput):
        make_event("tasks", "plan_imported", "xuan-hung", plan_id="p", title="x", task_count=1, surprise=True)
