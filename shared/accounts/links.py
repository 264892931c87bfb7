"""The links a mail carries: ``VERIFY#<sha256 of the key>`` and ``RESET#<uid>`` items.

Made when the mail is sent (shared/accounts/service.py's AccountMailer), read and spent by the
endpoints as one item of the customer's own transaction (shared/customers/store.py), so a link
works once. Only digests of the secrets are stored; ``expires_at`` lets DynamoDB's TTL remove
them, and a read checks it too (TTL deletes late).

=======================  ===========================================================
item                     attributes
=======================  ===========================================================
``VERIFY#<sha256(key)>`` customer_id, email, password_hash (the hash of the
                         registration this key confirms), expires_at
``RESET#<uid>``          token_hash (sha256 of the token), customer_id,
                         password_fingerprint (sha256 of the hash when issued: any
                         password change voids every older link; "unverified" for an
                         unconfirmed customer), expires_at,
                         used_at (set once, by a conditional UpdateItem)
=======================  ===========================================================
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared.customers.record import Customer
from shared.table import key as table_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

VERIFY_PREFIX = "VERIFY#"
RESET_PREFIX = "RESET#"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def password_fingerprint(customer: Customer) -> str:
    """What a reset link is bound to: the password it replaces, so any change voids older links.

    Not for an unverified customer: anyone can re-register a pending address (replacing its
    password), and must not be able to void the mailbox owner's link that way. Confirming the
    address changes the fingerprint, so such links end there.
    """
    return digest(customer.password_hash) if customer.email_verified else "unverified"


class LinkTokens:
    """The VERIFY# and RESET# items: made by the mailer, consumed by the endpoints."""

    def __init__(self, client: DynamoDBClient, table: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def new_verification_key(self, customer: Customer, password_hash: str, lifetime: int) -> str:
        key = secrets.token_urlsafe(32)
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": VERIFY_PREFIX + digest(key)},
                "customer_id": {"S": customer.customer_id},
                "email": {"S": customer.email},
                "password_hash": {"S": password_hash},
                "expires_at": {"N": str(int(self._clock()) + lifetime)},
            },
        )
        return key

    def verification_key(self, key: str) -> dict[str, Any] | None:
        """The key's item; None if unknown or expired."""
        item = self._client.get_item(
            TableName=self._table, Key=table_key(VERIFY_PREFIX + digest(key)), ConsistentRead=True
        ).get("Item")
        return item if item is not None and self._live(item) else None

    def spend_verification_key(self, key: str) -> dict[str, Any]:
        """The key's deletion as one item of the customer's confirming transaction (single use)."""
        return {
            "Delete": {
                "TableName": self._table,
                "Key": table_key(VERIFY_PREFIX + digest(key)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def new_reset_link(self, customer: Customer, lifetime: int) -> tuple[str, str]:
        uid, token = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": RESET_PREFIX + uid},
                "token_hash": {"S": digest(token)},
                "customer_id": {"S": customer.customer_id},
                "password_fingerprint": {"S": password_fingerprint(customer)},
                "expires_at": {"N": str(int(self._clock()) + lifetime)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return uid, token

    def reset_link(self, uid: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=table_key(RESET_PREFIX + uid), ConsistentRead=True).get(
            "Item"
        )
        return item if item is not None and self._live(item) else None

    def spend_reset_link(self, uid: str, token_hash: str) -> dict[str, Any]:
        """Marking the link used, as one item of the password's transaction (single use; kept
        until it expires, so a second use is "token", not "uid", invalid)."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": table_key(RESET_PREFIX + uid),
                "UpdateExpression": "SET used_at = :now",
                "ConditionExpression": "token_hash = :hash AND attribute_not_exists(used_at)",
                "ExpressionAttributeValues": {":hash": {"S": token_hash}, ":now": {"N": str(int(self._clock()))}},
            }
        }

    def _live(self, item: dict[str, Any]) -> bool:
        return float(item["expires_at"]["N"]) > self._clock()
