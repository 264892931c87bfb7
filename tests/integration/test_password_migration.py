"""Customers migrated from Django log in with their old hashes and end up on argon2id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from tests.helpers import REGION, TABLE_NAME, HttpAnswer, json_event

MIGRATED_EMAIL = "migrated@example.com"
MIGRATED_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def django_hashers(django_configured: None) -> Any:
    """Django's own hashers make the legacy hashes (no hand-made fixtures)."""
    from django.contrib.auth import hashers

    return hashers


def stored_hashes(customer_id: str, email: str) -> tuple[str, str]:
    client = boto3.client("dynamodb", region_name=REGION)
    customer = client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"CUSTOMER#{customer_id}"}})["Item"]
    by_email = client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"EMAIL#{email}"}})["Item"]
    return customer["password_hash"]["S"], by_email["password_hash"]["S"]


def login(call: Callable[..., HttpAnswer], password: str = MIGRATED_PASSWORD) -> HttpAnswer:
    return call("obtain_token", json_event("obtain_token_ok", {"email": MIGRATED_EMAIL, "password": password}))


def test_django_pbkdf2_hash_logs_in_and_is_upgraded_to_argon2id(
    django_hashers: Any, make_customer: Callable[..., Any], call: Callable[..., HttpAnswer]
) -> None:
    legacy = django_hashers.make_password(MIGRATED_PASSWORD, hasher="pbkdf2_sha256")
    assert legacy.startswith("pbkdf2_sha256$1000000$")
    make_customer(MIGRATED_EMAIL, customer_id="500", password_hash=legacy)

    answer = login(call)

    assert answer.status == 200
    on_customer, on_email = stored_hashes("500", MIGRATED_EMAIL)
    assert on_customer == on_email
    assert on_customer.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert django_hashers.check_password(MIGRATED_PASSWORD, on_customer), "Django can still verify the new hash"
    assert login(call).status == 200, "the upgraded hash verifies on the next login"


def test_wrong_password_on_a_legacy_hash_leaves_it_untouched(
    django_hashers: Any, make_customer: Callable[..., Any], call: Callable[..., HttpAnswer]
) -> None:
    legacy = django_hashers.make_password(MIGRATED_PASSWORD, hasher="pbkdf2_sha256")
    make_customer(MIGRATED_EMAIL, customer_id="501", password_hash=legacy)

    assert login(call, "wrong").status == 401
    assert stored_hashes("501", MIGRATED_EMAIL) == (legacy, legacy)


def test_stronger_django_argon2_hash_logs_in_and_is_kept(
    django_hashers: Any, make_customer: Callable[..., Any], call: Callable[..., HttpAnswer]
) -> None:
    strong = django_hashers.make_password(MIGRATED_PASSWORD, hasher="argon2")
    assert strong.startswith("argon2$argon2id$v=19$m=102400,t=2,p=8$")
    make_customer(MIGRATED_EMAIL, customer_id="502", password_hash=strong)

    assert login(call).status == 200
    assert stored_hashes("502", MIGRATED_EMAIL) == (strong, strong)


def test_upgrade_is_refused_when_the_password_changed_since_it_was_read(
    django_hashers: Any, make_customer: Callable[..., Any], aws: None
) -> None:
    from shared import services
    from shared.customers.record import LoginOutcome

    legacy = django_hashers.make_password(MIGRATED_PASSWORD, hasher="pbkdf2_sha256")
    make_customer(MIGRATED_EMAIL, customer_id="503", password_hash=legacy)
    store = services.customer_store()
    read = store.find_login(MIGRATED_EMAIL)
    assert read is not None
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": "CUSTOMER#503"}},
        UpdateExpression="SET password_hash = :changed",
        ExpressionAttributeValues={":changed": {"S": "argon2$changed-by-an-operator"}},
    )

    assert store.upgrade_hash_and_record_login(read, "argon2$new", None) == LoginOutcome.STALE
    assert stored_hashes("503", MIGRATED_EMAIL) == ("argon2$changed-by-an-operator", legacy)
