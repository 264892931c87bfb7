"""What the client raises, split by what the caller should do next."""

from __future__ import annotations


class AuthClientError(Exception):
    """A refusal or failure of the auth endpoints, with what the server said.

    ``status`` is the HTTP status (None when there was no answer to read), ``code`` and
    ``detail`` the fields of simplejwt's error body when it had them. Never carries a token.
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail


class AuthenticationError(AuthClientError):
    """Log in again: the credentials were refused, or there is no live session.

    Raised by ``login()`` on a 400/401, and by any request when the client is not logged in
    or its refresh token is dead (expired, rotated away, logged out, revoked by an operator,
    customer deactivated or deleted). The tokens are already forgotten when this is raised.
    """


class AuthServiceError(AuthClientError):
    """The auth service did not do it, for now: a 429 lockout, a 5xx, an unexpected answer.

    The session, if any, is kept: retrying later is safe. ``code`` is ``"throttled"`` for a
    login lockout.
    """
