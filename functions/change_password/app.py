"""POST /auth/password/change/ — behind the authorizer: ends every other session, answers a fresh pair.

With ``X-Token-Transport: cookie`` (an allowed origin only) the fresh refresh token replaces the
HttpOnly cookie, as at login, so a page's session goes on after the change (shared/web/browser.py).
"""

from typing import Any

from shared import collector  # noqa: F401 - first: no garbage collection while init loads modules

# isort: split
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.services import account_service, cookie_transport, token_service, warm_up, web_resolver
from shared.web import http
from shared.web.rest_resolver import Response

PATH = "/auth/password/change/"

logger = Logger()
metrics = Metrics()
app = web_resolver()
http.install(app, PATH, logger, metrics)
cookies = cookie_transport()
service = account_service()
token_service()  # the one account function that signs: its key is fetched at cold start
warm_up()


@app.post(PATH)
def change_password() -> Response[str]:
    event = app.current_event
    in_cookie = cookies.requested(event.raw_event)  # a refused origin costs no password hash
    body = service.change_password(
        http.caller(event), http.raw_body(event), http.content_type(event), http.source_ip(event)
    )
    metrics.add_metric(name="PasswordChanges", unit=MetricUnit.Count, value=1)
    return cookies.login_answer(body, in_cookie)


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
