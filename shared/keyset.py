"""Signing key sets: one current key, the older keys still needed, and the public JWKS.

The signing-key secret holds either a plain string (one HMAC key without ``kid``: what a
Django ``SIGNING_KEY`` was, and what this service started with) or a key set::

    {"current": "<kid>", "legacy": "<kid or null>",
     "keys": [{"kid": "...", "alg": "HS256", "secret": "...", "created_at": 0, "retired_at": null},
              {"kid": "...", "alg": "RS256", "private_key": "-----BEGIN PRIVATE KEY-----...", ...}]}

Tokens carry the ``kid`` of the key that signed them; a token without ``kid`` (simplejwt's,
or one minted before the first rotation) verifies against the ``legacy`` key only. Each key
verifies only its own algorithm, so an HMAC key and a public key never share a verifier.

The verification document (``verification_document``) is the same set without private
keys: public keys as PEM, HMAC secrets as they are (an HMAC verifier can always sign; that
is what the asymmetric algorithms are for). The authorizer and the other verifiers read
only that. ``rotate`` adds a key, makes it current, and drops keys retired longer ago than
the refresh lifetime (no token they signed can still be valid).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shared.keys import check_signing_key

HMAC = ("HS256", "HS384", "HS512")
ASYMMETRIC = ("RS256", "ES256", "EdDSA")
LEGACY_KID = "legacy"


class KeySetError(ValueError):
    """The secret is not a usable key set (a deployment error: stop rather than guess)."""


@dataclass(frozen=True)
class Key:
    kid: str
    alg: str
    created_at: int
    retired_at: int | None
    secret: str | None = None  # HMAC
    private_pem: str | None = None  # asymmetric, signers only
    public_pem: str | None = None  # asymmetric, verifiers

    @cached_property
    def signing_key(self) -> Any:
        if self.alg in HMAC:
            return _hmac_bytes(self.secret)
        if self.private_pem is None:
            raise KeySetError(f"key {self.kid} has no private key: this key set is for verifying only")
        return _load_private(self.private_pem)

    @cached_property
    def verifying_key(self) -> Any:
        if self.alg in HMAC:
            return _hmac_bytes(self.secret)
        return _load_public(self.public_pem) if self.public_pem else _load_private(self.private_pem or "").public_key()

    def to_json(self, private: bool) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kid": self.kid,
            "alg": self.alg,
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }
        if self.alg in HMAC:
            document["secret"] = self.secret
        elif private and self.private_pem:
            document["private_key"] = self.private_pem
        else:
            document["public_key"] = self.public_pem or _public_pem(self.verifying_key)
        return document


@dataclass(frozen=True)
class KeySet:
    current: Key
    legacy: Key | None
    keys: dict[str, Key] = field(default_factory=dict)

    @property
    def has_kids(self) -> bool:
        """False for a plain-string secret: tokens are minted without ``kid`` (simplejwt's header)."""
        return self.current.kid != LEGACY_KID or len(self.keys) > 1

    def for_token(self, kid: str | None) -> Key | None:
        return self.legacy if kid is None else self.keys.get(kid)


def parse(secret_string: str, legacy_algorithm: str = "HS256") -> KeySet:
    """A key set from the secret: JSON key set, or a plain string as the one legacy HMAC key
    (signing with ``legacy_algorithm``, simplejwt's ``ALGORITHM``)."""
    text = secret_string.strip()
    if not text.startswith("{"):
        check_signing_key(secret_string.encode())
        key = Key(kid=LEGACY_KID, alg=legacy_algorithm, created_at=0, retired_at=None, secret=secret_string)
        return KeySet(current=key, legacy=key, keys={LEGACY_KID: key})
    try:
        document = json.loads(text)
        keys = {entry["kid"]: _key(entry) for entry in document["keys"]}
        current = keys[document["current"]]
        legacy = keys.get(document["legacy"]) if document.get("legacy") else None
    except (ValueError, KeyError, TypeError) as error:
        raise KeySetError(f"the signing-key secret is not a key set: {type(error).__name__}") from None
    return KeySet(current=current, legacy=legacy, keys=keys)


def serialise(keyset: KeySet, private: bool = True) -> str:
    return json.dumps(
        {
            "current": keyset.current.kid,
            "legacy": keyset.legacy.kid if keyset.legacy else None,
            "keys": [key.to_json(private) for key in keyset.keys.values()],
        }
    )


def verification_document(signing_secret: str, legacy_algorithm: str = "HS256") -> str:
    """What verifiers may read: the key set without private keys."""
    return serialise(parse(signing_secret, legacy_algorithm), private=False)


def rotate(
    signing_secret: str,
    algorithm: str,
    refresh_lifetime: int,
    now: float | None = None,
    legacy_algorithm: str = "HS256",
) -> str:
    """Add a new ``algorithm`` key, make it current, drop keys no valid token can need."""
    moment = int(time.time() if now is None else now)
    keyset = parse(signing_secret, legacy_algorithm)
    new_key = generate(algorithm, moment)
    kept: dict[str, Key] = {}
    for kid, key in keyset.keys.items():
        retired_at = key.retired_at if key.retired_at is not None else moment
        if moment - retired_at <= refresh_lifetime:
            kept[kid] = Key(
                kid=key.kid,
                alg=key.alg,
                created_at=key.created_at,
                retired_at=retired_at,
                secret=key.secret,
                private_pem=key.private_pem,
                public_pem=key.public_pem,
            )
    kept[new_key.kid] = new_key
    legacy = keyset.legacy if keyset.legacy and keyset.legacy.kid in kept else None
    return serialise(KeySet(current=new_key, legacy=legacy, keys=kept))


def generate(algorithm: str, now: int) -> Key:
    kid = secrets.token_hex(8)
    if algorithm in HMAC:
        return Key(kid=kid, alg=algorithm, created_at=now, retired_at=None, secret=secrets.token_urlsafe(48))
    if algorithm not in ASYMMETRIC:
        raise KeySetError(f"unsupported algorithm {algorithm}")
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    private: Any
    if algorithm == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return Key(kid=kid, alg=algorithm, created_at=now, retired_at=None, private_pem=_private_pem(private))


def jwks(keyset: KeySet) -> dict[str, Any]:
    """The public keys as a JWK Set (RFC 7517), for any verifier that has no secret."""
    from jwt.algorithms import get_default_algorithms

    algorithms = get_default_algorithms()
    published = []
    for key in keyset.keys.values():
        if key.alg in ASYMMETRIC:
            jwk = json.loads(algorithms[key.alg].to_jwk(key.verifying_key))
            published.append({**jwk, "kid": key.kid, "alg": key.alg, "use": "sig"})
    return {"keys": published}


def _key(entry: dict[str, Any]) -> Key:
    alg = entry["alg"]
    if alg not in HMAC + ASYMMETRIC:
        raise KeySetError(f"unsupported algorithm {alg}")
    key = Key(
        kid=str(entry["kid"]),
        alg=alg,
        created_at=int(entry.get("created_at") or 0),
        retired_at=entry.get("retired_at"),
        secret=entry.get("secret"),
        private_pem=entry.get("private_key"),
        public_pem=entry.get("public_key"),
    )
    if alg in HMAC:
        _hmac_bytes(key.secret)
    elif not (key.private_pem or key.public_pem):
        raise KeySetError(f"key {key.kid} has no key material")
    return key


def _hmac_bytes(secret: str | None) -> bytes:
    return check_signing_key((secret or "").encode())


def _load_private(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem.encode(), password=None)


def _load_public(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem.encode())


def _private_pem(private: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return str(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    )


def _public_pem(public: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return str(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    )
