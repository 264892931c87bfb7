"""Attacks on the passkey ceremonies: every one refused with a 400/401 in the contract's shape, never a 500.

Responses come from a software authenticator (tests/authenticator.py) told to misbehave in
one way each (a replay, another ceremony's challenge, a foreign origin, another rp id, a
clone's sign count, another customer's user handle...), and py_webauthn's real checks run.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import services
from shared.passkeys.challenges import ChallengeStore
from shared.passkeys.store import PasskeyStore
from tests.authenticator import SoftwareAuthenticator, b64url, unb64url
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, json_event
from tests.passkeys import FOREIGN_ORIGIN, ORIGIN, Passkeys, Session, challenge_item

# One thread's flush may publish another's metrics (one process here, many containers on Lambda).
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
PASSKEY_INVALID = {"detail": "This passkey could not sign you in.", "code": "passkey_invalid"}
CHALLENGE_INVALID = {
    "detail": "This passkey request has expired or was already used. Ask for new options.",
    "code": "passkey_challenge_invalid",
}
REGISTRATION_CHALLENGE_INVALID = {"credential": [CHALLENGE_INVALID["detail"]]}
NOT_VERIFIED = {"credential": ["The passkey could not be verified."]}
NOT_A_CREDENTIAL = {"credential": ["Not a valid passkey response."]}


def refusal(answer: Any) -> tuple[int, Any]:
    return answer.status, answer.body


# Challenges: single use, of one ceremony and one customer, short-lived.


def test_a_replayed_sign_in_response_is_refused_because_its_challenge_is_spent(passkeys: Passkeys) -> None:
    passkeys.enrol()
    response = {"credential": passkeys.assertion()}

    assert passkeys.login(response).status == 200
    assert refusal(passkeys.login(response)) == (401, CHALLENGE_INVALID)


def test_a_replayed_registration_response_is_refused_because_its_challenge_is_spent(passkeys: Passkeys) -> None:
    options = passkeys.registration_options("1").body
    response = {"credential": passkeys.authenticator.create(options, ORIGIN)}

    assert passkeys.register("1", response).status == 201
    assert refusal(passkeys.register("1", response)) == (400, REGISTRATION_CHALLENGE_INVALID)


def test_a_registration_challenge_answered_as_a_sign_in_is_refused(passkeys: Passkeys) -> None:
    passkeys.enrol()
    registration = passkeys.registration_options("1").body
    registration["publicKey"]["rpId"] = "shop.example"

    answer = passkeys.login({"credential": passkeys.authenticator.get(registration, ORIGIN)})

    assert refusal(answer) == (401, CHALLENGE_INVALID)
    assert challenge_item(registration) is not None, "the registration's challenge is not spent by it"


def test_a_sign_in_challenge_answered_as_a_registration_is_refused(passkeys: Passkeys) -> None:
    sign_in = passkeys.login_options().body
    registration = passkeys.registration_options("1").body
    registration["publicKey"]["challenge"] = sign_in["publicKey"]["challenge"]

    answer = passkeys.register("1", {"credential": passkeys.authenticator.create(registration, ORIGIN)})

    assert refusal(answer) == (400, REGISTRATION_CHALLENGE_INVALID)


def test_another_customers_registration_challenge_is_refused(passkeys: Passkeys, make_customer: Any) -> None:
    make_customer("other@example.com", customer_id="2")
    theirs = passkeys.registration_options("2").body

    answer = passkeys.register("1", {"credential": passkeys.authenticator.create(theirs, ORIGIN)})

    assert refusal(answer) == (400, REGISTRATION_CHALLENGE_INVALID)


def test_an_expired_challenge_is_refused_though_ttl_has_not_deleted_it_yet(passkeys: Passkeys) -> None:
    passkeys.enrol()
    options = passkeys.login_options().body
    item = challenge_item(options)
    assert item is not None
    boto3.client("dynamodb", region_name=REGION).update_item(  # its lifetime has passed; TTL is late
        TableName=TABLE_NAME,
        Key={"pk": item["pk"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    answer = passkeys.login({"credential": passkeys.authenticator.get(options, ORIGIN)})

    assert refusal(answer) == (401, CHALLENGE_INVALID)


def test_a_challenge_is_stored_as_its_hash_and_expires_after_its_lifetime(passkeys: Passkeys) -> None:
    options = passkeys.login_options().body
    item = challenge_item(options)

    assert item is not None
    assert options["publicKey"]["challenge"] not in str(item)
    assert int(item["expires_at"]["N"]) - time.time() == pytest.approx(300, abs=2)


def test_two_sign_ins_racing_on_one_challenge_let_exactly_one_through(
    passkeys: Passkeys, atomic_requests: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    passkeys.enrol()
    options = passkeys.login_options().body
    responses = [{"credential": passkeys.authenticator.get(options, ORIGIN)} for _ in range(2)]
    both_read = threading.Barrier(2, timeout=10)
    spend = ChallengeStore.spend

    def spend_together(self: ChallengeStore, *args: Any, **kwargs: Any) -> Any:
        both_read.wait()  # both responses parsed and counted: the conditional delete decides
        return spend(self, *args, **kwargs)

    monkeypatch.setattr(ChallengeStore, "spend", spend_together)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(passkeys.login, responses))

    assert sorted(answer.status for answer in answers) == [200, 401]
    assert [answer.body for answer in answers if answer.status == 401] == [CHALLENGE_INVALID]


def test_two_sign_ins_racing_on_one_passkeys_count_let_one_through_and_the_count_never_goes_back(
    passkeys: Passkeys, atomic_requests: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    passkeys.enrol()
    responses = [{"credential": passkeys.assertion()} for _ in range(2)]  # counts 1 and 2, own challenges
    both_checked = threading.Barrier(2, timeout=10)
    record_use = PasskeyStore.record_use

    def record_together(self: PasskeyStore, *args: Any, **kwargs: Any) -> bool:
        both_checked.wait()  # both verified against the stored count 0: the conditional write decides
        return record_use(self, *args, **kwargs)

    monkeypatch.setattr(PasskeyStore, "record_use", record_together)
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(passkeys.login, responses))

    assert sorted(answer.status for answer in answers) == [200, 401]
    stored = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": "PASSKEY#" + next(iter(passkeys.authenticator.credentials))}}
    )["Item"]["sign_count"]["N"]
    winner = [index + 1 for index, answer in enumerate(answers) if answer.status == 200]
    assert [int(stored)] == winner


# The response itself: sign count, origin, rp id, user verification.


def test_a_cloned_authenticator_with_a_lower_sign_count_is_refused(passkeys: Passkeys) -> None:
    passkeys.enrol()
    assert passkeys.sign_in(sign_count=5).status == 200

    assert refusal(passkeys.sign_in(sign_count=3)) == (401, PASSKEY_INVALID)
    assert refusal(passkeys.sign_in(sign_count=5)) == (401, PASSKEY_INVALID)
    assert passkeys.sign_in(sign_count=6).status == 200


def test_a_sign_in_from_a_foreign_origin_is_refused(passkeys: Passkeys) -> None:
    passkeys.enrol()

    assert refusal(passkeys.sign_in(origin=FOREIGN_ORIGIN)) == (401, PASSKEY_INVALID)


def test_a_registration_from_a_foreign_origin_is_refused(passkeys: Passkeys) -> None:
    assert refusal(passkeys.enrol(origin=FOREIGN_ORIGIN)) == (400, NOT_VERIFIED)
    assert passkeys.listed("1").body == []


def test_a_sign_in_signed_for_another_rp_id_is_refused(passkeys: Passkeys) -> None:
    passkeys.enrol()

    assert refusal(passkeys.sign_in(rp_id="evil.example")) == (401, PASSKEY_INVALID)


def test_a_registration_for_another_rp_id_is_refused(passkeys: Passkeys) -> None:
    assert refusal(passkeys.enrol(rp_id="evil.example")) == (400, NOT_VERIFIED)


def test_a_passkey_without_user_verification_is_neither_registered_nor_accepted(passkeys: Passkeys) -> None:
    assert refusal(passkeys.enrol(user_verified=False)) == (400, NOT_VERIFIED)
    passkeys.enrol()

    assert refusal(passkeys.sign_in(user_verified=False)) == (401, PASSKEY_INVALID)


def test_a_response_of_the_other_ceremony_type_is_refused(passkeys: Passkeys) -> None:
    passkeys.enrol()

    assert refusal(passkeys.sign_in(client_type="webauthn.create")) == (401, PASSKEY_INVALID)


# Whose passkey: the customer who registered it, and no one else.


def test_a_sign_in_response_naming_another_customers_user_handle_is_refused(
    passkeys: Passkeys, make_customer: Any
) -> None:
    make_customer("other@example.com", customer_id="2")
    passkeys.enrol("1")
    theirs = passkeys.registration_options("2").body["publicKey"]["user"]["id"]

    assert refusal(passkeys.sign_in(user_handle=unb64url(theirs))) == (401, PASSKEY_INVALID)


def test_a_customer_cannot_delete_another_customers_passkey(passkeys: Passkeys, make_customer: Any) -> None:
    make_customer("other@example.com", customer_id="2")
    credential_id = passkeys.enrol("1").body["id"]

    assert refusal(passkeys.delete("2", credential_id)) == (404, {"detail": "Not found."})
    assert passkeys.sign_in().status == 200
    assert len(passkeys.listed("1").body) == 1


def test_a_credential_registered_to_one_customer_cannot_be_registered_to_another(
    passkeys: Passkeys, make_customer: Any
) -> None:
    make_customer("other@example.com", customer_id="2")
    first = passkeys.enrol("1").body["id"]
    options = passkeys.registration_options("2").body
    claimed = SoftwareAuthenticator().create(options, ORIGIN, credential_id=unb64url(first))

    answer = passkeys.register("2", {"credential": claimed})

    assert refusal(answer) == (400, {"credential": ["This passkey is already registered."]})
    assert passkeys.listed("2").body == []
    assert passkeys.sign_in().status == 200  # still the first customer's, with its own key


def test_an_unknown_credential_is_refused(passkeys: Passkeys) -> None:
    passkeys.enrol()
    stranger = SoftwareAuthenticator()
    stranger.create(passkeys.registration_options("1").body, ORIGIN)  # never sent to the service

    options = passkeys.login_options().body

    assert refusal(passkeys.login({"credential": stranger.get(options, ORIGIN)})) == (401, PASSKEY_INVALID)


def test_a_deleted_passkey_is_refused(passkeys: Passkeys) -> None:
    credential_id = passkeys.enrol().body["id"]
    passkeys.delete("1", credential_id)

    assert refusal(passkeys.sign_in()) == (401, PASSKEY_INVALID)


def test_a_deactivated_customers_passkey_is_refused_by_the_session_opener(passkeys: Passkeys) -> None:
    passkeys.enrol()
    customer = services.customer_store().get("1")
    assert customer is not None
    services.customer_store().set_active(customer, False)

    answer = passkeys.sign_in()

    assert refusal(answer) == (401, {"detail": "No active account found with the given credentials"})


def test_after_logout_the_sessions_access_token_is_refused_on_every_passkey_route(
    passkeys: Passkeys, call: Any
) -> None:
    import jwt

    credential_id = passkeys.enrol().body["id"]
    pair = call("obtain_token", json_event("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})).body
    claims = jwt.decode(pair["access"], options={"verify_signature": False})
    assert call("blacklist_token", json_event("blacklist_token_ok", {"refresh": pair["refresh"]})).status == 200
    session = Session("1", family=claims["family"], issued_at=claims["iat"])
    blacklisted = {
        "detail": "Given token not valid for any token type",
        "code": "token_not_valid",
        "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is blacklisted"}],
    }

    answers = [
        passkeys.registration_options(session),
        passkeys.register(session, {"credential": passkeys.assertion()}),
        passkeys.listed(session),
        passkeys.delete(session, credential_id),
    ]

    assert [refusal(answer) for answer in answers] == [(401, blacklisted)] * 4
    assert len(passkeys.listed("1").body) == 1


# Abuse: failures counted by source like a password's, registrations throttled by customer.


def test_failed_passkey_sign_ins_lock_the_source_like_failed_passwords(
    passkeys: Passkeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_IP_MAX_FAILURES", "3")
    services.reset()
    passkeys.enrol()

    failures = [passkeys.sign_in(origin=FOREIGN_ORIGIN).status for _ in range(3)]
    locked = passkeys.sign_in()
    elsewhere = passkeys.login({"credential": passkeys.assertion()}, source_ip="198.51.100.7")

    assert failures == [401, 401, 401]
    assert locked.status == 429
    assert locked.body == {"detail": "Too many failed login attempts. Try again later.", "code": "throttled"}
    assert elsewhere.status == 200


def test_registration_options_are_throttled_per_customer(passkeys: Passkeys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSKEY_REGISTRATION_LIMIT", "2")
    services.reset()

    statuses = [passkeys.registration_options("1").status for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_customer_keeps_at_most_twenty_passkeys(passkeys: Passkeys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSKEY_REGISTRATION_LIMIT", "100")  # the throttle would stop the enrolments first
    services.reset()
    for _ in range(20):
        assert passkeys.enrol().status == 201

    refused = passkeys.registration_options("1")

    assert refusal(refused) == (400, {"non_field_errors": ["A customer may register at most 20 passkeys."]})


# Malformed input: 400 in DRF's shapes, before anything is counted; never a 500.


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "{not json",
            {
                "detail": "JSON parse error - Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)"
            },
        ),
        ([], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        ({}, {"credential": ["This field is required."]}),
        ({"credential": "eyJ9"}, {"credential": ['Expected a dictionary of items but got type "str".']}),
        ({"credential": 7}, {"credential": ['Expected a dictionary of items but got type "int".']}),
        ({"credential": {}}, NOT_A_CREDENTIAL),
        ({"credential": {"id": 1, "rawId": [], "response": "x", "type": "public-key"}}, NOT_A_CREDENTIAL),
    ],
)
def test_malformed_sign_in_bodies_are_400_in_drfs_shapes(passkeys: Passkeys, body: Any, expected: Any) -> None:
    assert refusal(passkeys.login(body)) == (400, expected)


def test_a_name_that_is_not_a_string_or_too_long_is_refused(passkeys: Passkeys) -> None:
    options = passkeys.registration_options("1").body
    credential = passkeys.authenticator.create(options, ORIGIN)

    assert refusal(passkeys.register("1", {"credential": credential, "name": {"a": 1}})) == (
        400,
        {"name": ["Not a valid string."]},
    )
    assert refusal(passkeys.register("1", {"credential": credential, "name": "x" * 65})) == (
        400,
        {"name": ["Ensure this field has no more than 64 characters."]},
    )


def tampered(response: dict[str, Any], part: str, value: Any) -> dict[str, Any]:
    copy = {**response, "response": dict(response["response"])}
    if part in copy["response"]:
        copy["response"][part] = value
    else:
        copy[part] = value
    return copy


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("clientDataJSON", b64url(b"\xff\xfe not utf-8")),
        ("clientDataJSON", b64url(b'{"type": "webauthn.get", "challenge": 5, "origin": 1}')),
        ("clientDataJSON", "!!!not base64!!!"),
        ("authenticatorData", b64url(b"short")),
        ("authenticatorData", b64url(bytes(37 * 3))),
        ("signature", b64url(b"\x30\x02\x01")),
        ("userHandle", 12),
        ("id", "not base64url!"),
        ("rawId", b64url(b"\x00" * 2000)),
    ],
)
def test_a_tampered_sign_in_response_is_a_400_or_401_never_a_500(passkeys: Passkeys, part: str, value: Any) -> None:
    passkeys.enrol()

    answer = passkeys.login({"credential": tampered(passkeys.assertion(), part, value)})

    assert answer.status in (400, 401), answer.body
    assert answer.body in (NOT_A_CREDENTIAL, PASSKEY_INVALID, CHALLENGE_INVALID)


@pytest.mark.parametrize(
    ("part", "value"),
    [
        ("attestationObject", b64url(b"\xa1\x63fmt\x64none")),  # CBOR without authData
        ("attestationObject", b64url(b"\xff")),
        ("attestationObject", "%%%"),
        ("clientDataJSON", b64url(b"[]")),
        ("id", "another-id"),
    ],
)
def test_a_tampered_registration_response_is_a_400_never_a_500(passkeys: Passkeys, part: str, value: Any) -> None:
    options = passkeys.registration_options("1").body
    response = tampered(passkeys.authenticator.create(options, ORIGIN), part, value)

    answer = passkeys.register("1", {"credential": response})

    assert answer.status == 400, answer.body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=12,
)
credential_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.text("abcXYZ09-_", max_size=20),
        "rawId": json_values | st.text("abcXYZ09-_", max_size=20),
        "type": st.sampled_from(["public-key", "other"]) | json_values,
        "response": st.dictionaries(
            st.sampled_from(["clientDataJSON", "authenticatorData", "signature", "userHandle", "attestationObject"]),
            json_values | st.text("abcXYZ09-_=", max_size=40),
        )
        | json_values,
        "authenticatorAttachment": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(credential=credential_like)
def test_no_credential_json_makes_a_sign_in_or_registration_answer_500(
    passkeys: Passkeys, credential: dict[str, Any]
) -> None:
    signed_in = passkeys.login({"credential": credential}, source_ip="192.0.2.1")
    registered = passkeys.register("1", {"credential": credential})

    assert signed_in.status in (400, 401), signed_in.body
    assert registered.status == 400, registered.body
