"""Lambda containers as OS processes, all talking to one moto server over HTTP.

Threads around one handler share a process, its clients and the GIL; the races of finding
1 (concurrent wrong passwords past the lockout) live between containers. ``moto_server``
starts moto's ``ThreadedMotoServer`` on a free port with the table and the signing key;
``run_containers`` starts processes that each cold-start a function with their own
environment (as Lambda gives each container one), wait for a common start signal, then
send their events one at a time (a container serves one event at a time).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer

from tests.helpers import REGION, ROOT, SECRET_ID, SIGNING_KEY, TABLE_NAME, TEST_ENVIRONMENT, UNSET_ENVIRONMENT
from tests.local_api import free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

START_TIMEOUT = 120  # seconds for every container's cold start on a busy 2-core machine
READY = "ready"


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

    Each container is ``python -m tests.adversarial.containers <function>`` with the given
    environment: it reads its events from stdin, cold-starts, says ``ready``, waits for ``go``,
    then prints each proxy response (status and body) as a JSON line. Returns every response,
    in no particular order.
    """
    variables = {name: value for name, value in os.environ.items() if name not in UNSET_ENVIRONMENT}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.adversarial.containers", function],
            cwd=ROOT,
            env={**variables, **environment},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in events_per_container
    ]
    try:
        for process, events in zip(processes, events_per_container, strict=True):
            assert process.stdin is not None
            process.stdin.write(json.dumps(events) + "\n")
            process.stdin.flush()
        for process in processes:  # every container is warm
            assert process.stdout is not None
            assert process.stdout.readline().strip() == READY, f"container {process.pid} did not start"
        for process in processes:  # go
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=START_TIMEOUT)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [process.returncode for process in processes] == [0] * len(processes)
    return [json.loads(line) for output in outputs for line in output.splitlines()]


def _container(function: str) -> None:
    """A container: its own cold start, then one event at a time, answers on stdout."""
    protocol, sys.stdout = sys.stdout, sys.stderr  # the function's logs and metrics go to stderr
    events = json.loads(sys.stdin.readline())
    handler = importlib.import_module(f"functions.{function}.app")
    from tests.conftest import FakeLambdaContext

    context = FakeLambdaContext()
    print(READY, file=protocol, flush=True)
    assert sys.stdin.readline().strip() == "go"
    for event in events:
        response = handler.lambda_handler(event, context)
        answer = {"statusCode": response["statusCode"], "body": json.loads(response["body"])}
        print(json.dumps(answer), file=protocol, flush=True)


if __name__ == "__main__":
    _container(sys.argv[1])
