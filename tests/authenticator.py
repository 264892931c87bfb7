"""A software authenticator: real WebAuthn responses ("none" attestation) signed with ``cryptography``.

What a browser hands a page after ``navigator.credentials.create/get`` (``toJSON()``), made the
way an authenticator and a browser make them, so the tests run py_webauthn's real checks
instead of stubbing them. Each knob a test turns is a field of one call: the origin the
browser would report, the rp id the authenticator would hash, the user-verification flag,
the sign count, the user handle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

USER_PRESENT = 0x01
USER_VERIFIED = 0x04
ATTESTED_DATA = 0x40
COSE_ES256, COSE_RS256 = -7, -257


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """One discoverable credential the authenticator keeps: its key, rp id, user handle and count."""

    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_public_key(self) -> bytes:
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            numbers = self.private_key.public_key().public_numbers()
            x, y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
            return cbor2.dumps({1: 2, 3: COSE_ES256, -1: 1, -2: x, -3: y})
        public = self.private_key.public_key().public_numbers()
        n = public.n.to_bytes((public.n.bit_length() + 7) // 8, "big")
        e = public.e.to_bytes((public.e.bit_length() + 7) // 8, "big")
        return cbor2.dumps({1: 3, 3: COSE_RS256, -1: n, -2: e})

    def sign(self, data: bytes) -> bytes:
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@dataclass
class SoftwareAuthenticator:
    """``counts``: whether it keeps a sign count (False: always 0, as many passkey providers)."""

    algorithm: str = "ES256"
    counts: bool = True
    credentials: dict[str, Credential] = field(default_factory=dict)

    def create(
        self,
        options: dict[str, Any],
        origin: str,
        *,
        rp_id: str | None = None,
        user_verified: bool = True,
        client_type: str = "webauthn.create",
        credential_id: bytes | None = None,
    ) -> dict[str, Any]:
        """``navigator.credentials.create({publicKey: options})``, as ``toJSON()`` gives it
        (``credential_id``: the id to claim, another authenticator's for instance)."""
        public_key = options["publicKey"]
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            ec.generate_private_key(ec.SECP256R1())
            if self.algorithm == "ES256"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )
        credential = Credential(
            credential_id or os.urandom(32), key, rp_id or public_key["rp"]["id"], unb64url(public_key["user"]["id"])
        )
        self.credentials[credential.id] = credential
        attested = (
            bytes(16)  # AAGUID: none given, as with "none" attestation
            + len(credential.credential_id).to_bytes(2, "big")
            + credential.credential_id
            + credential.cose_public_key()
        )
        flags = USER_PRESENT | ATTESTED_DATA | (USER_VERIFIED if user_verified else 0)
        auth_data = self._auth_data(credential, flags) + attested
        client_data = self._client_data(client_type, public_key["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return _public_key_credential(
            credential, client_data, attestationObject=b64url(attestation), transports=["internal"]
        )

    def get(
        self,
        options: dict[str, Any],
        origin: str,
        *,
        credential_id: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        sign_count: int | None = None,
        user_handle: bytes | None = None,
        client_type: str = "webauthn.get",
    ) -> dict[str, Any]:
        """``navigator.credentials.get({publicKey: options})`` with a discoverable credential (the
        only one kept, or ``credential_id``); ``sign_count`` overrides the counter (a clone's)."""
        public_key = options["publicKey"]
        credential = self.credentials[credential_id] if credential_id else next(iter(self.credentials.values()))
        if sign_count is not None:
            credential.sign_count = sign_count
        elif self.counts:
            credential.sign_count += 1
        flags = USER_PRESENT | (USER_VERIFIED if user_verified else 0)
        auth_data = self._auth_data(credential, flags, rp_id)
        client_data = self._client_data(client_type, public_key["challenge"], origin)
        signature = credential.sign(auth_data + hashlib.sha256(client_data).digest())
        return _public_key_credential(
            credential,
            client_data,
            authenticatorData=b64url(auth_data),
            signature=b64url(signature),
            userHandle=b64url(credential.user_handle if user_handle is None else user_handle),
        )

    @staticmethod
    def _auth_data(credential: Credential, flags: int, rp_id: str | None = None) -> bytes:
        rp_id_hash = hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
        return rp_id_hash + bytes([flags]) + credential.sign_count.to_bytes(4, "big")

    @staticmethod
    def _client_data(client_type: str, challenge: str, origin: str) -> bytes:
        data = {"type": client_type, "challenge": challenge, "origin": origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()


def _public_key_credential(credential: Credential, client_data: bytes, **response: Any) -> dict[str, Any]:
    """``PublicKeyCredential.toJSON()`` of a platform authenticator's answer."""
    return {
        "id": credential.id,
        "rawId": credential.id,
        "type": "public-key",
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
        "response": {"clientDataJSON": b64url(client_data), **response},
    }
