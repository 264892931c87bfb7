"""The one settings model, read from the environment once per container.

Names mirror djangorestframework-simplejwt's ``SIMPLE_JWT`` keys where they apply, so a
shop moving off Django can carry its settings over one to one. Lifetimes are seconds.
Powertools reads its own ``POWERTOOLS_*`` variables (service name, metrics namespace, log
level); the authorizer, which writes its logs and metrics without Powertools
(``shared/telemetry.py``), reads the same three here. Nothing else in the project reads
``os.environ`` (this module's ``xray_trace_header`` also reads the runtime's per-request trace
header): the template sets these variables on AWS, ``make local`` sets them from the same
template, tests set them in fixtures.

A plain frozen class checked when built (types, ``Literal`` choices, ``Field`` bounds), neither
a pydantic model nor a dataclass: importing pydantic and building this model cost about twice
a bare ``import jwt`` on every cold start, and ``dataclasses`` (which imports ``inspect``)
a quarter of it, more than the authorizer's budget (bench/README.md, §8 and "Cold starts").
The annotations are evaluated when the class is made (no ``from __future__ import
annotations``), so building the settings reads them without ``get_type_hints``. Values convert
as pydantic's lax mode does: ``"300"`` is 300, ``"true"``/``"1"``/``"on"`` are True; anything
else stops the function at start.
"""

import operator
import os
import re
import types
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
# An origin as browsers send it: scheme, host and an optional port; no path, no trailing slash.
ORIGIN = re.compile(r"https?://[^/\s,*]+")
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "off"})
BOUND_CHECKS = {
    "ge": (">=", operator.ge),
    "gt": (">", operator.gt),
    "le": ("<=", operator.le),
    "lt": ("<", operator.lt),
}
# API Gateway's native JWT authorizers cache a JWKS key up to two hours; the JWKS route lets
# any other verifier cache the document this long (Cache-Control max-age).
JWT_AUTHORIZER_KEY_CACHE = 7200
JWKS_MAX_AGE = 300
# The rotation's four steps run back to back; the delay counts from the first, publication
# (for HMAC verifiers, reading the signing secret) happens at the last.
ROTATION_STEPS_ALLOWANCE = 60


class SettingsError(ValueError):
    """A setting of the wrong type or out of its bounds: the function stops at start."""


class SecretStr:
    """A value kept out of ``repr`` (and so out of logs): ``get_secret_value()`` reads it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def Field(
    default: Any,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    pattern: str | None = None,
    description: str = "",
) -> Any:
    """A setting with bounds or a pattern (the whole text must match), checked when the settings are built."""
    bounds = {name: limit for name, limit in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if limit is not None}
    return Checked(default, bounds, pattern, description)


class Checked:
    """A setting's default with the checks ``Field`` declared (the class attribute; an
    instance holds the checked value itself)."""

    __slots__ = ("bounds", "default", "description", "pattern")

    def __init__(self, default: Any, bounds: dict[str, float], pattern: str | None, description: str) -> None:
        self.default, self.bounds, self.pattern, self.description = default, bounds, pattern, description


class Settings:
    """Every knob of the service; unknown environment variables are ignored.

    ``Settings(NAME=value, ...)`` converts and checks every setting (the defaults too) and
    raises ``SettingsError`` naming each bad one; a name that is no setting is a ``TypeError``.
    """

    # Where things live.
    # Defaults are the names `make local` (the template at Stage=dev) uses.
    TABLE_NAME: str = "ecommerce-auth-dev-customers"
    # The key set this function reads: signers read the signing-key secret (private keys);
    # with an asymmetric ALGORITHM, verifiers read the verification secret (public keys only).
    SIGNING_KEY_SECRET_ID: str = "ecommerce-auth/dev/signing-key"
    SIGNING_KEY_MAX_AGE: int = Field(default=300, ge=0, description="seconds a fetched key set is trusted")
    # Where rotation publishes the verification document (public keys only); read by verifiers.
    VERIFICATION_KEY_SECRET_ID: str | None = None
    KEY_REFETCH_INTERVAL: float = Field(default=5.0, ge=0, description="min seconds between refetches for a new kid")
    # The extension's cache of the secret (its own variable, read here for the rotation's sums).
    SECRETS_MANAGER_TTL: int = Field(default=300, ge=0, le=300)
    # Rotation publishes a new key this long before any signer uses it (template parameter
    # KeyPublishAheadSeconds): at least key_activation_delay_floor, which the rotation checks.
    KEY_ACTIVATION_DELAY: int = Field(default=3 * 3600, ge=0)
    # "extension": read the key through the AWS Parameters and Secrets Lambda Extension over
    # localhost HTTP, so a function (the authorizer) needs no boto3 at all.
    SIGNING_KEY_SOURCE: Literal["secretsmanager", "extension"] = "secretsmanager"
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: int = Field(default=2773, gt=0, lt=65536)
    AWS_SESSION_TOKEN: SecretStr | None = None
    AWS_REGION: str = "us-east-1"

    # SIMPLE_JWT equivalents.
    ACCESS_TOKEN_LIFETIME: int = Field(default=3600, gt=0)
    REFRESH_TOKEN_LIFETIME: int = Field(default=3 * 24 * 3600, gt=0)
    UPDATE_LAST_LOGIN: bool = True
    ROTATE_REFRESH_TOKENS: bool = False
    # With rotation: retire the old refresh token, so it can be used once (reuse = theft).
    BLACKLIST_AFTER_ROTATION: bool = False
    # Seconds after its rotation within which the same refresh token is a client's retry (its
    # answer was lost) and gets a new pair instead of revoking the family; 0: strict.
    REFRESH_REUSE_GRACE_SECONDS: int = Field(default=0, ge=0, le=60)
    # The algorithm of keys made by rotation, and of the legacy plain-string key if HMAC.
    ALGORITHM: Literal["HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"] = "HS256"
    AUDIENCE: str | None = None
    ISSUER: str | None = None
    LEEWAY: int = Field(default=0, ge=0)
    USER_ID_CLAIM: str = "user_id"
    TOKEN_TYPE_CLAIM: str = "token_type"
    JTI_CLAIM: str = "jti"

    # Passwords: argon2id at OWASP's minimum (19 MiB, t=2, p=1) unless raised.
    ARGON2_TIME_COST: int = Field(default=2, ge=2)
    ARGON2_MEMORY_COST_KIB: int = Field(default=19 * 1024, ge=19 * 1024)
    ARGON2_PARALLELISM: int = Field(default=1, ge=1)

    # Login abuse protection (shared/customers/login_guard.py): failures per normalised email and per
    # source IP within a window; reaching a threshold locks for base * 2**n seconds, capped.
    LOGIN_MAX_FAILURES: int = Field(default=5, ge=1)
    LOGIN_IP_MAX_FAILURES: int = Field(default=20, ge=1)
    LOGIN_FAILURE_WINDOW: int = Field(default=900, gt=0)
    LOGIN_LOCKOUT_BASE: int = Field(default=30, gt=0)
    LOGIN_LOCKOUT_MAX: int = Field(default=900, gt=0)

    # Password policy (shared/accounts/password_policy.py): Django's four validators always; Have I Been
    # Pwned's k-anonymity range API only when switched on (off by default and locally).
    BREACHED_PASSWORD_CHECK: bool = False
    BREACHED_PASSWORD_TIMEOUT: float = Field(default=2.0, gt=0)

    # Customer accounts (shared/accounts/service.py): links point to the storefront, never to the Host.
    STOREFRONT_URL: str = "http://127.0.0.1:3000"
    REQUIRE_EMAIL_VERIFICATION: bool = True
    EMAIL_VERIFICATION_LIFETIME: int = Field(default=3 * 24 * 3600, gt=0)
    PASSWORD_RESET_LIFETIME: int = Field(default=3600, gt=0)
    # Mail-sending and password-checking account endpoints: requests per window, per address
    # from one source IP and per source IP, before DRF's throttled 429 (shared/accounts/rate_limit.py).
    ACCOUNT_ADDRESS_LIMIT: int = Field(default=5, ge=1)
    ACCOUNT_IP_LIMIT: int = Field(default=30, ge=1)
    ACCOUNT_LIMIT_WINDOW: int = Field(default=900, gt=0)
    # Mail: the account functions queue it (MAIL_QUEUE_URL); the mailer sends it from MAIL_FROM
    # through SES, or (MAIL_SENDER=directory, make local) writes one .eml per message.
    MAIL_QUEUE_URL: str = ""
    MAIL_FROM: str = "no-reply@example.com"
    MAIL_SENDER: Literal["ses", "directory"] = "ses"
    MAIL_DIRECTORY: str = ".local/mail"
    # The mailer sends at most this many mails to one address per window, whoever asks;
    # past it, it sends nothing (the endpoints answered as always).
    MAIL_ADDRESS_LIMIT: int = Field(default=5, ge=1)
    MAIL_ADDRESS_WINDOW: int = Field(default=3600, gt=0)

    # Sign in with Google / Apple (shared/social/): each provider's ID tokens are accepted for
    # these comma-separated client ids (empty: that provider is off, its routes answer 404), from
    # this exact issuer, signed by a key of its JWKS (fetched by the first sign-in, cached for
    # SOCIAL_KEYS_MAX_AGE; an unknown kid refetches at most once per SOCIAL_KEY_REFETCH_INTERVAL).
    GOOGLE_CLIENT_IDS: str = ""
    GOOGLE_ISSUER: str = "https://accounts.google.com"
    GOOGLE_JWKS_URL: str = Field(default="https://www.googleapis.com/oauth2/v3/certs", pattern=r"https?://\S+")
    APPLE_CLIENT_IDS: str = ""
    APPLE_ISSUER: str = "https://appleid.apple.com"
    APPLE_JWKS_URL: str = Field(default="https://appleid.apple.com/auth/keys", pattern=r"https?://\S+")
    SOCIAL_KEYS_MAX_AGE: int = Field(default=300, gt=0)
    SOCIAL_KEY_REFETCH_INTERVAL: float = Field(default=5.0, ge=0)
    SOCIAL_KEYS_TIMEOUT: float = Field(default=2.0, gt=0)
    # TOTP MFA (shared/mfa/): the login's challenge and the enrolment's pending secret live this
    # long; a challenge dies after MFA_MAX_CODE_FAILURES wrong codes (each also counted by the
    # login guard on the account and the source IP). Secrets are encrypted with the key ring in
    # MFA_KEY_SECRET_ID. Staff without MFA get tokens only for enrolling (RequireStaffMfa).
    MFA_KEY_SECRET_ID: str = "ecommerce-auth/dev/mfa-key"
    MFA_CHALLENGE_LIFETIME: int = Field(default=300, gt=0, le=900)
    MFA_MAX_CODE_FAILURES: int = Field(default=5, ge=1, le=20)
    MFA_TOTP_ISSUER: str = ""
    REQUIRE_STAFF_MFA: bool = True

    # Request limits checked before any hashing.
    MAX_BODY_BYTES: int = Field(default=64 * 1024, gt=0)
    MAX_PASSWORD_CHARS: int = Field(default=4096, gt=0)

    # Authorizer: one DynamoDB read per decision (cached this many seconds per container and
    # session) to refuse deleted and inactive customers, revoked and logged-out sessions.
    # Off: the authorizer checks the token only.
    AUTHORIZER_CHECK_CUSTOMER: bool = False
    AUTHORIZER_CHECK_CACHE_SECONDS: int = Field(default=5, ge=0, le=60)

    # AWS client behaviour: a few quick retries that fit the function's timeout.
    AWS_MAX_ATTEMPTS: int = Field(default=3, ge=1)
    # Worst case per request: 3 attempts x 1 s + standard-mode backoff (<= 3 s) = 6 s; a login
    # makes 2 requests, inside the functions' 20 s timeout (API Gateway waits 29 s).
    AWS_CONNECT_TIMEOUT: float = Field(default=1.0, gt=0)
    AWS_READ_TIMEOUT: float = Field(default=1.0, gt=0)
    RETRY_AFTER_SECONDS: int = Field(default=1, ge=1)

    # Browsers (shared/web/browser.py): comma-separated exact origins that get CORS answers and may ask
    # for the refresh token as an HttpOnly cookie. Empty: no CORS, no cookie transport.
    ALLOWED_ORIGINS: str = ""
    REFRESH_COOKIE_NAME: str = Field(default="refresh_token", pattern=r"[A-Za-z0-9_.-]+")
    REFRESH_COOKIE_SAMESITE: Literal["Strict", "Lax", "None"] = "Strict"
    REFRESH_COOKIE_DOMAIN: str = ""
    # The custom domain's base path mapping (e.g. "shop"): API Gateway passes it in the path,
    # the handlers strip it before routing, and the cookie's Path starts with it.
    BASE_PATH: str = Field(default="", pattern=r"/?([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?/?")

    # Staff's list of customers (GET /api/v1/customers/): DRF's PAGE_SIZE, at most one BatchGetItem.
    STAFF_PAGE_SIZE: int = Field(default=50, ge=1, le=100)

    # Passkeys (shared/passkeys/): the relying party is the storefront (rp id: STOREFRONT_URL's
    # host; origins: ALLOWED_ORIGINS). A ceremony's challenge lives this long; each customer may
    # ask for this many registration challenges per ACCOUNT_LIMIT_WINDOW.
    PASSKEY_CHALLENGE_LIFETIME: int = Field(default=300, ge=30, le=900)
    PASSKEY_REGISTRATION_LIMIT: int = Field(default=10, ge=1)

    # Powertools' own variables (template: POWERTOOLS_*), for shared/telemetry.py.
    POWERTOOLS_SERVICE_NAME: str = "service_undefined"
    POWERTOOLS_METRICS_NAMESPACE: str = ""
    POWERTOOLS_LOG_LEVEL: str = Field(default="INFO", pattern=r"(?i)DEBUG|INFO|WARNING|ERROR|CRITICAL")

    def __init__(self, **values: Any) -> None:
        hints = _hints()
        unknown = values.keys() - hints.keys()
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        errors = []
        for name, hint in hints.items():
            declared = getattr(Settings, name)
            checked = declared if isinstance(declared, Checked) else None
            try:
                value = _converted(hint, values.get(name, checked.default if checked else declared))
                if checked:
                    _check_bounds(value, checked.bounds)
                    _check_pattern(value, checked.pattern)
            except (TypeError, ValueError) as error:
                errors.append(f"{name}: {error}")
                continue
            self.__dict__[name] = value
        # A wrong entry (a trailing slash, a path, "*") would never match a browser's Origin.
        errors += [
            f"ALLOWED_ORIGINS: {origin!r} is not an origin like https://www.shop.example"
            for origin in _split(self.ALLOWED_ORIGINS)
            if not ORIGIN.fullmatch(origin)
        ]
        if errors:
            raise SettingsError("invalid settings: " + "; ".join(errors))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"settings are read once per container: cannot assign {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"settings are read once per container: cannot delete {name}")

    def replaced(self, **changes: Any) -> "Settings":
        """These settings with ``changes`` (converted and checked as at start), for tools."""
        return Settings(**{**self.__dict__, **changes})

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{name}={value!r}' for name, value in self.__dict__.items())})"

    @property
    def key_publish_ahead_floor(self) -> int:
        """The longest a verifier can hold a key set fetched just before a rotation.

        The authorizer: the extension's cache, then its own (SIGNING_KEY_MAX_AGE). With an
        asymmetric algorithm also the JWKS route's own cache, then what its readers may
        cache: API Gateway's JWT authorizers two hours, anyone else the Cache-Control max-age.
        """
        floor = self.SECRETS_MANAGER_TTL + self.SIGNING_KEY_MAX_AGE
        if self.ALGORITHM not in HMAC_ALGORITHMS:
            floor = max(floor, self.SIGNING_KEY_MAX_AGE + max(JWT_AUTHORIZER_KEY_CACHE, JWKS_MAX_AGE))
        return floor

    @property
    def key_activation_delay_floor(self) -> int:
        """The least KEY_ACTIVATION_DELAY: the publish-ahead floor plus the rotation's own steps."""
        return self.key_publish_ahead_floor + ROTATION_STEPS_ALLOWANCE

    def check_key_activation_delay(self) -> None:
        """Refuse a publish-ahead delay shorter than the verifiers' caches (rotation only)."""
        if self.key_activation_delay_floor > self.KEY_ACTIVATION_DELAY:
            raise ValueError(
                f"KEY_ACTIVATION_DELAY is {self.KEY_ACTIVATION_DELAY} s; with these caches a new key must be "
                f"published at least {self.key_publish_ahead_floor} s before anything is signed with it, "
                f"plus {ROTATION_STEPS_ALLOWANCE} s for the rotation's steps"
            )

    @property
    def key_retention(self) -> int:
        """How long a key that stopped signing stays: its last token's lifetime, the time a
        signer with an older cached set may still sign with it, and the leeway verifiers allow."""
        lifetime = max(self.ACCESS_TOKEN_LIFETIME, self.REFRESH_TOKEN_LIFETIME)
        return lifetime + self.SIGNING_KEY_MAX_AGE + self.LEEWAY

    @property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset(_split(self.ALLOWED_ORIGINS))

    @property
    def google_client_ids(self) -> tuple[str, ...]:
        return tuple(_split(self.GOOGLE_CLIENT_IDS))

    @property
    def apple_client_ids(self) -> tuple[str, ...]:
        return tuple(_split(self.APPLE_CLIENT_IDS))

    @property
    def passkey_rp_id(self) -> str:
        """The WebAuthn relying party id: the storefront's host (the page that calls WebAuthn)."""
        from urllib.parse import urlsplit  # passkey requests only: the authorizer never pays for it

        return urlsplit(self.STOREFRONT_URL).hostname or ""

    @property
    def base_path(self) -> str:
        """BASE_PATH as a path prefix: "" or "/shop" (no trailing slash)."""
        stripped = self.BASE_PATH.strip("/")
        return f"/{stripped}" if stripped else ""

    @property
    def legacy_algorithm(self) -> str:
        """A plain-string secret is an HMAC key: simplejwt's ALGORITHM when that is HMAC."""
        return self.ALGORITHM if self.ALGORITHM in HMAC_ALGORITHMS else "HS256"

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> "Settings":
        source = os.environ if environ is None else environ
        blank_is_unset: dict[str, Any] = {name: source[name] for name in _hints() if source.get(name, "") != ""}
        return cls(**blank_is_unset)


@cache
def _hints() -> dict[str, Any]:
    """Each setting's type, in the order the class declares them."""
    return dict(Settings.__annotations__)


def _converted(hint: Any, value: Any) -> Any:
    """``value`` as the type ``hint`` names; environment strings converted as pydantic's lax mode."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(hint):
            return None
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _converted(inner, value)
    if origin is Literal:
        if value not in get_args(hint):
            raise ValueError(f"must be one of {', '.join(map(repr, get_args(hint)))}")
        return value
    if hint is SecretStr:
        return value if isinstance(value, SecretStr) else SecretStr(_converted(str, value))
    if hint is bool:
        return _boolean(value)
    if hint not in (str, int, float):
        raise TypeError(f"unsupported setting type {hint!r}")
    if isinstance(value, bool) or not isinstance(value, str if hint is str else str | int | float):
        raise TypeError(f"must be {hint.__name__}, not {type(value).__name__}")
    if hint is int and isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    try:
        return hint(value)
    except ValueError:
        raise ValueError(f"must be {'an integer' if hint is int else 'a number'}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else ""
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError("must be a boolean (true/false, 1/0, yes/no, on/off)")


def _check_pattern(value: Any, pattern: str | None) -> None:
    if pattern is not None and not re.fullmatch(pattern, value):
        raise ValueError(f"must match {pattern}")


def _split(origins: str) -> list[str]:
    return [origin.strip() for origin in origins.split(",") if origin.strip()]


def _check_bounds(value: Any, bounds: dict[str, float]) -> None:
    for name, limit in bounds.items():
        if not BOUND_CHECKS[name][1](value, limit):
            raise ValueError(f"must be {BOUND_CHECKS[name][0]} {limit}")


def xray_trace_header() -> str | None:
    """The X-Ray header of the request being served: the runtime sets it in the environment
    before each invocation, so it is read per log line, never cached."""
    return os.environ.get("_X_AMZN_TRACE_ID")


@cache
def get_settings() -> Settings:
    """The container's settings, validated on first use (at cold start)."""
    return Settings.from_environ()
