"""Timeline phrases as officials write them, and what each one means."""

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from services.tasks.plan_import import parse_plan_text
from services.tasks.timeline import KINDS, Schedule, due_after_guidance, interpret

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt"
PLAN_YEAR = 2026

# Every distinct timeline phrase of the seed plan: kind, start, due, condition.
SEED_PHRASES = {
    "Quý IV/2026": ("quarter", date(2026, 10, 1), date(2026, 12, 31), None),
    "Năm 2026": ("year", date(2026, 1, 1), date(2026, 12, 31), None),
    "Thường xuyên trong năm 2026": ("recurring", date(2026, 1, 1), date(2026, 12, 31), None),
    "Năm 2026 và những năm tiếp theo": ("open_ended", date(2026, 1, 1), None, None),
    "Các năm tiếp theo": ("open_ended", date(2027, 1, 1), None, None),
    "Sau khi có hướng dẫn của Sở Văn hóa, Thể thao và Du lịch": (
        "conditional",
        None,
        None,
        "hướng dẫn của Sở Văn hóa, Thể thao và Du lịch",
    ),
    "": ("blank", None, None, None),
}

OTHER_PHRASES = {
    "Quý 4 năm 2026": ("quarter", date(2026, 10, 1), date(2026, 12, 31), None),
    "quý I/2026": ("quarter", date(2026, 1, 1), date(2026, 3, 31), None),
    "Quý II/2027": ("quarter", date(2027, 4, 1), date(2027, 6, 30), None),
    "Trong quý III/2026": ("quarter", date(2026, 7, 1), date(2026, 9, 30), None),
    "Quý III - IV/2026": ("quarter", date(2026, 7, 1), date(2026, 12, 31), None),
    "Quý IV": ("quarter", date(2026, 10, 1), date(2026, 12, 31), None),
    "6 tháng đầu năm 2026": ("half_year", date(2026, 1, 1), date(2026, 6, 30), None),
    "6 tháng cuối năm 2026": ("half_year", date(2026, 7, 1), date(2026, 12, 31), None),
    "Trong năm 2026": ("year", date(2026, 1, 1), date(2026, 12, 31), None),
    "Năm 2027.": ("year", date(2027, 1, 1), date(2027, 12, 31), None),
    "Giai đoạn 2026 - 2030": ("year", date(2026, 1, 1), date(2030, 12, 31), None),
    "Thường xuyên": ("recurring", date(2026, 1, 1), date(2026, 12, 31), None),
    "Thường xuyên, liên tục": ("recurring", date(2026, 1, 1), date(2026, 12, 31), None),
    "Hằng năm": ("recurring", date(2026, 1, 1), date(2026, 12, 31), None),
    "Từ năm 2026 và các năm tiếp theo": ("open_ended", date(2026, 1, 1), None, None),
    "Những năm tiếp theo": ("open_ended", date(2027, 1, 1), None, None),
    "Sau khi Chiến lược được Chính phủ ban hành": (
        "conditional",
        None,
        None,
        "Chiến lược được Chính phủ ban hành",
    ),
    "Khi có hướng dẫn của Bộ Văn hóa, Thể thao và Du lịch.": (
        "conditional",
        None,
        None,
        "hướng dẫn của Bộ Văn hóa, Thể thao và Du lịch",
    ),
    "Trước ngày 30/6/2026": ("date", None, date(2026, 6, 30), None),
    "Trước ngày 15 tháng 9 năm 2026": ("date", None, date(2026, 9, 15), None),
    "Chậm nhất 31/3": ("date", None, date(2026, 3, 31), None),
    "Tháng 5/2026": ("date", date(2026, 5, 1), date(2026, 5, 31), None),
    "Trong tháng 2 năm 2028": ("date", date(2028, 2, 1), date(2028, 2, 29), None),
    "   ": ("blank", None, None, None),
    "–": ("blank", None, None, None),
    "Theo tiến độ chung": ("unrecognised", None, None, None),
    "Quý V/2026": ("unrecognised", None, None, None),
    "Quý IV - II/2026": ("unrecognised", None, None, None),
    "Tháng 13/2026": ("unrecognised", None, None, None),
    "Trước ngày 31/2/2026": ("unrecognised", None, None, None),
    "Năm 2030 - 2026": ("unrecognised", None, None, None),
    "Năm 0000": ("unrecognised", None, None, None),
    "Tháng 0/2026": ("unrecognised", None, None, None),
}


def seed_phrases():
    return {task.timeline for task in parse_plan_text(SEED.read_text(encoding="utf-8")).tasks}


def test_the_table_covers_exactly_the_seed_phrases():
    assert set(SEED_PHRASES) == seed_phrases()


@pytest.mark.parametrize("phrase", sorted(SEED_PHRASES) + sorted(OTHER_PHRASES))
def test_phrase_maps_to_kind_and_dates(phrase):
    kind, start, due, condition = {**SEED_PHRASES, **OTHER_PHRASES}[phrase]
    schedule = interpret(phrase, PLAN_YEAR)
    assert (schedule.kind, schedule.start, schedule.due, schedule.condition) == (kind, start, due, condition)
    assert schedule.original == phrase
    assert schedule.flagged == (kind in ("blank", "unrecognised"))


def test_the_tables_use_every_kind():
    used = {kind for kind, *_ in (*SEED_PHRASES.values(), *OTHER_PHRASES.values())}
    assert used == set(KINDS)


def test_quarter_iv_of_the_seed_is_due_at_the_end_of_the_year():
    assert interpret("Quý IV/2026", PLAN_YEAR).due == date(2026, 12, 31)


@pytest.mark.parametrize(
    "variant",
    ["QUÝ IV/2026", "quý  iv / 2026", "Quy IV/2026", "Quý IV/2026.", "  Quý IV/2026  ", "Quý IV năm 2026"],
)
def test_matching_ignores_accents_case_spacing_and_punctuation(variant):
    schedule = interpret(variant, PLAN_YEAR)
    assert (schedule.kind, schedule.due, schedule.original) == ("quarter", date(2026, 12, 31), variant)


def test_dash_styles_are_the_same():
    for dash in "-–—":
        schedule = interpret(f"Giai đoạn 2026 {dash} 2027", PLAN_YEAR)
        assert (schedule.kind, schedule.due) == ("year", date(2027, 12, 31))


def test_decomposed_input_is_read_and_kept_as_written():
    phrase = unicodedata.normalize("NFD", "Thường xuyên trong năm 2026")
    schedule = interpret(phrase, PLAN_YEAR)
    assert schedule.kind == "recurring"
    assert schedule.original == phrase


def test_condition_keeps_the_spelling_of_the_phrase():
    schedule = interpret("Sau khi có  Hướng dẫn của Sở VHTTDL", PLAN_YEAR)
    assert schedule.condition == "Hướng dẫn của Sở VHTTDL"


def test_the_plan_year_fills_phrases_without_a_year():
    assert interpret("Thường xuyên", 2027).due == date(2027, 12, 31)
    assert interpret("Các năm tiếp theo", 2027).start == date(2028, 1, 1)
    assert interpret("Quý I", 2027).due == date(2027, 3, 31)


def test_none_is_blank():
    schedule = interpret(None, PLAN_YEAR)
    assert (schedule.kind, schedule.original, schedule.flagged) == ("blank", "", True)


def test_to_dict_gives_iso_dates():
    assert interpret("Quý IV/2026", PLAN_YEAR).to_dict() == {
        "original": "Quý IV/2026",
        "kind": "quarter",
        "start": "2026-10-01",
        "due": "2026-12-31",
        "condition": None,
        "flagged": False,
    }
    assert interpret("", PLAN_YEAR).to_dict()["due"] is None


def test_schedule_is_immutable():
    schedule = interpret("Năm 2026", PLAN_YEAR)
    with pytest.raises(AttributeError):
        schedule.due = date(2027, 1, 1)
    assert isinstance(schedule, Schedule)


@pytest.mark.parametrize(
    "received_on, months, due",
    [
        (date(2026, 5, 15), 3, date(2026, 8, 15)),
        (date(2026, 10, 20), 3, date(2027, 1, 20)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2026, 6, 1), 12, date(2027, 6, 1)),
        (date(2026, 6, 1), 0, date(2026, 6, 1)),
    ],
)
def test_due_after_guidance(received_on, months, due):
    assert due_after_guidance(received_on, months) == due


def test_due_after_guidance_defaults_to_three_months():
    assert due_after_guidance(date(2026, 4, 10)) == date(2026, 7, 10)


def test_due_after_guidance_refuses_negative_months():
    with pytest.raises(ValueError):
        due_after_guidance(date(2026, 4, 10), -1)
