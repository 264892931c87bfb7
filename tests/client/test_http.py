"""The client against the local server over real HTTP, with 60 s access tokens.

What reached the server is read from its request log, so "one refresh" means one
``POST /auth/token/refresh/`` the server answered, not one the client believes it sent.
"""

from __future__ import annotations

import json
import logging
import stat
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from ecommerce_auth_client import APIClient, AuthenticationError, FileTokenStore, MemoryTokenStore, Tokens
from ecommerce_auth_client.tokens import expiry
from requests.adapters import HTTPAdapter

from tests.client.server import ACCESS_TOKEN_LIFETIME, DEMO_EMAIL, DEMO_PASSWORD, LocalServer

PROFILE = "/api/v1/customers/1/"
REFRESHED = "POST /auth/token/refresh/ 200"
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
# Refresh once 57 s remain: a fresh 60 s token is used as is, and is due after at most 3 s.
MARGIN = 57.0


def logged_in(
    server: LocalServer,
    store: MemoryTokenStore,
    refresh_margin: float | None = None,
    session: requests.Session | None = None,
) -> APIClient:
    client = APIClient(server.url, store=store, refresh_margin=refresh_margin, session=session)
    client.login(DEMO_EMAIL, DEMO_PASSWORD)
    return client


def wait_until_due(tokens: Tokens | None, margin: float) -> None:
    """Sleep until the access token is within ``margin`` of its exp (at most 3 s here)."""
    assert tokens is not None
    due = expiry(tokens.access, margin)
    assert due is not None
    time.sleep(max(0.0, due.refresh_at - time.time() + 0.05))


def new_customer(server: LocalServer, password: str) -> tuple[str, str]:
    """A customer of this test's own (email, id), so lockouts and revocations touch no other test."""
    email = f"client-{uuid.uuid4().hex[:12]}@example.com"
    created = json.loads(server.authctl("create-customer", "--email", email, "--password-stdin", stdin=password + "\n"))
    return email, str(created["id"])


def test_refreshes_before_expiry_from_the_tokens_exp(server: LocalServer) -> None:
    store = MemoryTokenStore()
    client = logged_in(server, store, refresh_margin=MARGIN)
    first = store.load()
    assert first is not None

    mark = server.mark()
    assert client.get(PROFILE).json()["email"] == DEMO_EMAIL
    assert server.log_since(mark) == ["GET /api/v1/customers/1/ 200"], "a fresh token is used as is"

    wait_until_due(first, MARGIN)
    mark = server.mark()
    assert client.get(PROFILE).status_code == 200
    assert server.log_since(mark) == [REFRESHED, "GET /api/v1/customers/1/ 200"], "refreshed before the request"
    second = store.load()
    assert second is not None
    assert second.access != first.access
    assert second.refresh != first.refresh, "the rotated refresh token is stored"

    mark = server.mark()
    assert client.get(PROFILE).status_code == 200
    assert server.log_since(mark) == ["GET /api/v1/customers/1/ 200"], "the new token is not refreshed again"


def test_a_401_is_answered_by_one_refresh_and_one_retry(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ecommerce_auth_client")
    store = MemoryTokenStore()
    client = logged_in(server, store)
    good = store.load()
    assert good is not None
    header, payload, signature = good.access.split(".")
    forged = f"{header}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    store.save(Tokens(access=forged, refresh=good.refresh))  # exp hours away: only the server can tell

    mark = server.mark()
    assert client.get(PROFILE).status_code == 200
    assert server.log_since(mark) == ["GET /api/v1/customers/1/ 401", REFRESHED, "GET /api/v1/customers/1/ 200"]
    refreshed = store.load()
    assert refreshed is not None
    assert refreshed.refresh != good.refresh

    secrets = [good.access, good.refresh, forged, refreshed.access, refreshed.refresh]
    assert "refreshing and retrying once" in caplog.text
    assert not [token for token in secrets if token in caplog.text], "tokens are never logged"


def test_twenty_threads_sharing_a_client_cause_one_refresh(server: LocalServer) -> None:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=20))
    store = MemoryTokenStore()
    client = logged_in(server, store, refresh_margin=MARGIN, session=session)
    wait_until_due(store.load(), MARGIN)  # every thread finds the access token due
    start = threading.Barrier(20)

    def call(_: int) -> int:
        start.wait()
        return client.get(PROFILE).status_code

    mark = server.mark()
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(call, range(20)))
    log = server.log_since(mark)
    session.close()

    assert statuses == [200] * 20
    assert [line for line in log if line.startswith("POST /auth/token/refresh/")] == [REFRESHED]
    assert log.count("GET /api/v1/customers/1/ 200") == 20


def test_a_revoked_session_raises_authentication_error(server: LocalServer) -> None:
    password = "Revoked-Pass-123!"
    email, customer_id = new_customer(server, password)
    store = MemoryTokenStore()
    # A margin of the whole lifetime: every request refreshes first, as one would once due.
    client = APIClient(server.url, store=store, refresh_margin=ACCESS_TOKEN_LIFETIME)
    client.login(email, password)
    profile = f"/api/v1/customers/{customer_id}/"
    assert client.get(profile).status_code == 200

    server.authctl("revoke-sessions", "--email", email)
    with pytest.raises(AuthenticationError) as raised:
        client.get(profile)
    assert (raised.value.status, raised.value.code, raised.value.detail) == (
        401,
        "token_not_valid",
        "Token is blacklisted",
    )
    assert store.load() is None
    assert not client.logged_in

    client.login(email, password)  # what the caller does on AuthenticationError
    assert client.get(profile).json()["email"] == email


def test_logout_revokes_the_refresh_token_and_forgets_the_pair(server: LocalServer) -> None:
    store = MemoryTokenStore()
    client = logged_in(server, store)
    tokens = store.load()
    assert tokens is not None

    client.logout()
    assert store.load() is None
    mark = server.mark()
    with pytest.raises(AuthenticationError, match="not logged in"):
        client.get(PROFILE)
    assert server.log_since(mark) == [], "nothing is sent without a session"

    reused = requests.post(f"{server.url}/auth/token/refresh/", json={"refresh": tokens.refresh}, timeout=10)
    assert (reused.status_code, reused.json()) == (401, BLACKLISTED)


def test_a_file_store_keeps_a_command_line_tool_logged_in(server: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "ecommerce-auth" / "tokens.json"
    with APIClient(server.url, store=FileTokenStore(path)) as first_run:
        first_run.login(DEMO_EMAIL, DEMO_PASSWORD)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    with APIClient(server.url, store=FileTokenStore(path)) as second_run:
        assert second_run.logged_in
        assert second_run.get(PROFILE).status_code == 200
        second_run.logout()
    assert not path.exists()


def test_refused_credentials_raise_authentication_error(server: LocalServer) -> None:
    client = APIClient(server.url)
    # An email nobody has: one counted failure that cannot lock out another test's customer.
    with pytest.raises(AuthenticationError) as raised:
        client.login(f"nobody-{uuid.uuid4().hex[:12]}@example.com", "Wrong-Pass-123!")
    assert (raised.value.status, raised.value.detail) == (401, "No active account found with the given credentials")
    assert not client.logged_in
