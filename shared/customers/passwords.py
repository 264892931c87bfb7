"""Password hashing: argon2id for new hashes, every Django hasher of the last ten years verified.

Stored hashes use Django's own encoding (``argon2$argon2id$v=19$m=...``), so a customer
table stays readable by a Django project too. Verified, in Django's encodings (the
default ``PASSWORD_HASHERS`` of Django 1.10 onward):

- ``argon2$argon2id$...`` and ``argon2$argon2i$...`` (Django's Argon2PasswordHasher, both
  its types and both its parameter sets: m=512,t=2,p=2 up to 3.2, m=102400,t=2,p=8 since);
- ``pbkdf2_sha256$<iterations>$<salt>$<b64>`` / ``pbkdf2_sha1$...`` at any iteration count
  (Django 1.4 used 10,000; hashes are only upgraded at login, so old counts survive);
- ``bcrypt_sha256$$2b$...`` (the password's SHA-256 hex digest through bcrypt) and
  ``bcrypt$$2b$...`` (the password's first 72 bytes, as bcrypt always used them), through
  the ``bcrypt`` package, imported only when such a hash is verified;
- ``scrypt$<n>$<salt>$<r>$<p>$<b64>`` (Django 4.0's default, hashlib with Django's
  ``maxmem`` of 0: OpenSSL's 32 MiB).

The kinds Django kept only to upgrade pre-1.4 hashes (salted ``sha1``/``md5``,
``unsalted_sha1``/``unsalted_md5``) are refused by ``authctl import-django`` unless the
operator accepts them (``--accept-weak-hashes``); once in the table they verify like the
others and are upgraded at the first login. ``crypt`` (gone from Python 3.13) never verifies.

A verified hash that is not argon2id at the configured cost is reported as needing an
upgrade; the caller re-hashes with a conditional write. Every stored hash is checked
before it is run (``hash_problem``): malformed parameters or digests, and costs over a
per-kind upper bound (a hash that would spend more than a login can afford), never run.
There is no lower bound: a cheap old hash is verified once and upgraded, since refusing it
protects nothing (whoever holds the table can attack it either way). A refused hash is
logged by its reason, never its text. Django's unusable passwords (``!...``) never verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from aws_lambda_powertools import Logger

from shared.customers.legacy_hashes import LegacyCost, LegacyHashes
from shared.settings import Settings

logger = Logger(child=True)

ARGON2_PREFIX = "argon2"
PBKDF2_DIGESTS = {"pbkdf2_sha256": "sha256", "pbkdf2_sha1": "sha1"}
# Django 1.4 used 10,000; 5.2 uses 1,000,000, 6.0 1,200,000. 2,000,000 is about 0.45 s.
PBKDF2_MAX_ITERATIONS = 2_000_000
# Django's argon2 defaults: m=512 KiB, t=2, p=2 up to 3.2; m=100 MiB, t=2, p=8 since 4.0. The
# work budget (memory x passes) is five times the newer default, about 0.6 s.
ARGON2_MAX_MEMORY_KIB = 256 * 1024
ARGON2_MAX_WORK_KIB = 5 * 2 * 100 * 1024
ARGON2_MAX_PARALLELISM = 16
# Django's bcrypt default is 12 rounds (about 0.25 s); each round doubles the time.
BCRYPT_MAX_ROUNDS = 13
# Django's scrypt default: n=2**14, r=8, p=1 in 4.0, p=5 since 4.1 (16 MiB). Django passes
# maxmem=0 (OpenSSL's 32 MiB), so a larger n x r never verified in Django either.
SCRYPT_MAX_WORK = 2**14 * 8 * 8  # n x r x p
SCRYPT_MAXMEM = 0
# The kinds older Djangos kept only to upgrade pre-1.4 hashes: accepted at import on request.
WEAK_KINDS = ("sha1", "md5", "unsalted_sha1", "unsalted_md5")
UNUSABLE = "unusable password"
# What precedes the first "$" in the encodings of Django's hashers other than argon2.
DJANGO_PREFIXES = ("pbkdf2_sha256", "pbkdf2_sha1", "bcrypt_sha256", "bcrypt", "scrypt", "sha1", "md5", "crypt")

# Verifies with the parameters the hash names (its type included); never hashes.
_ARGON2_VERIFIER = argon2.PasswordHasher()
_BCRYPT_DATA = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True)
class _Scheme:
    """One Django hasher: why a hash of it may not run, how to verify one, how to make a
    hash of another secret at the same cost (the refusals' dummy)."""

    problem: Callable[[str], str | None]
    verify: Callable[[str, str], bool]
    make_like: Callable[[str, str], str]
    work: Callable[[str], int]  # orders two hashes of the kind by cost


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
        problem = hash_problem(encoded, accept_weak=True)
        if problem is not None:
            if problem != UNUSABLE:
                logger.warning("stored password hash refused", extra={"reason": problem})
            return False
        return _SCHEMES[str(hash_kind(encoded))].verify(password, encoded)

    def equalise_refusal(self, password: str, checked: str | None, legacy: tuple[LegacyCost, ...]) -> None:
        """Make a refused login cost what every refusal costs: one argon2id verify, plus one
        at the slowest imported kind while imported hashes of it wait for their upgrade.

        ``checked`` is the hash already run, None for an unknown email; ``legacy`` is what the
        table records of the imported kinds still waiting (shared/customers/legacy_hashes.py). A migrated
        customer's wrong password ran their own hash: it is padded with the argon2id dummy,
        and with the slowest kind's dummy too when its own kind costs under half of that
        (the nearer of the two totals). Without this, an unknown email (argon2id only)
        would answer ten times faster than a migrated customer's wrong password.
        """
        checked_legacy = checked is not None and is_legacy(checked)
        if checked is None or checked_legacy:
            self.verify(password, self._dummy_hash)
        if not legacy:
            return
        slowest = max(legacy, key=lambda cost: cost.seconds)
        if checked_legacy and checked is not None:
            own = next((cost.seconds for cost in legacy if cost.kind == hash_kind(checked)), 0.0)
            if own * 2 >= slowest.seconds:
                return
        self.verify(password, slowest.dummy_hash)

    def needs_upgrade(self, encoded: str) -> bool:
        """True unless ``encoded`` is argon2id at least as costly as the configured cost.

        A stronger hash (Django's argon2 default is m=100 MiB) is kept, not weakened.
        """
        if hash_kind(encoded) != "argon2id":
            return True
        try:
            stored = argon2.extract_parameters(encoded.removeprefix(ARGON2_PREFIX))
        except (InvalidHashError, ValueError):
            return True
        wanted = self._argon2
        return (
            stored.version != argon2.low_level.ARGON2_VERSION
            or stored.time_cost < wanted.time_cost
            or stored.memory_cost < wanted.memory_cost
        )


def hash_kind(encoded: str) -> str | None:
    """Django's name for the hasher that made ``encoded`` (``argon2id``/``argon2i`` for its
    argon2 types); None for a format Django never wrote."""
    algorithm, _, rest = encoded.partition("$")
    if algorithm == ARGON2_PREFIX:
        variant = rest.partition("$")[0]
        return variant if variant in ("argon2id", "argon2i") else ARGON2_PREFIX
    if algorithm in ("sha1", "md5") and rest.startswith("$"):
        return "unsalted_" + algorithm
    if algorithm in DJANGO_PREFIXES:
        return algorithm
    if len(encoded) == 32 and _HEX.fullmatch(encoded):
        return "unsalted_md5"  # Django's UnsaltedMD5PasswordHasher also took the bare digest
    return None


def hash_problem(encoded: str, accept_weak: bool = False) -> str | None:
    """Why a stored hash may not be run here, in words that never quote it; None when it may.

    ``accept_weak`` lets the pre-1.4 kinds through (an operator accepted them at import).
    """
    if encoded.startswith("!"):
        return UNUSABLE
    kind = hash_kind(encoded)
    if kind is None:
        return "unrecognised hash format"
    if kind == "crypt":
        return "unsupported algorithm crypt"
    if kind in WEAK_KINDS and not accept_weak:
        return f"weak algorithm {kind}"
    if kind == ARGON2_PREFIX:
        return "malformed argon2 hash"
    return _SCHEMES[kind].problem(encoded)


def is_legacy(encoded: str) -> bool:
    """An imported hash this service does not write: any kind but argon2id."""
    kind = hash_kind(encoded)
    return kind is not None and kind != "argon2id"


def count_replaced(legacy: LegacyHashes, old_hash: str) -> None:
    """An imported hash replaced (upgraded at login, or a new password chosen before the first
    login): one fewer of its kind for refusals to pad for (``COUNTER#legacy``)."""
    if is_legacy(old_hash):
        legacy.upgraded(str(hash_kind(old_hash)))


def dummy_like(encoded: str) -> str:
    """A hash of a random password at ``encoded``'s kind and cost: verifying against it
    takes as long as verifying against ``encoded`` (which must pass ``hash_problem``)."""
    return _SCHEMES[str(hash_kind(encoded))].make_like(secrets.token_urlsafe(32), encoded)


def costliest(encoded_hashes: list[str]) -> str:
    """The hash of the greatest cost among hashes of one kind (each passing ``hash_problem``)."""
    return max(encoded_hashes, key=lambda encoded: _SCHEMES[str(hash_kind(encoded))].work(encoded))


def _b64_bytes(text: str) -> int | None:
    """The decoded length of standard base64 (padding optional, as argon2 omits it); None if not."""
    try:
        return len(base64.b64decode(text + "=" * (-len(text) % 4), validate=True))
    except (binascii.Error, ValueError):
        return None


# --- PBKDF2 (Django's PBKDF2PasswordHasher / PBKDF2SHA1PasswordHasher) ----------------------


def _pbkdf2_problem(encoded: str) -> str | None:
    algorithm, iterations_text, salt, expected = ([*encoded.split("$"), "", "", ""])[:4]
    digest_size = hashlib.new(PBKDF2_DIGESTS[algorithm]).digest_size
    if encoded.count("$") != 3 or not iterations_text.isdigit() or not salt or _b64_bytes(expected) != digest_size:
        return f"malformed {algorithm} hash"
    iterations = int(iterations_text)
    if iterations < 1:
        return f"malformed {algorithm} hash"
    if iterations > PBKDF2_MAX_ITERATIONS:
        return f"{algorithm} iterations above {PBKDF2_MAX_ITERATIONS}"
    return None


def _pbkdf2(algorithm: str, password: str, salt: str, iterations: int) -> str:
    derived = hashlib.pbkdf2_hmac(PBKDF2_DIGESTS[algorithm], password.encode(), salt.encode(), iterations)
    return f"{algorithm}${iterations}${salt}${base64.b64encode(derived).decode('ascii')}"


def _pbkdf2_verify(password: str, encoded: str) -> bool:
    algorithm, iterations, salt, _ = encoded.split("$")
    return hmac.compare_digest(_pbkdf2(algorithm, password, salt, int(iterations)).encode(), encoded.encode())


def _pbkdf2_like(secret: str, encoded: str) -> str:
    algorithm, iterations, _, _ = encoded.split("$")
    return _pbkdf2(algorithm, secret, secrets.token_urlsafe(16), int(iterations))


# --- argon2 (Django's Argon2PasswordHasher: "argon2" + argon2-cffi's encoding) -------------


def _argon2_problem(encoded: str) -> str | None:
    phc = encoded.removeprefix(ARGON2_PREFIX)
    try:
        stored = argon2.extract_parameters(phc)
    except (InvalidHashError, ValueError):
        return "malformed argon2 hash"
    salt, digest = phc.split("$")[-2:]  # the layout extract_parameters accepted
    if not _b64_bytes(salt) or not _b64_bytes(digest) or stored.parallelism < 1 or stored.time_cost < 1:
        return "malformed argon2 hash"
    if stored.memory_cost > ARGON2_MAX_MEMORY_KIB:
        return f"argon2 memory_cost above {ARGON2_MAX_MEMORY_KIB} KiB"
    if stored.memory_cost * stored.time_cost > ARGON2_MAX_WORK_KIB:
        return f"argon2 memory_cost x time_cost above {ARGON2_MAX_WORK_KIB} KiB"
    if stored.parallelism > ARGON2_MAX_PARALLELISM:
        return f"argon2 parallelism above {ARGON2_MAX_PARALLELISM}"
    return None


def _argon2_verify(password: str, encoded: str) -> bool:
    try:
        return _ARGON2_VERIFIER.verify(encoded.removeprefix(ARGON2_PREFIX), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _argon2_like(secret: str, encoded: str) -> str:
    stored = argon2.extract_parameters(encoded.removeprefix(ARGON2_PREFIX))
    hasher = argon2.PasswordHasher(
        time_cost=stored.time_cost,
        memory_cost=stored.memory_cost,
        parallelism=stored.parallelism,
        hash_len=stored.hash_len,
        salt_len=stored.salt_len,
        type=stored.type,
    )
    return ARGON2_PREFIX + hasher.hash(secret)


# --- bcrypt (Django's BCryptSHA256PasswordHasher / BCryptPasswordHasher) -------------------


def _bcrypt_problem(encoded: str) -> str | None:
    algorithm, _, data = encoded.partition("$")
    match = _BCRYPT_DATA.fullmatch(data)
    if match is None:
        return f"malformed {algorithm} hash"
    rounds = int(match.group(1))
    if rounds < 4:  # bcrypt's own minimum: no library makes such a hash
        return f"malformed {algorithm} hash"
    if rounds > BCRYPT_MAX_ROUNDS:
        return f"{algorithm} rounds above {BCRYPT_MAX_ROUNDS}"
    return None


def _bcrypt_secret(algorithm: str, password: str) -> bytes:
    """What Django handed bcrypt: the SHA-256 hex digest for bcrypt_sha256; for bcrypt the
    password's first 72 bytes (older bcrypt releases cut there, the current one refuses more)."""
    if algorithm == "bcrypt_sha256":
        return binascii.hexlify(hashlib.sha256(password.encode()).digest())
    return password.encode()[:72]


def _bcrypt_verify(password: str, encoded: str) -> bool:
    import bcrypt  # only a login that meets a bcrypt hash loads it

    algorithm, _, data = encoded.partition("$")
    try:
        return bool(bcrypt.checkpw(_bcrypt_secret(algorithm, password), data.encode("ascii")))
    except ValueError:
        return False


def _bcrypt_like(secret: str, encoded: str) -> str:
    import bcrypt

    algorithm, _, data = encoded.partition("$")
    salt = bcrypt.gensalt(int(data.split("$")[2]))
    return f"{algorithm}${bcrypt.hashpw(_bcrypt_secret(algorithm, secret), salt).decode('ascii')}"


# --- scrypt (Django's ScryptPasswordHasher) ------------------------------------------------


def _scrypt_problem(encoded: str) -> str | None:
    fields = encoded.split("$")
    if len(fields) != 6 or not all(text.isdigit() for text in (fields[1], fields[3], fields[4])):
        return "malformed scrypt hash"
    _, n_text, salt, r_text, p_text, expected = fields
    n, r, p = int(n_text), int(r_text), int(p_text)
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or _b64_bytes(expected) != 64:
        return "malformed scrypt hash"
    if 128 * n * r > 32 * 1024 * 1024:
        return "scrypt memory (128 x n x r) above Django's 32 MiB"
    if n * r * p > SCRYPT_MAX_WORK:
        return f"scrypt n x r x p above {SCRYPT_MAX_WORK}"
    return None


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    derived = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=64)
    return f"scrypt${n}${salt}${r}${p}${base64.b64encode(derived).decode('ascii')}"


def _scrypt_verify(password: str, encoded: str) -> bool:
    _, n, salt, r, p, _ = encoded.split("$")
    try:
        actual = _scrypt(password, salt, int(n), int(r), int(p))
    except ValueError:  # OpenSSL refused the parameters
        return False
    return hmac.compare_digest(actual.encode(), encoded.encode())


def _scrypt_like(secret: str, encoded: str) -> str:
    _, n, _, r, p, _ = encoded.split("$")
    return _scrypt(secret, secrets.token_urlsafe(16), int(n), int(r), int(p))


# --- the pre-1.4 kinds (Django's SHA1, MD5, UnsaltedSHA1 and UnsaltedMD5 hashers) ----------


def _salted_problem(encoded: str) -> str | None:
    algorithm, salt, digest = ([*encoded.split("$"), "", ""])[:3]
    size = hashlib.new(algorithm).digest_size * 2
    if encoded.count("$") != 2 or not salt or len(digest) != size or not _HEX.fullmatch(digest):
        return f"malformed {algorithm} hash"
    return None


def _unsalted_problem(encoded: str) -> str | None:
    algorithm = "md5" if "$" not in encoded else encoded.split("$")[0]
    digest = encoded.rpartition("$")[2]
    if len(digest) != hashlib.new(algorithm).digest_size * 2 or not _HEX.fullmatch(digest):
        return f"malformed unsalted_{algorithm} hash"
    return None


def _digest_verify(password: str, encoded: str) -> bool:
    algorithm = "md5" if "$" not in encoded else encoded.split("$")[0]
    salt = "" if "$" not in encoded else encoded.split("$")[1]
    actual = hashlib.new(algorithm, (salt + password).encode()).hexdigest()
    return hmac.compare_digest(actual.encode(), encoded.rpartition("$")[2].encode())


def _digest_like(secret: str, encoded: str) -> str:
    algorithm = "md5" if "$" not in encoded else encoded.split("$")[0]
    return f"{algorithm}$$" + hashlib.new(algorithm, secret.encode()).hexdigest()


def _pbkdf2_work(encoded: str) -> int:
    return int(encoded.split("$")[1])


def _argon2_work(encoded: str) -> int:
    stored = argon2.extract_parameters(encoded.removeprefix(ARGON2_PREFIX))
    return stored.memory_cost * stored.time_cost


def _bcrypt_work(encoded: str) -> int:
    return int(encoded.split("$")[3])


def _scrypt_work(encoded: str) -> int:
    _, n, _, r, p, _ = encoded.split("$")
    return int(n) * int(r) * int(p)


def _digest_work(encoded: str) -> int:
    return 1


_PBKDF2 = _Scheme(_pbkdf2_problem, _pbkdf2_verify, _pbkdf2_like, _pbkdf2_work)
_ARGON2 = _Scheme(_argon2_problem, _argon2_verify, _argon2_like, _argon2_work)
_BCRYPT = _Scheme(_bcrypt_problem, _bcrypt_verify, _bcrypt_like, _bcrypt_work)
_SALTED = _Scheme(_salted_problem, _digest_verify, _digest_like, _digest_work)
_UNSALTED = _Scheme(_unsalted_problem, _digest_verify, _digest_like, _digest_work)
_SCHEMES: dict[str, _Scheme] = {
    "pbkdf2_sha256": _PBKDF2,
    "pbkdf2_sha1": _PBKDF2,
    "argon2id": _ARGON2,
    "argon2i": _ARGON2,
    "bcrypt_sha256": _BCRYPT,
    "bcrypt": _BCRYPT,
    "scrypt": _Scheme(_scrypt_problem, _scrypt_verify, _scrypt_like, _scrypt_work),
    "sha1": _SALTED,
    "md5": _SALTED,
    "unsalted_sha1": _UNSALTED,
    "unsalted_md5": _UNSALTED,
}
