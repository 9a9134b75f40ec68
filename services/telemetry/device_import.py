"""Importing the device registry from a CSV file (nhập danh sách thiết bị):
parsing and checking every row, with no I/O.

The file is what a commune keeps in a spreadsheet: UTF-8 (a BOM is fine),
comma-separated (or semicolon/tab, as Vietnamese-locale spreadsheets save
it), a header naming the columns in any order. Every row is checked with the
rules of ``register_device`` and reported with the problems found, so the
operator fixes the file once; nothing is created unless every row is valid.
"""
import csv
import io
import re

from marshmallow import ValidationError

from services.telemetry.schemas import NewDevice
from shared.errors import InvalidInput

COLUMNS = ("device_id", "name", "kind", "village", "lat", "lon", "model", "firmware", "installed_on", "transport",
           "presence_timeout_s")
REQUIRED_COLUMNS = ("device_id", "kind")
MAX_ROWS = 5000
DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


def _delimiter(header_line):
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _problems(messages, prefix=""):
    """marshmallow's error dict as ``field: message`` lines."""
    lines = []
    for name, value in messages.items():
        if isinstance(value, dict):
            lines.extend(_problems(value, f"{prefix}{name}."))
        else:
            lines.extend(f"{prefix}{name}: {text}" for text in (value if isinstance(value, list) else [value]))
    return lines


def _header(row):
    columns = [name.strip().lower() for name in row]
    unknown = [name for name in columns if name not in COLUMNS]
    if unknown:
        raise InvalidInput(f"Tệp CSV có cột không dùng được: {', '.join(unknown)}. Các cột: {', '.join(COLUMNS)}.")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InvalidInput(f"Tệp CSV thiếu cột: {', '.join(missing)}.")
    if len(set(columns)) != len(columns):
        raise InvalidInput("Tệp CSV có cột trùng tên.")
    return columns


def _values(columns, row):
    values = {}
    for name, raw in zip(columns, row):
        text = raw.strip()
        if not text:
            continue
        if name in ("lat", "lon") and DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        values[name] = text
    return values


def check(csv_text, existing_ids):
    """``(rows, devices)``: a report line per data row (``line``,
    ``device_id``, ``problems``) and the loaded devices of the valid rows.
    Raises InvalidInput for a file that cannot be read as a device list."""
    text = (csv_text or "").lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput("Tệp CSV trống.")
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text.splitlines()[0]))
    try:
        columns = _header(next(reader))
        rows, devices, first_line = [], [], {}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"Tệp CSV có quá {MAX_ROWS} dòng; hãy chia thành nhiều tệp.")
            line = reader.line_num
            values = _values(columns, row)
            problems = [] if len(row) <= len(columns) else ["dòng có nhiều cột hơn tiêu đề"]
            try:
                device = NewDevice().load(values)
            except ValidationError as err:
                problems.extend(_problems(err.messages))
                device = None
            device_id = values.get("device_id", "")
            if device_id and device_id in first_line:
                problems.append(f"device_id: trùng với dòng {first_line[device_id]}")
            elif device_id in existing_ids:
                problems.append("device_id: thiết bị đã có trong danh sách của xã")
            if device_id:
                first_line.setdefault(device_id, line)
            rows.append({"line": line, "device_id": device_id, "problems": problems})
            if not problems:
                devices.append(device)
    except csv.Error as err:
        raise InvalidInput(f"Không đọc được tệp CSV: {err}.") from err
    if not rows:
        raise InvalidInput("Tệp CSV không có dòng thiết bị nào.")
    return rows, devices
