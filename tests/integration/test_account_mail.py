"""Account mail: queued by the endpoints, sent by the mailer (SES v2 or files), failures retried."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import boto3
import pytest

from shared.accounts import mail
from shared.accounts.rate_limit import RateLimiter
from shared.errors import Throttled
from tests.conftest import FakeLambdaContext
from tests.helpers import REGION, TABLE_NAME, TEST_ENVIRONMENT, HttpAnswer, json_event
from tests.mailbox import STRONG, Mailbox, login, parse, register
from tools.local_server import file_mail

Call = Callable[..., HttpAnswer]


def test_given_ses_refusing_when_registering_then_the_answer_is_still_201_and_the_job_is_returned_for_retry(
    call: Call, mailbox: Mailbox, load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext
) -> None:
    boto3.client("sesv2", region_name=REGION).delete_email_identity(EmailIdentity=TEST_ENVIRONMENT["MAIL_FROM"])

    answer = register(call, "nora@example.com")
    records = mailbox.queued()
    result = load_handler("mailer").lambda_handler({"Records": records}, lambda_context)

    assert answer.status == 201, "no answer waits on the mail service"
    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}


def test_given_a_bad_job_among_good_ones_when_mailing_then_only_the_bad_one_is_returned(
    load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext, aws: None
) -> None:
    records = [
        {"messageId": "good", "body": json.dumps({"kind": "reset", "email": "nobody@example.com"})},
        {"messageId": "bad", "body": "{not json"},
    ]

    result = load_handler("mailer").lambda_handler({"Records": records}, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_given_the_directory_sender_then_one_rfc_5322_file_with_both_parts_and_a_line_with_the_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = mail.confirm_address("ann@example.com", "https://shop.example/verify-email?key=abc", 3 * 86400)
    mail.DirectorySender(tmp_path, "shop@example.com").send(message)

    [path] = tmp_path.glob("*.eml")
    sent = parse(path.read_bytes())
    assert (sent.to, sent.sender, sent.subject) == ("ann@example.com", "shop@example.com", "Confirm your email address")
    assert "within 3 days" in sent.text
    assert sent.link == "https://shop.example/verify-email?key=abc"
    assert 'href="https://shop.example/verify-email?key=abc"' in sent.html
    monkeypatch.setattr("tools.local_server.ROOT", tmp_path)
    assert file_mail(path) == (
        "mail to ann@example.com: Confirm your email address https://shop.example/verify-email?key=abc "
        f"({path.with_suffix('.txt').name})"
    )


def test_given_a_quoted_printable_mail_when_filed_then_its_txt_beside_it_holds_the_link_whole(tmp_path: Path) -> None:
    link = "http://localhost:5173/verify-email?key=" + "k" * 120
    mail.DirectorySender(tmp_path, "shop@example.com").send(mail.confirm_address("ann@example.com", link, 86400))
    [path] = tmp_path.glob("*.eml")
    assert link not in path.read_text(), "the .eml is quoted-printable: key=3D..., wrapped"

    line = file_mail(path)

    readable = path.with_suffix(".txt")
    assert line.endswith(f"({readable})")
    text = readable.read_text()
    assert link in text.splitlines()
    assert text.startswith("From: shop@example.com\nTo: ann@example.com\nSubject: Confirm your email address\n")


def test_given_a_link_with_markup_when_rendered_then_the_html_part_escapes_it() -> None:
    message = mail.reset_password("a@example.com", 'https://shop.example/?x="><script>', 3600)

    assert "<script>" not in message.html
    assert "within 1 hour" in message.text


def test_given_the_limit_reached_when_a_new_window_starts_then_requests_pass_again(aws: None) -> None:
    now = [1_000_000.0]
    client = boto3.client("dynamodb", region_name=REGION)
    limiter = RateLimiter(client, TABLE_NAME, address_limit=2, ip_limit=100, window=900, clock=lambda: now[0])
    limiter.hit("mail", "a@example.com", "198.51.100.1")
    limiter.hit("mail", "A@example.com ", "198.51.100.1")

    with pytest.raises(Throttled) as refused:
        limiter.hit("mail", "a@example.com", "198.51.100.1")
    assert refused.value.headers() == {"Retry-After": str(900 - (1_000_000 % 900))}
    now[0] += 900
    limiter.hit("mail", "a@example.com", "198.51.100.1")


def test_given_one_source_ip_when_it_passes_its_limit_then_refused_for_any_address(aws: None) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    limiter = RateLimiter(client, TABLE_NAME, address_limit=100, ip_limit=3, window=900)
    for n in range(3):
        limiter.hit("mail", f"user{n}@example.com", "203.0.113.9")

    with pytest.raises(Throttled):
        limiter.hit("mail", "fresh@example.com", "203.0.113.9")


def test_given_debug_logging_when_a_customer_signs_up_and_resets_then_no_password_key_or_token_is_logged(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    register(call, "owen@example.com")
    key = mailbox.one().query()["key"]
    call("verify_email", json_event("verify_email_unknown_key", {"key": key, "password": STRONG}))
    call("request_mail", json_event("password_reset_ok", {"email": "owen@example.com"}))
    link = mailbox.one().query()
    new_password = "Brand-New-Lantern-9"
    body = {"uid": link["uid"], "token": link["token"], "new_password1": new_password, "new_password2": new_password}
    assert call("reset_password", json_event("password_reset_confirm_bad_uid", body)).status == 200
    assert login(call, "owen@example.com", new_password).status == 200

    logged = capsys.readouterr()
    for secret in (STRONG, new_password, key, link["token"]):
        assert secret not in logged.out + logged.err


def test_given_a_pending_pair_half_removed_by_ttl_when_registering_again_then_a_new_customer(aws: None) -> None:
    from shared import services
    from shared.customers.record import Registration

    store = services.customer_store()
    _, first = store.register("pat@example.com", "argon2$first", pending_until=2_000_000_000)
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=TABLE_NAME, Key={"pk": {"S": "CUSTOMER#" + first.customer_id}}
    )

    outcome, second = store.register("pat@example.com", "argon2$second", pending_until=2_000_000_000)

    assert outcome == Registration.NEW
    assert second.customer_id != first.customer_id
    assert store.find_by_email("pat@example.com") == second
