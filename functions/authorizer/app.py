"""API Gateway TOKEN authorizer: ``Authorization: Bearer <access>`` in front of every route.

Allow: the whole stage (``allow_all_routes``, so a policy cached for one route never
denies another), principal = customer id, context = user_id, jti, token_type, exp, iat, family.
Deny: the simplejwt body in ``context.body`` for the ACCESS_DENIED gateway response.
Anything unexpected fails closed: the function errors, API Gateway answers
AUTHORIZER_FAILURE, which the template renders as a JSON 503.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.authorizer import iam_policy
from shared.services import bind_api, request_authorizer

logger = Logger()
metrics = Metrics()
authorizer = request_authorizer()


class AuthorizerUnavailable(RuntimeError):
    """Raised instead of any unexpected error: no Allow, and no detail leaves the function."""


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        bind_api(event)
        decision = authorizer.decide(event["authorizationToken"])
        policy = iam_policy(decision, event["methodArn"])
    except Exception as error:
        logger.error("authorizer failed closed", extra={"error_type": type(error).__name__})
        metrics.add_metric(name="AuthorizerFailures", unit=MetricUnit.Count, value=1)
        raise AuthorizerUnavailable("authorization is unavailable") from None
    if decision.allowed:
        metrics.add_metric(name="Allowed", unit=MetricUnit.Count, value=1)
    else:
        logger.info("denied", extra={"reason": decision.reason})
        metrics.add_metric(name="Denied", unit=MetricUnit.Count, value=1)
    return policy
