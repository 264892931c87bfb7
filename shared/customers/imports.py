"""A customer base moving in from Django (authctl import-django, claim-emails, index-customers): writes that do
not race a customer's own requests, so they skip the store's transactions.

The same items as shared/customers/store.py (``CUSTOMER#``, ``EMAIL#``, ``EMAILCI#``,
``COUNTER#customer``), written with single conditional puts: a third of a transaction's write
units, which matters for a bulk import, and safe to run again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.customers.emails import email_identity
from shared.customers.ids import COUNTER_KEY
from shared.customers.record import (
    CUSTOMER_PREFIX,
    EMAIL_IDENTITY_PREFIX,
    EMAIL_PREFIX,
    Customer,
    customer_from_item,
    customer_item,
    email_item,
    identity_item,
    listing_attributes,
    pending_item,
)
from shared.table import condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class CustomerImport:
    """Idempotent writes of migrated customers and of their email claims."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def import_customer(self, customer: Customer) -> str:
        """Write a migrated customer with three conditional puts; safe to run again.

        A third of the write units of a transaction, which matters for a bulk import. The
        email claims decide: a free email is claimed, an email already claimed by the same
        id is a rerun (it finishes a half-written customer and never overwrites one), an
        email (in any case) owned by another id is a conflict, and what this call claimed is
        given back. Returns "imported", "present" or "conflict". A customer whose address
        Django never verified is written unverified, with no TTL (they were a customer).
        """
        claimed: list[str] = []
        for pk, item in (
            (EMAIL_IDENTITY_PREFIX + email_identity(customer.email), identity_item(customer)),
            (EMAIL_PREFIX + customer.email, pending_item(email_item(customer), customer.email_verified, None)),
        ):
            owner = self._claim(item)
            if owner is None:
                claimed.append(pk)
            elif owner != customer.customer_id:
                self._release(claimed, customer.customer_id)
                return "conflict"
        try:
            self._client.put_item(
                TableName=self._table,
                Item=pending_item(customer_item(customer), customer.email_verified, None),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            if not claimed:
                return "present"
            self._release(claimed, customer.customer_id)  # the id belongs to someone else
            return "conflict"
        return "imported"

    def customers(self) -> Iterator[Customer]:
        """Every customer, by a paginated Scan of ``CUSTOMER#`` items (an operator's one-off)."""
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": CUSTOMER_PREFIX}},
            ConsistentRead=True,
        )
        for page in pages:
            yield from (customer_from_item(item) for item in page.get("Items", []))

    def claim_email_identity(self, customer: Customer) -> str:
        """Write the ``EMAILCI#`` claim a customer from before it existed lacks; safe to run again.

        Returns "claimed", "present" (already this customer's), "conflict" (another customer
        owns the email in another case: both keep working, nothing is changed, an operator
        decides) or "unverified" (left alone: only a registration makes one, with its claim,
        and a claim without the registration's TTL would outlive it).
        """
        if not customer.email_verified:
            return "unverified"
        owner = self._claim(identity_item(customer))
        if owner is None:
            return "claimed"
        return "present" if owner == customer.customer_id else "conflict"

    def add_to_listing(self, customer: Customer) -> None:
        """Give a customer from before staff's list existed its index entry; safe to run again."""
        attributes = listing_attributes(customer.customer_id, customer.date_joined)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key(CUSTOMER_PREFIX + customer.customer_id),
                UpdateExpression="SET listing = :listing, joined = :joined",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":listing": attributes["listing"], ":joined": attributes["joined"]},
            )
        except ClientError as error:
            if not condition_failed(error):  # deleted since the scan read it
                raise

    def reserve_ids_up_to(self, largest_id: int) -> None:
        """Move the id counter past ``largest_id`` (imported ids) so new ids never collide."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key(COUNTER_KEY),
                UpdateExpression="SET next_id = :largest",
                ConditionExpression="attribute_not_exists(next_id) OR next_id < :largest",
                ExpressionAttributeValues={":largest": {"N": str(largest_id)}},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def _claim(self, item: dict[str, Any]) -> str | None:
        """Put ``item`` if its key is free: None, else the id of the customer who owns it."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            return str((error.response.get("Item") or {}).get("customer_id", {}).get("S"))  # type: ignore[attr-defined]
        return None

    def _release(self, keys: list[str], customer_id: str) -> None:
        for pk in keys:
            self._client.delete_item(
                TableName=self._table,
                Key=key(pk),
                ConditionExpression="customer_id = :id",
                ExpressionAttributeValues={":id": {"S": customer_id}},
            )
