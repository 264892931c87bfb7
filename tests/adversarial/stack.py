"""A warm stack: every function cold-started once, then served many requests, as on Lambda.

The fixtures in tests/conftest.py build a fresh container per test; that costs a quarter to
three quarters of a second (moto, the table, an argon2 hash, the secrets extension's
shutdown), which a catalogue of hundreds of attacks and a few hundred generated examples
cannot pay per case. A ``Stack`` is built from the same pieces (``create_table``, the
signing-key secret, ``SecretsExtensionServer``, each ``functions/<name>/app.py`` imported as
a cold start, ``tools.gateway`` for what a client sees) once per test module, with the
environment the template gives the functions (rotation with the old token retired).

Requests never share state by accident: ``new_customer`` makes a customer nobody else
uses, ``new_address`` an address nobody registered, and each login can come from its own
source IP. The account functions' mail goes as deployed: a job on the (moto) SQS queue, the
mailer run over it by ``deliver_mail``, the message sent through (moto's) SES v2.
"""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared import services
from shared.customers.passwords import PasswordHasher
from shared.customers.record import Customer
from shared.settings import get_settings
from tests.conftest import FakeLambdaContext, create_table
from tests.helpers import (
    EMAIL,
    MAIL_QUEUE,
    MFA_KEY_RING,
    MFA_KEY_SECRET_ID,
    PASSWORD,
    REGION,
    SECRET_ID,
    SIGNING_KEY,
    TEST_ENVIRONMENT,
    UNSET_ENVIRONMENT,
    HttpAnswer,
    json_event,
    load_event,
)
from tests.mailbox import Mailbox, Sent
from tools import gateway
from tools.secrets_extension import SecretsExtensionServer

ENVIRONMENT = {
    **TEST_ENVIRONMENT,
    # template.yaml's Globals: the deployed defaults.
    "ROTATE_REFRESH_TOKENS": "true",
    "BLACKLIST_AFTER_ROTATION": "true",
}
UNSET = UNSET_ENVIRONMENT
TOKEN_FUNCTIONS = {
    "obtain_token": ("obtain_token_ok", "/auth/token/", "/auth/token"),
    "refresh_token": ("refresh_token_ok", "/auth/token/refresh/", "/auth/token/refresh"),
    "verify_token": ("verify_token_ok", "/auth/token/verify/", "/auth/token/verify"),
    "blacklist_token": ("blacklist_token_ok", "/auth/token/blacklist/", "/auth/token/blacklist"),
}
ACCOUNT_FUNCTIONS = ("register", "verify_email", "request_mail", "reset_password", "change_password", "current_user")
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/GET/api/v1/customers/1/"


def decode_proxy_response(response: dict[str, Any]) -> HttpAnswer:
    """The proxy response as a client reads it (what tests/conftest.py's ``call`` answers)."""
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), values[-1])
    raw = response.get("body") or ""
    return HttpAnswer(response["statusCode"], headers, json.loads(raw) if raw else None, raw)


def cold_start(function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` afresh, in a fresh container."""
    name = f"functions.{function}.app"
    sys.modules.pop(name, None)
    services.reset()
    return importlib.import_module(name)


@dataclass
class Stack:
    handlers: dict[str, ModuleType]
    extension: SecretsExtensionServer
    model: gateway.ApiModel
    hasher: PasswordHasher
    mailbox: Mailbox
    context: FakeLambdaContext = field(default_factory=FakeLambdaContext)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    # --- the token endpoints -------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> HttpAnswer:
        return decode_proxy_response(self.handlers[function].lambda_handler(event, self.context))

    def event(
        self,
        function: str,
        body: Any,
        *,
        content_type: str = "application/json",
        method: str = "POST",
        source_ip: str = "198.51.100.1",
    ) -> dict[str, Any]:
        """The API Gateway event for ``function``; ``bytes`` bodies travel base64-encoded."""
        name, path, resource = TOKEN_FUNCTIONS[function]
        raw = body if isinstance(body, bytes) else None
        event = json_event(name, None if raw is not None else body, content_type=content_type, method=method)
        if raw is not None:
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        event["path"] = path
        event["resource"] = resource
        event["requestContext"]["path"] = f"/prod{path}"
        event["requestContext"]["resourcePath"] = resource
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        return event

    def post(self, function: str, body: Any, **options: Any) -> HttpAnswer:
        return self.invoke(function, self.event(function, body, **options))

    # --- the authorizer and the protected route ------------------------------------------

    def authorize(self, authorization: str) -> dict[str, Any]:
        """The authorizer's raw policy for a TOKEN event carrying ``authorization``."""
        event = {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}
        return dict(self.handlers["authorizer"].lambda_handler(event, self.context))

    def _authorizer_function(self, event: dict[str, Any]) -> dict[str, Any]:
        return dict(self.handlers["authorizer"].lambda_handler(event, self.context))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        authorization: str | None = None,
        content_type: str = "application/json",
        source_ip: str | None = None,
        query: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpAnswer:
        """``method path`` through the template's gateway (its route, the authorizer where the route
        has one, the function): what a client sees. ``bytes`` and ``str`` bodies go as they are,
        anything else as JSON; each request comes from its own source IP unless told."""
        headers = {"Accept": "application/json", **(headers or {})}
        if authorization is not None:
            headers["Authorization"] = authorization
        raw = b""
        if body is not None:
            headers["Content-Type"] = content_type
            raw = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        found = self.model.route_for(method, path)
        assert found is not None, f"{method} {path} is no route of the template"
        route, params = found
        allowed = None
        if not route.public:
            decision = self.model.authorize(headers, method, path, self._authorizer_function)
            if isinstance(decision, gateway.Answer):
                answer_headers = {name.lower(): value for name, value in decision.headers.items()}
                return HttpAnswer(decision.status, answer_headers, json.loads(decision.body), decision.body)
            allowed = decision
        if route.backend is not None and allowed is not None:
            forwarded = gateway.forward(route, params, method, query or {}, headers, raw, allowed)
            assert forwarded is not None, "the backend did not answer"
            answer_headers = {name.lower(): value for name, value in forwarded.headers.items()}
            is_json = answer_headers.get("content-type") == "application/json"
            body = json.loads(forwarded.body) if is_json else None
            return HttpAnswer(forwarded.status, answer_headers, body, forwarded.body)
        event = gateway.proxy_event(
            route,
            params,
            self.model.stage,
            method,
            path,
            headers,
            query or {},
            raw,
            source_ip or self.source_ip(),
            allowed,
        )
        return self.invoke(self.model.code_dirs[route.function].rsplit("/", 1)[1], event)

    def protected(self, authorization: str | None, customer_id: str = "1") -> HttpAnswer:
        """GET /api/v1/customers/{id}/ through the template's gateway: what a client sees."""
        return self.request("GET", f"/api/v1/customers/{customer_id}/", authorization=authorization)

    def jwks(self) -> HttpAnswer:
        """GET /.well-known/jwks.json."""
        return self.invoke("jwks", load_event("jwks"))

    # --- customers -------------------------------------------------------------------------

    def new_customer(
        self, password: str = PASSWORD, *, is_active: bool = True, password_hash: str | None = None
    ) -> Customer:
        """A customer no other request touches: its own id and email."""
        number = next(self._ids)
        return services.customer_store().create(
            f"customer{number}@example.com",
            password_hash or self.hasher.hash(password),
            customer_id=str(number),
            is_active=is_active,
        )

    def new_address(self) -> str:
        """An address nobody registered."""
        return f"signup{next(self._ids)}@example.com"

    def deliver_mail(self) -> list[Sent]:
        """The mailer run over every queued job (as the queue's event source would); what it sent."""
        return self.mailbox.deliver()

    def source_ip(self) -> str:
        """A source IP no other request used, so per-IP lockouts never carry over."""
        number = next(self._ids)
        return f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"

    def login(self, customer: Customer, password: str = PASSWORD) -> dict[str, str]:
        answer = self.post("obtain_token", {"email": customer.email, "password": password}, source_ip=self.source_ip())
        assert answer.status == 200, answer.body
        return dict(answer.body)


@contextmanager
def warm_stack(secret: str = SIGNING_KEY, **settings: str) -> Iterator[Stack]:
    """Every function of the template over one moto account, the signing-key secret = ``secret``."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name in UNSET:
            patch.delenv(name, raising=False)
        for name, value in {**ENVIRONMENT, **settings}.items():
            patch.setenv(name, value)
        create_table()
        boto3.client("secretsmanager", region_name=REGION).create_secret(Name=SECRET_ID, SecretString=secret)
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=MFA_KEY_SECRET_ID, SecretString=MFA_KEY_RING
        )
        boto3.client("sqs", region_name=REGION).create_queue(QueueName=MAIL_QUEUE)
        boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=ENVIRONMENT["MAIL_FROM"])
        extension = SecretsExtensionServer(0, session_token="testing", region=REGION).start()
        try:
            functions = (
                *TOKEN_FUNCTIONS,
                *("customer_profile", "staff", "mfa", "passkeys", "jwks"),
                *ACCOUNT_FUNCTIONS,
                "mailer",
            )
            handlers = {function: cold_start(function) for function in functions}
            with patch.context() as authorizer_environment:
                authorizer_environment.setenv("SIGNING_KEY_SOURCE", "extension")
                authorizer_environment.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(extension.port))
                handlers["authorizer"] = cold_start("authorizer")
            services.reset()
            mailbox = Mailbox(handlers.__getitem__, FakeLambdaContext())
            stack = Stack(handlers, extension, gateway.load(), PasswordHasher(get_settings()), mailbox)
            services.customer_store().create(EMAIL, stack.hasher.hash(PASSWORD), customer_id="1")
            yield stack
        finally:
            extension.shutdown()
            extension.server_close()
            services.reset()
