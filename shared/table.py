"""The one DynamoDB table every capability keeps its items in: the helpers they share, no item layout.

Partition key ``pk`` (string), TTL attribute ``expires_at``. Each capability reads and writes
its own key prefixes with its own store (the README's "Layout" lists them per package); what
they share is here: a key, a conditional failure told from a fault, and a consistent
BatchGetItem (one request may read items of several capabilities, each decoding its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.errors import ServiceUnavailable

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def condition_failed(error: ClientError) -> bool:
    """A conditional write refused (an expected outcome), as opposed to a fault."""
    return error_code(error) == "ConditionalCheckFailedException"


def cancelled_by_condition(error: ClientError, index: int | None = None) -> bool:
    """Whether a condition cancelled the transaction (that of item ``index``, if given)."""
    reasons = error.response.get("CancellationReasons", [])
    if index is not None:
        reasons = reasons[index : index + 1]
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


def batch_get(client: DynamoDBClient, table: str, keys: set[str], attempts: int = 3) -> dict[str, dict[str, Any]]:
    """Strongly consistent BatchGetItem of ``pk`` values, re-asking for unprocessed keys.

    Keys still unprocessed after ``attempts`` (sustained throttling) are a 503.
    """
    found: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {table: {"Keys": [key(pk) for pk in sorted(keys)], "ConsistentRead": True}}
    for _ in range(attempts):
        response = client.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = item
        request = dict(response.get("UnprocessedKeys") or {})
        if not request:
            return found
    raise ServiceUnavailable()
