"""Logins, refreshes, logouts and customer updates in parallel threads against moto.

``atomic_requests`` (tests/conftest.py) makes each moto request atomic, as each DynamoDB
request is, so these tests check the service's conditional writes, not moto's thread
safety. Where a race needs one exact interleaving, a hook runs the competing write at that
point (between a login's read and its write) instead of hoping the scheduler finds it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from shared import services
from shared.customers.passwords import PasswordHasher
from shared.customers.record import Customer
from shared.customers.store import CustomerStore
from shared.settings import get_settings
from tests.adversarial.stack import TOKEN_FUNCTIONS
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event

# One thread's flush may publish another's metrics (one process here, many containers on Lambda).
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
NEW_PASSWORD = "N3w-Passw0rd-after-the-change"
BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
Call = Callable[..., HttpAnswer]


def post(call: Call, function: str, body: Any) -> HttpAnswer:
    name, path, resource = TOKEN_FUNCTIONS[function]
    event = json_event(name, body)
    event["path"], event["resource"] = path, resource
    return call(function, event)


def login(call: Call, email: str = EMAIL, password: str = PASSWORD) -> HttpAnswer:
    return post(call, "obtain_token", {"email": email, "password": password})


def item(pk: str) -> dict[str, Any]:
    found: dict[str, Any] = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=TABLE_NAME, Key={"pk": {"S": pk}}
    )["Item"]
    return found


def warm(call: Call, *functions: str) -> None:
    """Cold-start the functions before the threads (the test's ``call`` loads them lazily)."""
    for function in functions:
        assert post(call, function, {}).status == 400


@pytest.fixture(autouse=True)
def one_container_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each thread stands for a concurrent Lambda container, which serves one event at a time
    and flushes its own metrics. Powertools keeps metrics in a class-level dict shared by every
    instance in the process, so here the threads' metric calls take turns (unlocked, a flush
    can iterate the dict while another thread adds to it): their requests to DynamoDB still
    interleave freely."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    lock = threading.RLock()
    for name in ("add_metric", "flush_metrics", "serialize_metric_set", "clear_metrics"):
        method = getattr(AmazonCloudWatchEMFProvider, name)

        def locked(*args: Any, __method: Callable[..., Any] = method, **kwargs: Any) -> Any:
            with lock:
                return __method(*args, **kwargs)

        monkeypatch.setattr(AmazonCloudWatchEMFProvider, name, locked)


@pytest.fixture
def many_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every login attempt in flight holds one of the account's LOGIN_MAX_FAILURES slots until
    it succeeds (shared/customers/login_guard.py): tests of many simultaneous logins lift the limit."""
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "100")
    monkeypatch.setenv("LOGIN_IP_MAX_FAILURES", "100")


@pytest.fixture
def rotating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")


@pytest.fixture
def recorded_logins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every ``last_login`` value a login tried to write."""
    written: list[str] = []
    real = CustomerStore.record_login

    def record(self: CustomerStore, login: Any, when: str) -> str:
        written.append(when)
        return real(self, login, when)

    monkeypatch.setattr(CustomerStore, "record_login", record)
    return written


def django_hash(password: str, salt: str = "raceconditionsalt01234") -> str:
    digest = base64.b64encode(hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000)).decode()
    return f"pbkdf2_sha256$100000${salt}${digest}"


def verifies(password: str, pk: str) -> bool:
    return PasswordHasher(get_settings()).verify(password, item(pk)["password_hash"]["S"])


def test_parallel_logins_leave_the_latest_last_login(
    atomic_requests: None, call: Call, customer: Customer, recorded_logins: list[str], many_attempts: None
) -> None:
    warm(call, "obtain_token")
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: login(call).status, range(10)))

    assert statuses == [200] * 10
    assert len(recorded_logins) == 10
    assert item("CUSTOMER#1")["last_login"]["S"] == max(recorded_logins)


def test_customer_updates_in_parallel_with_logins_lose_neither(
    atomic_requests: None, call: Call, customer: Customer, recorded_logins: list[str], many_attempts: None
) -> None:
    """revoke-sessions and activate write other attributes of the same items: no update is lost."""
    warm(call, "obtain_token")
    store = services.customer_store()
    revoked_at = time.time() - 3600  # in the past: the logins need not wait out its second

    def update(number: int) -> int:
        if number % 3 == 0:
            store.revoke_sessions(customer, revoked_at + number)
        else:
            store.set_active(customer, True)
        return 200

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda number: login(call).status if number % 2 else update(number), range(24)))

    assert results == [200] * 24
    assert item("CUSTOMER#1")["last_login"]["S"] == max(recorded_logins)
    assert float(item("CUSTOMER#1")["tokens_valid_after"]["N"]) >= revoked_at
    assert item("EMAIL#customer@example.com")["is_active"] == {"BOOL": True}


def test_a_password_change_between_a_logins_read_and_its_hash_upgrade_wins(
    call: Call, make_customer: Callable[..., Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The login verified the old Django hash and is about to write its argon2 upgrade when the
    customer's password changes: the change stays, and the login is refused."""
    migrated = make_customer("migrated@example.com", customer_id="8", password_hash=django_hash(PASSWORD))
    warm(call, "obtain_token")
    real_hash = PasswordHasher.hash
    changed: list[bool] = []

    def change_password_first(self: PasswordHasher, password: str) -> str:
        if password == PASSWORD and not changed:
            changed.append(True)
            services.customer_store().set_password_hash(migrated, real_hash(self, NEW_PASSWORD), time.time() - 10)
        return real_hash(self, password)

    monkeypatch.setattr(PasswordHasher, "hash", change_password_first)

    answer = login(call, "migrated@example.com")

    assert changed == [True]
    assert (answer.status, answer.body) == (401, {"detail": "No active account found with the given credentials"})
    assert verifies(NEW_PASSWORD, "CUSTOMER#8")
    assert verifies(NEW_PASSWORD, "EMAIL#migrated@example.com")


def test_a_password_change_during_parallel_logins_is_never_overwritten_by_a_hash_upgrade(
    atomic_requests: None, call: Call, make_customer: Callable[..., Customer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_MAX_FAILURES", "100")  # the refused logins are not what is tested here
    migrated = make_customer("migrated@example.com", customer_id="8", password_hash=django_hash(PASSWORD))
    warm(call, "obtain_token")
    new_hash = PasswordHasher(get_settings()).hash(NEW_PASSWORD)
    started = time.monotonic()

    def attempt(number: int) -> int:
        """Logins start 30 ms apart (about one login each); the password changes in between."""
        time.sleep(max(0.0, started + number * 0.03 - time.monotonic()))
        if number == 5:
            services.customer_store().set_password_hash(migrated, new_hash, time.time() - 10)
            return 0
        return login(call, "migrated@example.com").status

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = Counter(pool.map(attempt, range(12)))

    assert set(statuses) <= {0, 200, 401}
    assert item("CUSTOMER#8")["password_hash"]["S"] == new_hash
    assert item("EMAIL#migrated@example.com")["password_hash"]["S"] == new_hash
    assert login(call, "migrated@example.com").status == 401, "the old password no longer works"
    assert login(call, "migrated@example.com", NEW_PASSWORD).status == 200


def test_a_deactivation_between_a_logins_read_and_its_write_refuses_the_login(
    call: Call, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm(call, "obtain_token")
    real_verify = PasswordHasher.verify

    def deactivate_after_verifying(self: PasswordHasher, password: str, encoded: str) -> bool:
        verified = real_verify(self, password, encoded)
        services.customer_store().set_active(customer, False)
        return verified

    monkeypatch.setattr(PasswordHasher, "verify", deactivate_after_verifying)

    answer = login(call)

    assert (answer.status, answer.body) == (401, {"detail": "No active account found with the given credentials"})
    assert item("CUSTOMER#1")["last_login"] == {"NULL": True}


def test_parallel_refreshes_of_many_tokens_rotate_each_token_exactly_once(
    rotating: None, atomic_requests: None, call: Call, customer: Customer
) -> None:
    refresh_tokens = [login(call).body["refresh"] for _ in range(5)]
    warm(call, "refresh_token")

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(
            pool.map(lambda token: (token, post(call, "refresh_token", {"refresh": token})), refresh_tokens * 6)
        )

    winners = Counter(token for token, answer in answers if answer.status == 200)
    assert winners == dict.fromkeys(refresh_tokens, 1)
    assert all(answer.body == BLACKLISTED for _, answer in answers if answer.status != 200)


def test_a_logout_racing_a_refresh_of_the_same_token_lets_at_most_one_through(
    rotating: None, atomic_requests: None, call: Call, customer: Customer
) -> None:
    refresh_tokens = [login(call).body["refresh"] for _ in range(6)]
    warm(call, "refresh_token", "blacklist_token")
    requests = [(function, token) for token in refresh_tokens for function in ("refresh_token", "blacklist_token")]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda request: (request[1], post(call, request[0], {"refresh": request[1]})), requests)
        )

    successes = Counter(token for token, answer in answers if answer.status == 200)
    assert all(count == 1 for count in successes.values())
    assert set(successes) == set(refresh_tokens), "each token ends one way or the other"
