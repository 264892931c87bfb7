"""Signing key sets: the keys that sign, the keys still needed to verify, and the public JWKS.

The signing-key secret holds either a plain string (one HMAC key without ``kid``: what a
Django ``SIMPLE_JWT["SIGNING_KEY"]`` held, and what this service started with) or a key set::

    {"current": "<newest kid>", "legacy": "<kid or null>",
     "keys": [{"kid": "...", "alg": "HS256", "secret": "...", "created_at": 0,
               "activates_at": 0, "retired_at": null},
              {"kid": "...", "alg": "RS256", "private_key": "-----BEGIN PRIVATE KEY-----...", ...}]}

Verifiers accept every key of the set; signers sign with the newest key whose
``activates_at`` has passed (``KeySet.signing_key``). Rotation (``rotate``) adds a key that
activates a publish-ahead delay later, so every verifier's cached copy of the set knows it
before the first token it signs exists; the key it replaces signs until then and is
dropped ``retention`` seconds after (when no token it signed can still be valid).

Tokens carry the ``kid`` of the key that signed them; a token without ``kid`` (simplejwt's,
or one minted before the first rotation) verifies against the ``legacy`` key only. Each key
verifies only its own algorithm, so an HMAC key and a public key never share a verifier.

The verification document (``verification_document``) is what verifiers of an asymmetric
stack read: the public keys only. HMAC keys never go there, legacy one included: an HMAC
key verifies and signs alike, and verifiers must hold nothing that can sign. This module
owns the key material rules (``check_signing_key``); shared/tokens/keys.py fetches and caches.
"""

from __future__ import annotations

import json
import time
from functools import cached_property
from typing import Any

from shared.errors import SigningKeyTooShort

HMAC = ("HS256", "HS384", "HS512")
ASYMMETRIC = ("RS256", "ES256", "EdDSA")
LEGACY_KID = "legacy"
MIN_HMAC_KEY_BYTES = 32


class KeySetError(ValueError):
    """The secret is not a usable key set (a deployment error: stop rather than guess)."""


def check_signing_key(key: bytes) -> bytes:
    """RFC 7518 asks HS256 keys to be at least as long as the hash: shorter ones are refused."""
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise SigningKeyTooShort(
            f"The signing key is {len(key)} bytes; HMAC keys must be at least {MIN_HMAC_KEY_BYTES} bytes. "
            "Store a longer random value in the signing-key secret."
        )
    return key


class Key:
    """One key of the set. A plain class, not a dataclass: the authorizer imports this module,
    and ``dataclasses`` (with ``inspect``) would be a quarter of its cold start (bench/README.md
    §8). No ``repr`` of the secret parts: the default one names none."""

    def __init__(
        self,
        *,
        kid: str,
        alg: str,
        created_at: int,
        retired_at: int | None,
        activates_at: int = 0,  # signers use it from then on; verifiers accept it at once
        secret: str | None = None,  # HMAC
        private_pem: str | None = None,  # asymmetric, signers only
        public_pem: str | None = None,  # asymmetric, verifiers
    ) -> None:
        self.kid, self.alg, self.created_at, self.retired_at = kid, alg, created_at, retired_at
        self.activates_at, self.secret = activates_at, secret
        self.private_pem, self.public_pem = private_pem, public_pem

    def retired(self, retired_at: int) -> Key:
        """This key, stopped signing at ``retired_at`` (a rotation keeps it that long for verifiers)."""
        return Key(
            kid=self.kid,
            alg=self.alg,
            created_at=self.created_at,
            retired_at=retired_at,
            activates_at=self.activates_at,
            secret=self.secret,
            private_pem=self.private_pem,
            public_pem=self.public_pem,
        )

    @property
    def can_sign(self) -> bool:
        return self.alg in HMAC or self.private_pem is not None

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
            "activates_at": self.activates_at,
            "retired_at": self.retired_at,
        }
        if self.alg in HMAC:
            document["secret"] = self.secret
        elif private and self.private_pem:
            document["private_key"] = self.private_pem
        else:
            document["public_key"] = self.public_pem or _public_pem(self.verifying_key)
        return document


class KeySet:
    """The keys a secret holds, by ``kid`` (a plain class, as ``Key``)."""

    def __init__(self, *, newest: Key | None, legacy: Key | None, keys: dict[str, Key]) -> None:
        self.newest = newest  # the key the last rotation added (the document's "current")
        self.legacy = legacy
        self.keys = keys

    @cached_property
    def _newest_first(self) -> list[Key]:
        """Keys by latest activation first (then latest made, then latest added)."""
        ranked = [(key.activates_at, key.created_at, position, key) for position, key in enumerate(self.keys.values())]
        return [key for *_, key in sorted(ranked, key=lambda entry: entry[:3], reverse=True)]

    def active_key(self, now: float) -> Key | None:
        """The key signers use at ``now`` (verifiers hold it too, without its private part)."""
        for key in self._newest_first:  # a loop, not next(generator): every decision asks
            if key.activates_at <= now:
                return key
        return None

    def signing_key(self, now: float) -> Key:
        """The newest key that can sign and whose activation time has passed."""
        for key in self._newest_first:
            if key.can_sign and key.activates_at <= now:
                return key
        raise KeySetError("no signing key is active: the key set holds none that can sign now")

    def for_token(self, kid: str | None) -> Key | None:
        return self.legacy if kid is None else self.keys.get(kid)

    def header_for(self, key: Key) -> dict[str, str] | None:
        """The legacy key signs simplejwt's own header (no ``kid``); every other key names itself."""
        return None if key is self.legacy else {"kid": key.kid}


def parse(secret_string: str, legacy_algorithm: str = "HS256") -> KeySet:
    """A key set from the secret: JSON key set, or a plain string as the one legacy HMAC key
    (signing with ``legacy_algorithm``, simplejwt's ``ALGORITHM``)."""
    text = secret_string.strip()
    if not text.startswith("{"):
        check_signing_key(secret_string.encode())
        key = Key(kid=LEGACY_KID, alg=legacy_algorithm, created_at=0, retired_at=None, secret=secret_string)
        return KeySet(newest=key, legacy=key, keys={LEGACY_KID: key})
    try:
        document = json.loads(text)
        keys = {entry["kid"]: _key(entry) for entry in document["keys"]}
        newest = keys[document["current"]] if document.get("current") else None
        legacy = keys.get(document["legacy"]) if document.get("legacy") else None
    except (ValueError, KeyError, TypeError) as error:
        raise KeySetError(f"the signing-key secret is not a key set: {type(error).__name__}") from None
    return KeySet(newest=newest, legacy=legacy, keys=keys)


def parse_published(document: str, legacy_algorithm: str = "HS256") -> KeySet:
    """The verification document as the JWKS route reads it: "{}" until the first rotation
    publishes anything (and a plain HMAC key, which has no public part), an empty set."""
    text = document.strip()
    if not text.startswith("{") or json.loads(text) == {}:
        return KeySet(newest=None, legacy=None, keys={})
    return parse(text, legacy_algorithm)


def serialise(keyset: KeySet, private: bool = True) -> str:
    return json.dumps(
        {
            "current": keyset.newest.kid if keyset.newest else None,
            "legacy": keyset.legacy.kid if keyset.legacy else None,
            "keys": [key.to_json(private) for key in keyset.keys.values()],
        }
    )


def verification_document(signing_secret: str, legacy_algorithm: str = "HS256") -> str:
    """What verifiers of an asymmetric stack read: public keys only, never an HMAC key."""
    keyset = parse(signing_secret, legacy_algorithm)
    public = {kid: key for kid, key in keyset.keys.items() if key.alg in ASYMMETRIC}
    newest = keyset.newest if keyset.newest and keyset.newest.kid in public else None
    return serialise(KeySet(newest=newest, legacy=None, keys=public), private=False)


def rotate(
    signing_secret: str,
    algorithm: str,
    retention: int,
    now: float | None = None,
    legacy_algorithm: str = "HS256",
    activation_delay: int = 0,
) -> str:
    """Add a new ``algorithm`` key that signs from ``now + activation_delay`` on.

    The keys it replaces sign until then and are dropped ``retention`` seconds after they
    stopped signing (the longest token lifetime, the signers' cache and the leeway). The
    first asymmetric key after an HMAC one activates at once: the verifiers of an
    asymmetric stack hold no HMAC key, so no verifier could check what waiting would sign.
    """
    moment = int(time.time() if now is None else now)
    keyset = parse(signing_secret, legacy_algorithm)
    signing = keyset.signing_key(moment)
    delay = 0 if algorithm in ASYMMETRIC and signing.alg in HMAC else activation_delay
    new_key = generate(algorithm, moment, activates_at=moment + delay)
    kept: dict[str, Key] = {}
    for kid, key in keyset.keys.items():
        retired_at = key.retired_at if key.retired_at is not None else new_key.activates_at
        if moment - retired_at <= retention:
            kept[kid] = key.retired(retired_at)
    kept[new_key.kid] = new_key
    legacy = kept.get(keyset.legacy.kid) if keyset.legacy else None
    return serialise(KeySet(newest=new_key, legacy=legacy, keys=kept))


def generate(algorithm: str, now: int, activates_at: int | None = None) -> Key:
    """A new key: a random HMAC secret, or a private key of the asymmetric ``algorithm``."""
    import secrets  # rotation only: the verifiers that import this module never make a key

    made: dict[str, Any] = {
        "kid": secrets.token_hex(8),
        "alg": algorithm,
        "created_at": now,
        "retired_at": None,
        "activates_at": now if activates_at is None else activates_at,
    }
    if algorithm in HMAC:
        return Key(**made, secret=secrets.token_urlsafe(48))
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
    return Key(**made, private_pem=_private_pem(private))


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
        activates_at=int(entry.get("activates_at") or 0),
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
