"""Sign in with Google and Apple: ``POST /auth/social/{google,apple}/`` (public), and the caller's
linked providers, ``GET /auth/social/`` and ``DELETE /auth/social/{provider}/`` (behind the authorizer).

One function for the capability (its own Lambda: the token functions' cold start does not pay for
it). With ``X-Token-Transport: cookie`` (an allowed origin only) the refresh token is set as the
HttpOnly cookie and the body carries the access token alone, as at ``/auth/token/``.
"""

import json
from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import cookie_transport, social_service, token_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

LINKED_PATH = "/auth/social/"
PROVIDER_PATH = "/auth/social/<provider>/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, LINKED_PATH, logger, metrics, allowed=("GET",))
http.refuse_other_methods(app, PROVIDER_PATH, metrics, allowed=("POST", "DELETE"))
cookies = cookie_transport()
service = social_service()
token_service()  # a sign-in signs: its key is fetched at cold start
warm_up()


@app.post(PROVIDER_PATH)
def sign_in(provider: str) -> Response[str]:
    event = app.current_event
    in_cookie = cookies.requested(event.raw_event)
    result = service.sign_in(provider, http.raw_body(event), http.content_type(event), http.source_ip(event))
    logger.append_keys(customer_id=result.customer_id)
    metrics.add_metric(name="SocialLogins", unit=MetricUnit.Count, value=1)
    return cookies.login_answer(result.tokens, in_cookie)


@app.get(LINKED_PATH)
def linked() -> Response[str]:
    body = service.linked(http.caller(app.current_event))
    metrics.add_metric(name="SocialLinkReads", unit=MetricUnit.Count, value=1)
    return Response(status_code=200, content_type=http.JSON, body=json.dumps(body, ensure_ascii=False))


@app.delete(PROVIDER_PATH)
def unlink(provider: str) -> Response[str]:
    service.unlink(http.caller(app.current_event), provider)
    metrics.add_metric(name="SocialUnlinks", unit=MetricUnit.Count, value=1)
    return Response(status_code=204, content_type=http.JSON, body="")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
