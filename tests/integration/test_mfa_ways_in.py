"""The MFA rule against every way in: it lives in the opener (shared/customers/opening.py), so the
password login, the slashless URL, cookie mode, a password change and the ways still to come
(passkey, Google, Apple) all answer it without knowing about MFA."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest

from shared import services
from shared.customers.opening import WayIn
from shared.customers.record import Customer
from shared.errors import MfaRequired
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event, load_event
from tests.mailbox import OTHER_STRONG, account_event, login, refresh
from tests.mfa_kit import ACTIVATE, STATUS, challenge, code_at, enrol, mfa_event, verify

SHOP = "https://shop.example"
OTHER_EMAIL = "bob@example.com"

Call = Callable[..., HttpAnswer]


def make_staff(customer: Customer) -> None:
    """Django's is_staff on both items, as an import writes it."""
    client = boto3.client("dynamodb", region_name=REGION)
    for pk in ("CUSTOMER#" + customer.customer_id, "EMAIL#" + customer.email):
        client.update_item(
            TableName=TABLE_NAME,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET is_staff = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def authorize(call: Call, access: str, path: str, method: str = "GET") -> dict[str, Any]:
    event = load_event("authorizer_allow", authorizationToken=f"Bearer {access}")
    event["methodArn"] = f"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/{method}{path}"
    return call("authorizer", event).body  # type: ignore[no-any-return]


@pytest.fixture
def authorizer_call(load_handler: Callable[..., Any], lambda_context: Any) -> Call:
    def invoke(_: str, event: dict[str, Any]) -> HttpAnswer:
        policy = load_handler("authorizer").lambda_handler(event, lambda_context)
        return HttpAnswer(200, {}, policy, json.dumps(policy))

    return invoke


def test_given_mfa_on_when_the_password_is_right_then_the_challenge_and_no_token(
    customer: Customer, call: Call
) -> None:
    enrol(call)

    answer = login(call, EMAIL, PASSWORD)

    assert answer.status == 200
    assert set(answer.body) == {"ephemeral_token", "mfa_required"}
    assert answer.body["mfa_required"] is True
    assert answer.headers["cache-control"] == "no-store"
    assert "set-cookie" not in answer.headers


def test_given_mfa_on_when_the_password_is_wrong_then_the_usual_refusal_tells_nothing(
    customer: Customer, make_customer: Callable[..., Customer], call: Call
) -> None:
    make_customer(OTHER_EMAIL, customer_id="2")
    enrol(call)

    with_mfa = login(call, EMAIL, "wrong password")
    without = login(call, OTHER_EMAIL, "wrong password")

    assert (
        (with_mfa.status, with_mfa.body)
        == (without.status, without.body)
        == (
            401,
            {"detail": "No active account found with the given credentials"},
        )
    )


def test_given_mfa_off_when_logging_in_then_the_pair_as_before(
    customer: Customer, make_customer: Callable[..., Customer], call: Call
) -> None:
    make_customer(OTHER_EMAIL, customer_id="2")
    enrol(call)  # another customer's MFA changes nothing for this one

    answer = login(call, OTHER_EMAIL, PASSWORD)

    assert answer.status == 200
    assert set(answer.body) == {"refresh", "access"}


def test_given_mfa_on_when_the_login_url_lacks_its_slash_then_no_token_only_the_redirect(
    customer: Customer, call: Call
) -> None:
    enrol(call)
    event = json_event("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})
    event["path"] = "/auth/token"
    event["requestContext"]["path"] = "/prod/auth/token"

    redirected = call("obtain_token", event)
    event["path"] = redirected.headers["location"].removeprefix("/prod")
    followed = call("obtain_token", event)

    assert redirected.status == 308
    assert "access" not in redirected.body
    assert followed.body["mfa_required"] is True


def test_given_mfa_on_when_a_page_logs_in_with_the_cookie_transport_then_the_challenge_and_no_cookie(
    customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", SHOP)
    enrol(call)
    event = json_event("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})
    event["headers"].update({"Origin": SHOP, "X-Token-Transport": "cookie"})

    answer = call("obtain_token", event)

    assert answer.body["mfa_required"] is True
    assert "set-cookie" not in answer.headers


def test_given_the_cookie_transport_when_the_second_step_succeeds_then_the_refresh_token_is_in_the_cookie(
    customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", SHOP)
    enrolled = enrol(call)
    token = challenge(call)

    answer = verify(call, token, code_at(enrolled.secret, 1), headers={"Origin": SHOP, "X-Token-Transport": "cookie"})

    assert answer.status == 200
    assert set(answer.body) == {"access"}
    assert answer.headers["set-cookie"].startswith("refresh_token=")
    assert "HttpOnly" in answer.headers["set-cookie"]
    assert answer.headers["cache-control"] == "no-store"


def test_given_mfa_on_when_the_password_changes_then_the_fresh_pair_continues_the_session_and_the_next_login_asks(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    body = {"old_password": PASSWORD, "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}

    changed = call("change_password", password_change_event(enrolled.pair, body))
    next_login = login(call, EMAIL, OTHER_STRONG)

    assert changed.status == 200, changed.body
    assert "scope" not in claims_of(changed.body["access"])
    assert next_login.body["mfa_required"] is True


def test_given_an_access_token_from_before_enrolment_when_changing_the_password_then_refused(
    customer: Customer, call: Call
) -> None:
    before = login(call, EMAIL, PASSWORD).body
    enrol(call)
    body = {"old_password": PASSWORD, "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}

    answer = call("change_password", password_change_event(before, body))

    assert answer.status == 401
    assert "access" not in answer.body


def test_given_a_challenge_when_the_password_changes_before_the_second_step_then_the_challenge_is_void(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    body = {"old_password": PASSWORD, "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}
    call("change_password", password_change_event(enrolled.pair, body))

    answer = verify(call, token, enrolled.recovery_codes[0])

    assert (answer.status, answer.body) == (400, {"ephemeral_token": ["Invalid or expired token."]})


def password_change_event(pair: dict[str, str], body: Any) -> dict[str, Any]:
    """A password change as the authorizer passes it on for the session of ``pair``."""
    session = claims_of(pair["access"])
    event = account_event("password_change_wrong_old", body, caller=session["user_id"], issued_at=session["iat"])
    event["requestContext"]["authorizer"]["family"] = session["family"]
    return event  # type: ignore[no-any-return]


@pytest.mark.parametrize("way", [WayIn.PASSWORD, WayIn.GOOGLE, WayIn.APPLE])
def test_given_mfa_on_when_a_one_factor_way_opens_a_session_then_the_opener_asks_for_the_second_step(
    customer: Customer, call: Call, way: WayIn
) -> None:
    enrol(call)
    subject = services.customer_store().get("1").login_record()  # type: ignore[union-attr]

    with pytest.raises(MfaRequired) as raised:
        services.session_opener().open(subject, way)

    assert raised.value.status == 200
    assert raised.value.body()["mfa_required"] is True
    assert raised.value.headers() == {"Cache-Control": "no-store"}


@pytest.mark.parametrize("way", [WayIn.PASSKEY, WayIn.SECOND_FACTOR])
def test_given_mfa_on_when_a_way_that_proves_a_second_factor_opens_a_session_then_a_full_pair(
    customer: Customer, call: Call, way: WayIn
) -> None:
    enrol(call)
    subject = services.customer_store().get("1").login_record()  # type: ignore[union-attr]

    result = services.session_opener().open(subject, way)

    assert "scope" not in claims_of(result.tokens["access"])


def test_given_staff_without_mfa_when_logging_in_then_the_pair_may_only_enrol(
    customer: Customer, call: Call, authorizer_call: Call
) -> None:
    make_staff(customer)

    pair = login(call, EMAIL, PASSWORD).body
    status = authorize(authorizer_call, pair["access"], STATUS)
    refused = authorize(authorizer_call, pair["access"], "/auth/user/")

    assert claims_of(pair["access"])["scope"] == claims_of(pair["refresh"])["scope"] == "mfa_enrolment"
    assert status["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    resources = status["policyDocument"]["Statement"][0]["Resource"]
    assert resources == [
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/auth/mfa/status*",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/auth/mfa/totp/activate*",
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/auth/passkeys/registration*",
    ]
    assert refused == status  # one policy for every route: the resources alone keep /auth/user/ out
    assert json.loads(status["context"]["body"])["code"] == "mfa_enrolment_required"


def test_given_an_enrolment_only_session_when_refreshed_then_the_new_pair_keeps_the_scope(
    customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    make_staff(customer)
    pair = login(call, EMAIL, PASSWORD).body

    refreshed = refresh(call, pair["refresh"]).body

    assert claims_of(refreshed["access"])["scope"] == claims_of(refreshed["refresh"])["scope"] == "mfa_enrolment"


def test_given_staff_with_an_enrolment_only_session_when_they_enrol_then_their_fresh_pair_is_full(
    customer: Customer, call: Call
) -> None:
    make_staff(customer)
    scoped = login(call, EMAIL, PASSWORD).body

    enrolled = enrol(call)
    token = challenge(call)
    after = verify(call, token, code_at(enrolled.secret, 1)).body

    assert claims_of(scoped["access"])["scope"] == "mfa_enrolment"
    assert "scope" not in claims_of(enrolled.pair["access"])
    assert "scope" not in claims_of(after["access"])


def test_given_staff_without_mfa_when_they_sign_in_with_a_passkey_then_a_full_pair(customer: Customer) -> None:
    make_staff(customer)
    subject = services.customer_store().get("1").login_record()  # type: ignore[union-attr]

    result = services.session_opener().open(subject, WayIn.PASSKEY)

    assert "scope" not in claims_of(result.tokens["access"])


def test_given_require_staff_mfa_off_when_staff_log_in_then_a_full_pair(
    customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUIRE_STAFF_MFA", "false")
    make_staff(customer)

    pair = login(call, EMAIL, PASSWORD).body

    assert "scope" not in claims_of(pair["access"])


def test_given_staff_when_they_deactivate_mfa_then_their_fresh_pair_may_only_enrol_again(
    customer: Customer, call: Call
) -> None:
    make_staff(customer)
    enrolled = enrol(call)

    off = call(
        "mfa",
        mfa_event(
            "/auth/mfa/totp/deactivate/",
            {"password": PASSWORD, "code": enrolled.recovery_codes[0]},
            session=enrolled.pair,
        ),
    )

    assert off.status == 200, off.body
    assert claims_of(off.body["access"])["scope"] == "mfa_enrolment"


def test_given_an_activation_with_a_refused_session_then_401(customer: Customer, call: Call) -> None:
    answer = call("mfa", mfa_event(ACTIVATE, method="GET", caller=None))

    assert (answer.status, answer.body) == (401, {"detail": "Authentication credentials were not provided."})
