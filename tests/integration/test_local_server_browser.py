"""The gateway's side of CORS and the custom domain's base path, over real HTTP against `make local`.

The local server reads both from template.yaml: the gateway responses' header mappings
(``method.request.header.Origin``), the OPTIONS routes without the authorizer, and the
``AWS::ApiGateway::BasePathMapping`` of a custom domain.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator

import pytest
import requests

from tests.local_api import free_port, local_api, start_server, stop_server
from tools import gateway

SHOP = "http://localhost:5173"
EVIL = "http://127.0.0.1:5174"
BASE = "/shop"
DEMO = {"email": "customer@example.com", "password": "SecurePass123!"}
TIMEOUT = 60  # a first request waits for the function's cold start on a loaded machine
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    """The API under https://api.shop.example/shop/ as the template maps it, served locally."""
    overrides = (f"AllowedOrigins={SHOP}", "CustomDomainName=api.shop.example", f"CustomDomainBasePath={BASE[1:]}")
    with local_api(*overrides) as url:
        yield url + BASE


def assert_cors(answer: requests.Response, origin: str = SHOP) -> None:
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Vary"] == "Origin"


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_given_a_protected_route_when_the_browser_sends_the_preflight_then_204_without_the_authorizer(
    api: str, authorization: str | None
) -> None:
    headers = {"Origin": SHOP, "Access-Control-Request-Method": "GET"}
    if authorization:
        headers["Authorization"] = authorization
    answer = requests.options(f"{api}/api/v1/customers/1/", headers=headers, timeout=TIMEOUT)
    assert (answer.status_code, answer.content) == (204, b"")
    assert answer.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, X-Token-Transport"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert_cors(answer)


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Token abc", 401), ("Bearer not-a-token", 401)],
    ids=["no-header", "unauthorized-gateway-response", "authorizer-deny"],
)
def test_given_an_allowed_origin_when_the_gateway_refuses_then_the_page_can_read_the_refusal(
    api: str, authorization: str | None, status: int
) -> None:
    headers = {"Origin": SHOP, **({"Authorization": authorization} if authorization else {})}
    answer = requests.get(f"{api}/api/v1/customers/1/", headers=headers, timeout=TIMEOUT)
    assert answer.status_code == status
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert_cors(answer)


def test_given_an_allowed_origin_when_the_route_is_unknown_then_the_404_carries_cors(api: str) -> None:
    answer = requests.get(f"{api}/api/v1/orders/", headers={"Origin": SHOP}, timeout=TIMEOUT)
    assert (answer.status_code, answer.json()) == (404, {"detail": "Not found."})
    assert_cors(answer)


def test_given_an_origin_not_in_the_list_when_a_login_succeeds_then_no_cors_and_gateway_errors_echo_it(
    api: str,
) -> None:
    login = requests.post(f"{api}/auth/token/", json=DEMO, headers={"Origin": EVIL}, timeout=TIMEOUT)
    assert login.status_code == 200
    assert "Access-Control-Allow-Origin" not in login.headers
    refused = requests.get(f"{api}/api/v1/customers/1/", headers={"Origin": EVIL}, timeout=TIMEOUT)
    assert (refused.status_code, refused.json()) == (401, NOT_PROVIDED)
    assert refused.headers["Access-Control-Allow-Origin"] == EVIL, "a gateway response cannot check the list"


def test_given_the_base_path_when_a_browser_logs_in_with_cookies_then_the_cookie_is_scoped_under_it(api: str) -> None:
    browser = {"Origin": SHOP, "X-Token-Transport": "cookie"}
    login = requests.post(f"{api}/auth/token/", json=DEMO, headers=browser, timeout=TIMEOUT)
    assert (login.status_code, list(login.json())) == (200, ["access"])
    name, attributes = login.headers["Set-Cookie"].split("=", 1)[0], login.headers["Set-Cookie"].split("; ")[1:]
    assert (name, attributes[0]) == ("refresh_token", f"Path={BASE}/auth/token/")
    token = login.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    profile = requests.get(
        f"{api}/api/v1/customers/1/", headers={"Authorization": f"Bearer {login.json()['access']}"}, timeout=TIMEOUT
    )
    assert (profile.status_code, profile.json()["id"]) == (200, 1)
    refreshed = requests.post(
        f"{api}/auth/token/refresh/", json={}, headers={**browser, "Cookie": f"{name}={token}"}, timeout=TIMEOUT
    )
    assert (refreshed.status_code, list(refreshed.json())) == (200, ["access"])
    assert_cors(refreshed)


def test_given_the_base_path_when_a_route_is_called_outside_it_then_404(api: str) -> None:
    root = api.removesuffix(BASE)
    assert requests.post(f"{root}/auth/token/", json=DEMO, timeout=TIMEOUT).status_code == 404


def test_given_the_default_template_when_the_gateway_refuses_a_page_then_no_cors_header_is_added() -> None:
    model = gateway.load()
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_5XX"):
        headers = model.gateway_response(kind, request_headers={"Origin": SHOP}).headers
        assert not {"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Vary"} & set(headers), kind
    assert model.base_path == ""


def test_given_a_public_options_route_beside_an_any_route_when_the_preflight_comes_then_no_authorizer_runs() -> None:
    model = gateway.load()
    preflights = sorted({route.path for route in model.routes if route.method == "OPTIONS"})
    assert "/auth/password/change" in preflights, "the change route is ANY behind the authorizer, OPTIONS beside it"
    for path in preflights:
        found = model.route_for("OPTIONS", path.replace("{id}", "1") + "/")
        assert found is not None, path
        assert (found[0].method, found[0].public) == ("OPTIONS", True), path


@pytest.mark.parametrize("kind", sorted(gateway.load().responses))
def test_given_allowed_origins_when_the_gateway_answers_any_response_type_then_the_page_can_read_it(
    kind: str,
) -> None:
    model = gateway.load(overrides={"AllowedOrigins": SHOP})
    answer = model.gateway_response(kind, request_headers={"origin": SHOP})
    assert answer.status >= 400
    assert (
        answer.headers["Access-Control-Allow-Origin"],
        answer.headers["Access-Control-Allow-Credentials"],
        answer.headers["Vary"],
    ) == (SHOP, "true", "Origin")
    assert "Access-Control-Allow-Origin" not in model.gateway_response(kind, request_headers={}).headers


def test_given_the_storefront_port_is_taken_when_the_server_starts_then_it_exits_naming_it_and_storefront_port() -> (
    None
):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = int(holder.getsockname()[1])
        server = start_server(
            "--port", str(free_port()), "--storage-port", str(free_port()), "--storefront-port", str(taken)
        )
        try:
            output, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            stop_server(server)
            pytest.fail("the server did not exit within 10 s")
    assert server.returncode == 1
    assert len(output.splitlines()) == 1, output
    assert f"port {taken} (the storefront)" in output
    assert "STOREFRONT_PORT=" in output
