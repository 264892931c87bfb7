"""Fixtures shared by every test: a moto-backed AWS, a fresh container, real events."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared import services
from shared.customers.record import Customer
from shared.settings import get_settings
from tests.faults import FaultInjector
from tests.helpers import (
    EMAIL,
    MAIL_QUEUE,
    MFA_KEY_RING,
    MFA_KEY_SECRET_ID,
    PASSWORD,
    REGION,
    SECRET_ID,
    SIGNING_KEY,
    TABLE_NAME,
    TEST_ENVIRONMENT,
    UNSET_ENVIRONMENT,
    HttpAnswer,
)
from tests.local_api import children, command_line
from tests.mailbox import Mailbox
from tests.passkeys import PASSKEY_ENVIRONMENT, Passkeys
from tools.secrets_extension import SecretsExtensionServer

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Every process a test starts has ended when the session ends; any left is reported and killed.

    pytest becomes a child subreaper (Linux), so the workers of a server that died without
    stopping them are re-parented to pytest and counted here rather than running on unseen.
    """
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    yield
    deadline = time.monotonic() + 5
    while children(os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid: command_line(pid) for pid in children(os.getpid())}
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(pid) == pid:  # a server started in its own group: its workers too
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    assert not left, f"processes the tests left running (now killed): {left}"


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
    values = dict(TEST_ENVIRONMENT)
    for name in UNSET_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def create_table(table_name: str = TABLE_NAME) -> None:
    """The table as template.yaml defines it: its key and its index."""
    table = template_table()
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=table_name,
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
        GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
        BillingMode="PAY_PER_REQUEST",
    )


@functools.cache
def template_table() -> dict[str, Any]:
    from tools.gateway import read_template

    resource: dict[str, Any] = read_template()["Resources"]["CustomerTable"]["Properties"]
    return resource


@pytest.fixture
def aws(environment: dict[str, str]) -> Iterator[None]:
    """moto's DynamoDB and Secrets Manager with the table and the signing key in place."""
    with mock_aws():
        create_table()
        boto3.client("secretsmanager", region_name=REGION).create_secret(Name=SECRET_ID, SecretString=SIGNING_KEY)
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=MFA_KEY_SECRET_ID, SecretString=MFA_KEY_RING
        )
        boto3.client("sqs", region_name=REGION).create_queue(QueueName=MAIL_QUEUE)
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=TEST_ENVIRONMENT["MAIL_FROM"])
        services.reset()
        yield
        services.reset()


@pytest.fixture
def make_customer(aws: None) -> Callable[..., Customer]:
    """Create customers as authctl would: argon2id hashes unless a hash is given."""
    from shared.customers.passwords import PasswordHasher

    hasher = PasswordHasher(get_settings())

    def make(
        email: str,
        password: str = PASSWORD,
        *,
        customer_id: str | None = None,
        password_hash: str | None = None,
        is_active: bool = True,
    ) -> Customer:
        encoded = password_hash or hasher.hash(password)
        return services.customer_store().create(email, encoded, customer_id=customer_id, is_active=is_active)

    return make


@pytest.fixture
def customer(make_customer: Callable[..., Customer]) -> Customer:
    """The demo customer of the Django API's examples, id "1"."""
    return make_customer(EMAIL, customer_id="1")


@pytest.fixture
def load_handler(aws: None) -> Callable[[str], ModuleType]:
    """Import ``functions/<name>/app.py`` as a cold start would: a fresh module and container."""

    def load(name: str) -> ModuleType:
        module_name = f"functions.{name}.app"
        sys.modules.pop(module_name, None)
        services.reset()
        return importlib.import_module(module_name)

    return load


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


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> FaultInjector:
    """A FaultInjector on every client created from now on; retries do not sleep.

    botocore emits ``before-send`` to every handler, so a fault answered beside moto
    would still let moto apply the write. The injector wraps moto's handler instead and
    only passes an attempt on to moto when it injects nothing.
    """
    import time

    import botocore.handlers
    from moto.core.models import botocore_stubber

    injector = FaultInjector(passthrough=botocore_stubber)
    handlers = [
        (spec[0], injector, *spec[2:]) if spec[1] is botocore_stubber else spec
        for spec in botocore.handlers.BUILTIN_HANDLERS
    ]
    assert any(spec[1] is injector for spec in handlers), "moto's stubber is not registered"
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    return injector


@pytest.fixture(scope="session")
def django_configured() -> None:
    """Django and simplejwt configured as the Django API configures them (dev-only, for interop)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY=SIGNING_KEY,
            INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "rest_framework"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            SIMPLE_JWT={
                "SIGNING_KEY": SIGNING_KEY,
                "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
                "REFRESH_TOKEN_LIFETIME": timedelta(days=3),
                "UPDATE_LAST_LOGIN": True,
                "AUTH_HEADER_TYPES": ("Bearer",),
            },
            USE_TZ=True,
        )
        django.setup()


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make each moto request atomic, as each DynamoDB request is, for tests with threads.

    moto's in-process backend checks a condition and writes in separate steps without a
    lock; DynamoDB evaluates a conditional write atomically. Serialising requests gives
    threads DynamoDB's guarantee, so a concurrency test checks this code, not moto.
    """
    import threading

    import botocore.handlers
    from moto.core.models import botocore_stubber

    lock = threading.Lock()

    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return botocore_stubber(*args, **kwargs)

    handlers = [
        (spec[0], one_at_a_time, *spec[2:]) if spec[1] is botocore_stubber else spec
        for spec in botocore.handlers.BUILTIN_HANDLERS
    ]
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    services.reset()


@pytest.fixture
def secrets_extension(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsExtensionServer]:
    """The Lambda extension stand-in on a free port; the authorizer reads its key through it."""
    server = SecretsExtensionServer(0, session_token="testing", region=REGION).start()
    monkeypatch.setenv("SIGNING_KEY_SOURCE", "extension")
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(server.port))
    services.reset()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def authorizer(
    secrets_extension: SecretsExtensionServer,
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The real authorizer handler, cold-started with its key from the extension."""
    module = load_handler("authorizer")
    return lambda event: module.lambda_handler(event, lambda_context)


@pytest.fixture
def mailbox(aws: None, load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext) -> Mailbox:
    """The mail queue drained through the real mailer, and what it sent through (moto's) SES."""
    return Mailbox(load_handler, lambda_context)


@pytest.fixture
def passkeys(call: Callable[..., HttpAnswer], monkeypatch: pytest.MonkeyPatch, customer: Customer) -> Passkeys:
    """The passkey routes (tests/passkeys.py) with the storefront's origin allowed, the demo customer
    (id "1") and a software authenticator."""
    for name, value in PASSKEY_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    services.reset()
    return Passkeys(call)
