"""The authorizer of this tree next to the one of an earlier commit, interleaved (``make bench-authorizer``).

Usage: python bench/authorizer_versions.py [--base COMMIT] [--rounds 15] [--calls 2000]

Roles in the token (issue 25) add claims to staff tokens and ``groups`` to every Allow's
context; this measures what that costs where it is paid on every request. The base commit
is checked out in a temporary git worktree; each round starts one fresh interpreter per
tree, in alternating order, with the same key, tokens and extension, and each reports:

- cold: ``import functions.authorizer.app`` plus its first Allow, the key through the
  secrets extension (a local server answering the one key), as Lambda's init and first
  invocation pay it (interpreter start excluded);
- warm: the median of ``calls`` handler invocations, for a plain customer's token and for a
  staff member's (``is_staff``, ``is_superuser``, two groups: claims the base tree ignores).

The machine may be shared: the load average is printed before and after, every figure is a
median over the rounds, and the rounds interleave so that load falls on both trees alike.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(1, str(BENCH))

from coldstart import SERVICE_ENVIRONMENT, static_extension  # noqa: E402

GIT = shutil.which("git") or "git"
# The last commit before issue 25 put roles in the token and groups in the authorizer's context.
BEFORE_ROLES = "e0d2571"
CHILD = r"""
import json, os, statistics, sys, time
inputs = json.loads(sys.stdin.read())
sys.path.insert(0, inputs["tree"])
devnull = open(os.devnull, "w")
real_stdout, sys.stdout = sys.stdout, devnull  # the handler's log and metric lines
from types import SimpleNamespace
context = SimpleNamespace(function_name="bench", memory_limit_in_mb=512, aws_request_id="bench",
                          invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench")
def event(token):
    return {"type": "TOKEN", "authorizationToken": "Bearer " + token,
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123def4/prod/GET/api/v1/orders/"}
started = time.perf_counter()
import functions.authorizer.app as app
first = app.lambda_handler(event(inputs["plain"]), context)
cold = time.perf_counter() - started
assert first["policyDocument"]["Statement"][0]["Effect"] == "Allow", first
warm = {}
for kind in ("plain", "staff"):
    incoming = event(inputs[kind])
    assert app.lambda_handler(incoming, context)["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    times = []
    for _ in range(inputs["calls"]):
        before = time.perf_counter()
        app.lambda_handler(incoming, context)
        times.append(time.perf_counter() - before)
    warm[kind] = statistics.median(times)
sys.stdout = real_stdout
print(json.dumps({"cold": cold, "warm": warm}))
"""


def tokens(key: str) -> dict[str, str]:
    now = int(time.time())

    def access(**roles: Any) -> str:
        payload = {"token_type": "access", "exp": now + 3600, "iat": now, "jti": uuid.uuid4().hex, "user_id": "42"}
        return jwt.encode({**payload, "family": uuid.uuid4().hex, **roles}, key, algorithm="HS256")

    return {"plain": access(), "staff": access(is_staff=True, is_superuser=True, groups=["support", "editors"])}


def measure(tree: Path, inputs: dict[str, Any], port: int) -> dict[str, Any]:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "POWERTOOLS_"))},
        **SERVICE_ENVIRONMENT,
        "SIGNING_KEY_SOURCE": "extension",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port),
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", CHILD],
        input=json.dumps({**inputs, "tree": str(tree)}),
        capture_output=True,
        text=True,
        env=environment,
        cwd=tree,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--base", default=BEFORE_ROLES, help=f"the commit to compare with (default: {BEFORE_ROLES}, before roles)"
    )
    parser.add_argument("--rounds", type=int, default=15, help="fresh interpreters per tree (default: 15)")
    parser.add_argument("--calls", type=int, default=2000, help="warm invocations per interpreter (default: 2000)")
    args = parser.parse_args()
    key = secrets.token_urlsafe(48)
    inputs = {**tokens(key), "calls": args.calls}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="authorizer-base-") as scratch:
        base = Path(scratch) / "tree"
        subprocess.run(  # noqa: S603 - git, on this repository
            [GIT, "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(base), args.base], check=True
        )
        try:
            trees = {f"base ({args.base})": base, "this tree": ROOT}
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
            with static_extension(key) as extension:
                for number in range(args.rounds):
                    order = list(trees) if number % 2 == 0 else list(reversed(trees))
                    for name in order:
                        runs[name].append(measure(trees[name], inputs, extension.port))
        finally:
            subprocess.run(  # noqa: S603 - git, on this repository
                [GIT, "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=True
            )
    load_after = os.getloadavg()
    print(
        f"load average before: {' '.join(f'{value:.2f}' for value in load_before)}; "
        f"after: {' '.join(f'{value:.2f}' for value in load_after)} ({os.cpu_count()} CPUs)"
    )
    print(f"{'authorizer':<22}{'cold: import + 1st Allow':>26}{'warm, customer token':>22}{'warm, staff token':>20}")
    summary = {}
    for name, results in runs.items():
        cold = statistics.median(result["cold"] for result in results) * 1000
        plain = statistics.median(result["warm"]["plain"] for result in results) * 1e6
        staff = statistics.median(result["warm"]["staff"] for result in results) * 1e6
        summary[name] = {"cold_ms": round(cold, 2), "warm_plain_us": round(plain, 1), "warm_staff_us": round(staff, 1)}
        print(f"{name:<22}{cold:>23.1f} ms{plain:>19.1f} us{staff:>17.1f} us")
    print(json.dumps({"rounds": args.rounds, "calls": args.calls, "load": [load_before, load_after], **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
