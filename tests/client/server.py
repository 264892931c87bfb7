"""The local server (`make local`) as a subprocess, with its request log readable by tests."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable

import requests

from tests.helpers import ROOT
from tests.local_api import free_port, server_environment, start_server, stop_server

ACCESS_TOKEN_LIFETIME = 60
DEMO_EMAIL, DEMO_PASSWORD = "customer@example.com", "SecurePass123!"  # seeded by the server
MARKER = "__log-marker-"


class LocalServer:
    """A running `python -m tools.local_server`: its URL, its authctl environment, its log.

    The server prints one line per request ("POST /auth/token/refresh/ 200 11.3ms"): counting
    those lines counts what reached the server, whatever the client believes it sent.
    """

    def __init__(self, overrides: dict[str, str]) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        # Our own moto on a free port: endpoints from the caller's environment would be reused.
        environment = server_environment()
        self._process = start_server(
            "--port", str(port), "--storage-port", str(free_port()),
            "--parameter-overrides", *(f"{name}={value}" for name, value in overrides.items()),
        )  # fmt: skip
        self._lines: list[str] = []
        self._ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self._wait_for(lambda lines: any("Ctrl-C stops everything" in line for line in lines), 60)
        exports = (line.removeprefix("export ").split("=", 1) for line in self.lines() if line.startswith("export "))
        self.authctl_environment = {**environment, **dict(exports)}

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def _wait_for(self, condition: Callable[[list[str]], bool], timeout: float) -> None:
        with self._changed:
            done = self._changed.wait_for(lambda: condition(self._lines) or self._ended, timeout)
            assert done, "\n".join(self._lines)
            assert not self._ended, "\n".join(self._lines)

    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    def warm_up(self, email: str, password: str) -> None:
        """One login, protected request and refresh: each function's first event pays its cold
        start (up to a second), which would eat into the timing margins of the tests."""
        login = requests.post(f"{self.url}/auth/token/", json={"email": email, "password": password}, timeout=30)
        pair = login.json()
        bearer = {"Authorization": f"Bearer {pair['access']}"}
        assert requests.get(f"{self.url}/api/v1/customers/1/", headers=bearer, timeout=30).ok
        assert requests.post(f"{self.url}/auth/token/refresh/", json={"refresh": pair["refresh"]}, timeout=30).ok

    def mark(self) -> int:
        """A position in the log after every request answered so far (see ``log_since``)."""
        self._sync()
        return len(self.lines())

    def log_since(self, mark: int) -> list[str]:
        """The requests logged after ``mark``, as "METHOD PATH STATUS" (timings dropped)."""
        self._sync()
        logged = (line.rsplit(" ", 1)[0] for line in self.lines()[mark:])
        return [line for line in logged if MARKER not in line]

    def _sync(self) -> None:
        """Wait until the log holds every request answered before this call.

        The server prints a request's line before sending its answer, so every answer held
        here has its line in the server's output; this reader may not have read it yet. A
        marker request sent now is printed after those lines: once it is read, they have been.
        """
        marker = f"/{MARKER}{uuid.uuid4().hex}/"
        requests.get(self.url + marker, timeout=10)
        self._wait_for(lambda lines: any(marker in line for line in lines), 10)

    def authctl(self, *arguments: str, stdin: str = "") -> str:
        """Run `python -m tools.authctl` against this server's store, as its banner tells an operator to."""
        return run_authctl(self.authctl_environment, *arguments, stdin=stdin)

    def stop(self) -> None:
        stop_server(self._process)


def run_authctl(environment: dict[str, str], *arguments: str, stdin: str = "") -> str:
    """`python -m tools.authctl` with ``environment`` (a local server's exports); its output."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.authctl", *arguments],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
