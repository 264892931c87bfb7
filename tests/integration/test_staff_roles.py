"""Roles in the token: what a staff customer's tokens claim, and authctl changing roles.

A plain customer's tokens are what they were (docs/contract.md); a staff customer's carry
Django's fields after simplejwt's claims and stay simplejwt's tokens. Changing roles revokes
every token of the customer in the same transaction, so no token outlives the roles it claims.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from shared import services
from shared.customers.record import Customer
from shared.settings import Settings
from shared.tokens.keyset import rotate
from shared.tokens.minting import PLAIN, Roles, TokenService
from tests.helpers import EMAIL, PASSWORD, REGION, SIGNING_KEY, TABLE_NAME, HttpAnswer, StaticKeys
from tests.mailbox import login, refresh
from tools import authctl

SIMPLEJWT_CLAIMS = ["token_type", "exp", "iat", "jti", "user_id"]
Call = Callable[..., HttpAnswer]


def payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def authctl_run(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = authctl.main(["--table", TABLE_NAME, *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def staff_without_mfa(monkeypatch: pytest.MonkeyPatch) -> None:
    """RequireStaffMfa off: the roles' claims are under test here, not the enrolment-only session
    staff without MFA get by default (tests/integration/test_mfa_ways_in.py)."""
    monkeypatch.setenv("REQUIRE_STAFF_MFA", "false")


def items(customer_id: str, email: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    return [
        client.get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}})["Item"]
        for pk in (f"CUSTOMER#{customer_id}", f"EMAIL#{email}")
    ]


def test_given_a_plain_customer_then_both_tokens_claim_exactly_what_they_claimed_before(
    customer: Customer, call: Call
) -> None:
    pair = login(call, EMAIL, PASSWORD).body

    assert list(payload(pair["access"])) == [*SIMPLEJWT_CLAIMS, "family"]
    assert list(payload(pair["refresh"])) == [*SIMPLEJWT_CLAIMS, "family"]


def test_given_a_staff_customer_then_both_tokens_claim_the_roles_after_simplejwts_claims(
    customer: Customer, call: Call, capsys: pytest.CaptureFixture[str]
) -> None:
    authctl_run(capsys, "grant-staff", "--email", EMAIL, "--superuser")
    authctl_run(capsys, "set-groups", "--email", EMAIL, "support", "editors")

    pair = login(call, EMAIL, PASSWORD).body

    for token in pair.values():
        claims = payload(token)
        assert list(claims) == [*SIMPLEJWT_CLAIMS, "family", "is_staff", "is_superuser", "groups"]
        assert (claims["is_staff"], claims["is_superuser"], claims["groups"]) == (True, True, ["support", "editors"])


def test_given_a_staff_refresh_then_the_new_pair_claims_the_roles_the_table_holds(
    customer: Customer, call: Call, capsys: pytest.CaptureFixture[str]
) -> None:
    authctl_run(capsys, "grant-staff", "--email", EMAIL)
    pair = login(call, EMAIL, PASSWORD).body

    refreshed = refresh(call, pair["refresh"]).body

    assert payload(refreshed["access"])["is_staff"] is True
    assert "is_superuser" not in payload(refreshed["access"])


@pytest.fixture(scope="module")
def simplejwt(django_configured: None) -> Any:
    from rest_framework_simplejwt import tokens

    return tokens


def test_simplejwt_accepts_a_staff_token_and_its_access_token_keeps_the_roles(simplejwt: Any) -> None:
    pair = TokenService(Settings(), StaticKeys(SIGNING_KEY)).issue_pair("42", roles=Roles(is_staff=True))

    assert simplejwt.AccessToken(pair["access"])["is_staff"] is True
    assert simplejwt.RefreshToken(pair["refresh"]).access_token["is_staff"] is True


def test_given_an_asymmetric_stack_then_roles_are_also_a_space_separated_scope() -> None:
    signing = rotate(SIGNING_KEY, "RS256", 3600, activation_delay=0)
    tokens = TokenService(Settings(ALGORITHM="RS256", ISSUER="https://auth.shop.example"), StaticKeys(signing))

    staff = payload(tokens.issue_access("1", "family-1", Roles(is_staff=True, is_superuser=True)))
    plain = payload(tokens.issue_access("1", "family-1", PLAIN))

    assert staff["scope"] == "staff superuser"
    assert "scope" not in plain


def test_given_an_hmac_stack_then_no_scope_is_claimed() -> None:
    access = TokenService(Settings(), StaticKeys(SIGNING_KEY)).issue_access("1", "family-1", Roles(is_staff=True))

    assert "scope" not in payload(access)


def test_given_grant_staff_then_both_items_change_in_one_write_and_the_customers_tokens_are_revoked(
    customer: Customer, call: Call, capsys: pytest.CaptureFixture[str]
) -> None:
    before = login(call, EMAIL, PASSWORD).body

    code, out, _ = authctl_run(capsys, "grant-staff", "--email", EMAIL)

    assert code == 0
    assert "sessions are revoked" in out
    for item in items("1", EMAIL):
        assert item["is_staff"] == {"BOOL": True}
        assert "tokens_valid_after" in item
    assert refresh(call, before["refresh"]).status == 401, "a token claiming no role outlived the grant"
    assert payload(login(call, EMAIL, PASSWORD).body["access"])["is_staff"] is True


def test_given_revoke_staff_then_the_staff_token_is_refused_and_the_next_login_claims_no_role(
    customer: Customer, call: Call, capsys: pytest.CaptureFixture[str]
) -> None:
    authctl_run(capsys, "grant-staff", "--email", EMAIL, "--superuser")
    staff_pair = login(call, EMAIL, PASSWORD).body

    code, _, _ = authctl_run(capsys, "revoke-staff", "--email", EMAIL)

    assert code == 0
    assert refresh(call, staff_pair["refresh"]).body["detail"] == "Token is blacklisted"
    assert list(payload(login(call, EMAIL, PASSWORD).body["access"])) == [*SIMPLEJWT_CLAIMS, "family"]
    stored = services.customer_store().get("1")
    assert stored is not None
    assert (stored.is_staff, stored.is_superuser) == (False, False)


@pytest.mark.parametrize("name", ["staff", "superuser", "customer", "a,b", ""])
def test_set_groups_refuses_a_name_that_could_pass_for_a_role(
    customer: Customer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = authctl_run(capsys, "set-groups", "--email", EMAIL, "editors", name)

    assert code == 2
    assert "group names" in err
    stored = services.customer_store().get("1")
    assert stored is not None
    assert stored.groups == ()


def test_show_prints_the_roles(customer: Customer, capsys: pytest.CaptureFixture[str]) -> None:
    authctl_run(capsys, "set-groups", "--email", EMAIL, "editors")

    shown = json.loads(authctl_run(capsys, "show", "--id", "1")[1])

    assert (shown["is_staff"], shown["is_superuser"], shown["groups"]) == (False, False, ["editors"])
