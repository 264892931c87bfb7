"""The passkey routes' wire answers (docs/account-contract.md, "Passkeys"): statuses, bodies, methods, URLs.

The bodies follow DRF as the rest of the API does: field errors as ``{"field": [...]}``,
refusals as ``{"detail", "code"}`` with simplejwt's ``WWW-Authenticate`` on a 401, a sign-in's
answer exactly a password login's.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import EMAIL, PASSWORD, json_event
from tests.passkeys import ORIGIN, Passkeys

# path -> (the event it is sent with, its methods as Allow names them)
ROUTES = {
    "/auth/passkeys/": ("passkeys_list", "GET, HEAD, OPTIONS"),
    "/auth/passkeys/registration/options/": ("passkeys_registration_options", "POST, OPTIONS"),
    "/auth/passkeys/registration/": ("passkeys_registration_malformed", "POST, OPTIONS"),
    "/auth/passkeys/login/options/": ("passkeys_login_options", "POST, OPTIONS"),
    "/auth/passkeys/login/": ("passkeys_login_malformed", "POST, OPTIONS"),
    "/auth/passkeys/abc/": ("passkeys_delete_unknown", "DELETE, OPTIONS"),
}


def event_for(
    path: str, method: str, headers: dict[str, str] | None = None, sent_to: str | None = None
) -> dict[str, Any]:
    """The route's event, sent to ``sent_to`` (another URL the client typed) if given."""
    name = ROUTES[path][0]
    event = json_event(name, {}, method=method)
    path = sent_to or path
    event["path"] = path
    event["requestContext"]["path"] = f"/prod{path}"
    for header, value in (headers or {}).items():
        event["headers"][header] = value
    return event


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_passkey_route_answers_other_methods_with_drfs_405_and_allow(passkeys: Passkeys, path: str) -> None:
    allowed = ROUTES[path][1]
    method = "PUT"

    answer = passkeys.call("passkeys", event_for(path, method))

    assert (answer.status, answer.body) == (405, {"detail": f'Method "{method}" not allowed.'})
    assert answer.headers["allow"] == allowed


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_passkey_route_answers_the_cors_preflight_of_the_storefront(passkeys: Passkeys, path: str) -> None:
    answer = passkeys.call("passkeys", event_for(path, "OPTIONS", {"Origin": ORIGIN}))

    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert answer.headers["access-control-allow-methods"] == ROUTES[path][1]


@pytest.mark.parametrize("path", sorted(ROUTES))
def test_each_passkey_url_without_its_slash_is_a_308_to_the_slashed_url(passkeys: Passkeys, path: str) -> None:
    answer = passkeys.call("passkeys", event_for(path, "POST", sent_to=path.rstrip("/")))

    assert (answer.status, answer.headers["location"]) == (308, f"/prod{path}")


@pytest.mark.parametrize("path", ["/auth/passkeys/", "/auth/passkeys/registration/options/"])
def test_a_bearer_route_without_a_caller_is_simplejwts_not_authenticated(passkeys: Passkeys, path: str) -> None:
    event = event_for(path, "GET" if path == "/auth/passkeys/" else "POST")
    del event["requestContext"]["authorizer"]

    answer = passkeys.call("passkeys", event)

    assert (answer.status, answer.body) == (401, {"detail": "Authentication credentials were not provided."})
    assert answer.headers["www-authenticate"] == 'Bearer realm="api"'


def test_the_options_bodies_hold_the_public_key_options_and_nothing_else(passkeys: Passkeys) -> None:
    registration = passkeys.registration_options("1")
    sign_in = passkeys.login_options()

    assert (registration.status, list(registration.body)) == (200, ["publicKey"])
    assert list(registration.body["publicKey"]) == [
        "rp",
        "user",
        "challenge",
        "pubKeyCredParams",
        "timeout",
        "excludeCredentials",
        "authenticatorSelection",
        "attestation",
    ]
    assert (sign_in.status, list(sign_in.body)) == (200, ["publicKey"])
    assert list(sign_in.body["publicKey"]) == ["challenge", "timeout", "rpId", "allowCredentials", "userVerification"]


def test_a_registration_answers_201_with_the_passkeys_id_name_and_creation_time(passkeys: Passkeys) -> None:
    answer = passkeys.enrol("1", name="Phone")

    assert answer.status == 201
    assert list(answer.body) == ["id", "name", "created"]
    assert answer.body["created"].endswith("+00:00")


def test_a_passkey_sign_in_answers_exactly_as_a_password_login(passkeys: Passkeys, call: Any) -> None:
    passkeys.enrol()
    password = call("obtain_token", json_event("obtain_token_ok", {"email": EMAIL, "password": PASSWORD}))

    answer = passkeys.sign_in()

    assert (answer.status, list(answer.body)) == (password.status, list(password.body)) == (200, ["refresh", "access"])
    assert answer.headers["content-type"] == password.headers["content-type"]


def test_a_refused_sign_in_is_a_401_with_a_code_and_the_bearer_challenge(passkeys: Passkeys) -> None:
    passkeys.enrol()
    passkeys.delete("1", next(iter(passkeys.authenticator.credentials)))

    answer = passkeys.sign_in()

    assert (answer.status, answer.body) == (
        401,
        {"detail": "This passkey could not sign you in.", "code": "passkey_invalid"},
    )
    assert answer.headers["www-authenticate"] == 'Bearer realm="api"'


def test_deleting_an_unknown_passkey_is_drfs_404(passkeys: Passkeys) -> None:
    answer = passkeys.delete("1", "bm90LWEtcGFzc2tleQ")

    assert (answer.status, answer.body) == (404, {"detail": "Not found."})
