"""An attacker holding an access token of an ended session, on every route that reads the customer.

A session ends by logout (``POST /auth/token/blacklist/``), by refresh-token reuse (the family
is revoked) or by ``authctl revoke-sessions`` (every session of the customer). The authorizer
stays stateless by default (``AuthorizerCheckCustomer`` "false"), so each route that reads the
customer must refuse the token itself: the user endpoints, the password change and the profile
as well as verify. A refused password change is not counted against the customer's limit, so
an ended session cannot throttle the customer's own change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from shared.customers.record import Customer
from tests.adversarial.stack import Stack, warm_stack
from tests.helpers import PASSWORD, TABLE_NAME
from tests.mailbox import OTHER_STRONG
from tools import authctl

BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}  # refresh's answer
ACCESS_BLACKLISTED = {  # simplejwt's JWTAuthentication on a revoked access token
    "detail": "Given token not valid for any token type",
    "code": "token_not_valid",
    "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}],
}
LIMIT = 5  # settings.ACCOUNT_ADDRESS_LIMIT's default: the changes a customer may try per window
CHANGE = {"old_password": PASSWORD, "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with warm_stack() as warm:
        yield warm


def log_out(stack: Stack, customer: Customer, pair: dict[str, str]) -> None:
    assert stack.post("blacklist_token", {"refresh": pair["refresh"]}).status == 200


def reuse_the_refresh_token(stack: Stack, customer: Customer, pair: dict[str, str]) -> None:
    assert stack.post("refresh_token", {"refresh": pair["refresh"]}).status == 200
    assert stack.post("refresh_token", {"refresh": pair["refresh"]}).body == BLACKLISTED  # the family is revoked


def revoke_every_session(stack: Stack, customer: Customer, pair: dict[str, str]) -> None:
    assert authctl.main(["--table", TABLE_NAME, "revoke-sessions", "--email", customer.email]) == 0


Ending = Callable[[Stack, Customer, dict[str, str]], None]
ENDINGS = [log_out, reuse_the_refresh_token, revoke_every_session]


@pytest.mark.parametrize("end_session", ENDINGS)
def test_given_an_ended_session_when_its_access_token_tries_every_customer_route_then_each_refuses_it(
    stack: Stack, end_session: Ending
) -> None:
    customer = stack.new_customer()
    pair = stack.login(customer)
    bearer = f"Bearer {pair['access']}"
    end_session(stack, customer, pair)

    refused = {
        (method, path): stack.request(method, path, body, authorization=bearer)
        for method, path, body in (
            ("GET", "/auth/user/", None),
            ("PUT", "/auth/user/", {"first_name": "Mallory", "last_name": "M"}),
            ("PATCH", "/auth/user/", {"first_name": "Mallory"}),
            ("POST", "/auth/password/change/", CHANGE),
            ("GET", f"/api/v1/customers/{customer.customer_id}/", None),
        )
    }
    deleted = stack.request("DELETE", "/auth/user/", authorization=bearer)
    verified = stack.post("verify_token", {"token": pair["access"]})

    assert {route: (answer.status, answer.body) for route, answer in refused.items()} == dict.fromkeys(
        refused, (401, ACCESS_BLACKLISTED)
    )
    assert deleted.status == 405  # the view has no DELETE: nothing is read or answered
    assert customer.email not in deleted.raw_body
    assert (verified.status, verified.body) == (400, {"non_field_errors": ["Token is blacklisted"]})
    fresh = stack.login(customer)  # the password did not change, nor the names
    assert stack.request("GET", "/auth/user/", authorization=f"Bearer {fresh['access']}").body == {
        "pk": int(customer.customer_id),
        "email": customer.email,
        "first_name": "",
        "last_name": "",
    }


def test_given_a_logged_out_token_when_it_tries_more_changes_than_the_limit_then_the_customer_can_still_change(
    stack: Stack,
) -> None:
    customer = stack.new_customer()
    pair = stack.login(customer)
    log_out(stack, customer, pair)

    attempts = [
        stack.request("POST", "/auth/password/change/", CHANGE, authorization=f"Bearer {pair['access']}")
        for _ in range(LIMIT + 1)
    ]
    fresh = stack.login(customer)
    own_change = stack.request("POST", "/auth/password/change/", CHANGE, authorization=f"Bearer {fresh['access']}")

    assert {answer.status for answer in attempts} == {401}
    assert own_change.status == 200, own_change.body
