"""Parse the task table ("Phụ lục") of a commune plan into tasks.

Commune plans arrive as Word documents or as text converted from Word/PDF:
the appendix is a table (TT | NHIỆM VỤ CỤ THỂ | CƠ QUAN CHỦ TRÌ | CƠ QUAN PHỐI
HỢP | THỜI GIAN THỰC HIỆN) cut into several parts by page breaks. Each source
only has to find the table and cut it into parts (``parse_plan_text`` here,
``docx_import.parse_plan_docx`` for Word); ``parse_table_parts`` holds the row
rules they share, so both forms of one plan give the same tasks.

Nothing is guessed at: texts, agencies and timelines stay verbatim (agency
matching and timeline interpretation happen elsewhere), and anything the
parser cannot place is reported in ``ParsedPlan.problems`` for an officer to
check rather than silently dropped.
"""

import re
import unicodedata
from dataclasses import dataclass, field

_APPENDIX_HEADING = re.compile(r"^phụ lục(\s+[ivx\d]+)?\s*:?$", re.IGNORECASE)
_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_ROMAN = re.compile(r"^[IVX]+$")
_NUMBER = re.compile(r"^\d+(\.\d+)*$")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10}
_COLUMNS = 5
_NO_TABLE = "Không tìm thấy bảng nhiệm vụ (Phụ lục) trong văn bản."
_NO_ROWS = "Bảng nhiệm vụ (Phụ lục) không có dòng nhiệm vụ nào."


class PlanFormatError(ValueError):
    """The input holds no task table we can read; the message is for an officer."""


@dataclass
class ParsedTask:
    """One row of the appendix.

    ``code`` is the full hierarchical code ("I", "I.6", "I.6.1") so that tasks
    of different parts never collide; ``parent_code`` is None for a part.
    ``details`` is only set for a group row whose task text stands on the
    unnumbered row below it. Texts are verbatim (NFC); ``order`` is the
    position in the document.
    """

    code: str
    parent_code: str | None
    title: str
    details: str
    lead_agency: str
    coordinating_agencies: str
    timeline: str
    order: int


@dataclass
class ParsedPlan:
    """The appendix title, its tasks, and what an officer should check by hand."""

    title: str
    tasks: list[ParsedTask] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class _Row:
    """One logical table row; page-break halves are merged into one."""

    code: str
    text: str
    lead: str
    coordinating: str
    timeline: str


def is_appendix_heading(line: str) -> bool:
    """A line that opens the appendix: "Phụ lục", "PHỤ LỤC II", "Phụ lục:"."""
    return bool(_APPENDIX_HEADING.match(unicodedata.normalize("NFC", line).strip()))


def appendix_title(lines: list[str]) -> str:
    """The heading after "Phụ lục" may wrap over several lines or paragraphs;
    it ends at a blank line, the "(Ban hành kèm theo …)" note or the table."""
    title = []
    for line in lines:
        line = unicodedata.normalize("NFC", line).strip()
        if not line or line.startswith(("|", "(")):
            break
        title.append(line)
    return " ".join(title)


def parse_plan_text(text: str) -> ParsedPlan:
    """Parse the appendix task table of a plan's text (Markdown pipe tables).

    Raise PlanFormatError if there is no appendix or no table rows.
    """
    lines = unicodedata.normalize("NFC", text).splitlines()
    start = next((i for i, line in enumerate(lines) if is_appendix_heading(line)), None)
    if start is None:
        raise PlanFormatError(_NO_TABLE)
    parts = _text_parts(lines[start + 1 :])
    if not parts:
        raise PlanFormatError(_NO_TABLE)
    return parse_table_parts(parts, appendix_title(lines[start + 1 :]))


def _text_parts(lines):
    """Cut the pipe rows into parts: each run of consecutive pipe lines is one
    page of the table. Markdown separator rows (|---|) are syntax, not rows."""
    parts, current = [], []
    for line in lines:
        if not line.strip().startswith("|"):
            if current:
                parts.append(current)
            current = []
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(_SEPARATOR_CELL.match(cell) for cell in cells if cell) and any(cells):
            continue
        current.append(cells)
    if current:
        parts.append(current)
    return parts


def parse_table_parts(parts: list[list[list[str]]], title: str) -> ParsedPlan:
    """Turn the parts of an appendix table into tasks.

    ``parts`` are the table's pages (or the separate tables a document splits
    it into), each a list of rows of five cells: code, task text, lead agency,
    co-ordinating agencies, timeline. Header rows and empty rows may be left
    in: they are skipped and, like a part boundary, mark where a page-break
    continuation may follow. Raise PlanFormatError if no row is left.
    """
    problems = []
    rows = _merge_rows(parts, problems)
    if not rows:
        raise PlanFormatError(_NO_ROWS)
    tasks = _build_tasks(rows, problems)
    problems.extend(_missing_codes(tasks))
    return ParsedPlan(unicodedata.normalize("NFC", title).strip(), tasks, problems)


def _fit(cells, problems):
    """Exactly five NFC cells; short rows are padded, long ones reported."""
    cells = [unicodedata.normalize("NFC", cell).strip() for cell in cells]
    if len(cells) > _COLUMNS:
        problems.append(
            f"Dòng bảng có {len(cells)} cột thay vì {_COLUMNS}, "
            f"chỉ đọc {_COLUMNS} cột đầu: {' | '.join(cells)[:80]}"
        )
    return (cells + [""] * _COLUMNS)[:_COLUMNS]


def _is_header(cells):
    """Column titles (repeated on each page) and empty rows."""
    return cells[0].upper() in ("TT", "STT") or not any(cells)


def _merge_rows(parts, problems):
    """Collect table rows, joining a row that a page break cut in two.

    If the first row of a part (or the first after a header row) begins in
    lowercase it is the rest of the sentence above, so every column is joined
    to the previous row; the code is taken from whichever half carries one.
    When both halves are numbered they are two tasks, whatever the case of
    the text.
    """
    rows = []
    for part in parts:
        part_start = True
        for cells in part:
            cells = _fit(cells, problems)
            if _is_header(cells):
                part_start = True
                continue
            row = _Row(*cells)
            previous = rows[-1] if rows else None
            if (
                part_start
                and previous is not None
                and row.text[:1].islower()
                and not (previous.code and row.code)
            ):
                previous.code = previous.code or row.code
                for name in ("text", "lead", "coordinating", "timeline"):
                    joined = " ".join(p for p in (getattr(previous, name), getattr(row, name)) if p)
                    setattr(previous, name, joined)
            else:
                rows.append(row)
            part_start = False
    return rows


def _build_tasks(rows, problems):
    """Give each row its full code and attach unnumbered rows to their group.

    "1", "1.1" are relative to the last roman part ("I", "II"). An unnumbered
    row right after a bare numbered row (no details, agencies or timeline yet)
    is that task's details, and its agencies and timeline become the task's.
    """
    tasks = []
    seen = set()
    part = None
    for row in rows:
        code = row.code.rstrip(".")
        if not code:
            _attach_details(tasks[-1] if tasks else None, row, problems)
            continue
        if _ROMAN.match(code):
            part, full_code, parent = code, code, None
        elif not _NUMBER.match(code):
            problems.append(f"Số thứ tự không đọc được «{row.code}»: {row.text[:80]}")
            continue
        elif part is None:
            problems.append(f"Mục {code} đứng trước phần La Mã (I, II…) đầu tiên: {row.text[:80]}")
            continue
        else:
            full_code = f"{part}.{code}"
            parent = full_code.rsplit(".", 1)[0]
        if full_code in seen:
            problems.append(f"Mã nhiệm vụ {full_code} bị trùng.")
        seen.add(full_code)
        tasks.append(
            ParsedTask(
                code=full_code,
                parent_code=parent,
                title=row.text,
                details="",
                lead_agency=row.lead,
                coordinating_agencies=row.coordinating,
                timeline=row.timeline,
                order=len(tasks),
            )
        )
    return tasks


def _attach_details(task, row, problems):
    """Make an unnumbered row the details of a bare task, or report it."""
    assigned = task and (task.lead_agency or task.coordinating_agencies or task.timeline)
    if task is None or task.details or assigned:
        content = " | ".join(c for c in (row.text, row.lead, row.coordinating, row.timeline) if c)
        problems.append(f"Dòng không có số thứ tự, không gắn được vào nhiệm vụ nào: {content[:80]}")
        return
    task.details = row.text
    task.lead_agency = row.lead
    task.coordinating_agencies = row.coordinating
    task.timeline = row.timeline


def _missing_codes(tasks):
    """Codes the numbering implies but the table lacks, and parents placed
    after their children: a row lost in conversion or a typo in the TT column
    shows up here, before the plan is applied."""
    problems = []
    first_order = {}
    for task in tasks:
        first_order.setdefault(task.code, task.order)
    missing = set()
    for task in tasks:
        parent = task.parent_code
        if parent is None:
            continue
        if parent not in first_order:
            if parent not in missing:
                missing.add(parent)
                problems.append(f"Thiếu mục {parent}: nhiệm vụ {task.code} không có mục cha.")
        elif first_order[parent] > task.order:
            problems.append(f"Nhiệm vụ {task.code} đứng trước mục cha {parent} của nó.")
    siblings = {}
    for task in tasks:
        siblings.setdefault(task.parent_code, set()).add(_last_number(task.code))
    for parent, numbers in siblings.items():
        ordered = [0, *sorted(numbers)]
        for before, after in zip(ordered, ordered[1:]):
            if after - before < 2:
                continue
            first, last = _child_code(parent, before + 1), _child_code(parent, after - 1)
            if first == last and first in missing:
                continue
            # one message for a run, however long ("1", "2", "999")
            codes = first if first == last else f"{first} đến {last}"
            if parent is None:
                noun = "phần" if first == last else "các phần"
                problems.append(f"Thiếu {noun} {codes}: số thứ tự các phần La Mã bị ngắt quãng.")
            else:
                noun = "mục" if first == last else "các mục"
                problems.append(f"Thiếu {noun} {codes}: số thứ tự trong mục {parent} bị ngắt quãng.")
    return problems


def _last_number(code):
    last = code.rsplit(".", 1)[-1]
    return _roman_value(last) if _ROMAN.match(last) else int(last)


def _child_code(parent, number):
    return _roman(number) if parent is None else f"{parent}.{number}"


def _roman_value(numeral):
    values = [_ROMAN_VALUES[ch] for ch in numeral]
    return sum(-v if v < nxt else v for v, nxt in zip(values, values[1:] + [0]))


def _roman(number):
    numerals = []
    for value, numeral in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        numerals.append(numeral * count)
    return "".join(numerals)
