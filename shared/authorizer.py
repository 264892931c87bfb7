"""The API Gateway TOKEN authorizer's decision, with simplejwt's JWTAuthentication answers.

``decide`` turns the ``Authorization`` header into an Allow (customer id as principal,
a flat context for the route's function) or a Deny that carries the exact JSON body
simplejwt would have answered. API Gateway cannot run logic in a gateway response, so
the Deny puts the whole body, already serialised, in ``context.body`` and the template's
``ACCESS_DENIED`` response renders ``$context.authorizer.body`` with status 401.

Stateless by default: only the token is checked. ``customer_check`` (a setting) adds one
DynamoDB read per decision to refuse deleted, inactive and revoked customers (tokens
issued before ``tokens_valid_after``); shared/customer_status.py caches it for a few
seconds per container.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.errors import TokenError
from shared.tokens import ACCESS, TokenService

AUTH_HEADER_TYPE = "Bearer"

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
BAD_HEADER = {
    "detail": "Authorization header must contain two space-delimited values",
    "code": "bad_authorization_header",
}
NO_USER_ID = {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}
USER_NOT_FOUND = {"detail": "User not found", "code": "user_not_found"}
USER_INACTIVE = {"detail": "User is inactive", "code": "user_inactive"}

ContextValue = str | int | bool


class CustomerSnapshot(Protocol):
    """What the optional customer check knows of a customer (shared.customers.Customer)."""

    @property
    def is_active(self) -> bool: ...

    def revoked(self, issued_at: int | None) -> bool: ...


@dataclass(frozen=True)
class Decision:
    allowed: bool
    principal_id: str
    context: dict[str, ContextValue] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return str(self.context.get("reason", ""))


def _deny(body: Mapping[str, object], reason: str) -> Decision:
    return Decision(False, "anonymous", {"body": json.dumps(body), "reason": reason})


def iam_policy(decision: Decision, method_arn: str) -> dict[str, Any]:
    """The TOKEN authorizer's answer: ``decision`` over every route of the stage in ``method_arn``.

    Exactly what Powertools' ``APIGatewayAuthorizerResponse`` answers after
    ``allow_all_routes()`` / ``deny_all_routes()``, written out here: importing that class runs
    the ``data_classes`` package's ``__init__``, which imports every event class (~16 ms CPU of
    the authorizer's cold start, bench/README.md). A malformed ARN raises, as there.
    """
    arn = method_arn.split(":")
    api_id, stage, _method, *_ = arn[5].split("/")
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow" if decision.allowed else "Deny",
        "Resource": [f"arn:aws:execute-api:{arn[3]}:{arn[4]}:{api_id}/{stage}/*/*"],
    }
    policy: dict[str, Any] = {
        "principalId": decision.principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }
    if decision.context:
        policy["context"] = decision.context
    return policy


def not_valid_for_any_token_type(message: str) -> dict[str, object]:
    """simplejwt's InvalidToken from JWTAuthentication.get_validated_token."""
    return {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    }


class RequestAuthorizer:
    def __init__(
        self, tokens: TokenService, customer_check: Callable[[str], CustomerSnapshot | None] | None = None
    ) -> None:
        self._tokens = tokens
        self._customer_check = customer_check

    def decide(self, authorization: str | None) -> Decision:
        """simplejwt's JWTAuthentication.authenticate, as an authorizer decision."""
        parts = (authorization or "").split()
        if not parts or parts[0] != AUTH_HEADER_TYPE:
            return _deny(NOT_PROVIDED, "not_provided")
        if len(parts) != 2:
            return _deny(BAD_HEADER, "bad_authorization_header")
        try:
            token = self._tokens.validate(parts[1], ACCESS)
        except TokenError as error:
            return _deny(not_valid_for_any_token_type(error.detail), "token_not_valid")
        if token.user_id is None:
            return _deny(NO_USER_ID, "no_user_id")
        if self._customer_check is not None:
            customer = self._customer_check(token.user_id)
            if customer is None:
                return _deny(USER_NOT_FOUND, "user_not_found")
            if not customer.is_active:
                return _deny(USER_INACTIVE, "user_inactive")
            if customer.revoked(token.iat):
                return _deny(not_valid_for_any_token_type("Token is blacklisted"), "revoked")
        return Decision(
            True,
            token.user_id,
            {"user_id": token.user_id, "jti": token.jti, "token_type": token.token_type, "exp": token.exp},
        )
