"""Issue 22, finding 7: a one-time key or link is spent only with the write it allows.

A throttled customer write answers 503 and spends nothing, so the customer's retry works;
a cancelled transaction is told apart: a condition's refusal is an answer, throttling a 503.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.customers.record import Customer
from tests.faults import THROTTLE, TRANSACTION_THROTTLED, FaultInjector
from tests.helpers import PASSWORD, HttpAnswer, json_event
from tests.mailbox import STRONG, Mailbox, login, register

Call = Callable[..., HttpAnswer]
UNAVAILABLE = {"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"}
NEW_PASSWORD = "Copper-Kettle-Sings-8"
# Every attempt botocore makes (AWS_MAX_ATTEMPTS), or one cancelled transaction (not retried).
WRITE_FAULTS = {"throttled": (THROTTLE,) * 3, "cancelled by throttling": (TRANSACTION_THROTTLED,)}


def verify(call: Call, key: str) -> HttpAnswer:
    return call("verify_email", json_event("verify_email_unknown_key", {"key": key, "password": STRONG}))


def confirm_reset(call: Call, link: dict[str, str]) -> HttpAnswer:
    body = {"uid": link["uid"], "token": link["token"], "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    return call("reset_password", json_event("password_reset_confirm_bad_uid", body))


@pytest.mark.parametrize("fault", WRITE_FAULTS)
def test_given_the_confirming_write_fails_when_verifying_then_503_and_the_retry_confirms(
    faults: FaultInjector, call: Call, mailbox: Mailbox, fault: str
) -> None:
    register(call, "tess@example.com")
    key = mailbox.one().query()["key"]
    faults.fail("dynamodb.TransactWriteItems", *WRITE_FAULTS[fault])

    failed, retried = verify(call, key), verify(call, key)

    assert (failed.status, failed.body) == (503, UNAVAILABLE)
    assert (retried.status, retried.body) == (200, {"detail": "ok"}), "the key was not spent by the failed write"
    assert login(call, "tess@example.com", STRONG).status == 200


@pytest.mark.parametrize("fault", WRITE_FAULTS)
def test_given_the_password_write_fails_when_confirming_a_reset_then_503_and_the_retry_resets(
    customer: Customer, faults: FaultInjector, call: Call, mailbox: Mailbox, fault: str
) -> None:
    call("request_mail", json_event("password_reset_ok", {"email": customer.email}))
    link = mailbox.one().query()
    faults.fail("dynamodb.TransactWriteItems", *WRITE_FAULTS[fault])

    failed, retried = confirm_reset(call, link), confirm_reset(call, link)

    assert (failed.status, failed.body) == (503, UNAVAILABLE)
    assert retried.status == 200, retried.body
    assert login(call, customer.email, NEW_PASSWORD).status == 200
    assert login(call, customer.email, PASSWORD).status == 401
    assert confirm_reset(call, link).body == {"token": ["Invalid value"]}, "spent once it worked"
