"""Sign in with Google and Apple through the real handler, on moto, with the providers' keys served
on 127.0.0.1 (tests/social_provider.py): every check of the ID token, linking, the pre-hijacking
rules, the linked providers and the last-way-in rule.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared import services
from shared.customers.record import Customer
from shared.errors import ApiError
from shared.social.identity import Provider as Name
from shared.social.links import LinksChanged
from tests.helpers import PASSWORD, HttpAnswer, json_event
from tests.mailbox import STRONG, Mailbox, account_event, register
from tests.social_provider import (
    APPLE_ISSUER,
    GOOGLE_CLIENT_ID,
    SHOP,
    Provider,
    SigningKey,
    apple,
    apple_nonce_claim,
    google,
    sign_in_event,
    social,
)

__all__ = ["apple", "google", "social"]  # the fixtures this module uses

Call = Callable[..., HttpAnswer]
INVALID_ID_TOKEN = {"detail": "The ID token is not valid.", "code": "invalid_id_token"}
NO_ACTIVE_ACCOUNT = {"detail": "No active account found with the given credentials"}
EMAIL = "jane@example.com"
SUBJECT = "107691503500061507150"


def sign_in(call: Call, provider: str, body: Any, headers: dict[str, str] | None = None) -> HttpAnswer:
    return call("social", sign_in_event(provider, body, headers))


def as_customer(answer: HttpAnswer) -> tuple[str, int]:
    """The customer id and iat of the access token a sign-in answered."""
    claims = jwt.decode(answer.body["access"], options={"verify_signature": False})
    return str(claims["user_id"]), int(claims["iat"])


def linked(call: Call, customer_id: str, issued_at: int) -> HttpAnswer:
    return call(
        "social", account_event("social_linked_get", None, caller=customer_id, method="GET", issued_at=issued_at)
    )


def unlink(call: Call, customer_id: str, issued_at: int, provider: str) -> HttpAnswer:
    event = account_event("social_unlink_google", None, caller=customer_id, method="DELETE", issued_at=issued_at)
    event["path"] = f"/auth/social/{provider}/"
    event["pathParameters"] = {"provider": provider}
    return call("social", event)


def password_login(call: Call, email: str, password: str = PASSWORD) -> HttpAnswer:
    return call("obtain_token", json_event("obtain_token_ok", {"email": email, "password": password}))


def stored(customer_id: str) -> Customer:
    customer = services.customer_store().get(customer_id)
    assert customer is not None
    return customer


# --- the ID token's checks ---------------------------------------------------------------------


def test_a_new_google_subject_with_a_verified_email_becomes_a_verified_customer_without_a_password(
    social: None, call: Call, google: Provider
) -> None:
    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert answer.status == 200
    assert set(answer.body) == {"refresh", "access"}
    customer = stored(as_customer(answer)[0])
    assert (customer.email, customer.email_verified, customer.has_usable_password) == (EMAIL, True, False)
    assert customer.last_login is not None


def test_a_token_signed_by_a_key_the_provider_never_published_is_refused(
    social: None, call: Call, google: Provider
) -> None:
    forger = SigningKey(google.keys[0].kid, SigningKey.new().private)  # the provider's kid, another key

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL, key=forger)})

    assert (answer.status, answer.body) == (401, INVALID_ID_TOKEN)


def test_a_key_rotated_in_at_the_provider_is_fetched_when_its_kid_first_appears(
    social: None, call: Call, google: Provider
) -> None:
    assert sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}).status == 200
    assert google.fetches == 1
    google.rotate()

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert answer.status == 200
    assert google.fetches == 2


def test_the_provider_keys_are_fetched_once_per_container_while_the_cache_holds(
    social: None, call: Call, google: Provider
) -> None:
    for _ in range(3):
        assert sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}).status == 200

    assert google.fetches == 1


def test_made_up_kids_refetch_the_provider_keys_at_most_once_per_interval(
    social: None, call: Call, google: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIAL_KEY_REFETCH_INTERVAL", "60")
    services.reset()
    assert sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}).status == 200

    answers = [
        sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL, key=SigningKey.new())}) for _ in range(5)
    ]

    assert {answer.status for answer in answers} == {401}
    assert google.fetches == 1


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"iss": "accounts.google.com"}, id="issuer without https"),
        pytest.param({"iss": "https://accounts.google.com/"}, id="issuer with a slash"),
        pytest.param({"iss": APPLE_ISSUER}, id="another provider's issuer"),
        pytest.param({"aud": "someone-elses-client"}, id="another client"),
        pytest.param({"aud": [GOOGLE_CLIENT_ID, "someone-elses-client"]}, id="two audiences"),
        pytest.param({"exp": -5}, id="expired"),  # seconds from the moment the token is made
        pytest.param({"iat": 600}, id="issued in the future"),
        pytest.param({"sub": None}, id="no sub"),
        pytest.param({"sub": ""}, id="empty sub"),
        pytest.param({"sub": "x" * 256}, id="sub too long"),
        pytest.param({"iss": None}, id="no iss"),
        pytest.param({"aud": None}, id="no aud"),
        pytest.param({"exp": None}, id="no exp"),
        pytest.param({"iat": None}, id="no iat"),
    ],
)
def test_each_claim_check_refuses_a_token_that_fails_it(
    social: None, call: Call, google: Provider, changes: dict[str, Any]
) -> None:
    # A time is an offset from now, read when the test runs (not when pytest collected it, which
    # in a whole suite is many minutes earlier: "in the future" would have passed by then).
    now = int(time.time())
    claims = {
        name: now + value if name in ("exp", "iat") and value is not None else value for name, value in changes.items()
    }
    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL, **claims)})

    assert (answer.status, answer.body) == (401, INVALID_ID_TOKEN)


def test_an_audience_listing_only_one_of_our_client_ids_is_accepted(social: None, call: Call, google: Provider) -> None:
    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL, aud=["other-client"])})

    assert answer.status == 200


def test_expiry_is_checked_with_the_service_leeway(
    social: None, call: Call, google: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEEWAY", "30")
    services.reset()

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL, exp=int(time.time()) - 10)})

    assert answer.status == 200


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    def part(data: bytes) -> str:
        return jwt.utils.base64url_encode(data).decode()

    return ".".join((part(json.dumps(header).encode()), part(json.dumps(payload).encode()), part(signature)))


def hs256_with_public_key(provider: Provider) -> str:
    """The algorithm-confusion attack: HMAC keyed with the provider's public key (PEM)."""
    public = provider.keys[0].private.public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": provider.keys[0].kid}
    signing_input = unsigned(header, provider.claims(SUBJECT, EMAIL)).rsplit(".", 1)[0]
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + jwt.utils.base64url_encode(signature).decode()


MALFORMED: dict[str, Callable[[Provider], Any]] = {
    "garbage": lambda provider: "not a token",
    "three dots of garbage": lambda provider: "a.b.c",
    "a number": lambda provider: 12345,
    "alg none": lambda provider: unsigned(
        {"alg": "none", "kid": provider.keys[0].kid}, provider.claims(SUBJECT, EMAIL)
    ),
    "HS256 keyed with the public key": hs256_with_public_key,
    "RS512": lambda provider: jwt.encode(
        provider.claims(SUBJECT, EMAIL), provider.keys[0].private, "RS512", {"kid": provider.keys[0].kid}
    ),
    "no kid": lambda provider: jwt.encode(provider.claims(SUBJECT, EMAIL), provider.keys[0].private, "RS256"),
    "a kid that is a list": lambda provider: unsigned({"alg": "RS256", "kid": ["a"]}, provider.claims(SUBJECT, EMAIL)),
    "a header that is a list": lambda provider: jwt.utils.base64url_encode(b"[1]").decode() + ".e30.",
    "a payload that is not JSON": lambda provider: (
        unsigned({"alg": "RS256", "kid": provider.keys[0].kid}, {})[:-3] + ".."
    ),
}


@pytest.mark.parametrize("make", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_token_is_a_401_never_a_500(
    social: None, call: Call, google: Provider, make: Callable[[Provider], Any]
) -> None:
    answer = sign_in(call, "google", {"id_token": make(google)})

    assert (answer.status, answer.body) == (401, INVALID_ID_TOKEN)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({}, 400, id="no id_token"),
        pytest.param({"id_token": None}, 400, id="null"),
        pytest.param({"id_token": "x" * 8193}, 400, id="too long"),
        pytest.param({"id_token": "x" * 70_000}, 413, id="huge body"),
        pytest.param("[1, 2]", 400, id="not an object"),
        pytest.param("{", 400, id="not JSON"),
    ],
)
def test_a_bad_body_is_answered_before_any_token_check(
    social: None, call: Call, google: Provider, body: Any, status: int
) -> None:
    answer = sign_in(call, "google", body)

    assert answer.status == status
    assert google.fetches == 0


def test_provider_keys_that_cannot_be_fetched_answer_503(
    social: None, call: Call, google: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_JWKS_URL", "http://127.0.0.1:9/keys")
    services.reset()

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert answer.status == 503


def test_apple_nonce_matches_when_the_token_carries_the_sha256_of_the_nonce_sent(
    social: None, call: Call, apple: Provider
) -> None:
    token = apple.id_token("001234.abcd", "x7@privaterelay.appleid.com", nonce=apple_nonce_claim("page-nonce"))

    answer = sign_in(call, "apple", {"id_token": token, "nonce": "page-nonce"})

    assert answer.status == 200
    assert stored(as_customer(answer)[0]).email == "x7@privaterelay.appleid.com"  # relay addresses kept as given


@pytest.mark.parametrize(
    "claimed",
    [
        pytest.param(apple_nonce_claim("another-nonce"), id="another nonce's digest"),
        pytest.param("page-nonce", id="the raw nonce"),
        pytest.param(None, id="no nonce claim"),
    ],
)
def test_apple_nonce_sent_refuses_a_token_without_its_digest(
    social: None, call: Call, apple: Provider, claimed: str | None
) -> None:
    token = apple.id_token("001234.abcd", "jane@icloud.example", nonce=claimed)

    answer = sign_in(call, "apple", {"id_token": token, "nonce": "page-nonce"})

    assert (answer.status, answer.body) == (401, INVALID_ID_TOKEN)


@pytest.mark.parametrize("verified", [False, "false", None, "yes", 1], ids=["false", "'false'", "absent", "yes", "1"])
def test_an_unverified_provider_email_creates_nothing(social: None, call: Call, apple: Provider, verified: Any) -> None:
    token = apple.id_token("001234.abcd", EMAIL, email_verified=verified)

    answer = sign_in(call, "apple", {"id_token": token})

    assert answer.status == 400
    assert list(answer.body) == ["non_field_errors"]
    assert services.customer_store().find_by_email(EMAIL) is None


def test_apple_email_verified_as_the_string_true_counts(social: None, call: Call, apple: Provider) -> None:
    token = apple.id_token("001234.abcd", EMAIL, email_verified="true")

    assert sign_in(call, "apple", {"id_token": token}).status == 200


def test_a_provider_without_client_ids_is_not_found(
    social: None, call: Call, google: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_CLIENT_IDS", "")
    services.reset()

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert (answer.status, answer.body) == (404, {"detail": "Not found."})


def test_an_unknown_provider_is_not_found(social: None, call: Call, google: Provider) -> None:
    answer = sign_in(call, "facebook", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert answer.status == 404


# --- linking and pre-hijacking ------------------------------------------------------------------


def test_a_verified_customer_is_linked_by_a_verified_provider_email_and_keeps_the_password(
    social: None, call: Call, google: Provider, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(EMAIL)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert as_customer(answer)[0] == customer.customer_id
    assert password_login(call, EMAIL).status == 200


def test_a_linked_subject_signs_in_as_its_customer_whatever_email_the_provider_gives_now(
    social: None, call: Call, google: Provider, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(EMAIL)
    sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})
    make_customer("jane.new@example.com")  # the new address belongs to someone else here

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, "jane.new@example.com")})

    assert as_customer(answer)[0] == customer.customer_id


def test_an_unverified_provider_email_never_links_an_existing_customer(
    social: None, call: Call, google: Provider, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(EMAIL)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL, email_verified=False)})

    assert answer.status == 400
    assert services.social_service()._links.customer_of(Name.GOOGLE, SUBJECT) is None
    assert stored(customer.customer_id).password_hash == customer.password_hash


@pytest.mark.parametrize("require_verification", ["true", "false"])
def test_an_attackers_unconfirmed_registration_loses_its_password_when_the_owner_arrives_by_google(
    social: None,
    call: Call,
    google: Provider,
    monkeypatch: pytest.MonkeyPatch,
    require_verification: str,
) -> None:
    monkeypatch.setenv("REQUIRE_EMAIL_VERIFICATION", require_verification)
    services.reset()
    from shared.customers.passwords import PasswordHasher
    from shared.settings import get_settings

    attacker_hash = PasswordHasher(get_settings()).hash("attackers-Pass-42")
    pending_until = int(time.time()) + 3600 if require_verification == "true" else None
    _, squatted = services.customer_store().register(EMAIL, attacker_hash, pending_until)
    before = password_login(call, EMAIL, "attackers-Pass-42")
    assert before.status == (401 if require_verification == "true" else 200)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert as_customer(answer)[0] == squatted.customer_id
    owner = stored(squatted.customer_id)
    assert (owner.email_verified, owner.has_usable_password) == (True, False)
    assert password_login(call, EMAIL, "attackers-Pass-42").status == 401
    if before.status == 200:  # the attacker's session ended too
        refresh = call("refresh_token", json_event("refresh_token_ok", {"refresh": before.body["refresh"]}))
        assert refresh.status == 401


def test_an_attacker_registering_the_address_through_the_api_is_locked_out_when_the_owner_arrives_by_google(
    social: None, call: Call, google: Provider, mailbox: Mailbox
) -> None:
    assert register(call, EMAIL, STRONG).status == 201  # the attacker, who cannot read the mailbox
    attackers_key = mailbox.one().query()["key"]  # what the mail holds (the attacker never sees it)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert answer.status == 200
    assert password_login(call, EMAIL, STRONG).status == 401
    confirm = call("verify_email", json_event("verify_email_unknown_key", {"key": attackers_key, "password": STRONG}))
    assert confirm.status == 404, "the registration's key no longer installs its password"
    assert password_login(call, EMAIL, STRONG).status == 401


def test_a_deactivated_linked_customer_is_refused_by_the_opener(social: None, call: Call, google: Provider) -> None:
    customer_id = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))[0]
    services.customer_store().set_active(stored(customer_id), False)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert (answer.status, answer.body) == (401, NO_ACTIVE_ACCOUNT)


def test_a_deactivated_customer_is_neither_linked_nor_signed_in_by_email(
    social: None, call: Call, google: Provider, make_customer: Callable[..., Customer]
) -> None:
    make_customer(EMAIL, is_active=False)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert (answer.status, answer.body) == (401, NO_ACTIVE_ACCOUNT)
    assert services.social_service()._links.customer_of(Name.GOOGLE, SUBJECT) is None


def test_whatever_the_opener_raises_is_the_answer(
    social: None, call: Call, google: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MFA challenge of staff and MFA customers is an ApiError raised by the opener: it passes through."""

    class Challenge(ApiError):
        status = 200

        def body(self) -> dict[str, Any]:
            return {"ephemeral_token": "e", "mfa_required": True}

    def challenge(*args: Any, **kwargs: Any) -> Any:
        raise Challenge("mfa")

    from shared.customers.opening import SessionOpener

    monkeypatch.setattr(SessionOpener, "open", challenge)

    answer = sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)})

    assert (answer.status, answer.body) == (200, {"ephemeral_token": "e", "mfa_required": True})


def test_a_customer_without_a_usable_password_cannot_log_in_or_change_it_with_a_password(
    social: None, call: Call, google: Provider
) -> None:
    customer_id, issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))
    unusable = stored(customer_id).password_hash

    login = password_login(call, EMAIL, unusable)
    change = call(
        "change_password",
        account_event(
            "password_change_wrong_old",
            {"old_password": unusable, "new_password1": "Quiet-Harbour-42", "new_password2": "Quiet-Harbour-42"},
            caller=customer_id,
            issued_at=issued_at,
        ),
    )

    assert login.status == 401
    assert change.status == 400
    assert list(change.body) == ["old_password"]


def test_cookie_transport_sets_the_refresh_cookie_and_answers_the_access_token(
    social: None, call: Call, google: Provider
) -> None:
    answer = sign_in(
        call,
        "google",
        {"id_token": google.id_token(SUBJECT, EMAIL)},
        headers={"Origin": SHOP, "X-Token-Transport": "cookie"},
    )

    assert answer.status == 200
    assert set(answer.body) == {"access"}
    assert answer.headers["set-cookie"].startswith("refresh_token=")
    assert "HttpOnly" in answer.headers["set-cookie"]
    assert answer.headers["access-control-allow-origin"] == SHOP


def test_sign_ins_are_throttled_per_source(
    social: None, call: Call, google: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCOUNT_IP_LIMIT", "2")
    services.reset()

    answers = [sign_in(call, "google", {"id_token": "garbage"}) for _ in range(3)]

    assert [answer.status for answer in answers] == [401, 401, 429]
    assert answers[-1].body["code"] == "throttled"


# --- the linked providers and the last way in -------------------------------------------------


def test_the_customer_sees_each_linked_provider(social: None, call: Call, google: Provider, apple: Provider) -> None:
    customer_id, issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))
    sign_in(call, "apple", {"id_token": apple.id_token("001234.abcd", EMAIL)})

    answer = linked(call, customer_id, issued_at)

    assert answer.status == 200
    assert [(link["provider"], link["uid"], link["email"]) for link in answer.body] == [
        ("google", SUBJECT, EMAIL),
        ("apple", "001234.abcd", EMAIL),
    ]
    assert all(link["date_joined"].endswith("Z") for link in answer.body)


def test_the_last_way_in_cannot_be_removed(social: None, call: Call, google: Provider, apple: Provider) -> None:
    customer_id, issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))

    answer = unlink(call, customer_id, issued_at, "google")

    assert answer.status == 400
    assert list(answer.body) == ["non_field_errors"]
    assert [link["provider"] for link in linked(call, customer_id, issued_at).body] == ["google"]


def test_one_of_two_providers_can_be_removed_then_not_the_other(
    social: None, call: Call, google: Provider, apple: Provider
) -> None:
    customer_id, issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))
    sign_in(call, "apple", {"id_token": apple.id_token("001234.abcd", EMAIL)})

    first = unlink(call, customer_id, issued_at, "google")
    second = unlink(call, customer_id, issued_at, "apple")

    assert (first.status, second.status) == (204, 400)
    assert sign_in(call, "apple", {"id_token": apple.id_token("001234.abcd", EMAIL)}).status == 200


def test_a_customer_with_a_password_can_remove_the_only_provider(
    social: None, call: Call, google: Provider, make_customer: Callable[..., Customer]
) -> None:
    customer = make_customer(EMAIL)
    issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))[1]

    answer = unlink(call, customer.customer_id, issued_at, "google")

    assert answer.status == 204
    assert linked(call, customer.customer_id, issued_at).body == []
    assert services.social_service()._links.customer_of(Name.GOOGLE, SUBJECT) is None


@pytest.mark.parametrize("provider", ["apple", "facebook"])
def test_removing_a_provider_that_is_not_linked_is_not_found(
    social: None, call: Call, google: Provider, provider: str
) -> None:
    customer_id, issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))

    assert unlink(call, customer_id, issued_at, provider).status == 404


def test_the_linked_providers_need_a_caller(social: None, call: Call) -> None:
    answer = call("social", account_event("social_linked_get", None, caller=None, method="GET"))

    assert answer.status == 401


def test_two_removals_at_once_cannot_both_pass_the_last_way_in_rule(
    social: None, call: Call, google: Provider, apple: Provider
) -> None:
    customer_id, issued_at = as_customer(sign_in(call, "google", {"id_token": google.id_token(SUBJECT, EMAIL)}))
    sign_in(call, "apple", {"id_token": apple.id_token("001234.abcd", EMAIL)})
    links = services.social_service()._links
    read_by_both = links.of_customer(customer_id)  # each removal read two providers
    links.unlink(read_by_both, Name.APPLE)  # the first removal lands

    with pytest.raises(LinksChanged):
        links.unlink(read_by_both, Name.GOOGLE)  # the second, on what it read, is refused
    answer = unlink(call, customer_id, issued_at, "google")  # read again: the last way in

    assert answer.status == 400
    assert [link["provider"] for link in linked(call, customer_id, issued_at).body] == ["google"]


def test_concurrent_first_sign_ins_of_one_subject_make_one_customer(
    social: None, google: Provider, atomic_requests: None, load_handler: Callable[[str], Any], lambda_context: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    app = load_handler("social")
    token = google.id_token(SUBJECT, EMAIL)

    def first_sign_in(_: int) -> dict[str, Any]:
        answer: dict[str, Any] = app.lambda_handler(sign_in_event("google", {"id_token": token}), lambda_context)
        return answer

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(first_sign_in, range(4)))

    assert {answer["statusCode"] for answer in answers} == {200}
    owners = {
        jwt.decode(json.loads(a["body"])["access"], options={"verify_signature": False})["user_id"] for a in answers
    }
    assert len(owners) == 1
