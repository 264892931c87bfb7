"""Request limits for the account endpoints that send mail or check a password.

Items (TTL on ``expires_at``), beside the customer items of shared/customers.py:

=================================================  =====================================
item                                               attributes
=================================================  =====================================
``RATE#<scope>#<address or ip>#<window number>``   count (N, ADD), expires_at = window end
=================================================  =====================================

A fixed window per subject: the window's number is part of the key, so counting is one
unconditional ADD per subject (no read, no race, nothing to reset) and an old window simply
expires. Every request counts, answered or not, for the normalised address and for the
source IP; over either limit the answer is DRF's throttled 429 with ``Retry-After`` until
the window ends, the same for every address, so a limit tells nothing about accounts.
Separate from shared/login_guard.py on purpose: the login guard locks on failures with
growing lockouts; this limits volume (mail bombing, guessing an old password).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.errors import Throttled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RATE_PREFIX = "RATE#"


class RateLimiter:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        address_limit: int,
        ip_limit: int,
        window: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._address_limit = address_limit
        self._ip_limit = ip_limit
        self._window = window
        self._clock = clock

    def hit(self, scope: str, address: str, source_ip: str) -> None:
        """Count this request for the address and the IP; Throttled when either is over."""
        now = self._clock()
        number = int(now // self._window)
        window_end = (number + 1) * self._window
        over = [
            self._count(f"{RATE_PREFIX}{scope}#{subject}#{number}", window_end) > limit
            for subject, limit in ((address.strip().lower(), self._address_limit), (source_ip, self._ip_limit))
        ]
        if any(over):
            raise Throttled(math.ceil(window_end - now))

    def _count(self, pk: str, window_end: int) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}},
            UpdateExpression="ADD #count :one SET expires_at = :end",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":end": {"N": str(window_end)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["count"]["N"])
