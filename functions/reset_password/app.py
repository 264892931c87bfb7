"""POST /auth/password/reset/confirm/ — uid and token from the mail set a new password."""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import account_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PATH = "/auth/password/reset/confirm/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics)
service = account_service()
warm_up()


@app.post(PATH)
def confirm_reset() -> Response[str]:
    event = app.current_event
    body = service.confirm_reset(http.raw_body(event), http.content_type(event))
    metrics.add_metric(name="PasswordResets", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
