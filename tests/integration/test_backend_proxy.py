"""The shop's backend behind the gateway: ``BackendUrl``'s ``/{proxy+}`` HTTP_PROXY route.

A tiny HTTP backend records what reaches it. Through the template's gateway (tools/gateway.py,
what `make local` serves): the method, the path, the query and the body arrive as sent, with
``Authorization``; ``X-Auth-Request-User`` and ``X-Auth-Request-Groups`` are the gateway's,
whatever copies the client sent; no token or a bad one is simplejwt's 401 and the backend
never hears of it; the service's own routes stay its own.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared import services
from tests.adversarial.stack import Stack, warm_stack
from tests.helpers import EMAIL, PASSWORD
from tests.local_api import local_api
from tools import gateway


@dataclass
class Received:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass
class Backend:
    url: str
    received: list[Received] = field(default_factory=list)


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    """Answers 200 with JSON, or the status a ``/status/<code>/`` path names (a Location for 302)."""
    recorded: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorded.append(Received(self.command, self.path, list(self.headers.items()), body))
            status = int(self.path.split("/")[2]) if self.path.startswith("/status/") else 200
            payload = json.dumps({"backend": True}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Backend", "shop")
            if status == 302:
                self.send_header("Location", "/elsewhere/")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Backend(f"http://127.0.0.1:{server.server_address[1]}", recorded)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def stack(backend: Backend) -> Iterator[Stack]:
    with warm_stack(REQUIRE_STAFF_MFA="false") as warm:  # staff log in with a password alone here
        warm.model = gateway.load(overrides={"BackendUrl": backend.url})
        yield warm


@pytest.fixture
def received(backend: Backend) -> list[Received]:
    backend.received.clear()
    return backend.received


def bearer(stack: Stack) -> tuple[str, str]:
    """A new customer's Authorization header and their id."""
    customer = stack.new_customer()
    return f"Bearer {stack.login(customer)['access']}", customer.customer_id


def test_the_method_path_query_body_and_authorization_reach_the_backend(stack: Stack, received: list[Received]) -> None:
    authorization, _ = bearer(stack)

    answer = stack.request(
        "PATCH",
        "/api/v1/orders/5/",
        {"quantity": 2},
        authorization=authorization,
        query={"expand": ["lines"], "tag": ["a", "b"]},
    )

    [request] = received
    assert (answer.status, answer.body, answer.headers["x-backend"]) == (200, {"backend": True}, "shop")
    assert (request.method, request.path) == ("PATCH", "/api/v1/orders/5/?expand=lines&tag=a&tag=b")
    assert json.loads(request.body) == {"quantity": 2}
    assert request.header("Authorization") == [authorization]


def test_the_gateway_sets_who_is_calling_and_no_client_copy_reaches_the_backend(
    stack: Stack, received: list[Received]
) -> None:
    authorization, customer_id = bearer(stack)
    spoofed = {"X-Auth-Request-User": "1", "x-auth-request-groups": "staff,superuser", "X-AUTH-REQUEST-USER": "2"}

    stack.request("GET", "/api/v1/orders/", authorization=authorization, headers=spoofed)

    [request] = received
    assert request.header("X-Auth-Request-User") == [customer_id]
    assert request.header("X-Auth-Request-Groups") == ["customer"]


def test_the_backends_root_is_proxied_too_and_only_with_a_token(stack: Stack, received: list[Received]) -> None:
    authorization, customer_id = bearer(stack)

    refused = stack.request("GET", "/")
    answer = stack.request("GET", "/", authorization=authorization, query={"q": ["shoes"]})

    [request] = received
    assert (refused.status, answer.status) == (401, 200)
    assert (request.method, request.path) == ("GET", "/?q=shoes")
    assert request.header("X-Auth-Request-User") == [customer_id]


def test_a_staff_members_groups_name_staff_and_their_django_groups(stack: Stack, received: list[Received]) -> None:
    staff = stack.new_customer()
    services.customer_store().set_roles(staff, True, False, ("support",), revoke_at=0.0)

    stack.request("GET", "/api/v1/orders/", authorization=f"Bearer {stack.login(staff)['access']}")

    assert received[0].header("X-Auth-Request-Groups") == ["staff,support"]


@pytest.mark.parametrize("authorization", [None, "Bearer not.a.token", "Basic dXNlcjpwYXNz"])
def test_no_token_or_a_bad_one_is_simplejwts_401_and_the_backend_never_hears_of_it(
    stack: Stack, received: list[Received], authorization: str | None
) -> None:
    answer = stack.request("POST", "/api/v1/orders/", {"quantity": 1}, authorization=authorization)

    assert answer.status == 401
    assert "detail" in answer.body
    assert received == []


def test_the_services_own_routes_stay_its_own(stack: Stack, received: list[Received]) -> None:
    authorization, customer_id = bearer(stack)

    profile = stack.request("GET", f"/api/v1/customers/{customer_id}/", authorization=authorization)
    login = stack.request("POST", "/auth/token/", {"email": EMAIL, "password": PASSWORD})

    assert (profile.status, profile.body["id"]) == (200, int(customer_id))
    assert login.status == 200
    assert received == []


def test_the_backends_redirects_and_errors_reach_the_client_as_they_are(stack: Stack, received: list[Received]) -> None:
    authorization, _ = bearer(stack)

    moved = stack.request("GET", "/status/302/", authorization=authorization)
    failed = stack.request("GET", "/status/500/", authorization=authorization)

    assert (moved.status, moved.headers["location"]) == (302, "/elsewhere/")
    assert failed.status == 500
    assert [request.path for request in received] == ["/status/302/", "/status/500/"]


def test_without_a_backend_url_there_is_no_catch_all_route() -> None:
    model = gateway.load()

    assert [route for route in model.routes if route.backend is not None] == []
    assert model.route_for("GET", "/api/v1/orders/") is None


def test_make_local_serves_the_proxy_route_from_the_template(backend: Backend, received: list[Received]) -> None:
    with local_api(f"BackendUrl={backend.url}") as base:
        login = urllib.request.Request(
            f"{base}/auth/token/",
            data=json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(login, timeout=30) as response:
            access = json.loads(response.read())["access"]
        shop = urllib.request.Request(
            f"{base}/shop/cart/?page=2",
            headers={"Authorization": f"Bearer {access}", "X-Auth-Request-User": "someone-else"},
        )
        with urllib.request.urlopen(shop, timeout=30) as response:
            status = response.status

    [request] = received
    assert (status, request.path) == (200, "/shop/cart/?page=2")
    assert request.header("X-Auth-Request-User") == ["1"]  # make local's demo customer
    assert request.header("X-Auth-Request-Groups") == ["customer"]
