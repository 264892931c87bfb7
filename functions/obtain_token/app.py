"""POST /auth/token/ — email and password for a simplejwt-compatible token pair.

With ``X-Token-Transport: cookie`` (an allowed origin only) the refresh token is set as an
HttpOnly cookie and the body carries the access token alone (shared/web/browser.py).
"""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import cookie_transport, login_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PATH = "/auth/token/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics)
cookies = cookie_transport()
service = login_service(on_lockout=lambda: metrics.add_metric(name="Lockouts", unit=MetricUnit.Count, value=1))
warm_up()


@app.post(PATH)
def obtain_token() -> Response[str]:
    event = app.current_event
    in_cookie = cookies.requested(event.raw_event)  # a refused origin costs no password hash
    source_ip = event.request_context.identity.source_ip or "unknown"
    result = service.obtain_pair(http.raw_body(event), http.content_type(event), source_ip)
    logger.append_keys(customer_id=result.customer_id)
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return cookies.login_answer(result.tokens, in_cookie)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
