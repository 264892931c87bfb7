"""The JWT attack catalogue (tests/adversarial/catalogue.py) through the real functions.

Every attack goes to the real authorizer handler (a TOKEN event) and to the real
POST /auth/token/refresh/ handler, and each answer is asserted exactly. Both deployments
are attacked: today's plain HMAC key, and a key set after a rotation to RS256 (the legacy
HMAC key still verifying tokens without ``kid``), where key confusion has a real public
key to confuse. No attack may make a network request other than the authorizer's read of
its key from the secrets extension on localhost.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from shared.tokens import keyset
from tests.adversarial import catalogue
from tests.adversarial.catalogue import ATTACKS, INVALID, REFRESH_INVALID, Allow, Attack, Deny, Http, Keys
from tests.adversarial.conftest import OutboundGuard
from tests.adversarial.forge import WEAK_SECRETS, attacker_rsa_key, hs_token, payload, public_pem
from tests.adversarial.stack import Stack, warm_stack
from tests.helpers import SIGNING_KEY, HttpAnswer

REFRESH_LIFETIME = 259200


@dataclass
class Deployment:
    name: str
    stack: Stack
    keys: Keys


def plain_secret() -> str:
    return SIGNING_KEY


def rotated_secret() -> str:
    return keyset.rotate(SIGNING_KEY, "RS256", REFRESH_LIFETIME)


DEPLOYMENTS = {"plain-hmac-key": plain_secret, "rotated-rs256-key-set": rotated_secret}


def keys_for(secret: str) -> Keys:
    """The service's HMAC key, and the public key it trusts (the attacker's own when it has none)."""
    if not secret.startswith("{"):
        return Keys(SIGNING_KEY.encode(), public_pem(attacker_rsa_key().public_key()), "attacker")
    current = keyset.parse(secret).newest
    assert current is not None
    pem = current.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Keys(SIGNING_KEY.encode(), bytes(pem), current.kid)


@pytest.fixture(scope="module", params=sorted(DEPLOYMENTS))
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    secret = DEPLOYMENTS[request.param]()
    with warm_stack(secret) as stack:
        yield Deployment(request.param, stack, keys_for(secret))


@pytest.fixture
def guarded(deployment: Deployment, outbound: OutboundGuard) -> Iterator[Deployment]:
    """The deployment with every outbound connection refused but the key read on localhost."""
    outbound.allowed_ports.add(deployment.stack.extension.port)
    yield deployment
    assert outbound.refused == [], "an attack made the service reach out"


def authorizer_answer(stack: Stack, token: str) -> Deny | Allow:
    # API Gateway hands the header over as text: bytes that are not UTF-8 arrive as Latin-1.
    header = "Bearer " + token.encode("utf-8", "surrogateescape").decode("latin-1")
    policy = stack.authorize(header)
    [statement] = policy["policyDocument"]["Statement"]
    if statement["Effect"] == "Allow":
        return Allow(policy["principalId"])
    return Deny(json.loads(policy["context"]["body"]))


def refresh_answer(stack: Stack, token: str) -> HttpAnswer:
    body = ('{"refresh": ' + json.dumps(token, ensure_ascii=False) + "}").encode("utf-8", "surrogateescape")
    return stack.post("refresh_token", body)


def assert_refresh_answer(answer: HttpAnswer, expected: Http) -> None:
    assert answer.status == expected.status, answer.body
    if expected.body is None:
        assert list(answer.body) == ["access", "refresh"]
    else:
        assert answer.body == expected.body
    if expected.status == 401:
        assert answer.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.id for attack in ATTACKS])
def test_the_authorizer_answers_each_attack_as_catalogued(guarded: Deployment, attack: Attack) -> None:
    token = attack.forge(guarded.keys, "access")
    assert authorizer_answer(guarded.stack, token) == attack.authorizer


@pytest.mark.parametrize("attack", ATTACKS, ids=[attack.id for attack in ATTACKS])
def test_the_refresh_endpoint_answers_each_attack_as_catalogued(guarded: Deployment, attack: Attack) -> None:
    token = attack.forge(guarded.keys, "refresh")
    assert_refresh_answer(refresh_answer(guarded.stack, token), attack.refresh)


def secret_id(secret: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", secret).strip("-") or "blank"


@pytest.mark.parametrize("secret", WEAK_SECRETS, ids=[secret_id(secret) for secret in WEAK_SECRETS])
def test_the_authorizer_denies_a_token_signed_with_a_weak_secret(guarded: Deployment, secret: str) -> None:
    token = hs_token({"alg": "HS256", "typ": "JWT"}, payload("access"), secret.encode())
    assert authorizer_answer(guarded.stack, token) == INVALID


@pytest.mark.parametrize("secret", WEAK_SECRETS, ids=[secret_id(secret) for secret in WEAK_SECRETS])
def test_the_refresh_endpoint_refuses_a_token_signed_with_a_weak_secret(guarded: Deployment, secret: str) -> None:
    token = hs_token({"alg": "HS256", "typ": "JWT"}, payload("refresh"), secret.encode())
    assert_refresh_answer(refresh_answer(guarded.stack, token), REFRESH_INVALID)


def test_a_genuine_token_is_allowed_so_the_refusals_are_not_vacuous(guarded: Deployment) -> None:
    refresh = guarded.stack.login(guarded.stack.new_customer())["refresh"]
    rotated = refresh_answer(guarded.stack, refresh)
    assert rotated.status == 200
    assert isinstance(authorizer_answer(guarded.stack, rotated.body["access"]), Allow)


def test_the_authorizer_decides_on_a_one_megabyte_token_within_a_second(guarded: Deployment) -> None:
    token = catalogue.ATTACKS[[attack.id for attack in ATTACKS].index("one-megabyte-token")].forge(
        guarded.keys, "access"
    )
    started = time.perf_counter()
    assert authorizer_answer(guarded.stack, token) == INVALID
    assert time.perf_counter() - started < 1.0


def test_a_flood_of_unknown_kids_reads_the_key_at_most_once_per_refetch_interval(
    guarded: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown ``kid`` may be a key rotated in since the last read, so the service reads its
    key again, but at most once per KEY_REFETCH_INTERVAL (5 s): 50 bogus kids must not become
    50 Secrets Manager calls per container."""
    from moto.core.botocore_stubber import BotocoreStubber

    reads: list[str] = []
    real_call = BotocoreStubber.__call__

    def counting(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""
        if (target.decode() if isinstance(target, bytes) else target).endswith("GetSecretValue"):
            reads.append(event_name)
        return real_call(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", counting)
    for _ in range(50):
        kid = uuid.uuid4().hex
        assert (
            authorizer_answer(guarded.stack, hs_token({"alg": "HS256", "kid": kid}, payload("access"), b"x")) == INVALID
        )
        refused = refresh_answer(guarded.stack, hs_token({"alg": "HS256", "kid": kid}, payload("refresh"), b"x"))
        assert_refresh_answer(refused, REFRESH_INVALID)
    assert len(reads) <= 2, f"{len(reads)} key reads for 100 unknown kids (one per function at most)"


def test_the_outbound_guard_catches_a_fetch_of_an_attackers_url(outbound: OutboundGuard) -> None:
    """The guard is what proves the jku / x5u / jwk attacks made no request: it must bite."""
    from urllib.request import urlopen

    with pytest.raises(OSError, match="refused by the test"):
        urlopen("https://attacker.example/.well-known/jwks.json", timeout=1)
    assert [address for _, address in outbound.refused] == [("attacker.example", 443)]
