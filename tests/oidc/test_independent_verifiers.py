"""Other services verify this service's tokens from its discovery document and JWKS alone.

An RS256 stack from `make local` with ``Issuer`` and ``Audience`` set; two verifiers that are
not this project's code, each given only the discovery URL and the audience: aws-jwt-verify
on Node (tests/oidc/node/) and PyJWT's ``PyJWKClient``. The access token verifies; a refresh
token, and tokens signed with the service's own key but naming another audience or another
issuer, are refused by both, and by this service's own authorizer and verify endpoint.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest

from shared.tokens.keyset import parse
from tests.helpers import EMAIL, PASSWORD, REGION, ROOT
from tests.local_api import free_port, local_api
from tools import gateway
from tools.local_server import FAKE_CREDENTIALS

AUDIENCE = "shop-api"
NODE_VERIFIER = ROOT / "tests" / "oidc" / "node"
REFUSED = ("refresh", "wrong_audience", "wrong_issuer")


@dataclass(frozen=True)
class Stack:
    url: str
    issuer: str
    discovery: dict[str, Any]
    discovery_headers: dict[str, str]
    tokens: dict[str, str]


def get_json(url: str) -> tuple[dict[str, Any], dict[str, str]]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read()), dict(response.headers.items())


def post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def signed_with_the_service_key(storage_port: int, genuine: str, **claims: str) -> str:
    """``genuine``'s claims with some replaced, signed with the stack's current private key."""
    secret_id = gateway.load().environments["ObtainTokenFunction"]["SIGNING_KEY_SECRET_ID"]
    client = boto3.client(
        "secretsmanager",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{storage_port}",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    key = parse(client.get_secret_value(SecretId=secret_id)["SecretString"]).signing_key(time.time())
    payload = {**jwt.decode(genuine, options={"verify_signature": False}), **claims}
    return jwt.encode(payload, key.signing_key, algorithm=key.alg, headers={"kid": key.kid})


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    port, storage_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    overrides = ("Algorithm=RS256", f"Issuer={issuer}", f"Audience={AUDIENCE}")
    with local_api(*overrides, port=port, storage_port=storage_port) as url:
        discovery, headers = get_json(f"{url}/.well-known/openid-configuration")
        status, pair = post_json(f"{url}/auth/token/", {"email": EMAIL, "password": PASSWORD})
        assert status == 200, pair
        tokens = {
            "access": pair["access"],
            "refresh": pair["refresh"],
            "wrong_audience": signed_with_the_service_key(storage_port, pair["access"], aud="payments-api"),
            "wrong_issuer": signed_with_the_service_key(storage_port, pair["access"], iss="https://attacker.example"),
        }
        yield Stack(url, issuer, discovery, headers, tokens)


@pytest.fixture(scope="module")
def node_verifier() -> list[str]:
    """The Node verifier's command; installs its locked dependencies the first time."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node, "Node.js 18+ is needed for the aws-jwt-verify check"
    assert npm, "npm is needed to install aws-jwt-verify (tests/oidc/node/package-lock.json)"
    if not (NODE_VERIFIER / "node_modules" / "aws-jwt-verify").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_VERIFIER, check=True, timeout=300)
    return [node, str(NODE_VERIFIER / "verify.mjs")]


@pytest.fixture(scope="module")
def aws_jwt_verify(stack: Stack, node_verifier: list[str]) -> dict[str, dict[str, Any]]:
    completed = subprocess.run(
        [*node_verifier, f"{stack.url}/.well-known/openid-configuration", AUDIENCE],
        input=json.dumps(stack.tokens),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results: dict[str, dict[str, Any]] = json.loads(completed.stdout)
    return results


def pyjwt_verify(discovery_url: str, token: str) -> dict[str, Any]:
    """PyJWT with what an independent service has: the discovery URL and its audience."""
    discovery, _ = get_json(discovery_url)
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token)
    payload: dict[str, Any] = jwt.decode(
        token,
        signing_key.key,
        algorithms=discovery["id_token_signing_alg_values_supported"],
        audience=AUDIENCE,
        issuer=discovery["issuer"],
    )
    return payload


def test_given_an_rs256_stack_when_discovered_then_the_document_names_the_issuer_and_its_keys(stack: Stack) -> None:
    assert stack.discovery == {
        "issuer": stack.issuer,
        "jwks_uri": f"{stack.issuer}/.well-known/jwks.json",
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["iss", "aud", "exp", "iat", "jti", "token_type", "user_id"],
    }
    assert stack.discovery_headers["Cache-Control"] == "public, max-age=300"
    access = jwt.decode(stack.tokens["access"], options={"verify_signature": False})
    refresh = jwt.decode(stack.tokens["refresh"], options={"verify_signature": False})
    assert (access["iss"], access["aud"]) == (stack.issuer, AUDIENCE)
    assert (refresh["iss"], refresh["aud"]) == (stack.issuer, stack.issuer), "refresh tokens are for the issuer"


def test_given_the_discovery_document_when_aws_jwt_verify_checks_an_access_token_then_it_is_valid(
    aws_jwt_verify: dict[str, dict[str, Any]],
) -> None:
    result = aws_jwt_verify["access"]
    assert result["valid"], result
    assert (result["payload"]["user_id"], result["payload"]["token_type"]) == ("1", "access")


@pytest.mark.parametrize(
    ("name", "error"),
    [("refresh", "Audience"), ("wrong_audience", "Audience"), ("wrong_issuer", "Issuer")],
)
def test_given_the_discovery_document_when_aws_jwt_verify_checks_other_tokens_then_it_refuses_them(
    aws_jwt_verify: dict[str, dict[str, Any]], name: str, error: str
) -> None:
    result = aws_jwt_verify[name]
    assert not result["valid"]
    assert error in result["error"].split(":")[0], result["error"]


def test_given_the_discovery_document_when_pyjwt_checks_an_access_token_then_it_is_valid(stack: Stack) -> None:
    payload = pyjwt_verify(f"{stack.url}/.well-known/openid-configuration", stack.tokens["access"])
    assert (payload["user_id"], payload["token_type"]) == ("1", "access")


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("refresh", jwt.InvalidAudienceError),
        ("wrong_audience", jwt.InvalidAudienceError),
        ("wrong_issuer", jwt.InvalidIssuerError),
    ],
)
def test_given_the_discovery_document_when_pyjwt_checks_other_tokens_then_it_refuses_them(
    stack: Stack, name: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        pyjwt_verify(f"{stack.url}/.well-known/openid-configuration", stack.tokens[name])


@pytest.mark.parametrize("name", ["wrong_audience", "wrong_issuer"])
def test_given_a_token_of_another_audience_or_issuer_when_presented_here_then_every_function_refuses_it(
    stack: Stack, name: str
) -> None:
    token = stack.tokens[name]
    status, body = post_json(f"{stack.url}/auth/token/verify/", {"token": token})
    assert (status, body["code"]) == (401, "token_not_valid")
    request = urllib.request.Request(f"{stack.url}/api/v1/customers/1/", headers={"Authorization": f"Bearer {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    status, body = post_json(f"{stack.url}/auth/token/refresh/", {"refresh": token})
    assert (status, body["code"]) == (401, "token_not_valid")


def test_given_the_genuine_pair_when_used_here_then_the_service_accepts_both(stack: Stack) -> None:
    assert post_json(f"{stack.url}/auth/token/verify/", {"token": stack.tokens["access"]}) == (200, {})
    assert post_json(f"{stack.url}/auth/token/verify/", {"token": stack.tokens["refresh"]}) == (200, {})
    request = urllib.request.Request(
        f"{stack.url}/api/v1/customers/1/", headers={"Authorization": f"Bearer {stack.tokens['access']}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["id"] == 1
