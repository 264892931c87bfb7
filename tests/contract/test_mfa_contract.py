"""docs/mfa-contract.md row by row: the shapes of /auth/mfa/... (the defects' rows are in
tests/integration/test_mfa_defects.py, the rule's in tests/integration/test_mfa_ways_in.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from shared.customers.record import Customer
from tests.helpers import EMAIL, PASSWORD, HttpAnswer
from tests.mailbox import login
from tests.mfa_kit import (
    ACTIVATE,
    DEACTIVATE,
    RECOVERY_CODES,
    REGENERATE,
    STATUS,
    VERIFY,
    challenge,
    code_at,
    enrol,
    mfa_event,
    verify,
)

Call = Callable[..., HttpAnswer]
REQUIRED = ["This field is required."]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"ephemeral_token": REQUIRED, "code": REQUIRED}),
        ({"ephemeral_token": "x"}, {"code": REQUIRED}),
        ({"code": "123456"}, {"ephemeral_token": REQUIRED}),
        ({"ephemeral_token": "x", "code": "1" * 33}, {"code": ["Ensure this field has no more than 32 characters."]}),
        ({"ephemeral_token": "garbage", "code": "123456"}, {"ephemeral_token": ["Invalid or expired token."]}),
    ],
)
def test_verify_field_rows(customer: Customer, call: Call, body: dict[str, Any], errors: dict[str, Any]) -> None:
    answer = call("mfa", mfa_event(VERIFY, body, caller=None))

    assert (answer.status, answer.body) == (400, errors)


@pytest.mark.parametrize(
    ("path", "method", "allow"),
    [
        (VERIFY, "GET", "POST, OPTIONS"),
        (DEACTIVATE, "GET", "POST, OPTIONS"),
        (STATUS, "POST", "GET, HEAD, OPTIONS"),
        (RECOVERY_CODES, "GET", "POST, OPTIONS"),
        (REGENERATE, "GET", "POST, OPTIONS"),
        (ACTIVATE, "DELETE", "GET, POST, HEAD, OPTIONS"),
    ],
)
def test_other_methods_are_drfs_405(customer: Customer, call: Call, path: str, method: str, allow: str) -> None:
    answer = call("mfa", mfa_event(path, None, method=method))

    assert (answer.status, answer.body) == (405, {"detail": f'Method "{method}" not allowed.'})
    assert answer.headers["allow"] == allow


def test_a_path_without_its_slash_is_redirected(customer: Customer, call: Call) -> None:
    event = mfa_event(VERIFY, {}, caller=None)
    event["path"] = VERIFY.rstrip("/")
    event["requestContext"]["path"] = "/prod" + event["path"]

    answer = call("mfa", event)

    assert answer.status == 308
    assert answer.headers["location"] == "/prod" + VERIFY


@pytest.mark.parametrize("path", [STATUS, RECOVERY_CODES, DEACTIVATE, REGENERATE])
def test_without_credentials_401(customer: Customer, call: Call, path: str) -> None:
    method = "GET" if path == STATUS else "POST"

    answer = call("mfa", mfa_event(path, {}, method=method, caller=None))

    assert (answer.status, answer.body) == (401, {"detail": "Authentication credentials were not provided."})


def test_status_with_mfa_off(customer: Customer, call: Call) -> None:
    answer = call("mfa", mfa_event(STATUS, method="GET"))

    assert (answer.status, answer.body) == (200, {"mfa_enabled": False, "created_at": None, "last_used_at": None})


def test_status_with_mfa_on_before_and_after_a_verify(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    before = call("mfa", mfa_event(STATUS, method="GET", session=enrolled.pair)).body
    verify(call, challenge(call), enrolled.recovery_codes[0])

    after = call("mfa", mfa_event(STATUS, method="GET", session=enrolled.pair)).body

    assert before["mfa_enabled"] is True
    assert ISO.fullmatch(before["created_at"])
    assert before["last_used_at"] is None
    assert before["recovery_codes_left"] == 10
    assert ISO.fullmatch(after["last_used_at"])
    assert after["recovery_codes_left"] == 9


def test_begin_offers_a_secret_its_uri_a_qr_code_and_an_activation_token(customer: Customer, call: Call) -> None:
    answer = call("mfa", mfa_event(ACTIVATE, method="GET"))

    body = answer.body
    assert answer.status == 200
    assert set(body) == {"secret", "totp_url", "qr_code_data_uri", "activation_token"}
    assert re.fullmatch(r"[A-Z2-7]{32}", body["secret"])
    assert body["totp_url"] == f"otpauth://totp/customer%40example.com?secret={body['secret']}"
    assert body["qr_code_data_uri"].startswith("data:image/svg+xml;")
    assert body["secret"] not in body["activation_token"]
    assert answer.headers["cache-control"] == "no-store"


def test_begin_with_an_issuer_labels_the_uri(customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MFA_TOTP_ISSUER", "Example Shop")

    body = call("mfa", mfa_event(ACTIVATE, method="GET")).body

    expected = f"otpauth://totp/Example%20Shop:customer%40example.com?secret={body['secret']}&issuer=Example%20Shop"
    assert body["totp_url"] == expected


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"activation_token": REQUIRED, "code": REQUIRED, "password": REQUIRED}),
        ({"activation_token": "x", "password": PASSWORD}, {"code": REQUIRED}),
        ({"activation_token": "x", "code": "", "password": PASSWORD}, {"code": ["This field may not be blank."]}),
        (
            {"activation_token": "x", "code": "123456", "password": PASSWORD},
            {"activation_token": ["Invalid or expired activation token."]},
        ),
    ],
)
def test_confirm_field_rows(customer: Customer, call: Call, body: dict[str, Any], errors: dict[str, Any]) -> None:
    answer = call("mfa", mfa_event(ACTIVATE, body))

    assert (answer.status, answer.body) == (400, errors)


def test_confirm_with_a_wrong_code(customer: Customer, call: Call) -> None:
    begun = call("mfa", mfa_event(ACTIVATE, method="GET")).body
    body = {"activation_token": begun["activation_token"], "code": code_at(begun["secret"], -2), "password": PASSWORD}

    answer = call("mfa", mfa_event(ACTIVATE, body))

    assert (answer.status, answer.body) == (400, {"code": ["Invalid code."]})


def test_confirm_with_another_customers_token(
    customer: Customer, make_customer: Callable[..., Customer], call: Call
) -> None:
    make_customer("bob@example.com", customer_id="2")
    begun = call("mfa", mfa_event(ACTIVATE, method="GET", caller="2")).body
    body = {"activation_token": begun["activation_token"], "code": code_at(begun["secret"]), "password": PASSWORD}

    answer = call("mfa", mfa_event(ACTIVATE, body))

    assert (answer.status, answer.body) == (400, {"activation_token": ["Invalid activation token for this user."]})


def test_confirm_answers_ten_codes_and_a_fresh_pair(customer: Customer, call: Call) -> None:
    begun = call("mfa", mfa_event(ACTIVATE, method="GET")).body
    body = {"activation_token": begun["activation_token"], "code": code_at(begun["secret"]), "password": PASSWORD}

    answer = call("mfa", mfa_event(ACTIVATE, body))

    assert answer.status == 200
    assert set(answer.body) == {"recovery_codes", "refresh", "access"}
    assert len(set(answer.body["recovery_codes"])) == 10
    assert all(re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}", code) for code in answer.body["recovery_codes"])
    assert answer.headers["cache-control"] == "no-store"


def test_confirm_while_mfa_is_on(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    body = {"activation_token": "x", "code": "123456", "password": PASSWORD}

    answer = call("mfa", mfa_event(ACTIVATE, body, session=enrolled.pair))

    expected = {"detail": "MFA is already enabled. Deactivate it before activating again."}
    assert (answer.status, answer.body) == (400, expected)


@pytest.mark.parametrize("path", [DEACTIVATE, REGENERATE])
def test_deactivate_and_regenerate_with_mfa_off(customer: Customer, call: Call, path: str) -> None:
    answer = call("mfa", mfa_event(path, {}))

    assert (answer.status, answer.body) == (400, {"detail": "MFA is not enabled."})


def test_deactivate_field_rows(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)

    empty = call("mfa", mfa_event(DEACTIVATE, {}, session=enrolled.pair))
    wrong = call("mfa", mfa_event(DEACTIVATE, {"code": "000000", "password": PASSWORD}, session=enrolled.pair))

    assert (empty.status, empty.body) == (400, {"code": REQUIRED, "password": REQUIRED})
    assert (wrong.status, wrong.body) == (400, {"code": ["Invalid code."]})


def test_deactivate_with_a_totp_code(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    body = {"code": code_at(enrolled.secret, 1), "password": PASSWORD}

    answer = call("mfa", mfa_event(DEACTIVATE, body, session=enrolled.pair))
    status = call("mfa", mfa_event(STATUS, method="GET", session=answer.body))

    assert answer.status == 200
    assert answer.body["detail"] == "TOTP has been deactivated."
    assert status.body == {"mfa_enabled": False, "created_at": None, "last_used_at": None}
    assert set(login(call, EMAIL, PASSWORD).body) == {"refresh", "access"}


def test_the_recovery_code_list_with_mfa_off(customer: Customer, call: Call) -> None:
    answer = call("mfa", mfa_event(RECOVERY_CODES, {}))

    assert (answer.status, answer.body) == (200, {"codes": [], "recovery_codes_left": 0})
