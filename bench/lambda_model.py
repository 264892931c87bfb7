"""A model of Lambda's CPU: what a cold start measured here would take on Lambda, and cost.

This machine's wall clock runs init and the first request on a whole core. Lambda does not:

- the invoke phase (the handler, the first request included) gets CPU in proportion to the
  function's ``MemorySize``, one vCPU at 1,769 MB ("Lambda allocates CPU power in proportion
  to the amount of memory configured ... At 1,769 MB, a function has the equivalent of one
  vCPU", https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html);
- the init phase (the runtime's start and the handler module's import) of an on-demand
  function runs with burst CPU, a full vCPU whatever the memory, for at most 10 s ("The Init
  phase is limited to 10 seconds", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html;
  "On-demand Lambda functions use a full vCPU (non-throttled) but is limited to 10 seconds
  during its initialization phase ... For provisioned concurrency, there is no cpu burst",
  AWS's Serverless Land guide, https://serverlessland.com/content/service/lambda/guides/effectively-running-java-on-serverless/init-heavy-lifting).

So the model of a cold request is: init CPU at full speed + the first request's CPU divided by
the function's vCPU share + one round trip per AWS request (``ROUND_TRIP_MS``, an assumption:
DynamoDB promises "single-digit millisecond" latency, not a figure). CPU time is measured
with ``time.process_time`` in the child, so the storage server's own work is not in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cost

INIT_VCPU = 1.0  # the init phase's burst: a full vCPU (on-demand; not provisioned concurrency)
# Assumption: the wall time one AWS request (DynamoDB, Secrets Manager) keeps the function
# waiting, same region, p50. A parameter of bench/first_request.py (--round-trip-ms).
ROUND_TRIP_MS = cost.DYNAMODB_ROUND_TRIP_MS
MEMORY_SIZES_TRIED = (256, 512, 1024, 1769)
SOURCES = {
    "memory_and_cpu": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
    "init_phase_10_s": "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html",
    "init_burst_full_vcpu": (
        "https://serverlessland.com/content/service/lambda/guides/"
        "effectively-running-java-on-serverless/init-heavy-lifting"
    ),
}


@dataclass(frozen=True)
class Cold:
    """One function's cold request, measured: CPU milliseconds per phase and AWS requests."""

    init_cpu_ms: float  # interpreter start + the handler module's import
    first_cpu_ms: float  # the first request's handler call
    init_round_trips: int = 0
    first_round_trips: int = 0


def modelled_cold_ms(cold: Cold, memory_mb: int, round_trip_ms: float = ROUND_TRIP_MS) -> float:
    """Init at the burst's full vCPU, the first request at the memory's share, plus the waits."""
    init = cold.init_cpu_ms / INIT_VCPU + cold.init_round_trips * round_trip_ms
    first = cold.first_cpu_ms / cost.vcpu_share(memory_mb) + cold.first_round_trips * round_trip_ms
    return init + first


def moved_to_init(cold: Cold, cpu_ms: float) -> Cold:
    """The same cold request with ``cpu_ms`` of its first request's CPU done at init instead."""
    return Cold(
        init_cpu_ms=cold.init_cpu_ms + cpu_ms,
        first_cpu_ms=cold.first_cpu_ms - cpu_ms,
        init_round_trips=cold.init_round_trips,
        first_round_trips=cold.first_round_trips,
    )


def invocation_ms(cpu_ms: float, memory_mb: int, round_trips: int, round_trip_ms: float = ROUND_TRIP_MS) -> float:
    """A warm invocation's duration: its CPU at the memory's share, plus its waits."""
    return cpu_ms / cost.vcpu_share(memory_mb) + round_trips * round_trip_ms


def lambda_cost_per_million(
    *,
    warm_cpu_ms: float,
    round_trips: int,
    cold: Cold,
    memory_mb: int,
    cold_share: float = cost.COLD_START_SHARE,
    round_trip_ms: float = ROUND_TRIP_MS,
) -> dict[str, float]:
    """Lambda's own charge per million requests (requests + GB-seconds), ``cold_share`` of them cold.

    A warm request bills its modelled duration in 1 ms steps. A cold one also bills its init
    (since August 2025 Lambda bills the init phase) and its first request runs longer than a
    warm one by the work it does once (imports, clients, key): both from the model.
    """
    warm = max(1, math.ceil(invocation_ms(warm_cpu_ms, memory_mb, round_trips, round_trip_ms)))
    init = cold.init_cpu_ms / INIT_VCPU + cold.init_round_trips * round_trip_ms
    first = cold.first_cpu_ms / cost.vcpu_share(memory_mb) + cold.first_round_trips * round_trip_ms
    cold_billed = max(1, math.ceil(init)) + max(1, math.ceil(first))
    mean_billed = (1 - cold_share) * warm + cold_share * cold_billed
    compute = cost.gb_seconds_cost(mean_billed, memory_mb) * 1e6
    requests = cost.LAMBDA_REQUEST * 1e6
    return {
        "memory_mb": memory_mb,
        "warm_ms": warm,
        "compute": compute,
        "requests": requests,
        "total": compute + requests,
    }
