"""A stand-in function for the local server's container tests: it tells which container answered."""

from __future__ import annotations

import os
import time
from typing import Any

events_served = 0  # module state: kept between the events of one container, as on Lambda


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global events_served
    events_served += 1
    time.sleep(float(event.get("sleep", 0)))
    return {"pid": os.getpid(), "events_served": events_served}
