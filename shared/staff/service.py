"""What Django admin did for a shop's staff, as DRF views with ``IsAdminUser``.

shared/staff/gate.py decides who may (the caller read from the table, then staff or 403).
A staff member acts on any customer but a superuser, whom only a superuser may deactivate,
end the sessions of or send a reset to: staff cannot lock out the people who grant roles.
Each action logs one audit line: who (``actor_id``), what (``action``), whom
(``target_id``), never an email, a token or a hash.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from shared.accounts.mail import MailQueue
from shared.aws import unavailable_on_fault
from shared.customers.listing import CustomerListing
from shared.customers.profiles import profile_body
from shared.customers.record import Customer
from shared.customers.store import CustomerStore
from shared.errors import InvalidPage, NotFound, PermissionDenied
from shared.settings import Settings
from shared.staff.gate import MAX_CUSTOMER_ID, StaffGate, audit
from shared.tokens.authorizer import Caller

LAST_PAGE = "last"  # DRF's last_page_strings
RESET_SENT = {"detail": "Password reset e-mail has been sent."}
SESSIONS_ENDED = {"detail": "Every session of the customer has ended."}


class StaffService:
    def __init__(
        self,
        settings: Settings,
        gate: StaffGate,
        customers: CustomerStore,
        listing: CustomerListing,
        mail: MailQueue,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._gate = gate
        self._customers = customers
        self._listing = listing
        self._mail = mail
        self._clock = clock

    def customers(self, caller: Caller, query: Mapping[str, list[str]], url: str) -> dict[str, Any]:
        """``GET /api/v1/customers/``: DRF's page (``count``, ``next``, ``previous``, ``results``)."""
        self._gate.staff(caller)
        size = self._settings.STAFF_PAGE_SIZE
        requested = (query.get("page") or ["1"])[-1]  # QueryDict.get: the last value
        email = (query.get("email") or [""])[-1]
        with unavailable_on_fault(self._settings):
            if email:  # django-filter's exact match, in any case as authctl finds an email
                found = self._customers.find_by_email(email)
                count = 0 if found is None else 1
                number = page_number(requested, count, size)
                customers = [] if found is None else [found]
            else:
                ids = self._listing.newest_first()
                count = len(ids)
                number = page_number(requested, count, size)
                customers = self._listing.customers(ids[(number - 1) * size : number * size])
        pages = page_count(count, size)
        return {
            "count": count,
            "next": with_page(url, query, number + 1) if number < pages else None,
            "previous": with_page(url, query, number - 1) if number > 1 else None,
            "results": [profile_body(customer) for customer in customers],
        }

    def deactivate(self, caller: Caller, customer_id: str) -> dict[str, Any]:
        """Django admin's ``is_active = False``: no login, no refresh, every session revoked."""
        actor, target = self._acting_on(caller, customer_id)
        with unavailable_on_fault(self._settings):
            self._customers.set_active(target, False, revoke_at=self._revocation_time())
        audit(actor, "deactivate", target)
        return profile_body(self._refreshed(target))

    def activate(self, caller: Caller, customer_id: str) -> dict[str, Any]:
        actor, target = self._acting_on(caller, customer_id)
        with unavailable_on_fault(self._settings):
            self._customers.set_active(target, True)
        audit(actor, "activate", target)
        return profile_body(self._refreshed(target))

    def revoke_sessions(self, caller: Caller, customer_id: str) -> dict[str, str]:
        """Every token the customer holds stops working (their next login works)."""
        actor, target = self._acting_on(caller, customer_id)
        with unavailable_on_fault(self._settings):
            self._customers.revoke_sessions(target, revoke_at=self._revocation_time())
        audit(actor, "revoke_sessions", target)
        return SESSIONS_ENDED

    def send_password_reset(self, caller: Caller, customer_id: str) -> dict[str, str]:
        """The reset mail a customer asks for at ``/auth/password/reset/``, through the same queue
        and mailer (which sends it to an active customer only, within the address's cap)."""
        actor, target = self._acting_on(caller, customer_id)
        with unavailable_on_fault(self._settings):
            self._mail.put({"kind": "reset", "email": target.email})
        audit(actor, "send_password_reset", target)
        return RESET_SENT

    def _acting_on(self, caller: Caller, customer_id: str) -> tuple[Customer, Customer]:
        actor = self._gate.staff(caller)
        target = self._target(customer_id)
        if target.is_superuser and not actor.is_superuser:
            raise PermissionDenied()
        return actor, target

    def _target(self, customer_id: str) -> Customer:
        if not customer_id or len(customer_id) > MAX_CUSTOMER_ID:
            raise NotFound()
        with unavailable_on_fault(self._settings):
            target = self._customers.get(customer_id)
        if target is None:
            raise NotFound()
        return target

    def _refreshed(self, target: Customer) -> Customer:
        with unavailable_on_fault(self._settings):
            changed = self._customers.get(target.customer_id)
        if changed is None:
            raise NotFound()
        return changed

    def _revocation_time(self) -> float:
        """Whole seconds, rounded up (a token's ``iat`` is whole seconds): Lambda's clock is AWS's."""
        return float(math.ceil(self._clock()))


def page_count(count: int, size: int) -> int:
    """Django's Paginator.num_pages with an empty first page allowed: at least one."""
    return max(1, math.ceil(count / size))


def page_number(requested: str, count: int, size: int) -> int:
    """Django's Paginator.validate_number (``int()`` of the string), ``last`` as DRF reads it."""
    if requested == LAST_PAGE:
        return page_count(count, size)
    try:
        number = int(requested)
    except ValueError:
        raise InvalidPage() from None
    if number < 1 or number > page_count(count, size):
        raise InvalidPage()
    return number


def with_page(url: str, query: Mapping[str, list[str]], number: int) -> str:
    """DRF's replace_query_param (``remove_query_param`` for page 1): the query sorted by name."""
    params = {name: values for name, values in query.items() if name != "page"}
    if number > 1:
        params["page"] = [str(number)]
    encoded = urlencode(sorted(params.items()), doseq=True)
    return f"{url}?{encoded}" if encoded else url
