"""Login abuse protection: lockouts per account and per source IP, through the real handler."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from shared.customers.passwords import PasswordHasher
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event

LOCKED = {"detail": "Too many failed login attempts. Try again later.", "code": "throttled"}
NO_ACCOUNT = {"detail": "No active account found with the given credentials"}
Login = Callable[..., HttpAnswer]


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three failures lock an account for 1 s, then 2 s; an IP locks after ten."""
    for name, value in {"LOGIN_MAX_FAILURES": "3", "LOGIN_LOCKOUT_BASE": "1", "LOGIN_IP_MAX_FAILURES": "10"}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def login(limits: None, call: Callable[..., HttpAnswer], customer: Any) -> Login:
    def attempt(email: str = EMAIL, password: str = PASSWORD, source_ip: str = "198.51.100.7") -> HttpAnswer:
        event = json_event("obtain_token_ok", {"email": email, "password": password})
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        return call("obtain_token", event)

    return attempt


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts every password hash and verify the service runs."""
    counts: Counter[str] = Counter()
    real_verify, real_hash = PasswordHasher.verify, PasswordHasher.hash

    def verify(self: PasswordHasher, password: str, encoded: str) -> bool:
        counts["verify"] += 1
        return real_verify(self, password, encoded)

    def hash_(self: PasswordHasher, password: str) -> str:
        counts["hash"] += 1
        return real_hash(self, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    monkeypatch.setattr(PasswordHasher, "hash", hash_)
    return counts


def counter(pk: str) -> int:
    item = boto3.client("dynamodb", region_name=REGION).get_item(TableName=TABLE_NAME, Key={"pk": {"S": pk}})
    return int(item.get("Item", {}).get("count", {}).get("N", "0"))


def fail(login: Login, times: int, email: str = EMAIL) -> None:
    for _ in range(times):
        assert login(email, "wrong-password").body == NO_ACCOUNT


def assert_locked(answer: HttpAnswer, retry_after: int) -> None:
    assert (answer.status, answer.body) == (429, LOCKED)
    assert answer.headers["retry-after"] == str(retry_after)


def test_n_failures_lock_the_account_even_for_the_right_password(login: Login) -> None:
    fail(login, 3)
    assert_locked(login(), retry_after=1)


def test_the_lock_expires_and_the_right_password_then_works(login: Login) -> None:
    fail(login, 3)
    time.sleep(1.1)
    assert login().status == 200


def test_lockouts_grow_exponentially(login: Login) -> None:
    fail(login, 3)
    time.sleep(1.1)
    fail(login, 3)
    assert_locked(login(), retry_after=2)


def test_a_success_resets_the_account_counter(login: Login) -> None:
    fail(login, 2)
    assert login().status == 200
    fail(login, 2)
    assert login().status == 200, "two failures after a success do not add up to three"


def test_an_email_that_does_not_exist_locks_the_same_way(login: Login) -> None:
    fail(login, 3, email="nobody@example.com")
    assert_locked(login("nobody@example.com", PASSWORD), retry_after=1)


def test_failures_count_per_normalised_email(login: Login) -> None:
    fail(login, 1, email=EMAIL)
    fail(login, 1, email=EMAIL.upper())
    fail(login, 1, email=f"  {EMAIL} ")
    assert_locked(login(), retry_after=1)


def test_one_source_ip_is_limited_across_accounts(login: Login) -> None:
    for number in range(10):
        login(f"victim{number}@example.com", "guess", source_ip="203.0.113.66")
    assert_locked(login(source_ip="203.0.113.66"), retry_after=1)
    assert login(source_ip="198.51.100.8").status == 200, "other sources are not affected"


def test_concurrent_failures_are_all_counted(
    login: Login, atomic_requests: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "100")
    monkeypatch.setenv("LOGIN_IP_MAX_FAILURES", "100")
    assert login(password="warm-up").status == 401  # cold start before the threads, and one failure

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: login(password="wrong").status, range(12)))

    assert statuses == [401] * 12
    assert counter(f"FAIL#{EMAIL}") == 13
    assert counter("FAILIP#198.51.100.7") == 13


def test_every_refusal_hashes_once_and_a_lock_not_at_all(
    login: Login, make_customer: Callable[..., Any], hashes: Counter[str]
) -> None:
    make_customer("inactive@example.com", customer_id="9", is_active=False)
    assert login().status == 200  # the cold start (it computes the dummy hash once) is not a request
    for email, password in (("nobody@example.com", PASSWORD), (EMAIL, "wrong"), ("inactive@example.com", PASSWORD)):
        hashes.clear()
        assert login(email, password).body == NO_ACCOUNT
        assert hashes == {"verify": 1}
    fail(login, 2)
    hashes.clear()
    assert login().status == 429
    assert sum(hashes.values()) == 0


def test_an_oversized_password_is_refused_before_any_hashing(login: Login, hashes: Counter[str]) -> None:
    assert login().status == 200  # the cold start (it computes the dummy hash once) is not a request
    hashes.clear()
    answer = login(password="x" * 4097)
    assert (answer.status, answer.body) == (400, {"password": ["Ensure this field has no more than 4096 characters."]})
    assert sum(hashes.values()) == 0


def test_given_successes_from_one_ip_when_they_reach_the_ip_limit_then_it_is_not_locked(login: Login) -> None:
    """Every attempt is counted before its password is checked; a success gives the IP's count back."""
    for _ in range(12):
        assert login(source_ip="203.0.113.80").status == 200
    assert counter("FAILIP#203.0.113.80") == 0


def test_given_the_attempt_that_reaches_the_limit_is_right_then_it_succeeds_and_no_lock_remains(
    login: Login,
) -> None:
    fail(login, 2)
    assert login().status == 200, "the third attempt reserved the last slot, and it was the right password"
    assert login().status == 200
    assert counter(f"FAIL#{EMAIL}") == 0
