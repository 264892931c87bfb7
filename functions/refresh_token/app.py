"""POST /auth/token/refresh/ — a refresh token for a new access token (and, rotating, a new refresh).

With ``X-Token-Transport: cookie`` the refresh token comes from the cookie (the body is
ignored; send ``{}``) and a rotated one goes back into it (shared/web/browser.py).
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

PATH = "/auth/token/refresh/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics)
service = session_service(on_reuse=lambda: metrics.add_metric(name="RefreshTokenReuse", unit=MetricUnit.Count, value=1))
cookies = cookie_transport()
warm_up()


@app.post(PATH)
def refresh_token() -> Response[str]:
    event = app.current_event
    if cookies.requested(event.raw_event):
        with cookies.refusals_clear_cookie():
            tokens = service.refresh_token(cookies.presented(event.raw_event))
        answer = cookies.tokens_answer(tokens)
    else:
        answer = http.json_response(200, service.refresh(http.raw_body(event), http.content_type(event)))
    metrics.add_metric(name="Refreshes", unit=MetricUnit.Count, value=1)
    return answer


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
