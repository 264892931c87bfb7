"""authctl and MFA: import-django keeps a Django shop's TOTP authenticators (dj-rest-auth's and
django-allauth's, as they store them), reset-mfa turns one off (logged), rotate-mfa-key rotates
the key ring without losing a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pyotp
import pytest

from shared.customers.record import Customer
from tests.helpers import MFA_KEY_SECRET_ID, PASSWORD, REGION, TABLE_NAME, HttpAnswer
from tests.mailbox import login, refresh
from tests.mfa_kit import challenge, code_at, enrol, verify
from tools import authctl

Call = Callable[..., HttpAnswer]
INVALID_CODE = (400, {"code": ["Invalid code."]})


def dj_rest_auth_codes(seed: str) -> list[str]:
    """docs/mfa-contract.md's derivation: the first 8 hex digits of HMAC-SHA256(seed, str(i))."""
    codes = [hmac.new(bytes.fromhex(seed), str(i).encode(), hashlib.sha256).hexdigest()[:8] for i in range(10)]
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def allauth_codes(seed: str) -> list[str]:
    """allauth's RecoveryCodes.generate_codes at its defaults (10 codes of 8 digits)."""
    running, codes = hmac.new(seed.encode(), digestmod=hashlib.sha1), []
    for i in range(10):
        running.update(f"{i:3},".encode())
        codes.append(str(int.from_bytes(running.digest()[:4], "big") % 10**8).zfill(8))
    return codes


def authenticator(model: str, pk: int, user: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    fields = {"user": user, "type": kind, "data": data, "created_at": "2025-01-02T03:04:05.678Z", "last_used_at": None}
    return {"model": model, "pk": pk, "fields": fields}


def import_dump(tmp_path: Path, records: list[Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    file = tmp_path / "dump.json"
    file.write_text(json.dumps(records))
    capsys.readouterr()
    assert authctl.main(["--table", TABLE_NAME, "import-django", str(file), "--threads", "1"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def customer_row(pk: int, email: str) -> dict[str, Any]:
    from tests.integration.test_legacy_hashes import pbkdf2

    return {"model": "shop.customer", "pk": pk, "fields": {"email": email, "password": pbkdf2(36_000)}}


@pytest.fixture
def shop_dump() -> tuple[list[Any], dict[str, Any]]:
    """Two customers with MFA: one on dj-rest-auth (code 0 used), one on allauth (code 1 used)."""
    dj_secret, dj_seed = pyotp.random_base32(), os.urandom(32).hex()
    aa_secret, aa_seed = pyotp.random_base32(), secrets.token_hex(40)
    records = [
        customer_row(21, "dj@example.com"),
        customer_row(22, "aa@example.com"),
        authenticator("dj_rest_auth_mfa.authenticator", 1, 21, "totp", {"secret": f"{dj_secret}:signature"}),
        authenticator("dj_rest_auth_mfa.authenticator", 2, 21, "recovery_codes", {"seed": dj_seed, "used_mask": 1}),
        authenticator("mfa.authenticator", 3, 22, "totp", {"secret": aa_secret}),
        authenticator("mfa.authenticator", 4, 22, "recovery_codes", {"seed": aa_seed, "used_mask": 2}),
    ]
    known = {
        "dj": (dj_secret, dj_rest_auth_codes(dj_seed)),
        "aa": (aa_secret, allauth_codes(aa_seed)),
    }
    return records, known


def test_given_a_dj_rest_auth_shop_when_imported_then_the_customer_keeps_app_and_unused_codes(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call, shop_dump: Any
) -> None:
    records, known = shop_dump
    secret, codes = known["dj"]

    report = import_dump(tmp_path, records, capsys)
    password = "correct horse battery staple"

    assert report["mfa_imported"] == 2
    assert verify(call, challenge(call, "dj@example.com", password), code_at(secret, 1)).status == 200
    used = verify(call, challenge(call, "dj@example.com", password), codes[0])
    assert (used.status, used.body) == INVALID_CODE
    assert verify(call, challenge(call, "dj@example.com", password), codes[5]).status == 200


def test_given_an_allauth_shop_when_imported_then_the_customer_keeps_app_and_unused_codes(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], call: Call, shop_dump: Any
) -> None:
    records, known = shop_dump
    secret, codes = known["aa"]
    import_dump(tmp_path, records, capsys)
    password = "correct horse battery staple"

    assert verify(call, challenge(call, "aa@example.com", password), code_at(secret, 1)).status == 200
    used = verify(call, challenge(call, "aa@example.com", password), codes[1])
    assert (used.status, used.body) == INVALID_CODE
    assert verify(call, challenge(call, "aa@example.com", password), codes[0]).status == 200


def test_given_the_import_run_twice_then_the_second_changes_no_authenticator(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], shop_dump: Any
) -> None:
    records, _ = shop_dump
    import_dump(tmp_path, records, capsys)
    before = boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE_NAME, Key={"pk": {"S": "MFA#21"}})

    report = import_dump(tmp_path, records, capsys)
    after = boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE_NAME, Key={"pk": {"S": "MFA#21"}})

    assert (report["mfa_imported"], report["mfa_already_present"]) == (0, 2)
    assert before["Item"] == after["Item"]


def test_given_a_secret_the_shop_encrypted_then_the_row_is_reported_never_printed(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [
        customer_row(23, "enc@example.com"),
        authenticator("mfa.authenticator", 5, 23, "totp", {"secret": "gAAAAABk-not-base32=="}),
    ]

    report = import_dump(tmp_path, records, capsys)

    assert report["invalid"] == [
        "row 1 (mfa.authenticator pk=5): data: the secret is not base32 (encrypted by the shop?)"
    ]
    assert report["mfa_imported"] == 0


def test_given_a_lost_device_when_an_operator_resets_mfa_then_it_is_off_sessions_end_and_the_reset_is_logged(
    customer: Customer, call: Call, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    enrolled = enrol(call)
    capsys.readouterr()

    assert authctl.main(["--table", TABLE_NAME, "reset-mfa", "--email", customer.email]) == 0
    audit = json.loads(capsys.readouterr().out)
    relogin = login(call, customer.email, PASSWORD)

    assert (audit["event"], audit["customer_id"]) == ("mfa_reset", 1)
    assert audit["operator"]
    assert set(relogin.body) == {"refresh", "access"}
    assert refresh(call, enrolled.pair["refresh"]).status == 401


def test_given_no_mfa_when_an_operator_resets_it_then_usage_error(
    customer: Customer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert authctl.main(["--table", TABLE_NAME, "reset-mfa", "--email", customer.email]) == 2
    assert "has no MFA" in capsys.readouterr().err


def test_given_a_rotation_of_the_mfa_key_then_old_secrets_open_and_new_ones_use_the_new_key(
    customer: Customer,
    make_customer: Callable[..., Customer],
    call: Call,
    capsys: pytest.CaptureFixture[str],
    load_handler: Callable[..., Any],
    lambda_context: Any,
) -> None:
    from tests.integration.test_mfa_defects import item, new_containers

    enrolled = enrol(call)

    assert authctl.main(["rotate-mfa-key"]) == 0
    ring = json.loads(
        boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=MFA_KEY_SECRET_ID)["SecretString"]
    )
    make_customer("bob@example.com", customer_id="2")
    after = new_containers(load_handler, lambda_context)

    assert ring["current"] == "1"
    assert set(ring) == {"current", "k1", "1"}
    assert verify(after, challenge(after), code_at(enrolled.secret, 1)).status == 200
    enrol(after, caller="2")
    assert item("MFA#2")["key_id"] == {"S": "1"}
