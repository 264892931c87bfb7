"""boto3 clients, one per container, with retries and timeouts that fit a Lambda budget.

``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (read by botocore
itself) point the same clients at moto's server, DynamoDB Local or AWS: the domain has
no ``if local`` branch.

Each client is made on its first call (``ContainerClient``), not at import: boto3's import
and a client's creation are most of a token function's cold start, and a request that
needs no AWS call (a 400) should not pay them, as a Django process connects to its
database on its first query. After a SnapStart restore ``renew_clients`` drops them, so the
restored container makes new ones (no connection or credentials from the snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from threading import Lock
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from shared.errors import ServiceUnavailable
from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
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
    if not isinstance(error, ClientError):
        return False
    code = error.response.get("Error", {}).get("Code")
    if code == "TransactionCanceledException":
        # Cancelled by throttling or a conflicting transaction, nothing applied: retryable.
        # A condition's refusal is an answer, which the store maps before this is asked.
        reasons = error.response.get("CancellationReasons", [])
        return not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)
    return code in TRANSIENT_ERROR_CODES


def client_config(settings: Settings) -> Config:
    from botocore.config import Config

    return Config(
        region_name=settings.AWS_REGION,
        retries={"mode": "standard", "total_max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
    )


@cache
def boto3_session() -> boto3.session.Session:
    """One session for all of a container's clients: each new session reloads botocore's data."""
    import boto3

    return boto3.session.Session()


class ContainerClient:
    """The container's client of one AWS service, made on first use and kept until renewed."""

    def __init__(self, make: Callable[[], object]) -> None:
        self._make = make
        self._lock = Lock()
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return getattr(client, name)

    def renew(self) -> None:
        """Forget the client (and its connections): the next call makes a new one."""
        with self._lock:
            self._client = None


@cache
def dynamodb_client() -> DynamoDBClient:
    return cast("DynamoDBClient", ContainerClient(lambda: boto3_session().client("dynamodb", config=_config())))


@cache
def secretsmanager_client() -> SecretsManagerClient:
    def make() -> object:
        return boto3_session().client("secretsmanager", config=_config())

    return cast("SecretsManagerClient", ContainerClient(make))


@cache
def sqs_client() -> Any:
    """The mail queue's client (no type stubs installed for SQS: typed as Any)."""
    return ContainerClient(lambda: boto3_session().client("sqs", config=_config()))


@cache
def sesv2_client() -> Any:
    return ContainerClient(lambda: boto3_session().client("sesv2", config=_config()))


def _config() -> Config:
    return client_config(get_settings())


def renew_clients() -> None:
    """After a SnapStart restore: every client made before the snapshot is made again on its next call."""
    for factory in (dynamodb_client, secretsmanager_client, sqs_client, sesv2_client):
        if factory.cache_info().currsize:
            cast(ContainerClient, factory()).renew()


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
