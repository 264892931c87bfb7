"""boto3 clients, one per container, with retries and timeouts that fit a Lambda budget.

``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (read by botocore
itself) point the same clients at moto's server, DynamoDB Local or AWS: the domain has
no ``if local`` branch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from shared.errors import ServiceUnavailable
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

logger = Logger(child=True)

# botocore logs request and response bodies at DEBUG (password hashes, the signing key):
# whatever the root logger's level, the SDK's loggers never go below WARNING.
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Error codes that mean "the dependency is busy or down", not "your request is wrong".
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "TransactionInProgressException",
    }
)
# botocore raises these when it cannot reach the service at all (reset, timeout, DNS).
UNREACHABLE_ERRORS = (ConnectionError, HTTPClientError)


def is_transient(error: Exception) -> bool:
    """True for throttling, 5xx and network faults that survived the client's retries."""
    if isinstance(error, UNREACHABLE_ERRORS):
        return True
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in TRANSIENT_ERROR_CODES


def client_config(settings: Settings) -> Config:
    return Config(
        region_name=settings.AWS_REGION,
        retries={"mode": "standard", "total_max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
    )


@cache
def boto3_session() -> boto3.session.Session:
    """One session for all of a container's clients: each new session reloads botocore's data."""
    return boto3.session.Session()


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3_session().client("dynamodb", config=client_config(get_settings()))


@cache
def secretsmanager_client() -> SecretsManagerClient:
    return boto3_session().client("secretsmanager", config=client_config(get_settings()))


@contextmanager
def unavailable_on_fault(settings: Settings) -> Iterator[None]:
    """Turn a dependency fault that outlived the retries into a 503, logged without data."""
    try:
        yield
    except Exception as error:
        if not is_transient(error):
            raise
        logger.warning("dependency unavailable", extra={"error_type": type(error).__name__})
        raise ServiceUnavailable(settings.RETRY_AFTER_SECONDS) from None


@cache
def sqs_client() -> Any:
    """The mail queue's client (no type stubs installed for SQS: typed as Any)."""
    return boto3_session().client("sqs", config=client_config(get_settings()))


@cache
def sesv2_client() -> Any:
    return boto3_session().client("sesv2", config=client_config(get_settings()))
