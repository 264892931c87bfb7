"""GET /api/v1/customers/{id}/: the caller's own profile, as the Django API answers it.

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
from shared.customers.record import drf_datetime, public_id
from shared.errors import AuthenticationFailed, PermissionDenied
from shared.settings import Settings
from shared.tokens.authorizer import Caller
from shared.tokens.sessions import SessionStore


class ProfileService:
    def __init__(self, settings: Settings, sessions: SessionStore) -> None:
        self._settings = settings
        self._sessions = sessions

    def own_profile(self, caller: Caller, requested_id: str) -> dict[str, Any]:
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        if requested_id != caller.user_id:
            raise PermissionDenied()
        with unavailable_on_fault(self._settings):
            session = self._sessions.customer_session(caller.user_id, caller.family)
        customer = session.active_customer(caller.issued_at)
        return {
            "id": public_id(customer.customer_id),
            "email": customer.email,
            "is_active": customer.is_active,
            "last_login": drf_datetime(customer.last_login),
            "date_joined": drf_datetime(customer.date_joined),
        }
