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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from shared.account_forms import is_valid_email
from shared.aws import client_config
from shared.customers import Customer, CustomerChanged, CustomerStore, DuplicateCustomer, drf_datetime, public_id
from shared.emails import email_identity, normalize_email
from shared.password_policy import PasswordPolicy
from shared.passwords import UNUSABLE, PasswordHasher, cost_of, dummy_like, hash_problem, is_legacy
from shared.settings import Settings

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
    command("delete", _delete, "delete the customer and their email")
    command("revoke-sessions", _revoke_sessions, "end every session: tokens issued before now stop working")
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
    load = command("import-django", _import_django, "import a Django dumpdata JSON of customers", by_email=False)
    load.add_argument("file", type=Path, help="output of `manage.py dumpdata <app>.Customer`")
    load.add_argument("--threads", type=int, default=IMPORT_THREADS, help="parallel writers (default: %(default)s)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_environ()
    region = args.region or settings.AWS_REGION
    table = args.table or (_stack_table(args.stack, region) if args.stack else settings.TABLE_NAME)
    return replace(settings, AWS_REGION=region, TABLE_NAME=table)


def _stack_table(stack: str, region: str) -> str:
    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    for output in outputs.get("Outputs", []):
        if output["OutputKey"] == "CustomerTableName":
            return str(output["OutputValue"])
    raise UsageError(f"stack {stack} has no CustomerTableName output")


def _store(settings: Settings) -> CustomerStore:
    client = boto3.session.Session().client("dynamodb", config=client_config(settings))
    return CustomerStore(client, settings.TABLE_NAME)


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
    store = _store(_settings(args))
    customer = _customer(store, args.email)
    _apply_change(lambda: store.delete(customer))
    print(f"customer {customer.customer_id} deleted")
    return 0


def _revoke_sessions(args: argparse.Namespace) -> int:
    store = _store(_settings(args))
    customer = _customer(store, args.email)
    _apply_change(lambda: store.revoke_sessions(customer, revoke_at=store.revocation_time()))
    print(f"sessions of customer {customer.customer_id} revoked")
    return 0


def _rotate_keys(args: argparse.Namespace) -> int:
    from shared.rotation import KeyRotation, RotationConflict

    settings = _settings(args)
    if args.algorithm:
        settings = replace(settings, ALGORITHM=args.algorithm)
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
    store = _store(_settings(args))
    outcomes: Counter[str] = Counter()
    conflicting_ids: list[int | str] = []
    for customer in store.customers():
        outcome = store.claim_email_identity(customer)
        outcomes[outcome] += 1
        if outcome == "conflict":
            conflicting_ids.append(public_id(customer.customer_id))
    report = {name: outcomes[name] for name in ("claimed", "present", "unverified", "conflict")}
    _print_json({**report, "conflicting_ids": sorted(conflicting_ids, key=str)[:20]})
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
        "password": customer.password_hash.split("$", 1)[0] + "$...",
    }


def _iso(epoch: float | None) -> str | None:
    """An epoch time as the API shows times, like last_login and date_joined."""
    return (
        None if epoch is None else drf_datetime(datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds"))
    )


def _print_json(value: dict[str, Any]) -> None:
    """JSON as the API writes its bodies (shared/http.py): one line, non-ASCII kept."""
    print(json.dumps(value, ensure_ascii=False))


def _valid_email(email: str) -> str:
    """The email to store (shared/emails.py), refusing what registration refuses."""
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


@dataclass(frozen=True)
class DjangoCustomer:
    customer_id: str
    email: str
    password_hash: str
    is_active: bool
    last_login: str | None
    date_joined: str


def _import_django(args: argparse.Namespace) -> int:
    """Import the dump's customers; refuse (and report, never import) hashes login cannot run."""
    settings = _settings(args)
    rows = list(_read_dumpdata(args.file))
    store = _store(settings)
    numeric_ids = [int(row.customer_id) for row in rows if row.customer_id.isdigit()]
    if numeric_ids:
        store.reserve_ids_up_to(max(numeric_ids))
    refused: Counter[str] = Counter()
    refused_ids: list[int | str] = []
    importable: list[DjangoCustomer] = []
    for row in rows:
        problem = hash_problem(row.password_hash)
        if problem is None or problem == UNUSABLE:  # an unusable password is a customer without one
            importable.append(row)
        else:
            refused[problem] += 1
            refused_ids.append(public_id(row.customer_id))
    outcomes: Counter[str] = Counter()
    conflicts: list[int | str] = []
    legacy_costs: Counter[str] = Counter()
    legacy_examples: dict[str, str] = {}
    started = time.monotonic()

    def put(row: DjangoCustomer) -> tuple[DjangoCustomer, str]:
        customer = Customer(
            customer_id=row.customer_id,
            email=row.email,
            password_hash=row.password_hash,
            is_active=row.is_active,
            last_login=row.last_login,
            date_joined=row.date_joined,
        )
        return row, store.import_customer(customer)

    if args.threads < 1:
        raise UsageError("--threads must be at least 1")
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        for done, (row, outcome) in enumerate(pool.map(put, importable), start=1):
            outcomes[outcome] += 1
            if outcome == "conflict":
                conflicts.append(public_id(row.customer_id))
            if outcome == "imported" and is_legacy(row.password_hash):
                cost = cost_of(row.password_hash)
                legacy_costs[cost] += 1
                legacy_examples.setdefault(cost, row.password_hash)
            if done % 1000 == 0 or done == len(importable):
                rate = done / max(time.monotonic() - started, 1e-9)
                print(f"\r{done}/{len(importable)} processed, {rate:.0f}/s", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if legacy_costs:  # unknown emails cost a legacy verify until these are upgraded at login
        most_common, _ = legacy_costs.most_common(1)[0]
        store.add_legacy_hashes(legacy_costs.total(), dummy_like(legacy_examples[most_common]))
    elapsed = time.monotonic() - started
    report: dict[str, Any] = {
        "read": len(rows),
        "imported": outcomes["imported"],
        "already_present": outcomes["present"],
        "conflicts": outcomes["conflict"],
        "refused": refused.total(),
        "legacy_hashes": legacy_costs.total(),
        "unusable_passwords": sum(1 for row in importable if row.password_hash.startswith("!")),
        "seconds": round(elapsed, 2),
        "per_second": round(len(rows) / elapsed, 1) if elapsed else None,
    }
    if conflicts:  # the email belongs to another id, or the id to another email
        report["conflicting_ids"] = conflicts[:20]
    unmailable = [public_id(row.customer_id) for row in importable if not _mail_can_name(row.email)]
    if unmailable:  # kept as Django had them (they log in), but no mail request can name them
        report["unmailable_emails"] = len(unmailable)
        report["unmailable_ids"] = unmailable[:20]
    if refused:  # a hash too weak, too costly for a login, or of an unsupported algorithm
        report["refused_by_reason"] = dict(refused.most_common())
        report["refused_ids"] = refused_ids[:20]
    _print_json(report)
    return 0


def _read_dumpdata(path: Path) -> Iterator[DjangoCustomer]:
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    if not isinstance(records, list):
        raise UsageError(f"{path} is not a dumpdata list")
    for index, record in enumerate(records):
        try:
            fields = record["fields"]
            email, password = fields["email"], fields["password"]
            if not isinstance(email, str) or not email or not isinstance(password, str):
                raise ValueError("email and password must be non-empty strings")
            yield DjangoCustomer(
                customer_id=str(record["pk"]),
                email=email,
                password_hash=password,
                is_active=bool(fields.get("is_active", True)),
                last_login=_timestamp(fields.get("last_login")),
                date_joined=_timestamp(fields.get("date_joined"))
                or datetime.now(UTC).isoformat(timespec="microseconds"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UsageError(f"{path}: record {index} is not a customer: {error}") from None


def _timestamp(value: Any) -> str | None:
    """Django's dumpdata datetimes in the store's fixed-width UTC form."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


if __name__ == "__main__":
    sys.exit(main())
