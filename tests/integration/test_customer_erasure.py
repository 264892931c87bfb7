"""`authctl delete` deletes everything that names the customer: their Google and Apple links,
passkeys and authenticator go with them, so nothing of theirs outlives the account and the
provider's subject can sign up again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import jwt

from tests.helpers import EMAIL, REGION, TABLE_NAME, HttpAnswer
from tests.integration.test_authctl import Run, run
from tests.mfa_kit import enrol
from tests.passkeys import Passkeys
from tests.social_provider import Provider, apple, google, sign_in_event, social

__all__ = ["apple", "google", "run", "social"]  # the fixtures this module uses


def items_naming(customer_id: str) -> list[str]:
    """The keys of every item that names the customer: by its key or its ``customer_id``."""
    items: list[dict[str, Any]] = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]
    return sorted(
        item["pk"]["S"]
        for item in items
        if item["pk"]["S"].endswith(f"#{customer_id}") or item.get("customer_id", {}).get("S") == customer_id
    )


def user_id(answer: HttpAnswer) -> str:
    assert answer.status == 200, answer.body
    return str(jwt.decode(answer.body["access"], options={"verify_signature": False})["user_id"])


def test_given_a_google_customer_with_a_passkey_when_deleted_then_the_subject_signs_up_anew(
    run: Run, social: None, google: Provider, passkeys: Passkeys, call: Callable[..., HttpAnswer]
) -> None:
    token = google.id_token("g-gone", "gone@example.com")
    first = user_id(call("social", sign_in_event("google", {"id_token": token})))
    assert passkeys.enrol(first).status == 201
    assert any(name.startswith("SOCIAL#google#") for name in items_naming(first))

    assert run("delete", "--email", "gone@example.com")[0] == 0

    assert items_naming(first) == []
    again = call("social", sign_in_event("google", {"id_token": google.id_token("g-gone", "gone@example.com")}))
    assert user_id(again) not in ("", first), "a new customer: the deleted one's link no longer stands in the way"


def test_given_a_customer_with_mfa_and_a_passkey_when_deleted_then_no_item_names_them(
    run: Run, passkeys: Passkeys, call: Callable[..., HttpAnswer]
) -> None:
    enrol(call, "1")
    assert passkeys.enrol("1").status == 201
    assert {"MFA#1", "PASSKEYS#1"} <= set(items_naming("1"))

    assert run("delete", "--email", EMAIL)[0] == 0

    assert items_naming("1") == []
