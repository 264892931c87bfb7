"""The API Gateway TOKEN authorizer's decision, with simplejwt's JWTAuthentication answers.

``decide`` turns the ``Authorization`` header into an Allow (customer id as principal,
a flat context for the route's function) or a Deny that carries the exact JSON body
simplejwt would have answered. API Gateway cannot run logic in a gateway response, so
the Deny puts the whole body, already serialised, in ``context.body`` and the template's
``ACCESS_DENIED`` response renders ``$context.authorizer.body`` with status 401.

Stateless by default: only the token is checked. ``session_check`` (a setting) adds one
DynamoDB read per decision (the customer and the token's family in one BatchGetItem) to
refuse deleted and inactive customers, tokens issued before ``tokens_valid_after`` and
tokens of a logged-out family; shared/tokens/customer_status.py caches it for a few seconds per
container.

An Allow's context carries ``user_id``, ``jti``, ``token_type``, ``exp``, ``iat``,
``family`` and ``groups``: ``Caller.from_context`` reads it back in a route's function, so a
route that reads the customer can refuse a revoked session without parsing the token again.
``groups`` is the token's roles, comma separated (``staff``, ``superuser``, or ``customer``
for neither, then Django's group names): what the shop's backend gets as
``X-Auth-Request-Groups``. Never empty, so the gateway's mapping always has a value to put in
place of a client's copy of the header. The role words are reserved: a Django group of that
name, or any name with a comma, is left out, so no group can pass for a role.

The authorizer allows every valid token on every route and decides no permission: API
Gateway answers every Deny with the one status of the ``ACCESS_DENIED`` gateway response
(401, simplejwt's), and a missing permission is DRF's 403. The route's function decides it
from ``Caller.is_staff`` and checks it again in the table (shared/staff/).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from shared.errors import TokenError, not_valid_for_any_token_type
from shared.tokens.minting import ACCESS, MFA_ENROLMENT_SCOPE, STAFF_SCOPE, SUPERUSER_SCOPE, Roles, TokenService

AUTH_HEADER_TYPE = "Bearer"

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
BAD_HEADER = {
    "detail": "Authorization header must contain two space-delimited values",
    "code": "bad_authorization_header",
}
NO_USER_ID = {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}
USER_NOT_FOUND = {"detail": "User not found", "code": "user_not_found"}
USER_INACTIVE = {"detail": "User is inactive", "code": "user_inactive"}
# A session that may only enrol a second factor (shared/tokens/minting.py's scope) is allowed on
# these routes alone (resource paths of the stage, any method); every other route gets the
# ACCESS_DENIED gateway response with this body.
# A second factor is an authenticator app or a passkey (a passkey login satisfies MFA), so a
# restricted session may set up either; the passkey prefix covers its options and its answer.
MFA_ENROLMENT_ROUTES = ("/auth/mfa/status", "/auth/mfa/totp/activate", "/auth/passkeys/registration")
MFA_ENROLMENT_REQUIRED = {
    "detail": (
        "Set up two-factor authentication (/auth/mfa/totp/activate/) or a passkey "
        "(/auth/passkeys/registration/) before using this account."
    ),
    "code": "mfa_enrolment_required",
}

ContextValue = str | int | bool
GROUP_SEPARATOR = ","
CUSTOMER_WORD = "customer"  # neither staff nor superuser
ROLE_WORDS = (STAFF_SCOPE, SUPERUSER_SCOPE, CUSTOMER_WORD)
ROLE_SCOPES = frozenset((STAFF_SCOPE, SUPERUSER_SCOPE))  # the scope words of a full session


def group_list(roles: Roles) -> str:
    """The roles as the context's ``groups``: role words first (``customer`` when no role, so the
    list is never empty), then the groups that cannot pass for a role word."""
    if not (roles.is_staff or roles.is_superuser or roles.groups):
        return CUSTOMER_WORD  # a plain customer's token: most decisions, and the quickest answer
    words = [word for word, held in ((STAFF_SCOPE, roles.is_staff), (SUPERUSER_SCOPE, roles.is_superuser)) if held]
    named = [name for name in roles.groups if name and name not in ROLE_WORDS and GROUP_SEPARATOR not in name]
    return GROUP_SEPARATOR.join((words or [CUSTOMER_WORD]) + named)


class CustomerSnapshot(Protocol):
    """What the optional check knows of a customer (shared.customers.record.Customer)."""

    @property
    def is_active(self) -> bool: ...


class SessionSnapshot(Protocol):
    """What the optional check knows of a token's session (shared.tokens.sessions.CustomerSession)."""

    @property
    def customer(self) -> CustomerSnapshot | None: ...

    def revoked(self, issued_at: int | None) -> bool: ...


class Caller(NamedTuple):
    """Whom the authorizer allowed, as a route's function reads ``requestContext.authorizer``.

    API Gateway may hand numbers over as strings; a decision cached from before ``iat`` and
    ``family`` were in the context has neither (None: the route checks what it can).
    """

    user_id: str | None
    issued_at: int | None
    family: str | None
    groups: tuple[str, ...] = ()
    enrolment_only: bool = False  # an MFA-enrolment session: the enrolment routes alone serve it

    @property
    def is_staff(self) -> bool:
        """What the token claims; a staff route checks the table too."""
        return STAFF_SCOPE in self.groups

    @classmethod
    def from_context(cls, context: Mapping[str, object] | None) -> Caller:
        """The Lambda authorizer's flat context, or a JWT authorizer's ``claims`` (AuthorizerMode=jwt).

        A JWT authorizer cannot confine an MFA-enrolment session to the enrolment routes as the
        Lambda authorizer's policy does: such a caller claims no role and is ``enrolment_only``,
        which the route's function enforces (``shared.web.http.caller``).
        """
        context = context or {}
        claims = context.get("claims")
        if isinstance(claims, Mapping):
            scope = claims.get("scope")
            restricted = isinstance(scope, str) and MFA_ENROLMENT_SCOPE in scope.split()
            context = {
                "user_id": claims.get("user_id"),
                "iat": claims.get("iat"),
                "family": claims.get("family"),
                "groups": group_list(Roles() if restricted else Roles.from_payload(dict(claims))),
                "scope": MFA_ENROLMENT_SCOPE if restricted else "",
            }
        user_id, issued_at, family = context.get("user_id"), context.get("iat"), context.get("family")
        groups = context.get("groups")
        return cls(
            user_id=str(user_id) if user_id else None,
            issued_at=int(issued_at) if isinstance(issued_at, int | str) and str(issued_at).isdigit() else None,
            family=str(family) if family else None,
            groups=tuple(str(groups).split(GROUP_SEPARATOR)) if groups else (),
            enrolment_only=context.get("scope") == MFA_ENROLMENT_SCOPE,
        )

    def may_use(self, resource: str) -> bool:
        """Whether the route at API Gateway ``resource`` path serves this caller: the Lambda
        authorizer's policy answers the same (``*<route>*`` for an enrolment session)."""
        return not self.enrolment_only or any(route in resource for route in MFA_ENROLMENT_ROUTES)


class Decision(NamedTuple):
    """An Allow or a Deny (``NamedTuple``s here: no ``dataclasses`` in the authorizer's cold
    start, bench/README.md §8)."""

    allowed: bool
    principal_id: str
    context: dict[str, ContextValue]
    # Resource paths an Allow covers (each with any trailing part); empty: every route.
    only_routes: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return str(self.context.get("reason", ""))


def _deny(body: Mapping[str, object], reason: str) -> Decision:
    return Decision(False, "anonymous", {"body": json.dumps(body), "reason": reason})


def iam_policy(decision: Decision, method_arn: str) -> dict[str, Any]:
    """The TOKEN authorizer's answer: ``decision`` over every route of the stage in ``method_arn``.

    Exactly what Powertools' ``APIGatewayAuthorizerResponse`` answers after
    ``allow_all_routes()`` / ``deny_all_routes()``, written out here: importing that class runs
    the ``data_classes`` package's ``__init__``, which imports every event class (~16 ms CPU of
    the authorizer's cold start, bench/README.md). A malformed ARN raises, as there.
    """
    # Split no further than the parts read: the route's path may be long (and hold colons).
    arn = method_arn.split(":", 6)
    api_id, stage, _method, *_ = arn[5].split("/", 3)
    stage_arn = f"arn:aws:execute-api:{arn[3]}:{arn[4]}:{api_id}/{stage}"
    if decision.only_routes:
        routes = [f"{stage_arn}/*{route}*" for route in decision.only_routes]
    else:
        routes = [f"{stage_arn}/*/*"]
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow" if decision.allowed else "Deny",
        "Resource": routes,
    }
    policy: dict[str, Any] = {
        "principalId": decision.principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }
    if decision.context:
        policy["context"] = decision.context
    return policy


class RequestAuthorizer:
    def __init__(
        self, tokens: TokenService, session_check: Callable[[str, str], SessionSnapshot] | None = None
    ) -> None:
        self._tokens = tokens
        self._session_check = session_check

    def decide(self, authorization: str | None) -> Decision:
        """simplejwt's JWTAuthentication.authenticate, as an authorizer decision."""
        parts = (authorization or "").split()
        if not parts or parts[0] != AUTH_HEADER_TYPE:
            return _deny(NOT_PROVIDED, "not_provided")
        if len(parts) != 2:
            return _deny(BAD_HEADER, "bad_authorization_header")
        try:
            token = self._tokens.validate(parts[1], ACCESS)
        except TokenError as error:
            return _deny(not_valid_for_any_token_type(error.detail), "token_not_valid")
        if token.user_id is None:
            return _deny(NO_USER_ID, "no_user_id")
        if self._session_check is not None:
            session = self._session_check(token.user_id, token.family)
            if session.customer is None:
                return _deny(USER_NOT_FOUND, "user_not_found")
            if not session.customer.is_active:
                return _deny(USER_INACTIVE, "user_inactive")
            if session.revoked(token.iat):
                return _deny(not_valid_for_any_token_type("Token is blacklisted"), "revoked")
        scope = token.scope
        context: dict[str, ContextValue] = {
            "user_id": token.user_id,
            "jti": token.jti,
            "token_type": token.token_type,
            "exp": token.exp,
            "family": token.family,
            "groups": group_list(token.roles),
        }
        if token.iat is not None:
            context["iat"] = token.iat
        if MFA_ENROLMENT_SCOPE in scope:  # token.restriction, with the scope read once
            # Cached for every route like any Allow: the policy itself names the routes.
            context["scope"] = MFA_ENROLMENT_SCOPE
            context["body"] = json.dumps(MFA_ENROLMENT_REQUIRED)
            return Decision(True, token.user_id, context, only_routes=MFA_ENROLMENT_ROUTES)
        if scope and not scope <= ROLE_SCOPES:
            return _deny(not_valid_for_any_token_type("Token is invalid"), "unknown_scope")
        return Decision(True, token.user_id, context)
