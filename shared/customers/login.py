"""POST /auth/token/ logic: credentials in, a simplejwt token pair out.

The service takes what the handler read off the request (raw body bytes and the content
type), so the handler stays one call deep and the logic is testable without events.
Dependency faults that survive the clients' retries become ServiceUnavailable
(503) before any token is minted: no token is ever issued on half-written state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from shared.aws import unavailable_on_fault
from shared.customers.login_guard import LoginGuard
from shared.customers.passwords import PasswordHasher, hash_kind, is_legacy
from shared.customers.record import MAX_EMAIL_LENGTH, LoginOutcome, utc_now_iso
from shared.customers.store import CustomerStore
from shared.errors import InvalidCredentials
from shared.settings import Settings
from shared.tokens.minting import TokenService
from shared.web.forms import Field, parse_body, validate_fields

logger = Logger(child=True)
MAX_REVOCATION_WAIT = 1.0  # seconds a login waits for a revocation's second to pass


@dataclass(frozen=True)
class LoginResult:
    customer_id: str
    tokens: dict[str, str]


class LoginService:
    def __init__(
        self,
        settings: Settings,
        customers: CustomerStore,
        guard: LoginGuard,
        passwords: PasswordHasher,
        tokens: TokenService,
        on_lockout: Callable[[], None] = lambda: None,
        now_iso: Callable[[], str] = utc_now_iso,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._customers = customers
        self._guard = guard
        self._on_lockout = on_lockout
        self._passwords = passwords
        self._tokens = tokens
        self._now_iso = now_iso
        self._clock = clock
        self._sleep = sleep
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
            # An unconfirmed address has no usable password yet (any registrant's may be the
            # pending one): refused as any other login, so no answer tells its state.
            awaiting_confirmation = (
                login is not None and not login.email_verified and self._settings.REQUIRE_EMAIL_VERIFICATION
            )
            if login is None or not verified or not login.is_active or awaiting_confirmation:
                checked = None if login is None else login.password_hash
                self._passwords.equalise_refusal(password, checked, attempt.legacy)
                if reservation.locked:  # this failure reached a limit: the lock stands
                    logger.warning("login lockout started", extra={"source_ip": source_ip})
                    self._on_lockout()
                raise InvalidCredentials()  # the reservation stays: it is the failure's count
            self._guard.release(reservation)
            _wait_out_revocation_second(login.tokens_valid_after, self._clock, self._sleep)
            # Mint first (needs the key), write second: a fault on either leaves no token out
            # and no last_login recorded for a login that never completed.
            tokens = self._tokens.issue_pair(login.customer_id)
            when = self._now_iso() if self._settings.UPDATE_LAST_LOGIN else None
            if self._passwords.needs_upgrade(login.password_hash):
                outcome = self._customers.upgrade_hash_and_record_login(login, self._passwords.hash(password), when)
                logger.info("password hash upgraded", extra={"customer_id": login.customer_id, "outcome": outcome})
                if outcome == LoginOutcome.RECORDED and is_legacy(login.password_hash):
                    self._customers.legacy_hashes.upgraded(str(hash_kind(login.password_hash)))
            elif when is not None:
                outcome = self._customers.record_login(login, when)
            else:
                outcome = LoginOutcome.RECORDED
            if outcome == LoginOutcome.STALE:
                raise InvalidCredentials()
            return LoginResult(login.customer_id, tokens)


def _wait_out_revocation_second(
    tokens_valid_after: float | None, clock: Callable[[], float], sleep: Callable[[float], None]
) -> None:
    """A token's ``iat`` is whole seconds: a login in the same second as a revocation would
    mint tokens that already count as revoked, so it waits for the next second.

    Never more than ``MAX_REVOCATION_WAIT``: authctl writes revocations on DynamoDB's clock,
    at most a second ahead. A value further ahead (a skewed writer) would otherwise hold
    every login of the customer up to the function's timeout; the login goes on after a
    second, its tokens refused until that moment passes (logged).
    """
    if tokens_valid_after is None:
        return
    wait = math.ceil(tokens_valid_after) - clock()
    if wait > MAX_REVOCATION_WAIT:
        logger.warning("tokens_valid_after is ahead of this clock", extra={"seconds_ahead": round(wait, 3)})
    if wait > 0:
        sleep(min(wait, MAX_REVOCATION_WAIT))
