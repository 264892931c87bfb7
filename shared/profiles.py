"""GET /api/v1/customers/{id}/: the caller's own profile, as the Django API answers it.

The caller is whoever the authorizer allowed (``requestContext.authorizer.user_id``); a
function behind the authorizer never parses the token again. Reading the customer also
catches what a stateless authorizer cannot: a deleted or deactivated customer gets
simplejwt's "User not found" / "User is inactive" 401.
"""

from __future__ import annotations

from typing import Any

from shared.aws import unavailable_on_fault
from shared.customers import CustomerStore, public_id
from shared.errors import AuthenticationFailed, PermissionDenied
from shared.settings import Settings


class ProfileService:
    def __init__(self, settings: Settings, customers: CustomerStore) -> None:
        self._settings = settings
        self._customers = customers

    def own_profile(self, caller_id: str | None, requested_id: str) -> dict[str, Any]:
        if not caller_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        if requested_id != caller_id:
            raise PermissionDenied()
        with unavailable_on_fault(self._settings):
            customer = self._customers.get(caller_id)
        if customer is None:
            raise AuthenticationFailed("User not found", "user_not_found")
        if not customer.is_active:
            raise AuthenticationFailed("User is inactive", "user_inactive")
        return {
            "id": public_id(customer.customer_id),
            "email": customer.email,
            "is_active": customer.is_active,
            "last_login": _drf_datetime(customer.last_login),
            "date_joined": _drf_datetime(customer.date_joined),
        }


def _drf_datetime(value: str | None) -> str | None:
    """DRF renders UTC datetimes with a ``Z`` suffix."""
    if value is None:
        return None
    return value[:-6] + "Z" if value.endswith("+00:00") else value
