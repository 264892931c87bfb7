"""Login abuse protection: every attempt is reserved per account and per source IP before hashing.

Items (TTL on ``expires_at``), beside the customer items of shared/customers/store.py:

====================  ==============================================================
item                  attributes
====================  ==============================================================
``FAIL#<email>``      count, window_start, locked_until, lockouts, attempt, expires_at
``FAILIP#<ip>``       the same, for one source IP
====================  ==============================================================

``<email>`` is the email's identity (shared/customers/emails.py: trimmed, lower case), counted
whether or not a customer has it, so the answer never tells which emails exist.

An attempt is counted before its password is checked: one conditional UpdateItem per key
adds one to ``count`` and is refused once ``count`` has reached the limit, so of any number
of concurrent attempts (from any number of containers) at most the limit get a password
check; the others answer 429 without hashing. The same update writes ``locked_until``
(this attempt's time plus the lockout the key has earned, ``LOGIN_LOCKOUT_BASE *
2**lockouts`` capped at ``LOGIN_LOCKOUT_MAX``): the key is locked while ``count`` is at the
limit and ``locked_until`` is ahead, so the attempt that reaches the limit starts the lock
with no second write. A window opens at the first attempt and lasts
``LOGIN_FAILURE_WINDOW`` seconds; after it, or after a lock, the next attempt opens a new
one (one compare-and-set on ``window_start``, won by one of any concurrent attempts), and
one that follows a lock counts that lockout in ``lockouts``.

A failed attempt needs no further write: it was counted when it was reserved. A success
gives its reservations back: the account's item is deleted (its counter and lockout
history, as a success always cleared them) and the IP's count goes down by one if the same
window is still open, so successes never lock a shared address and an account never keeps a
reserved attempt that turned out right.

The account lockout is short and capped so an attacker cannot keep a real customer out
for long, and the per-IP limit stops a single source long before it can lock many
accounts; volumetric attacks belong to the stage throttling and the optional WAF rule.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.customers.emails import email_identity
from shared.customers.legacy_hashes import LEGACY_HASHES_KEY, LegacyCost, legacy_costs_from_item
from shared.customers.record import EMAIL_PREFIX, MAX_EMAIL_LENGTH, LoginRecord, login_record_from_item
from shared.errors import LoginLocked, ServiceUnavailable
from shared.settings import Settings
from shared.table import batch_get, condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCOUNT_PREFIX = "FAIL#"
IP_PREFIX = "FAILIP#"
# Compare-and-set rounds lost to concurrent attempts before a 503. Each lost round is another
# attempt's write (a count, or a success clearing the counter), so a burst of N simultaneous
# logins to one account can cost up to N - 1 rounds: room for a dozen.
RESERVE_ATTEMPTS = 16


@dataclass(frozen=True)
class Counter:
    """One ``FAIL#``/``FAILIP#`` item as read (``exists`` False: no item yet)."""

    pk: str
    limit: int
    exists: bool = False
    count: int = 0
    window_start: str = "0"  # kept as DynamoDB wrote it, for exact compare-and-set
    locked_until: float = 0.0
    lockouts: int = 0

    @classmethod
    def from_item(cls, pk: str, limit: int, item: dict[str, Any] | None) -> Counter:
        if not item:
            return cls(pk, limit)
        return cls(
            pk,
            limit,
            exists=True,
            count=int(item.get("count", {}).get("N", "0")),
            window_start=item.get("window_start", {}).get("N", "0"),
            locked_until=float(item.get("locked_until", {}).get("N", "0")),
            lockouts=int(item.get("lockouts", {}).get("N", "0")),
        )

    def retry_after(self, now: float) -> int | None:
        """Seconds until the lock ends; None when the key is not locked."""
        if self.count >= self.limit and self.locked_until > now:
            return math.ceil(self.locked_until - now)
        return None


@dataclass(frozen=True)
class Attempt:
    """What a login needs before hashing: the customer (or None), its two counters, and the
    imported hash kinds still waiting for their upgrade (what a refusal pads with)."""

    email: str
    login: LoginRecord | None
    account: Counter
    ip: Counter
    legacy: tuple[LegacyCost, ...] = ()

    def retry_after(self, now: float) -> int | None:
        """Seconds until the later of the two locks ends; None when neither is locked."""
        waits = [wait for wait in (self.account.retry_after(now), self.ip.retry_after(now)) if wait is not None]
        return max(waits) if waits else None


@dataclass(frozen=True)
class Reservation:
    """The attempt, counted on both keys; ``locked`` when it reached a limit (a lockout began)."""

    attempt: Attempt
    ip: Counter
    locked: bool


class LoginGuard:
    def __init__(self, client: DynamoDBClient, table: str, settings: Settings, clock: Callable[[], float] = time.time):
        self._client = client
        self._table = table
        self._settings = settings
        self._clock = clock

    def read(self, email: str, source_ip: str) -> Attempt:
        """The ``EMAIL#``, ``FAIL#``, ``FAILIP#`` and ``COUNTER#legacy`` items in one consistent
        BatchGetItem."""
        account_pk, ip_pk = ACCOUNT_PREFIX + email_identity(email), IP_PREFIX + source_ip
        keys = {account_pk, ip_pk, LEGACY_HASHES_KEY}
        lookup = bool(email) and len(email) <= MAX_EMAIL_LENGTH
        if lookup:
            keys.add(EMAIL_PREFIX + email)
        found = batch_get(self._client, self._table, keys)
        customer = found.get(EMAIL_PREFIX + email) if lookup else None
        return Attempt(
            email=email,
            login=None if customer is None else login_record_from_item(email, customer),
            account=Counter.from_item(account_pk, self._settings.LOGIN_MAX_FAILURES, found.get(account_pk)),
            ip=Counter.from_item(ip_pk, self._settings.LOGIN_IP_MAX_FAILURES, found.get(ip_pk)),
            legacy=legacy_costs_from_item(found.get(LEGACY_HASHES_KEY)),
        )

    def reserve(self, attempt: Attempt) -> Reservation:
        """Count the attempt on the account, then on the IP; LoginLocked if either is at its limit.

        A lock seen in the read costs no write. An attempt refused by the IP stays counted on
        the account (it was made), which only happens to attempts racing the IP's lock.
        """
        locked = attempt.retry_after(self._clock())
        if locked is not None:
            raise LoginLocked(locked)
        account_locked = self._reserve(attempt.account).count >= attempt.account.limit
        ip = self._reserve(attempt.ip)
        return Reservation(attempt, ip, locked=account_locked or ip.count >= ip.limit)

    def release(self, reservation: Reservation) -> None:
        """A success: clear the account's counter, give the IP its attempt back (same window only)."""
        self._client.delete_item(TableName=self._table, Key=key(reservation.attempt.account.pk))
        self._give_back(reservation.ip)

    def _give_back(self, ip: Counter) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key(ip.pk),
                UpdateExpression="ADD #count :minus_one",
                ConditionExpression="window_start = :window AND #count > :zero",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":minus_one": {"N": "-1"},
                    ":zero": {"N": "0"},
                    ":window": {"N": ip.window_start},
                },
            )
        except ClientError as error:
            if not condition_failed(error):
                raise  # a new window has started since: the attempt is no longer counted

    # Ways in that name no email (a passkey): the attempt is counted on its source alone.

    def reserve_source(self, source_ip: str) -> Counter:
        """Count an attempt on the source IP before it is checked; LoginLocked while the IP is
        locked. The counter as it is afterwards: at its limit, this failure starts the lock."""
        pk = IP_PREFIX + source_ip
        found = batch_get(self._client, self._table, {pk})
        counter = Counter.from_item(pk, self._settings.LOGIN_IP_MAX_FAILURES, found.get(pk))
        return self._reserve(counter)

    def release_source(self, counter: Counter) -> None:
        """A success gives the source its attempt back, as a password login's does."""
        self._give_back(counter)

    def _reserve(self, counter: Counter) -> Counter:
        """One conditional UpdateItem counting an attempt; the counter as it is afterwards."""
        settings = self._settings
        attempt_id = secrets.token_hex(8)  # tells a retry of this update, applied but answered late
        for _ in range(RESERVE_ATTEMPTS):
            now = self._clock()
            wait = counter.retry_after(now)
            if wait is not None:
                raise LoginLocked(wait)
            after_lock = counter.count >= counter.limit  # its lock is over
            window_open = float(counter.window_start) > now - settings.LOGIN_FAILURE_WINDOW
            lockouts = counter.lockouts + 1 if after_lock else counter.lockouts
            duration = min(settings.LOGIN_LOCKOUT_BASE * 2**lockouts, settings.LOGIN_LOCKOUT_MAX)
            values = {
                ":attempt": {"S": attempt_id},
                ":one": {"N": "1"},
                ":locked_until": {"N": f"{now + duration:.3f}"},
                ":expires": {
                    "N": str(math.ceil(now) + duration + settings.LOGIN_FAILURE_WINDOW + settings.LOGIN_LOCKOUT_MAX)
                },
            }
            if counter.exists and window_open and not after_lock:
                update = "ADD #count :one SET locked_until = :locked_until, expires_at = :expires, attempt = :attempt"
                condition = "window_start = :window AND #count < :limit"
                values |= {":window": {"N": counter.window_start}, ":limit": {"N": str(counter.limit)}}
            else:  # a new window: after a closed one, after a lock, or the first attempt
                update = (
                    "SET #count = :one, window_start = :now, locked_until = :locked_until, "
                    "lockouts = :lockouts, expires_at = :expires, attempt = :attempt"
                )
                values |= {":now": {"N": f"{now:.3f}"}, ":lockouts": {"N": str(lockouts)}}
                if counter.exists:
                    condition = "window_start = :window AND #count = :count"
                    values |= {":window": {"N": counter.window_start}, ":count": {"N": str(counter.count)}}
                else:
                    condition = "attribute_not_exists(pk)"
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=key(counter.pk),
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return Counter.from_item(counter.pk, counter.limit, dict(response["Attributes"]))
            except ClientError as error:
                if not condition_failed(error):
                    raise
                old: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
                if old.get("attempt", {}).get("S") == attempt_id:
                    return Counter.from_item(counter.pk, counter.limit, old)  # a retry of our own applied write
                # Another attempt got there first: start again from what it left.
                counter = Counter.from_item(counter.pk, counter.limit, old)
        raise ServiceUnavailable()
