"""GET /api/v1/customers/{id}/ — the caller's own profile, or any customer's to staff (the authorizer's context)."""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import profile_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PATH = "/api/v1/customers/<customer_id>/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics, allowed=("GET",))
service = profile_service()
warm_up()


@app.get(PATH)
def get_customer(customer_id: str) -> Response[str]:
    caller = http.caller(app.current_event)
    profile = service.profile(caller, customer_id)
    metrics.add_metric(name="ProfileReads", unit=MetricUnit.Count, value=1)
    return http.json_response(200, profile)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
