"""POST /auth/password/reset/, reset/confirm/, change/ and GET/PUT/PATCH /auth/user/, row by row.

dj-rest-auth's rows answer its status and body; "difference" rows are where it has a defect
(docs/account-contract.md): revocation on change and reset, a reset that verifies the address,
a new password that must differ, links to the storefront with opaque uids, limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest

from shared import services
from shared.customers.record import Customer
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event
from tests.mailbox import OTHER_STRONG, STRONG, Mailbox, Sent, account_event, login, refresh, register

Call = Callable[..., HttpAnswer]
RESET_SENT = {"detail": "Password reset e-mail has been sent."}
RESET_DONE = {"detail": "Password has been reset with the new password."}
REQUIRED = ["This field is required."]
INVALID = ["Invalid value"]
MISMATCH = {"new_password2": ["The two password fields didn\u2019t match."]}
WEAK = {
    "new_password2": [
        "This password is too short. It must contain at least 8 characters.",
        "This password is too common.",
    ]
}
SAME = {"new_password2": ["The new password must be different from the old password."]}
OLD_WRONG = {"old_password": ["Your old password was entered incorrectly. Please enter it again."]}
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}


def request_reset(call: Call, email: str, **extra: Any) -> HttpAnswer:
    return call("request_mail", account_event("password_reset_ok", {"email": email}, **extra))


def confirm(call: Call, uid: str, token: str, new1: str = STRONG, new2: str | None = None) -> HttpAnswer:
    body = {"uid": uid, "token": token, "new_password1": new1, "new_password2": new1 if new2 is None else new2}
    return call("reset_password", json_event("password_reset_confirm_bad_uid", body))


def reset_mail(call: Call, mailbox: Mailbox, email: str) -> Sent:
    assert request_reset(call, email).status == 200
    return mailbox.one()


def change(call: Call, caller: str | None, body: Any) -> HttpAnswer:
    return call("change_password", account_event("password_change_wrong_old", body, caller=caller))


def change_body(old: str = PASSWORD, new1: str = STRONG, new2: str | None = None) -> dict[str, str]:
    return {"old_password": old, "new_password1": new1, "new_password2": new1 if new2 is None else new2}


def user(
    call: Call, caller: str | None, method: str = "GET", body: Any = None, issued_at: int | None = None
) -> HttpAnswer:
    name = "current_user_get" if method == "GET" else "current_user_patch"
    return call("current_user", account_event(name, body, caller=caller, method=method, issued_at=issued_at))


# --- POST /auth/password/reset/ ---------------------------------------------------------------


def test_given_a_customer_when_asking_for_a_reset_then_the_anchors_body_and_a_storefront_link_with_an_opaque_uid(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    answer = request_reset(call, customer.email, headers={"Host": "evil.example"})

    assert (answer.status, answer.body) == (200, RESET_SENT)
    mail = mailbox.one()
    assert (mail.to, mail.subject) == (customer.email, "Reset your password")
    assert mail.link is not None
    assert mail.link.startswith("https://shop.example/reset-password?uid="), "never the request's Host"
    assert mail.query()["uid"] != customer.customer_id
    assert len(mail.query()["uid"]) >= 22, "128 random bits, not a sequential id"


def test_given_the_address_in_another_case_or_unverified_when_asking_then_mail_is_sent(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    register(call, "uma@example.com")
    mailbox.deliver()

    answers = [request_reset(call, customer.email.upper()), request_reset(call, "uma@example.com")]

    assert [(answer.status, answer.body) for answer in answers] == [(200, RESET_SENT)] * 2
    assert [mail.to for mail in mailbox.deliver()] == [customer.email, "uma@example.com"]


def test_given_an_unknown_or_inactive_address_when_asking_then_the_same_body_and_no_mail(
    call: Call, make_customer: Callable[..., Customer], mailbox: Mailbox
) -> None:
    make_customer("off@example.com", customer_id="2", is_active=False)

    answers = [request_reset(call, "nobody@example.com"), request_reset(call, "off@example.com")]

    assert [(answer.status, answer.body) for answer in answers] == [(200, RESET_SENT)] * 2
    assert mailbox.deliver() == []


@pytest.mark.parametrize(("body", "status", "expected"), [
    ({"email": "nope"}, 400, {"email": ["Enter a valid email address."]}),
    ({}, 400, {"email": REQUIRED}),
])  # fmt: skip
def test_given_a_bad_reset_request_when_posted_then_400(
    call: Call, body: dict[str, str], status: int, expected: dict[str, Any]
) -> None:
    answer = call("request_mail", json_event("password_reset_ok", body))

    assert (answer.status, answer.body) == (status, expected)


def test_given_get_when_asking_for_a_reset_then_405(call: Call) -> None:
    answer = call("request_mail", json_event("password_reset_ok", None, method="GET"))

    assert (answer.status, answer.body) == (405, {"detail": 'Method "GET" not allowed.'})


def test_difference_given_six_reset_requests_for_one_address_then_the_sixth_is_429(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    answers = [request_reset(call, customer.email) for _ in range(6)]

    assert [answer.status for answer in answers] == [200] * 5 + [429]
    assert "retry-after" in answers[-1].headers
    assert len(mailbox.deliver()) == 5


# --- POST /auth/password/reset/confirm/ -------------------------------------------------------


def test_given_the_links_uid_and_token_when_confirming_then_reset_once_and_every_earlier_session_ends(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    session = login(call, customer.email, PASSWORD).body
    link = reset_mail(call, mailbox, customer.email).query()

    first = confirm(call, link["uid"], link["token"])
    again = confirm(call, link["uid"], link["token"], OTHER_STRONG)

    assert (first.status, first.body) == (200, RESET_DONE)
    assert "set-cookie" not in first.headers
    assert (again.status, again.body) == (400, {"token": INVALID})
    assert (refresh(call, session["refresh"]).status, refresh(call, session["refresh"]).body) == (401, BLACKLISTED)
    assert login(call, customer.email, STRONG).status == 200
    assert login(call, customer.email, PASSWORD).status == 401


def test_given_an_empty_body_when_confirming_then_every_field_is_required_in_the_anchors_order(call: Call) -> None:
    answer = call("reset_password", json_event("password_reset_confirm_bad_uid", {}))

    assert answer.status == 400
    assert list(answer.body.items()) == [
        ("new_password1", REQUIRED),
        ("new_password2", REQUIRED),
        ("uid", REQUIRED),
        ("token", REQUIRED),
    ]


@pytest.mark.parametrize("uid", ["zz", "7ix", "MQ", "1"])
def test_given_an_unknown_uid_when_confirming_then_uid_invalid(call: Call, customer: Customer, uid: str) -> None:
    answer = confirm(call, uid, "abc-123", STRONG, OTHER_STRONG)

    assert (answer.status, answer.body) == (400, {"uid": INVALID})


def test_given_a_wrong_token_or_another_customers_uid_when_confirming_then_token_invalid(
    call: Call, customer: Customer, make_customer: Callable[..., Customer], mailbox: Mailbox
) -> None:
    make_customer("other@example.com", customer_id="2")
    mine = reset_mail(call, mailbox, customer.email).query()
    theirs = reset_mail(call, mailbox, "other@example.com").query()

    assert confirm(call, mine["uid"], "abc-123").body == {"token": INVALID}
    assert confirm(call, theirs["uid"], mine["token"]).body == {"token": INVALID}
    assert confirm(call, mine["uid"], mine["token"]).status == 200


@pytest.mark.parametrize(("new1", "new2", "expected"), [
    (STRONG, OTHER_STRONG, MISMATCH),
    ("abc123", "abc123", WEAK),
    (PASSWORD, PASSWORD, SAME),
])  # fmt: skip
def test_given_a_bad_new_password_when_confirming_then_new_password2_errors_and_the_link_still_works(
    call: Call, customer: Customer, mailbox: Mailbox, new1: str, new2: str, expected: dict[str, Any]
) -> None:
    link = reset_mail(call, mailbox, customer.email).query()

    answer = confirm(call, link["uid"], link["token"], new1, new2)

    assert (answer.status, answer.body) == (400, expected)
    assert confirm(call, link["uid"], link["token"]).status == 200


def test_difference_given_an_unverified_customer_when_resetting_then_the_address_is_verified(
    call: Call, mailbox: Mailbox
) -> None:
    register(call, "val@example.com", OTHER_STRONG)
    mailbox.deliver()
    link = reset_mail(call, mailbox, "val@example.com").query()

    assert confirm(call, link["uid"], link["token"]).body == RESET_DONE
    assert login(call, "val@example.com", STRONG).status == 200


def test_difference_given_a_password_change_after_the_link_was_sent_then_the_link_is_void(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    link = reset_mail(call, mailbox, customer.email).query()
    assert change(call, customer.customer_id, change_body()).status == 200

    assert confirm(call, link["uid"], link["token"], OTHER_STRONG).body == {"token": INVALID}


def test_difference_given_an_expired_link_when_confirming_then_uid_invalid(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    link = reset_mail(call, mailbox, customer.email).query()
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": "RESET#" + link["uid"]}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    assert confirm(call, link["uid"], link["token"]).body == {"uid": INVALID}


def test_difference_reset_tokens_are_stored_only_as_hashes(call: Call, customer: Customer, mailbox: Mailbox) -> None:
    link = reset_mail(call, mailbox, customer.email).query()

    items = str(boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"])

    assert link["token"] not in items


# --- POST /auth/password/change/ --------------------------------------------------------------


def test_difference_given_the_right_old_password_when_changing_then_saved_other_sessions_end_and_a_fresh_pair(
    call: Call, customer: Customer
) -> None:
    other = login(call, customer.email, PASSWORD).body

    answer = change(call, customer.customer_id, change_body())

    assert answer.status == 200
    assert answer.body["detail"] == "New password has been saved."
    assert set(answer.body) == {"detail", "access", "refresh"}
    assert refresh(call, other["refresh"]).body == BLACKLISTED
    assert refresh(call, answer.body["refresh"]).status == 200, "the caller's own session goes on"
    assert (login(call, customer.email, PASSWORD).status, login(call, customer.email, STRONG).status) == (401, 200)


def test_difference_given_a_password_change_then_another_sessions_access_token_is_refused_where_the_customer_is_read(
    call: Call, customer: Customer
) -> None:
    other_access = login(call, customer.email, PASSWORD).body["access"]
    other_issued_at = jwt.decode(other_access, options={"verify_signature": False})["iat"]

    answer = change(call, customer.customer_id, change_body())
    own_issued_at = jwt.decode(answer.body["access"], options={"verify_signature": False})["iat"]

    refused = user(call, customer.customer_id, issued_at=other_issued_at)
    assert (refused.status, refused.body["messages"][0]["message"]) == (401, "Token is blacklisted")
    assert user(call, customer.customer_id, issued_at=own_issued_at).status == 200, "the caller's new pair works"


@pytest.mark.parametrize(("body", "expected"), [
    ({}, {"old_password": REQUIRED, "new_password1": REQUIRED, "new_password2": REQUIRED}),
    ({"new_password1": STRONG, "new_password2": STRONG}, {"old_password": REQUIRED}),
    (change_body(old="wrong-password"), OLD_WRONG),
    (change_body(old="wrong-password", new1="abc"), OLD_WRONG),
    (change_body(new2=OTHER_STRONG), MISMATCH),
    (change_body(new1="abc123"), WEAK),
    (change_body(new1="example.com1"), {"new_password2": ["The password is too similar to the email address."]}),
    (change_body(new1=PASSWORD), SAME),
])  # fmt: skip
def test_given_a_bad_change_when_posted_then_400_and_the_password_is_unchanged(
    call: Call, customer: Customer, body: dict[str, str], expected: dict[str, Any]
) -> None:
    answer = change(call, customer.customer_id, body)

    assert (answer.status, answer.body) == (400, expected)
    assert login(call, customer.email, PASSWORD).status == 200


def test_given_no_caller_or_get_when_changing_then_401_and_405(call: Call, customer: Customer) -> None:
    anonymous = change(call, None, change_body())
    get = call("change_password", account_event("password_change_wrong_old", None, caller="1", method="GET"))

    assert (anonymous.status, anonymous.body) == (401, NOT_PROVIDED)
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
    assert (get.status, get.body) == (405, {"detail": 'Method "GET" not allowed.'})


def test_difference_given_repeated_wrong_old_passwords_when_over_the_limit_then_429(
    call: Call, customer: Customer
) -> None:
    answers = [change(call, customer.customer_id, change_body(old="wrong-password")) for _ in range(6)]

    assert [answer.status for answer in answers] == [400] * 5 + [429]


# --- GET / PUT / PATCH /auth/user/ ------------------------------------------------------------


def test_given_a_caller_when_reading_the_user_then_pk_email_and_names(call: Call, customer: Customer) -> None:
    answer = user(call, customer.customer_id)

    assert (answer.status, answer.body) == (200, {"pk": 1, "email": EMAIL, "first_name": "", "last_name": ""})


def test_given_patch_and_put_when_updating_then_names_change_and_nothing_else(call: Call, customer: Customer) -> None:
    patched = user(call, "1", "PATCH", {"first_name": "Alice"})
    put = user(call, "1", "PUT", {"first_name": "Alice", "last_name": "Liddell"})
    empty = user(call, "1", "PUT", {})
    ignored = user(call, "1", "PATCH", {"email": "mallory@example.com", "pk": 999, "is_staff": True, "password": "x"})

    alice = {"pk": 1, "email": EMAIL, "first_name": "Alice", "last_name": ""}
    liddell = {**alice, "last_name": "Liddell"}
    assert [(a.status, a.body) for a in (patched, put, empty, ignored)] == [(200, alice)] + [(200, liddell)] * 3
    assert login(call, EMAIL, PASSWORD).status == 200
    stored = services.customer_store().get("1")
    assert stored is not None
    assert (stored.email, stored.is_active) == (EMAIL, True)


@pytest.mark.parametrize(("body", "expected"), [
    ({"first_name": "x" * 151}, {"first_name": ["Ensure this field has no more than 150 characters."]}),
    ({"first_name": None}, {"first_name": ["This field may not be null."]}),
])  # fmt: skip
def test_given_a_bad_name_when_patching_then_400(
    call: Call, customer: Customer, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    answer = user(call, "1", "PATCH", body)

    assert (answer.status, answer.body) == (400, expected)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_given_post_or_delete_on_the_user_then_405(call: Call, customer: Customer, method: str) -> None:
    answer = user(call, "1", method, {})

    assert (answer.status, answer.body) == (405, {"detail": f'Method "{method}" not allowed.'})


def test_given_no_caller_or_a_deleted_customer_when_reading_the_user_then_401(call: Call, customer: Customer) -> None:
    assert (user(call, None).status, user(call, None).body) == (401, NOT_PROVIDED)
    assert user(call, "999").body == {"detail": "User not found", "code": "user_not_found"}
