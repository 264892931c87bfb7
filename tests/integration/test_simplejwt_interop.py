"""Tokens made here are simplejwt's tokens and the reverse, with the same signing key.

Runs the real djangorestframework-simplejwt 5.5.1 (a dev-only dependency) in-process.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.settings import Settings
from shared.tokens.keyset import KeySet, parse
from shared.tokens.minting import ACCESS, REFRESH, TokenService
from tests.helpers import SIGNING_KEY, HttpAnswer, json_event


class StaticKey:
    """The legacy plain-string key, as the signing-key secret holds it before any rotation."""

    def get(self) -> KeySet:
        return parse(SIGNING_KEY)

    def refetch_for_unknown_kid(self) -> KeySet:
        return parse(SIGNING_KEY)


@pytest.fixture(scope="module")
def simplejwt(django_configured: None) -> Any:
    from rest_framework_simplejwt import tokens

    return tokens


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def decode(part: str) -> dict[str, Any]:
        return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))

    header, payload, _ = token.split(".")
    return decode(header), decode(payload)


def ours() -> TokenService:
    return TokenService(Settings(), StaticKey())


def test_simplejwt_accepts_our_access_token(simplejwt: Any) -> None:
    access = ours().issue_pair("42")["access"]
    accepted = simplejwt.AccessToken(access)
    assert accepted["user_id"] == "42"
    assert accepted["token_type"] == "access"


def test_simplejwt_accepts_our_refresh_token_and_derives_an_access_token(simplejwt: Any) -> None:
    refresh = simplejwt.RefreshToken(ours().issue_pair("42")["refresh"])
    assert refresh.access_token["user_id"] == "42"


def test_we_accept_simplejwt_tokens_of_both_types(simplejwt: Any) -> None:
    refresh = simplejwt.RefreshToken()
    refresh["user_id"] = "42"
    service = ours()
    assert service.validate(str(refresh), REFRESH).user_id == "42"
    assert service.validate(str(refresh.access_token), ACCESS).user_id == "42"


def test_our_tokens_have_simplejwts_header_and_claim_order(simplejwt: Any) -> None:
    theirs = simplejwt.RefreshToken()
    theirs["user_id"] = "42"
    pair = ours().issue_pair("42")
    simplejwt_claims = ["token_type", "exp", "iat", "jti", "user_id"]
    for mine, reference, extra in (
        # our one extra claim, after simplejwt's, ignored by simplejwt
        (pair["refresh"], str(theirs), ["family"]),
        (pair["access"], str(theirs.access_token), ["family"]),
    ):
        (my_header, my_payload), (their_header, their_payload) = segments(mine), segments(reference)
        assert my_header == their_header == {"alg": "HS256", "typ": "JWT"}
        assert list(their_payload) == simplejwt_claims
        assert list(my_payload) == simplejwt_claims + extra
        assert my_payload["exp"] - my_payload["iat"] == their_payload["exp"] - their_payload["iat"]
        assert len(my_payload["jti"]) == 32


def test_our_refresh_endpoint_accepts_a_refresh_token_minted_by_simplejwt(
    simplejwt: Any, call: Callable[..., HttpAnswer], customer: Any
) -> None:
    theirs = simplejwt.RefreshToken()
    theirs["user_id"] = "1"
    answer = call("refresh_token", json_event("refresh_token_ok", {"refresh": str(theirs)}))
    assert answer.status == 200
    assert simplejwt.AccessToken(answer.body["access"])["user_id"] == "1"


def test_a_token_from_an_older_simplejwt_with_an_integer_user_id_is_accepted(simplejwt: Any) -> None:
    refresh = simplejwt.RefreshToken()
    refresh["user_id"] = 42
    assert ours().validate(str(refresh), REFRESH).user_id == "42"
