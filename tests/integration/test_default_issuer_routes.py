"""Every route of an RS256 stack with the default ``Issuer``, through `make local`'s server: no 5xx.

The default issuer is the API's own URL, which a function only learns from the events that
invoke it (shared/tokens/oidc.py). The local server hands the functions ``ISSUER`` as CloudFormation
does, placeholder included, so a function that signs or verifies without binding its API
fails here as it would on AWS (a password change once answered 500 after saving the new
password). Each route is called the way a client succeeds with it; the test also checks that
it called every route the template declares.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.authenticator import SoftwareAuthenticator
from tests.helpers import EMAIL, PASSWORD
from tests.local_api import local_api
from tests.mailbox import OTHER_STRONG
from tests.mfa_kit import code_at
from tools import gateway

OVERRIDES = {"Algorithm": "RS256"}
DEFAULT_ISSUER = f"https://{gateway.API_ID}.execute-api.us-east-1.amazonaws.com/dev"
ORIGIN = "http://localhost:5173"  # an allowed origin: the preflights answer in full


@dataclass
class Client:
    base: str
    model: gateway.ApiModel
    called: set[gateway.Route] = field(default_factory=set)
    answers: list[tuple[str, str, int]] = field(default_factory=list)

    def __call__(self, method: str, path: str, body: Any = None, access: str | None = None) -> tuple[int, Any]:
        found = self.model.route_for(method, path)
        assert found is not None, f"{method} {path} is no route of the template"
        self.called.add(found[0])
        headers = {"Origin": ORIGIN}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if access is not None:
            headers["Authorization"] = f"Bearer {access}"
        if method == "OPTIONS":
            headers["Access-Control-Request-Method"] = "POST"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        self.answers.append((method, path, status))
        return status, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    overrides = [f"{name}={value}" for name, value in OVERRIDES.items()] + [f"AllowedOrigins={ORIGIN}"]
    with local_api(*overrides) as base:
        yield Client(base, gateway.load(overrides=OVERRIDES))


def test_given_rs256_and_the_default_issuer_when_every_route_is_called_then_none_answers_5xx(client: Client) -> None:
    for route in client.model.routes:
        if route.method == "OPTIONS":
            client("OPTIONS", route.path.replace("{id}", "1") + ("" if "well-known" in route.path else "/"))
    assert client("GET", "/.well-known/jwks.json")[0] == 200
    status, discovery = client("GET", "/.well-known/openid-configuration")
    assert (status, discovery["issuer"]) == (200, DEFAULT_ISSUER)

    status, login = client("POST", "/auth/token/", {"email": EMAIL, "password": PASSWORD})
    assert status == 200
    status, rotated = client("POST", "/auth/token/refresh/", {"refresh": login["refresh"]})
    assert status == 200
    assert client("POST", "/auth/token/verify/", {"token": rotated["access"]}) == (200, {})
    access = rotated["access"]
    assert client("GET", "/auth/user/", access=access)[0] == 200
    assert client("PUT", "/auth/user/", {"first_name": "Ada", "last_name": "L"}, access=access)[0] == 200
    assert client("PATCH", "/auth/user/", {"last_name": "Lovelace"}, access=access)[0] == 200
    assert client("GET", "/api/v1/customers/1/", access=access)[0] == 200
    assert client("GET", "/api/v1/customers/", access=access)[0] == 403  # staff only
    for action in ("deactivate", "activate", "revoke-sessions", "password-reset"):
        assert client("POST", f"/api/v1/customers/1/{action}/", access=access)[0] == 403

    password = {"password1": OTHER_STRONG, "password2": OTHER_STRONG}
    assert client("POST", "/auth/registration/", {"email": "new@example.com", **password})[0] == 201
    assert client("POST", "/auth/registration/verify-email/", {"key": "not-a-key", "password": OTHER_STRONG})[0] == 404
    assert client("POST", "/auth/registration/resend-email/", {"email": "new@example.com"})[0] == 200
    assert client("POST", "/auth/password/reset/", {"email": EMAIL})[0] == 200
    unknown_link = {"uid": "x", "token": "y", "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}
    assert client("POST", "/auth/password/reset/confirm/", unknown_link)[0] == 400

    authenticator = SoftwareAuthenticator()  # the relying party is StorefrontUrl's host: 127.0.0.1 here
    status, options = client("POST", "/auth/passkeys/registration/options/", {}, access=access)
    assert status == 200
    created = {"credential": authenticator.create(options, ORIGIN)}
    status, passkey = client("POST", "/auth/passkeys/registration/", created, access=access)
    assert status == 201, passkey
    assert client("GET", "/auth/passkeys/", access=access) == (200, [passkey])
    status, options = client("POST", "/auth/passkeys/login/options/", {})
    assert status == 200
    status, signed_in = client("POST", "/auth/passkeys/login/", {"credential": authenticator.get(options, ORIGIN)})
    assert (status, list(signed_in)) == (200, ["refresh", "access"])
    assert client("DELETE", f"/auth/passkeys/{passkey['id']}/", access=access) == (204, None)

    change = {"old_password": PASSWORD, "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}
    status, changed = client("POST", "/auth/password/change/", change, access=access)
    assert status == 200, changed
    assert client("GET", "/auth/user/", access=changed["access"])[0] == 200

    # Sign in with Google / Apple: no client ids configured, so the provider is off (404).
    assert client("POST", "/auth/social/google/", {"id_token": "x.y.z"})[0] == 404
    assert client("GET", "/auth/social/", access=changed["access"]) == (200, [])
    assert client("DELETE", "/auth/social/google/", access=changed["access"])[0] == 404

    # TOTP MFA: enrol, read, regenerate, a bad second step, turn it off (each change a fresh pair).
    assert client("GET", "/auth/mfa/status/", access=changed["access"])[0] == 200
    status, offer = client("GET", "/auth/mfa/totp/activate/", access=changed["access"])
    assert status == 200, offer
    enrol = {"activation_token": offer["activation_token"], "code": code_at(offer["secret"]), "password": OTHER_STRONG}
    status, enrolled = client("POST", "/auth/mfa/totp/activate/", enrol, access=changed["access"])
    assert status == 200, enrolled
    assert client("POST", "/auth/mfa/recovery-codes/", {}, access=enrolled["access"])[0] == 200
    regenerated = client(
        "POST", "/auth/mfa/recovery-codes/regenerate/", {"password": OTHER_STRONG}, access=enrolled["access"]
    )
    assert regenerated[0] == 200, regenerated
    assert client("POST", "/auth/mfa/verify/", {"ephemeral_token": "unknown", "code": "123456"})[0] in (400, 401)
    off = {"code": regenerated[1]["codes"][0], "password": OTHER_STRONG}
    status, deactivated = client("POST", "/auth/mfa/totp/deactivate/", off, access=enrolled["access"])
    assert status == 200, deactivated
    assert client("POST", "/auth/token/blacklist/", {"refresh": deactivated["refresh"]}) == (200, {})

    assert [answer for answer in client.answers if answer[2] >= 500] == []
    assert set(client.model.routes) - client.called == set(), "routes this test did not call"
