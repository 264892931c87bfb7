"""`make local`'s server as a subprocess on free ports, for tests over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import ROOT

READY = "Ctrl-C stops everything"
# A stop takes about a second. Two fresh-clone CI runs met one that never came: the signal had
# arrived while the accept loop handed a request over, and socketserver took the stop for that
# request's error (tools/local_server.py's ``Stopped`` is a BaseException since; a test sends
# SIGTERM to a server under load). A clean stop is still asserted; the margin is for a loaded machine.
STOP_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment() -> dict[str, str]:
    """The caller's environment without AWS endpoints or credentials: the server starts its own moto."""
    return {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}


def start_server(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m tools.local_server`` in its own process group, so ``stop_server`` can reach its whole tree."""
    return subprocess.Popen(
        [sys.executable, "-m", "tools.local_server", *arguments],
        cwd=ROOT,
        env=server_environment() if environment is None else environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def live_processes() -> Iterator[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every process that has not ended, from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while we looked
            continue
        if fields[0] not in ("Z", "X"):
            yield int(entry.name), int(fields[1]), int(fields[2])


def process_group(group: int) -> list[int]:
    return [pid for pid, _, pgrp in live_processes() if pgrp == group]


def children(parent: int) -> list[int]:
    return [pid for pid, ppid, _ in live_processes() if ppid == parent]


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def stop_server(server: subprocess.Popen[str], signum: int = signal.SIGTERM) -> None:
    """Stop the server as a supervisor would (SIGTERM) and check nothing it started survives.

    Whatever is left after STOP_TIMEOUT is killed, so a failing test leaves no process
    behind, then the test fails.
    """
    already_ended = server.poll() is not None  # it failed to start: its own error is the one to see
    server.send_signal(signum)
    try:
        code = server.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        code = None
    deadline = time.monotonic() + 5
    while process_group(server.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = process_group(server.pid)
    if code is None or survivors:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    if already_ended:
        return
    assert code == 0, f"{signal.Signals(signum).name} stops the server cleanly (exit code {code})"
    assert not survivors, f"processes left behind by the server: {survivors}"


def wait_for_banner(server: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    """The banner's lines, once the server says it is ready; fails with them if it exits first."""
    assert server.stdout is not None
    banner: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and READY not in (banner[-1] if banner else ""):
        banner.append(server.stdout.readline())
        assert server.poll() is None, "".join(banner)
    return banner


@contextmanager
def local_api(
    *overrides: str, options: Sequence[str] = (), port: int | None = None, storage_port: int | None = None
) -> Iterator[str]:
    """The API's base URL; template parameters as ``Name=Value``, other options of the server in
    ``options``. Stopped with SIGTERM. Free ports unless given (a test that must know them
    first: an Issuer naming the port, moto's store read directly)."""
    port, storage_port = port or free_port(), storage_port or free_port()
    arguments = ["--port", str(port), "--storage-port", str(storage_port), *options]
    if overrides:
        arguments += ["--parameter-overrides", *overrides]
    server = start_server(*arguments)
    try:
        wait_for_banner(server)
        # Keep reading its log, or a full pipe would block the server after a few thousand requests.
        threading.Thread(target=server.stdout.read, daemon=True).start()  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(server)
