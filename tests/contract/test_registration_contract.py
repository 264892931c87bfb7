"""POST /auth/registration/, verify-email/, resend-email/ and login before verification, row by row.

Rows of the account contract (docs/account-contract.md) answer dj-rest-auth's status and body;
the rows marked "difference" are where dj-rest-auth has a defect and this service does better.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import argon2
import boto3
import pytest

from shared import services
from shared.customers.record import Customer
from tests.helpers import PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event
from tests.mailbox import OTHER_STRONG, STRONG, Mailbox, login, register

Call = Callable[..., HttpAnswer]
SENT = {"detail": "Verification e-mail sent."}
REQUIRED = ["This field is required."]
BLANK = ["This field may not be blank."]
SHORT = "This password is too short. It must contain at least 8 characters."
COMMON = "This password is too common."
NUMERIC = "This password is entirely numeric."


NO_ACCOUNT = {"detail": "No active account found with the given credentials"}
NOT_THE_LINKS_PASSWORD = {"password": ["This is not the password this link was sent for."]}


def verify(call: Call, key: Any, password: str | None = STRONG) -> HttpAnswer:
    body = {"key": key} if password is None else {"key": key, "password": password}
    return call("verify_email", json_event("verify_email_unknown_key", body))


def resend(call: Call, email: str) -> HttpAnswer:
    return call("request_mail", json_event("resend_email_ok", {"email": email}))


def stored(email: str) -> Customer | None:
    return services.customer_store().find_by_email(email)


def test_given_a_new_address_when_registering_then_201_no_tokens_no_cookies_and_a_confirmation_mail(
    call: Call, mailbox: Mailbox
) -> None:
    answer = register(call, "new@example.com")

    assert (answer.status, answer.body) == (201, SENT)
    assert "set-cookie" not in answer.headers
    mail = mailbox.one()
    assert (mail.to, mail.sender, mail.subject) == ("new@example.com", "shop@example.com", "Confirm your email address")
    assert mail.link is not None
    assert mail.link.startswith("https://shop.example/verify-email?key=")
    assert mail.link in mail.html
    customer = stored("new@example.com")
    assert customer is not None
    assert (customer.is_active, customer.email_verified, customer.last_login) == (
        True,
        False,
        None,
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"email": REQUIRED, "password1": REQUIRED, "password2": REQUIRED}),
        ({"email": "a@example.com"}, {"password1": REQUIRED, "password2": REQUIRED}),
        ({"password1": STRONG, "password2": STRONG}, {"email": REQUIRED}),
        ({"email": "a@example.com", "password1": STRONG}, {"password2": REQUIRED}),
        ({"email": "", "password1": "", "password2": ""}, {"email": BLANK, "password1": BLANK, "password2": BLANK}),
        (
            {"email": "a@example.com", "password1": STRONG, "password2": OTHER_STRONG},
            {"non_field_errors": ["The two password fields didn't match."]},
        ),
        ({"email": "a@example.com", "password1": "xQ7#kp2", "password2": "xQ7#kp2"}, {"password1": [SHORT]}),
        ({"email": "a@example.com", "password1": "password123", "password2": "password123"}, {"password1": [COMMON]}),
        ({"email": "a@example.com", "password1": "40958371628", "password2": "40958371628"}, {"password1": [NUMERIC]}),
        ({"email": "a@example.com", "password1": "1234", "password2": "1234"}, {"password1": [SHORT, COMMON, NUMERIC]}),
        (
            {"email": "a@example.com", "password1": "1234", "password2": "12345"},
            {"password1": [SHORT, COMMON, NUMERIC]},
        ),
        (
            {"email": "margaret.hamilton@example.com", "password1": "hamilton1969", "password2": "hamilton1969"},
            {"non_field_errors": ["The password is too similar to the email address."]},
        ),
        (
            {"email": "not-an-email", "password1": STRONG, "password2": STRONG},
            {"email": ["Enter a valid email address."]},
        ),
        (  # ours: the customer's email column is 254 characters, as Django's
            {
                "email": "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63,
                "password1": STRONG,
                "password2": STRONG,
            },
            {"email": ["Ensure this field has no more than 254 characters."]},
        ),
    ],
)
def test_given_a_bad_registration_when_posted_then_400_with_the_anchors_body_and_nothing_queued(
    call: Call, mailbox: Mailbox, body: dict[str, str], expected: dict[str, list[str]]
) -> None:
    answer = call("register", json_event("register_ok", body))

    assert (answer.status, answer.body) == (400, expected)
    assert mailbox.queued() == []


def test_given_malformed_json_or_get_when_registering_then_the_anchors_400_and_405(call: Call) -> None:
    malformed = call("register", json_event("register_ok", '{"email": '))
    get = call("register", json_event("register_ok", None, method="GET"))

    assert (malformed.status, malformed.body) == (
        400,
        {"detail": "JSON parse error - Expecting value: line 1 column 11 (char 10)"},
    )
    assert (get.status, get.body) == (405, {"detail": 'Method "GET" not allowed.'})


def test_difference_given_a_verified_address_when_registering_then_the_same_201_and_a_you_have_an_account_mail(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    answers = [register(call, customer.email, OTHER_STRONG), register(call, customer.email.upper(), OTHER_STRONG)]

    assert [(answer.status, answer.body) for answer in answers] == [(201, SENT), (201, SENT)]
    mails = mailbox.deliver()
    assert [mail.subject for mail in mails] == ["You already have an account"] * 2
    assert mails[0].link is not None
    assert mails[0].link.startswith("https://shop.example/reset-password?uid=")
    assert login(call, customer.email, PASSWORD).status == 200, "the account is untouched"
    assert login(call, customer.email, OTHER_STRONG).status == 401


def test_difference_given_a_squatted_address_when_its_owner_registers_then_201_and_the_owners_key_decides(
    call: Call, mailbox: Mailbox
) -> None:
    squatter = register(call, "carol@example.com", OTHER_STRONG)
    squatter_key = mailbox.one().query()["key"]
    owner = register(call, "Carol@Example.COM", STRONG)
    owner_key = mailbox.one().query()["key"]

    assert [(squatter.status, squatter.body), (owner.status, owner.body)] == [(201, SENT), (201, SENT)]
    assert (verify(call, owner_key).status, verify(call, squatter_key, OTHER_STRONG).status) == (200, 404)
    assert login(call, "carol@example.com", STRONG).status == 200
    assert login(call, "carol@example.com", OTHER_STRONG).status == 401


@pytest.mark.parametrize("owner_opens", ["newest", "oldest"])
def test_difference_given_an_attacker_registers_after_the_owner_when_the_owner_confirms_then_only_the_owners_password(
    call: Call, mailbox: Mailbox, owner_opens: str
) -> None:
    """Issue 22, finding 1: two identical mails; whichever the owner opens, the attacker's
    password never logs in, and the owner's only once proven on the link."""
    register(call, "victim@example.com", STRONG)
    owners_key = mailbox.one().query()["key"]
    register(call, "victim@example.com", OTHER_STRONG)  # the attacker, same address
    attackers_mail = mailbox.one()
    assert attackers_mail.subject == "Confirm your email address", "the two mails look alike"
    attackers_key = attackers_mail.query()["key"]
    opened = attackers_key if owner_opens == "newest" else owners_key
    assert [login(call, "victim@example.com", p).body for p in (STRONG, OTHER_STRONG)] == [NO_ACCOUNT] * 2

    no_password = verify(call, opened, None)
    blank = verify(call, opened, "")
    if owner_opens == "newest":
        refused = verify(call, opened, STRONG)  # the owner's password on the attacker's link
        assert (refused.status, refused.body) == (400, NOT_THE_LINKS_PASSWORD)
        assert login(call, "victim@example.com", OTHER_STRONG).status == 401, "a click installs nothing"
        opened = owners_key  # the owner opens their own mail
    confirmed = verify(call, opened, STRONG)

    assert (no_password.status, no_password.body) == (400, {"password": ["This field is required."]})
    assert (blank.status, blank.body) == (400, {"password": ["This field may not be blank."]})
    assert (confirmed.status, confirmed.body) == (200, {"detail": "ok"})
    assert login(call, "victim@example.com", STRONG).status == 200
    assert login(call, "victim@example.com", OTHER_STRONG).status == 401
    assert verify(call, attackers_key, OTHER_STRONG).status == 404, "the address is taken: no key confirms it again"
    assert login(call, "victim@example.com", STRONG).status == 200


def test_difference_given_a_wrong_or_missing_password_when_verifying_then_400_and_the_key_is_not_spent(
    call: Call, mailbox: Mailbox
) -> None:
    register(call, "nell@example.com", STRONG)
    key = mailbox.one().query()["key"]

    answers = [verify(call, key, None), verify(call, key, ""), verify(call, key, OTHER_STRONG)]

    assert [(answer.status, answer.body) for answer in answers] == [
        (400, {"password": ["This field is required."]}),
        (400, {"password": ["This field may not be blank."]}),
        (400, NOT_THE_LINKS_PASSWORD),
    ]
    assert verify(call, key, STRONG).status == 200


def test_difference_given_a_new_address_in_mixed_case_when_registering_then_stored_by_the_projects_email_rule(
    call: Call, mailbox: Mailbox
) -> None:
    assert register(call, "Dora@Example.COM").status == 201
    assert mailbox.one().to == "Dora@example.com", "Django's normalize_email: the domain in lower case"
    customer = stored("dora@example.com")
    assert customer is not None
    assert customer.email == "Dora@example.com"


def test_difference_given_a_username_field_when_registering_then_it_is_ignored(call: Call, mailbox: Mailbox) -> None:
    answer = register(call, "erin@example.com", username="erin")

    assert (answer.status, answer.body) == (201, SENT)
    assert mailbox.one().to == "erin@example.com"


def test_given_the_key_from_the_mail_when_verifying_then_ok_once_and_404_after(call: Call, mailbox: Mailbox) -> None:
    register(call, "fred@example.com")
    key = mailbox.one().query()["key"]

    first, second = verify(call, key), verify(call, key)

    assert (first.status, first.body) == (200, {"detail": "ok"})
    assert "set-cookie" not in first.headers
    assert (second.status, second.body) == (404, {"detail": "Not found."})
    assert login(call, "fred@example.com", STRONG).status == 200


@pytest.mark.parametrize(("body", "status", "expected"), [
    ({"key": "not-a-key", "password": STRONG}, 404, {"detail": "Not found."}),
    ({}, 400, {"key": REQUIRED, "password": REQUIRED}),
    ({"key": "not-a-key"}, 400, {"password": REQUIRED}),
    ({"key": "", "password": ""}, 400, {"key": BLANK, "password": BLANK}),
    ({"key": "k" * 5000, "password": STRONG}, 404, {"detail": "Not found."}),
])  # fmt: skip
def test_given_a_bad_key_when_verifying_then_the_anchors_answer(
    call: Call, body: dict[str, str], status: int, expected: dict[str, Any]
) -> None:
    answer = call("verify_email", json_event("verify_email_unknown_key", body))

    assert (answer.status, answer.body) == (status, expected)


def test_given_a_key_with_one_character_changed_or_get_when_verifying_then_404_and_405(
    call: Call, mailbox: Mailbox
) -> None:
    register(call, "gina@example.com")
    key = mailbox.one().query()["key"]
    altered = key[:-1] + ("A" if key[-1] != "A" else "B")

    assert verify(call, altered).status == 404
    get = call("verify_email", json_event("verify_email_unknown_key", None, method="GET"))
    assert (get.status, get.body) == (405, {"detail": 'Method "GET" not allowed.'})
    assert verify(call, key).status == 200


def test_given_two_resends_when_verifying_with_the_first_key_then_ok(call: Call, mailbox: Mailbox) -> None:
    register(call, "hank@example.com")
    first = mailbox.one().query()["key"]
    answers = [resend(call, "hank@example.com"), resend(call, "HANK@example.com")]
    resent = mailbox.deliver()

    assert [(answer.status, answer.body) for answer in answers] == [(200, {"detail": "ok"})] * 2
    assert [mail.subject for mail in resent] == ["Confirm your email address"] * 2
    assert verify(call, first).status == 200


def test_difference_given_a_later_squatter_when_the_owner_resends_then_the_owner_chooses_the_password(
    call: Call, mailbox: Mailbox
) -> None:
    register(call, "owner@example.com", STRONG)
    mailbox.deliver()
    register(call, "owner@example.com", OTHER_STRONG)  # the squatter's password is now the pending one
    mailbox.deliver()

    assert resend(call, "owner@example.com").status == 200
    link = mailbox.one().query()
    register(call, "owner@example.com", OTHER_STRONG)  # the squatter again: the owner's link stays valid
    mailbox.deliver()
    assert set(link) == {"uid", "token"}, "a link to choose the password, not a key for the pending one"
    chosen = "Owners-Own-Choice-5"
    body = {"uid": link["uid"], "token": link["token"], "new_password1": chosen, "new_password2": chosen}
    assert call("reset_password", json_event("password_reset_confirm_bad_uid", body)).status == 200

    assert login(call, "owner@example.com", chosen).status == 200
    assert login(call, "owner@example.com", OTHER_STRONG).status == 401


def test_given_an_unverified_customer_when_the_resend_link_chooses_the_sign_up_password_then_it_is_accepted(
    call: Call, mailbox: Mailbox
) -> None:
    """The sign-up password never logged in: it is no "old password" the new one must differ from."""
    register(call, "jill@example.com", STRONG)
    mailbox.deliver()
    assert resend(call, "jill@example.com").status == 200
    link = mailbox.one().query()

    body = {"uid": link["uid"], "token": link["token"], "new_password1": STRONG, "new_password2": STRONG}
    answer = call("reset_password", json_event("password_reset_confirm_bad_uid", body))

    assert (answer.status, answer.body) == (200, {"detail": "Password has been reset with the new password."})
    assert login(call, "jill@example.com", STRONG).status == 200


def test_given_a_verified_or_unknown_address_when_resending_then_ok_and_no_mail(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    answers = [resend(call, customer.email), resend(call, "nobody@example.com")]

    assert [(answer.status, answer.body) for answer in answers] == [(200, {"detail": "ok"})] * 2
    assert mailbox.deliver() == []


@pytest.mark.parametrize(("body", "expected"), [
    ({"email": "nope"}, {"email": ["Enter a valid email address."]}),
    ({}, {"email": REQUIRED}),
])  # fmt: skip
def test_given_a_bad_resend_when_posted_then_400(call: Call, body: dict[str, str], expected: dict[str, Any]) -> None:
    answer = call("request_mail", json_event("resend_email_ok", body))

    assert (answer.status, answer.body) == (400, expected)


def test_difference_given_an_unverified_customer_when_logging_in_then_the_generic_401_whatever_the_password(
    call: Call, mailbox: Mailbox
) -> None:
    """Issue 22, finding 1: no registrant's password logs in before the link proves it
    (allauth answers 400 "E-mail is not verified." to the right one)."""
    register(call, "ivy@example.com")
    mailbox.deliver()

    right, wrong = login(call, "ivy@example.com", STRONG), login(call, "ivy@example.com", OTHER_STRONG)

    assert (right.status, right.body) == (401, NO_ACCOUNT)
    assert (wrong.status, wrong.body) == (401, NO_ACCOUNT)


def test_given_an_unverified_customer_when_logging_in_through_the_cookie_transport_or_the_slashless_url_then_401(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every way in that opens a session follows the rule: the browser's cookie login and the
    URL without its slash (a 308 that does nothing, then the same login)."""
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://shop.example")
    register(call, "pia@example.com")
    mailbox.deliver()
    credentials = {"email": "pia@example.com", "password": STRONG}
    cookie_login = json_event("obtain_token_ok", credentials)
    for name, value in {"Origin": "https://shop.example", "X-Token-Transport": "cookie"}.items():
        cookie_login["headers"][name] = value
        cookie_login["multiValueHeaders"][name] = [value]
    slashless = json_event("obtain_token_ok", credentials)
    slashless["path"] = slashless["requestContext"]["path"] = "/auth/token"

    by_cookie, redirected = call("obtain_token", cookie_login), call("obtain_token", slashless)

    assert (by_cookie.status, by_cookie.body) == (401, NO_ACCOUNT)
    assert "set-cookie" not in by_cookie.headers
    assert redirected.status == 308
    assert "access" not in redirected.raw_body


def test_given_an_unverified_customer_when_logging_in_then_the_refusal_costs_what_an_unknown_emails_does(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One argon2id verify for every refusal (bench/login_timing.py measures it)."""
    register(call, "otto@example.com")
    mailbox.deliver()
    assert login(call, "nobody@example.com", STRONG).status == 401  # the cold start's dummy hash is not a refusal
    runs: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counted_verify(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        runs.append(hash[:9])
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted_verify)
    costs = {}
    for email, password in [
        ("otto@example.com", STRONG),
        ("otto@example.com", OTHER_STRONG),
        ("nobody@example.com", STRONG),
    ]:
        runs.clear()
        assert login(call, email, password).body == NO_ACCOUNT
        costs[(email, password)] = list(runs)

    assert list(costs.values()) == [["$argon2id"]] * 3


def test_difference_given_a_taken_and_a_new_address_registered_with_one_password_then_logins_answer_alike(
    call: Call, customer: Customer, mailbox: Mailbox
) -> None:
    """Issue 22, finding 2: register-then-login tells nothing about the address."""
    answers = [register(call, address, OTHER_STRONG) for address in (customer.email, "newcomer@example.com")]
    mailbox.deliver()

    logins = [login(call, address, OTHER_STRONG) for address in (customer.email, "newcomer@example.com")]

    assert [(answer.status, answer.body) for answer in answers] == [(201, SENT)] * 2
    assert [(answer.status, answer.body) for answer in logins] == [(401, NO_ACCOUNT)] * 2


def test_given_verification_switched_off_when_an_unverified_customer_logs_in_then_tokens_and_no_expiry(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUIRE_EMAIL_VERIFICATION", "false")
    services.reset()
    register(call, "jay@example.com")
    assert mailbox.one().subject == "Confirm your email address"

    assert login(call, "jay@example.com", STRONG).status == 200
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]
    customer_items = [item for item in items if item["pk"]["S"].startswith(("CUSTOMER#", "EMAIL#"))]
    assert customer_items
    assert not any("expires_at" in item for item in customer_items), "a usable account never expires"


def test_given_verification_switched_off_when_someone_registers_an_unverified_customers_address_then_no_takeover(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUIRE_EMAIL_VERIFICATION", "false")
    services.reset()
    register(call, "kim@example.com", STRONG)
    mailbox.deliver()

    again = register(call, "kim@example.com", OTHER_STRONG)

    assert (again.status, again.body) == (201, SENT)
    assert mailbox.one().subject == "You already have an account"
    assert login(call, "kim@example.com", OTHER_STRONG).status == 401
    assert login(call, "kim@example.com", STRONG).status == 200


def test_difference_keys_are_stored_only_as_hashes(call: Call, mailbox: Mailbox) -> None:
    register(call, "kate@example.com")
    key = mailbox.one().query()["key"]

    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]

    assert key not in str(items)
    assert any(item["pk"]["S"].startswith("VERIFY#") for item in items)


def test_difference_given_an_expired_key_when_verifying_then_404(call: Call, mailbox: Mailbox) -> None:
    register(call, "liam@example.com")
    key = mailbox.one().query()["key"]
    client = boto3.client("dynamodb", region_name=REGION)
    item = next(i for i in client.scan(TableName=TABLE_NAME)["Items"] if i["pk"]["S"].startswith("VERIFY#"))
    client.update_item(
        TableName=TABLE_NAME,
        Key={"pk": item["pk"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    assert verify(call, key).status == 404


def test_difference_given_repeated_registrations_of_one_address_when_over_the_limit_then_429_with_retry_after(
    call: Call, mailbox: Mailbox
) -> None:
    answers = [register(call, "mia@example.com") for _ in range(6)]

    assert [answer.status for answer in answers] == [201] * 5 + [429]
    wait = int(answers[-1].headers["retry-after"])
    assert 0 < wait <= 900
    unit = "second" if wait == 1 else "seconds"
    expected = {"detail": f"Request was throttled. Expected available in {wait} {unit}.", "code": "throttled"}
    assert answers[-1].body == expected, "DRF's throttled answer, the wait as in Retry-After"
    assert len(mailbox.deliver()) == 5
