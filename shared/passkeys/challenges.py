"""WebAuthn challenges: random, stored as hashes, single use, short-lived.

======================================  ====================================================
item                                    attributes
======================================  ====================================================
``WEBAUTHN#<sha256 of the challenge>``  ceremony (registration | login), expires_at (TTL),
                                        customer_id and user_handle (registration only)
======================================  ====================================================

The challenge itself goes to the browser only; the table keeps its SHA-256, so a reader of
the table cannot answer one. A response names its challenge inside ``clientDataJSON``: the
ceremony spends it with one conditional DeleteItem (it exists, it is of this ceremony, of
this customer for a registration, and not expired), so of two responses racing on one
challenge exactly one goes on, and a spent challenge never verifies again. TTL deletion can
be days late: ``expires_at`` is checked in the condition as well.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.table import condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHALLENGE_PREFIX = "WEBAUTHN#"
CHALLENGE_BYTES = 32


class Ceremony(StrEnum):
    REGISTRATION = "registration"
    LOGIN = "login"


class ChallengeRefused(Exception):
    """Unknown, spent, expired, of the other ceremony or of another customer."""


@dataclass(frozen=True)
class SpentChallenge:
    """What the ceremony's options promised: for a registration, whose and with which user handle."""

    customer_id: str | None
    user_handle: bytes | None


class ChallengeStore:
    def __init__(
        self, client: DynamoDBClient, table: str, lifetime: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, ceremony: Ceremony, customer_id: str | None = None, user_handle: bytes | None = None) -> bytes:
        """A new challenge for ``ceremony``, stored (as its hash) until it is spent or expires."""
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        item: dict[str, Any] = {
            **key(CHALLENGE_PREFIX + _digest(challenge)),
            "ceremony": {"S": str(ceremony)},
            "expires_at": {"N": str(math.ceil(self._clock()) + self._lifetime)},
        }
        if customer_id is not None:
            item["customer_id"] = {"S": customer_id}
        if user_handle is not None:
            item["user_handle"] = {"B": user_handle}
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        return challenge

    def spend(self, challenge: bytes, ceremony: Ceremony, customer_id: str | None = None) -> SpentChallenge:
        """Delete the challenge if it may still be answered; ChallengeRefused otherwise."""
        condition = "attribute_exists(pk) AND ceremony = :ceremony AND expires_at > :now"
        values: dict[str, Any] = {":ceremony": {"S": str(ceremony)}, ":now": {"N": str(int(self._clock()))}}
        if customer_id is not None:
            condition += " AND customer_id = :customer"
            values[":customer"] = {"S": customer_id}
        try:
            old = self._client.delete_item(
                TableName=self._table,
                Key=key(CHALLENGE_PREFIX + _digest(challenge)),
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_OLD",
            )["Attributes"]
        except ClientError as error:
            if condition_failed(error):
                raise ChallengeRefused() from None
            raise
        return SpentChallenge(
            customer_id=old["customer_id"]["S"] if "customer_id" in old else None,
            user_handle=bytes(old["user_handle"]["B"]) if "user_handle" in old else None,
        )


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()
