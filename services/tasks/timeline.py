"""Interpret the timeline column of a plan (thời gian thực hiện).

Officials write deadlines as phrases, not dates: "Quý IV/2026", "Năm 2026",
"Thường xuyên trong năm 2026", "Sau khi có hướng dẫn của Sở …", or nothing at
all. ``interpret`` maps a phrase to a ``Schedule`` — what kind of deadline it
is, the period it covers and its due date — while keeping the phrase verbatim,
because the phrase is what the commune signed and reports quote. A phrase we
cannot read is never guessed at: it is ``unrecognised`` and flagged, like a
blank, for the office to complete.
"""

import calendar
import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date

KINDS = ("quarter", "half_year", "year", "recurring", "open_ended", "conditional", "blank", "date", "unrecognised")

_DASHES = "‐‑‒–—―−"
_QUARTER = r"(?:i{1,3}|iv|[1-4])"
_YEAR = r"(\d{4})"
_YEAR_TAIL = rf"(?:\s*/\s*|\s+nam\s+|\s+){_YEAR}"

_ROMAN_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


@dataclass(frozen=True)
class Schedule:
    """What a timeline phrase means.

    ``original`` is the phrase as written. ``start``/``due`` bound the period
    the task runs in (None where the phrase gives no bound). ``condition`` is
    the outside event a conditional task waits for ("hướng dẫn của Sở …");
    its due date comes only once someone records that the event happened.
    ``flagged`` marks schedules the office must complete (blank or unread).
    """

    original: str
    kind: str
    start: date | None = None
    due: date | None = None
    condition: str | None = None
    flagged: bool = False

    def to_dict(self) -> dict:
        """Plain types for storage and JSON: dates as ISO strings."""
        data = asdict(self)
        for key in ("start", "due"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def interpret(phrase: str, plan_year: int) -> Schedule:
    """The schedule a timeline phrase describes.

    ``plan_year`` fills in phrases without a year ("Thường xuyên", "Quý IV",
    "Các năm tiếp theo" = from the year after the plan's). Matching ignores
    accents, case, spacing, dash style and trailing punctuation.
    """
    original = phrase or ""
    # officials often end a cell with a full stop or semicolon
    text = unicodedata.normalize("NFC", original).strip().rstrip(".;,").strip()
    folded = _fold(text)
    if not re.search(r"\w", folded):
        return Schedule(original, "blank", flagged=True)
    for pattern, rule in _RULES:
        match = pattern.fullmatch(folded)
        if match:
            try:
                schedule = rule(original, text, match, plan_year)
            except ValueError:  # no such date: 31/2, tháng 13, năm 0000
                schedule = None
            if schedule is not None:
                return schedule
    return Schedule(original, "unrecognised", flagged=True)


def due_after_guidance(received_on: date, months: int = 3) -> date:
    """The default due date of a conditional task once its guidance arrives:
    the same day ``months`` later, or that month's last day if it is shorter
    (30 November + 3 months = 28/29 February)."""
    if months < 0:
        raise ValueError("months must not be negative")
    year, month = divmod(received_on.month - 1 + months, 12)
    year += received_on.year
    month += 1
    return date(year, month, min(received_on.day, calendar.monthrange(year, month)[1]))


def _fold(text):
    """Lower-case, accent-free, one-space form of a phrase for matching.

    Folding is per character (đ→d, ệ→e) and dashes become "-", so the folded
    words stand one for one with the phrase's words (see ``_verbatim``).
    """
    chars = []
    for ch in text:
        if ch in _DASHES:
            ch = "-"
        base = unicodedata.normalize("NFD", ch)[0]
        chars.append("d" if base in "đĐ" else base.lower())
    return " ".join("".join(chars).split())


def _year_or(value, plan_year):
    return int(value) if value else plan_year


def _quarter_number(value):
    return _ROMAN_QUARTERS.get(value) or int(value)


def _month_end(year, month):
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter(original, text, match, plan_year):
    first = _quarter_number(match.group(1))
    last = _quarter_number(match.group(2)) if match.group(2) else first
    if last < first:
        return None
    year = _year_or(match.group(3), plan_year)
    return Schedule(original, "quarter", date(year, 3 * first - 2, 1), _month_end(year, 3 * last))


def _half_year(original, text, match, plan_year):
    year = _year_or(match.group(2), plan_year)
    if match.group(1) == "dau":
        return Schedule(original, "half_year", date(year, 1, 1), date(year, 6, 30))
    return Schedule(original, "half_year", date(year, 7, 1), date(year, 12, 31))


def _open_ended(original, text, match, plan_year):
    return Schedule(original, "open_ended", date(int(match.group(1)), 1, 1))


def _next_years(original, text, match, plan_year):
    return Schedule(original, "open_ended", date(plan_year + 1, 1, 1))


def _recurring(original, text, match, plan_year):
    year = _year_or(match.group(1), plan_year)
    return Schedule(original, "recurring", date(year, 1, 1), date(year, 12, 31))


def _year(original, text, match, plan_year):
    """A year ("Năm 2026") or a span of years ("Giai đoạn 2026 - 2030")."""
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if last < first:
        return None
    return Schedule(original, "year", date(first, 1, 1), date(last, 12, 31))


def _month(original, text, match, plan_year):
    month, year = int(match.group(1)), _year_or(match.group(2), plan_year)
    return Schedule(original, "date", date(year, month, 1), _month_end(year, month))


def _day(original, text, match, plan_year):
    day, month, year = int(match.group(1)), int(match.group(2)), _year_or(match.group(3), plan_year)
    return Schedule(original, "date", due=date(year, month, day))


def _conditional(original, text, match, plan_year):
    """The condition is cut from the phrase as written, so it reads naturally
    ("hướng dẫn của Sở Văn hóa, Thể thao và Du lịch")."""
    condition = _verbatim(text, match.group("condition"))
    return Schedule(original, "conditional", condition=condition)


def _verbatim(text, folded_tail):
    """The words of ``text`` that fold to ``folded_tail`` (its last words)."""
    words = text.split()
    return " ".join(words[len(words) - len(folded_tail.split()) :])


# Each pattern must match the whole folded phrase (see _fold), so a phrase
# that merely begins like another ("Năm 2026" / "Năm 2026 và những năm tiếp
# theo") never takes its meaning. A rule may still decline (Quý IV - II).
_RULES = (
    (re.compile(rf"(?:trong\s+)?quy\s+({_QUARTER})(?:\s*(?:-|,|va|den)\s*(?:quy\s+)?({_QUARTER}))?(?:{_YEAR_TAIL})?"),
     _quarter),
    (re.compile(rf"(?:trong\s+)?6\s+thang\s+(dau|cuoi)\s+nam(?:\s+{_YEAR})?"), _half_year),
    (re.compile(rf"(?:tu\s+)?nam\s+{_YEAR}\s+(?:va|-)\s+(?:nhung|cac)\s+nam\s+(?:tiep\s+theo|sau)"), _open_ended),
    (re.compile(r"(?:trong\s+)?(?:nhung|cac)\s+nam\s+(?:tiep\s+theo|sau)"), _next_years),
    (re.compile(rf"(?:thuong\s+xuyen|(?:dinh\s+ky\s+)?hang\s+nam)(?:\s*,?\s*lien\s+tuc)?"
                rf"(?:\s+(?:trong\s+)?(?:ca\s+)?nam\s+{_YEAR})?"), _recurring),
    (re.compile(rf"(?:trong\s+|ca\s+|giai\s+doan\s+)?(?:nam\s+)?{_YEAR}(?:\s*-\s*{_YEAR})?"), _year),
    (re.compile(rf"(?:trong\s+)?thang\s+(\d{{1,2}})(?:{_YEAR_TAIL})?"), _month),
    (re.compile(r"(?:truoc\s+|den\s+|han\s+|cham\s+nhat\s+)?(?:ngay\s+)?(\d{1,2})\s*(?:/|-|\.|\s+thang\s+)\s*(\d{1,2})"
                r"(?:\s*(?:/|-|\.|\s+nam\s+)\s*(\d{4}))?"), _day),
    (re.compile(r"(?:ngay\s+)?(?:sau\s+khi|khi)\s+(?:co\s+)?(?P<condition>.+)"), _conditional),
)
