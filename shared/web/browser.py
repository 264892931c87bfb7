"""Browsers as clients: CORS for the allowed origins, the refresh token as an HttpOnly cookie.

Every handler built with ``shared.services.web_resolver()`` gets the CORS part; a handler that hands
out or reads refresh tokens uses ``CookieTransport``.

- **CORS** (``Cors``): an answer to a request whose ``Origin`` is one of ``ALLOWED_ORIGINS``
  (exact match) carries ``Access-Control-Allow-Origin: <that origin>`` and
  ``Access-Control-Allow-Credentials: true``; with any origin configured, every answer
  carries ``Vary: Origin``, so a cache never hands one origin's answer to another. ``OPTIONS``
  is the preflight answer: 204 with ``Allow``, and for an allowed origin the methods, the
  request headers a page may send and how long the browser may keep the answer. An origin
  not in the list gets no ``Access-Control-*`` header at all: the browser keeps the answer
  from the page. With ``ALLOWED_ORIGINS`` empty nothing is added.
- **Cookie transport** (``CookieTransport``), per request with ``X-Token-Transport: cookie``
  and only from an allowed origin (otherwise 403, and the cookie is not read): the refresh
  token travels in an ``HttpOnly; Secure`` cookie scoped to the token endpoints, never in a
  body a script can read. Requests without the header are answered exactly as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from shared.errors import ApiError, AuthenticationFailed, OriginNotAllowed, RefreshCookieMissing
from shared.settings import Settings
from shared.web.http import json_response
from shared.web.rest_resolver import Response

TRANSPORT_HEADER = "X-Token-Transport"
COOKIE_TRANSPORT = "cookie"
# What a page may send: the bearer token, JSON, and the transport choice.
REQUEST_HEADERS = ("Authorization", "Content-Type", TRANSPORT_HEADER)
# Seconds a browser may reuse a preflight answer (Chromium caps it at 7200).
PREFLIGHT_MAX_AGE = 7200
# The cookie goes only to the token endpoints: refresh and blacklist read it, nothing else sees it.
TOKEN_PATH = "/auth/token/"
SAME_SITE = {"Strict": SameSite.STRICT_MODE, "Lax": SameSite.LAX_MODE, "None": SameSite.NONE_MODE}


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header of a proxy event, whatever its case."""
    wanted = name.lower()
    headers = event.get("headers") or {}
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


class Cors:
    def __init__(self, origins: frozenset[str]) -> None:
        self._origins = origins

    def allowed_origin(self, event: Mapping[str, Any]) -> str | None:
        """The request's ``Origin`` if it is one of the allowed origins, else None."""
        origin = header(event, "Origin")
        return origin if origin in self._origins else None

    def preflight(self, event: Mapping[str, Any], allow: str) -> Response[str]:
        """The answer to OPTIONS (``allow``: the route's methods); the CORS part only for an allowed origin."""
        headers = {"Allow": allow}
        if self.allowed_origin(event) is not None:
            headers["Access-Control-Allow-Methods"] = allow
            headers["Access-Control-Allow-Headers"] = ", ".join(REQUEST_HEADERS)
            headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return Response(status_code=204, content_type=None, body="", headers=headers)

    def finish(self, event: Mapping[str, Any], response: dict[str, Any]) -> dict[str, Any]:
        """Add the CORS headers to a handler's proxy response (any status, errors included)."""
        if not self._origins:
            return response
        headers: dict[str, list[str]] = response.setdefault("multiValueHeaders", {})
        headers.setdefault("Vary", []).append("Origin")
        origin = self.allowed_origin(event)
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = [origin]
            headers["Access-Control-Allow-Credentials"] = ["true"]
        return response


class CookieRefused(ApiError):
    """A refusal of the cookie's token that also clears the cookie: that token is dead."""

    def __init__(self, error: ApiError, cleared: Cookie) -> None:
        super().__init__(error.detail, error.code)
        self.status = error.status
        self._error = error
        self._cleared = cleared

    def body(self) -> dict[str, Any]:
        return self._error.body()

    def headers(self) -> dict[str, str]:
        return {**self._error.headers(), "Set-Cookie": str(self._cleared)}


class CookieTransport:
    """The refresh token in an HttpOnly cookie instead of the JSON body, when a page asks."""

    def __init__(self, settings: Settings, cors: Cors) -> None:
        self._cors = cors
        self._name = settings.REFRESH_COOKIE_NAME
        self._same_site = SAME_SITE[settings.REFRESH_COOKIE_SAMESITE]
        self._domain = settings.REFRESH_COOKIE_DOMAIN
        self._path = settings.base_path + TOKEN_PATH
        self._max_age = settings.REFRESH_TOKEN_LIFETIME

    def requested(self, event: Mapping[str, Any]) -> bool:
        """True for ``X-Token-Transport: cookie`` from an allowed origin; 403 from any other."""
        value = header(event, TRANSPORT_HEADER)
        if value is None or value.strip().lower() != COOKIE_TRANSPORT:
            return False
        if self._cors.allowed_origin(event) is None:
            raise OriginNotAllowed()
        return True

    def presented(self, event: Mapping[str, Any]) -> str:
        """The refresh token from the request's cookie; 401 when there is none."""
        from http.cookies import CookieError, SimpleCookie  # 1.4 ms of import, paid by cookie requests only

        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header(event, "Cookie") or "")
        except CookieError:
            raise RefreshCookieMissing() from None
        morsel = jar.get(self._name)
        if morsel is None or not morsel.value:
            raise RefreshCookieMissing()
        return morsel.value

    def login_answer(self, tokens: dict[str, str], in_cookie: bool) -> Response[str]:
        """What every way in answers: the tokens in the body, or, when the cookie transport was
        asked for (``requested``), the refresh token in the cookie."""
        return self.tokens_answer(tokens) if in_cookie else json_response(200, tokens)

    def tokens_answer(self, tokens: dict[str, str]) -> Response[str]:
        """200 with the tokens but the refresh token, which goes into the cookie."""
        body = {name: token for name, token in tokens.items() if name != "refresh"}
        cookies = [self._cookie(tokens["refresh"], self._max_age)] if "refresh" in tokens else []
        return json_response(200, body, cookies=cookies)

    def logged_out(self) -> Response[str]:
        """200 ``{}`` clearing the cookie."""
        return json_response(200, {}, cookies=[self._cookie("", 0)])

    @contextmanager
    def refusals_clear_cookie(self) -> Iterator[None]:
        """A 401 for the cookie's token (expired, revoked, reused) also clears the cookie."""
        try:
            yield
        except AuthenticationFailed as error:
            raise CookieRefused(error, self._cookie("", 0)) from None

    def _cookie(self, value: str, max_age: int) -> Cookie:
        return Cookie(
            name=self._name,
            value=value,
            path=self._path,
            domain=self._domain,
            secure=True,
            http_only=True,
            max_age=max_age,
            same_site=self._same_site,
        )
