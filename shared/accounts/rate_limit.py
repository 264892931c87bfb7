"""Request limits for the account endpoints, and the cap on mails per address.

Items (TTL on ``expires_at``), beside the customer items of shared/customers/store.py:

===================================================  ===================================
item                                                 attributes
===================================================  ===================================
``RATE#<scope>#<ip>#<window number>``                count (N, ADD), expires_at = window end
``RATE#<scope>#<ip>#<address>#<window number>``      count (N, ADD), expires_at = window end
``RATE#<scope>#customer:<id>#<window number>``       count (N, ADD), expires_at = window end
``MAILCAP#<address>#<window number>``                count (N, ADD), expires_at = window end
===================================================  ===================================

A fixed window per subject: the window's number is part of the key, so counting is one
unconditional ADD per subject (no read, no race, nothing to reset) and an old window simply
expires. ``RateLimiter`` counts every request, refused ones too, per source IP and per
address *from that source* (``<address>`` is ``shared/emails.email_identity``), or per
customer from any source for the password change (only the holder of the customer's token
can spend that count, and guessing the old password from many IPs must not multiply it); over
either limit the answer is DRF's throttled 429 with ``Retry-After`` until the window ends. A refused
request only adds to its own source's counters, which end with the window anyway, so
counting it costs nobody else anything and keeps the write unconditional. No source can
throttle another's requests for an address, and the answer is the same for every address,
so a limit tells nothing about accounts.

What stops one address being mail-bombed from many sources is ``MailCap``, in the mailer:
at most ``MAIL_ADDRESS_LIMIT`` mails per address per ``MAIL_ADDRESS_WINDOW``, counted when a
mail is sent (a failed send gives its place back). Past it the mailer sends nothing and the
endpoint has already answered as always: the cap is silent, so it neither blocks the real
customer's request nor tells anyone what the address is.
Separate from shared/customers/login_guard.py on purpose: the login guard locks on failures with
growing lockouts; this limits volume (mail bombing, guessing an old password).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from shared.customers.emails import email_identity
from shared.errors import Throttled
from shared.table import condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RATE_PREFIX = "RATE#"
MAIL_CAP_PREFIX = "MAILCAP#"


class _FixedWindows:
    def __init__(self, client: DynamoDBClient, table: str, window: int, clock: Callable[[], float]) -> None:
        self._client = client
        self._table = table
        self._window = window
        self._clock = clock

    def _current(self) -> tuple[int, int]:
        """This window's number and its end (epoch seconds)."""
        number = int(self._clock() // self._window)
        return number, (number + 1) * self._window

    def _add(self, pk: str, amount: int, window_end: int, at_most: int | None = None) -> int:
        """ADD ``amount``; with ``at_most``, only while the count stays within it (else ConditionalCheckFailed)."""
        condition = {} if at_most is None else {"ConditionExpression": "attribute_not_exists(#count) OR #count < :max"}
        values = {":n": {"N": str(amount)}, ":end": {"N": str(window_end)}}
        if at_most is not None:
            values[":max"] = {"N": str(at_most)}
        response = self._client.update_item(
            TableName=self._table,
            Key=key(pk),
            UpdateExpression="ADD #count :n SET expires_at = :end",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
            **condition,  # type: ignore[arg-type]
        )
        return int(response["Attributes"]["count"]["N"])


class RateLimiter(_FixedWindows):
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        address_limit: int,
        ip_limit: int,
        window: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(client, table, window, clock)
        self._address_limit = address_limit
        self._ip_limit = ip_limit

    def hit(self, scope: str, address: str, source_ip: str) -> None:
        """Count this request for its IP and for the address from that IP; Throttled when either is over."""
        self._hit(scope, source_ip, f"{source_ip}#{email_identity(address)}")

    def hit_customer(self, scope: str, customer_id: str, source_ip: str) -> None:
        """Count this request for its IP and for the customer from any IP; Throttled when either is over."""
        self._hit(scope, source_ip, f"customer:{customer_id}")

    def hit_source(self, scope: str, source_ip: str) -> None:
        """Count this request for its IP alone (a sign-in whose subject is known only once its
        proof is checked); Throttled when over the per-IP limit."""
        number, window_end = self._current()
        if self._add(f"{RATE_PREFIX}{scope}#{source_ip}#{number}", 1, window_end) > self._ip_limit:
            raise Throttled(math.ceil(window_end - self._clock()))

    def _hit(self, scope: str, source_ip: str, subject: str) -> None:
        number, window_end = self._current()
        over = [
            self._add(f"{RATE_PREFIX}{scope}#{source_ip}#{number}", 1, window_end) > self._ip_limit,
            self._add(f"{RATE_PREFIX}{scope}#{subject}#{number}", 1, window_end) > self._address_limit,
        ]
        if any(over):
            raise Throttled(math.ceil(window_end - self._clock()))


class MailCap(_FixedWindows):
    def __init__(
        self, client: DynamoDBClient, table: str, limit: int, window: int, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(client, table, window, clock)
        self._limit = limit

    def take(self, address: str) -> Counted | None:
        """Count one mail to ``address`` if the window has room for it; None (nothing counted) if not."""
        number, window_end = self._current()
        counted = Counted(f"{MAIL_CAP_PREFIX}{email_identity(address)}#{number}", window_end)
        try:
            self._add(counted.key, 1, window_end, at_most=self._limit)
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return counted

    def give_back(self, counted: Counted) -> None:
        """Uncount a mail ``take`` counted but the sender could not send (in the window it was counted in)."""
        self._add(counted.key, -1, counted.window_end)


@dataclass(frozen=True)
class Counted:
    key: str
    window_end: int
