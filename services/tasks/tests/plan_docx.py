"""Render a plan's text form as the Word document officials would send.

The seed plan exists only as text; to test the .docx reader on the same
appendix, this builds a realistic .docx from it with python-docx: the body as
paragraphs, the appendix table as one table per page part (rows a page break
cut stay cut, with the number where the text has it), a header row on every
part (the first marked to repeat, w:tblHeader), part rows ("I", "II") with
their title merged across columns 2–5, and the code of a group merged
vertically over the unnumbered row that holds its text, as in Word.

It reads the text with its own small reader, not with plan_import, so the
parsers are checked against the document rather than against themselves.
"""

import io
import re

import docx
from docx.oxml import OxmlElement

_ROMAN = re.compile(r"^[IVX]+$")
_LONG_CELL = 300


def render_seed_docx(text: str, single_table: bool = False) -> bytes:
    """The plan as .docx bytes.

    With ``single_table`` the appendix is one table and each page part
    starts with the header row typed again, as when an official pastes the
    pages of a table together.
    """
    lines = text.splitlines()
    heading = lines.index("Phụ lục")
    first_row = next(i for i, line in enumerate(lines) if line.startswith("|"))
    header, parts = _table_parts(lines[first_row:])

    document = docx.Document()
    for line in lines[:heading]:
        if line.strip():
            document.add_paragraph(line.strip())
    for line in lines[heading:first_row]:
        document.add_paragraph(line.strip())

    if single_table:
        table = _new_table(document, header, repeat=True)
        for number, part in enumerate(parts):
            if number:
                _add_row(table, header)
            _add_part(table, part, _continuation_numbered(parts, number))
    else:
        for number, part in enumerate(parts):
            if number:
                document.add_page_break()
            table = _new_table(document, header, repeat=number == 0)
            _add_part(table, part, _continuation_numbered(parts, number))
    document.add_paragraph("")

    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table_parts(lines):
    """The header cells and the data rows of each page part of the pipe table."""
    header, parts, current = None, [], []
    for line in lines:
        if not line.startswith("|"):
            if current:
                parts.append(current)
            current = []
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= {"-"}:
            continue
        if cells[0] == "TT":
            header = cells
            continue
        current.append(cells)
    if current:
        parts.append(current)
    return header, parts


def _continuation_numbered(parts, number):
    """Whether the next part opens with the numbered rest of this part's last row."""
    following = parts[number + 1][0] if number + 1 < len(parts) else None
    return following is not None and following[1][:1].islower() and bool(following[0])


def _new_table(document, header, repeat):
    table = document.add_table(rows=0, cols=len(header))
    table.style = "Table Grid"
    row = _add_row(table, header)
    if repeat:
        row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    return table


def _add_row(table, cells):
    row = table.add_row()
    for cell, value in zip(row.cells, cells):
        _write(cell, value)
    return row


def _add_part(table, rows, last_row_continues_numbered):
    """Data rows with Word's merges: the part title across columns 2–5; a bare
    group's code over the unnumbered row holding its text (not when that row
    is the first half of a numbered task cut by the page break)."""
    start = len(table.rows)
    for cells in rows:
        row = _add_row(table, cells)
        if _ROMAN.match(cells[0]) and not any(cells[2:]):
            merged = row.cells[1].merge(row.cells[-1])
            _write(merged, cells[1])
    for index, (cells, below) in enumerate(zip(rows, rows[1:])):
        bare_group = cells[0] and not _ROMAN.match(cells[0]) and not any(cells[2:])
        is_last = index + 1 == len(rows) - 1
        if bare_group and not below[0] and not (is_last and last_row_continues_numbered):
            merged = table.cell(start + index, 0).merge(table.cell(start + index + 1, 0))
            _write(merged, cells[0])


def _write(cell, value):
    """Long texts go in several paragraphs (cut after "; "), each in two
    runs, as Word stores edited text."""
    for paragraph in cell.paragraphs[1:]:
        paragraph._p.getparent().remove(paragraph._p)
    pieces = re.split(r"(?<=;) ", value) if len(value) > _LONG_CELL else [value]
    for number, piece in enumerate(pieces):
        paragraph = cell.paragraphs[0] if number == 0 else cell.add_paragraph()
        for run in paragraph.runs:
            run._r.getparent().remove(run._r)
        middle = piece.find(" ", len(piece) // 2)
        for run_text in (piece, "") if middle < 0 else (piece[: middle + 1], piece[middle + 1 :]):
            if run_text:
                paragraph.add_run(run_text)
