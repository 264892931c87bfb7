"""Fixtures shared by every test: a moto-backed AWS, a fresh container, real events."""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared import services

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TABLE_NAME = "test-customers"
SECRET_ID = "test/signing-key"
SIGNING_KEY = "k" * 24 + "-a-test-signing-key-of-50-bytes!!!"
REGION = "us-east-1"
PASSWORD = "SecurePass123!"
EMAIL = "customer@example.com"


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/25/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The variables the template sets on every function, pointed at test resources."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE_NAME,
        "SIGNING_KEY_SECRET_ID": SECRET_ID,
        "POWERTOOLS_SERVICE_NAME": "ecommerce-auth",
        "POWERTOOLS_METRICS_NAMESPACE": "EcommerceAuthTest",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETSMANAGER", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def create_table(table_name: str = TABLE_NAME) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws(environment: dict[str, str]) -> Iterator[None]:
    """moto's DynamoDB and Secrets Manager with the table and the signing key in place."""
    with mock_aws():
        create_table()
        boto3.client("secretsmanager", region_name=REGION).create_secret(Name=SECRET_ID, SecretString=SIGNING_KEY)
        services.reset()
        yield
        services.reset()


@pytest.fixture
def customer(aws: None) -> Any:
    """An active customer with an argon2id hash, as authctl would create one."""
    from shared.passwords import PasswordHasher

    hasher = PasswordHasher(services.get_settings())
    return services.customer_store().create(EMAIL, hasher.hash(PASSWORD), customer_id="1")


@pytest.fixture
def load_handler(aws: None) -> Callable[[str], ModuleType]:
    """Import ``functions/<name>/app.py`` as a cold start would: a fresh module and container."""

    def load(name: str) -> ModuleType:
        module_name = f"functions.{name}.app"
        sys.modules.pop(module_name, None)
        services.reset()
        return importlib.import_module(module_name)

    return load


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """A copy of ``events/<name>.json`` with top-level keys replaced."""
    event = json.loads((EVENTS / f"{name}.json").read_text())
    event = copy.deepcopy(event)
    event.update(overrides)
    return event


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: Any
    raw_body: str


@pytest.fixture
def call(load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext) -> Callable[..., HttpAnswer]:
    """Invoke a function's handler with an event and decode the proxy response."""
    loaded: dict[str, ModuleType] = {}

    def invoke(function: str, event: dict[str, Any]) -> HttpAnswer:
        if function not in loaded:
            loaded[function] = load_handler(function)
        response = loaded[function].lambda_handler(event, lambda_context)
        headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), values[-1])
        raw = response.get("body") or ""
        return HttpAnswer(response["statusCode"], headers, json.loads(raw) if raw else None, raw)

    return invoke


def json_event(name: str, body: Any, *, content_type: str = "application/json", method: str = "POST") -> dict[str, Any]:
    """An event from ``events/`` carrying ``body`` (a str is sent as is, anything else as JSON)."""
    event = load_event(name)
    event["httpMethod"] = method
    event["requestContext"]["httpMethod"] = method
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    if content_type:
        headers["Content-Type"] = content_type
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return event
