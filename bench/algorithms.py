"""Authorizer cost per signing algorithm: warm decision and cold import.

Warm: ``RequestAuthorizer.decide`` on one valid access token, median of 2,000 calls after
warm-up, per algorithm (HS256 with the key set's kid, RS256, ES256, EdDSA). Cold: a fresh
interpreter (``-S``) imports functions/authorizer/app.py and makes its first decision,
median of 7; HS256 runs with ``cryptography`` unimportable, as its bundle has none; the
asymmetric algorithms load it from the layer the template attaches.

Run: .venv/bin/python bench/algorithms.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.tokens.keyset import KeySet  # noqa: E402

ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
SITE_PACKAGES = ":".join(path for path in sys.path if "site-packages" in path)
COLD = """
import sys, time
started = time.perf_counter()
if sys.argv[2] == "HS256":
    sys.modules["cryptography"] = None
sys.path[:0] = [sys.argv[1]]
from shared.tokens.keyset import parse
from shared.settings import Settings
from shared.tokens.minting import TokenService
from shared.tokens.authorizer import RequestAuthorizer
imported = time.perf_counter()
secret, token = sys.stdin.read().split("\\n", 1)
class Keys:
    def get(self): return parse(secret)
    def refetch_for_unknown_kid(self): return parse(secret)
decision = RequestAuthorizer(TokenService(Settings(), Keys())).decide("Bearer " + token.strip())
assert decision.allowed
print((imported - started) * 1000, (time.perf_counter() - started) * 1000)
"""


class FixedKeys:
    """A key set that never changes (no Secrets Manager in a CPU benchmark)."""

    def __init__(self, keyset: KeySet) -> None:
        self._keyset = keyset

    def get(self) -> KeySet:
        return self._keyset

    def refetch_for_unknown_kid(self) -> KeySet:
        return self._keyset


def main() -> int:
    from shared.settings import Settings
    from shared.tokens.authorizer import RequestAuthorizer
    from shared.tokens.keyset import parse, rotate
    from shared.tokens.minting import TokenService

    base_key = os.urandom(32).hex()
    print(f"{'algorithm':<10}{'warm decide µs':>16}{'cold import ms':>16}{'import+first decision ms':>26}")
    for algorithm in ALGORITHMS:
        secret = rotate(base_key, algorithm, 259200)

        tokens = TokenService(Settings(), FixedKeys(parse(secret)))
        access = tokens.issue_pair("1")["access"]
        authorizer = RequestAuthorizer(tokens)
        header = f"Bearer {access}"
        for _ in range(200):
            assert authorizer.decide(header).allowed
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            for _ in range(100):
                authorizer.decide(header)
            samples.append((time.perf_counter() - started) / 100 * 1e6)
        cold = []
        for _ in range(7):
            result = subprocess.run(  # noqa: S603 - our own interpreter
                [sys.executable, "-S", "-c", COLD, str(ROOT), algorithm],
                input=f"{secret}\n{access}",
                capture_output=True,
                text=True,
                check=True,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": SITE_PACKAGES},
            )
            cold.append([float(value) for value in result.stdout.split()])
        imports = statistics.median(row[0] for row in cold)
        firsts = statistics.median(row[1] for row in cold)
        print(f"{algorithm:<10}{statistics.median(samples):>16.1f}{imports:>16.1f}{firsts:>26.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
