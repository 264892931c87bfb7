"""A stand-in for the AWS Parameters and Secrets Lambda Extension, for `make local` and tests.

On Lambda the extension serves ``GET /secretsmanager/get?secretId=...`` on
``localhost:2773`` to callers that present the function's session token in
``X-Aws-Parameters-Secrets-Token``. This server answers the same request the same way,
reading the secret with boto3 (so moto, a moto server or a real account stand behind
it), and caches it as the extension does: each secret (and version asked for) for
``SECRETS_MANAGER_TTL`` seconds from its fetch, the cached value served until then,
whatever changed behind it (a TTL of 0 turns the cache off). One server stands for one
Lambda container's extension: its cache is that container's, so `make local` starts one
per authorizer container, with the container, and stops it with the container. It does
not emulate the SSM parameter routes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
DEFAULT_TTL = 300  # the extension's SECRETS_MANAGER_TTL default, and its maximum
# How often the serving thread checks for a stop: a container stops in 0.1 s, not the 0.5 s of
# the default, which a local server stopping several authorizer containers would pay for each.
STOP_POLL = 0.1


class SecretsExtensionServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        port: int,
        session_token: str,
        region: str,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        client: Any = None,
    ) -> None:
        """``client``: a Secrets Manager client to read through (boto3's are thread-safe, so the
        extensions of several containers can share one); by default, one of its own."""
        self.session_token = session_token
        self.client = client or boto3.session.Session().client("secretsmanager", region_name=region)
        self.ttl = ttl
        self.clock = clock
        self.fetches = 0
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def secret(self, secret_id: str, version: dict[str, str]) -> dict[str, Any]:
        """The cached answer while younger than the TTL, else a fresh read (then cached)."""
        key = json.dumps([secret_id, version], sort_keys=True)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and self.clock() - cached[0] < self.ttl:
                return cached[1]
            secret = self.client.get_secret_value(SecretId=secret_id, **version)
            self.fetches += 1
            body = {name: value for name, value in secret.items() if name != "ResponseMetadata"}
            if self.ttl > 0:
                self._cache[key] = (self.clock(), body)
            return body

    def start(self) -> SecretsExtensionServer:
        polling = {"poll_interval": STOP_POLL}
        threading.Thread(target=self.serve_forever, kwargs=polling, name="secrets-extension", daemon=True).start()
        return self

    def stop(self) -> None:
        """Ends the serving thread and frees the port, as the extension ends with its container."""
        self.shutdown()
        self.server_close()

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
        query = parse_qs(url.query)
        secret_id = (query.get("secretId") or [""])[0]
        version = {"VersionId": query["versionId"][0]} if "versionId" in query else {}
        version["VersionStage"] = (query.get("versionStage") or ["AWSCURRENT"])[0]
        try:
            secret = self.server.secret(secret_id, version)
        except Exception as error:  # report the dependency's failure as the extension does: a 5xx
            self._answer(502, {"error": type(error).__name__})
            return
        self._answer(200, secret, default=str)

    def _answer(self, status: int, body: dict[str, Any], default: Any = None) -> None:
        payload = json.dumps(body, default=default).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would carry secret ids into test output."""
