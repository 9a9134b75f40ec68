"""The periodic report of a plan's implementation (báo cáo kết quả thực hiện
kế hoạch) as DOCX and XLSX.

Pure rendering: the caller gathers the tasks, the status summary and the
indicators into one plain dict (see ``render_docx``) and gets bytes back; no
nameko, no store. The DOCX follows the layout of administrative documents in
Decree 30/2020/NĐ-CP: A4 portrait, margins 20/15/30/20 mm, Times New Roman,
a header with the issuing body and the national motto, the number and the
place-date line, the title and its summary line, the body, then "Nơi nhận"
beside the signature block. The XLSX carries the same task rows for
officers who sort and filter.

An indicator whose value is ``None`` has no data source yet: it is printed as
"chưa có dữ liệu" and never as zero, so a report cannot claim that nothing
was broadcast when nothing was measured.
"""

import io
import re
import unicodedata
from datetime import date, datetime

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

NO_DATA = "chưa có dữ liệu"
OVERDUE = "(quá hạn)"
FONT = "Times New Roman"
LANGUAGE = "vi-VN"

TASK_COLUMNS_DOCX = (  # (heading, width in mm); the widths fill the 160 mm text area
    ("TT", 14),
    ("Nhiệm vụ", 48),
    ("Cơ quan chủ trì", 24),
    ("Thời gian thực hiện", 22),
    ("Trạng thái", 30),  # "Đang thực hiện" on one line at 12 pt
    ("Kết quả", 22),
)
INDICATOR_COLUMNS_DOCX = (("TT", 15), ("Chỉ số", 100), ("Kết quả", 45))
TASK_COLUMNS_XLSX = (  # (heading, width in characters)
    ("Mã", 10),
    ("Nhiệm vụ", 60),
    ("Cơ quan chủ trì", 26),
    ("Thời gian thực hiện", 22),
    ("Hạn", 12),
    ("Trạng thái", 18),
    ("Tiến độ (%)", 11),
    ("Kết quả", 45),
    ("Quá hạn", 9),
)
INDICATOR_COLUMNS_XLSX = (("Mã", 26), ("Chỉ số", 50), ("Giá trị", 14), ("Đơn vị", 10), ("Ghi chú", 22))
SUMMARY_COLUMNS_XLSX = (("Mã", 18), ("Trạng thái", 24), ("Số nhiệm vụ", 14), ("Tỷ lệ", 10))

UNIT_LABELS = {"percent": "%", "count": "", "hours": "giờ"}
XLSX_NUMBER_FORMATS = {"percent": "0.0%", "count": "#,##0", "hours": "#,##0.0"}

_PAGE = {"width": 210, "height": 297, "top": 20, "bottom": 15, "left": 30, "right": 20}
_TEXT_WIDTH = _PAGE["width"] - _PAGE["left"] - _PAGE["right"]
_HEADER_WIDTHS = (64, 96)  # issuing body | national motto
_CLOSING_WIDTHS = (75, 85)  # "Nơi nhận" | signature
_BODY_PT, _TABLE_PT, _HEADER_PT, _RECIPIENT_PT = 14, 12, 13, 11
_INDENT = Mm(10)
# schema order of the property elements this module adds (ECMA-376 part 1)
_RPR_ORDER = [qn(t) for t in (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
    "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
    "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
    "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
    "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath")]
_PPR_ORDER = [qn(t) for t in (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
    "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
    "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE",
    "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection",
    "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
    "w:sectPr", "w:pPrChange")]
_TBLPR_ORDER = [qn(t) for t in (
    "w:tblStyle", "w:tblpPr", "w:tblOverlap", "w:bidiVisual", "w:tblStyleRowBandSize",
    "w:tblStyleColBandSize", "w:tblW", "w:jc", "w:tblCellSpacing", "w:tblInd", "w:tblBorders",
    "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription")]
_TRPR_ORDER = [qn(t) for t in (
    "w:cnfStyle", "w:divId", "w:gridBefore", "w:gridAfter", "w:wBefore", "w:wAfter", "w:cantSplit",
    "w:trHeight", "w:tblHeader", "w:tblCellSpacing", "w:jc", "w:hidden")]
# characters XML 1.0 forbids; officers paste task texts from anywhere
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- Shared wording ---------------------------------------------------------


def _clean(value):
    """Text fit for both formats: NFC (Vietnamese marks composed) and no
    characters that XML cannot hold."""
    if value is None:
        return ""
    return _ILLEGAL_XML.sub("", unicodedata.normalize("NFC", str(value)))


def _parse_date(value):
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _dmy(value):
    day = _parse_date(value)
    return day.strftime("%d/%m/%Y") if day else ""


def number_line(number):
    """ "Số: 12/BC-UBND", or the blank the clerk fills in when registering it."""
    number = _clean(number).strip()
    return f"Số: {number}" if number else "Số:      /BC-UBND"


def place_date_line(place, value):
    """ "Xuân Hưng, ngày 05 tháng 3 năm 2026": Decree 30 writes a zero before
    days below 10 and before months 1 and 2 only."""
    day = _parse_date(value)
    if day is None:
        return f"{_clean(place)}, ngày      tháng      năm      "
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{_clean(place)}, ngày {day.day:02d} tháng {month} năm {day.year}"


def period_text(period):
    """ "Kỳ báo cáo: Quý IV năm 2026, từ 01/10/2026 đến 31/12/2026"; an ad hoc
    period whose label already gives both dates is not dated twice."""
    label = _clean(period.get("label")).strip()
    text = f"Kỳ báo cáo: {label}"
    start, end = _dmy(period.get("start")), _dmy(period.get("end"))
    if start and end and not (start in label and end in label):
        text += f", từ {start} đến {end}"
    return text


def vn_number(value, decimals=None):
    """Vietnamese number: "." groups thousands, "," marks decimals."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def vn_percent(share):
    """A fraction (0.83) as "83,0%"."""
    return f"{vn_number(share * 100, 1)}%"


def indicator_text(indicator):
    """The printed value of an indicator; ``None`` is "chưa có dữ liệu"."""
    value = indicator.get("value")
    if value is None:
        return NO_DATA
    unit = indicator.get("unit")
    if unit == "percent":
        return vn_percent(value)
    suffix = UNIT_LABELS.get(unit, _clean(unit))
    return f"{vn_number(value)} {suffix}".strip()


def status_label(report, status):
    return _clean(report.get("status_labels", {}).get(status, status))


def summary_sentence(report):
    """ "Tổng số 38 nhiệm vụ; hoàn thành 3 (7,9%); …" in the order of the status
    labels. ``percent_done`` is the caller's own figure (its basis may differ
    from the row count), so it is stated apart, and only when it differs."""
    summary = report["summary"]
    total = summary.get("total") or 0
    by_status = summary.get("by_status", {})
    order = list(report.get("status_labels", {})) + [s for s in by_status if s not in report.get("status_labels", {})]
    parts = [f"Tổng số {total} nhiệm vụ"]
    for status in order:
        count = by_status.get(status, 0)
        if count:
            share = f" ({vn_percent(count / total)})" if total else ""
            parts.append(f"{_lower_first(status_label(report, status))} {count}{share}")
    sentence = "; ".join(parts) + "."
    done = summary.get("percent_done")
    counted = by_status.get("done", 0) / total * 100 if total else None
    if done is not None and (counted is None or round(done, 1) != round(counted, 1)):
        sentence += f" Tỷ lệ hoàn thành: {vn_number(done, 1)}%."
    return sentence


def task_rows(report):
    """Every row of the report, parts and groups included, in document order;
    the DOCX tables and the XLSX sheet print exactly these."""
    return [task for part in report["parts"] for task in part["tasks"]]


def _lower_first(text):
    """ "Kết quả …" → "kết quả …", but an acronym ("UBND …") stays as it is."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _heading_case(text):
    """Plan parts are titled in capitals ("NHIỆM VỤ THÔNG TIN CƠ SỞ"); a
    sub-heading of the report is written in sentence case."""
    text = _clean(text).strip()
    if text and text == text.upper():
        lowered = text.lower()
        return lowered[:1].upper() + lowered[1:]
    return text


def _closing_sentence(report):
    subject = _lower_first(_clean(report.get("subtitle")).strip()) or "kết quả thực hiện kế hoạch"
    label = _lower_first(_clean(report["period"].get("label")).strip())
    return f"Trên đây là báo cáo {subject}" + (f", {label}" if label else "") + "./."


def _report_datetime(report):
    day = _parse_date(report.get("date"))
    return datetime(day.year, day.month, day.day) if day else None


# --- DOCX -------------------------------------------------------------------


def render_docx(report: dict) -> bytes:
    """The report as a Word document in the Decree 30 layout.

    ``report`` holds: ``issuing_body`` {parent, name}, ``number``, ``place``,
    ``date`` (ISO), ``title``, ``subtitle``, ``period`` {kind, label, start,
    end}, ``plan`` {title, source_name}, ``summary`` {total, by_status,
    percent_done}, ``status_labels``, ``parts`` [{code, title, tasks: [{code,
    level (0 part, 1 group, 2 task), title, lead_agency, timeline, due,
    status, progress, result, overdue}]}], ``indicators`` [{key, label,
    value or None, unit}], ``proposals``, ``recipients`` and ``signer``
    {on_behalf, deputy, title, name}.
    """
    document = Document()
    _setup_page(document)
    _setup_styles(document)
    _core_properties(document, report)

    _header_block(document, report)
    _title_block(document, report)

    _heading(document, "I. KẾT QUẢ THỰC HIỆN")
    _body(document, summary_sentence(report))
    for number, part in enumerate(report["parts"], start=1):
        _heading(document, f"{number}. {_heading_case(part['title'])}", level=2)
        _task_table(document, report, part["tasks"])

    _heading(document, "II. CÁC CHỈ SỐ HOẠT ĐỘNG")
    _body(document, "Số liệu lấy từ hoạt động thực tế của hệ thống trong kỳ báo cáo.")
    _indicator_table(document, report.get("indicators", []))

    _heading(document, "III. ĐỀ XUẤT, KIẾN NGHỊ")
    proposals = [line.strip() for line in _clean(report.get("proposals")).splitlines() if line.strip()]
    for line in proposals or ["." * 150]:
        _body(document, line)
    _body(document, _closing_sentence(report))

    _closing_block(document, report)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _setup_page(document):
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(_PAGE["width"]), Mm(_PAGE["height"])
    section.top_margin, section.bottom_margin = Mm(_PAGE["top"]), Mm(_PAGE["bottom"])
    section.left_margin, section.right_margin = Mm(_PAGE["left"]), Mm(_PAGE["right"])
    section.header_distance, section.footer_distance = Mm(8), Mm(8)
    # Decree 30: pages numbered at the top centre, from the second page on
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _set_fonts(rpr, size=None):
    """Every script slot gets Times New Roman: LibreOffice picks the East
    Asian or complex slot for some Vietnamese letters and would otherwise fall
    back to a font without the marks."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = _insert_ordered(rpr, OxmlElement("w:rFonts"), _RPR_ORDER)
    for name in list(fonts.attrib):
        del fonts.attrib[name]
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    if size is not None:
        for tag in ("w:sz", "w:szCs"):
            element = rpr.find(qn(tag))
            if element is None:
                element = _insert_ordered(rpr, OxmlElement(tag), _RPR_ORDER)
            element.set(qn("w:val"), str(size * 2))


def _insert_ordered(parent, child, order):
    """Insert ``child`` where the schema sequence ``order`` puts it: Word
    rejects a file whose property elements are out of order."""
    tag = child.tag
    position = order.index(tag)
    later = set(order[position + 1 :])
    for existing in parent:
        if existing.tag in later:
            existing.addprevious(child)
            return child
    parent.append(child)
    return child


def _setup_styles(document):
    styles = document.styles.element
    rpr = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr, _BODY_PT)
    lang = rpr.find(qn("w:lang"))
    for slot in ("w:val", "w:eastAsia", "w:bidi"):
        lang.set(qn(slot), LANGUAGE)
    normal = document.styles["Normal"]
    _set_fonts(normal.element.get_or_add_rPr(), _BODY_PT)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0


def _core_properties(document, report):
    properties = document.core_properties
    properties.title = _clean(f"{report.get('title', '')} {report.get('subtitle', '')}").strip()
    properties.subject = period_text(report["period"])
    properties.author = properties.last_modified_by = _clean(report["issuing_body"]["name"])
    properties.language = LANGUAGE
    properties.keywords = "báo cáo; kế hoạch; thông tin cơ sở; thông tin đối ngoại"
    properties.comments = _clean(report.get("plan", {}).get("title"))
    properties.revision = 1
    when = _report_datetime(report)
    if when:
        properties.created = properties.modified = when


def _add_text(paragraph, text, *, bold=False, italic=False, size=None):
    run = paragraph.add_run(_clean(text))
    run.bold, run.italic = bold or None, italic or None
    if size is not None:
        _set_fonts(run._r.get_or_add_rPr(), size)
    return run


def _paragraph(container, text="", *, align=WD_ALIGN_PARAGRAPH.CENTER, size=None, bold=False,
               italic=False, before=0, after=0, first_paragraph=False):
    """A paragraph in the document or a cell (reusing a cell's empty first one)."""
    if first_paragraph:
        paragraph = container.paragraphs[0]
    else:
        paragraph = container.add_paragraph()
    paragraph.alignment = align
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(after)
    if text:
        _add_text(paragraph, text, bold=bold, italic=italic, size=size)
    return paragraph


def _rule(container, length_mm, width_mm):
    """The short solid line under the issuing body, the motto and the title:
    the top border of an empty 1 pt paragraph, centred by its indents (the
    space before keeps LibreOffice from drawing it through the descenders)."""
    paragraph = _paragraph(container, before=3)
    indent = max(width_mm - length_mm, 0) / 2
    paragraph.paragraph_format.left_indent = Mm(indent)
    paragraph.paragraph_format.right_indent = Mm(indent)
    ppr = paragraph._p.get_or_add_pPr()
    borders = _insert_ordered(ppr, OxmlElement("w:pBdr"), _PPR_ORDER)
    top = OxmlElement("w:top")
    for name, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        top.set(qn(name), value)
    borders.append(top)
    mark = _insert_ordered(ppr, OxmlElement("w:rPr"), _PPR_ORDER)
    _set_fonts(mark, size=1)
    return paragraph


def _table(container, widths_mm, *, borders):
    """A fixed-width table; Word reads the cell widths, LibreOffice the grid."""
    table = container.add_table(rows=0, cols=len(widths_mm))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    for column, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_mm):
        column.set(qn("w:w"), str(Mm(width).twips))
    width = tbl_pr.find(qn("w:tblW"))
    width.set(qn("w:w"), str(Mm(sum(widths_mm)).twips))
    width.set(qn("w:type"), "dxa")
    edges = _insert_ordered(tbl_pr, OxmlElement("w:tblBorders"), _TBLPR_ORDER)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        if borders:
            for name, value in (("w:val", "single"), ("w:sz", "4"), ("w:space", "0"), ("w:color", "000000")):
                element.set(qn(name), value)
        else:
            element.set(qn("w:val"), "nil")
        edges.append(element)
    margins = _insert_ordered(tbl_pr, OxmlElement("w:tblCellMar"), _TBLPR_ORDER)
    for edge, mm in (("top", 0.5), ("left", 1.2), ("bottom", 0.5), ("right", 1.2)):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(Mm(mm).twips))
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    return table


def _add_row(table, widths_mm, *, header=False, keep_together=False):
    row = table.add_row()
    for cell, width in zip(row.cells, widths_mm):
        cell.width = Mm(width)
    tr_pr = row._tr.get_or_add_trPr()
    if keep_together:
        _insert_ordered(tr_pr, OxmlElement("w:cantSplit"), _TRPR_ORDER)
    if header:  # repeated at the top of every page the table runs onto
        repeat = _insert_ordered(tr_pr, OxmlElement("w:tblHeader"), _TRPR_ORDER)
        repeat.set(qn("w:val"), "true")
    return row


def _header_block(document, report):
    """Issuing body beside the national motto, each with its rule; the number
    beside the place-date line on the row below, so the two share a baseline."""
    body = report["issuing_body"]
    left_mm, right_mm = _HEADER_WIDTHS
    table = _table(document, _HEADER_WIDTHS, borders=False)
    left, right = _add_row(table, _HEADER_WIDTHS).cells

    lines = [(line, False) for line in [_clean(body.get("parent")).strip()] if line]
    lines += [(line, True) for line in _issuing_lines(body["name"])]
    for index, (line, bold) in enumerate(lines):
        _paragraph(left, line, size=_HEADER_PT, bold=bold, first_paragraph=index == 0)
    _rule(left, 22, left_mm)

    _paragraph(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True, first_paragraph=True)
    _paragraph(right, "Độc lập - Tự do - Hạnh phúc", size=_BODY_PT, bold=True)
    _rule(right, 62, right_mm)

    number, place_date = _add_row(table, _HEADER_WIDTHS).cells
    _paragraph(number, number_line(report.get("number")), size=_HEADER_PT, first_paragraph=True, before=4)
    _paragraph(place_date, place_date_line(report.get("place"), report.get("date")), size=_BODY_PT,
               italic=True, first_paragraph=True, before=4)


def _issuing_lines(name):
    """A commune committee's name fills two lines in the header, broken the
    way clerks break it ("ỦY BAN NHÂN DÂN" / "XÃ XUÂN HƯNG"); a name that
    already carries line breaks keeps them."""
    name = _clean(name).strip()
    if "\n" in name:
        return [line.strip() for line in name.splitlines() if line.strip()]
    for prefix in ("ỦY BAN NHÂN DÂN ", "UỶ BAN NHÂN DÂN "):
        if name.upper().startswith(prefix) and len(name) > 24:
            return [name[: len(prefix)].strip(), name[len(prefix):].strip()]
    return [name]


def _title_block(document, report):
    _paragraph(document, report.get("title", "BÁO CÁO"), size=_BODY_PT, bold=True, before=18)
    _paragraph(document, report.get("subtitle"), size=_BODY_PT, bold=True)
    _paragraph(document, f"({period_text(report['period'])})", size=_BODY_PT, italic=True)
    _rule(document, 50, _TEXT_WIDTH)
    _paragraph(document, after=6)


def _heading(document, text, level=1):
    paragraph = _paragraph(document, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, bold=True, before=6, after=6)
    paragraph.paragraph_format.first_line_indent = _INDENT
    paragraph.paragraph_format.keep_with_next = True
    if level == 2:
        paragraph.paragraph_format.space_before = Pt(3)
    return paragraph


def _body(document, text):
    paragraph = _paragraph(document, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=6)
    paragraph.paragraph_format.first_line_indent = _INDENT
    paragraph.paragraph_format.line_spacing = 1.15
    return paragraph


def _cell_lines(cell, lines, *, align=WD_ALIGN_PARAGRAPH.LEFT, bold=False, italic=False,
                size=_TABLE_PT):
    """Write lines into a cell, one paragraph each; ``lines`` items are text
    or (text, {"bold": …, "italic": …})."""
    first = True
    for line in lines:
        text, style = line if isinstance(line, tuple) else (line, {})
        _paragraph(cell, text, align=align, size=size, bold=style.get("bold", bold),
                   italic=style.get("italic", italic), first_paragraph=first)
        first = False


def _header_row(table, columns):
    widths = [width for _, width in columns]
    row = _add_row(table, widths, header=True)
    for cell, (heading, _) in zip(row.cells, columns):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        _cell_lines(cell, [heading], align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)


def _task_table(document, report, tasks):
    widths = [width for _, width in TASK_COLUMNS_DOCX]
    table = _table(document, widths, borders=True)
    _header_row(table, TASK_COLUMNS_DOCX)
    for task in tasks:
        row = _add_row(table, widths)
        group = task.get("level", 2) <= 1
        code, title, lead, timeline, status, result = row.cells
        centre = WD_ALIGN_PARAGRAPH.CENTER
        _cell_lines(code, [task["code"]], align=centre, bold=group)
        _cell_lines(title, [task.get("title")], bold=group)
        _cell_lines(lead, [task.get("lead_agency")], align=centre)
        _cell_lines(timeline, _timeline_lines(task), align=centre)
        _cell_lines(status, _status_lines(report, task), align=centre)
        _cell_lines(result, _clean(task.get("result")).splitlines() or [""], align=WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph(document, after=6)


def _timeline_lines(task):
    lines = [task.get("timeline") or ""]
    if task.get("due"):
        lines.append((f"Hạn: {_dmy(task['due'])}", {"italic": True}))
    return [line for line in lines if line] or [""]


def _status_lines(report, task):
    lines = [status_label(report, task.get("status"))]
    progress = task.get("progress")
    if task.get("status") == "in_progress" and progress is not None:
        lines.append(f"(đạt {vn_number(progress)}%)")
    if task.get("overdue"):
        lines.append((OVERDUE, {"bold": True, "italic": True}))
    return lines


def _indicator_table(document, indicators):
    widths = [width for _, width in INDICATOR_COLUMNS_DOCX]
    table = _table(document, widths, borders=True)
    _header_row(table, INDICATOR_COLUMNS_DOCX)
    for number, indicator in enumerate(indicators, start=1):
        cells = _add_row(table, widths).cells
        _cell_lines(cells[0], [str(number)], align=WD_ALIGN_PARAGRAPH.CENTER)
        _cell_lines(cells[1], [indicator.get("label")])
        missing = indicator.get("value") is None
        _cell_lines(cells[2], [indicator_text(indicator)], align=WD_ALIGN_PARAGRAPH.CENTER, italic=missing)
    _paragraph(document, after=6)


def _closing_block(document, report):
    table = _table(document, _CLOSING_WIDTHS, borders=False)
    recipients_cell, signature = _add_row(table, _CLOSING_WIDTHS, keep_together=True).cells

    _paragraph(recipients_cell, "Nơi nhận:", align=WD_ALIGN_PARAGRAPH.LEFT, size=12, bold=True,
               italic=True, first_paragraph=True, before=6)
    for recipient in report.get("recipients", []):
        _paragraph(recipients_cell, f"- {_clean(recipient).strip()}", align=WD_ALIGN_PARAGRAPH.LEFT,
                   size=_RECIPIENT_PT)

    signer = report["signer"]
    first = True
    for key in ("on_behalf", "deputy", "title"):
        line = _clean(signer.get(key)).strip()
        if line:
            _paragraph(signature, line, size=_BODY_PT, bold=True, first_paragraph=first, before=6 if first else 0)
            first = False
    for _ in range(4):  # room for the signature and the seal
        _paragraph(signature, size=_BODY_PT, first_paragraph=first)
        first = False
    _paragraph(signature, signer.get("name"), size=_BODY_PT, bold=True)


# --- XLSX -------------------------------------------------------------------

_THIN = Side(style="thin", color="000000")
_GRID = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_HEADER_ALIGN = Alignment(wrap_text=True, horizontal="center", vertical="center")


def render_xlsx(report: dict) -> bytes:
    """The report as a workbook: "Nhiệm vụ" (one row per task, exactly the
    rows of the DOCX tables), "Chỉ số" (indicators; an unmeasured one has an
    empty value and the note "chưa có dữ liệu") and "Tổng hợp" (tasks by
    status). Each sheet: title row, period row, header row, then data."""
    workbook = Workbook()
    _workbook_properties(workbook, report)
    tasks = workbook.active
    tasks.title = "Nhiệm vụ"
    _task_sheet(tasks, report)
    _indicator_sheet(workbook.create_sheet("Chỉ số"), report)
    _summary_sheet(workbook.create_sheet("Tổng hợp"), report)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _workbook_properties(workbook, report):
    properties = workbook.properties
    properties.title = _clean(f"{report.get('title', '')} {report.get('subtitle', '')}").strip()
    properties.subject = period_text(report["period"])
    properties.creator = properties.lastModifiedBy = _clean(report["issuing_body"]["name"])
    properties.language = LANGUAGE
    when = _report_datetime(report)
    if when:
        properties.created = properties.modified = when


def _put(sheet, row, column, value, *, font=None, alignment=_WRAP_TOP, number_format=None, border=_GRID):
    """Write a cell; text is always stored as text, so a task titled
    "=…" can never become a formula."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _clean(value)
        cell.data_type = "s"
    else:
        cell.value = value
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    if number_format:
        cell.number_format = number_format
    if border is not None:
        cell.border = border
    return cell


def _sheet_top(sheet, report, heading, columns):
    """Title, period and header rows; frozen under the header; printable."""
    last = get_column_letter(len(columns))
    _put(sheet, 1, 1, heading, font=Font(name=FONT, size=13, bold=True), border=None,
         alignment=Alignment(horizontal="center", vertical="center", wrap_text=True))
    sheet.merge_cells(f"A1:{last}1")
    sheet.row_dimensions[1].height = 36
    _put(sheet, 2, 1, period_text(report["period"]), font=Font(name=FONT, size=12, italic=True),
         border=None, alignment=Alignment(horizontal="center"))
    sheet.merge_cells(f"A2:{last}2")
    for column, (title, width) in enumerate(columns, start=1):
        _put(sheet, 3, column, title, font=Font(name=FONT, size=12, bold=True), alignment=_HEADER_ALIGN)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "3:3"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _task_sheet(sheet, report):
    heading = _clean(f"{report.get('title', '')}: {report.get('subtitle', '')}").strip(": ")
    _sheet_top(sheet, report, heading, TASK_COLUMNS_XLSX)
    for row, task in enumerate(task_rows(report), start=4):
        font = Font(name=FONT, size=12, bold=task.get("level", 2) <= 1)
        values = (
            (task["code"], None),
            (task.get("title") or "", None),
            (task.get("lead_agency") or "", None),
            (task.get("timeline") or "", None),
            (_parse_date(task.get("due")), "DD/MM/YYYY"),
            (status_label(report, task.get("status")), None),
            (task.get("progress"), "0"),
            (task.get("result") or "", None),
            ("Có" if task.get("overdue") else "Không", None),
        )
        for column, (value, number_format) in enumerate(values, start=1):
            _put(sheet, row, column, value, font=font, number_format=number_format)
    if sheet.max_row > 3:
        sheet.auto_filter.ref = f"A3:{get_column_letter(len(TASK_COLUMNS_XLSX))}{sheet.max_row}"


def _indicator_sheet(sheet, report):
    _sheet_top(sheet, report, "Các chỉ số hoạt động", INDICATOR_COLUMNS_XLSX)
    font = Font(name=FONT, size=12)
    for row, indicator in enumerate(report.get("indicators", []), start=4):
        unit = indicator.get("unit")
        value = indicator.get("value")
        _put(sheet, row, 1, indicator.get("key") or "", font=font)
        _put(sheet, row, 2, indicator.get("label") or "", font=font)
        _put(sheet, row, 3, value, font=font, number_format=XLSX_NUMBER_FORMATS.get(unit))
        _put(sheet, row, 4, UNIT_LABELS.get(unit, _clean(unit)), font=font)
        _put(sheet, row, 5, NO_DATA if value is None else "", font=Font(name=FONT, size=12, italic=True))


def _summary_sheet(sheet, report):
    _sheet_top(sheet, report, "Tổng hợp nhiệm vụ theo trạng thái", SUMMARY_COLUMNS_XLSX)
    summary = report["summary"]
    total = summary.get("total") or 0
    by_status = summary.get("by_status", {})
    labels = report.get("status_labels", {})
    statuses = list(labels) + [s for s in by_status if s not in labels]
    font, bold = Font(name=FONT, size=12), Font(name=FONT, size=12, bold=True)
    row = 4
    for status in statuses:
        count = by_status.get(status, 0)
        _put(sheet, row, 1, status, font=font)
        _put(sheet, row, 2, status_label(report, status), font=font)
        _put(sheet, row, 3, count, font=font, number_format="0")
        _put(sheet, row, 4, count / total if total else None, font=font, number_format="0.0%")
        row += 1
    _put(sheet, row, 1, "total", font=bold)
    _put(sheet, row, 2, "Tổng số", font=bold)
    _put(sheet, row, 3, total, font=bold, number_format="0")
    _put(sheet, row, 4, 1 if total else None, font=bold, number_format="0.0%")
    done = summary.get("percent_done")
    _put(sheet, row + 1, 1, "percent_done", font=font)
    _put(sheet, row + 1, 2, "Tỷ lệ hoàn thành", font=font)
    _put(sheet, row + 1, 3, None, font=font)
    _put(sheet, row + 1, 4, None if done is None else done / 100, font=font, number_format="0.0%")
