"""Roster import and export: reading CSV/XLSX, checking every row, writing a
file that reads back cleanly. No I/O beyond bytes built here."""
import csv
import io
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from services.training import roster_io
from services.training.roster_io import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    check_rows,
    export,
    normalise_phone,
    parse_date,
    read_table,
)
from shared.errors import InvalidInput

SAMPLES = Path(__file__).parent / "samples"
TODAY = date(2026, 5, 20)
VILLAGES = [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"},
            {"id": "xom-dong", "name": "Xóm Đông"}]
HEADER = "Họ và tên,Thôn,Vai trò,Ngày sinh,Số điện thoại"


def csv_file(*lines, bom=False, delimiter=","):
    text = "\r\n".join(line.replace(",", delimiter) for line in lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def xlsx_file(rows):
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def values(**given):
    row = {key: "" for key, _ in COLUMNS}
    row.update({"full_name": "Nguyễn Văn An", "village": "Thôn 1"}, **given)
    return row


def check(*rows, existing=()):
    return check_rows([{"row": n, "values": v} for n, v in enumerate(rows, start=2)], VILLAGES, list(existing),
                      today=TODAY)


def person(**given):
    base = {"full_name": "Nguyễn Văn An", "village": "thon-1", "role": "communicator", "gender": None,
            "birth_date": None, "phone": None, "email": None, "address": None, "decision_number": None,
            "decision_date": None, "status": "active", "notes": None}
    return {**base, **given}


# --- reading -----------------------------------------------------------------------

CSV_ROW = "Nguyễn Văn An,Thôn 1,,05/04/1975,0912345678"


@pytest.mark.parametrize("data,birth_date,phone", [
    (csv_file(HEADER, CSV_ROW), "05/04/1975", "0912345678"),
    (csv_file(HEADER, CSV_ROW, bom=True), "05/04/1975", "0912345678"),
    (csv_file(HEADER, CSV_ROW, delimiter=";"), "05/04/1975", "0912345678"),
    (csv_file(HEADER, CSV_ROW, bom=True, delimiter=";"), "05/04/1975", "0912345678"),
    (xlsx_file([HEADER.split(","), ["Nguyễn Văn An", "Thôn 1", None, datetime(1975, 4, 5), 912345678]]),
     "1975-04-05", "912345678"),
], ids=["csv", "csv-bom", "semicolon", "semicolon-bom", "xlsx"])
def test_csv_and_xlsx_files_read_the_same(data, birth_date, phone):
    rows = read_table("roster", data)

    empty = {key: "" for key, _ in COLUMNS}
    assert rows == [{"row": 2, "values": {**empty, "full_name": "Nguyễn Văn An", "village": "Thôn 1",
                                          "birth_date": birth_date, "phone": phone}}]


@pytest.mark.parametrize("header", ["Họ và tên,Thôn", "ho va ten,thon", "HỌ VÀ TÊN , THÔN", "Họ  và  tên,Thôn",
                                    "full_name,village", "Full Name,Village", "Họ tên,Thôn"])
def test_headers_match_without_accents_case_or_spaces_and_in_english(header):
    rows = read_table("roster.csv", csv_file(header, "Nguyễn Văn An,Thôn 1"))

    assert rows[0]["values"]["full_name"] == "Nguyễn Văn An"
    assert rows[0]["values"]["village"] == "Thôn 1"


def test_the_separator_is_the_one_that_splits_the_header_even_when_addresses_have_commas():
    data = "Họ và tên;Thôn;Địa chỉ\r\nNguyễn Văn An;Thôn 1;Xóm Giữa, Thôn 1, xã Xuân Hưng\r\n".encode()

    assert read_table("roster.csv", data)[0]["values"]["address"] == "Xóm Giữa, Thôn 1, xã Xuân Hưng"


def test_rows_keep_their_spreadsheet_numbers_past_titles_and_blank_rows():
    rows = read_table("roster.csv", (SAMPLES / "roster_semicolon.csv").read_bytes())

    assert [row["row"] for row in rows] == [3, 4, 6]
    assert rows[1]["values"]["phone"] == "+84 987.654.321"
    assert rows[2]["values"]["notes"] == "Công chức Văn hóa - Xã hội"


def test_xlsx_rows_are_numbered_as_the_sheet_shows_them():
    data = xlsx_file([["Danh sách tuyên truyền viên"], ["STT", "Họ và tên", "Thôn"], [1, "An", "Thôn 1"], [],
                      [2, "Bình", "Thôn 2"]])

    assert [(row["row"], row["values"]["full_name"]) for row in read_table("r.xlsx", data)] == [(3, "An"),
                                                                                               (5, "Bình")]


def test_xlsx_cells_are_text_dates_iso_and_whole_numbers_without_decimals():
    data = xlsx_file([["Họ và tên", "Thôn", "Ngày sinh", "Số điện thoại", "Số quyết định"],
                      ["  An  ", "Thôn 1", date(1990, 3, 15), 912345678.0, 12]])

    got = read_table("r.xlsx", data)[0]["values"]

    assert (got["full_name"], got["birth_date"], got["phone"], got["decision_number"]) == (
        "An", "1990-03-15", "912345678", "12")


def test_xlsx_with_wrong_stored_dimensions_is_read_whole():
    data = xlsx_file([["Họ và tên", "Thôn"]] + [[f"Người {n}", "Thôn 1"] for n in range(5)])
    # a tool that writes a one-cell dimension would cut the sheet to its first row
    patched = _rewrite_zip(data, "xl/worksheets/sheet1.xml",
                           lambda xml: xml.replace(b'<dimension ref="A1:B6"/>', b'<dimension ref="A1"/>'))
    assert patched != data

    assert len(read_table("r.xlsx", patched)) == 5


def _rewrite_zip(data, name, change):
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w") as out:
        for item in source.infolist():
            content = source.read(item)
            out.writestr(item, change(content) if item.filename == name else content)
    return target.getvalue()


def test_the_row_number_column_is_ignored():
    rows = read_table("r.csv", csv_file("STT,Họ và tên,Thôn", "1,An,Thôn 1"))

    assert rows[0]["values"]["full_name"] == "An"


def test_exactly_the_row_limit_is_accepted():
    data = csv_file("Họ và tên,Thôn", *[f"Người {n},Thôn 1" for n in range(MAX_ROWS)])

    assert len(read_table("r.csv", data)) == MAX_ROWS


@pytest.mark.parametrize("data,message", [
    (b"", "Tệp trống"),
    (b"\r\n \r\n", "Tệp trống"),
    (b"a" * (MAX_BYTES + 1), "lớn quá 2 MB"),
    (csv_file("Họ và tên,Thôn", *["An,Thôn 1"] * (MAX_ROWS + 1)), "quá 2000 dòng"),
    (csv_file("Họ và tên,Thôn"), "chưa có dòng dữ liệu"),
    ("Ho va ten,Thôn\r\nAn,Thôn 1\r\n".encode("cp1258"), "CSV UTF-8"),
    ("Họ và tên\tThôn\r\n".encode("utf-16"), "CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "(.xls)"),
    (b"PK\x03\x04 not really a zip", "XLSX bị hỏng"),
    (csv_file("Thôn,Ngày sinh", "Thôn 1,01/01/1990"), "thiếu cột bắt buộc: «Họ và tên»"),
    (csv_file("Họ và tên,Ngày sinh", "An,01/01/1990"), "thiếu cột bắt buộc: «Thôn»"),
    (csv_file("Tên,Làng", "An,Thôn 1"), "«Họ và tên», «Thôn»"),
    (csv_file("Họ và tên,Thôn,Quê quán,Dân tộc", "An,Thôn 1,Nam Định,Kinh"),
     "cột không nhận ra: «Quê quán», «Dân tộc»"),
    (csv_file("Họ và tên,Thôn,Họ tên", "An,Thôn 1,An"), "cột trùng: «Họ tên»"),
    (csv_file("Họ và tên,Thôn,", "An,Thôn 1,", "Bình,Thôn 2,thừa"), "Dòng 3 có dữ liệu ở cột C"),
    (csv_file("Họ và tên,Thôn,-", "An,Thôn 1,thừa"), "Dòng 2 có dữ liệu ở cột C"),
    (csv_file("Họ và tên,Thôn", "An,Thôn 1,thừa"), "Dòng 2 có dữ liệu ở cột C"),
], ids=["empty", "blank-lines", "too-large", "too-many-rows", "header-only", "not-utf8", "utf16", "xls",
        "broken-zip", "no-name", "no-village", "neither", "unknown", "duplicated", "stray-data",
        "stray-under-a-dash", "stray-past-the-header"])
def test_files_that_cannot_be_a_roster_are_refused_with_the_reason(data, message):
    with pytest.raises(InvalidInput) as err:
        read_table("roster", data)

    assert message in err.value.message
    assert err.value.message == unicodedata.normalize("NFC", err.value.message)


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")

    with pytest.raises(InvalidInput, match="Không đọc được tệp XLSX"):
        read_table("roster.ods", buffer.getvalue())


def test_a_zip_that_unpacks_too_large_is_refused_before_parsing():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (roster_io.MAX_UNPACKED + 1))

    with pytest.raises(InvalidInput, match="giải nén"):
        read_table("bomb.xlsx", buffer.getvalue())


def test_unknown_and_missing_columns_are_in_the_details():
    with pytest.raises(InvalidInput) as err:
        read_table("r.csv", csv_file("Họ và tên,Quê quán", "An,Nam Định"))

    assert err.value.details == {"missing": ["Thôn"], "unknown": ["Quê quán"], "duplicated": []}


# --- checking rows -------------------------------------------------------------------

def test_a_full_row_is_normalised_into_a_person():
    row = values(full_name="  Nguyễn   Văn  An ", village="thon 1", role="Tổ trưởng", gender="nam",
                 birth_date="5/4/1975", phone="+84 912.345.678", email="An.Nguyen@Example.VN",
                 address="Xóm Giữa", decision_number="12/QĐ-UBND", decision_date="10/01/2024",
                 status="Tạm nghỉ", notes="Phụ trách loa")

    [result] = check(row)

    assert result == {"row": 2, "status": "ok", "errors": [], "person": person(
        role="lead", gender="male", birth_date="1975-04-05", phone="0912345678", email="an.nguyen@example.vn",
        address="Xóm Giữa", decision_number="12/QĐ-UBND", decision_date="2024-01-10", status="on_leave",
        notes="Phụ trách loa")}


def test_names_come_out_in_nfc():
    [result] = check(values(full_name=unicodedata.normalize("NFD", "Nguyễn Thị Hương")))

    assert result["person"]["full_name"] == unicodedata.normalize("NFC", "Nguyễn Thị Hương")


@pytest.mark.parametrize("given,expected", [
    ("thon-1", "thon-1"), ("Thôn 1", "thon-1"), ("thon 1", "thon-1"), ("THÔN 1", "thon-1"), ("1", "thon-1"),
    ("Thôn 01", "thon-1"), ("Xóm Đông", "xom-dong"), ("xom dong", "xom-dong"), ("Đông", "xom-dong"),
    ("Thôn Đông", "xom-dong"),
])
def test_villages_are_found_by_id_or_name(given, expected):
    [result] = check(values(village=given))

    assert (result["status"], result["person"]["village"]) == ("ok", expected)


@pytest.mark.parametrize("field,given,expected", [
    ("birth_date", "15/03/1990", "1990-03-15"), ("birth_date", "5/3/1990", "1990-03-05"),
    ("birth_date", "1990-03-15", "1990-03-15"), ("birth_date", "15.03.1990", "1990-03-15"),
    ("birth_date", "29/02/2000", "2000-02-29"), ("decision_date", "01/02/2024", "2024-02-01"),
    ("phone", "0912345678", "0912345678"), ("phone", "0912 345 678", "0912345678"),
    ("phone", "0912.345.678", "0912345678"), ("phone", "+84912345678", "0912345678"),
    ("phone", "+84 912 345 678", "0912345678"), ("phone", "84912345678", "0912345678"),
    ("phone", "912345678", "0912345678"), ("phone", "(+84) 0912-345-678", "0912345678"),
    ("phone", "0387 654 321", "0387654321"),
    ("role", "communicator", "communicator"), ("role", "Tuyên truyền viên", "communicator"),
    ("role", "tuyen truyen vien", "communicator"), ("role", "lead", "lead"), ("role", "TỔ TRƯỞNG", "lead"),
    ("role", "Cán bộ", "officer"), ("role", "officer", "officer"), ("role", "", "communicator"),
    ("status", "Đang hoạt động", "active"), ("status", "on_leave", "on_leave"), ("status", "tam nghi", "on_leave"),
    ("status", "Đã nghỉ", "left"), ("status", "left", "left"), ("status", "", "active"),
    ("gender", "Nam", "male"), ("gender", "Nữ", "female"), ("gender", "nu", "female"), ("gender", "Khác", "other"),
    ("gender", "female", "female"), ("gender", "", None),
    ("email", "  a.b@xa.gov.vn ", "a.b@xa.gov.vn"), ("address", "Xóm  Giữa\n Thôn 1", "Xóm Giữa Thôn 1"),
])
def test_accepted_values_are_normalised(field, given, expected):
    [result] = check(values(**{field: given}))

    assert (result["status"], result["errors"], result["person"][field]) == ("ok", [], expected)


@pytest.mark.parametrize("given,message", [
    ({"full_name": "  "}, "Họ và tên: không được để trống"),
    ({"full_name": "A" * 101}, "Họ và tên dài quá 100 ký tự"),
    ({"village": "Thôn 9"}, "Thôn «Thôn 9» không có trong danh sách thôn của xã"),
    ({"village": ""}, "Thôn: không được để trống với tuyên truyền viên và tổ trưởng"),
    ({"village": "", "role": "Tổ trưởng"}, "Thôn: không được để trống"),
    ({"village": "Thôn 9", "role": "Cán bộ"}, "Thôn «Thôn 9» không có"),
    ({"role": "Bí thư"}, "Vai trò «Bí thư» không hợp lệ: dùng Tuyên truyền viên, Tổ trưởng hoặc Cán bộ"),
    ({"status": "Nghỉ hưu"}, "Trạng thái «Nghỉ hưu» không hợp lệ: dùng Đang hoạt động, Tạm nghỉ hoặc Đã nghỉ"),
    ({"gender": "X"}, "Giới tính «X» không hợp lệ: dùng Nam, Nữ hoặc Khác"),
    ({"birth_date": "31/02/1990"}, "Ngày sinh «31/02/1990» không phải ngày hợp lệ"),
    ({"birth_date": "29/02/2001"}, "Ngày sinh «29/02/2001» không phải ngày hợp lệ"),
    ({"birth_date": "15/13/1990"}, "Ngày sinh «15/13/1990» không phải ngày hợp lệ"),
    ({"birth_date": "15/03/90"}, "Ngày sinh «15/03/90» không phải ngày hợp lệ"),
    ({"birth_date": "1990"}, "Ngày sinh «1990» không phải ngày hợp lệ"),
    ({"birth_date": "03/15/1990"}, "Ngày sinh «03/15/1990» không phải ngày hợp lệ"),
    ({"birth_date": "01/01/1850"}, "Ngày sinh «01/01/1850» không phải ngày hợp lệ"),
    ({"birth_date": "21/05/2026"}, "Ngày sinh «21/05/2026» là ngày trong tương lai"),
    ({"decision_date": "32/01/2024"}, "Ngày quyết định «32/01/2024» không phải ngày hợp lệ"),
    ({"phone": "091234567"}, "Số điện thoại «091234567» không hợp lệ"),
    ({"phone": "09123456789"}, "Số điện thoại «09123456789» không hợp lệ"),
    ({"phone": "0243 826 1234"}, "Số điện thoại «0243 826 1234» không hợp lệ"),
    ({"phone": "0123456789"}, "Số điện thoại «0123456789» không hợp lệ"),
    ({"phone": "0912 345 678 / 0987 654 321"}, "không hợp lệ: cần số di động Việt Nam 10 chữ số"),
    ({"phone": "không có"}, "Số điện thoại «không có» không hợp lệ"),
    ({"email": "an.nguyen"}, "Email «an.nguyen» không hợp lệ"),
    ({"email": "an@xa"}, "Email «an@xa» không hợp lệ"),
    ({"email": "an @xa.vn"}, "Email «an @xa.vn» không hợp lệ"),
    ({"address": "x" * 301}, "Địa chỉ dài quá 300 ký tự"),
    ({"notes": "x" * 1001}, "Ghi chú dài quá 1000 ký tự"),
])
def test_each_rule_names_its_column_and_the_value(given, message):
    [result] = check(values(**given))

    assert result["status"] == "error"
    assert any(message in error for error in result["errors"]), result["errors"]
    assert all(error == unicodedata.normalize("NFC", error) for error in result["errors"])


def test_an_officer_needs_no_village():
    [result] = check(values(village="", role="Cán bộ"))

    assert (result["status"], result["person"]["village"], result["person"]["role"]) == ("ok", None, "officer")


def test_a_village_name_two_villages_share_loosely_must_be_written_out():
    ambiguous = VILLAGES + [{"id": "xom-1", "name": "Xóm 1"}]

    [result] = check_rows([{"row": 2, "values": values(village="1")}], ambiguous, [], today=TODAY)

    assert result["errors"] == ["Thôn «1» khớp với nhiều thôn (Thôn 1, Xóm 1); hãy ghi đúng tên thôn"]


def test_every_problem_of_a_row_is_listed():
    [result] = check(values(full_name="", village="Thôn 9", birth_date="31/02/1990", phone="12", email="x"))

    assert len(result["errors"]) == 5


def test_a_bad_value_is_kept_as_written_so_the_preview_shows_it():
    [result] = check(values(birth_date="31/02/1990", phone="12"))

    assert (result["person"]["birth_date"], result["person"]["phone"]) == ("31/02/1990", "12")


@pytest.mark.parametrize("first,second,message", [
    (values(birth_date="05/04/1975"), values(full_name="nguyen van  AN", birth_date="1975-04-05"),
     "Họ và tên, Ngày sinh: trùng với dòng 2"),
    (values(phone="0912345678"), values(full_name="Trần Thị Bình", phone="+84 912 345 678"),
     "Số điện thoại: trùng với dòng 2"),
], ids=["name-and-birth", "phone"])
def test_a_row_repeating_an_earlier_row_of_the_file_is_an_error(first, second, message):
    results = check(first, values(full_name="Lê Văn Cường"), second)

    assert [r["status"] for r in results] == ["ok", "ok", "error"]
    assert results[2]["errors"] == [message]


@pytest.mark.parametrize("first,second", [
    (values(birth_date="05/04/1975"), values(birth_date="06/04/1975")),
    (values(), values()),
    (values(phone="0912345678"), values(full_name="Bình", phone="0987654321")),
], ids=["other-birth-date", "no-birth-date", "other-phone"])
def test_namesakes_are_not_duplicates(first, second):
    assert [r["status"] for r in check(first, second)] == ["ok", "ok"]


EXISTING = [{"person_id": "p1", "full_name": "Nguyễn Văn An", "birth_date": "1975-04-05", "phone": "0912345678",
             "village": "thon-1"},
            {"person_id": "p2", "full_name": "Lê Văn Cường", "birth_date": None, "phone": None, "village": None}]


@pytest.mark.parametrize("row,message", [
    (values(full_name="NGUYỄN VĂN AN", birth_date="05/04/1975"),
     "Họ và tên, Ngày sinh: đã có trong danh sách: Nguyễn Văn An (Thôn 1)"),
    (values(full_name="Trần Thị Bình", phone="912 345 678"),
     "Số điện thoại: đã có trong danh sách: Nguyễn Văn An (Thôn 1)"),
], ids=["name-and-birth", "phone"])
def test_a_row_repeating_someone_on_the_roster_is_an_error(row, message):
    [result] = check(row, existing=EXISTING)

    assert result["errors"] == [message]


def test_someone_on_the_roster_without_birth_date_is_not_matched_by_name_alone():
    [result] = check(values(full_name="Lê Văn Cường", village="", role="Cán bộ"), existing=EXISTING)

    assert result["status"] == "ok"


def test_the_sample_file_checks_clean():
    rows = read_table("roster.csv", (SAMPLES / "roster_semicolon.csv").read_bytes())

    results = check_rows(rows, VILLAGES, [], today=TODAY)

    assert [r["errors"] for r in results] == [[], [], []]
    assert [r["person"]["role"] for r in results] == ["lead", "communicator", "officer"]
    assert results[1]["person"]["phone"] == "0987654321"


# --- shared helpers ---------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [("0912345678", "0912345678"), ("", None), (None, None),
                                           ("+８４９１２３４５６７８", None)])
def test_normalise_phone_takes_ascii_digits_only(text, expected):
    assert normalise_phone(text) == expected


@pytest.mark.parametrize("text,expected", [("15/03/2026", date(2026, 3, 15)), ("2026-3-5", date(2026, 3, 5)),
                                           ("", None), ("2026/03/15", None), ("١٥/٠٣/٢٠٢٦", None)])
def test_parse_date_reads_the_documented_forms(text, expected):
    assert parse_date(text) == expected


# --- export -------------------------------------------------------------------------

PEOPLE = [
    person(full_name="Nguyễn Văn An", role="lead", gender="male", birth_date="1975-04-05", phone="0912345678",
           email="an@example.vn", address="Xóm Giữa, Thôn 1", decision_number="12/QĐ-UBND",
           decision_date="2024-01-10", notes="Phụ trách loa; \"cụm\" 2"),
    person(full_name="Trần Thị Bình", village="xom-dong", gender="female", status="on_leave",
           notes="=HYPERLINK(\"http://x\")"),
    person(full_name="Lê Văn Cường", village=None, role="officer", status="left", notes="- đi học"),
]


def test_csv_export_has_a_bom_vietnamese_headers_and_words():
    filename, content_type, data = export(PEOPLE, VILLAGES, "csv", today=TODAY)

    assert (filename, content_type) == ("tuyen-truyen-vien-2026-05-20.csv", "text/csv; charset=utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [header for _, header in COLUMNS]
    assert rows[1][:6] == ["Nguyễn Văn An", "Thôn 1", "Tổ trưởng", "Nam", "05/04/1975", "0912345678"]
    assert rows[2][1:4] == ["Xóm Đông", "Tuyên truyền viên", "Nữ"]
    assert rows[2][10] == "Tạm nghỉ"
    assert rows[2][11].startswith("'=")
    assert rows[3][1:3] == ["", "Cán bộ"]


def test_xlsx_export_has_a_bold_header_real_dates_and_text_not_formulas():
    filename, content_type, data = export(PEOPLE, VILLAGES, "XLSX", today=TODAY)

    assert filename == "tuyen-truyen-vien-2026-05-20.xlsx"
    assert content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(data)).active
    assert [cell.value for cell in sheet[1]] == [header for _, header in COLUMNS]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet["E2"].value == datetime(1975, 4, 5)
    assert sheet["E2"].number_format == "DD/MM/YYYY"
    assert sheet["L3"].data_type == "s"
    assert sheet["L3"].value == "=HYPERLINK(\"http://x\")"
    assert sheet.column_dimensions["A"].width >= len("Nguyễn Văn An")
    assert sheet.column_dimensions["L"].width <= 50


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_file_imports_back_as_the_same_people(fmt):
    _, _, data = export(PEOPLE, VILLAGES, fmt, today=TODAY)

    results = check_rows(read_table(f"roster.{fmt}", data), VILLAGES, [], today=TODAY)

    assert [r["errors"] for r in results] == [[], [], []]
    assert [r["person"] for r in results] == PEOPLE


def test_a_csv_export_opened_in_excel_that_dropped_the_leading_zero_still_imports():
    _, _, data = export(PEOPLE[:1], VILLAGES, "csv", today=TODAY)
    edited = data.replace(b",0912345678,", b",912345678,")

    [result] = check_rows(read_table("roster.csv", edited), VILLAGES, [], today=TODAY)

    assert result["person"]["phone"] == "0912345678"


@pytest.mark.parametrize("fmt", ["pdf", "", None, "xls"])
def test_unknown_export_formats_are_refused(fmt):
    with pytest.raises(InvalidInput, match="csv hoặc xlsx"):
        export(PEOPLE, VILLAGES, fmt)
