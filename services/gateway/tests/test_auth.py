"""Unit tests of the authentication rules: no I/O."""
import hashlib
from datetime import timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from shared.timeutil import iso, utcnow
from services.gateway import auth

SECRET = "unit-test-secret-0123456789abcdef0123"


@pytest.fixture(scope="module")
def stored_hash():
    return auth.hash_password("đúng mật khẩu 123")


def test_password_hash_verifies_only_the_right_password(stored_hash):
    assert stored_hash.startswith("$argon2id$")
    assert "đúng mật khẩu" not in stored_hash
    assert auth.verify_password(stored_hash, "đúng mật khẩu 123")
    assert not auth.verify_password(stored_hash, "sai mật khẩu 123")
    assert not auth.needs_rehash(stored_hash)


@pytest.mark.parametrize("bad_hash", [None, "", "not-a-hash", "$argon2id$v=19$m=65536,t=3,p=4$broken"])
def test_missing_or_broken_hash_never_verifies(bad_hash):
    assert auth.verify_password(bad_hash, "anything") is False


def test_generated_passwords_are_long_and_distinct():
    passwords = {auth.generate_password() for _ in range(20)}
    assert len(passwords) == 20
    assert all(len(p) >= 20 for p in passwords)


def test_session_cookie_round_trip():
    codec = auth.SessionCodec(SECRET)
    session = codec.new("user-1")
    assert len(session.csrf_token) >= 40
    assert codec.read(codec.dumps(session)) == session
    assert codec.new("user-1").csrf_token != session.csrf_token


def test_tampered_cookie_is_refused():
    codec = auth.SessionCodec(SECRET)
    value = codec.dumps(codec.new("user-1"))
    payload = value.rpartition(".")[0]
    forged = URLSafeTimedSerializer("attacker-key", salt="tinxa.session").dumps({"uid": "admin", "csrf": "x"})
    for bad in (value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1], forged, payload + ".", "", None):
        assert codec.read(bad) is None
    assert auth.SessionCodec("another-secret-0123456789abcdef0123").read(value) is None


def test_expired_cookie_is_refused():
    value = auth.SessionCodec(SECRET).dumps(auth.SessionCodec(SECRET).new("user-1"))
    assert auth.SessionCodec(SECRET, max_age=-1).read(value) is None


def test_signed_cookie_without_session_fields_is_refused():
    signer = URLSafeTimedSerializer(SECRET, salt="tinxa.session")
    assert auth.SessionCodec(SECRET).read(signer.dumps({"uid": "user-1"})) is None
    assert auth.SessionCodec(SECRET).read(signer.dumps(["user-1"])) is None


@pytest.mark.parametrize("expected, presented, ok", [
    ("token-abc", "token-abc", True),
    ("token-abc", "token-abd", False),
    ("token-abc", "", False),
    ("token-abc", None, False),
    ("", "", False),
    (None, None, False),
])
def test_csrf_check(expected, presented, ok):
    assert auth.csrf_matches(expected, presented) is ok


def test_api_keys_are_random_and_stored_as_sha256():
    key = auth.new_api_key()
    assert key.startswith(auth.API_KEY_PREFIX) and len(key) > 40
    assert auth.hash_api_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert auth.hash_api_key(key) != auth.hash_api_key(auth.new_api_key())


@pytest.mark.parametrize("headers, key", [
    ({"Authorization": "Bearer txk_abc"}, "txk_abc"),
    ({"Authorization": "bearer  txk_abc "}, "txk_abc"),
    ({"X-API-Key": "txk_abc"}, "txk_abc"),
    ({"Authorization": "Bearer txk_1", "X-API-Key": "txk_2"}, "txk_1"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, None),
    ({"Authorization": "Bearer "}, None),
    ({}, None),
])
def test_presented_api_key(headers, key):
    assert auth.presented_api_key(headers) == key


@pytest.mark.parametrize("remote, forwarded, trusted, expected", [
    ("10.0.0.5", None, 0, "10.0.0.5"),
    ("10.0.0.5", "1.2.3.4", 0, "10.0.0.5"),          # not behind a proxy: the header is the client's own
    ("10.0.0.5", "1.2.3.4", 1, "1.2.3.4"),
    ("10.0.0.5", "6.6.6.6, 1.2.3.4", 1, "1.2.3.4"),  # a client-written hop is not trusted
    ("10.0.0.5", "6.6.6.6, 1.2.3.4, 10.0.0.9", 2, "1.2.3.4"),
    ("10.0.0.5", "", 1, "10.0.0.5"),
    (None, None, 0, "unknown"),
])
def test_client_ip(remote, forwarded, trusted, expected):
    assert auth.client_ip(remote, forwarded, trusted) == expected


def test_attempt_key_is_case_and_space_insensitive():
    assert auth.attempt_key("  Admin.XuanHung ", "1.2.3.4") == auth.attempt_key("admin.xuanhung", "1.2.3.4")
    assert auth.attempt_key("admin", "1.2.3.4") != auth.attempt_key("admin", "1.2.3.5")


def test_login_allowed_until_five_failures_then_locked_until_the_oldest_ages_out():
    now = utcnow()
    minutes_ago = [iso(now - timedelta(minutes=m)) for m in (10, 8, 6, 4, 2)]
    assert auth.login_retry_after(minutes_ago[:4], now) == 0
    retry = auth.login_retry_after(minutes_ago, now)
    assert 4 * 60 <= retry <= 5 * 60  # the failure of 10 minutes ago leaves the window in 5
    six = [iso(now - timedelta(minutes=14))] + minutes_ago
    assert auth.login_retry_after(six, now) == retry  # the lock follows the last five


def test_callers_of_users_and_api_keys():
    user = {"_id": "u1", "commune_id": "xuan-hung", "roles": ["editor"], "display_name": "Chị Lan"}
    caller = auth.user_caller(user)
    assert (caller.subject, caller.commune_id, caller.roles, caller.kind, caller.name) == (
        "u1", "xuan-hung", frozenset({"editor"}), "user", "Chị Lan")
    key = auth.api_key_caller({"_id": "k1", "commune_id": "xuan-hung", "roles": ["operator"], "name": "Loa thôn 1"})
    assert (key.subject, key.kind, key.roles) == ("apikey:k1", "api_key", frozenset({"operator"}))
