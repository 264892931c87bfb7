"""Cheap requests that used to cost a 500: each is a 400 in the contract's shape instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.adversarial.stack import TOKEN_FUNCTIONS
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event

Call = Callable[..., HttpAnswer]
DEEP_ARRAY = "[" * 30_000 + "]" * 30_000  # 60,000 bytes: under the 64 KiB body limit


def post(call: Call, function: str, body: Any) -> HttpAnswer:
    name, path, resource = TOKEN_FUNCTIONS[function]
    event = json_event(name, body)
    event["path"], event["resource"] = path, resource
    return call(function, event)


def stored_keys() -> list[str]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]
    return sorted(item["pk"]["S"] for item in items)


@pytest.mark.parametrize("function", sorted(TOKEN_FUNCTIONS))
def test_given_json_nested_30000_deep_when_posted_to_a_token_endpoint_then_400_parse_error(
    call: Call, function: str
) -> None:
    assert len(DEEP_ARRAY.encode()) < 64 * 1024

    answer = post(call, function, DEEP_ARRAY)

    assert answer.status == 400
    assert list(answer.body) == ["detail"]
    assert answer.body["detail"].startswith("JSON parse error - maximum recursion depth exceeded")


def test_given_a_3000_character_email_when_logging_in_then_400_before_any_key_is_built(
    call: Call, customer: Any
) -> None:
    before = stored_keys()

    answer = post(call, "obtain_token", {"email": "a" * 2988 + "@example.com", "password": PASSWORD})

    assert (answer.status, answer.body) == (400, {"email": ["Ensure this field has no more than 254 characters."]})
    assert stored_keys() == before, "no failure counter was written"


def test_given_a_254_character_email_when_logging_in_then_it_is_an_ordinary_refusal(call: Call, customer: Any) -> None:
    email = "a" * 242 + "@example.com"
    assert len(email) == 254

    answer = post(call, "obtain_token", {"email": email, "password": PASSWORD})

    assert (answer.status, answer.body) == (401, {"detail": "No active account found with the given credentials"})
    assert post(call, "obtain_token", {"email": EMAIL, "password": PASSWORD}).status == 200
