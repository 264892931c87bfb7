"""The login's second step: ``MFACHALLENGE#<sha256 of the ephemeral token>`` items.

dj-rest-auth's ephemeral token is a signed, stateless ticket: reusable, unbound to the
password, the customer's pk in clear (docs/mfa-contract.md, defect 4). Here it is a random
256-bit name of a stored challenge, issued by the one place that opens sessions
(shared/customers/opening.py) and spent by ``POST /auth/mfa/verify/``:

=============================  =========================================================
item                           attributes
=============================  =========================================================
``MFACHALLENGE#<sha256(t)>``   customer_id, email, password (sha256 of the password hash
                               the login proved: a password change voids the challenge),
                               way_in, failures (N, ADD), expires_at (TTL, checked in code)
=============================  =========================================================

Only the digest is stored. A challenge is spent by the conditional delete that goes in the
same transaction as the code's own write (shared/mfa/store.py), so of two verifies racing
on one challenge one wins; it dies after ``MFA_MAX_CODE_FAILURES`` wrong codes.

This module imports nothing of pyotp or cryptography: the token function issues challenges.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.customers.record import LoginRecord
from shared.settings import Settings
from shared.table import condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHALLENGE_PREFIX = "MFACHALLENGE#"
# Longer values cannot be a token this service issued (43 characters): refused unread.
MAX_TOKEN_LENGTH = 128


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Challenge:
    pk: str
    customer_id: str
    email: str
    password: str  # sha256 of the password hash the login proved
    failures: int
    expires_at: int

    def proves(self, login: LoginRecord) -> bool:
        """The challenge's customer still has the password that opened it."""
        return login.customer_id == self.customer_id and digest(login.password_hash) == self.password


class MfaChallenges:
    def __init__(
        self, client: DynamoDBClient, table: str, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._settings = settings
        self._clock = clock

    def issue(self, subject: LoginRecord, way: str) -> str:
        """A new challenge for ``subject`` (its password just proven); the token, shown once."""
        token = secrets.token_urlsafe(32)
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": CHALLENGE_PREFIX + digest(token)},
                "customer_id": {"S": subject.customer_id},
                "email": {"S": subject.email},
                "password": {"S": digest(subject.password_hash)},
                "way_in": {"S": way},
                "failures": {"N": "0"},
                "expires_at": {"N": str(math.ceil(self._clock()) + self._settings.MFA_CHALLENGE_LIFETIME)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return token

    def find(self, token: str) -> Challenge | None:
        """The live challenge ``token`` names: None when unknown, spent, expired or dead."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        pk = CHALLENGE_PREFIX + digest(token)
        item = self._client.get_item(TableName=self._table, Key=key(pk), ConsistentRead=True).get("Item")
        if item is None:
            return None
        challenge = Challenge(
            pk=pk,
            customer_id=item["customer_id"]["S"],
            email=item["email"]["S"],
            password=item["password"]["S"],
            failures=int(item["failures"]["N"]),
            expires_at=int(item["expires_at"]["N"]),
        )
        if challenge.expires_at <= self._clock() or challenge.failures >= self._settings.MFA_MAX_CODE_FAILURES:
            return None
        return challenge

    def count_failure(self, challenge: Challenge) -> None:
        """One more wrong code; the one that reaches the limit deletes the challenge."""
        limit = self._settings.MFA_MAX_CODE_FAILURES
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=key(challenge.pk),
                UpdateExpression="ADD failures :one",
                ConditionExpression="attribute_exists(pk) AND failures < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)}},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return  # spent or dead already
            raise
        if int(answer["Attributes"]["failures"]["N"]) >= limit:
            self._client.delete_item(TableName=self._table, Key=key(challenge.pk))

    def spend(self, challenge: Challenge) -> dict[str, Any]:
        """The transaction item that spends the challenge: it must still exist, live and alive."""
        return {
            "Delete": {
                "TableName": self._table,
                "Key": key(challenge.pk),
                "ConditionExpression": "attribute_exists(pk) AND failures < :limit AND expires_at > :now",
                "ExpressionAttributeValues": {
                    ":limit": {"N": str(self._settings.MFA_MAX_CODE_FAILURES)},
                    ":now": {"N": str(math.floor(self._clock()))},
                },
            }
        }
