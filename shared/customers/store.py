"""The customer store on DynamoDB: the customer's own items, in the one table (shared/table.py).

=====================  ==========================================================  ======================
item                   attributes                                                  written by
=====================  ==========================================================  ======================
``CUSTOMER#<id>``      customer_id, email, password_hash, is_active (BOOL),        authctl, login,
                       last_login (ISO-8601 or NULL), date_joined (ISO-8601),      accounts
                       tokens_valid_after (N, epoch seconds; absent = never),
                       first_name, last_name (absent = ""),
                       is_staff, is_superuser (BOOL; absent = false), groups (L of
                       S, Django's group names; absent = none): from an import,
                       email_verified (BOOL; absent = verified),
                       expires_at (only while a required confirmation is awaited:
                       a registration nobody confirms disappears by TTL)
``EMAIL#<email>``      customer_id, password_hash, is_active, tokens_valid_after,  same transaction
                       email_verified, expires_at, is_staff, is_superuser, groups,
                       mfa (shared/mfa/store.py) (copies: opening a session reads one item)
``EMAILCI#<identity>`` customer_id: claims the email in lower case (expires_at     same transaction
                       too while unverified)
``COUNTER#customer``   next_id (N, ADD)                                            create without an id
``COUNTER#legacy``     imported hashes waiting for their upgrade: shared/customers/legacy_hashes.py
=====================  ==========================================================  ======================

Requests per operation:

- login: ``EMAIL#`` (it carries the hash and the flag) read in the login guard's
  BatchGetItem (shared/customers/login_guard.py), then one UpdateItem of ``last_login`` or, when
  the hash is upgraded, one TransactWriteItems touching both items (and one ADD of -1 on
  its kind's count in ``COUNTER#legacy`` for an imported hash). ``COUNTER#legacy`` is read in
  the same BatchGetItem: one small item tells a refusal which dummy to pad with.
- refresh: one consistent GetItem of ``CUSTOMER#<id>``.
- create: one TransactWriteItems putting the three items with ``attribute_not_exists``, so
  an email is unique, whatever its case, without a read-then-write race (plus one ADD on
  the counter when no id is given, given back if the create is refused).

The session items (``JTI#``, ``FAMILY#``) are described in shared/tokens/sessions.py, which reads
them in the same BatchGetItem as ``CUSTOMER#``.

Emails follow shared/customers/emails.py: ``EMAIL#`` is the email exactly as stored (a login matches
it exactly, as Django does); ``EMAILCI#`` holds its lower-case identity, so no two customers
share an email in different cases. Customers written before ``EMAILCI#`` existed have none
and still log in; ``find_by_email`` finds them by their exact email, and ``authctl
claim-emails`` (shared/customers/imports.py) writes their claims once. Other capabilities keep
their items with their own stores: the README's "Layout" lists every prefix and its owner.
Timestamps are fixed-width ISO-8601 UTC with microseconds, so string order is time order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.customers.emails import email_identity
from shared.customers.ids import COUNTER_KEY, CustomerIds
from shared.customers.legacy_hashes import LegacyHashes
from shared.customers.record import (
    CUSTOMER_PREFIX,
    EMAIL_IDENTITY_PREFIX,
    EMAIL_PREFIX,
    MAX_EMAIL_LENGTH,
    ROLE_ASSIGNMENT,
    Customer,
    CustomerChanged,
    DuplicateCustomer,
    LoginOutcome,
    LoginRecord,
    Registration,
    customer_from_item,
    customer_item,
    email_item,
    identity_item,
    login_record_from_item,
    pending_item,
    role_values,
    utc_now_iso,
)
from shared.table import cancelled_by_condition, condition_failed, error_code, key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class CustomerStore:
    """Reads and conditional writes of customers through a low-level boto3 client."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock
        self.legacy_hashes = LegacyHashes(client, table_name)
        self._ids = CustomerIds(client, table_name)

    def find_login(self, email: str) -> LoginRecord | None:
        if not email or len(email) > MAX_EMAIL_LENGTH:
            return None
        item = self._client.get_item(TableName=self._table, Key=key(EMAIL_PREFIX + email), ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else login_record_from_item(email, item)

    def get(self, customer_id: str) -> Customer | None:
        item = self._client.get_item(
            TableName=self._table, Key=key(CUSTOMER_PREFIX + customer_id), ConsistentRead=True
        ).get("Item")
        return None if item is None else customer_from_item(item)

    def record_login(self, login: LoginRecord, when: str) -> str:
        """Set ``last_login`` if the customer still has the hash and flag the login checked.

        UpdateItem, never PutItem: it cannot create a phantom item (``attribute_exists``)
        and touches only ``last_login``, which only moves forward.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key(CUSTOMER_PREFIX + login.customer_id),
                UpdateExpression="SET last_login = :now",
                ConditionExpression=(
                    "attribute_exists(pk) AND password_hash = :hash AND is_active = :true "
                    "AND (attribute_type(last_login, :null_type) OR attribute_not_exists(last_login) "
                    "OR last_login < :now)"
                ),
                ExpressionAttributeValues={
                    ":now": {"S": when},
                    ":hash": {"S": login.password_hash},
                    ":true": {"BOOL": True},
                    ":null_type": {"S": "NULL"},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            old: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            if old and old["password_hash"]["S"] == login.password_hash and old["is_active"].get("BOOL"):
                return LoginOutcome.RECORDED  # a concurrent login already wrote a later time
            return LoginOutcome.STALE
        return LoginOutcome.RECORDED

    def upgrade_hash_and_record_login(self, login: LoginRecord, new_hash: str, when: str | None) -> str:
        """Replace an outdated hash on both items, only if neither changed since the read."""
        customer_update = "SET password_hash = :new" + (", last_login = :now" if when else "")
        values: dict[str, Any] = {":old": {"S": login.password_hash}, ":new": {"S": new_hash}, ":true": {"BOOL": True}}
        customer_values = dict(values, **({":now": {"S": when}} if when else {}))
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(CUSTOMER_PREFIX + login.customer_id),
                            "UpdateExpression": customer_update,
                            "ConditionExpression": "password_hash = :old AND is_active = :true",
                            "ExpressionAttributeValues": customer_values,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(EMAIL_PREFIX + login.email),
                            "UpdateExpression": "SET password_hash = :new",
                            "ConditionExpression": "password_hash = :old AND is_active = :true AND customer_id = :id",
                            "ExpressionAttributeValues": dict(values, **{":id": {"S": login.customer_id}}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error):
                return LoginOutcome.STALE
            raise
        return LoginOutcome.RECORDED

    def create(
        self,
        email: str,
        password_hash: str,
        *,
        customer_id: str | None = None,
        is_active: bool = True,
        date_joined: str | None = None,
        last_login: str | None = None,
        email_verified: bool = True,
        pending_until: int | None = None,
    ) -> Customer:
        """Create a customer and its email item atomically; DuplicateCustomer if either exists."""
        if not email or len(email) > MAX_EMAIL_LENGTH:
            raise ValueError("email must be 1 to 254 characters")
        allocated = None if customer_id else self._ids.next()
        customer = Customer(
            customer_id=customer_id or str(allocated),
            email=email,
            password_hash=password_hash,
            is_active=is_active,
            last_login=last_login,
            date_joined=date_joined or utc_now_iso(),
            email_verified=email_verified,
        )
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": pending_item(customer_item(customer), customer.email_verified, pending_until),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": pending_item(email_item(customer), customer.email_verified, pending_until),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": pending_item(identity_item(customer), customer.email_verified, pending_until),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error):
                id_taken = cancelled_by_condition(error, index=0)
                if allocated is not None and not id_taken:  # an id held by another customer stays used
                    self._ids.give_back(allocated)
                raise DuplicateCustomer("id" if id_taken else "email", customer_id or email) from None
            raise
        return customer

    def register(self, email: str, password_hash: str, pending_until: int | None) -> tuple[str, Customer]:
        """A self-registration: a new unverified customer, or a pending one given this password.

        A pending (unverified) address never blocks anyone: each registration replaces its
        password and extends its life, and only a key confirmed with its own registration's
        password counts (shared/accounts/service.py keeps each registration's hash with its key; no
        pending password logs in). A verified address
        is left alone. A half-expired pending pair is cleared, a taken id skipped, and the create retried.
        ``pending_until`` is when an unconfirmed registration disappears by TTL; None (verification
        off) keeps it, and since an unverified customer can then log in, an existing one is TAKEN:
        its password is never replaced by someone else's registration.
        """
        for _ in range(3):
            try:
                created = self.create(email, password_hash, email_verified=False, pending_until=pending_until)
                return Registration.NEW, created
            except DuplicateCustomer as duplicate:
                if duplicate.taken == "id":
                    continue  # a customer created with an explicit id holds the next id: take another
                existing = self.find_by_email(email)
            if existing is None:  # an unverified customer's items half removed by TTL: clear the rest
                self._clear_expiring_claims(email)
                continue
            if existing.email_verified or pending_until is None:
                return Registration.TAKEN, existing
            self._update_both(
                existing,
                "password_hash = :hash, expires_at = :expires",
                {":hash": {"S": password_hash}, ":expires": {"N": str(pending_until)}, ":false": {"BOOL": False}},
                condition="email_verified = :false",
                claim="SET expires_at = :expires",
            )
            return Registration.PENDING, existing
        raise CustomerChanged()

    def confirm_email(self, customer: Customer, password_hash: str, spend: dict[str, Any]) -> None:
        """The address is proven: the confirmed registration's password, no expiry, and every
        token issued before now revoked (with optional verification, a squatter's sessions).

        ``spend`` (the key's one-time write) is in the same transaction: a throttled or
        conflicting write spends nothing, a spent key or a changed customer is CustomerChanged.
        """
        self._update_both(
            customer,
            "password_hash = :hash, email_verified = :true, tokens_valid_after = :revoke REMOVE expires_at",
            {":hash": {"S": password_hash}, ":true": {"BOOL": True}, ":false": {"BOOL": False}},
            condition="email_verified = :false",
            claim="REMOVE expires_at",
            spend=spend,
            revoke_now=True,
        )

    def replace_password(
        self, customer: Customer, new_hash: str, *, verify: bool, spend: dict[str, Any] | None = None
    ) -> float:
        """A change or reset: only if the hash is still the one checked; ``verify`` (a reset
        proves the mailbox) also confirms the address; ``spend`` (a reset link's one-time
        write) goes in the same transaction. CustomerChanged if anything moved. Returns the
        revocation time written, which the caller's new tokens must wait out."""
        assignment = "password_hash = :hash, tokens_valid_after = :revoke"
        values: dict[str, Any] = {":hash": {"S": new_hash}, ":old": {"S": customer.password_hash}}
        if verify:
            assignment += ", email_verified = :true REMOVE expires_at"
            values[":true"] = {"BOOL": True}
        claim = "REMOVE expires_at" if verify and not customer.email_verified else None
        return self._update_both(
            customer, assignment, values, condition="password_hash = :old", claim=claim, spend=spend, revoke_now=True
        )

    def set_mfa(self, customer: Customer, on: bool, writes: list[dict[str, Any]]) -> float:
        """The ``mfa`` copy with shared/mfa/store.py's ``writes``; earlier tokens revoked; the password unchanged."""
        values = {":on": {"BOOL": on}, ":old": {"S": customer.password_hash}}
        update = "mfa = :on, tokens_valid_after = :revoke"
        return self._update_both(customer, update, values, "password_hash = :old", more=writes, revoke_now=True)

    def set_names(self, customer_id: str, first_name: str, last_name: str) -> Customer | None:
        """first_name / last_name of an existing customer; None when it is gone."""
        try:
            item = self._client.update_item(
                TableName=self._table,
                Key=key(CUSTOMER_PREFIX + customer_id),
                UpdateExpression="SET first_name = :first, last_name = :last",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":first": {"S": first_name}, ":last": {"S": last_name}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return customer_from_item(item)

    def find_by_email(self, email: str) -> Customer | None:
        """The customer with this email, typed in any case (for operators; a login is exact)."""
        login = self.find_login(email)
        if login is not None:
            return self.get(login.customer_id)
        if not email or len(email) > MAX_EMAIL_LENGTH:
            return None
        claim = self._client.get_item(
            TableName=self._table, Key=key(EMAIL_IDENTITY_PREFIX + email_identity(email)), ConsistentRead=True
        ).get("Item")
        return None if claim is None else self.get(claim["customer_id"]["S"])

    def set_password_hash(self, customer: Customer, new_hash: str, revoke_at: float) -> None:
        """Replace the hash on both items and revoke every token issued before ``revoke_at``."""
        self._update_both(
            customer,
            "password_hash = :value, tokens_valid_after = :revoke",
            {":value": {"S": new_hash}, ":revoke": _number(revoke_at)},
        )

    def set_active(self, customer: Customer, active: bool, revoke_at: float | None = None) -> None:
        if revoke_at is None:
            self._update_both(customer, "is_active = :value", {":value": {"BOOL": active}})
        else:
            self._update_both(
                customer,
                "is_active = :value, tokens_valid_after = :revoke",
                {":value": {"BOOL": active}, ":revoke": _number(revoke_at)},
            )

    def revoke_sessions(self, customer: Customer, revoke_at: float) -> None:
        """Every token issued before ``revoke_at`` stops working (refresh now, access at the
        authorizer when its customer check is on)."""
        self._update_both(customer, "tokens_valid_after = :revoke", {":revoke": _number(revoke_at)})

    def set_roles(
        self, customer: Customer, is_staff: bool, is_superuser: bool, groups: tuple[str, ...], revoke_at: float
    ) -> None:
        """The staff fields on both items, in one write with a revocation: no token outlives its roles."""
        values = {**role_values(is_staff, is_superuser, groups), ":revoke": _number(revoke_at)}
        self._update_both(customer, f"{ROLE_ASSIGNMENT}, tokens_valid_after = :revoke", values)

    def delete(self, customer: Customer, more: list[dict[str, Any]] | None = None) -> None:
        """The customer's items, and ``more`` (what other packages keep of theirs) in the same
        transaction: CustomerChanged if anything changed since it was read."""
        owned = "customer_id = :id"
        values = {":id": {"S": customer.customer_id}}
        self._transact(
            [
                {"Delete": self._conditioned(CUSTOMER_PREFIX + customer.customer_id, owned, values)},
                {"Delete": self._conditioned(EMAIL_PREFIX + customer.email, owned, values)},
                {
                    "Delete": self._conditioned(
                        EMAIL_IDENTITY_PREFIX + email_identity(customer.email),
                        f"attribute_not_exists(pk) OR {owned}",  # customers from before EMAILCI# have none
                        values,
                    )
                },
                *(more or []),
            ]
        )

    def _update_both(
        self,
        customer: Customer,
        assignment: str,
        values: dict[str, Any],
        condition: str = "",
        claim: str | None = None,
        spend: dict[str, Any] | None = None,
        revoke_now: bool = False,
        more: list[dict[str, Any]] | None = None,
    ) -> float:
        """One change to both customer items; ``claim`` also updates the email claim's TTL, for
        an unverified customer (created by a registration, so it always has one); ``spend``
        is one more item of the same transaction (a link's one-time write), ``more`` others.

        ``revoke_now`` sets ``:revoke`` to the revocation time here, right before the write:
        taken before an argon2 hash, it would let a refresh minted during the hash, in the
        next whole second, outlive the change. Rounded up to the second, as authctl does.
        Returns that time (0 when nothing is revoked).
        """
        owned = "customer_id = :id" + (f" AND {condition}" if condition else "")
        revoke_at = float(math.ceil(self._clock())) if revoke_now else 0.0
        values = {**values, ":id": {"S": customer.customer_id}}
        if revoke_now:
            values[":revoke"] = _number(revoke_at)
        update = {"UpdateExpression": f"SET {assignment}"}
        items: list[dict[str, Any]] = [
            {"Update": {**self._conditioned(CUSTOMER_PREFIX + customer.customer_id, owned, values), **update}},
            {"Update": {**self._conditioned(EMAIL_PREFIX + customer.email, owned, values), **update}},
        ]
        if claim is not None:
            claim_key = EMAIL_IDENTITY_PREFIX + email_identity(customer.email)
            claim_values = {name: value for name, value in values.items() if name in (":id", ":expires")}
            items.append(
                {
                    "Update": {
                        **self._conditioned(claim_key, "customer_id = :id", claim_values),
                        "UpdateExpression": claim,
                    }
                }
            )
        if spend is not None:
            items.append(spend)
        items.extend(more or [])
        self._transact(items)
        return revoke_at

    def _clear_expiring_claims(self, email: str) -> None:
        """Delete what is left of an unverified customer whose other items TTL removed first."""
        for pk in (EMAIL_PREFIX + email, EMAIL_IDENTITY_PREFIX + email_identity(email)):
            try:
                self._client.delete_item(
                    TableName=self._table, Key=key(pk), ConditionExpression="attribute_exists(expires_at)"
                )
            except ClientError as error:
                if not condition_failed(error):
                    raise

    def _conditioned(self, pk: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": key(pk),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and cancelled_by_condition(error):
                raise CustomerChanged() from None
            raise

    def revocation_time(self) -> float:
        """When a revocation made now takes effect, on DynamoDB's clock, not the caller's.

        An operator's machine can be minutes off: behind, its revocation misses tokens minted
        just before it; ahead, it refuses every new login's tokens until it is caught up.
        DynamoDB's ``Date`` header (whole seconds, truncated) plus one second is at or after
        this moment on AWS's clock and at most a second ahead, which a login waits out
        (shared/customers/login.py). Without the header (an emulator without one), the local clock
        rounded up to the second.
        """
        response = self._client.get_item(TableName=self._table, Key=key(COUNTER_KEY), ProjectionExpression="pk")
        date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if date:
            return parsedate_to_datetime(date).timestamp() + 1
        return float(math.ceil(time.time()))


def _number(value: float) -> dict[str, str]:
    """Milliseconds, rounded up: a revocation never moves earlier than the moment it was made."""
    return {"N": f"{math.ceil(value * 1000) / 1000:.3f}"}
