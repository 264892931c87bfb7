"""A stand-in function for the local server's container tests: it tells which container answered.

With ``secret_id`` in the event it first reads that secret through its container's secrets
extension, as the authorizer does, and tells what that extension served.
"""

from __future__ import annotations

import os
import time
from typing import Any

from shared.tokens.keys import secrets_extension_fetcher

events_served = 0  # module state: kept between the events of one container, as on Lambda


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global events_served
    events_served += 1
    answer: dict[str, Any] = {"pid": os.getpid(), "events_served": events_served}
    if "secret_id" in event:
        port = int(os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"])
        read = secrets_extension_fetcher(event["secret_id"], port, os.environ["AWS_SESSION_TOKEN"], timeout=5)
        answer.update(extension_port=port, secret=read())
    time.sleep(float(event.get("sleep", 0)))
    return answer
