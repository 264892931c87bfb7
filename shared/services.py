"""The composition root: each container builds its settings, clients and services once.

Handlers call these at import time (the Lambda init phase), so a cold start pays for
them once and warm invocations reuse them. Each factory imports the modules it needs,
so a function loads only what it uses: the refresh function never imports argon2, and
the authorizer imports neither boto3 nor argon2 unless its customer check is on.
Tests call ``reset()`` to get a fresh container.

Init work every request needs (clients, a Secrets Manager key) runs in ``warm_up`` at the end
of init, on the init phase's full vCPU (bench/README.md, §7); what only some requests need
stays with them. The authorizer's key comes through the Lambda extension, which may not serve
during init. SnapStart: ``before_snapshot`` drops the key, ``after_restore`` replaces the
clients and reads the key again, so no restored container keeps the snapshot's connections,
credentials or key. Unique values (``jti``, families, kids) are drawn when a token is minted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from snapshot_restore_py import register_after_restore, register_before_snapshot

from shared.settings import HMAC_ALGORITHMS, get_settings
from shared.tokens.keys import CachedKeySet, secrets_extension_fetcher
from shared.tokens.minting import TokenService
from shared.tokens.oidc import Issuer, api_id_of

if TYPE_CHECKING:
    from shared.accounts.rate_limit import RateLimiter
    from shared.accounts.service import AccountMailer, AccountService
    from shared.customers.login import LoginService
    from shared.customers.opening import SessionOpener
    from shared.customers.profiles import ProfileService
    from shared.customers.store import CustomerStore
    from shared.mfa.service import MfaService
    from shared.passkeys.relying_party import RelyingParty
    from shared.passkeys.service import PasskeyService
    from shared.passkeys.store import PasskeyStore
    from shared.social.service import SocialService
    from shared.staff.gate import StaffGate
    from shared.staff.service import StaffService
    from shared.telemetry import Telemetry
    from shared.tokens.authorizer import RequestAuthorizer
    from shared.tokens.rotation import KeyRotation
    from shared.tokens.sessions import SessionService, SessionStore
    from shared.web.browser import CookieTransport, Cors
    from shared.web.http import WebResolver


@cache
def key_set() -> CachedKeySet:
    """The container's key set, read from the source the settings name.

    From Secrets Manager it is read at init by ``warm_up``; through the Lambda extension (the
    authorizer's source) by the first request that needs it, since the extension is not
    guaranteed to serve during the init phase. A short key or a broken key set fails the
    request that reads it (500, logged); a Secrets Manager fault answers 503.
    """
    settings = get_settings()
    if settings.SIGNING_KEY_SOURCE == "extension":
        token = settings.AWS_SESSION_TOKEN.get_secret_value() if settings.AWS_SESSION_TOKEN else ""
        fetch = secrets_extension_fetcher(
            settings.SIGNING_KEY_SECRET_ID,
            settings.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT,
            token,
            timeout=settings.AWS_READ_TIMEOUT,
        )
        return _cached(fetch)

    from shared.aws import secretsmanager_client
    from shared.tokens.keys import secrets_manager_fetcher

    return _cached(secrets_manager_fetcher(secretsmanager_client(), settings.SIGNING_KEY_SECRET_ID))


def _cached(fetch: Callable[[], str]) -> CachedKeySet:
    settings = get_settings()
    return CachedKeySet(
        fetch,
        max_age=settings.SIGNING_KEY_MAX_AGE,
        refetch_interval=settings.KEY_REFETCH_INTERVAL,
        legacy_algorithm=settings.legacy_algorithm,
    )


@cache
def issuer() -> Issuer:
    return Issuer(get_settings().ISSUER)


def bind_api(event: Mapping[str, Any]) -> None:
    """Each API Gateway event names its API: the default issuer is that API's URL (the
    event is read only when ISSUER names the API: not on every authorizer decision)."""
    named = issuer()
    if named.names_the_api:
        named.bind_api(api_id_of(event))


@cache
def token_service() -> TokenService:
    return TokenService(get_settings(), key_set(), issuer=issuer())


@cache
def customer_store() -> CustomerStore:
    from shared.aws import dynamodb_client
    from shared.customers.store import CustomerStore

    return CustomerStore(dynamodb_client(), get_settings().TABLE_NAME)


@cache
def login_service(on_lockout: Callable[[], None] = lambda: None) -> LoginService:
    from shared.aws import dynamodb_client
    from shared.customers.login import LoginService
    from shared.customers.login_guard import LoginGuard
    from shared.customers.passwords import PasswordHasher

    settings = get_settings()
    guard = LoginGuard(dynamodb_client(), settings.TABLE_NAME, settings)
    return LoginService(settings, customer_store(), guard, PasswordHasher(settings), session_opener(), on_lockout)


@cache
def session_opener() -> SessionOpener:
    """Every way in ends here (shared/customers/opening.py)."""
    from shared.aws import dynamodb_client
    from shared.customers.opening import SessionOpener
    from shared.mfa.challenges import MfaChallenges

    settings = get_settings()
    challenges = MfaChallenges(dynamodb_client(), settings.TABLE_NAME, settings)
    return SessionOpener(settings, customer_store(), token_service(), challenges)


@cache
def mfa_service() -> MfaService:
    """The /auth/mfa/ routes (one function): pyotp, segno and cryptography load only here."""
    from shared.aws import dynamodb_client, secretsmanager_client
    from shared.customers.login_guard import LoginGuard
    from shared.customers.passwords import PasswordHasher
    from shared.mfa.challenges import MfaChallenges
    from shared.mfa.sealing import SecretBox
    from shared.mfa.service import MfaService
    from shared.mfa.store import MfaStore
    from shared.tokens.keys import secrets_manager_fetcher

    settings = get_settings()
    client = dynamodb_client()
    return MfaService(
        settings,
        customer_store(),
        session_store(),
        LoginGuard(client, settings.TABLE_NAME, settings),
        PasswordHasher(settings),
        session_opener(),
        MfaStore(client, settings.TABLE_NAME),
        MfaChallenges(client, settings.TABLE_NAME, settings),
        SecretBox(
            secrets_manager_fetcher(secretsmanager_client(), settings.MFA_KEY_SECRET_ID), settings.SIGNING_KEY_MAX_AGE
        ),
    )


@cache
def session_store() -> SessionStore:
    from shared.aws import dynamodb_client
    from shared.tokens.sessions import SessionStore

    settings = get_settings()
    return SessionStore(dynamodb_client(), settings.TABLE_NAME, settings.LEEWAY)


@cache
def session_service(on_reuse: Callable[[], None] = lambda: None) -> SessionService:
    from shared.tokens.sessions import SessionService

    return SessionService(get_settings(), session_store(), token_service(), on_reuse)


@cache
def profile_service() -> ProfileService:
    from shared.customers.profiles import ProfileService

    return ProfileService(get_settings(), session_store(), customer_store(), staff_gate())


@cache
def staff_gate() -> StaffGate:
    from shared.staff.gate import StaffGate

    return StaffGate(get_settings(), session_store())


@cache
def staff_service() -> StaffService:
    from shared.accounts.mail import MailQueue
    from shared.aws import dynamodb_client, sqs_client
    from shared.customers.listing import CustomerListing
    from shared.staff.service import StaffService

    settings = get_settings()
    return StaffService(
        settings,
        staff_gate(),
        customer_store(),
        CustomerListing(dynamodb_client(), settings.TABLE_NAME),
        MailQueue(sqs_client(), settings.MAIL_QUEUE_URL),
    )


@cache
def account_rate_limiter() -> RateLimiter:
    """The account endpoints' request limits (shared/accounts/rate_limit.py), social sign-in's too."""
    from shared.accounts.rate_limit import RateLimiter
    from shared.aws import dynamodb_client

    settings = get_settings()
    return RateLimiter(
        dynamodb_client(),
        settings.TABLE_NAME,
        settings.ACCOUNT_ADDRESS_LIMIT,
        settings.ACCOUNT_IP_LIMIT,
        settings.ACCOUNT_LIMIT_WINDOW,
    )


@cache
def account_service() -> AccountService:
    from shared.accounts.links import LinkTokens
    from shared.accounts.mail import MailQueue
    from shared.accounts.password_policy import PasswordPolicy, common_passwords
    from shared.accounts.service import AccountService
    from shared.aws import dynamodb_client, sqs_client
    from shared.customers.passwords import PasswordHasher

    settings = get_settings()
    common_passwords()  # read the list at start, not in the first request
    return AccountService(
        settings,
        customer_store(),
        session_store(),
        LinkTokens(dynamodb_client(), settings.TABLE_NAME),
        PasswordHasher(settings),
        PasswordPolicy(settings.BREACHED_PASSWORD_CHECK, settings.BREACHED_PASSWORD_TIMEOUT),
        account_rate_limiter(),
        MailQueue(sqs_client(), settings.MAIL_QUEUE_URL),
        session_opener,
    )


@cache
def social_service() -> SocialService:
    """Sign in with Google / Apple: each provider's JWKS client made here, once per container."""
    from shared.aws import dynamodb_client
    from shared.social.identity import verifiers
    from shared.social.links import SocialLinks
    from shared.social.service import SocialService

    settings = get_settings()
    return SocialService(
        settings,
        verifiers(settings),
        customer_store(),
        SocialLinks(dynamodb_client(), settings.TABLE_NAME),
        session_store(),
        account_rate_limiter(),
        session_opener,
        lambda customer_id: passkey_store().count(customer_id),
    )


@cache
def account_mailer() -> AccountMailer:
    from pathlib import Path

    from shared.accounts.links import LinkTokens
    from shared.accounts.mail import DirectorySender, Sender, SesSender
    from shared.accounts.rate_limit import MailCap
    from shared.accounts.service import AccountMailer
    from shared.aws import dynamodb_client, sesv2_client

    settings = get_settings()
    sender: Sender
    if settings.MAIL_SENDER == "directory":
        sender = DirectorySender(Path(settings.MAIL_DIRECTORY), settings.MAIL_FROM)
    else:
        sender = SesSender(sesv2_client(), settings.MAIL_FROM)
    cap = MailCap(dynamodb_client(), settings.TABLE_NAME, settings.MAIL_ADDRESS_LIMIT, settings.MAIL_ADDRESS_WINDOW)
    return AccountMailer(settings, customer_store(), LinkTokens(dynamodb_client(), settings.TABLE_NAME), sender, cap)


@cache
def published_key_set() -> CachedKeySet:
    """The JWKS route's key set: the verification document, public keys only (never a
    signing key, so the route cannot leak one)."""
    from shared.aws import secretsmanager_client
    from shared.tokens.keys import secrets_manager_fetcher
    from shared.tokens.keyset import parse_published

    settings = get_settings()
    return CachedKeySet(
        secrets_manager_fetcher(secretsmanager_client(), settings.SIGNING_KEY_SECRET_ID),
        max_age=settings.SIGNING_KEY_MAX_AGE,
        legacy_algorithm=settings.legacy_algorithm,
        parse_document=parse_published,
    )


def jwks_document() -> dict[str, Any]:
    """The JWK Set of the published key set (cached with it)."""
    from shared.aws import unavailable_on_fault
    from shared.tokens.keyset import jwks

    settings = get_settings()
    with unavailable_on_fault(settings):
        return jwks(published_key_set().get())


def openid_configuration() -> dict[str, Any]:
    """The discovery document; an HMAC stack (no ``iss`` in its tokens) is no issuer: 404.

    Its algorithms are those of the published keys (the JWKS document) and ``ALGORITHM``.
    """
    from shared.errors import NotFound
    from shared.tokens.oidc import discovery_document

    settings = get_settings()
    configured_issuer = issuer().value
    if configured_issuer is None or settings.ALGORITHM in HMAC_ALGORITHMS:
        raise NotFound
    algorithms = sorted({key["alg"] for key in jwks_document()["keys"]} | {settings.ALGORITHM})
    return discovery_document(configured_issuer, algorithms, settings)


@cache
def key_rotation() -> KeyRotation:
    from shared.aws import secretsmanager_client
    from shared.tokens.rotation import KeyRotation

    settings = get_settings()
    return KeyRotation(secretsmanager_client(), settings, settings.VERIFICATION_KEY_SECRET_ID)


@cache
def request_authorizer() -> RequestAuthorizer:
    from shared.tokens.authorizer import RequestAuthorizer

    settings = get_settings()
    if not settings.AUTHORIZER_CHECK_CUSTOMER:
        return RequestAuthorizer(token_service())
    from shared.aws import warm_clients
    from shared.tokens.customer_status import CachedCustomerStatus

    checking = RequestAuthorizer(
        token_service(), CachedCustomerStatus(session_store(), settings.AUTHORIZER_CHECK_CACHE_SECONDS)
    )
    # Every first decision reads the table: the SDK and its client at init, on the init phase's
    # full vCPU, not in the first Allow at the MemorySize share of one (bench/README.md, §7).
    warm_clients()
    return checking


@cache
def authorizer_telemetry() -> Telemetry:
    """The authorizer's logs and metrics, written without Powertools (its import cost)."""
    from shared.settings import xray_trace_header
    from shared.telemetry import Telemetry

    settings = get_settings()
    return Telemetry(
        settings.POWERTOOLS_SERVICE_NAME,
        settings.POWERTOOLS_METRICS_NAMESPACE,
        settings.POWERTOOLS_LOG_LEVEL,
        xray_trace_header,
    )


@cache
def cors_policy() -> Cors:
    from shared.web.browser import Cors

    return Cors(get_settings().allowed_origins)


def web_resolver() -> WebResolver:
    """The resolver every HTTP handler uses (settings, CORS policy and issuer of the container)."""
    from shared.web.http import WebResolver

    return WebResolver(cors_policy(), get_settings().base_path, bind_api)


@cache
def cookie_transport() -> CookieTransport:
    from shared.web.browser import CookieTransport

    return CookieTransport(get_settings(), cors_policy())


def warm_up() -> None:
    """Init of a token or account function: its clients made, its signing key read, and the
    garbage collector back on (``shared.collector``, imported first by the handler).

    A key that cannot be read now (Secrets Manager down, a broken secret) is left to the
    first request that needs it, which answers as it always does (503 or 500, logged):
    the container still starts.
    """
    from shared import collector
    from shared.aws import warm_clients

    warm_clients()
    if key_set.cache_info().currsize and get_settings().SIGNING_KEY_SOURCE == "secretsmanager":
        try:
            key_set().get()
        except Exception as error:  # any fault is the first request's to answer
            from aws_lambda_powertools import Logger

            Logger(child=True).warning("signing key not read at init", extra={"error_type": type(error).__name__})
    collector.resume()


# Passkeys (shared/passkeys/): one function serves every passkey route.


@cache
def passkey_store() -> PasskeyStore:
    """The passkeys' items; ``passkey_store().count(customer_id)`` tells how many a customer has."""
    from shared.aws import dynamodb_client
    from shared.passkeys.store import PasskeyStore

    return PasskeyStore(dynamodb_client(), get_settings().TABLE_NAME)


@cache
def relying_party() -> RelyingParty:
    """py_webauthn, imported by the first request that makes options or verifies (not at start)."""
    from shared.passkeys.relying_party import RelyingParty

    settings = get_settings()
    origins = sorted(settings.allowed_origins)
    return RelyingParty(settings.passkey_rp_id, origins, settings.PASSKEY_CHALLENGE_LIFETIME)


@cache
def passkey_service() -> PasskeyService:
    from shared.accounts.rate_limit import RateLimiter
    from shared.aws import dynamodb_client
    from shared.customers.login_guard import LoginGuard
    from shared.passkeys.challenges import ChallengeStore
    from shared.passkeys.service import PasskeyService

    settings = get_settings()
    client, table = dynamodb_client(), settings.TABLE_NAME
    return PasskeyService(
        settings,
        passkey_store(),
        ChallengeStore(client, table, settings.PASSKEY_CHALLENGE_LIFETIME),
        session_store(),
        customer_store(),
        RateLimiter(
            client, table, settings.PASSKEY_REGISTRATION_LIMIT, settings.ACCOUNT_IP_LIMIT, settings.ACCOUNT_LIMIT_WINDOW
        ),
        LoginGuard(client, table, settings),
        session_opener(),
        relying_party,
    )


def before_snapshot() -> None:
    """SnapStart: the snapshot holds no key (``after_restore`` reads it again)."""
    for cached_keys in (key_set, published_key_set):
        if cached_keys.cache_info().currsize:
            cached_keys().forget()


def after_restore() -> None:
    """SnapStart: what a restored container must not keep from the snapshot is made again, now."""
    from shared.aws import renew_clients

    before_snapshot()  # a snapshot taken without the hook (or a key read since) keeps no key either
    renew_clients()
    warm_up()


register_before_snapshot(before_snapshot)
register_after_restore(after_restore)


def reset() -> None:
    """Forget every cached object (tests only: a new container)."""
    from shared import aws

    # Every cached factory here and every cached client of shared/aws.py (get_settings too),
    # so that a new one cannot be forgotten.
    for namespace in (globals(), vars(aws)):
        for factory in [value for value in namespace.values() if hasattr(value, "cache_clear")]:
            factory.cache_clear()
