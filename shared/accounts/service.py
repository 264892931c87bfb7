"""Customers who sign themselves up: dj-rest-auth's account endpoints, without its defects.

The links' items (``VERIFY#``, ``RESET#``) live in shared/accounts/links.py.
Keys and tokens are ``secrets.token_urlsafe(32)``, sent once by mail and stored only as
SHA-256 hashes; ``uid`` is a random 128-bit name of one reset link, not the customer's id.
Each is single use (spent by one conditional write) and expires
(``EMAIL_VERIFICATION_LIFETIME``, ``PASSWORD_RESET_LIFETIME``). Links point to
``STOREFRONT_URL``, never to the request's Host.

No enumeration, no squatting: registration, resend and reset do the same work for every
address in the request (validate, count against the limits, hash for a registration, put
one job on the mail queue) and answer the same body; the mailer finds out what the address
is and writes the mail that says so. A pending (unverified) address never blocks anyone:
every registration of it mails its own key carrying its own password hash, and a key
confirms the address only together with that password (verify-email takes both): opening a
squatter's mail installs nothing, and no registrant's password logs in before then
(shared/customers/login.py). A resend mails a link to choose the password (a reset link: it verifies
the address), never a key for the pending password, which may be a squatter's.

A key or reset link is spent in the same transaction as the customer's write: a throttled
write answers 503 and spends nothing; of two concurrent confirmations one wins.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from aws_lambda_powertools import Logger

from shared.accounts import mail
from shared.accounts.forms import collect, optional_names, require
from shared.accounts.links import LinkTokens, digest, password_fingerprint
from shared.accounts.password_policy import PasswordPolicy
from shared.accounts.rate_limit import MailCap, RateLimiter
from shared.aws import unavailable_on_fault
from shared.customers.emails import normalize_email
from shared.customers.opening import SessionOpener, WayIn
from shared.customers.passwords import PasswordHasher
from shared.customers.record import MAX_EMAIL_LENGTH, Customer, CustomerChanged, Registration
from shared.customers.store import CustomerStore
from shared.errors import AuthenticationFailed, NotFound, ValidationFailed
from shared.settings import Settings
from shared.web.forms import Field, parse_body

if TYPE_CHECKING:
    from shared.tokens.authorizer import Caller
    from shared.tokens.sessions import SessionStore

logger = Logger(child=True)

MAX_LINK_PART = 128  # longer uid/token/key values cannot be ours: refused before any read

VERIFICATION_SENT = {"detail": "Verification e-mail sent."}
OK = {"detail": "ok"}
RESET_SENT = {"detail": "Password reset e-mail has been sent."}
RESET_DONE = {"detail": "Password has been reset with the new password."}
PASSWORD_SAVED = "New password has been saved."
MISMATCH_REGISTRATION = "The two password fields didn't match."
MISMATCH = "The two password fields didn\u2019t match."
OLD_PASSWORD_WRONG = "Your old password was entered incorrectly. Please enter it again."
SAME_AS_OLD = "The new password must be different from the old password."
NOT_THE_LINKS_PASSWORD = "This is not the password this link was sent for."
INVALID_VALUE = ["Invalid value"]


class AccountService:
    """The HTTP side: every endpoint of /auth/registration/, /auth/password/ and /auth/user/."""

    def __init__(
        self,
        settings: Settings,
        customers: CustomerStore,
        sessions: SessionStore,
        links: LinkTokens,
        passwords: PasswordHasher,
        policy: PasswordPolicy,
        limiter: RateLimiter,
        queue: mail.MailQueue,
        opener: Callable[[], SessionOpener],
    ) -> None:
        self._settings = settings
        self._customers = customers
        self._sessions = sessions
        self._links = links
        self._passwords = passwords
        self._policy = policy
        self._limiter = limiter
        self._queue = queue
        self._opener = opener  # only the password change signs: the other functions never read the key
        self._password = settings.MAX_PASSWORD_CHARS

    def _data(self, raw_body: bytes, content_type: str | None) -> Any:
        return parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)

    def register(self, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, str]:
        """POST /auth/registration/: 201 and one job for every well-formed request."""
        data = self._data(raw_body, content_type)
        fields = (
            Field("email", MAX_EMAIL_LENGTH),
            Field("password1", self._password),
            Field("password2", self._password),
        )
        values, errors = collect(data, fields, emails=("email",))
        if "password1" in values:
            weak = self._policy.without_customer(values["password1"])
            if weak:
                errors["password1"] = weak
                del values["password1"]
        if errors:
            raise ValidationFailed(_in_order(errors, fields))
        email, password = normalize_email(values["email"]), values["password1"]
        if password != values["password2"]:
            raise ValidationFailed({"non_field_errors": [MISMATCH_REGISTRATION]})
        similar = self._policy.similarity(password, email=email)
        if similar:
            raise ValidationFailed({"non_field_errors": similar})
        with unavailable_on_fault(self._settings):
            self._limiter.hit("mail", email, source_ip)
            self._queue.put({"kind": "registration", "email": email, "password_hash": self._passwords.hash(password)})
        return VERIFICATION_SENT

    def resend_verification(self, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, str]:
        """POST /auth/registration/resend-email/: the same answer and work for any address."""
        self._queue_for_address("resend", raw_body, content_type, source_ip)
        return OK

    def request_reset(self, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, str]:
        """POST /auth/password/reset/: the same answer and work for any address."""
        self._queue_for_address("reset", raw_body, content_type, source_ip)
        return RESET_SENT

    def _queue_for_address(
        self, kind: Literal["resend", "reset"], raw_body: bytes, content_type: str | None, source_ip: str
    ) -> None:
        fields = (Field("email", MAX_EMAIL_LENGTH),)
        email = normalize_email(require(self._data(raw_body, content_type), fields, ("email",))["email"])
        with unavailable_on_fault(self._settings):
            self._limiter.hit("mail", email, source_ip)
            self._queue.put({"kind": kind, "email": email})

    def verify_email(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/registration/verify-email/: the key's registration becomes the account,
        only with that registration's password (a click alone never installs a password: the
        newest mail may be a squatter's). The key is spent in the account's transaction."""
        fields = (Field("key"), Field("password", self._password))
        values = require(self._data(raw_body, content_type), fields)
        key = values["key"]
        if len(key) > MAX_LINK_PART:
            raise NotFound()
        with unavailable_on_fault(self._settings):
            item = self._links.verification_key(key)
            customer = self._customers.get(item["customer_id"]["S"]) if item else None
            if item is None or customer is None or customer.email_verified or customer.email != item["email"]["S"]:
                raise NotFound()
            password_hash = item["password_hash"]["S"]
            if not self._passwords.verify(values["password"], password_hash):
                raise ValidationFailed({"password": [NOT_THE_LINKS_PASSWORD]})  # the key stays usable
            try:
                self._customers.confirm_email(customer, password_hash, self._links.spend_verification_key(key))
            except CustomerChanged:
                raise NotFound() from None  # spent by a concurrent confirmation, or the customer moved
        logger.info("address verified", extra={"customer_id": customer.customer_id})
        return OK

    def confirm_reset(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/password/reset/confirm/: a new password, every session ended, address verified."""
        fields = (
            Field("new_password1", self._password),
            Field("new_password2", self._password),
            Field("uid"),
            Field("token"),
        )
        values = require(self._data(raw_body, content_type), fields)
        uid, token = values["uid"], values["token"]
        with unavailable_on_fault(self._settings):
            link = self._links.reset_link(uid) if len(uid) <= MAX_LINK_PART else None
            if link is None:
                raise ValidationFailed({"uid": INVALID_VALUE})
            token_hash = digest(token)
            customer = self._customers.get(link["customer_id"]["S"])
            if (
                "used_at" in link
                or not hmac.compare_digest(token_hash, link["token_hash"]["S"])
                or customer is None
                or not customer.is_active
                or not hmac.compare_digest(password_fingerprint(customer), link["password_fingerprint"]["S"])
            ):
                raise ValidationFailed({"token": INVALID_VALUE})
            new_password = self._new_password(customer, values["new_password1"], values["new_password2"])
            # An unverified customer's password never logged in (a resend's link chooses it):
            # only a verified customer's can be "the old password".
            if customer.email_verified and self._passwords.verify(new_password, customer.password_hash):
                raise ValidationFailed({"new_password2": [SAME_AS_OLD]})
            try:
                self._customers.replace_password(
                    customer,
                    self._passwords.hash(new_password),
                    verify=True,
                    spend=self._links.spend_reset_link(uid, token_hash),
                )
            except CustomerChanged:  # the link spent by a concurrent reset, or the password moved
                raise ValidationFailed({"token": INVALID_VALUE}) from None
        logger.info("password reset", extra={"customer_id": customer.customer_id})
        return RESET_DONE

    def change_password(
        self, caller: Caller, raw_body: bytes, content_type: str | None, source_ip: str
    ) -> dict[str, str]:
        """POST /auth/password/change/: every earlier session ends; the caller gets a fresh pair."""
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        fields = (
            Field("old_password", self._password),
            Field("new_password1", self._password),
            Field("new_password2", self._password),
        )
        values = require(self._data(raw_body, content_type), fields)
        opener = self._opener()
        with unavailable_on_fault(self._settings):
            opener.check_can_sign()  # the pair is minted after the writes: nothing is written unless it can be
            # A logged-out or revoked session is refused before it counts against the customer's limit.
            customer = self._active_customer(caller)
            self._limiter.hit_customer("password", caller.user_id, source_ip)
            if not self._passwords.verify(values["old_password"], customer.password_hash):
                raise ValidationFailed({"old_password": [OLD_PASSWORD_WRONG]})
            new_password = self._new_password(customer, values["new_password1"], values["new_password2"])
            if new_password == values["old_password"]:
                raise ValidationFailed({"new_password2": [SAME_AS_OLD]})
            try:
                new_hash = self._passwords.hash(new_password)
                revoke_at = self._customers.replace_password(customer, new_hash, verify=False)
            except CustomerChanged:
                raise ValidationFailed({"old_password": [OLD_PASSWORD_WRONG]}) from None
            subject = replace(customer.login_record(), password_hash=new_hash, tokens_valid_after=revoke_at)
            pair = opener.open(subject, WayIn.PASSWORD_CHANGE).tokens
        logger.info("password changed", extra={"customer_id": customer.customer_id})
        return {"detail": PASSWORD_SAVED, **pair}

    def user(self, caller: Caller) -> dict[str, Any]:
        """GET /auth/user/."""
        with unavailable_on_fault(self._settings):
            return _user_body(self._active_customer(caller))

    def update_user(self, caller: Caller, raw_body: bytes, content_type: str | None) -> dict[str, Any]:
        """PUT / PATCH /auth/user/: first_name and last_name; anything else is ignored."""
        with unavailable_on_fault(self._settings):
            customer = self._active_customer(caller)
            names = optional_names(self._data(raw_body, content_type))
            if names:
                updated = self._customers.set_names(
                    customer.customer_id,
                    names.get("first_name", customer.first_name),
                    names.get("last_name", customer.last_name),
                )
                if updated is None:
                    raise AuthenticationFailed("User not found", "user_not_found")
                customer = updated
        return _user_body(customer)

    def _active_customer(self, caller: Caller) -> Customer:
        """The caller's customer and session, read anyway (one BatchGetItem), as the profile does:
        it refuses an access token of a logged-out family (logout, refresh-token reuse) and one
        issued before a revocation (a password change or reset elsewhere, logout everywhere)."""
        if not caller.user_id:
            raise AuthenticationFailed("Authentication credentials were not provided.")
        return self._sessions.customer_session(caller.user_id, caller.family).active_customer(caller.issued_at)

    def _new_password(self, customer: Customer, first: str, second: str) -> str:
        """Django's SetPasswordForm: mismatch first, then every validator, all on new_password2."""
        if first != second:
            raise ValidationFailed({"new_password2": [MISMATCH]})
        refused = self._policy.check(
            second, email=customer.email, first_name=customer.first_name, last_name=customer.last_name
        )
        if refused:
            raise ValidationFailed({"new_password2": refused})
        return second


class AccountMailer:
    """The mailer's side: what a job means for the address, and the one message it gets."""

    def __init__(
        self,
        settings: Settings,
        customers: CustomerStore,
        links: LinkTokens,
        sender: mail.Sender,
        cap: MailCap,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._customers = customers
        self._links = links
        self._sender = sender
        self._cap = cap
        self._clock = clock
        self._storefront = settings.STOREFRONT_URL.rstrip("/")

    def handle(self, job: mail.MailJob) -> str:
        """Do one job; returns what was sent (for the log and the tests), never the link."""
        if job["kind"] == "registration":
            return self._registration(job["email"], job["password_hash"])
        kind, email = job["kind"], job["email"]
        customer = self._customers.find_by_email(email)
        if kind == "resend" and customer is not None and customer.is_active and not customer.email_verified:
            # Not a key for the pending password: the last registration may be a squatter's,
            # and confirming it would hand them the account. The mailbox owner chooses one.
            return self._send(
                customer.email,
                lambda: mail.finish_signup(customer.email, self._reset_url(customer), self._reset_lifetime),
                "finish_signup",
            )
        if kind == "reset" and customer is not None and customer.is_active:
            return self._send(
                customer.email,
                lambda: mail.reset_password(customer.email, self._reset_url(customer), self._reset_lifetime),
                "reset_password",
            )
        return "nothing"

    def _registration(self, email: str, password_hash: str) -> str:
        # Awaiting a required confirmation, an unconfirmed registration lasts as long as its key.
        lifetime = self._settings.EMAIL_VERIFICATION_LIFETIME
        pending_until = int(self._clock()) + lifetime if self._settings.REQUIRE_EMAIL_VERIFICATION else None
        outcome, customer = self._customers.register(email, password_hash, pending_until)
        if outcome == Registration.TAKEN:
            return self._send(customer.email, lambda: self._already_registered(customer), "already_registered")
        return self._send(customer.email, lambda: self._confirmation(customer, password_hash), "confirm_address")

    def _already_registered(self, customer: Customer) -> mail.Mail:
        link = self._reset_url(customer) if customer.is_active else None
        return mail.already_registered(customer.email, link, self._reset_lifetime)

    def _confirmation(self, customer: Customer, password_hash: str) -> mail.Mail:
        lifetime = self._settings.EMAIL_VERIFICATION_LIFETIME
        key = self._links.new_verification_key(customer, password_hash, lifetime)
        link = f"{self._storefront}/verify-email?{urlencode({'key': key})}"
        return mail.confirm_address(customer.email, link, lifetime)

    def _send(self, to: str, compose: Callable[[], mail.Mail], what: str) -> str:
        """Send within the address's mail cap (shared/accounts/rate_limit.py): ``what``, or "capped" and
        nothing sent. The cap is taken before ``compose`` writes the mail's link, so a capped mail
        leaves no link item behind."""
        counted = self._cap.take(to)
        if counted is None:
            return "capped"
        try:
            self._sender.send(compose())
        except Exception:
            self._cap.give_back(counted)  # not sent: SQS retries the job, which counts it then
            raise
        return what

    @property
    def _reset_lifetime(self) -> int:
        return self._settings.PASSWORD_RESET_LIFETIME

    def _reset_url(self, customer: Customer) -> str:
        uid, token = self._links.new_reset_link(customer, self._reset_lifetime)
        return f"{self._storefront}/reset-password?{urlencode({'uid': uid, 'token': token})}"


def _user_body(customer: Customer) -> dict[str, Any]:
    """dj-rest-auth's UserDetailsSerializer: pk (an integer, as Django's), email, names."""
    pk: int | str = int(customer.customer_id) if customer.customer_id.isdigit() else customer.customer_id
    return {"pk": pk, "email": customer.email, "first_name": customer.first_name, "last_name": customer.last_name}


def _in_order(errors: dict[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    return {field.name: errors[field.name] for field in fields if field.name in errors}
