"""Issue 22, findings 6 and 7: what a password change, reset or confirmation races with.

A refresh that read the customer before the write and mints its pair in the next whole
second (while the argon2 work runs) must not outlive the write: the store takes the
revocation time right before it. Two confirmations of one key or link: one wins.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from shared import services
from shared.customers.passwords import PasswordHasher
from shared.customers.record import Customer
from tests.helpers import PASSWORD, HttpAnswer, json_event
from tests.mailbox import STRONG, Mailbox, account_event, login, refresh, register

Call = Callable[..., HttpAnswer]
NEW_PASSWORD = "Copper-Kettle-Sings-8"


@pytest.fixture(autouse=True)
def rotating(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployed defaults (template.yaml): a refresh answers a new refresh token."""
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")


class Racer:
    """Runs ``action`` once, inside the next call of a PasswordHasher method (the argon2 work)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, call: Call) -> None:
        self._monkeypatch = monkeypatch
        self._call = call
        self.results: list[Any] = []

    def during(self, function: str, event: str, method: str, action: Callable[[], Any]) -> None:
        """Hook the method once ``function`` is loaded: its cold start hashes a dummy password."""
        assert self._call(function, json_event(event, {})).status == 400
        original = getattr(PasswordHasher, method)
        started = False

        def racing(hasher: PasswordHasher, *args: str) -> Any:
            nonlocal started
            if not started:  # once: the action may call the same method
                started = True
                self.results.append(action())
            return original(hasher, *args)

        self._monkeypatch.setattr(PasswordHasher, method, racing)


@pytest.fixture
def racer(monkeypatch: pytest.MonkeyPatch, call: Call) -> Racer:
    return Racer(monkeypatch, call)


def refresh_in_the_next_second(call: Call, token: str) -> Callable[[], str]:
    """A refresh that starts before the write and mints in a later whole second than the
    operation's start (the argon2 work took it past the boundary)."""

    def act() -> str:
        time.sleep(math.ceil(time.time()) - time.time() + 0.02)
        answer = refresh(call, token)
        assert answer.status == 200, answer.body
        return str(answer.body["refresh"])

    return act


def test_given_a_refresh_during_a_password_change_then_its_token_is_revoked_by_the_change(
    customer: Customer, call: Call, racer: Racer
) -> None:
    pair = login(call, customer.email, PASSWORD).body
    racer.during(
        "change_password", "password_change_wrong_old", "hash", refresh_in_the_next_second(call, pair["refresh"])
    )
    body = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    changed = call("change_password", account_event("password_change_wrong_old", body, caller=customer.customer_id))

    assert changed.status == 200, changed.body
    assert refresh(call, racer.results[0]).status == 401, "minted before the change's write: revoked"
    assert refresh(call, changed.body["refresh"]).status == 200, "the change's own pair lives"


def test_given_a_refresh_during_a_reset_confirmation_then_its_token_is_revoked_by_the_reset(
    customer: Customer, call: Call, mailbox: Mailbox, racer: Racer
) -> None:
    pair = login(call, customer.email, PASSWORD).body
    call("request_mail", json_event("password_reset_ok", {"email": customer.email}))
    link = mailbox.one().query()
    racer.during(
        "reset_password", "password_reset_confirm_bad_uid", "hash", refresh_in_the_next_second(call, pair["refresh"])
    )
    body = {"uid": link["uid"], "token": link["token"], "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    assert call("reset_password", json_event("password_reset_confirm_bad_uid", body)).status == 200
    assert refresh(call, racer.results[0]).status == 401


def test_given_a_refresh_during_a_confirmation_then_the_earlier_sessions_token_is_revoked(
    call: Call, mailbox: Mailbox, racer: Racer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With optional verification an unconfirmed customer logs in; confirming ends those sessions."""
    monkeypatch.setenv("REQUIRE_EMAIL_VERIFICATION", "false")
    services.reset()
    register(call, "uma@example.com")
    key = mailbox.one().query()["key"]
    pair = login(call, "uma@example.com", STRONG).body
    racer.during(
        "verify_email", "verify_email_unknown_key", "verify", refresh_in_the_next_second(call, pair["refresh"])
    )

    confirmed = call("verify_email", json_event("verify_email_unknown_key", {"key": key, "password": STRONG}))

    assert confirmed.status == 200, confirmed.body
    assert refresh(call, racer.results[0]).status == 401


def test_given_two_confirmations_of_one_key_racing_then_one_wins_and_the_other_is_404(
    call: Call, mailbox: Mailbox, racer: Racer
) -> None:
    register(call, "vic@example.com")
    key = mailbox.one().query()["key"]
    body = {"key": key, "password": STRONG}
    # The second confirmation runs whole while the first checks the password: both read the key.
    racer.during(
        "verify_email",
        "verify_email_unknown_key",
        "verify",
        lambda: call("verify_email", json_event("verify_email_unknown_key", body)),
    )

    first = call("verify_email", json_event("verify_email_unknown_key", body))

    assert [racer.results[0].status, first.status] == [200, 404]
    assert login(call, "vic@example.com", STRONG).status == 200


def test_given_two_reset_confirmations_of_one_link_racing_then_one_wins(
    customer: Customer, call: Call, mailbox: Mailbox, racer: Racer
) -> None:
    call("request_mail", json_event("password_reset_ok", {"email": customer.email}))
    link = mailbox.one().query()

    def confirm(password: str) -> HttpAnswer:
        body = {"uid": link["uid"], "token": link["token"], "new_password1": password, "new_password2": password}
        return call("reset_password", json_event("password_reset_confirm_bad_uid", body))

    other = "Velvet-Compass-31"
    racer.during(
        "reset_password", "password_reset_confirm_bad_uid", "hash", lambda: confirm(other)
    )  # runs whole while the first hashes its password

    first = confirm(NEW_PASSWORD)

    assert [racer.results[0].status, first.status] == [200, 400]
    assert first.body == {"token": ["Invalid value"]}
    assert login(call, customer.email, other).status == 200
    assert login(call, customer.email, NEW_PASSWORD).status == 401
