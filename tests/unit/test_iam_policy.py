"""The authorizer's IAM policy is exactly Powertools' APIGatewayAuthorizerResponse answer."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    parse_api_gateway_arn,
)

from shared.tokens.authorizer import Decision, iam_policy

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod/GET/api/v1/customers/1/"


def powertools_answer(decision: Decision, method_arn: str) -> dict[str, object]:
    arn = parse_api_gateway_arn(method_arn)
    response = APIGatewayAuthorizerResponse(
        principal_id=decision.principal_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=decision.context,
    )
    if decision.allowed:
        response.allow_all_routes()
    else:
        response.deny_all_routes()
    return response.asdict()


@pytest.mark.parametrize(
    "decision",
    [
        Decision(True, "7", {"user_id": "7", "jti": "abc", "token_type": "access", "exp": 1700000000}),
        Decision(False, "anonymous", {"body": '{"detail": "x"}', "reason": "token_not_valid"}),
    ],
)
def test_given_a_decision_when_answered_then_the_policy_is_powertools_own(decision: Decision) -> None:
    assert iam_policy(decision, METHOD_ARN) == powertools_answer(decision, METHOD_ARN)


@pytest.mark.parametrize("method_arn", ["not-an-arn", "arn:aws:execute-api:eu-west-1:123456789012:abc123def4/prod"])
def test_given_a_malformed_method_arn_when_answered_then_it_raises_as_powertools_does(method_arn: str) -> None:
    decision = Decision(True, "7", {"user_id": "7"})
    with pytest.raises((IndexError, ValueError)):
        powertools_answer(decision, method_arn)
    with pytest.raises((IndexError, ValueError)):
        iam_policy(decision, method_arn)


def test_given_an_enrolment_only_session_then_the_policy_is_powertools_own_for_those_routes_alone() -> None:
    decision = Decision(True, "7", {"user_id": "7"}, only_routes=("/auth/mfa/status", "/auth/mfa/totp/activate"))
    arn = parse_api_gateway_arn(METHOD_ARN)
    expected = APIGatewayAuthorizerResponse(
        principal_id="7",
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=decision.context,
    )
    for route in decision.only_routes:
        expected.allow_route("*", route + "*")

    assert iam_policy(decision, METHOD_ARN) == expected.asdict()


def test_given_a_token_with_a_scope_this_service_never_mints_then_denied() -> None:
    from shared.settings import Settings
    from shared.tokens.authorizer import RequestAuthorizer
    from shared.tokens.minting import TokenService
    from tests.helpers import SIGNING_KEY, StaticKeys, claims, mint

    authorizer = RequestAuthorizer(TokenService(Settings(), StaticKeys(SIGNING_KEY)))

    decision = authorizer.decide("Bearer " + mint(claims("access", scope="admin")))

    assert (decision.allowed, decision.reason) == (False, "unknown_scope")
