"""The signing key, fetched from Secrets Manager once per container and cached.

The secret's ``SecretString`` is the HMAC key itself (what Django's ``SECRET_KEY`` or
``SIMPLE_JWT["SIGNING_KEY"]`` held, so tokens stay interoperable). It is refetched after
``SIGNING_KEY_MAX_AGE`` seconds so a rotated secret reaches running containers. A key
shorter than 32 bytes is refused: RFC 7518 asks HS256 keys to be at least as long as
the hash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from threading import Lock
from urllib.parse import quote
from urllib.request import Request, urlopen

from shared.errors import SigningKeyTooShort

MIN_HMAC_KEY_BYTES = 32


def check_signing_key(key: bytes) -> bytes:
    if len(key) < MIN_HMAC_KEY_BYTES:
        raise SigningKeyTooShort(
            f"The signing key is {len(key)} bytes; HMAC keys must be at least {MIN_HMAC_KEY_BYTES} bytes. "
            "Store a longer random value in the signing-key secret."
        )
    return key


class CachedSigningKey:
    """A key read through ``fetch`` and trusted for ``max_age`` seconds."""

    def __init__(self, fetch: Callable[[], str], max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._clock = clock
        self._lock = Lock()
        self._key: bytes | None = None
        self._fetched_at = 0.0

    def get(self) -> bytes:
        now = self._clock()
        if self._key is not None and now - self._fetched_at < self._max_age:
            return self._key
        with self._lock:
            if self._key is None or self._clock() - self._fetched_at >= self._max_age:
                self._key = check_signing_key(self._fetch().encode())
                self._fetched_at = self._clock()
            return self._key


def secrets_extension_fetcher(secret_id: str, port: int, session_token: str, timeout: float) -> Callable[[], str]:
    """Reads the secret through the AWS Parameters and Secrets Lambda Extension (no boto3).

    The extension listens on localhost and authenticates callers by the function's own
    session token; it caches the secret too. Network errors surface as ``OSError``.
    """
    url = f"http://localhost:{port}/secretsmanager/get?secretId={quote(secret_id, safe='')}"
    headers = {"X-Aws-Parameters-Secrets-Token": session_token}

    def fetch() -> str:
        request = Request(url, headers=headers)
        with urlopen(request, timeout=timeout) as response:  # noqa: S310
            return str(json.loads(response.read())["SecretString"])

    return fetch


def secrets_manager_fetcher(client: object, secret_id: str) -> Callable[[], str]:
    """Reads the secret's current version with an already-configured boto3 client."""

    def fetch() -> str:
        response = client.get_secret_value(SecretId=secret_id)  # type: ignore[attr-defined]
        return str(response["SecretString"])

    return fetch
