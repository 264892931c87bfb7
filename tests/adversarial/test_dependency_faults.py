"""Every AWS call of every endpoint, failing: throttled, reset, 500s, slow past the read timeout.

Faults are injected through botocore's before-send hook (tests/faults.py, plus the two slow
faults of tests/adversarial/conftest.py), so the clients' real retry logic runs (standard
mode, AWS_MAX_ATTEMPTS attempts, the connect and read timeouts of shared/settings.py). A
slow answer becomes what botocore makes of it, a ReadTimeoutError, and costs the read
timeout on a virtual clock instead of real sleeping. Each endpoint either answers a JSON
503 with ``Retry-After`` (the document's 503) after a bounded number of attempts, issuing
no token and leaving nothing half-written, or, when the dependency recovers within the
retries, answers as if nothing happened. The authorizer never allows on an error: it fails
closed, which the template's gateway response turns into a 503 with ``Retry-After``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml

from shared.customers.record import Customer
from tests.adversarial.conftest import APPLIED_THEN_READ_TIMEOUT, READ_TIMEOUT, SlowFaults
from tests.adversarial.document import answer_errors
from tests.adversarial.stack import TOKEN_FUNCTIONS
from tests.conftest import FakeLambdaContext
from tests.faults import CONNECTION_RESET, SERVER_ERROR, THROTTLE
from tests.helpers import EMAIL, PASSWORD, REGION, ROOT, TABLE_NAME, HttpAnswer, claims, json_event, load_event, mint
from tools import gateway

UNAVAILABLE = {"detail": "Service temporarily unavailable, try again later.", "code": "service_unavailable"}
KINDS = (THROTTLE, SERVER_ERROR, CONNECTION_RESET, READ_TIMEOUT)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
Call = Callable[..., HttpAnswer]


@dataclass
class World:
    """What a scenario may touch: the handlers, a customer, the environment."""

    call: Call
    customer: Customer
    make_customer: Callable[..., Customer]
    monkeypatch: pytest.MonkeyPatch
    presented: str = ""  # the token the request carries

    def presented_claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(self.presented.split(".")[1] + "=="))
        return claims


@dataclass(frozen=True)
class Request:
    function: str
    event: dict[str, Any]
    answers: int  # the status when nothing fails


@dataclass(frozen=True)
class Dependency:
    """One AWS call an endpoint makes, how to reach it, and what must not change when it fails."""

    id: str
    operation: str
    prepare: Callable[[World], Request]
    unchanged: Callable[[World], None]
    attempts: int = 3
    passes: int = 0  # earlier calls of the same operation in the request, let through


def item(pk: str) -> dict[str, Any]:
    found: dict[str, Any] = (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}})
        .get("Item", {})
    )
    return found


def post(function: str, body: Any) -> dict[str, Any]:
    name, path, resource = TOKEN_FUNCTIONS[function]
    event = json_event(name, body)
    event["path"], event["resource"] = path, resource
    return event


def login(world: World, password: str = PASSWORD, email: str = EMAIL) -> Request:
    return Request(
        "obtain_token",
        post("obtain_token", {"email": email, "password": password}),
        200 if password == PASSWORD else 401,
    )


def rotating(world: World) -> None:
    world.monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    world.monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")


def no_last_login(world: World) -> None:
    assert item(f"CUSTOMER#{world.customer.customer_id}")["last_login"] == {"NULL": True}


def nothing(world: World) -> None:
    """A read: nothing to leave half-written."""


def _failed_once_then_login(world: World) -> Request:
    assert world.call("obtain_token", post("obtain_token", {"email": EMAIL, "password": "wrong"})).status == 401
    return login(world)


def _migrated_customer_login(world: World) -> Request:
    salt = "migratedsalt0123456789"
    digest = base64.b64encode(hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), salt.encode(), 100_000)).decode()
    world.make_customer("migrated@example.com", customer_id="8", password_hash=f"pbkdf2_sha256$100000${salt}${digest}")
    return login(world, email="migrated@example.com")


def _hash_not_upgraded(world: World) -> None:
    assert item("CUSTOMER#8")["password_hash"]["S"].startswith("pbkdf2_sha256$")
    assert item("EMAIL#migrated@example.com")["password_hash"]["S"].startswith("pbkdf2_sha256$")
    assert item("CUSTOMER#8")["last_login"] == {"NULL": True}


def _refresh(world: World) -> Request:
    return Request("refresh_token", post("refresh_token", {"refresh": mint(claims("refresh"))}), 200)


def _rotating_refresh(world: World) -> Request:
    rotating(world)
    return _refresh(world)


def _verify(world: World) -> Request:
    return Request("verify_token", post("verify_token", {"token": mint(claims("access"))}), 200)


def _blacklist(world: World) -> Request:
    return _presenting(
        Request("blacklist_token", post("blacklist_token", {"refresh": mint(claims("refresh"))}), 200), world
    )


def _presenting(request: Request, world: World) -> Request:
    """Remember the token ``request`` carries, to check afterwards what became of it."""
    world.presented = next(iter(json.loads(request.event["body"]).values()))
    return request


def _not_retired(world: World) -> None:
    assert item(f"JTI#{world.presented_claims()['jti']}") == {}


def _fifth_failure(world: World) -> Request:
    """Four failed logins: the fifth reaches LOGIN_MAX_FAILURES and starts a lockout."""
    for _ in range(4):
        assert world.call("obtain_token", post("obtain_token", {"email": EMAIL, "password": "wrong"})).status == 401
    return login(world, "wrong")


def _reused(world: World) -> Request:
    """A refresh token presented again after its rotation: reuse, its family is revoked."""
    rotating(world)
    refresh = mint(claims("refresh"))
    assert world.call("refresh_token", post("refresh_token", {"refresh": refresh})).status == 200
    return _presenting(Request("refresh_token", post("refresh_token", {"refresh": refresh}), 401), world)


def _family_not_revoked(world: World) -> None:
    assert item(f"FAMILY#{world.presented_claims()['jti']}") == {}


def _jwks(world: World) -> Request:
    return Request("jwks", load_event("jwks"), 200)


def _profile(world: World) -> Request:
    return Request("customer_profile", load_event("customer_profile_own"), 200)


DEPENDENCIES = (
    # A token function reads its key at init (3 attempts, then left to the request) and again at
    # its first request (3 more): the container starts, the request answers 503.
    Dependency("obtain-reads-the-signing-key", "secretsmanager.GetSecretValue", login, no_last_login, attempts=6),
    Dependency("obtain-reads-login-and-lockouts", "dynamodb.BatchGetItem", login, no_last_login),
    # A login's UpdateItems: the attempt counted on the account, then on the IP; after the right
    # password, the IP's count given back, then last_login.
    Dependency("obtain-counts-the-attempt-on-the-account", "dynamodb.UpdateItem", login, no_last_login),
    Dependency("obtain-counts-the-attempt-on-the-ip", "dynamodb.UpdateItem", login, no_last_login, 4, passes=1),
    Dependency("obtain-gives-the-ip-its-attempt-back", "dynamodb.UpdateItem", login, no_last_login, 5, passes=2),
    Dependency("obtain-writes-last-login", "dynamodb.UpdateItem", login, no_last_login, attempts=6, passes=3),
    Dependency("obtain-counts-a-failure", "dynamodb.UpdateItem", lambda world: login(world, "wrong"), no_last_login),
    Dependency("obtain-clears-the-failure-count", "dynamodb.DeleteItem", _failed_once_then_login, no_last_login),
    Dependency("obtain-starts-a-lockout", "dynamodb.UpdateItem", _fifth_failure, no_last_login),
    Dependency(
        "obtain-upgrades-a-django-hash", "dynamodb.TransactWriteItems", _migrated_customer_login, _hash_not_upgraded
    ),
    Dependency(
        "refresh-reads-the-signing-key",
        "secretsmanager.GetSecretValue",
        lambda world: _presenting(_refresh(world), world),
        _not_retired,
        attempts=6,
    ),
    Dependency(
        "refresh-reads-the-session",
        "dynamodb.BatchGetItem",
        lambda world: _presenting(_refresh(world), world),
        _not_retired,
    ),
    Dependency(
        "refresh-retires-the-rotated-token",
        "dynamodb.PutItem",
        lambda world: _presenting(_rotating_refresh(world), world),
        _not_retired,
    ),
    Dependency("verify-reads-the-signing-key", "secretsmanager.GetSecretValue", _verify, nothing, attempts=6),
    Dependency("verify-reads-the-session", "dynamodb.BatchGetItem", _verify, nothing),
    Dependency(
        "blacklist-reads-the-signing-key", "secretsmanager.GetSecretValue", _blacklist, _not_retired, attempts=6
    ),
    Dependency("refresh-revokes-the-family-on-reuse", "dynamodb.PutItem", _reused, _family_not_revoked),
    Dependency("blacklist-retires-the-token", "dynamodb.PutItem", _blacklist, _not_retired),
    Dependency(
        "blacklist-revokes-the-family", "dynamodb.PutItem", _blacklist, _family_not_revoked, attempts=4, passes=1
    ),
    Dependency("profile-reads-the-customer", "dynamodb.BatchGetItem", _profile, nothing),
    Dependency("jwks-reads-the-key-set", "secretsmanager.GetSecretValue", _jwks, nothing),
)


@pytest.fixture
def world(
    call: Call, customer: Customer, make_customer: Callable[..., Customer], monkeypatch: pytest.MonkeyPatch
) -> World:
    return World(call, customer, make_customer, monkeypatch)


def cold_start(world: World, function: str) -> None:
    """Start ``function``'s container with a request that touches no dependency."""
    if function == "customer_profile":
        assert world.call(function, load_event("customer_profile_other")).status == 403
    else:
        assert world.call(function, post(function, {})).status == 400


def assert_unavailable(answer: HttpAnswer, method: str, path: str) -> None:
    assert (answer.status, answer.body) == (503, UNAVAILABLE)
    assert answer.headers["retry-after"] == "1"
    assert not JWT.search(answer.raw_body), "no token leaves on a failure"
    assert answer_errors(method, path, answer) == []


def path_of(request: Request) -> tuple[str, str]:
    return request.event["httpMethod"], request.event["path"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dependency", DEPENDENCIES, ids=[dependency.id for dependency in DEPENDENCIES])
def test_a_dependency_failing_past_the_retries_is_a_json_503_with_retry_after_and_nothing_written(
    faults: SlowFaults, world: World, dependency: Dependency, kind: str
) -> None:
    request = dependency.prepare(world)
    if dependency.operation != "secretsmanager.GetSecretValue":
        cold_start(world, request.function)  # a container already started, as most requests find it
    faults.attempts.clear()
    faults.pass_first(dependency.operation, dependency.passes)
    faults.fail_always(dependency.operation, kind)

    answer = world.call(request.function, request.event)

    assert_unavailable(answer, *path_of(request))
    assert faults.attempts[dependency.operation] == dependency.attempts, "bounded: the client's attempts, no more"
    dependency.unchanged(world)


@pytest.mark.parametrize(
    ("dependency", "plan"),
    [(dependency, (KINDS[number % 4], KINDS[(number + 1) % 4])) for number, dependency in enumerate(DEPENDENCIES)],
    ids=[
        f"{dependency.id}-{KINDS[number % 4]}-then-{KINDS[(number + 1) % 4]}"
        for number, dependency in enumerate(DEPENDENCIES)
    ],
)
def test_a_dependency_that_recovers_within_the_retries_is_invisible_to_the_client(
    faults: SlowFaults, world: World, dependency: Dependency, plan: tuple[str, str]
) -> None:
    request = dependency.prepare(world)
    faults.pass_first(dependency.operation, dependency.passes)
    faults.fail(dependency.operation, *plan)

    answer = world.call(request.function, request.event)

    assert answer.status == request.answers, answer.body
    assert answer_errors(*path_of(request), answer) == []


def test_a_refresh_that_answered_503_can_be_retried_with_the_same_token(faults: SlowFaults, world: World) -> None:
    request = _presenting(_rotating_refresh(world), world)
    faults.fail_always("dynamodb.PutItem", READ_TIMEOUT)
    assert world.call(request.function, request.event).status == 503
    faults.heal()

    answer = world.call(request.function, request.event)

    assert answer.status == 200
    assert list(answer.body) == ["access", "refresh"]


# --- the authorizer -------------------------------------------------------------------------------

Authorizer = Callable[[dict[str, Any]], dict[str, Any]]


def through_the_gateway(authorizer: Authorizer) -> HttpAnswer:
    """GET /api/v1/customers/1/ with a live access token, as a client sees it."""
    model = gateway.load()
    headers = {"Authorization": f"Bearer {mint(claims('access'))}"}
    decision = model.authorize(headers, "GET", "/api/v1/customers/1/", authorizer)
    assert isinstance(decision, gateway.Answer), "no Allow on an error"
    return HttpAnswer(
        decision.status, {k.lower(): v for k, v in decision.headers.items()}, json.loads(decision.body), decision.body
    )


@pytest.fixture
def checking_authorizer(
    faults: SlowFaults,
    monkeypatch: pytest.MonkeyPatch,
    secrets_extension: Any,
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
    customer: Customer,
) -> Authorizer:
    """The authorizer with its customer check on (one BatchGetItem per decision), no cache."""
    monkeypatch.setenv("AUTHORIZER_CHECK_CUSTOMER", "true")
    monkeypatch.setenv("AUTHORIZER_CHECK_CACHE_SECONDS", "0")
    module = load_handler("authorizer")
    return lambda event: dict(module.lambda_handler(event, lambda_context))


@pytest.mark.parametrize("kind", KINDS)
def test_the_authorizer_fails_closed_when_its_customer_check_fails(
    faults: SlowFaults, checking_authorizer: Authorizer, kind: str
) -> None:
    faults.fail_always("dynamodb.BatchGetItem", kind)

    answer = through_the_gateway(checking_authorizer)

    assert_unavailable(answer, "GET", "/api/v1/customers/1/")
    assert faults.attempts["dynamodb.BatchGetItem"] == 3


@pytest.mark.parametrize("kind", KINDS)
def test_the_authorizer_fails_closed_when_its_key_cannot_be_read(
    faults: SlowFaults, authorizer: Authorizer, kind: str
) -> None:
    """The key comes through the secrets extension, which answers 5xx when Secrets Manager fails."""
    faults.fail_always("secretsmanager.GetSecretValue", kind)

    answer = through_the_gateway(authorizer)

    assert_unavailable(answer, "GET", "/api/v1/customers/1/")
    assert faults.attempts["secretsmanager.GetSecretValue"] >= 1


def test_the_authorizer_allows_when_its_customer_check_recovers_within_the_retries(
    faults: SlowFaults, checking_authorizer: Authorizer
) -> None:
    faults.fail("dynamodb.BatchGetItem", THROTTLE, READ_TIMEOUT)
    policy = checking_authorizer(load_event("authorizer_allow", authorizationToken=f"Bearer {mint(claims('access'))}"))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


# --- slow past the budget, and answers lost after the write ---------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """template.yaml with CloudFormation's short tags read as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def function_timeout(logical_id: str) -> float:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    own = template["Resources"][logical_id]["Properties"].get("Timeout")
    return float(own or template["Globals"]["Function"]["Timeout"])


def test_a_login_with_slow_dependencies_answers_within_the_function_timeout(faults: SlowFaults, world: World) -> None:
    """DynamoDB slow: the login read answers on its third try, then the last_login write times
    out three times. Past the function's Timeout, Lambda kills the function and API Gateway
    answers 502 without Retry-After, so the 503 must come before that."""
    request = login(world)
    cold_start(world, request.function)
    faults.fail("dynamodb.BatchGetItem", READ_TIMEOUT, READ_TIMEOUT)
    faults.fail_always("dynamodb.UpdateItem", READ_TIMEOUT)

    answer = world.call(request.function, request.event)

    assert answer.status == 503
    assert faults.elapsed < function_timeout("ObtainTokenFunction"), f"{faults.elapsed:.2f} s spent waiting on DynamoDB"


def test_a_rotating_refresh_with_slow_dependencies_answers_within_the_function_timeout(
    faults: SlowFaults, world: World
) -> None:
    request = _rotating_refresh(world)
    cold_start(world, request.function)
    faults.fail("dynamodb.BatchGetItem", READ_TIMEOUT, READ_TIMEOUT)
    faults.fail_always("dynamodb.PutItem", READ_TIMEOUT)

    answer = world.call(request.function, request.event)

    assert answer.status == 503
    assert faults.elapsed < function_timeout("RefreshTokenFunction"), (
        f"{faults.elapsed:.2f} s spent waiting on DynamoDB"
    )


def test_a_login_whose_last_login_write_was_applied_but_answered_late_still_logs_in(
    faults: SlowFaults, world: World
) -> None:
    faults.fail("dynamodb.UpdateItem", APPLIED_THEN_READ_TIMEOUT)
    request = login(world)

    answer = world.call(request.function, request.event)

    assert answer.status == 200
    assert "S" in item("CUSTOMER#1")["last_login"]


def test_given_the_attempt_that_reaches_the_limit_was_counted_but_answered_late_then_it_is_checked_once(
    faults: SlowFaults, world: World
) -> None:
    """The client's retry of the counting write finds its own write, not a fifth failure from
    someone else: the attempt is answered 401 (password checked), counted once, and locks."""
    request = _fifth_failure(world)
    faults.fail("dynamodb.UpdateItem", APPLIED_THEN_READ_TIMEOUT)

    answer = world.call(request.function, request.event)

    assert (answer.status, answer.body) == (401, {"detail": "No active account found with the given credentials"})
    assert item(f"FAIL#{EMAIL}")["count"] == {"N": "5"}
    assert world.call(request.function, login(world).event).status == 429


def test_a_rotation_whose_write_was_applied_but_answered_late_does_not_revoke_the_session(
    faults: SlowFaults, world: World
) -> None:
    """The retried conditional put finds the item its own first attempt wrote. That is not a
    reuse: the client must get its new pair (or a 503), not lose its whole session."""
    request = _presenting(_rotating_refresh(world), world)
    faults.fail("dynamodb.PutItem", APPLIED_THEN_READ_TIMEOUT)

    answer = world.call(request.function, request.event)

    presented = world.presented_claims()
    assert item(f"FAMILY#{presented.get('family', presented['jti'])}") == {}, f"the session was revoked: {answer.body}"
    assert answer.status in (200, 503), answer.body


def test_a_logout_whose_write_was_applied_but_answered_late_completes(faults: SlowFaults, world: World) -> None:
    request = _blacklist(world)
    faults.fail("dynamodb.PutItem", APPLIED_THEN_READ_TIMEOUT)

    answer = world.call(request.function, request.event)

    assert item(f"FAMILY#{world.presented_claims()['jti']}") != {}, f"the family is not revoked: {answer.body}"
    assert (answer.status, answer.body) in ((200, {}), (503, UNAVAILABLE))


def test_a_logout_that_answered_503_after_retiring_the_token_can_be_retried_to_completion(
    faults: SlowFaults, world: World
) -> None:
    """Rotation on without BLACKLIST_AFTER_ROTATION (simplejwt's default): a rotated-away refresh
    token stays valid until its family is revoked. Logout retires the presented token, then
    revokes the family; when the second write fails, the client's retry must finish the job."""
    world.monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    pair = world.call("obtain_token", post("obtain_token", {"email": EMAIL, "password": PASSWORD})).body
    rotated = world.call("refresh_token", post("refresh_token", {"refresh": pair["refresh"]})).body
    faults.pass_first("dynamodb.PutItem", 1)
    faults.fail_always("dynamodb.PutItem", SERVER_ERROR)
    assert world.call("blacklist_token", post("blacklist_token", {"refresh": rotated["refresh"]})).status == 503
    faults.heal()
    world.call("blacklist_token", post("blacklist_token", {"refresh": rotated["refresh"]}))

    older = world.call("refresh_token", post("refresh_token", {"refresh": pair["refresh"]}))

    assert (older.status, older.body) == (401, {"detail": "Token is blacklisted", "code": "token_not_valid"})
