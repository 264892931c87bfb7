"""`make local` starting and stopping: taken ports, SIGTERM, SIGINT when a shell ignored it."""

from __future__ import annotations

import contextlib
import json
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.client.server import run_authctl
from tests.helpers import ROOT
from tests.local_api import (
    free_port,
    process_group,
    server_environment,
    start_server,
    stop_server,
    wait_for_banner,
)

EXIT_WITHIN = 10  # seconds: "a few seconds", with room for a loaded machine


@contextlib.contextmanager
def listening() -> Iterator[int]:
    """A port something else listens on, as Django's runserver holds 8000."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.fixture
def taken_port() -> Iterator[int]:
    with listening() as port:
        yield port


def start_and_wait_for_exit(*arguments: str) -> tuple[int, list[str], float]:
    started = time.monotonic()
    server = start_server(*arguments)
    try:
        output, _ = server.communicate(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        stop_server(server)
        pytest.fail(f"the server did not exit within {EXIT_WITHIN} s")
    return server.returncode, output.splitlines(), time.monotonic() - started


def test_given_the_storage_port_is_taken_when_the_server_starts_then_it_exits_naming_the_port_and_storage_port(
    taken_port: int,
) -> None:
    code, lines, _ = start_and_wait_for_exit("--port", str(free_port()), "--storage-port", str(taken_port))

    assert code == 1
    assert len(lines) == 1, lines
    assert f"port {taken_port} (moto storage)" in lines[0]
    assert "STORAGE_PORT=" in lines[0]


def test_given_the_api_port_is_taken_when_the_server_starts_then_it_exits_naming_the_port_and_port(
    taken_port: int,
) -> None:
    code, lines, _ = start_and_wait_for_exit("--port", str(taken_port), "--storage-port", str(free_port()))

    assert code == 1
    assert len(lines) == 1, lines
    assert f"port {taken_port} (the API)" in lines[0]
    assert " PORT=" in lines[0]


def test_given_every_port_is_taken_when_the_server_starts_then_one_line_names_each_with_its_setting() -> None:
    with contextlib.ExitStack() as holding:
        api, storefront, storage = (holding.enter_context(listening()) for _ in range(3))
        code, lines, _ = start_and_wait_for_exit(
            "--port", str(api), "--storefront-port", str(storefront), "--storage-port", str(storage)
        )

    assert code == 1
    assert len(lines) == 1, lines
    for port, what, setting in (
        (api, "the API", " PORT="),
        (storefront, "the storefront", "STOREFRONT_PORT="),
        (storage, "moto storage", "STORAGE_PORT="),
    ):
        assert f"port {port} ({what})" in lines[0]
        assert setting in lines[0]


def test_given_the_banner_exports_point_at_a_stopped_storage_when_the_server_starts_then_one_line_says_what_to_do() -> (
    None
):
    nothing_there = f"http://127.0.0.1:{free_port()}"
    environment = {
        **server_environment(),
        "AWS_ENDPOINT_URL_DYNAMODB": nothing_there,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": nothing_there,
    }
    started = time.monotonic()
    server = start_server("--port", str(free_port()), "--storage-port", str(free_port()), environment=environment)
    try:
        output, _ = server.communicate(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        stop_server(server)
        pytest.fail(f"the server did not exit within {EXIT_WITHIN} s")

    assert server.returncode == 1
    assert len(output.splitlines()) == 1, output
    assert f"AWS_ENDPOINT_URL_DYNAMODB={nothing_there} does not answer" in output
    assert f"AWS_ENDPOINT_URL_SECRETS_MANAGER={nothing_there} does not answer" in output
    assert "unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SECRETS_MANAGER" in output
    assert time.monotonic() - started < EXIT_WITHIN


def test_given_a_running_server_when_it_gets_sigterm_then_it_and_every_worker_stop() -> None:
    server = start_server("--port", str(free_port()), "--storage-port", str(free_port()))
    wait_for_banner(server)

    stop_server(server, signal.SIGTERM)  # asserts exit code 0 and no process of its group left


def test_given_requests_in_flight_when_the_server_gets_sigterm_then_it_stops_within_seconds() -> None:
    """The signal arrives while the accept loop hands requests over: the stop must not be taken
    for a request's error (it was, and a server under load never stopped)."""
    port = free_port()
    server = start_server("--port", str(port), "--storage-port", str(free_port()))
    wait_for_banner(server)
    threading.Thread(target=server.stdout.read, daemon=True).start()  # type: ignore[union-attr]
    done = threading.Event()

    def keep_calling() -> None:
        while not done.is_set():
            with contextlib.suppress(requests.RequestException):
                requests.get(f"http://127.0.0.1:{port}/no-such-route/", timeout=5)

    callers = [threading.Thread(target=keep_calling, daemon=True) for _ in range(24)]
    for caller in callers:
        caller.start()
    try:
        time.sleep(1.5)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=EXIT_WITHIN * 3)  # raises on a server that goes on serving
        elapsed = time.monotonic() - started
        while process_group(server.pid) and time.monotonic() - started < EXIT_WITHIN:
            time.sleep(0.05)
        survivors = process_group(server.pid)
    finally:
        done.set()
        stop_server(server)  # whatever is left is killed
    assert (code, survivors) == (0, [])
    assert elapsed < EXIT_WITHIN


def test_given_a_server_started_with_sigint_ignored_when_it_gets_sigint_then_it_still_stops() -> None:
    """A script's `make local &` starts it with SIGINT ignored: `kill -INT` must still stop it."""
    command = [
        sys.executable,
        "-m",
        "tools.local_server",
        "--port",
        str(free_port()),
        "--storage-port",
        str(free_port()),
    ]
    server = subprocess.Popen(
        ["sh", "-c", f"trap '' INT; exec {shlex.join(command)}"],
        cwd=ROOT,
        env=server_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    wait_for_banner(server)

    stop_server(server, signal.SIGINT)


class Started:
    """A server started on free ports, with its banner and the environment it tells authctl to use."""

    def __init__(self, *arguments: str) -> None:
        self.port = free_port()
        self.process = start_server("--port", str(self.port), "--storage-port", str(free_port()), *arguments)
        self.banner = wait_for_banner(self.process)
        exports = (
            line.strip().removeprefix("export ").split("=", 1) for line in self.banner if line.startswith("export ")
        )
        self.authctl_environment = {**server_environment(), **dict(exports)}

    def authctl(self, *arguments: str, stdin: str = "") -> str:
        return run_authctl(self.authctl_environment, *arguments, stdin=stdin)

    def login(self, email: str, password: str) -> int:
        answer = requests.post(
            f"http://127.0.0.1:{self.port}/auth/token/", json={"email": email, "password": password}, timeout=30
        )
        return answer.status_code


def test_given_a_server_without_persist_when_it_starts_then_the_banner_says_its_data_is_gone_at_stop() -> None:
    server = Started()
    try:
        assert any("gone when the server stops" in line and "PERSIST=1" in line for line in server.banner)
    finally:
        stop_server(server.process)


def test_given_persist_when_the_server_restarts_then_customers_ids_and_passwords_are_still_there(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    first = Started("--persist", str(state))
    try:
        assert any(f"kept in {state}" in line for line in first.banner)
        created = json.loads(
            first.authctl("create-customer", "--email", "jane@example.com", "--password-stdin", stdin="N3w-Passw0rd!\n")
        )
    finally:
        stop_server(first.process)
    assert state.exists()

    second = Started("--persist", str(state))
    try:
        shown = json.loads(second.authctl("show", "--email", "jane@example.com"))
        assert shown["id"] == created["id"]
        assert second.login("jane@example.com", "N3w-Passw0rd!") == 200
        assert second.login("customer@example.com", "SecurePass123!") == 200, "the demo customer is not seeded twice"
        after = json.loads(
            second.authctl(
                "create-customer", "--email", "joe@example.com", "--password-stdin", stdin="An0ther-Passw0rd\n"
            )
        )
        assert int(after["id"]) == int(created["id"]) + 1, "the id counter survives too"
    finally:
        stop_server(second.process)
