"""No function imports what it does not use, and each makes at init what every request needs.

Only the login path loads the password hashers, and bcrypt only when a bcrypt hash is met:
the refresh and verify functions' cold starts load neither, the login's loads no bcrypt (an
HS256 stack's bundles, without cryptography, whose ssh module imports bcrypt when present).
Per function, what its init loads and which AWS clients it makes (the endpoint closed: the
key's fetch fails at init and is left to the first request), and that the garbage collector
paused during init is running again, with what init made frozen (no collection scans it)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tools.check_bundles import ENVIRONMENT, ROOT

PROBE = r"""
import importlib, json, sys
from types import SimpleNamespace

function, event_name = sys.argv[1], sys.argv[2]
sys.modules["cryptography"] = None  # as in the HS256 bundles (its ssh module would load bcrypt)
app = importlib.import_module(f"functions.{function}.app")
context = SimpleNamespace(
    function_name=function, memory_limit_in_mb=512, aws_request_id="probe",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:probe",
)
answer = app.lambda_handler(json.load(open(f"events/{event_name}.json")), context)
watched = ("bcrypt", "argon2", "shared.customers.passwords")
print(json.dumps({
    "status": answer["statusCode"],
    "loaded": sorted(name for name in watched if sys.modules.get(name)),
}))
"""


@pytest.mark.parametrize(
    ("function", "event", "loaded"),
    [
        ("refresh_token", "refresh_token_missing_field", []),
        ("verify_token", "verify_token_missing_field", []),
        ("obtain_token", "obtain_token_missing_field", ["argon2", "shared.customers.passwords"]),
    ],
)
def test_given_a_cold_start_then_only_the_login_loads_the_hashers_and_none_loads_bcrypt(
    function: str, event: str, loaded: list[str]
) -> None:
    report = run_probe(PROBE, function, event)
    assert (report["status"], report["loaded"]) == (400, loaded)


def run_probe(code: str, *arguments: str, environment: dict[str, str] | None = None) -> dict[str, Any]:
    """``code`` in a fresh interpreter with the bundles' environment: the JSON line it prints."""
    result = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        capture_output=True,
        text=True,
        env={**ENVIRONMENT, **(environment or {}), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


INIT_PROBE = r"""
import gc, importlib, json, sys

function = sys.argv[1]
if "cryptography" not in sys.argv[2:]:  # as in the HS256 bundles of the functions without the layer
    sys.modules["cryptography"] = None
importlib.import_module(f"functions.{function}.app")
aws = sys.modules.get("shared.aws")
made = [] if aws is None else [
    factory.__name__.removesuffix("_client")
    for factory in aws.CLIENT_FACTORIES if factory.cache_info().currsize and factory().made
]
watched = ("boto3", "botocore.session", "argon2", "bcrypt", "shared.customers.passwords")
print(json.dumps({
    "loaded": [name for name in watched if sys.modules.get(name)],
    "clients": sorted(made),
    "collecting": gc.isenabled(),  # paused during init by shared/collector.py, never left off
    # shared/collector.py froze what init made: the first collection does not scan it all.
    "frozen": gc.get_freeze_count() > 0,
}))
"""
HASHER = ["argon2", "shared.customers.passwords"]
TOKENS = ["dynamodb", "secretsmanager"]
ACCOUNTS = ["dynamodb", "sqs"]
# The functions whose handler imports shared/collector.py first: their init's objects are frozen.
PAUSE_THE_COLLECTOR = {
    "obtain_token",
    "refresh_token",
    "verify_token",
    "blacklist_token",
    "customer_profile",
    "register",
    "verify_email",
    "request_mail",
    "reset_password",
    "change_password",
    "current_user",
    "authorizer",
    "social",
    "mfa",
    "passkeys",
    "staff",
}


@pytest.mark.parametrize(
    ("function", "loaded", "clients"),
    [
        # Every request needs the table and the key: the SDK and the clients at init (on a full vCPU).
        ("obtain_token", ["botocore.session", *HASHER], TOKENS),
        ("refresh_token", ["botocore.session"], TOKENS),
        ("verify_token", ["botocore.session"], TOKENS),
        ("blacklist_token", ["botocore.session"], TOKENS),
        ("customer_profile", ["botocore.session"], ["dynamodb"]),
        ("register", ["botocore.session", *HASHER], ACCOUNTS),
        ("verify_email", ["botocore.session", *HASHER], ACCOUNTS),
        ("request_mail", ["botocore.session", *HASHER], ACCOUNTS),
        ("reset_password", ["botocore.session", *HASHER], ACCOUNTS),
        ("change_password", ["botocore.session", *HASHER], [*TOKENS, "sqs"]),
        ("current_user", ["botocore.session", *HASHER], ACCOUNTS),
        # No SDK at init: the authorizer reads its key through the extension; the others are
        # not on a customer's request path and make theirs on first use.
        ("authorizer", [], []),
        ("jwks", [], []),
        ("rotate_keys", [], []),
        ("mailer", HASHER, []),  # AccountMailer shares shared/accounts/service.py, which imports the hasher
    ],
)
def test_given_a_cold_start_then_init_loads_and_makes_what_every_request_of_the_function_needs_and_no_bcrypt(
    function: str, loaded: list[str], clients: list[str]
) -> None:
    report = run_probe(INIT_PROBE, function)
    assert (report["loaded"], report["clients"], report["collecting"]) == (loaded, clients, True)
    assert report["frozen"] == (function in PAUSE_THE_COLLECTOR)


@pytest.mark.parametrize(
    ("function", "with_cryptography", "clients"),
    [
        # Ways in (each request reads the table; a sign-in signs: the key too, from Secrets
        # Manager, whose client MFA's key ring shares). Their bundles carry cryptography.
        ("social", True, TOKENS),
        ("mfa", True, TOKENS),
        ("passkeys", True, TOKENS),
        # Staff's routes read the table and queue mail; they sign nothing.
        ("staff", False, ["dynamodb", "sqs"]),
    ],
)
def test_given_a_cold_start_of_a_way_in_or_of_staff_then_init_makes_its_clients_as_the_token_functions_do(
    function: str, with_cryptography: bool, clients: list[str]
) -> None:
    report = run_probe(INIT_PROBE, function, *(["cryptography"] if with_cryptography else []))

    assert ("botocore.session" in report["loaded"], report["clients"], report["collecting"]) == (True, clients, True)
    assert report["frozen"]


def test_given_the_authorizers_customer_check_then_its_init_makes_the_table_client() -> None:
    template = {"SIGNING_KEY_SOURCE": "extension", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "9"}
    report = run_probe(INIT_PROBE, "authorizer", environment={**template, "AUTHORIZER_CHECK_CUSTOMER": "true"})

    assert (report["loaded"], report["clients"], report["collecting"]) == (["botocore.session"], ["dynamodb"], True)


RESOLVER_PROBE = r"""
import importlib, json, sys

if "cryptography" not in sys.argv[2:]:  # as in the bundles of the functions without the layer
    sys.modules["cryptography"] = None
importlib.import_module(f"functions.{sys.argv[1]}.app")
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler import api_gateway
others = ("asyncio", "aws_lambda_powertools.event_handler.appsync", "aws_lambda_powertools.event_handler.bedrock_agent",
          "aws_lambda_powertools.event_handler.vpc_lattice", "aws_lambda_powertools.event_handler.lambda_function_url",
          "aws_lambda_powertools.event_handler.http_resolver")
print(json.dumps({
    "others": [name for name in others if sys.modules.get(name)],
    "same": APIGatewayRestResolver is api_gateway.APIGatewayRestResolver and Response is api_gateway.Response,
}))
"""
HTTP_FUNCTIONS = sorted(
    path.parent.name
    for path in (ROOT / "functions").glob("*/app.py")
    if "rest_resolver" in path.read_text() or "web_resolver" in path.read_text()
)


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_given_an_http_function_cold_start_then_it_loads_powertools_rest_resolver_and_no_other(function: str) -> None:
    """shared/web/rest_resolver.py: event_handler's ``__init__`` would load every resolver (AppSync's
    asyncio among them), 18 ms of CPU; the names it exports from api_gateway stay importable."""
    with_cryptography = ["cryptography"] if function in ("social", "mfa", "passkeys") else []
    report = run_probe(RESOLVER_PROBE, function, *with_cryptography)

    assert report == {"others": [], "same": True}


def test_given_the_http_functions_then_every_one_is_probed() -> None:
    assert len(HTTP_FUNCTIONS) == 16
