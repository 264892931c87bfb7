"""Finding 6: a revocation's time comes from DynamoDB's clock, and a login never waits long for it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from shared import services
from shared.aws import dynamodb_client
from shared.customers.login import LoginService
from shared.customers.login_guard import LoginGuard
from shared.customers.opening import SessionOpener
from shared.customers.passwords import PasswordHasher
from shared.customers.record import Customer
from shared.mfa.challenges import MfaChallenges
from shared.settings import get_settings
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME
from tools import authctl

HOUR = 3600.0


def tokens_valid_after(pk: str) -> float:
    item = boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}})["Item"]
    return float(item["tokens_valid_after"]["N"])


def login_service(sleep: Callable[[float], None], clock: Callable[[], float] = time.time) -> LoginService:
    """The container's login service, sleeping through ``sleep``, its wait reading ``clock``."""
    settings = get_settings()
    guard = LoginGuard(dynamodb_client(), TABLE_NAME, settings)
    store, tokens = services.customer_store(), services.token_service()
    challenges = MfaChallenges(dynamodb_client(), TABLE_NAME, settings)
    opener = SessionOpener(settings, store, tokens, challenges, clock=clock, sleep=sleep)
    return LoginService(settings, store, guard, PasswordHasher(settings), opener)


@pytest.mark.parametrize("skew", [HOUR, -HOUR])
@pytest.mark.parametrize("command", ["revoke-sessions", "deactivate"])
def test_given_the_operators_clock_is_an_hour_off_when_revoking_then_the_time_is_dynamodbs(
    customer: Customer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], skew: float, command: str
) -> None:
    skewed = SimpleNamespace(time=lambda: time.time() + skew, monotonic=time.monotonic)
    monkeypatch.setattr(authctl, "time", skewed)
    before = time.time()

    assert authctl.main(["--table", TABLE_NAME, command, "--email", EMAIL]) == 0

    written = tokens_valid_after("CUSTOMER#1")
    assert before < written <= time.time() + 1, "after the command started, at most a second ahead"
    assert tokens_valid_after(f"EMAIL#{EMAIL}") == written
    capsys.readouterr()


def test_given_tokens_valid_after_an_hour_ahead_when_logging_in_then_the_login_waits_at_most_a_second(
    customer: Customer,
) -> None:
    services.customer_store().revoke_sessions(customer, revoke_at=time.time() + HOUR)
    slept: list[float] = []
    service = login_service(slept.append)
    body: dict[str, Any] = {"email": EMAIL, "password": PASSWORD}

    result = service.obtain_pair(json.dumps(body).encode(), "application/json", "198.51.100.20")

    assert result.customer_id == "1"
    assert slept == [1.0]


def test_given_a_revocation_this_second_when_logging_in_then_the_login_waits_for_the_next_second(
    customer: Customer,
) -> None:
    revoke_at = services.customer_store().revocation_time()
    services.customer_store().revoke_sessions(customer, revoke_at=revoke_at)
    slept: list[float] = []
    # The login reaches its wait 0.4 s before the revocation's moment, however slow the machine.
    service = login_service(slept.append, clock=lambda: revoke_at - 0.4)

    service.obtain_pair(json.dumps({"email": EMAIL, "password": PASSWORD}).encode(), "application/json", "10.9.9.9")

    assert len(slept) == 1
    assert 0 < slept[0] <= 1.0
