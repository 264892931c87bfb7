"""GET / PUT / PATCH /auth/user/ — the caller's pk, email (read-only), first and last name."""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import account_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PATH = "/auth/user/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics, allowed=("GET", "PUT", "PATCH"))
service = account_service()
warm_up()


@app.get(PATH)
def read_user() -> Response[str]:
    body = service.user(http.caller(app.current_event))
    metrics.add_metric(name="UserReads", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@app.route(PATH, method=["PUT", "PATCH"])
def update_user() -> Response[str]:
    event = app.current_event
    body = service.update_user(http.caller(event), http.raw_body(event), http.content_type(event))
    metrics.add_metric(name="UserUpdates", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
