"""TOTP authenticators of a Django shop, as its database stores them, into ``MFA#`` items.

``authctl import-django`` hands over the dump's authenticator rows; a customer keeps the app
they enrolled and every recovery code they have not used:

- dj-rest-auth 7.2 (``dj_rest_auth_mfa.authenticator``): ``totp`` rows hold
  ``{"secret": "<base32>:<signature>"}`` (Django's ``Signer``: the secret in clear, an HMAC
  after the last colon, which needs the shop's ``SECRET_KEY`` to check and is not needed to
  read); ``recovery_codes`` rows ``{"seed": "<hex>", "used_mask": n}``, code *i* being the
  first 8 hex digits of HMAC-SHA256(seed, ``str(i)``), written ``xxxx-xxxx``.
- django-allauth (``mfa.authenticator``, its default adapter, which stores as is): ``totp``
  rows ``{"secret": "<base32>"}``; ``recovery_codes`` rows ``{"seed": "<text>", "used_mask": n}``
  (or ``migrated_codes``), code *i* derived from a running HMAC-SHA1 of the seed as 8 decimal
  digits. A project that overrode the adapter's ``encrypt`` stored ciphertext: such a secret is
  not base32 and is reported, not imported.

Each code is stored as this service stores its own: argon2id hashes, the secret sealed.
Used codes are left out; the replay state starts empty (the app's next code is accepted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.customers.record import Customer, CustomerChanged, utc_now_iso
from shared.mfa import codes
from shared.mfa.store import Authenticator, MfaStore

if TYPE_CHECKING:
    from shared.customers.passwords import PasswordHasher
    from shared.customers.store import CustomerStore
    from shared.mfa.sealing import SecretBox

DJ_REST_AUTH_MODEL = "dj_rest_auth_mfa.authenticator"
ALLAUTH_MODEL = "mfa.authenticator"
MODELS = (DJ_REST_AUTH_MODEL, ALLAUTH_MODEL)
RECOVERY_CODE_COUNT = 10  # both packages' default MFA_RECOVERY_CODE_COUNT / RECOVERY_CODE_COUNT
ALLAUTH_RECOVERY_DIGITS = 8


@dataclass
class ImportedMfa:
    """One customer's authenticator as read from the dump (``secret`` None: recovery codes only)."""

    secret: str | None = None
    recovery_codes: list[str] = field(default_factory=list)
    created_at: str | None = None
    last_used_at: str | None = None


class UnreadableAuthenticator(ValueError):
    """A row whose secret or seed cannot be read as its package writes it."""


def read_row(model: str, fields: dict[str, Any], into: ImportedMfa) -> None:
    """Add one authenticator row of ``model`` (lower case) to the customer's ``into``."""
    kind, data = fields.get("type"), fields.get("data")
    if not isinstance(data, dict):
        raise UnreadableAuthenticator("data is not an object")
    if kind == "totp":
        into.secret = _secret(model, data.get("secret"))
        into.created_at = str(fields["created_at"]) if fields.get("created_at") else into.created_at
        into.last_used_at = str(fields["last_used_at"]) if fields.get("last_used_at") else into.last_used_at
    elif kind == "recovery_codes":
        into.recovery_codes = _unused_codes(model, data)
    else:
        raise UnreadableAuthenticator(f"type {kind!r} is not a TOTP authenticator")


def _secret(model: str, stored: Any) -> str:
    if not isinstance(stored, str):
        raise UnreadableAuthenticator("no secret")
    secret = stored.rpartition(":")[0] if model == DJ_REST_AUTH_MODEL else stored
    try:
        base64.b32decode(secret, casefold=True)
    except (binascii.Error, ValueError):
        raise UnreadableAuthenticator("the secret is not base32 (encrypted by the shop?)") from None
    return secret.upper()


def _unused_codes(model: str, data: dict[str, Any]) -> list[str]:
    migrated = data.get("migrated_codes")
    if model == ALLAUTH_MODEL and isinstance(migrated, list):
        return [str(code) for code in migrated]
    seed, used_mask = data.get("seed"), data.get("used_mask", 0)
    if not isinstance(seed, str) or not isinstance(used_mask, int):
        raise UnreadableAuthenticator("no seed")
    codes = _dj_rest_auth_codes(seed) if model == DJ_REST_AUTH_MODEL else _allauth_codes(seed)
    return [code for index, code in enumerate(codes) if not used_mask & (1 << index)]


def _dj_rest_auth_codes(seed: str) -> list[str]:
    try:
        key = bytes.fromhex(seed)
    except ValueError:
        raise UnreadableAuthenticator("the seed is not hex") from None
    digests = [
        hmac.new(key, str(index).encode(), hashlib.sha256).hexdigest()[:8] for index in range(RECOVERY_CODE_COUNT)
    ]
    return [f"{digest[:4]}-{digest[4:]}" for digest in digests]


def _allauth_codes(seed: str) -> list[str]:
    """allauth's derivation: one HMAC-SHA1 keyed by the seed, fed ``"{i:3},"`` before each code."""
    running = hmac.new(seed.encode("ascii", "replace"), digestmod=hashlib.sha1)
    width = ALLAUTH_RECOVERY_DIGITS // 2
    codes = []
    for index in range(RECOVERY_CODE_COUNT):
        running.update(f"{index:3},".encode())
        value = int.from_bytes(running.digest()[:width], "big") % 10**ALLAUTH_RECOVERY_DIGITS
        codes.append(str(value).zfill(ALLAUTH_RECOVERY_DIGITS))
    return codes


class MfaImport:
    """Writes an imported authenticator as enrolment writes one: sealed secret, hashed codes,
    ``MFA#`` and the ``mfa`` copy in one transaction, only where the customer has none yet."""

    def __init__(self, customers: CustomerStore, store: MfaStore, passwords: PasswordHasher, box: SecretBox) -> None:
        self._customers = customers
        self._store = store
        self._passwords = passwords
        self._box = box

    def import_authenticator(self, customer: Customer, imported: ImportedMfa) -> str:
        """ "imported", "present" (MFA already on: left as it is) or "no_totp" (codes alone are no MFA)."""
        if imported.secret is None:
            return "no_totp"
        if customer.mfa:
            return "present"
        hashes = {}
        for index, code in enumerate(imported.recovery_codes):
            normalised = codes.normalised_recovery_code(code)
            if normalised is not None:
                hashes[str(index)] = self._passwords.hash(normalised)
        authenticator = Authenticator(
            customer_id=customer.customer_id,
            sealed=self._box.seal(imported.secret, customer.customer_id),
            digits=codes.DIGITS,
            period=codes.PERIOD,
            last_step=None,
            created_at=_stored_time(imported.created_at) or utc_now_iso(),
            last_used_at=_stored_time(imported.last_used_at),
            recovery=hashes,
        )
        try:
            self._customers.set_mfa(customer, True, [self._store.import_writes(authenticator)])
        except CustomerChanged:
            return "present"
        return "imported"


def _stored_time(value: str | None) -> str | None:
    """A dumpdata datetime in the store's fixed-width UTC form."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
