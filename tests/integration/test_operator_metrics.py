"""The metrics the operators' dashboard plots: each in the handler's EMF line for its event, and not otherwise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest

from shared.errors import ApiError
from tests.conftest import FakeLambdaContext
from tests.contract.conftest import BLACKLISTED
from tests.helpers import EMAIL, PASSWORD, REGION, TEST_ENVIRONMENT, HttpAnswer, json_event
from tests.mailbox import Mailbox, register
from tools.dashboard import emf_values

Call = Callable[..., HttpAnswer]


def metrics_printed(capsys: pytest.CaptureFixture[str]) -> Counter[str]:
    """The metrics of the EMF lines printed since the last look, by name."""
    printed: Counter[str] = Counter()
    for (_, name, _), value in emf_values(capsys.readouterr().out.splitlines()).items():
        printed[name] += int(value)
    return printed


def log_in(call: Call, password: str) -> HttpAnswer:
    return call("obtain_token", json_event("obtain_token_ok", {"email": EMAIL, "password": password}))


@pytest.fixture
def rotating(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployed defaults (template.yaml): rotation with the old token retired."""
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")


def test_given_a_rotated_refresh_token_when_it_is_presented_again_then_one_reuse_is_counted(
    rotating: None, call: Call, customer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    old = log_in(call, PASSWORD).body["refresh"]
    assert call("refresh_token", json_event("refresh_token_ok", {"refresh": old})).status == 200
    capsys.readouterr()

    replay = call("refresh_token", json_event("refresh_token_ok", {"refresh": old}))

    assert (replay.status, replay.body) == (401, BLACKLISTED)
    assert metrics_printed(capsys)["RefreshTokenReuse"] == 1


def test_given_a_refresh_token_used_once_when_it_is_rotated_then_no_reuse_is_counted(
    rotating: None, call: Call, customer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = log_in(call, PASSWORD).body["refresh"]
    capsys.readouterr()

    second = call("refresh_token", json_event("refresh_token_ok", {"refresh": first})).body["refresh"]
    third = call("refresh_token", json_event("refresh_token_ok", {"refresh": second}))

    assert third.status == 200
    printed = metrics_printed(capsys)
    assert (printed["Refreshes"], printed["RefreshTokenReuse"]) == (2, 0)


def test_given_a_logged_out_refresh_token_when_it_is_presented_then_it_is_refused_without_counting_a_reuse(
    rotating: None, call: Call, customer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A logout revokes the family itself: presenting its token again is no theft signal."""
    refresh = log_in(call, PASSWORD).body["refresh"]
    logout = json_event("blacklist_token_ok", {"refresh": refresh})
    assert call("blacklist_token", logout).status == 200
    capsys.readouterr()

    again = call("refresh_token", json_event("refresh_token_ok", {"refresh": refresh}))

    assert (again.status, again.body) == (401, BLACKLISTED)
    assert metrics_printed(capsys)["RefreshTokenReuse"] == 0


def test_given_login_attempts_then_successes_and_each_kind_of_refusal_are_counted_apart(
    call: Call, customer: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "2")
    counted = []
    for password in (PASSWORD, "wrong-1", "wrong-2", "wrong-3"):
        log_in(call, password)
        counted.append({name: value for name, value in metrics_printed(capsys).items() if value})

    assert counted == [
        {"Logins": 1},
        {"InvalidCredentials": 1},
        {"InvalidCredentials": 1, "Lockouts": 1},  # the failure that reached the limit starts the lock
        {"LoginLocked": 1},  # refused unhashed while locked: no new lockout
    ]


def test_given_ses_refusing_when_the_mailer_runs_then_the_job_counts_as_a_mail_failure(
    call: Call,
    mailbox: Mailbox,
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    boto3.client("sesv2", region_name=REGION).delete_email_identity(EmailIdentity=TEST_ENVIRONMENT["MAIL_FROM"])
    register(call, "nora@example.com")
    records = mailbox.queued()
    capsys.readouterr()

    load_handler("mailer").lambda_handler({"Records": records}, lambda_context)

    printed = metrics_printed(capsys)
    assert (printed["MailJobs"], printed["MailFailures"], printed["MailsSent"]) == (1, 1, 0)


def test_given_ses_sending_when_the_mailer_runs_then_no_mail_failure_is_counted(
    call: Call, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    register(call, "nora@example.com")
    capsys.readouterr()

    assert len(mailbox.deliver()) == 1

    printed = metrics_printed(capsys)
    assert (printed["MailJobs"], printed["MailFailures"], printed["MailsSent"]) == (1, 0, 1)


def test_given_two_refreshes_racing_with_one_token_when_the_second_loses_the_retirement_then_one_reuse_is_counted(
    rotating: None, call: Call, customer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loser's read came before the winner's write (another container): only the
    conditional retirement sees the reuse, and it is counted there too."""
    from shared import services
    from shared.settings import get_settings
    from shared.tokens.minting import REFRESH
    from shared.tokens.sessions import SessionService

    presented = log_in(call, PASSWORD).body["refresh"]
    reuses: list[str] = []
    store = services.session_store()
    service = SessionService(get_settings(), store, services.token_service(), lambda: reuses.append("reuse"))
    token = services.token_service().validate(presented, REFRESH)
    assert token.user_id is not None
    read_before_the_race = store.state(token.user_id, token.jti, token.family)
    service.refresh_token(presented)
    monkeypatch.setattr(store, "state", lambda *_: read_before_the_race)

    with pytest.raises(ApiError) as refused:
        service.refresh_token(presented)

    assert (refused.value.status, refused.value.body()) == (401, BLACKLISTED)
    assert reuses == ["reuse"]
