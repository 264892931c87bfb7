"""``Caller.from_context`` reads both authorizers' shapes: the Lambda authorizer's flat context and
a JWT authorizer's ``claims`` (AuthorizerMode=jwt), so a route's function finds the same caller."""

from __future__ import annotations

from shared.tokens.authorizer import Caller

FLAT = {"user_id": "7", "iat": "1700000000", "family": "f1", "groups": "staff,buyers", "principalId": "7"}
CLAIMS = {
    "claims": {
        "token_type": "access",
        "exp": 1700003600,
        "iat": 1700000000,
        "jti": "j",
        "user_id": "7",
        "family": "f1",
        "is_staff": True,
        "groups": ["buyers"],
        "scope": "staff",
    }
}


def test_given_a_jwt_authorizers_claims_then_the_caller_is_the_lambda_authorizers() -> None:
    assert Caller.from_context(CLAIMS) == Caller.from_context(FLAT)
    assert Caller.from_context(CLAIMS).is_staff


def test_given_an_mfa_enrolment_session_through_a_jwt_authorizer_then_the_caller_claims_no_role() -> None:
    restricted = {"claims": {**CLAIMS["claims"], "scope": "mfa_enrolment"}}
    caller = Caller.from_context(restricted)
    assert (caller.user_id, caller.is_staff, caller.groups) == ("7", False, ("customer",))
