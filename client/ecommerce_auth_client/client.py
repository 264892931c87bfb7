"""APIClient: the Django API docs' "Token Best Practices" client, made to keep its session alive.

The docs' version breaks on its first call (no expiry before a login), ignores a failed
refresh, guesses the expiry from the local clock, and lets threads refresh at once. With
refresh-token rotation on, that last bug ends the session: the server takes a refresh token
presented twice as stolen and revokes its whole family. Here one lock serialises refreshes,
and a thread that waited for it reuses the refresh it waited for.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any, TypeVar

import requests

from ecommerce_auth_client.errors import AuthClientError, AuthenticationError, AuthServiceError
from ecommerce_auth_client.storage import MemoryTokenStore, TokenStore
from ecommerce_auth_client.tokens import Tokens, expiry

logger = logging.getLogger("ecommerce_auth_client")

_Error = TypeVar("_Error", bound=AuthClientError)


class APIClient:
    """A logged-in session against the API at ``base_url``, safe to share between threads.

    ``refresh_margin``: seconds before the access token's ``exp`` at which requests refresh it
    first; None is 300 s, capped at half the token's lifetime (see ``tokens.expiry``).
    ``timeout``: seconds for every request that does not pass its own. ``session``: a
    ``requests.Session`` to send with (pool size, proxies, certificates); the client closes
    only a session it created.
    """

    def __init__(
        self,
        base_url: str,
        *,
        store: TokenStore | None = None,
        refresh_margin: float | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._store: TokenStore = store if store is not None else MemoryTokenStore()
        self._refresh_margin = refresh_margin
        self._timeout = timeout
        self._session = session if session is not None else requests.Session()
        self._owns_session = session is None
        self._lock = threading.Lock()

    @property
    def logged_in(self) -> bool:
        """Whether the store holds a pair (a CLI checks this before prompting for a password)."""
        return self._store.load() is not None

    def login(self, email: str, password: str) -> None:
        """Obtain a pair; AuthenticationError if refused, AuthServiceError on a lockout (429) or 5xx."""
        response = self._post("/auth/token/", {"email": email, "password": password})
        if response.status_code in (400, 401):
            raise _error(AuthenticationError, "login refused", response)
        tokens = _tokens_from(response, previous_refresh=None)
        with self._lock:
            self._store.save(tokens)
        logger.debug("logged in")

    def logout(self) -> None:
        """Blacklist the refresh token (its whole family, server-side) and forget the pair.

        The pair is forgotten here in every case. AuthServiceError, or the requests error,
        means the server did not confirm: the refresh token may live on until its ``exp``.
        Access tokens are not blacklisted (simplejwt's design): one already issued works until
        its ``exp``. A session that was already dead logs out without error.
        """
        with self._lock:
            tokens = self._store.load()
            self._store.clear()
            if tokens is None:
                return
            response = self._post("/auth/token/blacklist/", {"refresh": tokens.refresh})
        if response.status_code not in (200, 401):
            raise _error(AuthServiceError, "logout not confirmed by the server", response)
        logger.debug("logged out")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send with ``Authorization: Bearer``; refresh first when due, and once after a 401.

        ``path`` is relative to ``base_url`` (or an absolute URL under it: the token is never
        sent elsewhere); ``kwargs`` are ``requests``'. A 401 is retried once, after a refresh,
        with the same ``kwargs`` (so pass bodies as ``json=`` or bytes, not as a stream); a
        second 401 is returned. Raises AuthenticationError when there is no live session.
        """
        url = self._url(path)
        tokens = self._fresh_tokens()
        response = self._send(method, url, tokens.access, kwargs)
        if response.status_code != 401:
            return response
        response.close()
        logger.debug("%s %s answered 401; refreshing and retrying once", method, url.split("?", 1)[0])
        return self._send(method, url, self._refresh(tokens).access, kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> APIClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _fresh_tokens(self) -> Tokens:
        """The pair to send, refreshed first when the access token is within the margin.

        A proactive refresh that fails for a transient reason (5xx, lockout, network) is not
        fatal while the access token has not expired: it is used, and the next request tries
        again. A dead refresh token raises AuthenticationError.
        """
        tokens = self._store.load()
        if tokens is None:
            raise AuthenticationError("not logged in: call login() first")
        due = expiry(tokens.access, self._refresh_margin)
        if due is None or time.time() < due.refresh_at:
            return tokens
        try:
            return self._refresh(tokens)
        except (AuthServiceError, requests.RequestException) as error:
            if time.time() >= due.expires_at:
                raise
            logger.warning("token refresh failed (%s); using the current access token until it expires", error)
            return tokens

    def _refresh(self, seen: Tokens) -> Tokens:
        """Trade the refresh token for a new pair, one thread at a time.

        ``seen`` is the pair the caller found due or got a 401 with. If the store holds
        another pair by the time the lock is ours, someone refreshed (or logged in) meanwhile:
        that pair is the answer. Refreshing again would present a retired refresh token,
        which the server treats as theft.
        """
        with self._lock:
            current = self._store.load()
            if current is None:
                raise AuthenticationError("not logged in: the session ended or logout() was called")
            if current != seen:
                return current
            response = self._post("/auth/token/refresh/", {"refresh": current.refresh})
            if response.status_code == 401:
                self._store.clear()
                raise _error(AuthenticationError, "the session has ended; log in again", response)
            tokens = _tokens_from(response, previous_refresh=current.refresh)
            self._store.save(tokens)
        logger.debug("access token refreshed%s", "" if tokens.refresh == current.refresh else ", refresh token rotated")
        return tokens

    def _url(self, path: str) -> str:
        if "://" not in path:
            return f"{self.base_url}/{path.lstrip('/')}"
        if not path.startswith(self.base_url + "/"):
            raise ValueError(f"{path} is not under {self.base_url}, the only place the access token is sent")
        return path

    def _send(self, method: str, url: str, access: str, kwargs: dict[str, Any]) -> requests.Response:
        options = dict(kwargs)
        given = options.pop("headers", None) or {}
        headers = {name: value for name, value in given.items() if name.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {access}"
        options.setdefault("timeout", self._timeout)
        return self._session.request(method, url, headers=headers, **options)

    def _post(self, path: str, body: dict[str, str]) -> requests.Response:
        return self._session.post(self.base_url + path, json=body, timeout=self._timeout)


def _tokens_from(response: requests.Response, previous_refresh: str | None) -> Tokens:
    """The pair in a 200 answer; without rotation the server sends no refresh: keep ours."""
    if response.status_code != 200:
        raise _error(AuthServiceError, "the auth service did not answer with tokens", response)
    body = _json(response)
    access, refresh = body.get("access"), body.get("refresh", previous_refresh)
    if not isinstance(access, str) or not isinstance(refresh, str):
        raise AuthServiceError("the auth service answered 200 without tokens", status=200)
    return Tokens(access=access, refresh=refresh)


def _error(kind: type[_Error], message: str, response: requests.Response) -> _Error:
    """An error carrying simplejwt's ``detail`` and ``code``; response bodies hold no tokens."""
    body = _json(response)
    detail, code = body.get("detail"), body.get("code")
    detail = detail if isinstance(detail, str) else None
    code = code if isinstance(code, str) else None
    return kind(
        f"{message}: {response.status_code} {detail or response.reason}",
        status=response.status_code,
        code=code,
        detail=detail,
    )


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:  # a proxy's HTML page, an empty body
        return {}
    return body if isinstance(body, dict) else {}
