"""`make local`: the whole API on http://127.0.0.1:3000 with no Docker and no AWS account.

What it does:
- reads template.yaml (tools/gateway.py): routes, the TOKEN authorizer with its
  ValidationExpression and ReauthorizeEvery cache, GatewayResponses, each function's
  environment and the table definition;
- storage: unless AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SECRETS_MANAGER already
  point somewhere, starts moto's server on 127.0.0.1:8000 for what is missing; creates the
  table and the signing-key secret if absent and seeds the demo customer;
- runs each function in worker processes (tools/lambda_worker.py), containers with the
  function's own environment, handed real API Gateway proxy events; under concurrent load a
  function scales out to ``--max-containers`` (env ``CONTAINERS``, default 4), as Lambda does;
- serves the authorizer's key through stand-ins of the Parameters and Secrets extension,
  one per authorizer container as on Lambda (own port, session token and cache, started
  and stopped with the container), so after a rotation containers switch at staggered moments;
- mail: creates the template's SQS queues in moto and hands their messages to the consuming
  function (the mailer) as SQS events; the mailer writes each message as an ``.eml`` file
  under .local/mail/, this server writes its decoded text beside it (``.txt``: the links whole,
  ready to copy) and prints one line per message with its link;
- logs one line per request: method, path, status, milliseconds (no bodies, no query
  strings, no headers: they can carry tokens). Function logs go to .local/logs/.
- exits at once, in one line, when any of its ports (API, storefront, moto) is taken, naming
  each taken one with its setting, or when an endpoint given in ``AWS_ENDPOINT_URL_*`` does not
  answer; stops everything it started on SIGINT (even when a shell started it with SIGINT
  ignored), SIGTERM or SIGHUP;
- with ``--persist`` (`make local PERSIST=1`), keeps moto's data between runs
  (tools/local_store.py); otherwise the data is gone when it stops;
- with ``--storefront-port``, serves the demo storefront (tools/storefront.py) on
  http://localhost:PORT and allows that origin (AllowedOrigins) unless ``--allowed-origins``
  says otherwise;
- with ``--oidc-port`` (`make local` gives 9400), runs a local OpenID provider as "Google"
  (tools/local_oidc.py) and points the Google parameters at it, unless ``PARAMS`` names them:
  the storefront's "Sign in with Google" button works end to end with nothing leaving the machine.

What it does not emulate: IAM and resource policies, mapping templates and request
validation, integration timeouts, stage throttling, usage plans, WAF, TLS.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import boto3
import jwt

from shared.settings import Settings
from shared.tokens.keyset import ASYMMETRIC, parse, verification_document
from shared.tokens.oidc import DISCOVERY_PATH, Issuer
from shared.tokens.rotation import KeyRotation
from tools import gateway, local_store
from tools.local_oidc import GoogleParameters, LocalGoogle
from tools.secrets_extension import DEFAULT_TTL, SecretsExtensionServer
from tools.storefront import Storefront

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / ".local" / "logs"
MAIL = ROOT / ".local" / "mail"
STATE = ROOT / ".local" / "state" / "moto.json"
DEMO_EMAIL = "customer@example.com"
DEMO_PASSWORD = "SecurePass123!"
DEV_SIGNING_KEY = "local-dev-signing-key-not-for-production-0123456789"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
REGION = gateway.REGION
# Containers per function: enough for concurrent requests to race as on Lambda, few enough
# for a laptop (each is a Python process of about 60 MiB).
DEFAULT_CONTAINERS = 4
STORAGE_ENDPOINTS = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_SESV2",
)
ENDPOINT_TIMEOUT = 2  # seconds for a given storage endpoint to accept a connection


class Worker:
    """A function's container: one process, one event at a time.

    With ``extension``, the container has its own Parameters and Secrets extension, as each
    Lambda execution environment runs its own: started with the process (its cache empty
    until the container's first read), told to it through the environment, stopped with it.
    """

    def __init__(
        self,
        function: str,
        code_dir: str,
        environment: dict[str, str],
        extension: Callable[[], SecretsExtensionServer] | None = None,
    ) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self._extension = extension() if extension is not None else None
        if self._extension is not None:
            environment = {
                **environment,
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self._extension.port),
                "AWS_SESSION_TOKEN": self._extension.session_token,
            }
        self._log = (LOGS / f"{function}.log").open("a")
        module = code_dir.replace("/", ".") + ".app"
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "tools.lambda_worker", module],
                cwd=ROOT,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
            )
        except OSError:
            self._stop_extension()
            self._log.close()
            raise
        self._lock = threading.Lock()
        self._started = threading.Event()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The handler's return value; RuntimeError when the function errored or died."""
        with self._lock:
            stdin, stdout = self._pipes()
            if not self._started.is_set():
                json.loads(stdout.readline() or '{"ready": false}')
                self._started.set()
            stdin.write(json.dumps(event) + "\n")
            stdin.flush()
            line = stdout.readline()
        if not line:
            raise RuntimeError("function process exited; see .local/logs/")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["message"] or answer["error"])
        return dict(answer["result"])

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def terminate(self) -> None:
        """Ask the process to end (SIGTERM) without waiting: ``stop`` waits and cleans up."""
        self._process.terminate()

    def stop(self) -> None:
        self.terminate()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stop_extension()
        self._log.close()

    def _stop_extension(self) -> None:
        if self._extension is not None:
            self._extension.stop()


class FunctionPool:
    """A function's containers, scaled out as Lambda does under concurrent load.

    An event goes to an idle container (the most recently used: the warmest); a new one
    starts, and pays its own cold start, only when every container is busy and fewer than
    ``max_containers`` run; past that, the event waits for a free one (a throttled
    Lambda would answer 429 instead). Each container keeps its own module state (caches,
    clients, keys) and serves one event at a time, and with ``extension`` (how to start
    one) its own secrets extension. A container whose process died is replaced, as Lambda
    replaces a crashed one.
    """

    def __init__(
        self,
        function: str,
        code_dir: str,
        environment: dict[str, str],
        max_containers: int,
        extension: Callable[[], SecretsExtensionServer] | None = None,
    ) -> None:
        self._start: Callable[[], Worker] = lambda: Worker(function, code_dir, environment, extension)
        self._max = max_containers
        self._changed = threading.Condition()
        self._containers = [self._start()]
        self._idle = list(self._containers)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        worker = self._acquire()
        try:
            return worker.invoke(event)
        finally:
            self._release(worker)

    def _acquire(self) -> Worker:
        with self._changed:
            while not self._idle and len(self._containers) >= self._max:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            worker = self._start()
            self._containers.append(worker)
            return worker

    def _release(self, worker: Worker) -> None:
        with self._changed:
            if worker.alive:
                self._idle.append(worker)
            else:
                self._containers.remove(worker)
                worker.stop()
            self._changed.notify()

    def terminate(self) -> None:
        for worker in list(self._containers):
            worker.terminate()

    def stop(self) -> None:
        with self._changed:
            for worker in self._containers:
                worker.stop()


class LocalApi(ThreadingHTTPServer):
    daemon_threads = True
    # The kernel's queue of connections not yet accepted. With the standard library's 5, the
    # sixth client of a burst had its connection dropped (a SYN retried a second later) or
    # reset; API Gateway never resets one. A burst of a few hundred clients waits here for the
    # accept loop instead (Linux caps it at net.core.somaxconn).
    request_queue_size = 1024

    def __init__(self, port: int, model: gateway.ApiModel, workers: dict[str, FunctionPool]) -> None:
        self.model = model
        self.workers = workers
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: LocalApi
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, QUERY...) goes to the gateway too: JSON, never a 501 page."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started = time.perf_counter()
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # API Gateway's own X-Forwarded-Proto, not the client's (https there, http here).
        headers = {name: value for name, value in self.headers.items() if name.lower() != "x-forwarded-proto"}
        headers["X-Forwarded-Proto"] = "http"
        answer = self._answer(url.path, parse_qs(url.query, keep_blank_values=True), headers, body)
        payload = answer.body.encode()
        # Printed before the answer leaves: whoever holds an answer finds its line in the log.
        elapsed = (time.perf_counter() - started) * 1000
        say(f"{self.command} {url.path} {answer.status} {elapsed:.1f}ms")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes) -> gateway.Answer:
        model, method = self.server.model, self.command
        route_path = _under(model.base_path, path)
        found = model.route_for(method, route_path)
        if found is None:
            return model.gateway_response("MISSING_AUTHENTICATION_TOKEN", request_headers=headers)
        route, params = found
        authorizer_context = None
        if not route.public and model.jwt_authorizer is not None:
            # API Gateway reads the issuer's documents from its public URL; here this very server serves them.
            port = self.server.server_address[1]
            decision = model.authorize_jwt(headers, route, f"http://127.0.0.1:{port}{model.base_path}")
            if isinstance(decision, gateway.Answer):
                return decision
            authorizer_context = decision
        elif not route.public:
            worker = self.server.workers[model.authorizer.function]
            decision = model.authorize(headers, method, route_path, worker.invoke)
            if isinstance(decision, gateway.Answer):
                return decision
            authorizer_context = decision
        if route.backend is not None:
            assert authorizer_context is not None  # SAM puts every DefinitionBody method behind it
            forwarded = gateway.forward(route, params, method, query, headers, body, authorizer_context)
            return forwarded or model.gateway_response("DEFAULT_5XX", request_headers=headers)
        event = gateway.proxy_event(
            route, params, model.stage, method, path, headers, query, body, self.client_address[0], authorizer_context
        )
        try:
            result = self.server.workers[route.function].invoke(event)
        except RuntimeError:
            return model.gateway_response("DEFAULT_5XX", request_headers=headers)
        answer_headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            answer_headers[name] = ", ".join(str(value) for value in values)
        return gateway.Answer(int(result["statusCode"]), answer_headers, result.get("body") or "")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: _serve logs its own line without the query string."""


def served_issuer(model: gateway.ApiModel) -> str | None:
    """The ``iss`` the functions will mint, for the banner.

    ``ISSUER`` reaches the functions as the template resolves it, as CloudFormation would: the
    default keeps its ``{api_id}`` placeholder, which each function fills in from its events
    (``apiId`` = ``gateway.API_ID`` here). A function that forgot to bind would fail here as on AWS.
    """
    configured = next((env["ISSUER"] for env in model.environments.values() if env.get("ISSUER")), None)
    issuer = Issuer(configured)
    issuer.bind_api(gateway.API_ID)
    return issuer.value


def _under(base_path: str, path: str) -> str:
    """The route path of a request under the custom domain's base path ("" when outside it)."""
    if not base_path:
        return path
    return path[len(base_path) :] if path.startswith(base_path + "/") else ""


def prepare_storage(model: gateway.ApiModel, storage_port: int) -> tuple[dict[str, str], Any]:
    """Endpoints for the functions and authctl, starting moto's server where none is given."""
    endpoints = {name: os.environ[name] for name in STORAGE_ENDPOINTS if os.environ.get(name)}
    moto_server = None
    if len(endpoints) < len(STORAGE_ENDPOINTS):
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines from moto
        moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=storage_port, verbose=False)
        moto_server.start()
        url = f"http://127.0.0.1:{storage_port}"
        for name in STORAGE_ENDPOINTS:
            endpoints.setdefault(name, url)
        os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(endpoints)
    os.environ.setdefault("AWS_REGION", REGION)
    return endpoints, moto_server


def create_resources(model: gateway.ApiModel, environment: dict[str, str], rotation: dict[str, str]) -> None:
    """The table (as the template defines it) and the secrets, if they do not exist yet.

    The signing key starts as the well-known dev key (a plain HMAC key, as a fresh stack's
    generated secret is); with an asymmetric Algorithm it is rotated once at start, which
    publishes the public keys to the verification secret, as the stack's first rotation does.
    """
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = model.table
    if table["TableName"] not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=table["TableName"],
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            BillingMode=table["BillingMode"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
        )
    secrets_client = boto3.client("secretsmanager", region_name=REGION)
    signing, verification = environment["SIGNING_KEY_SECRET_ID"], rotation["VERIFICATION_KEY_SECRET_ID"]
    with contextlib.suppress(secrets_client.exceptions.ResourceExistsException):
        secrets_client.create_secret(Name=signing, SecretString=DEV_SIGNING_KEY)
    with contextlib.suppress(secrets_client.exceptions.ResourceExistsException):
        secrets_client.create_secret(Name=verification, SecretString=verification_document(DEV_SIGNING_KEY))
    # The TOTP secrets' key ring (shared/mfa/sealing.py): a random key, as the stack generates one.
    for key_ring in {env["MFA_KEY_SECRET_ID"] for env in model.environments.values() if "MFA_KEY_SECRET_ID" in env}:
        with contextlib.suppress(secrets_client.exceptions.ResourceExistsException):
            ring = {"current": "1", "1": secrets.token_urlsafe(48)}
            secrets_client.create_secret(Name=key_ring, SecretString=json.dumps(ring))
    settings = Settings.from_environ({**environment, **rotation})
    current = parse(secrets_client.get_secret_value(SecretId=signing)["SecretString"], settings.legacy_algorithm)
    if settings.ALGORITHM in ASYMMETRIC and (current.newest is None or current.newest.alg != settings.ALGORITHM):
        KeyRotation(secrets_client, settings, verification).rotate_now(signing)


def create_queues(model: gateway.ApiModel) -> dict[str, str]:
    """Each queue a function consumes, by name -> URL (created if absent)."""
    sqs = boto3.client("sqs", region_name=REGION)
    return {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in set(model.queue_consumers.values())}


class QueuePoller(threading.Thread):
    """SQS's event source mapping: long-polls a queue and hands batches to its function."""

    def __init__(self, queue_url: str, worker: FunctionPool, mail: Path) -> None:
        super().__init__(daemon=True)
        self._queue_url = queue_url
        self._mail = mail
        self._worker = worker
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.is_set():
            with contextlib.suppress(Exception):  # moto stopping at Ctrl-C: the loop ends with it
                self._poll_once()

    def _poll_once(self) -> None:
        messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            return
        before = set(self._mail.glob("*.eml"))
        records = [
            {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"]}
            | {"eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}
            for message in messages
        ]
        failed = set()
        try:
            answer = self._worker.invoke({"Records": records})
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        except RuntimeError:
            failed = {message["MessageId"] for message in messages}  # the whole batch goes back
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        for path in sorted(set(self._mail.glob("*.eml")) - before):
            say(file_mail(path))

    def stop(self) -> None:
        self._stopped.set()


_OUTPUT = threading.Lock()


def say(line: str) -> None:
    """One whole line on stdout: print() writes the text and its newline separately, so lines
    printed by concurrent request threads could run into each other."""
    with _OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def file_mail(path: Path) -> str:
    """A written ``.eml`` made readable: its decoded text in a ``.txt`` beside it, and the line to print.

    The ``.eml`` is quoted-printable (``key=3D...``, long lines wrapped with ``=``), so a key
    copied out of it is wrong; the ``.txt`` holds the headers a person needs and the plain-text
    part as decoded, each link whole on its own line. The line is one per message, as Django's
    console backend shows one: to, subject, the first link, the ``.txt``.
    """
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    readable = path.with_suffix(".txt")
    headers = "".join(f"{name}: {message[name]}\n" for name in ("From", "To", "Subject", "Date") if message[name])
    readable.write_text(f"{headers}\n{text}")
    link = next((line for line in text.splitlines() if line.startswith(("http://", "https://"))), "(no link)")
    shown = readable.relative_to(ROOT) if readable.is_relative_to(ROOT) else readable
    return f"mail to {message['To']}: {message['Subject']} {link} ({shown})"


def seed_demo_customer(environment: dict[str, str]) -> str:
    from shared.aws import client_config
    from shared.customers.passwords import PasswordHasher
    from shared.customers.record import DuplicateCustomer
    from shared.customers.store import CustomerStore

    settings = Settings.from_environ(environment)
    client = boto3.session.Session().client("dynamodb", config=client_config(settings))
    store = CustomerStore(client, settings.TABLE_NAME)
    try:
        return store.create(DEMO_EMAIL, PasswordHasher(settings).hash(DEMO_PASSWORD)).customer_id
    except DuplicateCustomer:
        existing = store.find_by_email(DEMO_EMAIL)
        return existing.customer_id if existing else "?"


class Stopped(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived: stop everything started here.

    A ``BaseException``, as ``KeyboardInterrupt`` is: raised by the signal handler wherever the
    main thread is, it must not be taken for a request's error. As an ``Exception`` it was, when
    the signal came while the accept loop handed a request over: socketserver's
    ``_handle_request_noblock`` caught it, printed it, and went on serving, the stop signals
    already ignored, so a server under load never stopped.
    """


def _stop_on_signals() -> None:
    """Ctrl-C, `kill` and a closed terminal all stop the server.

    Installed explicitly: a server started with `&` from a script inherits SIGINT ignored,
    and Python's default leaves SIGTERM to kill the process without its cleanup.
    """
    stopping_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def stop(signum: int, frame: object) -> None:
        for again in stopping_signals:  # a second Ctrl-C must not cut the cleanup short
            signal.signal(again, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    for stopping in stopping_signals:
        signal.signal(stopping, stop)


class PortsTaken(Exception):
    """Ports the server needs are not free: one line naming each with the setting that moves it."""

    def __init__(self, taken: list[tuple[int, str, str, str]]) -> None:
        """``taken``: (port, what listens there, its make variable, why it cannot be used)."""
        wanted = {port for port, *_ in taken}
        spares = [_spare(port, wanted) for port, *_ in taken]
        ports = ", ".join(f"port {port} ({what}) is not available ({reason})" for port, what, _, reason in taken)
        settings = " ".join(f"{setting}={spare}" for (_, _, setting, _), spare in zip(taken, spares, strict=True))
        super().__init__(f"make local: {ports}; move each with its setting, e.g. make local {settings}")


def _spare(port: int, avoid: set[int]) -> int:
    return next(
        (candidate for candidate in range(port + 1, port + 50) if candidate not in avoid and _free(candidate)), port + 1
    )


def _free(port: int) -> bool:
    return _bind_error(port) is None


def _bind_error(port: int) -> str | None:
    """Why 127.0.0.1:port cannot be listened on, or None. Same options as the servers' own sockets."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            return error.strerror or str(error)
    return None


def check_ports(wanted: list[tuple[int, str, str]]) -> None:
    """Every port (port, what, make variable) checked before anything starts: all taken ones in one message."""
    taken = [(port, what, setting, reason) for port, what, setting in wanted if (reason := _bind_error(port))]
    if taken:
        raise PortsTaken(taken)


class EndpointsDown(Exception):
    """``AWS_ENDPOINT_URL_*`` variables naming a service that does not answer: one line saying what to do."""

    def __init__(self, down: list[tuple[str, str, str]]) -> None:
        """``down``: (variable, its URL, why it does not answer)."""
        names = " ".join(name for name, _, _ in down)
        endpoints = ", ".join(f"{name}={url} does not answer ({reason})" for name, url, reason in down)
        super().__init__(
            f"make local: {endpoints}; start that service, or run `unset {names}` and make local starts its own storage"
        )


def _unreachable(url: str) -> str | None:
    """Why nothing accepts a connection at the endpoint's host and port, or None when something does."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "not a URL with a port"
    if not parts.hostname:
        return "not a URL with a host"
    try:
        with socket.create_connection((parts.hostname, port), timeout=ENDPOINT_TIMEOUT):
            return None
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__


def check_endpoints() -> None:
    """Every storage endpoint the environment gives must answer, before anything starts."""
    given = [(name, os.environ[name]) for name in STORAGE_ENDPOINTS if os.environ.get(name)]
    down = [(name, url, reason) for name, url in given if (reason := _unreachable(url))]
    if down:
        raise EndpointsDown(down)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    parser.add_argument("--storage-port", type=int, default=int(os.environ.get("STORAGE_PORT", "8000")))
    parser.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="NAME=VALUE", help="template parameters"
    )
    parser.add_argument(
        "--max-containers",
        type=int,
        default=int(os.environ.get("CONTAINERS", str(DEFAULT_CONTAINERS))),
        help=f"containers (worker processes) per function under concurrent load (default {DEFAULT_CONTAINERS})",
    )
    parser.add_argument(
        "--persist",
        nargs="?",
        type=Path,
        const=STATE,
        metavar="FILE",
        help=f"keep moto's table and secrets in FILE between runs (default {STATE.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--mail-directory",
        type=Path,
        default=MAIL,
        help=f"write each account mail there as an .eml file (default {MAIL.relative_to(ROOT)})",
    )
    parser.add_argument("--storefront-port", type=int, help="serve examples/storefront/ on http://localhost:PORT")
    parser.add_argument(
        "--oidc-port", type=int, help='run a local OpenID provider as "Google" on http://localhost:PORT'
    )
    parser.add_argument(
        "--allowed-origins", help="the AllowedOrigins parameter (default: the storefront's origin, if served)"
    )
    args = parser.parse_args(argv)
    if args.max_containers < 1:
        parser.error("--max-containers must be at least 1")
    _stop_on_signals()
    try:
        with contextlib.ExitStack() as running:
            return _run(args, running)
    except (PortsTaken, EndpointsDown) as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    except Stopped:
        print("\nstopping", flush=True)
        return 0


def _run(args: argparse.Namespace, running: contextlib.ExitStack) -> int:
    """Start everything, each part registered on ``running`` so that a stop undoes it."""
    ports = [(args.port, "the API", "PORT")]
    if args.storefront_port is not None:
        ports.append((args.storefront_port, "the storefront", "STOREFRONT_PORT"))
    if args.oidc_port is not None:
        ports.append((args.oidc_port, 'the local "Google"', "OIDC_PORT"))
    if not all(os.environ.get(name) for name in STORAGE_ENDPOINTS):
        ports.append((args.storage_port, "moto storage", "STORAGE_PORT"))
    check_ports(ports)
    check_endpoints()
    overrides = dict(item.split("=", 1) for item in args.parameter_overrides)
    google = None
    if args.oidc_port is not None:
        google = _start_google(args.oidc_port)
        running.callback(google.stop)
        for name, value in google.parameters.overrides().items():
            overrides.setdefault(name, value)
    if args.storefront_port is not None:
        wired = google is not None and overrides["GoogleClientIds"] == google.parameters.client_id
        storefront = _start_storefront(args.storefront_port, args.port, google.parameters if wired and google else None)
        running.callback(storefront.stop)
        overrides.setdefault("AllowedOrigins", f"http://localhost:{args.storefront_port}")
    if args.allowed_origins is not None:
        overrides["AllowedOrigins"] = args.allowed_origins
    model = gateway.load(overrides=overrides)
    issuer = served_issuer(model)

    endpoints, moto_server = prepare_storage(model, args.storage_port)
    if moto_server is not None:
        running.callback(moto_server.stop)
    shared_environment = {**endpoints, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if os.environ.get(name):
            shared_environment[name] = os.environ[name]
    first_function = next(iter(model.environments.values()))
    rotation = next(env for env in model.environments.values() if "VERIFICATION_KEY_SECRET_ID" in env)
    persisted = args.persist if moto_server is not None else None  # other endpoints keep their own data
    if persisted is not None:
        local_store.restore_secrets(persisted, REGION)
    create_resources(model, first_function, rotation)
    if persisted is not None:
        table = first_function["TABLE_NAME"]
        secret_ids = (first_function["SIGNING_KEY_SECRET_ID"], rotation["VERIFICATION_KEY_SECRET_ID"])
        local_store.restore_items(persisted, REGION, table)
        running.callback(local_store.save, persisted, REGION, table, secret_ids)  # before moto stops
    customer_id = seed_demo_customer({**os.environ, **first_function})
    queue_urls = create_queues(model)

    workers: dict[str, FunctionPool] = {}
    for function, code_dir in model.code_dirs.items():
        if function == model.authorizer.function and model.jwt_authorizer is not None:
            continue  # AuthorizerMode=jwt: the gateway decides, the authorizer function never runs
        environment = _function_environment(model, function, shared_environment)
        extension = extension_per_container(environment) if function == model.authorizer.function else None
        if environment.get("MAIL_QUEUE_URL") in queue_urls:
            environment["MAIL_QUEUE_URL"] = queue_urls[environment["MAIL_QUEUE_URL"]]
        if function in model.queue_consumers:
            environment.update(MAIL_SENDER="directory", MAIL_DIRECTORY=str(args.mail_directory))
        # The mailer's links and the passkeys' relying party: the demo storefront this server serves, else the API.
        if "STOREFRONT_URL" in environment and "StorefrontUrl" not in overrides:
            served = args.storefront_port is not None
            environment["STOREFRONT_URL"] = (
                f"http://localhost:{args.storefront_port}" if served else f"http://127.0.0.1:{args.port}"
            )
        workers[function] = FunctionPool(function, code_dir, environment, args.max_containers, extension)
        running.callback(workers[function].stop)
    # Runs before the stops above: every container gets SIGTERM at once, so a stop under load
    # waits for the slowest container, not for each in turn.
    running.callback(_terminate_all, list(workers.values()))
    for function, queue in model.queue_consumers.items():
        poller = QueuePoller(queue_urls[queue], workers[function], args.mail_directory)
        poller.start()
        running.callback(poller.stop)

    try:
        api = LocalApi(args.port, model, workers)
    except OSError as error:  # taken since the check
        raise PortsTaken([(args.port, "the API", "PORT", error.strerror or str(error))]) from None
    running.callback(api.server_close)
    if issuer:
        print(f"OIDC issuer {issuer}, discovery http://127.0.0.1:{args.port}{model.base_path}{DISCOVERY_PATH}")
    if google is not None:
        print(
            f'local "Google" (OpenID provider) on {google.parameters.issuer}, client id {overrides["GoogleClientIds"]}'
        )
    if args.storefront_port is not None:
        origins = overrides["AllowedOrigins"] or "none: the page cannot call the API"
        print(f"storefront demo on http://localhost:{args.storefront_port}   allowed origins: {origins}")
    announce = functools.partial(
        _announce, args.port, endpoints, moto_server is not None, first_function, customer_id, persisted
    )
    if model.jwt_authorizer is not None:
        # API Gateway reads the issuer's documents when it creates the authorizer: ready after that.
        threading.Thread(target=_create_jwt_authorizer, args=(model, args.port, announce), daemon=True).start()
    else:
        announce()
    api.serve_forever()
    return 0


def _create_jwt_authorizer(model: gateway.ApiModel, port: int, announce: Callable[[], None]) -> None:
    """The JWT authorizer's keys, read from this server once it serves (a failed read stops it,
    as a failed creation fails the deployment), then the banner."""
    assert model.jwt_authorizer is not None
    try:
        model.jwt_authorizer.keys(f"http://127.0.0.1:{port}{model.base_path}").get_signing_keys()
    except (jwt.PyJWTError, OSError, ValueError, KeyError) as error:
        say(f"the JWT authorizer cannot read the issuer's keys: {error}")
        os.kill(os.getpid(), signal.SIGTERM)
        return
    announce()


def _terminate_all(pools: list[FunctionPool]) -> None:
    for pool in pools:
        pool.terminate()


def _start_google(port: int) -> LocalGoogle:
    try:
        return LocalGoogle(port).start()
    except OSError as error:
        raise PortsTaken([(port, 'the local "Google"', "OIDC_PORT", error.strerror or str(error))]) from None


def _start_storefront(port: int, api_port: int, google: GoogleParameters | None = None) -> Storefront:
    """The demo page on its own origin, calling the API as http://localhost (one site with it)."""
    try:
        return Storefront(port, f"http://localhost:{api_port}", google).start()
    except OSError as error:
        raise PortsTaken([(port, "the storefront", "STOREFRONT_PORT", error.strerror or str(error))]) from None


def extension_per_container(environment: dict[str, str]) -> Callable[[], SecretsExtensionServer]:
    """How to start one container's extension: its own port, session token and cache, with the
    ``SECRETS_MANAGER_TTL`` of the function's environment (where the real one reads it). They
    share one Secrets Manager client: a connection pool, not state that would tell them apart."""
    ttl = float(environment.get("SECRETS_MANAGER_TTL", DEFAULT_TTL))
    client = boto3.session.Session().client("secretsmanager", region_name=REGION)
    return lambda: SecretsExtensionServer(0, secrets.token_urlsafe(16), REGION, ttl=ttl, client=client).start()


def _function_environment(model: gateway.ApiModel, function: str, shared: dict[str, str]) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **model.environments[function], **shared}


def _announce(
    port: int,
    endpoints: dict[str, str],
    started_moto: bool,
    environment: dict[str, str],
    cid: str,
    persisted: Path | None,
) -> None:
    storage = "moto server (started here)" if started_moto else "your endpoints"
    exports = {**endpoints, "AWS_REGION": REGION, "TABLE_NAME": environment["TABLE_NAME"]}
    if started_moto:
        exports.update(FAKE_CREDENTIALS)
    print(f"ecommerce-auth local API on http://127.0.0.1:{port}")
    print(f"storage: {storage} at {endpoints['AWS_ENDPOINT_URL_DYNAMODB']}, table {environment['TABLE_NAME']}")
    if persisted is not None:
        print(f"data: kept in {_shown(persisted)}, saved when the server stops, restored when it starts")
    elif started_moto:
        print("data: in memory only, gone when the server stops (make local PERSIST=1 keeps it in .local/)")
    print(f"demo customer: {DEMO_EMAIL} / {DEMO_PASSWORD} (id {cid})")
    print("for authctl in another terminal:")
    for name, value in exports.items():
        print(f"export {name}={value}")
    print("function logs: .local/logs/   Ctrl-C stops everything started here", flush=True)


def _shown(path: Path) -> str:
    """The path as the user would type it: relative to the project when inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    sys.exit(main())
