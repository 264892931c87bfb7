"""One cold start of one function: import its handler, serve one event, report, exit.

Usage: cold_child.py FUNCTION EVENT [--with-cryptography], started by bench/coldstart.py and
bench/first_request.py in a fresh interpreter of the project venv with the environment the
template gives the function. A JSON object on stdin may carry ``authorization`` (the event's
token header: the run's own token, for a first Allow) and ``body`` (the event's body:
credentials or a token); ``again``, an object of the same two keys, asks for a second request
after the first (the warm one). Every mark is taken twice: on
the system-wide monotonic clock and in the process's CPU time (``time.process_time``: user +
system, which other processes' load disturbs far less than wall time).

FUNCTION ``bare_jwt`` is the baseline of the authorizer's goal: init = ``import jwt``, first
answer = ``jwt.decode`` of stdin's ``token`` with its ``key``. Packages the venv has and no
Lambda bundle ships are made unimportable, as in the bundles: ``cryptography`` (pyjwt needs it
only for RSA and EC; ``--with-cryptography`` shows what it would add) and ``certifi`` (botocore
falls back to its own CA bundle). Prints one JSON line.
"""

import time

STARTED_NS = time.monotonic_ns()  # first thing: the cold start's "interpreter ready" mark
STARTED_CPU_NS = time.process_time_ns()  # the interpreter's own start, in CPU time

import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from contextlib import redirect_stdout  # noqa: E402
from types import SimpleNamespace  # noqa: E402

# os.path, not pathlib: the harness should import nothing the handler might need.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_IN_BUNDLES = ("cryptography", "certifi")
CONTEXT = SimpleNamespace(
    function_name="bench",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
    aws_request_id="bench",
)


def main(function: str, event_path: str, with_cryptography: bool) -> dict[str, object]:
    sys.path[0] = ROOT  # the project, as the bundle's root; not bench/
    for name in NOT_IN_BUNDLES:
        if name != "cryptography" or not with_cryptography:
            sys.modules[name] = None  # type: ignore[assignment]
    with open(event_path, encoding="utf-8") as file:
        event = json.load(file)
    given = json.loads(sys.stdin.read() or "{}")
    again = dict(event, **given.pop("again")) if "again" in given else None
    event.update(given)
    for incoming in (event, again):
        if incoming is not None and "authorization" in incoming:
            incoming["authorizationToken"] = incoming.pop("authorization")
    with redirect_stdout(io.StringIO()):  # logs and EMF metrics: CloudWatch's, not ours
        init_started, init_started_cpu = time.monotonic_ns(), time.process_time_ns()
        if function == "bare_jwt":
            import jwt

            init_done, init_done_cpu = time.monotonic_ns(), time.process_time_ns()
            claims = jwt.decode(event["token"], event["key"], algorithms=["HS256"])
            answer = {"principalId": claims["user_id"]}
        else:
            # __import__, not importlib.import_module: only the former shows in -X importtime.
            __import__(f"functions.{function}.app")
            module = sys.modules[f"functions.{function}.app"]
            init_done, init_done_cpu = time.monotonic_ns(), time.process_time_ns()
            answer = module.lambda_handler(event, CONTEXT)
        answered, answered_cpu = time.monotonic_ns(), time.process_time_ns()
        second = {}
        if again is not None:
            second = module.lambda_handler(again, CONTEXT)
            second_cpu = time.process_time_ns() - answered_cpu
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    from measure import peak_rss_kib  # after the answer: not part of the cold start

    return {
        "started_ns": STARTED_NS,
        "init_started_ns": init_started,
        "init_done_ns": init_done,
        "answered_ns": answered,
        "started_cpu_ns": STARTED_CPU_NS,
        "init_cpu_ns": init_done_cpu - init_started_cpu,
        "first_event_cpu_ns": answered_cpu - init_done_cpu,
        **({"second_event_cpu_ns": second_cpu} if again is not None else {}),
        "peak_rss_kib": peak_rss_kib(),
        "answer": {name: answer.get(name) for name in ("statusCode", "principalId")},
        "second_answer": {name: second.get(name) for name in ("statusCode", "principalId")},
        "cryptography_loaded": any(name.startswith("cryptography") for name in sys.modules if sys.modules[name]),
        "boto3_loaded": any(name.partition(".")[0] == "boto3" for name in sys.modules if sys.modules[name]),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], "--with-cryptography" in sys.argv[3:])))
