"""Login timing: do refusals tell an attacker which emails are customers?

Runs the real POST /auth/token/ handler in-process on moto with the configured argon2id
hasher, 50 tries per case (after 5 uncounted warm-ups; the cases take turns), and prints the median latency of
each refusal and the ratios to the wrong-password case. Lockouts are set high so they do
not interfere. Each case repeats one email, as an attacker's repeated probe would. The two
"locked" cases compare a locked existing account with a locked unknown email (both answer
429 without hashing).

Then a Django import is waiting for its upgrades: one customer per imported kind at the
default of the Django that made it (PBKDF2 1,000,000 iterations, bcrypt_sha256 12 rounds,
scrypt n=2**14 r=8 p=5) and the ``COUNTER#legacy`` item import-django writes for them (its
own code, timings included). Every refusal then pays one argon2id verify and the slowest
kind's; the ratios there are to the unknown email (20 tries each).

Run: .venv/bin/python bench/login_timing.py   (make bench-login-timing)
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TRIES = 50
LEGACY_TRIES = 20
WARM_UPS = 5
DJANGO_ITERATIONS = 1_000_000  # Django 5.2's PBKDF2PasswordHasher
PASSWORD = "SecurePass123!"
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
    "LOGIN_MAX_FAILURES": "1000000",
    "LOGIN_IP_MAX_FAILURES": "1000000",
}


def event(email: str, password: str, source_ip: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "events" / "obtain_token_ok.json").read_text())
    loaded["body"] = json.dumps({"email": email, "password": password})
    loaded["requestContext"]["identity"]["sourceIp"] = source_ip
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
        boto3.client("secretsmanager").create_secret(Name="bench/signing-key", SecretString=os.urandom(32).hex())
        from shared import services
        from shared.customers.passwords import PasswordHasher
        from shared.settings import get_settings

        hasher = PasswordHasher(get_settings())
        store = services.customer_store()
        store.create("customer@example.com", hasher.hash(PASSWORD))
        store.create("inactive@example.com", hasher.hash(PASSWORD), is_active=False)
        store.create("unverified@example.com", hasher.hash(PASSWORD), email_verified=False)
        container = {"app": importlib.import_module("functions.obtain_token.app")}
        context = SimpleNamespace(
            function_name="bench",
            memory_limit_in_mb=1024,
            aws_request_id="bench",
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        )

        def timed(email: str, password: str, source_ip: str, status: int) -> float:
            started = time.perf_counter()
            answer = container["app"].lambda_handler(event(email, password, source_ip), context)
            elapsed = time.perf_counter() - started
            assert answer["statusCode"] == status, f"expected {status}, got {answer['statusCode']}"
            return elapsed * 1000

        cases: dict[str, Callable[[int], float]] = {
            "wrong password": lambda n: timed("customer@example.com", f"wrong-{n}", f"10.0.0.{n % 250}", 401),
            "unknown email": lambda n: timed("nobody@example.com", PASSWORD, f"10.0.1.{n % 250}", 401),
            "inactive customer": lambda n: timed("inactive@example.com", PASSWORD, f"10.0.2.{n % 250}", 401),
            "unverified, right password": lambda n: timed("unverified@example.com", PASSWORD, f"10.0.8.{n % 250}", 401),
        }
        results = interleaved(cases, TRIES)

        # Locked: an existing account and an unknown email, both past a lowered threshold.
        get_settings.cache_clear()
        os.environ["LOGIN_MAX_FAILURES"] = "3"
        services.reset()
        sys.modules.pop("functions.obtain_token.app", None)
        container["app"] = importlib.import_module("functions.obtain_token.app")  # a new container
        for email in ("customer@example.com", "ghost@example.com"):
            for n in range(3):
                container["app"].lambda_handler(event(email, "wrong", f"10.0.3.{n}"), context)
        results["locked, existing account"] = [
            timed("customer@example.com", PASSWORD, "10.0.4.1", 429) for _ in range(TRIES)
        ]
        results["locked, unknown email"] = [timed("ghost@example.com", PASSWORD, "10.0.4.2", 429) for _ in range(TRIES)]

        # A Django import waiting for its upgrades (no lockouts again).
        get_settings.cache_clear()
        os.environ["LOGIN_MAX_FAILURES"] = "1000000"
        services.reset()
        sys.modules.pop("functions.obtain_token.app", None)
        container["app"] = importlib.import_module("functions.obtain_token.app")
        import bcrypt

        from tools.authctl import _record_legacy_costs

        salt = base64.b64encode(os.urandom(12)).decode()
        scrypt = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**14, r=8, p=5, maxmem=0, dklen=64)
        sha256_hex = hashlib.sha256(PASSWORD.encode()).hexdigest().encode()
        migrated = {  # one customer per imported kind, at the default of the Django that made it
            "pbkdf2_sha256": pbkdf2_hash(PASSWORD, DJANGO_ITERATIONS),
            "bcrypt_sha256": "bcrypt_sha256$" + bcrypt.hashpw(sha256_hex, bcrypt.gensalt(12)).decode(),
            "scrypt": f"scrypt$16384${salt}$8$5${base64.b64encode(scrypt).decode()}",
        }
        store = services.customer_store()
        for kind, encoded in migrated.items():
            store.create(f"{kind}@example.com", encoded)
        _record_legacy_costs(store.legacy_hashes, hasher, {kind: [encoded] for kind, encoded in migrated.items()})
        legacy_cases: dict[str, Callable[[int], float]] = {
            "unknown email": lambda n: timed("nobody@example.com", PASSWORD, f"10.0.6.{n}", 401),
            "argon2id, wrong password": lambda n: timed("customer@example.com", f"wrong-{n}", f"10.0.7.{n}", 401),
        }
        for index, kind in enumerate(migrated):
            legacy_cases[f"{kind}, wrong password"] = partial(
                lambda n, email, net: timed(email, f"wrong-{n}", f"10.1.{net}.{n}", 401),
                email=f"{kind}@example.com",
                net=index,
            )
        legacy = interleaved(legacy_cases, LEGACY_TRIES)

    report("no imported hash waiting", results, "wrong password")
    locked_ratio = statistics.median(results["locked, unknown email"]) / statistics.median(
        results["locked, existing account"]
    )
    print(f"locked unknown / locked existing: {locked_ratio:.3f}")
    report(
        f"imported PBKDF2 ({DJANGO_ITERATIONS:,}), bcrypt_sha256 (12 rounds), scrypt (n=2**14, r=8, p=5) waiting",
        legacy,
        "unknown email",
    )
    return 0


def interleaved(cases: dict[str, Callable[[int], float]], tries: int) -> dict[str, list[float]]:
    """Each case's samples, taken in turn (one of each, then again), so a change in the
    machine's load during the run weighs on every case alike."""
    for run in cases.values():
        for n in range(WARM_UPS):
            run(n)
    results: dict[str, list[float]] = {name: [] for name in cases}
    for n in range(tries):
        for name, run in cases.items():
            results[name].append(run(n))
    return results


def report(title: str, results: dict[str, list[float]], base_case: str) -> None:
    base = statistics.median(results[base_case])
    print(f"\n{title}\n{'case':<28}{'median ms':>10}{'min':>9}{'max':>9}{'ratio':>8}")
    for name, samples in results.items():
        median = statistics.median(samples)
        print(f"{name:<28}{median:>10.2f}{min(samples):>9.2f}{max(samples):>9.2f}{median / base:>8.3f}")


def pbkdf2_hash(password: str, iterations: int) -> str:
    """Django's PBKDF2PasswordHasher encoding of ``password``."""
    salt = base64.b64encode(os.urandom(12)).decode()
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(derived).decode()}"


if __name__ == "__main__":
    sys.exit(main())
