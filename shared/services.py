"""The composition root: each container builds its settings, clients and services once.

Handlers call these at import time (the Lambda init phase), so a cold start pays for
them once and warm invocations reuse them. Each factory imports its own modules so a
function loads only what it uses (the refresh function never imports argon2).
Tests call ``reset()`` to get a fresh container.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from shared.aws import dynamodb_client, is_transient, secretsmanager_client
from shared.customers import CustomerStore
from shared.keys import CachedSigningKey, secrets_manager_fetcher
from shared.settings import get_settings
from shared.tokens import TokenService

if TYPE_CHECKING:
    from shared.login import LoginService
    from shared.refresh import RefreshService

logger = Logger(child=True)


@cache
def signing_key() -> CachedSigningKey:
    """The key, fetched now so a short key stops the function at start with a clear error.

    A Secrets Manager fault at start is not fatal: the first request retries it and
    answers 503 if it still fails.
    """
    settings = get_settings()
    key = CachedSigningKey(
        secrets_manager_fetcher(secretsmanager_client(), settings.SIGNING_KEY_SECRET_ID),
        max_age=settings.SIGNING_KEY_MAX_AGE,
    )
    try:
        key.get()
    except Exception as error:
        if not is_transient(error):
            raise
        logger.warning("signing key not fetched at start", extra={"error_type": type(error).__name__})
    return key


@cache
def token_service() -> TokenService:
    return TokenService(get_settings(), signing_key())


@cache
def customer_store() -> CustomerStore:
    return CustomerStore(dynamodb_client(), get_settings().TABLE_NAME)


@cache
def login_service() -> LoginService:
    from shared.login import LoginService
    from shared.passwords import PasswordHasher

    settings = get_settings()
    return LoginService(settings, customer_store(), PasswordHasher(settings), token_service())


@cache
def refresh_service() -> RefreshService:
    from shared.refresh import RefreshService

    return RefreshService(get_settings(), customer_store(), token_service())


def reset() -> None:
    """Forget every cached object (tests only: a new container)."""
    factories = (signing_key, token_service, customer_store, login_service, refresh_service)
    for factory in (*factories, dynamodb_client, secretsmanager_client, get_settings):
        factory.cache_clear()
