"""POST /auth/token/ logic: credentials in, a simplejwt token pair out.

The service takes what the handler read off the request (raw body bytes and the content
type), so the handler stays one call deep and the logic is testable without events.
Dependency faults that survive the clients' retries become ServiceUnavailable
(503) before any token is minted: no token is ever issued on half-written state.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger

from shared.aws import unavailable_on_fault
from shared.customers.login_guard import LoginGuard
from shared.customers.opening import LoginResult, SessionOpener, WayIn
from shared.customers.passwords import PasswordHasher, count_replaced
from shared.customers.record import MAX_EMAIL_LENGTH, LoginRecord
from shared.customers.store import CustomerStore
from shared.errors import InvalidCredentials, MfaRequired
from shared.settings import Settings
from shared.web.forms import Field, parse_body, validate_fields

logger = Logger(child=True)


class LoginService:
    def __init__(
        self,
        settings: Settings,
        customers: CustomerStore,
        guard: LoginGuard,
        passwords: PasswordHasher,
        opener: SessionOpener,
        on_lockout: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._customers = customers
        self._guard = guard
        self._on_lockout = on_lockout
        self._passwords = passwords
        self._opener = opener
        self._credential_fields = (
            # Django's email field: longer values cannot be a customer's, and a failure-counter
            # key built from one could exceed DynamoDB's 2,048-byte key limit (a 500).
            Field("email", max_length=MAX_EMAIL_LENGTH),
            Field("password", max_length=settings.MAX_PASSWORD_CHARS),
        )

    def obtain_pair(self, raw_body: bytes, content_type: str | None, source_ip: str) -> LoginResult:
        """POST /auth/token/: simplejwt's TokenObtainPairView, behind the login guard.

        Every refusal costs the same: one read, the attempt counted on the account and the
        IP, one argon2id verify plus, while imported hashes wait for their upgrade, one at
        the slowest imported kind's cost (dummies where there is no hash to check), the same body.
        The attempt is counted before any hashing, so concurrent attempts beyond the limit
        are refused (429) unhashed; a success gives the counts back.
        """
        data = parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)
        values = validate_fields(data, self._credential_fields)
        email, password = values["email"], values["password"]
        with unavailable_on_fault(self._settings):
            attempt = self._guard.read(email, source_ip)
            reservation = self._guard.reserve(attempt)  # LoginLocked before any hashing
            login = attempt.login
            verified = login is not None and self._passwords.verify(password, login.password_hash)
            # An inactive account, or an unconfirmed address (any registrant's password may be the
            # pending one), is refused as any other login, so no answer tells its state.
            if login is None or not verified or not self._opener.may_open(login):
                checked = None if login is None else login.password_hash
                self._passwords.equalise_refusal(password, checked, attempt.legacy)
                if reservation.locked:  # this failure reached a limit: the lock stands
                    logger.warning("login lockout started", extra={"source_ip": source_ip})
                    self._on_lockout()
                raise InvalidCredentials()  # the reservation stays: it is the failure's count
            self._guard.release(reservation)
            upgraded = self._passwords.hash(password) if self._passwords.needs_upgrade(login.password_hash) else None
            try:
                result = self._opener.open(login, WayIn.PASSWORD, upgraded_hash=upgraded)
            except MfaRequired:  # the challenge is bound to the new hash: the upgrade was written
                self._upgrade_written(login, upgraded)
                raise
            self._upgrade_written(login, upgraded)
            return result

    def _upgrade_written(self, login: LoginRecord, upgraded: str | None) -> None:
        if upgraded is None:
            return
        logger.info("password hash upgraded", extra={"customer_id": login.customer_id})
        count_replaced(self._customers.legacy_hashes, login.password_hash)
