"""The functions' cold starts in this tree next to another checkout's (e.g. main), interleaved.

Usage: coldstart_against.py OTHER_ROOT [--runs N]

make bench's cold-start measurement (bench/coldstart.py: a fresh interpreter per run, spawn to
first answer, the event needing no AWS call) for the token functions of both trees, run
round-robin (this tree's obtain, the other's obtain, this tree's refresh, ...) so that load on a
shared machine hits both alike; the first round only compiles byte code. Both trees run on this
venv's interpreter and packages, each with its own code (bench/cold_child.py imports the tree it
sits in). The social function (this tree only) is measured too, with cryptography (its layer).
Prints the load average before and after and each variant's median [min-max] in ms, and for
each token function whether both trees' handlers load the same modules (on a loaded machine
the timings' spread is wide; the same modules loaded is the cold start unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from coldstart import SERVICE_ENVIRONMENT, Variant, _phases, run_once

BENCH = Path(__file__).resolve().parent
TOKEN_FUNCTIONS = (
    ("obtain_token", "obtain_token_missing_field"),
    ("refresh_token", "refresh_token_missing_field"),
    ("verify_token", "verify_token_missing_field"),
    ("blacklist_token", "blacklist_token_missing_field"),
)


def variant(root: Path, label: str, function: str, event: str, *, cryptography: bool = False) -> Variant:
    arguments = [str(root / "bench" / "cold_child.py"), function, str(root / "events" / f"{event}.json")]
    return Variant(
        name=f"{function} ({label})",
        interpreter=sys.executable,
        arguments=[*arguments, "--with-cryptography"] if cryptography else arguments,
        environment=dict(SERVICE_ENVIRONMENT),
        expected={"statusCode": 404 if function == "social" else 400},
    )


LOADED = """
import json, sys
sys.path[0] = sys.argv[1]
import functions.{function}.app
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(root: Path, function: str) -> list[str]:
    """Every module the handler's import (its init) loads, in a fresh interpreter of this venv."""
    result = subprocess.run(  # noqa: S603 - our interpreter and code
        [sys.executable, "-S", "-c", LOADED.format(function=function), str(root)],
        capture_output=True,
        text=True,
        env=dict(SERVICE_ENVIRONMENT),
        check=True,
    )
    modules: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return modules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("other", type=Path, help="the other checkout's root (e.g. a worktree of main)")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    here = BENCH.parent
    planned = [
        variant(root, label, function, event)
        for function, event in TOKEN_FUNCTIONS
        for root, label in ((here, "this tree"), (args.other.resolve(), "other"))
    ]
    planned.append(variant(here, "this tree", "social", "social_google_sign_in", cryptography=True))
    before = os.getloadavg()
    reports: dict[str, list[dict[str, object]]] = {item.name: [] for item in planned}
    for round_number in range(args.runs + 1):
        for item in planned:
            report, _ = run_once(item)
            if round_number:
                reports[item.name].append(report)
    after = os.getloadavg()
    print(f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, after {after[0]:.2f} {after[1]:.2f}")
    for name, runs in reports.items():
        total = _phases(runs)["total"]
        print(f"{name:32} {total['median']:7.1f} ms [{total['min']:.1f}-{total['max']:.1f}]  ({len(runs)} runs)")
    for function, _ in TOKEN_FUNCTIONS:
        mine, theirs = loaded_modules(here, function), loaded_modules(args.other.resolve(), function)
        extra, missing = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
        same = "the same" if not extra and not missing else f"+{extra} -{missing}"
        print(f"{function}: {len(mine)} modules loaded at init here, {len(theirs)} in the other tree: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
