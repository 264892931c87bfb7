"""authctl against moto: customer management and the Django dumpdata import."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared import services
from shared.settings import Settings
from tests.helpers import REGION, TABLE_NAME, HttpAnswer, json_event
from tests.mailbox import Mailbox, register
from tools import authctl, gateway

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """authctl's main() with ``stdin`` as standard input; returns (exit code, stdout, stderr)."""

    def invoke(*arguments: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = authctl.main(["--table", TABLE_NAME, *arguments])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_default_table_is_the_one_make_local_creates() -> None:
    assert gateway.load().table["TableName"] == Settings().TABLE_NAME


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = ["create-customer", "set-password", "deactivate", "activate", "delete", "show", "import-django"]
    for command in commands:
        with pytest.raises(SystemExit) as exited:
            authctl.main([command, "--help"])
        assert exited.value.code == 0
        assert command in capsys.readouterr().out


def test_create_show_and_never_print_the_hash(run: Run) -> None:
    code, out, _ = run("create-customer", "--email", "New@Example.COM", "--password-stdin", stdin="s3cret-pass\n")
    assert code == 0
    created = json.loads(out)
    assert created["email"] == "New@example.com", "the domain is lower-cased as Django does"

    code, out, _ = run("show", "--email", "New@example.com")
    shown = json.loads(out)
    assert (code, shown["id"], shown["is_active"], shown["password"]) == (0, created["id"], True, "argon2$...")
    assert "s3cret" not in out


def test_duplicate_email_is_refused_with_exit_code_2(run: Run) -> None:
    run("create-customer", "--email", "dup@example.com", "--password-stdin", stdin="one-password\n")
    code, _, err = run("create-customer", "--email", "dup@example.com", "--password-stdin", stdin="two-password\n")
    assert code == 2
    assert "already exists" in err


def test_given_a_duplicate_email_when_created_then_the_message_names_it_and_no_id_is_burned(run: Run) -> None:
    first = json.loads(run("create-customer", "--email", "a@example.com", "--password-stdin", stdin="pass-one\n")[1])

    code, _, err = run("create-customer", "--email", "a@example.com", "--password-stdin", stdin="pass-two\n")
    after = json.loads(run("create-customer", "--email", "b@example.com", "--password-stdin", stdin="pass-three\n")[1])

    assert code == 2
    assert err.strip() == "authctl: a customer with email a@example.com already exists"
    assert after["id"] == first["id"] + 1


def test_given_a_taken_id_when_created_with_it_then_the_message_names_the_id(run: Run) -> None:
    run("create-customer", "--email", "a@example.com", "--id", "7", "--password-stdin", stdin="pass-one\n")

    code, _, err = run(
        "create-customer", "--email", "c@example.com", "--id", "7", "--password-stdin", stdin="pass-four\n"
    )

    assert (code, err.strip()) == (2, "authctl: a customer with id 7 already exists")


def test_unknown_customer_and_bad_file_are_usage_errors(run: Run, tmp_path: Path) -> None:
    assert run("deactivate", "--email", "ghost@example.com")[0] == 2
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, _, err = run("import-django", str(broken))
    assert code == 2
    assert "cannot read" in err


def test_set_password_deactivate_activate_delete(run: Run, call: Callable[..., HttpAnswer]) -> None:
    run("create-customer", "--email", "ops@example.com", "--password-stdin", stdin="first-password\n")

    def login(password: str) -> int:
        return call(
            "obtain_token", json_event("obtain_token_ok", {"email": "ops@example.com", "password": password})
        ).status

    assert run("set-password", "--email", "ops@example.com", "--password-stdin", stdin="second-password\n")[0] == 0
    assert (login("first-password"), login("second-password")) == (401, 200)
    assert run("deactivate", "--email", "ops@example.com")[0] == 0
    assert login("second-password") == 401
    assert run("activate", "--email", "ops@example.com")[0] == 0
    assert login("second-password") == 200
    assert run("delete", "--email", "ops@example.com")[0] == 0
    assert login("second-password") == 401
    assert run("show", "--email", "ops@example.com")[0] == 2


def fake_digest(pk: int) -> str:
    """Well-formed (32 bytes, base64) and never the digest of any password tried here."""
    return base64.b64encode(pk.to_bytes(32, "big")).decode()


def dumpdata(path: Path, count: int, sample_pk: int, sample_hash: str) -> None:
    """A `manage.py dumpdata` of the Django API's Customer model; cheap hashes except the sample's."""
    records: list[dict[str, Any]] = []
    for pk in range(1, count + 1):
        records.append(
            {
                "model": "customers.customer",
                "pk": pk,
                "fields": {
                    "password": sample_hash
                    if pk == sample_pk
                    else f"pbkdf2_sha256$1000000$salt{pk}${base64.b64encode(pk.to_bytes(32, 'big')).decode()}",
                    "last_login": None if pk % 3 else "2025-06-01T12:00:00.123Z",
                    "is_superuser": False,
                    "email": f"customer{pk}@example.com",
                    "is_active": pk % 50 != 0,
                    "date_joined": "2024-01-15T10:30:00Z",
                    "groups": [],
                    "user_permissions": [],
                },
            }
        )
    path.write_text(json.dumps(records))


def test_import_django_10000_customers_twice_then_a_sample_logs_in(
    run: Run, tmp_path: Path, django_configured: None, call: Callable[..., HttpAnswer]
) -> None:
    from django.contrib.auth.hashers import make_password

    file = tmp_path / "customers.json"
    dumpdata(file, 10_000, sample_pk=4321, sample_hash=make_password("original-pass-4321"))

    # One writer: moto's in-process backend is not thread-safe (the moto server and AWS are).
    code, out, err = run("import-django", str(file), "--threads", "1")
    assert code == 0, err
    first = json.loads(out)
    assert code == 0
    assert (first["read"], first["imported"], first["already_present"], first["conflicts"]) == (10_000, 10_000, 0, 0)

    code, out, _ = run("import-django", str(file), "--threads", "1")
    second = json.loads(out)
    assert (code, second["imported"], second["already_present"]) == (0, 0, 10_000)

    answer = call("obtain_token", json_event("obtain_token_ok", {"email": "customer4321@example.com",
                                                                  "password": "original-pass-4321"}))  # fmt: skip
    assert answer.status == 200
    created = services.customer_store().create("fresh@example.com", "argon2$x")
    assert int(created.customer_id) > 10_000, "new ids never collide with imported pks"
    print(f"import rate (moto in-process, one writer): {first['per_second']} customers/s")


def create(run: Run, email: str, *options: str) -> tuple[int, str, str]:
    return run("create-customer", "--email", email, *options, "--password-stdin", stdin="Passw0rd-long\n")


def login_status(call: Callable[..., HttpAnswer], email: str, password: str = "Passw0rd-long") -> int:
    return call("obtain_token", json_event("obtain_token_ok", {"email": email, "password": password})).status


def test_given_an_email_when_the_same_email_in_another_case_is_created_then_it_is_the_same_account(run: Run) -> None:
    assert create(run, "Jane@Example.com")[0] == 0

    code, _, err = create(run, "jane@example.com")

    assert (code, err.strip()) == (2, "authctl: a customer with email jane@example.com already exists")


def test_given_a_customer_when_authctl_is_given_the_email_in_another_case_then_it_finds_them(run: Run) -> None:
    created = json.loads(create(run, "Jane@Example.com")[1])

    code, out, _ = run("show", "--email", "JANE@EXAMPLE.COM")

    assert (code, json.loads(out)["id"]) == (0, created["id"])
    assert run("deactivate", "--email", "jane@example.com")[0] == 0


def test_given_a_customer_when_logging_in_then_the_email_must_match_as_stored(
    run: Run, call: Callable[..., HttpAnswer]
) -> None:
    create(run, "Jane@Example.com")  # stored as Jane@example.com

    assert login_status(call, "Jane@example.com") == 200
    assert login_status(call, "jane@example.com") == 401, "the contract: another case is an unknown email"


def test_given_a_deleted_customer_when_the_email_is_created_again_in_another_case_then_it_is_free(run: Run) -> None:
    create(run, "Jane@Example.com")
    assert run("delete", "--email", "jane@example.com")[0] == 0

    assert create(run, "JANE@example.com")[0] == 0


def test_given_django_customers_in_two_cases_when_imported_then_the_second_is_a_conflict_and_the_first_logs_in(
    run: Run, tmp_path: Path, django_configured: None, call: Callable[..., HttpAnswer]
) -> None:
    from django.contrib.auth.hashers import make_password

    fields = {"password": make_password("Passw0rd-long"), "is_active": True, "date_joined": "2024-01-15T10:30:00Z"}
    file = tmp_path / "customers.json"
    file.write_text(
        json.dumps(
            [
                {"model": "customers.customer", "pk": 1, "fields": {**fields, "email": "Mixed@Example.COM"}},
                {"model": "customers.customer", "pk": 2, "fields": {**fields, "email": "mixed@example.com"}},
            ]
        )
    )

    code, out, err = run("import-django", str(file), "--threads", "1")

    assert code == 0, err
    report = json.loads(out)
    assert (report["imported"], report["conflicts"], report["conflicting_ids"]) == (1, 1, [2])
    assert login_status(call, "Mixed@Example.COM") == 200, "kept exactly as Django stored it"


def test_given_a_customer_when_shown_then_ids_are_integers_and_every_time_is_iso(run: Run) -> None:
    create(run, "times@example.com")
    assert run("revoke-sessions", "--email", "times@example.com")[0] == 0

    shown = json.loads(run("show", "--email", "times@example.com")[1])

    assert isinstance(shown["id"], int)
    for name in ("date_joined", "tokens_valid_after"):
        assert datetime.fromisoformat(shown[name]).tzinfo == UTC, name


def test_given_a_customer_when_created_then_shown_then_both_print_the_same_line_with_the_apis_z_times(
    run: Run,
) -> None:
    """The API's layout (one JSON line, UTC times ending in Z as DRF renders them), whatever the command."""
    created = create(run, "same@example.com")[1]
    run("revoke-sessions", "--email", "same@example.com")
    run("activate", "--email", "same@example.com")
    shown = run("show", "--email", "same@example.com")[1]

    for out in (created, shown):
        assert out.count("\n") == 1, out
        assert out == json.dumps(json.loads(out), ensure_ascii=False) + "\n"
    times = json.loads(shown)
    assert json.loads(created).keys() == times.keys()
    for name in ("date_joined", "tokens_valid_after"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", times[name]), (name, times[name])


def test_given_no_terminal_and_no_password_stdin_when_creating_then_one_clear_line(run: Run) -> None:
    code, _, err = run("create-customer", "--email", "tty@example.com")

    assert code == 2
    assert err == "authctl: no terminal to ask for the password: pipe it in and add --password-stdin\n"


def test_given_nobody_when_looked_up_by_email_or_id_then_not_found_is_worded_one_way(run: Run) -> None:
    assert run("show", "--email", "ghost@example.com")[2] == "authctl: no customer with email ghost@example.com\n"
    assert run("deactivate", "--email", "ghost@example.com")[2] == "authctl: no customer with email ghost@example.com\n"
    assert run("show", "--id", "404")[2] == "authctl: no customer with id 404\n"


@pytest.mark.parametrize("password", ["x", "password123", "40958371628", "policy@example.com"])
def test_given_a_password_the_policy_refuses_when_creating_then_exit_2_and_no_customer(run: Run, password: str) -> None:
    code, _, err = run("create-customer", "--email", "policy@example.com", "--password-stdin", stdin=password + "\n")

    assert code == 2
    assert "password refused" in err
    assert run("show", "--email", "policy@example.com")[0] == 2


def test_given_a_weak_password_when_setting_it_then_refused_and_the_old_one_stays(
    run: Run, call: Callable[..., HttpAnswer]
) -> None:
    run("create-customer", "--email", "keep@example.com", "--password-stdin", stdin="first-password\n")

    code, _, err = run("set-password", "--email", "keep@example.com", "--password-stdin", stdin="1\n")

    assert (code, "This password is too short" in err) == (2, True)
    answer = call(
        "obtain_token", json_event("obtain_token_ok", {"email": "keep@example.com", "password": "first-password"})
    )
    assert answer.status == 200


def without_email_claim(email: str) -> None:
    """The customer as written before ``EMAILCI#`` existed: no case-insensitive claim."""
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=TABLE_NAME, Key={"pk": {"S": "EMAILCI#" + email.lower()}}
    )


def test_given_customers_from_before_email_claims_when_claimed_then_each_case_variant_is_one_account(
    run: Run, call: Callable[..., HttpAnswer], mailbox: Mailbox
) -> None:
    create(run, "Jane@Example.com")
    without_email_claim("jane@example.com")
    create(run, "JANE@example.com")  # possible then: nothing claimed the address in another case
    without_email_claim("jane@example.com")
    create(run, "solo@example.com")
    without_email_claim("solo@example.com")
    assert register(call, "pending@example.com").status == 201
    mailbox.deliver()  # the mailer creates the pending customer, with its claim
    create(run, "new@example.com")  # made after: has its claim

    code, out, err = run("claim-emails")
    again = json.loads(run("claim-emails")[1])

    assert code == 0, err
    report = json.loads(out)
    assert {name: report[name] for name in ("claimed", "present", "unverified", "conflict")} == {
        "claimed": 2,
        "present": 1,
        "unverified": 1,
        "conflict": 1,
    }
    assert len(report["conflicting_ids"]) == 1
    assert (again["claimed"], again["present"], again["conflict"]) == (0, 3, 1), "a rerun changes nothing"
    assert (
        create(run, "SOLO@example.com")[2].strip() == "authctl: a customer with email SOLO@example.com already exists"
    )
    assert login_status(call, "Jane@example.com") == 200
    assert login_status(call, "JANE@example.com") == 200, "a conflict is reported, neither customer is changed"


def test_given_a_look_alike_or_an_idn_email_when_created_then_the_look_alike_is_refused_and_the_domain_is_an_a_label(
    run: Run,
) -> None:
    code, _, err = create(run, "\u212aate@example.net")
    assert code != 0
    assert "not an email address registration accepts" in err

    code, out, err = create(run, "Uni@EX\u00c4MPLE.com")
    assert code == 0, err
    assert json.loads(out)["email"] == "Uni@xn--exmple-cua.com"


def test_given_django_customers_with_unicode_emails_when_imported_then_they_log_in_and_are_reported_as_unmailable(
    run: Run, tmp_path: Path, django_configured: None, call: Callable[..., HttpAnswer]
) -> None:
    from django.contrib.auth.hashers import make_password

    fields = {"password": make_password("Passw0rd-long"), "is_active": True, "date_joined": "2024-01-15T10:30:00Z"}
    emails = ["\u212aate@example.net", "uni@ex\u00e4mple.com", "kate@example.net", "Plain@Example.com"]
    file = tmp_path / "customers.json"
    file.write_text(
        json.dumps(
            [
                {"model": "customers.customer", "pk": pk, "fields": {**fields, "email": email}}
                for pk, email in enumerate(emails, start=1)
            ]
        )
    )

    code, out, err = run("import-django", str(file), "--threads", "1")

    assert code == 0, err
    report = json.loads(out)
    assert (report["imported"], report["conflicts"]) == (4, 0), "the look-alike is not kate@example.net"
    assert (report["unmailable_emails"], report["unmailable_ids"]) == (2, [1, 2])
    assert [login_status(call, email) for email in emails] == [200] * 4, "kept exactly as Django stored them"
