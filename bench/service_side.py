"""This service's warm figures and DynamoDB request counts, run by bench/run.py.

Usage: service_side.py, with the run's inputs as one JSON line on stdin (the same key,
credentials and tokens the baseline gets); then it serves its figures to
bench/interleave.py (bench/measure.py's protocol). Never prints a token, a password, a
hash or the key.

Everything goes through the real code (shared.services and the functions' handlers) on
moto's DynamoDB and Secrets Manager, in a process of its own so no environment variable
or mock leaks into the orchestrator. Two ways to answer DynamoDB:

- counting: moto answers, and a handler on botocore's ``before-parameter-build`` event of
  each client records every API call (retries would be extra HTTP attempts of one call;
  there are none without faults). Nothing is estimated.
- timing: a canned answer at ``before-send`` (moto's stubber taken off those clients), so
  the figure is the function's own CPU, botocore's serialisation, signing and parsing
  included, with neither moto's emulation nor a network round trip in it. The cost model
  adds the round trip as a stated assumption.

Containers as the template deploys them and as simplejwt's defaults have them: refresh
without rotation (simplejwt's default) and with ROTATE_REFRESH_TOKENS and
BLACKLIST_AFTER_ROTATION (the template's); the authorizer without and with its customer
check. A rotating refresh and a logout retire the refresh token they are given, so each of
their calls gets a never-used token, minted before its batch, outside the timing
(``FreshTokens``): the figure is a legitimate client's refresh, never a reuse.

The handlers print their logs and EMF metrics to stdout; stdout goes to a sink that only
counts bytes (CloudWatch Logs ingestion is billed per byte). pyjwt is loaded without
``cryptography``, as the Lambda bundles have it.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import Figures, Preparations, serve  # noqa: E402

REGION = "us-east-1"
TABLE_NAME = "bench-customers"
SECRET_ID = "bench/signing-key"
CUSTOMER_ID = "1"
MIGRATED_ID = "2"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TABLE_NAME": TABLE_NAME,
    "SIGNING_KEY_SECRET_ID": SECRET_ID,
    "POWERTOOLS_SERVICE_NAME": "ecommerce-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "EcommerceAuthBench",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    # simplejwt's defaults; the rotating container sets both to "true", as template.yaml does.
    "ROTATE_REFRESH_TOKENS": "false",
    "BLACKLIST_AFTER_ROTATION": "false",
}
ROTATING = {"ROTATE_REFRESH_TOKENS": "true", "BLACKLIST_AFTER_ROTATION": "true"}
# Would send the clients somewhere moto does not intercept.
UNSET = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_PROFILE")
CONTEXT = SimpleNamespace(
    function_name="bench",
    function_version="$LATEST",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
    aws_request_id="bench",
    log_group_name="/aws/lambda/bench",
    log_stream_name="bench",
    get_remaining_time_in_millis=lambda: 10_000,
)


class ByteSink(io.TextIOBase):
    """Stands in for stdout: keeps nothing, counts the UTF-8 bytes written."""

    def __init__(self) -> None:
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.written += len(text.encode())
        return len(text)


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.getvalue()


class CannedDynamoDB:
    """Answers DynamoDB at ``before-send`` with the given items, as the table holds them.

    GetItem: the item whose key the request names. BatchGetItem: those of the given items
    the request names, nothing unprocessed; the ``JTI#`` of a never-used refresh token and
    the ``FAMILY#`` of a live family are not among them, as on the table. Writes (UpdateItem,
    PutItem, their conditions) succeed; an UpdateItem answers a counter at one (the login
    guard's reservation of an attempt reads back the item it wrote). Answers are encoded
    once, not per call.
    """

    UPDATED = json.dumps({"Attributes": {"count": {"N": "1"}}}).encode()

    def __init__(self, table: str, items: dict[str, dict[str, Any]]) -> None:
        self._table = table
        # The key as botocore serialises it, quotes included: CUSTOMER#1 never matches CUSTOMER#10.
        self._items = [(json.dumps(pk).encode(), item) for pk, item in items.items()]
        self._gets = {needle: json.dumps({"Item": item}).encode() for needle, item in self._items}
        self._batches: dict[tuple[int, ...], bytes] = {}

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        body = b"{}"
        target = request.headers.get("X-Amz-Target") or b""
        operation = (target.encode() if isinstance(target, str) else target).rsplit(b".", 1)[-1]
        if operation == b"UpdateItem":
            body = self.UPDATED
        elif operation == b"GetItem":
            body = next(answer for needle, answer in self._gets.items() if needle in request.body)
        elif operation == b"BatchGetItem":
            named = tuple(index for index, (needle, _) in enumerate(self._items) if needle in request.body)
            if (body := self._batches.get(named, b"")) == b"":
                found = [self._items[index][1] for index in named]
                body = self._batches[named] = json.dumps({"Responses": {self._table: found}}).encode()
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))  # type: ignore[arg-type]


class FreshTokens:
    """Never-used refresh tokens, one per call: made ready before a batch, outside its timing.

    A rotating refresh (BLACKLIST_AFTER_ROTATION) and a logout retire the token they are
    given; presented again it is reuse (401, family revoked). So each call takes the next
    event of a queue that ``prepare`` fills with ``loops`` events, each carrying a token
    minted for it, as a client would present the one it last received.
    """

    def __init__(self, mint: Callable[[], str], template: dict[str, Any]) -> None:
        self._mint = mint
        self._template = template
        self._ready: deque[dict[str, Any]] = deque()

    def prepare(self, loops: int) -> None:
        self._ready = deque(dict(self._template, body=json.dumps({"refresh": self._mint()})) for _ in range(loops))

    def next_event(self) -> dict[str, Any]:
        return self._ready.popleft()


class RequestCounter:
    """Every API call the clients make, as botocore announces it before building the request."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._clients: list[Any] = []

    def attach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-parameter-build", self._record)
            self._clients.append(client)

    def detach(self) -> None:
        """Stop counting: the timed calls carry no bench code but the canned answer."""
        for client in self._clients:
            client.meta.events.unregister("before-parameter-build", self._record)
        self._clients.clear()

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        consistent = bool(params.get("ConsistentRead"))
        keys = [params[name]["pk"]["S"] for name in ("Key", "Item") if name in params]
        for item in params.get("TransactItems", []):
            (action,) = item.values()
            keys.append((action.get("Key") or action["Item"])["pk"]["S"])
        for request in params.get("RequestItems", {}).values():  # BatchGetItem: {table: {Keys, ConsistentRead}}
            keys.extend(key["pk"]["S"] for key in request["Keys"])
            consistent = consistent or bool(request.get("ConsistentRead"))
        self.calls.append(
            {
                "service": model.service_model.service_id.hyphenize(),
                "operation": model.name,
                "consistent": consistent,
                "conditional": bool(params.get("ConditionExpression")),
                "items": [key.split("#", 1)[0] + "#" for key in keys],
            }
        )

    @contextmanager
    def counting(self) -> Iterator[list[dict[str, Any]]]:
        """The calls made inside the block."""
        seen: list[dict[str, Any]] = []
        start = len(self.calls)
        yield seen
        seen.extend(self.calls[start:])


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, ~half a byte a digit)."""
    size = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        size += len(name.encode())
        size += len(data.encode()) if kind == "S" else len(data) // 2 + 1 if kind == "N" else 1
    return size


def load(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` afresh, as a new container would."""
    module = f"functions.{name}.app"
    sys.modules.pop(module, None)
    return importlib.import_module(module)


def event(name: str, **changes: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    loaded.update(changes)
    return loaded


def outcome(answer: dict[str, Any], field: str) -> object:
    """A handler's status code, or an authorizer policy's effect."""
    if field == "effect":
        return answer["policyDocument"]["Statement"][0]["Effect"]
    return answer.get(field)


def checked(
    field: str, expected: object, call: Callable[[], dict[str, Any]], body_keys: set[str] | None = None
) -> Callable[[], object]:
    """``call``, after making sure it answers what the figure claims to measure (never showing a token)."""
    answer = call()
    if (actual := outcome(answer, field)) != expected:
        raise RuntimeError(f"expected {field}={expected!r}, got {actual!r}")
    if body_keys is not None and (keys := set(json.loads(answer["body"]))) != body_keys:
        raise RuntimeError(f"expected an answer with {sorted(body_keys)}, got {sorted(keys)}")
    return call


def setup(inputs: dict[str, Any], sink: ByteSink) -> tuple[Figures, Preparations, dict[str, Any]]:
    """Containers on moto, every DynamoDB request counted; then the figures, on canned answers."""
    import boto3
    import jwt

    from shared import aws, services
    from shared.customers.passwords import PasswordHasher
    from shared.settings import get_settings
    from shared.tokens.minting import REFRESH

    raw = boto3.client("dynamodb", region_name=REGION)
    raw.create_table(
        TableName=TABLE_NAME,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name=SECRET_ID, SecretString=inputs["signing_key"])
    services.reset()
    email, password, key = inputs["email"], inputs["password"], inputs["signing_key"]
    access, refresh, pbkdf2_hash = inputs["access"], inputs["refresh"], inputs["pbkdf2_hash"]
    passwords = PasswordHasher(get_settings())
    argon2_hash = passwords.hash(password)
    store = services.customer_store()
    store.create(email, argon2_hash, customer_id=CUSTOMER_ID)

    # The first container: simplejwt's defaults (no rotation), no customer check.
    obtain_app, refresh_app, authorizer_app = load("obtain_token"), load("refresh_token"), load("authorizer")
    tokens, authorizer, clients = services.token_service(), services.request_authorizer(), [aws.dynamodb_client()]
    counter = RequestCounter()
    counter.attach(aws.dynamodb_client(), aws.secretsmanager_client())
    header = f"Bearer {access}"
    allow_event = event("authorizer_allow", authorizationToken=header)
    refresh_event = event("refresh_token_ok", body=json.dumps({"refresh": refresh}))

    def login_as(address: str, secret: str) -> dict[str, Any]:
        return event("obtain_token_ok", body=json.dumps({"email": address, "password": secret}))

    def handler(module: ModuleType, incoming: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        return lambda: module.lambda_handler(incoming, CONTEXT)

    def log_bytes(call: Callable[[], object]) -> int:
        before = sink.written
        call()
        return sink.written - before

    login = handler(obtain_app, login_as(email, password))
    counts = {
        "obtain": count(counter, login, "statusCode", 200),
        "obtain_wrong_password": count(counter, handler(obtain_app, login_as(email, "wrong")), "statusCode", 401),
        "obtain_unknown_email": count(counter, handler(obtain_app, login_as("x" + email, "x")), "statusCode", 401),
        "refresh": count(counter, handler(refresh_app, refresh_event), "statusCode", 200),
        "authorize": count(counter, handler(authorizer_app, allow_event), "effect", "Allow"),
    }
    # A customer migrated with their Django hash: the first login verifies PBKDF2 and upgrades it.
    store.create("migrated-" + email, pbkdf2_hash, customer_id=MIGRATED_ID)
    migrated = handler(obtain_app, login_as("migrated-" + email, password))
    counts["obtain_upgrading_hash"] = count(counter, migrated, "statusCode", 200)
    logs = {
        "obtain": log_bytes(login),
        "refresh": log_bytes(handler(refresh_app, refresh_event)),
        "authorize": log_bytes(handler(authorizer_app, allow_event)),
    }

    # The second container, as template.yaml deploys the token functions: rotation, and the
    # old refresh token retired (BLACKLIST_AFTER_ROTATION). Every call presents a fresh token.
    os.environ.update(ROTATING)
    services.reset()
    rotating_app, verify_app, blacklist_app = load("refresh_token"), load("verify_token"), load("blacklist_token")
    counter.attach(aws.dynamodb_client(), aws.secretsmanager_client())
    clients.append(aws.dynamodb_client())
    settings = get_settings()
    if not (settings.ROTATE_REFRESH_TOKENS and settings.BLACKLIST_AFTER_ROTATION):
        raise RuntimeError("the rotating container does not rotate")
    rotating_tokens = services.token_service()

    def fresh_refresh() -> str:
        return rotating_tokens.issue_pair(CUSTOMER_ID)["refresh"]

    def fresh(template: str) -> Callable[[], dict[str, Any]]:
        return lambda: event(template, body=json.dumps({"refresh": fresh_refresh()}))

    rotated = fresh("refresh_token_ok")()
    counts["refresh_rotating"] = count(counter, handler(rotating_app, rotated), "statusCode", 200)
    # The same token again: reuse, the whole family revoked (what a thief racing the client meets).
    counts["refresh_rotating_reuse"] = count(counter, handler(rotating_app, rotated), "statusCode", 401)
    verify_event = event("verify_token_ok", body=json.dumps({"token": access}))
    counts["verify"] = count(counter, handler(verify_app, verify_event), "statusCode", 200)
    counts["blacklist"] = count(counter, handler(blacklist_app, fresh("blacklist_token_ok")()), "statusCode", 200)
    logs["refresh_rotating"] = log_bytes(handler(rotating_app, fresh("refresh_token_ok")()))
    logs["verify"] = log_bytes(handler(verify_app, verify_event))
    logs["blacklist"] = log_bytes(handler(blacklist_app, fresh("blacklist_token_ok")()))
    rotating_pool = FreshTokens(fresh_refresh, event("refresh_token_ok"))

    # The per-request customer check: a new container each, with the cache off, then with the
    # 5 s cache (the default) last, so services.request_authorizer() is that container's.
    checking: dict[str, Any] = {}
    for cache_seconds in ("0", "5"):
        os.environ.update(AUTHORIZER_CHECK_CUSTOMER="true", AUTHORIZER_CHECK_CACHE_SECONDS=cache_seconds)
        services.reset()
        checked_app = handler(load("authorizer"), allow_event)
        counter.attach(aws.dynamodb_client(), aws.secretsmanager_client())
        if cache_seconds == "5":
            counts["authorize_checked_first"] = count(counter, checked_app, "effect", "Allow")
            counts["authorize_checked_cached"] = count(counter, checked_app, "effect", "Allow")
        else:
            counts["authorize_checked_uncached"] = count(counter, checked_app, "effect", "Allow")
        checking[cache_seconds] = services.request_authorizer()
        clients.append(aws.dynamodb_client())

    def fresh_status_cache(_: int) -> None:
        """A new authorizer container's cache, filled by one decision outside the timing.

        A batch lasts ~50-100 ms, far less than the 5 s an entry lives, so every timed
        decision is a cache hit (with one cache for the whole run, an entry read once would
        expire during the rounds and a few timed calls would be misses).
        """
        services.request_authorizer.cache_clear()
        checking["5"] = services.request_authorizer()
        checking["5"].decide(header)

    # The canned items are the items as they now are (the login wrote last_login); the JTI#
    # and FAMILY# items the counting wrote give those items' sizes, and are not canned: a
    # fresh token's are absent.
    items = {
        pk: raw.get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}})["Item"]
        for pk in ("CUSTOMER#" + CUSTOMER_ID, "EMAIL#" + email)
    }
    sizes: dict[str, int] = {}
    for item in raw.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]:
        prefix = item["pk"]["S"].split("#", 1)[0] + "#"
        sizes[prefix] = max(sizes.get(prefix, 0), item_size(item))
    canned = CannedDynamoDB(TABLE_NAME, items)
    counter.detach()
    for client in clients:
        answer_with(client, canned)

    def refresh_tokens() -> str:
        presented = tokens.validate(refresh, REFRESH)
        return tokens.issue_access(str(presented.user_id), presented.family)

    rotating_pool.prepare(1)
    figures: Figures = {
        "jwt_decode": (lambda: jwt.decode(access, key, algorithms=["HS256"]), "us"),
        "decide": (lambda: authorizer.decide(header), "us"),
        "authorizer_handler": (checked("effect", "Allow", handler(authorizer_app, allow_event)), "us"),
        "decide_checked_cached": (lambda: checking["5"].decide(header), "us"),
        "decide_checked_uncached": (lambda: checking["0"].decide(header), "us"),
        "issue_pair": (lambda: tokens.issue_pair(CUSTOMER_ID), "us"),
        "refresh_tokens": (refresh_tokens, "us"),
        "refresh_request": (checked("statusCode", 200, handler(refresh_app, refresh_event), {"access"}), "us"),
        "refresh_request_rotating": (
            checked(
                "statusCode",
                200,
                lambda: rotating_app.lambda_handler(rotating_pool.next_event(), CONTEXT),
                {"access", "refresh"},
            ),
            "us",
        ),
        "dynamodb_get_item": (lambda: store.get(CUSTOMER_ID), "us"),
        "argon2_verify": (lambda: passwords.verify(password, argon2_hash), "ms"),
        "pbkdf2_verify": (lambda: passwords.verify(password, pbkdf2_hash), "ms"),
        "login_request": (checked("statusCode", 200, login), "ms"),
    }
    preparations: Preparations = {
        "refresh_request_rotating": rotating_pool.prepare,
        "decide_checked_cached": fresh_status_cache,
    }
    fresh_status_cache(1)
    for name in ("decide", "decide_checked_cached", "decide_checked_uncached"):
        if not figures[name][0]().allowed:  # type: ignore[attr-defined]
            raise RuntimeError(f"{name} did not allow the shared token")
    report = {
        "dynamodb_calls": counts,
        "item_sizes": sizes,
        "log_bytes_per_invocation": logs,
    }
    return figures, preparations, report


def count(
    counter: RequestCounter, call: Callable[[], dict[str, Any]], field: str, expected: object
) -> list[dict[str, Any]]:
    """The API calls one invocation makes, once its answer is checked."""
    with counter.counting() as calls:
        answer = call()
    if outcome(answer, field) != expected:
        raise RuntimeError(f"expected {field}={expected!r}, got {outcome(answer, field)!r}")
    return calls


def answer_with(client: Any, canned: CannedDynamoDB) -> None:
    """``canned`` in place of moto on ``client`` (botocore calls every before-send handler)."""
    from moto.core.models import botocore_stubber

    client.meta.events.unregister("before-send", botocore_stubber)
    client.meta.events.register("before-send.dynamodb", canned)


def load_pyjwt_as_bundled() -> None:
    """pyjwt without ``cryptography``, as every Lambda bundle has it (with it, decode is ~7% slower).

    moto needs ``cryptography`` itself, so it is blocked only while pyjwt probes for it.
    """
    sys.modules["cryptography"] = None  # type: ignore[assignment]
    try:
        import jwt.algorithms

        if jwt.algorithms.has_crypto:
            raise RuntimeError("pyjwt was imported with cryptography before the bench could block it")
    finally:
        del sys.modules["cryptography"]


def main() -> None:
    inputs = json.loads(sys.stdin.readline())
    for name in UNSET:
        os.environ.pop(name, None)
    os.environ.update(ENVIRONMENT)
    load_pyjwt_as_bundled()
    from moto import mock_aws

    sink, protocol = ByteSink(), sys.stdout
    with redirect_stdout(sink), mock_aws():
        figures, preparations, report = setup(inputs, sink)
        serve(figures, lambda: report, protocol, preparations)


if __name__ == "__main__":
    main()
