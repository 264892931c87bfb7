"""Staff's routes through the template's gateway: every permission case and the sequence attacks.

Customers, staff, superusers, inactive and logged-out callers, roles revoked by authctl and
roles removed behind the tokens' back, on every staff route: the list, another customer's
profile, and each of Django admin's tasks. A valid token without the permission gets DRF's
403; no token or a bad one keeps simplejwt's 401s; a token that outlived its roles or its
session is refused by the route's own read of the table.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from shared import services
from shared.customers.record import Customer
from tests.adversarial.stack import Stack, warm_stack
from tests.helpers import PASSWORD, TABLE_NAME, HttpAnswer
from tools import authctl

FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INACTIVE = {"detail": "User is inactive", "code": "user_inactive"}
BLACKLISTED = {
    "detail": "Given token not valid for any token type",
    "code": "token_not_valid",
    "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}],
}
ACTIONS = ("deactivate", "activate", "revoke-sessions", "password-reset")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """RequireStaffMfa off: staff log in with a password alone, so these tests are the permissions'
    (tests/adversarial/test_staff_mfa.py keeps the default: staff reach these routes only after a second factor)."""
    with warm_stack(REQUIRE_STAFF_MFA="false") as warm:
        yield warm


def with_roles(customer: Customer, *, staff: bool = True, superuser: bool = False) -> Customer:
    """Roles set without revoking anything (a customer imported so): their next login claims them."""
    services.customer_store().set_roles(customer, staff, superuser, (), revoke_at=0.0)
    changed = services.customer_store().get(customer.customer_id)
    assert changed is not None
    return changed


def bearer(pair: dict[str, str]) -> str:
    return f"Bearer {pair['access']}"


def staff_routes(target: Customer) -> list[tuple[str, str]]:
    """Every route that serves staff only, aimed at ``target``."""
    return [
        ("GET", "/api/v1/customers/"),
        ("GET", f"/api/v1/customers/{target.customer_id}/"),
        *(("POST", f"/api/v1/customers/{target.customer_id}/{action}/") for action in ACTIONS),
    ]


def on_every_staff_route(stack: Stack, authorization: str | None, target: Customer) -> list[HttpAnswer]:
    return [stack.request(method, path, authorization=authorization) for method, path in staff_routes(target)]


def test_given_no_token_or_a_bad_one_then_every_staff_route_keeps_simplejwts_401s(stack: Stack) -> None:
    target = stack.new_customer()

    missing = on_every_staff_route(stack, None, target)
    forged = on_every_staff_route(stack, "Bearer not.a.token", target)

    assert {(answer.status, json.dumps(answer.body)) for answer in missing} == {(401, json.dumps(NOT_PROVIDED))}
    assert {answer.status for answer in forged} == {401}
    assert {answer.body["code"] for answer in forged} == {"token_not_valid"}


def test_given_a_customers_token_then_every_staff_route_answers_drfs_403_and_nothing_changes(stack: Stack) -> None:
    customer, target = stack.new_customer(), stack.new_customer()
    pair = stack.login(customer)

    answers = on_every_staff_route(stack, bearer(pair), target)

    assert [(answer.status, answer.body) for answer in answers] == [(403, FORBIDDEN)] * len(answers)
    assert stack.deliver_mail() == []
    assert stack.login(target)  # neither deactivated nor revoked


def test_given_a_customer_then_their_own_profile_answers_as_before(stack: Stack) -> None:
    customer = stack.new_customer()

    answer = stack.request(
        "GET", f"/api/v1/customers/{customer.customer_id}/", authorization=bearer(stack.login(customer))
    )

    assert answer.status == 200
    assert list(answer.body) == ["id", "email", "is_active", "last_login", "date_joined"]


@pytest.mark.parametrize("superuser", [False, True])
def test_given_staff_or_a_superuser_then_every_staff_route_answers(stack: Stack, superuser: bool) -> None:
    actor = with_roles(stack.new_customer(), superuser=superuser)
    target = stack.new_customer()
    authorization = bearer(stack.login(actor))

    answers = on_every_staff_route(stack, authorization, target)

    assert [answer.status for answer in answers] == [200] * len(answers)
    assert answers[1].body["email"] == target.email
    assert [sent.to for sent in stack.deliver_mail()] == [target.email]


def test_given_staff_then_a_superuser_is_theirs_to_read_but_not_to_act_on(stack: Stack) -> None:
    staff = with_roles(stack.new_customer())
    superuser = with_roles(stack.new_customer(), superuser=True)
    authorization = bearer(stack.login(staff))

    read = stack.request("GET", f"/api/v1/customers/{superuser.customer_id}/", authorization=authorization)
    acts = [
        stack.request("POST", f"/api/v1/customers/{superuser.customer_id}/{action}/", authorization=authorization)
        for action in ACTIONS
    ]

    assert read.status == 200
    assert [(answer.status, answer.body) for answer in acts] == [(403, FORBIDDEN)] * len(ACTIONS)
    assert stack.login(superuser)


def test_given_a_superuser_then_they_act_on_another_superuser(stack: Stack) -> None:
    actor = with_roles(stack.new_customer(), superuser=True)
    other = with_roles(stack.new_customer(), superuser=True)

    answer = stack.request(
        "POST", f"/api/v1/customers/{other.customer_id}/deactivate/", authorization=bearer(stack.login(actor))
    )

    assert (answer.status, answer.body["is_active"]) == (200, False)


def test_given_inactive_staff_then_every_staff_route_answers_user_inactive(stack: Stack) -> None:
    staff = with_roles(stack.new_customer())
    target = stack.new_customer()
    pair = stack.login(staff)
    services.customer_store().set_active(staff, False)  # the flag alone: the token still looks valid

    answers = on_every_staff_route(stack, bearer(pair), target)

    assert [(answer.status, answer.body) for answer in answers] == [(401, INACTIVE)] * len(answers)


def test_given_staff_demoted_by_authctl_then_their_old_token_is_refused_on_every_staff_route(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    staff = with_roles(stack.new_customer())
    target = stack.new_customer()
    pair = stack.login(staff)
    assert authctl.main(["--table", TABLE_NAME, "revoke-staff", "--email", staff.email]) == 0
    capsys.readouterr()

    answers = on_every_staff_route(stack, bearer(pair), target)
    again = on_every_staff_route(stack, bearer(stack.login(staff)), target)

    assert [(answer.status, answer.body) for answer in answers] == [(401, BLACKLISTED)] * len(answers)
    assert [(answer.status, answer.body) for answer in again] == [(403, FORBIDDEN)] * len(again)


def test_given_the_role_removed_without_revoking_then_the_table_refuses_the_token_that_still_claims_it(
    stack: Stack,
) -> None:
    staff = with_roles(stack.new_customer())
    target = stack.new_customer()
    pair = stack.login(staff)
    with_roles(staff, staff=False)  # a direct write that skipped authctl's revocation

    answers = on_every_staff_route(stack, bearer(pair), target)

    assert [(answer.status, answer.body) for answer in answers] == [(403, FORBIDDEN)] * len(answers)


def test_given_staff_logged_out_then_every_staff_route_refuses_the_access_token(stack: Stack) -> None:
    staff = with_roles(stack.new_customer())
    target = stack.new_customer()
    pair = stack.login(staff)
    assert stack.post("blacklist_token", {"refresh": pair["refresh"]}).status == 200

    answers = on_every_staff_route(stack, bearer(pair), target)

    assert [(answer.status, answer.body) for answer in answers] == [(401, BLACKLISTED)] * len(answers)


def test_given_a_token_that_claims_staff_for_a_customer_then_the_table_refuses_it(stack: Stack) -> None:
    """A token minted with the roles but for a customer the table says is not staff (a stolen
    key aside, a token from before a role was removed by hand): 403 on every route."""
    customer = stack.new_customer()
    target = stack.new_customer()
    from shared.tokens.minting import Roles

    pair = services.token_service().issue_pair(customer.customer_id, roles=Roles(is_staff=True, is_superuser=True))

    answers = on_every_staff_route(stack, bearer(pair), target)

    assert [(answer.status, answer.body) for answer in answers] == [(403, FORBIDDEN)] * len(answers)


def test_given_deactivate_then_the_customer_can_neither_log_in_nor_use_their_token_until_activated(
    stack: Stack,
) -> None:
    authorization = bearer(stack.login(with_roles(stack.new_customer())))
    target = stack.new_customer()
    pair = stack.login(target)
    time.sleep(1)  # the target's tokens are from an earlier second than the deactivation

    deactivated = stack.request(
        "POST", f"/api/v1/customers/{target.customer_id}/deactivate/", authorization=authorization
    )
    login = stack.post("obtain_token", {"email": target.email, "password": PASSWORD}, source_ip=stack.source_ip())
    profile = stack.protected(bearer(pair), target.customer_id)
    activated = stack.request("POST", f"/api/v1/customers/{target.customer_id}/activate/", authorization=authorization)

    assert (deactivated.status, deactivated.body["is_active"]) == (200, False)
    assert login.status == 401
    assert profile.status == 401
    assert (activated.status, activated.body["is_active"]) == (200, True)
    assert stack.login(target)


def test_given_revoke_sessions_then_the_customers_refresh_token_is_refused(stack: Stack) -> None:
    authorization = bearer(stack.login(with_roles(stack.new_customer())))
    target = stack.new_customer()
    pair = stack.login(target)
    time.sleep(1)

    answer = stack.request(
        "POST", f"/api/v1/customers/{target.customer_id}/revoke-sessions/", authorization=authorization
    )

    assert (answer.status, answer.body) == (200, {"detail": "Every session of the customer has ended."})
    assert stack.post("refresh_token", {"refresh": pair["refresh"]}).status == 401


def test_given_a_password_reset_then_the_customer_gets_the_reset_mail(stack: Stack) -> None:
    authorization = bearer(stack.login(with_roles(stack.new_customer())))
    target = stack.new_customer()

    answer = stack.request(
        "POST", f"/api/v1/customers/{target.customer_id}/password-reset/", authorization=authorization
    )
    [sent] = stack.deliver_mail()

    assert (answer.status, answer.body) == (200, {"detail": "Password reset e-mail has been sent."})
    assert sent.to == target.email
    assert "uid" in sent.query()


def test_given_an_unknown_customer_then_each_staff_route_answers_not_found(stack: Stack) -> None:
    authorization = bearer(stack.login(with_roles(stack.new_customer())))
    unknown = [
        stack.request(method, path.replace("/999999/", "/" + "9" * 65 + "/"), authorization=authorization)
        for method, path in [("GET", "/api/v1/customers/999999/")]
    ] + [
        stack.request("POST", f"/api/v1/customers/{customer_id}/{action}/", authorization=authorization)
        for customer_id in ("999999", "9" * 65)
        for action in ACTIONS
    ]

    assert {(answer.status, json.dumps(answer.body)) for answer in unknown} == {(404, '{"detail": "Not found."}')}


def test_given_a_get_on_an_action_then_drfs_405(stack: Stack) -> None:
    authorization = bearer(stack.login(with_roles(stack.new_customer())))

    answer = stack.request("GET", "/api/v1/customers/1/deactivate/", authorization=authorization)

    assert (answer.status, answer.body, answer.headers["allow"]) == (
        405,
        {"detail": 'Method "GET" not allowed.'},
        "POST, OPTIONS",
    )


def test_each_staff_action_logs_one_audit_line_without_a_secret(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    actor = with_roles(stack.new_customer())
    pair = stack.login(actor)
    target = stack.new_customer()
    caplog.clear()

    with caplog.at_level(logging.INFO):
        for action in ACTIONS:
            stack.request("POST", f"/api/v1/customers/{target.customer_id}/{action}/", authorization=bearer(pair))
        stack.request("GET", f"/api/v1/customers/{target.customer_id}/", authorization=bearer(pair))
    lines = [vars(record) for record in caplog.records if record.getMessage() == "staff action"]
    logged = json.dumps([{name: str(value) for name, value in vars(record).items()} for record in caplog.records])

    assert [(line["actor_id"], line["action"], line["target_id"]) for line in lines] == [
        (actor.customer_id, action, target.customer_id)
        for action in ("deactivate", "activate", "revoke_sessions", "send_password_reset", "read")
    ]
    for secret in (target.email, pair["access"], pair["refresh"], target.password_hash):
        assert secret not in logged
