"""One Lambda "container" for the local server: a process that imports one handler once.

Started by tools/local_server.py with the function's environment from the template, it
reads one JSON event per line on stdin and writes one JSON line per answer on the
original stdout. Everything the function prints or logs goes to stderr (the server sends
that to a log file), so it cannot corrupt the answers. Like a real container it serves
one event at a time and keeps its module state (clients, keys, caches) between events.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from types import SimpleNamespace


def main(module_name: str) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the server stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    handler = importlib.import_module(module_name).lambda_handler
    context = SimpleNamespace(
        function_name=module_name,
        function_version="$LATEST",
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{module_name}",
        aws_request_id="local",
        get_remaining_time_in_millis=lambda: 10_000,
    )
    # Lambda's INIT_START line: one per container, so its log tells the containers apart.
    print(f"INIT_START {module_name} container pid {os.getpid()}", file=sys.stderr, flush=True)
    answers.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        event = json.loads(line)
        context.aws_request_id = event.get("requestContext", {}).get("requestId", "local")
        try:
            answer = {"result": handler(event, context)}
        except Exception as error:  # the Lambda runtime reports the error; the server maps it
            answer = {"error": type(error).__name__, "message": str(error)}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
