"""``AuthorizerMode=jwt`` through `make local`: API Gateway's JWT authorizer refuses what the Lambda authorizer refuses.

Two RS256 stacks run side by side, one per mode, each serving its own issuer. Every case is sent
to both and must get the same status; the body is what each mode's gateway responses give
(docs/jwt-authorizer-mode.md). Tokens that must fail one check only are signed with the stack's
own key, read from its local store, so a refusal can only come from the check under test.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.tokens.keyset import parse
from tests.helpers import EMAIL, PASSWORD
from tests.local_api import children, command_line, live_processes, local_api
from tools import gateway

RS256 = {"Algorithm": "RS256"}
JWT_MODE = {**RS256, "AuthorizerMode": "jwt"}
PORTS = {"lambda": (8703, 8704), "jwt": (8701, 8702)}  # this change's range (8700-8749)
SIGNING_SECRET = "ecommerce-auth/dev/signing-key"
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
TOKEN_INVALID = {
    "detail": "Given token not valid for any token type",
    "code": "token_not_valid",
    "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid"}],
}
NO_PERMISSION = {"detail": "You do not have permission to perform this action."}


@dataclass
class Stack:
    base: str
    storage_port: int
    pair: dict[str, str]

    def call(self, path: str, authorization: str | None, method: str = "GET") -> tuple[int, Any]:
        headers = {"Authorization": authorization} if authorization is not None else {}
        request = urllib.request.Request(self.base + path, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        return status, json.loads(raw) if raw else None

    def post(self, path: str, body: dict[str, str], authorization: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
        request = urllib.request.Request(self.base + path, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def resign(self, **changes: Any) -> str:
        """The stack's own access token with ``changes`` to its claims, signed with the stack's key."""
        store = boto3.client(
            "secretsmanager",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{self.storage_port}",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        keys = parse(store.get_secret_value(SecretId=SIGNING_SECRET)["SecretString"], "RS256")
        key = keys.signing_key(time.time())
        claims = {**jwt.decode(self.pair["access"], options={"verify_signature": False}), **changes}
        return jwt.encode(claims, key.signing_key, algorithm="RS256", headers={"kid": key.kid})


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, Stack]]:
    with (
        local_api(
            *(f"{k}={v}" for k, v in RS256.items()), port=PORTS["lambda"][0], storage_port=PORTS["lambda"][1]
        ) as lambda_base,
        local_api(
            *(f"{k}={v}" for k, v in JWT_MODE.items()), port=PORTS["jwt"][0], storage_port=PORTS["jwt"][1]
        ) as jwt_base,
    ):
        made = {}
        for mode, base in (("lambda", lambda_base), ("jwt", jwt_base)):
            stack = Stack(base, PORTS[mode][1], {})
            status, stack.pair = stack.post("/auth/token/", {"email": EMAIL, "password": PASSWORD})
            assert status == 200
            made[mode] = stack
        yield made


def other_key_token(stack: Stack) -> str:
    """The stack's access token, claims untouched, signed by a key the stack never published."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = jwt.get_unverified_header(stack.pair["access"])
    claims = jwt.decode(stack.pair["access"], options={"verify_signature": False})
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": header["kid"]})


CASES: dict[str, Any] = {
    "bad signature": lambda stack: f"Bearer {other_key_token(stack)}",
    "wrong iss": lambda stack: f"Bearer {stack.resign(iss='https://attacker.example.com')}",
    "wrong aud": lambda stack: f"Bearer {stack.resign(aud='another-service')}",
    "expired": lambda stack: f"Bearer {stack.resign(exp=int(time.time()) - 60)}",
    "a refresh token": lambda stack: f"Bearer {stack.pair['refresh']}",
    "not yet valid": lambda stack: f"Bearer {stack.resign(nbf=int(time.time()) + 600)}",
    "malformed header": lambda stack: "Bearer not.a-token",
}


def profile_of(stack: Stack) -> str:
    user_id = jwt.decode(stack.pair["access"], options={"verify_signature": False})["user_id"]
    return f"/api/v1/customers/{user_id}/"


@pytest.mark.parametrize("case", sorted(CASES))
def test_given_a_refused_token_when_the_profile_is_asked_then_both_modes_answer_401(
    stacks: dict[str, Stack], case: str
) -> None:
    answers = {mode: stack.call(profile_of(stack), CASES[case](stack)) for mode, stack in stacks.items()}
    assert answers["lambda"][0] == answers["jwt"][0] == 401
    assert answers["jwt"][1] == TOKEN_INVALID
    assert "functions.authorizer.app" not in function_workers(PORTS["jwt"][0])  # the gateway's own refusal


def test_given_no_token_when_the_profile_is_asked_then_both_modes_answer_401(stacks: dict[str, Stack]) -> None:
    answers = {mode: stack.call(profile_of(stack), None) for mode, stack in stacks.items()}
    assert answers["lambda"] == (401, NOT_PROVIDED)
    # API Gateway raises UNAUTHORIZED for a missing token and a refused one alike: one body.
    assert answers["jwt"] == (401, TOKEN_INVALID)


def test_given_a_customer_token_when_a_staff_route_is_asked_then_both_modes_refuse_it(
    stacks: dict[str, Stack],
) -> None:
    answers = {
        mode: stack.call("/api/v1/customers/", f"Bearer {stack.pair['access']}") for mode, stack in stacks.items()
    }
    assert answers["lambda"] == (403, NO_PERMISSION)  # the staff function's own refusal
    assert answers["jwt"] == (403, NO_PERMISSION)  # the missing scope: the gateway's ACCESS_DENIED, DRF's 403


def test_given_a_good_access_token_when_the_profile_is_asked_then_both_modes_serve_the_caller(
    stacks: dict[str, Stack],
) -> None:
    answers = {mode: stack.call(profile_of(stack), f"Bearer {stack.pair['access']}") for mode, stack in stacks.items()}
    assert answers["lambda"][0] == answers["jwt"][0] == 200
    assert answers["jwt"][1]["email"] == answers["lambda"][1]["email"] == EMAIL
    assert "functions.authorizer.app" not in function_workers(PORTS["jwt"][0])  # the caller came from the claims


MFA_ENROLMENT_REQUIRED = {
    "detail": (
        "Set up two-factor authentication (/auth/mfa/totp/activate/) or a passkey "
        "(/auth/passkeys/registration/) before using this account."
    ),
    "code": "mfa_enrolment_required",
}


def test_given_an_mfa_enrolment_session_when_it_leaves_the_enrolment_routes_then_both_modes_refuse_it(
    stacks: dict[str, Stack],
) -> None:
    """A staff member without a second factor gets a session for the enrolment routes alone
    (RequireStaffMfa): the Lambda authorizer's policy confines it, in jwt mode the function does."""
    answers = {}
    for mode, stack in stacks.items():
        session = f"Bearer {stack.resign(scope='mfa_enrolment')}"
        answers[mode] = {
            path: stack.call(path, session) for path in ("/auth/user/", profile_of(stack), "/auth/mfa/status/")
        }
    for mode in answers:
        assert answers[mode]["/auth/user/"] == (401, MFA_ENROLMENT_REQUIRED), mode
        assert answers[mode][profile_of(stacks[mode])] == (401, MFA_ENROLMENT_REQUIRED), mode
        assert answers[mode]["/auth/mfa/status/"][0] == 200, mode  # an enrolment route serves it


def test_given_a_logged_out_token_in_jwt_mode_when_every_protected_route_is_asked_then_each_function_refuses_it(
    stacks: dict[str, Stack],
) -> None:
    """The JWT authorizer has no revocation check: a logged-out access token passes the gateway on
    every route until its exp, and no function serves it."""
    stack = stacks["jwt"]
    status, pair = stack.post("/auth/token/", {"email": EMAIL, "password": PASSWORD})
    assert status == 200
    assert stack.post("/auth/token/blacklist/", {"refresh": pair["refresh"]})[0] == 200
    user_id = jwt.decode(pair["access"], options={"verify_signature": False})["user_id"]
    model = gateway.load(overrides=JWT_MODE)
    answers = {}
    for route in model.routes:
        if route.public or route.method not in ("GET", "ANY"):
            continue
        path = route.path.replace("{id}", user_id).replace("{provider}", "google") + "/"
        # Each route with a method it serves (GET answers 405 on the POST- or DELETE-only ones).
        statuses = (stack.call(path, f"Bearer {pair['access']}", method)[0] for method in ("GET", "POST", "DELETE"))
        answers[route.path] = next(status for status in statuses if status != 405)
    # Staff routes: the gateway's scope check (403); every other route: its function reads the
    # session, except three that refuse an empty request first (the body checked, or no such provider).
    refused_first = {"/auth/password/change": 400, "/auth/passkeys/registration": 400, "/auth/social/{provider}": 404}
    staff = {route.path for route in model.routes if route.scopes}
    assert "/api/v1/customers" in staff
    assert "/api/v1/customers/{id}" not in staff
    assert answers == {path: 403 if path in staff else refused_first.get(path, 401) for path in answers}
    # The staff route's refusal is the gateway's (the missing scope), before any function.
    assert stack.call("/api/v1/customers/", f"Bearer {pair['access']}") == (403, NO_PERMISSION)
    assert stack.post("/auth/token/verify/", {"token": pair["access"]}) == (
        400,
        {"non_field_errors": ["Token is blacklisted"]},
    )


def function_workers(port: int) -> set[str]:
    """The modules of the function containers the server on ``port`` runs."""
    (server,) = (pid for pid, _, _ in live_processes() if f"--port {port} " in command_line(pid) + " ")
    lines = [command_line(pid) for pid in children(server)]
    return {line.split()[-1] for line in lines if "tools.lambda_worker" in line}


def test_given_jwt_mode_when_the_stack_runs_then_no_authorizer_function_runs(stacks: dict[str, Stack]) -> None:
    assert "functions.authorizer.app" in function_workers(PORTS["lambda"][0])
    running = function_workers(PORTS["jwt"][0])
    assert "functions.customer_profile.app" in running
    assert "functions.authorizer.app" not in running


def test_given_an_hmac_stack_or_a_backend_proxy_when_jwt_mode_is_asked_then_the_template_rules_refuse_it() -> None:
    with pytest.raises(ValueError, match="AuthorizerMode jwt needs Algorithm RS256 or ES256"):
        gateway.load(overrides={"AuthorizerMode": "jwt", "Algorithm": "HS256"})
    with pytest.raises(ValueError, match="AuthorizerMode jwt needs Algorithm RS256 or ES256"):
        gateway.load(overrides={"AuthorizerMode": "jwt", "Algorithm": "EdDSA"})  # not among API Gateway's
    with pytest.raises(ValueError, match="AuthorizerMode jwt cannot set the BackendUrl proxy's identity headers"):
        gateway.load(overrides={**JWT_MODE, "BackendUrl": "https://shop.example.com"})
    assert gateway.load(overrides=JWT_MODE).jwt_authorizer is not None


def test_given_jwt_mode_when_the_sam_template_is_deployed_then_cloudformation_refuses_it() -> None:
    """SAM cannot attach the methods to the JWT authorizer: deployed from template.yaml they would
    stay on the Lambda authorizer with jwt mode's gateway-response bodies, so its rule refuses it
    (make deploy-jwt deploys the compiled template, tests/integration/test_jwt_stack.py)."""
    with pytest.raises(ValueError, match="AuthorizerMode jwt deploys with make deploy-jwt"):
        gateway.check_rules({**JWT_MODE, "CustomDomainName": "auth.example.com"}, skip=frozenset())
    gateway.check_rules(JWT_MODE)  # the emulation skips the deployment's rules alone
    gateway.check_rules(RS256, skip=frozenset())  # the Lambda mode deploys
