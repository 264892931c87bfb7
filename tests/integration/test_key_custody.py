"""Who holds which key, and rotations that cannot drop a key tokens carry.

Verifiers of an asymmetric stack hold nothing that can sign; the rotation function acts
only on the version staged AWSPENDING; a manual rotation during a scheduled one never
loses a key; the authorizer's first read through the extension survives the extension's
own cold fetch, then fails closed.
"""

from __future__ import annotations

import ast
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from shared.errors import TokenError
from shared.settings import Settings
from shared.tokens.keys import secrets_extension_fetcher
from shared.tokens.keyset import HMAC, parse, rotate, verification_document
from shared.tokens.minting import ACCESS, REFRESH, TokenService
from shared.tokens.rotation import KeyRotation, RotationConflict
from tests.helpers import REGION, ROOT, SECRET_ID, SIGNING_KEY, StaticKeys
from tools import authctl

VERIFICATION_ID = "test/verification-keys"


@pytest.fixture
def secrets(aws: None) -> Any:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=VERIFICATION_ID, SecretString="{}")
    return client


def stages(client: Any) -> dict[str, list[str]]:
    return dict(client.describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"])


def current_kids(client: Any) -> set[str]:
    return set(parse(client.get_secret_value(SecretId=SECRET_ID)["SecretString"]).keys)


# Finding 8: verifiers hold nothing that can sign.


def test_given_an_asymmetric_stack_rotated_from_an_hmac_key_then_its_verifiers_hold_no_hmac_key() -> None:
    settings = Settings(ALGORITHM="RS256")
    legacy_tokens = TokenService(settings, StaticKeys(SIGNING_KEY)).issue_pair("1")
    signing = rotate(rotate(SIGNING_KEY, "RS256", settings.key_retention), "RS256", settings.key_retention)

    published = verification_document(signing)

    assert "secret" not in published
    assert all(key.alg not in HMAC for key in parse(published).keys.values())
    assert parse(published).legacy is None
    with pytest.raises(TokenError, match="Token is invalid"):
        TokenService(settings, StaticKeys(published)).validate(legacy_tokens["access"], ACCESS)
    # The signers (refresh) still hold the legacy key: nobody is logged out, the next refresh
    # trades the legacy refresh token for an RS256 pair.
    assert TokenService(settings, StaticKeys(signing)).validate(legacy_tokens["refresh"], REFRESH).user_id == "1"


def test_given_the_first_asymmetric_rotation_then_the_new_key_signs_at_once() -> None:
    """Waiting would only sign HMAC tokens that no verifier of the stack can check."""
    signing = rotate(SIGNING_KEY, "RS256", 3600, activation_delay=7800)

    access = TokenService(Settings(ALGORITHM="RS256"), StaticKeys(signing)).issue_access("1", "family-1")

    assert TokenService(Settings(), StaticKeys(verification_document(signing))).validate(access, ACCESS).user_id == "1"


# Finding 12: rotation robustness.


def test_given_a_version_not_staged_pending_when_a_rotation_step_names_it_then_it_is_refused(secrets: Any) -> None:
    rotation = KeyRotation(secrets, Settings(), VERIFICATION_ID)
    rotation.rotate_now(SECRET_ID)
    previous = next(version for version, labels in stages(secrets).items() if "AWSPREVIOUS" in labels)

    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        with pytest.raises(ValueError, match="not staged AWSPENDING"):
            rotation.step(step, SECRET_ID, previous)

    assert "AWSCURRENT" not in stages(secrets)[previous], "the old version did not come back"


def test_given_a_scheduled_rotation_under_way_when_an_operator_rotates_then_authctl_refuses(
    secrets: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    rotation = KeyRotation(secrets, Settings(), VERIFICATION_ID)
    token = str(uuid.uuid4())
    rotation.step("createSecret", SECRET_ID, token)
    before = secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"]

    code = authctl.main(["rotate-keys", "--secret-id", SECRET_ID])

    assert code == 2
    assert "scheduled rotation is under way" in capsys.readouterr().err
    assert secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"] == before


def test_given_a_manual_rotation_between_create_and_finish_then_finish_refuses_and_keeps_its_key(
    secrets: Any,
) -> None:
    settings = Settings()
    rotation = KeyRotation(secrets, settings, VERIFICATION_ID)
    token = str(uuid.uuid4())
    rotation.step("createSecret", SECRET_ID, token)
    # An operator's rotation that got past authctl's check just before createSecret ran.
    manual = rotate(SIGNING_KEY, "HS256", settings.key_retention, activation_delay=settings.KEY_ACTIVATION_DELAY)
    secrets.put_secret_value(SecretId=SECRET_ID, SecretString=manual)
    manual_kid = parse(manual).newest
    assert manual_kid is not None
    rotation.step("setSecret", SECRET_ID, token)
    rotation.step("testSecret", SECRET_ID, token)

    with pytest.raises(RotationConflict, match="would drop a key"):
        rotation.step("finishSecret", SECRET_ID, token)

    assert manual_kid.kid in current_kids(secrets)
    assert all("AWSPENDING" not in labels for labels in stages(secrets).values()), "the next rotation can start"
    next_token = str(uuid.uuid4())
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        rotation.step(step, SECRET_ID, next_token)
    assert manual_kid.kid in current_kids(secrets), "the next rotation keeps the manual key too"


# Finding 13: the extension's own cold fetch.


class SlowStartExtension(ThreadingHTTPServer):
    """An extension that answers its first ``slow`` requests too late (its own cold fetch)."""

    daemon_threads = True

    def __init__(self, slow: int, delay: float) -> None:
        self.slow, self.delay, self.requests = slow, delay, 0
        super().__init__(("127.0.0.1", 0), _SlowHandler)


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowStartExtension

    def do_GET(self) -> None:
        self.server.requests += 1
        if self.server.requests <= self.server.slow:
            time.sleep(self.server.delay)
        payload = json.dumps({"SecretString": SIGNING_KEY}).encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the caller gave up: as it should
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


@pytest.fixture
def slow_extension(request: pytest.FixtureRequest) -> Iterator[SlowStartExtension]:
    server = SlowStartExtension(slow=request.param, delay=0.6)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("slow_extension", [1], indirect=True)
def test_given_the_extensions_first_fetch_outlasts_the_timeout_then_one_retry_reads_the_key(
    slow_extension: SlowStartExtension,
) -> None:
    fetch = secrets_extension_fetcher(SECRET_ID, slow_extension.server_address[1], "t", timeout=0.3, retry_pause=0)

    assert fetch() == SIGNING_KEY
    assert slow_extension.requests == 2


@pytest.mark.parametrize("slow_extension", [5], indirect=True)
def test_given_an_extension_that_stays_slow_then_the_read_fails_after_two_tries(
    slow_extension: SlowStartExtension,
) -> None:
    fetch = secrets_extension_fetcher(SECRET_ID, slow_extension.server_address[1], "t", timeout=0.3, retry_pause=0)
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        fetch()

    assert slow_extension.requests == 2
    assert time.monotonic() - started < 1.5, "within the authorizer's budget"


# Issue 14 item 10: no import cycle among the key modules.


def shared_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "shared").rglob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shared."):
                imported.add(node.module.removeprefix("shared."))
            elif isinstance(node, ast.Import):
                imported |= {
                    alias.name.removeprefix("shared.") for alias in node.names if alias.name.startswith("shared.")
                }
        graph[".".join(path.relative_to(ROOT / "shared").with_suffix("").parts)] = imported
    return graph


KEY_MODULES = {"tokens.keys", "tokens.keyset", "tokens.minting", "tokens.rotation", "settings", "errors"}


def test_the_key_modules_import_each_other_without_a_cycle() -> None:
    graph = {module: imported & KEY_MODULES for module, imported in shared_imports().items() if module in KEY_MODULES}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in sorted(graph.get(module, set())):
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    assert "tokens.keyset" in graph["tokens.keys"], "keys.py builds on keyset.py"
