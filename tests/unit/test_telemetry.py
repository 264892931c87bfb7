"""The authorizer's telemetry writes what Powertools writes: same keys, order, values and EMF.

Each test makes the same calls through Powertools' Logger and Metrics (as every other
function uses them) and through ``shared.telemetry.Telemetry`` (the authorizer), and
compares the lines. Only the clock's values may differ; their formats may not.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.metrics import MetricUnit

from shared.settings import xray_trace_header
from shared.telemetry import Telemetry

SERVICE = "ecommerce-auth"
NAMESPACE = "EcommerceAuthTest"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
CONTEXT = SimpleNamespace(
    function_name="authorizer",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:authorizer",
    aws_request_id="7c3f-request",
)
LOG_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0000")


def lines(text: str) -> list[dict[str, Any]]:
    """Each line written, parsed; every line must be compact JSON, as Powertools writes it."""
    parsed = [json.loads(line) for line in text.splitlines()]
    assert [json.dumps(line, separators=(",", ":")) for line in parsed] == text.splitlines()
    return parsed


def without_clock(line: dict[str, Any]) -> dict[str, Any]:
    """The line without its clock values (their formats are checked here) and without the
    line number in ``location`` (the two sides call from different lines)."""
    line = json.loads(json.dumps(line))
    if "timestamp" in line:
        assert LOG_TIMESTAMP.fullmatch(line.pop("timestamp"))
    if "_aws" in line:
        assert isinstance(line["_aws"].pop("Timestamp"), int)
    if "location" in line:
        line["location"] = line["location"].split(":")[0]
    return line


@pytest.fixture
def runtime_trace_header(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header the Lambda runtime sets before an invocation (Tracing: Active)."""
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)


def through_powertools(level: str, outcome: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(powertools_logger, "is_cold_start", True)  # a new container
    logger = Logger(service=SERVICE, level=level)
    # One logging.Logger per service name: a Logger made by an earlier test keeps its stream.
    logger.registered_handler.stream = sys.stdout  # type: ignore[attr-defined]
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: object) -> None:
        authorizer_calls(
            outcome,
            info=lambda message, **extra: logger.info(message, extra=extra),
            error=lambda message, **extra: logger.error(message, extra=extra),
            count=lambda name: metrics.add_metric(name, MetricUnit.Count, 1),
        )

    _call(handler, outcome)


def through_telemetry(level: str, outcome: str, trace_header: Callable[[], str | None] = lambda: None) -> Telemetry:
    telemetry = Telemetry(SERVICE, NAMESPACE, level, trace_header)

    def handler(event: dict[str, Any], context: object) -> None:
        with telemetry.invocation(CONTEXT):
            authorizer_calls(
                outcome,
                info=lambda message, **extra: telemetry.info(message, **extra),
                error=lambda message, **extra: telemetry.error(message, **extra),
                count=telemetry.count,
            )

    _call(handler, outcome)
    return telemetry


def authorizer_calls(
    outcome: str, info: Callable[..., None], error: Callable[..., None], count: Callable[[str], None]
) -> None:
    """What the authorizer does per outcome: a denied line and metric; an error line, a
    failure metric and a raise; an Allow adds a metric only."""
    if outcome == "denied":
        info("denied", reason="token_not_valid")
        count("Denied")
    elif outcome == "failed":
        error("authorizer failed closed", error_type="TimeoutError")
        count("AuthorizerFailures")
        raise RuntimeError("authorization is unavailable")
    else:
        count("Allowed")


def _call(handler: Any, outcome: str) -> None:
    if outcome == "failed":
        with pytest.raises(RuntimeError):
            handler({}, CONTEXT)
    else:
        handler({}, CONTEXT)


@pytest.mark.parametrize("outcome", ["denied", "failed", "allowed"])
def test_each_outcome_writes_the_lines_powertools_writes(
    outcome: str, runtime_trace_header: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    through_powertools("INFO", outcome, monkeypatch)
    expected = lines(capsys.readouterr().out)
    through_telemetry("INFO", outcome, xray_trace_header)
    written = lines(capsys.readouterr().out)

    assert [list(line) for line in written] == [list(line) for line in expected]  # keys, in order
    assert [without_clock(line) for line in written] == [without_clock(line) for line in expected]
    assert len(written) == (1 if outcome == "allowed" else 2)


def test_cold_start_is_true_for_the_first_invocation_only(capsys: pytest.CaptureFixture[str]) -> None:
    telemetry = Telemetry(SERVICE, NAMESPACE, "INFO", lambda: None)
    for _ in range(3):
        with telemetry.invocation(CONTEXT):
            telemetry.info("denied")

    assert [line["cold_start"] for line in lines(capsys.readouterr().out)] == [True, False, False]


def test_a_line_below_the_log_level_is_not_written_but_its_metric_is(capsys: pytest.CaptureFixture[str]) -> None:
    through_telemetry("error", "denied")

    written = lines(capsys.readouterr().out)
    assert [line.get("message") for line in written] == [None]
    assert written[0]["Denied"] == [1.0]


def test_no_trace_header_no_trace_key_and_nothing_kept_between_invocations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    telemetry = through_telemetry("INFO", "denied")
    telemetry.info("outside any invocation")

    first, _metric, outside = lines(capsys.readouterr().out)
    assert "xray_trace_id" not in first
    assert "function_request_id" not in outside
    assert "reason" not in outside


def test_a_stack_without_a_metrics_namespace_does_not_start() -> None:
    with pytest.raises(ValueError, match="POWERTOOLS_METRICS_NAMESPACE"):
        Telemetry(SERVICE, "", "INFO", lambda: None)


def test_each_metrics_line_carries_its_own_timestamp_and_counts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    telemetry = Telemetry(SERVICE, NAMESPACE, "INFO", lambda: None)
    for now, counts in ((1_000.0, 1), (2_000.5, 1), (3_000.0, 2)):
        monkeypatch.setattr("shared.telemetry.time.time", lambda now=now: now)
        with telemetry.invocation(CONTEXT):
            for _ in range(counts):
                telemetry.count("Allowed")

    written = lines(capsys.readouterr().out)
    assert [line["_aws"]["Timestamp"] for line in written] == [1_000_000, 2_000_500, 3_000_000]
    assert [line["Allowed"] for line in written] == [[1.0], [1.0], [1.0, 1.0]]
