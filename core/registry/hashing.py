"""Secrets at rest: gateway MQTT passwords in Mosquitto's PBKDF2-SHA512 format, API keys with argon2id.

Gateway passwords are written in the exact format `mosquitto_passwd` writes (`$7$<iterations>$<b64 salt>$<b64
hash>`), so the broker's password file can be generated from the registry without ever holding a plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MOSQUITTO_ITERATIONS: Final = 1000
"""PBKDF2 rounds (mosquitto_passwd's default is 101; the broker reads the count from each hash)."""
MOSQUITTO_SALT_BYTES: Final = 12
MOSQUITTO_HASH_BYTES: Final = 64  # SHA-512 output, as mosquitto writes it

API_KEY_HASHER: Final = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""argon2id at OWASP's minimum (19 MiB, 2 passes): the secret is 256 random bits, the cost only slows guessing."""


def mosquitto_hash(password: str, *, iterations: int = MOSQUITTO_ITERATIONS, salt: bytes | None = None) -> str:
    """Hash a password as `mosquitto_passwd` does: PBKDF2-HMAC-SHA512 over a random 12-byte salt."""
    if not password:
        raise ValueError("password must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(MOSQUITTO_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, MOSQUITTO_HASH_BYTES)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def mosquitto_verify(password: str, encoded: str) -> bool:
    """True when `password` matches a `$7$` (PBKDF2-SHA512) or `$6$` (salted SHA-512) Mosquitto hash."""
    parts = encoded.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            iterations, salt, digest = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
            candidate = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, len(digest))
        elif len(parts) == 4 and parts[1] == "6":
            salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
            candidate = hashlib.sha512(password.encode("utf-8") + salt).digest()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, digest)


def hash_api_secret(secret: str) -> str:
    """argon2id hash of an API key's secret part."""
    return API_KEY_HASHER.hash(secret)


def verify_api_secret(secret: str, encoded: str) -> bool:
    """Constant-time check of an API key secret against its argon2id hash."""
    try:
        return API_KEY_HASHER.verify(encoded, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def burn_verify_time(secret: str) -> None:
    """Spend one argon2 verification on nothing, so an unknown key id costs as long as a wrong secret."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = API_KEY_HASHER.hash(secrets.token_urlsafe(16))
    verify_api_secret(secret, _DUMMY_HASH)
