"""Key rotation against real cache timings: publish ahead, sign later, retire after the last token.

The verifier containers read the key set through their own stand-in of the Parameters and
Secrets extension, which caches each secret for its TTL as the real one does; signers read
Secrets Manager with their own cache. Clocks are driven through a rotation, so every
moment of it is checked, not only the ends.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import jwt
import pytest

from shared.errors import TokenError
from shared.settings import Settings
from shared.tokens.keys import CachedKeySet, secrets_extension_fetcher, secrets_manager_fetcher
from shared.tokens.keyset import jwks, parse, parse_published, rotate
from shared.tokens.minting import ACCESS, TokenService
from shared.tokens.rotation import KeyRotation, RotationConflict
from tests.helpers import REGION, SECRET_ID, SIGNING_KEY
from tools.secrets_extension import SecretsExtensionServer

VERIFICATION_ID = "test/verification-keys"
SESSION_TOKEN = "testing"
ROTATION_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


class Clock:
    """One wall clock for every container of the test, moved by hand."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Verifier:
    """One authorizer container: its extension (with its cache) and its own key-set cache."""

    extension: SecretsExtensionServer
    tokens: TokenService


@dataclass
class JwksReader:
    """A verifier of another service (an API Gateway JWT authorizer): reads the JWKS route,
    which caches the published set ``SIGNING_KEY_MAX_AGE``, and keeps what it read two hours."""

    route: CachedKeySet
    clock: Clock
    keep_for: float
    document: dict[str, Any] | None = None
    read_at: float = 0.0

    def verify(self, token: str) -> dict[str, Any]:
        if self.document is None or self.clock() - self.read_at >= self.keep_for:
            self.document, self.read_at = jwks(self.route.get()), self.clock()
        key = jwt.PyJWKSet.from_dict(self.document)[jwt.get_unverified_header(token)["kid"]]
        return dict(jwt.decode(token, key.key, algorithms=[key.algorithm_name]))


@pytest.fixture
def secrets(aws: None) -> Any:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name=VERIFICATION_ID, SecretString="{}")
    return client


@pytest.fixture
def extensions() -> Iterator[list[SecretsExtensionServer]]:
    started: list[SecretsExtensionServer] = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def timeline_settings(algorithm: Literal["HS256", "RS256"]) -> Settings:
    """A day-long access token, so tokens minted on the driven clock (in the past) stay live."""
    asymmetric = algorithm != "HS256"
    return Settings(
        ALGORITHM=algorithm,
        ACCESS_TOKEN_LIFETIME=86400,
        SIGNING_KEY_MAX_AGE=300,
        SECRETS_MANAGER_TTL=300,
        KEY_ACTIVATION_DELAY=7800 if asymmetric else 660,
    )


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
def test_given_staggered_caches_when_keys_rotate_then_every_token_of_every_moment_verifies_everywhere(
    algorithm: Literal["HS256", "RS256"], secrets: Any, extensions: list[SecretsExtensionServer]
) -> None:
    settings = timeline_settings(algorithm)
    asymmetric = algorithm != "HS256"
    span = settings.KEY_ACTIVATION_DELAY + 2000
    clock = Clock(time.time() - span - 1200)  # iat never ahead of the real clock pyjwt checks
    rotation = KeyRotation(secrets, settings, VERIFICATION_ID, clock=clock)
    if asymmetric:  # the stack already runs on RS256 keys: this is a routine rotation
        rotation.rotate_now(SECRET_ID, activation_delay=0)
    verifier_secret = VERIFICATION_ID if asymmetric else SECRET_ID

    def verifier() -> Verifier:
        extension = SecretsExtensionServer(0, SESSION_TOKEN, REGION, ttl=settings.SECRETS_MANAGER_TTL, clock=clock)
        extensions.append(extension.start())
        fetch = secrets_extension_fetcher(verifier_secret, extension.port, SESSION_TOKEN, timeout=5)
        keys = CachedKeySet(fetch, max_age=settings.SIGNING_KEY_MAX_AGE, refetch_interval=5, clock=clock)
        return Verifier(extension, TokenService(settings, keys, clock=clock))

    def signer() -> TokenService:
        fetch = secrets_manager_fetcher(secrets, SECRET_ID)
        return TokenService(settings, CachedKeySet(fetch, max_age=settings.SIGNING_KEY_MAX_AGE, clock=clock), clock)

    verifiers: list[Verifier] = []
    signers: list[TokenService] = []
    jwks_readers: list[JwksReader] = []
    step, rotate_at, rotated = 25.0 if not asymmetric else 100.0, clock.now + 1000, False
    kids: set[str] = set()
    failures: list[str] = []
    started = clock.now
    while clock.now < started + span:
        offset = clock.now - started
        # Containers start at staggered moments, so their caches expire at different times.
        if len(verifiers) < 4 and offset >= len(verifiers) * 170:
            verifiers.append(verifier())
        if len(signers) < 3 and offset >= len(signers) * 130:
            signers.append(signer())
        if asymmetric and len(jwks_readers) < 3 and offset >= len(jwks_readers) * 400:
            route = CachedKeySet(
                secrets_manager_fetcher(secrets, VERIFICATION_ID),
                max_age=settings.SIGNING_KEY_MAX_AGE,
                clock=clock,
                parse_document=parse_published,
            )
            jwks_readers.append(JwksReader(route, clock, keep_for=7200))
        if not rotated and clock.now >= rotate_at:
            token = str(uuid.uuid4())
            for name in ROTATION_STEPS:
                rotation.step(name, SECRET_ID, token)
            rotated = True
        for number, tokens in enumerate(signers):
            access = tokens.issue_access("1", "family-1")
            kids.add(jwt.get_unverified_header(access).get("kid") or "legacy")
            for index, container in enumerate(verifiers):
                try:
                    container.tokens.validate(access, ACCESS)
                except TokenError as error:
                    failures.append(f"t+{offset:.0f}s signer {number} -> verifier {index}: {error.detail}")
            for index, reader in enumerate(jwks_readers):
                try:
                    reader.verify(access)
                except (jwt.PyJWTError, KeyError) as error:
                    failures.append(f"t+{offset:.0f}s signer {number} -> JWKS reader {index}: {error!r}")
        clock.now += step

    assert failures == [], f"{len(failures)} refusals, first: {failures[:3]}"
    assert len(kids) == 2, "the new key took over signing within the run"
    assert all(container.extension.fetches >= 2 for container in verifiers), "every extension refetched"


def test_given_a_jwks_read_before_the_switch_when_the_new_key_signs_then_the_old_read_verifies_it(
    secrets: Any,
) -> None:
    settings = timeline_settings("RS256")
    clock = Clock(time.time() - settings.KEY_ACTIVATION_DELAY - 600)
    rotation = KeyRotation(secrets, settings, VERIFICATION_ID, clock=clock)
    rotation.rotate_now(SECRET_ID, activation_delay=0)
    signer_keys = CachedKeySet(secrets_manager_fetcher(secrets, SECRET_ID), max_age=0, clock=clock)
    signer = TokenService(settings, signer_keys, clock=clock)
    before = jwt.get_unverified_header(signer.issue_access("1", "family-1"))["kid"]

    new_kid = rotation.rotate_now(SECRET_ID).kid
    read_then = jwks(parse_published(secrets.get_secret_value(SecretId=VERIFICATION_ID)["SecretString"]))
    assert jwt.get_unverified_header(signer.issue_access("1", "family-1"))["kid"] == before, "the new key waits"
    clock.now += settings.KEY_ACTIVATION_DELAY
    access = signer.issue_access("7", "family-7")

    assert jwt.get_unverified_header(access)["kid"] == new_kid
    key = jwt.PyJWKSet.from_dict(read_then)[new_kid]
    assert jwt.decode(access, key.key, algorithms=["RS256"])["user_id"] == "7"


def test_given_a_rotation_then_the_replaced_key_stays_until_its_last_token_and_caches_have_passed() -> None:
    settings = Settings(LEEWAY=60)
    first = rotate(SIGNING_KEY, "HS256", settings.key_retention, now=1_000_000, activation_delay=600)
    first_key = parse(first).newest
    assert first_key is not None
    assert first_key.activates_at == 1_000_600
    second = rotate(first, "HS256", settings.key_retention, now=2_000_000, activation_delay=600)
    stopped_signing = 2_000_600
    last_moment = stopped_signing + settings.REFRESH_TOKEN_LIFETIME + settings.SIGNING_KEY_MAX_AGE + 60

    kept = rotate(second, "HS256", settings.key_retention, now=last_moment, activation_delay=600)
    dropped = rotate(second, "HS256", settings.key_retention, now=last_moment + 1, activation_delay=600)

    assert parse(second).keys[first_key.kid].retired_at == stopped_signing
    assert first_key.kid in parse(kept).keys
    assert first_key.kid not in parse(dropped).keys


@pytest.mark.parametrize(
    ("changes", "delay"),
    [({}, 659), ({"ALGORITHM": "RS256"}, 7559), ({"SIGNING_KEY_MAX_AGE": 900}, 1259)],
)
def test_given_a_delay_shorter_than_a_verifier_cache_then_the_rotation_refuses_to_start(
    secrets: Any, changes: dict[str, Any], delay: int
) -> None:
    with pytest.raises(ValueError, match="KEY_ACTIVATION_DELAY"):
        KeyRotation(secrets, Settings(**changes, KEY_ACTIVATION_DELAY=delay), VERIFICATION_ID)
    KeyRotation(secrets, Settings(**changes, KEY_ACTIVATION_DELAY=delay + 1), VERIFICATION_ID)


def test_given_a_long_signer_cache_then_only_the_rotation_cares_about_the_delay() -> None:
    """Token functions never read KEY_ACTIVATION_DELAY: their settings stay valid whatever the caches."""
    assert Settings(ALGORITHM="RS256", SIGNING_KEY_MAX_AGE=3600).KEY_ACTIVATION_DELAY == 10800


def test_given_a_rotation_finished_long_after_it_began_then_finish_refuses_and_nothing_signs_early(
    secrets: Any,
) -> None:
    settings = timeline_settings("HS256")
    clock = Clock(time.time())
    rotation = KeyRotation(secrets, settings, VERIFICATION_ID, clock=clock)
    token = str(uuid.uuid4())
    for name in ROTATION_STEPS[:3]:
        rotation.step(name, SECRET_ID, token)

    clock.now += 120  # finishSecret retried two minutes later: the key would sign 540 s after publication
    with pytest.raises(RotationConflict, match="too long ago"):
        rotation.step("finishSecret", SECRET_ID, token)

    assert secrets.get_secret_value(SecretId=SECRET_ID)["SecretString"] == SIGNING_KEY
    stages = secrets.describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"]
    assert all("AWSPENDING" not in labels for labels in stages.values()), "the next rotation can start"


def test_given_the_extension_stand_in_then_it_serves_its_cached_secret_until_the_ttl_ends(
    secrets: Any, extensions: list[SecretsExtensionServer]
) -> None:
    clock = Clock(0.0)
    extension = SecretsExtensionServer(0, SESSION_TOKEN, REGION, ttl=300, clock=clock).start()
    extensions.append(extension)
    fetch = secrets_extension_fetcher(SECRET_ID, extension.port, SESSION_TOKEN, timeout=5)
    assert fetch() == SIGNING_KEY
    secrets.put_secret_value(SecretId=SECRET_ID, SecretString=SIGNING_KEY + "-rotated")

    clock.now = 299.0
    assert fetch() == SIGNING_KEY, "the cached value, whatever changed behind it"
    clock.now = 300.0
    assert fetch() == SIGNING_KEY + "-rotated"
    assert extension.fetches == 2
