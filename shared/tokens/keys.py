"""The key set, fetched from Secrets Manager once per container and cached.

The secret (shared/tokens/keyset.py, which owns what a key set is) is either the one HMAC key
itself (what Django's ``SIMPLE_JWT["SIGNING_KEY"]`` held, so tokens stay interoperable) or
a key set. It is refetched after ``SIGNING_KEY_MAX_AGE`` seconds so a rotated key reaches
running containers, and early (rate-limited) when a token names a ``kid`` not seen yet.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.client import HTTPConnection
from threading import Lock
from urllib.parse import quote

from shared.tokens.keyset import KeySet, parse


class CachedKeySet:
    """The key set read through ``fetch``, trusted for ``max_age`` seconds.

    A token whose ``kid`` is unknown may come from a key rotated in since the last fetch:
    ``refetch_for_unknown_kid`` reads the secret again, at most once per
    ``refetch_interval`` seconds, so a flood of bogus ``kid``s cannot hammer Secrets Manager.
    """

    def __init__(
        self,
        fetch: Callable[[], str],
        max_age: float,
        refetch_interval: float = 5.0,
        legacy_algorithm: str = "HS256",
        clock: Callable[[], float] = time.monotonic,
        parse_document: Callable[[str, str], KeySet] = parse,
    ) -> None:
        self._fetch = fetch
        self._parse = parse_document
        self._legacy_algorithm = legacy_algorithm
        self._max_age = max_age
        self._refetch_interval = refetch_interval
        self._clock = clock
        self._lock = Lock()
        self._keyset: KeySet | None = None
        self._fetched_at = 0.0

    def get(self) -> KeySet:
        keyset = self._keyset
        if keyset is not None and self._clock() - self._fetched_at < self._max_age:
            return keyset
        with self._lock:
            if self._keyset is None or self._clock() - self._fetched_at >= self._max_age:
                self._load()
            assert self._keyset is not None
            return self._keyset

    def refetch_for_unknown_kid(self) -> KeySet:
        with self._lock:
            if self._keyset is None or self._clock() - self._fetched_at >= self._refetch_interval:
                self._load()
            assert self._keyset is not None
            return self._keyset

    def forget(self) -> None:
        """Drop the cached key set: the next call fetches it (after a SnapStart restore)."""
        with self._lock:
            self._keyset = None
            self._fetched_at = 0.0

    def _load(self) -> None:
        self._keyset = self._parse(self._fetch(), self._legacy_algorithm)
        self._fetched_at = self._clock()


def secrets_extension_fetcher(
    secret_id: str, port: int, session_token: str, timeout: float, retry_pause: float = 0.1
) -> Callable[[], str]:
    """Reads the secret through the AWS Parameters and Secrets Lambda Extension (no boto3).

    The extension listens on localhost and authenticates callers by the function's own
    session token; it caches the secret too. Network errors and answers other than 200
    surface as ``OSError``. ``http.client``, not ``urllib.request``: ``urlopen`` builds an
    HTTPS handler whose SSL context loads the CA bundle, ~30 ms of a cold start for a
    plain-HTTP call to localhost. The extension's first read of a secret is its own cold
    fetch from Secrets Manager, which can outlast ``timeout`` (or it answers "not ready"
    right after start): one more try follows, so the worst case is ``2 * timeout +
    retry_pause``, well inside the authorizer's budget; then the caller fails closed.
    """
    path = f"/secretsmanager/get?secretId={quote(secret_id, safe='')}"
    headers = {"X-Aws-Parameters-Secrets-Token": session_token}

    def read() -> str:
        connection = HTTPConnection("localhost", port, timeout=timeout)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise OSError(f"the secrets extension answered HTTP {response.status}")
        return str(json.loads(body)["SecretString"])

    def fetch() -> str:
        try:
            return read()
        except OSError:
            time.sleep(retry_pause)
            return read()

    return fetch


def secrets_manager_fetcher(client: object, secret_id: str) -> Callable[[], str]:
    """Reads the secret's current version with an already-configured boto3 client."""

    def fetch() -> str:
        response = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")  # type: ignore[attr-defined]
        return str(response["SecretString"])

    return fetch
