"""Domain errors, each knowing the status and body simplejwt/DRF answer for it.

Handlers map any ``ApiError`` to a response with ``shared.web.http.error_response``; the
bodies are the wire contract (docs/contract.md), key for key.
"""

from __future__ import annotations

from typing import Any

WWW_AUTHENTICATE = 'Bearer realm="api"'


class ApiError(Exception):
    """An error the client is told about, with simplejwt's status and body."""

    status = 500

    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.code is not None:
            body["code"] = self.code
        return body

    def headers(self) -> dict[str, str]:
        return {}


class ValidationFailed(ApiError):
    """DRF serializer errors: ``{"field": ["message", ...]}``."""

    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("Invalid input.", "invalid")
        self.errors = errors

    def body(self) -> dict[str, Any]:
        return dict(self.errors)


class ParseError(ApiError):
    status = 400


class PayloadTooLarge(ApiError):
    status = 413

    def __init__(self) -> None:
        super().__init__("Request body is too large.", "request_too_large")


class UnsupportedMediaType(ApiError):
    status = 415

    def __init__(self, media_type: str) -> None:
        super().__init__(f'Unsupported media type "{media_type}" in request.')


class NotFound(ApiError):
    status = 404

    def __init__(self) -> None:
        super().__init__("Not found.")


class InvalidPage(ApiError):
    """DRF's PageNumberPagination: a page that is not a number, or out of range."""

    status = 404

    def __init__(self) -> None:
        super().__init__("Invalid page.")


class MethodNotAllowed(ApiError):
    """DRF's 405, with its ``Allow`` header (e.g. ``POST, OPTIONS``)."""

    status = 405

    def __init__(self, method: str, allow: str) -> None:
        super().__init__(f'Method "{method}" not allowed.')
        self.allow = allow

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allow}


class AuthenticationFailed(ApiError):
    """401 with DRF's ``WWW-Authenticate`` challenge."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": WWW_AUTHENTICATE}


class InvalidCredentials(AuthenticationFailed):
    """Wrong password, unknown email and inactive customer answer alike."""

    def __init__(self) -> None:
        super().__init__("No active account found with the given credentials")


class NoActiveAccount(AuthenticationFailed):
    """The refresh token's customer is inactive (``code`` None) or gone (ours: a code)."""

    def __init__(self, code: str | None = None) -> None:
        super().__init__("No active account found for the given token.", code)


class TokenError(AuthenticationFailed):
    """A presented token failed validation; ``detail`` is simplejwt's message."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, "token_not_valid")


def not_valid_for_any_token_type(message: str) -> dict[str, Any]:
    """simplejwt's InvalidToken from JWTAuthentication.get_validated_token."""
    return {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    }


class AccessTokenRevoked(AuthenticationFailed):
    """A route refuses an access token of a revoked session: the authorizer's Deny body."""

    def __init__(self) -> None:
        super().__init__("Token is blacklisted", "token_not_valid")

    def body(self) -> dict[str, Any]:
        return not_valid_for_any_token_type(self.detail)


NO_STORE = {"Cache-Control": "no-store"}


class MfaRequired(ApiError):
    """Not an error to the client: the first step of a login with MFA on (dj-rest-auth's answer,
    status 200). Raised by the one place that opens sessions (shared/customers/opening.py), so
    every way in answers it without knowing about MFA; the ticket is a secret: ``no-store``."""

    status = 200

    def __init__(self, ephemeral_token: str) -> None:
        super().__init__("A second factor is required.")
        self.ephemeral_token = ephemeral_token

    def body(self) -> dict[str, Any]:
        return {"ephemeral_token": self.ephemeral_token, "mfa_required": True}

    def headers(self) -> dict[str, str]:
        return dict(NO_STORE)


class PermissionDenied(ApiError):
    status = 403

    def __init__(self) -> None:
        super().__init__("You do not have permission to perform this action.")


class OriginNotAllowed(ApiError):
    """Cookie transport asked for from an origin not in ALLOWED_ORIGINS: nothing is read."""

    status = 403

    def __init__(self) -> None:
        super().__init__("Cookie transport is not allowed from this origin.", "origin_not_allowed")


class RefreshCookieMissing(AuthenticationFailed):
    """Cookie transport without the refresh cookie: log in again."""

    def __init__(self) -> None:
        super().__init__("No refresh token cookie was sent.", "not_authenticated")


class RetryLater(ApiError):
    """An answer that says when to try again: ``Retry-After``, in whole seconds, at least 1."""

    def __init__(self, detail: str, code: str, retry_after: int) -> None:
        super().__init__(detail, code)
        self.retry_after = max(retry_after, 1)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class LoginLocked(RetryLater):
    """Too many failed logins for this account or source: DRF's throttled shape."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many failed login attempts. Try again later.", "throttled", retry_after)


class Throttled(RetryLater):
    """Too many account requests (mail, password checks) for one address, customer or source:
    DRF's ``Throttled`` answer, its wait in words and in ``Retry-After``. Not the login guard's
    body: nobody failed a login here."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        wait = max(retry_after, 1)
        unit = "second" if wait == 1 else "seconds"
        super().__init__(f"Request was throttled. Expected available in {wait} {unit}.", "throttled", wait)


class ServiceUnavailable(RetryLater):
    """A dependency (DynamoDB, Secrets Manager) failed after the client's retries."""

    status = 503

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("Service temporarily unavailable, try again later.", "service_unavailable", retry_after)


# Passkeys (shared/passkeys/service.py): a sign-in refused after its attempt was counted.
PASSKEY_CHALLENGE_SPENT = "This passkey request has expired or was already used. Ask for new options."


class PasskeyRefused(AuthenticationFailed):
    """A sign-in the passkey does not prove: unknown or deleted credential, a failed check."""

    def __init__(self) -> None:
        super().__init__("This passkey could not sign you in.", "passkey_invalid")


class PasskeyChallengeRefused(AuthenticationFailed):
    """A sign-in answering a challenge that is unknown, spent, expired or of a registration."""

    def __init__(self) -> None:
        super().__init__(PASSKEY_CHALLENGE_SPENT, "passkey_challenge_invalid")


class SigningKeyTooShort(RuntimeError):
    """Raised when the key is read (a function's first request): an HMAC key under 32 bytes makes tokens forgeable."""
