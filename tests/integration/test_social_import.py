"""authctl import-django links django-allauth's Google and Apple accounts: a migrated customer
signs in with the provider as their Django pk, even when their email changed since."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest

from shared import services
from tests.helpers import HttpAnswer
from tests.integration.test_import_django import run_import, table, user
from tests.social_provider import Provider, apple, google, sign_in_event, social

__all__ = ["apple", "google", "social"]  # the fixtures this module uses

Call = Callable[..., HttpAnswer]


def social_account(pk: int, provider: str, uid: str, owner: int, **extra: Any) -> dict[str, Any]:
    fields = {
        "provider": provider,
        "uid": uid,
        "user": owner,
        "date_joined": "2021-06-01T12:00:00Z",
        "extra_data": extra,
    }
    return {"model": "socialaccount.socialaccount", "pk": pk, "fields": fields}


RECORDS = [
    user(42, "old.address@example.com"),  # signed up with Google: no password (Django's "!")
    user(43, "apple.user@example.com"),
    social_account(1, "google", "g-subject-42", 42, email="old.address@example.com"),
    social_account(2, "apple", "a-subject-43", 43),
    social_account(3, "facebook", "f-1", 42),
    social_account(4, "google", "g-subject-99", 99),  # a user not in the dump
]


def test_a_migrated_google_customer_signs_in_as_their_django_pk_though_their_email_changed(
    social: None, google: Provider, apple: Provider, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call
) -> None:
    report, _ = run_import(tmp_path, RECORDS, capsys)

    token = google.id_token("g-subject-42", "new.address@example.com")
    answer = call("social", sign_in_event("google", {"id_token": token}))

    assert report["social_accounts"] == {
        "imported": 2,
        "already_present": 0,
        "conflicts": 0,
        "customer_not_imported": 1,
        "other_providers": {"facebook": 1},
    }
    assert answer.status == 200
    assert jwt.decode(answer.body["access"], options={"verify_signature": False})["user_id"] == "42"
    apple_answer = call("social", sign_in_event("apple", {"id_token": apple.id_token("a-subject-43")}))
    assert jwt.decode(apple_answer.body["access"], options={"verify_signature": False})["user_id"] == "43"


def test_importing_the_social_accounts_twice_changes_nothing(
    social: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_import(tmp_path, RECORDS, capsys)
    before = table()

    again, _ = run_import(tmp_path, RECORDS, capsys)

    assert (again["social_accounts"]["imported"], again["social_accounts"]["already_present"]) == (0, 2)
    assert table() == before


def test_a_migrated_customer_imported_unconfirmed_is_confirmed_by_their_linked_provider(
    social: None, google: Provider, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call
) -> None:
    records = [
        user(50, "late@example.com"),
        {"model": "account.emailaddress", "pk": 9, "fields": {"user": 50, "email": "late@example.com"}},
        social_account(5, "google", "g-subject-50", 50),
    ]
    run_import(tmp_path, records, capsys)
    store = services.customer_store()
    before = store.get("50")
    assert before is not None
    assert not before.email_verified

    answer = call("social", sign_in_event("google", {"id_token": google.id_token("g-subject-50", "Late@example.com")}))

    assert answer.status == 200
    after = store.get("50")
    assert after is not None
    assert (after.email_verified, after.password_hash) == (True, before.password_hash)
