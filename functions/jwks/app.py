"""GET /.well-known/jwks.json and /.well-known/openid-configuration: what verifiers need, no secret."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import jwks_document, openid_configuration, web_resolver
from shared.settings import JWKS_MAX_AGE
from shared.tokens.oidc import DISCOVERY_PATH, JWKS_PATH
from shared.web import http
from shared.web.rest_resolver import Response

PATH = JWKS_PATH
# Verifiers may cache both documents this long; rotation publishes a new kid long enough before
# it signs anything (settings.key_publish_ahead_floor counts this).
CACHE_CONTROL = f"public, max-age={JWKS_MAX_AGE}"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics, allowed=("GET",))
http.refuse_other_methods(app, DISCOVERY_PATH, metrics, allowed=("GET",))


@app.get(PATH)
def get_jwks() -> Response[str]:
    document = jwks_document()
    metrics.add_metric(name="JwksServed", unit=MetricUnit.Count, value=1)
    return http.json_response(200, document, {"Cache-Control": CACHE_CONTROL})


@app.get(DISCOVERY_PATH)
def get_openid_configuration() -> Response[str]:
    document = openid_configuration()
    metrics.add_metric(name="DiscoveryServed", unit=MetricUnit.Count, value=1)
    return http.json_response(200, document, {"Cache-Control": CACHE_CONTROL})


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
