"""The authorizer's optional per-request customer check, cached briefly per container.

Each decision would otherwise cost one DynamoDB read; a few seconds of cache keeps a
busy customer at one read per interval while a deactivation still takes effect within
``AUTHORIZER_CHECK_CACHE_SECONDS`` (plus API Gateway's own authorizer cache).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock

from shared.authorizer import ACTIVE, INACTIVE, MISSING
from shared.customers import CustomerStore

MAX_ENTRIES = 10_000


class CachedCustomerStatus:
    def __init__(self, store: CustomerStore, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._max_age = max_age
        self._clock = clock
        self._lock = Lock()
        self._entries: dict[str, tuple[float, str]] = {}

    def __call__(self, customer_id: str) -> str:
        now = self._clock()
        cached = self._entries.get(customer_id)
        if cached is not None and now - cached[0] < self._max_age:
            return cached[1]
        customer = self._store.get(customer_id)
        status = MISSING if customer is None else ACTIVE if customer.is_active else INACTIVE
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[customer_id] = (now, status)
        return status
