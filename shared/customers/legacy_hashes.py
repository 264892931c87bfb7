"""``COUNTER#legacy``: how many imported (Django) hashes of each kind still wait for their upgrade.

One item: per kind ``<k>`` (pbkdf2_sha256, bcrypt, scrypt...) ``count_<k>`` (N), ``dummy_<k>``
(S: a hash at the costliest parameters imported of it) and ``seconds_<k>`` (N: its verify time
as measured at import); an older import's ``count`` and ``dummy_hash`` hold all kinds in one.
authctl import-django adds (ADD, SET), a login that upgrades a hash or a new password takes one
off (ADD -1), and the login guard reads the item in its BatchGetItem, so a refusal knows which
dummy to pad with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.table import condition_failed, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEGACY_HASHES_KEY = "COUNTER#legacy"
UNSPLIT_LEGACY_KIND = "unsplit"  # COUNTER#legacy's count and dummy_hash, from an older import


@dataclass(frozen=True)
class LegacyCost:
    """One imported hash kind still waiting for upgrades (``COUNTER#legacy``): a dummy hash at
    the costliest parameters imported of it, and that dummy's verify time at import."""

    kind: str
    dummy_hash: str
    seconds: float


class LegacyHashes:
    """Reads and writes of the ``COUNTER#legacy`` item."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def costs(self) -> dict[str, LegacyCost]:
        """Every kind ``COUNTER#legacy`` records, waiting or not (what an import compares with)."""
        item = self._client.get_item(TableName=self._table, Key=key(LEGACY_HASHES_KEY), ConsistentRead=True)
        return {cost.kind: cost for cost in _legacy_costs(item.get("Item"), waiting_only=False)}

    def add(self, counts: dict[str, int], costs: dict[str, LegacyCost]) -> None:
        """Count more imported hashes per kind waiting for their upgrade, in one UpdateItem; a
        kind in ``costs`` gets its dummy and time replaced (the caller keeps the slower one)."""
        if not counts and not costs:
            return
        clauses_add, clauses_set = [], []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        for index, (kind, count) in enumerate(sorted(counts.items())):
            names[f"#count{index}"] = f"count_{kind}"
            values[f":count{index}"] = {"N": str(count)}
            clauses_add.append(f"#count{index} :count{index}")
        for index, cost in enumerate(sorted(costs.values(), key=lambda cost: cost.kind)):
            names |= {f"#dummy{index}": f"dummy_{cost.kind}", f"#seconds{index}": f"seconds_{cost.kind}"}
            values |= {f":dummy{index}": {"S": cost.dummy_hash}, f":seconds{index}": {"N": f"{cost.seconds:.6f}"}}
            clauses_set += [f"#dummy{index} = :dummy{index}", f"#seconds{index} = :seconds{index}"]
        update = " ".join(
            f"{action} {', '.join(clauses)}"
            for action, clauses in (("ADD", clauses_add), ("SET", clauses_set))
            if clauses
        )
        self._client.update_item(
            TableName=self._table,
            Key=key(LEGACY_HASHES_KEY),
            UpdateExpression=update,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def upgraded(self, kind: str) -> None:
        """One imported hash of ``kind`` fewer (its customer's first login upgraded it); never
        below zero. None of the kind counted: it came from an import before kinds were told
        apart, whose single count goes down instead."""
        for counter in (f"count_{kind}", "count"):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key(LEGACY_HASHES_KEY),
                    UpdateExpression="ADD #count :minus_one",
                    ConditionExpression="#count > :zero",
                    ExpressionAttributeNames={"#count": counter},
                    ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
                )
                return
            except ClientError as error:
                if not condition_failed(error):
                    raise


def legacy_costs_from_item(item: dict[str, Any] | None) -> tuple[LegacyCost, ...]:
    """The imported kinds refusals pad for: those with hashes still waiting for their upgrade.

    A new password before the first login (a change, a reset, authctl set-password) takes
    one off as a login's upgrade does; a count only errs high (a customer deleted before
    their first login is never subtracted): unknown emails then pay that kind's verify a
    while longer.
    """
    return _legacy_costs(item, waiting_only=True)


def _legacy_costs(item: dict[str, Any] | None, waiting_only: bool) -> tuple[LegacyCost, ...]:
    item = item or {}
    costs = [
        LegacyCost(kind, item[f"dummy_{kind}"]["S"], float(item[f"seconds_{kind}"]["N"]))
        for kind in sorted(name.removeprefix("dummy_") for name in item if name.startswith("dummy_"))
        if not waiting_only or int(item.get(f"count_{kind}", {}).get("N", "0")) > 0
    ]
    if "dummy_hash" in item and int(item.get("count", {}).get("N", "0")) > 0:
        # An import from before kinds were told apart: one count, one dummy at their most
        # common cost, no time (it pads an unknown email, as it did, until its count is spent).
        costs.append(LegacyCost(UNSPLIT_LEGACY_KIND, item["dummy_hash"]["S"], 0.0))
    return tuple(costs)
