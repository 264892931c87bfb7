"""The composition root: each container builds its settings, clients and services once.

Handlers call these at import time (the Lambda init phase), so a cold start pays for
them once and warm invocations reuse them. Each factory imports the modules it needs,
so a function loads only what it uses: the refresh function never imports argon2, and
the authorizer imports neither boto3 nor argon2 unless its customer check is on.
Tests call ``reset()`` to get a fresh container.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from shared.keys import CachedKeySet, secrets_extension_fetcher
from shared.settings import get_settings
from shared.tokens import TokenService

if TYPE_CHECKING:
    from shared.authorizer import RequestAuthorizer
    from shared.customers import CustomerStore
    from shared.login import LoginService
    from shared.profiles import ProfileService
    from shared.rotation import KeyRotation
    from shared.sessions import SessionService, SessionStore


@cache
def key_set() -> CachedKeySet:
    """The container's key set, read from the source the settings name.

    Through Secrets Manager (the token functions) it is fetched now, so a short key or a
    broken key set stops the function at start with a clear error; a Secrets Manager fault
    at start is not fatal, the first request retries it and answers 503 if it still fails.
    Through the Lambda extension (the authorizer) the first request fetches it: the
    extension is not guaranteed to serve during the init phase.
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

    from aws_lambda_powertools import Logger

    from shared.aws import is_transient, secretsmanager_client
    from shared.keys import secrets_manager_fetcher

    key = _cached(secrets_manager_fetcher(secretsmanager_client(), settings.SIGNING_KEY_SECRET_ID))
    try:
        key.get()
    except Exception as error:
        if not is_transient(error):
            raise
        Logger(child=True).warning("signing key not fetched at start", extra={"error_type": type(error).__name__})
    return key


def _cached(fetch: Callable[[], str]) -> CachedKeySet:
    settings = get_settings()
    return CachedKeySet(
        fetch,
        max_age=settings.SIGNING_KEY_MAX_AGE,
        refetch_interval=settings.KEY_REFETCH_INTERVAL,
        legacy_algorithm=settings.legacy_algorithm,
    )


@cache
def token_service() -> TokenService:
    return TokenService(get_settings(), key_set())


@cache
def customer_store() -> CustomerStore:
    from shared.aws import dynamodb_client
    from shared.customers import CustomerStore

    return CustomerStore(dynamodb_client(), get_settings().TABLE_NAME)


@cache
def login_service(on_lockout: Callable[[], None] = lambda: None) -> LoginService:
    from shared.aws import dynamodb_client
    from shared.login import LoginService
    from shared.login_guard import LoginGuard
    from shared.passwords import PasswordHasher

    settings = get_settings()
    guard = LoginGuard(dynamodb_client(), settings.TABLE_NAME, settings)
    return LoginService(settings, customer_store(), guard, PasswordHasher(settings), token_service(), on_lockout)


@cache
def session_store() -> SessionStore:
    from shared.aws import dynamodb_client
    from shared.sessions import SessionStore

    return SessionStore(dynamodb_client(), get_settings().TABLE_NAME)


@cache
def session_service() -> SessionService:
    from shared.sessions import SessionService

    return SessionService(get_settings(), session_store(), token_service())


@cache
def profile_service() -> ProfileService:
    from shared.profiles import ProfileService

    return ProfileService(get_settings(), customer_store())


@cache
def published_key_set() -> CachedKeySet:
    """The JWKS route's key set: the verification document, public keys only (never a
    signing key, so the route cannot leak one)."""
    from shared.aws import secretsmanager_client
    from shared.keys import secrets_manager_fetcher
    from shared.keyset import parse_published

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
    from shared.keyset import jwks

    settings = get_settings()
    with unavailable_on_fault(settings):
        return jwks(published_key_set().get())


@cache
def key_rotation() -> KeyRotation:
    from shared.aws import secretsmanager_client
    from shared.rotation import KeyRotation

    settings = get_settings()
    return KeyRotation(secretsmanager_client(), settings, settings.VERIFICATION_KEY_SECRET_ID)


@cache
def request_authorizer() -> RequestAuthorizer:
    from shared.authorizer import RequestAuthorizer

    settings = get_settings()
    if not settings.AUTHORIZER_CHECK_CUSTOMER:
        return RequestAuthorizer(token_service())
    from shared.customer_status import CachedCustomerStatus

    return RequestAuthorizer(
        token_service(), CachedCustomerStatus(customer_store(), settings.AUTHORIZER_CHECK_CACHE_SECONDS)
    )


def reset() -> None:
    """Forget every cached object (tests only: a new container)."""
    from shared import aws

    factories = (
        key_set,
        published_key_set,
        token_service,
        customer_store,
        login_service,
        session_store,
        session_service,
        profile_service,
        key_rotation,
        request_authorizer,
    )
    for factory in (*factories, aws.boto3_session, aws.dynamodb_client, aws.secretsmanager_client, get_settings):
        factory.cache_clear()
