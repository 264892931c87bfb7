"""``COUNTER#customer``: the next customer id, as Django's auto-increment primary key gives one.

Apart from the store (shared/customers/store.py) so that a create's id and its refusal's give-back
read as one small thing; imports move the counter past the ids they bring (shared/customers/imports.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from shared.table import condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNTER_KEY = "COUNTER#customer"


class CustomerIds:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def next(self) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=key(COUNTER_KEY),
            UpdateExpression="ADD next_id :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["next_id"]["N"])

    def give_back(self, allocated: int) -> None:
        """Undo ``next`` after a refused create, unless a later create took an id since:
        a duplicate must not leave a gap in the ids."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key(COUNTER_KEY),
                UpdateExpression="SET next_id = :previous",
                ConditionExpression="next_id = :allocated",
                ExpressionAttributeValues={":previous": {"N": str(allocated - 1)}, ":allocated": {"N": str(allocated)}},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
