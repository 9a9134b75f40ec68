"""Certificates (giấy chứng nhận): the verification code and the PDF, with no I/O.

The code printed on a certificate is ``<serial>-<tag>``: the serial finds the
certificate, the tag is a keyed MAC over everything the certificate states.
Anyone can check a paper certificate on the public page, and without the
commune's key nobody can make a code for a certificate that was not issued
or for an altered name, course or date. Both halves are Crockford base32: no
I, L, O or U to misread, and a code typed in lower case, with spaces, or with
O for 0 and I or L for 1 still reads.
"""
import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from datetime import UTC, date, datetime

import segno
from fpdf import FPDF

from shared.timeutil import VIETNAM

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_LENGTH = 10
TAG_LENGTH = 10
CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]")
STATEMENT_FIELDS = ("serial", "full_name", "course_title", "topics", "completed_on", "commune_id",
                    "commune_name", "issued_at")

TOPIC_LABELS = {
    "radio_operation": "Vận hành đài truyền thanh ứng dụng CNTT-VT và hệ thống thông tin nguồn",
    "content_production": "Sản xuất tin, phóng sự, chương trình phát thanh",
    "oral_propaganda": "Tuyên truyền miệng",
    "foreign_information": "Thông tin đối ngoại",
    "other": "Nội dung khác",
}

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
FONTS = {("serif", ""): "DejaVuSerif.ttf", ("serif", "B"): "DejaVuSerif-Bold.ttf",
         ("serif", "I"): "DejaVuSerif-Italic.ttf", ("sans", ""): "DejaVuSans.ttf",
         ("sans", "B"): "DejaVuSans-Bold.ttf"}
COMMUNE_KINDS = ("xã ", "phường ", "thị trấn ", "đặc khu ")
RED = (160, 20, 20)
QR_SIZE = 34
# bottom left, inside the frame with a quiet zone of more than four modules
QR_AT = (18, 158)


def new_serial():
    return "".join(secrets.choice(ALPHABET) for _ in range(SERIAL_LENGTH))


def statement(cert):
    """What a certificate states, and so what its code vouches for. The serial
    is the certificate's ``serial``, or read from its ``code`` when only that
    was stored."""
    stated = {key: cert.get(key) for key in STATEMENT_FIELDS}
    stated["topics"] = list(cert.get("topics") or ())
    if not stated["serial"] and cert.get("code"):
        stated["serial"] = parse_code(cert["code"])
    return stated


def make_code(secret, serial, stated):
    if serial != stated.get("serial"):
        # such a code could never verify: the tag covers the stated serial
        raise ValueError(f"Số hiệu {serial!r} khác số hiệu trong nội dung chứng nhận {stated.get('serial')!r}.")
    return f"{serial}-{_tag(secret, stated)}"


def parse_code(code):
    """The serial of a code as typed; ValueError (in Vietnamese) when it cannot be a code."""
    return _normalise(code)[:SERIAL_LENGTH]


def verify(secret, code, stated):
    """Whether ``code`` was made with ``secret`` for exactly this statement."""
    try:
        given = _normalise(code)
    except ValueError:
        return False
    expected = (str(stated.get("serial") or "") + _tag(secret, stated)).encode()
    return hmac.compare_digest(given.encode(), expected)


def _normalise(code):
    text = SEPARATORS.sub("", str(code or "")).upper().translate(CONFUSABLE)
    length = SERIAL_LENGTH + TAG_LENGTH
    if len(text) != length:
        raise ValueError(f"Mã xác minh phải có {length} ký tự (không kể dấu cách, dấu gạch); mã này có {len(text)}.")
    wrong = sorted({ch for ch in text if ch not in ALPHABET})
    if wrong:
        raise ValueError("Mã xác minh có ký tự không hợp lệ: " + ", ".join(f"«{ch}»" for ch in wrong) + ".")
    return text


def _tag(secret, stated):
    if not secret:
        # an empty key would let anyone make valid codes; not a ValueError,
        # which callers read as "this code is malformed"
        raise RuntimeError("Chưa cấu hình khóa ký giấy chứng nhận (CERTIFICATE_SECRET).")
    canonical = json.dumps(_nfc(stated), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest, "big") >> (len(digest) * 8 - 5 * TAG_LENGTH)
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(TAG_LENGTH)))


def _nfc(value):
    """The same statement, however its text was composed, has the same tag."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {key: _nfc(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nfc(inner) for inner in value]
    return value


# --- the PDF ------------------------------------------------------------------------

def render_pdf(cert, verify_url, font_dir=None):
    """One A4 landscape page in Vietnamese with the code, the verification
    address and its QR code. The same certificate gives the same bytes (the
    creation date is the issue date), so a re-download is the same file."""
    text = {key: unicodedata.normalize("NFC", str(cert.get(key) or "")) for key in
            ("code", "full_name", "course_title", "completed_on", "commune_name", "issued_at")}
    issued = _issued_at(text["issued_at"])
    commune = _commune_title(text["commune_name"])
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(18, 14, 18)
    _add_fonts(pdf, font_dir or FONT_DIR)
    pdf.set_title(f"Giấy chứng nhận — {text['full_name']}")
    pdf.set_subject(text["code"])
    pdf.set_author(f"UBND {commune}")
    pdf.set_creator("TinXã")
    pdf.set_lang("vi")
    pdf.set_creation_date(issued)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_draw_color(*RED)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    pdf.set_line_width(0.3)
    pdf.rect(10.5, 10.5, pdf.w - 21, pdf.h - 21)

    left, right = width * 0.4, width * 0.6
    pdf.set_xy(pdf.l_margin, 16)
    pdf.set_font("serif", "B", 12)
    pdf.cell(left, 6, f"UBND {commune.upper()}", align="C")
    pdf.cell(right, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(pdf.l_margin + left)
    pdf.cell(right, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
    motto = pdf.get_string_width("Độc lập - Tự do - Hạnh phúc")
    middle = pdf.l_margin + left + right / 2
    pdf.set_draw_color(0, 0, 0)
    pdf.line(middle - motto / 2, pdf.get_y() + 0.5, middle + motto / 2, pdf.get_y() + 0.5)

    pdf.set_y(40)
    pdf.set_text_color(*RED)
    pdf.set_font("serif", "B", 34)
    pdf.cell(width, 16, "GIẤY CHỨNG NHẬN", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)

    pdf.set_y(66)
    _labelled_line(pdf, width, "Chứng nhận ông/bà: ", text["full_name"], 20)
    pdf.ln(4)
    pdf.set_font("serif", "", 14)
    pdf.cell(width, 8, "Đã hoàn thành khóa tập huấn, bồi dưỡng:", align="C", new_x="LMARGIN", new_y="NEXT")
    _wrapped(pdf, width - 20, text["course_title"], "B", 16, lines=2)
    labels = [TOPIC_LABELS.get(topic, topic) for topic in cert.get("topics") or () if topic != "other"]
    if labels:
        pdf.ln(1)
        _wrapped(pdf, width - 20, "Nội dung: " + "; ".join(labels) + ".", "I", 12, lines=2)
    pdf.ln(2)
    pdf.set_font("serif", "", 14)
    pdf.cell(width, 8, f"Ngày hoàn thành: {_dmy(text['completed_on'])}", align="C", new_x="LMARGIN", new_y="NEXT")

    place = commune
    for kind in COMMUNE_KINDS:
        if place.lower().startswith(kind):
            place = place[len(kind):]
    local = issued.astimezone(VIETNAM)
    pdf.set_xy(pdf.l_margin + left, 146)
    pdf.set_font("serif", "I", 13)
    pdf.cell(right, 7, f"{place}, ngày {local.day:02d} tháng {local.month:02d} năm {local.year}", align="C")

    _qr(pdf, verify_url, *QR_AT)
    text_x = QR_AT[0] + QR_SIZE + 5
    pdf.set_xy(text_x, QR_AT[1] + 6)
    pdf.set_font("sans", "", 10)
    pdf.cell(0, 6, "Mã xác minh:", new_x="LEFT", new_y="NEXT")
    pdf.set_font("sans", "B", 13)
    pdf.cell(0, 7, text["code"], new_x="LEFT", new_y="NEXT")
    pdf.set_font("sans", "", 10)
    pdf.cell(0, 6, "Quét mã QR hoặc mở địa chỉ sau để kiểm tra giấy chứng nhận:", new_x="LEFT", new_y="NEXT")
    _fit(pdf, "sans", "", 10, verify_url, pdf.w - pdf.r_margin - text_x)
    pdf.cell(0, 6, verify_url, link=verify_url)
    return bytes(pdf.output())


def _add_fonts(pdf, font_dir):
    for (family, style), name in FONTS.items():
        path = os.path.join(font_dir, name)
        if not os.path.isfile(path):
            raise RuntimeError(f"Thiếu phông chữ {path} để in giấy chứng nhận (gói fonts-dejavu-core).")
        pdf.add_font(family, style, path)


def _issued_at(text):
    """The issue time, stored as UTC ISO-8601 (``shared.timeutil.iso``)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _commune_title(name):
    """"Xuân Hưng" → "xã Xuân Hưng"; a name that already says its kind is kept."""
    lowered = name.lower()
    if any(lowered.startswith(kind) for kind in COMMUNE_KINDS):
        return name[0].lower() + name[1:]
    return f"xã {name}"


def _dmy(iso_date):
    try:
        return date.fromisoformat(iso_date).strftime("%d/%m/%Y")
    except ValueError:
        return iso_date


def _fit(pdf, family, style, size, text, width, smallest=8):
    """The largest font size up to ``size`` at which ``text`` fits on one line."""
    while size > smallest:
        pdf.set_font(family, style, size)
        if pdf.get_string_width(text) <= width:
            return size
        size -= 0.5
    pdf.set_font(family, style, smallest)
    return smallest


def _labelled_line(pdf, width, label, value, size):
    """``label`` then ``value`` in bold, centred together on one line."""
    pdf.set_font("serif", "", 15)
    label_width = pdf.get_string_width(label)
    _fit(pdf, "serif", "B", size, value, width - label_width)
    value_width = pdf.get_string_width(value)
    pdf.set_x(pdf.l_margin + (width - label_width - value_width) / 2)
    pdf.set_font("serif", "", 15)
    pdf.cell(label_width, 11, label)
    _fit(pdf, "serif", "B", size, value, width - label_width)
    pdf.cell(value_width, 11, value, new_x="LMARGIN", new_y="NEXT")


def _wrapped(pdf, width, text, style, size, lines):
    """Centred text on at most ``lines`` lines, smaller if it needs to be."""
    while size > 9:
        pdf.set_font("serif", style, size)
        if len(pdf.multi_cell(width, size * 0.5, text, dry_run=True, output="LINES")) <= lines:
            break
        size -= 1
    pdf.set_x(pdf.l_margin + (pdf.w - pdf.l_margin - pdf.r_margin - width) / 2)
    pdf.multi_cell(width, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")


def _qr(pdf, url, x, y):
    """The QR code drawn as vector rectangles: sharp at any print size, no image library."""
    matrix = [list(row) for row in segno.make(url, error="m", boost_error=False).matrix]
    module = QR_SIZE / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        start = None
        for c, dark in enumerate(row + [0]):
            if dark and start is None:
                start = c
            elif not dark and start is not None:
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
                start = None
