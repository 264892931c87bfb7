"""Each authorizer container of `make local` has its own secrets extension, as each Lambda
execution environment runs its own: containers started at different moments cache the
secret from different moments, so after a rotation they switch at staggered times."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from tests.helpers import REGION, ROOT, SECRET_ID, SIGNING_KEY
from tools.local_server import FunctionPool, extension_per_container

PROBE = "ContainerProbe"
TTL = 3.0  # the extension's SECRETS_MANAGER_TTL, short so the test sees it pass
ROTATED = "rotated-signing-key-for-the-extension-test-0123456789"


@pytest.fixture
def pool(aws: None) -> Iterator[FunctionPool]:
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "SECRETS_MANAGER_TTL": str(TTL)}
    started = FunctionPool(PROBE, "tests/container_probe", environment, 2, extension_per_container(environment))
    yield started
    started.stop()


def read_in_two_containers(pool: FunctionPool) -> dict[int, dict[str, Any]]:
    """Two reads at once, each holding its container a second: both containers answer."""
    event = {"secret_id": SECRET_ID, "sleep": 1.0}
    with ThreadPoolExecutor(max_workers=2) as threads:
        answers = list(threads.map(pool.invoke, [event, event]))
    return {answer["pid"]: answer for answer in answers}


def extension_threads() -> int:
    return sum(thread.name == "secrets-extension" for thread in threading.enumerate())


def test_given_a_rotation_between_two_container_starts_then_each_serves_its_cached_version_until_its_ttl(
    pool: FunctionPool,
) -> None:
    first = pool.invoke({"secret_id": SECRET_ID})  # the only container fills its extension's cache
    filled_at = time.monotonic()
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(SecretId=SECRET_ID, SecretString=ROTATED)

    staggered = read_in_two_containers(pool)  # the first is busy: a second container starts
    time.sleep(max(0.0, filled_at + TTL - time.monotonic()) + 0.1)
    converged = read_in_two_containers(pool)

    assert first["secret"] == SIGNING_KEY
    later = next(pid for pid in staggered if pid != first["pid"])
    assert {pid: answer["secret"] for pid, answer in staggered.items()} == {first["pid"]: SIGNING_KEY, later: ROTATED}
    assert {pid: answer["secret"] for pid, answer in converged.items()} == {first["pid"]: ROTATED, later: ROTATED}


def test_given_two_containers_then_each_has_its_own_extension_and_stopping_them_leaves_none_behind(
    pool: FunctionPool,
) -> None:
    before = extension_threads()
    ports = {answer["extension_port"] for answer in read_in_two_containers(pool).values()}

    assert len(ports) == 2
    assert extension_threads() == before + 1  # the second container's; the first's counts in before
    pool.stop()
    assert extension_threads() == before - 1
    for port in ports:
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
