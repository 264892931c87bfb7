"""openapi.yaml: a valid OpenAPI 3.1 document, and every real answer of the contract matches it.

Each row of the wire contract (tests/adversarial/contract_cases.py) runs against the real
handlers; its answer has the row's status, and it and every answer on the way (logins,
logouts) has a documented status, the documented headers and a body the document's
schema accepts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from openapi_spec_validator import validate

from tests.adversarial.contract_cases import CASES, ENDPOINT_PATHS, Case, Client
from tests.adversarial.document import answer_errors, document, operations
from tests.adversarial.stack import Stack, warm_stack
from tests.helpers import HttpAnswer
from tools import gateway

JSON = {"content-type": "application/json"}
LOCKED = {"detail": "Too many failed login attempts. Try again later.", "code": "throttled"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with warm_stack() as warm:
        yield warm


Play = Callable[[Case], Client]


@pytest.fixture(scope="module")
def played(stack: Stack) -> Play:
    """Each case's client, after its case ran (once per module)."""
    clients: dict[str, Client] = {}

    def play(case: Case) -> Client:
        if case.id not in clients:
            client = Client(stack)
            answer = case.run(client)
            assert client.exchanges[-1].answer is answer
            clients[case.id] = client
        return clients[case.id]

    return play


def test_the_document_is_a_valid_openapi_3_1_document() -> None:
    validate(document())
    assert document()["openapi"] == "3.1.0"


def template_routes() -> set[tuple[str, str]]:
    return {(route.method, route.path.rstrip("/")) for route in gateway.load().routes}


def test_every_documented_operation_is_a_route_of_the_template() -> None:
    routes = template_routes()
    for method, path in operations():
        assert {(method, path.rstrip("/")), ("ANY", path.rstrip("/"))} & routes, (
            f"{method} {path} is not in template.yaml"
        )


def test_every_route_of_the_template_is_documented() -> None:
    documented = {path.rstrip("/") for _, path in operations()}
    assert {path for _, path in template_routes()} <= documented


def test_every_endpoint_of_the_contract_is_documented() -> None:
    assert set(ENDPOINT_PATHS.values()) <= set(document()["paths"])
    assert {case.endpoint for case in CASES} == set(ENDPOINT_PATHS)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_contract_case_answers_the_status_of_its_row(played: Play, case: Case) -> None:
    answer = played(case).exchanges[-1].answer
    assert answer.status == case.status, answer.body


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_answer_of_each_contract_case_matches_the_document(played: Play, case: Case) -> None:
    client = played(case)
    errors = [
        error
        for exchange in client.exchanges
        for error in answer_errors(exchange.method, exchange.path, exchange.answer)
    ]
    assert errors == []


@pytest.mark.parametrize(
    ("method", "path", "answer", "error"),
    [
        ("POST", "/auth/token/", HttpAnswer(500, JSON, {"detail": "x"}, ""), "status 500 is not documented"),
        ("POST", "/auth/token/", HttpAnswer(429, JSON, LOCKED, ""), "header Retry-After is missing"),
        (
            "POST",
            "/auth/token/refresh/",
            HttpAnswer(401, JSON, {"detail": "Token is invalid"}, ""),
            "is not valid under any",
        ),
        ("POST", "/auth/token/verify/", HttpAnswer(200, JSON, {"ok": True}, ""), "expected to be empty"),
        ("GET", "/api/v1/customers/1/", HttpAnswer(401, {"content-type": "text/html"}, None, ""), "content type"),
    ],
    ids=["undocumented-status", "missing-header", "body-off-schema", "extra-key", "not-json"],
)
def test_the_conformance_check_refuses_an_answer_the_document_does_not_describe(
    method: str, path: str, answer: HttpAnswer, error: str
) -> None:
    assert any(error in found for found in answer_errors(method, path, answer))
