"""Browsers: CORS on every kind of function answer, the preflight, the refresh token as a cookie.

Through the real handlers (shared/web/browser.py behind them). The gateway responses' side (401 from
the authorizer, 404, 5xx) and the base path over real HTTP are in
tests/integration/test_local_server_browser.py; the browser itself in tests/browser/.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import jwt
import pytest

from shared.settings import Settings, SettingsError
from tests.adversarial.document import answer_errors
from tests.conftest import FakeLambdaContext
from tests.faults import SERVER_ERROR, FaultInjector
from tests.helpers import PASSWORD, SIGNING_KEY, HttpAnswer, json_event
from tests.mailbox import STRONG, account_event

SHOP = "https://www.shop.example"
OTHER_SHOP = "https://admin.shop.example"
EVIL = "https://evil.example"
CREDENTIALS = {"email": "customer@example.com", "password": PASSWORD}
REFRESH_LIFETIME = 259200
ORIGIN_NOT_ALLOWED = {"detail": "Cookie transport is not allowed from this origin.", "code": "origin_not_allowed"}
NO_COOKIE = {"detail": "No refresh token cookie was sent.", "code": "not_authenticated"}
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
COOKIE_ATTRIBUTES = ["Path=/auth/token/", f"Max-Age={REFRESH_LIFETIME}", "HttpOnly", "Secure", "SameSite=Strict"]
CLEARED_ATTRIBUTES = ["Path=/auth/token/", "Max-Age=0", "HttpOnly", "Secure", "SameSite=Strict"]

# function -> the event of events/ its requests start from
EVENTS = {
    "obtain_token": "obtain_token_ok",
    "refresh_token": "refresh_token_ok",
    "verify_token": "verify_token_ok",
    "blacklist_token": "blacklist_token_ok",
    "jwks": "jwks",
    "customer_profile": "customer_profile_own",
}


@pytest.fixture
def cors(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    """The template with AllowedOrigins set and rotation on (the deployed default)."""
    monkeypatch.setenv("ALLOWED_ORIGINS", f"{SHOP}, {OTHER_SHOP}")
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")
    monkeypatch.setenv("REFRESH_TOKEN_LIFETIME", str(REFRESH_LIFETIME))


def browser_event(
    function: str,
    body: Any = None,
    *,
    origin: str | None = SHOP,
    transport: str | None = None,
    cookie: str | None = None,
    method: str | None = None,
    event: str | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """An API Gateway event for ``function`` as a page on ``origin`` sends it."""
    name = event or EVENTS[function]
    proxy = json_event(name, body, method=method or ("GET" if function in ("jwks", "customer_profile") else "POST"))
    extra = {"Origin": origin, "X-Token-Transport": transport, "Cookie": cookie}
    headers = {**proxy["headers"], **{key: value for key, value in extra.items() if value is not None}}
    proxy["headers"], proxy["multiValueHeaders"] = headers, {key: [value] for key, value in headers.items()}
    if path is not None:
        proxy["path"] = proxy["requestContext"]["path"] = path
    return proxy


Send = Callable[..., HttpAnswer]


@pytest.fixture
def send(call: Callable[..., HttpAnswer], customer: Any) -> Send:
    def invoke(function: str, body: Any = None, **options: Any) -> HttpAnswer:
        return call(function, browser_event(function, body, **options))

    return invoke


def set_cookie(answer: HttpAnswer) -> tuple[str, str, list[str]]:
    """The answer's Set-Cookie as (name, value, attributes)."""
    first, *attributes = answer.headers["set-cookie"].split("; ")
    name, value = first.split("=", 1)
    return name, value, attributes


def log_in_with_cookie(send: Send) -> str:
    """The refresh token the browser keeps after a cookie login."""
    answer = send("obtain_token", CREDENTIALS, transport="cookie")
    assert answer.status == 200, answer.body
    return set_cookie(answer)[1]


def assert_cors(answer: HttpAnswer, origin: str = SHOP) -> None:
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["vary"] == "Origin"


def assert_no_cors(answer: HttpAnswer) -> None:
    assert not [name for name in answer.headers if name.startswith("access-control-")]


# CORS on every kind of answer


@pytest.mark.usefixtures("cors")
@pytest.mark.parametrize(
    ("function", "body", "options", "status"),
    [
        ("obtain_token", CREDENTIALS, {}, 200),
        ("obtain_token", {}, {}, 400),
        ("obtain_token", {**CREDENTIALS, "password": "wrong"}, {}, 401),
        ("obtain_token", "x" * 70_000, {}, 413),
        ("obtain_token", None, {"method": "PUT"}, 405),
        ("obtain_token", CREDENTIALS, {"path": "/auth/token/nowhere/"}, 404),
        ("refresh_token", {"refresh": "not-a-jwt"}, {}, 401),
        ("verify_token", {"token": "not-a-jwt"}, {}, 401),
        ("blacklist_token", "{", {}, 400),
        ("jwks", None, {}, 200),
        ("customer_profile", None, {}, 200),
        ("customer_profile", None, {"event": "customer_profile_other"}, 403),
    ],
    ids=["200", "400", "401", "413", "405", "404", "refresh-401", "verify-401", "blacklist-400", "jwks", "me", "403"],
)
def test_given_an_allowed_origin_when_a_function_answers_then_the_answer_carries_cors(
    send: Send, function: str, body: Any, options: dict[str, Any], status: int
) -> None:
    answer = send(function, body, **options)
    assert answer.status == status, answer.body
    assert_cors(answer)


@pytest.mark.usefixtures("cors")
def test_given_the_second_allowed_origin_when_it_calls_then_its_own_origin_is_echoed(send: Send) -> None:
    assert_cors(send("obtain_token", {}, origin=OTHER_SHOP), OTHER_SHOP)


@pytest.mark.usefixtures("cors")
def test_given_an_allowed_origin_when_storage_fails_then_the_503_carries_cors(
    faults: FaultInjector, send: Send
) -> None:
    faults.fail_always("dynamodb.BatchGetItem", SERVER_ERROR)
    answer = send("obtain_token", CREDENTIALS)
    assert answer.status == 503, answer.body
    assert_cors(answer)


@pytest.mark.usefixtures("cors")
@pytest.mark.parametrize("origin", [EVIL, "https://www.shop.example.evil.example", "null", SHOP + "/", SHOP.upper()])
def test_given_an_origin_not_in_the_list_when_it_logs_in_then_no_cors_header_lets_the_page_read_it(
    send: Send, origin: str
) -> None:
    answer = send("obtain_token", CREDENTIALS, origin=origin)
    assert answer.status == 200
    assert_no_cors(answer)
    assert answer.headers["vary"] == "Origin"


@pytest.mark.usefixtures("cors")
def test_given_no_origin_when_a_server_logs_in_then_only_vary_is_added(send: Send) -> None:
    answer = send("obtain_token", CREDENTIALS, origin=None)
    assert (answer.status, list(answer.body)) == (200, ["refresh", "access"])
    assert_no_cors(answer)
    assert answer.headers["vary"] == "Origin"


# The preflight


@pytest.mark.usefixtures("cors")
@pytest.mark.parametrize(
    ("function", "allow"),
    [
        ("obtain_token", "POST, OPTIONS"),
        ("refresh_token", "POST, OPTIONS"),
        ("verify_token", "POST, OPTIONS"),
        ("blacklist_token", "POST, OPTIONS"),
        ("jwks", "GET, HEAD, OPTIONS"),
        ("customer_profile", "GET, HEAD, OPTIONS"),
    ],
)
def test_given_an_allowed_origin_when_it_sends_the_preflight_then_204_allows_the_methods_and_headers(
    send: Send, function: str, allow: str
) -> None:
    answer = send(function, method="OPTIONS")
    assert (answer.status, answer.raw_body) == (204, "")
    assert answer.headers["allow"] == allow
    assert answer.headers["access-control-allow-methods"] == allow
    assert answer.headers["access-control-allow-headers"] == "Authorization, Content-Type, X-Token-Transport"
    assert answer.headers["access-control-max-age"] == "7200"
    assert_cors(answer)


@pytest.mark.usefixtures("cors")
def test_given_an_origin_not_in_the_list_when_it_sends_the_preflight_then_nothing_is_allowed(send: Send) -> None:
    answer = send("refresh_token", method="OPTIONS", origin=EVIL)
    assert answer.status == 204
    assert answer.headers["allow"] == "POST, OPTIONS"
    assert_no_cors(answer)


def test_given_no_allowed_origins_when_options_then_the_allowed_methods_and_no_cors(send: Send) -> None:
    answer = send("obtain_token", method="OPTIONS")
    assert (answer.status, answer.headers["allow"]) == (204, "POST, OPTIONS")
    assert_no_cors(answer)
    assert "vary" not in answer.headers


# Without the transport header: every answer as today, byte for byte


@pytest.mark.parametrize(
    ("function", "body"),
    [
        ("obtain_token", {}),
        ("obtain_token", {**CREDENTIALS, "password": "wrong"}),
        ("refresh_token", {"refresh": "not-a-jwt"}),
        ("refresh_token", {}),
        ("verify_token", {"token": "not-a-jwt"}),
        ("blacklist_token", {"refresh": "not-a-jwt"}),
        ("jwks", None),
        ("customer_profile", None),
    ],
)
def test_given_no_transport_header_when_cors_is_on_then_the_answer_is_byte_for_byte_the_same(
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
    customer: Any,
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    body: Any,
) -> None:
    def cold_call(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = load_handler(function).lambda_handler(event, lambda_context)
        return response

    today = cold_call(browser_event(function, body, origin=None))
    monkeypatch.setenv("ALLOWED_ORIGINS", SHOP)
    with_cors = cold_call(browser_event(function, body, origin=SHOP, cookie="refresh_token=x.y.z"))
    cors_headers = {"Access-Control-Allow-Origin": [SHOP], "Access-Control-Allow-Credentials": ["true"]}
    vary = with_cors["multiValueHeaders"].pop("Vary")
    assert (vary, with_cors.pop("multiValueHeaders")) == (
        ["Origin"],
        {**today.pop("multiValueHeaders"), **cors_headers},
    )
    assert with_cors == today


def test_given_no_transport_header_when_a_login_succeeds_then_both_tokens_are_in_the_body_and_no_cookie(
    cors: None, send: Send
) -> None:
    answer = send("obtain_token", CREDENTIALS)
    assert list(answer.body) == ["refresh", "access"]
    assert "set-cookie" not in answer.headers


# Cookie transport


@pytest.mark.usefixtures("cors")
def test_given_cookie_transport_when_logging_in_then_the_body_has_the_access_token_and_the_cookie_the_refresh(
    send: Send,
) -> None:
    answer = send("obtain_token", CREDENTIALS, transport="cookie")
    assert (answer.status, list(answer.body)) == (200, ["access"])
    name, value, attributes = set_cookie(answer)
    assert (name, attributes) == ("refresh_token", COOKIE_ATTRIBUTES)
    refresh = jwt.decode(value, SIGNING_KEY, algorithms=["HS256"])
    access = jwt.decode(answer.body["access"], SIGNING_KEY, algorithms=["HS256"])
    assert (refresh["token_type"], refresh["user_id"], access["user_id"]) == ("refresh", "1", "1")
    assert_cors(answer)


@pytest.mark.usefixtures("cors")
def test_given_the_cookie_when_refreshing_with_an_empty_body_then_a_new_access_token_and_the_rotated_cookie(
    send: Send,
) -> None:
    first = log_in_with_cookie(send)
    answer = send("refresh_token", {}, transport="cookie", cookie=f"theme=dark; refresh_token={first}")
    assert (answer.status, list(answer.body)) == (200, ["access"])
    name, rotated, attributes = set_cookie(answer)
    assert (name, attributes) == ("refresh_token", COOKIE_ATTRIBUTES)
    assert rotated != first
    again = send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={rotated}")
    assert again.status == 200, again.body


@pytest.mark.usefixtures("cors")
def test_given_a_rotated_cookie_when_the_old_one_is_presented_again_then_reuse_revokes_the_family_and_clears_it(
    send: Send,
) -> None:
    first = log_in_with_cookie(send)
    rotated = set_cookie(send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={first}"))[1]
    reused = send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={first}")
    assert (reused.status, reused.body) == (401, BLACKLISTED)
    assert set_cookie(reused) == ("refresh_token", "", CLEARED_ATTRIBUTES)
    assert reused.headers["www-authenticate"] == 'Bearer realm="api"'
    family = send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={rotated}")
    assert (family.status, family.body) == (401, BLACKLISTED)


@pytest.mark.usefixtures("cors")
def test_given_the_cookie_in_the_body_when_refreshing_the_json_way_then_reuse_rules_are_the_same(
    send: Send,
) -> None:
    first = log_in_with_cookie(send)
    assert send("refresh_token", {"refresh": first}).status == 200
    reused = send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={first}")
    assert (reused.status, reused.body) == (401, BLACKLISTED)


@pytest.mark.usefixtures("cors")
@pytest.mark.parametrize("cookie", [None, "", "theme=dark", "refresh_token=", 'refresh_token="unterminated'])
def test_given_no_refresh_cookie_when_refreshing_with_cookie_transport_then_401(send: Send, cookie: str | None) -> None:
    answer = send("refresh_token", {}, transport="cookie", cookie=cookie)
    assert (answer.status, answer.body) == (401, NO_COOKIE)
    assert answer.headers["www-authenticate"] == 'Bearer realm="api"'
    assert_cors(answer)


@pytest.mark.usefixtures("cors")
def test_given_the_cookie_when_logging_out_then_empty_answer_the_cookie_cleared_and_the_token_dead(
    send: Send,
) -> None:
    token = log_in_with_cookie(send)
    answer = send("blacklist_token", {}, transport="cookie", cookie=f"refresh_token={token}")
    assert (answer.status, answer.body, answer.raw_body) == (200, {}, "{}")
    assert set_cookie(answer) == ("refresh_token", "", CLEARED_ATTRIBUTES)
    after = send("refresh_token", {"refresh": token})
    assert (after.status, after.body) == (401, BLACKLISTED)


@pytest.mark.usefixtures("cors")
def test_given_a_dead_cookie_when_logging_out_again_then_401_and_the_cookie_is_cleared_anyway(send: Send) -> None:
    token = log_in_with_cookie(send)
    send("blacklist_token", {}, transport="cookie", cookie=f"refresh_token={token}")
    again = send("blacklist_token", {}, transport="cookie", cookie=f"refresh_token={token}")
    assert (again.status, again.body) == (401, BLACKLISTED)
    assert set_cookie(again)[1:] == ("", CLEARED_ATTRIBUTES)


@pytest.mark.usefixtures("cors")
@pytest.mark.parametrize("origin", [EVIL, None])
@pytest.mark.parametrize("function", ["obtain_token", "refresh_token", "blacklist_token"])
def test_given_an_origin_not_in_the_list_when_it_asks_for_cookies_then_403_and_the_cookie_is_not_read(
    send: Send, function: str, origin: str | None
) -> None:
    token = log_in_with_cookie(send)
    answer = send(function, CREDENTIALS, transport="cookie", origin=origin, cookie=f"refresh_token={token}")
    assert (answer.status, answer.body) == (403, ORIGIN_NOT_ALLOWED)
    assert "set-cookie" not in answer.headers
    assert_no_cors(answer)
    still_live = send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={token}")
    assert still_live.status == 200, "the refused request neither rotated nor logged out the cookie's token"


def test_given_no_allowed_origins_when_a_page_asks_for_cookies_then_403(send: Send) -> None:
    answer = send("obtain_token", CREDENTIALS, transport="cookie")
    assert (answer.status, answer.body) == (403, ORIGIN_NOT_ALLOWED)
    assert "set-cookie" not in answer.headers


@pytest.mark.usefixtures("cors")
def test_given_another_transport_value_when_logging_in_then_the_tokens_come_in_the_body(send: Send) -> None:
    answer = send("obtain_token", CREDENTIALS, transport="body")
    assert list(answer.body) == ["refresh", "access"]
    assert "set-cookie" not in answer.headers


def test_given_cookie_parameters_and_a_base_path_when_logging_in_under_it_then_the_cookie_follows_them(
    cors: None, monkeypatch: pytest.MonkeyPatch, send: Send
) -> None:
    monkeypatch.setenv("REFRESH_COOKIE_NAME", "shop_session")
    monkeypatch.setenv("REFRESH_COOKIE_SAMESITE", "Lax")
    monkeypatch.setenv("REFRESH_COOKIE_DOMAIN", "shop.example")
    monkeypatch.setenv("BASE_PATH", "auth-api")
    answer = send("obtain_token", CREDENTIALS, transport="cookie", path="/auth-api/auth/token/")
    assert answer.status == 200, answer.body
    name, _, attributes = set_cookie(answer)
    assert name == "shop_session"
    assert attributes == [
        "Path=/auth-api/auth/token/",
        "Domain=shop.example",
        f"Max-Age={REFRESH_LIFETIME}",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
    ]


def test_given_a_base_path_when_called_without_it_then_the_route_still_answers(
    monkeypatch: pytest.MonkeyPatch, send: Send
) -> None:
    monkeypatch.setenv("BASE_PATH", "/auth-api/")
    assert send("verify_token", {"token": "x"}, path="/auth-api/auth/token/verify/").status == 401
    assert send("verify_token", {"token": "x"}).status == 401


@pytest.mark.parametrize("origins", ["https://shop.example/", "*", "shop.example", "https://shop.example/path"])
def test_given_an_allowed_origin_that_can_never_match_when_settings_load_then_they_refuse_it(origins: str) -> None:
    with pytest.raises(SettingsError, match="is not an origin"):
        Settings(ALLOWED_ORIGINS=f"https://ok.example,{origins}")


def test_given_origins_with_spaces_when_settings_load_then_each_is_exact() -> None:
    settings = Settings(ALLOWED_ORIGINS=" https://a.example , http://localhost:5173,")
    assert settings.allowed_origins == {"https://a.example", "http://localhost:5173"}


@pytest.mark.usefixtures("cors")
def test_given_the_cookie_flow_when_each_answer_is_checked_then_openapi_yaml_describes_it(send: Send) -> None:
    login = send("obtain_token", CREDENTIALS, transport="cookie")
    token = set_cookie(login)[1]
    refreshed = send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={token}")
    rotated = set_cookie(refreshed)[1]
    answers = [
        ("POST", "/auth/token/", login),
        ("POST", "/auth/token/refresh/", refreshed),
        ("POST", "/auth/token/refresh/", send("refresh_token", {}, transport="cookie")),
        ("POST", "/auth/token/refresh/", send("refresh_token", {}, transport="cookie", origin=EVIL)),
        ("POST", "/auth/token/", send("obtain_token", CREDENTIALS, transport="cookie", origin=EVIL)),
        ("OPTIONS", "/auth/token/", send("obtain_token", method="OPTIONS")),
        ("OPTIONS", "/api/v1/customers/1/", send("customer_profile", method="OPTIONS")),
        ("POST", "/auth/token/blacklist/", send("blacklist_token", {}, transport="cookie")),
        (
            "POST",
            "/auth/token/blacklist/",
            send("blacklist_token", {}, transport="cookie", cookie=f"refresh_token={rotated}"),
        ),
        (
            "POST",
            "/auth/token/blacklist/",
            send("blacklist_token", {}, transport="cookie", cookie=f"refresh_token={rotated}"),
        ),
    ]
    assert [answer.status for _, _, answer in answers] == [200, 200, 401, 403, 403, 204, 204, 401, 200, 401]
    assert [error for method, path, answer in answers for error in answer_errors(method, path, answer)] == []


# The password change: its fresh refresh token replaces the cookie


def change_from(origin: str) -> dict[str, Any]:
    """A password change of customer "1" that a page on ``origin`` sends with cookie transport."""
    body = {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG}
    headers = {"Origin": origin, "X-Token-Transport": "cookie"}
    event: dict[str, Any] = account_event("password_change_wrong_old", body, caller="1", headers=headers)
    return event


@pytest.mark.usefixtures("cors")
def test_given_cookie_transport_when_changing_the_password_then_the_access_token_in_the_body_the_refresh_in_the_cookie(
    send: Send, call: Callable[..., HttpAnswer]
) -> None:
    before = log_in_with_cookie(send)

    answer = call("change_password", change_from(SHOP))

    assert answer.status == 200, answer.body
    assert set(answer.body) == {"detail", "access"}
    assert answer_errors("POST", "/auth/password/change/", answer) == []
    assert_cors(answer)
    name, fresh, attributes = set_cookie(answer)
    assert (name, attributes) == ("refresh_token", COOKIE_ATTRIBUTES)
    assert send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={fresh}").status == 200
    assert send("refresh_token", {}, transport="cookie", cookie=f"refresh_token={before}").body == BLACKLISTED


@pytest.mark.usefixtures("cors")
def test_given_cookie_transport_from_an_origin_not_in_the_list_when_changing_the_password_then_403_and_unchanged(
    send: Send, call: Callable[..., HttpAnswer]
) -> None:
    answer = call("change_password", change_from(EVIL))

    assert (answer.status, answer.body) == (403, ORIGIN_NOT_ALLOWED)
    assert answer_errors("POST", "/auth/password/change/", answer) == []
    assert "set-cookie" not in answer.headers
    assert send("obtain_token", CREDENTIALS).status == 200, "the old password still works"
