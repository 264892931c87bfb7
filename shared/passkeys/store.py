"""The passkeys' items: each credential, and each customer's list of theirs.

=============================  ===========================================================
item                           attributes
=============================  ===========================================================
``PASSKEY#<credential id>``    customer_id (its owner: who registered it), public_key (B,
                               COSE), sign_count (N), user_handle (B), name, created,
                               last_used
``PASSKEYS#<customer id>``     user_handle (B: the customer's WebAuthn user id, random, made
                               by the first registration's options), passkeys (M: credential
                               id -> {name, created})
=============================  ===========================================================

A sign-in finds the credential by its id (``PASSKEY#``, one GetItem: usernameless, the
browser names the credential); the list, the count and the registration's
``excludeCredentials`` read the customer's item. Registration and deletion write both in one
transaction, so the list never names a credential that does not exist or misses one that
does. A credential id is the base64url of the authenticator's bytes, at most 1023 of them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.table import cancelled_by_condition, condition_failed, error_code, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PASSKEY_PREFIX = "PASSKEY#"
CUSTOMER_PASSKEYS_PREFIX = "PASSKEYS#"
USER_HANDLE_BYTES = 32
# WebAuthn caps a credential id at 1023 bytes: 1364 base64url characters.
MAX_CREDENTIAL_ID_CHARS = 1364
BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class PasskeyTaken(Exception):
    """The credential is registered already (to this customer or another)."""


@dataclass(frozen=True)
class PasskeySummary:
    """A passkey as its owner sees it listed."""

    credential_id: str
    name: str
    created: str

    def body(self) -> dict[str, str]:
        return {"id": self.credential_id, "name": self.name, "created": self.created}


@dataclass(frozen=True)
class Passkey:
    credential_id: str
    customer_id: str
    public_key: bytes
    sign_count: int
    user_handle: bytes
    name: str
    created: str

    @property
    def summary(self) -> PasskeySummary:
        return PasskeySummary(self.credential_id, self.name, self.created)


@dataclass(frozen=True)
class CustomerPasskeys:
    """A customer's WebAuthn user handle and their passkeys, oldest first."""

    user_handle: bytes
    passkeys: tuple[PasskeySummary, ...]


def plausible_credential_id(value: str) -> bool:
    """Base64url of at most 1023 bytes: anything else names no passkey (and reads nothing)."""
    return 0 < len(value) <= MAX_CREDENTIAL_ID_CHARS and set(value) <= BASE64URL


class PasskeyStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def for_registration(self, customer_id: str) -> CustomerPasskeys:
        """The customer's item, made on their first registration: one UpdateItem keeps the first
        user handle ever drawn, whatever concurrent requests draw."""
        item = self._client.update_item(
            TableName=self._table,
            Key=key(CUSTOMER_PASSKEYS_PREFIX + customer_id),
            UpdateExpression="SET user_handle = if_not_exists(user_handle, :handle), "
            "passkeys = if_not_exists(passkeys, :none)",
            ExpressionAttributeValues={
                ":handle": {"B": secrets.token_bytes(USER_HANDLE_BYTES)},
                ":none": {"M": {}},
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return _customer_passkeys(item)

    def passkeys_of(self, customer_id: str) -> tuple[PasskeySummary, ...]:
        item = self._customer_item(customer_id)
        return () if item is None else _customer_passkeys(item).passkeys

    def count(self, customer_id: str) -> int:
        """How many passkeys the customer has (a way in the customer keeps besides the password)."""
        return len(self.passkeys_of(customer_id))

    def find(self, credential_id: str) -> Passkey | None:
        if not plausible_credential_id(credential_id):
            return None
        item = self._client.get_item(
            TableName=self._table, Key=key(PASSKEY_PREFIX + credential_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return Passkey(
            credential_id=credential_id,
            customer_id=item["customer_id"]["S"],
            public_key=bytes(item["public_key"]["B"]),
            sign_count=int(item["sign_count"]["N"]),
            user_handle=bytes(item["user_handle"]["B"]),
            name=item["name"]["S"],
            created=item["created"]["S"],
        )

    def add(self, passkey: Passkey) -> None:
        """The credential and its line in the owner's list, in one transaction; PasskeyTaken if
        the credential is registered already."""
        summary = {"name": {"S": passkey.name}, "created": {"S": passkey.created}}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **key(PASSKEY_PREFIX + passkey.credential_id),
                                "customer_id": {"S": passkey.customer_id},
                                "public_key": {"B": passkey.public_key},
                                "sign_count": {"N": str(passkey.sign_count)},
                                "user_handle": {"B": passkey.user_handle},
                                "name": {"S": passkey.name},
                                "created": {"S": passkey.created},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(CUSTOMER_PASSKEYS_PREFIX + passkey.customer_id),
                            "UpdateExpression": "SET passkeys.#id = :summary",
                            "ConditionExpression": "attribute_exists(passkeys)",
                            "ExpressionAttributeNames": {"#id": passkey.credential_id},
                            "ExpressionAttributeValues": {":summary": {"M": summary}},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error, 0):
                raise PasskeyTaken() from None
            raise

    def record_use(self, passkey: Passkey, sign_count: int, when: str) -> bool:
        """Store the authenticator's new count if the passkey is still there with the count this
        sign-in checked against (a concurrent sign-in or a deletion since then: False)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key(PASSKEY_PREFIX + passkey.credential_id),
                UpdateExpression="SET sign_count = :new, last_used = :when",
                ConditionExpression="attribute_exists(pk) AND customer_id = :owner AND sign_count = :old",
                ExpressionAttributeValues={
                    ":new": {"N": str(sign_count)},
                    ":old": {"N": str(passkey.sign_count)},
                    ":owner": {"S": passkey.customer_id},
                    ":when": {"S": when},
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def remove(self, customer_id: str, credential_id: str) -> bool:
        """Delete the customer's own passkey; False if it is not theirs (or not there)."""
        if not plausible_credential_id(credential_id):
            return False
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": key(PASSKEY_PREFIX + credential_id),
                            "ConditionExpression": "customer_id = :owner",
                            "ExpressionAttributeValues": {":owner": {"S": customer_id}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(CUSTOMER_PASSKEYS_PREFIX + customer_id),
                            "UpdateExpression": "REMOVE passkeys.#id",
                            "ConditionExpression": "attribute_exists(passkeys)",
                            "ExpressionAttributeNames": {"#id": credential_id},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error):
                return False
            raise
        return True

    def erase_writes(self, customer_id: str) -> list[dict[str, Any]]:
        """Deletes of every passkey of the customer's and of their list, for the transaction that
        deletes the customer; the list's delete holds only if no passkey came or went since."""
        item = self._customer_item(customer_id)
        if item is None:
            return []
        passkeys = item.get("passkeys", {"M": {}})
        credentials = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": key(PASSKEY_PREFIX + credential_id),
                    "ConditionExpression": "customer_id = :owner",
                    "ExpressionAttributeValues": {":owner": {"S": customer_id}},
                }
            }
            for credential_id in passkeys["M"]
        ]
        own = {
            "TableName": self._table,
            "Key": key(CUSTOMER_PASSKEYS_PREFIX + customer_id),
            "ConditionExpression": "passkeys = :read",
            "ExpressionAttributeValues": {":read": passkeys},
        }
        return [*credentials, {"Delete": own}]

    def _customer_item(self, customer_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table, Key=key(CUSTOMER_PASSKEYS_PREFIX + customer_id), ConsistentRead=True
        ).get("Item")
        return item


def _customer_passkeys(item: dict[str, Any]) -> CustomerPasskeys:
    entries = item.get("passkeys", {}).get("M", {})
    summaries = (
        PasskeySummary(credential_id, entry["M"]["name"]["S"], entry["M"]["created"]["S"])
        for credential_id, entry in entries.items()
    )
    return CustomerPasskeys(
        user_handle=bytes(item["user_handle"]["B"]),
        passkeys=tuple(sorted(summaries, key=lambda summary: (summary.created, summary.credential_id))),
    )
