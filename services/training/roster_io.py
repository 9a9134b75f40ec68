"""Roster import and export (nhập, xuất danh sách tuyên truyền viên), with no I/O.

The file is what a commune already keeps in a spreadsheet: CSV (UTF-8, with
or without the BOM Excel writes, comma- or semicolon-separated as the
Vietnamese locale saves it) or XLSX, a header naming the columns in any
order, in Vietnamese with or without diacritics. Every row is checked and
reported with all its problems at once, each naming its column, so the
officer fixes the file in one pass; the service applies nothing while any row
has errors. An exported file reads back cleanly, so export → edit → import is
the way to correct the roster in bulk.

``table``, ``clean``, ``name_key``, ``parse_date`` and ``normalise_phone`` are shared
with ``online.py``: both read spreadsheets the same way and must agree on
what makes two phone numbers or two names the same.
"""
import csv
import io
import re
import unicodedata
import zipfile
from datetime import date, datetime

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from shared.errors import InvalidInput
from shared.text import fold
from shared.timeutil import local_today

COLUMNS = [
    ("full_name", "Họ và tên"),
    ("village", "Thôn"),
    ("role", "Vai trò"),
    ("gender", "Giới tính"),
    ("birth_date", "Ngày sinh"),
    ("phone", "Số điện thoại"),
    ("email", "Email"),
    ("address", "Địa chỉ"),
    ("decision_number", "Số quyết định"),
    ("decision_date", "Ngày quyết định"),
    ("status", "Trạng thái"),
    ("notes", "Ghi chú"),
]
HEADERS = dict(COLUMNS)
# a file with only officers still needs the column: one file-wide error beats
# the same row error on every communicator
REQUIRED_COLUMNS = ("full_name", "village")
# headers people write in their own sheets for the same columns
EXTRA_HEADERS = {
    "full_name": ("Họ tên",),
    "phone": ("Điện thoại", "SĐT", "Số ĐT"),
    "email": ("Thư điện tử", "E-mail"),
    "decision_number": ("Số QĐ",),
    "decision_date": ("Ngày QĐ",),
}
ROSTER_HEADERS = {key: (header, key, *EXTRA_HEADERS.get(key, ())) for key, header in COLUMNS}
# the row-number column almost every Vietnamese spreadsheet starts with
IGNORED_HEADERS = frozenset({"stt", "tt", "sothutu"})

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
# a 2 MB XLSX can unpack to gigabytes; no honest roster comes near this
MAX_UNPACKED = 40 * 1024 * 1024
# title lines ("DANH SÁCH TUYÊN TRUYỀN VIÊN…") a sheet may have above its header
TITLE_ROWS = 10
LIMITS = {"full_name": 100, "address": 300, "decision_number": 50, "email": 254, "notes": 1000}

ROLES = {"communicator": "Tuyên truyền viên", "lead": "Tổ trưởng", "officer": "Cán bộ"}
STATUSES = {"active": "Đang hoạt động", "on_leave": "Tạm nghỉ", "left": "Đã nghỉ"}
GENDERS = {"male": "Nam", "female": "Nữ", "other": "Khác"}
VILLAGE_ROLES = ("communicator", "lead")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"
SAVE_AS = "hãy mở bằng Excel và lưu lại dạng «CSV UTF-8» hoặc «Excel Workbook (.xlsx)»"
# what Excel would run as a formula when it opens a CSV file
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
# mobile numbers only: 0 + 9 digits after the 2018 renumbering; spreadsheets drop the 0
PHONE = re.compile(r"^(?:\+84|0084|84)?0?([35789][0-9]{8})$")
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
DMY = re.compile(r"^([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})$")
YMD = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")
VILLAGE_WORDS = ("to dan pho", "khu pho", "tdp", "thon", "xom", "ap", "ban", "buon", "lang", "khom", "khu", "to")


def clean(text):
    """NFC with runs of spaces collapsed: what a person typed, without the
    invisible differences that would make two equal names differ."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def name_key(text):
    """Accent- and case-free form of a name, for "is this the same person"."""
    return " ".join(fold(clean(text)).split())


def header_key(text):
    """"Số điện thoại", "so dien thoai", "SỐ ĐIỆN THOẠI" and "so_dien_thoai" all match."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


def parse_date(text):
    """``DD/MM/YYYY``, ``D/M/YYYY`` or ``YYYY-MM-DD`` as a date; None when the
    text is not one (31/02, a two-digit year, a year before 1900)."""
    text = (text or "").strip()
    if match := DMY.match(text):
        day, month, year = match.groups()
    elif match := YMD.match(text):
        year, month, day = match.groups()
    else:
        return None
    try:
        value = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return value if value.year >= 1900 else None


def normalise_phone(text):
    """A Vietnamese mobile number as ``0xxxxxxxxx``, or None: accepts +84/84/0
    prefixes, spaces, dots and hyphens, and the 9 digits left when a
    spreadsheet read the number as a number."""
    match = PHONE.match(PHONE_SEPARATORS.sub("", text or ""))
    return f"0{match.group(1)}" if match else None


# --- reading a spreadsheet -------------------------------------------------------

def table(data, headers, required, strict):
    """The data rows of a CSV or XLSX file as ``[{row, values: {key: text}}]``.

    ``headers`` maps each key to the headers accepted for it, the label used in
    messages first and the most specific first (when a lenient file has two
    columns for one key, the earlier header wins). ``strict`` refuses columns
    it does not know, so a roster column is never silently dropped; a foreign
    export (``strict=False``) has many columns we do not need.
    """
    accepted = {}
    for key, names in headers.items():
        for rank, name in enumerate(names):
            accepted.setdefault(header_key(name), (key, rank))
    rows = _grid(data, accepted)
    header = _header(rows, accepted)
    columns = _columns(header, headers, accepted, required, strict)
    result = []
    for number, cells in rows:
        if not any(cells):
            continue
        if strict:
            stray = [i for i, cell in enumerate(cells) if cell and (i >= len(header) or not header_key(header[i]))]
            if stray:
                raise InvalidInput(
                    f"Dòng {number} có dữ liệu ở cột {get_column_letter(stray[0] + 1)} nhưng cột này không có "
                    f"tiêu đề; hãy đặt tiêu đề hoặc xóa cột.", {"row": number})
        if len(result) == MAX_ROWS:
            raise InvalidInput(f"Tệp có quá {MAX_ROWS} dòng; hãy chia thành nhiều tệp.", {"max_rows": MAX_ROWS})
        values = {key: "" for key in headers}
        values.update({key: _unquote(cells[i]) for i, key in columns.items() if i < len(cells)})
        result.append({"row": number, "values": values})
    if not result:
        raise InvalidInput("Tệp chỉ có dòng tiêu đề, chưa có dòng dữ liệu nào.")
    return result


def read_table(filename, data):
    """A roster file's rows; raises InvalidInput for a file that cannot be read
    as a roster (empty, too big, not CSV/XLSX, missing or unknown columns).
    The content says which format it is: names and extensions get changed."""
    return table(data, ROSTER_HEADERS, REQUIRED_COLUMNS, strict=True)


def _grid(data, accepted):
    """(spreadsheet row number, [cell text]) for every row, header included."""
    if not data:
        raise InvalidInput("Tệp trống.")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"Tệp lớn quá {MAX_BYTES // (1024 * 1024)} MB; hãy chia thành nhiều tệp.",
                           {"max_bytes": MAX_BYTES})
    if data[:2] == b"PK":
        return _xlsx_rows(data)
    if data[:4] == OLE_SIGNATURE:
        raise InvalidInput(f"Tệp Excel 97–2003 (.xls) không đọc được; {SAVE_AS}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"Tệp không phải CSV UTF-8 hay XLSX; {SAVE_AS}.") from err
    return _csv_rows(text, accepted)


def _csv_rows(text, accepted):
    delimiter = _delimiter(text, accepted)
    try:
        rows = [(number, [cell.strip() for cell in row]) for number, row in
                enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)]
    except csv.Error as err:
        raise InvalidInput(f"Không đọc được tệp CSV: {err}; {SAVE_AS}.") from err
    return iter(rows)


def _delimiter(text, accepted):
    """The separator that splits the header into the most known columns (an
    address with commas in a semicolon file fools a plain count)."""
    head = text.splitlines()[:TITLE_ROWS]

    def score(delimiter):
        known = max((sum(header_key(cell) in accepted for cell in row)
                     for row in csv.reader(head, delimiter=delimiter)), default=0)
        return known, head[0].count(delimiter) if head else 0

    return max(",;\t", key=score)


def _xlsx_rows(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile as err:
        raise InvalidInput(f"Tệp XLSX bị hỏng; {SAVE_AS}.") from err
    if unpacked > MAX_UNPACKED:
        raise InvalidInput("Tệp XLSX quá lớn khi giải nén; hãy chia thành nhiều tệp.")
    return _sheet_rows(data)


def _sheet_rows(data):
    # any failure inside openpyxl means the upload is not a readable workbook
    # (an .ods or .docx is a zip too), which is the caller's to fix
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:
        raise InvalidInput(f"Không đọc được tệp XLSX; {SAVE_AS}.") from err
    try:
        sheet = book.active or book.worksheets[0]
        # the stored dimensions can be wrong and would cut rows off
        sheet.reset_dimensions()
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in row]
    except Exception as err:
        raise InvalidInput(f"Không đọc được tệp XLSX; {SAVE_AS}.") from err
    finally:
        book.close()


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        # a phone number typed into a number cell
        return str(int(value))
    return str(value).strip()


def _unquote(text):
    """Undo the apostrophe the export puts before text Excel would run as a formula."""
    return text[1:] if text[:1] == "'" and text[1:2] in FORMULA_START else text


def _header(rows, accepted):
    """The header row: the first row naming a known column, skipping title rows."""
    seen = []
    for number, cells in rows:
        if not any(cells):
            continue
        if any(header_key(cell) in accepted for cell in cells):
            return cells
        seen.append(cells)
        if len(seen) == TITLE_ROWS:
            break
    if not seen:
        raise InvalidInput("Tệp trống.")
    return seen[0]


def _columns(cells, headers, accepted, required, strict):
    """{cell index: key}; raises InvalidInput naming missing and unknown columns."""
    columns, ranks, unknown, duplicated = {}, {}, [], []
    for index, cell in enumerate(cells):
        folded = header_key(cell)
        if not folded or folded in IGNORED_HEADERS:
            continue
        if folded not in accepted:
            unknown.append(cell)
            continue
        key, rank = accepted[folded]
        if key in ranks:
            duplicated.append(cell)
            if rank >= ranks[key]:
                continue
            columns = {i: k for i, k in columns.items() if k != key}
        columns[index], ranks[key] = key, rank
    missing = [headers[key][0] for key in required if key not in ranks]
    problems = []
    if missing:
        problems.append("Tệp thiếu cột bắt buộc: " + ", ".join(f"«{name}»" for name in missing) + ".")
    if strict and unknown:
        problems.append("Tệp có cột không nhận ra: " + ", ".join(f"«{name}»" for name in unknown)
                        + ". Các cột dùng được: " + ", ".join(names[0] for names in headers.values()) + ".")
    if strict and duplicated:
        problems.append("Tệp có cột trùng: " + ", ".join(f"«{name}»" for name in duplicated) + ".")
    if problems:
        raise InvalidInput(" ".join(problems), {"missing": missing, "unknown": unknown if strict else [],
                                                "duplicated": duplicated if strict else []})
    return columns


# --- checking rows -------------------------------------------------------------

def check_rows(rows, villages, existing, *, today=None):
    """Each row as the person it would create, with every problem found.

    ``existing`` is the roster the rows must not duplicate. ``today`` (Vietnam)
    is for tests. Rows with errors keep the text the file had, so the preview
    shows what to fix; only ``ok`` rows are meant to be saved.
    """
    today = today or local_today()
    places = _Villages(villages)
    known_names, known_phones = {}, {}
    for person in existing:
        birth, phone = person.get("birth_date"), normalise_phone(person.get("phone"))
        if person.get("full_name") and birth:
            known_names.setdefault((name_key(person["full_name"]), birth), person)
        if phone:
            known_phones.setdefault(phone, person)
    first_names, first_phones = {}, {}
    results = []
    for row in rows:
        person, errors = _person(row["values"], places, today)
        failed = {key for key, _ in errors}
        name_birth = (name_key(person["full_name"]), person["birth_date"]) \
            if person["full_name"] and person["birth_date"] and "birth_date" not in failed else None
        phone = person["phone"] if person["phone"] and "phone" not in failed else None
        for key, first, known, label in ((name_birth, first_names, known_names, "Họ và tên, Ngày sinh"),
                                         (phone, first_phones, known_phones, HEADERS["phone"])):
            if key is None:
                continue
            if key in first:
                errors.append((None, f"{label}: trùng với dòng {first[key]}"))
            elif key in known:
                errors.append((None, f"{label}: đã có trong danh sách: {places.describe(known[key])}"))
            first.setdefault(key, row["row"])
        results.append({"row": row["row"], "status": "error" if errors else "ok",
                        "errors": [message for _, message in errors], "person": person})
    return results


def _person(values, places, today):
    """(person dict, [(key, message)])."""
    errors = []

    def fail(key, message):
        errors.append((key, message))

    raw = {key: clean(values.get(key)) for key in HEADERS}
    person = {key: raw[key] or None for key in HEADERS}
    for key, limit in LIMITS.items():
        if len(raw[key]) > limit:
            fail(key, f"{HEADERS[key]} dài quá {limit} ký tự")
    if not raw["full_name"]:
        fail("full_name", f"{HEADERS['full_name']}: không được để trống")
    for key, words, default in (("role", ROLES, "communicator"), ("status", STATUSES, "active"),
                                ("gender", GENDERS, None)):
        person[key] = _word(raw[key], words) if raw[key] else default
        if person[key] is None and raw[key]:
            person[key] = raw[key]
            fail(key, f"{HEADERS[key]} «{raw[key]}» không hợp lệ: dùng {_choices(words)}")
    if raw["village"]:
        village, problem = places.find(raw["village"])
        person["village"] = village or raw["village"]
        if problem:
            fail("village", problem)
    elif person["role"] in VILLAGE_ROLES:
        fail("village", f"{HEADERS['village']}: không được để trống với tuyên truyền viên và tổ trưởng")
    for key in ("birth_date", "decision_date"):
        if not raw[key]:
            continue
        value = parse_date(raw[key])
        if value is None:
            fail(key, f"{HEADERS[key]} «{raw[key]}» không phải ngày hợp lệ (ngày/tháng/năm, ví dụ 15/03/1990)")
        elif key == "birth_date" and value > today:
            fail(key, f"{HEADERS[key]} «{raw[key]}» là ngày trong tương lai")
        else:
            person[key] = value.isoformat()
    if raw["phone"]:
        phone = normalise_phone(raw["phone"])
        person["phone"] = phone or raw["phone"]
        if phone is None:
            fail("phone", f"{HEADERS['phone']} «{raw['phone']}» không hợp lệ: cần số di động Việt Nam "
                          f"10 chữ số, ví dụ 0912 345 678")
    if raw["email"]:
        person["email"] = raw["email"].lower()
        if not EMAIL.match(raw["email"]):
            fail("email", f"{HEADERS['email']} «{raw['email']}» không hợp lệ")
    return person, errors


def _word(text, words):
    """The key of a vocabulary word given as the key or its Vietnamese label."""
    folded = header_key(text)
    for key, label in words.items():
        if folded in (header_key(key), header_key(label)):
            return key
    return None


def _choices(words):
    labels = list(words.values())
    return ", ".join(labels[:-1]) + " hoặc " + labels[-1]


class _Villages:
    """The commune's villages, found by id ("thon-1"), name ("Thôn 1") or the
    name without its kind ("1", "Thôn 01") when only one village has it."""

    def __init__(self, villages):
        self.villages = list(villages)
        self.names = {village["id"]: village["name"] for village in self.villages}

    def find(self, text):
        """(village id, None) or (None, the message saying why not)."""
        for same in (lambda v: text == v["id"],
                     lambda v: name_key(text) in (name_key(v["id"]), name_key(v["name"])),
                     lambda v: _village_core(text) in (_village_core(v["id"]), _village_core(v["name"]))):
            found = [village for village in self.villages if same(village)]
            if len(found) == 1:
                return found[0]["id"], None
            if found:
                names = ", ".join(village["name"] for village in found)
                return None, f"{HEADERS['village']} «{text}» khớp với nhiều thôn ({names}); hãy ghi đúng tên thôn"
        return None, f"{HEADERS['village']} «{text}» không có trong danh sách thôn của xã"

    def describe(self, person):
        village = person.get("village")
        name = self.names.get(village, village)
        return f"{person['full_name']} ({name})" if name else person["full_name"]


def _village_core(text):
    words = [str(int(word)) if word.isdigit() else word for word in re.sub(r"[^a-z0-9]+", " ", fold(text)).split()]
    joined = " ".join(words)
    for kind in VILLAGE_WORDS:
        if joined.startswith(kind + " "):
            return joined[len(kind) + 1:]
    return joined


# --- export ---------------------------------------------------------------------

def export(people, villages, fmt, *, today=None):
    """``(filename, content_type, data)``: the roster in the columns the import
    reads, with villages by name and words in Vietnamese, so the file can be
    edited and imported back."""
    kind = (fmt or "").strip().lower()
    if kind not in ("csv", "xlsx"):
        raise InvalidInput(f"Định dạng «{fmt}» không hỗ trợ; chọn csv hoặc xlsx.", {"fmt": fmt})
    names = {village["id"]: village["name"] for village in villages}
    rows = [_export_row(person, names) for person in people]
    filename = f"tuyen-truyen-vien-{(today or local_today()).isoformat()}.{kind}"
    if kind == "csv":
        return filename, CSV_TYPE, _csv_bytes(rows)
    return filename, XLSX_TYPE, _xlsx_bytes(rows)


def _export_row(person, names):
    words = {"role": ROLES, "status": STATUSES, "gender": GENDERS}
    row = []
    for key, _ in COLUMNS:
        value = person.get(key)
        if key == "village":
            value = names.get(value, value)
        elif key in words:
            value = words[key].get(value, value)
        elif key in ("birth_date", "decision_date") and value:
            value = date.fromisoformat(value)
        row.append(value)
    return row


def _csv_bytes(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _, header in COLUMNS])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    # the BOM is how Excel knows the file is UTF-8 and shows Vietnamese right
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _xlsx_bytes(rows):
    book = Workbook()
    sheet = book.active
    sheet.title = "Tuyên truyền viên"
    sheet.append([header for _, header in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = [len(header) for _, header in COLUMNS]
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = sheet.cell(row=number, column=column, value=value)
            if isinstance(value, date):
                cell.number_format = "DD/MM/YYYY"
            elif isinstance(value, str):
                # text that starts with "=" stays text, never a formula
                cell.data_type = "s"
                cell.number_format = "@"
            widths[column - 1] = max(widths[column - 1], 10 if isinstance(value, date) else len(str(value or "")))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 8), 48) + 2
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
