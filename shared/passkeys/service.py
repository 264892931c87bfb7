"""The passkey endpoints: registration (Bearer), usernameless sign-in, the customer's list.

The steps of each ceremony; the WebAuthn checks are in shared/passkeys/relying_party.py,
imported by the requests that verify or make options only (py_webauthn's import cost).

- The relying party is the storefront: rp id ``STOREFRONT_URL``'s host, origins
  ``ALLOWED_ORIGINS`` (an origin not listed is refused, as it is for cookies).
- Registration and the list act for the authorizer's caller, re-checked in the table (active
  customer, session not logged out or revoked), as ``/auth/user/`` does. Registration options
  are counted per customer (``PASSKEY_REGISTRATION_LIMIT`` per ``ACCOUNT_LIMIT_WINDOW``).
- A sign-in names no account: the credential names its owner, the customer who registered it.
  Its attempt is counted on the source IP by the login guard before any check, like a
  password's; a success gives it back. It ends in ``SessionOpener.open`` (the account rules,
  the pair, ``last_login``), as every way in does: the passkey's user verification counts as
  the second factor.
- Challenges are spent before the response is verified (shared/passkeys/challenges.py): a
  response that fails has still used its challenge.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from shared.aws import unavailable_on_fault
from shared.customers.opening import LoginResult, SessionOpener, WayIn
from shared.customers.record import utc_now_iso
from shared.errors import (
    PASSKEY_CHALLENGE_SPENT,
    AuthenticationFailed,
    InvalidCredentials,
    NotFound,
    PasskeyChallengeRefused,
    PasskeyRefused,
    ValidationFailed,
)
from shared.passkeys.challenges import Ceremony, ChallengeRefused, ChallengeStore
from shared.passkeys.store import Passkey, PasskeyStore, PasskeyTaken
from shared.settings import Settings
from shared.web.forms import Field, char_field, parse_body

if TYPE_CHECKING:
    from shared.accounts.rate_limit import RateLimiter
    from shared.customers.login_guard import LoginGuard
    from shared.customers.record import Customer
    from shared.customers.store import CustomerStore
    from shared.passkeys.relying_party import RelyingParty
    from shared.tokens.authorizer import Caller
    from shared.tokens.sessions import SessionStore

logger = Logger(child=True)

MAX_NAME_LENGTH = 64
DEFAULT_NAME = "Passkey"
MAX_PASSKEYS = 20  # per customer: the list is one item, and nobody needs more
NOT_A_CREDENTIAL = "Not a valid passkey response."
NOT_VERIFIED = "The passkey could not be verified."
CHALLENGE_SPENT = PASSKEY_CHALLENGE_SPENT
ALREADY_REGISTERED = "This passkey is already registered."
TOO_MANY = f"A customer may register at most {MAX_PASSKEYS} passkeys."


class PasskeyService:
    def __init__(
        self,
        settings: Settings,
        passkeys: PasskeyStore,
        challenges: ChallengeStore,
        sessions: SessionStore,
        customers: CustomerStore,
        limiter: RateLimiter,
        guard: LoginGuard,
        opener: SessionOpener,
        relying_party: Callable[[], RelyingParty],
        now_iso: Callable[[], str] = utc_now_iso,
    ) -> None:
        self._settings = settings
        self._passkeys = passkeys
        self._challenges = challenges
        self._sessions = sessions
        self._customers = customers
        self._limiter = limiter
        self._guard = guard
        self._opener = opener
        self._relying_party = relying_party  # imports py_webauthn on first use
        self._now_iso = now_iso

    def registration_options(self, caller: Caller, source_ip: str) -> dict[str, Any]:
        """POST /auth/passkeys/registration/options/: ``{"publicKey": <creation options>}``."""
        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            self._limiter.hit_customer("passkey", customer.customer_id, source_ip)
            own = self._passkeys.for_registration(customer.customer_id)
            if len(own.passkeys) >= MAX_PASSKEYS:
                raise ValidationFailed({"non_field_errors": [TOO_MANY]})
            challenge = self._challenges.issue(Ceremony.REGISTRATION, customer.customer_id, own.user_handle)
        display_name = f"{customer.first_name} {customer.last_name}".strip() or customer.email
        options = self._relying_party().creation_options(
            challenge, own.user_handle, customer.email, display_name, [p.credential_id for p in own.passkeys]
        )
        return {"publicKey": options}

    def register(self, caller: Caller, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/passkeys/registration/: ``{"credential", "name"?}`` -> 201 ``{"id", "name", "created"}``."""
        data = self._data(raw_body, content_type)
        credential = _credential(data)
        name = _name(data)
        from shared.passkeys.relying_party import ResponseRefused, parse_attestation

        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            try:
                attestation = parse_attestation(credential)
            except ResponseRefused as refused:
                logger.info("passkey registration refused", extra={"reason": str(refused)})
                raise ValidationFailed({"credential": [NOT_A_CREDENTIAL]}) from None
            try:
                spent = self._challenges.spend(attestation.challenge, Ceremony.REGISTRATION, customer.customer_id)
            except ChallengeRefused:
                raise ValidationFailed({"credential": [CHALLENGE_SPENT]}) from None
            try:
                new = self._relying_party().verify_registration(attestation)
            except ResponseRefused as refused:
                logger.info("passkey registration refused", extra={"reason": str(refused)})
                raise ValidationFailed({"credential": [NOT_VERIFIED]}) from None
            passkey = Passkey(
                credential_id=new.credential_id,
                customer_id=customer.customer_id,
                public_key=new.public_key,
                sign_count=new.sign_count,
                user_handle=spent.user_handle or b"",
                name=name,
                created=self._now_iso(),
            )
            try:
                self._passkeys.add(passkey)
            except PasskeyTaken:
                raise ValidationFailed({"credential": [ALREADY_REGISTERED]}) from None
        logger.info("passkey registered", extra={"customer_id": customer.customer_id})
        return passkey.summary.body()

    def login_options(self) -> dict[str, Any]:
        """POST /auth/passkeys/login/options/: ``{"publicKey": <request options>}``, no account named."""
        with unavailable_on_fault(self._settings):
            challenge = self._challenges.issue(Ceremony.LOGIN)
        return {"publicKey": self._relying_party().request_options(challenge)}

    def login(self, raw_body: bytes, content_type: str | None, source_ip: str) -> LoginResult:
        """POST /auth/passkeys/login/: ``{"credential"}`` -> the login answer of a password login.

        Malformed bodies are 400 before anything is counted; every later refusal is a failed
        login of the source (401), the lock's 429 included.
        """
        credential = _credential(self._data(raw_body, content_type))
        from shared.passkeys.relying_party import ResponseRefused, parse_assertion

        try:
            assertion = parse_assertion(credential)
        except ResponseRefused as refused:
            logger.info("passkey sign-in refused", extra={"reason": str(refused)})
            raise ValidationFailed({"credential": [NOT_A_CREDENTIAL]}) from None
        with unavailable_on_fault(self._settings):
            attempt = self._guard.reserve_source(source_ip)  # LoginLocked before any check
            try:
                self._challenges.spend(assertion.challenge, Ceremony.LOGIN)
            except ChallengeRefused:
                raise PasskeyChallengeRefused() from None
            passkey = self._passkeys.find(assertion.credential_id)
            if passkey is None or (assertion.user_handle is not None and assertion.user_handle != passkey.user_handle):
                # Unknown, deleted, or a response naming another customer as the credential's user.
                logger.info("passkey sign-in refused", extra={"reason": "unknown credential or user handle"})
                raise PasskeyRefused()
            try:
                sign_count = self._relying_party().verify_assertion(assertion, passkey.public_key, passkey.sign_count)
            except ResponseRefused as refused:
                logger.warning(
                    "passkey sign-in refused", extra={"reason": str(refused), "customer_id": passkey.customer_id}
                )
                raise PasskeyRefused() from None
            if not self._passkeys.record_use(passkey, sign_count, self._now_iso()):
                raise PasskeyRefused()  # deleted, or another sign-in moved its count, since the read
            customer = self._customers.get(passkey.customer_id)
            if customer is None:
                raise PasskeyRefused()
            subject = customer.login_record()
            if not self._opener.may_open(subject):
                raise InvalidCredentials()  # as a password login answers it; the failure stays counted
            self._guard.release_source(attempt)
            return self._opener.open(subject, WayIn.PASSKEY)

    def passkeys(self, caller: Caller) -> list[dict[str, str]]:
        """GET /auth/passkeys/: the caller's passkeys, oldest first."""
        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            return [summary.body() for summary in self._passkeys.passkeys_of(customer.customer_id)]

    def delete(self, caller: Caller, credential_id: str) -> None:
        """DELETE /auth/passkeys/{id}/: 204; another customer's passkey is as unknown as none (404)."""
        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            if not self._passkeys.remove(customer.customer_id, credential_id):
                raise NotFound()
        logger.info("passkey deleted", extra={"customer_id": customer.customer_id})

    def _active_customer(self, caller: Caller) -> Customer:
        """The caller's customer, refused as ``/auth/user/`` refuses it (gone, inactive, a
        logged-out or revoked session), whatever the authorizer's cache still allows."""
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        return self._sessions.customer_session(caller.user_id, caller.family).active_customer(caller.issued_at)

    def _data(self, raw_body: bytes, content_type: str | None) -> Any:
        return parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)


def _credential(data: Any) -> dict[str, Any]:
    """The body's ``credential``: a JSON object (``PublicKeyCredential.toJSON()``)."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
        )
    if "credential" not in data:
        raise ValidationFailed({"credential": ["This field is required."]})
    credential = data["credential"]
    if not isinstance(credential, dict):
        raise ValidationFailed(
            {"credential": [f'Expected a dictionary of items but got type "{type(credential).__name__}".']}
        )
    return credential


def _name(data: dict[str, Any]) -> str:
    """The optional ``name``, a CharField of at most 64 characters; absent or blank: "Passkey"."""
    if data.get("name") in (None, ""):
        return DEFAULT_NAME
    name, messages = char_field(data, Field("name", MAX_NAME_LENGTH))
    if messages == ["This field may not be blank."]:
        return DEFAULT_NAME
    if messages:
        raise ValidationFailed({"name": messages})
    return name
