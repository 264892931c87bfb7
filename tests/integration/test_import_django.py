"""authctl import-django keeps what a Django shop's user rows hold beyond the password, reads
allauth's verified addresses, reports bad rows by index and field, and a rerun changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import REGION, TABLE_NAME, HttpAnswer, json_event
from tools import authctl

PASSWORD = "correct horse battery staple"


def user(pk: int, email: str, **fields: Any) -> dict[str, Any]:
    return {"model": "shop.customer", "pk": pk, "fields": {"email": email, "password": "!unusable", **fields}}


def run_import(tmp_path: Path, records: list[Any], capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    file = tmp_path / "dump.json"
    file.write_text(json.dumps(records))
    capsys.readouterr()
    assert authctl.main(["--table", TABLE_NAME, "import-django", str(file), "--threads", "2"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def table() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    return sorted(client.scan(TableName=TABLE_NAME)["Items"], key=lambda item: item["pk"]["S"])


def test_given_a_shop_dump_when_imported_twice_then_names_staff_groups_and_verification_are_kept_once(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Callable[..., HttpAnswer], make_customer: Any
) -> None:
    from tests.integration.test_legacy_hashes import pbkdf2

    records = [
        {"model": "auth.group", "pk": 1, "fields": {"name": "editors", "permissions": []}},
        {"model": "auth.group", "pk": 2, "fields": {"name": "support", "permissions": []}},
        user(
            10,
            "staff@example.com",
            password=pbkdf2(36_000),
            first_name="Ada",
            last_name="Lovelace",
            is_staff=True,
            is_superuser=True,
            groups=[1, 2],
            date_joined="2016-03-01T10:00:00Z",
            last_login="2019-05-04T08:30:00.123456",
        ),
        user(11, "unverified@example.com", password=pbkdf2(36_000), groups=[3]),
        user(12, "inactive@example.com", is_active=False),
        {
            "model": "account.emailaddress",
            "pk": 1,
            "fields": {"user": 10, "email": "Staff@Example.com", "verified": True, "primary": True},
        },
        {
            "model": "account.emailaddress",
            "pk": 2,
            "fields": {"user": 11, "email": "unverified@example.com", "verified": False, "primary": True},
        },
        {"model": "sessions.session", "pk": "abc", "fields": {"session_data": "x"}},
    ]

    report, _ = run_import(tmp_path, records, capsys)

    assert report["rows_by_model"] == {
        "account.emailaddress": 2,
        "auth.group": 2,
        "sessions.session": 1,
        "shop.customer": 3,
    }
    assert (report["imported"], report["unverified_emails"], report["invalid_rows"]) == (3, 2, 0)
    store = authctl._store(
        authctl._settings(authctl._parser().parse_args(["--table", TABLE_NAME, "show", "--id", "10"]))
    )
    staff = store.get("10")
    assert staff is not None
    assert (staff.first_name, staff.last_name, staff.is_staff, staff.is_superuser) == ("Ada", "Lovelace", True, True)
    assert (staff.groups, staff.email_verified) == (("editors", "support"), True)
    assert (staff.date_joined, staff.last_login) == (
        "2016-03-01T10:00:00.000000+00:00",
        "2019-05-04T08:30:00.123456+00:00",
    )
    unverified = store.get("11")
    assert unverified is not None
    assert (unverified.groups, unverified.email_verified, unverified.is_staff) == (("3",), False, False)
    assert "expires_at" not in str(table()), "an imported customer never expires"
    inactive = store.get("12")
    assert inactive is not None
    assert not inactive.is_active
    assert (
        call("obtain_token", json_event("obtain_token_ok", {"email": "staff@example.com", "password": PASSWORD})).status
        == 200
    )
    before = table()

    again, _ = run_import(tmp_path, records, capsys)

    assert (again["imported"], again["already_present"], again["legacy_hashes"]) == (0, 3, 0)
    assert table() == before, "a second run changes nothing"


def test_given_bad_rows_then_each_is_reported_by_index_and_field_and_the_good_ones_are_imported(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        user(1, "good@example.com"),
        user(42, "not-an-email"),
        {
            "model": "shop.customer",
            "pk": 43,
            "fields": {"email": "x@example.com", "password": "!x", "is_staff": "maybe"},
        },
        {
            "model": "shop.customer",
            "pk": 44,
            "fields": {"email": "y@example.com", "password": "!x", "last_login": "yesterday"},
        },
        {"model": "shop.customer", "fields": {"email": "z@example.com", "password": "!x"}},
        "not a record",
    ]

    report, err = run_import(tmp_path, records, capsys)

    assert report["imported"] == 1
    assert report["invalid_rows"] == 5
    assert report["invalid"][:3] == [
        "row 1 (shop.customer pk=42): email: value is not a valid email address",
        "row 2 (shop.customer pk=43): is_staff: Input should be a valid boolean, unable to interpret input",
        "row 3 (shop.customer pk=44): last_login: Input should be a valid datetime or date, input is too short",
    ]
    assert report["invalid"][3] == "row 4: pk: Field required"
    assert report["invalid"][4].startswith("row 5: (record): ")
    assert "Traceback" not in err
    assert "row 1 (shop.customer pk=42): email: value is not a valid email address" in err
