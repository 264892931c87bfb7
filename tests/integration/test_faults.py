"""Dependency faults injected through botocore's event hooks, with the real retry logic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from tests.faults import SERVER_ERROR, THROTTLE, FaultInjector
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, claims, json_event, mint

UNAVAILABLE = {"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"}
CREDENTIALS = {"email": EMAIL, "password": PASSWORD}


def last_login(customer_id: str = "1") -> Any:
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": f"CUSTOMER#{customer_id}"}}
    )["Item"]
    return item["last_login"]


def assert_unavailable(answer: HttpAnswer) -> None:
    assert answer.status == 503
    assert answer.body == UNAVAILABLE
    assert answer.headers["retry-after"] == "1"
    assert "access" not in answer.raw_body
    assert "refresh" not in answer.raw_body


def test_login_read_throttled_past_the_retries_answers_503_and_writes_nothing(
    customer: Any, faults: FaultInjector, call: Callable[..., HttpAnswer]
) -> None:
    faults.fail_always("dynamodb.BatchGetItem", THROTTLE)

    answer = call("obtain_token", json_event("obtain_token_ok", CREDENTIALS))

    assert_unavailable(answer)
    assert faults.attempts["dynamodb.BatchGetItem"] == 3, "standard mode made all its attempts"
    assert faults.attempts["dynamodb.UpdateItem"] == 0
    assert last_login() == {"NULL": True}


def test_login_write_throttled_past_the_retries_issues_no_token_and_leaves_last_login(
    customer: Any, faults: FaultInjector, call: Callable[..., HttpAnswer]
) -> None:
    faults.fail_always("dynamodb.UpdateItem", THROTTLE)

    assert_unavailable(call("obtain_token", json_event("obtain_token_ok", CREDENTIALS)))
    assert faults.attempts["dynamodb.UpdateItem"] == 3
    assert last_login() == {"NULL": True}


def test_two_throttles_then_success_logs_in(
    customer: Any, faults: FaultInjector, call: Callable[..., HttpAnswer]
) -> None:
    faults.fail("dynamodb.BatchGetItem", THROTTLE, THROTTLE)

    answer = call("obtain_token", json_event("obtain_token_ok", CREDENTIALS))

    assert answer.status == 200
    assert list(answer.body) == ["refresh", "access"]
    assert faults.attempts["dynamodb.BatchGetItem"] == 3
    assert "S" in last_login()


def test_refresh_read_failing_with_500s_answers_503(
    customer: Any, faults: FaultInjector, call: Callable[..., HttpAnswer]
) -> None:
    faults.fail_always("dynamodb.BatchGetItem", SERVER_ERROR)

    assert_unavailable(call("refresh_token", json_event("refresh_token_ok", {"refresh": mint(claims("refresh"))})))


def test_secrets_manager_down_at_init_and_at_the_first_request_answers_503(
    customer: Any, faults: FaultInjector, call: Callable[..., HttpAnswer]
) -> None:
    faults.fail_always("secretsmanager.GetSecretValue", THROTTLE)

    assert_unavailable(call("obtain_token", json_event("obtain_token_ok", CREDENTIALS)))
    assert faults.attempts["secretsmanager.GetSecretValue"] == 6, "the client's 3 attempts at init, 3 at the request"
    assert last_login() == {"NULL": True}, "no key, no login recorded"
