"""No password, token, signing key or password hash in any log line, with DEBUG logging on.

Every contract case (tests/adversarial/contract_cases.py) runs against functions started
with ``POWERTOOLS_LOG_LEVEL=DEBUG`` (the template's ``LogLevel=DEBUG``) and with
``POWERTOOLS_LOGGER_LOG_EVENT=true`` (an operator asking for the events), the service's
loggers at DEBUG. Everything written is captured: the Powertools handler's JSON lines, the
logging records of every logger (caplog), and stdout/stderr (metrics are printed there).
The secrets looked for are the ones that case's client sent or received (passwords, every
token and its signature, the keys and tokens of the links mailed to the customer: an account
case runs the mailer, so its lines are captured too), the signing key, every password hash in
the table, and anything shaped like a JWT or a Django password hash.

A second test turns the root logger to DEBUG as well (Lambda's ApplicationLogLevel=DEBUG):
boto3 and botocore then log their own requests and responses.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from collections.abc import Iterator

import boto3
import pytest

from tests.adversarial.contract_cases import CASES, Case, Client
from tests.adversarial.stack import Stack, cold_start, warm_stack
from tests.helpers import REGION, SIGNING_KEY, TABLE_NAME, TEST_ENVIRONMENT, claims, mint
from tests.mailbox import STRONG

SERVICE_LOGGER = "ecommerce-auth"
SHAPES = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "an argon2 hash": re.compile(r"argon2\$argon2i?d?\$"),
    "a PBKDF2 hash": re.compile(r"pbkdf2_sha(1|256)\$\d+\$"),
    # The other kinds Django wrote, which an import brings (shared/customers/passwords.py).
    "a bcrypt hash": re.compile(r"\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}"),
    "an scrypt hash": re.compile(r"scrypt\$\d+\$[^$\s]+\$\d+\$\d+\$"),
    "a salted SHA-1 or MD5 hash": re.compile(r"(sha1|md5)\$[^$\s]*\$[0-9a-f]{32,40}\b"),
    "a crypt hash": re.compile(r"crypt\$\$[./A-Za-z0-9]{13}\b"),
}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with warm_stack(POWERTOOLS_LOG_LEVEL="DEBUG", POWERTOOLS_LOGGER_LOG_EVENT="true") as warm:
        yield warm


class Logs:
    """Everything the functions wrote while a case ran."""

    def __init__(self, stream: io.StringIO, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]):
        self._stream = stream
        self._caplog = caplog
        self._capsys = capsys

    def lines(self) -> list[str]:
        captured = self._capsys.readouterr()
        records = [f"{record.name} {record.getMessage()} {record.__dict__}" for record in self._caplog.records]
        return [*self._stream.getvalue().splitlines(), *records, *captured.out.splitlines(), *captured.err.splitlines()]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Logs:
    """The service's loggers at DEBUG, their handlers writing into a buffer for this test."""
    stream = io.StringIO()
    service = logging.getLogger(SERVICE_LOGGER)
    for handler in service.handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", stream)
    for name in [
        SERVICE_LOGGER,
        *(name for name in logging.root.manager.loggerDict if name.startswith(SERVICE_LOGGER)),
    ]:
        caplog.set_level(logging.DEBUG, logger=name)
    return Logs(stream, caplog, capsys)


def stored_hashes() -> set[str]:
    """Every hash in the table, read with logging off (this scan is the test's, not the service's)."""
    logging.disable(logging.CRITICAL)
    try:
        items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]
    finally:
        logging.disable(logging.NOTSET)
    return {item["password_hash"]["S"] for item in items if "password_hash" in item}


def secrets_of(client: Client) -> dict[str, str]:
    """Each secret the case handled, named for the failure message (never the value itself)."""
    found: dict[str, str] = {"the signing key": SIGNING_KEY}
    for number, password in enumerate(sorted(client.passwords)):
        found[f"password #{number}"] = password
    for number, token in enumerate(sorted(client.tokens)):
        found[f"token #{number}"] = token
        found[f"signature of token #{number}"] = token.rsplit(".", 1)[1]
    for number, secret in enumerate(sorted(client.link_secrets)):
        found[f"link key or token #{number}"] = secret
    for number, encoded in enumerate(sorted(stored_hashes())):
        found[f"stored hash #{number}"] = encoded
        found[f"digest of stored hash #{number}"] = encoded.rsplit("$", 1)[1]
    return found


def leaks(lines: list[str], secrets: dict[str, str]) -> list[str]:
    found = []
    for number, line in enumerate(lines):
        found += [f"line {number}: {name}" for name, value in secrets.items() if value and value in line]
        found += [f"line {number}: {shape}" for shape, pattern in SHAPES.items() if pattern.search(line)]
    return found


def run(stack: Stack, case: Case) -> Client:
    client = Client(stack)
    case.run(client)
    return client


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_secret_reaches_the_logs_at_debug_level(stack: Stack, logs: Logs, case: Case) -> None:
    client = run(stack, case)
    lines = logs.lines()
    assert leaks(lines, secrets_of(client)) == []


def test_the_capture_sees_what_the_service_logs(stack: Stack, logs: Logs) -> None:
    """Not vacuous: a Deny is logged ("denied") and seen, and a planted secret is caught."""
    client = Client(stack)
    client.protected(f"Bearer garbage-{uuid.uuid4().hex}")
    lines = logs.lines()
    assert any('"message":"denied"' in line for line in lines)
    assert leaks([*lines, f"oops {SIGNING_KEY}"], secrets_of(client)) == [f"line {len(lines)}: the signing key"]


def test_the_capture_sees_what_the_account_functions_and_the_mailer_log(stack: Stack, logs: Logs) -> None:
    """Not vacuous for the account cases either: the mailer's and verify-email's lines are seen,
    and the key the mail carried, planted in a line, is caught."""
    client = run(stack, next(case for case in CASES if case.id == "verifyemail-key-from-the-mail"))
    lines = logs.lines()
    assert any('"message":"mail job done"' in line for line in lines)
    assert any('"message":"address verified"' in line for line in lines)
    [key] = client.link_secrets
    assert leaks([*lines, f"oops {key}"], secrets_of(client)) == [f"line {len(lines)}: link key or token #0"]


def test_a_mail_job_that_fails_logs_no_password_hash_and_no_link(stack: Stack, logs: Logs) -> None:
    """The mailer's one error line carries a traceback: SES refusing the message must put neither
    the job's password hash nor the link (made before the send) in it."""
    client = Client(stack)
    body = {"email": stack.new_address(), "password1": STRONG, "password2": STRONG}
    assert client.account("POST", "/auth/registration/", body).status == 201
    ses = boto3.client("sesv2", region_name=REGION)
    ses.delete_email_identity(EmailIdentity=TEST_ENVIRONMENT["MAIL_FROM"])
    try:
        records = stack.mailbox.queued()
        result = stack.handlers["mailer"].lambda_handler({"Records": records}, stack.context)
    finally:
        ses.create_email_identity(EmailIdentity=TEST_ENVIRONMENT["MAIL_FROM"])
    lines = logs.lines()
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert any('"message":"mail job failed"' in line for line in lines)
    assert leaks(lines, secrets_of(client)) == []
    assert [line for line in lines if TEST_ENVIRONMENT["STOREFRONT_URL"] in line] == [], "a link was logged"


ACCOUNT_FLOWS = ("verifyemail-key-from-the-mail", "resetconfirm-link-from-the-mail", "change-right-old-password")


@pytest.mark.parametrize("case_id", ACCOUNT_FLOWS)
def test_an_account_flow_with_the_root_logger_at_debug_logs_no_password_hash_key_or_token(
    stack: Stack, logs: Logs, caplog: pytest.LogCaptureFixture, case_id: str
) -> None:
    """The mail jobs carry a password hash and the mail a key or token: boto3's loggers must not
    write either when Lambda's ApplicationLogLevel=DEBUG sets the root logger."""
    caplog.set_level(logging.DEBUG)
    client = run(stack, next(case for case in CASES if case.id == case_id))
    lines, records = logs.lines(), list(caplog.records)
    secrets = secrets_of(client)
    assert leaks(lines, secrets) == [], _where(records, secrets)


def test_a_login_with_the_root_logger_at_debug_logs_no_password_hash(
    stack: Stack, logs: Logs, caplog: pytest.LogCaptureFixture
) -> None:
    """Lambda's ApplicationLogLevel=DEBUG sets the root logger: boto3's own loggers then speak too."""
    caplog.set_level(logging.DEBUG)
    client = run(stack, next(case for case in CASES if case.id == "obtain-json-credentials"))
    lines, records = logs.lines(), list(caplog.records)
    secrets = secrets_of(client)
    assert leaks(lines, secrets) == [], _where(records, secrets)


def test_a_refresh_with_the_root_logger_at_debug_logs_no_password_hash(
    stack: Stack, logs: Logs, caplog: pytest.LogCaptureFixture
) -> None:
    customer = stack.new_customer()
    refresh = mint(claims("refresh", user_id=customer.customer_id))
    caplog.set_level(logging.DEBUG)
    client = Client(stack)
    assert client.post("refresh_token", {"refresh": refresh}).status == 200
    lines, records = logs.lines(), list(caplog.records)
    secrets = secrets_of(client)
    assert leaks(lines, secrets) == [], _where(records, secrets)


def test_a_cold_start_with_the_root_logger_at_debug_logs_no_signing_key(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The token functions read the key at cold start (and every SIGNING_KEY_MAX_AGE after)."""
    caplog.set_level(logging.DEBUG)
    cold_start("refresh_token")
    records = list(caplog.records)
    assert [record.name for record in records if SIGNING_KEY in f"{record.getMessage()} {record.__dict__}"] == []


def _where(records: list[logging.LogRecord], secrets: dict[str, str]) -> str:
    """Which loggers wrote the secrets (names only, never values)."""
    names: dict[str, set[str]] = {}
    for record in records:
        text = f"{record.getMessage()} {record.__dict__}"
        for name, value in secrets.items():
            if value and value in text:
                names.setdefault(record.name, set()).add(name)
    return "; ".join(f"{logger}: {', '.join(sorted(kinds))}" for logger, kinds in sorted(names.items()))


@pytest.mark.parametrize("hasher", ["Argon2", "BCryptSHA256", "BCrypt", "Scrypt", "PBKDF2", "PBKDF2SHA1", "MD5"])
def test_every_kind_of_hash_django_made_is_found_in_a_log_line(django_configured: None, hasher: str) -> None:
    """The shapes catch an imported hash of any kind, not only the ones this service writes."""
    from django.contrib.auth import hashers

    made = getattr(hashers, f"{hasher}PasswordHasher")()
    encoded = made.encode("correct horse battery staple", made.salt())

    assert leaks([f'{{"level":"INFO","message":"imported","hash":"{encoded}"}}'], {}) != []


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        # Django before 5.1 (SHA1PasswordHasher) and before 4.0 (CryptPasswordHasher) wrote these.
        (
            "customer 7 sha1$pepper$" + hashlib.sha1(b"pepperpassword").hexdigest() + " imported",
            "a salted SHA-1 or MD5 hash",
        ),
        ("customer 7 crypt$$abN/qM.L/H8EQ imported", "a crypt hash"),
    ],
)
def test_a_hash_from_an_older_django_is_found_in_a_log_line(line: str, shape: str) -> None:
    assert leaks([line], {}) == [f"line 0: {shape}"]
