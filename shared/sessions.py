"""Refresh, verify and logout (blacklist): the session side of the token endpoints.

Items, beside the customer items of shared/customers.py, TTL on ``expires_at``:

===================  ================================================  =======================
item                 attributes                                        written by
===================  ================================================  =======================
``JTI#<jti>``        family, customer_id, reason (rotated |            refresh (conditional put:
                     blacklisted), used_at, expires_at = token exp     the one winner), logout
``FAMILY#<family>``  customer_id, revoked_at, expires_at = now +       reuse detection, logout
                     refresh lifetime (no descendant outlives it)
===================  ================================================  =======================

No raw token is ever stored: only its ``jti`` and ``family`` claims. TTL deletion is lazy,
so ``expires_at`` is also checked in code.

Requests: a refresh reads ``CUSTOMER#``, ``JTI#`` and ``FAMILY#`` in one consistent
BatchGetItem; with rotation and BLACKLIST_AFTER_ROTATION, one conditional PutItem of the
old ``JTI#`` decides the single winner among concurrent refreshes of the same token.
Presenting a retired refresh token again is reuse: the whole family is revoked (OAuth 2.0
Security BCP), and every concurrent loser counts as reuse too, as an attacker racing the
legitimate client would.
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
from shared.customers import CUSTOMER_PREFIX, Customer, batch_get, customer_from_item
from shared.errors import NoActiveAccount, TokenError, ValidationFailed
from shared.forms import Field, parse_body, validate_fields
from shared.settings import Settings
from shared.tokens import REFRESH, TokenService, ValidToken

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JTI_PREFIX = "JTI#"
FAMILY_PREFIX = "FAMILY#"
BLACKLISTED = "Token is blacklisted"

logger = Logger(child=True)


@dataclass(frozen=True)
class SessionState:
    customer: Customer | None
    jti_retired: bool
    family_revoked: bool


class SessionStore:
    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def state(self, customer_id: str, jti: str, family: str) -> SessionState:
        """The customer, the token's ``JTI#`` and its ``FAMILY#``, in one consistent read."""
        keys = {CUSTOMER_PREFIX + customer_id, JTI_PREFIX + jti, FAMILY_PREFIX + family}
        found = batch_get(self._client, self._table, keys)
        now = self._clock()
        customer_item = found.get(CUSTOMER_PREFIX + customer_id)
        return SessionState(
            customer=customer_from_item(customer_item) if customer_item else None,
            jti_retired=self._live(found.get(JTI_PREFIX + jti), now),
            family_revoked=self._live(found.get(FAMILY_PREFIX + family), now),
        )

    def retire(self, token: ValidToken, reason: str) -> bool:
        """Mark the token used; False when it already was (the caller lost the race).

        The item carries a nonce of this call: when botocore retries a put whose first
        attempt was applied but answered late, the condition fails on our own item, and the
        nonce tells that apart from another request's win.
        """
        nonce = uuid.uuid4().hex
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": JTI_PREFIX + token.jti},
                    "family": {"S": token.family},
                    "customer_id": {"S": token.user_id or ""},
                    "reason": {"S": reason},
                    "writer": {"S": nonce},
                    "used_at": {"N": str(int(self._clock()))},
                    "expires_at": {"N": str(token.exp)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(self._clock()))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            existing: dict[str, Any] = error.response.get("Item") or {}  # type: ignore[assignment]
            return bool(existing.get("writer", {}).get("S") == nonce)
        return True

    def revoke_family(self, token: ValidToken, refresh_lifetime: int) -> None:
        now = int(self._clock())
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": FAMILY_PREFIX + token.family},
                "customer_id": {"S": token.user_id or ""},
                "revoked_at": {"N": str(now)},
                "expires_at": {"N": str(now + refresh_lifetime)},
            },
        )

    @staticmethod
    def _live(item: dict[str, Any] | None, now: float) -> bool:
        return item is not None and float(item.get("expires_at", {}).get("N", "inf")) > now


class SessionService:
    def __init__(self, settings: Settings, sessions: SessionStore, tokens: TokenService) -> None:
        self._settings = settings
        self._sessions = sessions
        self._tokens = tokens

    def refresh(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/token/refresh/: simplejwt's TokenRefreshView, with rotation and reuse detection."""
        return self.refresh_token(self._field(raw_body, content_type, "refresh"))

    def refresh_token(self, presented: str) -> dict[str, str]:
        """A refresh however it came (JSON body or cookie): same validation, rotation, reuse rules."""
        settings = self._settings
        with unavailable_on_fault(settings):
            token, customer = self._live_refresh_token(presented)
            if not settings.ROTATE_REFRESH_TOKENS:
                return {"access": self._tokens.issue_access(customer.customer_id)}
            pair = self._tokens.issue_pair(customer.customer_id, token.family)
            if settings.BLACKLIST_AFTER_ROTATION and not self._sessions.retire(token, "rotated"):
                self._reuse_detected(token)
            return {"access": pair["access"], "refresh": pair["refresh"]}

    def blacklist(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/token/blacklist/ (logout): this refresh token and its whole family end."""
        return self.blacklist_token(self._field(raw_body, content_type, "refresh"))

    def blacklist_token(self, presented: str) -> dict[str, str]:
        """Logout with a refresh token however it came (JSON body or cookie)."""
        with unavailable_on_fault(self._settings):
            token = self._tokens.validate(presented, REFRESH)
            first = self._sessions.retire(token, "blacklisted")
            # Always (again): a logout whose family write failed is finished by its retry.
            self._sessions.revoke_family(token, self._settings.REFRESH_TOKEN_LIFETIME)
            if not first:
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
        if state.jti_retired and not state.family_revoked:
            self._reuse_detected(token)
        if state.family_revoked or state.jti_retired:
            raise TokenError(BLACKLISTED)
        if state.customer is None:
            raise NoActiveAccount("no_active_account")
        if not state.customer.is_active:
            raise NoActiveAccount()
        if state.customer.revoked(token.iat):
            raise TokenError(BLACKLISTED)
        return token, state.customer

    def _reuse_detected(self, token: ValidToken) -> None:
        logger.warning("refresh token reuse: family revoked", extra={"customer_id": token.user_id})
        self._sessions.revoke_family(token, self._settings.REFRESH_TOKEN_LIFETIME)
        raise TokenError(BLACKLISTED)

    def _field(self, raw_body: bytes, content_type: str | None, name: str) -> str:
        data = parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)
        return validate_fields(data, (Field(name),))[name]
