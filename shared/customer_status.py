"""The authorizer's optional per-request customer check, cached briefly per container.

It answers the customer as last read (None when deleted); the authorizer refuses
inactive customers and tokens issued before ``tokens_valid_after``.

Each decision would otherwise cost one DynamoDB read; a few seconds of cache keeps a
busy customer at one read per interval while a deactivation still takes effect within
``AUTHORIZER_CHECK_CACHE_SECONDS`` (plus API Gateway's own authorizer cache).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import Lock

from shared.customers import Customer, CustomerStore

MAX_ENTRIES = 10_000


class CachedCustomerStatus:
    def __init__(self, store: CustomerStore, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._max_age = max_age
        self._clock = clock
        self._lock = Lock()
        self._entries: dict[str, tuple[float, Customer | None]] = {}

    def __call__(self, customer_id: str) -> Customer | None:
        now = self._clock()
        cached = self._entries.get(customer_id)
        if cached is not None and now - cached[0] < self._max_age:
            return cached[1]
        customer = self._store.get(customer_id)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[customer_id] = (now, customer)
        return customer
