"""The TOKEN authorizer driven with the events in events/ and directly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.tokens.authorizer import Caller
from tests.helpers import claims, load_event, mint
from tools.secrets_extension import SecretsExtensionServer

Authorizer = Callable[[dict[str, Any]], dict[str, Any]]


def token_event(header: str) -> dict[str, Any]:
    return load_event("authorizer_allow", authorizationToken=header)


def deny_body(policy: dict[str, Any]) -> dict[str, Any]:
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    return dict(json.loads(policy["context"]["body"]))


def test_allow_event_with_a_live_token_allows_every_route_of_the_stage(authorizer: Authorizer) -> None:
    access = mint(claims("access", user_id="1"))

    policy = authorizer(token_event(f"Bearer {access}"))

    assert policy["principalId"] == "1"
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/*/*"]
    context = policy["context"]
    assert set(context) == {"user_id", "jti", "token_type", "exp", "iat", "family", "groups"}
    assert (context["user_id"], context["token_type"], context["groups"]) == ("1", "access", "customer")
    assert all(isinstance(value, str | int | bool) for value in context.values())


def test_deny_event_with_an_expired_token_carries_simplejwts_body(authorizer: Authorizer) -> None:
    assert deny_body(authorizer(load_event("authorizer_deny_expired"))) == {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is expired"}],
    }


def test_malformed_header_event_is_denied_as_a_bad_authorization_header(authorizer: Authorizer) -> None:
    assert deny_body(authorizer(load_event("authorizer_malformed_header"))) == {
        "detail": "Authorization header must contain two space-delimited values",
        "code": "bad_authorization_header",
    }


@pytest.mark.parametrize("header", ["", "Token abc", "bearer abc", "Basic dXNlcjpwYXNz"])
def test_headers_without_the_bearer_type_are_denied_as_not_provided(authorizer: Authorizer, header: str) -> None:
    body = deny_body(authorizer(token_event(header)))
    assert body == {"detail": "Authentication credentials were not provided."}


def test_the_authorizer_fails_closed_when_its_key_cannot_be_read(
    authorizer: Authorizer, secrets_extension: SecretsExtensionServer
) -> None:
    secrets_extension.shutdown()
    secrets_extension.server_close()

    with pytest.raises(RuntimeError, match="authorization is unavailable"):
        authorizer(token_event(f"Bearer {mint(claims('access'))}"))


def test_the_authorizer_fails_closed_on_a_malformed_method_arn(authorizer: Authorizer) -> None:
    event = token_event(f"Bearer {mint(claims('access'))}")
    event["methodArn"] = "not-an-arn"

    with pytest.raises(RuntimeError, match="authorization is unavailable"):
        authorizer(event)


@pytest.fixture
def checking_authorizer(monkeypatch: pytest.MonkeyPatch, authorizer: Authorizer, request: pytest.FixtureRequest) -> Any:
    """The authorizer with its per-request customer check on (AUTHORIZER_CHECK_CUSTOMER)."""
    monkeypatch.setenv("AUTHORIZER_CHECK_CUSTOMER", "true")
    monkeypatch.setenv("AUTHORIZER_CHECK_CACHE_SECONDS", "0")
    load = request.getfixturevalue("load_handler")
    context = request.getfixturevalue("lambda_context")
    module = load("authorizer")
    return lambda event: module.lambda_handler(event, context)


def test_with_the_customer_check_a_revoked_access_token_is_blacklisted(
    checking_authorizer: Authorizer, customer: Any
) -> None:
    import time

    from shared import services

    access = mint(claims("access"))
    assert checking_authorizer(token_event(f"Bearer {access}"))["principalId"] == "1"
    services.customer_store().revoke_sessions(customer, revoke_at=time.time() + 1)

    assert deny_body(checking_authorizer(token_event(f"Bearer {access}"))) == {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}],
    }


def test_with_the_customer_check_an_access_token_of_a_logged_out_session_is_blacklisted(
    checking_authorizer: Authorizer, customer: Any
) -> None:
    import json
    import uuid

    from shared import services

    family = uuid.uuid4().hex
    access = f"Bearer {mint(claims('access', family=family))}"
    assert checking_authorizer(token_event(access))["principalId"] == "1"
    logout = json.dumps({"refresh": mint(claims("refresh", lifetime=259200, family=family))}).encode()
    services.session_service().blacklist(logout, "application/json")

    assert deny_body(checking_authorizer(token_event(access)))["messages"][0]["message"] == "Token is blacklisted"
    other_session = f"Bearer {mint(claims('access', family=uuid.uuid4().hex))}"
    assert checking_authorizer(token_event(other_session))["principalId"] == "1"


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"user_id": "1", "iat": 1795650000, "family": "f"}, Caller("1", 1795650000, "f")),
        ({"user_id": "1", "iat": "1795650000", "family": "f"}, Caller("1", 1795650000, "f")),
        ({"user_id": "1", "exp": 1795653600}, Caller("1", None, None)),
        ({"user_id": "1", "iat": "soon", "family": ""}, Caller("1", None, None)),
        (None, Caller(None, None, None)),
    ],
    ids=["numbers", "strings", "cached-before-iat-and-family", "garbage", "no-authorizer"],
)
def test_a_route_reads_the_allows_context_as_api_gateway_hands_it_over(
    context: dict[str, Any] | None, expected: Caller
) -> None:
    assert Caller.from_context(context) == expected


def test_with_the_customer_check_inactive_and_deleted_customers_are_refused(
    checking_authorizer: Authorizer, customer: Any
) -> None:
    from shared import services

    access = f"Bearer {mint(claims('access'))}"
    services.customer_store().set_active(customer, False)
    assert deny_body(checking_authorizer(token_event(access))) == {
        "detail": "User is inactive",
        "code": "user_inactive",
    }
    services.customer_store().delete(customer)
    assert deny_body(checking_authorizer(token_event(access))) == {"detail": "User not found", "code": "user_not_found"}


def test_given_the_checks_cache_when_a_session_logs_out_then_the_check_sees_it_once_its_entry_expires(
    customer: Any,
) -> None:
    import json
    import time

    from shared import services
    from shared.tokens.customer_status import CachedCustomerStatus

    monotonic = [100.0]
    check = CachedCustomerStatus(services.session_store(), max_age=5, clock=lambda: monotonic[0])
    issued_at = int(time.time())
    assert not check("1", "logged-out").revoked(issued_at)
    logout = json.dumps({"refresh": mint(claims("refresh", lifetime=259200, family="logged-out"))}).encode()
    services.session_service().blacklist(logout, "application/json")

    monotonic[0] += 4.9
    assert not check("1", "logged-out").revoked(issued_at), "within the cache period: the entry as read"
    assert not check("1", "other").revoked(issued_at), "each session has its own entry"
    monotonic[0] += 0.1
    assert check("1", "logged-out").revoked(issued_at)


def test_given_a_staff_token_then_the_context_lists_its_roles_and_groups_that_cannot_pass_for_a_role_are_left_out(
    authorizer: Authorizer,
) -> None:
    groups = ["editors", "staff", "a,b", "superuser", "customer", "support desk"]
    access = mint(claims("access", user_id="7", is_staff=True, is_superuser=True, groups=groups))

    context = authorizer(token_event(f"Bearer {access}"))["context"]

    assert context["groups"] == "staff,superuser,editors,support desk"


def test_given_a_customer_token_claiming_a_group_named_staff_then_the_context_does_not_make_it_staff(
    authorizer: Authorizer,
) -> None:
    access = mint(claims("access", user_id="7", groups=["staff", "editors"], is_staff="true"))

    context = authorizer(token_event(f"Bearer {access}"))["context"]

    assert context["groups"] == "customer,editors"
