"""The token endpoints' other methods (DRF's 405 with ``Allow``) and their URLs without the slash.

docs/contract.md: a 405 carries ``Allow: POST, OPTIONS`` as DRF's does; ``POST /auth/token``
(no trailing slash) is a 308 to ``/prod/auth/token/`` (the absolute path the client asked for, plus the
slash), so the client's POST and body reach Django's URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.adversarial.stack import TOKEN_FUNCTIONS
from tests.helpers import EMAIL, PASSWORD, HttpAnswer, json_event


def token_event(function: str, body: Any, method: str = "POST", path: str | None = None) -> dict[str, Any]:
    name, slashed, resource = TOKEN_FUNCTIONS[function]
    event = json_event(name, body, method=method)
    event["path"], event["resource"] = path or slashed, resource
    event["requestContext"]["path"] = f"/prod{event['path']}"
    return event


@pytest.mark.parametrize("function", sorted(TOKEN_FUNCTIONS))
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_given_a_token_endpoint_when_another_method_is_sent_then_405_names_post_and_options_in_allow(
    call: Callable[..., HttpAnswer], function: str, method: str
) -> None:
    answer = call(function, token_event(function, None, method=method))

    assert (answer.status, answer.body) == (405, {"detail": f'Method "{method}" not allowed.'})
    assert answer.headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("function", sorted(TOKEN_FUNCTIONS))
def test_given_a_token_url_without_its_slash_when_posted_then_308_points_at_the_slashed_url(
    call: Callable[..., HttpAnswer], function: str
) -> None:
    slashed = TOKEN_FUNCTIONS[function][1]

    answer = call(function, token_event(function, {"refresh": "x"}, path=slashed.rstrip("/")))

    assert answer.status == 308
    assert answer.headers["location"] == f"/prod{slashed}"
    assert answer.headers["content-type"] == "application/json"
    assert answer.body == {"detail": f"This URL ends with a slash: /prod{slashed}"}


def test_given_the_login_url_without_its_slash_when_posted_then_nothing_is_done_until_the_redirect_is_followed(
    call: Callable[..., HttpAnswer], customer: Any
) -> None:
    credentials = {"email": EMAIL, "password": PASSWORD}

    redirected = call("obtain_token", token_event("obtain_token", credentials, path="/auth/token"))
    followed = call(
        "obtain_token",
        token_event("obtain_token", credentials, path=redirected.headers["location"].removeprefix("/prod")),
    )

    assert redirected.status == 308
    assert "access" not in redirected.body
    assert followed.status == 200
    assert list(followed.body) == ["refresh", "access"]


def test_given_a_query_string_when_redirected_then_it_is_kept(call: Callable[..., HttpAnswer]) -> None:
    event = token_event("refresh_token", {"refresh": "x"}, path="/auth/token/refresh")
    event["queryStringParameters"] = {"a": "1"}
    event["multiValueQueryStringParameters"] = {"a": ["1"]}

    answer = call("refresh_token", event)

    assert (answer.status, answer.headers["location"]) == (308, "/prod/auth/token/refresh/?a=1")


def test_given_a_path_starting_with_two_slashes_when_redirected_then_the_location_stays_on_this_host(
    call: Callable[..., HttpAnswer],
) -> None:
    event = token_event("refresh_token", {"refresh": "x"}, path="/auth/token/refresh")
    event["requestContext"]["path"] = "//evil.example/auth/token/refresh"

    answer = call("refresh_token", event)

    assert (answer.status, answer.headers["location"]) == (308, "/evil.example/auth/token/refresh/")
