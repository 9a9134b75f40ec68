"""Fixtures of the gateway's tests: a config, tenants and people in the real
store, and signed-in HTTP sessions.

Users are written straight into the store with one password hash made per
test session (argon2 is deliberately slow); login itself is tested through
the real endpoint, other tests carry a session cookie signed with the test
secret, which the gateway checks exactly as it checks a login's cookie.
"""
import json
from pathlib import Path

import pytest

from shared.context import CONTEXT_KEY, SYSTEM
from services.gateway import auth, domain
from services.gateway.repository import CommuneRepository, UserRepository

SECRET = "test-only-gateway-secret-0123456789abcdef"
PASSWORD = "mật-khẩu-thử-12345"
ROOT = Path(__file__).resolve().parents[3]
SEED_DIR = ROOT / "deploy" / "seed"
SYSTEM_CONTEXT = {CONTEXT_KEY: SYSTEM.to_json()}
SEED = json.loads((SEED_DIR / "xuan-hung.json").read_text(encoding="utf-8"))
PLAN_TEXT = (SEED_DIR / SEED["plan"]).read_text(encoding="utf-8")

COMMUNES = [
    {"id": "xuan-hung", "name": "Xuân Hưng", "province": "Ninh Bình",
     "villages": [{"id": "thon-1", "name": "Thôn 1"}],
     "agencies": [{"id": "vhxh", "name": "Phòng Văn hóa – Xã hội", "aliases": ["Phòng Văn hoá – Xã hội"]}]},
    {"id": "yen-thang", "name": "Yên Thắng", "province": "Ninh Bình"},
]
USERS = {
    "admin": ("admin.xuanhung", "Quản trị Xuân Hưng", "xuan-hung", ["commune_admin"]),
    "editor": ("editor.xuanhung", "Biên tập viên", "xuan-hung", ["editor"]),
    "viewer": ("viewer.xuanhung", "Người xem", "xuan-hung", ["viewer"]),
    "other_admin": ("admin.yenthang", "Quản trị Yên Thắng", "yen-thang", ["commune_admin"]),
    "district": ("district", "Quản trị huyện", None, ["district_admin"]),
}


@pytest.fixture(scope="session")
def password_hash():
    return auth.hash_password(PASSWORD)


@pytest.fixture
def gateway_config(service_config, web_config):
    return dict(service_config, **web_config, GATEWAY_SECRET_KEY=SECRET, RPC_TIMEOUT_SECONDS=5)


@pytest.fixture
def people(mongo_database, password_hash):
    """Two communes and a user per role of interest; name → user document."""
    communes = CommuneRepository(mongo_database)
    for commune in COMMUNES:
        communes.ensure({"villages": [], "agencies": [], **commune})
    users = UserRepository(mongo_database)
    UserRepository.create_indexes(mongo_database)
    made = {}
    for name, (username, display_name, commune_id, roles) in USERS.items():
        made[name] = users.add(domain.new_user(
            {"username": username, "display_name": display_name, "commune_id": commune_id, "roles": roles},
            password_hash))
    return made


@pytest.fixture
def sign_in(web_session):
    """Give the web session a valid session cookie for ``user``; returns its CSRF token."""
    codec = auth.SessionCodec(SECRET)

    def sign_in(user):
        session = codec.new(user["_id"])
        web_session.cookies.set(auth.SESSION_COOKIE, codec.dumps(session), domain="127.0.0.1", path="/")
        return session.csrf_token

    return sign_in


@pytest.fixture
def operator(gateway, people, sign_in, mongo_database, password_hash):
    """Signed in as an operator (API tests); the session's CSRF header. Console
    test modules override it with the account itself."""
    user = UserRepository(mongo_database).add(domain.new_user(
        {"username": "operator.xuanhung", "display_name": "Anh Tuấn", "commune_id": "xuan-hung",
         "roles": ["operator"]}, password_hash))
    return {auth.CSRF_HEADER: sign_in(user)}
