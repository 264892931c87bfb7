"""Each defect of dj-rest-auth's MFA module (docs/mfa-contract.md, "Defects") fixed, with sequences:
a code replayed, two verifies racing on one challenge, six wrong codes, a challenge after a
password change, old sessions after enrolment and deactivation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from shared import services
from shared.customers.record import Customer
from tests.helpers import EMAIL, MFA_KEY_SECRET_ID, PASSWORD, REGION, TABLE_NAME, HttpAnswer
from tests.mailbox import login, refresh
from tests.mfa_kit import (
    ACTIVATE,
    DEACTIVATE,
    RECOVERY_CODES,
    REGENERATE,
    STATUS,
    challenge,
    code_at,
    enrol,
    mfa_event,
    verify,
)

Call = Callable[..., HttpAnswer]
INVALID_CODE = (400, {"code": ["Invalid code."]})
INVALID_TOKEN = (400, {"ephemeral_token": ["Invalid or expired token."]})
FULL_WIDTH = {ord("0") + digit: 0xFF10 + digit for digit in range(10)}  # U+FF10-FF19


def item(pk: str) -> dict[str, Any]:
    return boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}})["Item"]


def every_item() -> list[dict[str, Any]]:
    return boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]


def answered(answer: HttpAnswer) -> tuple[int, Any]:
    return answer.status, answer.body


# Defect 2: replay is one code deep and spelling-sensitive.


def test_given_a_code_accepted_when_it_is_sent_again_on_a_new_challenge_then_refused(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    code = code_at(enrolled.secret, 1)
    assert verify(call, challenge(call), code).status == 200

    assert answered(verify(call, challenge(call), code)) == INVALID_CODE


def test_given_a_later_step_accepted_when_an_earlier_step_comes_then_refused_even_if_never_used(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    assert verify(call, challenge(call), code_at(enrolled.secret, 1)).status == 200  # C+1

    # C0 was never used, but it is older than a step already accepted (dj-rest-auth: accepted, #54-55)
    assert answered(verify(call, challenge(call), code_at(enrolled.secret, 0))) == INVALID_CODE


def test_given_the_code_that_confirmed_the_enrolment_when_it_logs_in_then_refused(
    customer: Customer, call: Call
) -> None:
    begun = call("mfa", mfa_event(ACTIVATE, method="GET")).body
    code = code_at(begun["secret"])
    body = {"activation_token": begun["activation_token"], "code": code, "password": PASSWORD}
    assert call("mfa", mfa_event(ACTIVATE, body)).status == 200

    assert answered(verify(call, challenge(call), code)) == INVALID_CODE  # dj-rest-auth #141, #143


@pytest.mark.parametrize(
    "spelling",
    [
        lambda code: code.translate(FULL_WIDTH),  # dj-rest-auth: accepted (#57), or a 500 (#58)
        lambda code: f" {code}\n",  # trimmed, as DRF trims: the same code
        lambda code: "é",  # dj-rest-auth: a 500 (#59)
        lambda code: int(code),  # a JSON number: "012345" would lose its zero
    ],
)
def test_given_a_code_in_another_spelling_then_an_invalid_code_never_a_500(
    customer: Customer, call: Call, spelling: Callable[[str], Any]
) -> None:
    enrolled = enrol(call)
    code = code_at(enrolled.secret, 1)
    token = challenge(call)

    answer = verify(call, token, spelling(code))

    if (isinstance(spelling(code), str) and spelling(code).strip() == code) or (
        isinstance(spelling(code), int) and str(spelling(code)) == code
    ):
        assert answer.status == 200
    else:
        assert answered(answer) == INVALID_CODE


@pytest.mark.parametrize(
    "code",
    [
        "",
        " ",
        "0" * 33,
        "\uff11\uff12\uff13\uff14\uff15\uff16",
        "\u0661\u0662\u0663\u0664\u0665\u0666",
        "12345\u0000",
        "dead-beef",
        "ABCD-EFGH-IJKL",
        [],
        {},
        None,
        True,
        1.5,
    ],
)
def test_given_any_code_when_verified_then_never_a_500(customer: Customer, call: Call, code: Any) -> None:
    enrol(call)

    answer = verify(call, challenge(call), code)

    assert answer.status == 400


def race(load_handler: Callable[..., Any], lambda_context: Any, bodies: list[dict[str, str]]) -> list[int]:
    """Send each verify body from its own thread at once; the statuses, sorted."""
    handler = load_handler("mfa").lambda_handler
    statuses: list[int] = []

    def send(body: dict[str, str]) -> None:
        statuses.append(handler(mfa_event("/auth/mfa/verify/", body, caller=None), lambda_context)["statusCode"])

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_given_two_verifies_racing_on_one_challenge_then_exactly_one_session(
    customer: Customer, call: Call, atomic_requests: None, load_handler: Callable[..., Any], lambda_context: Any
) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    codes = [code_at(enrolled.secret, 1), enrolled.recovery_codes[0]]  # two right codes, one challenge

    statuses = race(load_handler, lambda_context, [{"ephemeral_token": token, "code": code} for code in codes])

    assert statuses == [200, 400]


def test_given_two_verifies_racing_with_one_code_on_two_challenges_then_one_session(
    customer: Customer, call: Call, atomic_requests: None, load_handler: Callable[..., Any], lambda_context: Any
) -> None:
    enrolled = enrol(call)
    tokens = [challenge(call), challenge(call)]
    code = code_at(enrolled.secret, 1)

    statuses = race(load_handler, lambda_context, [{"ephemeral_token": token, "code": code} for token in tokens])

    assert statuses == [200, 400]  # the step is spent by one conditional write


# Defect 3: unlimited guessing.


def test_given_five_wrong_codes_when_the_sixth_is_right_then_the_challenge_is_dead(
    customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "50")  # the challenge's limit alone
    enrolled = enrol(call)
    token = challenge(call)
    wrong = [answered(verify(call, token, f"{n:06d}")) for n in range(5)]

    sixth = verify(call, token, code_at(enrolled.secret, 1))

    assert wrong == [INVALID_CODE] * 5
    assert answered(sixth) == INVALID_TOKEN


def test_given_wrong_codes_across_challenges_then_the_accounts_login_guard_locks(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    tokens = [challenge(call) for _ in range(2)]
    answers = [verify(call, tokens[n % 2], f"{n:06d}").status for n in range(5)]  # LOGIN_MAX_FAILURES: 5

    locked = verify(call, tokens[0], code_at(enrolled.secret, 1))
    password_login = login(call, EMAIL, PASSWORD)

    assert answers == [400] * 5
    assert locked.status == 429
    assert "retry-after" in locked.headers
    assert password_login.status == 429  # the same account guard as the password


def test_given_a_right_code_after_wrong_ones_then_the_account_counter_is_cleared(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    verify(call, token, "000000")

    assert verify(call, token, code_at(enrolled.secret, 1)).status == 200
    assert (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"FAIL#{EMAIL}"}})
        .get("Item")
        is None
    )


# Defect 4: the ephemeral token is a stateless bearer ticket.


def test_given_a_challenge_then_the_token_is_random_and_stored_only_as_its_hash(customer: Customer, call: Call) -> None:
    enrol(call)

    first, second = challenge(call), challenge(call)

    assert first != second  # two logins in the same second (dj-rest-auth: the same token)
    assert "1" not in first.split(":")  # no customer pk in it (dj-rest-auth: "1:...")
    stored = json.dumps(every_item(), default=str)
    assert first not in stored
    assert second not in stored


def test_given_a_challenge_answered_when_used_again_then_refused(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    assert verify(call, token, enrolled.recovery_codes[0]).status == 200

    assert answered(verify(call, token, enrolled.recovery_codes[1])) == INVALID_TOKEN  # dj-rest-auth #54


def test_given_a_challenge_older_than_five_minutes_then_refused_though_ttl_has_not_removed_it(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    [stored] = [found for found in every_item() if found["pk"]["S"].startswith("MFACHALLENGE#")]
    assert int(stored["expires_at"]["N"]) - time.time() == pytest.approx(300, abs=2)
    boto3.client("dynamodb", region_name=REGION).update_item(  # five minutes on, the item still there
        TableName=TABLE_NAME,
        Key={"pk": stored["pk"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    assert answered(verify(call, token, enrolled.recovery_codes[0])) == INVALID_TOKEN


def test_given_a_challenge_when_the_customer_is_deleted_then_refused_never_a_500(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    services.customer_store().delete(services.customer_store().get("1"))  # type: ignore[arg-type]

    assert answered(verify(call, token, enrolled.recovery_codes[0])) == INVALID_TOKEN  # dj-rest-auth #120


def test_given_a_challenge_when_the_customer_is_deactivated_then_the_logins_refusal_and_the_code_is_kept(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)
    token = challenge(call)
    store = services.customer_store()
    store.set_active(store.get("1"), False)  # type: ignore[arg-type]

    refused = verify(call, token, enrolled.recovery_codes[0])
    store.set_active(store.get("1"), True)  # type: ignore[arg-type]
    kept = verify(call, challenge(call), enrolled.recovery_codes[0])

    assert refused.status == 401
    assert kept.status == 200


# Defect 5: secrets signed, not encrypted; a key rotation turns MFA logins into 500s.


def test_given_an_enrolment_then_the_stored_secret_is_sealed_with_its_key_id(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)

    stored = item("MFA#1")

    assert stored["key_id"] == {"S": "k1"}
    assert enrolled.secret.encode() not in bytes(stored["secret"]["B"])
    assert enrolled.secret not in json.dumps(every_item(), default=str)
    assert not any(code in json.dumps(every_item(), default=str) for code in enrolled.recovery_codes)


def test_given_a_key_rotation_then_old_secrets_open_and_new_ones_use_the_new_key(
    customer: Customer,
    make_customer: Callable[..., Customer],
    call: Call,
    load_handler: Callable[..., Any],
    lambda_context: Any,
) -> None:
    enrolled = enrol(call)
    ring = {"current": "k2", "k1": json.loads(key_ring())["k1"], "k2": "a-second-key-material-for-the-rotation-test"}
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=MFA_KEY_SECRET_ID, SecretString=json.dumps(ring)
    )
    make_customer("bob@example.com", customer_id="2")
    after = new_containers(load_handler, lambda_context)  # each reads the ring at its start

    old = verify(after, challenge(after), code_at(enrolled.secret, 1))
    enrol(after, caller="2")

    assert old.status == 200
    assert item("MFA#1")["key_id"] == {"S": "k1"}
    assert item("MFA#2")["key_id"] == {"S": "k2"}


def new_containers(load_handler: Callable[..., Any], lambda_context: Any) -> Call:
    """A ``call`` whose functions cold-start again (after a change to the key ring)."""
    loaded: dict[str, Any] = {}

    def invoke(function: str, event: dict[str, Any]) -> HttpAnswer:
        if function not in loaded:
            loaded[function] = load_handler(function)
        response = loaded[function].lambda_handler(event, lambda_context)
        headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
        raw = response.get("body") or ""
        return HttpAnswer(response["statusCode"], headers, json.loads(raw) if raw else None, raw)

    return invoke


def key_ring() -> str:
    secret = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=MFA_KEY_SECRET_ID)
    return str(secret["SecretString"])


def test_given_a_secret_whose_key_left_the_ring_then_totp_fails_as_a_wrong_code_and_recovery_codes_still_work(
    customer: Customer, call: Call, load_handler: Callable[..., Any], lambda_context: Any
) -> None:
    enrolled = enrol(call)
    ring = {"current": "k9", "k9": "a-new-key-material-after-losing-the-old-one"}
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=MFA_KEY_SECRET_ID, SecretString=json.dumps(ring)
    )
    after = new_containers(load_handler, lambda_context)

    totp = verify(after, challenge(after), code_at(enrolled.secret, 1))
    recovery = verify(after, challenge(after), enrolled.recovery_codes[0])

    assert answered(totp) == INVALID_CODE  # dj-rest-auth #122: a 500
    assert recovery.status == 200  # dj-rest-auth #123: a 500


def test_given_mfa_on_then_no_answer_echoes_the_secret_again(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)

    status = call("mfa", mfa_event(STATUS, method="GET", session=enrolled.pair))
    begin_again = call("mfa", mfa_event(ACTIVATE, method="GET", session=enrolled.pair))

    assert enrolled.secret not in status.raw_body
    assert begin_again.status == 400  # dj-rest-auth #28: offers a new secret
    assert enrolled.secret not in begin_again.raw_body


# Defect 6: recovery codes effectively plaintext, listable, regenerable without a second factor.


def test_given_recovery_codes_then_stored_as_argon2id_hashes_and_never_listed_again(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)

    hashes = [value["S"] for value in item("MFA#1")["recovery"]["M"].values()]
    listed = call("mfa", mfa_event(RECOVERY_CODES, {}, session=enrolled.pair))

    assert len(hashes) == 10
    assert all(hashed.startswith("argon2$argon2id$") for hashed in hashes)
    assert listed.body == {"codes": [], "recovery_codes_left": 10}  # dj-rest-auth #100: every code in clear


def test_given_a_recovery_code_used_when_used_again_then_refused(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    assert verify(call, challenge(call), enrolled.recovery_codes[0]).status == 200

    assert answered(verify(call, challenge(call), enrolled.recovery_codes[0])) == INVALID_CODE


def test_given_regeneration_without_the_password_then_refused_and_with_it_the_old_codes_die(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)

    without = call("mfa", mfa_event(REGENERATE, {}, session=enrolled.pair))
    wrong = call("mfa", mfa_event(REGENERATE, {"password": "wrong"}, session=enrolled.pair))
    right = call("mfa", mfa_event(REGENERATE, {"password": PASSWORD}, session=enrolled.pair))

    assert answered(without) == (400, {"password": ["This field is required."]})  # dj-rest-auth #111: 200
    assert answered(wrong) == (400, {"password": ["Invalid password."]})
    assert right.status == 200
    assert right.headers["cache-control"] == "no-store"
    assert answered(verify(call, challenge(call), enrolled.recovery_codes[0])) == INVALID_CODE
    assert verify(call, challenge(call), right.body["codes"][0]).status == 200


# Defect 7: no step-up for MFA changes.


def test_given_a_stolen_access_token_without_the_password_then_no_enrolment(customer: Customer, call: Call) -> None:
    begun = call("mfa", mfa_event(ACTIVATE, method="GET")).body
    body = {"activation_token": begun["activation_token"], "code": code_at(begun["secret"])}

    without = call("mfa", mfa_event(ACTIVATE, body))
    wrong = call("mfa", mfa_event(ACTIVATE, {**body, "password": "wrong"}))

    assert answered(without) == (400, {"password": ["This field is required."]})  # dj-rest-auth #26: 200
    assert answered(wrong) == (400, {"password": ["Invalid password."]})
    assert "mfa" not in item("CUSTOMER#1")


def test_given_a_lost_device_when_deactivating_with_a_recovery_code_and_the_password_then_mfa_is_off(
    customer: Customer, call: Call
) -> None:
    enrolled = enrol(call)

    without_password = call("mfa", mfa_event(DEACTIVATE, {"code": enrolled.recovery_codes[0]}, session=enrolled.pair))
    off = call(
        "mfa", mfa_event(DEACTIVATE, {"code": enrolled.recovery_codes[0], "password": PASSWORD}, session=enrolled.pair)
    )

    assert answered(without_password) == (400, {"password": ["This field is required."]})
    assert off.status == 200  # dj-rest-auth #130: TOTP only
    assert off.body["detail"] == "TOTP has been deactivated."
    assert set(login(call, EMAIL, PASSWORD).body) == {"access", "refresh"}
    assert item("CUSTOMER#1")["mfa"] == item(f"EMAIL#{EMAIL}")["mfa"] == {"BOOL": False}


def test_given_the_last_accepted_code_when_deactivating_with_it_then_refused(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    code = code_at(enrolled.secret, 1)
    assert verify(call, challenge(call), code).status == 200

    answer = call("mfa", mfa_event(DEACTIVATE, {"code": code, "password": PASSWORD}, session=enrolled.pair))

    assert answered(answer) == INVALID_CODE


# Defect 8: turning MFA on or off revokes nothing.


def test_given_sessions_from_before_enrolment_then_enrolment_ends_them_and_the_caller_goes_on(
    customer: Customer, call: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    before = login(call, EMAIL, PASSWORD).body

    enrolled = enrol(call)

    assert refresh(call, before["refresh"]).status == 401  # dj-rest-auth #30: 200
    assert refresh(call, enrolled.pair["refresh"]).status == 200
    status = call("mfa", mfa_event(STATUS, method="GET", session=enrolled.pair))
    assert status.body["mfa_enabled"] is True


def test_given_sessions_from_before_deactivation_then_deactivation_ends_them(customer: Customer, call: Call) -> None:
    enrolled = enrol(call)
    other = verify(call, challenge(call), code_at(enrolled.secret, 1)).body

    off = call(
        "mfa", mfa_event(DEACTIVATE, {"code": enrolled.recovery_codes[0], "password": PASSWORD}, session=enrolled.pair)
    )

    assert off.status == 200
    assert refresh(call, other["refresh"]).status == 401  # dj-rest-auth #134: the tokens go on
    assert refresh(call, enrolled.pair["refresh"]).status == 401
    assert refresh(call, off.body["refresh"]).status == 200
    stale = call("mfa", mfa_event(STATUS, method="GET", session=enrolled.pair))
    assert stale.status == 401


# Defect 10: no Cache-Control on secrets and codes.


def test_given_answers_carrying_a_secret_codes_or_tokens_then_no_store(customer: Customer, call: Call) -> None:
    begun = call("mfa", mfa_event(ACTIVATE, method="GET"))
    body = {
        "activation_token": begun.body["activation_token"],
        "code": code_at(begun.body["secret"]),
        "password": PASSWORD,
    }
    confirmed = call("mfa", mfa_event(ACTIVATE, body))
    first_step = login(call, EMAIL, PASSWORD)
    second_step = verify(call, first_step.body["ephemeral_token"], confirmed.body["recovery_codes"][0])

    assert [answer.headers.get("cache-control") for answer in (begun, confirmed, first_step, second_step)] == [
        "no-store"
    ] * 4
