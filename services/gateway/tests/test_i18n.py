"""The console's strings: both languages complete, Vietnamese in NFC, and
every key a template uses defined."""
import re
import string
import unicodedata
from pathlib import Path

import pytest

from services.gateway import i18n

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def placeholders(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_dictionaries_have_the_same_keys():
    assert set(i18n.VI) == set(i18n.EN)


@pytest.mark.parametrize("key", sorted(i18n.VI))
def test_vietnamese_is_nfc_and_both_languages_fill_the_same_placeholders(key):
    assert unicodedata.is_normalized("NFC", i18n.VI[key])
    assert i18n.VI[key].strip() and i18n.EN[key].strip()
    assert placeholders(i18n.VI[key]) == placeholders(i18n.EN[key])


def test_every_key_a_template_uses_exists():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", template.read_text(encoding="utf-8")))
    assert used, "no t(...) calls found: the pattern is out of date"
    assert used <= set(i18n.VI), used - set(i18n.VI)


def test_translation_fills_values_and_falls_back_to_vietnamese():
    assert i18n.t("tasks.range", "vi", start=1, end=50, total=38) == "1–50 trên 38 nhiệm vụ"
    assert i18n.t("nav.tasks", "en") == "Tasks"
    assert i18n.t("nav.tasks", "fr") == "Nhiệm vụ"
    with pytest.raises(KeyError):
        i18n.t("no.such.key", "vi")


def test_labels_of_other_services_codes():
    assert i18n.label("status", "waiting_guidance", "vi") == "Chờ hướng dẫn"
    assert i18n.label("status", "waiting_guidance", "en") == "Waiting for guidance"
    assert i18n.label("part", "III", "vi") == "III"  # a code without a label shows as itself


@pytest.mark.parametrize("kind, codes", [
    ("status", ("not_started", "in_progress", "waiting_guidance", "done", "cancelled")),
    ("schedule", ("quarter", "half_year", "year", "recurring", "open_ended", "conditional", "blank", "date",
                  "unrecognised")),
    ("due", ("overdue", "due_soon", "no_deadline", "this_quarter")),
    ("action", ("status", "guidance", "assign")),
])
def test_every_code_of_the_tasks_contract_has_words_in_both_languages(kind, codes):
    for code in codes:
        assert i18n.label(kind, code, "vi") != code and i18n.label(kind, code, "en") != code


def test_the_navigation_offers_content_its_approval_queue_agencies_reports_broadcasting_devices_alarms_training_and_sync():
    from services.gateway.console import NAV
    assert [(item.path, i18n.t(item.label, "vi"), item.roles) for item in NAV][2:] == [
        ("/content", "Nội dung", ()),
        ("/content/review", "Duyệt tin", ("commune_admin", "approver")),
        ("/agencies", "Cơ quan", ()),
        ("/reports", "Báo cáo", ()),
        ("/broadcasts", "Phát thanh", ()),
        ("/devices", "Thiết bị", ()),
        ("/alarms", "Cảnh báo", ()),
        ("/roster", "Tuyên truyền viên", ()),
        ("/training", "Tập huấn", ()),
        ("/sync", "Đồng bộ tỉnh", ()),
    ]


@pytest.mark.parametrize("kind, codes", [
    ("kind", ("news", "article", "radio_bulletin", "eboard_notice", "press_release", "rebuttal", "promotion",
              "human_rights")),
    ("channel", ("website", "social", "eboard", "radio", "province")),
    ("content_status", ("draft", "submitted", "returned", "approved", "scheduled", "published", "archived")),
    ("content_action", ("edit", "submit", "approve", "return", "publish", "schedule", "unschedule", "archive",
                        "audio_upload")),
    ("content_field", ("kind", "section_id", "title", "summary", "body", "channels", "image_media_ids", "rebuttal")),
    ("revision_action", ("create", "edit")),
    ("audio_source", ("tts", "upload")),
])
def test_every_code_of_the_content_contract_has_words_in_both_languages(kind, codes):
    for code in codes:
        assert i18n.label(kind, code, "vi") != code and i18n.label(kind, code, "en") != code


def test_content_words_have_their_diacritics():
    assert i18n.t("nav.review", "vi") == "Duyệt tin"
    assert i18n.label("kind", "radio_bulletin", "vi") == "Bản tin phát thanh"
    assert i18n.label("content_status", "submitted", "vi") == "Chờ duyệt"
    assert i18n.t("audio.request", "vi") == "Tạo âm thanh"
