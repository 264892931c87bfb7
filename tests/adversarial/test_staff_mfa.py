"""Staff and RequireStaffMfa (on by default): the staff routes open only to a session of two factors."""

from __future__ import annotations

from shared import services
from tests.adversarial.stack import warm_stack
from tests.helpers import PASSWORD
from tests.mfa_kit import code_at


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
