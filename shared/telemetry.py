"""The authorizer's structured logs and EMF metrics, in Powertools' formats, without Powertools.

Importing ``aws_lambda_powertools`` runs its package ``__init__``, which loads Logger, Metrics
and Tracer together (the Logger alone loads ``inspect``, ``jmespath``, ``typing_extensions``
and ``logging``): a third of the authorizer's cold start, more than its 90 ms budget allows
(bench/README.md, "Cold starts"). The authorizer writes its few lines here instead; every
other function keeps Powertools. Keys, order and layout are Powertools' own (a test makes the
same calls through both and compares the lines), so one Logs Insights query, one metric
filter and one namespace serve every function.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


class LambdaContext(Protocol):
    """The runtime's context object: what the log lines name."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str


class Telemetry:
    """One container's log lines and per-invocation metrics, written to stdout (CloudWatch Logs).

    ``trace_header`` reads the runtime's per-invocation X-Ray header (``shared.settings``).
    """

    def __init__(self, service: str, namespace: str, level: str, trace_header: Callable[[], str | None]) -> None:
        if not namespace:
            raise ValueError("POWERTOOLS_METRICS_NAMESPACE is not set: metrics would have nowhere to go")
        self._service = service
        self._namespace = namespace
        self._threshold = LEVELS[level.upper()]
        self._trace_header = trace_header
        self._cold_start = True
        # The invocation's context, read into its keys only by a line that is written (an
        # Allow writes none: its metric line carries no context).
        self._context: LambdaContext | None = None
        self._context_cold_start = False
        self._metrics: dict[str, list[float]] = {}
        self._emf_parts: dict[tuple[tuple[str, tuple[float, ...]], ...], tuple[str, str]] = {}
        self._scope = Invocation(self)  # holds no state of its own: one for every invocation

    def invocation(self, context: LambdaContext) -> Invocation:
        """One invocation: its keys on every line (``inject_lambda_context(clear_state=True)``),
        its metrics written as one EMF line at the end, even when it raises (``log_metrics``)."""
        self._context, self._context_cold_start = context, self._cold_start
        self._cold_start = False
        self._metrics = {}
        return self._scope

    def _end_invocation(self) -> None:
        self._flush_metrics()
        self._context = None

    def info(self, message: str, **extra: Any) -> None:
        self._log("INFO", message, extra)

    def error(self, message: str, **extra: Any) -> None:
        self._log("ERROR", message, extra)

    def count(self, name: str) -> None:
        """Add 1 to the metric ``name`` (unit Count) for this invocation."""
        self._metrics.setdefault(name, []).append(1.0)

    def _log(self, level: str, message: str, extra: dict[str, Any]) -> None:
        if LEVELS[level] < self._threshold:
            return
        caller = sys._getframe(2)  # the function that called info() or error()
        now = time.time()
        line: dict[str, Any] = {
            "level": level,
            "location": f"{caller.f_code.co_name}:{caller.f_lineno}",
            "message": message,
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f",{int(now % 1 * 1000):03d}+0000",
            "service": self._service,
            **self._invocation_keys(),
            **extra,
        }
        trace_header = self._trace_header()
        if trace_header:
            line["xray_trace_id"] = trace_header.split(";")[0].replace("Root=", "")
        _write(line)

    def _invocation_keys(self) -> dict[str, Any]:
        context = self._context
        if context is None:
            return {}
        return {
            "cold_start": self._context_cold_start,
            "function_name": context.function_name,
            "function_memory_size": context.memory_limit_in_mb,
            "function_arn": context.invoked_function_arn,
            "function_request_id": context.aws_request_id,
        }

    def _flush_metrics(self) -> None:
        if not self._metrics:
            return
        # The line's constant parts (directive, service, values) are serialised once per set of
        # metrics: an invocation writes one of a few ("Allowed": [1.0], "Denied": [1.0], ...). A
        # list comprehension, inlined, where a generator would cost a frame per invocation.
        shape = tuple([(name, tuple(values)) for name, values in self._metrics.items()])
        parts = self._emf_parts.get(shape)
        if parts is None:
            parts = self._emf_parts[shape] = self._serialise_emf(self._metrics)
        before, after = parts
        sys.stdout.write(f"{before}{int(time.time() * 1000)}{after}\n")
        self._metrics = {}

    def _serialise_emf(self, metrics: dict[str, list[float]]) -> tuple[str, str]:
        """The EMF line around its timestamp, exactly as ``json.dumps`` writes the whole line."""
        directive = {
            "Namespace": self._namespace,
            "Dimensions": [["service"]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in metrics],
        }
        line = {"_aws": {"Timestamp": 0, "CloudWatchMetrics": [directive]}, "service": self._service, **metrics}
        before, after = json.dumps(line, separators=(",", ":"), default=str).split('"Timestamp":0', 1)
        return before + '"Timestamp":', after


class Invocation:
    """``Telemetry.invocation``'s context: a class, not ``@contextmanager`` (a generator per call)."""

    __slots__ = ("_telemetry",)

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        self._telemetry._end_invocation()


def _write(line: dict[str, Any]) -> None:
    """One compact JSON line, as Powertools writes them; ``sys.stdout`` looked up per line."""
    sys.stdout.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
