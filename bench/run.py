"""``make bench``: this service next to Django + simplejwt; tables on stdout, bench/results.json.

Usage: python bench/run.py [--quick]

One run, one machine, one signing key and one token pair for both sides: the key, the
credentials and the tokens are made here (random per run), handed to each side on stdin
and never printed or saved. The sides never run at the same time:

1. the Django venv with Django, DRF and simplejwt from PyPI (bench/django_venv.py);
2. both sides set up and check themselves (bench/service_side.py counts DynamoDB requests,
   bench/django_side.py SQL statements), then their warm figures are timed batch by batch
   in alternation (bench/interleave.py);
3. cold starts of both, round-robin (bench/coldstart.py);
4. cold starts whose first request succeeds on storage really used, and the Lambda CPU model
   over them (bench/first_request.py, bench/lambda_model.py);
5. the authorizer's telemetry, Powertools' against shared/telemetry.py, at init and per call
   (bench/telemetry_cost.py);
6. the cost model over the measured figures (bench/cost.py).

bench/README.md says what each figure measures and why some favour the baseline.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # the bench writes under bench/ only
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(1, str(ROOT))

import coldstart  # noqa: E402
import cost  # noqa: E402
import django_venv  # noqa: E402
import first_request  # noqa: E402
import interleave  # noqa: E402
import telemetry_cost  # noqa: E402
from interleave import Side  # noqa: E402
from tables import Row, report  # noqa: E402

RESULTS = BENCH / "results.json"
EMAIL = "bench@example.com"
DJANGO_PBKDF2_ITERATIONS = 1_000_000  # Django 5.2's PBKDF2PasswordHasher default
PRICED_MAU = 100_000  # the monthly bill compared with Cognito's


@dataclass(frozen=True)
class Runs:
    fast: int  # batches per microsecond figure
    slow: int  # calls per millisecond figure (password hashing, logins)
    cold: int  # fresh interpreters per variant


FULL = Runs(fast=21, slow=11, cold=11)
QUICK = Runs(fast=5, slow=5, cold=3)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def make_inputs() -> dict[str, Any]:
    """The run's secrets and tokens, shared by both sides: the same token measured twice."""
    from shared.settings import Settings
    from shared.tokens.keyset import KeySet, parse
    from shared.tokens.minting import TokenService

    signing_key = secrets.token_urlsafe(48)

    class Key:
        """The plain-string secret before any rotation: simplejwt's header, no kid."""

        def get(self) -> KeySet:
            return parse(signing_key)

        def refetch_for_unknown_kid(self) -> KeySet:
            return parse(signing_key)

    pair = TokenService(Settings(), Key()).issue_pair("1")
    password = secrets.token_urlsafe(18)
    salt = secrets.token_hex(11)  # 22 alphanumerics, as Django's salts
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), DJANGO_PBKDF2_ITERATIONS)
    pbkdf2_hash = f"pbkdf2_sha256${DJANGO_PBKDF2_ITERATIONS}${salt}${base64.b64encode(derived).decode()}"
    return {
        "signing_key": signing_key,
        "email": EMAIL,
        "password": password,
        "pbkdf2_hash": pbkdf2_hash,
        "access": pair["access"],
        "refresh": pair["refresh"],
    }


def side_environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    environment["PYTHONPYCACHEPREFIX"] = str(coldstart.PYCACHE)  # byte code stays under bench/
    return environment


def dollars(value: float) -> dict[str, Any]:
    return {"unit": "$", "median": value, "min": value, "max": value, "runs": 1}


AUTHENTICATE = "simplejwt JWTAuthentication.authenticate (sqlite user query)"
STUBBED = "DynamoDB answered by a stub: client CPU, no round trip"
FRESH = STUBBED + "; a never-used refresh token per call, minted outside the timing"
ROTATING_BASELINE = "TokenRefreshView, ROTATE_REFRESH_TOKENS (no blacklist app: no write)"
CHECK_OFF = "decide(), customer check off"
FUNCTIONS = ("obtain_token", "refresh_token", "verify_token", "blacklist_token", "authorizer", "customer_profile")
# Issue 28's goals: the authorizer's import + first Allow within 1.3x a bare ``import jwt`` +
# ``jwt.decode``, its warm handler within 1.3x a bare ``jwt.decode``; issue 18's: the other
# functions' cold starts below Django + simplejwt's.
AUTHORIZER_COLD_GOAL_RATIO = 1.3
AUTHORIZER_HANDLER_GOAL_RATIO = 1.3
# The functions template.yaml's EnableSnapStart applies to, by their template resource.
SNAPSTART_FUNCTIONS = {
    "obtain_token": "ObtainTokenFunction",
    "refresh_token": "RefreshTokenFunction",
    "verify_token": "VerifyTokenFunction",
    "blacklist_token": "BlacklistTokenFunction",
}
BELOW_DJANGO = ("obtain_token", "refresh_token", "verify_token", "blacklist_token", "customer_profile")
# (section, figure, this service's figure, baseline's figure, what the baseline is, note); a
# figure is a path into {"ours": warm service figures, "theirs": warm Django figures, "cold": ...}.
# fmt: off
FIGURES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, str]] = [
    ("1 authorizer", "decide()", ("ours", "decide"), ("ours", "jwt_decode"), "bare jwt.decode, same token", ""),
    ("1 authorizer", "decide()", ("ours", "decide"), ("theirs", "authenticate"), AUTHENTICATE, ""),
    ("1 authorizer", "Lambda handler", ("ours", "authorizer_handler"), ("theirs", "authenticate"), AUTHENTICATE, ""),
    ("1 authorizer", "Lambda handler", ("ours", "authorizer_handler"), ("ours", "jwt_decode"),
     "bare jwt.decode, same token", "goal: at most 1.3x"),
    ("1 authorizer", "decide() + customer check, 5 s cache hit", ("ours", "decide_checked_cached"),
     ("theirs", "authenticate"), AUTHENTICATE, ""),
    ("1 authorizer", "decide() + customer check, cache off (BatchGetItem each)", ("ours", "decide_checked_uncached"),
     ("theirs", "authenticate"), AUTHENTICATE, STUBBED),
    ("1 authorizer", "decide() + customer check, 5 s cache hit", ("ours", "decide_checked_cached"),
     ("ours", "decide"), CHECK_OFF, ""),
    ("1 authorizer", "decide() + customer check, cache off (BatchGetItem each)", ("ours", "decide_checked_uncached"),
     ("ours", "decide"), CHECK_OFF, STUBBED),
    ("1 authorizer", "calibration: jwt.decode, project venv", ("ours", "jwt_decode"), ("theirs", "jwt_decode"),
     "jwt.decode, Django venv", "same call, two processes: the noise floor"),
    *[("2 cold start", f"{function}: spawn to first answer", ("cold", function, "total"),
       ("cold", "django", "total"), "Django + simplejwt: spawn to first token answer", "") for function in FUNCTIONS],
    *[("2 cold start", f"{function}: peak RSS", ("cold", function, "peak_rss"), ("cold", "django", "peak_rss"),
       "Django + simplejwt: peak RSS", "") for function in FUNCTIONS],
    ("2 cold start", "refresh_token: spawn to a first answer that calls AWS",
     ("cold", coldstart.FIRST_AWS_CALL, "total"), ("cold", "django", "total"),
     "Django + simplejwt: spawn to first token answer",
     "clients made at init; endpoint closed: 503, no round trip"),
    ("2 cold start", "authorizer: import + first Allow (key through the extension)",
     ("cold", coldstart.AUTHORIZER_ALLOW, "init_and_first_event"), ("cold", "bare_jwt", "init_and_first_event"),
     "import jwt + one jwt.decode, same token", "goal: at most 1.3x"),
    ("2 cold start", "authorizer with cryptography importable", ("cold", "authorizer+cryptography", "total"),
     ("cold", "authorizer", "total"), "authorizer as bundled (no cryptography)", "what cryptography would add"),
    ("2 cold start", "authorizer with cryptography: peak RSS", ("cold", "authorizer+cryptography", "peak_rss"),
     ("cold", "authorizer", "peak_rss"), "authorizer as bundled", ""),
    ("3 tokens", "issue the pair", ("ours", "issue_pair"), ("theirs", "issue_pair"),
     "RefreshToken.for_user, str(refresh), str(access)", ""),
    ("3 tokens", "refresh: validate + mint access", ("ours", "refresh_tokens"), ("theirs", "refresh_tokens"),
     "str(RefreshToken(raw).access_token)", ""),
    ("3 tokens", "refresh request, no rotation (handler)", ("ours", "refresh_request"),
     ("theirs", "refresh_request"), "TokenRefreshView via WSGI (sqlite user query)", STUBBED),
    ("3 tokens", "refresh request with rotation + blacklist after rotation", ("ours", "refresh_request_rotating"),
     ("theirs", "refresh_request_rotating"), ROTATING_BASELINE, FRESH),
    ("3 tokens", "refresh request with rotation + blacklist after rotation", ("ours", "refresh_request_rotating"),
     ("ours", "refresh_request"), "this service, no rotation", "what rotation and retiring the token add"),
    ("4 passwords", "verify, argon2id as configured", ("ours", "argon2_verify"), ("theirs", "pbkdf2_verify"),
     "Django PBKDF2 1,000,000 verify", ""),
    ("4 passwords", "verify a migrated Django PBKDF2 hash", ("ours", "pbkdf2_verify"), ("theirs", "pbkdf2_verify"),
     "Django PBKDF2 1,000,000 verify", "the same hash; once per customer"),
    ("4 passwords", "login request (handler)", ("ours", "login_request"), ("theirs", "login_request"),
     "TokenObtainPairView via WSGI (sqlite)", STUBBED),
]
# fmt: on


def figure_rows(service: dict[str, Any], django: dict[str, Any], cold: dict[str, Any]) -> list[Row]:
    sources = {"ours": service["figures"], "theirs": django["figures"], "cold": cold}

    def at(path: tuple[str, ...]) -> dict[str, Any]:
        node: Any = sources
        for key in path:
            node = node[key]
        return dict(node)

    rows = [
        Row(section, figure, at(ours), at(theirs), label, note)
        for section, figure, ours, theirs, label, note in FIGURES
    ]
    memory = cost.memory_sizes(ROOT / "template.yaml")["ObtainTokenFunction"]

    def hashing_cost(milliseconds: float) -> dict[str, Any]:
        return dollars(cost.gb_seconds_cost(cost.billed_ms(milliseconds, memory), memory) * 1e6)

    rows.append(
        Row(
            "4 passwords",
            f"the hash's Lambda compute, per million logins at {memory} MB",
            hashing_cost(service["figures"]["argon2_verify"]["median"]),
            hashing_cost(django["figures"]["pbkdf2_verify"]["median"]),
            f"PBKDF2 1,000,000 at {memory} MB",
        )
    )
    return rows


def goals(service: dict[str, Any], cold: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of issue 18 with its measured figure and whether this run met it."""
    allow = cold[coldstart.AUTHORIZER_ALLOW]
    first_allow = allow["init_and_first_event"]["median"]
    bare = cold["bare_jwt"]["init_and_first_event"]["median"]
    first_allow_cpu = allow["init_and_first_event_cpu"]["median"]
    bare_cpu = cold["bare_jwt"]["init_and_first_event_cpu"]["median"]
    handler, decode = (service["figures"][name]["median"] for name in ("authorizer_handler", "jwt_decode"))
    django = cold["django"]["total"]["median"]
    return [
        {
            "goal": "authorizer: import + first Allow (key through the extension) vs import jwt + jwt.decode",
            "target": f"<= {AUTHORIZER_COLD_GOAL_RATIO:.1f}x",
            "measured": f"{first_allow:.1f} ms / {bare:.1f} ms = {first_allow / bare:.2f}x"
            f" (CPU {first_allow_cpu:.1f} / {bare_cpu:.1f} ms = {first_allow_cpu / bare_cpu:.2f}x)",
            "met": first_allow / bare <= AUTHORIZER_COLD_GOAL_RATIO,
        },
        {
            "goal": "authorizer: no boto3 loaded by its cold start",
            "target": "no boto3",
            "measured": "boto3 loaded" if allow["boto3_loaded"] else "no boto3",
            "met": not allow["boto3_loaded"],
        },
        {
            "goal": "authorizer: warm Lambda handler vs a bare jwt.decode of the same token",
            "target": f"<= {AUTHORIZER_HANDLER_GOAL_RATIO:.1f}x",
            "measured": f"{handler:.1f} us / {decode:.1f} us = {handler / decode:.2f}x",
            "met": handler / decode <= AUTHORIZER_HANDLER_GOAL_RATIO,
        },
        *[
            {
                "goal": f"{function}: spawn to first answer",
                "target": f"< Django + simplejwt ({django:.0f} ms)",
                "measured": f"{total:.0f} ms ({total / django:.2f}x)",
                "met": total < django,
            }
            for function in BELOW_DJANGO
            for total in [cold[function]["total"]["median"]]
        ],
    ]


def describe(call: dict[str, Any]) -> str:
    """``BatchGetItem(consistent: CUSTOMER#, FAMILY#, JTI#)``; other services' calls carry its name."""
    service = "" if call["service"] == "dynamodb" else f"{call['service']}."
    flags = [name for name in ("consistent", "conditional") if call.get(name)]
    items = ", ".join(call["items"])
    detail = ", ".join(flags) + (": " if flags and items else "") + items
    return f"{service}{call['operation']}" + (f"({detail})" if detail else "")


def dynamodb_rows(service: dict[str, Any], django: dict[str, Any]) -> list[dict[str, Any]]:
    calls, sizes, sql = service["dynamodb_calls"], service["item_sizes"], django["sql_queries"]
    # simplejwt's SQL where the baseline has the operation: verify and blacklist need its
    # blacklist app, which the baseline does not install (None: "—").
    plan = [
        ("obtain", "obtain", sql["obtain"]),
        ("obtain, wrong password", "obtain_wrong_password", None),
        ("obtain, unknown email", "obtain_unknown_email", None),
        ("obtain, first login of a migrated PBKDF2 customer", "obtain_upgrading_hash", None),
        ("refresh, no rotation", "refresh", sql["refresh"]),
        ("refresh with rotation + blacklist after rotation (template)", "refresh_rotating", sql["refresh_rotating"]),
        ("refresh with rotation, retired token again (reuse: 401)", "refresh_rotating_reuse", None),
        ("verify", "verify", None),
        ("blacklist (logout)", "blacklist", None),
        ("authorizer, no customer check", "authorize", sql["authenticate"]),
        ("authorizer + check, first decision (cache miss)", "authorize_checked_first", sql["authenticate"]),
        ("authorizer + check, again within 5 s", "authorize_checked_cached", sql["authenticate"]),
        ("authorizer + check, cache off", "authorize_checked_uncached", sql["authenticate"]),
    ]
    rows = []
    for label, key, queries in plan:
        reads, writes = cost.request_units(calls[key], sizes)
        operations = [describe(call) for call in calls[key]]
        rows.append(
            {
                "operation": label,
                "requests": sum(1 for call in calls[key] if call["service"] == "dynamodb"),
                "calls": operations,
                "rru": reads,
                "wru": writes,
                "sql": queries,
            }
        )
    return rows


ROTATING = "refresh with rotation (template default)"


def cost_model(service: dict[str, Any], cold: dict[str, Any]) -> dict[str, Any]:
    ours, calls, sizes, logs = (
        service[key] for key in ("figures", "dynamodb_calls", "item_sizes", "log_bytes_per_invocation")
    )
    memory = cost.memory_sizes(ROOT / "template.yaml")
    authorizer_ms = ours["authorizer_handler"]["median"] / 1000
    # A checked decision that misses: the plain handler plus the customer read's client CPU.
    checked_ms = authorizer_ms + (ours["decide_checked_uncached"]["median"] - ours["decide"]["median"]) / 1000

    def authorizer(invocations: float, cpu_ms: float, calls_key: str) -> dict[str, float]:
        return cost.per_million(
            cpu_ms=cpu_ms,
            memory_mb=memory["AuthorizerFunction"],
            cold_start_ms=cold["authorizer"]["total"]["median"],
            calls=calls[calls_key],
            item_sizes=sizes,
            log_bytes=logs["authorize"],
            invocations=invocations,
        )

    # What a first answer that calls AWS pays beyond a 400 (little, now that the clients are
    # made at init): a real cold start pays both, priced here as init.
    deferred = float(cold[coldstart.FIRST_AWS_CALL]["total"]["median"] - cold["refresh_token"]["total"]["median"])

    def cold_start_ms(function: str) -> float:
        return float(cold[function]["total"]["median"]) + max(0.0, deferred)

    every = cost.REQUESTS_PER_AUTHORIZER_INVOCATION
    typical, worst = f"authorized request, 1 authorizer run per {every}", "authorized + customer check, no cache"
    table = {
        "obtain": cost.per_million(
            cpu_ms=ours["login_request"]["median"],
            memory_mb=memory["ObtainTokenFunction"],
            cold_start_ms=cold_start_ms("obtain_token"),
            calls=calls["obtain"],
            item_sizes=sizes,
            log_bytes=logs["obtain"],
        ),
        "refresh, no rotation": cost.per_million(
            cpu_ms=ours["refresh_request"]["median"] / 1000,
            memory_mb=memory["RefreshTokenFunction"],
            cold_start_ms=cold_start_ms("refresh_token"),
            calls=calls["refresh"],
            item_sizes=sizes,
            log_bytes=logs["refresh"],
        ),
        ROTATING: cost.per_million(
            cpu_ms=ours["refresh_request_rotating"]["median"] / 1000,
            memory_mb=memory["RefreshTokenFunction"],
            cold_start_ms=cold_start_ms("refresh_token"),
            calls=calls["refresh_rotating"],
            item_sizes=sizes,
            log_bytes=logs["refresh_rotating"],
        ),
        typical: authorizer(1 / every, authorizer_ms, "authorize"),
        "authorized request, no authorizer cache": authorizer(1, authorizer_ms, "authorize"),
        f"authorized + customer check, 1 run per {every}": authorizer(
            1 / every, checked_ms, "authorize_checked_uncached"
        ),
        worst: authorizer(1, checked_ms, "authorize_checked_uncached"),
    }
    # The month's refreshes as deployed: rotating, the old token retired.
    per_mau = {
        "this service, authorizer cache, no check": cost.per_mau(table["obtain"], table[ROTATING], table[typical]),
        "this service, no cache, customer check": cost.per_mau(table["obtain"], table[ROTATING], table[worst]),
    }
    return {
        "memory_mb": memory,
        "per_million": table,
        "per_mau_refresh": ROTATING,
        "per_mau": {
            **per_mau,
            "cognito lite": cost.COGNITO_LITE_MAU,
            "cognito essentials": cost.COGNITO_ESSENTIALS_MAU,
        },
        "monthly_at_mau": {
            **{name: value * PRICED_MAU for name, value in per_mau.items()},
            "cognito lite": cost.cognito_monthly(PRICED_MAU, cost.COGNITO_LITE_MAU),
            "cognito essentials": cost.cognito_monthly(PRICED_MAU, cost.COGNITO_ESSENTIALS_MAU),
        },
        "priced_mau": PRICED_MAU,
        "snapstart": {
            function: cost.snapstart(memory[resource], cold_start_ms(function))
            for function, resource in SNAPSTART_FUNCTIONS.items()
        },
        "assumptions": cost.assumptions(),
    }


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            model,
        )
    cpus = os.cpu_count() or 0
    python = platform.python_version()
    return {
        "cpu_model": model,
        "cpus": cpus,
        "machine": platform.machine(),
        "system": platform.platform(),
        "python": python,
        "summary": f"{cpus} x {model} ({platform.machine()}), Python {python}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke test, not figures to quote")
    runs = QUICK if parser.parse_args().quick else FULL
    started, load_before = time.monotonic(), os.getloadavg()[0]
    log("Django venv with Django, DRF and simplejwt (created once)")
    django_python = django_venv.django_python()
    inputs = make_inputs()
    log("both sides' warm figures, alternating batch by batch (setup first: moto, migrate, checks)")
    environment = side_environment()
    sides = [
        Side("service", [sys.executable, str(BENCH / "service_side.py")], inputs, ROOT, environment),
        Side("django", [str(django_python), str(BENCH / "django_side.py"), "warm"], inputs, ROOT, environment),
    ]
    warm = interleave.measure(sides, runs.fast, runs.slow)
    service, django = ({"figures": warm[side.name], **side.finish()} for side in sides)
    log(f"cold starts: {runs.cold} fresh interpreters per variant, round-robin")
    cold_inputs = {"signing_key": inputs["signing_key"], "email": EMAIL}
    cold = coldstart.measure(django_python, cold_inputs, runs.cold, inputs["access"])
    log(f"first successful requests: {runs.cold} fresh interpreters per variant, round-robin, on a moto server")
    first_inputs = {key: inputs[key] for key in ("signing_key", "email", "password", "pbkdf2_hash")}
    first = first_request.analyse(first_request.measure(django_python, runs.cold, first_inputs))
    log(f"telemetry: Powertools vs shared/telemetry.py, {runs.cold} fresh interpreters per variant")
    telemetry = telemetry_cost.measure(runs.cold)
    rows = figure_rows(service, django, cold)
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": runs is QUICK,
        "runs": asdict(runs),
        "machine": machine(),
        "versions": {
            "service": {
                name: version(name)
                for name in ("aws-lambda-powertools", "PyJWT", "argon2-cffi", "boto3", "botocore", "moto")
            },
            "baseline": django["versions"],
        },
        "goals": goals(service, cold),
        "figures": [{**asdict(row), "ratio": row.ratio} for row in rows],
        "warm_figures": warm,
        "cold_start": cold,
        "dynamodb_requests": dynamodb_rows(service, django),
        "item_sizes_bytes": service["item_sizes"],
        "log_bytes_per_invocation": service["log_bytes_per_invocation"],
        "cost": cost_model(service, cold),
        "first_successful_request": first,
        "telemetry_cost": telemetry,
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "wall_seconds": time.monotonic() - started,
    }
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(report(results, rows, RESULTS.relative_to(ROOT)), flush=True)
    print("\n" + first_request.table(first), flush=True)
    print("\n" + telemetry_cost.table(telemetry), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
