"""The gateway's rules, without I/O."""
import pytest

from shared.context import Caller
from shared.errors import Forbidden, InvalidInput
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


def test_progress_by_part():
    tasks = [{"part": "I", "status": "done"}, {"part": "I", "status": "done"},
             {"part": "I", "status": "in_progress"}, {"part": "II", "status": "not_started"}]
    assert domain.progress_by_part(tasks) == {"I": {"done": 2, "in_progress": 1}, "II": {"not_started": 1}}


@pytest.mark.parametrize("code, level", [("I", 0), ("I.1", 1), ("I.6.1", 2), ("II.2.4", 2)])
def test_level(code, level):
    assert domain.level(code) == level
