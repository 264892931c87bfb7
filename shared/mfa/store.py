"""The MFA capability's items: a customer's authenticator and the enrolments in progress.

===========================  ===========================================================
item                         attributes
===========================  ===========================================================
``MFA#<customer id>``        secret (B: nonce + AES-GCM ciphertext, shared/mfa/sealing.py),
                             key_id (the sealing key), digits, period (N, per authenticator:
                             an imported one keeps its own), last_step (N: the last accepted
                             time step; only later ones are accepted), created_at,
                             last_used_at (ISO-8601), recovery (M: index -> argon2id hash of
                             an unused recovery code; a used one is removed)
``MFASETUP#<sha256(t)>``     customer_id, secret, key_id, expires_at: the secret offered by
                             ``GET /auth/mfa/totp/activate/``, named by the activation token
                             (random, shown once), spent by the confirmation
===========================  ===========================================================

The ``mfa`` copy on ``CUSTOMER#``/``EMAIL#`` is written in the same transaction as ``MFA#``
is created or deleted (shared/customers/store.py's ``set_mfa``). Every use of a code is one
conditional write: a TOTP step only if it is later than ``last_step``, a recovery code only if
its hash is still there, each in one transaction with the challenge it answers.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.mfa.challenges import digest
from shared.mfa.sealing import Sealed
from shared.table import key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AUTHENTICATOR_PREFIX = "MFA#"
SETUP_PREFIX = "MFASETUP#"
MAX_ACTIVATION_TOKEN_LENGTH = 128


@dataclass(frozen=True)
class Authenticator:
    customer_id: str
    sealed: Sealed
    digits: int
    period: int
    last_step: int | None
    created_at: str
    last_used_at: str | None
    recovery: dict[str, str] = field(default_factory=dict)  # index -> argon2id hash


@dataclass(frozen=True)
class Setup:
    pk: str
    customer_id: str
    sealed: Sealed


def sealed_attributes(sealed: Sealed) -> dict[str, Any]:
    return {"secret": {"B": sealed.ciphertext}, "key_id": {"S": sealed.key_id}}


def sealed_from_item(item: dict[str, Any]) -> Sealed:
    return Sealed(item["key_id"]["S"], bytes(item["secret"]["B"]))


def authenticator_item(authenticator: Authenticator) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": AUTHENTICATOR_PREFIX + authenticator.customer_id},
        "customer_id": {"S": authenticator.customer_id},
        **sealed_attributes(authenticator.sealed),
        "digits": {"N": str(authenticator.digits)},
        "period": {"N": str(authenticator.period)},
        "created_at": {"S": authenticator.created_at},
        "recovery": {"M": {index: {"S": hashed} for index, hashed in authenticator.recovery.items()}},
    }
    if authenticator.last_step is not None:
        item["last_step"] = {"N": str(authenticator.last_step)}
    if authenticator.last_used_at is not None:
        item["last_used_at"] = {"S": authenticator.last_used_at}
    return item


class MfaStore:
    def __init__(self, client: DynamoDBClient, table: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def get(self, customer_id: str) -> Authenticator | None:
        item = self._client.get_item(
            TableName=self._table, Key=key(AUTHENTICATOR_PREFIX + customer_id), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return Authenticator(
            customer_id=customer_id,
            sealed=sealed_from_item(item),
            digits=int(item["digits"]["N"]),
            period=int(item["period"]["N"]),
            last_step=int(item["last_step"]["N"]) if "last_step" in item else None,
            created_at=item["created_at"]["S"],
            last_used_at=item.get("last_used_at", {}).get("S"),
            recovery={index: value["S"] for index, value in item.get("recovery", {}).get("M", {}).items()},
        )

    def begin_setup(self, customer_id: str, sealed: Sealed, lifetime: int) -> str:
        """Store the offered secret; the activation token that names it, shown once."""
        token = secrets.token_urlsafe(32)
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": SETUP_PREFIX + digest(token)},
                "customer_id": {"S": customer_id},
                **sealed_attributes(sealed),
                "expires_at": {"N": str(math.ceil(self._clock()) + lifetime)},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return token

    def find_setup(self, token: str) -> Setup | None:
        """The live enrolment ``token`` names (anyone's: the caller compares the customer)."""
        if not token or len(token) > MAX_ACTIVATION_TOKEN_LENGTH:
            return None
        pk = SETUP_PREFIX + digest(token)
        item = self._client.get_item(TableName=self._table, Key=key(pk), ConsistentRead=True).get("Item")
        if item is None or int(item["expires_at"]["N"]) <= self._clock():
            return None
        return Setup(pk, item["customer_id"]["S"], sealed_from_item(item))

    def enrolment_writes(self, setup: Setup, authenticator: Authenticator) -> list[dict[str, Any]]:
        """Create ``MFA#`` (only if none exists) and spend the enrolment (only once, only live)."""
        return [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": authenticator_item(authenticator),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": key(setup.pk),
                    "ConditionExpression": "customer_id = :id AND expires_at > :now",
                    "ExpressionAttributeValues": {
                        ":id": {"S": setup.customer_id},
                        ":now": {"N": str(math.floor(self._clock()))},
                    },
                }
            },
        ]

    def import_writes(self, authenticator: Authenticator) -> dict[str, Any]:
        """An imported authenticator, written only where none exists (authctl import-django)."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": authenticator_item(authenticator),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def use_step(self, customer_id: str, step: int, now_iso: str) -> dict[str, Any]:
        """Accept TOTP time step ``step``: only if it is later than every step accepted before."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": key(AUTHENTICATOR_PREFIX + customer_id),
                "UpdateExpression": "SET last_step = :step, last_used_at = :now",
                "ConditionExpression": (
                    "attribute_exists(pk) AND (attribute_not_exists(last_step) OR last_step < :step)"
                ),
                "ExpressionAttributeValues": {":step": {"N": str(step)}, ":now": {"S": now_iso}},
            }
        }

    def use_recovery_code(self, customer_id: str, index: str, hashed: str, now_iso: str) -> dict[str, Any]:
        """Spend recovery code ``index``: only if it is still unused."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": key(AUTHENTICATOR_PREFIX + customer_id),
                "UpdateExpression": "REMOVE recovery.#index SET last_used_at = :now",
                "ConditionExpression": "recovery.#index = :hash",
                "ExpressionAttributeNames": {"#index": index},
                "ExpressionAttributeValues": {":hash": {"S": hashed}, ":now": {"S": now_iso}},
            }
        }

    def delete_writes(self, customer_id: str, proof: dict[str, Any] | None) -> list[dict[str, Any]]:
        """Delete ``MFA#``, conditioned as ``proof`` (a ``use_step``/``use_recovery_code`` item) is,
        so the code that turns MFA off is spent by the same write; None: unconditionally (authctl)."""
        delete: dict[str, Any] = {"TableName": self._table, "Key": key(AUTHENTICATOR_PREFIX + customer_id)}
        if proof is None:
            delete["ConditionExpression"] = "attribute_exists(pk)"
        else:
            update = proof["Update"]
            delete["ConditionExpression"] = update["ConditionExpression"]
            values = {name: value for name, value in update["ExpressionAttributeValues"].items() if name != ":now"}
            delete["ExpressionAttributeValues"] = values
            if "ExpressionAttributeNames" in update:
                delete["ExpressionAttributeNames"] = update["ExpressionAttributeNames"]
        return [{"Delete": delete}]

    def replace_recovery_codes(self, customer_id: str, hashes: dict[str, str]) -> None:
        """New recovery codes (every earlier one void), only while MFA is on."""
        self._client.update_item(
            TableName=self._table,
            Key=key(AUTHENTICATOR_PREFIX + customer_id),
            UpdateExpression="SET recovery = :codes",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":codes": {"M": {index: {"S": value} for index, value in hashes.items()}}},
        )

    def transact(self, items: list[dict[str, Any]]) -> None:
        self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
