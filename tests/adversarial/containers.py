"""Lambda containers as OS processes, all talking to one moto server over HTTP.

Threads around one handler share a process, its clients and the GIL; the races of finding
1 (concurrent wrong passwords past the lockout) live between containers. ``moto_server``
starts moto's ``ThreadedMotoServer`` on a free port with the table and the signing key;
``run_containers`` spawns processes that each cold-start a function with their own
environment (as Lambda gives each container one), wait for a common start signal, then
send their events one at a time (a container serves one event at a time).
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer

from tests.client.server import free_port
from tests.helpers import REGION, SECRET_ID, SIGNING_KEY, TABLE_NAME, TEST_ENVIRONMENT, UNSET_ENVIRONMENT

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

START_TIMEOUT = 120  # seconds for every container's cold start on a busy 2-core machine


@contextmanager
def moto_server() -> Iterator[dict[str, str]]:
    """moto's server with the table and the signing key; yields the containers' environment.

    Each request is applied whole before the next, as DynamoDB applies each conditional write
    atomically (moto's backend checks and writes in separate steps): the tests check this
    service's conditions, not moto's thread safety.
    """
    lock = threading.Lock()
    dispatch = DomainDispatcherApplication.__call__

    def one_at_a_time(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            return dispatch(self, environ, start_response)

    DomainDispatcherApplication.__call__ = one_at_a_time  # type: ignore[method-assign]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        environment = {
            **TEST_ENVIRONMENT,
            "AWS_ENDPOINT_URL_DYNAMODB": url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        dynamodb(url).create_table(
            TableName=TABLE_NAME,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client(
            "secretsmanager",
            endpoint_url=url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_secret(Name=SECRET_ID, SecretString=SIGNING_KEY)
        yield environment
    finally:
        server.stop()
        DomainDispatcherApplication.__call__ = dispatch  # type: ignore[method-assign]


def dynamodb(url: str) -> DynamoDBClient:
    """A client of the moto server at ``url`` (the test's own view of the table)."""
    return boto3.client(
        "dynamodb", endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def run_containers(
    function: str, environment: dict[str, str], events_per_container: list[list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One process per list of events; every container starts sending at the same moment.

    Returns every proxy response, in no particular order.
    """
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(len(events_per_container) + 1)
    results = context.Queue()
    processes = [
        context.Process(target=_container, args=(function, environment, events, ready, results))
        for events in events_per_container
    ]
    for process in processes:
        process.start()
    try:
        ready.wait(timeout=START_TIMEOUT)  # every container is warm: go
        answers = [results.get(timeout=START_TIMEOUT) for events in events_per_container for _ in events]
    finally:
        for process in processes:
            process.join(timeout=START_TIMEOUT)
            if process.is_alive():
                process.kill()
    assert all(process.exitcode == 0 for process in processes), [process.exitcode for process in processes]
    return answers


def _container(
    function: str,
    environment: dict[str, str],
    events: list[dict[str, Any]],
    ready: Any,
    results: Any,
) -> None:
    """A container: its own environment and cold start, then one event at a time."""
    for name in UNSET_ENVIRONMENT:
        if name not in environment:
            os.environ.pop(name, None)
    os.environ.update(environment)
    handler = importlib.import_module(f"functions.{function}.app")
    from tests.conftest import FakeLambdaContext

    context = FakeLambdaContext()
    ready.wait(timeout=START_TIMEOUT)
    for event in events:
        response = handler.lambda_handler(event, context)
        results.put({"statusCode": response["statusCode"], "body": json.loads(response["body"])})
