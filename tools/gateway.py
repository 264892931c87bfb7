"""API Gateway (REST) as `template.yaml` describes it, for the local server and the tests.

Reads the routes, the TOKEN authorizer (header, ``ValidationExpression``,
``ReauthorizeEvery``), the ``GatewayResponses`` and each function's environment from the
template itself, so what runs locally is what deploys. Given a request it decides what
API Gateway would: UNAUTHORIZED without calling the authorizer when the header is
missing or fails the expression, a cached or fresh authorizer decision, the gateway
response a Deny or an authorizer error turns into, or a proxy event for the route's
function with the authorizer's context in ``requestContext.authorizer``.

Gateway responses carry their headers as the template maps them: static values and
``method.request.header.<name>`` (how they echo the request's ``Origin`` for CORS). With a
custom domain's base path mapping (``AWS::ApiGateway::BasePathMapping``), routes are served
under that path and the function sees it in ``path``, as on AWS.

With ``AuthorizerMode=jwt`` (docs/jwt-authorizer-mode.md) the template's ``AWS::ApiGateway::Authorizer``
of ``Type: JWT`` decides instead, and no authorizer function runs: the issuer's discovery document
and its JWKS are read over HTTP from the local service itself (as API Gateway reads them from the
internet), the keys cached, and pyjwt checks the signature, ``iss``, ``aud``, ``exp``, ``nbf``, the
additional claims and the method's scopes. A refused token is the ``UNAUTHORIZED`` gateway
response, a missing scope ``ACCESS_DENIED``; an allowed one reaches the function with its claims
in ``requestContext.authorizer.claims``, as API Gateway passes them.

Not emulated: IAM and resource policies (only the authorizer's own policy is evaluated),
mapping templates and request validation, integration timeouts, usage plans, WAF,
stage throttling, binary media types, TLS.
"""

from __future__ import annotations

import fnmatch
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import yaml

if TYPE_CHECKING:  # tools.count_resources reads the template under the SAM CLI's interpreter, which has no pyjwt
    import jwt

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
API_ID = "local"

# API Gateway's own status per response type, used when the template gives none.
DEFAULT_STATUS = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "AUTHORIZER_FAILURE": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "THROTTLED": 429,
    "DEFAULT_4XX": 400,
    "DEFAULT_5XX": 500,
}
# AuthorizerMode=jwt's statuses where they differ from the template's (SAM wants a literal
# StatusCode): a valid token without the method's scope is DRF's 403, as API Gateway's JWT
# authorizer answers it. make deploy-jwt writes them (tools/jwt_stack.py), the emulation answers them.
JWT_MODE_STATUS = {"ACCESS_DENIED": 403}
DEFAULT_MESSAGES = {
    "UNAUTHORIZED": "Unauthorized",
    "ACCESS_DENIED": "User is not authorized to access this resource",
    "AUTHORIZER_FAILURE": None,
    "AUTHORIZER_CONFIGURATION_ERROR": None,
    "MISSING_AUTHENTICATION_TOKEN": "Missing Authentication Token",
}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags turned into their long forms."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"  # !Condition is {"Condition": ...}
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class HttpProxy:
    """An ``http_proxy`` integration of the API's DefinitionBody: where it sends the request and
    the headers the gateway sets (``integration.request.header.<name>`` -> its source)."""

    uri: str  # e.g. https://backend.example.com/{proxy}
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /api/v1/customers/{id}, /{proxy+}
    function: str  # logical id ("" for an HTTP proxy)
    public: bool  # Auth: Authorizer: NONE
    backend: HttpProxy | None = None
    scopes: tuple[str, ...] = ()  # the function's Metadata JwtAuthorizationScopes: a JWT authorizer wants one

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = re.escape(self.path.rstrip("/"))
        pattern = re.sub(
            r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern
        )  # {proxy+}: one or more segments, a trailing slash kept
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern + "/?", path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: dict[str, str]  # as mapped: "'static'" or method.request.header.<name>
    template: str


REQUEST_HEADER = "method.request.header."


def _mapped_headers(mapping: dict[str, str], request_headers: dict[str, str]) -> dict[str, str]:
    """A gateway response's header mapping applied to a request; an absent source header maps to nothing."""
    headers = {}
    for name, source in mapping.items():
        if source.startswith(REQUEST_HEADER):
            value = _header(request_headers, source.removeprefix(REQUEST_HEADER))
            if value is not None:
                headers[name] = value
        else:
            headers[name] = source.strip("'")
    return headers


@dataclass(frozen=True)
class TokenAuthorizer:
    function: str
    header: str
    validation: re.Pattern[str] | None
    ttl: int


DISCOVERY_PATH = "/.well-known/openid-configuration"
# How long API Gateway's JWT authorizers keep a key of the JWKS (shared/settings.py's JWT_AUTHORIZER_KEY_CACHE).
JWKS_CACHE_SECONDS = 7200
# Reading the issuer's documents from the local service: its JWKS function may still be starting
# with every other container on a loaded machine (over 10 s seen on 2 busy cores).
ISSUER_READ_TIMEOUT = 60


@dataclass
class JwtAuthorizer:
    """API Gateway's JWT authorizer as its ``JwtConfiguration`` declares it."""

    algorithms: tuple[str, ...]
    issuer: str
    audiences: tuple[str, ...]
    claims: tuple[tuple[str, tuple[str, ...]], ...]  # additional claims: name -> expected values
    header: str = "Authorization"
    _keys: jwt.PyJWKClient | None = field(default=None, repr=False)

    def keys(self, local_base: str) -> jwt.PyJWKClient:
        """The issuer's JWKS, read once through its discovery document (``local_base`` stands for the
        issuer's public address) and cached as API Gateway caches it."""
        import jwt

        if self._keys is None:
            discovery = _local(self.issuer + DISCOVERY_PATH, self.issuer, local_base)
            with urllib.request.urlopen(discovery, timeout=ISSUER_READ_TIMEOUT) as got:  # noqa: S310 - the local service
                jwks_uri = json.load(got)["jwks_uri"]
            self._keys = jwt.PyJWKClient(
                _local(jwks_uri, self.issuer, local_base), lifespan=JWKS_CACHE_SECONDS, timeout=ISSUER_READ_TIMEOUT
            )
        return self._keys

    def claims_of(self, token: str, local_base: str) -> dict[str, Any] | None:
        """The token's claims when every check passes, else None (API Gateway says no more either)."""
        import jwt

        try:
            key = self.keys(local_base).get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=list(self.audiences),
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, OSError, ValueError, KeyError):
            return None
        if any(claims.get(name) not in expected for name, expected in self.claims):
            return None
        return claims


def _local(url: str, issuer: str, local_base: str) -> str:
    """An address under the issuer's public URL, as the local service serves it."""
    return local_base + url.removeprefix(issuer) if url.startswith(issuer) else url


@dataclass
class Answer:
    """What the client sees."""

    status: int
    headers: dict[str, str]
    body: str


@dataclass
class ApiModel:
    stage: str
    routes: list[Route]
    authorizer: TokenAuthorizer
    responses: dict[str, GatewayResponse]
    environments: dict[str, dict[str, str]]
    code_dirs: dict[str, str]  # logical id -> functions/<name>
    table: dict[str, Any]
    base_path: str = ""  # the custom domain's base path mapping, "" or "/shop"
    cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    queue_consumers: dict[str, str] = field(default_factory=dict)  # function -> SQS queue name
    jwt_authorizer: JwtAuthorizer | None = None  # AuthorizerMode=jwt: this decides, no function runs

    def route_for(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def gateway_response(
        self,
        kind: str,
        context: dict[str, Any] | None = None,
        message: str | None = None,
        request_headers: dict[str, str] | None = None,
    ) -> Answer:
        """Render a gateway response as API Gateway does: its template, its headers."""
        configured = self.responses.get(kind)
        family = "DEFAULT_5XX" if DEFAULT_STATUS.get(kind, 500) >= 500 else "DEFAULT_4XX"
        fallback = self.responses.get(family)
        status = configured.status if configured and configured.status else DEFAULT_STATUS.get(kind, 500)
        template = (configured and configured.template) or (fallback and fallback.template) or ""
        mapping = {**(fallback.headers if fallback else {}), **(configured.headers if configured else {})}
        headers = _mapped_headers(mapping, request_headers or {})
        text = DEFAULT_MESSAGES.get(kind, message)
        values = {"$context.error.messageString": json.dumps(text), "$context.error.message": text or ""}
        for name, value in (context or {}).items():
            values[f"$context.authorizer.{name}"] = str(value)
        # Longest names first, so $context.authorizer.body is not cut by a shorter prefix.
        for name in sorted(values, key=len, reverse=True):
            template = template.replace(name, values[name])
        template = re.sub(r"\$context\.authorizer\.\w+", "", template)
        return Answer(status, {"Content-Type": "application/json", **headers}, template)

    def authorize(
        self, headers: dict[str, str], method: str, path: str, invoke: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> dict[str, Any] | Answer:
        """The authorizer step: the Allow's ``requestContext.authorizer``, or the client's answer."""
        token = _header(headers, self.authorizer.header)
        if not token or (self.authorizer.validation and not self.authorizer.validation.fullmatch(token)):
            return self.gateway_response("UNAUTHORIZED", request_headers=headers)
        now = time.monotonic()
        cached = self.cache.get(token)
        if cached is not None and now - cached[0] < self.authorizer.ttl:
            policy = cached[1]
        else:
            method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.stage}/{method}{path}"
            try:
                policy = invoke({"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn})
            except Exception as error:
                kind = "UNAUTHORIZED" if str(error) == "Unauthorized" else "AUTHORIZER_FAILURE"
                return self.gateway_response(kind, request_headers=headers)
            if self.authorizer.ttl > 0:
                self.cache[token] = (now, policy)
        return self._evaluate(policy, method, path, headers)

    def authorize_jwt(self, headers: dict[str, str], route: Route, local_base: str) -> dict[str, Any] | Answer:
        """The JWT authorizer's step: ``requestContext.authorizer`` with the token's claims, or the
        gateway response of a refusal (``local_base``: where the issuer's documents are served here)."""
        assert self.jwt_authorizer is not None
        value = (_header(headers, self.jwt_authorizer.header) or "").strip()
        token = value.removeprefix("Bearer ").strip() if value.startswith("Bearer ") else value
        claims = self.jwt_authorizer.claims_of(token, local_base) if token else None
        if claims is None:
            return self.gateway_response("UNAUTHORIZED", request_headers=headers)
        scope = claims.get("scope")
        held = set(scope.split()) if isinstance(scope, str) else set()
        if route.scopes and held.isdisjoint(route.scopes):
            return self.gateway_response("ACCESS_DENIED", request_headers=headers)
        return {"claims": claims}

    def _evaluate(
        self, policy: dict[str, Any], method: str, path: str, headers: dict[str, str]
    ) -> dict[str, Any] | Answer:
        try:
            statements = policy["policyDocument"]["Statement"]
            principal = str(policy["principalId"])
        except (KeyError, TypeError):
            return self.gateway_response("AUTHORIZER_CONFIGURATION_ERROR", request_headers=headers)
        context = dict(policy.get("context") or {})
        arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{self.stage}/{method}{path}"
        effects = set()
        for statement in statements:
            resources = statement.get("Resource", [])
            for resource in [resources] if isinstance(resources, str) else resources:
                if fnmatch.fnmatchcase(arn, resource):
                    effects.add(statement.get("Effect"))
        if "Allow" in effects and "Deny" not in effects:
            return {"principalId": principal, **context, "integrationLatency": 0}
        return self.gateway_response("ACCESS_DENIED", context, request_headers=headers)


def proxy_event(
    route: Route,
    params: dict[str, str],
    stage: str,
    method: str,
    path: str,
    headers: dict[str, str],
    query: dict[str, list[str]],
    body: bytes,
    source_ip: str,
    authorizer: dict[str, Any] | None,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway hands a function."""
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        import base64

        text, encoded = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "resourcePath": route.path,
        "httpMethod": method,
        # The path as the client sent it: the local URL has no stage, as a custom domain's has none.
        "path": path,
        "stage": stage,
        "requestId": str(uuid.uuid4()),
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "protocol": "HTTP/1.1",
        "identity": {"sourceIp": source_ip, "userAgent": _header(headers, "User-Agent")},
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers) or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


def read_template(template_path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as data, intrinsic tags as their ``Fn::`` / ``Ref`` mappings."""
    return dict(yaml.load(template_path.read_text(), Loader=_CfnLoader))  # noqa: S506 - SafeLoader subclass


def load(template_path: Path = TEMPLATE, overrides: dict[str, str] | None = None) -> ApiModel:
    """Read the API, its functions and the table from the SAM template."""
    template = read_template(template_path)
    resources = template["Resources"]
    resolve = _template_resolver(template, overrides or {})
    _check_rules(template.get("Rules", {}), resolve)

    api_id, api = next((name, res) for name, res in resources.items() if res["Type"] == "AWS::Serverless::Api")
    api_props = api["Properties"]
    stage = str(resolve(api_props["StageName"]))
    auth = api_props["Auth"]
    default_name = auth["DefaultAuthorizer"]
    spec = auth["Authorizers"][default_name]
    identity = spec.get("Identity", {})
    expression = identity.get("ValidationExpression")
    authorizer = TokenAuthorizer(
        function=spec["FunctionArn"]["Fn::GetAtt"][0],
        header=identity.get("Header", "Authorization"),
        validation=re.compile(expression) if expression else None,
        ttl=int(resolve(identity.get("ReauthorizeEvery", 300))),
    )
    responses = {
        kind: GatewayResponse(
            status=int(resolve(value.get("StatusCode", 0)) or 0),
            headers={
                name: str(mapped)
                for name, header in value.get("ResponseParameters", {}).get("Headers", {}).items()
                if (mapped := resolve(header)) is not None
            },
            template=str(next(iter(resolve(value.get("ResponseTemplates", {})).values()), "")),
        )
        for kind, value in api_props.get("GatewayResponses", {}).items()
    }

    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    routes: list[Route] = []
    environments: dict[str, dict[str, str]] = {}
    code_dirs: dict[str, str] = {}
    consumers: dict[str, str] = {}
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        jwt_scopes = tuple(res.get("Metadata", {}).get("JwtAuthorizationScopes", ()))
        code_dirs[name] = props["CodeUri"].rstrip("/")
        variables = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        environments[name] = {
            key: str(resolved) for key, value in variables.items() if (resolved := resolve(value)) is not None
        }
        for event in props.get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                consumers[name] = str(resolve({"Ref": queue}))
            if event["Type"] != "Api" or event["Properties"].get("RestApiId", {}).get("Ref") != api_id:
                continue
            event_props = event["Properties"]
            routes.append(
                Route(
                    method=event_props["Method"].upper(),
                    path=event_props["Path"],
                    function=name,
                    public=event_props.get("Auth", {}).get("Authorizer") == "NONE",
                    scopes=jwt_scopes,
                )
            )
    routes += definition_routes(resolve(api_props.get("DefinitionBody", {})))
    # Fixed paths before parameterised ones, a greedy {proxy+} last, and a method before ANY, as API
    # Gateway prefers the most specific (a public OPTIONS beside an ANY behind the authorizer
    # answers the preflight).
    routes.sort(key=lambda route: (route.path.count("+}"), route.path.count("{"), route.method == "ANY"))
    table = next(res["Properties"] for res in resources.values() if res["Type"] == "AWS::DynamoDB::Table")
    mapped = [
        resolve(res["Properties"].get("BasePath"))
        for res in resources.values()
        if res["Type"] == "AWS::ApiGateway::BasePathMapping" and resolve.holds(res.get("Condition"))
    ]
    base_path = f"/{str(mapped[0]).strip('/')}" if mapped and mapped[0] else ""
    model = ApiModel(stage, routes, authorizer, responses, environments, code_dirs, resolve(table), base_path)
    model.queue_consumers = consumers
    model.jwt_authorizer = _jwt_authorizer(resources, resolve)
    if model.jwt_authorizer is not None:
        for kind, status in JWT_MODE_STATUS.items():
            model.responses[kind] = replace(model.responses[kind], status=status)
    return model


# The rules of AuthorizerMode=jwt that concern the deployment alone (template.yaml,
# docs/jwt-authorizer-mode.md): the SAM template cannot attach the methods (make deploy-jwt's
# compiled template does, as the emulation does), and API Gateway must read the issuer's
# discovery document before the stack's API serves it (the emulation serves it itself).
EMULATION_ONLY_RULES = frozenset({"JwtModeDeploysCompiledStack", "JwtAuthorizerNeedsServedIssuer"})


def check_rules(
    overrides: dict[str, str], skip: frozenset[str] = EMULATION_ONLY_RULES, template_path: Path = TEMPLATE
) -> None:
    """The template's ``Rules`` for these parameter values, as a deployment evaluates them (with
    ``skip`` empty) or as the emulation does; ValueError names the first refusal."""
    template = read_template(template_path)
    _check_rules(template.get("Rules", {}), _template_resolver(template, overrides), skip)


def _template_resolver(template: dict[str, Any], overrides: dict[str, str]) -> _Resolver:
    """The template's intrinsics resolved with its parameters' defaults, ``overrides`` on top."""
    parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    return _Resolver({**parameters, **overrides}, template["Resources"], template.get("Conditions", {}))


def _check_rules(rules: dict[str, Any], resolve: _Resolver, skip: frozenset[str] = EMULATION_ONLY_RULES) -> None:
    """CloudFormation's ``Rules``: parameters a deployment would refuse are refused here too,
    but for the rules in ``skip``."""
    for name, rule in rules.items():
        if name in skip:
            continue
        if "RuleCondition" in rule and not resolve.holds_expression(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not resolve.holds_expression(assertion["Assert"]):
                raise ValueError(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")


def _jwt_authorizer(resources: dict[str, Any], resolve: _Resolver) -> JwtAuthorizer | None:
    """The template's ``Type: JWT`` authorizer, when its condition creates it."""
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::ApiGateway::Authorizer" or props.get("Type") != "JWT":
            continue
        if not resolve.holds(resource.get("Condition")):
            return None
        config = resolve(props["JwtConfiguration"])
        (issuer,) = config["Issuers"]  # one issuer: this stack
        return JwtAuthorizer(
            algorithms=tuple(config["DefaultAlgorithms"]),
            issuer=issuer["Issuer"],
            audiences=tuple(issuer["Audiences"]),
            claims=tuple(
                (claim["ClaimName"], tuple(claim["ExpectedValues"])) for claim in issuer.get("AdditionalClaims", [])
            ),
            header=str(props["IdentitySource"]).removeprefix(REQUEST_HEADER),
        )
    return None


ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
HEADER_TARGET = "integration.request.header."


def definition_routes(body: dict[str, Any]) -> list[Route]:
    """The ``http_proxy`` methods of the API's DefinitionBody (the rest of it comes from the functions'
    events, which SAM merges in): behind the DefaultAuthorizer, as SAM puts them."""
    routes = []
    for path, methods in (body.get("paths") or {}).items():
        for method, operation in (methods or {}).items():
            integration = (operation or {}).get(INTEGRATION, {})
            if integration.get("type") != "http_proxy":
                continue
            mapped = integration.get("requestParameters", {})
            headers = tuple(
                (target.removeprefix(HEADER_TARGET), source)
                for target, source in mapped.items()
                if target.startswith(HEADER_TARGET)
            )
            verb = "ANY" if method == ANY_METHOD else method.upper()
            routes.append(Route(verb, path, "", public=False, backend=HttpProxy(integration["uri"], headers)))
    return routes


# Hop-by-hop headers and the ones the HTTP client writes itself: never copied to the backend.
NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te"}
CONTEXT_SOURCE = "context.authorizer."


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """API Gateway hands a backend's redirect to the client; it never follows it."""

    def redirect_request(self, *_: Any) -> None:
        return None


_BACKEND = urllib.request.build_opener(_KeepRedirects)


def forward(
    route: Route,
    params: dict[str, str],
    method: str,
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
    authorizer: dict[str, Any],
    timeout: float = 29,
) -> Answer | None:
    """An HTTP_PROXY integration: the method, the path (``{proxy}``), the query and the body to the
    backend with the client's headers, less any copy of a header the gateway sets, which it then
    sets from the authorizer's context. None when the backend cannot be reached (API Gateway's 5xx)."""
    assert route.backend is not None
    url = route.backend.uri
    for name, value in params.items():
        url = url.replace("{" + name + "}", value)
    if query:
        url += "?" + urlencode(query, doseq=True)
    mapped = {name.lower() for name, _ in route.backend.headers}
    sent = {name: value for name, value in headers.items() if name.lower() not in NOT_FORWARDED | mapped}
    for name, source in route.backend.headers:
        if source.startswith(CONTEXT_SOURCE):
            sent[name] = str(authorizer.get(source.removeprefix(CONTEXT_SOURCE), ""))
    # BackendUrl's AllowedPattern admits http(s) URLs only.
    request = urllib.request.Request(url, data=body or None, headers=sent, method=method)  # noqa: S310
    try:
        with _BACKEND.open(request, timeout=timeout) as response:
            status, answer_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:  # 3xx, 4xx and 5xx are the backend's answers
        status, answer_headers, raw = error.code, error.headers, error.read()
    except OSError:
        return None
    kept = {name: value for name, value in answer_headers.items() if name.lower() not in NOT_FORWARDED}
    return Answer(status, kept, raw.decode("utf-8", errors="replace"))


class _Resolver:
    """Resolves the intrinsics the local run needs; resource references become local names."""

    def __init__(self, parameters: dict[str, str], resources: dict[str, Any], conditions: dict[str, Any]) -> None:
        self._parameters = parameters
        self._resources = resources
        self._conditions = conditions

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return re.sub(r"\$\{([\w:.]+)\}", lambda found: str(self._ref(found.group(1))), text)
        if "Fn::If" in value:
            condition, when_true, when_false = value["Fn::If"]
            return self(when_true if self._condition(condition) else when_false)
        resolved = {key: self(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not None}

    def holds(self, condition: str | None) -> bool:
        """Whether a resource with this ``Condition`` (None: unconditional) is created."""
        return condition is None or self._condition(condition)

    def holds_expression(self, spec: dict[str, Any]) -> bool:
        """A rule's condition or assertion."""
        return self._evaluate(spec)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None  # the property is left out, as CloudFormation does
        if name in self._parameters:
            return self._parameters[name]
        if name == "AWS::Region":
            return REGION
        if name == "AWS::AccountId":
            return ACCOUNT_ID
        if name == "AWS::URLSuffix":
            return "amazonaws.com"
        resource = self._resources.get(name, {})
        if resource.get("Type") == "AWS::Serverless::Api":
            return API_ID  # the RestApi's id
        props = resource.get("Properties", {})
        for key in ("TableName", "Name", "QueueName"):
            if key in props:
                return self(props[key])
        return name

    def _condition(self, name: str) -> bool:
        return self._evaluate(self._conditions[name])

    def _evaluate(self, spec: dict[str, Any]) -> bool:
        if "Condition" in spec:
            return self._condition(spec["Condition"])
        if "Fn::Equals" in spec:
            left, right = (self(item) for item in spec["Fn::Equals"])
            return bool(left == right)
        if "Fn::Contains" in spec:
            values, value = (self(item) for item in spec["Fn::Contains"])
            return value in values
        if "Fn::Not" in spec:
            return not self._evaluate(spec["Fn::Not"][0])
        if "Fn::Or" in spec:
            return any(self._evaluate(item) for item in spec["Fn::Or"])
        if "Fn::And" in spec:
            return all(self._evaluate(item) for item in spec["Fn::And"])
        raise ValueError(f"unsupported condition {spec}")


def _header(headers: dict[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
