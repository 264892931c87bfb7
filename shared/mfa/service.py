"""``/auth/mfa/...``: dj-rest-auth's TOTP MFA endpoints, without the defects its capture lists.

docs/mfa-contract.md has the rows and every difference. In short:

- ``verify`` spends a stored challenge (shared/mfa/challenges.py) and a code in one
  transaction, then opens the session through the one opener (``WayIn.SECOND_FACTOR``).
  Every code is counted by the login guard on the account and the source IP before it is
  checked (a success gives the counts back), and a challenge dies after
  ``MFA_MAX_CODE_FAILURES`` wrong codes.
- enrolment and deactivation take the current password (and a code); each writes the
  authenticator, the ``mfa`` copy on the customer and a revocation of every earlier token in
  one transaction, and answers the caller a fresh pair (``WayIn.MFA_CHANGE``) as a password
  change does.
- secrets are sealed at rest (shared/mfa/sealing.py) and shown only by the enrolment's first
  step; recovery codes only when made (argon2id hashes at rest); every answer carrying either
  is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from shared.aws import unavailable_on_fault
from shared.customers.opening import SessionOpener, WayIn
from shared.customers.record import Customer, CustomerChanged, LoginRecord, drf_datetime, utc_now_iso
from shared.errors import AuthenticationFailed, InvalidCredentials, ValidationFailed
from shared.mfa import codes
from shared.mfa.challenges import Challenge, MfaChallenges
from shared.mfa.sealing import SealBroken, SecretBox
from shared.mfa.store import Authenticator, MfaStore
from shared.settings import Settings
from shared.table import cancelled_by_condition, error_code
from shared.web.forms import Field, parse_body, validate_fields

if TYPE_CHECKING:
    from shared.customers.login_guard import LoginGuard
    from shared.customers.passwords import PasswordHasher
    from shared.customers.store import CustomerStore
    from shared.tokens.authorizer import Caller
    from shared.tokens.sessions import SessionStore

logger = Logger(child=True)

INVALID_TOKEN = {"ephemeral_token": ["Invalid or expired token."]}
INVALID_CODE = {"code": ["Invalid code."]}
INVALID_ACTIVATION = {"activation_token": ["Invalid or expired activation token."]}
OTHER_CUSTOMERS_ACTIVATION = {"activation_token": ["Invalid activation token for this user."]}
WRONG_PASSWORD = {"password": ["Invalid password."]}
ALREADY_ENABLED = "MFA is already enabled. Deactivate it before activating again."
NOT_ENABLED = "MFA is not enabled."
DEACTIVATED = "TOTP has been deactivated."
NOT_PROVIDED = "Authentication credentials were not provided."


class NotEnabled(ValidationFailed):
    def __init__(self, detail: str) -> None:
        super().__init__({"detail": [detail]})

    def body(self) -> dict[str, Any]:
        return {"detail": self.errors["detail"][0]}


@dataclass(frozen=True)
class Proof:
    """A code that matched: the transaction item that spends it (TOTP step or recovery code)."""

    write: dict[str, Any]
    kind: str  # "totp" or "recovery_code", for the log


class MfaService:
    def __init__(
        self,
        settings: Settings,
        customers: CustomerStore,
        sessions: SessionStore,
        guard: LoginGuard,
        passwords: PasswordHasher,
        opener: SessionOpener,
        store: MfaStore,
        challenges: MfaChallenges,
        box: SecretBox,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._customers = customers
        self._sessions = sessions
        self._guard = guard
        self._passwords = passwords
        self._opener = opener
        self._store = store
        self._challenges = challenges
        self._box = box
        self._clock = clock
        self._password = Field("password", max_length=settings.MAX_PASSWORD_CHARS)
        self._code = Field("code", max_length=codes.MAX_CODE_LENGTH)

    # -- the login's second step -------------------------------------------------------------

    def verify(self, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, str]:
        """POST /auth/mfa/verify/: the challenge and a code -> the login's pair."""
        values = self._fields(raw_body, content_type, Field("ephemeral_token", max_length=128), self._code)
        with unavailable_on_fault(self._settings):
            challenge = self._challenges.find(values["ephemeral_token"])
            if challenge is None:
                raise ValidationFailed(INVALID_TOKEN)
            attempt = self._guard.read(challenge.email, source_ip)
            login = attempt.login
            if login is None or not challenge.proves(login):  # deleted, or the password changed since
                raise ValidationFailed(INVALID_TOKEN)
            if not self._opener.may_open(login):
                raise InvalidCredentials()  # the login's own answer; the code is not spent
            reservation = self._guard.reserve(attempt)  # LoginLocked (429) before any code is checked
            proof = self._proof(login.customer_id, values["code"])
            if proof is None:
                self._challenges.count_failure(challenge)
                logger.warning("mfa verify failed", extra={"customer_id": login.customer_id})
                raise ValidationFailed(INVALID_CODE)
            self._spend(challenge, proof)
            self._guard.release(reservation)
            logger.info("mfa verified", extra={"customer_id": login.customer_id, "factor": proof.kind})
            return self._opener.open(login, WayIn.SECOND_FACTOR).tokens

    def _spend(self, challenge: Challenge, proof: Proof) -> None:
        """The code and the challenge in one transaction: a replayed code or a spent challenge loses."""
        try:
            self._store.transact([proof.write, self._challenges.spend(challenge)])
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise
            if cancelled_by_condition(error, 1):
                raise ValidationFailed(INVALID_TOKEN) from None
            if cancelled_by_condition(error, 0):
                self._challenges.count_failure(challenge)
                raise ValidationFailed(INVALID_CODE) from None
            raise

    # -- status and enrolment ------------------------------------------------------------------

    def status(self, caller: Caller) -> dict[str, Any]:
        """GET /auth/mfa/status/."""
        with unavailable_on_fault(self._settings):
            customer = self._caller(caller)
            authenticator = self._store.get(customer.customer_id) if customer.mfa else None
        if authenticator is None:
            return {"mfa_enabled": False, "created_at": None, "last_used_at": None}
        return {
            "mfa_enabled": True,
            "created_at": drf_datetime(authenticator.created_at),
            "last_used_at": drf_datetime(authenticator.last_used_at),
            "recovery_codes_left": len(authenticator.recovery),
        }

    def begin(self, caller: Caller) -> dict[str, str]:
        """GET /auth/mfa/totp/activate/: a new secret, stored sealed under a one-time activation token."""
        with unavailable_on_fault(self._settings):
            customer = self._caller(caller)
            if customer.mfa:
                raise NotEnabled(ALREADY_ENABLED)
            secret = codes.new_secret()
            sealed = self._box.seal(secret, customer.customer_id)
            token = self._store.begin_setup(customer.customer_id, sealed, self._settings.MFA_CHALLENGE_LIFETIME)
        uri = codes.provisioning_uri(secret, customer.email, self._settings.MFA_TOTP_ISSUER)
        return {"secret": secret, "totp_url": uri, "qr_code_data_uri": qr_data_uri(uri), "activation_token": token}

    def confirm(self, caller: Caller, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, Any]:
        """POST /auth/mfa/totp/activate/: password + activation token + a code -> MFA on,
        every other session ended, the recovery codes (shown this once) and a fresh pair."""
        values = self._fields(
            raw_body, content_type, Field("activation_token", max_length=128), self._code, self._password
        )
        with unavailable_on_fault(self._settings):
            customer = self._caller(caller)
            if customer.mfa:
                raise NotEnabled(ALREADY_ENABLED)
            setup = self._store.find_setup(values["activation_token"])
            if setup is None:
                raise ValidationFailed(INVALID_ACTIVATION)
            if setup.customer_id != customer.customer_id:
                raise ValidationFailed(OTHER_CUSTOMERS_ACTIVATION)
            self._step_up(customer, values["password"], source_ip)
            secret = self._box.open(setup.sealed, customer.customer_id)
            step = codes.matching_step(secret, values["code"], self._clock())
            if step is None:
                raise ValidationFailed(INVALID_CODE)
            recovery = codes.new_recovery_codes()
            authenticator = Authenticator(
                customer_id=customer.customer_id,
                sealed=setup.sealed,
                digits=codes.DIGITS,
                period=codes.PERIOD,
                last_step=step,  # the confirming code is spent: it cannot log in again
                created_at=utc_now_iso(),
                last_used_at=None,
                recovery=self._hashed(recovery),
            )
            writes = self._store.enrolment_writes(setup, authenticator)
            pair = self._change(customer, on=True, writes=writes, refused=INVALID_ACTIVATION)
        logger.info("mfa activated", extra={"customer_id": customer.customer_id})
        return {"recovery_codes": recovery, **pair}

    def deactivate(self, caller: Caller, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, Any]:
        """POST /auth/mfa/totp/deactivate/: password + a TOTP or recovery code -> MFA off,
        every other session ended, a fresh pair."""
        with unavailable_on_fault(self._settings):
            customer = self._caller(caller)
            if not customer.mfa:
                raise NotEnabled(NOT_ENABLED)
            values = self._fields(raw_body, content_type, self._code, self._password)
            self._step_up(customer, values["password"], source_ip)
            proof = self._proof(customer.customer_id, values["code"])
            if proof is None:
                raise ValidationFailed(INVALID_CODE)
            writes = self._store.delete_writes(customer.customer_id, proof.write)
            pair = self._change(customer, on=False, writes=writes, refused=INVALID_CODE)
        logger.info("mfa deactivated", extra={"customer_id": customer.customer_id, "factor": proof.kind})
        return {"detail": DEACTIVATED, **pair}

    def recovery_codes(self, caller: Caller) -> dict[str, Any]:
        """POST /auth/mfa/recovery-codes/: codes are shown once, so only how many are left."""
        with unavailable_on_fault(self._settings):
            customer = self._caller(caller)
            authenticator = self._store.get(customer.customer_id) if customer.mfa else None
        return {"codes": [], "recovery_codes_left": 0 if authenticator is None else len(authenticator.recovery)}

    def regenerate(self, caller: Caller, raw_body: bytes, content_type: str | None, source_ip: str) -> dict[str, Any]:
        """POST /auth/mfa/recovery-codes/regenerate/: password -> ten new codes, every earlier one void."""
        with unavailable_on_fault(self._settings):
            customer = self._caller(caller)
            if not customer.mfa:
                raise NotEnabled(NOT_ENABLED)
            values = self._fields(raw_body, content_type, self._password)
            self._step_up(customer, values["password"], source_ip)
            recovery = codes.new_recovery_codes()
            try:
                self._store.replace_recovery_codes(customer.customer_id, self._hashed(recovery))
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    raise NotEnabled(NOT_ENABLED) from None
                raise
        logger.info("mfa recovery codes regenerated", extra={"customer_id": customer.customer_id})
        return {"codes": recovery}

    # -- shared steps --------------------------------------------------------------------------

    def _fields(self, raw_body: bytes, content_type: str | None, *fields: Field) -> dict[str, str]:
        return validate_fields(parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES), fields)

    def _caller(self, caller: Caller) -> Customer:
        """The caller's customer, refusing a logged-out or revoked session (as the account routes do)."""
        if not caller.user_id:
            raise AuthenticationFailed(NOT_PROVIDED)
        return self._sessions.customer_session(caller.user_id, caller.family).active_customer(caller.issued_at)

    def _step_up(self, customer: Customer, password: str, source_ip: str) -> None:
        """The current password, counted by the login guard as a login attempt is."""
        attempt = self._guard.read(customer.email, source_ip)
        reservation = self._guard.reserve(attempt)
        if not self._passwords.verify(password, customer.password_hash):
            raise ValidationFailed(WRONG_PASSWORD)
        self._guard.release(reservation)

    def _proof(self, customer_id: str, code: str) -> Proof | None:
        """The write that spends ``code`` if it is a right TOTP or unused recovery code, else None.

        A secret that does not open (its key gone from the ring) is logged and skipped: the
        recovery codes still work, and nothing answers a 500."""
        authenticator = self._store.get(customer_id)
        if authenticator is None:
            return None
        now_iso = utc_now_iso()
        try:
            secret = self._box.open(authenticator.sealed, customer_id)
        except SealBroken:
            logger.error("mfa secret does not open", extra={"customer_id": customer_id})
        else:
            step = codes.matching_step(secret, code, self._clock(), authenticator.digits, authenticator.period)
            if step is not None:
                if authenticator.last_step is not None and step <= authenticator.last_step:
                    return None  # replayed, or older than a code already used
                return Proof(self._store.use_step(customer_id, step, now_iso), "totp")
        candidate = codes.normalised_recovery_code(code)
        if candidate is None:
            return None
        for index, hashed in authenticator.recovery.items():
            if self._passwords.verify(candidate, hashed):
                return Proof(self._store.use_recovery_code(customer_id, index, hashed, now_iso), "recovery_code")
        return None

    def _hashed(self, recovery: list[str]) -> dict[str, str]:
        return {
            str(index): self._passwords.hash(codes.normalised_recovery_code(code) or "")
            for index, code in enumerate(recovery)
        }

    def _change(
        self, customer: Customer, *, on: bool, writes: list[dict[str, Any]], refused: dict[str, list[str]]
    ) -> dict[str, str]:
        """MFA on or off with every earlier token revoked, then the caller's fresh pair."""
        self._opener.check_can_sign()
        try:
            revoke_at = self._customers.set_mfa(customer, on, writes)
        except CustomerChanged:
            raise ValidationFailed(refused) from None
        subject: LoginRecord = replace(customer.login_record(), mfa=on, tokens_valid_after=revoke_at)
        return self._opener.open(subject, WayIn.MFA_CHANGE).tokens


def qr_data_uri(uri: str) -> str:
    """The ``otpauth://`` URI as an SVG QR code in a ``data:`` URI (segno: pure Python, no images)."""
    import segno

    return str(segno.make(uri, error="m").svg_data_uri(scale=4))
