"""A login lockout lasts the whole configured time, wherever in a second it starts.

Found while running the suite: tests/integration/test_login_guard.py (1 s lockouts) now and
then sees the lock already over when it checks, right after the failure that started it.
The guard's own clock is injected here, so the instant is exact rather than a matter of luck.
"""

from __future__ import annotations

from shared.aws import dynamodb_client
from shared.customers.login_guard import LoginGuard
from shared.settings import Settings
from tests.helpers import EMAIL, TABLE_NAME

SOURCE_IP = "198.51.100.9"


def test_a_lockout_started_late_in_a_second_lasts_the_configured_time(aws: None) -> None:
    settings = Settings(TABLE_NAME=TABLE_NAME, LOGIN_MAX_FAILURES=1, LOGIN_LOCKOUT_BASE=30)
    now = [1_800_000_000.9]
    guard = LoginGuard(dynamodb_client(), TABLE_NAME, settings, clock=lambda: now[0])

    assert guard.reserve(guard.read(EMAIL, SOURCE_IP)).locked, "the first attempt locks (LOGIN_MAX_FAILURES=1)"
    now[0] += 29.5  # well inside the 30 s lockout

    assert guard.read(EMAIL, SOURCE_IP).retry_after(now[0]) is not None, "the lock is over after 29.5 s of 30"
