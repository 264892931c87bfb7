"""Account timing: do registration and reset answers tell an attacker which addresses exist?

Runs the real POST /auth/registration/ and POST /auth/password/reset/ handlers in-process on
moto (DynamoDB, SQS) with the configured argon2id hasher, TRIES requests per case (after
WARM_UPS uncounted ones), interleaved case by case so machine noise hits every case alike,
and prints each case's median latency and its ratio to the baseline case. Limits are set
high so they do not interfere. The mail jobs are not run: what an attacker times is the
answer, and the answer never waits for the mailer.

Cases: registration of a new address (baseline), of a verified customer's address, of a
pending (registered, unverified) address; reset of a customer (baseline) and of an unknown
address. Each pair must stay within 1.2x.

Run: .venv/bin/python bench/account_timing.py   (make bench-account-timing)
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIES = 100
WARM_UPS = 5
LIMIT = 1.2
PASSWORD = "Quiet-Harbour-42"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/bench-mail"
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_NAME": "bench-customers",
    "SIGNING_KEY_SECRET_ID": "bench/signing-key",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "MAIL_QUEUE_URL": QUEUE_URL,
    "ACCOUNT_ADDRESS_LIMIT": "1000000",
    "ACCOUNT_IP_LIMIT": "1000000",
}


def event(name: str, body: dict[str, str]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    loaded["body"] = json.dumps(body)
    return loaded


def main() -> int:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        os.environ.pop(name, None)
    os.environ.update(ENVIRONMENT)
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="bench-customers",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("sqs").create_queue(QueueName="bench-mail")
        from shared import services
        from shared.customers.passwords import PasswordHasher
        from shared.settings import get_settings

        hasher = PasswordHasher(get_settings())
        store = services.customer_store()
        store.create("customer@example.com", hasher.hash(PASSWORD))
        store.register("pending@example.com", hasher.hash(PASSWORD), pending_until=int(time.time()) + 86400)
        register = importlib.import_module("functions.register.app")
        request_mail = importlib.import_module("functions.request_mail.app")
        context = SimpleNamespace(
            function_name="bench",
            memory_limit_in_mb=1024,
            aws_request_id="bench",
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        )

        def timed(handler: Any, name: str, body: dict[str, str], status: int) -> float:
            started = time.perf_counter()
            answer = handler.lambda_handler(event(name, body), context)
            elapsed = time.perf_counter() - started
            assert answer["statusCode"] == status, answer["body"]
            return elapsed * 1000

        def registration(email: Callable[[int], str]) -> Callable[[int], float]:
            return lambda n: timed(
                register, "register_ok", {"email": email(n), "password1": PASSWORD, "password2": PASSWORD}, 201
            )

        def reset(email: str) -> Callable[[int], float]:
            return lambda n: timed(request_mail, "password_reset_ok", {"email": email}, 200)

        cases: dict[str, Callable[[int], float]] = {
            "registration, new address": registration(lambda n: f"new-{n}@example.com"),
            "registration, taken address": registration(lambda n: "customer@example.com"),
            "registration, pending address": registration(lambda n: "pending@example.com"),
            "reset, customer": reset("customer@example.com"),
            "reset, unknown address": reset("nobody@example.com"),
        }
        results: dict[str, list[float]] = {name: [] for name in cases}
        for n in range(WARM_UPS + TRIES):
            for name, run in cases.items():
                sample = run(n)
                if n >= WARM_UPS:
                    results[name].append(sample)

    baselines = {"registration": "registration, new address", "reset": "reset, customer"}
    print(f"{'case':<32}{'median ms':>10}{'min':>9}{'max':>9}{'ratio':>8}")
    worst = 0.0
    for name, samples in results.items():
        base = statistics.median(results[baselines[name.split(",")[0]]])
        median = statistics.median(samples)
        ratio = median / base
        worst = max(worst, ratio, 1 / ratio)
        print(f"{name:<32}{median:>10.2f}{min(samples):>9.2f}{max(samples):>9.2f}{ratio:>8.3f}")
    verdict = "within" if worst <= LIMIT else "OUTSIDE"
    print(f"largest ratio either way: {worst:.3f} ({verdict} {LIMIT}x)")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
