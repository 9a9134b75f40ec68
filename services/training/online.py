"""Completions of the Ministry's open online courses (nền tảng học trực tuyến
mở của Bộ VHTTDL), read from the platform's CSV export and matched to the
commune's people, with no I/O.

The export is not ours: its headers vary between versions, it has columns we
do not need, and its people are identified only by what they typed when they
signed up. So unknown columns are ignored, a row is matched by the most
reliable thing first (e-mail, then phone, then a name only when exactly one
person has it), and a row that cannot be matched is kept for an officer to
match by hand rather than guessed.
"""
import re

from services.training.roster_io import (
    clean,
    name_key,
    normalise_phone,
    parse_date,
    table,
)
from shared.timeutil import local_today

# key → headers seen in the platform's exports; the label used in messages
# first, then the most specific (a file with both "Tên khóa học" and
# "Khóa học" means the title by the first)
HEADERS = {
    "full_name": ("Họ và tên", "Họ tên", "Học viên", "Tên học viên", "full_name"),
    "email": ("Email", "Thư điện tử", "Địa chỉ email", "email"),
    "phone": ("Số điện thoại", "Điện thoại", "SĐT", "Số ĐT", "phone"),
    "course_title": ("Tên khóa học", "Khóa học", "course_title"),
    "completed_on": ("Ngày hoàn thành", "Ngày cấp chứng nhận", "Thời gian hoàn thành", "completed_on"),
}
REQUIRED_COLUMNS = ("full_name", "course_title", "completed_on")
# "15/03/2026 10:22", "10:22 15/03/2026", "2026-03-15T10:22:00+07:00"
TIME = re.compile(r"T?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?(?:\s*(?:AM|PM|SA|CH))?",
                  re.IGNORECASE)

# folded keywords of a course title → the plan's topics (shared.events.TOPICS)
KEYWORDS = (
    ("radio_operation", ("truyen thanh", "thong tin nguon", "van hanh")),
    ("content_production", ("san xuat tin", "phong su", "chuong trinh phat thanh", "bien tap", "da phuong tien")),
    ("oral_propaganda", ("tuyen truyen mieng",)),
    ("foreign_information", ("doi ngoai",)),
)


def read_completions(filename, data):
    """The export's rows as ``[{row, values: {full_name, email, phone,
    course_title, completed_on}}]``; raises InvalidInput for a file that cannot
    be read or lacks the name, course or date column."""
    return table(data, HEADERS, REQUIRED_COLUMNS, strict=False)


def match(rows, people, *, today=None):
    """Each row checked and matched to a person (``person_id``) or left
    ``unmatched`` with the reason in ``errors``. ``today`` (Vietnam) is for tests."""
    today = today or local_today()
    directory = _Directory(people)
    first = {}
    results = []
    for row in rows:
        values = row["values"]
        full_name, course_title = clean(values.get("full_name")), clean(values.get("course_title"))
        email = clean(values.get("email")).lower() or None
        phone = normalise_phone(values.get("phone")) or clean(values.get("phone")) or None
        completed_on, errors = _completed_on(values.get("completed_on"), today)
        if not full_name:
            errors.append(f"{HEADERS['full_name'][0]}: không được để trống")
        if not course_title:
            errors.append(f"{HEADERS['course_title'][0]}: không được để trống")
        person_id = None
        if not errors:
            person_id, reason = directory.find(email, phone, full_name)
            who = person_id or (name_key(full_name), email, phone)
            repeat = (who, name_key(course_title))
            if repeat in first:
                errors.append(f"Trùng với dòng {first[repeat]}")
            else:
                first[repeat] = row["row"]
        status = "error" if errors else "matched" if person_id else "unmatched"
        results.append({"row": row["row"], "status": status,
                        "errors": [reason] if status == "unmatched" else errors,
                        "person_id": person_id, "full_name": full_name, "email": email, "phone": phone,
                        "course_title": course_title, "completed_on": completed_on})
    return results


def topics_for(course_title):
    """The plan's topics a course is about, from keywords of its title; ``["other"]`` when none."""
    text = " " + " ".join(re.sub(r"[^a-z0-9]+", " ", name_key(course_title)).split()) + " "
    found = [topic for topic, words in KEYWORDS if any(f" {word} " in text for word in words)]
    return found or ["other"]


def _completed_on(text, today):
    """(``YYYY-MM-DD`` or the text as given, [errors]); the time of day the
    platform adds is dropped: a completion is counted by its date."""
    raw = clean(text)
    label = HEADERS["completed_on"][0]
    if not raw:
        return None, [f"{label}: không được để trống"]
    value = parse_date(" ".join(TIME.sub(" ", raw).split()))
    if value is None:
        return raw, [f"{label} «{raw}» không phải ngày hợp lệ"]
    if value > today:
        return value.isoformat(), [f"{label} «{raw}» là ngày trong tương lai"]
    return value.isoformat(), []


class _Directory:
    """The commune's people by e-mail, phone and folded name."""

    def __init__(self, people):
        self.by = {"email": {}, "phone": {}, "name": {}}
        for person in people:
            keys = {"email": (person.get("email") or "").strip().lower(),
                    "phone": normalise_phone(person.get("phone")),
                    "name": name_key(person.get("full_name"))}
            for kind, key in keys.items():
                if key and person["person_id"] not in self.by[kind].setdefault(key, []):
                    self.by[kind][key].append(person["person_id"])

    def find(self, email, phone, full_name):
        """(person_id, None) or (None, why not)."""
        for kind, key in (("email", email), ("phone", phone)):
            found = self.by[kind].get(key) if key else None
            if found and len(found) == 1:
                return found[0], None
        named = self.by["name"].get(name_key(full_name), [])
        if len(named) == 1:
            return named[0], None
        if named:
            return None, f"có {len(named)} người trùng tên, cần chọn"
        return None, "không tìm thấy người có tên này trong danh sách"
