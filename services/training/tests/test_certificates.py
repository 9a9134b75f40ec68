"""Certificate codes (a forged or altered code is refused) and the PDF."""
import subprocess
import unicodedata

import pytest
import segno
from PIL import Image

from services.training import certificates
from services.training.certificates import (
    ALPHABET,
    TOPIC_LABELS,
    make_code,
    new_serial,
    parse_code,
    render_pdf,
    statement,
    verify,
)
from shared.events import TOPICS

SECRET = "bí mật của xã Xuân Hưng"
CERT = {
    "certificate_id": "c1", "serial": "7K3M9QX2PA", "person_id": "p1", "full_name": "Nguyễn Thị Hương Giang",
    "course_id": "k1", "course_title": "Kỹ năng vận hành đài truyền thanh ứng dụng CNTT-VT",
    "topics": ["radio_operation", "content_production"], "completed_on": "2026-03-15",
    "commune_id": "xuan-hung", "commune_name": "Xuân Hưng", "issued_at": "2026-03-16T02:30:00.000Z",
    "source": "course", "revoked": None,
}


@pytest.fixture
def code():
    return make_code(SECRET, CERT["serial"], statement(CERT))


def test_a_serial_is_ten_crockford_characters_and_new_each_time():
    serials = {new_serial() for _ in range(200)}

    assert len(serials) == 200
    assert all(len(s) == 10 and set(s) <= set(ALPHABET) for s in serials)
    assert not set("ILOU") & set(ALPHABET)


def test_the_statement_is_exactly_what_the_certificate_states():
    assert statement(CERT) == {"serial": "7K3M9QX2PA", "full_name": "Nguyễn Thị Hương Giang",
                               "course_title": "Kỹ năng vận hành đài truyền thanh ứng dụng CNTT-VT",
                               "topics": ["radio_operation", "content_production"], "completed_on": "2026-03-15",
                               "commune_id": "xuan-hung", "commune_name": "Xuân Hưng",
                               "issued_at": "2026-03-16T02:30:00.000Z"}


def test_the_serial_may_come_from_the_stored_code(code):
    stored = {key: value for key, value in CERT.items() if key != "serial"}

    assert statement({**stored, "code": code.lower()}) == statement(CERT)


def test_a_code_is_made_only_for_the_serial_the_statement_names():
    with pytest.raises(ValueError, match="7K3M9QX2PB"):
        make_code(SECRET, "7K3M9QX2PB", statement(CERT))


def test_a_code_is_the_serial_and_a_tag_and_verifies(code):
    serial, tag = code.split("-")

    assert serial == CERT["serial"]
    assert len(tag) == 10 and set(tag) <= set(ALPHABET)
    assert parse_code(code) == CERT["serial"]
    assert verify(SECRET, code, statement(CERT)) is True


def test_altering_any_one_character_fails(code):
    compact = code.replace("-", "")
    for index, original in enumerate(compact):
        for replacement in {ALPHABET[(ALPHABET.index(original) + step) % 32] for step in (1, 13)}:
            altered = compact[:index] + replacement + compact[index + 1:]
            assert verify(SECRET, altered, statement(CERT)) is False, (index, replacement)


def test_a_code_made_with_another_secret_fails(code):
    assert verify("another commune's secret", code, statement(CERT)) is False
    assert make_code("another commune's secret", CERT["serial"], statement(CERT)) != code


@pytest.mark.parametrize("field,value", [
    ("full_name", "Nguyễn Thị Hương Giang."), ("full_name", "Nguyen Thi Huong Giang"),
    ("course_title", "Kỹ năng vận hành đài truyền thanh"), ("topics", ["radio_operation"]),
    ("topics", ["content_production", "radio_operation"]), ("completed_on", "2026-03-14"),
    ("commune_id", "xuan-thinh"), ("commune_name", "Xuân Thịnh"), ("issued_at", "2026-03-16T02:30:00.001Z"),
    ("serial", "7K3M9QX2PB"),
])
def test_a_changed_statement_fails(code, field, value):
    assert verify(SECRET, code, statement({**CERT, field: value})) is False


def test_fields_outside_the_statement_do_not_matter(code):
    assert verify(SECRET, code, statement({**CERT, "revoked": {"at": "x", "reason": "y"}, "person_id": "p9"}))


def test_the_statement_is_signed_in_nfc(code):
    decomposed = {**CERT, "full_name": unicodedata.normalize("NFD", CERT["full_name"])}

    assert verify(SECRET, code, statement(decomposed)) is True


@pytest.mark.parametrize("typed", [
    lambda c: c.lower(),
    lambda c: " ".join(c[i:i + 5] for i in range(0, len(c), 5)),
    lambda c: c.replace("-", ""),
    lambda c: "-".join(c.replace("-", "")[i:i + 4] for i in range(0, 20, 4)),
    lambda c: f"  {c.lower()}\n",
    lambda c: c.replace("-", "–"),
], ids=["lower", "spaced", "no-hyphen", "grouped", "padded", "en-dash"])
def test_a_code_typed_loosely_still_verifies(code, typed):
    assert parse_code(typed(code)) == CERT["serial"]
    assert verify(SECRET, typed(code), statement(CERT)) is True


def test_confusable_letters_read_as_the_digits_they_look_like():
    cert = {**CERT, "serial": "0000111111"}
    code = make_code(SECRET, cert["serial"], statement(cert))

    typed = "OoOo" + "IiLl1l" + code[10:]

    assert parse_code(typed) == "0000111111"
    assert verify(SECRET, typed, statement(cert)) is True


@pytest.mark.parametrize("code,message", [
    ("", "phải có 20 ký tự"), (None, "phải có 20 ký tự"), ("7K3M9QX2PA-4HZ8R1N0V", "mã này có 19"),
    ("7K3M9QX2PA-4HZ8R1N0VTX", "mã này có 21"), ("7K3M9QX2PA-4HZ8R1N0VU", "không hợp lệ: «U»"),
    ("7K3M9QX2PA-4HZ8R1N0V*", "không hợp lệ: «*»"), ("7K3M9QX2PA_4HZ8R1N0V", "không hợp lệ: «_»"),
    ("7K3M9QX2PA-4HZ8R1N0VĐ", "không hợp lệ: «Đ»"),
])
def test_malformed_codes_raise_with_a_vietnamese_message(code, message):
    with pytest.raises(ValueError) as err:
        parse_code(code)

    assert message in str(err.value)
    assert verify(SECRET, code, statement(CERT)) is False


@pytest.mark.parametrize("secret", ["", None])
def test_an_empty_secret_is_a_configuration_error_not_a_bad_code(code, secret):
    with pytest.raises(RuntimeError, match="CERTIFICATE_SECRET"):
        make_code(secret, CERT["serial"], statement(CERT))
    with pytest.raises(RuntimeError, match="CERTIFICATE_SECRET"):
        verify(secret, code, statement(CERT))


def test_every_topic_has_a_vietnamese_label():
    assert set(TOPIC_LABELS) == set(TOPICS)
    assert all(label == unicodedata.normalize("NFC", label) for label in TOPIC_LABELS.values())


# --- the PDF ------------------------------------------------------------------------

URL = "https://tinxa.example.vn/xac-minh/{code}"


def pdf_text(tmp_path, data):
    path = tmp_path / "certificate.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def pdf_info(tmp_path, data):
    path = tmp_path / "info.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def issued(code):
    return {**CERT, "code": code}


def test_the_pdf_states_the_certificate_in_vietnamese(tmp_path, issued):
    url = URL.format(code=issued["code"])

    data = render_pdf(issued, url)
    text = pdf_text(tmp_path, data)

    assert data.startswith(b"%PDF")
    assert text == unicodedata.normalize("NFC", text)
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND XÃ XUÂN HƯNG",
                     "GIẤY CHỨNG NHẬN", "Chứng nhận ông/bà: Nguyễn Thị Hương Giang",
                     "Đã hoàn thành khóa tập huấn, bồi dưỡng:", issued["course_title"],
                     "Ngày hoàn thành: 15/03/2026", "Xuân Hưng, ngày 16 tháng 03 năm 2026", issued["code"], url,
                     "Sản xuất tin, phóng sự"):
        assert expected in text, expected


def test_the_pdf_is_one_a4_landscape_page_with_its_metadata(tmp_path, issued):
    info = pdf_info(tmp_path, render_pdf(issued, URL.format(code=issued["code"])))

    assert "Pages:           1" in info
    assert "841.89 x 595.28 pts (A4)" in info
    assert f"Subject:         {issued['code']}" in info
    assert "Title:           Giấy chứng nhận — Nguyễn Thị Hương Giang" in info


def test_the_same_certificate_gives_the_same_bytes(issued):
    url = URL.format(code=issued["code"])

    assert render_pdf(issued, url) == render_pdf(issued, url)


def test_a_name_in_nfd_is_printed_in_nfc(tmp_path, issued):
    decomposed = {**issued, "full_name": unicodedata.normalize("NFD", issued["full_name"])}

    assert "Nguyễn Thị Hương Giang" in pdf_text(tmp_path, render_pdf(decomposed, "https://x.vn/v"))


def test_a_commune_named_with_its_kind_is_not_named_twice(tmp_path, issued):
    text = pdf_text(tmp_path, render_pdf({**issued, "commune_name": "Phường Hoa Lư"}, "https://x.vn/v"))

    assert "UBND PHƯỜNG HOA LƯ" in text
    assert "Hoa Lư, ngày 16 tháng 03 năm 2026" in text


def test_a_long_title_and_only_other_topics_still_fit_one_page(tmp_path, issued):
    long = {**issued, "course_title": "Bồi dưỡng " * 40, "topics": ["other"], "full_name": "Tôn Nữ " * 12}

    data = render_pdf(long, "https://x.vn/" + "v" * 150)

    assert "Pages:           1" in pdf_info(tmp_path, data)
    assert "Nội dung:" not in pdf_text(tmp_path, data)


@pytest.mark.parametrize("url", ["https://tinxa.example.vn/xac-minh/7K3M9QX2PA-4HZ8R1N0VT",
                                 "https://x.vn/" + "v" * 120])
def test_the_qr_code_printed_is_the_one_of_the_url(tmp_path, issued, url):
    path = tmp_path / "certificate.pdf"
    path.write_bytes(render_pdf(issued, url))
    dpi = 300
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", str(path), str(tmp_path / "page")],
                   check=True)
    page = Image.open(tmp_path / "page.pgm")
    matrix = segno.make(url, error="m", boost_error=False).matrix
    module = certificates.QR_SIZE / len(matrix)
    left, top = certificates.QR_AT

    def dark(row, column):
        x = (left + (column + 0.5) * module) / 25.4 * dpi
        y = (top + (row + 0.5) * module) / 25.4 * dpi
        return page.getpixel((round(x), round(y))) < 128

    printed = [[dark(r, c) for c in range(len(matrix))] for r in range(len(matrix))]
    assert printed == [[bool(cell) for cell in row] for row in matrix]


def test_a_missing_font_is_named(tmp_path, issued):
    (tmp_path / "DejaVuSerif.ttf").symlink_to(f"{certificates.FONT_DIR}/DejaVuSerif.ttf")

    with pytest.raises(RuntimeError, match="DejaVuSerif-Bold.ttf"):
        render_pdf(issued, "https://x.vn/v", font_dir=str(tmp_path))


def test_fonts_are_read_from_the_given_folder(tmp_path, issued):
    for name in certificates.FONTS.values():
        (tmp_path / name).symlink_to(f"{certificates.FONT_DIR}/{name}")

    assert render_pdf(issued, "https://x.vn/v", font_dir=str(tmp_path)).startswith(b"%PDF")
