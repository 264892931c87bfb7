"""AWS list prices, every assumption that turns measured figures into dollars, and the arithmetic.

Prices are us-east-1 list prices (checked against the AWS pricing pages when this file was
written; see bench/README.md). Everything that is not a price or a measurement is an
assumption, named here, and printed with the results.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

# --- Prices (USD) ----------------------------------------------------------------------
LAMBDA_ARM_GB_SECOND = 0.0000133334  # arm64, first 7.5 billion GB-s a month
LAMBDA_REQUEST = 0.20 / 1e6
API_GATEWAY_REST_REQUEST = 3.50 / 1e6  # REST API, first 333 million requests a month
DYNAMODB_READ_REQUEST_UNIT = 0.125 / 1e6  # on-demand, after the November 2024 price cut
DYNAMODB_WRITE_REQUEST_UNIT = 0.625 / 1e6
CLOUDWATCH_LOGS_INGESTED_GB = 0.50  # Standard log class
COGNITO_LITE_MAU = 0.0055  # per monthly active user beyond the free tier
COGNITO_ESSENTIALS_MAU = 0.015
COGNITO_FREE_MAU = 10_000
# SnapStart for Python and .NET: the snapshot cached per GB-second while its published version
# is active (3 hours minimum), and each restore (a new execution environment) per GB.
SNAPSTART_CACHE_GB_SECOND = 0.0000015046
SNAPSTART_RESTORE_GB = 0.0001397998
SECONDS_PER_MONTH = 30 * 24 * 3600

# --- How AWS counts ---------------------------------------------------------------------
MB_PER_VCPU = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
READ_UNIT_BYTES = 4096  # a strongly consistent read of up to 4 KB is 1 RRU, eventual half
WRITE_UNIT_BYTES = 1024  # a write of up to 1 KB is 1 WRU; transactional writes cost 2 per item
TRANSACTION_FACTOR = 2

# --- Assumptions --------------------------------------------------------------------------
# Wall time billed while one DynamoDB request is in flight (same-region p50, single-digit ms).
DYNAMODB_ROUND_TRIP_MS = 5.0
# API Gateway caches an authorizer's decision per token for ReauthorizeEvery (300 s): a client
# making requests in bursts gets ~1 authorizer invocation per this many requests. The worst
# case (no cache: ReauthorizeEvery 0, or a new token per request) is priced as well.
REQUESTS_PER_AUTHORIZER_INVOCATION = 10
# Share of invocations that start a new execution environment; Lambda bills the init phase
# (since August 2025) at the function's memory size.
COLD_START_SHARE = 0.01
# Lambda's own START / END / REPORT lines (with the X-Ray trace id) per invocation.
PLATFORM_LOG_BYTES = 350
# CPU time on a Graviton (arm64) vCPU relative to one core of the bench machine. Not
# measured here: run the bench on a Graviton instance to replace it.
ARM_CPU_FACTOR = 1.0
# A monthly active customer, for the Cognito comparison: logins, refreshes (about one per
# hour of browsing with 1 h access tokens) and API requests behind the authorizer.
MONTHLY_PATTERN = {"obtain": 4, "refresh": 30, "authorized": 300}


def assumptions() -> dict[str, Any]:
    return {
        "prices_usd": {
            "lambda_arm_gb_second": LAMBDA_ARM_GB_SECOND,
            "lambda_per_million_requests": LAMBDA_REQUEST * 1e6,
            "api_gateway_rest_per_million": API_GATEWAY_REST_REQUEST * 1e6,
            "dynamodb_per_million_rru": DYNAMODB_READ_REQUEST_UNIT * 1e6,
            "dynamodb_per_million_wru": DYNAMODB_WRITE_REQUEST_UNIT * 1e6,
            "cloudwatch_logs_per_gb": CLOUDWATCH_LOGS_INGESTED_GB,
            "cognito_lite_per_mau": COGNITO_LITE_MAU,
            "cognito_essentials_per_mau": COGNITO_ESSENTIALS_MAU,
            "cognito_free_mau": COGNITO_FREE_MAU,
            "snapstart_cache_gb_second": SNAPSTART_CACHE_GB_SECOND,
            "snapstart_restore_gb": SNAPSTART_RESTORE_GB,
        },
        "mb_per_vcpu": MB_PER_VCPU,
        "dynamodb_round_trip_ms": DYNAMODB_ROUND_TRIP_MS,
        "requests_per_authorizer_invocation": REQUESTS_PER_AUTHORIZER_INVOCATION,
        "cold_start_share": COLD_START_SHARE,
        "platform_log_bytes": PLATFORM_LOG_BYTES,
        "arm_cpu_factor": ARM_CPU_FACTOR,
        "monthly_pattern_per_mau": MONTHLY_PATTERN,
    }


class _TemplateLoader(yaml.SafeLoader):
    """Safe YAML that reads CloudFormation's short tags (!Ref, !GetAtt, ...) as nulls."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def memory_sizes(template: Path) -> dict[str, int]:
    """MemorySize per function in the SAM template, the Globals default where it sets none."""
    document = yaml.load(template.read_text(), Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    default = int(document["Globals"]["Function"]["MemorySize"])
    return {
        name: int(resource.get("Properties", {}).get("MemorySize", default))
        for name, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def vcpu_share(memory_mb: int) -> float:
    return min(1.0, memory_mb / MB_PER_VCPU)


def billed_ms(cpu_ms: float, memory_mb: int, dynamodb_requests: int = 0) -> int:
    """Measured CPU time stretched to the function's vCPU share, plus DynamoDB waits; 1 ms steps."""
    return max(
        1, math.ceil(cpu_ms * ARM_CPU_FACTOR / vcpu_share(memory_mb) + dynamodb_requests * DYNAMODB_ROUND_TRIP_MS)
    )


def gb_seconds_cost(milliseconds: float, memory_mb: int) -> float:
    return memory_mb / 1024 * milliseconds / 1000 * LAMBDA_ARM_GB_SECOND


def units(size: int, unit_bytes: int) -> int:
    """Request units for one item: its size rounded up to the unit, and at least one.

    An item that is not there (a never-used token's ``JTI#``) is still billed one read, and a
    conditional write whose condition fails still one write; ``item_sizes`` holds each kind's
    largest measured item, so an absent one is priced as if present (under 4 KB: the same).
    """
    return max(1, math.ceil(size / unit_bytes))


def request_units(calls: list[dict[str, Any]], item_sizes: dict[str, int]) -> tuple[float, float]:
    """(RRU, WRU) for counted DynamoDB calls on items of the measured sizes."""
    reads = writes = 0.0
    for call in calls:
        if call["service"] != "dynamodb":
            continue
        sizes = [item_sizes.get(prefix, 0) for prefix in call["items"]]  # absent everywhere: one unit
        if call["operation"] in ("GetItem", "BatchGetItem"):
            # BatchGetItem is billed as one GetItem per key, each rounded up on its own.
            reads += sum(units(size, READ_UNIT_BYTES) for size in sizes) * (1 if call["consistent"] else 0.5)
        elif call["operation"] in ("PutItem", "UpdateItem", "DeleteItem"):
            writes += sum(units(size, WRITE_UNIT_BYTES) for size in sizes)
        elif call["operation"] == "TransactWriteItems":
            writes += TRANSACTION_FACTOR * sum(units(size, WRITE_UNIT_BYTES) for size in sizes)
        else:
            raise ValueError(f"no request-unit rule for {call['operation']}")
    return reads, writes


def per_million(
    *,
    cpu_ms: float,
    memory_mb: int,
    cold_start_ms: float,
    calls: list[dict[str, Any]],
    item_sizes: dict[str, int],
    log_bytes: int,
    invocations: float = 1.0,
    api_requests: float = 1.0,
) -> dict[str, float]:
    """USD per million operations; ``invocations`` Lambda runs and ``api_requests`` API calls each."""
    dynamodb_requests = sum(1 for call in calls if call["service"] == "dynamodb")
    reads, writes = request_units(calls, item_sizes)
    duration = billed_ms(cpu_ms, memory_mb, dynamodb_requests)
    init = billed_ms(cold_start_ms, memory_mb) * COLD_START_SHARE
    million = 1e6
    costs = {
        "billed_ms": duration,
        "lambda_requests": invocations * LAMBDA_REQUEST * million,
        "lambda_compute": invocations * gb_seconds_cost(duration, memory_mb) * million,
        "lambda_init": invocations * gb_seconds_cost(init, memory_mb) * million,
        "api_gateway": api_requests * API_GATEWAY_REST_REQUEST * million,
        "dynamodb": invocations * (reads * DYNAMODB_READ_REQUEST_UNIT + writes * DYNAMODB_WRITE_REQUEST_UNIT) * million,
        "logs": invocations * (log_bytes + PLATFORM_LOG_BYTES) / 1e9 * CLOUDWATCH_LOGS_INGESTED_GB * million,
    }
    costs["total"] = sum(value for name, value in costs.items() if name != "billed_ms")
    return costs


def snapstart(memory_mb: int, cold_start_ms: float) -> dict[str, float]:
    """What SnapStart costs for one function next to the init it replaces (COLD_START_SHARE cold).

    ``cold_start_ms`` is the measured cold start: at most that much latency is saved per cold
    start (less the restore's own time, which only AWS can measure), and its init compute is
    no longer billed.
    """
    gigabytes = memory_mb / 1024
    return {
        "memory_mb": memory_mb,
        "cache_per_month": gigabytes * SECONDS_PER_MONTH * SNAPSTART_CACHE_GB_SECOND,
        "restores_per_million": COLD_START_SHARE * 1e6 * gigabytes * SNAPSTART_RESTORE_GB,
        "init_compute_per_million": gb_seconds_cost(billed_ms(cold_start_ms, memory_mb) * COLD_START_SHARE, memory_mb)
        * 1e6,
        "cold_start_ms": cold_start_ms,
    }


def per_mau(obtain: dict[str, float], refresh: dict[str, float], authorized: dict[str, float]) -> float:
    """This service's cost for one monthly active customer of MONTHLY_PATTERN.

    API Gateway's charge for the API requests themselves is left out: a Cognito user pool
    authorizer sits on the same REST API and pays it too. The token endpoints' requests are
    counted, since Cognito serves its own.
    """
    api_requests = authorized["api_gateway"]
    return (
        MONTHLY_PATTERN["obtain"] * obtain["total"]
        + MONTHLY_PATTERN["refresh"] * refresh["total"]
        + MONTHLY_PATTERN["authorized"] * (authorized["total"] - api_requests)
    ) / 1e6


def cognito_monthly(mau: int, price_per_mau: float) -> float:
    return max(0, mau - COGNITO_FREE_MAU) * price_per_mau
