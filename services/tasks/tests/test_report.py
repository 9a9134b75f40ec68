"""Tests for the periodic report (báo cáo kết quả thực hiện kế hoạch).

The report dict is built from the real Xuân Hưng plan (``report_fixtures``).
The DOCX is read back with python-docx and, in the LibreOffice test, turned
into a PDF whose text is checked row by row; the XLSX is read back with
openpyxl. Expected values are spelled out here or taken from the input dict,
never from the renderer's own helpers.
"""

import copy
import io
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook

from services.tasks import report as report_module
from services.tasks.report import render_docx, render_xlsx
from services.tasks.tests.report_fixtures import OVERDUE_CODE, seed_report

NO_DATA = "chưa có dữ liệu"


def collapse(text):
    return re.sub(r"\s+", " ", text).strip()


def rows_of(report):
    return [task for part in report["parts"] for task in part["tasks"]]


@pytest.fixture(scope="module")
def report():
    return seed_report()


@pytest.fixture(scope="module")
def docx_bytes(report):
    return render_docx(report)


@pytest.fixture(scope="module")
def document(docx_bytes):
    return Document(io.BytesIO(docx_bytes))


@pytest.fixture(scope="module")
def workbook(report):
    return load_workbook(io.BytesIO(render_xlsx(report)))


def task_tables(document):
    return [t for t in document.tables if t.rows[0].cells[0].text == "TT" and len(t.columns) == 6]


def indicator_table(document):
    return next(t for t in document.tables if [c.text for c in t.rows[0].cells] == ["TT", "Chỉ số", "Kết quả"])


def paragraph_texts(document):
    return [p.text for p in document.paragraphs]


# --- The fixture itself --------------------------------------------------------


def test_fixture_is_the_whole_seed_plan_with_every_status(report):
    rows = rows_of(report)
    assert len(rows) == 38
    codes = [r["code"] for r in rows]
    leaves = [c for c in codes if not any(other.startswith(c + ".") for other in codes)]
    assert report["summary"]["total"] == sum(report["summary"]["by_status"].values()) == len(leaves) == 26
    assert [p["code"] for p in report["parts"]] == ["I", "II"]
    assert {r["status"] for r in rows} == set(report["status_labels"])
    assert all(report["summary"]["by_status"].values())
    assert [r["code"] for r in rows if r["overdue"]] == [OVERDUE_CODE]
    assert sum(1 for i in report["indicators"] if i["value"] is None) == 3


# --- Wording -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2026-11-26", "Xuân Hưng, ngày 26 tháng 11 năm 2026"),
        ("2026-02-05", "Xuân Hưng, ngày 05 tháng 02 năm 2026"),  # zero before months 1 and 2
        ("2026-03-09", "Xuân Hưng, ngày 09 tháng 3 năm 2026"),
    ],
)
def test_place_date_line_follows_decree_30(iso, expected):
    document = Document(io.BytesIO(render_docx(seed_report(date=iso))))
    header = document.tables[0]
    assert header.rows[1].cells[1].text == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [("", "Số:      /BC-UBND"), ("127/BC-UBND", "Số: 127/BC-UBND")],
)
def test_number_line_leaves_a_blank_for_the_clerk(number, expected):
    document = Document(io.BytesIO(render_docx(seed_report(number=number))))
    assert document.tables[0].rows[1].cells[0].text == expected


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ({"kind": "quarter", "label": "Quý IV năm 2026", "start": "2026-10-01", "end": "2026-12-31"},
         "(Kỳ báo cáo: Quý IV năm 2026, từ 01/10/2026 đến 31/12/2026)"),
        ({"kind": "half_year", "label": "6 tháng đầu năm 2026", "start": "2026-01-01", "end": "2026-06-30"},
         "(Kỳ báo cáo: 6 tháng đầu năm 2026, từ 01/01/2026 đến 30/06/2026)"),
        ({"kind": "year", "label": "Năm 2026", "start": None, "end": None}, "(Kỳ báo cáo: Năm 2026)"),
        # an ad hoc label that already carries its dates is not dated twice
        ({"kind": "adhoc", "label": "Từ 01/10/2026 đến 15/11/2026", "start": "2026-10-01", "end": "2026-11-15"},
         "(Kỳ báo cáo: Từ 01/10/2026 đến 15/11/2026)"),
    ],
)
def test_period_line(period, expected):
    texts = paragraph_texts(Document(io.BytesIO(render_docx(seed_report(period=period)))))
    assert texts[texts.index("BÁO CÁO") + 2] == expected


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [
        ({"value": 0.83, "unit": "percent"}, "83,0%"),
        ({"value": 0.0, "unit": "percent"}, "0,0%"),
        ({"value": 1284, "unit": "count"}, "1.284"),
        ({"value": 0, "unit": "count"}, "0"),
        ({"value": 212.5, "unit": "hours"}, "212,5 giờ"),
        ({"value": 1500, "unit": "hours"}, "1.500 giờ"),
        ({"value": None, "unit": "percent"}, NO_DATA),
        ({"value": None, "unit": "count"}, NO_DATA),
        ({"value": None, "unit": "hours"}, NO_DATA),
    ],
)
def test_indicator_values_in_vietnamese_notation(indicator, expected):
    indicators = [{"key": "k", "label": "Chỉ số thử", **indicator}]
    table = indicator_table(Document(io.BytesIO(render_docx(seed_report(indicators=indicators)))))
    assert [c.text for c in table.rows[1].cells] == ["1", "Chỉ số thử", expected]


def test_summary_sentence_uses_decimal_commas():
    summary = {"total": 38, "by_status": {"done": 3, "in_progress": 5, "not_started": 30}, "percent_done": 7.9}
    texts = paragraph_texts(Document(io.BytesIO(render_docx(seed_report(summary=summary)))))
    assert "Tổng số 38 nhiệm vụ; chưa thực hiện 30 (78,9%); đang thực hiện 5 (13,2%); hoàn thành 3 (7,9%)." in texts


def test_summary_states_the_callers_completion_rate_when_it_differs():
    summary = {"total": 38, "by_status": {"done": 3, "not_started": 35}, "percent_done": 12.5}
    texts = paragraph_texts(Document(io.BytesIO(render_docx(seed_report(summary=summary)))))
    assert "Tổng số 38 nhiệm vụ; chưa thực hiện 35 (92,1%); hoàn thành 3 (7,9%). Tỷ lệ hoàn thành: 12,5%." in texts


# --- DOCX structure --------------------------------------------------------------


def test_page_is_a4_portrait_with_decree_30_margins(document):
    section = document.sections[0]
    measured = [round(length.mm, 1) for length in (
        section.page_width, section.page_height,
        section.top_margin, section.bottom_margin, section.left_margin, section.right_margin,
    )]
    assert measured == [210.0, 297.0, 20.0, 15.0, 30.0, 20.0]


def test_times_new_roman_in_every_script_slot_and_vietnamese_language(document):
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    assert {slot: fonts.get(qn(f"w:{slot}")) for slot in ("ascii", "hAnsi", "eastAsia", "cs")} == dict.fromkeys(
        ("ascii", "hAnsi", "eastAsia", "cs"), "Times New Roman"
    )
    assert not [name for name in fonts.attrib if name.endswith("Theme")]  # a theme font would win
    assert defaults.find(qn("w:lang")).get(qn("w:val")) == "vi-VN"
    sizes = {run.font.size.pt for p in document.paragraphs for run in p.runs if run.font.size}
    sizes |= {document.styles["Normal"].font.size.pt}
    assert sizes <= {13, 14}  # body text: 13–14 pt


def test_core_properties(document, report):
    properties = document.core_properties
    assert properties.title == f"BÁO CÁO {report['subtitle']}"
    assert properties.language == "vi-VN"
    assert properties.author == "ỦY BAN NHÂN DÂN XÃ XUÂN HƯNG"
    assert properties.created == datetime(2026, 11, 26, tzinfo=timezone.utc)


def test_header_is_a_borderless_two_column_table(document):
    header = document.tables[0]
    borders = header._tbl.tblPr.find(qn("w:tblBorders"))
    assert {edge.get(qn("w:val")) for edge in borders} == {"nil"}
    left, right = header.rows[0].cells
    assert [p.text for p in left.paragraphs if p.text] == ["UBND TỈNH NINH BÌNH", "ỦY BAN NHÂN DÂN", "XÃ XUÂN HƯNG"]
    assert [p.text for p in right.paragraphs if p.text] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    bold = {p.text: all(r.bold for r in p.runs) for cell in (left, right) for p in cell.paragraphs if p.text}
    assert bold == {
        "UBND TỈNH NINH BÌNH": False,
        "ỦY BAN NHÂN DÂN": True,
        "XÃ XUÂN HƯNG": True,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM": True,
        "Độc lập - Tự do - Hạnh phúc": True,
    }
    # each side ends with its short rule: an empty paragraph with a top border
    for cell in (left, right):
        rule = cell.paragraphs[-1]
        assert rule.text == "" and rule._p.pPr.find(qn("w:pBdr")).find(qn("w:top")) is not None
    assert header.rows[1].cells[1].paragraphs[0].runs[0].italic


def test_header_without_a_parent_body(report):
    changed = seed_report(issuing_body={"parent": "", "name": "ỦY BAN NHÂN DÂN XÃ XUÂN HƯNG"})
    left = Document(io.BytesIO(render_docx(changed))).tables[0].rows[0].cells[0]
    assert [p.text for p in left.paragraphs if p.text] == ["ỦY BAN NHÂN DÂN", "XÃ XUÂN HƯNG"]


def test_title_block_and_sections_in_order(document, report):
    texts = [t for t in paragraph_texts(document) if t]
    expected = [
        "BÁO CÁO",
        report["subtitle"],
        "(Kỳ báo cáo: Quý IV năm 2026, từ 01/10/2026 đến 31/12/2026)",
        "I. KẾT QUẢ THỰC HIỆN",
        "1. Nhiệm vụ thông tin cơ sở",
        "2. Nhiệm vụ thông tin đối ngoại",
        "II. CÁC CHỈ SỐ HOẠT ĐỘNG",
        "III. ĐỀ XUẤT, KIẾN NGHỊ",
    ]
    positions = [texts.index(text) for text in expected]
    assert positions == sorted(positions)
    assert texts[-1].endswith("./.")


def test_one_task_table_per_part_with_every_row_in_order(document, report):
    tables = task_tables(document)
    assert len(tables) == len(report["parts"])
    for table, part in zip(tables, report["parts"]):
        header, *rows = table.rows
        assert [c.text for c in header.cells] == [
            "TT", "Nhiệm vụ", "Cơ quan chủ trì", "Thời gian thực hiện", "Trạng thái", "Kết quả",
        ]
        repeat = header._tr.trPr.find(qn("w:tblHeader"))
        assert repeat is not None and repeat.get(qn("w:val")) == "true"
        assert len(rows) == len(part["tasks"])
        for row, task in zip(rows, part["tasks"]):
            code, title, lead, timeline, status, result = (c.text for c in row.cells)
            assert (code, title, lead) == (task["code"], task["title"], task["lead_agency"])
            status_lines = status.split("\n")
            assert status_lines[0] == report["status_labels"][task["status"]]
            assert ("(quá hạn)" in status_lines) == task["overdue"]
            assert timeline.split("\n")[0] == (task["timeline"] or "")
            assert result == task["result"]


def test_group_rows_bold_and_task_rows_plain(document, report):
    for table, part in zip(task_tables(document), report["parts"]):
        for row, task in zip(table.rows[1:], part["tasks"]):
            runs = [r for p in row.cells[1].paragraphs for r in p.runs]
            assert all(bool(r.bold) == (task["level"] <= 1) for r in runs), task["code"]


def test_task_table_is_bordered_with_fixed_widths(document):
    table = task_tables(document)[0]
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert {edge.get(qn("w:val")) for edge in borders} == {"single"}
    widths = [int(col.get(qn("w:w"))) for col in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert round(sum(widths) / 56.7) == 160  # the text width in mm (twips / 56.7)


def test_null_indicators_read_no_data_never_zero(document, report):
    table = indicator_table(document)
    assert len(table.rows) - 1 == len(report["indicators"])
    for row, indicator in zip(table.rows[1:], report["indicators"]):
        label, value = row.cells[1].text, row.cells[2].text
        assert label == indicator["label"]
        if indicator["value"] is None:
            assert value == NO_DATA
        else:
            assert value != NO_DATA and re.search(r"\d", value)


def test_empty_proposals_leave_a_line_of_dots():
    document = Document(io.BytesIO(render_docx(seed_report(proposals=""))))
    texts = paragraph_texts(document)
    after = texts[texts.index("III. ĐỀ XUẤT, KIẾN NGHỊ") + 1]
    assert re.fullmatch(r"\.{40,}", after)


def test_multi_paragraph_proposals_keep_their_paragraphs(report, document):
    texts = paragraph_texts(document)
    start = texts.index("III. ĐỀ XUẤT, KIẾN NGHỊ") + 1
    assert texts[start : start + 2] == report["proposals"].split("\n")


def test_closing_block_recipients_and_signature(document, report):
    closing = document.tables[-1]
    recipients, signature = closing.rows[0].cells
    lines = [p.text for p in recipients.paragraphs]
    assert lines == ["Nơi nhận:"] + [f"- {r}" for r in report["recipients"]]
    heading = recipients.paragraphs[0].runs[0]
    assert heading.bold and heading.italic
    assert all(r.font.size.pt == 11 for p in recipients.paragraphs[1:] for r in p.runs)
    filled = [p for p in signature.paragraphs if p.text]
    assert [p.text for p in filled] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Đỗ Văn Minh"]
    assert all(r.bold for p in filled for r in p.runs)
    blank = len(signature.paragraphs) - len(filled)
    assert blank >= 3  # room for the signature and the seal


def test_signer_without_delegation_prints_only_given_lines():
    signer = {"on_behalf": "TM. ỦY BAN NHÂN DÂN", "deputy": "", "title": "CHỦ TỊCH", "name": "Nguyễn Văn An"}
    closing = Document(io.BytesIO(render_docx(seed_report(signer=signer)))).tables[-1]
    filled = [p.text for p in closing.rows[0].cells[1].paragraphs if p.text]
    assert filled == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Nguyễn Văn An"]


def test_property_elements_in_schema_order(docx_bytes):
    """Word refuses a document whose property elements are out of order."""
    body = Document(io.BytesIO(docx_bytes)).element
    for tag, order in (
        ("w:tblPr", report_module._TBLPR_ORDER),
        ("w:pPr", report_module._PPR_ORDER),
        ("w:trPr", report_module._TRPR_ORDER),
        ("w:rPr", report_module._RPR_ORDER),
    ):
        for element in body.iter(qn(tag)):
            indexes = [order.index(child.tag) for child in element]
            assert indexes == sorted(indexes), element.xml[:300]


def test_hostile_text_is_stored_as_text():
    report = seed_report()
    task = report["parts"][0]["tasks"][2]
    task["title"] = "=HYPERLINK(\"http://x\")\x07 Nhiệm vụ"
    document = Document(io.BytesIO(render_docx(report)))
    assert task_tables(document)[0].rows[3].cells[1].text == "=HYPERLINK(\"http://x\") Nhiệm vụ"
    sheet = load_workbook(io.BytesIO(render_xlsx(report)))["Nhiệm vụ"]
    cell = sheet.cell(row=4 + 2, column=2)
    assert cell.value == "=HYPERLINK(\"http://x\") Nhiệm vụ" and cell.data_type == "s"


def test_input_dict_is_not_changed(report):
    before = copy.deepcopy(report)
    render_docx(report)
    render_xlsx(report)
    assert report == before


# --- XLSX --------------------------------------------------------------------------


def test_workbook_sheets(workbook):
    assert workbook.sheetnames == ["Nhiệm vụ", "Chỉ số", "Tổng hợp"]
    assert workbook.properties.language == "vi-VN"


def test_task_sheet_has_the_same_rows_as_the_input(workbook, report):
    sheet = workbook["Nhiệm vụ"]
    assert sheet["A2"].value == "Kỳ báo cáo: Quý IV năm 2026, từ 01/10/2026 đến 31/12/2026"
    header = [c.value for c in sheet[3]]
    assert header == [
        "Mã", "Nhiệm vụ", "Cơ quan chủ trì", "Thời gian thực hiện", "Hạn",
        "Trạng thái", "Tiến độ (%)", "Kết quả", "Quá hạn",
    ]
    assert sheet.freeze_panes == "A4"
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    expected = rows_of(report)
    assert [(r[0], r[5]) for r in rows] == [(t["code"], report["status_labels"][t["status"]]) for t in expected]
    for row, task in zip(rows, expected):
        assert row[1] == task["title"]
        assert row[4] == (datetime.fromisoformat(task["due"]) if task["due"] else None)
        assert row[6] == task["progress"]
        assert row[8] == ("Có" if task["overdue"] else "Không")
    assert sheet.column_dimensions["B"].width >= 40
    assert sheet.cell(row=4, column=2).alignment.wrap_text
    assert sheet.cell(row=4, column=1).font.b and not sheet.cell(row=6, column=1).font.b  # "I" vs "I.1.1"
    assert sheet.cell(row=6, column=5).number_format == "DD/MM/YYYY"


def test_docx_and_xlsx_print_the_same_rows(document, workbook):
    docx_codes = [row.cells[0].text for table in task_tables(document) for row in table.rows[1:]]
    xlsx_codes = [row[0] for row in workbook["Nhiệm vụ"].iter_rows(min_row=4, values_only=True)]
    assert docx_codes == xlsx_codes


def test_indicator_sheet_leaves_unmeasured_values_empty(workbook, report):
    sheet = workbook["Chỉ số"]
    assert [c.value for c in sheet[3]] == ["Mã", "Chỉ số", "Giá trị", "Đơn vị", "Ghi chú"]
    rows = list(sheet.iter_rows(min_row=4))
    assert len(rows) == len(report["indicators"])
    for row, indicator in zip(rows, report["indicators"]):
        key, label, value, _, note = row
        assert (key.value, label.value) == (indicator["key"], indicator["label"])
        if indicator["value"] is None:
            assert value.value is None and note.value == NO_DATA
        else:
            assert value.value == indicator["value"] and note.value is None
    formats = {row[0].value: row[2].number_format for row in rows}
    assert formats["devices_online_share"] == "0.0%"
    assert formats["broadcasts"] == "#,##0"


def test_summary_sheet_counts_by_status(workbook, report):
    rows = {r[0]: r for r in workbook["Tổng hợp"].iter_rows(min_row=4, values_only=True)}
    for status, label in report["status_labels"].items():
        count = report["summary"]["by_status"].get(status, 0)
        assert rows[status][1:3] == (label, count)
        assert rows[status][3] == pytest.approx(count / report["summary"]["total"])
    assert rows["total"][2] == report["summary"]["total"]
    assert rows["percent_done"][3] == pytest.approx(report["summary"]["percent_done"] / 100)


# --- Through LibreOffice -------------------------------------------------------------


def _tool(*names):
    return next((path for path in map(shutil.which, names) if path), None)


@pytest.fixture(scope="module")
def pdf(docx_bytes, tmp_path_factory):
    """The DOCX converted by LibreOffice headless; its layout text and fonts.
    Skipped on a workstation without LibreOffice or poppler; never in CI."""
    soffice, pdftotext, pdffonts = _tool("soffice", "libreoffice"), _tool("pdftotext"), _tool("pdffonts")
    if not (soffice and pdftotext and pdffonts):
        message = "LibreOffice (soffice) and poppler-utils (pdftotext, pdffonts) are needed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("report-pdf")
    source = folder / "bao-cao.docx"
    source.write_bytes(docx_bytes)
    subprocess.run(
        [soffice, f"-env:UserInstallation={(folder / 'lo-profile').as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(folder), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    target = folder / "bao-cao.pdf"
    assert target.exists(), "LibreOffice wrote no PDF"
    text = subprocess.run([pdftotext, "-layout", str(target), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    fonts = subprocess.run([pdffonts, str(target)], check=True, capture_output=True, text=True, timeout=60).stdout
    return {"text": text, "lines": text.splitlines(), "fonts": fonts}


def test_pdf_has_the_administrative_header_and_closing(pdf, report):
    text = collapse(pdf["text"])
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND TỈNH NINH BÌNH",
        "ỦY BAN NHÂN DÂN",
        "XÃ XUÂN HƯNG",
        "Số: /BC-UBND",
        "Xuân Hưng, ngày 26 tháng 11 năm 2026",
        "BÁO CÁO",
        collapse(report["subtitle"]),
        "(Kỳ báo cáo: Quý IV năm 2026, từ 01/10/2026 đến 31/12/2026)",
        "I. KẾT QUẢ THỰC HIỆN",
        "II. CÁC CHỈ SỐ HOẠT ĐỘNG",
        "III. ĐỀ XUẤT, KIẾN NGHỊ",
        "Nơi nhận:",
        "TM. ỦY BAN NHÂN DÂN",
        "KT. CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        "Đỗ Văn Minh",
    ):
        assert expected in text
    for recipient in report["recipients"]:
        assert f"- {recipient}" in text
    lines = [line for line in pdf["lines"] if line.strip()]
    # two columns: issuing body beside the national name, number beside the date
    assert "UBND TỈNH NINH BÌNH" in lines[0] and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in lines[0]
    assert any("Số:" in line and "Xuân Hưng, ngày 26" in line for line in lines[:8])
    assert any("Nơi nhận:" in line and "TM. ỦY BAN NHÂN DÂN" in line for line in lines)


def test_pdf_lists_every_task_in_order_with_its_status(pdf, report):
    lines = pdf["lines"]
    position = 0
    for task in rows_of(report):
        pattern = re.compile(rf"^\s*{re.escape(task['code'])}\s")
        found = next((i for i in range(position, len(lines)) if pattern.match(lines[i])), None)
        assert found is not None, f"row {task['code']} missing or out of order"
        label = report["status_labels"][task["status"]]
        assert label in lines[found], f"{task['code']}: «{label}» not on its row: {lines[found]!r}"
        position = found + 1
    assert pdf["text"].count("(quá hạn)") == sum(t["overdue"] for t in rows_of(report))


def test_pdf_prints_no_data_for_unmeasured_indicators(pdf, report):
    nulls = [i for i in report["indicators"] if i["value"] is None]
    assert pdf["text"].count(NO_DATA) == len(nulls)
    for indicator in report["indicators"]:
        line = next(line for line in pdf["lines"] if indicator["label"] in line)
        value = line.split(indicator["label"], 1)[1]
        if indicator["value"] is None:
            assert collapse(value) == NO_DATA and not re.search(r"\d", value)
        else:
            assert NO_DATA not in value and re.search(r"\d", value)
    assert re.search(r"Tỷ lệ thiết bị truyền thanh hoạt động\s+83,0%", pdf["text"])


def test_pdf_text_is_set_in_one_times_compatible_family(pdf):
    """Vietnamese letters missing from the chosen font would come out in a
    fallback face (DejaVu …); every font in the PDF must be the Times family
    or its metric twin (Liberation Serif, Tinos)."""
    names = [line.split()[0] for line in pdf["fonts"].splitlines()[2:] if line.strip()]
    assert names
    assert all(re.search(r"Times|LiberationSerif|Tinos", name) for name in names), names
