"""Parse the task table ("Phụ lục") of a commune plan into tasks.

Commune plans arrive as text converted from Word/PDF: the appendix is a pipe
table (TT | NHIỆM VỤ CỤ THỂ | CƠ QUAN CHỦ TRÌ | CƠ QUAN PHỐI HỢP | THỜI GIAN
THỰC HIỆN) cut into several parts by page breaks. This module turns it into
``ParsedTask`` rows without guessing at meaning: texts, agencies and timelines
stay verbatim (agency matching happens elsewhere), and anything the parser
cannot place is reported in ``ParsedPlan.problems`` for an officer to check
rather than silently dropped.
"""

import re
import unicodedata
from dataclasses import dataclass, field

_APPENDIX_HEADING = re.compile(r"^phụ lục(\s+[ivx\d]+)?\s*:?$", re.IGNORECASE)
_SEPARATOR_CELL = re.compile(r"^:?-+:?$")
_ROMAN = re.compile(r"^[IVX]+$")
_NUMBER = re.compile(r"^\d+(\.\d+)*$")
_COLUMNS = 5
_NO_TABLE = "Không tìm thấy bảng nhiệm vụ (Phụ lục) trong văn bản."


class PlanFormatError(ValueError):
    """The text holds no task table we can read; the message is for an officer."""


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


def parse_plan_text(text: str) -> ParsedPlan:
    """Parse the appendix task table of a plan; raise PlanFormatError if absent."""
    lines = unicodedata.normalize("NFC", text).splitlines()
    start = next(
        (i for i, line in enumerate(lines) if _APPENDIX_HEADING.match(line.strip())),
        None,
    )
    if start is None:
        raise PlanFormatError(_NO_TABLE)
    problems = []
    rows = _read_rows(lines[start + 1 :], problems)
    if not rows:
        raise PlanFormatError(_NO_TABLE)
    tasks = _build_tasks(rows, problems)
    return ParsedPlan(_appendix_title(lines[start + 1 :]), tasks, problems)


def _appendix_title(lines):
    """The heading may wrap over several lines; it ends at a blank line or the table."""
    title = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("|", "(")):
            break
        title.append(line)
    return " ".join(title)


def _cells(line, problems):
    """Split a pipe row into exactly five cells; short rows are padded."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    if len(cells) > _COLUMNS:
        problems.append(
            f"Dòng bảng có {len(cells)} cột thay vì {_COLUMNS}, "
            f"chỉ đọc {_COLUMNS} cột đầu: {line.strip()[:80]}"
        )
    return (cells + [""] * _COLUMNS)[:_COLUMNS]


def _is_header(cells):
    """Column titles, the empty header of each later part, and |---| separators."""
    return (
        cells[0].upper() in ("TT", "STT")
        or not any(cells)
        or all(_SEPARATOR_CELL.match(cell) for cell in cells if cell)
    )


def _read_rows(lines, problems):
    """Collect table rows, joining a row that a page break cut in two.

    Each page starts a new table part (after a gap or a header row). If the
    first row of a part begins in lowercase it is the rest of the sentence
    above, so every column is joined to the previous row; the code is taken
    from whichever half carries one. When both halves are numbered they are
    two tasks, whatever the case of the text.
    """
    rows = []
    part_start = True
    for line in lines:
        if not line.strip().startswith("|"):
            part_start = True
            continue
        cells = _cells(line, problems)
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
        if parent and parent not in seen:
            problems.append(f"Nhiệm vụ {full_code} không có mục cha {parent}.")
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
