"""POST /auth/token/blacklist/ — server-side logout: the refresh token and its family end.

With ``X-Token-Transport: cookie`` the refresh token comes from the cookie, which the answer
clears (shared/web/browser.py).
"""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import cookie_transport, session_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PATH = "/auth/token/blacklist/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics)
service = session_service()
cookies = cookie_transport()
warm_up()


@app.post(PATH)
def blacklist_token() -> Response[str]:
    event = app.current_event
    if cookies.requested(event.raw_event):
        with cookies.refusals_clear_cookie():
            service.blacklist_token(cookies.presented(event.raw_event))
        answer = cookies.logged_out()
    else:
        answer = http.json_response(200, service.blacklist(http.raw_body(event), http.content_type(event)))
    metrics.add_metric(name="Logouts", unit=MetricUnit.Count, value=1)
    return answer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
