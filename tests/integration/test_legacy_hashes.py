"""Imported Django hashes: bounded before they are run (finding 10), and no timing tell
between migrated customers and unknown emails while they wait for their upgrade (finding 5)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import argon2
import boto3
import pytest

from tests.helpers import REGION, TABLE_NAME, HttpAnswer, json_event
from tests.mailbox import OTHER_STRONG, STRONG, Mailbox, account_event
from tools import authctl

PASSWORD = "correct horse battery staple"
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}
Call = Callable[..., HttpAnswer]


def pbkdf2(iterations: int, password: str = PASSWORD, salt: str = "importedsalt0123", digest: str = "sha256") -> str:
    derived = base64.b64encode(hashlib.pbkdf2_hmac(digest, password.encode(), salt.encode(), iterations)).decode()
    return f"pbkdf2_{digest}${iterations}${salt}${derived}"


def argon2_hash(memory_kib: int, time_cost: int, parallelism: int, kind: argon2.Type = argon2.Type.ID) -> str:
    hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=kind)
    return "argon2" + hasher.hash(PASSWORD)


@pytest.fixture
def pbkdf2_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The iteration count of every PBKDF2 the service runs."""
    runs: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counted(digest: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        runs.append(iterations)
        return real(digest, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counted)  # the module shared/customers/passwords.py calls
    return runs


def login(call: Call, email: str, password: str = PASSWORD) -> HttpAnswer:
    return call("obtain_token", json_event("obtain_token_ok", {"email": email, "password": password}))


def item(pk: str) -> dict[str, Any]:
    client = boto3.client("dynamodb", region_name=REGION)
    return dict(client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}}).get("Item", {}))


def import_django(
    tmp_path: Path, hashes: dict[int, str], capsys: pytest.CaptureFixture[str], *flags: str
) -> dict[str, Any]:
    """``authctl import-django`` of customers ``<pk>@example.com`` with these hashes; its report."""
    records = [
        {"model": "customers.customer", "pk": pk, "fields": {"email": f"{pk}@example.com", "password": encoded}}
        for pk, encoded in hashes.items()
    ]
    file = tmp_path / "customers.json"
    file.write_text(json.dumps(records))
    capsys.readouterr()
    assert authctl.main(["--table", TABLE_NAME, "import-django", str(file), "--threads", "1", *flags]) == 0
    out = capsys.readouterr().out
    for encoded in hashes.values():
        assert encoded not in out, "the report never shows a hash"
    report: dict[str, Any] = json.loads(out)
    return report


# --- finding 10: bounds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("pbkdf2_sha256$100000000$importedsalt0123$" + "A" * 43 + "=", "pbkdf2_sha256 iterations above 2000000"),
        (pbkdf2(36_000)[:-10], "malformed pbkdf2_sha256 hash"),  # truncated
        (pbkdf2(36_000, digest="sha1")[:-4] + "*!*=", "malformed pbkdf2_sha1 hash"),  # not base64
        ("pbkdf2_sha256$-5$importedsalt0123$" + pbkdf2(1).split("$")[3], "malformed pbkdf2_sha256 hash"),
        ("argon2$argon2id$v=19$m=1048576,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "argon2 memory_cost above"),
        ("argon2$argon2id$v=19$m=262144,t=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "x time_cost above"),
        ("argon2$argon2id$v=19$m=512,t=2,p=64$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "parallelism above 16"),
        (argon2_hash(512, 2, 2)[:-30], "malformed argon2 hash"),
        ("argon2$argon2d$v=19$m=512,t=2,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "malformed argon2 hash"),
        ("bcrypt_sha256$$2b$14$" + "a" * 53, "bcrypt_sha256 rounds above 13"),
        ("bcrypt$$2b$31$" + "a" * 53, "bcrypt rounds above 13"),
        ("bcrypt$$2b$12$" + "a" * 40, "malformed bcrypt hash"),
        ("bcrypt$$2b$03$" + "a" * 53, "malformed bcrypt hash"),
        ("scrypt$1048576$salt$8$1$" + "A" * 86 + "==", "scrypt memory (128 x n x r) above"),
        ("scrypt$16384$salt$8$64$" + "A" * 86 + "==", "scrypt n x r x p above 1048576"),
        ("scrypt$1000$salt$8$1$" + "A" * 86 + "==", "malformed scrypt hash"),
        ("scrypt$16384$salt$8$1$aGFzaA==", "malformed scrypt hash"),
        ("crypt$$ab1iBazxgHz6c", "unsupported algorithm crypt"),
        ("md5$$12", "malformed unsalted_md5 hash"),
        (PASSWORD, "unrecognised hash format"),
    ],
)
def test_given_a_stored_hash_outside_the_bounds_when_its_customer_logs_in_then_it_is_refused_unrun(
    make_customer: Callable[..., Any],
    call: Call,
    pbkdf2_runs: list[int],
    caplog: pytest.LogCaptureFixture,
    encoded: str,
    reason: str,
) -> None:
    make_customer("bounded@example.com", customer_id="70", password_hash=encoded)
    pbkdf2_runs.clear()
    caplog.set_level(logging.WARNING)

    answer = login(call, "bounded@example.com")

    assert (answer.status, answer.body) == (401, NO_ACCOUNT)
    assert (
        [iterations for iterations in pbkdf2_runs if iterations == int(encoded.split("$")[1] or 0)] == []
        if (encoded.startswith("pbkdf2"))
        else True
    )
    [refused] = [record for record in caplog.records if record.getMessage() == "stored password hash refused"]
    assert reason in refused.__dict__["reason"]
    assert encoded not in str(refused.__dict__), "logged by its kind, never the hash"


@pytest.mark.parametrize("iterations", [1_000_000, 1_200_000])
def test_given_djangos_default_pbkdf2_hashes_when_logging_in_then_they_verify(
    make_customer: Callable[..., Any], call: Call, iterations: int
) -> None:
    make_customer("django@example.com", customer_id="71", password_hash=pbkdf2(iterations))

    assert login(call, "django@example.com").status == 200


def test_given_djangos_argon2_default_when_logging_in_then_it_verifies(
    make_customer: Callable[..., Any], call: Call
) -> None:
    make_customer("argon@example.com", customer_id="72", password_hash=argon2_hash(102_400, 2, 8))

    assert login(call, "argon@example.com").status == 200


def test_given_a_dump_with_unsafe_hashes_when_imported_then_they_are_refused_and_counted(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call
) -> None:
    report = import_django(
        tmp_path,
        {
            1: pbkdf2(1_000_000),
            2: pbkdf2(10_000),  # Django 1.4's count: imported, verified once, upgraded
            3: "pbkdf2_sha256$100000000$importedsalt0123$" + "A" * 43 + "=",
            4: "bcrypt_sha256$$2b$14$" + "a" * 53,
            5: "md5$salt$1bc29b36f623ba82aaf6724fd3b16718",
            6: "!unusablepasswordxxxxxxxxxxxxxxxxxxxxxxx",
            7: PASSWORD,
            8: "sha1$$" + hashlib.sha1(PASSWORD.encode()).hexdigest(),
        },
        capsys,
    )

    assert (report["read"], report["imported"], report["refused"], report["unusable_passwords"]) == (8, 3, 5, 1)
    assert report["refused_by_reason"] == {
        "pbkdf2_sha256 iterations above 2000000": 1,
        "bcrypt_sha256 rounds above 13": 1,
        "weak algorithm md5": 1,
        "unrecognised hash format": 1,
        "weak algorithm unsalted_sha1": 1,
    }
    assert report["refused_ids"] == [3, 4, 5, 7, 8]
    assert item("EMAIL#3@example.com") == {}
    assert login(call, "1@example.com").status == 200
    assert login(call, "2@example.com").status == 200


def test_given_weak_hashes_accepted_by_the_flag_when_imported_then_they_log_in_once_and_are_upgraded(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call
) -> None:
    weak = {
        1: "md5$salt$" + hashlib.md5(f"salt{PASSWORD}".encode()).hexdigest(),
        2: "sha1$salt$" + hashlib.sha1(f"salt{PASSWORD}".encode()).hexdigest(),
        3: hashlib.md5(PASSWORD.encode()).hexdigest(),
        4: "sha1$$" + hashlib.sha1(PASSWORD.encode()).hexdigest(),
    }
    report = import_django(tmp_path, weak, capsys, "--accept-weak-hashes")

    assert (report["imported"], report["refused"]) == (4, 0)
    for pk in weak:
        assert login(call, f"{pk}@example.com", "wrong").status == 401
        assert login(call, f"{pk}@example.com").status == 200
        assert item(f"EMAIL#{pk}@example.com")["password_hash"]["S"].startswith("argon2$argon2id$")


# --- finding 5: timing while imported hashes wait for their upgrade ---------------------------


def test_given_imported_pbkdf2_hashes_then_every_refusal_costs_one_argon2_and_the_costliest_pbkdf2_verify(
    aws: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    call: Call,
    make_customer: Callable[..., Any],
    pbkdf2_runs: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = import_django(
        tmp_path, {1: pbkdf2(150_000), 2: pbkdf2(150_000, salt="othersalt0123"), 3: pbkdf2(300_000)}, capsys
    )
    assert report["legacy_hashes"] == 3
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "3"}
    make_customer("argon@example.com", PASSWORD, customer_id="9")
    argon2_runs: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def counted_verify(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        argon2_runs.append("argon2")
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counted_verify)
    assert login(call, "argon@example.com").status == 200  # the cold start's dummy hash is not a refusal
    refusals = {  # the dummy is at the costliest count imported; a migrated hash runs its own
        "unknown email": ("nobody@example.com", PASSWORD, [300_000]),
        "migrated, wrong password": ("1@example.com", "wrong", [150_000]),
        "argon2id customer, wrong password": ("argon@example.com", "wrong", [300_000]),
    }

    for case, (email, password, pbkdf2_expected) in refusals.items():
        pbkdf2_runs.clear()
        argon2_runs.clear()
        assert login(call, email, password).body == NO_ACCOUNT, case
        assert (pbkdf2_runs, argon2_runs) == (pbkdf2_expected, ["argon2"]), case


def test_given_every_imported_hash_upgraded_then_an_unknown_email_costs_argon2_only(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call, pbkdf2_runs: list[int]
) -> None:
    import_django(tmp_path, {1: pbkdf2(150_000)}, capsys)
    assert login(call, "1@example.com").status == 200  # the first login upgrades the hash
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "0"}
    pbkdf2_runs.clear()

    assert login(call, "nobody@example.com").body == NO_ACCOUNT
    assert pbkdf2_runs == []


def test_given_two_imported_kinds_then_refusals_pad_with_the_slowest_until_its_hashes_are_upgraded(
    aws: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    call: Call,
    pbkdf2_runs: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scrypt_runs: list[int] = []
    real_scrypt = hashlib.scrypt

    def counted_scrypt(password: bytes, **options: Any) -> bytes:
        scrypt_runs.append(options["p"])
        return real_scrypt(password, **options)

    monkeypatch.setattr(hashlib, "scrypt", counted_scrypt)
    salt = "scryptsalt0123"
    scrypt = base64.b64encode(real_scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**14, r=8, p=1, dklen=64))
    report = import_django(tmp_path, {1: pbkdf2(1_500_000), 2: f"scrypt$16384${salt}$8$1${scrypt.decode()}"}, capsys)
    assert report["legacy_hashes_by_kind"] == {"pbkdf2_sha256": 1, "scrypt": 1}
    recorded = item("COUNTER#legacy")
    assert float(recorded["seconds_pbkdf2_sha256"]["N"]) > float(recorded["seconds_scrypt"]["N"])

    def refusal_runs(email: str, password: str = "wrong") -> tuple[list[int], list[int]]:
        pbkdf2_runs.clear()
        scrypt_runs.clear()
        assert login(call, email, password).body == NO_ACCOUNT
        return pbkdf2_runs[:], scrypt_runs[:]

    assert refusal_runs("nobody@example.com") == ([1_500_000], []), "the slowest kind's dummy"
    assert refusal_runs("2@example.com") == ([1_500_000], [1]), "a cheap kind's own hash, padded by the slowest"
    assert login(call, "1@example.com").status == 200  # the PBKDF2 hash is upgraded
    assert refusal_runs("nobody@example.com") == ([], [1]), "then the scrypt dummy is the slowest left"


def test_given_a_counter_from_an_import_before_kinds_were_told_apart_then_it_still_pads_until_spent(
    make_customer: Callable[..., Any], call: Call, pbkdf2_runs: list[int]
) -> None:
    from shared.customers.passwords import dummy_like

    make_customer("old@example.com", customer_id="80", password_hash=pbkdf2(120_000))
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=TABLE_NAME,
        Item={"pk": {"S": "COUNTER#legacy"}, "count": {"N": "1"}, "dummy_hash": {"S": dummy_like(pbkdf2(120_000))}},
    )
    pbkdf2_runs.clear()
    assert login(call, "nobody@example.com").body == NO_ACCOUNT
    assert pbkdf2_runs == [120_000]

    assert login(call, "old@example.com").status == 200  # upgraded: the old count is spent
    assert item("COUNTER#legacy")["count"] == {"N": "0"}
    pbkdf2_runs.clear()
    assert login(call, "nobody@example.com").body == NO_ACCOUNT
    assert pbkdf2_runs == []


# --- a new password before the first login takes the hash off the count ------------------------


def change_password(call: Call, customer_id: str, old: str, new: str) -> HttpAnswer:
    body = {"old_password": old, "new_password1": new, "new_password2": new}
    return call("change_password", account_event("password_change_wrong_old", body, caller=customer_id))


def reset_password(call: Call, mailbox: Mailbox, email: str, new: str) -> HttpAnswer:
    assert call("request_mail", json_event("password_reset_ok", {"email": email})).status == 200
    body = {**mailbox.one().query(), "new_password1": new, "new_password2": new}
    return call("reset_password", json_event("password_reset_confirm_bad_uid", body))


def test_given_imported_hashes_when_new_passwords_replace_them_before_any_login_then_each_leaves_the_count(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call, mailbox: Mailbox
) -> None:
    import_django(tmp_path, {1: pbkdf2(150_000), 2: pbkdf2(150_000), 3: pbkdf2(150_000), 4: pbkdf2(150_000)}, capsys)
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "4"}

    assert change_password(call, "1", PASSWORD, STRONG).status == 200
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "3"}, "a change"
    assert reset_password(call, mailbox, "2@example.com", STRONG).status == 200
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "2"}, "a reset"
    set_password = ["--table", TABLE_NAME, "set-password", "--email", "3@example.com", "--password-stdin"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(STRONG + "\n"))
        assert authctl.main(set_password) == 0
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "1"}, "authctl set-password"

    assert change_password(call, "1", STRONG, OTHER_STRONG).status == 200
    assert item("COUNTER#legacy")["count_pbkdf2_sha256"] == {"N": "1"}, "an argon2id hash replaced counts nothing"
    assert login(call, "nobody@example.com").body == NO_ACCOUNT  # customer 4 still waits: refusals still pad
