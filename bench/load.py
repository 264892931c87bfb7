"""`make local` under load: dozens of clients logging in, refreshing, reading and logging out.

Each client repeats one session for ``--duration`` seconds: login (POST /auth/token/), then
``--refreshes`` rotating refreshes (each with the refresh token the previous one returned),
each followed by the caller's profile (GET /api/v1/customers/<id>/), then logout
(POST /auth/token/blacklist/), then one more refresh with the last token, which must be
refused. Every session opens its own connection, and all clients start at once: a burst.
Each client's first session warms the server up (its containers start, as cold Lambdas do):
its failures count, its times do not; the timed run starts when every client has done one.

It fails (exit code 1) on any of: a connection reset or refused, a 5xx, a lost session (a
refresh or profile refused before the logout), a logout that did not take (the refresh after
it accepted). It prints the throughput and p50 / p99 latency per endpoint.

By default it starts the local server itself on free ports (``--containers`` per function,
like `make local CONTAINERS=8`) and stops it at the end; ``--url`` targets a running one, with
the ``export`` lines of its banner set (the clients' customers are made in its table).

Run: .venv/bin/python bench/load.py --duration 60 --clients 32   (make bench-load)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests

ROOT = Path(__file__).resolve().parent.parent
# Each client logs in as its own customer, as real visitors do (one email's concurrent logins
# would meet the login guard, which counts attempts per email).
CUSTOMER_EMAIL = "load-{}@example.com"
READY = "Ctrl-C stops everything"
TIMEOUT = 60  # seconds for one answer: a loaded machine queues requests, it must not drop them
ENDPOINTS = ("login", "refresh", "profile", "logout", "refresh after logout")
FAILURES = (
    "connection reset or refused",
    "5xx",
    "login refused",
    "lost session",
    "logout refused",
    "logout not effective",
)


@dataclass
class Tally:
    """What every client saw, merged under one lock."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sessions: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    timing: bool = True

    def record(self, endpoint: str, seconds: float) -> None:
        if self.timing:
            with self.lock:
                self.latencies[endpoint].append(seconds)

    def warming_up(self) -> Tally:
        """The same failures and lock, no latencies, no session count: for the warm-up session."""
        return Tally(self.latencies, self.failures, 0, self.lock, timing=False)

    def fail(self, kind: str, detail: str) -> None:
        with self.lock:
            self.failures[kind].append(detail)


class SessionBroken(Exception):
    """This session cannot go on (its failure is already counted)."""


def timed(tally: Tally, endpoint: str, call: Any, *args: Any, **kwargs: Any) -> requests.Response:
    """One request; a reset, a refused connection or a 5xx is counted and ends the session."""
    started = time.perf_counter()
    try:
        answer: requests.Response = call(*args, timeout=TIMEOUT, **kwargs)
    except requests.ConnectionError as error:
        tally.fail("connection reset or refused", f"{endpoint}: {error}")
        raise SessionBroken from None
    tally.record(endpoint, time.perf_counter() - started)
    if answer.status_code >= 500:
        tally.fail("5xx", f"{endpoint}: {answer.status_code} {answer.text[:200]}")
        raise SessionBroken
    return answer


def one_session(url: str, credentials: dict[str, str], refreshes: int, tally: Tally) -> None:
    with requests.Session() as http:  # its own connection, as a new visitor's
        login = timed(tally, "login", http.post, f"{url}/auth/token/", json=credentials)
        if login.status_code != 200:
            tally.fail("login refused", f"{login.status_code} {login.text[:200]}")
            raise SessionBroken
        pair = login.json()
        user_id = jwt.decode(pair["access"], options={"verify_signature": False})["user_id"]
        refresh, access = pair["refresh"], pair["access"]
        for _ in range(refreshes):
            renewed = timed(tally, "refresh", http.post, f"{url}/auth/token/refresh/", json={"refresh": refresh})
            if renewed.status_code != 200:
                tally.fail("lost session", f"refresh: {renewed.status_code} {renewed.text[:200]}")
                raise SessionBroken
            access, refresh = renewed.json()["access"], renewed.json().get("refresh", refresh)
            profile = timed(
                tally,
                "profile",
                http.get,
                f"{url}/api/v1/customers/{user_id}/",
                headers={"Authorization": f"Bearer {access}"},
            )
            if profile.status_code != 200:
                tally.fail("lost session", f"profile: {profile.status_code} {profile.text[:200]}")
                raise SessionBroken
        logout = timed(tally, "logout", http.post, f"{url}/auth/token/blacklist/", json={"refresh": refresh})
        if logout.status_code != 200:
            tally.fail("logout refused", f"{logout.status_code} {logout.text[:200]}")
            raise SessionBroken
        after = timed(tally, "refresh after logout", http.post, f"{url}/auth/token/refresh/", json={"refresh": refresh})
        if after.status_code != 401:
            tally.fail("logout not effective", f"refresh after logout: {after.status_code}")
    if tally.timing:
        with tally.lock:
            tally.sessions += 1


def client(
    url: str,
    credentials: dict[str, str],
    refreshes: int,
    duration: float,
    barriers: tuple[threading.Barrier, threading.Barrier],
    tally: Tally,
) -> None:
    """One warm-up session (failures counted, times not: it starts the containers), then the timed ones."""
    warm_up, timed_start = barriers
    warm_up.wait()
    with contextlib.suppress(SessionBroken):
        one_session(url, credentials, refreshes, tally.warming_up())
    timed_start.wait()
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        with contextlib.suppress(SessionBroken):
            one_session(url, credentials, refreshes, tally)


def create_customers(count: int) -> list[dict[str, str]]:
    """One customer per client in the server's table (``AWS_ENDPOINT_URL_DYNAMODB`` and
    ``TABLE_NAME`` as its banner exports them), with a password made for this run."""
    import boto3

    from shared.aws import client_config
    from shared.customers.passwords import PasswordHasher
    from shared.customers.record import DuplicateCustomer
    from shared.customers.store import CustomerStore
    from shared.settings import Settings

    settings = Settings.from_environ()
    store = CustomerStore(
        boto3.session.Session().client("dynamodb", config=client_config(settings)), settings.TABLE_NAME
    )
    password = secrets.token_urlsafe(16)
    password_hash = PasswordHasher(settings).hash(password)
    customers = []
    for number in range(count):
        email = CUSTOMER_EMAIL.format(number)
        try:
            store.create(email, password_hash)
        except DuplicateCustomer:  # a running server from an earlier run: give it this run's password
            existing = store.find_by_email(email)
            assert existing is not None
            store.set_password_hash(existing, password_hash, time.time())
        customers.append({"email": email, "password": password})
    return customers


def run_load(url: str, clients: int, duration: float, refreshes: int) -> tuple[Tally, float]:
    tally = Tally()
    barriers = (threading.Barrier(clients), threading.Barrier(clients + 1))
    threads = [
        threading.Thread(target=client, args=(url, credentials, refreshes, duration, barriers, tally), daemon=True)
        for credentials in create_customers(clients)
    ]
    for thread in threads:
        thread.start()
    barriers[1].wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - began


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_server(containers: int) -> Iterator[str]:
    """`make local CONTAINERS=n` on free ports, its own moto, stopped (SIGTERM) at the end."""
    port = free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "tools.local_server",
            "--port",
            str(port),
            "--storage-port",
            str(free_port()),
            "--max-containers",
            str(containers),
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert server.stdout is not None
    try:
        banner: list[str] = []
        while not banner or READY not in banner[-1]:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the local server did not start:\n" + "".join(banner))
            banner.append(line)
        # What the banner tells authctl: where its storage is, so customers can be made there.
        for line in banner:
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                os.environ[name] = value
        # Its per-request log is read and dropped, or a full pipe would block the server.
        threading.Thread(target=server.stdout.read, daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(tally: Tally, elapsed: float, clients: int, containers: int | None) -> bool:
    """Print the figures and the failures; True when there were none."""
    where = f"{containers} containers per function" if containers else "a running server"
    total = sum(len(values) for values in tally.latencies.values())
    print(f"{clients} clients for {elapsed:.1f} s against {where} ({os.cpu_count()} CPUs)")
    print(f"{'endpoint':<22}{'requests':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for endpoint in ENDPOINTS:
        values = tally.latencies.get(endpoint, [])
        if values:
            p50, p99 = statistics.median(values) * 1000, percentile(values, 0.99) * 1000
            print(f"{endpoint:<22}{len(values):>9}{len(values) / elapsed:>9.1f}{p50:>9.1f}{p99:>9.1f}")
    print(f"{'all':<22}{total:>9}{total / elapsed:>9.1f}")
    print(f"sessions completed (login to refused refresh after logout): {tally.sessions}")
    for kind in FAILURES:
        found = tally.failures.get(kind, [])
        print(f"{kind}: {len(found)}" + (f" (first: {found[0]})" if found else ""))
    return not tally.failures and tally.sessions > 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running local API (default: start one on free ports)")
    parser.add_argument("--containers", type=int, default=8, help="containers per function of the started server")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--refreshes", type=int, default=3, help="rotating refreshes per session (default 3)")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as running:
        url = args.url.rstrip("/") if args.url else running.enter_context(local_server(args.containers))
        tally, elapsed = run_load(url, args.clients, args.duration, args.refreshes)
    return 0 if report(tally, elapsed, args.clients, None if args.url else args.containers) else 1


if __name__ == "__main__":
    sys.exit(main())
