"""The customer store on DynamoDB: the only module that knows the table's item layout.

One table, partition key ``pk`` (string), TTL attribute ``expires_at``:

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
                       email_verified, expires_at (copies, so a login needs this
                       one item)
``EMAILCI#<identity>`` customer_id: claims the email in lower case (expires_at     same transaction
                       too while unverified)
``COUNTER#customer``   next_id (N, ADD)                                            create without an id
``COUNTER#legacy``     per imported kind ``<k>`` (pbkdf2_sha256, bcrypt, scrypt...)  import-django (ADD,
                       not upgraded yet: count_<k> (N), dummy_<k> (S): a hash at   SET), login (ADD -1
                       the costliest parameters imported of it, seconds_<k> (N):   on count_<k>)
                       its verify time as measured at import (count, dummy_hash:
                       an older import's, all kinds in one, spent the same way)
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
claim-emails`` (``claim_email_identity``) writes their claims once.
Timestamps are fixed-width ISO-8601 UTC with microseconds, so string order is time order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.customers.emails import email_identity
from shared.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CUSTOMER_PREFIX = "CUSTOMER#"
EMAIL_PREFIX = "EMAIL#"
EMAIL_IDENTITY_PREFIX = "EMAILCI#"
COUNTER_KEY = "COUNTER#customer"
LEGACY_HASHES_KEY = "COUNTER#legacy"
UNSPLIT_LEGACY_KIND = "unsplit"  # COUNTER#legacy's count and dummy_hash, from an older import
# Django's AbstractBaseUser email field; longer values cannot belong to a customer.
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class LoginRecord:
    """What a login needs, read from the ``EMAIL#`` item in one request."""

    customer_id: str
    email: str
    password_hash: str
    is_active: bool
    tokens_valid_after: float | None = None
    email_verified: bool = True


@dataclass(frozen=True)
class Customer:
    customer_id: str
    email: str
    password_hash: str
    is_active: bool
    last_login: str | None
    date_joined: str
    # Epoch seconds: tokens issued before this moment are revoked (authctl revoke-sessions,
    # set-password, deactivate).
    tokens_valid_after: float | None = None
    # Registered through the API and not yet confirmed (authctl's and imported customers are).
    email_verified: bool = True
    first_name: str = ""
    last_name: str = ""
    # Django's staff fields, kept from an import (nothing reads them yet; roles come next).
    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = ()

    def revoked(self, issued_at: int | None) -> bool:
        """simplejwt's integer ``iat`` cannot order two events within one second: a token from
        the second of a revocation counts as revoked (login waits out that second)."""
        if self.tokens_valid_after is None:
            return False
        return issued_at is None or issued_at < self.tokens_valid_after


@dataclass(frozen=True)
class LegacyCost:
    """One imported hash kind still waiting for upgrades (``COUNTER#legacy``): a dummy hash at
    the costliest parameters imported of it, and that dummy's verify time at import."""

    kind: str
    dummy_hash: str
    seconds: float


class LoginOutcome:
    """What a conditional last_login / hash write found."""

    RECORDED = "recorded"
    STALE = "stale"  # the hash or the flag changed since it was read: refuse the login


class Registration:
    """What a self-registration found at the address."""

    NEW = "new"  # created, unverified
    PENDING = "pending"  # an unverified customer already had it: its password is replaced
    TAKEN = "taken"  # a customer who can log in has it: nothing changes


class DuplicateCustomer(Exception):
    """The email or the id is already taken; ``taken`` says which ("email" or "id")."""

    def __init__(self, taken: str, value: str) -> None:
        super().__init__(f"a customer with {taken} {value} already exists")
        self.taken = taken
        self.value = value


class CustomerChanged(Exception):
    """The customer was deleted or changed email between the read and the write."""


def public_id(customer_id: str) -> int | str:
    """The id as the API shows it: Django's integer primary key (ids are digits but for tests)."""
    return int(customer_id) if customer_id.isdigit() else customer_id


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def drf_datetime(value: str | None) -> str | None:
    """A stored UTC time as the API shows it: DRF renders UTC datetimes with a ``Z`` suffix."""
    if value is None:
        return None
    return value[:-6] + "Z" if value.endswith("+00:00") else value


class CustomerStore:
    """Reads and conditional writes of customers through a low-level boto3 client."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def find_login(self, email: str) -> LoginRecord | None:
        if not email or len(email) > MAX_EMAIL_LENGTH:
            return None
        item = self._client.get_item(TableName=self._table, Key=_key(EMAIL_PREFIX + email), ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else login_record_from_item(email, item)

    def get(self, customer_id: str) -> Customer | None:
        item = self._client.get_item(
            TableName=self._table, Key=_key(CUSTOMER_PREFIX + customer_id), ConsistentRead=True
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
                Key=_key(CUSTOMER_PREFIX + login.customer_id),
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
            if _code(error) != "ConditionalCheckFailedException":
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
                            "Key": _key(CUSTOMER_PREFIX + login.customer_id),
                            "UpdateExpression": customer_update,
                            "ConditionExpression": "password_hash = :old AND is_active = :true",
                            "ExpressionAttributeValues": customer_values,
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": _key(EMAIL_PREFIX + login.email),
                            "UpdateExpression": "SET password_hash = :new",
                            "ConditionExpression": "password_hash = :old AND is_active = :true AND customer_id = :id",
                            "ExpressionAttributeValues": dict(values, **{":id": {"S": login.customer_id}}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if _code(error) == "TransactionCanceledException" and _cancelled_by_condition(error):
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
        allocated = None if customer_id else self._next_id()
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
                            "Item": _pending(_customer_item(customer), customer.email_verified, pending_until),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _pending(_email_item(customer), customer.email_verified, pending_until),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _pending(_identity_item(customer), customer.email_verified, pending_until),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if _code(error) == "TransactionCanceledException" and _cancelled_by_condition(error):
                id_taken = _cancelled_by_condition(error, index=0)
                if allocated is not None and not id_taken:  # an id held by another customer stays used
                    self._give_back_id(allocated)
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

    def set_names(self, customer_id: str, first_name: str, last_name: str) -> Customer | None:
        """first_name / last_name of an existing customer; None when it is gone."""
        try:
            item = self._client.update_item(
                TableName=self._table,
                Key=_key(CUSTOMER_PREFIX + customer_id),
                UpdateExpression="SET first_name = :first, last_name = :last",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":first": {"S": first_name}, ":last": {"S": last_name}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
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
            TableName=self._table, Key=_key(EMAIL_IDENTITY_PREFIX + email_identity(email)), ConsistentRead=True
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

    def delete(self, customer: Customer) -> None:
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
            ]
        )

    def reserve_ids_up_to(self, largest_id: int) -> None:
        """Move the id counter past ``largest_id`` (imported ids) so new ids never collide."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(COUNTER_KEY),
                UpdateExpression="SET next_id = :largest",
                ConditionExpression="attribute_not_exists(next_id) OR next_id < :largest",
                ExpressionAttributeValues={":largest": {"N": str(largest_id)}},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise

    def _update_both(
        self,
        customer: Customer,
        assignment: str,
        values: dict[str, Any],
        condition: str = "",
        claim: str | None = None,
        spend: dict[str, Any] | None = None,
        revoke_now: bool = False,
    ) -> float:
        """One change to both customer items; ``claim`` also updates the email claim's TTL, for
        an unverified customer (created by a registration, so it always has one); ``spend``
        is one more item of the same transaction (a link's one-time write).

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
        self._transact(items)
        return revoke_at

    def _clear_expiring_claims(self, email: str) -> None:
        """Delete what is left of an unverified customer whose other items TTL removed first."""
        for pk in (EMAIL_PREFIX + email, EMAIL_IDENTITY_PREFIX + email_identity(email)):
            try:
                self._client.delete_item(
                    TableName=self._table, Key=_key(pk), ConditionExpression="attribute_exists(expires_at)"
                )
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":
                    raise

    def _conditioned(self, pk: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": _key(pk),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def _transact(self, items: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            if _code(error) == "TransactionCanceledException" and _cancelled_by_condition(error):
                raise CustomerChanged() from None
            raise

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
            (EMAIL_IDENTITY_PREFIX + email_identity(customer.email), _identity_item(customer)),
            (EMAIL_PREFIX + customer.email, _pending(_email_item(customer), customer.email_verified, None)),
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
                Item=_pending(_customer_item(customer), customer.email_verified, None),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
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
        owner = self._claim(_identity_item(customer))
        if owner is None:
            return "claimed"
        return "present" if owner == customer.customer_id else "conflict"

    def revocation_time(self) -> float:
        """When a revocation made now takes effect, on DynamoDB's clock, not the caller's.

        An operator's machine can be minutes off: behind, its revocation misses tokens minted
        just before it; ahead, it refuses every new login's tokens until it is caught up.
        DynamoDB's ``Date`` header (whole seconds, truncated) plus one second is at or after
        this moment on AWS's clock and at most a second ahead, which a login waits out
        (shared/customers/login.py). Without the header (an emulator without one), the local clock
        rounded up to the second.
        """
        response = self._client.get_item(TableName=self._table, Key=_key(COUNTER_KEY), ProjectionExpression="pk")
        date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
        if date:
            return parsedate_to_datetime(date).timestamp() + 1
        return float(math.ceil(time.time()))

    def legacy_costs(self) -> dict[str, LegacyCost]:
        """Every kind ``COUNTER#legacy`` records, waiting or not (what an import compares with)."""
        item = self._client.get_item(TableName=self._table, Key=_key(LEGACY_HASHES_KEY), ConsistentRead=True)
        return {cost.kind: cost for cost in _legacy_costs(item.get("Item"), waiting_only=False)}

    def add_legacy_hashes(self, counts: dict[str, int], costs: dict[str, LegacyCost]) -> None:
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
            Key=_key(LEGACY_HASHES_KEY),
            UpdateExpression=update,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def legacy_hash_upgraded(self, kind: str) -> None:
        """One imported hash of ``kind`` fewer (its customer's first login upgraded it); never
        below zero. None of the kind counted: it came from an import before kinds were told
        apart, whose single count goes down instead."""
        for counter in (f"count_{kind}", "count"):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(LEGACY_HASHES_KEY),
                    UpdateExpression="ADD #count :minus_one",
                    ConditionExpression="#count > :zero",
                    ExpressionAttributeNames={"#count": counter},
                    ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
                )
                return
            except ClientError as error:
                if _code(error) != "ConditionalCheckFailedException":
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
            if _code(error) != "ConditionalCheckFailedException":
                raise
            return str((error.response.get("Item") or {}).get("customer_id", {}).get("S"))  # type: ignore[attr-defined]
        return None

    def _release(self, keys: list[str], customer_id: str) -> None:
        for pk in keys:
            self._client.delete_item(
                TableName=self._table,
                Key=_key(pk),
                ConditionExpression="customer_id = :id",
                ExpressionAttributeValues={":id": {"S": customer_id}},
            )

    def _next_id(self) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=_key(COUNTER_KEY),
            UpdateExpression="ADD next_id :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["next_id"]["N"])

    def _give_back_id(self, allocated: int) -> None:
        """Undo ``_next_id`` after a refused create, unless a later create took an id since:
        a duplicate must not leave a gap in the ids."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(COUNTER_KEY),
                UpdateExpression="SET next_id = :previous",
                ConditionExpression="next_id = :allocated",
                ExpressionAttributeValues={":previous": {"N": str(allocated - 1)}, ":allocated": {"N": str(allocated)}},
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise


def _key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _cancelled_by_condition(error: ClientError, index: int | None = None) -> bool:
    """Whether a condition cancelled the transaction (that of item ``index``, if given)."""
    reasons = error.response.get("CancellationReasons", [])
    if index is not None:
        reasons = reasons[index : index + 1]
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


def _pending(item: dict[str, Any], email_verified: bool, pending_until: int | None) -> dict[str, Any]:
    """An unverified customer's items carry the flag (and, awaiting confirmation, their TTL)."""
    if email_verified:
        return item
    expiry = {} if pending_until is None else {"expires_at": {"N": str(pending_until)}}
    return {**item, "email_verified": {"BOOL": False}, **expiry}


def _customer_item(customer: Customer) -> dict[str, Any]:
    return {
        "pk": {"S": CUSTOMER_PREFIX + customer.customer_id},
        "customer_id": {"S": customer.customer_id},
        "email": {"S": customer.email},
        "password_hash": {"S": customer.password_hash},
        "is_active": {"BOOL": customer.is_active},
        "last_login": {"S": customer.last_login} if customer.last_login else {"NULL": True},
        "date_joined": {"S": customer.date_joined},
        **({"first_name": {"S": customer.first_name}} if customer.first_name else {}),
        **({"last_name": {"S": customer.last_name}} if customer.last_name else {}),
        **({"is_staff": {"BOOL": True}} if customer.is_staff else {}),
        **({"is_superuser": {"BOOL": True}} if customer.is_superuser else {}),
        **({"groups": {"L": [{"S": name} for name in customer.groups]}} if customer.groups else {}),
    }


def _email_item(customer: Customer) -> dict[str, Any]:
    return {
        "pk": {"S": EMAIL_PREFIX + customer.email},
        "customer_id": {"S": customer.customer_id},
        "password_hash": {"S": customer.password_hash},
        "is_active": {"BOOL": customer.is_active},
    }


def _identity_item(customer: Customer) -> dict[str, Any]:
    return {
        "pk": {"S": EMAIL_IDENTITY_PREFIX + email_identity(customer.email)},
        "customer_id": {"S": customer.customer_id},
    }


def login_record_from_item(email: str, item: dict[str, Any]) -> LoginRecord:
    return LoginRecord(
        customer_id=item["customer_id"]["S"],
        email=email,
        password_hash=item["password_hash"]["S"],
        is_active=item["is_active"]["BOOL"],
        tokens_valid_after=_optional_number(item.get("tokens_valid_after")),
        email_verified=item.get("email_verified", {}).get("BOOL", True),
    )


def legacy_costs_from_item(item: dict[str, Any] | None) -> tuple[LegacyCost, ...]:
    """The imported kinds refusals pad for: those with hashes still waiting for their upgrade.

    A count only errs high (a customer deleted or given a new password before their first
    login is never subtracted): unknown emails then pay that kind's verify a while longer.
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


def batch_get(client: DynamoDBClient, table: str, keys: set[str], attempts: int = 3) -> dict[str, dict[str, Any]]:
    """Strongly consistent BatchGetItem of ``pk`` values, re-asking for unprocessed keys.

    Keys still unprocessed after ``attempts`` (sustained throttling) are a 503.
    """
    found: dict[str, dict[str, Any]] = {}
    request: dict[str, Any] = {table: {"Keys": [_key(pk) for pk in sorted(keys)], "ConsistentRead": True}}
    for _ in range(attempts):
        response = client.batch_get_item(RequestItems=request)
        for item in response.get("Responses", {}).get(table, []):
            found[item["pk"]["S"]] = item
        request = dict(response.get("UnprocessedKeys") or {})
        if not request:
            return found
    raise ServiceUnavailable()


def customer_from_item(item: dict[str, Any]) -> Customer:
    last_login = item.get("last_login", {})
    return Customer(
        customer_id=item["customer_id"]["S"],
        email=item["email"]["S"],
        password_hash=item["password_hash"]["S"],
        is_active=item["is_active"]["BOOL"],
        last_login=last_login.get("S"),
        date_joined=item["date_joined"]["S"],
        tokens_valid_after=_optional_number(item.get("tokens_valid_after")),
        email_verified=item.get("email_verified", {}).get("BOOL", True),
        first_name=item.get("first_name", {}).get("S", ""),
        last_name=item.get("last_name", {}).get("S", ""),
        is_staff=item.get("is_staff", {}).get("BOOL", False),
        is_superuser=item.get("is_superuser", {}).get("BOOL", False),
        groups=tuple(name["S"] for name in item.get("groups", {}).get("L", [])),
    )


def _number(value: float) -> dict[str, str]:
    """Milliseconds, rounded up: a revocation never moves earlier than the moment it was made."""
    return {"N": f"{math.ceil(value * 1000) / 1000:.3f}"}


def _optional_number(attribute: Any) -> float | None:
    return float(attribute["N"]) if attribute and "N" in attribute else None
