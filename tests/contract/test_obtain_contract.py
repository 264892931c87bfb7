"""POST /auth/token/: one test per row of the contract's obtain table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tests.helpers import EMAIL, PASSWORD, SIGNING_KEY, HttpAnswer, json_event

NO_ACCOUNT = {"detail": "No active account found with the given credentials"}


@pytest.fixture
def obtain(call: Callable[..., HttpAnswer], customer: Any) -> Callable[..., HttpAnswer]:
    def post(body: Any, **options: Any) -> HttpAnswer:
        return call("obtain_token", json_event("obtain_token_ok", body, **options))

    return post


def assert_unauthorized(answer: HttpAnswer) -> None:
    assert answer.status == 401
    assert answer.body == NO_ACCOUNT
    assert answer.headers["www-authenticate"] == 'Bearer realm="api"'


def test_empty_object_lists_both_fields_as_required(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain({})
    assert answer.status == 400
    assert answer.body == {"email": ["This field is required."], "password": ["This field is required."]}


def test_email_only_requires_password(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain({"email": EMAIL})
    assert (answer.status, answer.body) == (400, {"password": ["This field is required."]})


def test_password_only_requires_email(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain({"password": PASSWORD})
    assert (answer.status, answer.body) == (400, {"email": ["This field is required."]})


def test_both_blank_are_refused_as_blank(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain({"email": "", "password": "  "})
    assert answer.status == 400
    assert answer.body == {"email": ["This field may not be blank."], "password": ["This field may not be blank."]}


def test_null_email_is_refused_as_null(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain({"email": None, "password": PASSWORD})
    assert (answer.status, answer.body) == (400, {"email": ["This field may not be null."]})


def test_email_as_an_object_is_not_a_valid_string(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain({"email": {"$ne": ""}, "password": PASSWORD})
    assert (answer.status, answer.body) == (400, {"email": ["Not a valid string."]})


def test_malformed_json_reports_the_parser_message(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain('{"email": "customer@example.com", "password": ')
    assert answer.status == 400
    assert answer.body == {"detail": "JSON parse error - Expecting value: line 1 column 47 (char 46)"}


def test_get_is_not_allowed(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain(None, method="GET")
    assert (answer.status, answer.body) == (405, {"detail": 'Method "GET" not allowed.'})


def test_wrong_password_is_refused(obtain: Callable[..., HttpAnswer]) -> None:
    assert_unauthorized(obtain({"email": EMAIL, "password": "wrong-password"}))


def test_unknown_email_is_refused_with_the_same_body(obtain: Callable[..., HttpAnswer]) -> None:
    assert_unauthorized(obtain({"email": "nobody@example.com", "password": PASSWORD}))


def test_email_in_another_case_is_refused_because_emails_match_exactly(obtain: Callable[..., HttpAnswer]) -> None:
    assert_unauthorized(obtain({"email": EMAIL.upper(), "password": PASSWORD}))


def test_inactive_customer_with_the_right_password_is_refused(
    obtain: Callable[..., HttpAnswer], make_customer: Callable[..., Any]
) -> None:
    make_customer("inactive@example.com", customer_id="7", is_active=False)
    assert_unauthorized(obtain({"email": "inactive@example.com", "password": PASSWORD}))


def test_form_encoded_credentials_get_a_token_pair(obtain: Callable[..., HttpAnswer]) -> None:
    answer = obtain(
        "email=customer%40example.com&password=SecurePass123%21", content_type="application/x-www-form-urlencoded"
    )
    assert answer.status == 200
    assert list(answer.body) == ["refresh", "access"]
    assert jwt.decode(answer.body["access"], SIGNING_KEY, algorithms=["HS256"])["user_id"] == "1"
