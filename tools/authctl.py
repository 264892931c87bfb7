"""authctl: manage the customers of a deployed stack or of `make local`.

The table is, in order: ``--table``, the ``CustomerTableName`` output of ``--stack``,
``TABLE_NAME`` from the environment, else the one `make local` uses. The endpoint is
botocore's own: ``AWS_ENDPOINT_URL_DYNAMODB`` points authctl at `make local`'s moto
server, DynamoDB Local or nothing (AWS). Passwords are read from a prompt or, with
``--password-stdin``, from standard input; they are never taken as arguments (shell
history) and never printed. Exit codes: 0 done, 1 failed, 2 bad usage.

Every command that prints JSON prints it as the API answers it: one line, times in UTC with
a ``Z`` (``2026-01-15T10:30:00.123456Z``), and a customer with the same fields whichever
command shows it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from pydantic import BaseModel, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from shared.accounts.forms import is_valid_email
from shared.accounts.password_policy import PasswordPolicy
from shared.aws import client_config
from shared.customers.emails import email_identity, normalize_email
from shared.customers.imports import CustomerImport
from shared.customers.legacy_hashes import LegacyCost, LegacyHashes
from shared.customers.passwords import (
    UNUSABLE,
    PasswordHasher,
    costliest,
    count_replaced,
    dummy_like,
    hash_kind,
    hash_problem,
    is_legacy,
)
from shared.customers.record import Customer, CustomerChanged, DuplicateCustomer, drf_datetime, public_id
from shared.customers.store import CustomerStore
from shared.mfa.imports import MODELS as MFA_MODELS
from shared.mfa.imports import ImportedMfa, UnreadableAuthenticator, read_row
from shared.settings import Settings
from shared.social.identity import Provider as SocialProvider
from shared.social.links import SocialLinks
from shared.tokens.authorizer import GROUP_SEPARATOR, ROLE_WORDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.mfa.imports import MfaImport

IMPORT_THREADS = 8


class UsageError(Exception):
    """Bad input from the operator: exit code 2 with the message."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args))
    except UsageError as error:
        print(f"authctl: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # an AWS or network fault: say what failed, not a traceback
        print(f"authctl: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="authctl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", help="DynamoDB table name (default: TABLE_NAME or make local's table)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION or us-east-1)")
    parser.add_argument("--stack", metavar="NAME", help="read the table name from this stack's outputs")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler: Any, help_text: str, by_email: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(command=handler)
        if by_email:
            sub.add_argument("--email", required=True, help="the customer's email, in any case")
        return sub

    create = command(
        "create-customer",
        _create,
        "create a customer (password prompted or from stdin); the email must pass registration's check "
        "(an ASCII local part), its domain is stored in lower case (an internationalised one as its "
        "xn-- A-label), and one email in another case is the same customer",
    )
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    create.add_argument("--inactive", action="store_true", help="create the customer deactivated")
    create.add_argument("--id", help="use this id instead of the next free one")
    set_password = command("set-password", _set_password, "replace a customer's password")
    set_password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    command("deactivate", _deactivate, "refuse the customer's logins and refreshes; revoke their sessions")
    command("activate", _activate, "allow the customer again")
    command("delete", _delete, "delete the customer, their email, provider links, passkeys and MFA")
    command("revoke-sessions", _revoke_sessions, "end every session: tokens issued before now stop working")
    staff = command("grant-staff", _grant_staff, "make the customer staff (Django's is_staff); revoke their sessions")
    staff.add_argument("--superuser", action="store_true", help="a superuser too (Django's is_superuser)")
    command("revoke-staff", _revoke_staff, "make the customer a plain customer again; revoke their sessions")
    groups = command("set-groups", _set_groups, "replace the customer's Django groups; revoke their sessions")
    groups.add_argument("groups", nargs="*", help="group names (none: no group)")
    keys = command(
        "rotate-keys",
        _rotate_keys,
        "add a signing key; signers use it after KEY_ACTIVATION_DELAY, once every verifier has it",
        by_email=False,
    )
    keys.add_argument("--secret-id", help="the signing-key secret (default: SIGNING_KEY_SECRET_ID)")
    keys.add_argument("--verification-secret-id", help="where to publish the public keys (default: none)")
    keys.add_argument("--algorithm", help="algorithm of the new key (default: ALGORITHM)")
    keys.add_argument(
        "--activate-now",
        action="store_true",
        help="sign with the new key at once (a stack nobody uses yet): verifiers with an older cached "
        "key set refuse its tokens until their caches expire",
    )
    show = command("show", _show, "print a customer as JSON (never the hash)", by_email=False)
    who = show.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the customer's email, in any case")
    who.add_argument("--id")
    command(
        "claim-emails",
        _claim_emails,
        "give every customer created before case-insensitive email claims existed its claim (safe to rerun)",
        by_email=False,
    )
    _mfa_commands(command)
    command(
        "index-customers",
        _index_customers,
        "put every customer created before staff's list of customers existed on it (safe to rerun)",
        by_email=False,
    )
    load = command("import-django", _import_django, "import a Django dumpdata JSON of customers", by_email=False)
    load.add_argument(
        "file",
        type=Path,
        help="output of `manage.py dumpdata <app>.Customer auth.group account.emailaddress "
        "socialaccount.socialaccount` (all but the first optional)",
    )
    load.add_argument("--threads", type=int, default=IMPORT_THREADS, help="parallel writers (default: %(default)s)")
    load.add_argument(
        "--accept-weak-hashes",
        action="store_true",
        help="import the pre-Django-1.4 kinds (salted and unsalted MD5/SHA1) too: a RISK, their hashes "
        "are cracked in seconds by whoever holds the table; they are upgraded at the first login",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_environ()
    region = args.region or settings.AWS_REGION
    table = args.table or (_stack_table(args.stack, region) if args.stack else settings.TABLE_NAME)
    return settings.replaced(AWS_REGION=region, TABLE_NAME=table)


def _stack_table(stack: str, region: str) -> str:
    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    for output in outputs.get("Outputs", []):
        if output["OutputKey"] == "CustomerTableName":
            return str(output["OutputValue"])
    raise UsageError(f"stack {stack} has no CustomerTableName output")


def _dynamodb(settings: Settings) -> DynamoDBClient:
    return boto3.session.Session().client("dynamodb", config=client_config(settings))


def _store(settings: Settings) -> CustomerStore:
    return CustomerStore(_dynamodb(settings), settings.TABLE_NAME)


def _customer_import(settings: Settings) -> CustomerImport:
    return CustomerImport(_dynamodb(settings), settings.TABLE_NAME)


def _customer(store: CustomerStore, email: str) -> Customer:
    customer = store.find_by_email(email)
    if customer is None:
        raise UsageError(f"no customer with email {email}")
    return customer


def _customer_by_id(store: CustomerStore, customer_id: str) -> Customer:
    customer = store.get(customer_id)
    if customer is None:
        raise UsageError(f"no customer with id {customer_id}")
    return customer


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: pipe it in and add --password-stdin")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise UsageError("the passwords do not match")
    if not password.strip():
        raise UsageError("the password is empty")
    return password


def _enforce_policy(settings: Settings, password: str, email: str) -> None:
    """The account endpoints' policy (Django's four validators): an operator gets no exemption."""
    policy = PasswordPolicy(settings.BREACHED_PASSWORD_CHECK, settings.BREACHED_PASSWORD_TIMEOUT)
    messages = policy.check(password, email=email)
    if messages:
        raise UsageError("password refused: " + " ".join(messages))


def _create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    password = _read_password(args.password_stdin)
    email = _valid_email(args.email)
    _enforce_policy(settings, password, email)
    try:
        customer = _store(settings).create(
            email,
            PasswordHasher(settings).hash(password),
            customer_id=args.id,
            is_active=not args.inactive,
        )
    except DuplicateCustomer as duplicate:
        raise UsageError(str(duplicate)) from None
    _print_json(_public(customer))
    return 0


def _set_password(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = _store(settings)
    customer = _customer(store, args.email)
    password = _read_password(args.password_stdin)
    _enforce_policy(settings, password, customer.email)
    new_hash = PasswordHasher(settings).hash(password)
    _apply_change(lambda: store.set_password_hash(customer, new_hash, revoke_at=store.revocation_time()))
    count_replaced(store.legacy_hashes, customer.password_hash)
    print(f"password changed for customer {customer.customer_id}; their sessions are revoked")
    return 0


def _deactivate(args: argparse.Namespace) -> int:
    store = _store(_settings(args))
    customer = _customer(store, args.email)
    _apply_change(lambda: store.set_active(customer, False, revoke_at=store.revocation_time()))
    print(f"customer {customer.customer_id} deactivated; their sessions are revoked")
    return 0


def _activate(args: argparse.Namespace) -> int:
    store = _store(_settings(args))
    customer = _customer(store, args.email)
    _apply_change(lambda: store.set_active(customer, True))
    print(f"customer {customer.customer_id} activated")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from shared.staff.erasure import delete_customer

    settings = _settings(args)
    customer = _customer(_store(settings), args.email)
    _apply_change(lambda: delete_customer(_dynamodb(settings), settings.TABLE_NAME, customer))
    print(f"customer {customer.customer_id} deleted")
    return 0


def _revoke_sessions(args: argparse.Namespace) -> int:
    store = _store(_settings(args))
    customer = _customer(store, args.email)
    _apply_change(lambda: store.revoke_sessions(customer, revoke_at=store.revocation_time()))
    print(f"sessions of customer {customer.customer_id} revoked")
    return 0


def _grant_staff(args: argparse.Namespace) -> int:
    return _set_roles(args, is_staff=True, is_superuser=args.superuser)


def _revoke_staff(args: argparse.Namespace) -> int:
    return _set_roles(args, is_staff=False, is_superuser=False)


def _set_groups(args: argparse.Namespace) -> int:
    reserved = [name for name in args.groups if not name or name in ROLE_WORDS or GROUP_SEPARATOR in name]
    if reserved:
        raise UsageError(f"group names cannot be empty, {', '.join(ROLE_WORDS)}, or hold a comma: {reserved}")
    return _set_roles(args, groups=tuple(dict.fromkeys(args.groups)))


def _set_roles(
    args: argparse.Namespace,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
    groups: tuple[str, ...] | None = None,
) -> int:
    """One transaction on both items: the roles, and every token that claimed the old ones revoked."""
    store = _store(_settings(args))
    customer = _customer(store, args.email)
    roles = (
        customer.is_staff if is_staff is None else is_staff,
        customer.is_superuser if is_superuser is None else is_superuser,
        customer.groups if groups is None else groups,
    )
    _apply_change(lambda: store.set_roles(customer, *roles, revoke_at=store.revocation_time()))
    print(
        f"customer {customer.customer_id}: is_staff={str(roles[0]).lower()} is_superuser={str(roles[1]).lower()} "
        f"groups={list(roles[2])}; their sessions are revoked"
    )
    return 0


def _rotate_keys(args: argparse.Namespace) -> int:
    from shared.tokens.rotation import KeyRotation, RotationConflict

    settings = _settings(args)
    if args.algorithm:
        settings = settings.replaced(ALGORITHM=args.algorithm)
    client = boto3.session.Session().client("secretsmanager", config=client_config(settings))
    secret_id = args.secret_id or settings.SIGNING_KEY_SECRET_ID
    verification = args.verification_secret_id or settings.VERIFICATION_KEY_SECRET_ID
    delay = 0 if args.activate_now else settings.KEY_ACTIVATION_DELAY
    try:
        key = KeyRotation(client, settings, verification).rotate_now(secret_id, activation_delay=delay)
    except RotationConflict as error:
        raise UsageError(str(error)) from None
    print(
        f"signing key {key.kid} ({key.alg}) is published and signs in {key.activates_at - key.created_at} s; "
        "older keys verify until their tokens expire"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    store = _store(_settings(args))
    customer = _customer(store, args.email) if args.email else _customer_by_id(store, args.id)
    _print_json(_public(customer))
    return 0


def _claim_emails(args: argparse.Namespace) -> int:
    """Backfill ``EMAILCI#`` so no new account can take an older customer's email in another case."""
    migration = _customer_import(_settings(args))
    outcomes: Counter[str] = Counter()
    conflicting_ids: list[int | str] = []
    for customer in migration.customers():
        outcome = migration.claim_email_identity(customer)
        outcomes[outcome] += 1
        if outcome == "conflict":
            conflicting_ids.append(public_id(customer.customer_id))
    report = {name: outcomes[name] for name in ("claimed", "present", "unverified", "conflict")}
    _print_json({**report, "conflicting_ids": sorted(conflicting_ids, key=str)[:20]})
    return 0


def _index_customers(args: argparse.Namespace) -> int:
    """Backfill the listing index's keys (``GET /api/v1/customers/`` lists only indexed customers)."""
    migration = _customer_import(_settings(args))
    indexed = 0
    for customer in migration.customers():
        migration.add_to_listing(customer)
        indexed += 1
    _print_json({"indexed": indexed})
    return 0


def _apply_change(change: Any) -> None:
    try:
        change()
    except CustomerChanged:
        raise UsageError("the customer changed while this ran; run the command again") from None


def _public(customer: Customer) -> dict[str, Any]:
    return {
        "id": public_id(customer.customer_id),
        "email": customer.email,
        "is_active": customer.is_active,
        "email_verified": customer.email_verified,
        "last_login": drf_datetime(customer.last_login),
        "date_joined": drf_datetime(customer.date_joined),
        "tokens_valid_after": _iso(customer.tokens_valid_after),
        "is_staff": customer.is_staff,
        "is_superuser": customer.is_superuser,
        "groups": list(customer.groups),
        "password": customer.password_hash.split("$", 1)[0] + "$...",
    }


def _iso(epoch: float | None) -> str | None:
    """An epoch time as the API shows times, like last_login and date_joined."""
    return (
        None if epoch is None else drf_datetime(datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds"))
    )


def _print_json(value: dict[str, Any]) -> None:
    """JSON as the API writes its bodies (shared/web/http.py): one line, non-ASCII kept."""
    print(json.dumps(value, ensure_ascii=False))


def _valid_email(email: str) -> str:
    """The email to store (shared/customers/emails.py), refusing what registration refuses."""
    email = email.strip()
    if not is_valid_email(email):
        raise UsageError(f"not an email address registration accepts (ASCII local part, IDNA domain): {email}")
    return normalize_email(email)


def _mail_can_name(email: str) -> bool:
    """Whether a registration, resend or reset request can name this stored email.

    Not a Unicode local part (refused, look-alikes) nor a Unicode domain (requests name its
    A-label, another identity): such customers log in as in Django but get no mail.
    """
    return is_valid_email(email) and email_identity(normalize_email(email)) == email_identity(email)


GROUP_MODEL = "auth.group"
EMAIL_ADDRESS_MODEL = "account.emailaddress"  # django-allauth's verified/primary addresses
SOCIAL_ACCOUNT_MODEL = "socialaccount.socialaccount"  # django-allauth's Google / Apple accounts
REPORTED_ERRORS = 20  # of each list in the report (every invalid row is printed to stderr)


class DumpRow(BaseModel):
    """One ``manage.py dumpdata`` record."""

    model: str
    pk: int | str
    fields: dict[str, Any]


class CustomerFields(BaseModel):
    """A Django user row (``auth.user`` or a custom user model): what the store keeps of it."""

    email: str
    password: str
    first_name: str = ""
    last_name: str = ""
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    groups: list[int | str | list[str]] = []  # pks, or natural keys with --natural-foreign
    date_joined: datetime | None = None
    last_login: datetime | None = None

    @field_validator("email")
    @classmethod
    def _an_email(cls, email: str) -> str:
        """Kept exactly as Django stored it (a login matches it), so only its shape is checked."""
        local, at, domain = email.rpartition("@")
        if not at or not local.strip() or not domain.strip():
            raise PydanticCustomError("email", "value is not a valid email address")
        return email


class GroupFields(BaseModel):
    name: str


class EmailAddressFields(BaseModel):
    user: int | str | list[str]
    email: str
    verified: bool = False
    primary: bool = False


class SocialAccountFields(BaseModel):
    """django-allauth's ``SocialAccount``: ``uid`` is the provider's subject (``sub``)."""

    provider: str
    uid: str
    user: int | str | list[str]
    date_joined: datetime | None = None
    extra_data: dict[str, Any] = {}

    @property
    def owner(self) -> str:
        return self.user[0] if isinstance(self.user, list) else str(self.user)


@dataclass
class Dump:
    """A dumpdata file read and validated: customers, the group names, the allauth addresses
    and social accounts."""

    customers: list[tuple[DumpRow, CustomerFields]]
    group_names: dict[str, str]
    verified_emails: dict[str, set[str]]  # user pk -> identities of their verified addresses
    has_email_addresses: bool
    rows_by_model: Counter[str]
    invalid: list[str]
    social_accounts: list[SocialAccountFields] = field(default_factory=list)
    # user pk -> the TOTP authenticator of dj-rest-auth's or django-allauth's rows (shared/mfa/imports.py)
    authenticators: dict[str, ImportedMfa] = field(default_factory=dict)


def _import_django(args: argparse.Namespace) -> int:
    """Import the dump's customers; refuse (and report, never import) hashes login cannot run."""
    if args.threads < 1:
        raise UsageError("--threads must be at least 1")
    settings = _settings(args)
    dump = _read_dumpdata(args.file)
    for message in dump.invalid:
        print(message, file=sys.stderr)
    migration = _customer_import(settings)
    numeric_ids = [int(row.pk) for row, _ in dump.customers if str(row.pk).isdigit()]
    if numeric_ids:
        migration.reserve_ids_up_to(max(numeric_ids))
    refused: Counter[str] = Counter()
    refused_ids: list[int | str] = []
    importable: list[Customer] = []
    for row, fields in dump.customers:
        problem = hash_problem(fields.password, accept_weak=args.accept_weak_hashes)
        if problem is None or problem == UNUSABLE:  # an unusable password is a customer without one
            importable.append(_customer_from_row(row, fields, dump))
        else:
            refused[problem] += 1
            refused_ids.append(public_id(str(row.pk)))
    outcomes: Counter[str] = Counter()
    outcome_of: list[str] = []
    conflicts: list[int | str] = []
    legacy: dict[str, list[str]] = {}
    started = time.monotonic()
    store_customer = migration.import_customer
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for done, (customer, outcome) in enumerate(
            zip(importable, pool.map(store_customer, importable), strict=True), start=1
        ):
            outcomes[outcome] += 1
            outcome_of.append(outcome)
            if outcome == "conflict":
                conflicts.append(public_id(customer.customer_id))
            if outcome == "imported" and is_legacy(customer.password_hash):
                legacy.setdefault(str(hash_kind(customer.password_hash)), []).append(customer.password_hash)
            if done % 1000 == 0 or done == len(importable):
                rate = done / max(time.monotonic() - started, 1e-9)
                print(f"\r{done}/{len(importable)} processed, {rate:.0f}/s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    _record_legacy_costs(LegacyHashes(_dynamodb(settings), settings.TABLE_NAME), PasswordHasher(settings), legacy)
    mfa = _import_authenticators(settings, dump) if dump.authenticators else Counter()
    elapsed = time.monotonic() - started
    report: dict[str, Any] = {
        "read": sum(dump.rows_by_model.values()),
        "rows_by_model": dict(sorted(dump.rows_by_model.items())),
        "invalid_rows": len(dump.invalid),
        "imported": outcomes["imported"],
        "already_present": outcomes["present"],
        "conflicts": outcomes["conflict"],
        "refused": refused.total(),
        "legacy_hashes": sum(len(hashes) for hashes in legacy.values()),
        "legacy_hashes_by_kind": {kind: len(hashes) for kind, hashes in sorted(legacy.items())},
        "unusable_passwords": sum(1 for customer in importable if customer.password_hash.startswith("!")),
        "unverified_emails": sum(1 for customer in importable if not customer.email_verified),
        "mfa_imported": mfa["imported"],
        "mfa_already_present": mfa["present"],
        "seconds": round(elapsed, 2),
        "per_second": round(len(importable) / elapsed, 1) if elapsed else None,
    }
    if dump.invalid:  # "row 17 (auth.user pk=42): email: value is not a valid email address"
        report["invalid"] = dump.invalid[:REPORTED_ERRORS]
    if conflicts:  # the email belongs to another id, or the id to another email
        report["conflicting_ids"] = conflicts[:REPORTED_ERRORS]
    unmailable = [public_id(customer.customer_id) for customer in importable if not _mail_can_name(customer.email)]
    if unmailable:  # kept as Django had them (they log in), but no mail request can name them
        report["unmailable_emails"] = len(unmailable)
        report["unmailable_ids"] = unmailable[:REPORTED_ERRORS]
    if refused:  # a hash too costly for a login, malformed, weak or of an unsupported algorithm
        report["refused_by_reason"] = dict(refused.most_common())
        report["refused_ids"] = refused_ids[:REPORTED_ERRORS]
    if dump.social_accounts:
        imported_customers = {
            customer.customer_id: customer
            for customer, outcome in zip(importable, outcome_of, strict=True)
            if outcome in ("imported", "present")
        }
        report["social_accounts"] = _import_social_accounts(settings, dump.social_accounts, imported_customers)
    _print_json(report)
    return 0


def _import_social_accounts(
    settings: Settings, accounts: list[SocialAccountFields], customers: dict[str, Customer]
) -> dict[str, Any]:
    """Link each Google / Apple account to its customer by the provider's subject, so a migrated
    customer signs in as their Django pk even when their email changed since. Accounts of other
    providers, or of users not imported, are counted and left out."""
    links = SocialLinks(_dynamodb(settings), settings.TABLE_NAME)
    outcomes: Counter[str] = Counter()
    other_providers: Counter[str] = Counter()
    for account in accounts:
        customer = customers.get(account.owner)
        if account.provider not in tuple(SocialProvider):
            other_providers[account.provider] += 1
        elif customer is None:
            outcomes["customer_not_imported"] += 1
        else:
            email = account.extra_data.get("email")
            linked_email = email if isinstance(email, str) and email else customer.email
            when = _timestamp(account.date_joined) or datetime.now(UTC).isoformat(timespec="microseconds")
            outcomes[
                links.import_link(
                    customer.customer_id, SocialProvider(account.provider), account.uid, linked_email, when
                )
            ] += 1
    report: dict[str, Any] = {
        "imported": outcomes["imported"],
        "already_present": outcomes["present"],
        "conflicts": outcomes["conflict"],
        "customer_not_imported": outcomes["customer_not_imported"],
    }
    if other_providers:
        report["other_providers"] = dict(sorted(other_providers.items()))
    return report


def _import_authenticators(settings: Settings, dump: Dump) -> Counter[str]:
    """Each imported customer's TOTP authenticator, so they keep their app (shared/mfa/imports.py)."""
    migration = _mfa_import(settings)
    store = _store(settings)
    outcomes: Counter[str] = Counter()
    for customer_id, imported in dump.authenticators.items():
        customer = store.get(customer_id)
        outcomes["no_customer" if customer is None else migration.import_authenticator(customer, imported)] += 1
    return outcomes


def _customer_from_row(row: DumpRow, fields: CustomerFields, dump: Dump) -> Customer:
    """The store's customer for a Django user row: verified unless allauth's rows (when the
    dump has them) hold no verified address equal to its email."""
    customer_id = str(row.pk)
    verified = not dump.has_email_addresses or email_identity(fields.email) in dump.verified_emails.get(
        customer_id, set()
    )
    return Customer(
        customer_id=customer_id,
        email=fields.email,
        password_hash=fields.password,
        is_active=fields.is_active,
        last_login=_timestamp(fields.last_login),
        date_joined=_timestamp(fields.date_joined) or datetime.now(UTC).isoformat(timespec="microseconds"),
        email_verified=verified,
        first_name=fields.first_name,
        last_name=fields.last_name,
        is_staff=fields.is_staff,
        is_superuser=fields.is_superuser,
        groups=tuple(sorted(_group_name(group, dump.group_names) for group in fields.groups)),
    )


def _group_name(group: int | str | list[str], names: dict[str, str]) -> str:
    """A group's name: its natural key, else its ``auth.group`` row's name, else its pk."""
    if isinstance(group, list):
        return group[0]
    return names.get(str(group), str(group))


def _record_legacy_costs(counts: LegacyHashes, passwords: PasswordHasher, legacy: dict[str, list[str]]) -> None:
    """Count the new legacy hashes per kind and keep, per kind, a dummy at its costliest
    parameters with its measured verify time (a refusal pads with the slowest kind)."""
    recorded = counts.costs() if legacy else {}
    costs: dict[str, LegacyCost] = {}
    for kind, hashes in legacy.items():
        dummy = dummy_like(costliest(hashes))
        seconds = min(_verify_seconds(passwords, dummy) for _ in range(2))
        if kind not in recorded or recorded[kind].seconds < seconds:
            costs[kind] = LegacyCost(kind, dummy, seconds)
    counts.add({kind: len(hashes) for kind, hashes in legacy.items()}, costs)


def _verify_seconds(passwords: PasswordHasher, encoded: str) -> float:
    started = time.perf_counter()
    passwords.verify("not-the-password", encoded)
    return time.perf_counter() - started


def _read_dumpdata(path: Path) -> Dump:
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    if not isinstance(records, list):
        raise UsageError(f"{path} is not a dumpdata list")
    dump = Dump([], {}, {}, False, Counter(), [])
    for index, record in enumerate(records):
        try:
            row = DumpRow.model_validate(record)
        except ValidationError as error:
            dump.invalid.extend(_messages(f"row {index}", error))
            dump.rows_by_model["(not a dumpdata record)"] += 1
            continue
        model = row.model.lower()
        dump.rows_by_model[model] += 1
        where = f"row {index} ({model} pk={row.pk})"
        try:
            if model == GROUP_MODEL:
                dump.group_names[str(row.pk)] = GroupFields.model_validate(row.fields).name
            elif model == SOCIAL_ACCOUNT_MODEL:
                dump.social_accounts.append(SocialAccountFields.model_validate(row.fields))
            elif model == EMAIL_ADDRESS_MODEL:
                address = EmailAddressFields.model_validate(row.fields)
                dump.has_email_addresses = True
                if address.verified:
                    owner = address.user[0] if isinstance(address.user, list) else str(address.user)
                    dump.verified_emails.setdefault(owner, set()).add(email_identity(address.email))
            elif model in MFA_MODELS:
                user = row.fields.get("user")
                user_pk = str(user[0] if isinstance(user, list) else user)
                read_row(model, row.fields, dump.authenticators.setdefault(user_pk, ImportedMfa()))
            elif "password" in row.fields:
                dump.customers.append((row, CustomerFields.model_validate(row.fields)))
        except ValidationError as error:
            dump.invalid.extend(_messages(where, error))
        except UnreadableAuthenticator as error:  # never the secret: only what is wrong with it
            dump.invalid.append(f"{where}: data: {error}")
    return dump


def _messages(where: str, error: ValidationError) -> list[str]:
    """pydantic's errors as ``<where>: <field>: <message>`` lines, never the values."""
    return [
        f"{where}: {'.'.join(str(part) for part in detail['loc']) or '(record)'}: {detail['msg']}"
        for detail in error.errors(include_input=False, include_url=False)
    ]


def _timestamp(moment: datetime | None) -> str | None:
    """Django's dumpdata datetimes in the store's fixed-width UTC form."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# TOTP MFA (shared/mfa/): an operator's reset, the key ring's rotation, the import's writer.


def _mfa_commands(command: Any) -> None:
    command(
        "reset-mfa",
        _reset_mfa,
        "turn a customer's MFA off (lost device and recovery codes): their sessions are revoked, and the "
        "reset is printed as an audit line",
    )
    command(
        "rotate-mfa-key",
        _rotate_mfa_key,
        "add a key to the MFA key ring and make it current (new TOTP secrets use it, older ones still open)",
        by_email=False,
    )


def _mfa_import(settings: Settings) -> MfaImport:
    from shared.mfa.imports import MfaImport
    from shared.mfa.sealing import SecretBox
    from shared.mfa.store import MfaStore
    from shared.tokens.keys import secrets_manager_fetcher

    box = SecretBox(secrets_manager_fetcher(_secretsmanager(settings), settings.MFA_KEY_SECRET_ID), max_age=300)
    dynamodb = _dynamodb(settings)
    return MfaImport(_store(settings), MfaStore(dynamodb, settings.TABLE_NAME), PasswordHasher(settings), box)


def _secretsmanager(settings: Settings) -> Any:
    return boto3.session.Session().client("secretsmanager", config=client_config(settings))


def _reset_mfa(args: argparse.Namespace) -> int:
    from shared.mfa.store import MfaStore

    settings = _settings(args)
    store = _store(settings)
    customer = _customer(store, args.email)
    if not customer.mfa:
        raise UsageError(f"customer {customer.customer_id} has no MFA")
    writes = MfaStore(_dynamodb(settings), settings.TABLE_NAME).delete_writes(customer.customer_id, None)
    _apply_change(lambda: store.set_mfa(customer, False, writes))
    _apply_change(lambda: store.revoke_sessions(customer, revoke_at=store.revocation_time()))
    audit = {"event": "mfa_reset", "customer_id": public_id(customer.customer_id), "operator": getpass.getuser()}
    _print_json({**audit, "at": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")})
    return 0


def _rotate_mfa_key(args: argparse.Namespace) -> int:
    import secrets

    from shared.mfa.sealing import CURRENT, parse_key_ring

    settings = _settings(args)
    client = _secretsmanager(settings)
    ring = json.loads(client.get_secret_value(SecretId=settings.MFA_KEY_SECRET_ID)["SecretString"])
    parse_key_ring(json.dumps(ring))  # a ring that does not read is not rotated
    numbered = [int(key_id) for key_id in ring if key_id.isdigit()]
    key_id = str(max(numbered, default=0) + 1)
    while key_id in ring:
        key_id += "1"
    ring[key_id] = secrets.token_urlsafe(48)
    ring[CURRENT] = key_id
    client.put_secret_value(SecretId=settings.MFA_KEY_SECRET_ID, SecretString=json.dumps(ring))
    print(f"MFA key {key_id} is current; the older keys stay in the ring for the secrets they sealed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
