"""Upload and download helpers at the HTTP edge: names, types, limits."""
import io
from urllib.parse import unquote

import pytest
from werkzeug.datastructures import FileStorage

from shared.errors import InvalidInput
from services.gateway import files
from services.gateway.errors import PayloadTooLarge
from services.gateway.web import content_disposition


@pytest.mark.parametrize("name, fallback, utf8", [
    ("Báo cáo quý IV.docx", "Bao cao quy IV.docx", "Báo cáo quý IV.docx"),
    ("Đề xuất; kiến nghị.xlsx", "De xuat kien nghi.xlsx", "Đề xuất kiến nghị.xlsx"),
    ('../../"x"\r\n.pdf', "x.pdf", "x.pdf"),
    ("", "tep", "tep"),
    ("ảnh 📷.png", "anh _.png", "ảnh 📷.png"),
])
def test_content_disposition_is_safe_and_keeps_the_vietnamese_name(name, fallback, utf8):
    header = content_disposition(name)
    assert header.startswith(f'attachment; filename="{fallback}"; filename*=UTF-8\'\'')
    assert unquote(header.split("''", 1)[1]) == utf8
    assert header.isascii() and "\r" not in header and "\n" not in header and header.count('"') == 2
    assert content_disposition(name, inline=True).startswith("inline; ")


def storage(name, content=b"", mimetype=None):
    return FileStorage(io.BytesIO(content), filename=name, content_type=mimetype)


@pytest.mark.parametrize("name, given, expected", [
    ("a.docx", "application/octet-stream", files.DOCX_TYPE),
    ("a.XLSX", "", files.XLSX_TYPE),
    ("a.pdf", None, "application/pdf"),
    ("a.jpg", "image/jpeg", "image/jpeg"),
    ("khong-duoi", None, "application/octet-stream"),
])
def test_an_uploads_type_is_the_clients_or_its_names(name, given, expected):
    assert files.content_type_of(storage(name, mimetype=given)) == expected


def test_a_files_own_name_without_any_folder():
    assert files.file_name(storage("C:\\Users\\Lan\\Ke hoach.docx")) == "Ke hoach.docx"
    assert files.file_name(storage("/tmp/x/ke-hoach.docx")) == "ke-hoach.docx"


def test_reading_stops_past_the_limit():
    assert files.read_file(storage("a.pdf", b"12345"), max_bytes=5) == b"12345"
    with pytest.raises(PayloadTooLarge):
        files.read_file(storage("a.pdf", b"123456"), max_bytes=5)


def test_only_docx_is_a_plan_document():
    assert files.docx_source(storage("KH.DOCX", b"PK"))[1] == "KH.DOCX"
    with pytest.raises(InvalidInput):
        files.docx_source(storage("KH.doc", b"\xd0\xcf"))
