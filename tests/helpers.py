"""Test helpers: constants, events from ``events/``, decoded answers, crafted tokens."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
TABLE_NAME = "test-customers"
SECRET_ID = "test/signing-key"
SIGNING_KEY = "local-dev-signing-key-not-for-production-0123456789"  # also signs events/*.json
REGION = "us-east-1"
MFA_KEY_SECRET_ID = "test/mfa-key"
# The TOTP secrets' key ring (shared/mfa/sealing.py) the tests' Secrets Manager holds.
MFA_KEY_RING = '{"current": "k1", "k1": "test-mfa-key-material-not-for-production-0123456789"}'
PASSWORD = "SecurePass123!"
# The variables the template sets on every function, pointed at test resources.
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TABLE_NAME": TABLE_NAME,
    "SIGNING_KEY_SECRET_ID": SECRET_ID,
    "MFA_KEY_SECRET_ID": MFA_KEY_SECRET_ID,
    "POWERTOOLS_SERVICE_NAME": "ecommerce-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "EcommerceAuthTest",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "MAIL_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/test-mail",
    "MAIL_FROM": "shop@example.com",
    "STOREFRONT_URL": "https://shop.example",
}
MAIL_QUEUE = "test-mail"
# Endpoints and profiles of the machine's own environment that must not reach the tests.
UNSET_ENVIRONMENT = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE")
EMAIL = "customer@example.com"


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """A copy of ``events/<name>.json`` with top-level keys replaced."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event.update(overrides)
    return event


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: Any
    raw_body: str


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


def claims(kind: str, user_id: str | None = "1", lifetime: int = 3600, **changes: Any) -> dict[str, Any]:
    """simplejwt's payload for a ``kind`` of token; ``changes`` replace claims, None removes one."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "token_type": kind,
        "exp": now + lifetime,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": user_id,
    }
    if user_id is None:
        del payload["user_id"]
    return changed(payload, changes)


def changed(payload: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with ``changes`` applied: a value replaces a claim, None removes it."""
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def mint(payload: dict[str, Any], key: str = SIGNING_KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


class StaticKeys:
    """A key-set source over a fixed secret string (what shared.tokens.keys.CachedKeySet serves)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def get(self) -> Any:
        from shared.tokens.keyset import parse

        return parse(self.secret)

    def refetch_for_unknown_kid(self) -> Any:
        return self.get()
