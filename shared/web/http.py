"""JSON responses, error mapping and the resolver shared by the HTTP handlers (Powertools).

A handler builds its resolver with shared/services.py's ``web_resolver()`` and calls ``install()``: every answer then
gets the CORS headers of shared/web/browser.py, OPTIONS is the preflight, and the custom domain's
base path is stripped before routing.

Every error answer is JSON: an ``ApiError`` becomes its contract body, anything else a
500 whose body says nothing about the fault (the log line has the exception type and
traceback, never the request body). A 405 names the allowed methods in ``Allow`` as DRF
does; a path missing its trailing slash is redirected to it with a 308 (docs/contract.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from shared.errors import ApiError, AuthenticationFailed, MethodNotAllowed, ParseError
from shared.web.rest_resolver import APIGatewayRestResolver, Response

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.shared.cookies import Cookie
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from shared.tokens.authorizer import Caller
    from shared.web.browser import Cors

JSON = "application/json"
SERVER_ERROR_BODY = {"detail": "A server error occurred.", "code": "server_error"}
NOT_FOUND_BODY = {"detail": "Not found."}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")  # Django's http_method_names order


def allow_header(allowed: tuple[str, ...]) -> str:
    """DRF's ``Allow``: the view's methods in Django's order, HEAD with GET, OPTIONS always."""
    methods = {*allowed, "OPTIONS"} | ({"HEAD"} if "GET" in allowed else set())
    return ", ".join(method for method in METHODS if method in methods)


def slash_redirect(event: APIGatewayProxyEvent) -> Response[str]:
    """308 to the same URL with its trailing slash: the method and body survive the redirect.

    The Location is the absolute path the client asked for plus "/": API Gateway's
    ``requestContext.path`` holds it with the stage (``/prod/auth/token``) or the custom
    domain's base path in front, as the client's URL has it; a relative ``token/`` left the
    reader to resolve it against the request's URL. Leading slashes collapse to one: ``//host/...``
    would send the client to another host.
    """
    location = "/" + (event.request_context.path or event.path).lstrip("/") + "/"
    query = event.multi_value_query_string_parameters
    if query:
        location += "?" + urlencode(query, doseq=True)
    return json_response(308, {"detail": f"This URL ends with a slash: {location}"}, {"Location": location})


def json_response(
    status: int,
    body: dict[str, Any] | list[Any],
    headers: dict[str, str] | None = None,
    cookies: list[Cookie] | None = None,
) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, ensure_ascii=False),
        headers=headers or {},
        cookies=cookies,
    )


class WebResolver(APIGatewayRestResolver):
    """Powertools' REST resolver that strips the custom domain's base path before routing and
    adds the CORS headers (shared/web/browser.py) to every answer it builds, errors included.

    Each event first names its API to ``bind_api`` (the default issuer is that API's URL,
    shared/tokens/oidc.py): a handler cannot forget it and then fail to sign after its writes.
    """

    def __init__(self, cors: Cors, base_path: str, bind_api: Callable[[Mapping[str, Any]], None]) -> None:
        super().__init__(strip_prefixes=[base_path] if base_path else None)
        self.cors = cors
        self._bind_api = bind_api

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        self._bind_api(event)
        return self.cors.finish(event, super().resolve(event, context))


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The request body as bytes, undoing API Gateway's base64 for binary media types."""
    body = event.body or ""
    if not event.is_base64_encoded:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ParseError("Malformed request body encoding.") from None


def content_type(event: APIGatewayProxyEvent) -> str | None:
    return event.headers.get("content-type")


def install(
    app: WebResolver, path: str, logger: Logger, metrics: Metrics, allowed: tuple[str, ...] = ("POST",)
) -> None:
    """Map errors to JSON, answer OPTIONS with the preflight, 405 for the other methods on
    ``path``, JSON 404 elsewhere.

    A ``path`` with a trailing slash is Django's URL: the same path without it (which the
    resolver, like API Gateway, would otherwise serve) is redirected there.
    """

    @app.exception_handler(ApiError)
    def api_error(error: ApiError) -> Response[str]:
        metrics.add_metric(name=type(error).__name__, unit=MetricUnit.Count, value=1)
        return json_response(error.status, error.body(), error.headers())

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        metrics.add_metric(name="UnhandledError", unit=MetricUnit.Count, value=1)
        return json_response(500, SERVER_ERROR_BODY)

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        metrics.add_metric(name="NotFound", unit=MetricUnit.Count, value=1)
        return json_response(404, NOT_FOUND_BODY)

    refuse_other_methods(app, path, metrics, allowed)

    if path.endswith("/"):

        def append_slash(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
            event = app.current_event
            if event.path.endswith("/"):
                return next_middleware(app)
            metrics.add_metric(name="SlashRedirect", unit=MetricUnit.Count, value=1)  # clients to fix
            return slash_redirect(event)

        app.use([append_slash])


def absolute_url(event: APIGatewayProxyEvent) -> str:
    """The URL the client asked for, without its query (Django's ``build_absolute_uri`` before the
    query): ``requestContext.path`` holds the stage or the custom domain's base path, as the
    client's URL does; without a ``Host`` (no client sends none), the absolute path."""
    path = "/" + (event.request_context.path or event.path).lstrip("/")
    host = event.headers.get("host")
    if not host:
        return path
    scheme = event.headers.get("x-forwarded-proto") or "https"
    return f"{scheme}://{host}{path}"


def source_ip(event: APIGatewayProxyEvent) -> str:
    return event.request_context.identity.source_ip or "unknown"


def caller(event: APIGatewayProxyEvent) -> Caller:
    """Whom the authorizer allowed (``requestContext.authorizer``): customer, ``iat``, family.

    An MFA-enrolment session on another route is refused as the Lambda authorizer refuses it
    (its policy confines the session; API Gateway's JWT authorizer cannot, AuthorizerMode=jwt).
    """
    from shared.tokens.authorizer import MFA_ENROLMENT_REQUIRED, Caller

    found = Caller.from_context(event.raw_event.get("requestContext", {}).get("authorizer"))
    if not found.may_use(event.resource or ""):
        raise AuthenticationFailed(MFA_ENROLMENT_REQUIRED["detail"], MFA_ENROLMENT_REQUIRED["code"])
    return found


def refuse_other_methods(app: WebResolver, path: str, metrics: Metrics, allowed: tuple[str, ...]) -> None:
    """The CORS preflight and 405 for the other methods of ``path`` (a function with a second
    route calls this for it). Every answer adds a metric: an invocation without one makes
    Powertools warn in the logs."""

    @app.route(path, method="OPTIONS")
    def preflight(**_path_parameters: str) -> Response[str]:
        metrics.add_metric(name="Preflight", unit=MetricUnit.Count, value=1)
        return app.cors.preflight(app.current_event.raw_event, allow_header(allowed))

    @app.route(path, method=[method for method in METHODS if method not in (*allowed, "OPTIONS")])
    def other_method(**_path_parameters: str) -> Response[str]:
        raise MethodNotAllowed(app.current_event.http_method, allow_header(allowed))
