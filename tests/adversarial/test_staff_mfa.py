"""Staff and RequireStaffMfa (on by default): the staff routes open only to a session of two factors."""

from __future__ import annotations

from shared import services
from tests.adversarial.stack import warm_stack
from tests.authenticator import SoftwareAuthenticator
from tests.helpers import PASSWORD
from tests.mfa_kit import code_at
from tests.passkeys import ORIGIN


def bearer(pair: dict[str, str]) -> str:
    return f"Bearer {pair['access']}"


def test_staff_with_mfa_required_reach_the_staff_routes_only_after_enrolling_and_the_second_step() -> None:
    """The default (RequireStaffMfa on): a password alone opens only the enrolment; after it, a
    password login asks for the code, and the code's session is staff's."""
    with warm_stack() as stack:
        staff = stack.new_customer()
        services.customer_store().set_roles(staff, True, False, (), revoke_at=0.0)
        restricted = bearer(stack.login(staff))
        refused = stack.request("GET", "/api/v1/customers/", authorization=restricted)
        assert (refused.status, refused.body["code"]) == (401, "mfa_enrolment_required")

        begun = stack.request("GET", "/auth/mfa/totp/activate/", authorization=restricted)
        secret = begun.body["secret"]
        body = {"activation_token": begun.body["activation_token"], "code": code_at(secret), "password": PASSWORD}
        enrolled = stack.request("POST", "/auth/mfa/totp/activate/", body, authorization=restricted)
        assert enrolled.status == 200, enrolled.body
        assert stack.request("GET", "/api/v1/customers/", authorization=bearer(enrolled.body)).status == 200

        login = {"email": staff.email, "password": PASSWORD}
        challenged = stack.post("obtain_token", login, source_ip=stack.source_ip())
        assert challenged.body["mfa_required"] is True
        step = {"ephemeral_token": challenged.body["ephemeral_token"], "code": code_at(secret, 1)}
        verified = stack.request("POST", "/auth/mfa/verify/", step)
        assert verified.status == 200, verified.body
        assert stack.request("GET", "/api/v1/customers/", authorization=bearer(verified.body)).status == 200


def test_staff_with_mfa_required_may_register_a_passkey_first_and_its_login_is_a_full_session() -> None:
    """A passkey is the other second factor: the restricted session reaches its registration
    (and nothing else), and the passkey's login, which verifies the user, opens the staff routes."""
    with warm_stack(ALLOWED_ORIGINS=ORIGIN) as stack:
        staff = stack.new_customer()
        services.customer_store().set_roles(staff, True, False, (), revoke_at=0.0)
        restricted = bearer(stack.login(staff))
        assert stack.request("GET", "/auth/passkeys/", authorization=restricted).status == 401

        options = stack.request("POST", "/auth/passkeys/registration/options/", {}, authorization=restricted)
        assert options.status == 200, options.body
        authenticator = SoftwareAuthenticator()
        credential = authenticator.create(options.body, ORIGIN)
        registered = stack.request(
            "POST", "/auth/passkeys/registration/", {"credential": credential}, authorization=restricted
        )
        assert registered.status == 201, registered.body
        assert stack.request("GET", "/api/v1/customers/", authorization=restricted).status == 401

        sign_in = stack.request("POST", "/auth/passkeys/login/options/", {})
        assertion = authenticator.get(sign_in.body, ORIGIN)
        signed_in = stack.request("POST", "/auth/passkeys/login/", {"credential": assertion})
        assert signed_in.status == 200, signed_in.body
        assert stack.request("GET", "/api/v1/customers/", authorization=bearer(signed_in.body)).status == 200
