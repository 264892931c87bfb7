"""The baseline: Django 5.2 + DRF + simplejwt 5.5.1, run in the Django venv by bench/run.py.

Usage: django_side.py warm|cold|prepare|first-login|first-refresh, with the run's inputs as
one JSON line on stdin (signing key, credentials, the tokens the service side minted).
``cold`` prints one JSON line of timings; ``warm`` then serves its figures to
bench/interleave.py (bench/measure.py's protocol). ``prepare`` migrates a sqlite file with
simplejwt's blacklist app and creates the customer; ``first-login`` and ``first-refresh`` are a
cold start whose first request succeeds on (a copy of) that file: a login, or a rotating
refresh that blacklists the token it is given (bench/first_request.py). Never prints a token,
a password, a hash or the key.

Configured as the Django API configures simplejwt (1 h access, 3 day refresh, "Bearer",
user id field ``id``, last_login updated), on Django's default User (the customer's email
as username, the stored hash Django's default PBKDF2-SHA256 at 1,000,000 iterations) and an
in-memory sqlite database. Deliberately lean, which flatters the baseline: no middleware,
JSON renderer and parser only, requests served through Django's WSGI handler (what a
deployment runs; the test Client would add django.test's imports to the cold start).
"""

from __future__ import annotations

import time

STARTED_NS = time.monotonic_ns()  # first thing: the cold start's "interpreter ready" mark
STARTED_CPU_NS = time.process_time_ns()  # the interpreter's own start, in CPU time

import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

# Only what the service's cold_child.py imports before its clock starts: anything more
# (typing, datetime) would be loaded for free before Django's setup is timed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Application = Callable[[dict[str, Any], Callable[..., object]], Any]


BLACKLIST_APP = "rest_framework_simplejwt.token_blacklist"


def configure(signing_key: str, database: str = ":memory:", *, blacklist: bool = False) -> None:
    """simplejwt as the Django API has it; ``blacklist``: its blacklist app, rotation, retirement."""
    from datetime import timedelta

    import django
    from django.conf import settings

    rotation = {"ROTATE_REFRESH_TOKENS": True, "BLACKLIST_AFTER_ROTATION": True} if blacklist else {}
    settings.configure(
        DEBUG=False,
        SECRET_KEY=signing_key,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            *([BLACKLIST_APP] if blacklist else []),
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        ROOT_URLCONF="django_urls",
        MIDDLEWARE=[],
        USE_TZ=True,
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        },
        SIMPLE_JWT={
            "SIGNING_KEY": signing_key,
            "ALGORITHM": "HS256",
            "ACCESS_TOKEN_LIFETIME": timedelta(hours=1),
            "REFRESH_TOKEN_LIFETIME": timedelta(days=3),
            "AUTH_HEADER_TYPES": ("Bearer",),
            "USER_ID_FIELD": "id",
            "USER_ID_CLAIM": "user_id",
            "UPDATE_LAST_LOGIN": True,
            **rotation,
        },
    )
    django.setup()


def environ(method: str, path: str, body: bytes = b"", authorization: str | None = None) -> dict[str, Any]:
    """A WSGI request as a front-end server hands it to Django."""
    values: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "HTTP_ACCEPT": "application/json",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "https",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if authorization is not None:
        values["HTTP_AUTHORIZATION"] = authorization
    return values


def respond(application: Application, request: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    """One request through the WSGI handler; a fresh input stream each time."""
    answer: list[str] = []
    result = application(
        dict(request, **{"wsgi.input": io.BytesIO(body)}), lambda status, headers: answer.append(status)
    )
    try:
        content = b"".join(result)
    finally:
        result.close()
    return int(answer[0].split()[0]), content


# The request of each cold start: path, body, the status it must answer. ``cold`` is the
# same 400 the service's probe gets (in-memory database); the others succeed on the prepared
# file with the blacklist app (bench/first_request.py).
COLD_REQUESTS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, str]], int]] = {
    "cold": ("/auth/token/", lambda given: {"username": given["email"]}, 400),
    "first-login": ("/auth/token/", lambda given: {"username": given["email"], "password": given["password"]}, 200),
    "first-refresh": ("/auth/token/refresh/", lambda given: {"refresh": given["refresh"]}, 200),
}


def cold(inputs: dict[str, Any], request: str = "cold") -> dict[str, Any]:
    """Set Django up and serve its first token request, in wall and CPU time, its SQL counted.

    Init is the settings and the WSGI application; the database connection, the URLconf and
    the views come with the first request, as in a real deployment.
    """
    path, body_of, expected = COLD_REQUESTS[request]
    body = json.dumps(body_of(inputs)).encode()
    wsgi = environ("POST", path, body)
    setup_started, setup_started_cpu = time.monotonic_ns(), time.process_time_ns()
    configure(inputs["signing_key"], inputs.get("database", ":memory:"), blacklist=request != "cold")
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    setup_done, setup_done_cpu = time.monotonic_ns(), time.process_time_ns()
    from django.db import connection

    statements: list[str] = []
    with connection.execute_wrapper(_counter(statements)):
        status, _ = respond(application, wsgi, body)
    answered, answered_cpu = time.monotonic_ns(), time.process_time_ns()
    if status != expected:
        raise RuntimeError(f"first token request ({request}) answered {status}, expected {expected}")
    from measure import peak_rss_kib  # after the answer: not part of the cold start

    return {
        "started_ns": STARTED_NS,
        "init_started_ns": setup_started,
        "init_done_ns": setup_done,
        "answered_ns": answered,
        "started_cpu_ns": STARTED_CPU_NS,
        "init_cpu_ns": setup_done_cpu - setup_started_cpu,
        "first_event_cpu_ns": answered_cpu - setup_done_cpu,
        "sql_statements": len(statements),
        "peak_rss_kib": peak_rss_kib(),
    }


def prepare(inputs: dict[str, Any]) -> None:
    """The database a running Django deployment has: migrated, the customer in it (user 1)."""
    configure(inputs["signing_key"], inputs["database"], blacklist=True)
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User.objects.create(id=1, username=inputs["email"], email=inputs["email"], password=inputs["pbkdf2_hash"])


def warm(inputs: dict[str, Any]) -> None:
    """Set up with the database in place, check every answer, then serve the warm figures."""
    configure(inputs["signing_key"])
    import jwt
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from measure import Figures, serve
    from rest_framework.request import Request
    from rest_framework_simplejwt.authentication import JWTAuthentication
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import RefreshToken

    call_command("migrate", verbosity=0)
    user = User.objects.create(id=1, username=inputs["email"], email=inputs["email"], password=inputs["pbkdf2_hash"])
    application = get_wsgi_application()
    key, access, refresh, password = inputs["signing_key"], inputs["access"], inputs["refresh"], inputs["password"]

    login_body = json.dumps({"username": inputs["email"], "password": password}).encode()
    refresh_body = json.dumps({"refresh": refresh}).encode()
    login = environ("POST", "/auth/token/", login_body)
    refreshing = environ("POST", "/auth/token/refresh/", refresh_body)
    authentication = JWTAuthentication()
    request = Request(_wsgi_request(environ("GET", "/api/v1/customers/1/", authorization=f"Bearer {access}")))

    def expect(status: int, call: Callable[[], tuple[int, bytes]]) -> Callable[[], object]:
        if (actual := call()[0]) != status:
            raise RuntimeError(f"baseline request answered {actual}, expected {status}")
        return call

    def rotating() -> tuple[int, bytes]:
        """simplejwt's rotation without the blacklist app: the refresh token re-minted, no writes."""
        api_settings.ROTATE_REFRESH_TOKENS = True
        try:
            return respond(application, refreshing, refresh_body)
        finally:
            api_settings.ROTATE_REFRESH_TOKENS = False

    authenticated = authentication.authenticate(request)
    if authenticated is None or authenticated[0].pk != 1:
        raise RuntimeError("JWTAuthentication did not authenticate the shared token")
    hasher = PBKDF2PasswordHasher()
    if not hasher.verify(password, inputs["pbkdf2_hash"]) or hasher.iterations != 1_000_000:
        raise RuntimeError("the PBKDF2 hash is not Django's default at 1,000,000 iterations")

    login_request = expect(200, lambda: respond(application, login, login_body))
    refresh_request = expect(200, lambda: respond(application, refreshing, refresh_body))
    rotating_request = expect(200, rotating)
    figures: Figures = {
        "jwt_decode": (lambda: jwt.decode(access, key, algorithms=["HS256"]), "us"),
        "authenticate": (lambda: authentication.authenticate(request), "us"),
        "issue_pair": (lambda: _issue_pair(RefreshToken.for_user(user)), "us"),
        "refresh_tokens": (lambda: str(RefreshToken(refresh).access_token), "us"),
        "refresh_request": (refresh_request, "us"),
        "refresh_request_rotating": (rotating_request, "us"),
        "pbkdf2_verify": (lambda: hasher.verify(password, inputs["pbkdf2_hash"]), "ms"),
        "login_request": (login_request, "ms"),
    }
    report = {
        "sql_queries": {
            "obtain": _queries(connection, login_request),
            "refresh": _queries(connection, refresh_request),
            "refresh_rotating": _queries(connection, rotating_request),
            "authenticate": _queries(connection, lambda: authentication.authenticate(request)),
        },
        "versions": _versions(),
    }
    serve(figures, lambda: report, sys.stdout)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("Django", "djangorestframework", "djangorestframework-simplejwt", "PyJWT")
    return {name: version(name) for name in names}


def _issue_pair(refresh: Any) -> tuple[str, str]:
    """TokenObtainPairSerializer.validate's token work: both tokens encoded."""
    return str(refresh), str(refresh.access_token)


def _wsgi_request(values: dict[str, Any]) -> Any:
    from django.core.handlers.wsgi import WSGIRequest

    return WSGIRequest(values)


def _counter(sent: list[str]) -> Callable[..., object]:
    """An execute wrapper that notes every SQL statement sent."""

    def count(execute: Callable[..., object], sql: str, *args: object) -> object:
        sent.append(sql)
        return execute(sql, *args)

    return count


def _queries(connection: Any, call: Callable[[], object]) -> int:
    """SQL statements one call sends: the baseline's counterpart of DynamoDB requests."""
    sent: list[str] = []
    with connection.execute_wrapper(_counter(sent)):
        call()
    return len(sent)


if __name__ == "__main__":
    given = json.loads(sys.stdin.readline())
    if sys.argv[1] in COLD_REQUESTS:
        print(json.dumps(cold(given, sys.argv[1])))
    elif sys.argv[1] == "prepare":
        prepare(given)
    else:
        warm(given)
