"""What structured logs and metrics cost the authorizer: Powertools' Logger and Metrics against
shared/telemetry.py, at init and per invocation.

Usage: python bench/telemetry_cost.py [--runs N] (``make bench`` runs it too, through bench/run.py).

Init: fresh interpreters (``-S``, the project venv's site-packages on PYTHONPATH, as
bench/coldstart.py), round-robin, each importing pyjwt (the authorizer's floor) and then one
telemetry: nothing more, Powertools' ``Logger`` and ``Metrics`` made as a handler makes them,
or ``shared.telemetry.Telemetry``. CPU time of the whole process (``time.process_time``).

Per invocation: one handler that does nothing but its telemetry (one metric, no log line, as an
authorizer's Allow), called in this process: Powertools' two decorators
(``inject_lambda_context(clear_state=True)`` and ``log_metrics``) with ``add_metric``, against
``Telemetry.invocation`` with ``count``. Microseconds of CPU per call, the best of several
batches; stdout (the EMF line) goes to a null stream.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time
import timeit
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "PYTHONPATH": f"{ROOT}:{sysconfig.get_path('purelib')}",
    "POWERTOOLS_SERVICE_NAME": "ecommerce-auth",
    "POWERTOOLS_METRICS_NAMESPACE": "EcommerceAuthBench",
}
INIT_VARIANTS = {
    "import jwt": "import jwt",
    "+ Powertools Logger and Metrics": (
        "import jwt\nfrom aws_lambda_powertools import Logger, Metrics\nLogger()\nMetrics()"
    ),
    "+ shared.telemetry": (
        "import jwt\nfrom shared.telemetry import Telemetry\n"
        "Telemetry('ecommerce-auth', 'EcommerceAuthBench', 'INFO', lambda: None)"
    ),
}
CHILD = "import sys, time\nsys.modules['cryptography'] = None\n{code}\nprint(time.process_time_ns())"
CONTEXT = SimpleNamespace(
    function_name="authorizer",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:authorizer",
    aws_request_id="bench",
    function_version="$LATEST",
    log_group_name="/aws/lambda/authorizer",
    log_stream_name="bench",
)
CALLS_PER_BATCH = 2000
BATCHES = 9


def init_cpu(runs: int) -> dict[str, dict[str, float]]:
    """Per variant: the process's CPU milliseconds, median and min over ``runs`` (round-robin, one uncounted round)."""
    samples: dict[str, list[float]] = {name: [] for name in INIT_VARIANTS}
    for round_number in range(runs + 1):
        for name, code in INIT_VARIANTS.items():
            result = subprocess.run(  # noqa: S603 - our own interpreter and code
                [sys.executable, "-S", "-c", CHILD.format(code=code)],
                capture_output=True,
                text=True,
                env=ENVIRONMENT,
                cwd=ROOT,
                check=True,
                timeout=60,
            )
            if round_number:
                samples[name].append(int(result.stdout.strip().splitlines()[-1]) / 1e6)
    return {name: {"median": statistics.median(values), "min": min(values)} for name, values in samples.items()}


def per_call_us() -> dict[str, float]:
    """CPU microseconds per invocation of a handler that only writes its telemetry."""
    os.environ.update({key: value for key, value in ENVIRONMENT.items() if key.startswith("POWERTOOLS")})
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    from shared.telemetry import Telemetry

    logger, metrics = Logger(), Metrics()

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def powertools_handler(event: dict[str, Any], context: Any) -> None:
        metrics.add_metric(name="Allowed", unit=MetricUnit.Count, value=1)

    telemetry = Telemetry("ecommerce-auth", "EcommerceAuthBench", "INFO", lambda: None)

    def telemetry_handler(event: dict[str, Any], context: Any) -> None:
        with telemetry.invocation(context):
            telemetry.count("Allowed")

    def bare_handler(event: dict[str, Any], context: Any) -> None:
        return None

    handlers: dict[str, Callable[[dict[str, Any], Any], None]] = {
        "no telemetry": bare_handler,
        "Powertools: inject_lambda_context + log_metrics + add_metric": powertools_handler,
        "shared.telemetry: invocation + count": telemetry_handler,
    }
    with redirect_stdout(io.StringIO()) as sink:
        figures = {}
        for name, handler in handlers.items():
            timer = timeit.Timer(_calling(handler), timer=time.process_time)
            figures[name] = min(timer.repeat(number=CALLS_PER_BATCH, repeat=BATCHES)) / CALLS_PER_BATCH * 1e6
            sink.seek(0)
            sink.truncate()
    return figures


def _calling(handler: Callable[[dict[str, Any], Any], None]) -> Callable[[], None]:
    return lambda: handler({}, CONTEXT)


def measure(runs: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    return {
        "init_cpu_ms": init_cpu(runs),
        "per_call_cpu_us": per_call_us(),
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "runs": runs,
    }


def table(figures: dict[str, Any]) -> str:
    load, init, calls = figures["load_average"], figures["init_cpu_ms"], figures["per_call_cpu_us"]
    floor = init["import jwt"]["median"]
    lines = [
        "## The authorizer's telemetry: Powertools Logger and Metrics vs shared/telemetry.py",
        "",
        f"Init: CPU ms of a fresh interpreter, median (min) of {figures['runs']} round-robin runs."
        f" Per invocation: CPU us, best of {BATCHES} batches of {CALLS_PER_BATCH}."
        f" Load average (1 min) {load['before']:.2f} before, {load['after']:.2f} after.",
        "",
        "| init | CPU ms | over import jwt |",
        "|---|---|---|",
        *[
            f"| {name} | {value['median']:.1f} ({value['min']:.1f}) | {value['median'] - floor:+.1f} |"
            for name, value in init.items()
        ],
        "",
        "| per invocation | CPU us |",
        "|---|---|",
        *[f"| {name} | {value:.1f} |" for name, value in calls.items()],
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per init variant")
    figures = measure(parser.parse_args().runs)
    print(table(figures))
    print(json.dumps(figures), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
