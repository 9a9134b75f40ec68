"""Agency cells of the seed plan matched to the seed commune's registry."""

import json
import re
import unicodedata
from pathlib import Path

import pytest

from services.tasks.agencies import AgencyRef, match_agencies, unknown_agencies
from services.tasks.plan_import import parse_plan_text

SEED_DIR = Path(__file__).resolve().parents[3] / "deploy" / "seed"
REGISTRY = json.loads((SEED_DIR / "xuan-hung.json").read_text(encoding="utf-8"))["commune"]["agencies"]
PLAN = parse_plan_text((SEED_DIR / "ke-hoach-ttcs-ttdn-2026-xuan-hung.txt").read_text(encoding="utf-8"))
SEED_CELLS = sorted({cell for task in PLAN.tasks for cell in (task.lead_agency, task.coordinating_agencies) if cell})
GENERIC = "generic"


def resolved(text, registry=REGISTRY):
    """Each fragment as its agency id, GENERIC, or None (unknown)."""
    return [ref.agency_id or (GENERIC if ref.generic else None) for ref in match_agencies(text, registry)]


def assert_verbatim_and_complete(text, refs):
    """Fragments are slices of the cell in order; only separators lie between them."""
    position, between = 0, []
    for ref in refs:
        found = text.index(ref.text, position)
        between.append(text[position:found])
        position = found + len(ref.text)
    between.append(text[position:])
    for leftover in between:
        assert re.fullmatch(r"[\s,;/&+.\-–—]*(?:và)?[\s,;/&+.\-–—]*", leftover), (text, leftover)


def test_the_seed_has_the_cells_this_file_expects():
    assert len(SEED_CELLS) == 17


@pytest.mark.parametrize("cell", SEED_CELLS)
def test_every_seed_cell_resolves_to_known_or_generic_agencies(cell):
    refs = match_agencies(cell, REGISTRY)
    assert refs
    assert unknown_agencies(refs) == []
    assert_verbatim_and_complete(cell, refs)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Phòng Văn hóa – Xã hội và Công an", ["vhxh", "ca"]),
        ("Văn phòng HĐND – UBND - Công an xã", ["vp", "ca"]),
        ("VP HĐND - UBND, các Phòng ban liên quan", ["vp", GENERIC]),
        ("Vp HĐND- UBND- các Phòng, ban liên quan", ["vp", GENERIC]),
        ("VP HĐND, UBND, Các phòng ban liên quan", ["vp", GENERIC]),
        ("Phòng Văn hoá – Xã hội", ["vhxh"]),
        ("Phòng Văn hóa – Xã hội", ["vhxh"]),
        ("Phòng Văn hóa - Xã hội", ["vhxh"]),
        ("Phòng Văn hóa—Xã hội", ["vhxh"]),
        ("PHÒNG VĂN HÓA – XÃ HỘI", ["vhxh"]),
        ("Phòng VH-XH", ["vhxh"]),
        ("Phòng VHXH", ["vhxh"]),
        ("Phòng Văn hóa – Xã hội và các đơn vị liên quan", ["vhxh", GENERIC]),
        ("Trung tâm dịch vụ sự nghiệp công và các Phòng Ban liên quan", ["ttdv", GENERIC]),
        ("Các cơ quan, đơn vị có liên quan", [GENERIC]),
        ("Các phòng, ban, ngành của xã có liên quan", [GENERIC]),
        ("các đơn vị liên quan", [GENERIC]),
        ("Các ngành chức năng", [GENERIC]),
        ("VP HĐND - UBND xã", ["vp"]),
        ("Văn phòng HĐND – UBND xã", ["vp"]),
        ("Văn phòng Hội đồng nhân dân – Ủy ban nhân dân xã", ["vp"]),
        ("UBND xã", ["ubnd"]),
        ("Ủy ban nhân dân xã.", ["ubnd"]),
        ("Uỷ ban nhân dân xã", ["ubnd"]),
        ("Công an", ["ca"]),
        ("Công an xã, UBND xã", ["ca", "ubnd"]),
        ("Phòng Kinh tế; Công an xã", ["kt", "ca"]),
        ("Phòng Tư pháp", [None]),
        ("Phòng Tư pháp, Phòng Kinh tế", [None, "kt"]),
        ("Phòng Tư pháp, Hội Nông dân", [None, None]),
        ("Sở Văn hóa, Thể thao và Du lịch", [None]),
        ("Phòng Tài chính - Kế hoạch và Công an", [None, "ca"]),
        ("Phòng Tư pháp và đơn vị liên quan", [None, GENERIC]),
        ("", []),
        ("  ", []),
    ],
)
def test_cells(text, expected):
    refs = match_agencies(text, REGISTRY)
    assert resolved(text) == expected
    assert_verbatim_and_complete(text, refs)


def test_fragments_keep_the_text_as_written():
    refs = match_agencies("Vp HĐND- UBND- các Phòng, ban liên quan", REGISTRY)
    assert refs == [
        AgencyRef("Vp HĐND- UBND", "vp", "Văn phòng HĐND – UBND", False),
        AgencyRef("các Phòng, ban liên quan", None, None, True),
    ]


def test_a_trailing_xa_belongs_to_the_name():
    assert [ref.text for ref in match_agencies("VP HĐND - UBND xã và Công an", REGISTRY)] == [
        "VP HĐND - UBND xã",
        "Công an",
    ]


def test_the_longest_name_wins():
    # "UBND xã" alone would match inside it; the office's full name is meant
    assert resolved("Văn phòng HĐND – UBND xã") == ["vp"]


def test_a_name_must_end_where_the_fragment_ends():
    assert resolved("Công an ninh") == [None]
    assert resolved("Phòng Kinh tế hạ tầng") == [None]
    assert resolved("Phòng Kinh tế (chủ trì)") == ["kt", None]
    assert resolved("Côngan xã") == [None]


def test_decomposed_text_matches_and_comes_back_composed():
    text = unicodedata.normalize("NFD", "Phòng Văn hóa – Xã hội và Công an")
    refs = match_agencies(text, REGISTRY)
    assert [ref.agency_id for ref in refs] == ["vhxh", "ca"]
    assert refs[0].text == "Phòng Văn hóa – Xã hội"


def test_registry_aliases_are_optional_and_used():
    registry = [{"id": "tp", "name": "Phòng Tư pháp"}, {"id": "hnd", "name": "Hội Nông dân xã", "aliases": ["HND"]}]
    assert resolved("Phòng Tư pháp, HND", registry) == ["tp", "hnd"]
    assert resolved("Hội Nông dân", registry) == ["hnd"]


def test_blank_registry_names_are_ignored():
    registry = [{"id": "x", "name": "", "aliases": [" – "]}, *REGISTRY]
    assert resolved("Công an xã", registry) == ["ca"]


def test_unknown_agencies_lists_only_unknown_fragments():
    refs = match_agencies("Phòng Tư pháp, Phòng Văn hóa – Xã hội và các đơn vị liên quan", REGISTRY)
    assert [ref.text for ref in unknown_agencies(refs)] == ["Phòng Tư pháp"]


def test_to_dict():
    (ref,) = match_agencies("Công an xã", REGISTRY)
    assert ref.to_dict() == {"text": "Công an xã", "agency_id": "ca", "agency_name": "Công an xã", "generic": False}
