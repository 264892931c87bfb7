"""py_webauthn (about 185 ms of import) is loaded only by the passkey requests that make options or
verify: no other function's cold start or request loads it, nor the passkeys function's own cold
start, list or delete."""

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
app = importlib.import_module(f"functions.{function}.app")
at_start = "webauthn" in sys.modules
context = SimpleNamespace(
    function_name=function, memory_limit_in_mb=512, aws_request_id="probe",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:probe",
)
answer = app.lambda_handler(json.load(open(f"events/{event_name}.json")), context)
print(json.dumps({"at_start": at_start, "after_request": "webauthn" in sys.modules, "answer": answer}))
"""


def probe(function: str, event: str, **environment: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, function, event],
        capture_output=True,
        text=True,
        env={**ENVIRONMENT, **environment, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("function", "event"),
    [
        ("obtain_token", "obtain_token_missing_field"),
        ("refresh_token", "refresh_token_missing_field"),
        ("verify_token", "verify_token_missing_field"),
        ("blacklist_token", "blacklist_token_missing_field"),
        ("current_user", "current_user_get"),
        ("passkeys", "passkeys_list"),  # the table is not there: 503, and still no py_webauthn
        ("passkeys", "passkeys_delete_unknown"),
    ],
)
def test_given_a_request_that_verifies_no_passkey_then_py_webauthn_is_not_loaded(function: str, event: str) -> None:
    report = probe(function, event)

    assert (report["at_start"], report["after_request"]) == (False, False)


def test_given_the_authorizers_cold_start_and_decision_then_py_webauthn_is_not_loaded() -> None:
    report = probe(
        "authorizer",
        "authorizer_malformed_header",
        SIGNING_KEY_SOURCE="extension",
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="9",
    )

    assert (report["at_start"], report["after_request"]) == (False, False)


def test_given_a_passkey_sign_in_then_its_request_loads_py_webauthn() -> None:
    report = probe("passkeys", "passkeys_login_malformed")

    assert (report["at_start"], report["after_request"]) == (False, True)
