"""`make local PERSIST=1`: moto's storage kept in a file between runs.

moto keeps everything in memory and has no snapshot of its own (its recorder replays
requests, which would replay expired locks and retired tokens with new times). So the
local server saves what the service owns itself: every item of the table and the current
value of each secret, in DynamoDB's JSON form, when it stops; and puts them back when it
starts, before the demo customer is seeded. A server killed with SIGKILL saves nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import boto3

FORMAT = 1


def save(path: Path, region: str, table: str, secret_ids: Iterable[str]) -> int:
    """Write the table's items and the secrets' current values to ``path``; the item count."""
    dynamodb = boto3.client("dynamodb", region_name=region)
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    secrets_client = boto3.client("secretsmanager", region_name=region)
    secrets = {
        secret_id: secrets_client.get_secret_value(SecretId=secret_id)["SecretString"] for secret_id in secret_ids
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"format": FORMAT, "table": table, "items": items, "secrets": secrets}))
    os.replace(partial, path)  # a stop cut short never leaves half a file
    return len(items)


def restore_secrets(path: Path, region: str) -> None:
    """Create the saved secrets (before the server would create fresh ones)."""
    state = _read(path)
    client = boto3.client("secretsmanager", region_name=region)
    for secret_id, value in state.get("secrets", {}).items():
        client.create_secret(Name=secret_id, SecretString=value)


def restore_items(path: Path, region: str, table: str) -> int:
    """Put the saved items back into the (new, empty) table; the item count."""
    items = _read(path).get("items", [])
    client = boto3.client("dynamodb", region_name=region)
    for start in range(0, len(items), 25):  # BatchWriteItem's limit
        pending: Any = {table: [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    return len(items)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    state: dict[str, Any] = json.loads(path.read_text())
    if state.get("format") != FORMAT:
        raise ValueError(f"{path} was written by another version; delete it to start afresh")
    return state
