"""Every file in events/ through its function's real handler, as `sam local invoke -e` would.

Events whose committed token would expire (``*_ok``, ``*_allow``) get a live one
minted with the same key; everything else runs exactly as committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import FakeLambdaContext
from tests.helpers import EVENTS, claims, load_event, mint

# event file -> (function, what the answer must be)
EXPECTED: dict[str, tuple[str, object]] = {
    "obtain_token_ok": ("obtain_token", 200),
    "obtain_token_bad_password": ("obtain_token", 401),
    "obtain_token_missing_field": ("obtain_token", 400),
    "refresh_token_ok": ("refresh_token", 200),
    "refresh_token_expired": ("refresh_token", 401),
    "refresh_token_missing_field": ("refresh_token", 400),
    "verify_token_ok": ("verify_token", 200),
    "verify_token_missing_field": ("verify_token", 400),
    "blacklist_token_ok": ("blacklist_token", 200),
    "blacklist_token_missing_field": ("blacklist_token", 400),
    "customer_profile_own": ("customer_profile", 200),
    "jwks": ("jwks", 200),
    "jwks_openid_configuration": ("jwks", 404),  # an HMAC stack is no OIDC issuer
    "customer_profile_other": ("customer_profile", 403),
    "customer_profile_preflight": ("customer_profile", 204),
    "staff_customers": ("staff", 403),  # customer "1" of the fixture is no staff
    "authorizer_allow": ("authorizer", "Allow"),
    "authorizer_deny_expired": ("authorizer", "Deny"),
    "authorizer_malformed_header": ("authorizer", "Deny"),
    "register_ok": ("register", 201),
    "register_passwords_differ": ("register", 400),
    "verify_email_unknown_key": ("verify_email", 404),
    "resend_email_ok": ("request_mail", 200),
    "password_reset_ok": ("request_mail", 200),
    "password_reset_confirm_bad_uid": ("reset_password", 400),
    "password_change_wrong_old": ("change_password", 400),
    "mfa_verify_missing_fields": ("mfa", 400),
    "mfa_status": ("mfa", 200),
    "current_user_get": ("current_user", 200),
    "current_user_patch": ("current_user", 200),
    "mailer_reset": ("mailer", "no failures"),
    "social_google_sign_in": ("social", 404),  # no GoogleClientIds: Sign in with Google is off
    "social_linked_get": ("social", 200),
    "social_unlink_google": ("social", 404),  # nothing linked
    "passkeys_registration_options": ("passkeys", 200),
    "passkeys_registration_malformed": ("passkeys", 400),
    "passkeys_list": ("passkeys", 200),
    "passkeys_delete_unknown": ("passkeys", 404),
    "passkeys_login_options": ("passkeys", 200),
    "passkeys_login_malformed": ("passkeys", 400),
}


def with_live_token(name: str, event: dict[str, Any]) -> dict[str, Any]:
    if name in ("refresh_token_ok", "blacklist_token_ok"):
        event["body"] = json.dumps({"refresh": mint(claims("refresh"))})
    elif name == "verify_token_ok":
        event["body"] = json.dumps({"token": mint(claims("refresh"))})
    elif name == "authorizer_allow":
        event["authorizationToken"] = f"Bearer {mint(claims('access'))}"
    return event


def test_every_event_file_has_an_expected_answer() -> None:
    assert {path.stem for path in EVENTS.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_file_gets_its_expected_answer(
    name: str,
    customer: Any,
    request: pytest.FixtureRequest,
    load_handler: Callable[[str], ModuleType],
    lambda_context: FakeLambdaContext,
) -> None:
    function, expected = EXPECTED[name]
    if function == "authorizer":
        request.getfixturevalue("secrets_extension")  # as deployed: its key through the extension
    handler = load_handler(function)

    answer = handler.lambda_handler(with_live_token(name, load_event(name)), lambda_context)

    if function == "authorizer":
        assert answer["policyDocument"]["Statement"][0]["Effect"] == expected
    elif function == "mailer":
        assert answer == {"batchItemFailures": []}
    else:
        assert answer["statusCode"] == expected, answer["body"]
        # JSON: an object, or a list (the linked providers, as dj-rest-auth lists social accounts)
        assert answer["body"].startswith(("{", "[")) or (expected, answer["body"]) == (204, "")
