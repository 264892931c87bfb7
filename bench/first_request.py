"""Cold starts whose first request succeeds, on storage really used, and the Lambda CPU model.

Usage: python bench/first_request.py [--runs N] [--round-trip-ms MS] [--sql-round-trip-ms MS]
(``make bench`` runs it too, through bench/run.py).

Per function (login, refresh with rotation as the template deploys it, verify, the
authorizer's first Allow), a fresh interpreter (bench/cold_child.py) imports the handler and
serves one successful request, then a second one (warm). Its AWS endpoint is a moto server
in this process (``Storage``), the table and the signing key seeded before the runs; every
request the server receives is logged with its arrival time, so each child's round trips are
counted per phase (init, first request, second request). The authorizer's key comes through a
stand-in of the Parameters and Secrets extension (bench/coldstart.py), whose fetches count
as round trips too: on a fresh execution environment the extension's first fetch goes to
Secrets Manager.

The baseline is Django 5.2 + simplejwt with its blacklist app on a migrated sqlite file
(bench/django_side.py ``first-login`` / ``first-refresh``, a fresh copy of the file per run):
its first login, and its first rotating refresh that blacklists the old token, with the SQL
statements counted.

Both sides report CPU time (``time.process_time``: user + system of the child alone) beside
the wall clock; bench/lambda_model.py turns the CPU into what Lambda would take. Runs go
round-robin over every variant, the first round uncounted (byte code, page cache).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import coldstart  # noqa: E402
import cost  # noqa: E402
import lambda_model  # noqa: E402
from lambda_model import Cold  # noqa: E402
from measure import summary  # noqa: E402

ROTATING = {"ROTATE_REFRESH_TOKENS": "true", "BLACKLIST_AFTER_ROTATION": "true"}  # template.yaml's Globals
CUSTOMER_ID = "1"
# Assumption: one SQL statement's round trip for a Django deployment on a database server in
# the same availability zone (the measured sqlite is in-process: no round trip at all).
SQL_ROUND_TRIP_MS = 0.5
# function: (template resource, event, the Django request it stands beside)
FUNCTIONS = {
    "obtain_token": ("ObtainTokenFunction", "obtain_token_ok", "first-login"),
    "refresh_token": ("RefreshTokenFunction", "refresh_token_ok", "first-refresh"),
    "verify_token": ("VerifyTokenFunction", "verify_token_ok", None),
    "authorizer": ("AuthorizerFunction", "authorizer_allow", None),
}
PRICED = ("obtain_token", "refresh_token")


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Storage:
    """moto's server on a free local port, logging every request's arrival (monotonic ns, operation)."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *_: object) -> None:
                """The bench prints its tables only."""

        self.requests: list[tuple[int, str]] = []
        backend = DomainDispatcherApplication(create_backend_app)

        def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            operation = environ.get("HTTP_X_AMZ_TARGET", environ.get("PATH_INFO", "?"))
            self.requests.append((time.monotonic_ns(), operation.rsplit(".", 1)[-1]))
            return backend(environ, start_response)

        self._server = make_server("127.0.0.1", 0, logged, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="storage", daemon=True)

    def __enter__(self) -> Storage:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def seed(inputs: dict[str, Any]) -> dict[str, Any]:
    """The table, the signing key and the customer on the storage server; then tokens to present.

    The one place the bench names the service's modules for this: the customer is created and
    the tokens minted by the service's own code, as the functions will read them.
    """
    import boto3

    from shared import services
    from shared.customers.passwords import PasswordHasher
    from shared.settings import get_settings

    settings = get_settings()
    boto3.client("dynamodb").create_table(
        TableName=settings.TABLE_NAME,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name=settings.SIGNING_KEY_SECRET_ID, SecretString=inputs["signing_key"])
    password_hash = PasswordHasher(settings).hash(inputs["password"])
    services.customer_store().create(inputs["email"], password_hash, customer_id=CUSTOMER_ID)
    tokens = services.token_service()
    refresh = [tokens.issue_pair(CUSTOMER_ID)["refresh"] for _ in range(inputs["refresh_tokens"])]
    return {"access": tokens.issue_pair(CUSTOMER_ID)["access"], "refresh": refresh}


@dataclass
class Planned:
    """One variant and how each of its runs gets its stdin (a never-used token per request)."""

    variant: coldstart.Variant
    stdin: Callable[[], dict[str, Any]]
    reports: list[dict[str, Any]] = field(default_factory=list)


def service_environment(storage_url: str, extension_port: int, function: str) -> dict[str, str]:
    environment = {**coldstart.SERVICE_ENVIRONMENT, **ROTATING, "AWS_ENDPOINT_URL": storage_url}
    if function == "authorizer":
        environment.update(coldstart.EXTENSION, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=str(extension_port))
    return environment


def plan(
    storage_url: str, extension_port: int, inputs: dict[str, Any], seeded: dict[str, Any], django_python: Path
) -> dict[str, Planned]:
    refresh: Iterator[str] = iter(seeded["refresh"])
    login = {"body": json.dumps({"email": inputs["email"], "password": inputs["password"]})}
    bearer = {"authorization": f"Bearer {seeded['access']}"}

    def fresh_refresh(key: str) -> Callable[[], dict[str, Any]]:
        def stdin() -> dict[str, Any]:
            first, second = (json.dumps({key: next(refresh)}) for _ in range(2))
            return {"body": first, "again": {"body": second}}

        return stdin

    stdins: dict[str, Callable[[], dict[str, Any]]] = {
        "obtain_token": lambda: {**login, "again": login},
        "refresh_token": fresh_refresh("refresh"),
        "verify_token": fresh_refresh("token"),
        "authorizer": lambda: {**bearer, "again": bearer},
    }
    planned = {}
    for function, (_, event, _) in FUNCTIONS.items():
        expected: dict[str, object] = {"principalId": CUSTOMER_ID} if function == "authorizer" else {"statusCode": 200}
        variant = coldstart.Variant(
            name=function,
            interpreter=sys.executable,
            arguments=[str(BENCH / "cold_child.py"), function, str(ROOT / "events" / f"{event}.json")],
            environment=service_environment(storage_url, extension_port, function),
            expected=expected,
        )
        planned[function] = Planned(variant, stdins[function])
    django_environment = {**coldstart.BASE_ENVIRONMENT, "PYTHONPATH": coldstart.purelib(django_python)}
    django_inputs = {key: inputs[key] for key in ("signing_key", "email", "password", "database")}
    django_inputs["refresh"] = seeded["django_refresh"]
    for request in ("first-login", "first-refresh"):
        planned[f"django {request}"] = Planned(
            coldstart.Variant(
                name=f"django {request}",
                interpreter=str(django_python),
                arguments=[str(BENCH / "django_side.py"), request],
                environment=django_environment,
            ),
            lambda: django_inputs,
        )
    return planned


def prepare_django(django_python: Path, inputs: dict[str, Any], database: Path) -> None:
    """The migrated sqlite file every Django run copies (created, never timed)."""
    environment = {**coldstart.BASE_ENVIRONMENT, "PYTHONPATH": coldstart.purelib(django_python)}
    subprocess.run(  # noqa: S603 - the Django venv's own interpreter and our script
        [str(django_python), "-S", str(BENCH / "django_side.py"), "prepare"],
        input=json.dumps({**inputs, "database": str(database)}),
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=True,
    )


def run_seed(storage_url: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """``seed`` in a process of its own, with the functions' environment (nothing leaks here)."""
    environment = service_environment(storage_url, 9, "seed")
    result = subprocess.run(  # noqa: S603 - our interpreter and script
        [sys.executable, str(Path(__file__)), "seed"],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"seeding the storage failed:\n{result.stderr[-3000:]}")
    seeded: dict[str, Any] = json.loads(result.stdout)
    return seeded


def phase_requests(requests: list[tuple[int, str]], report: dict[str, Any]) -> dict[str, list[str]]:
    """The requests logged during one child's init, first request and second request."""
    bounds = {
        "init": (report["init_started_ns"], report["init_done_ns"]),
        "first": (report["init_done_ns"], report["answered_ns"]),
        "second": (report["answered_ns"], report.get("exited_ns", report["answered_ns"])),
    }
    return {
        phase: [operation for arrived, operation in requests if start <= arrived < end]
        for phase, (start, end) in bounds.items()
    }


def measure(django_python: Path, runs: int, inputs: dict[str, Any]) -> dict[str, Any]:
    """Per variant: CPU, wall clock and round trips per phase (median, min, max over ``runs``),
    and the machine's 1-minute load average before and after (the machine may be shared).

    ``inputs``: the run's signing key, email and password and the Django PBKDF2 hash.
    """
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-first-") as scratch, Storage() as storage:
        pristine, database = Path(scratch) / "pristine.sqlite3", Path(scratch) / "run.sqlite3"
        inputs = {**inputs, "database": str(database), "refresh_tokens": 6 * (runs + 1) + 1}
        seeded = run_seed(storage.url, inputs)
        seeded["django_refresh"] = seeded["refresh"].pop()
        prepare_django(django_python, inputs, pristine)
        with coldstart.static_extension(inputs["signing_key"]) as server:
            planned = plan(storage.url, server.port, inputs, seeded, django_python)
            for round_number in range(runs + 1):
                for name, entry in planned.items():
                    shutil.copyfile(pristine, database)
                    report = run_child(entry, storage, server, name)
                    if round_number:
                        entry.reports.append(report)
    return {
        "variants": {name: phases(entry.reports) for name, entry in planned.items()},
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
    }


def run_child(entry: Planned, storage: Storage, extension: coldstart.StaticExtension, name: str) -> dict[str, Any]:
    """One cold start; its storage and extension requests split by phase."""
    variant = dataclasses.replace(entry.variant, stdin=json.dumps(entry.stdin()))
    storage.requests.clear()
    extension.fetches.clear()
    report, _ = coldstart.run_once(variant)
    report["exited_ns"] = time.monotonic_ns()
    if not name.startswith("django") and report["second_answer"] != report["answer"]:
        raise RuntimeError(f"{name}'s second request answered {report['second_answer']}, not {report['answer']}")
    fetches = [(arrived, "extension.GetSecretValue") for arrived in extension.fetches]
    report["round_trips"] = phase_requests(sorted(storage.requests + fetches), report)
    return report


def phases(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians with min and max; the round trips of the last run (the same every run, or it fails)."""
    trips = reports[-1].get("round_trips", {"init": [], "first": [], "second": []})
    for report in reports:
        if report.get("round_trips", trips) != trips:
            raise RuntimeError(f"round trips differ between runs: {report['round_trips']} vs {trips}")
    init_cpu = [r["started_cpu_ns"] + r["init_cpu_ns"] for r in reports]
    # Spawn to interpreter ready + init + first request: the harness's own work in between
    # (reading the event and stdin) left out, as bench/coldstart.py does.
    wall = [r["started_ns"] - r["spawned_ns"] + r["answered_ns"] - r["init_started_ns"] for r in reports]
    result = {
        "wall_cold": summary(wall, "ms"),
        "init_cpu": summary(init_cpu, "ms"),
        "first_cpu": summary([r["first_event_cpu_ns"] for r in reports], "ms"),
        "round_trips": trips,
        "sql_statements": reports[-1].get("sql_statements"),
        "samples": [
            {
                "init_cpu_ms": i / 1e6,
                "first_cpu_ms": r["first_event_cpu_ns"] / 1e6,
                "warm_cpu_ms": r.get("second_event_cpu_ns", 0) / 1e6,
            }
            for i, r in zip(init_cpu, reports, strict=True)
        ],
    }
    if "second_event_cpu_ns" in reports[0]:
        result["second_cpu"] = summary([r["second_event_cpu_ns"] for r in reports], "ms")
    return result


def cold_of(figures: dict[str, Any], init_cpu_ms: float, first_cpu_ms: float) -> Cold:
    return Cold(
        init_cpu_ms=init_cpu_ms,
        first_cpu_ms=first_cpu_ms,
        init_round_trips=len(figures["round_trips"]["init"]),
        first_round_trips=len(figures["round_trips"]["first"]),
    )


def modelled(
    figures: dict[str, Any], memory_mb: int, round_trip_ms: float, *, once_only_at_init: bool = False
) -> dict[str, Any]:
    """The model per run (median, min, max), from each run's own CPU figures.

    ``once_only_at_init``: what the first request does that the warm one does not (its CPU
    less the warm request's: imports, clients, the key) done at init instead.
    """
    values = []
    for sample in figures["samples"]:
        cold = cold_of(figures, sample["init_cpu_ms"], sample["first_cpu_ms"])
        if once_only_at_init:
            cold = lambda_model.moved_to_init(cold, max(0.0, sample["first_cpu_ms"] - sample["warm_cpu_ms"]))
        values.append(lambda_model.modelled_cold_ms(cold, memory_mb, round_trip_ms))
    return {"unit": "ms", "median": statistics.median(values), "min": min(values), "max": max(values)}


def django_modelled(figures: dict[str, Any], sql_round_trip_ms: float) -> dict[str, Any]:
    """Django on a server: its CPU on a whole core, one round trip per SQL statement."""
    waits = figures["sql_statements"] * sql_round_trip_ms
    values = [s["init_cpu_ms"] + s["first_cpu_ms"] + waits for s in figures["samples"]]
    return {"unit": "ms", "median": statistics.median(values), "min": min(values), "max": max(values)}


def analyse(
    measured: dict[str, Any],
    round_trip_ms: float = lambda_model.ROUND_TRIP_MS,
    sql_round_trip_ms: float = SQL_ROUND_TRIP_MS,
) -> dict[str, Any]:
    """The model over the measured figures: per variant, its cold request, Django's, and prices."""
    memory = cost.memory_sizes(ROOT / "template.yaml")
    rows, prices = [], {}
    variants = measured["variants"]
    for name, figures in variants.items():
        if name.startswith("django"):
            continue
        function = name.split(" ", 1)[0]
        resource, _, baseline = FUNCTIONS[function]
        memory_mb = memory[resource]
        init_cpu, first_cpu, warm_cpu = (figures[key]["median"] for key in ("init_cpu", "first_cpu", "second_cpu"))
        row: dict[str, Any] = {
            "variant": name,
            "memory_mb": memory_mb,
            "init_cpu": figures["init_cpu"],
            "first_cpu": figures["first_cpu"],
            "warm_cpu": figures["second_cpu"],
            "round_trips": {phase: len(calls) for phase, calls in figures["round_trips"].items()},
            "calls": figures["round_trips"],
            "wall_cold": figures["wall_cold"],
            "modelled_cold": modelled(figures, memory_mb, round_trip_ms),
            "once_only_cpu_ms": max(0.0, first_cpu - warm_cpu),
            "modelled_cold_once_only_at_init": modelled(figures, memory_mb, round_trip_ms, once_only_at_init=True),
        }
        if baseline is not None:
            django = variants[f"django {baseline}"]
            row["django"] = {
                "request": baseline,
                "init_cpu": django["init_cpu"],
                "first_cpu": django["first_cpu"],
                "sql_statements": django["sql_statements"],
                "wall_cold": django["wall_cold"],
                "modelled_cold": django_modelled(django, sql_round_trip_ms),
            }
            row["below_django"] = {
                "wall": row["wall_cold"]["median"] < django["wall_cold"]["median"],
                "modelled": row["modelled_cold"]["median"] < row["django"]["modelled_cold"]["median"],
            }
        rows.append(row)
        if function in PRICED:
            prices[name] = [
                {
                    **lambda_model.lambda_cost_per_million(
                        warm_cpu_ms=warm_cpu,
                        round_trips=len(figures["round_trips"]["second"]),
                        cold=cold_of(figures, init_cpu, first_cpu),
                        memory_mb=size,
                        round_trip_ms=round_trip_ms,
                    ),
                    "cold": modelled(figures, size, round_trip_ms),
                    "cold_once_only_at_init": modelled(figures, size, round_trip_ms, once_only_at_init=True),
                    "total_once_only_at_init": lambda_model.lambda_cost_per_million(
                        warm_cpu_ms=warm_cpu,
                        round_trips=len(figures["round_trips"]["second"]),
                        cold=lambda_model.moved_to_init(
                            cold_of(figures, init_cpu, first_cpu), max(0.0, first_cpu - warm_cpu)
                        ),
                        memory_mb=size,
                        round_trip_ms=round_trip_ms,
                    )["total"],
                }
                for size in sorted({*lambda_model.MEMORY_SIZES_TRIED, memory_mb})
            ]
    return {
        "load_average": measured["load_average"],
        "rows": rows,
        "cost_per_million": prices,
        "model": {
            "init_vcpu": lambda_model.INIT_VCPU,
            "mb_per_vcpu": cost.MB_PER_VCPU,
            "round_trip_ms": round_trip_ms,
            "sql_round_trip_ms": sql_round_trip_ms,
            "cold_share": cost.COLD_START_SHARE,
            "sources": lambda_model.SOURCES,
        },
    }


def _range(figure: dict[str, Any]) -> str:
    return f"{figure['median']:.1f} ({figure['min']:.1f}-{figure['max']:.1f})"


def table(analysis: dict[str, Any]) -> str:
    """The printed report: per function, then prices per MemorySize."""
    model, load = analysis["model"], analysis["load_average"]
    lines = [
        "## First successful request after a cold start, and the Lambda CPU model",
        "",
        f"model = init CPU at the init burst's full vCPU + first-request CPU x {model['mb_per_vcpu']} / MemorySize"
        f" + round trips x {model['round_trip_ms']:g} ms (assumed); Django: its CPU on a whole core"
        f" + SQL statements x {model['sql_round_trip_ms']:g} ms (assumed). ms, median (min-max)."
        f" Load average (1 min) {load['before']:.2f} before, {load['after']:.2f} after.",
        "",
        "| variant | MB | init CPU | 1st request CPU | warm CPU | round trips init/1st/warm | wall cold"
        " | modelled cold | modelled, once-only CPU at init | Django (wall / modelled) | ratio wall / modelled"
        " | below Django (wall / modelled) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in analysis["rows"]:
        trips = row["round_trips"]
        django, ratio, below = "—", "—", "—"
        if "django" in row:
            below = " / ".join("yes" if row["below_django"][kind] else "NO" for kind in ("wall", "modelled"))
            theirs = row["django"]
            django = (
                f"{theirs['wall_cold']['median']:.1f} / {theirs['modelled_cold']['median']:.1f}"
                f" ({theirs['sql_statements']} SQL; CPU {theirs['init_cpu']['median']:.1f}"
                f" + {theirs['first_cpu']['median']:.1f})"
            )
            ratio = (
                f"{row['wall_cold']['median'] / theirs['wall_cold']['median']:.2f}x"
                f" / {row['modelled_cold']['median'] / theirs['modelled_cold']['median']:.2f}x"
            )
        lines.append(
            f"| {row['variant']} | {row['memory_mb']} | {_range(row['init_cpu'])} | {_range(row['first_cpu'])}"
            f" | {_range(row['warm_cpu'])} | {trips['init']}/{trips['first']}/{trips['second']}"
            f" | {_range(row['wall_cold'])} | {_range(row['modelled_cold'])}"
            f" | {_range(row['modelled_cold_once_only_at_init'])} | {django} | {ratio} | {below} |"
        )
    lines += [
        "",
        "Lambda per million requests (requests + GB-s, arm64), "
        f"{model['cold_share']:.0%} cold; warm and cold durations modelled"
        f" (load average {load['before']:.2f} / {load['after']:.2f}):",
        "",
        "| variant | MB | warm ms | modelled cold | modelled cold, once-only CPU at init | $ compute | $ total"
        " | $ total, once-only CPU at init |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, prices in analysis["cost_per_million"].items():
        lines += [
            f"| {name} | {p['memory_mb']} | {p['warm_ms']:.0f} | {_range(p['cold'])}"
            f" | {_range(p['cold_once_only_at_init'])} | {p['compute']:.3f} | {p['total']:.3f}"
            f" | {p['total_once_only_at_init']:.3f} |"
            for p in prices
        ]
    lines += ["", "Sources: " + ", ".join(model["sources"].values())]
    return "\n".join(lines)


def main() -> int:
    if sys.argv[1:2] == ["seed"]:
        print(json.dumps(seed(json.loads(sys.stdin.read()))))
        return 0
    import django_venv
    import run

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=11, help="counted cold starts per variant")
    parser.add_argument("--round-trip-ms", type=float, default=lambda_model.ROUND_TRIP_MS)
    parser.add_argument("--sql-round-trip-ms", type=float, default=SQL_ROUND_TRIP_MS)
    arguments = parser.parse_args()
    made = run.make_inputs()
    inputs = {key: made[key] for key in ("signing_key", "email", "password", "pbkdf2_hash")}
    log(f"first successful requests: {arguments.runs} fresh interpreters per variant, round-robin")
    measured = measure(django_venv.django_python(), arguments.runs, inputs)
    analysis = analyse(measured, arguments.round_trip_ms, arguments.sql_round_trip_ms)
    print(table(analysis), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
