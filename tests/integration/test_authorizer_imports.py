"""The authorizer's cold start loads no AWS SDK, argon2, cryptography, Powertools or dataclasses (HS256 stack).

A fresh interpreter of the project venv, where boto3, argon2-cffi, cryptography and Powertools
are all installed (as the Lambda runtime has boto3), imports ``functions/authorizer/app.py`` with the
template's HS256 + extension settings and serves its first Allow, the key read through a
stand-in of the extension. pyjwt imports cryptography whenever it can: an import hook refuses
it to pyjwt alone, as the authorizer's bundle (which does not ship it) does; boto3, argon2 or
cryptography loaded by anything else fails the test, and so does Powertools (its import is a
third of the cold start; the authorizer logs through shared/telemetry.py), and so does
``dataclasses`` (with the ``inspect``, ``ast``, ``dis`` and ``tokenize`` it imports, a quarter of
the cold start: the settings and the token records are plain classes and ``NamedTuple``s).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import ROOT, SIGNING_KEY, claims, load_event, mint

SESSION_TOKEN = "import-probe"
PROBE = r"""
import json, os, sys
from types import SimpleNamespace

WATCHED = ("boto3", "botocore", "argon2", "cryptography", "aws_lambda_powertools", "dataclasses", "inspect")


class PyjwtWithoutCryptography:
    # pyjwt's optional import of cryptography fails, as in the authorizer's bundle; any
    # other importer gets it, and is caught below.
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "cryptography":
            frame = sys._getframe(1)
            while frame and frame.f_globals.get("__name__", "").startswith(("importlib", "_frozen_importlib")):
                frame = frame.f_back
            if frame and frame.f_globals.get("__name__", "").startswith("jwt."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, PyjwtWithoutCryptography())
request = json.load(sys.stdin)
os.environ.update(request["environment"])
import functions.authorizer.app as app

context = SimpleNamespace(
    function_name="authorizer", memory_limit_in_mb=256, aws_request_id="probe",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:authorizer",
)
answer = app.lambda_handler(request["event"], context)
print(json.dumps({
    "principal": answer["principalId"],
    "effect": answer["policyDocument"]["Statement"][0]["Effect"],
    "loaded": sorted(name for name in sys.modules if name.partition(".")[0] in WATCHED and sys.modules[name]),
}))
"""


class StaticExtension(BaseHTTPRequestHandler):
    """The Parameters and Secrets extension's one route, answering the test's key."""

    def do_GET(self) -> None:
        known = self.headers.get("X-Aws-Parameters-Secrets-Token") == SESSION_TOKEN
        body = json.dumps({"SecretString": SIGNING_KEY} if known else {"error": "token"}).encode()
        self.send_response(200 if known else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the test's output is its assertions."""


@pytest.fixture
def extension_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StaticExtension)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join()


def test_given_an_hs256_stack_when_the_authorizer_starts_and_allows_then_it_loads_none_of_the_watched_modules(
    extension_port: int,
) -> None:
    environment = {
        "ALGORITHM": "HS256",
        "SIGNING_KEY_SOURCE": "extension",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension_port),
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "EcommerceAuthTest",
    }
    event = load_event("authorizer_allow", authorizationToken=f"Bearer {mint(claims('access', user_id='1'))}")

    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps({"environment": environment, "event": event}),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])

    assert (probe["principal"], probe["effect"]) == ("1", "Allow")
    assert probe["loaded"] == []
