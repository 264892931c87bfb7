"""`make local`'s server as a subprocess on free ports, for tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.helpers import ROOT

READY = "Ctrl-C stops everything"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_api(*overrides: str, port: int | None = None, storage_port: int | None = None) -> Iterator[str]:
    """The API's base URL; template parameters as ``Name=Value``. Stopped with Ctrl-C (SIGINT).

    Free ports unless given (a test that must know them first: an Issuer naming the port,
    moto's store read directly).
    """
    port, storage_port = port or free_port(), storage_port or free_port()
    command = [sys.executable, "-m", "tools.local_server", "--port", str(port), "--storage-port", str(storage_port)]
    if overrides:
        command += ["--parameter-overrides", *overrides]
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    server = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert server.stdout is not None
    banner: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and READY not in (banner[-1] if banner else ""):
        banner.append(server.stdout.readline())
        assert server.poll() is None, "".join(banner)
    # Keep reading its log, or a full pipe would block the server after a few thousand requests.
    threading.Thread(target=server.stdout.read, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0, "Ctrl-C stops the server cleanly"
