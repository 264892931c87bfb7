"""/auth/mfa/... — TOTP MFA (dj-rest-auth's routes): the login's second step, enrolment, recovery codes.

One function, one resolver, six routes (docs/mfa-contract.md). ``verify`` is open; the others
are behind the authorizer, which lets a staff session scoped to enrolling reach only ``status``
and ``totp/activate``. With ``X-Token-Transport: cookie`` (an allowed origin only) the pairs of
verify, activation and deactivation put the refresh token in the HttpOnly cookie
(shared/web/browser.py). Answers that carry a secret, codes or tokens are ``no-store``.
"""

from collections.abc import Callable
from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.errors import NO_STORE
from shared.services import cookie_transport, mfa_service, token_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

VERIFY = "/auth/mfa/verify/"
STATUS = "/auth/mfa/status/"
ACTIVATE = "/auth/mfa/totp/activate/"
DEACTIVATE = "/auth/mfa/totp/deactivate/"
RECOVERY_CODES = "/auth/mfa/recovery-codes/"
REGENERATE = "/auth/mfa/recovery-codes/regenerate/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, VERIFY, logger, metrics)
for path, allowed in (
    (STATUS, ("GET",)),
    (ACTIVATE, ("GET", "POST")),
    (DEACTIVATE, ("POST",)),
    (RECOVERY_CODES, ("POST",)),
    (REGENERATE, ("POST",)),
):
    http.refuse_other_methods(app, path, metrics, allowed)
cookies = cookie_transport()
service = mfa_service()
token_service()  # verify, activation and deactivation sign: the key is fetched at cold start
warm_up()


def secret_answer(body: dict[str, Any], in_cookie: bool) -> Response[str]:
    """200, never stored by a cache; a pair's refresh token goes to the cookie when asked."""
    response = cookies.login_answer(body, in_cookie)
    response.headers.update(NO_STORE)
    return response


@app.post(VERIFY)
def verify() -> Response[str]:
    event = app.current_event
    in_cookie = cookies.requested(event.raw_event)
    tokens = service.verify(http.raw_body(event), http.content_type(event), http.source_ip(event))
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return secret_answer(tokens, in_cookie)


@app.get(STATUS)
def status() -> Response[str]:
    metrics.add_metric(name="MfaStatus", unit=MetricUnit.Count, value=1)
    return http.json_response(200, service.status(http.caller(app.current_event)))


@app.get(ACTIVATE)
def begin() -> Response[str]:
    metrics.add_metric(name="MfaActivationsBegun", unit=MetricUnit.Count, value=1)
    return secret_answer(service.begin(http.caller(app.current_event)), in_cookie=False)


def session_change(change: Callable[..., dict[str, Any]], metric: str) -> Response[str]:
    """A change that takes the password (and answers codes, or a fresh pair: no-store)."""
    event = app.current_event
    in_cookie = cookies.requested(event.raw_event)
    body = change(http.caller(event), http.raw_body(event), http.content_type(event), http.source_ip(event))
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    return secret_answer(body, in_cookie)


@app.post(ACTIVATE)
def confirm() -> Response[str]:
    return session_change(service.confirm, "MfaActivations")


@app.post(DEACTIVATE)
def deactivate() -> Response[str]:
    return session_change(service.deactivate, "MfaDeactivations")


@app.post(RECOVERY_CODES)
def recovery_codes() -> Response[str]:
    metrics.add_metric(name="MfaRecoveryCodesListed", unit=MetricUnit.Count, value=1)
    return http.json_response(200, service.recovery_codes(http.caller(app.current_event)))


@app.post(REGENERATE)
def regenerate() -> Response[str]:
    return session_change(service.regenerate, "MfaRecoveryCodesRegenerated")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
