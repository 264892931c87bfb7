"""schemathesis against `make local` over real HTTP: no 5xx, every answer as openapi.yaml says.

The local server (tools/local_server.py: the template's routes, authorizer, gateway
responses, each function in its own worker, moto behind) starts on free ports; schemathesis
runs its examples, coverage and fuzzing phases on every documented operation with a fixed
seed and at most 25 generated cases per operation, checking: no server error, documented
status codes, content types and headers, and bodies matching the schemas. The fuzzing
locks the login out (5 failures per account, 20 per source IP), so 429 answers are part of
the run and of the document.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.adversarial.document import PATH, operations, template_for
from tests.local_api import free_port, start_server, stop_server, wait_for_banner

SEED = 20261126
MAX_EXAMPLES = 25
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


@dataclass
class LocalApi:
    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD /path STATUS", one per request served


@pytest.fixture(scope="module")
def local_api() -> Iterator[LocalApi]:
    """`make local` started as tests/local_api.py starts it, with its stdout drained: the server
    logs a line per request, and a pipe nobody reads blocks it once full (64 KiB, some 1,600
    requests)."""
    port, storage_port = free_port(), free_port()
    server = start_server("--port", str(port), "--storage-port", str(storage_port))
    wait_for_banner(server)
    api = LocalApi(f"http://127.0.0.1:{port}")
    stdout = server.stdout
    assert stdout is not None

    def drain() -> None:  # the server logs a line per request: keep its pipe from filling up
        for line in stdout:
            parts = line.split()
            if len(parts) == 4 and parts[3].endswith("ms"):
                api.requests.append(" ".join(parts[:3]))

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    yield api
    stop_server(server)
    reader.join(timeout=5)


@dataclass
class Run:
    failures: dict[str, str]  # operation label -> schemathesis' report of its failures
    tested: set[str]
    output: str


@pytest.fixture(scope="module")
def schemathesis_run(local_api: LocalApi, tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("schemathesis")
    junit = work / "junit.xml"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run", str(PATH),
        "--url", local_api.url,
        "--phases", "examples,coverage,fuzzing",
        "--checks", ",".join(CHECKS),
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",
        "--generation-database", "none",
        "--request-timeout", "20",
        "--no-color",
        "--report", "junit", "--report-junit-path", str(junit),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=300, check=False)
    assert junit.exists(), result.stdout + result.stderr
    failures, tested = {}, set()
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        label = case.get("name", "")
        tested.add(label)
        problems = [
            str(element.text or element.get("message") or "") for element in case if element.tag in ("failure", "error")
        ]
        if problems:
            failures[label] = "\n".join(problems)
    return Run(failures, tested, result.stdout)


def label(method: str, path: str) -> str:
    return f"{method} {path}"


@pytest.mark.parametrize(("method", "path"), operations(), ids=[label(*operation) for operation in operations()])
def test_schemathesis_finds_every_answer_conforming_to_the_document(
    schemathesis_run: Run, method: str, path: str
) -> None:
    assert label(method, path) in schemathesis_run.tested, schemathesis_run.output[-3000:]
    assert schemathesis_run.failures.get(label(method, path)) is None, schemathesis_run.failures.get(
        label(method, path)
    )


def test_schemathesis_sent_generated_requests_to_every_operation(schemathesis_run: Run, local_api: LocalApi) -> None:
    served: Counter[str] = Counter()
    for line in local_api.requests:
        method, path, _ = line.split(" ", 2)
        try:
            served[label(method, template_for(path.split("?", 1)[0]))] += 1
        except KeyError:
            continue  # schemathesis' own probes of undocumented paths
    assert {label(*operation) for operation in operations()} <= set(served)
    assert sum(served.values()) >= 100


@pytest.mark.parametrize("method", ["TRACE", "QUERY"])
def test_an_http_method_the_api_has_no_route_for_gets_a_json_answer_not_a_5xx(local_api: LocalApi, method: str) -> None:
    connection = http.client.HTTPConnection(local_api.url.removeprefix("http://"), timeout=10)
    try:
        connection.request(method, "/auth/token/")
        response = connection.getresponse()
        status, content_type, body = response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()
    assert status < 500, body[:200]
    assert content_type.startswith("application/json")
    assert isinstance(json.loads(body), dict)
