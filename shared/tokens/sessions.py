"""Refresh, verify and logout (blacklist): the session side of the token endpoints.

Items, beside the customer items of shared/customers/store.py, TTL on ``expires_at``:

===================  ================================================  =======================
item                 attributes                                        written by
===================  ================================================  =======================
``JTI#<jti>``        family, customer_id, reason (rotated |            refresh (conditional put:
                     blacklisted), used_at, expires_at = token exp +   the one winner), logout
                     LEEWAY + margin
``FAMILY#<family>``  customer_id, revoked_at, expires_at = now +       reuse detection, logout
                     refresh lifetime + LEEWAY + margin (no
                     descendant outlives it)
===================  ================================================  =======================

No raw token is ever stored: only its ``jti`` and ``family`` claims. TTL deletion is lazy,
so ``expires_at`` is also checked in code. pyjwt accepts a token until ``exp + LEEWAY``, so
every record lives that long plus ``RECORD_MARGIN_SECONDS``: the margin covers the moment
between pyjwt's clock read and ours, and a refresh that read the family before its
revocation and mints a descendant a few seconds later (its ``exp`` a second or more after
the family record's ``now + lifetime``).

Requests: a refresh reads ``CUSTOMER#``, ``JTI#`` and ``FAMILY#`` in one consistent
BatchGetItem; with rotation and BLACKLIST_AFTER_ROTATION, one conditional PutItem of the
old ``JTI#`` decides the single winner among concurrent refreshes of the same token.
Presenting a retired refresh token again is reuse: the whole family is revoked (OAuth 2.0
Security BCP), and every concurrent loser counts as reuse too, as an attacker racing the
legitimate client would. Within ``REFRESH_REUSE_GRACE_SECONDS`` of its rotation (default 0:
never) the same token is a client's retry after a lost answer instead: it gets a new pair of
the same family, and the pair the first answer carried stays valid too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from shared.aws import unavailable_on_fault
from shared.customers.record import CUSTOMER_PREFIX, Customer, customer_from_item
from shared.errors import AccessTokenRevoked, AuthenticationFailed, NoActiveAccount, TokenError, ValidationFailed
from shared.settings import Settings
from shared.table import batch_get, condition_failed
from shared.tokens.minting import REFRESH, Roles, TokenService, ValidToken
from shared.web.forms import Field, parse_body, validate_fields

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JTI_PREFIX = "JTI#"
FAMILY_PREFIX = "FAMILY#"
BLACKLISTED = "Token is blacklisted"
# Why a JTI# item retired its token.
ROTATED = "rotated"
LOGGED_OUT = "blacklisted"
# Beyond exp + LEEWAY: the gap between pyjwt's clock read and ours, and a refresh (at most a
# function timeout, 20 s) that read the family before its revocation and mints after it.
RECORD_MARGIN_SECONDS = 60

logger = Logger(child=True)


@dataclass(frozen=True)
class Retirement:
    """A live ``JTI#`` item: why and when (epoch seconds) the token was retired."""

    reason: str
    used_at: float


@dataclass(frozen=True)
class SessionState:
    customer: Customer | None
    retirement: Retirement | None
    family_revoked: bool

    @property
    def jti_retired(self) -> bool:
        return self.retirement is not None


@dataclass(frozen=True)
class CustomerSession:
    """The customer behind an access token and whether the token's family is revoked."""

    customer: Customer | None
    family_revoked: bool

    def revoked(self, issued_at: int | None) -> bool:
        """Logged out (family), or issued before the customer's ``tokens_valid_after``."""
        return self.family_revoked or (self.customer is not None and self.customer.revoked(issued_at))

    def active_customer(self, issued_at: int | None) -> Customer:
        """The customer an access token issued at ``issued_at`` may act as, refused as simplejwt's
        ``JWTAuthentication`` refuses (gone, inactive) or as revoked (logged out, revoked)."""
        if self.customer is None:
            raise AuthenticationFailed("User not found", "user_not_found")
        if not self.customer.is_active:
            raise AuthenticationFailed("User is inactive", "user_inactive")
        if self.revoked(issued_at):
            raise AccessTokenRevoked()
        return self.customer


class SessionStore:
    def __init__(
        self, client: DynamoDBClient, table_name: str, leeway: int = 0, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock
        # How long past a token's exp its records must live: pyjwt accepts it until exp + LEEWAY.
        self._outlive = leeway + RECORD_MARGIN_SECONDS

    def now(self) -> float:
        return self._clock()

    def state(self, customer_id: str, jti: str, family: str) -> SessionState:
        """The customer, the token's ``JTI#`` and its ``FAMILY#``, in one consistent read."""
        keys = {CUSTOMER_PREFIX + customer_id, JTI_PREFIX + jti, FAMILY_PREFIX + family}
        found = batch_get(self._client, self._table, keys)
        now = self._clock()
        customer_item = found.get(CUSTOMER_PREFIX + customer_id)
        jti_item = found.get(JTI_PREFIX + jti)
        return SessionState(
            customer=customer_from_item(customer_item) if customer_item else None,
            retirement=_retirement(jti_item) if jti_item is not None and self._live(jti_item, now) else None,
            family_revoked=self._live(found.get(FAMILY_PREFIX + family), now),
        )

    def customer_session(self, customer_id: str, family: str | None) -> CustomerSession:
        """The customer and the ``FAMILY#`` (when known) in one consistent BatchGetItem."""
        keys = {CUSTOMER_PREFIX + customer_id} | ({FAMILY_PREFIX + family} if family else set())
        found = batch_get(self._client, self._table, keys)
        customer_item = found.get(CUSTOMER_PREFIX + customer_id)
        return CustomerSession(
            customer=customer_from_item(customer_item) if customer_item else None,
            family_revoked=family is not None and self._live(found.get(FAMILY_PREFIX + family), self._clock()),
        )

    def retire(self, token: ValidToken, reason: str) -> Retirement | None:
        """Mark the token used: None when this call did, else the retirement that won the race.

        The item carries a nonce of this call: when botocore retries a put whose first
        attempt was applied but answered late, the condition fails on our own item, and the
        nonce tells that apart from another request's win.
        """
        nonce = uuid.uuid4().hex
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": JTI_PREFIX + token.jti},
                    "family": {"S": token.family},
                    "customer_id": {"S": token.user_id or ""},
                    "reason": {"S": reason},
                    "writer": {"S": nonce},
                    "used_at": {"N": f"{now:.3f}"},
                    "expires_at": {"N": str(token.exp + self._outlive)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
            existing: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            if existing.get("writer", {}).get("S") == nonce:
                return None
            return _retirement(existing)
        return None

    def revoke_family(self, token: ValidToken, refresh_lifetime: int) -> None:
        """Revoke the family until its last possible descendant is refused by pyjwt itself."""
        now = int(self._clock())
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": FAMILY_PREFIX + token.family},
                "customer_id": {"S": token.user_id or ""},
                "revoked_at": {"N": str(now)},
                "expires_at": {"N": str(max(now + refresh_lifetime, token.exp) + self._outlive)},
            },
        )

    @staticmethod
    def _live(item: dict[str, Any] | None, now: float) -> bool:
        return item is not None and float(item.get("expires_at", {}).get("N", "inf")) > now


def _retirement(item: dict[str, Any]) -> Retirement:
    """An item without reason or time (none is written so) counts as retired long ago by logout."""
    return Retirement(
        reason=str(item.get("reason", {}).get("S", LOGGED_OUT)),
        used_at=float(item.get("used_at", {}).get("N", "0")),
    )


class SessionService:
    def __init__(
        self,
        settings: Settings,
        sessions: SessionStore,
        tokens: TokenService,
        on_reuse: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._tokens = tokens
        self._on_reuse = on_reuse  # the refresh function counts it: a theft signal on the dashboard

    def refresh(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/token/refresh/: simplejwt's TokenRefreshView, with rotation and reuse detection."""
        return self.refresh_token(self._field(raw_body, content_type, "refresh"))

    def refresh_token(self, presented: str) -> dict[str, str]:
        """A refresh however it came (JSON body or cookie): same validation, rotation, reuse rules."""
        settings = self._settings
        with unavailable_on_fault(settings):
            token, customer = self._live_refresh_token(presented)
            if not settings.ROTATE_REFRESH_TOKENS:
                roles = Roles.of(customer)
                return {
                    "access": self._tokens.issue_access(customer.customer_id, token.family, roles, token.restriction)
                }
            pair = self._tokens.issue_pair(customer.customer_id, token.family, Roles.of(customer), token.restriction)
            if settings.BLACKLIST_AFTER_ROTATION:
                earlier = self._sessions.retire(token, ROTATED)
                if earlier is not None and not self._retry_within_grace(earlier):
                    self._reuse_detected(token)
            return {"access": pair["access"], "refresh": pair["refresh"]}

    def blacklist(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/token/blacklist/ (logout): this refresh token and its whole family end."""
        return self.blacklist_token(self._field(raw_body, content_type, "refresh"))

    def blacklist_token(self, presented: str) -> dict[str, str]:
        """Logout with a refresh token however it came (JSON body or cookie)."""
        with unavailable_on_fault(self._settings):
            token = self._tokens.validate(presented, REFRESH)
            earlier = self._sessions.retire(token, LOGGED_OUT)
            # Always (again): a logout whose family write failed is finished by its retry.
            self._sessions.revoke_family(token, self._settings.REFRESH_TOKEN_LIFETIME)
            if earlier is not None:
                raise TokenError(BLACKLISTED)
        return {}

    def verify(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/token/verify/: simplejwt's TokenVerifyView, which also honours revocation."""
        presented = self._field(raw_body, content_type, "token")
        with unavailable_on_fault(self._settings):
            token = self._tokens.validate(presented, None)
            if token.user_id is not None:
                state = self._sessions.state(token.user_id, token.jti, token.family)
                customer_revoked = state.customer is not None and state.customer.revoked(token.iat)
                if state.jti_retired or state.family_revoked or customer_revoked:
                    raise ValidationFailed({"non_field_errors": [BLACKLISTED]})
        return {}

    def _live_refresh_token(self, presented: str) -> tuple[ValidToken, Customer]:
        token = self._tokens.validate(presented, REFRESH)
        if token.user_id is None:
            raise TokenError("Token contained no recognizable user identification")
        state = self._sessions.state(token.user_id, token.jti, token.family)
        reused = state.retirement is not None and not self._retry_within_grace(state.retirement)
        if reused and not state.family_revoked:
            self._reuse_detected(token)
        if state.family_revoked or reused:
            raise TokenError(BLACKLISTED)
        if state.customer is None:
            raise NoActiveAccount("no_active_account")
        if not state.customer.is_active:
            raise NoActiveAccount()
        if state.customer.revoked(token.iat):
            raise TokenError(BLACKLISTED)
        return token, state.customer

    def _retry_within_grace(self, retirement: Retirement) -> bool:
        """A rotated token presented again soon enough is a retry after a lost answer, not reuse."""
        grace = self._settings.REFRESH_REUSE_GRACE_SECONDS
        return grace > 0 and retirement.reason == ROTATED and self._sessions.now() - retirement.used_at <= grace

    def _reuse_detected(self, token: ValidToken) -> None:
        logger.warning("refresh token reuse: family revoked", extra={"customer_id": token.user_id})
        self._on_reuse()
        self._sessions.revoke_family(token, self._settings.REFRESH_TOKEN_LIFETIME)
        raise TokenError(BLACKLISTED)

    def _field(self, raw_body: bytes, content_type: str | None, name: str) -> str:
        data = parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)
        return validate_fields(data, (Field(name),))[name]
