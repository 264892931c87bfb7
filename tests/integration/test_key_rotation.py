"""Signing keys: rotation without logging anyone out, asymmetric keys, JWKS, no key confusion."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import jwt
import pytest

from shared.errors import TokenError
from shared.settings import Settings
from shared.tokens.keys import CachedKeySet
from shared.tokens.keyset import parse, rotate, verification_document
from shared.tokens.minting import ACCESS, REFRESH, TokenService
from shared.tokens.rotation import KeyRotation
from tests.conftest import FakeLambdaContext
from tests.helpers import EMAIL, PASSWORD, REGION, SECRET_ID, SIGNING_KEY, HttpAnswer, StaticKeys, claims, json_event
from tests.local_api import local_api
from tools import authctl, gateway

THREE_DAYS = 259200


def header(token: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")))


def rotate_with_authctl(algorithm: str = "HS256") -> None:
    """A rotation whose key signs at once, so the next container's tokens carry it."""
    assert authctl.main(["rotate-keys", "--secret-id", SECRET_ID, "--algorithm", algorithm, "--activate-now"]) == 0


@pytest.fixture
def fresh(load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext) -> Callable[..., HttpAnswer]:
    """Each call runs in a new container, so it reads the key set as it is now."""

    def invoke(function: str, body: dict[str, Any]) -> HttpAnswer:
        module = load_handler(function)
        response = module.lambda_handler(json_event("obtain_token_ok", body) if function == "obtain_token"
                                         else json_event("refresh_token_ok", body), lambda_context)  # fmt: skip
        return HttpAnswer(response["statusCode"], {}, json.loads(response["body"]), response["body"])

    return invoke


def test_a_token_without_kid_from_before_the_first_rotation_still_refreshes(
    customer: Any, fresh: Callable[..., HttpAnswer]
) -> None:
    legacy = fresh("obtain_token", {"email": EMAIL, "password": PASSWORD}).body["refresh"]
    assert "kid" not in header(legacy), "the plain-string secret mints simplejwt's header"

    rotate_with_authctl()

    assert fresh("refresh_token", {"refresh": legacy}).status == 200
    after = fresh("obtain_token", {"email": EMAIL, "password": PASSWORD}).body["refresh"]
    assert "kid" in header(after)


def test_a_token_signed_before_a_rotation_still_verifies_after_it(
    customer: Any, fresh: Callable[..., HttpAnswer]
) -> None:
    rotate_with_authctl()
    before = fresh("obtain_token", {"email": EMAIL, "password": PASSWORD}).body["refresh"]

    rotate_with_authctl()

    after = fresh("obtain_token", {"email": EMAIL, "password": PASSWORD}).body["refresh"]
    assert header(before)["kid"] != header(after)["kid"]
    assert fresh("refresh_token", {"refresh": before}).status == 200


def test_a_token_signed_with_a_dropped_key_is_refused() -> None:
    first = rotate(SIGNING_KEY, "HS256", THREE_DAYS, now=1_000_000)
    old_token = TokenService(Settings(), StaticKeys(first)).issue_pair("1")["refresh"]
    assert "kid" in header(old_token)
    # Two rotations, the second past the refresh lifetime: the first key is dropped.
    later = rotate(
        rotate(first, "HS256", THREE_DAYS, now=1_000_100), "HS256", THREE_DAYS, now=1_000_100 + THREE_DAYS + 1
    )
    assert header(old_token)["kid"] not in parse(later).keys

    with pytest.raises(TokenError, match="Token is invalid"):
        TokenService(Settings(), StaticKeys(later)).validate(old_token, REFRESH)


def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval() -> None:
    fetches, now = [], [0.0]
    secret = rotate(SIGNING_KEY, "HS256", THREE_DAYS)

    def fetch() -> str:
        fetches.append(now[0])
        return secret

    keys = CachedKeySet(fetch, max_age=300, refetch_interval=5, clock=lambda: now[0])
    tokens = TokenService(Settings(), keys)
    for step in range(1000):  # 1000 bogus kids over 20 seconds
        now[0] = step * 0.02
        forged = jwt.encode(claims("access"), SIGNING_KEY, algorithm="HS256", headers={"kid": uuid.uuid4().hex})
        with pytest.raises(TokenError):
            tokens.validate(forged, ACCESS)
    assert len(fetches) <= 1 + 20 / 5, f"{len(fetches)} fetches"


def test_hs256_signed_with_the_rsa_public_key_is_refused() -> None:
    secret = rotate(SIGNING_KEY, "RS256", THREE_DAYS)
    keyset = parse(verification_document(secret))
    rsa_key = keyset.newest
    assert rsa_key is not None
    public_pem = rsa_key.to_json(private=False)["public_key"].encode()

    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': rsa_key.kid})}.{segment(claims('access'))}"
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    forged = f"{signing_input}.{signature.rstrip(b'=').decode()}"

    with pytest.raises(TokenError, match="Token is invalid"):
        TokenService(Settings(), StaticKeys(verification_document(secret))).validate(forged, ACCESS)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_asymmetric_tokens_verify_with_the_public_keys_only(algorithm: str) -> None:
    secret = rotate(SIGNING_KEY, algorithm, THREE_DAYS)
    verifier_view = verification_document(secret)
    assert "PRIVATE KEY" not in verifier_view
    token = TokenService(Settings(), StaticKeys(secret)).issue_pair("7")["access"]

    assert header(token)["alg"] == algorithm
    assert TokenService(Settings(), StaticKeys(verifier_view)).validate(token, ACCESS).user_id == "7"


def test_the_rotation_lambda_steps_publish_before_they_switch(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="test/verification", SecretString=verification_document(SIGNING_KEY))
    settings = Settings(ALGORITHM="ES256")
    rotation = KeyRotation(client, settings, "test/verification")
    token = str(uuid.uuid4())

    def current_value() -> str:
        return str(client.get_secret_value(SecretId=SECRET_ID, VersionStage="AWSCURRENT")["SecretString"])

    for step in ("createSecret", "setSecret", "testSecret"):
        rotation.step(step, SECRET_ID, token)
        assert current_value() == SIGNING_KEY, "not current yet"
    published = parse(client.get_secret_value(SecretId="test/verification")["SecretString"])
    assert published.newest is not None
    assert published.newest.alg == "ES256", "verifiers know the new key before signers use it"
    rotation.step("finishSecret", SECRET_ID, token)
    rotation.step("finishSecret", SECRET_ID, token)  # retried steps are harmless

    current = parse(current_value())
    assert current.newest is not None
    assert (current.newest.kid, current.newest.alg) == (published.newest.kid, "ES256")
    assert current.legacy is not None, "tokens without kid still verify at the signers (refresh)"
    assert published.legacy is None, "verifiers of an asymmetric stack hold no HMAC key"


@pytest.fixture(scope="module")
def rs256_api() -> Iterator[str]:
    with local_api("Algorithm=RS256") as url:
        yield url


def test_with_rs256_a_token_verifies_with_only_the_jwks_document(rs256_api: str) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{rs256_api}/auth/token/",
        data=json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        access = json.loads(response.read())["access"]

    signing_key = jwt.PyJWKClient(f"{rs256_api}/.well-known/jwks.json").get_signing_key_from_jwt(access)
    issuer = f"https://{gateway.API_ID}.execute-api.us-east-1.amazonaws.com/dev"  # the default: the API's own URL
    payload = jwt.decode(access, signing_key.key, algorithms=["RS256"], audience="ecommerce-api", issuer=issuer)

    assert (payload["user_id"], payload["token_type"]) == ("1", "access")
    with urllib.request.urlopen(f"{rs256_api}/.well-known/jwks.json", timeout=30) as response:
        document = json.loads(response.read())
        assert response.headers["Cache-Control"] == "public, max-age=300"
    assert {(key["kty"], key["alg"], key["use"]) for key in document["keys"]} == {("RSA", "RS256", "sig")}
