"""Only the login path loads the password hashers, and bcrypt only when a bcrypt hash is met:
the refresh and verify functions' cold starts load neither, the login's loads no bcrypt (an
HS256 stack's bundles, without cryptography, whose ssh module imports bcrypt when present)."""

from __future__ import annotations

import json
import subprocess
import sys

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
    result = subprocess.run(
        [sys.executable, "-c", PROBE, function, event],
        capture_output=True,
        text=True,
        env={**ENVIRONMENT, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["status"], report["loaded"]) == (400, loaded)
