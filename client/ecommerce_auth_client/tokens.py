"""The token pair, and when to refresh it, read from the access token's own ``exp``.

The client holds no signing key, so it cannot verify a token and does not try: ``exp`` and
``iat`` are decoded from the payload only to schedule refreshes. That is a hint, never
authentication; the server verifies every token it receives, and a wrong hint costs at most
one early refresh or one 401 that the client answers by refreshing.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, NamedTuple

DEFAULT_REFRESH_MARGIN = 300.0
"""Refresh when the access token has less than this many seconds left (the Django API docs' 5 minutes)."""


@dataclass(frozen=True, repr=False)
class Tokens:
    """A refresh/access pair as the server issued it.

    The repr hides both values, so a log line, a traceback or a debugger never shows a token.
    """

    access: str
    refresh: str

    def __repr__(self) -> str:
        return "Tokens(access=<hidden>, refresh=<hidden>)"


class Expiry(NamedTuple):
    """Unix times read from an access token: when to refresh it, and when it expires."""

    refresh_at: float
    expires_at: float


def unverified_claims(token: str) -> dict[str, Any]:
    """The JWT's payload, base64url-decoded and parsed but NOT verified; {} if unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    segment = parts[1]
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):  # bad base64, bad UTF-8 or bad JSON
        return {}
    return payload if isinstance(payload, dict) else {}


def expiry(access: str, margin: float | None = None) -> Expiry | None:
    """When to refresh ``access``: ``margin`` seconds before its ``exp``.

    With ``margin`` None, 300 s, or half the token's lifetime (``exp - iat``) when that is
    shorter, so a short-lived token is not refreshed before every request. An explicit margin
    is used as given: one at or above the lifetime refreshes before every request. None when
    the token has no readable ``exp``: it is then used until the server answers 401.
    """
    claims = unverified_claims(access)
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    if exp is None:
        return None
    if margin is None:
        margin = DEFAULT_REFRESH_MARGIN if iat is None else min(DEFAULT_REFRESH_MARGIN, (exp - iat) / 2)
    return Expiry(refresh_at=exp - margin, expires_at=exp)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
