"""The customer record: what a customer is, and how its items (``CUSTOMER#``, ``EMAIL#``,
``EMAILCI#``) are written and read back (shared/customers/store.py says which request uses which).

Separate from the store so that readers of a customer's item in another capability's request
(shared/tokens/sessions.py reads ``CUSTOMER#`` in its own BatchGetItem) decode it the same way
without loading the store's writes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.customers.emails import email_identity

CUSTOMER_PREFIX = "CUSTOMER#"
EMAIL_PREFIX = "EMAIL#"
EMAIL_IDENTITY_PREFIX = "EMAILCI#"
# Every CUSTOMER# item carries this value as ``listing`` and a sortable ``joined``: the
# partition and sort key of the CUSTOMERS_INDEX, staff's list of customers, newest first.
LISTING_KEY = "LIST#customer"
CUSTOMERS_INDEX = "customers-newest"
# Django's AbstractBaseUser email field; longer values cannot belong to a customer.
MAX_EMAIL_LENGTH = 254
# Django's set_unusable_password(): "!" and 40 random characters, which no hasher verifies
# (shared/customers/passwords.py refuses it at login and as the old password of a change).
UNUSABLE_PASSWORD_PREFIX = "!"


@dataclass(frozen=True)
class LoginRecord:
    """What a login needs, read from the ``EMAIL#`` item in one request."""

    customer_id: str
    email: str
    password_hash: str
    is_active: bool
    tokens_valid_after: float | None = None
    email_verified: bool = True
    # Django's staff fields, copied from ``CUSTOMER#`` so that opening a session reads one item.
    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = ()
    # TOTP MFA on (shared/mfa/): copied from the authenticator's transaction, so the opener
    # knows whether a way in needs the second step without reading another item.
    mfa: bool = False


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
    # Django's staff fields, kept from an import.
    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = ()
    mfa: bool = False

    def login_record(self) -> LoginRecord:
        """The customer as a way in other than the password login sees it."""
        return LoginRecord(
            customer_id=self.customer_id,
            email=self.email,
            password_hash=self.password_hash,
            is_active=self.is_active,
            tokens_valid_after=self.tokens_valid_after,
            email_verified=self.email_verified,
            is_staff=self.is_staff,
            is_superuser=self.is_superuser,
            groups=self.groups,
            mfa=self.mfa,
        )

    @property
    def has_usable_password(self) -> bool:
        """Django's ``has_usable_password``: a customer who signed up with Google or Apple has none."""
        return not self.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)

    def revoked(self, issued_at: int | None) -> bool:
        """simplejwt's integer ``iat`` cannot order two events within one second: a token from
        the second of a revocation counts as revoked (login waits out that second)."""
        if self.tokens_valid_after is None:
            return False
        return issued_at is None or issued_at < self.tokens_valid_after


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


def unusable_password() -> str:
    """A password hash that never verifies, each one different (as Django's make_password(None))."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def drf_datetime(value: str | None) -> str | None:
    """A stored UTC time as the API shows it: DRF renders UTC datetimes with a ``Z`` suffix."""
    if value is None:
        return None
    return value[:-6] + "Z" if value.endswith("+00:00") else value


def pending_item(item: dict[str, Any], email_verified: bool, pending_until: int | None) -> dict[str, Any]:
    """An unverified customer's items carry the flag (and, awaiting confirmation, their TTL)."""
    if email_verified:
        return item
    expiry = {} if pending_until is None else {"expires_at": {"N": str(pending_until)}}
    return {**item, "email_verified": {"BOOL": False}, **expiry}


def customer_item(customer: Customer) -> dict[str, Any]:
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
        **staff_attributes(customer),
        **listing_attributes(customer.customer_id, customer.date_joined),
    }


def listing_attributes(customer_id: str, date_joined: str) -> dict[str, Any]:
    """The index entry: ``joined`` orders by date joined, then by id (digits padded: 9 before 10)."""
    return {"listing": {"S": LISTING_KEY}, "joined": {"S": f"{date_joined}#{customer_id:0>20}"}}


def staff_attributes(customer: Customer) -> dict[str, Any]:
    """Written on both ``CUSTOMER#`` and ``EMAIL#``; absent means a plain customer."""
    return {
        **({"is_staff": {"BOOL": True}} if customer.is_staff else {}),
        **({"is_superuser": {"BOOL": True}} if customer.is_superuser else {}),
        **({"groups": {"L": [{"S": name} for name in customer.groups]}} if customer.groups else {}),
    }


ROLE_ASSIGNMENT = "is_staff = :staff, is_superuser = :superuser, groups = :groups"


def role_values(is_staff: bool, is_superuser: bool, groups: tuple[str, ...]) -> dict[str, Any]:
    """The values of ``ROLE_ASSIGNMENT``: the staff fields as an update writes them on both items."""
    return {
        ":staff": {"BOOL": is_staff},
        ":superuser": {"BOOL": is_superuser},
        ":groups": {"L": [{"S": name} for name in groups]},
    }


def email_item(customer: Customer) -> dict[str, Any]:
    return {
        "pk": {"S": EMAIL_PREFIX + customer.email},
        "customer_id": {"S": customer.customer_id},
        "password_hash": {"S": customer.password_hash},
        "is_active": {"BOOL": customer.is_active},
        **staff_attributes(customer),
    }


def identity_item(customer: Customer) -> dict[str, Any]:
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
        tokens_valid_after=optional_number(item.get("tokens_valid_after")),
        email_verified=item.get("email_verified", {}).get("BOOL", True),
        mfa=mfa_flag(item),
        **staff_fields(item),
    )


def mfa_flag(item: dict[str, Any]) -> bool:
    """``mfa`` (BOOL) on ``CUSTOMER#`` and ``EMAIL#``; absent means off."""
    return bool(item.get("mfa", {}).get("BOOL", False))


def staff_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "is_staff": item.get("is_staff", {}).get("BOOL", False),
        "is_superuser": item.get("is_superuser", {}).get("BOOL", False),
        "groups": tuple(name["S"] for name in item.get("groups", {}).get("L", [])),
    }


def customer_from_item(item: dict[str, Any]) -> Customer:
    last_login = item.get("last_login", {})
    return Customer(
        customer_id=item["customer_id"]["S"],
        email=item["email"]["S"],
        password_hash=item["password_hash"]["S"],
        is_active=item["is_active"]["BOOL"],
        last_login=last_login.get("S"),
        date_joined=item["date_joined"]["S"],
        tokens_valid_after=optional_number(item.get("tokens_valid_after")),
        email_verified=item.get("email_verified", {}).get("BOOL", True),
        first_name=item.get("first_name", {}).get("S", ""),
        last_name=item.get("last_name", {}).get("S", ""),
        mfa=mfa_flag(item),
        **staff_fields(item),
    )


def optional_number(attribute: Any) -> float | None:
    return float(attribute["N"]) if attribute and "N" in attribute else None
