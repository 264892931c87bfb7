"""A protected route: what a client sees, through the template's authorizer and gateway responses.

Each Authorization header goes through tools.gateway (the template's ValidationExpression,
authorizer cache and GatewayResponses) to the real authorizer and, when allowed, to the
real GET /api/v1/customers/{id}/ function.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from shared import services
from tests.conftest import FakeLambdaContext
from tests.helpers import REGION, TABLE_NAME, claims, mint
from tools import gateway

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
BAD_HEADER = {
    "detail": "Authorization header must contain two space-delimited values",
    "code": "bad_authorization_header",
}

NO_USER_ID = {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}
USER_NOT_FOUND = {"detail": "User not found", "code": "user_not_found"}
USER_INACTIVE = {"detail": "User is inactive", "code": "user_inactive"}


def not_valid(message: str) -> dict[str, Any]:
    return {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
    }


@dataclass
class Seen:
    status: int
    headers: dict[str, str]
    body: Any


Client = Callable[..., Seen]


@pytest.fixture
def client(
    authorizer: Callable[[dict[str, Any]], dict[str, Any]],
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
    customer: Any,
) -> Client:
    model = gateway.load()
    profile = load_handler("customer_profile")

    def get(authorization: str | None, customer_id: str = "1") -> Seen:
        path = f"/api/v1/customers/{customer_id}/"
        headers = {"Accept": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        decision = model.authorize(headers, "GET", path, authorizer)
        if isinstance(decision, gateway.Answer):
            return Seen(decision.status, decision.headers, json.loads(decision.body))
        found = model.route_for("GET", path)
        assert found is not None
        route, params = found
        event = gateway.proxy_event(route, params, model.stage, "GET", path, headers, {}, b"", "127.0.0.1", decision)
        response = profile.lambda_handler(event, lambda_context)
        seen_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            seen_headers.setdefault(name, values[-1])
        return Seen(response["statusCode"], seen_headers, json.loads(response["body"]))

    return get


def assert_unauthorized(seen: Seen, body: dict[str, Any]) -> None:
    assert seen.status == 401
    assert seen.body == body
    assert seen.headers["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    [None, "", "Token abc.def.ghi", "bearer abc.def.ghi"],
    ids=["none", "empty", "token-scheme", "lower-case-bearer"],
)
def test_missing_or_foreign_schemes_are_not_provided(client: Client, header: str | None) -> None:
    assert_unauthorized(client(header), NOT_PROVIDED)


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b"], ids=["bearer-alone", "three-parts"])
def test_bearer_without_exactly_one_token_is_a_bad_header(client: Client, header: str) -> None:
    assert_unauthorized(client(header), BAD_HEADER)


def test_garbage_token_is_not_valid(client: Client) -> None:
    assert_unauthorized(client("Bearer garbage"), not_valid("Token is invalid"))


def test_tampered_token_is_not_valid(client: Client) -> None:
    header, payload, signature = mint(claims("access")).split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["user_id"] = "2"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert_unauthorized(client(f"Bearer {header}.{forged_payload}.{signature}"), not_valid("Token is invalid"))


def test_alg_none_token_is_not_valid(client: Client) -> None:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims('access'))}."
    assert_unauthorized(client(f"Bearer {unsigned}"), not_valid("Token is invalid"))


def test_refresh_token_has_the_wrong_type(client: Client) -> None:
    assert_unauthorized(client(f"Bearer {mint(claims('refresh'))}"), not_valid("Token has wrong type"))


def test_expired_access_token_is_expired(client: Client) -> None:
    expired = claims("access", exp=1_700_000_000, iat=1_699_996_400)
    assert_unauthorized(client(f"Bearer {mint(expired)}"), not_valid("Token is expired"))


def test_access_token_without_user_id_has_no_user_identification(client: Client) -> None:
    answer = client(f"Bearer {mint(claims('access', user_id=None))}")
    assert_unauthorized(
        answer, {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}
    )


def test_deleted_customer_is_not_found(client: Client) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_item(TableName=TABLE_NAME, Key={"pk": {"S": "CUSTOMER#1"}})
    assert_unauthorized(
        client(f"Bearer {mint(claims('access'))}"), {"detail": "User not found", "code": "user_not_found"}
    )


def test_inactive_customer_is_inactive(client: Client) -> None:
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": "CUSTOMER#1"}},
        UpdateExpression="SET is_active = :false",
        ExpressionAttributeValues={":false": {"BOOL": False}},
    )
    assert_unauthorized(
        client(f"Bearer {mint(claims('access'))}"), {"detail": "User is inactive", "code": "user_inactive"}
    )


def test_valid_access_token_gets_the_routes_own_answer(client: Client) -> None:
    seen = client(f"Bearer {mint(claims('access'))}")
    assert seen.status == 200
    assert seen.body["id"] == 1
    assert seen.body["email"] == "customer@example.com"
    assert seen.body["is_active"] is True
    assert seen.body["last_login"] is None
    assert seen.body["date_joined"].endswith("Z")


def test_another_customers_profile_is_forbidden(client: Client) -> None:
    seen = client(f"Bearer {mint(claims('access'))}", customer_id="2")
    assert (seen.status, seen.body) == (403, {"detail": "You do not have permission to perform this action."})


def test_a_cached_allow_for_one_route_does_not_deny_another(client: Client) -> None:
    header = f"Bearer {mint(claims('access'))}"
    assert client(header).status == 200
    assert client(header, customer_id="2").status == 403, "the route's own rule, not a cached Deny (401)"


# --- revoked sessions: the route reads the customer and the token's family ---------------------


def test_an_access_token_issued_before_a_revocation_is_blacklisted_on_the_route(client: Client, customer: Any) -> None:
    """API Gateway still holds the earlier Allow; the route itself refuses the token."""
    header = f"Bearer {mint(claims('access', iat=int(time.time()) - 10))}"
    assert client(header).status == 200
    services.customer_store().revoke_sessions(customer, revoke_at=time.time() - 5)

    assert_unauthorized(client(header), not_valid("Token is blacklisted"))
    assert client(f"Bearer {mint(claims('access'))}").status == 200, "a token issued after the revocation works"


def test_an_access_token_of_a_logged_out_session_is_blacklisted_on_the_route(client: Client) -> None:
    family = uuid.uuid4().hex
    access = f"Bearer {mint(claims('access', family=family))}"
    assert client(access).status == 200
    logout = json.dumps({"refresh": mint(claims("refresh", lifetime=259200, family=family))}).encode()
    services.session_service().blacklist(logout, "application/json")

    assert_unauthorized(client(access), not_valid("Token is blacklisted"))
    assert client(f"Bearer {mint(claims('access', family=uuid.uuid4().hex))}").status == 200, "other sessions live"
