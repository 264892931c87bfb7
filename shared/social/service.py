"""Sign in with Google or Apple, and the customer's linked providers.

``POST /auth/social/{google,apple}/`` checks the ID token (shared/social/identity.py), finds the
customer by the provider's subject (shared/social/links.py), and otherwise by the email, under
the rules that stop account pre-hijacking:

- a subject already linked signs in as its customer, whatever either email is now (a customer
  imported unconfirmed with their django-allauth link has the address confirmed when the
  provider verifies that same address);
- an unknown subject needs an email the provider says is verified; without one nothing is
  created or linked (400);
- no customer has that address: a new, verified customer with no usable password is created
  and linked;
- a customer with that address whose own address is verified is linked;
- a customer with that address who never confirmed it (a self-registration, perhaps an
  attacker's who guessed the victim would come by Google later) is taken over by the
  address's owner: its password is dropped (Django's unusable ``!`` form), its sessions
  revoked, its address verified, and then it is linked. The registrant's password, whoever
  chose it, never signs in again.

Every sign-in ends in ``SessionOpener.open`` (active, MFA, last_login, the pair): a deactivated
customer is refused there as at the password login. Requests are counted per source IP
(shared/accounts/rate_limit.py) before any token is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from shared.accounts.forms import is_valid_email
from shared.accounts.rate_limit import RateLimiter
from shared.aws import unavailable_on_fault
from shared.customers.emails import email_identity, normalize_email
from shared.customers.opening import LoginResult, SessionOpener, WayIn
from shared.customers.record import (
    MAX_EMAIL_LENGTH,
    Customer,
    CustomerChanged,
    DuplicateCustomer,
    unusable_password,
    utc_now_iso,
)
from shared.customers.store import CustomerStore
from shared.errors import AuthenticationFailed, InvalidCredentials, NotFound, ServiceUnavailable, ValidationFailed
from shared.settings import Settings
from shared.social.identity import Identity, IdTokenVerifier, Provider
from shared.social.links import CustomerLinks, LinkConflict, LinksChanged, SocialLinks
from shared.social.ways_in import leaves_a_way_in_after_unlinking
from shared.web.forms import Field, parse_body, validate_fields

if TYPE_CHECKING:
    from shared.tokens.authorizer import Caller
    from shared.tokens.sessions import SessionStore

logger = Logger(child=True)

# Google's and Apple's ID tokens are one to two kilobytes.
MAX_ID_TOKEN_CHARS = 8192
MAX_NONCE_CHARS = 512
RATE_SCOPE = "social"
WAYS_IN = {Provider.GOOGLE: WayIn.GOOGLE, Provider.APPLE: WayIn.APPLE}
NO_VERIFIED_EMAIL = (
    "The provider has not verified an email address for this account; sign in another way, "
    "or verify the address with the provider first."
)
ALREADY_LINKED = "This account is already linked to another account of this provider."
LAST_WAY_IN = "You cannot disconnect your last remaining way to sign in; set a password first."
ATTEMPTS = 3  # a create or a link lost to a concurrent sign-in of the same subject is read again


class SocialService:
    def __init__(
        self,
        settings: Settings,
        verifiers: dict[Provider, IdTokenVerifier],
        customers: CustomerStore,
        links: SocialLinks,
        sessions: SessionStore,
        limiter: RateLimiter,
        opener: Callable[[], SessionOpener],
        passkeys: Callable[[str], int],
        now_iso: Callable[[], str] = utc_now_iso,
    ) -> None:
        self._settings = settings
        self._verifiers = verifiers
        self._customers = customers
        self._links = links
        self._sessions = sessions
        self._limiter = limiter
        self._passkeys = passkeys  # how many a customer has (shared/passkeys/store.py)
        self._opener = opener
        self._now_iso = now_iso

    def sign_in(self, provider_name: str, raw_body: bytes, content_type: str | None, source_ip: str) -> LoginResult:
        """POST /auth/social/<provider>/: the login answer's pair for the provider's customer."""
        verifier = self._verifier(provider_name)
        fields = (Field("id_token", MAX_ID_TOKEN_CHARS),)
        data = parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)
        values = validate_fields(data, fields)
        nonce = None
        if verifier.provider == Provider.APPLE and isinstance(data, dict) and data.get("nonce") is not None:
            nonce = validate_fields(data, (Field("nonce", MAX_NONCE_CHARS),))["nonce"]
        opener = self._opener()
        with unavailable_on_fault(self._settings):
            self._limiter.hit_source(RATE_SCOPE, source_ip)
            opener.check_can_sign()  # nothing is created or linked unless a pair can be signed
            identity = verifier.verify(values["id_token"], nonce)
            customer = self._customer_for(identity)
            result = opener.open(customer.login_record(), WAYS_IN[identity.provider])
        logger.info("social sign-in", extra={"customer_id": customer.customer_id, "provider": str(identity.provider)})
        return result

    def linked(self, caller: Caller) -> list[dict[str, Any]]:
        """GET /auth/social/: the caller's linked providers."""
        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            return self._links.of_customer(customer.customer_id).body()

    def unlink(self, caller: Caller, provider_name: str) -> None:
        """DELETE /auth/social/<provider>/: unless it is the customer's last way in."""
        provider = _provider(provider_name)
        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            for _ in range(ATTEMPTS):
                links = self._links.of_customer(customer.customer_id)
                if provider not in links.links:
                    raise NotFound()
                if not self._may_unlink(customer, links):
                    raise ValidationFailed({"non_field_errors": [LAST_WAY_IN]})
                try:
                    self._links.unlink(links, provider)
                except LinksChanged:
                    continue  # another removal or link landed first: decide again on what is there now
                logger.info("provider unlinked", extra={"customer_id": customer.customer_id, "provider": provider})
                return
        raise ServiceUnavailable(self._settings.RETRY_AFTER_SECONDS)

    def _may_unlink(self, customer: Customer, links: CustomerLinks) -> bool:
        return leaves_a_way_in_after_unlinking(
            usable_passwords=1 if customer.has_usable_password else 0,
            linked_providers=len(links.links),
            passkeys=self._passkeys(customer.customer_id),
        )

    def _verifier(self, provider_name: str) -> IdTokenVerifier:
        """A provider with no client ids configured does not exist here: 404, before the body is read."""
        verifier = self._verifiers.get(_provider(provider_name))
        if verifier is None:
            raise NotFound()
        return verifier

    def _customer_for(self, identity: Identity) -> Customer:
        for _ in range(ATTEMPTS):
            customer_id = self._links.customer_of(identity.provider, identity.subject)
            if customer_id is not None:
                linked = self._customers.get(customer_id)
                if linked is None:  # deleted by an operator since: its link no longer signs anyone in
                    raise InvalidCredentials()
                if not linked.email_verified and _confirms(identity, linked):
                    linked = self._confirm_linked(linked)
                return linked
            try:
                return self._link_by_email(identity)
            except (DuplicateCustomer, CustomerChanged):
                continue  # a concurrent sign-in of this subject or address won: read what it wrote
        raise ServiceUnavailable(self._settings.RETRY_AFTER_SECONDS)

    def _link_by_email(self, identity: Identity) -> Customer:
        email = identity.email
        if not identity.email_verified or email is None or len(email) > MAX_EMAIL_LENGTH or not is_valid_email(email):
            raise ValidationFailed({"non_field_errors": [NO_VERIFIED_EMAIL]})
        customer = self._customers.find_by_email(email)
        if customer is None:
            customer = self._customers.create(normalize_email(email), unusable_password(), email_verified=True)
            logger.info("customer created by a provider", extra={"customer_id": customer.customer_id})
        elif not customer.is_active:
            raise InvalidCredentials()  # nothing is linked to a deactivated customer
        elif not customer.email_verified:
            self._take_over_unconfirmed(customer)
            customer = self._customers.get(customer.customer_id) or customer
        try:
            self._links.link(customer.customer_id, identity.provider, identity.subject, email, self._now_iso())
        except LinkConflict:
            owner = self._links.customer_of(identity.provider, identity.subject)
            if owner == customer.customer_id:
                return customer  # a concurrent sign-in of the same subject linked it
            if owner is None:  # the customer has another subject of this provider
                raise ValidationFailed({"non_field_errors": [ALREADY_LINKED]}) from None
            raise CustomerChanged() from None  # linked to another customer meanwhile: sign in as them
        logger.info("provider linked", extra={"customer_id": customer.customer_id, "provider": identity.provider})
        return customer

    def _confirm_linked(self, customer: Customer) -> Customer:
        """A customer imported unconfirmed with their provider link (django-allauth's): the provider
        vouches for the address, so it is confirmed; the password stays (it is the linked owner's)."""
        self._customers.replace_password(customer, customer.password_hash, verify=True)
        logger.info("address confirmed by a linked provider", extra={"customer_id": customer.customer_id})
        return self._customers.get(customer.customer_id) or customer

    def _take_over_unconfirmed(self, customer: Customer) -> None:
        """The address's owner arrived: the unconfirmed registration's password and sessions end."""
        self._customers.replace_password(customer, unusable_password(), verify=True)
        logger.warning("unconfirmed registration taken over by a provider", extra={"customer_id": customer.customer_id})

    def _active_customer(self, caller: Caller) -> Customer:
        """The caller's customer and session in one read, as /auth/user/ checks them."""
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        return self._sessions.customer_session(caller.user_id, caller.family).active_customer(caller.issued_at)


def _confirms(identity: Identity, customer: Customer) -> bool:
    """The provider says the customer's own address (in any case) is verified."""
    return (
        identity.email_verified
        and identity.email is not None
        and email_identity(identity.email) == email_identity(customer.email)
    )


def _provider(name: str) -> Provider:
    try:
        return Provider(name)
    except ValueError:
        raise NotFound() from None
