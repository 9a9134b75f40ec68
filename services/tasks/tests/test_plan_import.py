"""Tests for the appendix parser, checked against the real Xuân Hưng 2026 plan.

Where possible the expectations are read off the raw document with a separate,
deliberately naive reader (``raw_rows``) so the parser is not checked against
itself; the hard cases (rows cut by page breaks, group rows with an unnumbered
text row) are spelled out from the document by hand.
"""

import re
import unicodedata
from pathlib import Path

import pytest

from services.tasks.plan_import import PlanFormatError, parse_plan_text, parse_table_parts

# the repo keeps a copy of the handbook's seed plan (../shared/domain/) for `make up`
SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt"


@pytest.fixture(scope="module")
def seed_text():
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def plan(seed_text):
    return parse_plan_text(seed_text)


@pytest.fixture(scope="module")
def by_code(plan):
    return {task.code: task for task in plan.tasks}


def raw_rows(text):
    """Data rows of the appendix as lists of stripped cells, headers dropped."""
    rows = []
    for line in text[text.index("\nPhụ lục\n") :].splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "TT" or set("".join(cells)) <= {"-"}:
            continue
        rows.append(cells)
    return rows


def numbered_codes(rows):
    """Full code of each raw row that has a number in the TT column (else None)."""
    codes, part = [], None
    for cells in rows:
        number = cells[0]
        if re.fullmatch(r"[IVX]+", number):
            part = number
            codes.append(number)
        else:
            codes.append(f"{part}.{number}" if number else None)
    return codes


# --- The seed plan, checked against its raw table ---------------------------


def test_every_number_in_the_table_is_exactly_one_task(seed_text, plan):
    expected = [code for code in numbered_codes(raw_rows(seed_text)) if code]
    codes = [task.code for task in plan.tasks]
    assert len(codes) == len(expected) == 38
    assert set(codes) == set(expected)
    assert codes == expected  # document order


def test_no_cell_text_is_lost(seed_text, plan, by_code):
    rows = raw_rows(seed_text)
    for code, (_, text, lead, coordinating, timeline) in zip(numbered_codes(rows), rows):
        candidates = [by_code[code]] if code else plan.tasks
        for cell, field_of in (
            (text, lambda t: t.title + "\n" + t.details),
            (lead, lambda t: t.lead_agency),
            (coordinating, lambda t: t.coordinating_agencies),
            (timeline, lambda t: t.timeline),
        ):
            if cell:
                assert any(cell in field_of(t) for t in candidates), (code, cell)


def test_plan_title_and_no_problems(plan):
    assert plan.title == (
        "NHIỆM VỤ THỰC HIỆN CÔNG TÁC THÔNG TIN CƠ SỞ VÀ THÔNG TIN ĐỐI NGOẠI "
        "XÃ XUÂN HƯNG NĂM 2026"
    )
    assert plan.problems == []


def test_order_follows_the_document(plan):
    assert [task.order for task in plan.tasks] == list(range(len(plan.tasks)))


# --- Hard cases read off the document ----------------------------------------


def test_group_with_text_row_cut_by_page_break_i_3(by_code):
    task = by_code["I.3"]
    assert task.title.startswith("Vận hành Hệ thống thông tin nguồn xã kết nối")
    assert task.details.startswith("Sử dụng hệ thống thông tin nguồn của xã")
    assert "thiết yếu và quản lý, giám sát, đánh giá" in task.details
    assert task.details.endswith("Bảng điện tử công cộng)")
    assert task.lead_agency == "Phòng Văn hoá – Xã hội"
    assert task.coordinating_agencies == "Các cơ quan, đơn vị có liên quan"
    assert task.timeline == "Năm 2026 và những năm tiếp theo"


def test_number_on_continuation_row_i_6_1(by_code):
    task = by_code["I.6.1"]
    assert task.title.startswith("Tổ chức các lớp tập huấn, bồi dưỡng nghiệp vụ")
    assert "vận hành đài truyền thanh ứng dụng công nghệ thông tin" in task.title
    assert task.details == ""
    assert task.lead_agency == "Phòng Văn hóa – Xã hội"
    assert task.coordinating_agencies == "Trung tâm dịch vụ sự nghiệp công"
    assert task.timeline == "Năm 2026"


def test_i_6_stays_a_bare_group(by_code):
    task = by_code["I.6"]
    assert task.title.startswith("Tổ chức tập huấn bồi dưỡng nghiệp vụ")
    assert task.title.endswith("cho người làm công tác thông tin cơ sở")
    assert task.details == task.lead_agency == task.coordinating_agencies == task.timeline == ""


def test_group_with_text_row_i_7(by_code):
    task = by_code["I.7"]
    assert task.title == "Tổ chức các hoạt động thông tin, tuyên truyền ở cơ sở"
    assert task.details.startswith("Tổ chức tuyên truyền các nghị quyết, chỉ thị của Đảng")
    assert task.lead_agency == "Văn phòng HĐND – UBND"
    assert task.coordinating_agencies == "Phòng Văn hóa – Xã hội"
    assert task.timeline == "Thường xuyên trong năm 2026"


def test_only_i_3_and_i_7_have_details(plan):
    assert {task.code for task in plan.tasks if task.details} == {"I.3", "I.7"}


def test_numbered_row_cut_by_page_break_ii_2_4(by_code):
    task = by_code["II.2.4"]
    assert "dân chủ nhân quyền, dân tộc tôn giáo, chủ quyền lãnh thổ." in task.title
    assert task.details == ""
    assert task.lead_agency == "VP HĐND - UBND, các Phòng ban liên quan"
    assert task.coordinating_agencies == "Phòng Văn hóa – Xã hội và các đơn vị liên quan"
    assert task.timeline == "Năm 2026"


@pytest.mark.parametrize(
    "code, lead, coordinating, timeline",
    [
        ("I.1.1", "Phòng Văn hoá – Xã hội", "Các cơ quan, đơn vị có liên quan", "Quý IV/2026"),
        (
            "I.1.2",
            "Phòng Văn hoá – Xã hội",
            "Các cơ quan, đơn vị có liên quan",
            "Sau khi có hướng dẫn của Sở Văn hóa, Thể thao và Du lịch",
        ),
        ("II.1.1", "Phòng Văn hóa – Xã hội", "Các cơ quan, đơn vị có liên quan", ""),
        ("II.2.5", "UBND xã", "", ""),
        (
            "II.5.3",
            "Phòng Văn hóa – Xã hội",
            "VP HĐND- UBND- các Phòng, ban liên quan",
            "Các năm tiếp theo",
        ),
    ],
)
def test_agencies_and_timelines_verbatim(by_code, code, lead, coordinating, timeline):
    task = by_code[code]
    assert (task.lead_agency, task.coordinating_agencies, task.timeline) == (
        lead,
        coordinating,
        timeline,
    )


def test_parent_codes(plan, by_code):
    assert by_code["I.6.1"].parent_code == "I.6"
    assert by_code["I.6"].parent_code == "I"
    assert by_code["I"].parent_code is None
    assert by_code["II.2.4"].parent_code == "II.2"
    seen = set()
    for task in plan.tasks:  # every parent stands earlier in the document
        assert task.parent_code is None or task.parent_code in seen, task.code
        seen.add(task.code)


def test_nfd_input_gives_the_same_nfc_result(seed_text, plan):
    decomposed = unicodedata.normalize("NFD", seed_text)
    assert decomposed != seed_text
    again = parse_plan_text(decomposed)
    assert again == plan
    for task in again.tasks:
        for value in (task.title, task.details, task.lead_agency, task.timeline):
            assert unicodedata.is_normalized("NFC", value)


# --- Small synthetic tables ---------------------------------------------------

HEADER = (
    "Phụ lục\nDANH MỤC NHIỆM VỤ\n\n"
    "| TT | NHIỆM VỤ CỤ THỂ | CHỦ TRÌ | PHỐI HỢP | THỜI GIAN |\n"
    "|---|---|---|---|---|\n"
)
PAGE_BREAK = "\n| | | | | |\n|--|--|--|--|--|\n"


def test_text_without_table_raises():
    with pytest.raises(PlanFormatError, match="Phụ lục"):
        parse_plan_text("KẾ HOẠCH\nCông tác thông tin cơ sở năm 2026\n")


def test_appendix_heading_without_rows_raises():
    with pytest.raises(PlanFormatError):
        parse_plan_text(HEADER)


def test_duplicated_code_is_reported():
    plan = parse_plan_text(
        HEADER
        + "| I | PHẦN MỘT | | | |\n"
        + "| 1 | Việc một | Phòng A | | Năm 2026 |\n"
        + "| 1 | Việc một lần nữa | Phòng B | | Năm 2026 |\n"
    )
    assert [task.code for task in plan.tasks] == ["I", "I.1", "I.1"]
    assert any("I.1" in problem and "trùng" in problem for problem in plan.problems)


def test_unattachable_unnumbered_row_is_reported():
    plan = parse_plan_text(
        HEADER
        + "| I | PHẦN MỘT | | | |\n"
        + "| 1 | Việc một | Phòng A | | Năm 2026 |\n"
        + "| | Việc không số | Phòng B | Phòng C | Quý I/2026 |\n"
    )
    assert [task.code for task in plan.tasks] == ["I", "I.1"]
    assert any("Việc không số" in problem for problem in plan.problems)


def test_loose_spacing_short_rows_and_page_break():
    plan = parse_plan_text(
        HEADER
        + "|I|PHẦN MỘT|\n"
        + "|  1  |Việc một, phần|Phòng Văn hoá –|   |Năm 2026 và|\n"
        + PAGE_BREAK
        + "|    |tiếp theo của việc một|Xã hội||những năm tiếp theo|\n"
        + "|2|Việc hai|Phòng B\n"
    )
    assert (plan.title, plan.problems) == ("DANH MỤC NHIỆM VỤ", [])
    one, two = plan.tasks[1:]
    assert (one.code, one.title, one.lead_agency, one.coordinating_agencies, one.timeline) == (
        "I.1",
        "Việc một, phần tiếp theo của việc một",
        "Phòng Văn hoá – Xã hội",
        "",
        "Năm 2026 và những năm tiếp theo",
    )
    assert (two.code, two.title, two.lead_agency, two.timeline) == (
        "I.2",
        "Việc hai",
        "Phòng B",
        "",
    )


def test_two_numbered_rows_across_a_page_break_stay_two_tasks():
    plan = parse_plan_text(
        HEADER
        + "| I | PHẦN MỘT | | | |\n"
        + "| 1 | Việc một | Phòng A | | Năm 2026 |\n"
        + PAGE_BREAK
        + "| 2 | eGov: triển khai dịch vụ công | Phòng B | | Năm 2026 |\n"
    )
    assert [task.code for task in plan.tasks] == ["I", "I.1", "I.2"]
    assert plan.tasks[1].title == "Việc một"


def test_capitalised_row_after_a_page_break_is_not_a_continuation():
    plan = parse_plan_text(
        HEADER
        + "| I | PHẦN MỘT | | | |\n"
        + "| 1 | Nhóm một | | | |\n"
        + PAGE_BREAK
        + "| | Tổ chức việc một | Phòng A | | Năm 2026 |\n"
    )
    group = plan.tasks[1]
    assert (group.code, group.title, group.details, group.lead_agency) == (
        "I.1",
        "Nhóm một",
        "Tổ chức việc một",
        "Phòng A",
    )


# --- The shared table logic, on abstract parts ---------------------------------


def table(text):
    """The pipe rows of a small appendix as parts (blank lines cut parts)."""
    return [
        [[cell.strip() for cell in line.strip("|").split("|")] for line in block.splitlines()]
        for block in text.strip().split("\n\n")
    ]


def test_the_text_parser_is_the_table_parser_on_the_seed_parts(seed_text, plan):
    appendix = seed_text[seed_text.index("\n| TT |") :]
    parts = [
        [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block.splitlines()
         if not set(line) <= set("|- ")]
        for block in appendix.strip().split("\n\n")
    ]
    assert len(parts) == 7
    assert parse_table_parts(parts, plan.title) == plan


def test_parts_rows_are_merged_across_a_part_boundary():
    parts = table(
        "| I | PHẦN MỘT | | | |\n| 1 | Việc một, phần | Phòng A | | Năm 2026 và |\n\n"
        "| | tiếp theo | | | những năm tiếp theo |"
    )
    plan = parse_table_parts(parts, "TIÊU ĐỀ")
    assert (plan.title, plan.problems) == ("TIÊU ĐỀ", [])
    assert (plan.tasks[1].title, plan.tasks[1].timeline) == (
        "Việc một, phần tiếp theo",
        "Năm 2026 và những năm tiếp theo",
    )


def test_a_header_row_inside_a_part_starts_a_new_page():
    parts = table(
        "| I | PHẦN MỘT | | | |\n| 1 | Việc một, phần | Phòng A | | |\n"
        "| TT | NHIỆM VỤ | CHỦ TRÌ | PHỐI HỢP | THỜI GIAN |\n| | tiếp theo | | | Năm 2026 |"
    )
    task = parse_table_parts(parts, "").tasks[1]
    assert (task.title, task.timeline) == ("Việc một, phần tiếp theo", "Năm 2026")


def test_cells_are_padded_normalised_and_long_rows_reported():
    decomposed = unicodedata.normalize("NFD", "Phòng Văn hóa")
    parts = [[["I", "PHẦN"], ["1", "Việc", f" {decomposed} ", "", "Năm 2026", "Ghi chú thừa"]]]
    plan = parse_table_parts(parts, "")
    assert plan.tasks[0].lead_agency == ""
    assert plan.tasks[1].lead_agency == "Phòng Văn hóa"
    assert [p for p in plan.problems if "6 cột" in p and "Ghi chú thừa" in p]


@pytest.mark.parametrize("parts", [[], [[]], [[["TT", "NHIỆM VỤ", "", "", ""]], [["", "", "", "", ""]]]])
def test_parts_without_rows_raise(parts):
    with pytest.raises(PlanFormatError, match="không có dòng nhiệm vụ"):
        parse_table_parts(parts, "")


# --- Missing codes --------------------------------------------------------------


def problems_of(rows):
    return parse_table_parts(table(rows), "").problems


def test_gap_among_siblings_is_reported():
    problems = problems_of(
        "| I | PHẦN | | | |\n| 1 | Nhóm | | | |\n| 1.1 | Việc | A | | Năm 2026 |\n| 1.3 | Việc | A | | Năm 2026 |"
    )
    assert problems == ["Thiếu mục I.1.2: số thứ tự trong mục I.1 bị ngắt quãng."]


def test_a_run_of_missing_codes_is_one_problem():
    problems = problems_of("| I | PHẦN | | | |\n| 1 | Việc | A | | |\n| 999999999 | Việc | A | | |")
    assert problems == ["Thiếu các mục I.2 đến I.999999998: số thứ tự trong mục I bị ngắt quãng."]


def test_numbering_that_does_not_start_at_one_is_reported():
    problems = problems_of("| I | PHẦN | | | |\n| 2 | Việc | A | | Năm 2026 |\n| 3 | Việc | A | | Năm 2026 |")
    assert problems == ["Thiếu mục I.1: số thứ tự trong mục I bị ngắt quãng."]


def test_a_child_without_its_parent_is_reported_once():
    problems = problems_of(
        "| I | PHẦN | | | |\n| 1 | Việc | A | | Năm 2026 |\n"
        "| 2.1 | Việc | A | | Năm 2026 |\n| 2.2 | Việc | A | | Năm 2026 |"
    )
    assert problems == ["Thiếu mục I.2: nhiệm vụ I.2.1 không có mục cha."]


def test_a_missing_roman_part_is_reported():
    problems = problems_of("| I | MỘT | | | |\n| 1 | Việc | A | | |\n| III | BA | | | |\n| 1 | Việc | A | | |")
    assert problems == ["Thiếu phần II: số thứ tự các phần La Mã bị ngắt quãng."]
    problems = problems_of("| I | MỘT | | | |\n| V | NĂM | | | |")
    assert problems == ["Thiếu các phần II đến IV: số thứ tự các phần La Mã bị ngắt quãng."]


def test_rows_out_of_order_are_not_missing():
    problems = problems_of(
        "| I | PHẦN | | | |\n| 1 | Nhóm | | | |\n| 1.2 | Việc | A | | |\n| 1.1 | Việc | A | | |"
    )
    assert problems == []


def test_a_parent_after_its_child_is_reported():
    problems = problems_of(
        "| I | PHẦN | | | |\n| 1.1 | Việc | A | | |\n| 1 | Nhóm | | | |"
    )
    assert problems == ["Nhiệm vụ I.1.1 đứng trước mục cha I.1 của nó."]


def test_the_seed_with_a_row_lost_reports_it(seed_text):
    lines = seed_text.splitlines()
    kept = [line for line in lines if not line.startswith("| 4.2 | Chủ động phối hợp")]
    assert len(kept) == len(lines) - 1
    assert parse_plan_text("\n".join(kept)).problems == ["Thiếu mục II.4.2: số thứ tự trong mục II.4 bị ngắt quãng."]
