"""Authentication (xác thực): passwords, session cookies, CSRF, API keys,
login rate limiting. Pure functions and small values; the service does the I/O.

- People log in with a username and password (argon2id hashes) and get a
  signed, time-limited session cookie holding their user id and a random
  CSRF token. The cookie is HttpOnly, so scripts on a page cannot read it; a
  cookie-authenticated write must echo the CSRF token (header or form field),
  which a cross-site page cannot learn.
- Machines use API keys: random, shown once, stored only as a SHA-256 hash
  (the key itself carries 256 bits, so a fast hash is enough), scoped to one
  commune and a role list. A key is never sent by a browser on its own, so
  requests with a key need no CSRF token.
"""
import functools
import hashlib
import hmac
import math
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from shared.context import Caller
from shared.timeutil import parse_iso

SESSION_COOKIE = "tinxa_session"
SESSION_MAX_AGE = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_KEY_HEADER = "X-API-Key"
API_KEY_PREFIX = "txk_"

LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()


def normalise_username(username):
    return unicodedata.normalize("NFC", username or "").strip().lower()


def hash_password(password):
    return _hasher.hash(password)


@functools.lru_cache(maxsize=1)
def _unknown_user_hash():
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash, password):
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash, password):
    """True if ``password`` matches ``password_hash``. Without a hash (unknown
    user) a real verification still runs, so timing does not reveal which
    usernames exist."""
    if not password_hash:
        _verify(_unknown_user_hash(), password)
        return False
    return _verify(password_hash, password)


def needs_rehash(password_hash):
    return _hasher.check_needs_rehash(password_hash)


def generate_password():
    """A strong one-time password for a new account (about 120 bits)."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class Session:
    user_id: str
    csrf_token: str


class SessionCodec:
    """Signs and reads session cookies with the gateway's secret key.

    The cookie holds no roles: they are read from the user record on every
    request, so a changed role or a deactivated account takes effect at once.
    """

    def __init__(self, secret_key, max_age=SESSION_MAX_AGE):
        self._serializer = URLSafeTimedSerializer(secret_key, salt="tinxa.session")
        self.max_age = max_age

    def new(self, user_id):
        """A new session with a fresh CSRF token."""
        return Session(user_id=user_id, csrf_token=secrets.token_urlsafe(32))

    def dumps(self, session):
        return self._serializer.dumps({"uid": session.user_id, "csrf": session.csrf_token})

    def read(self, cookie_value):
        """The session in a cookie, or None if absent, tampered with or expired."""
        if not cookie_value:
            return None
        try:
            data = self._serializer.loads(cookie_value, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        if not isinstance(data, dict) or not data.get("uid") or not data.get("csrf"):
            return None
        return Session(user_id=data["uid"], csrf_token=data["csrf"])


def csrf_matches(expected, presented):
    """Constant-time comparison; an empty token never matches."""
    return bool(expected) and bool(presented) and hmac.compare_digest(str(expected), str(presented))


def new_api_key():
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def presented_api_key(headers):
    """The API key of a request (``Authorization: Bearer`` or ``X-API-Key``), or None."""
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return headers.get(API_KEY_HEADER, "").strip() or None


def client_ip(remote_addr, forwarded_for, trusted_proxies=0):
    """The client's address: with ``trusted_proxies`` reverse proxies in front
    (an ingress), the address the outermost trusted one saw; never a value a
    client could put in ``X-Forwarded-For`` itself."""
    if trusted_proxies and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if len(hops) >= trusted_proxies:
            return hops[-trusted_proxies]
    return remote_addr or "unknown"


def attempt_key(username, ip):
    """Failed logins are counted per (username, client address)."""
    return f"{normalise_username(username)}|{ip}"


def login_retry_after(failure_times, now):
    """Seconds until another login may be tried, 0 if allowed now.

    ``failure_times`` are the ISO times of failures within the window; the
    lock lifts when the oldest of the last ``LOGIN_MAX_FAILURES`` leaves it.
    """
    if len(failure_times) < LOGIN_MAX_FAILURES:
        return 0
    oldest = sorted(failure_times)[-LOGIN_MAX_FAILURES]
    return max(1, math.ceil((parse_iso(oldest) + LOGIN_WINDOW - now).total_seconds()))


def user_caller(user):
    return Caller(
        subject=user["_id"],
        commune_id=user.get("commune_id"),
        roles=frozenset(user.get("roles", ())),
        kind="user",
        name=user.get("display_name", ""),
    )


def api_key_caller(record):
    return Caller(
        subject=f"apikey:{record['_id']}",
        commune_id=record["commune_id"],
        roles=frozenset(record.get("roles", ())),
        kind="api_key",
        name=record.get("name", ""),
    )


def public_reader(commune_id):
    """Whom the public pages read a commune's content as: a viewer of that
    commune and no other, so the most a mistake could show is what any of the
    commune's accounts may read; the pages then show only the published
    version of a live item."""
    return Caller(subject="public", commune_id=commune_id, roles=frozenset({"viewer"}), kind="public",
                  name="Trang công khai")
