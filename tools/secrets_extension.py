"""A stand-in for the AWS Parameters and Secrets Lambda Extension, for `make local` and tests.

On Lambda the extension serves ``GET /secretsmanager/get?secretId=...`` on
``localhost:2773`` to callers that present the function's session token in
``X-Aws-Parameters-Secrets-Token``. This server answers the same request the same way,
reading the secret with boto3 (so moto, a moto server or a real account stand behind
it). It does not emulate the extension's own cache or its SSM parameter routes.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


class SecretsExtensionServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, session_token: str, region: str) -> None:
        self.session_token = session_token
        self.client = boto3.session.Session().client("secretsmanager", region_name=region)
        super().__init__(("127.0.0.1", port), _Handler)

    def start(self) -> SecretsExtensionServer:
        threading.Thread(target=self.serve_forever, name="secrets-extension", daemon=True).start()
        return self

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    server: SecretsExtensionServer

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/secretsmanager/get":
            self._answer(404, {"error": "not found"})
            return
        if self.headers.get(TOKEN_HEADER) != self.server.session_token:
            self._answer(401, {"error": "missing or wrong session token"})
            return
        secret_id = (parse_qs(url.query).get("secretId") or [""])[0]
        try:
            secret = self.server.client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
        except Exception as error:  # report the dependency's failure as the extension does: a 5xx
            self._answer(502, {"error": type(error).__name__})
            return
        self._answer(200, {name: value for name, value in secret.items() if name != "ResponseMetadata"}, default=str)

    def _answer(self, status: int, body: dict[str, Any], default: Any = None) -> None:
        payload = json.dumps(body, default=default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would carry secret ids into test output."""
