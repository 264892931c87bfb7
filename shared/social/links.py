"""Which customer a provider's subject signs in as: the social package's own items.

===================================  =========================================================
item                                 attributes
===================================  =========================================================
``SOCIAL#<provider>#<sub>``          customer_id, email (as the provider gave it), date_joined
``SOCIALS#<customer id>``            one map per linked provider (``google``, ``apple``):
                                     sub, email, date_joined; ``version`` (N, +1 per change)
===================================  =========================================================

An account is found by the provider's subject, never by email: a customer whose email changed
at the provider (or here) still signs in as themselves. A link is two items written in one
transaction, each conditional on being new, so one subject belongs to one customer and a
customer has at most one subject per provider. Removing one is conditional on the customer's
``version`` read by the caller, so two removals at once cannot both pass the last-way-in rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.customers.record import drf_datetime
from shared.social.identity import Provider
from shared.table import cancelled_by_condition, error_code, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SOCIAL_PREFIX = "SOCIAL#"
CUSTOMER_LINKS_PREFIX = "SOCIALS#"


class LinkConflict(Exception):
    """The subject is already linked, or the customer already has another subject of this provider."""


class LinksChanged(Exception):
    """The customer's links changed since they were read."""


@dataclass(frozen=True)
class Link:
    provider: Provider
    subject: str
    email: str
    date_joined: str

    def body(self) -> dict[str, Any]:
        """As dj-rest-auth's SocialAccountSerializer names them (``uid`` is the subject)."""
        return {
            "provider": str(self.provider),
            "uid": self.subject,
            "email": self.email,
            "date_joined": drf_datetime(self.date_joined),
        }


@dataclass(frozen=True)
class CustomerLinks:
    customer_id: str
    links: dict[Provider, Link]
    version: int

    def body(self) -> list[dict[str, Any]]:
        return [self.links[provider].body() for provider in Provider if provider in self.links]


class SocialLinks:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def customer_of(self, provider: Provider, subject: str) -> str | None:
        """The customer this subject signs in as, if linked."""
        item = self._client.get_item(
            TableName=self._table, Key=key(_subject_key(provider, subject)), ConsistentRead=True
        ).get("Item")
        return None if item is None else item["customer_id"]["S"]

    def of_customer(self, customer_id: str) -> CustomerLinks:
        item = (
            self._client.get_item(
                TableName=self._table, Key=key(CUSTOMER_LINKS_PREFIX + customer_id), ConsistentRead=True
            ).get("Item")
            or {}
        )
        links = {
            provider: Link(
                provider,
                item[provider]["M"]["sub"]["S"],
                item[provider]["M"]["email"]["S"],
                item[provider]["M"]["date_joined"]["S"],
            )
            for provider in Provider
            if provider in item
        }
        return CustomerLinks(customer_id, links, int(item.get("version", {}).get("N", "0")))

    def link(self, customer_id: str, provider: Provider, subject: str, email: str, when: str) -> None:
        """Both items, or neither: LinkConflict if the subject or the customer's provider slot is taken."""
        link = {"sub": {"S": subject}, "email": {"S": email}, "date_joined": {"S": when}}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **key(_subject_key(provider, subject)),
                                "customer_id": {"S": customer_id},
                                "email": {"S": email},
                                "date_joined": {"S": when},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(CUSTOMER_LINKS_PREFIX + customer_id),
                            "UpdateExpression": "SET #provider = :link, version = if_not_exists(version, :zero) + :one",
                            "ConditionExpression": "attribute_not_exists(#provider)",
                            "ExpressionAttributeNames": {"#provider": str(provider)},
                            "ExpressionAttributeValues": {
                                ":link": {"M": link},
                                ":zero": {"N": "0"},
                                ":one": {"N": "1"},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error):
                raise LinkConflict() from None
            raise

    def import_link(self, customer_id: str, provider: Provider, subject: str, email: str, when: str) -> str:
        """A link migrated from django-allauth: "imported", "present" (a rerun) or "conflict"
        (the subject is another customer's, or the customer has another subject of the provider)."""
        try:
            self.link(customer_id, provider, subject, email, when)
        except LinkConflict:
            return "present" if self.customer_of(provider, subject) == customer_id else "conflict"
        return "imported"

    def unlink(self, links: CustomerLinks, provider: Provider) -> None:
        """Remove one link, only if nothing changed since ``links`` was read (else LinksChanged)."""
        link = links.links[provider]
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": key(_subject_key(provider, link.subject)),
                            "ConditionExpression": "customer_id = :id",
                            "ExpressionAttributeValues": {":id": {"S": links.customer_id}},
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(CUSTOMER_LINKS_PREFIX + links.customer_id),
                            "UpdateExpression": "REMOVE #provider SET version = version + :one",
                            "ConditionExpression": "version = :version",
                            "ExpressionAttributeNames": {"#provider": str(provider)},
                            "ExpressionAttributeValues": {
                                ":version": {"N": str(links.version)},
                                ":one": {"N": "1"},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error):
                raise LinksChanged() from None
            raise

    def erase_writes(self, links: CustomerLinks) -> list[dict[str, Any]]:
        """Deletes of every link of the customer's, for the transaction that deletes the customer:
        a link left behind would keep its subject from ever signing in (as anyone) again."""
        subjects = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": key(_subject_key(provider, link.subject)),
                    "ConditionExpression": "customer_id = :id",
                    "ExpressionAttributeValues": {":id": {"S": links.customer_id}},
                }
            }
            for provider, link in links.links.items()
        ]
        own: dict[str, Any] = {"TableName": self._table, "Key": key(CUSTOMER_LINKS_PREFIX + links.customer_id)}
        if links.version:
            own["ConditionExpression"] = "version = :version"
            own["ExpressionAttributeValues"] = {":version": {"N": str(links.version)}}
        else:  # never linked when read: no first link may land meanwhile
            own["ConditionExpression"] = "attribute_not_exists(version)"
        return [*subjects, {"Delete": own}]


def _subject_key(provider: Provider, subject: str) -> str:
    return f"{SOCIAL_PREFIX}{provider}#{subject}"
