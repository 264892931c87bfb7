"""Password hashing: argon2id for new hashes, Django's formats accepted for migration.

Stored hashes use Django's own encoding (``argon2$argon2id$v=19$m=...``), so a customer
table stays readable by a Django project too. Accepted on verify:
``argon2$argon2id$...`` / ``argon2$argon2i$...`` (Django's Argon2PasswordHasher) and
``pbkdf2_sha256$<iterations>$<salt>$<b64>`` / ``pbkdf2_sha1$...`` (Django's PBKDF2
hashers). A verified hash that is not argon2id at the configured cost is reported as
needing an upgrade; the caller re-hashes with a conditional write.

Every stored hash is checked against cost bounds before it is run (``hash_problem``): a
PBKDF2 hash under ``PBKDF2_MIN_ITERATIONS`` is too weak to trust, one over
``PBKDF2_MAX_ITERATIONS`` (or an argon2 hash over its memory or work budget) would spend
more than a login can afford, and Django's other hashers (bcrypt, scrypt, md5, unsalted
sha1...) are not supported. Such a hash never verifies and is logged by its kind, never
its text; ``authctl import-django`` refuses them, so they reach the table only by hand.
Django's unusable passwords (``!...``) never verify either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from aws_lambda_powertools import Logger

from shared.settings import Settings

logger = Logger(child=True)

ARGON2_PREFIX = "argon2"
PBKDF2_DIGESTS = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}
# Django 2.0 (2017) used 100,000; 5.2 uses 1,000,000, 6.0 1,200,000. 2,000,000 is about 0.45 s.
PBKDF2_MIN_ITERATIONS = 100_000
PBKDF2_MAX_ITERATIONS = 2_000_000
# Django's argon2 defaults: m=512 KiB, t=2, p=2 up to 3.2; m=100 MiB, t=2, p=8 since 4.0. The
# work budget (memory x passes) is five times the newer default, about 0.6 s.
ARGON2_MIN_MEMORY_KIB = 512
ARGON2_MAX_MEMORY_KIB = 256 * 1024
ARGON2_MAX_WORK_KIB = 5 * 2 * 100 * 1024
ARGON2_MAX_PARALLELISM = 16
# Django's other hashers: named in reports and logs (anything else is "unrecognised").
DJANGO_HASHERS = ("bcrypt_sha256", "bcrypt", "scrypt", "sha1", "md5", "unsalted_sha1", "unsalted_md5", "crypt")
UNUSABLE = "unusable password"


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
        """True when ``password`` matches ``encoded``; never raises for a bad hash, never runs
        one outside the cost bounds."""
        problem = hash_problem(encoded)
        if problem is not None:
            if problem != UNUSABLE:
                logger.warning("stored password hash refused", extra={"reason": problem})
            return False
        algorithm, _, rest = encoded.partition("$")
        if algorithm == ARGON2_PREFIX:
            try:
                return self._argon2.verify("$" + rest, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        return _verify_pbkdf2(PBKDF2_DIGESTS[algorithm], password, rest)

    def equalise_refusal(self, password: str, checked: str | None, legacy_dummy: str | None) -> None:
        """Make a refused login cost what every refusal costs: one argon2id verify, plus one
        legacy verify while imported hashes wait for their upgrade (``legacy_dummy``, a hash
        at their most common cost). ``checked`` is the hash already run, None for an unknown
        email. Without it, an unknown email (argon2id only) would answer ten times faster
        than a migrated customer's wrong password (PBKDF2) right after an import."""
        checked_legacy = checked is not None and is_legacy(checked)
        if checked is None or checked_legacy:
            self.verify(password, self._dummy_hash)
        if legacy_dummy is not None and not checked_legacy:
            self.verify(password, legacy_dummy)

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


def hash_problem(encoded: str) -> str | None:
    """Why a stored hash may not be run here, in words that never quote it; None when it may."""
    algorithm, _, rest = encoded.partition("$")
    if encoded.startswith("!"):
        return UNUSABLE
    if algorithm in PBKDF2_DIGESTS:
        try:
            iterations_text, salt, expected = rest.split("$", 2)
            iterations = int(iterations_text)
        except ValueError:
            return f"malformed {algorithm} hash"
        if not salt or not expected:
            return f"malformed {algorithm} hash"
        if iterations < PBKDF2_MIN_ITERATIONS:
            return f"{algorithm} iterations below {PBKDF2_MIN_ITERATIONS}"
        if iterations > PBKDF2_MAX_ITERATIONS:
            return f"{algorithm} iterations above {PBKDF2_MAX_ITERATIONS}"
        return None
    if algorithm == ARGON2_PREFIX:
        try:
            stored = argon2.extract_parameters("$" + rest)
        except (InvalidHashError, ValueError):
            return "malformed argon2 hash"
        if stored.memory_cost < ARGON2_MIN_MEMORY_KIB:
            return f"argon2 memory_cost below {ARGON2_MIN_MEMORY_KIB} KiB"
        if stored.memory_cost > ARGON2_MAX_MEMORY_KIB:
            return f"argon2 memory_cost above {ARGON2_MAX_MEMORY_KIB} KiB"
        if stored.memory_cost * stored.time_cost > ARGON2_MAX_WORK_KIB:
            return f"argon2 memory_cost x time_cost above {ARGON2_MAX_WORK_KIB} KiB"
        if stored.parallelism > ARGON2_MAX_PARALLELISM:
            return f"argon2 parallelism above {ARGON2_MAX_PARALLELISM}"
        return None
    if algorithm in DJANGO_HASHERS:
        return f"unsupported algorithm {algorithm}"
    return "unrecognised hash format"


def is_legacy(encoded: str) -> bool:
    """An imported hash this service does not write: PBKDF2, or argon2 other than argon2id."""
    algorithm, _, rest = encoded.partition("$")
    if algorithm in PBKDF2_DIGESTS:
        return True
    return algorithm == ARGON2_PREFIX and not rest.startswith("argon2id$")


def cost_of(encoded: str) -> str:
    """The parameters that set a hash's verify time (``pbkdf2_sha256$1000000``, ``argon2i$m=...``)."""
    algorithm, _, rest = encoded.partition("$")
    if algorithm in PBKDF2_DIGESTS:
        return f"{algorithm}${rest.split('$', 1)[0]}"
    stored = argon2.extract_parameters("$" + rest)
    return f"{rest.split('$', 1)[0]}$m={stored.memory_cost},t={stored.time_cost},p={stored.parallelism}"


def dummy_like(encoded: str) -> str:
    """A hash of a random password at ``encoded``'s algorithm and cost: verifying against it
    takes as long as verifying against ``encoded``."""
    algorithm, _, rest = encoded.partition("$")
    secret = secrets.token_urlsafe(32)
    if algorithm in PBKDF2_DIGESTS:
        iterations = int(rest.split("$", 1)[0])
        salt = secrets.token_urlsafe(16)
        derived = hashlib.pbkdf2_hmac(PBKDF2_DIGESTS[algorithm], secret.encode(), salt.encode(), iterations)
        return f"{algorithm}${iterations}${salt}${base64.b64encode(derived).decode('ascii')}"
    stored = argon2.extract_parameters("$" + rest)
    hasher = argon2.PasswordHasher(
        time_cost=stored.time_cost,
        memory_cost=stored.memory_cost,
        parallelism=stored.parallelism,
        hash_len=stored.hash_len,
        salt_len=stored.salt_len,
        type=stored.type,
    )
    return ARGON2_PREFIX + hasher.hash(secret)


def _verify_pbkdf2(digest: str, password: str, encoded_rest: str) -> bool:
    """Django's PBKDF2PasswordHasher.verify, with a constant-time comparison (bounds checked)."""
    iterations_text, salt, expected = encoded_rest.split("$", 2)
    derived = hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), int(iterations_text))
    actual = base64.b64encode(derived).decode("ascii").strip()
    return hmac.compare_digest(actual.encode(), expected.encode())
