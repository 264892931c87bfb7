"""What the issuer's iss and aud checks cost the authorizer, per asymmetric algorithm.

Warm ``RequestAuthorizer.decide`` on one valid access token, with and without ``ISSUER`` and
``AUDIENCE``: samples of 100 calls, the two variants interleaved sample by sample so a busy
machine slows both alike; medians of 30 samples after warm-up. Also the token's size.

Run: .venv/bin/python bench/oidc.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from algorithms import FixedKeys  # noqa: E402

ISSUER = "https://auth.shop.example"
AUDIENCE = "shop-api"


def sample(decide: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(100):
        decide()
    return (time.perf_counter() - started) / 100 * 1e6


def main() -> int:
    from shared.settings import Settings
    from shared.tokens.authorizer import RequestAuthorizer
    from shared.tokens.keyset import parse, rotate
    from shared.tokens.minting import TokenService

    print(f"{'algorithm':<10}{'decide µs':>12}{'+ iss, aud µs':>16}{'token bytes':>14}{'+ iss, aud':>12}")
    for algorithm in ("RS256", "ES256", "EdDSA"):
        keys = FixedKeys(parse(rotate(os.urandom(32).hex(), algorithm, 259200)))
        variants = []
        for settings in (
            Settings(ALGORITHM=algorithm),
            Settings(ALGORITHM=algorithm, ISSUER=ISSUER, AUDIENCE=AUDIENCE),
        ):
            tokens = TokenService(settings, keys)
            access = tokens.issue_pair("1")["access"]
            authorizer = RequestAuthorizer(tokens)
            header = f"Bearer {access}"
            assert authorizer.decide(header).allowed
            variants.append((len(access), lambda authorizer=authorizer, header=header: authorizer.decide(header)))
        for _ in range(5):
            for _, decide in variants:
                sample(decide)
        samples: list[list[float]] = [[], []]
        for _ in range(30):
            for index, (_, decide) in enumerate(variants):
                samples[index].append(sample(decide))
        plain, checked = (statistics.median(values) for values in samples)
        print(f"{algorithm:<10}{plain:>12.1f}{checked:>16.1f}{variants[0][0]:>14}{variants[1][0]:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
