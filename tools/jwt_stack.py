"""``AuthorizerMode=jwt`` as CloudFormation deploys it: the protected methods on API Gateway's JWT authorizer.

SAM writes every route of ``template.yaml`` into the API's OpenAPI body with the Lambda
authorizer's ``security`` and cannot name a REST JWT authorizer there (docs/jwt-authorizer-mode.md).
So ``make deploy-jwt`` runs SAM's transform here, on the template ``sam package`` wrote, and
compiles the API's body into CloudFormation's own resources, in the forms API Gateway documents
for a REST JWT authorizer: an ``AWS::ApiGateway::Resource`` per path segment, an
``AWS::ApiGateway::Method`` per route (``AuthorizationType: JWT``, ``AuthorizerId`` the
``JwtAuthorizer``, ``AuthorizationScopes`` from the function's ``Metadata`` where the
Lambda authorizer guarded it, ``NONE`` where the template says ``Authorizer: NONE``), an
``AWS::ApiGateway::GatewayResponse`` per gateway response and a deployment that depends on
all of them. Everything else SAM made is deployed as SAM made it.

The API gets a new logical id (``JwtApi``): API Gateway would refuse these resources on the
API the Lambda mode's body imported (its paths already exist), so switching modes replaces the
API, and the issuer must be served by something that outlives it (the template's rule
``JwtAuthorizerNeedsServedIssuer``). Run with the SAM CLI's interpreter (it has samtranslator):
``python -m tools.jwt_stack PACKAGED_TEMPLATE --out TEMPLATE``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.gateway import JWT_MODE_STATUS, read_template

SAM_API = "Api"
JWT_API = "JwtApi"
JWT_AUTHORIZER = "JwtAuthorizer"
MODE_CONDITION = "UseJwtAuthorizer"
BACKEND_CONDITION = "UseBackend"  # the shop's proxy: jwt mode refuses a BackendUrl (rule JwtAuthorizerNeedsPublicKeys)
# The SAM template's rule that refuses jwt: this compiled template is the one that attaches the methods.
SAM_ONLY_RULE = "JwtModeDeploysCompiledStack"
ANY_METHOD_KEYS = ("any", "x-amazon-apigateway-any-method")
METHOD_KEYS = {"x-amazon-apigateway-integration", "security", "responses"}
BODY_KEYS = {"openapi", "info", "paths", "components", "x-amazon-apigateway-gateway-responses"}
INTEGRATION_KEYS = {"type": "Type", "httpMethod": "IntegrationHttpMethod", "uri": "Uri"}


def compile_jwt_stack(sam_template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template of ``sam_template`` in jwt mode (its code already uploaded)."""
    from tools.count_resources import transform  # samtranslator: the SAM CLI's interpreter only

    scopes = {
        name: list(resource.get("Metadata", {}).get("JwtAuthorizationScopes", []))
        for name, resource in sam_template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }
    stack = _renamed(transform(copy.deepcopy(sam_template)), {SAM_API: JWT_API})
    stack = _jwt_mode_only(stack)
    resources = stack["Resources"]
    api = resources[JWT_API]
    body = api["Properties"].pop("Body")
    api["Properties"].pop("Parameters", None)  # the body's import parameters
    unknown = set(body) - BODY_KEYS
    if unknown:
        raise ValueError(f"the API's body has {sorted(unknown)}, which this compiler does not carry over")
    lambda_schemes = {
        name
        for name, scheme in body.get("components", {}).get("securitySchemes", {}).items()
        if scheme.get("x-amazon-apigateway-authorizer", {}).get("type") in ("token", "request")
    }
    for name in [name for name, resource in resources.items() if _is_lambda_authorizer_permission(resource)]:
        del resources[name]  # no method calls the Lambda authorizer
    compiled: dict[str, Any] = {}
    for path, item in body["paths"].items():
        for key, operation in item.items():
            if _is_backend_proxy(operation):
                continue
            method = "ANY" if key in ANY_METHOD_KEYS else key.upper()
            resource_id = _resource_chain(path, compiled)
            compiled[_logical_id("JwtApiMethod", f"{method} {path}")] = _method(
                method, resource_id, operation, lambda_schemes, _scopes_of(operation, resources, scopes)
            )
    for kind, response in body.get("x-amazon-apigateway-gateway-responses", {}).items():
        compiled[_logical_id("JwtApiResponse", kind)] = _gateway_response(kind, response)
    resources.update(compiled)
    _redeploy(resources, compiled)
    _without_unused_conditions(stack)
    # The Lambda authorizer's cache settings stay, unused, so one samconfig deploys either mode.
    stack.setdefault("Metadata", {})["cfn-lint"] = {"config": {"ignore_checks": ["W2001"]}}
    return stack


def _rewritten(value: Any, rule: Callable[[dict[str, Any]], Any]) -> Any:
    """``value`` with each mapping ``rule`` answers for (not None) replaced by that answer; the
    others rewritten inside. ``rule`` rewrites what its answer holds itself."""
    if isinstance(value, list):
        return [_rewritten(item, rule) for item in value]
    if not isinstance(value, dict):
        return value
    answer = rule(value)
    if answer is not None:
        return answer
    return {key: _rewritten(item, rule) for key, item in value.items()}


def _renamed(template: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``template`` with the resources in ``names`` renamed everywhere they are referenced."""

    def reference(value: dict[str, Any]) -> Any:
        if set(value) == {"Ref"} and value["Ref"] in names:
            return {"Ref": names[value["Ref"]]}
        if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in names:
            return {"Fn::GetAtt": [names[value["Fn::GetAtt"][0]], *value["Fn::GetAtt"][1:]]}
        if set(value) == {"Fn::Sub"}:
            sub = value["Fn::Sub"]
            text, variables = (sub, None) if isinstance(sub, str) else (sub[0], sub[1])
            text = re.sub(
                r"\$\{(\w+)([.}])",
                lambda found: "${" + names.get(found.group(1), found.group(1)) + found.group(2),
                text,
            )
            return {"Fn::Sub": text if variables is None else [text, _rewritten(variables, reference)]}
        return None

    renamed: dict[str, Any] = _rewritten(template, reference)
    resources = renamed["Resources"]
    for old, new in names.items():
        if old in resources:
            resources[new] = resources.pop(old)
    for resource in resources.values():
        depends = resource.get("DependsOn")
        if isinstance(depends, str):
            resource["DependsOn"] = names.get(depends, depends)
        elif isinstance(depends, list):
            resource["DependsOn"] = [names.get(name, name) for name in depends]
    return renamed


def _jwt_mode_only(template: dict[str, Any]) -> dict[str, Any]:
    """The template with ``AuthorizerMode`` fixed to jwt: its condition true everywhere, the
    SAM template's refusal of jwt dropped."""

    def mode_branch(value: dict[str, Any]) -> Any:
        if set(value) == {"Fn::If"} and value["Fn::If"][0] == MODE_CONDITION:
            return _rewritten(value["Fn::If"][1], mode_branch)
        return None

    fixed: dict[str, Any] = _rewritten(template, mode_branch)
    fixed["Parameters"]["AuthorizerMode"] = {
        **fixed["Parameters"]["AuthorizerMode"],
        "Default": "jwt",
        "AllowedValues": ["jwt"],
    }
    del fixed["Rules"][SAM_ONLY_RULE]
    for resource in fixed["Resources"].values():
        if resource.get("Condition") == MODE_CONDITION:
            del resource["Condition"]
    return fixed


def _without_unused_conditions(template: dict[str, Any]) -> None:
    """Drop the conditions nothing uses any more (the mode's, the backend proxy's)."""
    conditions = template.get("Conditions", {})

    def named(value: Any) -> set[str]:
        if isinstance(value, list):
            return set().union(*(named(item) for item in value)) if value else set()
        if not isinstance(value, dict):
            return set()
        found = {str(value["Fn::If"][0])} if "Fn::If" in value else set()
        if isinstance(value.get("Condition"), str):  # a resource's or output's, or one inside another
            found.add(value["Condition"])
        return found.union(*(named(item) for item in value.values()))

    used = named({key: value for key, value in template.items() if key != "Conditions"})
    waiting = set(used)
    while waiting:  # and the conditions those conditions name
        found = named(conditions.get(waiting.pop())) - used
        used |= found
        waiting |= found
    for name in set(conditions) - used:
        del conditions[name]


def _is_lambda_authorizer_permission(resource: dict[str, Any]) -> bool:
    source = resource.get("Properties", {}).get("SourceArn", {})
    text = source.get("Fn::Sub") if isinstance(source, dict) else source
    text = text[0] if isinstance(text, list) else text
    return resource.get("Type") == "AWS::Lambda::Permission" and "/authorizers/" in str(text)


def _is_backend_proxy(operation: Any) -> bool:
    """The ``BackendUrl`` proxy's method: an ``Fn::If`` that jwt mode's rule always makes empty."""
    return isinstance(operation, dict) and set(operation) == {"Fn::If"} and operation["Fn::If"][0] == BACKEND_CONDITION


def _logical_id(prefix: str, text: str) -> str:
    """A stable CloudFormation logical id: readable, with a hash so ``{id}`` and ``id`` differ."""
    readable = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)
    return f"{prefix}{readable[:120]}{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def _resource_chain(path: str, compiled: dict[str, Any]) -> Any:
    """The ``ResourceId`` of ``path``, adding an ``AWS::ApiGateway::Resource`` per missing segment."""
    parent: Any = {"Fn::GetAtt": [JWT_API, "RootResourceId"]}
    prefix = ""
    for segment in [segment for segment in path.split("/") if segment]:
        prefix += "/" + segment
        name = _logical_id("JwtApiPath", prefix)
        compiled.setdefault(
            name,
            {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"RestApiId": {"Ref": JWT_API}, "ParentId": parent, "PathPart": segment},
            },
        )
        parent = {"Ref": name}
    return parent


def _method(
    method: str, resource_id: Any, operation: dict[str, Any], lambda_schemes: set[str], scopes: list[str]
) -> dict[str, Any]:
    unknown = set(operation) - METHOD_KEYS
    integration = operation["x-amazon-apigateway-integration"]
    if unknown or set(integration) - set(INTEGRATION_KEYS) or integration["type"] != "aws_proxy":
        raise ValueError(f"{method} has {sorted(unknown)} or an integration this compiler does not carry over")
    if operation.get("responses"):
        raise ValueError(f"{method} declares method responses, which a Lambda proxy route does not use")
    named = {name for requirement in operation.get("security", []) for name in requirement}
    guarded = bool(named & lambda_schemes)
    if named - lambda_schemes - {"NONE"}:
        raise ValueError(f"{method} names the authorizers {sorted(named)}, not the template's Lambda authorizer")
    properties: dict[str, Any] = {
        "RestApiId": {"Ref": JWT_API},
        "ResourceId": resource_id,
        "HttpMethod": method,
        "AuthorizationType": "JWT" if guarded else "NONE",
        "Integration": {INTEGRATION_KEYS[key]: value for key, value in integration.items()} | {"Type": "AWS_PROXY"},
    }
    if guarded:
        properties["AuthorizerId"] = {"Ref": JWT_AUTHORIZER}
        if scopes:
            properties["AuthorizationScopes"] = scopes
    return {"Type": "AWS::ApiGateway::Method", "Properties": properties}


def invoked_function(resources: dict[str, Any], uri: dict[str, Any]) -> str:
    """The logical id of the function a Lambda proxy integration's ``Uri`` invokes (an alias
    resolved to its function)."""
    text = uri["Fn::Sub"] if isinstance(uri["Fn::Sub"], str) else uri["Fn::Sub"][0]
    target = re.search(r"functions/\$\{(\w+?)(?:\.Arn)?\}/invocations", text)
    if target is None:
        raise ValueError(f"no function in the integration {text!r}")
    name = target.group(1)
    if resources[name]["Type"] == "AWS::Lambda::Alias":
        return str(resources[name]["Properties"]["FunctionName"]["Ref"])
    return name


def _scopes_of(operation: dict[str, Any], resources: dict[str, Any], scopes: dict[str, list[str]]) -> list[str]:
    """The JWT scopes of the function the route invokes."""
    return scopes[invoked_function(resources, operation["x-amazon-apigateway-integration"]["uri"])]


def _gateway_response(kind: str, response: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"RestApiId": {"Ref": JWT_API}, "ResponseType": kind}
    status = JWT_MODE_STATUS.get(kind, response.get("statusCode"))
    if status is not None:
        properties["StatusCode"] = str(status)
    if "responseParameters" in response:
        properties["ResponseParameters"] = response["responseParameters"]
    if "responseTemplates" in response:
        properties["ResponseTemplates"] = response["responseTemplates"]
    return {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}


def _redeploy(resources: dict[str, Any], compiled: dict[str, Any]) -> None:
    """SAM's deployment replaced by one named after what it deploys, created after all of it (a
    changed method or response gets a new deployment, as SAM's body hash does)."""
    (old,) = [
        name
        for name, resource in resources.items()
        if resource["Type"] == "AWS::ApiGateway::Deployment"
        and resource["Properties"].get("RestApiId") == {"Ref": JWT_API}
    ]
    del resources[old]
    digest = hashlib.sha256(json.dumps(compiled, sort_keys=True).encode()).hexdigest()
    name = f"JwtApiDeployment{digest[:10]}"
    resources[name] = {
        "Type": "AWS::ApiGateway::Deployment",
        "DependsOn": sorted(
            key
            for key, resource in compiled.items()
            if resource["Type"] in ("AWS::ApiGateway::Method", "AWS::ApiGateway::GatewayResponse")
        ),
        "Properties": {"RestApiId": {"Ref": JWT_API}, "Description": f"RestApi deployment id: {digest}"},
    }
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if properties.get("DeploymentId") == {"Ref": old}:
            properties["DeploymentId"] = {"Ref": name}


def deployment_region(config_env: str, config: Path = Path("samconfig.toml")) -> str:
    """The region ``sam deploy --config-env`` deploys to: SAM's transform writes its partition into
    the roles' managed policy ARNs (``arn:aws-cn:`` in China), so the compile step uses it too."""
    parameters = tomllib.loads(config.read_text()).get(config_env, {}).get("deploy", {}).get("parameters", {})
    if "region" not in parameters:
        raise ValueError(f"samconfig.toml sets no region for {config_env}.deploy")
    return str(parameters["region"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, help="the template sam package wrote (or template.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="where the CloudFormation template goes (JSON)")
    parser.add_argument(
        "--placeholder-code", action="store_true", help="functions' code at a placeholder S3 address (checks only)"
    )
    parser.add_argument("--config-env", default="default", help="the samconfig.toml environment (its region)")
    parser.add_argument("--samconfig", type=Path, default=Path("samconfig.toml"))
    arguments = parser.parse_args(argv)
    try:
        os.environ["AWS_DEFAULT_REGION"] = deployment_region(arguments.config_env, arguments.samconfig)
    except ValueError as error:
        parser.error(str(error))
    template = read_template(arguments.template)
    if arguments.placeholder_code:
        from tools.count_resources import with_placeholder_code

        template = with_placeholder_code(template)
    stack = compile_jwt_stack(template)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(stack, indent=1, sort_keys=True) + "\n")
    methods = [r for r in stack["Resources"].values() if r["Type"] == "AWS::ApiGateway::Method"]
    guarded = sum(1 for method in methods if method["Properties"]["AuthorizationType"] == "JWT")
    print(
        f"{arguments.out}: {len(methods)} methods, {guarded} on the JWT authorizer, {len(stack['Resources'])} resources"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
