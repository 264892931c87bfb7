"""Staff's routes (``IsAdminUser``): the list of customers and what Django admin did for them.

GET /api/v1/customers/ (DRF's page, ``?email=``, ``?page=``) and POST
/api/v1/customers/{id}/deactivate/, activate/, revoke-sessions/, password-reset/. One
function and one resolver for the routes of one capability; the caller's own profile and
staff's read of any profile stay with customer_profile, whose grants are reads only.
"""

from collections.abc import Callable
from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import staff_service, warm_up, web_resolver
from shared.tokens.authorizer import Caller
from shared.web import http
from shared.web.rest_resolver import Response

LIST_PATH = "/api/v1/customers/"
ACTION_PATH = "/api/v1/customers/<customer_id>/{action}/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, LIST_PATH, logger, metrics, allowed=("GET",))
service = staff_service()
warm_up()
ACTIONS: dict[str, Callable[[Caller, str], dict[str, Any]]] = {
    "deactivate": service.deactivate,
    "activate": service.activate,
    "revoke-sessions": service.revoke_sessions,
    "password-reset": service.send_password_reset,
}


@app.get(LIST_PATH)
def list_customers() -> Response[str]:
    event = app.current_event
    query = event.multi_value_query_string_parameters or {}
    body = service.customers(http.caller(event), query, http.absolute_url(event))
    metrics.add_metric(name="StaffListReads", unit=MetricUnit.Count, value=1)
    return http.json_response(200, body)


def _route(action: str, act: Callable[[Caller, str], dict[str, Any]]) -> None:
    path = ACTION_PATH.format(action=action)
    http.refuse_other_methods(app, path, metrics, ("POST",))

    @app.post(path)
    def staff_action(customer_id: str) -> Response[str]:
        body = act(http.caller(app.current_event), customer_id)
        metrics.add_metric(name="StaffActions", unit=MetricUnit.Count, value=1)
        return http.json_response(200, body)


for name, action in ACTIONS.items():
    _route(name, action)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
