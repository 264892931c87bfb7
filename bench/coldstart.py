"""Cold starts: a fresh interpreter per run, for each function and for Django + simplejwt.

Each run is a new process. The parent notes the time just before spawning it; the child
notes when its interpreter is ready, when its initialisation (the handler's import, or
Django's setup) starts and ends, and when its first answer is ready, on the system-wide
monotonic clock. Total = spawn to interpreter ready + initialisation + first answer; the
harness's own work in between (reading the event or the inputs) is left out on both sides.
Peak RSS is the child's high-water mark (VmHWM) after it answered.

Both sides start with ``-S`` and their venv's site-packages on PYTHONPATH: no ``site``
processing (the project venv's editable-install hook alone costs ~10 ms, which no Lambda
bundle has), the same interpreter start for both. Byte code goes to
``bench/.baseline/pycache`` for both (Lambda bundles ship theirs compiled). The functions import
botocore as the bundles ship it, its data trimmed to the services they use (``bundle_botocore``).

The functions serve an event that needs no AWS call, with every AWS endpoint pointed at a
closed local port, so a call made at start fails at once (the token functions try to fetch
the signing key at start and defer it on failure; on AWS that fetch succeeds and adds one
Secrets Manager round trip). Django serves the same kind of request, a token request
missing its password (400), so neither side hashes a password or touches a database.

The authorizer's goal variant serves a first Allow of the run's access token, its key read
through a stand-in of the Parameters and Secrets extension (``StaticExtension``: a local HTTP
server in this process answering the run's key, as the extension answers from its cache);
``bare_jwt`` is that goal's baseline: ``import jwt`` and one ``jwt.decode`` of the same token.

Runs go round-robin over all variants, so drift on the machine hits every variant alike;
the first round only compiles byte code and fills the page cache, and is not counted.
One more run per variant under ``-X importtime`` (not timed) says where the time goes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from measure import summary

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYCACHE = BENCH / ".baseline" / "pycache"
BASE_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "PYTHONPYCACHEPREFIX": str(PYCACHE), "LANG": "C.UTF-8"}


def bundle_botocore() -> Path:
    """A folder holding botocore as the bundles ship it: the venv's copy with its data trimmed by
    tools/botocore_data.py, as the Makefile's bundle recipe does. Made once per botocore version."""
    import botocore

    site = BENCH / ".baseline" / "bundle-botocore"
    stamp = site / "version"
    if stamp.exists() and stamp.read_text() == botocore.__version__:
        return site
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(Path(botocore.__file__).parent, site / "botocore", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, str(ROOT / "tools" / "botocore_data.py"), str(site)], check=True)  # noqa: S603
    stamp.write_text(botocore.__version__)
    return site


# What tools/check_bundles.py gives the functions: fake credentials, a closed endpoint; the
# bundles' botocore ahead of the venv's.
SERVICE_ENVIRONMENT = {
    **BASE_ENVIRONMENT,
    "PYTHONPATH": f"{ROOT}:{bundle_botocore()}:{sysconfig.get_path('purelib')}",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "1",
    "SIGNING_KEY_SECRET_ID": "bench/signing-key",
    "TABLE_NAME": "bench-customers",
    "POWERTOOLS_SERVICE_NAME": "ecommerce-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "EcommerceAuthBench",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
EXTENSION = {"SIGNING_KEY_SOURCE": "extension", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "9"}
AUTHORIZER_ALLOW = "authorizer (first Allow)"
FIRST_AWS_CALL = "refresh_token (first AWS call)"
TOP_PACKAGES = 6


@dataclass(frozen=True)
class Variant:
    name: str
    interpreter: str
    arguments: list[str]
    environment: dict[str, str]
    expected: dict[str, object] = field(default_factory=dict)
    stdin: str = ""

    def command(self, *options: str) -> list[str]:
        return [self.interpreter, "-S", *options, *self.arguments]


def service_variant(
    function: str,
    event: str,
    expected: dict[str, object],
    environment: dict[str, str] | None = None,
    *,
    cryptography: bool = False,
    name: str | None = None,
    stdin: dict[str, str] | None = None,
) -> Variant:
    arguments = [str(BENCH / "cold_child.py"), function, str(ROOT / "events" / f"{event}.json")]
    return Variant(
        name=name or function + ("+cryptography" if cryptography else ""),
        interpreter=sys.executable,
        arguments=[*arguments, "--with-cryptography"] if cryptography else arguments,
        environment={**SERVICE_ENVIRONMENT, **(environment or {})},
        expected=expected,
        stdin=json.dumps(stdin or {}),
    )


class StaticExtension(ThreadingHTTPServer):
    """The Parameters and Secrets extension's secret route, answering one key (no AWS behind it)."""

    daemon_threads = True

    def __init__(self, secret: str, session_token: str) -> None:
        self.answer = json.dumps({"SecretString": secret}).encode()
        self.session_token = session_token
        # Each fetch's arrival (monotonic ns): bench/first_request.py counts them as round trips.
        self.fetches: list[int] = []
        super().__init__(("127.0.0.1", 0), _ExtensionHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _ExtensionHandler(BaseHTTPRequestHandler):
    server: StaticExtension

    def do_GET(self) -> None:
        self.server.fetches.append(time.monotonic_ns())
        known = self.headers.get("X-Aws-Parameters-Secrets-Token") == self.server.session_token
        body = self.server.answer if known else b'{"error": "wrong session token"}'
        self.send_response(200 if known else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the bench prints its tables only."""


@contextmanager
def static_extension(secret: str) -> Iterator[StaticExtension]:
    server = StaticExtension(secret, SERVICE_ENVIRONMENT["AWS_SESSION_TOKEN"])
    thread = threading.Thread(target=server.serve_forever, name="extension", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def purelib(python: Path) -> str:
    """The site-packages of ``python``'s venv, for PYTHONPATH under ``-S``."""
    return subprocess.run(  # noqa: S603 - the Django venv's own interpreter
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def variants(
    django_python: Path, django_inputs: dict[str, Any], access: str = "", extension_port: int = 9
) -> list[Variant]:
    denied: dict[str, object] = {"principalId": "anonymous"}
    return [
        service_variant("obtain_token", "obtain_token_missing_field", {"statusCode": 400}),
        service_variant("refresh_token", "refresh_token_missing_field", {"statusCode": 400}),
        # The first request that needs AWS, its endpoint closed here (503 without a round trip):
        # with the clients made at init it pays little more than the 400 (the key's second try).
        service_variant("refresh_token", "refresh_token_ok", {"statusCode": 503}, name=FIRST_AWS_CALL),
        service_variant("verify_token", "verify_token_missing_field", {"statusCode": 400}),
        service_variant("blacklist_token", "blacklist_token_missing_field", {"statusCode": 400}),
        service_variant("authorizer", "authorizer_malformed_header", denied, EXTENSION),
        service_variant("customer_profile", "customer_profile_other", {"statusCode": 403}),
        service_variant("authorizer", "authorizer_malformed_header", denied, EXTENSION, cryptography=True),
        service_variant(
            "authorizer",
            "authorizer_allow",
            {"principalId": "1"},
            {**EXTENSION, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension_port)},
            name=AUTHORIZER_ALLOW,
            stdin={"authorization": f"Bearer {access}"},
        ),
        service_variant(
            "bare_jwt",
            "authorizer_allow",
            {"principalId": "1"},
            stdin={"token": access, "key": django_inputs["signing_key"]},
        ),
        Variant(
            name="django",
            interpreter=str(django_python),
            arguments=[str(BENCH / "django_side.py"), "cold"],
            environment={**BASE_ENVIRONMENT, "PYTHONPATH": purelib(django_python)},
            stdin=json.dumps(django_inputs),
        ),
    ]


def run_once(variant: Variant, *options: str) -> tuple[dict[str, Any], str]:
    spawned = time.monotonic_ns()
    result = subprocess.run(  # noqa: S603 - our interpreters and scripts
        variant.command(*options),
        input=variant.stdin,
        capture_output=True,
        text=True,
        env=variant.environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cold start of {variant.name} failed:\n{result.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    for name, value in variant.expected.items():
        if report["answer"].get(name) != value:
            raise RuntimeError(f"{variant.name} answered {name}={report['answer'].get(name)!r}, expected {value!r}")
    report["spawned_ns"] = spawned
    return report, result.stderr


def measure(django_python: Path, django_inputs: dict[str, Any], runs: int, access: str) -> dict[str, Any]:
    """Per variant: median, min and max of each phase (ms) and of peak RSS (MiB), and import attribution.

    ``access`` is the run's access token, signed with ``django_inputs["signing_key"]``.
    """
    with static_extension(django_inputs["signing_key"]) as extension:
        planned = variants(django_python, django_inputs, access, extension.port)
        reports: dict[str, list[dict[str, Any]]] = {variant.name: [] for variant in planned}
        for round_number in range(runs + 1):
            for variant in planned:
                report, _ = run_once(variant)
                if round_number:
                    reports[variant.name].append(report)
        results = {name: _phases(runs_of) for name, runs_of in reports.items()}
        for variant in planned:
            _, trace = run_once(variant, "-X", "importtime")
            results[variant.name]["import_self_ms_by_package"] = imports_by_package(trace)
    return results


def imports_by_package(trace: str) -> dict[str, float]:
    """Self time of every import (module body, nested imports excluded), summed by top-level package.

    Standard-library modules count as one "stdlib" entry; the handler module's own body
    (where the services are built: clients, the dummy hash) counts as "functions". Times
    are inflated by the tracing itself: read them as shares, not as figures.
    """
    totals: dict[str, float] = {}
    for line in trace.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        root = name.split(".", 1)[0]
        package = "stdlib" if root in sys.stdlib_module_names else root
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1000
    top = dict(sorted(totals.items(), key=lambda item: -item[1])[:TOP_PACKAGES])
    top["other"] = sum(totals.values()) - sum(top.values())
    return {name: round(ms, 1) for name, ms in top.items()}


def _phases(reports: list[dict[str, Any]]) -> dict[str, Any]:
    interpreter = [r["started_ns"] - r["spawned_ns"] for r in reports]
    init = [r["init_done_ns"] - r["init_started_ns"] for r in reports]
    first = [r["answered_ns"] - r["init_done_ns"] for r in reports]
    return {
        "total": summary([a + b + c for a, b, c in zip(interpreter, init, first, strict=True)], "ms"),
        "interpreter": summary(interpreter, "ms"),
        "init": summary(init, "ms"),
        "first_event": summary(first, "ms"),
        "init_and_first_event": summary([b + c for b, c in zip(init, first, strict=True)], "ms"),
        # The same phases in the child's CPU time: what other processes' load disturbs least.
        "init_and_first_event_cpu": summary([r["init_cpu_ns"] + r["first_event_cpu_ns"] for r in reports], "ms"),
        "peak_rss": summary([r["peak_rss_kib"] for r in reports], "MiB"),
        "cryptography_loaded": any(r.get("cryptography_loaded") for r in reports),
        "boto3_loaded": any(r.get("boto3_loaded") for r in reports),
    }
