"""POST /auth/token/refresh/: one test per row of the contract's refresh table."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tests.helpers import SIGNING_KEY, HttpAnswer, claims, json_event, mint


@pytest.fixture
def refresh(call: Callable[..., HttpAnswer], customer: Any) -> Callable[..., HttpAnswer]:
    def post(body: Any) -> HttpAnswer:
        return call("refresh_token", json_event("refresh_token_ok", body))

    return post


def token_not_valid(detail: str) -> dict[str, str]:
    return {"detail": detail, "code": "token_not_valid"}


def assert_refused(answer: HttpAnswer, body: dict[str, Any]) -> None:
    assert answer.status == 401
    assert answer.body == body
    assert answer.headers["www-authenticate"] == 'Bearer realm="api"'


def test_valid_refresh_token_gets_a_new_access_token(refresh: Callable[..., HttpAnswer]) -> None:
    answer = refresh({"refresh": mint(claims("refresh"))})
    assert answer.status == 200
    assert list(answer.body) == ["access"]
    payload = jwt.decode(answer.body["access"], SIGNING_KEY, algorithms=["HS256"])
    assert list(payload) == ["token_type", "exp", "iat", "jti", "user_id", "family"]
    assert (payload["token_type"], payload["user_id"], payload["exp"] - payload["iat"]) == ("access", "1", 3600)


def test_empty_object_requires_refresh(refresh: Callable[..., HttpAnswer]) -> None:
    answer = refresh({})
    assert (answer.status, answer.body) == (400, {"refresh": ["This field is required."]})


def test_blank_refresh_is_refused_as_blank(refresh: Callable[..., HttpAnswer]) -> None:
    answer = refresh({"refresh": ""})
    assert (answer.status, answer.body) == (400, {"refresh": ["This field may not be blank."]})


def test_garbage_is_an_invalid_token(refresh: Callable[..., HttpAnswer]) -> None:
    assert_refused(refresh({"refresh": "not-a-jwt"}), token_not_valid("Token is invalid"))


def test_tampered_signature_is_an_invalid_token(refresh: Callable[..., HttpAnswer]) -> None:
    header, payload, signature = mint(claims("refresh")).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(refresh({"refresh": f"{header}.{payload}.{flipped}"}), token_not_valid("Token is invalid"))


def test_alg_none_is_an_invalid_token(refresh: Callable[..., HttpAnswer]) -> None:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims('refresh'))}."
    assert_refused(refresh({"refresh": unsigned}), token_not_valid("Token is invalid"))


def test_an_access_token_has_the_wrong_type(refresh: Callable[..., HttpAnswer]) -> None:
    assert_refused(refresh({"refresh": mint(claims("access"))}), token_not_valid("Token has wrong type"))


def test_expired_refresh_token_is_expired(refresh: Callable[..., HttpAnswer]) -> None:
    expired = claims("refresh", exp=1_700_000_000, iat=1_699_740_800)
    assert_refused(refresh({"refresh": mint(expired)}), token_not_valid("Token is expired"))


def test_token_without_jti_has_no_id(refresh: Callable[..., HttpAnswer]) -> None:
    assert_refused(refresh({"refresh": mint(claims("refresh", jti=None))}), token_not_valid("Token has no id"))


def test_token_without_token_type_has_no_type(refresh: Callable[..., HttpAnswer]) -> None:
    answer = refresh({"refresh": mint(claims("refresh", token_type=None))})
    assert_refused(answer, token_not_valid("Token has no type"))


def test_token_without_exp_has_no_exp_claim(refresh: Callable[..., HttpAnswer]) -> None:
    answer = refresh({"refresh": mint(claims("refresh", exp=None))})
    assert_refused(answer, token_not_valid("Token has no 'exp' claim"))


def test_inactive_customer_has_no_active_account(
    refresh: Callable[..., HttpAnswer], make_customer: Callable[..., Any]
) -> None:
    make_customer("inactive@example.com", customer_id="7", is_active=False)
    answer = refresh({"refresh": mint(claims("refresh", user_id="7"))})
    assert_refused(answer, {"detail": "No active account found for the given token."})


def test_deleted_customer_has_no_active_account_with_a_code(refresh: Callable[..., HttpAnswer]) -> None:
    answer = refresh({"refresh": mint(claims("refresh", user_id="404"))})
    assert_refused(answer, {"detail": "No active account found for the given token.", "code": "no_active_account"})
