"""Login abuse protection: failure counting per account and per source IP, with lockouts.

Items (TTL on ``expires_at``), beside the customer items of shared/customers.py:

====================  ==============================================================
item                  attributes
====================  ==============================================================
``FAIL#<email>``      count, window_start, locked_until, lockouts, expires_at
``FAILIP#<ip>``       the same, for one source IP
====================  ==============================================================

``<email>`` is the email's identity (shared/emails.py: trimmed, lower case), counted
whether or not a customer has it, so the answer never tells which emails exist. A window starts at the first
failure and lasts ``LOGIN_FAILURE_WINDOW`` seconds; the failure that reaches the
threshold locks for ``LOGIN_LOCKOUT_BASE * 2**lockouts`` seconds, capped at
``LOGIN_LOCKOUT_MAX``; while locked, every attempt (the right password too) is a 429
without any hashing. A success clears the account's counter, not the IP's (one valid
account must not launder an IP). Every change is one atomic UpdateItem with a condition,
so concurrent failures are all counted and only one of them sets a lock.

The account lockout is short and capped so an attacker cannot keep a real customer out
for long, and the per-IP limit stops a single source long before it can lock many
accounts; volumetric attacks belong to the stage throttling and the optional WAF rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from shared.customers import EMAIL_PREFIX, MAX_EMAIL_LENGTH, LoginRecord, batch_get, login_record_from_item
from shared.emails import email_identity
from shared.errors import ServiceUnavailable
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ACCOUNT_PREFIX = "FAIL#"
IP_PREFIX = "FAILIP#"


@dataclass(frozen=True)
class Attempt:
    """What a login needs before hashing: the customer (or None) and any lock in force."""

    login: LoginRecord | None
    retry_after: int | None  # seconds until the lock ends; None when not locked
    account_failures: int  # failures in the account's current window (a success clears them)


class LoginGuard:
    def __init__(self, client: DynamoDBClient, table: str, settings: Settings, clock: Callable[[], float] = time.time):
        self._client = client
        self._table = table
        self._settings = settings
        self._clock = clock

    def read(self, email: str, source_ip: str) -> Attempt:
        """The ``EMAIL#``, ``FAIL#`` and ``FAILIP#`` items in one consistent BatchGetItem."""
        keys = [ACCOUNT_PREFIX + email_identity(email), IP_PREFIX + source_ip]
        lookup = bool(email) and len(email) <= MAX_EMAIL_LENGTH
        if lookup:
            keys.append(EMAIL_PREFIX + email)
        found = batch_get(self._client, self._table, set(keys))
        now = self._clock()
        locks = [
            float(item["locked_until"]["N"])
            for key in keys[:2]
            if (item := found.get(key)) and "locked_until" in item and float(item["locked_until"]["N"]) > now
        ]
        account = found.get(keys[0], {})
        window_open = "window_start" in account and float(account["window_start"]["N"]) > now - self._window
        return Attempt(
            login=login_record_from_item(email, found[EMAIL_PREFIX + email]) if EMAIL_PREFIX + email in found else None,
            retry_after=math.ceil(max(locks) - now) if locks else None,
            account_failures=int(account.get("count", {}).get("N", "0")) if window_open else 0,
        )

    def record_failure(self, email: str, source_ip: str) -> bool:
        """Count one failure for the account and the IP; True when it started a lockout."""
        account_locked = self._count(ACCOUNT_PREFIX + email_identity(email), self._settings.LOGIN_MAX_FAILURES)
        ip_locked = self._count(IP_PREFIX + source_ip, self._settings.LOGIN_IP_MAX_FAILURES)
        return account_locked or ip_locked

    def clear_account(self, email: str) -> None:
        """A success resets the account's counter (and its lockout history)."""
        self._client.delete_item(TableName=self._table, Key={"pk": {"S": ACCOUNT_PREFIX + email_identity(email)}})

    @property
    def _window(self) -> int:
        return self._settings.LOGIN_FAILURE_WINDOW

    def _count(self, pk: str, threshold: int) -> bool:
        now = int(self._clock())
        count = self._increment(pk, now)
        return count >= threshold and self._lock(pk, now, threshold)

    def _increment(self, pk: str, now: int) -> int:
        """ADD one inside the current window, or start a new window at one; never loses a count."""
        key = {"pk": {"S": pk}}
        expires = {":expires": {"N": str(now + self._window + self._settings.LOGIN_LOCKOUT_MAX)}}
        for _ in range(5):
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="ADD #count :one SET expires_at = :expires",
                    ConditionExpression="window_start > :window_floor",
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues={":one": {"N": "1"}, ":window_floor": {"N": str(now - self._window)}}
                    | expires,
                    ReturnValues="UPDATED_NEW",
                )
                return int(response["Attributes"]["count"]["N"])
            except ClientError as error:
                if not _condition_failed(error):
                    raise
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET #count = :one, window_start = :now, expires_at = :expires",
                    ConditionExpression="attribute_not_exists(window_start) OR window_start <= :window_floor",
                    ExpressionAttributeNames={"#count": "count"},
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":now": {"N": str(now)},
                        ":window_floor": {"N": str(now - self._window)},
                    }
                    | expires,
                )
                return 1
            except ClientError as error:
                if not _condition_failed(error):
                    raise
        raise ServiceUnavailable()  # the window flipped five times under us: give up for now

    def _lock(self, pk: str, now: int, threshold: int) -> bool:
        """Start a lockout unless one is already running; the count starts again from zero.

        Lock times are compared and set with the sub-second clock: a lock started late in a
        second lasts its full duration, and one that has just ended is seen as ended.
        """
        settings = self._settings
        moment = self._clock()
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                UpdateExpression="SET #count = :zero, lockouts = if_not_exists(lockouts, :zero) + :one",
                ConditionExpression=(
                    "#count >= :threshold AND (attribute_not_exists(locked_until) OR locked_until <= :now)"
                ),
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":threshold": {"N": str(threshold)},
                    ":now": {"N": f"{moment:.3f}"},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        lockouts = int(response["Attributes"]["lockouts"]["N"])
        duration = min(settings.LOGIN_LOCKOUT_BASE * 2 ** (lockouts - 1), settings.LOGIN_LOCKOUT_MAX)
        locked_until = moment + duration
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET locked_until = :until, expires_at = :expires",
            ExpressionAttributeValues={
                ":until": {"N": f"{locked_until:.3f}"},
                ":expires": {"N": str(now + duration + self._window + settings.LOGIN_LOCKOUT_MAX)},
            },
        )
        return True


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
