"""The roster's rules (no I/O): who is in place, vacancies and since when,
status changes, replacement, the roster page, what non-personal callers see."""
from datetime import date

import pytest

from services.training import roster
from shared.errors import Conflict, InvalidInput
from shared.events import validate_event

TODAY = date(2026, 5, 20)
NOW = "2026-05-20T03:00:00.000Z"
VILLAGES = [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}, {"id": "thon-3", "name": "Thôn 3"}]


def person(person_id, village="thon-1", role="communicator", since="2024-01-10", full_name=None, **extra):
    fields = {"full_name": full_name or f"Nguyễn Văn {person_id.upper()}", "village": village, "role": role,
              "phone": "0912345678", "email": f"{person_id}@example.vn", "birth_date": "1990-01-01", **extra}
    return roster.new_person(person_id, fields, since, "Cán bộ xã", NOW)


def status(p, new_status, since, reason=""):
    return roster.with_status(p, new_status, since, reason, "Cán bộ xã", TODAY, NOW)


def village_row(people, targets=None, village="thon-1"):
    counted = roster.count(VILLAGES, people, targets or {})
    return next(r for r in counted["villages"] if r["village"] == village)


def test_each_village_needs_one_communicator_by_default_and_officers_never_fill_a_place():
    people = [person("a"), person("b", village="thon-2", role="lead"), person("c", village="thon-3", role="officer")]
    counted = roster.count(VILLAGES, people, {})
    assert [(r["village"], r["target"], r["in_place"], r["vacancies"]) for r in counted["villages"]] == [
        ("thon-1", 1, 1, 0), ("thon-2", 1, 1, 0), ("thon-3", 1, 0, 1)]
    assert counted["totals"] == {"target": 3, "in_place": 2, "on_leave": 0, "vacancies": 1, "villages_short": 1}


def test_a_leave_opens_a_place_from_its_first_day_and_a_return_closes_it():
    a = person("a")
    on_leave = status(a, "on_leave", "2026-03-01", "ốm dài ngày")
    row = village_row([on_leave])
    assert (row["in_place"], row["on_leave"], row["vacancies"], row["vacant_since"]) == (0, 1, 1, "2026-03-01")
    back = status(on_leave, "active", "2026-04-15")
    row = village_row([back])
    assert (row["in_place"], row["on_leave"], row["vacancies"], row["vacant_since"]) == (1, 0, 0, None)
    assert [h["status"] for h in back["history"]] == ["active", "on_leave", "active"]


def test_vacant_since_is_the_departure_from_which_the_village_has_been_short_ever_since():
    # target 2: short once the first of two leaves
    a, b = person("a"), person("b")
    assert village_row([status(a, "left", "2025-03-01"), status(b, "left", "2025-06-01")],
                       {"thon-1": 2})["vacant_since"] == "2025-03-01"
    # target 1: still full after the first departure, short from the second
    assert village_row([status(a, "left", "2025-03-01"), status(b, "left", "2025-06-01")],
                       {"thon-1": 1})["vacant_since"] == "2025-06-01"
    # filled again in between: short only from the latest departure
    c = person("c", since="2025-04-01")
    assert village_row([status(a, "left", "2025-03-01"), status(c, "left", "2025-09-09")])["vacant_since"] == "2025-09-09"


def test_changes_within_one_day_count_in_the_order_they_were_recorded():
    a, b = person("a", since="2026-05-20"), person("b", since="2026-05-20")
    away = roster.with_status(b, "on_leave", "2026-05-20", "", "x", TODAY, "2026-05-20T04:00:00.000Z")
    assert village_row([a, away], {"thon-1": 2})["vacant_since"] == "2026-05-20"


def test_a_village_never_filled_to_its_target_has_no_vacant_since():
    row = village_row([person("a")], {"thon-1": 3})
    assert (row["vacancies"], row["vacant_since"]) == (2, None)
    assert village_row([], village="thon-2")["vacant_since"] is None


def test_replacement_closes_the_vacancy_and_links_both_people():
    a = person("a", role="lead")
    newcomer = roster.new_person("n", {"full_name": "Trần Thị Mai", "village": "thon-2", "role": "communicator"},
                                 "2026-05-01", "Cán bộ xã", NOW)
    left, taking = roster.replace(a, newcomer, "2026-05-01", "chuyển công tác", "Cán bộ xã", TODAY, NOW)
    assert (left["status"], left["status_since"], left["replaced_by"]) == ("left", "2026-05-01", "n")
    assert (taking["status"], taking["village"], taking["role"], taking["replaces"]) == ("active", "thon-1", "lead", "a")
    assert village_row([a])["vacancies"] == 0
    assert village_row([status(a, "left", "2026-05-01")])["vacancies"] == 1
    assert village_row([left, taking])["vacancies"] == 0


def test_someone_on_leave_comes_back_as_the_replacement_from_the_replacement_day():
    away = status(person("b", village="thon-2", since="2025-01-01"), "on_leave", "2025-02-01")
    _, taking = roster.replace(person("a"), away, "2026-05-01", "", "Cán bộ xã", TODAY, NOW)
    assert (taking["status"], taking["status_since"], taking["village"]) == ("active", "2026-05-01", "thon-1")


@pytest.mark.parametrize("who, replacement, error", [
    ("officer", "new", InvalidInput),
    ("replaced", "new", Conflict),
    ("a", "a", InvalidInput),
])
def test_replacement_is_refused_for_officers_twice_or_by_oneself(who, replacement, error):
    people = {"officer": person("o", village=None, role="officer"), "a": person("a"),
              "replaced": dict(person("r"), replaced_by="x"), "new": person("new", village=None)}
    with pytest.raises(error):
        roster.replace(people[who], people[replacement], "2026-05-01", "", "Cán bộ xã", TODAY, NOW)


@pytest.mark.parametrize("new_status, since, error, field", [
    ("active", "2026-05-01", Conflict, "status"),
    ("left", "2026-05-21", InvalidInput, "since"),
    ("left", "2023-12-31", InvalidInput, "since"),
    ("retired", "2026-05-01", InvalidInput, "status"),
])
def test_a_status_change_is_refused_naming_what_is_wrong(new_status, since, error, field):
    with pytest.raises(error) as refused:
        status(person("a"), new_status, since)
    assert refused.value.message.startswith(f"{field}:")


@pytest.mark.parametrize("fields, problem", [
    ({"role": "communicator", "village": None}, "phải thuộc một thôn"),
    ({"role": "lead", "village": "thon-9"}, "không có thôn «thon-9»"),
])
def test_a_communicator_belongs_to_one_of_the_communes_villages(fields, problem):
    with pytest.raises(InvalidInput) as refused:
        roster.check_place(fields, {v["id"] for v in VILLAGES})
    assert problem in refused.value.message and refused.value.message.startswith("village:")
    roster.check_place({"role": "officer", "village": None}, {v["id"] for v in VILLAGES})


def test_the_roster_page_orders_people_and_keeps_officers_and_lost_villages_apart():
    people = [
        status(person("a", full_name="Lê Văn Tùng"), "left", "2026-01-05"),
        person("b", full_name="Phạm Thị An"),
        status(person("c", full_name="Đỗ Văn Bình"), "on_leave", "2026-04-01"),
        person("d", full_name="Vũ Văn Cường"),
        status(person("e", full_name="Hoàng Văn Cũ", since="2020-01-01"), "left", "2025-01-01"),
        person("o", village=None, role="officer", full_name="Ngô Thị Hạnh"),
        person("x", village="thon-cu", full_name="Bùi Văn Xa"),
    ]
    view = roster.roster_view(VILLAGES, people, {"thon-1": 2}, {"thon-1": "https://zalo.me/g/abc"}, "", TODAY)
    first = view["villages"][0]
    # active by given name (An, Cường), then on leave, then left; the one who left 16 months ago is not shown
    assert [p["person_id"] for p in first["people"]] == ["b", "d", "c", "a"]
    assert (first["in_place"], first["on_leave"], first["vacancies"], first["zalo_url"]) == (2, 1, 0, "https://zalo.me/g/abc")
    assert [p["person_id"] for p in view["officers"]] == ["o"]
    assert [p["person_id"] for p in view["others"]] == ["x"]
    assert view["totals"] == {"target": 4, "in_place": 2, "on_leave": 1, "vacancies": 2, "villages_short": 2}


def test_the_count_event_says_what_the_catalogue_wants():
    counted = roster.count(VILLAGES, [person("a")], {"thon-2": 2})
    body = validate_event("training", "roster_counted", {
        **roster.counted_payload(counted, NOW), "event_id": "e" * 16, "commune_id": "xuan-hung",
        "occurred_at": NOW, "schema_version": 1})
    assert body["vacancies"] == 3 and body["villages"][1] == {"village": "thon-2", "name": "Thôn 2", "target": 2,
                                                              "in_place": 0, "on_leave": 0, "vacancies": 2}


def test_targets_name_known_villages_and_zalo_links_are_zalos():
    targets, zalo = roster.targets_after({"thon-1": 2}, {}, [{"village": "thon-2", "target": 0,
                                                              "zalo_url": "https://chat.zalo.me/g/xyz"}],
                                         {"thon-1", "thon-2"})
    assert targets == {"thon-1": 2, "thon-2": 0} and zalo == {"thon-2": "https://chat.zalo.me/g/xyz"}
    with pytest.raises(InvalidInput) as refused:
        roster.targets_after({}, {}, [{"village": "thon-7", "target": 1}], {"thon-1"})
    assert "thon-7" in refused.value.message


@pytest.mark.parametrize("url, ok", [
    ("https://zalo.me/g/abcdef", True), ("https://chat.zalo.me/?g=abc", True), ("", True),
    ("http://zalo.me/g/abc", False), ("https://zalo.me.evil.vn/g", False), ("https://facebook.com/groups/x", False),
])
def test_zalo_links(url, ok):
    if ok:
        assert roster.check_zalo(url) == url
    else:
        with pytest.raises(InvalidInput) as refused:
            roster.check_zalo(url)
        assert refused.value.message.startswith("zalo_url:")


def test_without_personal_data_no_personal_key_is_left_not_even_in_the_history():
    p = status(person("a", address="Xóm Chùa", notes="hay đi vắng", gender="female", decision_number="12/QĐ-UBND",
                      decision_date="2024-01-02"), "on_leave", "2026-03-01", "chăm con nhỏ")
    shown = roster.without_personal(p)
    assert not set(roster.PERSONAL_KEYS) & set(shown)
    assert "chăm con nhỏ" not in repr(shown)
    assert (shown["full_name"], shown["status"], shown["village"]) == (p["full_name"], "on_leave", "thon-1")
