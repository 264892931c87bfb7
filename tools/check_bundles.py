"""Checks what `sam build` produced, as Lambda will see it.

Usage: check_bundles.py LAMBDA_BUILD_DIR HOST_BUILD_DIR

The Lambda build is arm64: its native libraries cannot load on an x86_64 machine, so the
same Makefile recipe is also built for this machine (HOST_BUILD_DIR). Each host bundle's
handler is imported and served one event from events/ in a fresh interpreter started with
``-I -S`` and only that bundle (and the layers it always has) on ``sys.path`` (no
site-packages, no project checkout).
The arm64 bundles must hold the same top-level modules as the host ones, and every
native library in them must be an aarch64 ELF file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tools.gateway import read_template

ROOT = Path(__file__).resolve().parent.parent
ELF_MACHINE_AARCH64 = 183
# One event per function that needs no AWS call to answer, and what it must answer.
PROBES = {
    "ObtainTokenFunction": ("obtain_token_missing_field", "statusCode", 400),
    "RefreshTokenFunction": ("refresh_token_missing_field", "statusCode", 400),
    "VerifyTokenFunction": ("verify_token_missing_field", "statusCode", 400),
    "BlacklistTokenFunction": ("blacklist_token_missing_field", "statusCode", 400),
    "CustomerProfileFunction": ("customer_profile_other", "statusCode", 403),
    # Staff's list reads the caller first: nothing listens, so 503.
    "StaffFunction": ("staff_customers", "statusCode", 503),
    "JwksFunction": ("jwks", "statusCode", 503),
    "AuthorizerFunction": ("authorizer_malformed_header", "principalId", "anonymous"),
    # The account functions read the bundled common-password list at start: a bundle without
    # it fails to import. Those that must reach DynamoDB answer 503 here (nothing listens).
    "RegisterFunction": ("register_passwords_differ", "statusCode", 400),
    "VerifyEmailFunction": ("verify_email_unknown_key", "statusCode", 503),
    "RequestMailFunction": ("resend_email_ok", "statusCode", 503),
    "ResetPasswordFunction": ("password_reset_confirm_bad_uid", "statusCode", 503),
    "ChangePasswordFunction": ("password_change_wrong_old", "statusCode", 503),
    "CurrentUserFunction": ("current_user_get", "statusCode", 503),
    # Sign in with Google with no client ids configured (the default): 404 before any AWS call.
    "SocialFunction": ("social_google_sign_in", "statusCode", 404),
    "MfaFunction": ("mfa_verify_missing_fields", "statusCode", 400),
    "MailerFunction": (
        "mailer_reset",
        "batchItemFailures",
        [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}],
    ),
    # py_webauthn's parser refuses a malformed sign-in before any read: the bundle must hold the
    # library and its native dependencies (cryptography, pyOpenSSL's).
    "PasskeysFunction": ("passkeys_login_malformed", "statusCode", 400),
}
SERVE = """
import json, sys
from types import SimpleNamespace
sys.path[:0] = [sys.argv[1], *sys.argv[3:]]
import app
event = json.loads(open(sys.argv[2]).read())
context = SimpleNamespace(function_name="check", memory_limit_in_mb=512, aws_request_id="check",
                          invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:check")
answer = app.lambda_handler(event, context)
print(json.dumps({"answer": answer, "outside": sorted({m.__file__ for m in list(sys.modules.values())
      if getattr(m, "__file__", None) and "site-packages" in m.__file__})}))
"""
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "check",
    "AWS_SECRET_ACCESS_KEY": "check",
    "AWS_SESSION_TOKEN": "check",
    # Nothing listens here: an AWS call at start fails at once and is deferred, as on a cold start.
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "1",
    "SIGNING_KEY_SECRET_ID": "check/signing-key",
    "TABLE_NAME": "check-customers",
    "POWERTOOLS_SERVICE_NAME": "check",
    "POWERTOOLS_METRICS_NAMESPACE": "Check",
}


def layer_folders(host_dir: Path) -> dict[str, list[str]]:
    """Per function, the built layers it always has (a plain ``Layers`` list of this template's
    layers), as Lambda puts them on ``sys.path`` (``/opt/python``). Conditional layers are off
    with the template's defaults (an HMAC stack), which the probes run as."""
    resources = read_template(ROOT / "template.yaml")["Resources"]
    folders = {}
    for name, resource in resources.items():
        layers = resource.get("Properties", {}).get("Layers")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(layers, list):
            folders[name] = [str(host_dir / layer["Ref"] / "python") for layer in layers if "Ref" in layer]
    return folders


def serve_one_event(bundle: Path, function: str, layers: list[str]) -> list[str]:
    event_name, field, expected = PROBES[function]
    environment = dict(ENVIRONMENT)
    if function == "AuthorizerFunction":
        environment.update(SIGNING_KEY_SOURCE="extension", PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="9")
    result = subprocess.run(  # noqa: S603 - our own interpreter and files
        [sys.executable, "-I", "-S", "-c", SERVE, str(bundle), str(ROOT / "events" / f"{event_name}.json"), *layers],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        return [f"{function}: handler failed in a clean interpreter:\n{result.stderr[-2000:]}"]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    problems = []
    if report["answer"].get(field) != expected:
        problems.append(f"{function}: {event_name} answered {report['answer'].get(field)!r}, expected {expected!r}")
    if report["outside"]:
        problems.append(f"{function}: imported modules from outside its bundle: {report['outside'][:3]}")
    return problems


def top_level(bundle: Path) -> set[str]:
    """Top-level modules, with the machine name taken out of native module file names."""
    names = {path.name for path in bundle.iterdir() if not path.name.endswith(".dist-info")} - {"__pycache__"}
    return {re.sub(r"aarch64|x86_64", "<arch>", name) for name in names}


def foreign_libraries(bundle: Path) -> list[str]:
    wrong = []
    for library in bundle.rglob("*.so*"):
        header = library.read_bytes()[:20]
        if header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") != ELF_MACHINE_AARCH64:
            wrong.append(str(library.relative_to(bundle)))
    return wrong


def shared_modules(root: Path) -> set[str]:
    """The shared/ package's modules, subpackages included (a bundle holds the whole tree)."""
    return {str(path.relative_to(root)) for path in (root / "shared").rglob("*.py") if "__pycache__" not in path.parts}


def main(lambda_dir: Path, host_dir: Path) -> int:
    problems: list[str] = []
    layers = layer_folders(host_dir)
    for function in PROBES:
        arm, host = lambda_dir / function, host_dir / function
        incomplete = []
        for bundle in (arm, host):
            if not (bundle / "app.py").is_file():
                incomplete.append(f"{bundle}: no app.py")
            if missing := shared_modules(ROOT) - shared_modules(bundle):
                incomplete.append(f"{bundle}: the shared/ package tree lacks {sorted(missing)}")
        problems += incomplete
        if incomplete:
            continue
        problems += serve_one_event(host, function, layers.get(function, []))
        if top_level(arm) != top_level(host):
            problems.append(f"{function}: arm64 and host bundles differ: {top_level(arm) ^ top_level(host)}")
        problems += [f"{function}: not aarch64: {name}" for name in foreign_libraries(arm)]
        size = sum(path.stat().st_size for path in arm.rglob("*") if path.is_file()) / 2**20
        print(f"{function}: arm64 bundle {size:.1f} MiB, host bundle served {PROBES[function][0]}")
    for problem in problems:
        print("FAIL", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
