"""Read a plan's task table ("Phụ lục") from its Word document (.docx).

Officials send the plan as the Word file they signed. Its appendix table is
written as they write it: split into one table per page or kept as one table
whose header row is repeated, group codes merged vertically over the rows
they head, part titles merged across columns. This module reads the table at
the XML level (python-docx's cell API repeats a merged cell's text for every
row and column it covers), turns it into the parts and five-cell rows that
``plan_import.parse_table_parts`` expects, and so gives the same tasks as the
plan's text form.
"""

import io
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, replace

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from lxml import etree

from shared.text import fold
from services.tasks.plan_import import (
    ParsedPlan,
    PlanFormatError,
    appendix_title,
    is_appendix_heading,
    parse_table_parts,
)

MAX_DOCX_BYTES = 10 * 1024 * 1024
# a .docx is a zip: refuse one that inflates far beyond any real plan
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024

_NOT_DOCX = "Tệp không phải là tài liệu Word (.docx) hợp lệ."
_OLD_DOC = (
    "Tệp là tài liệu Word cũ (.doc) hoặc đã đặt mật khẩu; "
    "hãy mở bằng Word và lưu lại dưới dạng .docx không mật khẩu."
)
_TOO_BIG = f"Tệp quá lớn (tối đa {MAX_DOCX_BYTES // (1024 * 1024)} MB)."
_UNZIPS_TOO_BIG = "Tệp Word bị hỏng hoặc giải nén ra quá lớn, không đọc được."
_NO_TABLE = "Không tìm thấy bảng nhiệm vụ (Phụ lục) trong tài liệu."
_COLUMNS_NEEDED = "TT, NHIỆM VỤ, CƠ QUAN CHỦ TRÌ, CƠ QUAN PHỐI HỢP, THỜI GIAN THỰC HIỆN"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_SEARCH_ROWS = 3

_ROLES = ("code", "text", "lead", "coordinating", "timeline")
# a vertically merged lead, co-ordinating or timeline cell over several
# numbered rows gives each of those tasks the same value
_SHARED_DOWN = ("lead", "coordinating", "timeline")

_W_P, _W_T = qn("w:p"), qn("w:t")
_SPACES = {qn("w:tab"), qn("w:br"), qn("w:cr")}
_HYPHEN = qn("w:noBreakHyphen")
_TEXT_TAGS = (_W_T, _HYPHEN, *_SPACES)
_TRUE = {None, "1", "true", "on"}


@dataclass(frozen=True)
class _Cell:
    """A ``w:tc`` placed on the table grid; ``continued`` marks the lower
    cells of a vertical merge, whose text stands in the cell above."""

    offset: int
    span: int
    text: str
    continued: bool


@dataclass(frozen=True)
class _Layout:
    """Which grid column holds which of the five columns of the task table."""

    roles: dict  # grid offset -> role
    header_keys: frozenset  # folded header rows, to skip them where repeated
    width: int


def parse_plan_docx(data: bytes) -> ParsedPlan:
    """Parse the appendix task table of a plan's .docx.

    Raise PlanFormatError with a message for an officer if the bytes are not
    a readable .docx or hold no task table.
    """
    document = _open(data)
    title, parts, problems = _read_body(document)
    plan = parse_table_parts(parts, title)
    plan.problems[:0] = problems
    return plan


def _open(data):
    if len(data) > MAX_DOCX_BYTES:
        raise PlanFormatError(_TOO_BIG)
    if data.startswith(_OLE_SIGNATURE):
        raise PlanFormatError(_OLD_DOC)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise PlanFormatError(_NOT_DOCX) from err
    if unzipped > MAX_UNZIPPED_BYTES:
        raise PlanFormatError(_UNZIPS_TOO_BIG)
    if "word/document.xml" not in names:
        raise PlanFormatError(_NOT_DOCX)
    try:
        return docx.Document(io.BytesIO(data))
    # what zipfile, zlib, lxml and python-docx raise on damaged or foreign
    # parts (an encrypted member is a RuntimeError, an odd compression
    # method NotImplementedError)
    except (zipfile.BadZipFile, zlib.error, PackageNotFoundError, KeyError, ValueError, EOFError,
            RuntimeError, NotImplementedError, etree.XMLSyntaxError) as err:
        raise PlanFormatError(_NOT_DOCX) from err


def _read_body(document):
    """The appendix title and the task table's parts, in document order.

    Every table whose header names the five columns is a task table. A table
    without a header right after one (only empty paragraphs between, same
    grid) is the next page of it. The title is the paragraphs after the last
    "Phụ lục" heading before the first task table.
    """
    parts, problems, unknown_headers = [], [], []
    heading_lines, title = None, None
    layout, follows_table = None, False
    for block in document.iter_inner_content():
        if not isinstance(block, Table):
            text = _clean(block.text)
            if title is None and is_appendix_heading(text):
                heading_lines = []
            elif title is None and heading_lines is not None:
                heading_lines.append(text)
            follows_table = follows_table and not text
            continue
        trs = _rows(block._tbl)
        rows = [_row_cells(tr) for tr in trs]
        found = _find_header(rows)
        if found is not None:
            layout, header_end = found
            # rows Word repeats with the header, such as the "(1) (2) (3)…" row
            while header_end < len(trs) and _marked_header(trs[header_end]):
                layout = replace(layout, header_keys=layout.header_keys | {_row_key(rows[header_end])})
                header_end += 1
            problems.extend(_extra_column_problems(rows[:header_end], layout))
        elif follows_table and layout is not None and _width(rows) == layout.width:
            header_end = 0
        else:
            unknown_headers.append(rows)
            continue
        if title is None:
            title = appendix_title(heading_lines) if heading_lines is not None else ""
        parts.extend(_table_parts(list(zip(trs, rows))[header_end:], layout))
        follows_table = True
    if layout is None:
        raise PlanFormatError(_no_table_message(unknown_headers))
    return title, parts, problems


def _rows(tbl):
    """Table rows, including those wrapped in a content control."""
    return tbl.xpath("./w:tr | ./w:sdt/w:sdtContent/w:tr")


def _row_cells(tr):
    """The row's cells with their grid offsets (gridBefore and gridSpan)."""
    offset = tr.grid_before
    cells = []
    for tc in tr.xpath("./w:tc | ./w:sdt/w:sdtContent/w:tc"):
        span = tc.grid_span
        continued = tc.vMerge == "continue"
        cells.append(_Cell(offset, span, "" if continued else _cell_text(tc), continued))
        offset += span
    return cells


def _width(rows):
    return max((cell.offset + cell.span for row in rows for cell in row), default=0)


def _cell_text(tc):
    """Paragraphs joined by a space, runs of whitespace collapsed, NFC."""
    return _clean(" ".join(_paragraph_text(p, tc) for p in tc.iter(_W_P) if _owner(p, tc) is tc))


def _owner(element, stop):
    """The nearest enclosing paragraph of ``element`` (or ``stop``)."""
    for ancestor in element.iterancestors():
        if ancestor is stop or ancestor.tag == _W_P:
            return ancestor
    return None


def _paragraph_text(p, tc):
    """A paragraph's visible text; text boxes anchored in it are not its own
    (Word stores each twice, for old and new readers)."""
    pieces = []
    for element in p.iter(*_TEXT_TAGS):
        if _owner(element, tc) is not p:
            continue
        if element.tag == _W_T:
            pieces.append(element.text or "")
        elif element.tag == _HYPHEN:
            pieces.append("-")
        else:
            pieces.append(" ")
    return "".join(pieces)


def _clean(text):
    return " ".join(unicodedata.normalize("NFC", text).split())


def _fold(text):
    return " ".join(fold(text).split())


def _role_of(header_text):
    """Which task-table column a header cell names, if any."""
    folded = _fold(header_text)
    if folded in ("tt", "stt", "so tt", "so thu tu"):
        return "code"
    for role, marks in (
        ("lead", ("chu tri",)),
        ("coordinating", ("phoi hop",)),
        ("timeline", ("thoi gian", "thoi han", "tien do")),
        ("text", ("nhiem vu", "noi dung")),
    ):
        if any(mark in folded for mark in marks):
            return role
    return None


def _find_header(rows):
    """The layout and the index of the first data row, if one of the first
    rows (or two rows together: "CƠ QUAN" over "Chủ trì" | "Phối hợp") name
    all five columns."""
    for start in range(min(_HEADER_SEARCH_ROWS, len(rows))):
        for depth in (1, 2):
            header = rows[start : start + depth]
            if len(header) < depth:
                continue
            layout = _layout(header, _width(rows))
            if layout is not None:
                return layout, start + depth
    return None


def _layout(header_rows, width):
    """Map grid columns to roles from the header's text, or None if the
    header does not name each of the five columns exactly once."""
    texts = [""] * width
    for row in header_rows:
        for cell in row:
            for offset in range(cell.offset, min(cell.offset + cell.span, width)):
                texts[offset] = f"{texts[offset]} {cell.text}".strip()
    roles = {}
    for offset, text in enumerate(texts):
        role = _role_of(text)
        if role is not None:
            roles[offset] = role
    if set(roles.values()) != set(_ROLES) or len(_spans(roles)) != len(_ROLES):
        return None
    return _Layout(roles, frozenset(_row_key(row) for row in header_rows), width)


def _spans(roles):
    """Runs of adjacent grid columns with the same role; each role must be one run."""
    runs = []
    for offset in sorted(roles):
        if runs and runs[-1][1] == roles[offset] and runs[-1][0] == offset - 1:
            runs[-1] = (offset, roles[offset])
        else:
            runs.append((offset, roles[offset]))
    return runs


def _row_key(row):
    return tuple((cell.offset, _fold(cell.text)) for cell in row if cell.text)


def _extra_column_problems(header_rows, layout):
    """Columns beyond the five ("GHI CHÚ") are not imported; say so."""
    extras = []
    for row in header_rows:
        for cell in row:
            covered = range(cell.offset, cell.offset + cell.span)
            if cell.text and cell.text not in extras and not any(o in layout.roles for o in covered):
                extras.append(cell.text)
    return [f"Bảng nhiệm vụ có cột «{name}» ngoài năm cột của bảng; nội dung cột này không được nhập." for name in extras]


def _marked_header(tr):
    """A row marked to repeat at the top of each page (w:tblHeader)."""
    tr_pr = tr.trPr
    return tr_pr is not None and any(
        element.get(qn("w:val")) in _TRUE for element in tr_pr.iterchildren(qn("w:tblHeader"))
    )


def _is_repeated_header(tr, row, layout):
    """Header rows Word repeats (w:tblHeader) or an official retyped."""
    return _marked_header(tr) or _row_key(row) in layout.header_keys or _layout([row], layout.width) is not None


def _table_parts(rows, layout):
    """Five-cell rows of one table's (w:tr, cells) pairs, cut into parts at
    repeated header rows.

    A vertically merged cell's text stays in its first row; the rows below
    get an empty cell — except lead, co-ordinating and timeline cells merged
    over rows that carry their own number, which give each of those tasks
    the value (one "Năm 2026" cell spanning 4.1–4.3 is a timeline for each).
    """
    parts, current, above = [], [], {}
    for tr, row in rows:
        if _is_repeated_header(tr, row, layout):
            if current:
                parts.append(current)
            current = []
            continue
        values = dict.fromkeys(_ROLES, "")
        continued = set()
        for cell in row:
            role = layout.roles.get(cell.offset)
            if role is None:
                continue
            if cell.continued:
                continued.add(role)
            values[role] = f"{values[role]} {cell.text}".strip()
        if values["code"]:
            for role in continued & set(_SHARED_DOWN):
                values[role] = above.get(role, "")
        for role in _SHARED_DOWN:
            if role not in continued:
                above[role] = values[role]
        current.append([values[role] for role in _ROLES])
    if current:
        parts.append(current)
    return parts


def _no_table_message(unknown_headers):
    """Say what the first table's header was, so the officer sees why it is
    not taken for the task table."""
    headers = [" | ".join(cell.text for cell in rows[0] if cell.text) for rows in unknown_headers if rows]
    header = next((header for header in headers if header), None)
    if header is None:
        return _NO_TABLE
    return (
        f"{_NO_TABLE} Bảng nhiệm vụ cần có các cột {_COLUMNS_NEEDED}; "
        f"bảng đầu tiên tìm thấy có các cột: «{header[:120]}»."
    )
