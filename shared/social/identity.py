"""Checking a Google or Apple ID token with PyJWT against the provider's published keys.

Google Identity Services and Sign in with Apple JS hand the page an ID token; the page posts it
here. A token is accepted only when all of these hold: RS256 (the only algorithm both providers
sign with: ``none``, HMAC and everything else are refused before any key is looked up), a
``kid`` found in the provider's JWKS, a valid signature, ``iss`` exactly the provider's issuer,
``aud`` exactly one of the configured client ids, ``exp`` not passed and ``iat`` not in the
future (both with the service's ``LEEWAY``), a ``sub``, and, when the page sent a nonce (Apple),
a ``nonce`` claim equal to the SHA-256 hex digest of it, as Apple's documentation has the page
hash the nonce it hands Apple and keep the raw one.

Each provider's ``PyJWKClient`` is made once per container: its JWK Set cache keeps the keys for
``SOCIAL_KEYS_MAX_AGE``, and a ``kid`` it does not know (the provider rotated) refetches the set,
at most once per ``SOCIAL_KEY_REFETCH_INTERVAL``, so tokens with made-up kids cannot make this
service hammer the provider. A provider whose keys cannot be fetched is a 503, never a 401.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
from jwt import PyJWKClient
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWTError

from shared.errors import AuthenticationFailed, ServiceUnavailable
from shared.settings import Settings

ALGORITHMS = ("RS256",)
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "sub")
# Google's and Apple's subjects are at most 255 characters; the key built from one must stay small.
MAX_SUBJECT_CHARS = 255


class Provider(StrEnum):
    """The providers a customer can sign in with (the path's ``{provider}``)."""

    GOOGLE = "google"
    APPLE = "apple"


class InvalidIdToken(AuthenticationFailed):
    """Any token that fails a check: one answer, which never says which check."""

    def __init__(self) -> None:
        super().__init__("The ID token is not valid.", "invalid_id_token")


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in."""

    provider: Provider
    subject: str
    email: str | None
    email_verified: bool


class IdTokenVerifier:
    """One provider's checks, with its JWKS client (one per container)."""

    def __init__(
        self,
        provider: Provider,
        issuer: str,
        jwks_url: str,
        client_ids: tuple[str, ...],
        settings: Settings,
    ) -> None:
        self.provider = provider
        self._issuer = issuer
        self._client_ids = client_ids
        self._leeway = settings.LEEWAY
        self._keys = PyJWKClient(
            jwks_url,
            cache_jwk_set=True,
            lifespan=settings.SOCIAL_KEYS_MAX_AGE,
            timeout=settings.SOCIAL_KEYS_TIMEOUT,
            cooldown_duration=settings.SOCIAL_KEY_REFETCH_INTERVAL,
        )

    def verify(self, id_token: str, nonce: str | None = None) -> Identity:
        """The token's identity, or InvalidIdToken; ServiceUnavailable when the keys cannot be had."""
        try:
            header = jwt.get_unverified_header(id_token)
        except PyJWTError:
            raise InvalidIdToken() from None
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS or not isinstance(kid, str) or not kid:
            raise InvalidIdToken()
        try:
            key = self._keys.get_signing_key(kid)
        except PyJWKClientConnectionError:
            raise ServiceUnavailable() from None
        except (PyJWKClientError, PyJWTError):
            raise InvalidIdToken() from None  # no such kid, even after the refetch it allows
        except ValueError:  # the provider answered something that is not a JWK Set
            raise ServiceUnavailable() from None
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=list(ALGORITHMS),
                audience=list(self._client_ids),
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except PyJWTError:
            raise InvalidIdToken() from None
        if not self._addressed_to_us(claims["aud"]) or not _nonce_matches(claims, nonce):
            raise InvalidIdToken()
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_CHARS:
            raise InvalidIdToken()
        email = claims.get("email")
        return Identity(
            provider=self.provider,
            subject=subject,
            email=email if isinstance(email, str) and email else None,
            email_verified=email_verified(claims.get("email_verified")),
        )

    def _addressed_to_us(self, audience: Any) -> bool:
        """One audience, ours: a token for several clients is another client's token too."""
        if isinstance(audience, list) and len(audience) == 1:
            audience = audience[0]
        return isinstance(audience, str) and audience in self._client_ids


def email_verified(value: Any) -> bool:
    """Google sends a boolean; Apple has sent the strings "true" and "false". Anything else is not verified."""
    return value is True or value == "true"


def _nonce_matches(claims: dict[str, Any], nonce: str | None) -> bool:
    """Without a nonce in the request there is nothing to compare; with one, the token carries its SHA-256."""
    if nonce is None:
        return True
    claimed = claims.get("nonce")
    expected = hashlib.sha256(nonce.encode()).hexdigest()
    return isinstance(claimed, str) and hmac.compare_digest(claimed.encode(), expected.encode())


def verifiers(settings: Settings) -> dict[Provider, IdTokenVerifier]:
    """The providers switched on (client ids given), each with its issuer and keys."""
    configured = {
        Provider.GOOGLE: (settings.GOOGLE_ISSUER, settings.GOOGLE_JWKS_URL, settings.google_client_ids),
        Provider.APPLE: (settings.APPLE_ISSUER, settings.APPLE_JWKS_URL, settings.apple_client_ids),
    }
    return {
        provider: IdTokenVerifier(provider, issuer, jwks_url, client_ids, settings)
        for provider, (issuer, jwks_url, client_ids) in configured.items()
        if client_ids
    }
