"""The one place every way in ends: account rules, a new refresh family, the pair, ``last_login``.

A password at ``/auth/token/``, a password change's fresh pair, and every way in still to
come (the MFA second step, a passkey, Google or Apple) prove *who* the caller is in their
own way, then call ``SessionOpener.open``. A rule added here holds for all of them; a way in
that mints tokens without it is a defect. The answer's transport (the body, or the cookie
of shared/web/browser.py) stays with the handler.

The MFA rules live here too, so a way in needs to know nothing about MFA:

- a customer with MFA on (the ``mfa`` copy on the item the way in read) who came in by a
  way that proves one factor (password, Google, Apple) gets no pair: ``open`` raises
  ``MfaRequired``, whose 200 answer carries a new challenge (shared/mfa/challenges.py), and
  ``POST /auth/mfa/verify/`` ends in ``open(subject, WayIn.SECOND_FACTOR)``. A passkey
  (user verification) counts as the second factor.
- a continuation of a session that already passed this rule (a password change, an MFA
  enrolment or deactivation: each revokes every other session, and the caller's access
  token is checked against that revocation) keeps going with a fresh pair, no second step.
- with ``REQUIRE_STAFF_MFA``, staff without MFA get a pair scoped to enrolling a second
  factor (shared/tokens/minting.py's ``scope``; the authorizer allows it on the enrolment
  routes alone), unless they came in with a passkey.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from aws_lambda_powertools import Logger

from shared.customers.record import LoginOutcome, LoginRecord, utc_now_iso
from shared.customers.store import CustomerStore
from shared.errors import InvalidCredentials, MfaRequired
from shared.settings import Settings
from shared.tokens.minting import MFA_ENROLMENT_SCOPE, Roles, TokenService

logger = Logger(child=True)
MAX_REVOCATION_WAIT = 1.0  # seconds a session waits for a revocation's second to pass


class WayIn(StrEnum):
    """How the caller proved who they are (logged with every session opened)."""

    PASSWORD = "password"
    PASSWORD_CHANGE = "password_change"
    # The ways in of issues 26 and 27, each added by its capability (named here once, so
    # that the rules below can name them while those capabilities land).
    SECOND_FACTOR = "second_factor"
    PASSKEY = "passkey"
    GOOGLE = "google"
    APPLE = "apple"
    # The fresh pair of an MFA enrolment or deactivation (shared/mfa/service.py).
    MFA_CHANGE = "mfa_change"


# Ways that prove a second factor themselves.
SECOND_FACTORS = frozenset({WayIn.SECOND_FACTOR, WayIn.PASSKEY})
# Ways that continue a session the caller already holds (checked against every revocation):
# they record no login, and ask for no second step.
CONTINUATIONS = frozenset({WayIn.PASSWORD_CHANGE, WayIn.MFA_CHANGE})


class ChallengeIssuer(Protocol):
    """shared.mfa.challenges.MfaChallenges: the second step's stored challenge."""

    def issue(self, subject: LoginRecord, way: str) -> str: ...


@dataclass(frozen=True)
class LoginResult:
    customer_id: str
    tokens: dict[str, str]


class SessionOpener:
    def __init__(
        self,
        settings: Settings,
        customers: CustomerStore,
        tokens: TokenService,
        challenges: ChallengeIssuer,
        now_iso: Callable[[], str] = utc_now_iso,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._settings = settings
        self._customers = customers
        self._tokens = tokens
        self._challenges = challenges
        self._now_iso = now_iso
        self._clock = clock
        self._sleep = sleep

    def check_can_sign(self) -> None:
        """Raise now if no pair could be signed, before a way in writes anything."""
        self._tokens.check_can_sign()

    def may_open(self, subject: LoginRecord) -> bool:
        """The account rules: active, and its address confirmed where confirmation is required.

        A way in that must equalise its refusals (the password's hash) asks first; ``open``
        asks again, so no way in can skip them.
        """
        awaiting_confirmation = not subject.email_verified and self._settings.REQUIRE_EMAIL_VERIFICATION
        return subject.is_active and not awaiting_confirmation

    def open(self, subject: LoginRecord, way: WayIn, upgraded_hash: str | None = None) -> LoginResult:
        """A new refresh family and its simplejwt pair for ``subject``, proven by ``way``.

        Mint first (needs the key), write second: a fault on either leaves no token out and
        no ``last_login`` for a session that never opened. The write is conditional on the
        hash and flag the way in read, so a password changed or an account deactivated since
        then refuses the session (generic 401). The pair carries the roles the way in read
        (shared/tokens/minting.py's ``Roles``); changing them revokes it. ``upgraded_hash`` replaces an outdated hash
        in the same write. A password change's pair records no login, as in Django.

        MfaRequired (after the account rules, so only a caller who proved the first factor
        learns that MFA is on) when the way in is one factor of a customer with MFA on.
        """
        if not self.may_open(subject):
            raise InvalidCredentials()
        if subject.mfa and way not in SECOND_FACTORS | CONTINUATIONS:
            raise MfaRequired(self._challenges.issue(self._upgraded(subject, upgraded_hash), str(way)))
        scope = MFA_ENROLMENT_SCOPE if self.enrolment_only(subject, way) else None
        wait_out_revocation_second(subject.tokens_valid_after, self._clock, self._sleep)
        tokens = self._tokens.issue_pair(subject.customer_id, roles=Roles.of(subject), restriction=scope)
        when = self._now_iso() if self._settings.UPDATE_LAST_LOGIN and way not in CONTINUATIONS else None
        if upgraded_hash is not None:
            outcome = self._customers.upgrade_hash_and_record_login(subject, upgraded_hash, when)
        elif when is not None:
            outcome = self._customers.record_login(subject, when)
        else:
            outcome = LoginOutcome.RECORDED
        if outcome == LoginOutcome.STALE:
            raise InvalidCredentials()
        logger.info(
            "session opened", extra={"customer_id": subject.customer_id, "way_in": str(way), "scope": scope or "full"}
        )
        return LoginResult(subject.customer_id, tokens)

    def enrolment_only(self, subject: LoginRecord, way: WayIn) -> bool:
        """Staff without MFA may only enrol one (RequireStaffMfa); a passkey is a second factor."""
        staff = subject.is_staff or subject.is_superuser
        return self._settings.REQUIRE_STAFF_MFA and staff and not subject.mfa and way != WayIn.PASSKEY

    def _upgraded(self, subject: LoginRecord, upgraded_hash: str | None) -> LoginRecord:
        """The challenge is bound to the password hash: an outdated one is upgraded first."""
        if upgraded_hash is None:
            return subject
        if self._customers.upgrade_hash_and_record_login(subject, upgraded_hash, None) == LoginOutcome.STALE:
            raise InvalidCredentials()
        return replace(subject, password_hash=upgraded_hash)


def wait_out_revocation_second(
    tokens_valid_after: float | None, clock: Callable[[], float], sleep: Callable[[float], None]
) -> None:
    """A token's ``iat`` is whole seconds: a session opened in the same second as a revocation
    would get tokens that already count as revoked, so it waits for the next second.

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
