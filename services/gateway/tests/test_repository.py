"""The repositories against the real store (nx-27017, or MongoDB when
TINXA_TEST_MONGO_URI is set)."""
from datetime import timedelta

import pytest

from shared.errors import Conflict, NotFound
from shared.timeutil import iso, utcnow
from services.gateway import domain
from services.gateway.repository import (
    ActivityRepository, ApiKeyRepository, CommuneRepository, LoginAttemptRepository, UserRepository,
)


def repo(cls, database):
    cls.create_indexes(database)
    return cls(database)


def test_communes_are_created_once_then_updated_whole(mongo_database):
    communes = repo(CommuneRepository, mongo_database)
    commune = {"id": "xuan-hung", "name": "Xuân Hưng", "province": "Ninh Bình",
               "villages": [{"id": "thon-1", "name": "Thôn 1"}, {"id": "thon-2", "name": "Thôn 2"}],
               "agencies": [{"id": "vhxh", "name": "Phòng Văn hóa – Xã hội", "aliases": ["Phòng Văn hoá – Xã hội"]}]}
    assert communes.ensure(commune) is True
    created_at = communes.get("xuan-hung")["created_at"]
    assert communes.ensure(dict(commune, villages=[{"id": "thon-3", "name": "Thôn 3"}])) is False
    stored = communes.get("xuan-hung")
    assert stored["villages"] == [{"id": "thon-3", "name": "Thôn 3"}]  # sub-documents stay documents
    assert stored["agencies"][0]["aliases"] == ["Phòng Văn hoá – Xã hội"]
    assert stored["created_at"] == created_at
    with pytest.raises(NotFound):
        communes.get("yen-thang")


def test_commune_list_is_all_or_one(mongo_database):
    communes = repo(CommuneRepository, mongo_database)
    for slug, name in (("yen-thang", "Yên Thắng"), ("xuan-hung", "Xuân Hưng")):
        communes.ensure({"id": slug, "name": name, "province": "Ninh Bình", "villages": [], "agencies": []})
    assert [c["_id"] for c in communes.list()] == ["xuan-hung", "yen-thang"]
    assert [c["_id"] for c in communes.list("yen-thang")] == ["yen-thang"]
    communes.ping()


def test_usernames_are_unique(mongo_database):
    users = repo(UserRepository, mongo_database)
    user = domain.new_user({"username": "lan", "display_name": "Lan", "commune_id": "xuan-hung", "roles": ["editor"]}, "h")
    users.add(user)
    with pytest.raises(Conflict, match="lan"):
        users.add(domain.new_user({"username": "lan", "display_name": "Lan 2", "commune_id": "x", "roles": ["viewer"]}, "h"))
    assert users.by_username("lan")["_id"] == user["_id"]
    assert users.display_name(user["_id"]) == "Lan"


def test_inactive_users_are_not_active(mongo_database):
    users = repo(UserRepository, mongo_database)
    user = users.add(domain.new_user({"username": "lan", "display_name": "Lan", "commune_id": "x", "roles": ["editor"]}, "h"))
    assert users.active(user["_id"])["username"] == "lan"
    users.update_profile("lan", {"active": False, "roles": ["viewer"]})
    assert users.active(user["_id"]) is None
    assert users.by_username("lan")["roles"] == ["viewer"]
    assert users.by_username("lan")["password_hash"] == "h"


def test_api_keys_are_found_by_hash_while_active(mongo_database):
    keys = repo(ApiKeyRepository, mongo_database)
    record = keys.add(domain.new_api_key_record("xuan-hung", "Loa thôn 1", ["operator"], "hash-1", "u1"))
    assert keys.active_by_hash("hash-1")["_id"] == record["_id"]
    assert keys.active_by_hash("hash-2") is None
    assert keys.name(record["_id"]) == "Loa thôn 1"


def test_login_failures_count_within_the_window_and_old_ones_are_dropped(mongo_database):
    attempts = repo(LoginAttemptRepository, mongo_database)
    now = utcnow()
    window_start = iso(now - timedelta(minutes=15))
    attempts.record_failure("lan|1.2.3.4", iso(now - timedelta(minutes=20)), "old", iso(now - timedelta(hours=1)))
    for n in range(3):
        attempts.record_failure("lan|1.2.3.4", iso(now - timedelta(minutes=n)), f"f{n}", window_start)
    attempts.record_failure("lan|5.6.7.8", iso(now), "elsewhere", window_start)
    assert len(attempts.failures_since("lan|1.2.3.4", window_start)) == 3
    assert mongo_database.login_attempts.count_documents({"_id": "old"}) == 0
    attempts.clear("lan|1.2.3.4")
    assert attempts.failures_since("lan|1.2.3.4", window_start) == []
    assert len(attempts.failures_since("lan|5.6.7.8", window_start)) == 1


def test_activity_is_stored_once_per_event_newest_first_per_commune(mongo_database):
    activity = repo(ActivityRepository, mongo_database)

    def entry(event_id, commune_id, minute):
        return {"_id": event_id, "commune_id": commune_id, "occurred_at": f"2026-05-04T03:{minute:02d}:00.000Z",
                "kind": "plan_imported", "data": {"plan_id": "p", "title": "T", "task_count": 1}, "summary": "s"}

    assert activity.record(entry("e1", "xuan-hung", 1)) is True
    assert activity.record(dict(entry("e1", "xuan-hung", 1), summary="changed")) is False
    activity.record(entry("e2", "xuan-hung", 2))
    activity.record(entry("e3", "yen-thang", 3))
    recent = activity.recent("xuan-hung", 10)
    assert [e["_id"] for e in recent] == ["e2", "e1"]
    assert recent[1]["summary"] == "s" and recent[1]["data"]["task_count"] == 1
    assert [e["_id"] for e in activity.recent("xuan-hung", 1)] == ["e2"]


def test_a_communes_active_users_by_agency_and_name(mongo_database):
    users = repo(UserRepository, mongo_database)
    for username, name, commune_id, agency_id, active in (
            ("minh", "Trần Minh", "xuan-hung", "vhxh", True), ("lan", "Nguyễn Lan", "xuan-hung", "vhxh", True),
            ("cu", "Người cũ", "xuan-hung", "vhxh", False), ("hung", "Lê Hùng", "xuan-hung", "ca", True),
            ("khac", "Xã khác", "yen-thang", "vhxh", True)):
        users.add(dict(domain.new_user({"username": username, "display_name": name, "commune_id": commune_id,
                                        "agency_id": agency_id, "roles": ["editor"]}, "hash"), active=active))
    assert [u["username"] for u in users.of_commune("xuan-hung", "vhxh")] == ["lan", "minh"]
    everyone = users.of_commune("xuan-hung")
    assert [u["username"] for u in everyone] == ["hung", "lan", "minh"]
    assert all("password_hash" not in u for u in everyone)
