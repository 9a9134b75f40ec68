"""Online completions: reading the Ministry platform's export and matching its
rows to the commune's people."""
from datetime import date
from pathlib import Path

import pytest

from services.training.online import KEYWORDS, match, read_completions, topics_for
from shared.errors import InvalidInput
from shared.events import TOPICS

SAMPLES = Path(__file__).parent / "samples"
TODAY = date(2026, 5, 20)
PEOPLE = [
    {"person_id": "p1", "full_name": "Nguyễn Văn An", "email": "an.nguyen@example.vn", "phone": "0912345678",
     "village": "thon-1", "status": "active"},
    {"person_id": "p2", "full_name": "Trần Thị Bình", "email": None, "phone": "0987 654 321", "village": "thon-2",
     "status": "active"},
    {"person_id": "p3", "full_name": "Lê Văn Cường", "email": None, "phone": None, "village": "thon-1",
     "status": "active"},
    {"person_id": "p4", "full_name": "Lê Văn Cường", "email": None, "phone": None, "village": "thon-2",
     "status": "left"},
    {"person_id": "p5", "full_name": "Phạm Thị Dung", "email": None, "phone": None, "village": "thon-2",
     "status": "on_leave"},
]


def csv_file(*lines):
    return ("\r\n".join(lines) + "\r\n").encode()


def row(n=2, **given):
    values = {"full_name": "Nguyễn Văn An", "email": "", "phone": "", "course_title": "Tuyên truyền miệng",
              "completed_on": "15/03/2026", **given}
    return {"row": n, "values": values}


def matched(*rows):
    return match(list(rows), PEOPLE, today=TODAY)


# --- reading ------------------------------------------------------------------------

def test_the_platforms_export_is_read_ignoring_the_columns_we_do_not_need():
    rows = read_completions("export.csv", (SAMPLES / "online_export.csv").read_bytes())

    assert [r["row"] for r in rows] == [2, 3, 4]
    assert rows[0]["values"] == {"full_name": "Nguyễn Văn An", "email": "An.Nguyen@Example.vn", "phone": "",
                                 "course_title": "Kỹ năng vận hành đài truyền thanh cơ sở ứng dụng CNTT-VT",
                                 "completed_on": "15/03/2026 10:22"}


@pytest.mark.parametrize("header", [
    "Họ và tên,Email,Số điện thoại,Tên khóa học,Ngày hoàn thành",
    "Họ tên,Thư điện tử,Điện thoại,Khóa học,Ngày cấp chứng nhận",
    "Học viên,EMAIL,SĐT,Khoá học,Thời gian hoàn thành",
    "ho ten;email;sdt;ten khoa hoc;ngay hoan thanh",
])
def test_header_variants_are_accepted(header):
    line = "An;a@x.vn;0912345678;Khóa A;15/03/2026" if ";" in header else "An,a@x.vn,0912345678,Khóa A,15/03/2026"

    [got] = read_completions("export.csv", csv_file(header, line))

    assert got["values"] == {"full_name": "An", "email": "a@x.vn", "phone": "0912345678", "course_title": "Khóa A",
                             "completed_on": "15/03/2026"}


def test_the_course_title_column_wins_over_a_course_code_column():
    data = csv_file("Khóa học,Họ và tên,Tên khóa học,Ngày hoàn thành", "KH-01,An,Tuyên truyền miệng,15/03/2026")

    assert read_completions("e.csv", data)[0]["values"]["course_title"] == "Tuyên truyền miệng"


def test_the_optional_columns_may_be_missing():
    [got] = read_completions("e.csv", csv_file("Họ và tên,Khóa học,Ngày hoàn thành", "An,Khóa A,15/03/2026"))

    assert (got["values"]["email"], got["values"]["phone"]) == ("", "")


@pytest.mark.parametrize("header,missing", [
    ("Email,Tên khóa học,Ngày hoàn thành", "«Họ và tên»"),
    ("Họ và tên,Ngày hoàn thành", "«Tên khóa học»"),
    ("Họ và tên,Tên khóa học,Ngày đăng ký", "«Ngày hoàn thành»"),
    ("Mã,Điểm", "«Họ và tên», «Tên khóa học», «Ngày hoàn thành»"),
])
def test_a_file_without_name_course_or_date_columns_is_refused_naming_them(header, missing):
    with pytest.raises(InvalidInput) as err:
        read_completions("e.csv", csv_file(header, "a,b,c"))

    assert f"thiếu cột bắt buộc: {missing}" in err.value.message


@pytest.mark.parametrize("data,message", [(b"", "Tệp trống"), (b"x" * (2 * 1024 * 1024 + 1), "lớn quá"),
                                          (b"\xff\xfe\x00H", "CSV UTF-8")])
def test_the_file_limits_are_the_rosters(data, message):
    with pytest.raises(InvalidInput, match=message):
        read_completions("e.csv", data)


# --- matching --------------------------------------------------------------------------

@pytest.mark.parametrize("given,person_id", [
    ({"email": "AN.NGUYEN@example.vn", "full_name": "Người Khác"}, "p1"),
    ({"phone": "+84 987.654.321", "full_name": "Người Khác"}, "p2"),
    ({"phone": "987654321", "full_name": "Trần T. Bình"}, "p2"),
    ({"full_name": "nguyen van an"}, "p1"),
    ({"full_name": "PHẠM  THỊ DUNG"}, "p5"),
    ({"email": "khong.co@example.vn", "phone": "0900000000", "full_name": "Trần Thị Bình"}, "p2"),
], ids=["email", "phone", "phone-without-zero", "folded-name", "spaces-and-case", "falls-back-to-name"])
def test_rows_are_matched_by_email_then_phone_then_a_unique_name(given, person_id):
    [result] = matched(row(**given))

    assert (result["status"], result["person_id"], result["errors"]) == ("matched", person_id, [])


def test_a_matched_row_is_normalised():
    [result] = matched(row(full_name=" Nguyễn  Văn An ", email=" AN.NGUYEN@EXAMPLE.VN ", phone="912 345 678",
                           course_title="Tuyên  truyền miệng", completed_on="15/03/2026 10:22"))

    assert result == {"row": 2, "status": "matched", "errors": [], "person_id": "p1", "full_name": "Nguyễn Văn An",
                      "email": "an.nguyen@example.vn", "phone": "0912345678", "course_title": "Tuyên truyền miệng",
                      "completed_on": "2026-03-15"}


@pytest.mark.parametrize("given,reason", [
    ({"full_name": "Lê Văn Cường"}, "có 2 người trùng tên, cần chọn"),
    ({"full_name": "Hoàng Văn Em"}, "không tìm thấy người có tên này trong danh sách"),
    ({"full_name": "Hoàng Văn Em", "email": "em@example.vn", "phone": "0911111111"},
     "không tìm thấy người có tên này trong danh sách"),
    ({"full_name": "Nguyễn Văn"}, "không tìm thấy người có tên này trong danh sách"),
], ids=["namesakes", "unknown", "unknown-contact", "partial-name"])
def test_rows_that_cannot_be_matched_surely_are_left_unmatched_with_the_reason(given, reason):
    [result] = matched(row(**given))

    assert (result["status"], result["person_id"], result["errors"]) == ("unmatched", None, [reason])


@pytest.mark.parametrize("completed_on,expected", [
    ("15/03/2026", "2026-03-15"), ("15/03/2026 10:22", "2026-03-15"), ("10:22 15/03/2026", "2026-03-15"),
    ("2026-03-15 10:22:05", "2026-03-15"), ("2026-03-15T10:22:05+07:00", "2026-03-15"),
    ("2026-03-15T03:22:05.123Z", "2026-03-15"), ("15/03/2026 10:22 SA", "2026-03-15"),
    ("5/3/2026 9:05 PM", "2026-03-05"), ("20/05/2026", "2026-05-20"),
])
def test_completion_dates_may_carry_a_time(completed_on, expected):
    [result] = matched(row(completed_on=completed_on))

    assert (result["status"], result["completed_on"]) == ("matched", expected)


@pytest.mark.parametrize("given,message", [
    ({"completed_on": "31/02/2026"}, "Ngày hoàn thành «31/02/2026» không phải ngày hợp lệ"),
    ({"completed_on": "tháng 3/2026"}, "Ngày hoàn thành «tháng 3/2026» không phải ngày hợp lệ"),
    ({"completed_on": "21/05/2026"}, "Ngày hoàn thành «21/05/2026» là ngày trong tương lai"),
    ({"completed_on": " "}, "Ngày hoàn thành: không được để trống"),
    ({"full_name": ""}, "Họ và tên: không được để trống"),
    ({"course_title": "  "}, "Tên khóa học: không được để trống"),
])
def test_rows_without_a_valid_date_name_or_course_are_errors(given, message):
    [result] = matched(row(**given))

    assert (result["status"], result["person_id"]) == ("error", None)
    assert result["errors"] == [message]


def test_a_row_repeating_an_earlier_one_for_the_same_person_and_course_is_an_error():
    results = matched(row(2), row(3, full_name="Trần Thị Bình"),
                      row(4, email="an.nguyen@example.vn", full_name="Nguyễn V. An", course_title="TUYÊN TRUYỀN MIỆNG",
                          completed_on="16/03/2026"))

    assert [r["status"] for r in results] == ["matched", "matched", "error"]
    assert results[2]["errors"] == ["Trùng với dòng 2"]
    assert results[2]["person_id"] == "p1"


def test_an_unmatched_row_repeated_is_an_error_too():
    results = matched(row(2, full_name="Hoàng Văn Em"), row(3, full_name="hoang van em"))

    assert [r["status"] for r in results] == ["unmatched", "error"]
    assert results[1]["errors"] == ["Trùng với dòng 2"]


def test_the_same_person_in_another_course_is_not_a_repeat():
    results = matched(row(2), row(3, course_title="Thông tin đối ngoại"))

    assert [r["status"] for r in results] == ["matched", "matched"]


def test_the_sample_export_matches():
    rows = read_completions("export.csv", (SAMPLES / "online_export.csv").read_bytes())

    results = match(rows, PEOPLE, today=TODAY)

    assert [(r["status"], r["person_id"]) for r in results] == [("matched", "p1"), ("matched", "p2"),
                                                                ("matched", "p5")]
    assert [r["completed_on"] for r in results] == ["2026-03-15", "2026-03-16", "2026-03-17"]


# --- topics ------------------------------------------------------------------------

@pytest.mark.parametrize("title,topics", [
    ("Kỹ năng vận hành đài truyền thanh cơ sở", ["radio_operation"]),
    ("Hệ thống thông tin nguồn trung ương và địa phương", ["radio_operation"]),
    ("Kỹ năng sản xuất tin, phóng sự", ["content_production"]),
    ("Biên tập chương trình phát thanh", ["content_production"]),
    ("Sản xuất nội dung đa phương tiện", ["content_production"]),
    ("KỸ NĂNG TUYÊN TRUYỀN MIỆNG", ["oral_propaganda"]),
    ("Công tác thông tin đối ngoại", ["foreign_information"]),
    ("Biên tập tin bài cho đài truyền thanh", ["radio_operation", "content_production"]),
    ("Chuyển đổi số cho cán bộ xã", ["other"]),
    ("Tuyên truyền viên", ["other"]),
    ("", ["other"]),
])
def test_topics_come_from_keywords_of_the_title(title, topics):
    assert topics_for(title) == topics


def test_the_keywords_lead_to_the_plans_topics():
    assert {topic for topic, _ in KEYWORDS} | {"other"} == set(TOPICS)
