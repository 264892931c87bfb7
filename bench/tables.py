"""The printed report: one table per figure group, every figure beside its baseline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cost

UNIT_LABEL = {"us": "µs", "ms": "ms", "MiB": "MiB", "$": "$"}


@dataclass(frozen=True)
class Row:
    """One figure of this service beside its baseline (None where the baseline has no counterpart)."""

    section: str
    figure: str
    service: dict[str, Any]
    baseline: dict[str, Any] | None
    baseline_label: str
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline["median"]:
            return None
        return float(self.service["median"] / self.baseline["median"])


def number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def shown(figure: dict[str, Any] | None) -> str:
    if figure is None:
        return "—"
    unit = UNIT_LABEL[figure["unit"]]
    if unit == "$":
        return f"${figure['median']:.2f}"
    return f"{number(figure['median'])} {unit} [{number(figure['min'])}-{number(figure['max'])}]"


def ratio_text(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "—"
    worse = "more" if row.service["unit"] in ("MiB", "$") else "slower"
    better = "less" if worse == "more" else "faster"
    return f"{ratio:.2f}x " + (worse if ratio > 1.05 else better if ratio < 0.95 else "(same)")


def table(headers: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *lines, strict=True)]
    rule = "-+-".join("-" * width for width in widths)
    rendered = [
        " | ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in [headers, *lines]
    ]
    return "\n".join([rendered[0], rule, *rendered[1:]])


def report(results: dict[str, Any], rows: list[Row], saved_to: Path) -> str:
    """Every table, in the issue's order, with the assumptions and the run's conditions."""
    model = results["cost"]
    pattern = ", ".join(f"{count} {name}" for name, count in cost.MONTHLY_PATTERN.items())
    assumptions = "; ".join(f"{name} = {value}" for name, value in model["assumptions"].items() if name != "prices_usd")
    return "\n\n".join(
        [
            f"ecommerce-auth benchmarks: {results['machine']['summary']}",
            "Goals (issues 18 and 28), each from this run\n" + goals_table(results["goals"]),
            figures_table(rows),
            "Cold starts by phase, and import self-time by package (ms under -X importtime: read as shares)\n"
            + cold_table(results["cold_start"]),
            "5 DynamoDB requests per operation, counted from botocore's events, next to simplejwt's SQL statements\n"
            + dynamodb_table(results["dynamodb_requests"]),
            "6 USD per million operations (AWS list prices, us-east-1; Lambda arm64 at the template's memory sizes)\n"
            + cost_table(model["per_million"]),
            f"Per monthly active customer ({pattern} a month) next to Cognito's per-MAU prices\n"
            + mau_table(model["per_mau"], model["monthly_at_mau"], model["priced_mau"]),
            "SnapStart (EnableSnapStart=true) per function: its charges next to the cold start it takes off "
            f"the request path ({cost.COLD_START_SHARE:.0%} of invocations cold)\n"
            + snapstart_table(model["snapstart"]),
            f"Assumptions: {assumptions}\n"
            f"Wall time {results['wall_seconds']:.0f} s; load average before/after "
            f"{results['load_average']['before']:.2f}/{results['load_average']['after']:.2f}; "
            f"written to {saved_to}",
        ]
    )


def goals_table(goals: list[dict[str, Any]]) -> str:
    lines = [[goal["goal"], goal["target"], goal["measured"], "met" if goal["met"] else "NOT MET"] for goal in goals]
    return table(["goal", "target", "measured", ""], lines)


def figures_table(rows: list[Row]) -> str:
    lines = [
        [
            row.section,
            row.figure,
            shown(row.service),
            row.baseline_label,
            shown(row.baseline),
            ratio_text(row),
            row.note,
        ]
        for row in rows
    ]
    headers = ["", "this service", "median [min-max]", "baseline", "median [min-max]", "ratio", "note"]
    return table(headers, lines)


def cold_table(cold: dict[str, Any]) -> str:
    phases = ("interpreter", "init", "first_event", "init_and_first_event", "total", "peak_rss")
    lines = [
        [
            name,
            *(shown(cold[name][phase]) for phase in phases),
            ", ".join(f"{package} {ms:.0f}" for package, ms in cold[name]["import_self_ms_by_package"].items()),
        ]
        for name in cold
    ]
    headers = [
        "variant",
        "interpreter",
        "init / setup",
        "first answer",
        "init + answer",
        "total",
        "peak RSS",
        "imports",
    ]
    return table(headers, lines)


def dynamodb_table(rows: list[dict[str, Any]]) -> str:
    def cell(value: float | None) -> str:
        return "—" if value is None else str(value) if isinstance(value, int) else number(value)

    lines = [
        [
            row["operation"],
            cell(row["requests"]),
            ", ".join(row["calls"]) or "none",
            cell(row["rru"]),
            cell(row["wru"]),
            cell(row["sql"]),
        ]
        for row in rows
    ]
    return table(["operation", "requests", "calls", "RRU", "WRU", "simplejwt SQL"], lines)


def cost_table(per_million: dict[str, dict[str, float]]) -> str:
    columns = ("lambda_requests", "lambda_compute", "lambda_init", "api_gateway", "dynamodb", "logs", "total")
    lines = [
        [name, str(int(values["billed_ms"])), *(f"${values[column]:.3f}" for column in columns)]
        for name, values in per_million.items()
    ]
    headers = ["operation", "billed ms", "Lambda req", "Lambda GB-s", "init", "API GW", "DynamoDB", "Logs", "total"]
    return table(headers, lines)


def snapstart_table(functions: dict[str, dict[str, float]]) -> str:
    lines = [
        [
            name,
            f"{values['memory_mb']:.0f} MB",
            f"{values['cold_start_ms']:.0f} ms",
            f"${values['cache_per_month']:.2f}",
            f"${values['restores_per_million']:.2f}",
            f"${values['init_compute_per_million']:.3f}",
        ]
        for name, values in functions.items()
    ]
    headers = [
        "function",
        "memory",
        "cold start (at most saved)",
        "cache a month",
        "restores / million invocations",
        "init compute it replaces / million",
    ]
    return table(headers, lines)


def mau_table(per_mau: dict[str, float], monthly: dict[str, float], priced_mau: int) -> str:
    lines = [[name, f"${per_mau[name]:.5f}", f"${monthly[name]:,.0f}"] for name in per_mau]
    return table(["", "per MAU", f"a month at {priced_mau:,} MAU (Cognito: first 10,000 free)"], lines)
