"""`make local` end to end: the server as a subprocess, the Django API's curl flow over real HTTP."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.local_api import free_port
from tests.local_api import local_api as start_local_api
from tools import gateway
from tools.local_server import LocalApi

DEMO = {"email": "customer@example.com", "password": "SecurePass123!"}


@pytest.fixture(scope="module")
def local_api() -> Iterator[str]:
    with start_local_api() as url:
        yield url


def curl(*arguments: str) -> tuple[int, dict[str, object]]:
    """The Django API's curl commands, with the status code appended on its own line."""
    assert shutil.which("curl"), "curl is needed for the Django API's examples"
    result = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", *arguments], capture_output=True, text=True, check=True, timeout=30
    )
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_seed_curl_flow_obtain_protected_refresh_protected(local_api: str) -> None:
    status, pair = curl(
        "-X", "POST", f"{local_api}/auth/token/", "-H", "Content-Type: application/json", "-d", json.dumps(DEMO)
    )
    assert status == 200
    assert list(pair) == ["refresh", "access"]

    status, profile = curl(f"{local_api}/api/v1/customers/1/", "-H", f"Authorization: Bearer {pair['access']}")
    assert status == 200
    assert profile["email"] == DEMO["email"]
    assert profile["last_login"] is not None

    status, refreshed = curl(
        "-X", "POST", f"{local_api}/auth/token/refresh/", "-H", "Content-Type: application/json",
        "-d", json.dumps({"refresh": pair["refresh"]}),
    )  # fmt: skip
    assert status == 200
    assert list(refreshed) == ["access", "refresh"], "the template turns rotation on"

    status, profile = curl(f"{local_api}/api/v1/customers/1/", "-H", f"Authorization: Bearer {refreshed['access']}")
    assert (status, profile["id"]) == (200, 1)


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (None, {"detail": "Authentication credentials were not provided."}),
        ("Token abc", {"detail": "Authentication credentials were not provided."}),
        (
            "Bearer a b",
            {
                "detail": "Authorization header must contain two space-delimited values",
                "code": "bad_authorization_header",
            },
        ),
        (
            "Bearer garbage",
            {
                "detail": "Given token not valid for any token type",
                "code": "token_not_valid",
                "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"}],
            },
        ),
    ],
)
def test_protected_route_refusals_over_http(local_api: str, header: str | None, body: dict[str, object]) -> None:
    arguments = [f"{local_api}/api/v1/customers/1/"] + (["-H", f"Authorization: {header}"] if header else [])
    assert curl(*arguments) == (401, body)


def test_given_a_burst_of_simultaneous_connections_when_each_sends_a_request_then_none_is_reset(
    local_api: str,
) -> None:
    """API Gateway never resets a client: a burst waits in the listen queue, however long it is."""
    address = urlsplit(local_api)
    burst = 64
    ready = threading.Barrier(burst)
    errors: list[str] = []

    def client() -> None:
        try:
            ready.wait(timeout=60)
            with socket.create_connection((address.hostname, address.port), timeout=60) as connection:
                connection.sendall(b"GET /no/such/route/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = connection.makefile("rb").readline()
                if not answer.startswith(b"HTTP/1.1 404"):
                    errors.append(repr(answer))
        except (OSError, threading.BrokenBarrierError) as error:
            errors.append(repr(error))
            ready.abort()

    clients = [threading.Thread(target=client) for _ in range(burst)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    assert errors == []


def test_given_the_server_busy_when_64_clients_connect_at_once_then_the_kernel_queues_all_of_them() -> None:
    """The listen queue holds a burst while no thread accepts: none is dropped to retry or reset."""
    burst = 64
    api = LocalApi(free_port(), gateway.load(), {})
    try:
        host, port = api.server_address[:2]
        with contextlib.ExitStack() as clients:
            for _ in range(burst):  # the server accepts none of them meanwhile
                clients.enter_context(socket.create_connection((str(host), int(port)), timeout=0.5))
    finally:
        api.server_close()


def test_unknown_route_is_a_json_404(local_api: str) -> None:
    assert curl(f"{local_api}/no/such/route/") == (404, {"detail": "Not found."})


def test_given_the_local_server_when_the_login_url_misses_its_slash_then_curl_l_follows_the_308_and_logs_in(
    local_api: str,
) -> None:
    arguments = ["-X", "POST", f"{local_api}/auth/token", "-H", "Content-Type: application/json"]
    status, body = curl(*arguments, "-d", json.dumps(DEMO))
    assert (status, body) == (308, {"detail": "This URL ends with a slash: /auth/token/"})
    redirect = requests.post(f"{local_api}/auth/token", json=DEMO, allow_redirects=False, timeout=30)
    assert redirect.headers["Location"] == "/auth/token/"

    status, pair = curl("-L", *arguments, "-d", json.dumps(DEMO))
    assert status == 200
    assert list(pair) == ["refresh", "access"]


def test_given_the_local_server_when_get_is_sent_to_a_token_endpoint_then_405_carries_allow(local_api: str) -> None:
    result = subprocess.run(
        ["curl", "-s", "-i", f"{local_api}/auth/token/refresh/"], capture_output=True, text=True, check=True, timeout=30
    )
    status_line, *headers = result.stdout.split("\n\n", 1)[0].splitlines()
    assert status_line.startswith("HTTP/1.1 405")
    assert "Allow: POST, OPTIONS" in headers
