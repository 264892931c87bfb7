"""The client's rules that need no server: refresh timing, storage, and answers the local
server does not give on demand (a 401 that survives a refresh, a 503 from the refresh
endpoint), played by a scripted ``requests`` transport."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from ecommerce_auth_client import (
    APIClient,
    AuthenticationError,
    AuthServiceError,
    FileTokenStore,
    MemoryTokenStore,
    Tokens,
)
from ecommerce_auth_client.tokens import expiry, unverified_claims
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

API = "http://api.test"


def jwt(**claims: Any) -> str:
    """An unsigned-looking JWT with these claims: the client never verifies, only reads."""

    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}.c2lnbmF0dXJl"


def access(lifetime: float = 3600, left: float = 3600) -> str:
    now = int(time.time())
    return jwt(token_type="access", iat=now - int(lifetime - left), exp=now + int(left))


class ScriptedApi(BaseAdapter):
    """A transport that answers "METHOD /path" from a script, in order, repeating the last
    answer, and records what was sent: (method, path, Authorization header)."""

    def __init__(self, answers: dict[str, list[tuple[int, dict[str, Any]]]]) -> None:
        super().__init__()
        self.answers = answers
        self.sent: list[tuple[str, str, str | bytes | None]] = []

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        path = (request.path_url or "").split("?")[0]
        key = f"{request.method} {path}"
        self.sent.append((str(request.method), path, request.headers.get("Authorization")))
        status, body = self.answers[key].pop(0) if len(self.answers[key]) > 1 else self.answers[key][0]
        response = Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to release."""


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()


def client_with(api: ScriptedApi, store: MemoryTokenStore, tokens: Tokens) -> APIClient:
    session = requests.Session()
    session.mount(API, api)
    store.save(tokens)
    return APIClient(API, store=store, session=session)


def test_claims_are_read_without_a_key_and_unreadable_tokens_give_none() -> None:
    assert unverified_claims(jwt(exp=123, user_id="1")) == {"exp": 123, "user_id": "1"}
    for token in ["", "a.b", "a.!!!.c", f"x.{base64.urlsafe_b64encode(b'[1]').decode()}.y", "a.b.c.d"]:
        assert unverified_claims(token) == {}
    assert expiry("not a jwt") is None
    assert expiry(jwt(iat=0)) is None


def test_the_default_margin_is_five_minutes_or_half_a_short_lifetime() -> None:
    assert expiry(jwt(iat=1000, exp=4600)) == (4300, 4600), "1 h token: refreshed with 5 minutes left"
    assert expiry(jwt(iat=1000, exp=1060)) == (1030, 1060), "60 s token: refreshed at half-life"
    assert expiry(jwt(exp=4600)) == (4300, 4600), "no iat: the plain 5 minutes"
    assert expiry(jwt(iat=1000, exp=1060), margin=55) == (1005, 1060), "an explicit margin is used as given"


def test_tokens_and_errors_never_show_a_token() -> None:
    tokens = Tokens(access="eyJ.access.secret", refresh="eyJ.refresh.secret")
    assert "secret" not in repr(tokens)
    assert "secret" not in str([tokens, {"pair": tokens}])


@pytest.fixture
def umask_zero() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("umask_zero")
def test_file_store_writes_0600_atomically_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "new" / "tokens.json"
    file_store = FileTokenStore(path)
    assert file_store.load() is None
    file_store.save(Tokens(access="a1", refresh="r1"))
    file_store.save(Tokens(access="a2", refresh="r2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "even with umask 0"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert file_store.load() == Tokens(access="a2", refresh="r2")
    assert sorted(p.name for p in path.parent.iterdir()) == ["tokens.json"], "no temporary file left"
    file_store.clear()
    file_store.clear()
    assert file_store.load() is None


def test_file_store_repairs_open_permissions_and_ignores_a_corrupt_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tokens.json"
    file_store = FileTokenStore(path)
    file_store.save(Tokens(access="a", refresh="r"))
    path.chmod(0o644)
    assert file_store.load() == Tokens(access="a", refresh="r")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "had mode 644; reset to 600" in caplog.text

    path.write_text('{"access": "only half"}')
    assert file_store.load() is None
    assert "unreadable" in caplog.text


def test_a_second_401_is_returned_without_another_refresh(store: MemoryTokenStore) -> None:
    old, new = Tokens(access(), "r1"), Tokens(access(), "r2")
    api = ScriptedApi(
        {
            "GET /orders/": [(401, {"detail": "User is inactive", "code": "user_inactive"})],
            "POST /auth/token/refresh/": [(200, {"access": new.access, "refresh": new.refresh})],
        }
    )
    response = client_with(api, store, old).get("/orders/")
    assert response.status_code == 401
    assert api.sent == [
        ("GET", "/orders/", f"Bearer {old.access}"),
        ("POST", "/auth/token/refresh/", None),
        ("GET", "/orders/", f"Bearer {new.access}"),
    ]
    assert store.load() == new


def test_a_failed_proactive_refresh_uses_the_still_valid_token(
    store: MemoryTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    due = Tokens(access(left=60), "r1")
    unavailable = (503, {"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"})
    api = ScriptedApi({"POST /auth/token/refresh/": [unavailable], "GET /orders/": [(200, {})]})
    assert client_with(api, store, due).get("/orders/").status_code == 200
    assert api.sent[-1] == ("GET", "/orders/", f"Bearer {due.access}")
    assert store.load() == due, "the session is kept for the next try"
    assert "token refresh failed" in caplog.text
    assert due.access not in caplog.text


def test_a_failed_refresh_of_an_expired_token_raises_and_keeps_the_session(store: MemoryTokenStore) -> None:
    expired = Tokens(access(left=-5), "r1")
    api = ScriptedApi({"POST /auth/token/refresh/": [(503, {"detail": "Service temporarily unavailable"})]})
    with pytest.raises(AuthServiceError) as raised:
        client_with(api, store, expired).get("/orders/")
    assert raised.value.status == 503
    assert store.load() == expired
    assert [method for method, _, _ in api.sent] == ["POST"]


def test_without_rotation_the_refresh_token_is_kept(store: MemoryTokenStore) -> None:
    renewed = access()
    api = ScriptedApi(
        {"POST /auth/token/refresh/": [(200, {"access": renewed})], "GET /orders/": [(401, {}), (200, {})]}
    )
    assert client_with(api, store, Tokens(access(), "r1")).get("/orders/").status_code == 200
    assert store.load() == Tokens(renewed, "r1")


def test_the_token_is_sent_to_base_url_only(store: MemoryTokenStore) -> None:
    api = ScriptedApi({"GET /orders/": [(200, {})]})
    client = client_with(api, store, Tokens(access(), "r1"))
    assert client.get(f"{API}/orders/").status_code == 200
    with pytest.raises(ValueError, match="not under"):
        client.get("http://api.test.evil.example/orders/")
    assert len(api.sent) == 1


def test_a_login_lockout_is_a_service_error_not_bad_credentials(store: MemoryTokenStore) -> None:
    throttled = {"detail": "Too many failed login attempts. Try again later.", "code": "throttled"}
    api = ScriptedApi({"POST /auth/token/": [(429, throttled)]})
    client = client_with(api, store, Tokens(access(), "r1"))
    with pytest.raises(AuthServiceError) as raised:
        client.login("customer@example.com", "SecurePass123!")
    assert (raised.value.status, raised.value.code) == (429, "throttled")
    api.answers["POST /auth/token/"] = [(401, {"detail": "No active account found with the given credentials"})]
    with pytest.raises(AuthenticationError, match="login refused: 401 No active account"):
        client.login("customer@example.com", "wrong")
    assert store.load() is not None, "a refused login leaves the current session alone"
