"""A stand-in for Google's and Apple's key endpoints: RSA keys made here, their JWKS served on
127.0.0.1 (nothing leaves the machine), and ID tokens signed with them as the providers sign.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.helpers import changed, json_event

GOOGLE_CLIENT_ID = "shop-web.apps.googleusercontent.com"
SHOP = "https://www.shop.example"
APPLE_CLIENT_ID = "com.shop.web"
GOOGLE_ISSUER = "https://accounts.google.com"
APPLE_ISSUER = "https://appleid.apple.com"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(repr=False)

    @classmethod
    def new(cls) -> SigningKey:
        return cls(uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}


class Provider:
    """One provider: its issuer, its published keys (rotatable) and its JWKS endpoint's request count."""

    def __init__(self, issuer: str, client_id: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.keys = [SigningKey.new()]
        self.fetches = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def jwks_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/keys"

    def rotate(self) -> SigningKey:
        """The provider publishes a new key (and drops the old one) and signs with it from now on."""
        self.keys = [SigningKey.new()]
        return self.keys[0]

    def claims(self, subject: str, email: str | None = None, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": subject,
            "iat": now,
            "exp": now + 3600,
        }
        if email is not None:
            payload.update(email=email, email_verified=True)
        return changed(payload, changes)

    def id_token(self, subject: str, email: str | None = None, *, key: SigningKey | None = None, **changes: Any) -> str:
        signing = key or self.keys[0]
        return jwt.encode(self.claims(subject, email, **changes), signing.private, "RS256", {"kid": signing.kid})

    @contextmanager
    def serving(self) -> Iterator[Provider]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps({"keys": [key.jwk() for key in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


def apple_nonce_claim(nonce: str) -> str:
    """What Apple puts in the token: the SHA-256 hex digest of the nonce the page kept."""
    return hashlib.sha256(nonce.encode()).hexdigest()


@pytest.fixture
def google() -> Iterator[Provider]:
    with Provider(GOOGLE_ISSUER, GOOGLE_CLIENT_ID).serving() as provider:
        yield provider


@pytest.fixture
def apple() -> Iterator[Provider]:
    with Provider(APPLE_ISSUER, APPLE_CLIENT_ID).serving() as provider:
        yield provider


@pytest.fixture
def social(monkeypatch: pytest.MonkeyPatch, aws: None, google: Provider, apple: Provider) -> None:
    """Both providers on, their keys on 127.0.0.1; an unknown kid refetches at once unless a test says otherwise."""
    from shared import services

    monkeypatch.setenv("GOOGLE_CLIENT_IDS", f"other-client, {GOOGLE_CLIENT_ID}")
    monkeypatch.setenv("GOOGLE_JWKS_URL", google.jwks_url)
    monkeypatch.setenv("APPLE_CLIENT_IDS", APPLE_CLIENT_ID)
    monkeypatch.setenv("APPLE_JWKS_URL", apple.jwks_url)
    monkeypatch.setenv("SOCIAL_KEY_REFETCH_INTERVAL", "0")
    monkeypatch.setenv("ALLOWED_ORIGINS", SHOP)
    services.reset()


def sign_in_event(provider: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """``events/social_google_sign_in.json`` for ``provider`` carrying ``body``."""
    event = json_event("social_google_sign_in", body)
    event["path"] = f"/auth/social/{provider}/"
    event["pathParameters"] = {"provider": provider}
    for name, value in (headers or {}).items():
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    return event
