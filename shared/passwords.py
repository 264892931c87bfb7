"""Password hashing: argon2id for new hashes, Django's formats accepted for migration.

Stored hashes use Django's own encoding (``argon2$argon2id$v=19$m=...``), so a customer
table stays readable by a Django project too. Accepted on verify:
``argon2$argon2id$...`` / ``argon2$argon2i$...`` (Django's Argon2PasswordHasher) and
``pbkdf2_sha256$<iterations>$<salt>$<b64>`` / ``pbkdf2_sha1$...`` (Django's PBKDF2
hashers, any iteration count). Anything else, including Django's unusable ``!`` hashes,
never verifies. A verified hash that is not argon2id at the configured cost is reported
as needing an upgrade; the caller re-hashes with a conditional write.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from shared.settings import Settings

ARGON2_PREFIX = "argon2"
PBKDF2_DIGESTS = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}


class PasswordHasher:
    """Hashes and verifies passwords at the configured argon2id cost."""

    def __init__(self, settings: Settings) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=settings.ARGON2_TIME_COST,
            memory_cost=settings.ARGON2_MEMORY_COST_KIB,
            parallelism=settings.ARGON2_PARALLELISM,
            type=argon2.Type.ID,
        )
        # A real hash at the real cost, so an unknown email costs what a wrong password does.
        self._dummy_hash = self.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        return ARGON2_PREFIX + self._argon2.hash(password)

    def verify(self, password: str, encoded: str) -> bool:
        """True when ``password`` matches ``encoded``; never raises for a bad hash."""
        algorithm, _, rest = encoded.partition("$")
        if algorithm == ARGON2_PREFIX:
            try:
                return self._argon2.verify("$" + rest, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        if algorithm in PBKDF2_DIGESTS:
            return _verify_pbkdf2(PBKDF2_DIGESTS[algorithm], password, rest)
        return False

    def burn_dummy_verify(self, password: str) -> None:
        """Spend one verify's time where there is no hash to check (unknown email)."""
        self.verify(password, self._dummy_hash)

    def needs_upgrade(self, encoded: str) -> bool:
        """True unless ``encoded`` is argon2id at least as costly as the configured cost.

        A stronger hash (Django's argon2 default is m=100 MiB) is kept, not weakened.
        """
        algorithm, _, rest = encoded.partition("$")
        if algorithm != ARGON2_PREFIX:
            return True
        try:
            stored = argon2.extract_parameters("$" + rest)
        except (InvalidHashError, ValueError):
            return True
        wanted = self._argon2
        return (
            stored.type is not argon2.Type.ID
            or stored.version != argon2.low_level.ARGON2_VERSION
            or stored.time_cost < wanted.time_cost
            or stored.memory_cost < wanted.memory_cost
        )


def _verify_pbkdf2(digest: str, password: str, encoded_rest: str) -> bool:
    """Django's PBKDF2PasswordHasher.verify, with a constant-time comparison."""
    try:
        iterations_text, salt, expected = encoded_rest.split("$", 2)
        iterations = int(iterations_text)
    except ValueError:
        return False
    if iterations < 1 or not salt or not expected:
        return False
    derived = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), iterations)
    actual = base64.b64encode(derived).decode("ascii").strip()
    return hmac.compare_digest(actual.encode(), expected.encode())
