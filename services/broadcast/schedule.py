"""Broadcast schedules (lịch phát): programmes, their occurrences, clashes
between them and the plan each device keeps — the rules, with no I/O.

A programme (chương trình) is an ordered playlist of content, played
``repeat`` times with ``gap_seconds`` of silence between two passes, on the
devices of its target, either at recurring times (an RFC 5545 RRULE such as
``FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0``, from a
``start_date``) or once (``at``). Times are Vietnamese wall-clock times
(Asia/Ho_Chi_Minh); everything computed is an aware UTC datetime, and
every date bound (``start_date``, ``until``, ``valid_from``, ``valid_until``)
is an inclusive Vietnamese calendar date of an occurrence's start.

Rules decided here:

* RRULEs are read strictly. Only DAILY, WEEKLY and MONTHLY; the time of day
  is fixed by BYHOUR and BYMINUTE (a programme plays at set times, not
  every N minutes); no BYSECOND; COUNT or UNTIL, not both; UNTIL is a local
  time without ``Z`` (RFC 5545: DTSTART is local, so UNTIL is too); DTSTART
  comes from ``start_date``, never from the string; the rule must give an
  occurrence within a year of ``start_date``.
* A programme must not overlap itself: its duration may not exceed the
  shortest distance between two of its times of day (counted as if it
  played every day, so the check is conservative), nor 24 hours.
* Two programmes overlap on a device when both target it and their
  occurrences share time (half-open intervals: back to back is no clash).
  Same priority: the new programme is refused, naming the device, the time
  and the other programme. Different priority: admitted; the higher plays
  first. A programme being edited is not compared with its former self.
* A device's plan: occurrences are placed by priority (high first), then by
  scheduled start, then by programme id. Each plays at its scheduled time
  if free; otherwise it moves to the first free time after the occurrences
  in its way, provided it still ends before both the programme's next
  occurrence and the end of that Vietnamese day (loudspeakers do not start
  at night because of a push); otherwise that occurrence is dropped, with
  the reason. So a pushed programme can push the next one in turn. To give
  the same answer whatever the window, placement starts from the
  Vietnamese midnight of the day before the window.
* Slot ids are ``<programme_id>/<scheduled start, ISO UTC>/<item index from
  0>/<pass from 1>``: the scheduled start, not the moved one, so a slot
  keeps its id when a higher-priority programme pushes it.
* The schedule version is a hash of the entries (never 0, which devices
  use for "no schedule"): devices and the service compare versions for
  equality, not order.
"""
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import MAXYEAR, date, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from services.broadcast.zones import DEVICE_KIND, target_problems
from shared.devicelink import ID_PATTERN
from shared.errors import Conflict, InvalidInput
from shared.timeutil import iso

# the IANA zone, from the system or the pinned tzdata package (slim images have none)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

PRIORITIES = ("normal", "high")
PRIORITY_RANK = {"normal": 0, "high": 1}
PRIORITY_VI = {"normal": "thường", "high": "cao"}
ITEM_KINDS = tuple(DEVICE_KIND)
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RRULE_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE",
               "BYSETPOS", "WKST")
REPEAT_RANGE = (1, 20)
GAP_RANGE = (0, 3600)
MAX_ITEMS = 100
MAX_ITEM_SECONDS = 86400
MAX_PROGRAMME_SECONDS = 86400
MAX_VERSION = 2**63 - 1  # devices report it in a uint64, stored as a signed BSON integer
DAY = timedelta(days=1)
FIRST_YEAR = timedelta(days=366)

PROGRAMME_KEYS = ("id", "name", "priority", "items", "repeat", "gap_seconds", "target", "when", "valid_from",
                  "valid_until")
ITEM_KEYS = ("content_id", "title", "kind", "duration_seconds", "media_url")

_INT = re.compile(r"[+-]?\d{1,4}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
_UNTIL = re.compile(r"(\d{8})(T\d{6})?(Z?)")
_BYDAY = re.compile(r"([+-]?\d{1,2})?([A-Z]{2})")


@dataclass(frozen=True)
class Item:
    """One entry of a programme's playlist (audio for loudspeakers, text or
    an image for e-boards)."""

    content_id: str
    title: str
    kind: str
    duration_seconds: int
    media_url: str


@dataclass(frozen=True)
class Programme:
    """A broadcast programme; build it with ``parse_programme``.

    Recurring: ``rrule`` (normalised), ``start_date``, optional ``until``.
    One-off: ``at``, a naive Vietnamese wall time.
    """

    id: str
    name: str
    priority: str
    items: tuple
    repeat: int
    gap_seconds: int
    target: dict
    rrule: str | None = None
    start_date: date | None = None
    until: date | None = None
    at: datetime | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    rule: object = field(default=None, compare=False, repr=False)

    @property
    def content_kind(self):
        """What the programme plays (audio, or text/image): picks its devices."""
        return self.items[0].kind

    @property
    def span(self):
        return timedelta(seconds=duration(self))

    def plays_on(self, day):
        """Whether an occurrence starting on Vietnamese date ``day`` counts."""
        return all((self.valid_from is None or day >= self.valid_from,
                    self.valid_until is None or day <= self.valid_until,
                    self.until is None or day <= self.until))

    def to_dict(self):
        """Plain types for storage and JSON; ``parse_programme`` reads it back."""
        when = ({"at": self.at.isoformat(timespec="minutes" if not self.at.second else "seconds")}
                if self.at is not None else
                {"rrule": self.rrule, "start_date": self.start_date.isoformat(),
                 **({"until": self.until.isoformat()} if self.until else {})})
        return {"id": self.id, "name": self.name, "priority": self.priority,
                "items": [{"content_id": i.content_id, "title": i.title, "kind": i.kind,
                           "duration_seconds": i.duration_seconds, "media_url": i.media_url} for i in self.items],
                "repeat": self.repeat, "gap_seconds": self.gap_seconds, "target": self.target, "when": when,
                "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_until": self.valid_until.isoformat() if self.valid_until else None}


# ---------------------------------------------------------------- validation


def parse_programme(data):
    """A validated Programme from its JSON form; raises InvalidInput listing
    every problem, each naming its field, in Vietnamese."""
    if not isinstance(data, dict):
        raise InvalidInput("programme: dữ liệu chương trình phải là một đối tượng JSON.")
    problems = []
    stray = sorted(set(data) - set(PROGRAMME_KEYS))
    if stray:
        problems.append(f"programme: trường không được hỗ trợ: {', '.join(map(str, stray))}.")
    programme_id = data.get("id")
    if not isinstance(programme_id, str) or not ID_PATTERN.match(programme_id):
        problems.append("id: mã chương trình không hợp lệ (chỉ chữ, số, '-' và '_', tối đa 64 ký tự).")
    name = " ".join(data["name"].split()) if isinstance(data.get("name"), str) else ""
    if not name:
        problems.append("name: tên chương trình không được để trống.")
    elif len(name) > 200:
        problems.append("name: tên chương trình dài quá 200 ký tự.")
    priority = data.get("priority", "normal")
    if priority not in PRIORITIES:
        problems.append("priority: mức ưu tiên phải là normal (thường) hoặc high (cao).")
    items = _items(data.get("items"), problems)
    repeat = _integer(data.get("repeat", 1), "repeat", "số lần lặp", REPEAT_RANGE, problems)
    gap = _integer(data.get("gap_seconds", 0), "gap_seconds", "khoảng nghỉ giữa hai lần lặp (giây)", GAP_RANGE,
                   problems)
    target = data.get("target")
    problems += target_problems(target)
    valid_from = _date(data.get("valid_from"), "valid_from", problems, required=False)
    valid_until = _date(data.get("valid_until"), "valid_until", problems, required=False)
    if valid_from and valid_until and valid_until < valid_from:
        problems.append("valid_until: ngày hết hiệu lực trước ngày bắt đầu hiệu lực (valid_from).")
    when = _when(data.get("when"), problems, valid_until)
    if problems:
        raise InvalidInput(" ".join(problems), {"problems": problems})
    programme = Programme(programme_id, name, priority, items, repeat, gap, target, valid_from=valid_from,
                          valid_until=valid_until, **when)
    _check_timing(programme, problems)
    if problems:
        raise InvalidInput(" ".join(problems), {"problems": problems})
    return programme


def _items(items, problems):
    if not isinstance(items, list) or not items:
        problems.append("items: chương trình phải có ít nhất một nội dung.")
        return ()
    if len(items) > MAX_ITEMS:
        problems.append(f"items: chương trình có tối đa {MAX_ITEMS} nội dung.")
        return ()
    parsed = []
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: mỗi nội dung phải là một đối tượng JSON.")
            continue
        stray = sorted(set(item) - set(ITEM_KEYS))
        if stray:
            problems.append(f"{where}: trường không được hỗ trợ: {', '.join(map(str, stray))}.")
        content_id, title, media_url = item.get("content_id"), item.get("title", ""), item.get("media_url", "")
        if not isinstance(content_id, str) or not content_id.strip() or len(content_id) > 128:
            problems.append(f"{where}.content_id: thiếu mã nội dung (tối đa 128 ký tự).")
        if not isinstance(title, str) or len(title) > 500:
            problems.append(f"{where}.title: tiêu đề phải là chuỗi tối đa 500 ký tự.")
        kind = item.get("kind")
        if kind not in ITEM_KINDS:
            problems.append(f"{where}.kind: loại nội dung phải là audio (âm thanh), text (văn bản) hoặc image "
                            "(hình ảnh).")
        seconds = _integer(item.get("duration_seconds"), f"{where}.duration_seconds", "thời lượng (giây)",
                           (1, MAX_ITEM_SECONDS), problems)
        if not isinstance(media_url, str) or len(media_url) > 2000:
            problems.append(f"{where}.media_url: đường dẫn tệp phải là chuỗi tối đa 2000 ký tự.")
        elif kind in ("audio", "image") and not media_url.strip():
            problems.append(f"{where}.media_url: nội dung {'âm thanh' if kind == 'audio' else 'hình ảnh'} "
                            "cần đường dẫn tệp.")
        parsed.append(Item(content_id, title, kind, seconds, media_url))
    device_kinds = {DEVICE_KIND.get(item.kind) for item in parsed}
    if len(device_kinds) > 1:
        problems.append("items: một chương trình chỉ gồm âm thanh (cho cụm loa) hoặc chỉ gồm văn bản, hình ảnh "
                        "(cho bảng tin điện tử), không trộn hai loại.")
    return tuple(parsed)


def _integer(value, name, what, bounds, problems):
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{name}: {what} phải là số nguyên từ {low} đến {high}.")
        return low
    return value


def _date(value, name, problems, required=True):
    if value is None and not required:
        return None
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(f"{name}: ngày không hợp lệ (dạng YYYY-MM-DD, ví dụ 2026-12-01).")
    return None


def _when(when, problems, valid_until):
    if not isinstance(when, dict) or ("rrule" in when) == ("at" in when):
        problems.append("when: chọn lịch lặp (rrule cùng start_date) hoặc một thời điểm (at), đúng một trong hai.")
        return {}
    if "at" in when:
        stray = sorted(set(when) - {"at"})
        if stray:
            problems.append(f"when: trường không dùng với thời điểm một lần: {', '.join(map(str, stray))}.")
        at = when["at"]
        if isinstance(at, str) and _LOCAL_TIME.fullmatch(at):
            try:
                return {"at": datetime.fromisoformat(at)}
            except ValueError:
                pass
        problems.append("when.at: thời điểm phát không hợp lệ — ghi giờ Việt Nam, không kèm múi giờ "
                        "(ví dụ 2026-12-01T06:30).")
        return {}
    stray = sorted(set(when) - {"rrule", "start_date", "until"})
    if stray:
        problems.append(f"when: trường không dùng với lịch lặp: {', '.join(map(str, stray))}.")
    start_date = _date(when.get("start_date"), "when.start_date", problems)
    until = _date(when.get("until"), "when.until", problems, required=False)
    if start_date and until and until < start_date:
        problems.append("when.until: ngày kết thúc lặp trước ngày bắt đầu (start_date).")
    text, rule_problems = normalise_rrule(when["rrule"])
    if rule_problems:
        problems.append(rrule_message(rule_problems))
        return {}
    if start_date is None:
        return {}
    rule, rule_problems = compile_rrule(text, start_date, min(filter(None, (until, valid_until)), default=None))
    if rule_problems:
        problems.append(rrule_message(rule_problems))
        return {}
    return {"rrule": text, "start_date": start_date, "until": until, "rule": rule}


def rrule_message(details):
    return "rrule: quy tắc lặp không hợp lệ — " + "; ".join(details) + "."


def normalise_rrule(text):
    """The rule in one canonical form (upper case, the order written) and the
    list of what is wrong with it (empty: nothing); see the module's rules."""
    if not isinstance(text, str) or not text.strip():
        return None, ["chưa ghi quy tắc"]
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:"):]
    if "\n" in body or "DTSTART" in body.upper() or ":" in body:
        return None, ["chỉ ghi một quy tắc RRULE; ngày bắt đầu lấy từ start_date, không ghi DTSTART"]
    parts, problems = {}, []
    for part in body.strip().rstrip(";").split(";"):
        key, sep, value = part.strip().partition("=")
        key, value = key.strip().upper(), value.strip().upper()
        if not sep or not key or not value:
            problems.append(f"«{part.strip()}» không có dạng TÊN=GIÁ_TRỊ")
        elif key in parts:
            problems.append(f"{key} ghi hai lần")
        elif key == "BYSECOND":
            problems.append("không dùng BYSECOND: lịch phát tính đến phút")
        elif key in ("BYYEARDAY", "BYWEEKNO"):
            problems.append(f"không dùng {key} (chỉ có nghĩa với FREQ=YEARLY)")
        elif key not in RRULE_PARTS:
            problems.append(f"không hỗ trợ {key}")
        else:
            parts[key] = value
    problems += _part_problems(parts)
    if problems:
        return None, problems
    return ";".join(f"{key}={value}" for key, value in parts.items()), []


def _part_problems(parts):
    problems = []
    freq = parts.get("FREQ")
    if freq is None:
        problems.append("thiếu FREQ (DAILY, WEEKLY hoặc MONTHLY)")
    elif freq in ("SECONDLY", "MINUTELY", "HOURLY"):
        problems.append(f"FREQ={freq}: không lặp theo giây, phút hay giờ; dùng DAILY, WEEKLY hoặc MONTHLY kèm "
                        "BYHOUR và BYMINUTE")
    elif freq not in FREQUENCIES:
        problems.append(f"FREQ={freq}: chỉ hỗ trợ DAILY, WEEKLY hoặc MONTHLY")
    if "BYHOUR" not in parts or "BYMINUTE" not in parts:
        problems.append("phải cố định giờ phát bằng BYHOUR và BYMINUTE (ví dụ BYHOUR=6,17;BYMINUTE=0)")
    for key, low, high, what in (("BYHOUR", 0, 23, "các giờ"), ("BYMINUTE", 0, 59, "các phút"),
                                 ("BYMONTH", 1, 12, "các tháng")):
        if key in parts and not _int_list(parts[key], low, high):
            problems.append(f"{key} phải là {what} từ {low} đến {high}")
    if "BYMONTHDAY" in parts:
        if freq == "WEEKLY":
            problems.append("BYMONTHDAY không dùng với FREQ=WEEKLY")
        elif not _int_list(parts["BYMONTHDAY"], -31, 31, signed=True):
            problems.append("BYMONTHDAY phải là các ngày từ 1 đến 31 (hoặc -31 đến -1 tính từ cuối tháng)")
    if "BYSETPOS" in parts and not _int_list(parts["BYSETPOS"], -366, 366, signed=True):
        problems.append("BYSETPOS phải là các số từ 1 đến 366 (hoặc -366 đến -1)")
    for key in ("INTERVAL", "COUNT"):
        if key in parts and not _int_list(parts[key], 1, 9999, single=True):
            problems.append(f"{key} phải là một số nguyên dương")
    if "COUNT" in parts and "UNTIL" in parts:
        problems.append("không dùng cùng lúc COUNT và UNTIL")
    if "UNTIL" in parts:
        problems += _until_problems(parts["UNTIL"])
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        problems.append(f"WKST={parts['WKST']}: không phải thứ trong tuần ({', '.join(WEEKDAYS)})")
    if "BYDAY" in parts:
        problems += _byday_problems(parts["BYDAY"], freq)
    return problems


def _int_list(value, low, high, signed=False, single=False):
    values = value.split(",")
    if single and len(values) != 1:
        return False
    for v in values:
        if not _INT.fullmatch(v) or not low <= int(v) <= high or (signed and int(v) == 0):
            return False
    return True


def _until_problems(value):
    match = _UNTIL.fullmatch(value)
    if not match:
        return ["UNTIL phải có dạng YYYYMMDD hoặc YYYYMMDDTHHMMSS"]
    if match.group(3):
        return ["UNTIL là giờ Việt Nam, không có Z (ví dụ UNTIL=20261231)"]
    try:
        datetime.strptime(match.group(1) + (match.group(2) or "T000000"), "%Y%m%dT%H%M%S")
    except ValueError:
        return [f"UNTIL={value}: không có ngày giờ này"]
    return []


def _byday_problems(value, freq):
    problems = []
    for day in value.split(","):
        match = _BYDAY.fullmatch(day)
        if not match or match.group(2) not in WEEKDAYS:
            problems.append(f"BYDAY: «{day}» không phải thứ trong tuần ({', '.join(WEEKDAYS)})")
        elif match.group(1):
            if freq != "MONTHLY":
                problems.append(f"BYDAY: «{day}» có số thứ tự, chỉ dùng với FREQ=MONTHLY")
            elif not 1 <= abs(int(match.group(1))) <= 5:
                problems.append(f"BYDAY: «{day}» — thứ tự trong tháng từ 1 đến 5 (hoặc -5 đến -1)")
    return problems


def compile_rrule(text, start_date, last_day=None):
    """The dateutil rule of a normalised RRULE from ``start_date`` (naive
    Vietnamese wall times), ending by ``last_day`` if given, and what is
    wrong with it (empty: nothing)."""
    dtstart = datetime.combine(start_date, time())
    try:
        rule = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError) as err:
        return None, [f"không đọc được ({err})"]
    written = re.search(r"UNTIL=(\d{8})(T\d{6})?", text)
    written = written and datetime.strptime(written.group(1) + (written.group(2) or "T000000"), "%Y%m%dT%H%M%S")
    if written and written < dtstart:
        return None, ["UNTIL trước start_date"]
    if not _occurs_in_first_year(rule, dtstart):
        return None, ["không có lần phát nào trong một năm kể từ start_date"]
    if last_day is not None and "COUNT" not in text:
        last = datetime.combine(last_day + DAY, time()) - timedelta(seconds=1)
        rule = rule.replace(until=min(last, written or last))
    return rule, []


def _occurs_in_first_year(rule, dtstart):
    """Whether ``rule`` gives an occurrence within a year of ``dtstart``.

    dateutil searches until it finds an occurrence or passes the year 9999,
    so from today an impossible rule (30 February) costs seconds. The
    Gregorian calendar repeats every 400 years (same weekdays, same leap
    years), so the same search from the same date in the last four centuries
    before 9999 gives the same answer and stops soon.
    """
    late = dtstart.replace(year=dtstart.year + (MAXYEAR - 1 - dtstart.year) // 400 * 400)
    probe = rule.replace(dtstart=late, count=None, until=late + FIRST_YEAR)
    return bool(probe.between(late, late + FIRST_YEAR, inc=True))


def _check_timing(programme, problems):
    """A programme may not overlap itself (see the module's rules)."""
    seconds = duration(programme)
    if seconds > MAX_PROGRAMME_SECONDS:
        problems.append(f"items: chương trình dài {_span_vi(seconds)}, quá 24 giờ.")
        return
    if programme.at is not None:
        if not programme.plays_on(programme.at.date()):
            problems.append("when.at: thời điểm phát nằm ngoài thời hạn hiệu lực (valid_from – valid_until).")
        return
    parts = dict(part.split("=") for part in programme.rrule.split(";"))
    minutes = sorted({int(h) * 60 + int(m) for h in parts["BYHOUR"].split(",") for m in parts["BYMINUTE"].split(",")})
    spacing = min([b - a for a, b in pairwise(minutes)] + [1440 - minutes[-1] + minutes[0]]) * 60
    if seconds > spacing:
        problems.append(f"when: chương trình dài {_span_vi(seconds)} nhưng hai giờ phát của nó chỉ cách nhau "
                        f"{_span_vi(spacing)}; các lần phát sẽ chồng lên nhau.")


def _span_vi(seconds):
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = " ".join(f"{n} {unit}" for n, unit in ((hours, "giờ"), (minutes, "phút"), (seconds, "giây")) if n)
    return text or "0 giây"


# ---------------------------------------------------------------- time


def duration(programme):
    """Seconds one occurrence lasts: the playlist ``repeat`` times, with a
    gap between two passes (none after the last)."""
    return sum(item.duration_seconds for item in programme.items) * programme.repeat \
        + programme.gap_seconds * (programme.repeat - 1)


def to_utc(wall):
    """A naive Vietnamese wall time as an aware UTC datetime."""
    return wall.replace(tzinfo=ZONE).astimezone(timezone.utc)


def local(moment):
    """An aware datetime as a naive Vietnamese wall time."""
    return moment.astimezone(ZONE).replace(tzinfo=None)


def _check_aware(*moments):
    for moment in moments:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("times must be timezone-aware")


def occurrences(programme, start, end):
    """The (start, end) pairs, aware UTC, of the programme's occurrences that
    overlap [start, end), in order; ``start``/``end`` are aware datetimes."""
    _check_aware(start, end)
    span = programme.span
    if programme.at is not None:
        starts = [to_utc(programme.at)]
    else:
        # a day's margin each side: the wall-clock window is exact only without DST
        walls = programme.rule.between(local(start - span) - DAY, local(end) + DAY, inc=True)
        starts = [to_utc(wall) for wall in walls]
    return [(s, s + span) for s in starts
            if s < end and s + span > start and programme.plays_on(s.astimezone(ZONE).date())]


def _overlapping(first, second):
    """Pairs of overlapping intervals from two sorted lists of intervals that
    do not overlap within a list."""
    pairs, i, j = [], 0, 0
    while i < len(first) and j < len(second):
        a, b = first[i], second[j]
        if a[0] < b[1] and b[0] < a[1]:
            pairs.append((a, b))
        if a[1] <= b[1]:
            i += 1
        else:
            j += 1
    return pairs


def _vn(moment):
    return moment.astimezone(ZONE).strftime("%H:%M ngày %d/%m/%Y")


# ---------------------------------------------------------------- clashes


class Clash(NamedTuple):
    """On ``device_id``, the occurrence ``at`` of a programme overlaps the
    occurrence ``other_at`` of ``other``."""

    device_id: str
    at: tuple
    other: Programme
    other_at: tuple


def conflicts(candidate, existing, device_targets, window):
    """Per device, the clashes of ``candidate`` with ``existing`` programmes
    within ``window`` ((start, end), aware). ``device_targets`` maps each
    programme id to the ids of the devices it reaches (zones.targets)."""
    start, end = window
    mine = set(device_targets.get(candidate.id, ()))
    own = occurrences(candidate, start, end)
    found = {}
    for other in existing:
        if other.id == candidate.id:
            continue
        shared = mine.intersection(device_targets.get(other.id, ()))
        pairs = _overlapping(own, occurrences(other, start, end)) if shared else []
        for device_id in shared if pairs else ():
            found.setdefault(device_id, []).extend(Clash(device_id, at, other, other_at) for at, other_at in pairs)
    return {device_id: sorted(found[device_id], key=lambda c: (c.at[0], c.other_at[0], c.other.id))
            for device_id in sorted(found)}


@dataclass(frozen=True)
class Admission:
    """Whether a programme may join the schedule: ``refused`` lists its
    clashes with programmes of the same priority, ``ordered`` those with a
    different priority (the higher plays first)."""

    candidate: Programme
    refused: tuple = ()
    ordered: tuple = ()

    @property
    def admitted(self):
        return not self.refused

    def message(self):
        """What an operator reads, in Vietnamese."""
        name = self.candidate.name
        if self.refused:
            return (f"Không thể xếp lịch «{name}»: trùng giờ với chương trình cùng mức ưu tiên "
                    f"«{PRIORITY_VI[self.candidate.priority]}» trên cùng thiết bị (giờ Việt Nam) — "
                    + "; ".join(_summary(clashes) for clashes in _by_other(self.refused))
                    + ". Hãy đổi giờ phát, phạm vi phát hoặc mức ưu tiên.")
        lines = []
        for clashes in _by_other(self.ordered):
            other = clashes[0].other
            first, second = ((other, self.candidate) if PRIORITY_RANK[other.priority] > PRIORITY_RANK[
                self.candidate.priority] else (self.candidate, other))
            lines.append(f"{_summary(clashes)}: «{first.name}» (ưu tiên {PRIORITY_VI[first.priority]}) phát trước; "
                         f"«{second.name}» dời đến ngay sau khi «{first.name}» kết thúc, hoặc bỏ lần phát đó nếu "
                         "không còn kịp")
        if not lines:
            return f"«{name}» không trùng giờ với chương trình nào."
        return f"«{name}» trùng giờ (giờ Việt Nam) với " + "; ".join(lines) + "."

    def check(self):
        """Raise Conflict (the Vietnamese message, the clashes as details) if refused."""
        if self.refused:
            raise Conflict(self.message(), {"clashes": [
                {"device_id": c.device_id, "starts_at": iso(c.at[0]), "ends_at": iso(c.at[1]),
                 "other_id": c.other.id, "other_name": c.other.name, "other_starts_at": iso(c.other_at[0]),
                 "other_ends_at": iso(c.other_at[1])} for c in self.refused]})


def _by_other(clashes):
    groups = {}
    for clash in clashes:
        groups.setdefault(clash.other.id, []).append(clash)
    return [sorted(group, key=lambda c: (c.at[0], c.device_id)) for group in groups.values()]


def _summary(clashes, shown=5):
    times = sorted({c.at[0] for c in clashes})
    devices = sorted({c.device_id for c in clashes})
    listed = ", ".join(devices[:shown]) + (f" và {len(devices) - shown} thiết bị khác" if len(devices) > shown else "")
    count = f"{len(times)} lần, lần đầu" if len(times) > 1 else "lúc"
    return f"«{clashes[0].other.name}» {count} {_vn(times[0])} trên thiết bị {listed}"


def admit(candidate, existing, device_targets, window):
    """The Admission of ``candidate`` against ``existing`` within ``window``."""
    clashes = [c for per_device in conflicts(candidate, existing, device_targets, window).values() for c in per_device]
    same = tuple(c for c in clashes if c.other.priority == candidate.priority)
    different = tuple(c for c in clashes if c.other.priority != candidate.priority)
    return Admission(candidate, same, different)


# ---------------------------------------------------------------- device plan


@dataclass(frozen=True)
class DevicePlan:
    """What one device keeps: ``entries`` (ScheduleSync entries, in play
    order), the occurrences ``moved`` by a higher-priority one and those
    ``dropped``, each with its reason in Vietnamese."""

    device_id: str
    entries: tuple
    moved: tuple
    dropped: tuple


@dataclass
class _Slot:
    programme: Programme
    scheduled: datetime
    deadline: datetime
    next_start: datetime | None
    start: datetime | None = None

    @property
    def end(self):
        return self.start + self.programme.span


def device_plan(device_id, programmes, device_targets, start, end):
    """The DevicePlan of ``device_id`` for the occurrences overlapping
    [start, end) (aware), with clashes resolved by the module's rules."""
    _check_aware(start, end)
    placement_start = to_utc(datetime.combine(local(start).date() - DAY, time()))
    horizon = end + DAY
    slots = []
    for programme in programmes:
        if device_id not in device_targets.get(programme.id, ()):
            continue
        found = occurrences(programme, placement_start, horizon)
        for index, (scheduled, _) in enumerate(found):
            next_start = found[index + 1][0] if index + 1 < len(found) else None
            day_end = to_utc(datetime.combine(local(scheduled).date() + DAY, time()))
            slots.append(_Slot(programme, scheduled, min(day_end, next_start or day_end), next_start))
    slots.sort(key=lambda s: (-PRIORITY_RANK[s.programme.priority], s.scheduled, s.programme.id))
    placed, moved, dropped = [], [], []
    for slot in slots:
        at, blocker = _first_fit(placed, slot.scheduled, slot.programme.span)
        in_window = slot.scheduled < end and slot.scheduled + slot.programme.span > start
        if blocker is None or at + slot.programme.span <= slot.deadline:
            slot.start = at
            placed.append(slot)
            placed.sort(key=lambda s: s.start)
            if blocker is not None and (in_window or (slot.start < end and slot.end > start)):
                moved.append(_record(slot, blocker, f"Trùng giờ với «{blocker.programme.name}» (ưu tiên "
                                     f"{PRIORITY_VI[blocker.programme.priority]}); dời đến {_vn(at)}.",
                                     starts_at=iso(at)))
        elif in_window:
            limit = (f"lần phát kế tiếp lúc {_vn(slot.next_start)}" if slot.deadline == slot.next_start
                     else f"hết ngày {local(slot.scheduled):%d/%m/%Y}")
            dropped.append(_record(slot, blocker, f"Trùng giờ với «{blocker.programme.name}» (ưu tiên "
                                   f"{PRIORITY_VI[blocker.programme.priority]}); không còn chỗ phát trọn chương "
                                   f"trình trước {limit}, lần phát này bị bỏ."))
    entries = [entry for slot in placed if slot.start < end and slot.end > start for entry in _entries(slot)]
    return DevicePlan(device_id, tuple(entries), tuple(sorted(moved, key=_by_time)),
                      tuple(sorted(dropped, key=_by_time)))


def _by_time(record):
    return record["scheduled_at"], record["programme_id"]


def _first_fit(placed, at, span):
    """The first time from ``at`` where ``span`` fits between the placed
    slots (sorted, not overlapping), and the first slot in the way (None if
    ``at`` itself is free)."""
    blocker = None
    for slot in placed:
        if slot.end <= at:
            continue
        if slot.start >= at + span:
            break
        blocker = blocker or slot
        at = slot.end
    return at, blocker


def _record(slot, blocker, reason, **extra):
    return {"programme_id": slot.programme.id, "name": slot.programme.name, "scheduled_at": iso(slot.scheduled),
            **extra, "because_of": blocker.programme.id, "reason": reason}


def _entries(slot):
    programme, at = slot.programme, slot.start
    entries = []
    for number in range(1, programme.repeat + 1):
        for index, item in enumerate(programme.items):
            ends = at + timedelta(seconds=item.duration_seconds)
            entries.append({"slot_id": f"{programme.id}/{iso(slot.scheduled)}/{index}/{number}",
                            "starts_at": iso(at), "ends_at": iso(ends), "content_id": item.content_id,
                            "title": item.title, "media_url": item.media_url, "priority": programme.priority})
            at = ends
        at += timedelta(seconds=programme.gap_seconds)
    return entries


def schedule_version(entries):
    """A stable version of a device's schedule: the same entries (in the same
    order) always give the same number, any change another one; 1 to 2⁶³−1."""
    payload = json.dumps(list(entries), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(payload.encode("utf-8")).digest()[:8], "big") & MAX_VERSION or 1
