"""Staff's list of customers, newest first, a page at a time (``GET /api/v1/customers/``).

Every ``CUSTOMER#`` item carries ``listing`` (one value, ``LISTING_KEY``) and ``joined``
(date joined, then id): the keys of the table's ``CUSTOMERS_INDEX``, which projects keys
only, so the index never holds a hash. A page is what DRF's PageNumberPagination answers:
the total count and one window of the order. DynamoDB has no offset, so one Query walks the
index's keys (a few bytes each: about ten thousand per 1 MB read) for the count and the
window, and one BatchGetItem reads the window's customers. The cost of a page grows with
the number of customers, as Django's ``COUNT(*)`` does; a staff page, not a customer's path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.customers.record import CUSTOMER_PREFIX, CUSTOMERS_INDEX, LISTING_KEY, Customer, customer_from_item
from shared.table import batch_get

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class CustomerListing:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def newest_first(self) -> list[str]:
        """Every customer's id, newest first: the count and any page's window."""
        ids: list[str] = []
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            IndexName=CUSTOMERS_INDEX,
            KeyConditionExpression="listing = :listing",
            ExpressionAttributeValues={":listing": {"S": LISTING_KEY}},
            ScanIndexForward=False,
        )
        for result in pages:
            ids.extend(item["pk"]["S"].removeprefix(CUSTOMER_PREFIX) for item in result.get("Items", []))
        return ids

    def customers(self, ids: list[str]) -> list[Customer]:
        """The customers of one page (at most 100: one BatchGetItem), in the order given.

        A customer deleted since ``newest_first`` read the index leaves the page one short,
        as a row deleted between Django's COUNT and SELECT does.
        """
        if not ids:
            return []
        found = batch_get(self._client, self._table, {CUSTOMER_PREFIX + customer_id for customer_id in ids})
        return [
            customer_from_item(found[CUSTOMER_PREFIX + customer_id])
            for customer_id in ids
            if CUSTOMER_PREFIX + customer_id in found
        ]
