"""The .docx reader: the seed plan rendered as Word gives the text's tasks;
Word's merges, repeated headers and split tables; bad files get a readable
error."""

import io
import unicodedata
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from services.tasks import docx_import
from services.tasks.docx_import import parse_plan_docx
from services.tasks.plan_import import PlanFormatError, parse_plan_text
from services.tasks.tests.plan_docx import render_seed_docx

SEED = Path(__file__).resolve().parents[3] / "deploy" / "seed" / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt"
HEADER = ["TT", "NHIỆM VỤ CỤ THỂ", "CƠ QUAN CHỦ TRÌ", "CƠ QUAN PHỐI HỢP", "THỜI GIAN THỰC HIỆN"]
NOT_DOCX = "không phải là tài liệu Word"


@pytest.fixture(scope="module")
def seed_text():
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def text_plan(seed_text):
    return parse_plan_text(seed_text)


def document_xml(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def save(document):
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def appendix(*tables, before=("Phụ lục", "DANH MỤC NHIỆM VỤ", "")):
    """A document with the given paragraphs, then each table (a list of rows;
    a row is a list of cell texts) separated by a page break."""
    document = docx.Document()
    for line in before:
        document.add_paragraph(line)
    for number, rows in enumerate(tables):
        if number:
            document.add_page_break()
        add_table(document, rows)
    return document


def add_table(document, rows):
    table = document.add_table(rows=len(rows), cols=max(len(row) for row in rows))
    for row, values in zip(table.rows, rows):
        for cell, value in zip(row.cells, values):
            cell.text = value
    return table


# --- The seed plan --------------------------------------------------------------


@pytest.mark.parametrize("single_table", [False, True], ids=["table-per-page", "one-table-repeated-header"])
def test_seed_docx_gives_the_same_tasks_as_the_text(seed_text, text_plan, single_table):
    plan = parse_plan_docx(render_seed_docx(seed_text, single_table=single_table))
    assert plan.tasks == text_plan.tasks
    assert plan.title == text_plan.title
    assert plan.problems == text_plan.problems == []


@pytest.mark.parametrize("single_table", [False, True])
def test_the_rendered_seed_uses_words_merges(seed_text, single_table):
    xml = document_xml(render_seed_docx(seed_text, single_table=single_table))
    assert xml.count("<w:tbl>") == (1 if single_table else 7)
    assert xml.count('<w:vMerge w:val="restart"/>') == 2  # I.3 and I.7 over their text rows
    assert xml.count("<w:vMerge/>") == 2
    assert xml.count('<w:gridSpan w:val="4"/>') == 2  # the part rows I and II
    assert xml.count("<w:tblHeader/>") == 1
    assert xml.count(">TT<") == 7  # a header row on every page part


def test_python_docx_alone_would_duplicate_merged_cells(seed_text):
    # why the reader works on the XML: the cell API repeats a merged cell
    document = docx.Document(io.BytesIO(render_seed_docx(seed_text)))
    codes = [row.cells[0].text for row in document.tables[0].rows]
    assert codes.count("3") == 2
    assert [cell.text for cell in document.tables[0].rows[1].cells][1:] == ["NHIỆM VỤ THÔNG TIN CƠ SỞ"] * 4


# --- Word's table shapes ------------------------------------------------------------


def test_headerless_page_right_after_the_table_continues_it():
    document = appendix(
        [HEADER, ["I", "PHẦN", "", "", ""], ["1", "Việc một, phần", "Phòng A", "", "Năm 2026 và"]],
        [["", "tiếp theo", "", "", "những năm tiếp theo"], ["2", "Việc hai", "Phòng B", "", "Năm 2026"]],
    )
    plan = parse_plan_docx(save(document))
    assert [task.code for task in plan.tasks] == ["I", "I.1", "I.2"]
    assert (plan.tasks[1].title, plan.tasks[1].timeline) == ("Việc một, phần tiếp theo", "Năm 2026 và những năm tiếp theo")


def test_a_table_after_text_is_not_part_of_the_task_table():
    document = appendix([HEADER, ["I", "PHẦN", "", "", ""], ["1", "Việc một", "Phòng A", "", "Năm 2026"]])
    document.add_paragraph("Nơi nhận:")
    add_table(document, [["- Như trên;", "TM. ỦY BAN NHÂN DÂN"], ["- Lưu: VT.", "CHỦ TỊCH"]])
    plan = parse_plan_docx(save(document))
    assert [task.code for task in plan.tasks] == ["I", "I.1"]
    assert plan.problems == []


def test_tables_before_the_appendix_are_ignored():
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH")
    add_table(document, [["ỦY BAN NHÂN DÂN XÃ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]])
    document.add_paragraph("Phụ lục")
    document.add_paragraph("DANH MỤC")
    add_table(document, [HEADER, ["I", "PHẦN", "", "", ""]])
    plan = parse_plan_docx(save(document))
    assert (plan.title, [task.code for task in plan.tasks]) == ("DANH MỤC", ["I"])


def test_lead_and_timeline_merged_over_numbered_rows_belong_to_each():
    document = appendix([
        HEADER,
        ["I", "PHẦN", "", "", ""],
        ["1", "Việc một", "Phòng A", "Các đơn vị", "Năm 2026"],
        ["2", "Việc hai", "", "", ""],
        ["3", "Việc ba", "Phòng C", "", "Quý IV/2026"],
    ])
    table = document.tables[0]
    for column in (2, 4):
        table.cell(2, column).merge(table.cell(3, column))
    plan = parse_plan_docx(save(document))
    two = plan.tasks[2]
    assert (two.code, two.lead_agency, two.coordinating_agencies, two.timeline) == ("I.2", "Phòng A", "", "Năm 2026")
    assert (plan.tasks[3].lead_agency, plan.tasks[3].timeline) == ("Phòng C", "Quý IV/2026")


def test_a_merged_task_text_is_not_duplicated():
    document = appendix([
        HEADER,
        ["I", "PHẦN", "", "", ""],
        ["1", "Nhóm một", "", "", ""],
        ["", "", "Phòng A", "", "Năm 2026"],
    ])
    table = document.tables[0]
    table.cell(2, 0).merge(table.cell(3, 0))
    table.cell(2, 1).merge(table.cell(3, 1))
    plan = parse_plan_docx(save(document))
    group = plan.tasks[1]
    # the lower half of the merged text cell is the same text: the row below
    # brings only the group's lead and timeline
    assert (group.code, group.title, group.details) == ("I.1", "Nhóm một", "")
    assert (group.lead_agency, group.timeline) == ("Phòng A", "Năm 2026")
    assert plan.problems == []


def test_text_left_in_a_merge_continuation_cell_is_ignored():
    # some converters copy the merged text into every covered cell
    document = appendix([
        HEADER,
        ["I", "PHẦN", "", "", ""],
        ["1", "Nhóm một", "", "", ""],
        ["1", "Tổ chức việc một", "Phòng A", "", "Năm 2026"],
    ])
    table = document.tables[0]
    for row, value in ((2, "restart"), (3, "continue")):
        merge = OxmlElement("w:vMerge")
        merge.set(qn("w:val"), value)
        table.cell(row, 0)._tc.get_or_add_tcPr().append(merge)
    plan = parse_plan_docx(save(document))
    assert [task.code for task in plan.tasks] == ["I", "I.1"]
    assert (plan.tasks[1].details, plan.problems) == ("Tổ chức việc một", [])


def test_two_row_header_with_merged_cells():
    document = appendix([
        ["STT", "Nội dung nhiệm vụ", "Cơ quan thực hiện", "", "Thời gian"],
        ["", "", "Chủ trì", "Phối hợp", ""],
        ["I", "PHẦN", "", "", ""],
        ["1", "Việc một", "Phòng A", "Phòng B", "Năm 2026"],
    ])
    table = document.tables[0]
    table.cell(0, 2).merge(table.cell(0, 3))
    for column in (0, 1, 4):
        table.cell(0, column).merge(table.cell(1, column))
    plan = parse_plan_docx(save(document))
    task = plan.tasks[1]
    assert (task.lead_agency, task.coordinating_agencies, task.timeline) == ("Phòng A", "Phòng B", "Năm 2026")


def test_columns_in_another_order_and_an_extra_column():
    document = appendix([
        ["TT", "Nhiệm vụ", "Thời gian thực hiện", "Đơn vị chủ trì", "Đơn vị phối hợp", "Ghi chú"],
        ["I", "PHẦN", "", "", "", ""],
        ["1", "Việc một", "Quý I/2026", "Phòng A", "Phòng B", "đã có kinh phí"],
    ])
    plan = parse_plan_docx(save(document))
    task = plan.tasks[1]
    assert (task.title, task.lead_agency, task.coordinating_agencies, task.timeline) == (
        "Việc một", "Phòng A", "Phòng B", "Quý I/2026",
    )
    assert plan.problems == ["Bảng nhiệm vụ có cột «Ghi chú» ngoài năm cột của bảng; nội dung cột này không được nhập."]


def test_header_rows_are_skipped_where_they_repeat():
    numbering = ["(1)", "(2)", "(3)", "(4)", "(5)"]
    document = appendix([
        HEADER,
        numbering,
        ["I", "PHẦN", "", "", ""],
        ["1", "Việc một, phần", "Phòng A", "", "Năm 2026"],
        ["tt", "nhiệm vụ", "chủ trì", "phối hợp", "thời gian"],  # retyped on the next page
        numbering,
        ["", "tiếp theo", "", "", ""],
        ["2", "Việc hai", "Phòng B", "", "Năm 2026"],
    ])
    for index in (0, 1):  # the header block Word repeats on each page
        document.tables[0].rows[index]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    plan = parse_plan_docx(save(document))
    assert [task.code for task in plan.tasks] == ["I", "I.1", "I.2"]
    assert plan.tasks[1].title == "Việc một, phần tiếp theo"  # the retyped header marked a page break
    assert plan.problems == []


def test_paragraphs_runs_tabs_and_line_breaks_in_a_cell():
    document = appendix([HEADER, ["I", "PHẦN", "", "", ""], ["1", "", "", "", "Năm 2026"]])
    cell = document.tables[0].cell(2, 1)
    cell.paragraphs[0].add_run("Việc ")
    cell.paragraphs[0].add_run("một,").bold = True
    cell.paragraphs[0].add_run().add_break()
    cell.add_paragraph("phần\thai  ")
    lead = document.tables[0].cell(2, 2)
    lead.text = unicodedata.normalize("NFD", "Phòng Văn hóa – Xã hội")
    plan = parse_plan_docx(save(document))
    assert plan.tasks[1].title == "Việc một, phần hai"
    assert plan.tasks[1].lead_agency == "Phòng Văn hóa – Xã hội"


def test_deleted_revisions_are_not_read():
    document = appendix([HEADER, ["I", "PHẦN", "", "", ""], ["1", "Việc một", "", "", "Năm 2026"]])
    paragraph = document.tables[0].cell(2, 1).paragraphs[0]
    deleted = OxmlElement("w:del")
    run = OxmlElement("w:r")
    text = OxmlElement("w:delText")
    text.text = " (bỏ)"
    run.append(text)
    deleted.append(run)
    paragraph._p.append(deleted)
    assert parse_plan_docx(save(document)).tasks[1].title == "Việc một"


def test_title_is_empty_without_an_appendix_heading():
    document = appendix([HEADER, ["I", "PHẦN", "", "", ""]], before=("KẾ HOẠCH",))
    plan = parse_plan_docx(save(document))
    assert (plan.title, [task.code for task in plan.tasks]) == ("", ["I"])


def test_title_spans_paragraphs_until_the_note():
    document = appendix(
        [HEADER, ["I", "PHẦN", "", "", ""]],
        before=("PHỤ LỤC I", "NHIỆM VỤ THÔNG TIN CƠ SỞ", "NĂM 2026", "(Kèm theo Kế hoạch số …)"),
    )
    assert parse_plan_docx(save(document)).title == "NHIỆM VỤ THÔNG TIN CƠ SỞ NĂM 2026"


def test_row_problems_come_from_the_shared_rules():
    document = appendix([HEADER, ["I", "PHẦN", "", "", ""], ["1", "Việc", "A", "", ""], ["3", "Việc", "A", "", ""]])
    assert parse_plan_docx(save(document)).problems == ["Thiếu mục I.2: số thứ tự trong mục I bị ngắt quãng."]


# --- Bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a document at all",
        "Phụ lục\n| TT | NHIỆM VỤ |".encode("utf-8"),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ],
    ids=["empty", "text", "plan-text-bytes", "pdf"],
)
def test_bytes_that_are_not_a_docx(data):
    with pytest.raises(PlanFormatError, match=NOT_DOCX):
        parse_plan_docx(data)


def test_a_truncated_docx(seed_text):
    data = render_seed_docx(seed_text)
    with pytest.raises(PlanFormatError, match=NOT_DOCX):
        parse_plan_docx(data[: len(data) // 2])


def test_a_docx_with_a_damaged_document_part(seed_text):
    source = zipfile.ZipFile(io.BytesIO(render_seed_docx(seed_text)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info, content[:-200] if info.filename == "word/document.xml" else content)
    with pytest.raises(PlanFormatError, match=NOT_DOCX):
        parse_plan_docx(out.getvalue())


def test_a_zip_that_is_not_a_word_document():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "xin chào")
    with pytest.raises(PlanFormatError, match=NOT_DOCX):
        parse_plan_docx(out.getvalue())


def test_an_excel_workbook():
    workbook = openpyxl.Workbook()
    workbook.active.append(HEADER)
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(PlanFormatError, match=NOT_DOCX):
        parse_plan_docx(out.getvalue())


def test_an_old_word_document_gets_advice():
    with pytest.raises(PlanFormatError, match=r"\.doc.*lưu lại dưới dạng \.docx"):
        parse_plan_docx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)


def test_too_big_a_file_is_refused_before_reading():
    with pytest.raises(PlanFormatError, match="quá lớn"):
        parse_plan_docx(b"PK" + b"\0" * (10 * 1024 * 1024))


def test_a_docx_that_inflates_too_far_is_refused(seed_text, monkeypatch):
    monkeypatch.setattr(docx_import, "MAX_UNZIPPED_BYTES", 1024 * 1024)
    source = zipfile.ZipFile(io.BytesIO(render_seed_docx(seed_text)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr("word/media/padding.bin", b"\0" * (2 * 1024 * 1024))
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(PlanFormatError, match="giải nén ra quá lớn"):
        parse_plan_docx(out.getvalue())


def test_a_docx_without_a_table():
    document = docx.Document()
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Phụ lục")
    with pytest.raises(PlanFormatError, match=r"^Không tìm thấy bảng nhiệm vụ \(Phụ lục\) trong tài liệu\.$"):
        parse_plan_docx(save(document))


def test_a_docx_with_an_unknown_header_says_what_it_found():
    document = appendix([["STT", "Nội dung", "Ghi chú"], ["1", "Việc một", ""]])
    with pytest.raises(PlanFormatError) as raised:
        parse_plan_docx(save(document))
    message = str(raised.value)
    assert message.startswith("Không tìm thấy bảng nhiệm vụ (Phụ lục) trong tài liệu.")
    assert "CƠ QUAN CHỦ TRÌ" in message and "«STT | Nội dung | Ghi chú»" in message


def test_a_header_missing_one_column_is_not_a_task_table():
    document = appendix([HEADER[:4], ["I", "PHẦN", "", ""]])
    with pytest.raises(PlanFormatError, match="Không tìm thấy bảng nhiệm vụ"):
        parse_plan_docx(save(document))


def test_a_task_table_with_only_a_header():
    document = appendix([HEADER])
    with pytest.raises(PlanFormatError, match="không có dòng nhiệm vụ"):
        parse_plan_docx(save(document))
