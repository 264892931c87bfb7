"""A short day of the service, run through the real handlers, for the dashboard's picture and its test.

Twelve steps stand for the dashboard's 5-minute periods. Each step shoppers log in (now and then
with a typo), refresh, call the protected routes through the authorizer, and one logs out; a
downstream service fetches the keys, one shopper registers and now and then one asks for a password
reset, and the mailer sends those mails. Steps 5 to 7 add a password-guessing attack on two accounts
from one address (refusals, then lockouts), step 9 replays a rotated refresh token (a reuse
detection), and in step 10 SES refuses to send (mail failures, sent again in step 11).

Everything runs in this process against moto (DynamoDB, Secrets Manager, SQS, SES v2) with
the template's own settings. What each step yields is what CloudWatch would get: the EMF
lines the handlers print, each invocation's duration (this machine's, not Lambda's), the
invocations that raised (Lambda ``Errors``) and the answers API Gateway would count.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from unittest import mock

from tools.dashboard import MetricKey, emf_values
from tools.gateway import TEMPLATE, read_template

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
STEPS = 12
ATTACK_STEPS = (4, 5, 6)
REUSE_STEP = 8
SES_OUTAGE_STEP = 9
REGION = "us-east-1"
TABLE = "dashboard-customers"
SECRET = "dashboard/signing-key"
QUEUE = "dashboard-mail"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/123456789012/{QUEUE}"
MAIL_FROM = "shop@example.com"
PASSWORD = "Quiet-Harbour-42"
SHOPPERS = ("ada@example.com", "grace@example.com", "alan@example.com")
VICTIMS = ("edsger@example.com", "barbara@example.com")
SHOPPER_IP, ATTACKER_IP = "203.0.113.10", "198.51.100.66"
GUESSES_PER_VICTIM = 6
# Variables the test suite's machine may have that must not reach moto's clients.
UNSET = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE")


@dataclass
class Step:
    """One period of the run, as CloudWatch would sum it."""

    emf: Counter[MetricKey] = field(default_factory=Counter)
    durations: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    api: Counter[str] = field(default_factory=Counter)


@dataclass
class LocalRun:
    steps: list[Step]

    def emitted(self) -> set[MetricKey]:
        """Every EMF metric some handler printed during the run."""
        return {key for step in self.steps for key in step.emf}


def run(template_path: Path = TEMPLATE) -> LocalRun:
    """The whole scenario, in a moto account that ends with it; the process's environment is restored."""
    from moto import mock_aws

    environment = _environment(read_template(template_path))
    with mock.patch.dict(os.environ, environment), _without(UNSET), mock_aws():
        _create_resources()
        with _fresh_services():
            return _Scenario().play()


class _Stack:
    """The handlers, each imported once as a cold start would, and what their invocations yield."""

    def __init__(self) -> None:
        self._modules: dict[str, ModuleType] = {}
        self.step = Step()

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        module = self._module(function)
        output = io.StringIO()
        started = time.perf_counter()
        try:
            with contextlib.redirect_stdout(output):
                answer = module.lambda_handler(event, _context(function))
        except Exception:
            self.step.errors[function] += 1
            raise
        finally:
            self.step.durations.setdefault(function, []).append((time.perf_counter() - started) * 1000)
            self.step.emf.update(emf_values(output.getvalue().splitlines()))
        if "statusCode" in answer:
            self._count_answer(int(answer["statusCode"]))
        return answer

    def http(self, function: str, event: dict[str, Any]) -> tuple[int, Any]:
        answer = self.invoke(function, event)
        body = answer.get("body")
        return int(answer["statusCode"]), json.loads(body) if body else None

    def authorize(self, token: str) -> dict[str, Any] | None:
        """The authorizer's decision on ``token``: the Allow's context, or None (a 401 at the gateway)."""
        event = _event("authorizer_allow")
        event["authorizationToken"] = f"Bearer {token}"
        policy = self.invoke("authorizer", event)
        if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            self._count_answer(401)
            return None
        return {"principalId": policy["principalId"], **policy.get("context", {})}

    def _count_answer(self, status: int) -> None:
        self.step.api["Count"] += 1
        if 400 <= status < 500:
            self.step.api["4XXError"] += 1
        elif status >= 500:
            self.step.api["5XXError"] += 1

    def _module(self, function: str) -> ModuleType:
        if function not in self._modules:
            name = f"functions.{function}.app"
            sys.modules.pop(name, None)
            with contextlib.redirect_stdout(io.StringIO()):
                self._modules[function] = importlib.import_module(name)
        return self._modules[function]


class _Scenario:
    def __init__(self) -> None:
        self.stack = _Stack()
        self.sessions: dict[str, dict[str, str]] = {}
        self.retired: str | None = None
        self.unsent: list[dict[str, Any]] = []

    def play(self) -> LocalRun:
        from shared import services
        from shared.customers.passwords import PasswordHasher
        from shared.settings import get_settings

        hasher = PasswordHasher(get_settings())
        for email in (*SHOPPERS, *VICTIMS):
            services.customer_store().create(email, hasher.hash(PASSWORD))
        steps = []
        for number in range(STEPS):
            self.stack.step = Step()
            self._shoppers(number)
            if number in ATTACK_STEPS:
                self._attack()
            if number == REUSE_STEP and self.retired is not None:
                self._refresh(self.retired)
            self._registration(number)
            steps.append(self.stack.step)
        return LocalRun(steps)

    def _shoppers(self, number: int) -> None:
        for index, email in enumerate(SHOPPERS):
            if (number + index) % 4 == 0:
                self._login(email, "Quiet-Harbour-24", SHOPPER_IP)  # a typo
            self._login(email, PASSWORD, SHOPPER_IP)
            session = self.sessions[email]
            if index == number % len(SHOPPERS):
                self.retired = session["refresh"]
                self._refresh(session["refresh"])
            context = self.stack.authorize(self.sessions[email]["access"])
            if context is not None:
                self._read_profile(context)
                self.stack.http("current_user", _protected("current_user_get", context))
        self.stack.authorize("not-a-token")  # a client with a stale or broken token
        self.stack.http("jwks", _event("jwks"))  # a downstream service fetching the keys
        first = self.sessions[SHOPPERS[0]]
        self.stack.http("verify_token", _json_event("verify_token_ok", {"token": first["access"]}))
        if number % 3 == 1:
            self.stack.http("request_mail", _json_event("password_reset_ok", {"email": SHOPPERS[number % 3]}))
        leaving = SHOPPERS[(number + 1) % len(SHOPPERS)]
        self.stack.http(
            "blacklist_token", _json_event("blacklist_token_ok", {"refresh": self.sessions[leaving]["refresh"]})
        )

    def _attack(self) -> None:
        for victim in VICTIMS:
            for guess in range(GUESSES_PER_VICTIM):
                self._login(victim, f"password{guess}", ATTACKER_IP)

    def _login(self, email: str, password: str, source_ip: str) -> None:
        event = _json_event("obtain_token_ok", {"email": email, "password": password})
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        status, body = self.stack.http("obtain_token", event)
        if status == 200:
            self.sessions[email] = body

    def _refresh(self, token: str) -> None:
        status, body = self.stack.http("refresh_token", _json_event("refresh_token_ok", {"refresh": token}))
        if status == 200:
            owner = next(email for email, pair in self.sessions.items() if pair["refresh"] == token)
            self.sessions[owner] = body

    def _read_profile(self, context: dict[str, Any]) -> None:
        event = _protected("customer_profile_own", context)
        event["pathParameters"] = {"id": context["user_id"]}
        event["path"] = event["requestContext"]["path"] = f"/api/v1/customers/{context['user_id']}/"
        self.stack.http("customer_profile", event)

    def _registration(self, number: int) -> None:
        email = f"new.shopper.{number}@example.com"
        body = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
        self.stack.http("register", _json_event("register_ok", body))
        self._deliver(ses_refuses=number == SES_OUTAGE_STEP)

    def _deliver(self, ses_refuses: bool) -> None:
        """The queue's new jobs and the ones that failed before, through the mailer (an SQS batch)."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        records = self.unsent
        for message in sqs.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=10).get("Messages", []):
            records.append({"messageId": message["MessageId"], "body": message["Body"], "eventSource": "aws:sqs"})
            sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
        if not records:
            return
        ses = boto3.client("sesv2", region_name=REGION)
        if ses_refuses:
            ses.delete_email_identity(EmailIdentity=MAIL_FROM)
        try:
            answer = self.stack.invoke("mailer", {"Records": records})
        finally:
            if ses_refuses:
                ses.create_email_identity(EmailIdentity=MAIL_FROM)
        failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
        self.unsent = [record for record in records if record["messageId"] in failed]


def _environment(template: dict[str, Any]) -> dict[str, str]:
    """The template's own plain settings (namespace, service, rotation...), pointed at moto."""
    plain = {
        name: value
        for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items()
        if isinstance(value, str)
    }
    return {
        **plain,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE,
        "SIGNING_KEY_SECRET_ID": SECRET,
        "MAIL_QUEUE_URL": QUEUE_URL,
        "MAIL_FROM": MAIL_FROM,
        "STOREFRONT_URL": "https://shop.example",
    }


@contextlib.contextmanager
def _without(names: tuple[str, ...]) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def _fresh_services() -> Iterator[None]:
    """A new container's settings and clients before the run and after it (the environment changes)."""
    from shared import services

    services.reset()
    try:
        yield
    finally:
        services.reset()


def _create_resources() -> None:
    import boto3

    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret = "dashboard-signing-key-for-a-local-run-only-0123456789"
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name=SECRET, SecretString=secret)
    boto3.client("sqs", region_name=REGION).create_queue(QueueName=QUEUE)
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=MAIL_FROM)


def _event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def _protected(name: str, context: dict[str, Any]) -> dict[str, Any]:
    """A route behind the authorizer, called with the context its Allow gave."""
    event = _event(name)
    event["requestContext"]["authorizer"] = context
    return event


def _json_event(name: str, body: dict[str, Any]) -> dict[str, Any]:
    event = _event(name)
    event["body"] = json.dumps(body)
    return event


def _context(function: str) -> Any:
    """The runtime's context object, as much of it as the handlers read."""
    return SimpleNamespace(
        function_name=function,
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{function}",
        aws_request_id=f"{function}-{time.monotonic_ns()}",
        get_remaining_time_in_millis=lambda: 20_000,
    )
