"""Fixtures of the adversarial suite: an outbound-connection guard, and slow dependencies."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ReadTimeoutError

from tests.faults import FaultInjector

READ_TIMEOUT = "read_timeout"
APPLIED_THEN_READ_TIMEOUT = "applied_then_read_timeout"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class OutboundGuard:
    """Every connection and name lookup the code under test tries, refused unless allowed.

    Allowed: loopback on the ports in ``allowed_ports`` (the secrets extension's); anything
    else is recorded in ``refused`` and fails with OSError before a byte leaves the machine.
    """

    allowed_ports: set[int] = field(default_factory=set)
    refused: list[tuple[str, object]] = field(default_factory=list)

    def allows(self, host: object, port: object) -> bool:
        return str(host) in LOOPBACK_NAMES and port in self.allowed_ports

    def check(self, what: str, host: object, port: object) -> None:
        if not self.allows(host, port):
            self.refused.append((what, (host, port)))
            raise OSError(f"outbound {what} to {host}:{port} refused by the test")


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> OutboundGuard:
    """Install the guard on socket connects, ``create_connection`` and ``getaddrinfo``."""
    guard = OutboundGuard()
    real_connect: Callable[..., Any] = socket.socket.connect
    real_connect_ex: Callable[..., Any] = socket.socket.connect_ex
    real_create_connection: Callable[..., Any] = socket.create_connection
    real_getaddrinfo: Callable[..., Any] = socket.getaddrinfo

    def address_of(address: Any) -> tuple[object, object]:
        return (address[0], address[1]) if isinstance(address, tuple) else (address, None)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            guard.check("connect", *address_of(address))
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            guard.check("connect", *address_of(address))
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check("create_connection", *address_of(address))
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        guard.check("getaddrinfo", host, port)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return guard


class SlowFaults(FaultInjector):
    """tests/faults.py's injector with the two faults a slow dependency becomes.

    READ_TIMEOUT: the answer never comes within the client's read timeout (the request may
    or may not have arrived; here it did not). APPLIED_THEN_READ_TIMEOUT: the dependency
    applied the request, but its answer came too late. Each costs the client its read timeout;
    ``elapsed`` adds those seconds and every retry backoff, a virtual clock of the waiting.
    """

    def __init__(self, passthrough: Callable[..., AWSResponse | None], read_timeout: float) -> None:
        super().__init__(passthrough)
        self.read_timeout = read_timeout
        self.elapsed = 0.0
        self._passes: dict[str, int] = {}

    def pass_first(self, operation: str, passes: int) -> None:
        """The next ``passes`` attempts of ``operation`` go through before any planned fault."""
        self._passes[operation] = passes

    def heal(self) -> None:
        """Every dependency answers normally from now on."""
        self._plans.clear()
        self._always.clear()
        self._passes.clear()

    def sleep(self, seconds: float) -> None:
        self.elapsed += seconds

    def __call__(self, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        service = event_name.split(".")[1].replace("-", "")
        raw_target = request.headers.get("X-Amz-Target") or b""
        target = raw_target.decode() if isinstance(raw_target, bytes) else raw_target
        operation = f"{service}.{target.rsplit('.', 1)[-1]}" if target else service
        if self._passes.get(operation, 0) > 0:
            self._passes[operation] -= 1
            self.attempts[operation] += 1
            return self._passthrough(event_name, request, **kwargs)
        planned = self._plans[operation]
        fault = self._always.get(operation) or (planned[0] if planned else None)
        if fault not in (READ_TIMEOUT, APPLIED_THEN_READ_TIMEOUT):
            return super().__call__(event_name, request, **kwargs)
        self.attempts[operation] += 1
        if operation not in self._always:
            planned.popleft()
        if fault == APPLIED_THEN_READ_TIMEOUT:
            self._passthrough(event_name, request, **kwargs)
        self.elapsed += self.read_timeout
        raise ReadTimeoutError(endpoint_url=request.url)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> SlowFaults:
    """tests/conftest.py's ``faults`` (the injector on every client created from now on, no
    real sleeping), with SlowFaults' two extra faults and its virtual clock."""
    import time

    import botocore.handlers
    from moto.core.models import botocore_stubber

    from shared.settings import Settings

    injector = SlowFaults(passthrough=botocore_stubber, read_timeout=Settings().AWS_READ_TIMEOUT)
    handlers = [
        (spec[0], injector, *spec[2:]) if spec[1] is botocore_stubber else spec
        for spec in botocore.handlers.BUILTIN_HANDLERS
    ]
    assert any(spec[1] is injector for spec in handlers), "moto's stubber is not registered"
    monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
    monkeypatch.setattr(time, "sleep", injector.sleep)
    return injector
