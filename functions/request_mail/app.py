"""POST /auth/registration/resend-email/ and /auth/password/reset/ — queue a mail, same answer for all."""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import account_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

RESEND_PATH = "/auth/registration/resend-email/"
RESET_PATH = "/auth/password/reset/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, RESEND_PATH, logger, metrics)
http.install(app, RESET_PATH, logger, metrics)
service = account_service()
warm_up()


@app.post(RESEND_PATH)
def resend_verification() -> Response[str]:
    event = app.current_event
    body = service.resend_verification(http.raw_body(event), http.content_type(event), http.source_ip(event))
    metrics.add_metric(name="VerificationResends", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@app.post(RESET_PATH)
def request_reset() -> Response[str]:
    event = app.current_event
    body = service.request_reset(http.raw_body(event), http.content_type(event), http.source_ip(event))
    metrics.add_metric(name="PasswordResetRequests", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
