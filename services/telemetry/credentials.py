"""Device credentials and provisioning codes (mã kích hoạt): the rules, no I/O.

A provisioning code is short enough to read out over the phone to the
installer (12 characters from an alphabet without look-alikes, shown in
groups of four). A credential is ``<credential_id>.<secret>``: the id finds
the stored record, the secret (32 random bytes) is compared by its SHA-256
digest. Both are high-entropy random values, so a fast hash is enough; the
plain value is shown once and never stored.
"""
import hashlib
import hmac
import secrets
import uuid

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12


def new_provisioning_code():
    """A fresh code as shown to the operator, e.g. ``K7QM-2XPA-9RTD``."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code):
    """The code as typed (any case, dashes or spaces) in its stored form."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def code_digest(code):
    """What is stored for a code: the SHA-256 of its normalised form."""
    return hashlib.sha256(normalise_code(code).encode("ascii", "ignore")).hexdigest()


def new_credential():
    """``(credential_id, credential, secret_digest)`` for a new credential."""
    credential_id = uuid.uuid4().hex
    secret = secrets.token_urlsafe(32)
    return credential_id, f"{credential_id}.{secret}", secret_digest(secret)


def secret_digest(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_credential(credential):
    """``(credential_id, secret)``, or None for something that is not a credential."""
    if not isinstance(credential, str):
        return None
    if credential.startswith("Bearer "):
        credential = credential[len("Bearer "):]
    credential_id, dot, secret = credential.strip().partition(".")
    if not dot or len(credential_id) != 32 or not secret or len(secret) > 128:
        return None
    return credential_id, secret


def secret_matches(secret, stored_digest):
    return hmac.compare_digest(secret_digest(secret), stored_digest or "")
