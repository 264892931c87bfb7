"""TOTP secrets encrypted at rest: AES-256-GCM (``cryptography``) under a dedicated, rotatable key.

The key ring is the secret ``MFA_KEY_SECRET_ID`` in Secrets Manager, a JSON object:
``{"current": "<key id>", "<key id>": "<key material>", ...}`` (the template generates the first
one; ``authctl rotate-mfa-key`` adds a key and makes it current; each container reads the ring
again after ``SIGNING_KEY_MAX_AGE``). Each key's material (at least
32 characters) goes through HKDF-SHA256 into a 256-bit AES key. A sealed secret is stored with
the id of the key that sealed it (``key_id`` beside the ciphertext), so after a rotation old
secrets still open and new ones use the new key; a key id this container has not seen makes it
read the secret again once. The customer id is the AEAD's associated data: a ciphertext copied
onto another customer's item does not open.

Nothing here logs a secret or a key. A secret that does not open (a key removed from the ring,
a damaged item) is ``SealBroken``: the caller treats it as a code that does not match, never a 500.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CURRENT = "current"
MIN_MATERIAL_CHARS = 32
NONCE_BYTES = 12
HKDF_INFO = b"ecommerce-auth mfa totp secret"


class SealBroken(Exception):
    """A sealed secret that does not open with the key its item names."""


class KeyRingError(RuntimeError):
    """The key ring secret is malformed (the function fails closed: no secret is written)."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: bytes  # nonce + AES-GCM ciphertext and tag


def parse_key_ring(text: str) -> tuple[str, dict[str, AESGCM]]:
    """The current key id and every key of the ring, ready to use."""
    try:
        document = json.loads(text)
    except ValueError:
        raise KeyRingError("the MFA key ring is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get(CURRENT), str):
        raise KeyRingError("the MFA key ring names no current key")
    keys: dict[str, AESGCM] = {}
    for key_id, material in document.items():
        if key_id == CURRENT:
            continue
        if not isinstance(material, str) or len(material) < MIN_MATERIAL_CHARS:
            raise KeyRingError(f"MFA key {key_id!r} is shorter than {MIN_MATERIAL_CHARS} characters")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material.encode())
        keys[key_id] = AESGCM(derived)
    if document[CURRENT] not in keys:
        raise KeyRingError("the MFA key ring's current key is missing")
    return document[CURRENT], keys


class SecretBox:
    """Seals and opens TOTP secrets with the key ring read by ``fetch``, cached per container for
    ``max_age`` seconds (a rotation reaches every container by then)."""

    def __init__(self, fetch: Callable[[], str], max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._clock = clock
        self._ring: tuple[str, dict[str, AESGCM]] | None = None
        self._read_at = 0.0

    def seal(self, secret: str, customer_id: str) -> Sealed:
        current, keys = self._keys()
        nonce = os.urandom(NONCE_BYTES)
        return Sealed(current, nonce + keys[current].encrypt(nonce, secret.encode(), customer_id.encode()))

    def open(self, sealed: Sealed, customer_id: str) -> str:
        _, keys = self._keys()
        if sealed.key_id not in keys:
            self._ring = None  # rotated since this container read the ring
            _, keys = self._keys()
        key = keys.get(sealed.key_id)
        if key is None or len(sealed.ciphertext) <= NONCE_BYTES:
            raise SealBroken()
        nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            return key.decrypt(nonce, body, customer_id.encode()).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise SealBroken() from None

    def _keys(self) -> tuple[str, dict[str, AESGCM]]:
        now = self._clock()
        if self._ring is None or now - self._read_at > self._max_age:
            self._ring = parse_key_ring(self._fetch())
            self._read_at = now
        return self._ring
