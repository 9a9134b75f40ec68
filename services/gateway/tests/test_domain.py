"""The gateway's rules, without I/O."""
from datetime import date

import pytest

from shared.context import Caller
from shared.errors import Forbidden, InvalidInput, NotFound
from services.gateway import domain

COMMUNE_ADMIN = Caller("u1", "xuan-hung", frozenset({"commune_admin"}))
DISTRICT = Caller("d1", None, frozenset({"district_admin"}))


def test_only_district_admins_grant_district_admin():
    domain.check_grant(COMMUNE_ADMIN, ["editor", "viewer"])
    domain.check_grant(DISTRICT, ["district_admin"])
    with pytest.raises(Forbidden):
        domain.check_grant(COMMUNE_ADMIN, ["district_admin"])


@pytest.mark.parametrize("roles, commune_id, ok", [
    (["editor"], "xuan-hung", True),
    (["district_admin"], None, True),
    (["editor"], None, False),
    (["district_admin"], "xuan-hung", False),
])
def test_user_scope(roles, commune_id, ok):
    if ok:
        domain.check_user_scope(roles, commune_id)
    else:
        with pytest.raises(InvalidInput):
            domain.check_user_scope(roles, commune_id)


def test_public_user_never_shows_the_hash():
    user = domain.new_user({"username": "a.b", "display_name": "A", "commune_id": "x", "roles": ["viewer", "viewer"]},
                           "$argon2id$secret")
    public = domain.public_user(user)
    assert "$argon2id$secret" not in repr(public)
    assert public["roles"] == ["viewer"] and public["id"] == user["_id"]


def test_api_keys_never_hold_district_rights():
    with pytest.raises(Forbidden):
        domain.new_api_key_record("xuan-hung", "k", ["district_admin"], "h", "u1")
    record = domain.new_api_key_record("xuan-hung", "Loa thôn 1", ["operator"], "h", "u1")
    assert "key_hash" not in domain.public_api_key(record)


EVENT = {"event_id": "e" * 32, "commune_id": "xuan-hung", "occurred_at": "2026-05-04T03:02:01.000Z",
         "schema_version": 1, "actor": "u1", "task_id": "t1", "plan_id": "p1", "code": "I.1.1",
         "title": "Xây dựng Quy chế", "old_status": "not_started", "new_status": "in_progress"}


def test_activity_entry_of_a_status_change():
    entry = domain.activity_entry("task_status_changed", EVENT, "Chị Lan")
    assert entry["_id"] == EVENT["event_id"] and entry["kind"] == "task_status_changed"
    assert entry["summary"] == "Chị Lan chuyển nhiệm vụ I.1.1 từ «Chưa thực hiện» sang «Đang thực hiện»"
    assert domain.describe_activity(entry, "en") == 'Chị Lan moved task I.1.1 from “Not started” to “In progress”'


def test_activity_without_a_known_actor_is_the_systems():
    event = {**EVENT, "plan_id": "p1", "title": "Kế hoạch 2026", "task_count": 38}
    entry = domain.activity_entry("plan_imported", event, None)
    assert entry["summary"] == "Hệ thống nhập kế hoạch «Kế hoạch 2026» (38 nhiệm vụ)"


@pytest.mark.parametrize("code, level", [("I", 0), ("I.1", 1), ("I.6.1", 2), ("II.2.4", 2)])
def test_level(code, level):
    assert domain.level(code) == level


COMMUNE = {"_id": "xuan-hung", "agencies": [{"id": "vhxh", "name": "Phòng Văn hóa – Xã hội"}, {"id": "ca", "name": "Công an xã"}]}


@pytest.mark.parametrize("agency_id, ok", [(None, True), ("vhxh", True), ("kt", False)])
def test_a_users_agency_is_one_of_the_communes(agency_id, ok):
    if ok:
        domain.check_agency(COMMUNE, agency_id)
    else:
        with pytest.raises(InvalidInput, match="vhxh, ca"):
            domain.check_agency(COMMUNE, agency_id)
    with pytest.raises(InvalidInput):
        domain.check_agency(None, "vhxh")  # a district administrator has no office


def test_an_agency_of_the_commune_or_not_found():
    assert domain.agency(COMMUNE, "ca")["name"] == "Công an xã"
    with pytest.raises(NotFound):
        domain.agency(COMMUNE, "kt")


@pytest.mark.parametrize("existing, data, agency_id", [
    ({"commune_id": "xuan-hung", "agency_id": "vhxh"}, {}, "keep"),
    ({"commune_id": "xuan-hung", "agency_id": "vhxh"}, {"agency_id": "ca"}, "ca"),
    ({"commune_id": "xuan-hung", "agency_id": "vhxh"}, {"agency_id": None}, None),
    ({"commune_id": "yen-thang", "agency_id": "vhxh"}, {}, None),  # moved: the old office means nothing there
])
def test_ensure_user_changes_the_office_only_when_told(existing, data, agency_id):
    given = {"display_name": "Lan", "commune_id": "xuan-hung", "roles": ["editor"], "language": "vi", "active": True,
             **data}
    profile = domain.profile_update(existing, given)
    if agency_id == "keep":
        assert "agency_id" not in profile
    else:
        assert profile["agency_id"] == agency_id


def _user(user_id, name, agency_id):
    return {"_id": user_id, "display_name": name, "agency_id": agency_id}


USERS = [_user("u1", "Lan", "vhxh"), _user("u2", "Minh", "vhxh"), _user("u3", "Hùng", "ca"), _user("u4", "An", None)]
LED_BY_VHXH = {"code": "I.1.1", "lead_agencies": [{"text": "Phòng Văn hoá – Xã hội", "agency_id": "vhxh",
                                                    "agency_name": "Phòng Văn hóa – Xã hội", "generic": False}]}
UNMATCHED = {"code": "II.2.1", "lead_agencies": [{"text": "Các phòng, ban", "agency_id": None, "agency_name": None,
                                                  "generic": True}]}


def test_assignees_are_the_lead_agencys_people_named_from_their_accounts():
    assert domain.assignees(LED_BY_VHXH, ["u2", "u1", "u2"], USERS) == [
        {"user_id": "u2", "name": "Minh"}, {"user_id": "u1", "name": "Lan"}]
    assert domain.assignees(LED_BY_VHXH, [], USERS) == []
    with pytest.raises(InvalidInput, match="Hùng, An"):
        domain.assignees(LED_BY_VHXH, ["u1", "u3", "u4"], USERS)
    with pytest.raises(InvalidInput, match="u9"):
        domain.assignees(LED_BY_VHXH, ["u9"], USERS)


def test_without_a_matched_lead_agency_anyone_of_the_commune_may_be_assigned():
    assert [a["user_id"] for a in domain.assignees(UNMATCHED, ["u3", "u4"], USERS)] == ["u3", "u4"]
    assert domain.assignable(UNMATCHED, USERS) == USERS
    assert [u["_id"] for u in domain.assignable(LED_BY_VHXH, USERS)] == ["u1", "u2"]


@pytest.mark.parametrize("kind, extra, vi, en", [
    ("task_overdue", {"due": "2026-12-31"}, "Nhiệm vụ I.1.1 quá hạn (hạn 31/12/2026): Xây dựng Quy chế",
     "Task I.1.1 is overdue (due 31/12/2026): Xây dựng Quy chế"),
    ("task_due_soon", {"due": "2026-12-31"}, "Nhiệm vụ I.1.1 sắp đến hạn (hạn 31/12/2026): Xây dựng Quy chế",
     "Task I.1.1 is due soon (due 31/12/2026): Xây dựng Quy chế"),
    ("task_progress_reported", {"update_id": "u1", "text": "Đã dự thảo\nQuy chế"},
     "Chị Lan báo cáo tiến độ nhiệm vụ I.1.1: «Đã dự thảo Quy chế»",
     "Chị Lan reported progress on task I.1.1: “Đã dự thảo Quy chế”"),
])
def test_activity_of_follow_up_and_progress_events(kind, extra, vi, en):
    event = {k: v for k, v in EVENT.items() if k not in ("old_status", "new_status")} | extra
    entry = domain.activity_entry(kind, event, "Chị Lan")
    assert entry["summary"] == vi and domain.describe_activity(entry, "en") == en
    assert entry["data"]["task_id"] == "t1"


def test_an_event_the_feed_does_not_know_is_a_programming_error():
    with pytest.raises(ValueError):
        domain.activity_entry("uptime_reported", EVENT, None)


@pytest.mark.parametrize("text, length, short", [
    ("ngắn", 10, "ngắn"),
    ("một  hai\nba", 20, "một hai ba"),
    ("Đã dự thảo Quy chế, gửi góp ý", 20, "Đã dự thảo Quy chế…"),
    ("khôngcókhoảngtrắng", 5, "không…"),
])
def test_shorten(text, length, short):
    assert domain.shorten(text, length) == short


def test_dates_as_officials_write_them():
    assert domain.day_month_year("2026-02-03") == "03/02/2026"
    assert domain.day_month_year(None) == ""


def test_headings_are_the_codes_others_belong_to():
    rows = [{"code": "I", "parent_code": None}, {"code": "I.1", "parent_code": "I"},
            {"code": "I.1.1", "parent_code": "I.1"}, {"code": "I.3", "parent_code": "I"}]
    assert domain.heading_codes(rows) == {"I", "I.1"}


def test_history_merges_changes_and_progress_reports_newest_first():
    task = {"history": [{"at": "2026-11-20T02:00:00.000Z", "by": "Lan", "action": "status", "changes": {}}],
            "updates": [{"_id": "u1", "at": "2026-11-21T02:00:00.000Z", "by": "Minh", "text": "Xong bước 1",
                         "links": ["https://a"], "files": []},
                        {"_id": "u0", "at": "2026-11-19T02:00:00.000Z", "by": "Lan", "text": "Bắt đầu"}]}
    history = domain.task_history(task)
    assert [(e["kind"], e["by"]) for e in history] == [("update", "Minh"), ("change", "Lan"), ("update", "Lan")]
    assert (history[0]["links"], history[0]["files"], history[2]["links"]) == (1, 0, 0)


PERIODS = [{"kind": "quarter", "year": 2026, "number": n, "start": f"2026-{3 * n - 2:02d}-01",
            "end": f"2026-{3 * n:02d}-{[31, 30, 30, 31][n - 1]}"} for n in (1, 2, 3, 4)] + [
    {"kind": "year", "year": 2026, "start": "2026-01-01", "end": "2026-12-31"}]


@pytest.mark.parametrize("today, chosen", [
    (date(2026, 11, 26), "quarter:2026:4"), (date(2026, 4, 1), "quarter:2026:2"), (date(2027, 1, 5), "quarter:2026:1"),
])
def test_the_report_form_starts_on_this_quarter(today, chosen):
    assert domain.current_period(PERIODS, today) == chosen
    assert domain.period_value(PERIODS[-1]) == "year:2026"
    assert domain.current_period([], today) == ""
