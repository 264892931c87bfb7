"""Passkeys: registration, the list and deletion (Bearer), usernameless sign-in (no authorizer).

One function for the capability's routes (one resolver): POST registration/options/ and
registration/, GET /auth/passkeys/ and DELETE /auth/passkeys/{id}/ act for the authorizer's
caller; POST login/options/ and login/ are public. A sign-in answers as a password login does:
the pair, or with ``X-Token-Transport: cookie`` (an allowed origin only) the access token and
the refresh token as the HttpOnly cookie (shared/web/browser.py).
"""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import cookie_transport, passkey_service, token_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PASSKEYS = "/auth/passkeys/"
REGISTRATION_OPTIONS = "/auth/passkeys/registration/options/"
REGISTRATION = "/auth/passkeys/registration/"
LOGIN_OPTIONS = "/auth/passkeys/login/options/"
LOGIN = "/auth/passkeys/login/"
PASSKEY = "/auth/passkeys/<credential_id>/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PASSKEYS, logger, metrics, allowed=("GET",))
# The fixed paths before the one with the id, which would match "registration/" or "login/" too.
for path in (REGISTRATION_OPTIONS, REGISTRATION, LOGIN_OPTIONS, LOGIN):
    http.refuse_other_methods(app, path, metrics, ("POST",))
http.refuse_other_methods(app, PASSKEY, metrics, ("DELETE",))
cookies = cookie_transport()
service = passkey_service()
token_service()  # a sign-in signs: its key is fetched at cold start
warm_up()


@app.post(REGISTRATION_OPTIONS)
def registration_options() -> Response[str]:
    event = app.current_event
    body = service.registration_options(http.caller(event), http.source_ip(event))
    metrics.add_metric(name="PasskeyRegistrationOptions", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@app.post(REGISTRATION)
def register() -> Response[str]:
    event = app.current_event
    body = service.register(http.caller(event), http.raw_body(event), http.content_type(event))
    metrics.add_metric(name="PasskeyRegistrations", unit=MetricUnit.Count, value=1)
    return http.json_response(201, body)


@app.post(LOGIN_OPTIONS)
def login_options() -> Response[str]:
    metrics.add_metric(name="PasskeyLoginOptions", unit=MetricUnit.Count, value=1)
    return http.json_response(200, service.login_options())


@app.post(LOGIN)
def login() -> Response[str]:
    event = app.current_event
    in_cookie = cookies.requested(event.raw_event)  # a refused origin costs no check
    result = service.login(http.raw_body(event), http.content_type(event), http.source_ip(event))
    logger.append_keys(customer_id=result.customer_id)
    metrics.add_metric(name="PasskeyLogins", unit=MetricUnit.Count, value=1)
    return cookies.login_answer(result.tokens, in_cookie)


@app.get(PASSKEYS)
def list_passkeys() -> Response[str]:
    body = service.passkeys(http.caller(app.current_event))
    metrics.add_metric(name="PasskeyLists", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@app.delete(PASSKEY)
def delete_passkey(credential_id: str) -> Response[str]:
    service.delete(http.caller(app.current_event), credential_id)
    metrics.add_metric(name="PasskeyDeletions", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, content_type=None, body="")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
