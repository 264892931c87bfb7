"""``IsAdminUser`` after JWTAuthentication, for every route that serves staff, and the audit line.

The authorizer allows every valid token (a Deny can only be the ``ACCESS_DENIED`` gateway
response's one status, simplejwt's 401) and passes the token's roles on; the route decides in
DRF's order: the caller read from the table first (gone, inactive, logged out or revoked:
simplejwt's 401, as JWTAuthentication's user lookup answers), then the permission (DRF's 403
unless the token claims staff AND the table still says staff). Roles changed by authctl
revoke the customer's tokens, so a demoted staff member's token is refused here even while
API Gateway still caches the authorizer's Allow.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from shared.aws import unavailable_on_fault
from shared.customers.record import Customer
from shared.errors import AuthenticationFailed, PermissionDenied
from shared.settings import Settings
from shared.tokens.authorizer import Caller
from shared.tokens.sessions import SessionStore

logger = Logger(child=True)
# Django's primary keys, and the ids tests give: anything longer names no customer.
MAX_CUSTOMER_ID = 64


class StaffGate:
    """``IsAdminUser`` after JWTAuthentication: the caller as the table has them, staff or refused."""

    def __init__(self, settings: Settings, sessions: SessionStore) -> None:
        self._settings = settings
        self._sessions = sessions

    def staff(self, caller: Caller) -> Customer:
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        with unavailable_on_fault(self._settings):
            session = self._sessions.customer_session(caller.user_id, caller.family)
        customer = session.active_customer(caller.issued_at)
        if not (caller.is_staff and customer.is_staff):
            raise PermissionDenied()
        return customer


def audit(actor: Customer, action: str, target: Customer) -> None:
    """Who did what to whom: ids only (no email, token or hash)."""
    logger.info(
        "staff action", extra={"actor_id": actor.customer_id, "action": action, "target_id": target.customer_id}
    )
