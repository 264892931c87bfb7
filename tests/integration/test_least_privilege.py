"""Each function may write only the table keys it writes (template.yaml's IAM policies).

The policies hold every DynamoDB write to ``dynamodb:LeadingKeys`` prefixes; the test runs
each writing function through the flows that write, records the key of every write its
DynamoDB client sends, and checks both ways: each write is allowed by the template, and
each prefix the template allows is written by some flow (no spare grant).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from shared import aws
from tests.conftest import FakeLambdaContext
from tests.helpers import EMAIL, PASSWORD, json_event
from tools.gateway import read_template

WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
MIGRATED_EMAIL = "migrated@example.com"
MIGRATED_PASSWORD = "correct horse battery staple"

Write = tuple[str, str]  # (action, partition key)


def statements(policy: Any) -> Iterator[dict[str, Any]]:
    """Every statement of a SAM policy entry, both branches of an ``Fn::If`` included."""
    if isinstance(policy, list):
        for item in policy:
            yield from statements(item)
    elif isinstance(policy, dict):
        if "Fn::If" in policy:
            yield from statements(policy["Fn::If"][1:])
        elif "Statement" in policy:
            yield from policy["Statement"]


def write_grants(function: str) -> dict[str, list[str] | None]:
    """Write action -> the key patterns it is held to (None: any key)."""
    policies = read_template()["Resources"][function]["Properties"].get("Policies", [])
    grants: dict[str, list[str] | None] = {}
    for statement in statements(policies):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        for action in actions:
            service, _, name = action.partition(":")
            if service == "dynamodb" and (name in WRITE_ACTIONS or "*" in name):
                grants[name] = list(keys) if keys else None
    return grants


def allowed(grants: dict[str, list[str] | None], write: Write) -> bool:
    action, key = write
    patterns = grants.get(action, [])
    return patterns is None or any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def test_every_dynamodb_write_of_every_function_is_held_to_key_prefixes() -> None:
    resources = read_template()["Resources"]
    functions = [name for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"]

    unbounded = {
        function: action for function in functions for action, keys in write_grants(function).items() if keys is None
    }

    assert unbounded == {}


def test_the_jwks_function_reads_only_the_verification_secret() -> None:
    properties = read_template()["Resources"]["JwksFunction"]["Properties"]
    readable = [policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"] for policy in properties["Policies"]]

    assert readable == [{"Ref": "VerificationKeySecret"}]
    assert properties["Environment"]["Variables"]["SIGNING_KEY_SECRET_ID"] == {"Ref": "VerificationKeySecret"}


class Recorder:
    """The keys of every write a function's DynamoDB client sends."""

    def __init__(self) -> None:
        self.writes: set[Write] = set()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, spec),) = item.items()
                self.writes.add((TRANSACT_ACTIONS[kind], _pk(spec)))
        elif name in WRITE_ACTIONS:
            self.writes.add((name, _pk(params)))


def _pk(spec: dict[str, Any]) -> str:
    item: dict[str, Any] = spec.get("Key") or spec["Item"]
    return str(item["pk"]["S"])


@pytest.fixture
def run(
    load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext
) -> Callable[[str, list[tuple[str, dict[str, Any]]]], tuple[set[Write], list[dict[str, Any]]]]:
    """Cold-start a function, send it events, answer its writes and its decoded bodies."""

    def invoke(function: str, events: list[tuple[str, dict[str, Any]]]) -> tuple[set[Write], list[dict[str, Any]]]:
        import json

        module = load_handler(function)
        recorder = Recorder()
        aws.dynamodb_client().meta.events.register("provide-client-params.dynamodb.*", recorder)
        bodies = []
        for event_name, body in events:
            response = module.lambda_handler(json_event(event_name, body), lambda_context)
            bodies.append(json.loads(response["body"]) if response.get("body") else {})
        return recorder.writes, bodies

    return invoke


def test_given_login_flows_then_obtain_writes_only_what_its_policy_allows_and_uses_every_grant(
    customer: Any, make_customer: Callable[..., Any], django_configured: None, run: Any
) -> None:
    from django.contrib.auth import hashers

    make_customer(
        MIGRATED_EMAIL, customer_id="2", password_hash=hashers.make_password(MIGRATED_PASSWORD, hasher="pbkdf2_sha256")
    )
    writes, _ = run(
        "obtain_token",
        [
            ("obtain_token_ok", {"email": EMAIL, "password": "wrong password"}),  # counters
            ("obtain_token_ok", {"email": EMAIL, "password": PASSWORD}),  # last_login, counter cleared
            ("obtain_token_ok", {"email": MIGRATED_EMAIL, "password": MIGRATED_PASSWORD}),  # hash upgrade
        ],
    )

    assert_least_privilege("ObtainTokenFunction", writes)


def test_given_refresh_and_reuse_then_refresh_writes_only_what_its_policy_allows_and_uses_every_grant(
    customer: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")  # as the template deploys it
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")
    _, [pair] = run("obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})])
    writes, _ = run(
        "refresh_token",
        [("refresh_token_ok", {"refresh": pair["refresh"]}), ("refresh_token_ok", {"refresh": pair["refresh"]})],
    )

    assert_least_privilege("RefreshTokenFunction", writes)


def test_given_a_logout_then_blacklist_writes_only_what_its_policy_allows_and_uses_every_grant(
    customer: Any, run: Any
) -> None:
    _, [pair] = run("obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})])
    writes, _ = run("blacklist_token", [("blacklist_token_ok", {"refresh": pair["refresh"]})])

    assert_least_privilege("BlacklistTokenFunction", writes)


def assert_least_privilege(function: str, writes: set[Write]) -> None:
    grants = write_grants(function)
    assert writes, "the flows wrote something"
    assert [write for write in sorted(writes) if not allowed(grants, write)] == [], "writes the policy denies"
    used = {
        (action, pattern)
        for action, key in writes
        for pattern in grants.get(action) or []
        if fnmatch.fnmatchcase(key, pattern)
    }
    granted = {(action, pattern) for action, patterns in grants.items() for pattern in patterns or []}
    assert granted - used == set(), "grants no flow needs"
