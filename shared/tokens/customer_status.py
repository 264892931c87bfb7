"""The authorizer's optional per-request session check, cached briefly per container.

It answers the customer as last read (None when deleted) and whether the token's family
is revoked (logout, reuse), read together in one BatchGetItem; the authorizer refuses
inactive customers, tokens issued before ``tokens_valid_after`` and logged-out families.

Each decision would otherwise cost one DynamoDB read; a few seconds of cache per session
(customer and family) keeps a busy client at one read per interval while a logout or a
deactivation still takes effect within ``AUTHORIZER_CHECK_CACHE_SECONDS`` (plus API
Gateway's own authorizer cache).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock

from shared.tokens.sessions import CustomerSession, SessionStore

MAX_ENTRIES = 10_000


class CachedCustomerStatus:
    def __init__(self, store: SessionStore, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._max_age = max_age
        self._clock = clock
        self._lock = Lock()
        self._entries: dict[tuple[str, str], tuple[float, CustomerSession]] = {}

    def __call__(self, customer_id: str, family: str) -> CustomerSession:
        now = self._clock()
        key = (customer_id, family)
        cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self._max_age:
            return cached[1]
        session = self._store.customer_session(customer_id, family)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now, session)
        return session
