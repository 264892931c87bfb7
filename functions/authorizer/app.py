"""API Gateway TOKEN authorizer: ``Authorization: Bearer <access>`` in front of every route.

Allow: the whole stage (``allow_all_routes``, so a policy cached for one route never
denies another), principal = customer id, context = user_id, jti, token_type, exp, iat, family,
groups (the roles, shared/tokens/authorizer.py).
Deny: the simplejwt body in ``context.body`` for the ACCESS_DENIED gateway response.
Anything unexpected fails closed: the function errors, API Gateway answers
AUTHORIZER_FAILURE, which the template renders as a JSON 503.

Logs and metrics go through ``shared.telemetry`` (Powertools' formats), not Powertools
itself: importing it would cost a third of this function's cold start.
"""

from typing import Any

from shared import collector  # first: no garbage collection while init loads modules

# isort: split
from shared.services import authorizer_telemetry, bind_api, request_authorizer
from shared.telemetry import LambdaContext
from shared.tokens.authorizer import iam_policy

telemetry = authorizer_telemetry()
authorizer = request_authorizer()
# The end of init (no ``warm_up``: the key comes through the extension, read by the first
# request, and ``shared.aws`` would load botocore and Powertools).
collector.resume()


class AuthorizerUnavailable(RuntimeError):
    """Raised instead of any unexpected error: no Allow, and no detail leaves the function."""


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with telemetry.invocation(context):
        try:
            bind_api(event)
            decision = authorizer.decide(event["authorizationToken"])
            policy = iam_policy(decision, event["methodArn"])
        except Exception as error:
            telemetry.error("authorizer failed closed", error_type=type(error).__name__)
            telemetry.count("AuthorizerFailures")
            raise AuthorizerUnavailable("authorization is unavailable") from None
        if decision.allowed:
            telemetry.count("Allowed")
        else:
            telemetry.info("denied", reason=decision.reason)
            telemetry.count("Denied")
        return policy
