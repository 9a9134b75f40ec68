"""The _template service's rules, without I/O."""
from services._template import domain

NOW = "2026-05-20T03:00:00.000Z"


def test_a_new_entry_keeps_its_fields_and_who_made_it_when():
    entry = domain.new_entry("e1", {"title": "Lịch tiếp dân", "text": "Thứ Năm hằng tuần"}, "Nguyễn Thị Lan", NOW)
    assert entry == {"entry_id": "e1", "title": "Lịch tiếp dân", "text": "Thứ Năm hằng tuần",
                     "created_by": "Nguyễn Thị Lan", "created_at": NOW, "updated_at": NOW}
