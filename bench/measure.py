"""Timing shared by both sides of every comparison (standard library only).

The service side (project venv) and the Django side (Django venv) each load this file and
serve their figures over a line protocol on stdin/stdout; bench/interleave.py asks both in
turn, batch by batch, so a figure and its baseline are timed by the same loop, in the same
rounds: anything else running on the machine lands on both alike. Per figure: one call,
then a loop count doubling until a batch takes ``MIN_BATCH_S`` (the warm-up, never
counted), then timed batches. The garbage collector stays on (it is part of what a call
costs) but is emptied before each figure's warm-up.

A figure may have a preparation, called with the loop count before every batch (warm-up
batches included) and outside its timing: calls that use something up, such as a refresh
token a rotating refresh retires, take a fresh one per call from what it made ready.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

MIN_BATCH_S = 0.05
# Samples are nanoseconds for times and KiB for memory.
UNIT_SCALE = {"us": 1e3, "ms": 1e6, "MiB": 1024}

Figures = dict[str, tuple[Callable[[], object], str]]  # name: (call, "us" or "ms")
Preparations = dict[str, Callable[[int], object]]  # name: makes ready what ``loops`` calls use up


def summary(samples: list[float], unit: str, **extra: Any) -> dict[str, Any]:
    """Median, min and max of samples, in ``unit`` ("us", "ms" or "MiB")."""
    scale = UNIT_SCALE[unit]
    values = [sample / scale for sample in samples]
    return {
        "unit": unit,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
        **extra,
    }


def calibrate(fn: Callable[[], object], prepare: Callable[[int], object] | None = None) -> int:
    """Loops per batch: doubled until a batch takes MIN_BATCH_S (1 for slow calls); the warm-up."""
    gc.collect()
    if prepare is not None:
        prepare(1)
    fn()
    loops = 1
    while batch_ns(fn, loops, prepare) < MIN_BATCH_S * 1e9:
        loops *= 2
    return loops


def batch_ns(fn: Callable[[], object], loops: int, prepare: Callable[[int], object] | None = None) -> int:
    """Nanoseconds for ``loops`` calls; the preparation runs before the clock starts."""
    if prepare is not None:
        prepare(loops)
    start = time.perf_counter_ns()
    for _ in range(loops):
        fn()
    return time.perf_counter_ns() - start


def serve(
    figures: Figures, report: Callable[[], dict[str, Any]], out: TextIO, preparations: Preparations | None = None
) -> None:
    """Answer bench/interleave.py: the figures' units, warm-ups, batches, then the side's report.

    One JSON object per line each way: ``{"calibrate": name}`` -> ``{"loops": n}``;
    ``{"batch": name, "loops": n}`` -> ``{"ns": elapsed}``; ``{"finish": true}`` -> the report.
    """

    def answer(value: dict[str, Any]) -> None:
        out.write(json.dumps(value) + "\n")
        out.flush()

    prepared = preparations or {}
    answer({"units": {name: unit for name, (_, unit) in figures.items()}})
    for line in sys.stdin:
        command = json.loads(line)
        if "calibrate" in command:
            name = command["calibrate"]
            answer({"loops": calibrate(figures[name][0], prepared.get(name))})
        elif "batch" in command:
            name = command["batch"]
            answer({"ns": batch_ns(figures[name][0], command["loops"], prepared.get(name))})
        else:
            answer(report())
            return


def peak_rss_kib() -> int:
    """This process's peak resident set size since it started its program, in KiB.

    VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over from the parent across fork
    and exec, so a child of a larger process would report at least its parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
