"""AWS clients, one per container, with retries and timeouts that fit a Lambda budget.

``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` (read by botocore
itself) point the same clients at moto's server, DynamoDB Local or AWS: the domain has
no ``if local`` branch.

Each client is a ``ContainerClient``: made on its first call, or at init by ``warm_clients``.
The token and account functions warm theirs at init (``services.warm_up``): the SDK's import and
a client's creation are most of their cold start, and Lambda runs init on a full vCPU but the
request on the function's ``MemorySize`` share of one (bench/README.md, §7). So does the
authorizer when its customer check is on; with it off (the default) it never loads the SDK. The clients are botocore's
own (what boto3's ``client()`` returns): importing boto3 on top, for nothing but its
``Session`` wrapper, would also import s3transfer and cost ~13 ms of every cold start. After a SnapStart restore
``renew_clients`` makes a new client for each one made before the snapshot (no connection or
credentials from the snapshot).
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
    from botocore.config import Config
    from botocore.session import Session
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
def sdk_session() -> Session:
    """One session for all of a container's clients: each new session reloads botocore's data."""
    from botocore.session import get_session

    return get_session()


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

    def warm(self) -> None:
        """Make the client now (at init), unless it is made already."""
        with self._lock:
            if self._client is None:
                self._client = self._make()

    @property
    def made(self) -> bool:
        return self._client is not None

    def renew(self) -> None:
        """Replace a client made before (and its connections) by a new one; one never made stays lazy."""
        with self._lock:
            if self._client is not None:
                self._client = self._make()


@cache
def dynamodb_client() -> DynamoDBClient:
    return cast("DynamoDBClient", ContainerClient(lambda: sdk_session().create_client("dynamodb", config=_config())))


@cache
def secretsmanager_client() -> SecretsManagerClient:
    def make() -> object:
        return sdk_session().create_client("secretsmanager", config=_config())

    return cast("SecretsManagerClient", ContainerClient(make))


@cache
def sqs_client() -> Any:
    """The mail queue's client (no type stubs installed for SQS: typed as Any)."""
    return ContainerClient(lambda: sdk_session().create_client("sqs", config=_config()))


@cache
def sesv2_client() -> Any:
    return ContainerClient(lambda: sdk_session().create_client("sesv2", config=_config()))


def _config() -> Config:
    return client_config(get_settings())


CLIENT_FACTORIES = (dynamodb_client, secretsmanager_client, sqs_client, sesv2_client)


def _requested_clients() -> list[ContainerClient]:
    """The clients this container's services asked for (whether made yet or not)."""
    return [cast(ContainerClient, factory()) for factory in CLIENT_FACTORIES if factory.cache_info().currsize]


def warm_clients() -> None:
    """Init: make every client the container's services hold, so their first request makes none."""
    for client in _requested_clients():
        client.warm()


def renew_clients() -> None:
    """After a SnapStart restore: every client made before the snapshot is replaced by a new one."""
    for client in _requested_clients():
        client.renew()


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
