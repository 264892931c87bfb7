"""Passkeys end to end through functions/passkeys with moto: register, list, sign in with no email, delete.

Every response is made by a software authenticator (tests/authenticator.py) and checked by
py_webauthn itself; nothing of the WebAuthn verification is stubbed.
"""

from __future__ import annotations

from typing import Any

import boto3
import jwt
import pytest

from shared import services
from tests.authenticator import SoftwareAuthenticator
from tests.helpers import REGION, SIGNING_KEY, TABLE_NAME
from tests.passkeys import ORIGIN, Passkeys


def customer_item(customer_id: str = "1") -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": f"CUSTOMER#{customer_id}"}}
    )["Item"]
    return item


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_a_customer_registers_a_passkey_then_signs_in_with_it_naming_no_account(
    passkeys: Passkeys, algorithm: str
) -> None:
    passkeys.authenticator = SoftwareAuthenticator(algorithm=algorithm)

    registered = passkeys.enrol("1", name="Laptop")
    signed_in = passkeys.sign_in()

    assert registered.status == 201
    assert registered.body["id"] == next(iter(passkeys.authenticator.credentials))
    assert registered.body["name"] == "Laptop"
    assert signed_in.status == 200
    assert set(signed_in.body) == {"refresh", "access"}
    assert jwt.decode(signed_in.body["access"], SIGNING_KEY, algorithms=["HS256"])["user_id"] == "1"


def test_a_passkey_sign_in_records_last_login_as_a_password_login_does(passkeys: Passkeys) -> None:
    passkeys.enrol()
    before = customer_item().get("last_login", {}).get("S")

    assert passkeys.sign_in().status == 200

    assert customer_item()["last_login"]["S"] != before


def test_the_registration_options_ask_for_a_discoverable_user_verified_es256_or_rs256_credential(
    passkeys: Passkeys,
) -> None:
    passkeys.enrol("1")
    registered = next(iter(passkeys.authenticator.credentials))

    options = passkeys.registration_options("1").body["publicKey"]

    assert options["rp"] == {"name": "shop.example", "id": "shop.example"}  # STOREFRONT_URL's host
    assert options["user"]["name"] == "customer@example.com"
    assert [param["alg"] for param in options["pubKeyCredParams"]] == [-7, -257]
    assert options["authenticatorSelection"] == {
        "residentKey": "required",
        "requireResidentKey": True,
        "userVerification": "required",
    }
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == [{"id": registered, "type": "public-key"}]
    assert options["timeout"] == 300_000


def test_the_sign_in_options_name_no_credential_and_require_user_verification(passkeys: Passkeys) -> None:
    options = passkeys.login_options()

    assert options.status == 200
    assert options.body["publicKey"]["allowCredentials"] == []
    assert options.body["publicKey"]["userVerification"] == "required"
    assert options.body["publicKey"]["rpId"] == "shop.example"


def test_a_customer_keeps_one_user_handle_for_every_passkey(passkeys: Passkeys) -> None:
    handles = {passkeys.registration_options("1").body["publicKey"]["user"]["id"] for _ in range(3)}

    assert len(handles) == 1


def test_the_list_shows_the_customers_passkeys_oldest_first_and_unnamed_ones_as_passkey(passkeys: Passkeys) -> None:
    first = passkeys.enrol("1", name="Laptop").body
    second = passkeys.enrol("1").body

    listed = passkeys.listed("1")

    assert listed.status == 200
    assert listed.body == [first, second]
    assert second["name"] == "Passkey"
    assert services.passkey_store().count("1") == 2


def test_another_customers_list_shows_none_of_them(passkeys: Passkeys, make_customer: Any) -> None:
    make_customer("other@example.com", customer_id="2")
    passkeys.enrol("1")

    assert passkeys.listed("2").body == []
    assert services.passkey_store().count("2") == 0


def test_a_deleted_passkey_is_gone_from_the_list_and_signs_in_no_more(passkeys: Passkeys) -> None:
    credential_id = passkeys.enrol("1").body["id"]

    deleted = passkeys.delete("1", credential_id)

    assert (deleted.status, deleted.raw_body) == (204, "")
    assert passkeys.listed("1").body == []
    refused = passkeys.sign_in()
    assert refused.status == 401
    assert refused.body == {"detail": "This passkey could not sign you in.", "code": "passkey_invalid"}


def test_an_authenticator_that_keeps_no_sign_count_signs_in_again_and_again(passkeys: Passkeys) -> None:
    passkeys.authenticator = SoftwareAuthenticator(counts=False)
    passkeys.enrol()

    assert [passkeys.sign_in().status for _ in range(3)] == [200, 200, 200]


def test_with_the_cookie_transport_the_refresh_token_is_set_as_the_login_cookie(passkeys: Passkeys) -> None:
    passkeys.enrol()

    answer = passkeys.login(
        {"credential": passkeys.assertion()}, headers={"Origin": ORIGIN, "X-Token-Transport": "cookie"}
    )

    assert answer.status == 200
    assert set(answer.body) == {"access"}
    assert answer.headers["set-cookie"].startswith("refresh_token=")
    assert "HttpOnly" in answer.headers["set-cookie"]


def test_a_successful_passkey_sign_in_gives_its_source_attempt_back(
    passkeys: Passkeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_IP_MAX_FAILURES", "2")
    services.reset()
    passkeys.enrol()

    assert [passkeys.sign_in().status for _ in range(4)] == [200, 200, 200, 200]
