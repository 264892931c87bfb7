"""Hand-made tokens: every segment built here, so no library refuses to make a bad one.

pyjwt will not sign with an empty key or with a PEM public key as an HMAC secret, and it
always writes canonical base64url; an attacker is bound by none of that, so the attack
catalogue builds its tokens byte by byte with these helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HS_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def b64(data: bytes) -> str:
    """base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    """A JSON value as a compact base64url segment."""
    return b64(json.dumps(value, separators=(",", ":")).encode())


def payload(kind: str = "access", user_id: Any = "1", lifetime: int = 3600, **changes: Any) -> dict[str, Any]:
    """simplejwt's claims in simplejwt's order; ``changes`` replace claims, ``...`` removes one."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "token_type": kind,
        "exp": now + lifetime,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": user_id,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not ...}


def hs_signature(signing_input: str, key: bytes, alg: str = "HS256") -> str:
    return b64(hmac.new(key, signing_input.encode("ascii"), HS_DIGESTS[alg]).digest())


def hs_token(header: dict[str, Any], claims: dict[str, Any], key: bytes, alg: str = "HS256") -> str:
    """An HMAC-signed compact JWS with any header, any claims and any key (even empty)."""
    signing_input = f"{segment(header)}.{segment(claims)}"
    return f"{signing_input}.{hs_signature(signing_input, key, alg)}"


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return f"{segment(header)}.{segment(claims)}.{signature}"


@cache
def attacker_rsa_key() -> rsa.RSAPrivateKey:
    """The attacker's own RSA key pair (made once per run)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: Any) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


def rs_token(header: dict[str, Any], claims: dict[str, Any], private_key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def rsa_public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = private_key.public_key().public_numbers()

    def unsigned(value: int) -> str:
        return b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": unsigned(numbers.n), "e": unsigned(numbers.e)}


def replace_byte(token: str, index: int, value: int) -> str:
    """``token`` with the byte at ``index`` replaced; non-UTF-8 bytes stay as surrogate escapes."""
    raw = bytearray(token.encode("ascii"))
    raw[index] = value
    return bytes(raw).decode("utf-8", "surrogateescape")


# The 100 secrets a JWT cracker tries first: framework defaults, tutorial values, the
# classic password lists' head, and the secrets printed in simplejwt's and Django's docs.
WEAK_SECRETS = (
    "secret",
    "password",
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "qwerty",
    "changeme",
    "change-me",
    "changeit",
    "admin",
    "root",
    "test",
    "testing",
    "default",
    "key",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "my_secret",
    "mysecretkey",
    "my-secret-key",
    "your-256-bit-secret",
    "your-secret-key",
    "your_jwt_secret",
    "jwt",
    "jwtsecret",
    "jwt-secret",
    "jwt_secret",
    "JWT_SECRET",
    "jwt-key",
    "token",
    "tokensecret",
    "auth",
    "authsecret",
    "signing-key",
    "signingkey",
    "SIGNING_KEY",
    "SECRET_KEY",
    "django-insecure",
    "django-insecure-secret-key",
    "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz",
    "django-insecure-change-me",
    "insecure",
    "notsecret",
    "not-so-secret",
    "supersecret",
    "super-secret",
    "supersecretkey",
    "topsecret",
    "s3cr3t",
    "S3cr3t!",
    "p@ssw0rd",
    "Passw0rd",
    "password1",
    "password123",
    "letmein",
    "welcome",
    "hello",
    "abc123",
    "111111",
    "000000",
    "iloveyou",
    "monkey",
    "dragon",
    "master",
    "shadow",
    "sunshine",
    "football",
    "baseball",
    "trustno1",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "access",
    "refresh",
    "access-secret",
    "refresh-secret",
    "HS256",
    "none",
    "null",
    "undefined",
    "example",
    "example-key",
    "dev",
    "development",
    "local",
    "localhost",
    "production",
    "prod",
    "staging",
    "ecommerce",
    "ecommerce-auth",
    "simplejwt",
    "djangorestframework",
    "rest_framework",
    "api",
    "api-key",
)
