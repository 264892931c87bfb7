"""Deleting a customer deletes everything that names them, in one transaction.

A Google or Apple link left behind (``SOCIAL#``) would keep its subject from ever signing in
again, even as a new customer; a passkey left behind (``PASSKEY#``) and the authenticator
(``MFA#``) would outlive the account they belonged to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.customers.store import CustomerStore
from shared.mfa.store import AUTHENTICATOR_PREFIX
from shared.passkeys.store import PasskeyStore
from shared.social.links import SocialLinks
from shared.table import key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.customers.record import Customer


def delete_customer(client: DynamoDBClient, table: str, customer: Customer) -> None:
    """The customer, their links, passkeys and authenticator; CustomerChanged if any of them
    changed between the reads and the write (nothing is deleted then)."""
    links = SocialLinks(client, table)
    owned: list[dict[str, Any]] = [
        *links.erase_writes(links.of_customer(customer.customer_id)),
        *PasskeyStore(client, table).erase_writes(customer.customer_id),
        # Unconditional (not MfaStore.delete_writes, which needs one there): an enrolment that
        # lands after the customer was read leaves no authenticator behind either.
        {"Delete": {"TableName": table, "Key": key(AUTHENTICATOR_PREFIX + customer.customer_id)}},
    ]
    CustomerStore(client, table).delete(customer, owned)
