"""The email rule (no look-alikes, IDN domains as A-labels), limits per address and source, the
mailer's per-address cap, and the mailer's batch: one job's failure is that job's alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.customers.emails import email_identity, normalize_email
from shared.customers.record import Customer
from tests.conftest import FakeLambdaContext
from tests.helpers import REGION, TABLE_NAME, HttpAnswer, json_event
from tests.mailbox import STRONG, Mailbox, account_event, login, register

Call = Callable[..., HttpAnswer]
KELVIN_KATE = "\u212aate@example.net"  # U+212A KELVIN SIGN, which str.lower() turns into "k"
INVALID_EMAIL = {"email": ["Enter a valid email address."]}
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}


def from_ip(event: dict[str, Any], source_ip: str) -> dict[str, Any]:
    event["requestContext"]["identity"]["sourceIp"] = source_ip
    return event


def reset_request(call: Call, email: str, source_ip: str = "198.51.100.20") -> HttpAnswer:
    return call("request_mail", from_ip(json_event("password_reset_ok", {"email": email}), source_ip))


def verified(call: Call, mailbox: Mailbox, email: str) -> None:
    assert register(call, email).status == 201
    key = mailbox.one().query()["key"]
    assert call("verify_email", json_event("verify_email_unknown_key", {"key": key, "password": STRONG})).status == 200


def test_given_a_kelvin_sign_look_alike_when_registering_then_refused_and_the_real_kate_signs_up(
    call: Call, mailbox: Mailbox
) -> None:
    squatter = register(call, KELVIN_KATE)

    assert (squatter.status, squatter.body) == (400, INVALID_EMAIL)
    assert register(call, "kate@example.net").status == 201
    sent = mailbox.one()
    assert (sent.to, sent.subject) == ("kate@example.net", "Confirm your email address")


@pytest.mark.parametrize("endpoint", ["resend_email_ok", "password_reset_ok"])
def test_given_a_look_alike_local_part_when_asking_for_mail_then_refused_as_invalid(
    call: Call, mailbox: Mailbox, endpoint: str
) -> None:
    answer = call("request_mail", json_event(endpoint, {"email": "\u017fam@example.net"}))  # U+017F LONG S

    assert (answer.status, answer.body) == (400, INVALID_EMAIL)
    assert mailbox.deliver() == []


def test_given_an_internationalised_domain_when_registering_then_stored_and_mailed_as_its_a_label(
    call: Call, mailbox: Mailbox
) -> None:
    assert register(call, "uni@ex\u00e4mple.com").status == 201

    sent = mailbox.one()
    assert sent.to == "uni@xn--exmple-cua.com", "an ASCII To: header SES and DNS can use"
    key = sent.query()["key"]
    assert call("verify_email", json_event("verify_email_unknown_key", {"key": key, "password": STRONG})).status == 200
    assert login(call, "uni@xn--exmple-cua.com", STRONG).status == 200, "the login is the stored address"


def test_given_a_domain_without_an_idna_form_when_registering_then_refused_as_invalid(call: Call, aws: None) -> None:
    answer = register(call, "ann@\u00a1example.com")  # Django's pattern allows U+00A1; IDNA does not

    assert (answer.status, answer.body) == (400, INVALID_EMAIL)


@pytest.mark.parametrize("email", [KELVIN_KATE, "uni@ex\u00e4mple.com", "ann@\u00a1example.com", "\u00e9@x.y"])
def test_given_a_non_ascii_email_when_logging_in_then_simplejwt_s_generic_401(
    call: Call, mailbox: Mailbox, email: str
) -> None:
    verified(call, mailbox, "kate@example.net")

    answer = login(call, email, STRONG)

    assert (answer.status, answer.body) == (401, NO_ACCOUNT)


def test_the_identity_folds_ascii_case_only() -> None:
    assert email_identity("Kate@Example.NET") == "kate@example.net"
    assert email_identity(KELVIN_KATE) != email_identity("kate@example.net")
    assert normalize_email(" Jane@EX\u00c4MPLE.com ") == "Jane@xn--exmple-cua.com"


def test_given_one_source_past_the_limit_for_an_address_then_the_customer_elsewhere_still_gets_her_reset(
    call: Call, mailbox: Mailbox
) -> None:
    verified(call, mailbox, "rita@example.com")
    attacker = [reset_request(call, "rita@example.com", "203.0.113.66") for _ in range(6)]
    mailbox.deliver()

    answer = reset_request(call, "rita@example.com", "198.51.100.77")

    assert [a.status for a in attacker] == [200] * 5 + [429], "the attacker's own source is throttled"
    assert answer.status == 200
    assert answer.headers.get("retry-after") is None


def test_given_wrong_old_passwords_from_many_sources_then_the_customer_s_limit_holds_across_them(
    call: Call, customer: Customer
) -> None:
    body = {"old_password": "wrong-password", "new_password1": STRONG, "new_password2": STRONG}
    answers = [
        call(
            "change_password",
            from_ip(account_event("password_change_wrong_old", body, caller=customer.customer_id), f"203.0.113.{n}"),
        )
        for n in range(6)
    ]

    assert [answer.status for answer in answers] == [400] * 5 + [429], "only her token spends her count"


def test_given_requests_for_one_address_from_many_sources_then_every_answer_is_200_and_the_mails_stop_at_the_cap(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_ADDRESS_LIMIT", "3")
    verified(call, mailbox, "sam@example.com")  # the confirmation is the first mail of the window

    answers = [reset_request(call, "SAM@example.com", f"203.0.113.{n}") for n in range(5)]

    assert [a.status for a in answers] == [200] * 5
    assert [sent.subject for sent in mailbox.deliver()] == ["Reset your password"] * 2


def test_given_the_cap_reached_when_more_resets_are_asked_then_no_link_is_written_for_mails_never_sent(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_ADDRESS_LIMIT", "1")
    verified(call, mailbox, "ida@example.com")  # the confirmation took the window's one mail

    answers = [reset_request(call, "ida@example.com", f"203.0.113.{n}") for n in range(3)]

    assert [a.status for a in answers] == [200] * 3
    assert mailbox.deliver() == []
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]
    assert [item["pk"]["S"] for item in items if item["pk"]["S"].startswith("RESET#")] == []


def test_given_the_cap_reached_for_a_known_address_and_an_unknown_one_then_both_answer_alike(
    call: Call, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAIL_ADDRESS_LIMIT", "1")
    verified(call, mailbox, "tom@example.com")

    known = [reset_request(call, "tom@example.com", f"203.0.113.{n}") for n in range(3)]
    unknown = [reset_request(call, "nobody@example.com", f"203.0.113.{n}") for n in range(3)]

    assert [(a.status, a.body) for a in known] == [(b.status, b.body) for b in unknown]
    assert mailbox.deliver() == []


def test_given_a_good_job_and_one_that_does_not_fit_the_schema_then_only_the_bad_one_is_reported(
    load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext, mailbox: Mailbox, call: Call
) -> None:
    verified(call, mailbox, "una@example.com")
    records = [
        {"messageId": "good", "body": json.dumps({"kind": "reset", "email": "una@example.com"})},
        {"messageId": "no-email", "body": json.dumps({"kind": "reset"})},
        {"messageId": "no-hash", "body": json.dumps({"kind": "registration", "email": "x@example.com"})},
        {"messageId": "unknown-kind", "body": json.dumps({"kind": "spam", "email": "x@example.com"})},
    ]

    result = load_handler("mailer").lambda_handler({"Records": records}, lambda_context)

    assert result == {
        "batchItemFailures": [{"itemIdentifier": name} for name in ("no-email", "no-hash", "unknown-kind")]
    }
    assert [sent.subject for sent in mailbox.deliver()] == ["Reset your password"]


def test_given_debug_logging_and_a_job_off_the_schema_then_neither_its_hash_nor_its_address_is_logged(
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level("DEBUG")
    job = {"kind": "signup", "email": "secret-owner@example.com", "password_hash": "argon2$SECRET-HASH"}
    records = [{"messageId": "bad", "body": json.dumps(job)}, {"messageId": "torn", "body": json.dumps(job)[:-9]}]

    result = load_handler("mailer").lambda_handler({"Records": records}, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}, {"itemIdentifier": "torn"}]}
    logged = capsys.readouterr()
    everything = logged.out + logged.err + caplog.text
    assert everything.count("mail job failed") >= 2
    assert "SECRET-HASH" not in everything
    assert "secret-owner" not in everything


def test_given_a_batch_of_only_bad_jobs_then_each_is_reported_and_the_invocation_does_not_fail(
    load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext, aws: None
) -> None:
    records = [{"messageId": "bad", "body": "{not json"}]

    result = load_handler("mailer").lambda_handler({"Records": records}, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}


def test_given_ses_refusing_one_address_then_only_that_record_fails_and_its_mail_is_not_counted(
    call: Call,
    mailbox: Mailbox,
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.aws import sesv2_client

    monkeypatch.setenv("MAIL_ADDRESS_LIMIT", "2")
    mailer = load_handler("mailer")

    refused = ["vic@example.com"]

    def refuse_vic(params: dict[str, Any], **_: Any) -> None:
        if params["Destination"]["ToAddresses"] == refused:
            raise ClientError({"Error": {"Code": "MessageRejected", "Message": "refused"}}, "SendEmail")

    sesv2_client().meta.events.register("before-parameter-build.sesv2.SendEmail", refuse_vic)
    register(call, "vic@example.com")
    register(call, "wes@example.com")
    records = mailbox.queued()

    result = mailer.lambda_handler({"Records": records}, lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]}
    assert [sent.to for sent in mailbox.deliver()] == ["wes@example.com"]
    refused.clear()
    for _ in range(2):  # the refused mail gave its place back: SQS's retries still fit the cap of 2
        assert mailer.lambda_handler({"Records": records[:1]}, lambda_context) == {"batchItemFailures": []}
    assert [sent.to for sent in mailbox.deliver()] == ["vic@example.com"] * 2
