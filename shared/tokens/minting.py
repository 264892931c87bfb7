"""The one token module: simplejwt-compatible access and refresh tokens through pyjwt.

A token minted here is what simplejwt 5.5 mints for the same settings, plus one claim:
header ``{"alg":"HS256","typ":"JWT"}``, payload keys ``token_type, exp, iat, jti,
user_id`` in that order, then ``family`` (below), then ``aud`` / ``iss`` when configured
(where simplejwt adds them, after any custom claim), integer epoch seconds,
``jti`` a uuid4 hex, ``user_id`` a string. Validation follows simplejwt's order and
messages: signature and algorithm (only the algorithm of the key its ``kid`` names), expiry, then ``exp``
present, ``jti`` present, ``token_type`` right.

Both tokens carry one claim simplejwt does not write, ``family``, after simplejwt's own
claims: the id of the login they descend from (rotation keeps it), so reuse of a retired
refresh token can revoke the whole family, and a logout (which revokes the family) reaches
the family's access tokens at verify and on routes that read the session. simplejwt ignores
unknown claims, so its tokens and these stay interchangeable.

A staff customer's tokens also carry their Django roles after ``family`` (``Roles``):
``is_staff``, ``is_superuser``, ``groups``, each only when set, so a plain customer's
tokens are byte for byte what they were; an asymmetric stack adds ``scope`` (space
separated ``staff``, ``superuser``) for API Gateway's native JWT authorizers elsewhere.
With an asymmetric algorithm, refresh tokens are addressed to the issuer instead of
``AUDIENCE`` (shared/tokens/oidc.py), so other services' verifiers refuse them.

This module imports pyjwt and nothing from AWS, so the authorizer stays light.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jwt

from shared.errors import TokenError
from shared.settings import HMAC_ALGORITHMS, Settings
from shared.tokens.keyset import Key, KeySet
from shared.tokens.oidc import Issuer

ACCESS = "access"
REFRESH = "refresh"
# RFC 7515 compact serialisation, base64url without padding: anything else (padding,
# whitespace, JSON serialisation, 5-part JWE) is refused before pyjwt sees it, so one
# signature has exactly one token string.
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
FAMILY_CLAIM = "family"
# A session that may only enrol a second factor (staff without MFA while RequireStaffMfa is on):
# the authorizer allows such an access token on the MFA enrolment routes alone, and a refresh
# passes the claim on, so the restriction lasts as long as the session.
SCOPE_CLAIM = "scope"
MFA_ENROLMENT_SCOPE = "mfa_enrolment"
# The ``scope`` words of the roles (an HTTP API's JWT authorizer can require them per route).
STAFF_SCOPE = "staff"
SUPERUSER_SCOPE = "superuser"
NO_SCOPE: frozenset[str] = frozenset()
# pyjwt's decoders with their options merged once (``jwt.decode_complete(options=...)`` merges
# them on every call): ``aud`` checked when the settings name an audience, else not checked.
AUDIENCE_CHECKED = jwt.PyJWT()
AUDIENCE_UNCHECKED = jwt.PyJWT(options={"verify_aud": False})


class RoleHolder(Protocol):
    """What carries Django's staff fields (shared.customers.record's Customer and LoginRecord)."""

    @property
    def is_staff(self) -> bool: ...

    @property
    def is_superuser(self) -> bool: ...

    @property
    def groups(self) -> tuple[str, ...]: ...


class Roles(NamedTuple):
    """Django's ``is_staff``, ``is_superuser`` and group names, as a token carries them.

    This module's records are ``NamedTuple``s: the authorizer imports it, and ``dataclasses``
    (with ``inspect``) would be a quarter of its cold start (bench/README.md §8).
    """

    is_staff: bool = False
    is_superuser: bool = False
    groups: tuple[str, ...] = ()

    def claims(self, scoped: bool, restriction: str | None = None) -> dict[str, Any]:
        """The claims, none for a plain customer; ``scoped`` adds ``scope`` (asymmetric stacks).

        A restricted session's ``scope`` is its restriction alone, on every stack: it must
        never satisfy a route's role requirement (a JWT authorizer's required scopes).
        """
        claims: dict[str, Any] = {}
        if self.is_staff:
            claims["is_staff"] = True
        if self.is_superuser:
            claims["is_superuser"] = True
        if self.groups:
            claims["groups"] = list(self.groups)
        scope = [word for word, held in ((STAFF_SCOPE, self.is_staff), (SUPERUSER_SCOPE, self.is_superuser)) if held]
        if restriction:
            claims[SCOPE_CLAIM] = restriction
        elif scoped and scope:
            claims[SCOPE_CLAIM] = " ".join(scope)
        return claims

    @classmethod
    def of(cls, holder: RoleHolder) -> Roles:
        """A customer's roles as its record has them (``Customer``, ``LoginRecord``)."""
        return cls(is_staff=holder.is_staff, is_superuser=holder.is_superuser, groups=tuple(holder.groups))

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Roles:
        """The roles a validated token claims (anything malformed claims none)."""
        groups, is_staff, is_superuser = payload.get("groups"), payload.get("is_staff"), payload.get("is_superuser")
        if groups is None and is_staff is None and is_superuser is None:
            return PLAIN  # a customer's token claims none: every such decision of the authorizer
        return cls(
            is_staff=is_staff is True,
            is_superuser=is_superuser is True,
            groups=tuple(name for name in groups if isinstance(name, str)) if isinstance(groups, list) else (),
        )


PLAIN = Roles()


class KeySource(Protocol):
    """shared.tokens.keys.CachedKeySet: the container's key set, refetched early for a new ``kid``."""

    def get(self) -> KeySet: ...

    def refetch_for_unknown_kid(self) -> KeySet: ...


class ValidToken(NamedTuple):
    """A token that passed every check; ``user_id`` is None when the claim is absent."""

    token_type: str
    exp: int
    iat: int | None
    jti: str
    user_id: str | None
    payload: dict[str, Any]

    @property
    def roles(self) -> Roles:
        return Roles.from_payload(self.payload)

    @property
    def family(self) -> str:
        """The login this token descends from; a token without the claim is its own root."""
        family = self.payload.get(FAMILY_CLAIM)
        return family if isinstance(family, str) and family else self.jti

    @property
    def scope(self) -> frozenset[str]:
        """The words of the ``scope`` claim (roles, or a restriction); none when absent."""
        scope = self.payload.get(SCOPE_CLAIM)
        return frozenset(scope.split()) if isinstance(scope, str) else NO_SCOPE

    @property
    def restriction(self) -> str | None:
        """The restriction the session carries (``MFA_ENROLMENT_SCOPE``); None: a full session."""
        return MFA_ENROLMENT_SCOPE if MFA_ENROLMENT_SCOPE in self.scope else None


class TokenService:
    """Mints and validates tokens with the container's signing key."""

    def __init__(
        self,
        settings: Settings,
        key: KeySource,
        clock: Callable[[], float] = time.time,
        issuer: Issuer | None = None,
    ) -> None:
        self._settings = settings
        self._key = key
        self._clock = clock
        self._issuer = issuer or Issuer(settings.ISSUER)
        self._lifetimes = {ACCESS: settings.ACCESS_TOKEN_LIFETIME, REFRESH: settings.REFRESH_TOKEN_LIFETIME}

    def issue_pair(
        self, user_id: str, family: str | None = None, roles: Roles = PLAIN, restriction: str | None = None
    ) -> dict[str, str]:
        """simplejwt's ``RefreshToken.for_user`` plus its ``access_token``, same instant.

        A new login starts a new family; a rotation passes the old token's family (and
        restriction) on. Both tokens carry the roles, as simplejwt's access token copies its
        refresh token's claims.
        """
        now = int(self._clock())
        family_claim = {FAMILY_CLAIM: family or unique_id(), **self._role_claims(roles, restriction)}
        return {
            "refresh": self._mint(REFRESH, user_id, now, family_claim),
            "access": self._mint(ACCESS, user_id, now, family_claim),
        }

    def check_can_sign(self) -> None:
        """Raise now what minting would raise (an issuer no event has named, no key that can
        sign): a caller that must write before it mints fails before its writes, not after."""
        _ = self._issuer.value
        self._key.get().signing_key(self._clock())

    def issue_access(self, user_id: str, family: str, roles: Roles = PLAIN, restriction: str | None = None) -> str:
        """An access token of the refresh token's family and restriction (refresh without rotation)."""
        extra = {FAMILY_CLAIM: family, **self._role_claims(roles, restriction)}
        return self._mint(ACCESS, user_id, int(self._clock()), extra)

    def _role_claims(self, roles: Roles, restriction: str | None) -> dict[str, Any]:
        return roles.claims(scoped=self._settings.ALGORITHM not in HMAC_ALGORITHMS, restriction=restriction)

    def validate(self, token: str, expected_type: str | None) -> ValidToken:
        """Decode and check ``token`` as simplejwt's Token class does, or raise TokenError.

        ``expected_type`` None is simplejwt's UntypedToken (the verify endpoint): any type.
        """
        settings = self._settings
        payload = self._decode(token, expected_type)
        if "exp" not in payload:
            raise TokenError("Token has no 'exp' claim")
        if settings.JTI_CLAIM not in payload:
            raise TokenError("Token has no id")
        token_type = payload.get(settings.TOKEN_TYPE_CLAIM)
        if expected_type is not None:
            if token_type is None:
                raise TokenError("Token has no type")
            if token_type != expected_type:
                raise TokenError("Token has wrong type")
        return ValidToken(  # by position, the fields' order: quicker than by keyword
            str(token_type),
            int(payload["exp"]),
            _int_or_none(payload.get("iat")),
            str(payload[settings.JTI_CLAIM]),
            _user_id(payload.get(settings.USER_ID_CLAIM)),
            payload,
        )

    def _decode(self, token: str, expected_type: str | None) -> dict[str, Any]:
        if not COMPACT_JWS.fullmatch(token):
            raise TokenError("Token is invalid")
        audience = self._expected_audience(expected_type)
        payload = self._decode_with_current_key(token, audience)
        if payload is not None:
            return payload
        key = self._verifying_key(token)
        try:
            return self._verified(token, key, audience)["payload"]  # type: ignore[no-any-return]
        except jwt.ExpiredSignatureError:
            raise TokenError("Token is expired") from None
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise TokenError("Token is invalid") from None

    def _decode_with_current_key(self, token: str, audience: str | list[str] | None) -> dict[str, Any] | None:
        """The common case in one parse of the token: valid, signed by the key signers use now, which its header names.

        Reading the header first to pick the key parses the token twice, a third of a warm
        authorizer decision. Anything else (another key, a bad or expired token) answers None
        and takes the full path, which picks the key the ``kid`` names and gives simplejwt's
        message: what is accepted and refused is the same either way.
        """
        keyset = self._key.get()
        current = keyset.active_key(self._clock())
        if current is None:
            return None
        try:
            complete = self._verified(token, current, audience)
        except (jwt.InvalidTokenError, ValueError, TypeError):
            return None
        kid = complete["header"].get("kid")
        if (kid is None or isinstance(kid, str)) and keyset.for_token(kid) is current:
            return complete["payload"]  # type: ignore[no-any-return]
        return None

    def _verified(self, token: str, key: Key, audience: str | list[str] | None) -> dict[str, Any]:
        decoder = AUDIENCE_UNCHECKED if audience is None else AUDIENCE_CHECKED
        return decoder.decode_complete(
            token,
            key.verifying_key,
            algorithms=[key.alg],
            audience=audience,
            issuer=self._issuer.value,
            leeway=self._settings.LEEWAY,
        )

    def _audience(self, token_type: str) -> str | None:
        """simplejwt's AUDIENCE, but an asymmetric stack's refresh tokens are addressed to the
        issuer: only this service accepts them, and verifiers elsewhere refuse them by ``aud``."""
        if token_type == REFRESH and self._settings.ALGORITHM not in HMAC_ALGORITHMS:
            issuer = self._issuer.value
            if issuer is not None:
                return issuer
        return self._settings.AUDIENCE

    def _expected_audience(self, expected_type: str | None) -> str | list[str] | None:
        """What ``aud`` must be; untyped validation (the verify endpoint) accepts either type's."""
        if expected_type is not None:
            return self._audience(expected_type)
        if self._settings.AUDIENCE is None:
            return None
        return list(dict.fromkeys(value for value in (self._audience(ACCESS), self._audience(REFRESH)) if value))

    def _verifying_key(self, token: str) -> Key:
        """The key the token's ``kid`` names (no ``kid``: the legacy key), only its algorithm."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except (jwt.InvalidTokenError, ValueError, TypeError):
            raise TokenError("Token is invalid") from None
        if kid is not None and not isinstance(kid, str):
            raise TokenError("Token is invalid")
        key = self._key.get().for_token(kid)
        if key is None and kid is not None:
            key = self._key.refetch_for_unknown_kid().for_token(kid)
        if key is None:
            raise TokenError("Token is invalid")
        return key

    def _mint(self, token_type: str, user_id: str, now: int, extra: dict[str, Any] | None = None) -> str:
        settings = self._settings
        payload: dict[str, Any] = {
            settings.TOKEN_TYPE_CLAIM: token_type,
            "exp": now + self._lifetimes[token_type],
            "iat": now,
            settings.JTI_CLAIM: unique_id(),
            settings.USER_ID_CLAIM: user_id,
            **(extra or {}),
        }
        audience = self._audience(token_type)
        if audience is not None:
            payload["aud"] = audience
        issuer = self._issuer.value
        if issuer is not None:
            payload["iss"] = issuer
        keyset = self._key.get()
        key = keyset.signing_key(now)
        return jwt.encode(payload, key.signing_key, algorithm=key.alg, headers=keyset.header_for(key))


def unique_id() -> str:
    """A new ``jti`` or family: a uuid4 hex, as simplejwt's. ``uuid`` is imported by the
    functions that mint (botocore loads it anyway), not by the authorizer, which never does."""
    from uuid import uuid4

    return uuid4().hex


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _user_id(value: object) -> str | None:
    """simplejwt >= 5.3 writes a string; older releases wrote Django's integer pk."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
