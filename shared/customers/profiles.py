"""GET /api/v1/customers/{id}/: the caller's own profile, as the Django API answers it, and
any customer's to staff (shared/staff/gate.py decides; the read is audited).

The caller is whoever the authorizer allowed (``requestContext.authorizer``, read by
``Caller.from_context``); a function behind the authorizer never parses the token again.
Reading the customer also catches what a stateless authorizer cannot: a deleted or
deactivated customer gets simplejwt's "User not found" / "User is inactive" 401, and a
token of a revoked session (issued before ``tokens_valid_after``, or of a logged-out
family, read in the same BatchGetItem) gets the authorizer's "Token is blacklisted" 401.
"""

from __future__ import annotations

from typing import Any

from shared.aws import unavailable_on_fault
from shared.customers.record import Customer, drf_datetime, public_id
from shared.customers.store import CustomerStore
from shared.errors import AuthenticationFailed, NotFound, PermissionDenied
from shared.settings import Settings
from shared.staff.gate import MAX_CUSTOMER_ID, StaffGate, audit
from shared.tokens.authorizer import Caller
from shared.tokens.sessions import SessionStore


def profile_body(customer: Customer) -> dict[str, Any]:
    """One customer as the route shows it: one serializer for the customer and for staff."""
    return {
        "id": public_id(customer.customer_id),
        "email": customer.email,
        "is_active": customer.is_active,
        "last_login": drf_datetime(customer.last_login),
        "date_joined": drf_datetime(customer.date_joined),
    }


class ProfileService:
    def __init__(self, settings: Settings, sessions: SessionStore, customers: CustomerStore, gate: StaffGate) -> None:
        self._settings = settings
        self._sessions = sessions
        self._customers = customers
        self._gate = gate

    def profile(self, caller: Caller, requested_id: str) -> dict[str, Any]:
        """The caller's own profile, or (staff only) another customer's.

        A token that claims no staff role asking for another id is refused as before, without
        a read; one that does is checked against the table first (shared/staff/gate.py).
        """
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        if requested_id != caller.user_id:
            if not caller.is_staff:
                raise PermissionDenied()
            return self._any_profile(caller, requested_id)
        with unavailable_on_fault(self._settings):
            session = self._sessions.customer_session(caller.user_id, caller.family)
        return profile_body(session.active_customer(caller.issued_at))

    def _any_profile(self, caller: Caller, requested_id: str) -> dict[str, Any]:
        actor = self._gate.staff(caller)
        if len(requested_id) > MAX_CUSTOMER_ID:
            raise NotFound()
        with unavailable_on_fault(self._settings):
            target = self._customers.get(requested_id)
        if target is None:
            raise NotFound()
        audit(actor, "read", target)
        return profile_body(target)
