"""Fault injection through botocore's ``before-send`` event: the real retry logic runs.

The injector takes the place of moto's stubber in ``BUILTIN_HANDLERS``, so every client
created while it is installed (by the code under test, at its cold start) gets it. Each
planned fault answers one HTTP attempt without reaching moto; when the plan for an
operation is used up, the attempt goes on to moto.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectionClosedError

THROTTLE = "throttle"
SERVER_ERROR = "server_error"
CONNECTION_RESET = "connection_reset"
# A transaction DynamoDB cancelled because one of its items was throttled: nothing applied.
TRANSACTION_THROTTLED = "transaction_throttled"

_JSON_ERRORS = {
    # (status, __type) per service's JSON protocol.
    ("dynamodb", THROTTLE): (400, "com.amazonaws.dynamodb.v20120810#ThrottlingException"),
    ("dynamodb", SERVER_ERROR): (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
    ("secretsmanager", THROTTLE): (400, "ThrottlingException"),
    ("secretsmanager", SERVER_ERROR): (500, "InternalServiceError"),
    ("dynamodb", TRANSACTION_THROTTLED): (400, "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"),
}
_EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    TRANSACTION_THROTTLED: {"CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError"}]},
}


class _RawBody(BytesIO):
    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self.getvalue()


class FaultInjector:
    """Plans faults per ``service.Operation`` and counts every attempt it sees."""

    def __init__(self, passthrough: Callable[..., AWSResponse | None]) -> None:
        self._passthrough = passthrough
        self._plans: dict[str, deque[str]] = defaultdict(deque)
        self._always: dict[str, str] = {}
        self.attempts: Counter[str] = Counter()

    def fail(self, operation: str, *faults: str) -> None:
        """Answer the next attempts of ``operation`` (e.g. ``dynamodb.GetItem``) with ``faults``."""
        self._plans[operation].extend(faults)

    def fail_always(self, operation: str, fault: str) -> None:
        self._always[operation] = fault

    def __call__(self, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        service = event_name.split(".")[1].replace("-", "")
        raw_target = request.headers.get("X-Amz-Target") or b""
        target = raw_target.decode() if isinstance(raw_target, bytes) else raw_target
        operation = f"{service}.{target.rsplit('.', 1)[-1]}" if target else service
        self.attempts[operation] += 1
        fault = self._always.get(operation) or (self._plans[operation].popleft() if self._plans[operation] else None)
        if fault is None:
            return self._passthrough(event_name, request, **kwargs)
        if fault == CONNECTION_RESET:
            raise ConnectionClosedError(endpoint_url=request.url)
        status, error_type = _JSON_ERRORS[(service, fault)]
        body = json.dumps({"__type": error_type, "message": "injected fault", **_EXTRA_FIELDS.get(fault, {})}).encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _RawBody(body))  # type: ignore[arg-type]
