"""The local server scales a function out to several containers under concurrent load, as Lambda does."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.helpers import ROOT
from tests.local_api import local_api
from tools.local_server import LOGS, FunctionPool

PROBE = "ContainerProbe"


@pytest.fixture
def pool() -> Iterator[FunctionPool]:
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    started = FunctionPool(PROBE, "tests/container_probe", environment, max_containers=3)
    yield started
    started.stop()


def at_once(pool: FunctionPool, events: int, sleep: float) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=events) as threads:
        return list(threads.map(lambda _: pool.invoke({"sleep": sleep}), range(events)))


def test_given_one_client_then_one_container_serves_every_event_and_keeps_its_state(pool: FunctionPool) -> None:
    answers = [pool.invoke({}) for _ in range(3)]

    assert len({answer["pid"] for answer in answers}) == 1
    assert [answer["events_served"] for answer in answers] == [1, 2, 3]


def test_given_concurrent_events_then_containers_scale_out_up_to_the_maximum(pool: FunctionPool) -> None:
    answers = at_once(pool, events=6, sleep=0.5)

    assert 2 <= len({answer["pid"] for answer in answers}) <= 3
    assert sum(answer["events_served"] == 1 for answer in answers) == len({answer["pid"] for answer in answers}), (
        "each container counts its own events from one"
    )


def test_given_idle_containers_then_no_new_container_starts(pool: FunctionPool) -> None:
    burst = {answer["pid"] for answer in at_once(pool, events=6, sleep=0.5)}

    later = {pool.invoke({})["pid"] for _ in range(5)}

    assert later <= burst


def test_given_concurrent_logins_through_the_local_server_then_several_containers_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTAINERS", "3")
    log = LOGS / "ObtainTokenFunction.log"
    offset = log.stat().st_size if log.exists() else 0
    body = json.dumps({"email": "customer@example.com", "password": "SecurePass123!"}).encode()

    with local_api() as url:

        def login(_: int) -> int:
            request = urllib.request.Request(
                f"{url}/auth/token/", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)

        with ThreadPoolExecutor(max_workers=6) as threads:
            statuses = list(threads.map(login, range(6)))

    with log.open() as written:
        written.seek(offset)
        containers = set(re.findall(r"INIT_START \S+ container pid (\d+)", written.read()))
    assert statuses == [200] * 6
    assert 2 <= len(containers) <= 3
