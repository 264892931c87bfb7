"""``make deploy-jwt``'s template: the methods ``make local`` guards with the JWT authorizer are the ones deployed.

tools/jwt_stack.py runs SAM's transform (with the SAM CLI's interpreter, which has samtranslator)
and compiles the API's body into ``AWS::ApiGateway`` resources. Every check here compares that
template with what the emulation reads from template.yaml (tools/gateway.py), so the routes, the
scopes and the gateway responses the jwt-mode tests exercise are the deployed ones.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import gateway
from tools.jwt_stack import JWT_API, SAM_ONLY_RULE, invoked_function

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".tools/sam/bin/python"  # make test installs it ($(SAM) in the Makefile)
COMPILE = (str(SAM_PYTHON), "-m", "tools.jwt_stack")
JWT_MODE = {"Algorithm": "RS256", "AuthorizerMode": "jwt"}


def compile_stack(template: Path, out: Path, *options: str) -> dict[str, Any]:
    assert SAM_PYTHON.exists(), "the SAM CLI's interpreter is missing: make test installs it"
    subprocess.run(
        [*COMPILE, str(template), "--placeholder-code", "--out", str(out), *options],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    stack: dict[str, Any] = json.loads(out.read_text())
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compile_stack(ROOT / "template.yaml", tmp_path_factory.mktemp("jwt") / "stack.json")


def of_type(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in stack["Resources"].items() if resource["Type"] == kind}


def resource_path(stack: dict[str, Any], resource_id: dict[str, Any]) -> str:
    """The path an ``AWS::ApiGateway::Resource`` chain spells, from the API's root."""
    if resource_id == {"Fn::GetAtt": [JWT_API, "RootResourceId"]}:
        return ""
    resource = stack["Resources"][resource_id["Ref"]]["Properties"]
    return f"{resource_path(stack, resource['ParentId'])}/{resource['PathPart']}"


def deployed_routes(stack: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, path) -> the method's properties."""
    return {
        (props["HttpMethod"], resource_path(stack, props["ResourceId"]) or "/"): props
        for props in (method["Properties"] for method in of_type(stack, "AWS::ApiGateway::Method").values())
    }


def test_given_the_compiled_stack_when_its_methods_are_read_then_they_are_the_emulations_routes_with_its_guards(
    stack: dict[str, Any],
) -> None:
    emulated = gateway.load(overrides=JWT_MODE)
    expected = {(route.method, route.path): route for route in emulated.routes}
    deployed = deployed_routes(stack)
    assert set(deployed) == set(expected)
    for key, props in deployed.items():
        route = expected[key]
        assert invoked_function(stack["Resources"], props["Integration"]["Uri"]) == route.function, key
        assert props["Integration"]["Type"] == "AWS_PROXY"
        if route.public:
            assert props["AuthorizationType"] == "NONE", key
            assert not {"AuthorizerId", "AuthorizationScopes"} & set(props), key
        else:
            assert props["AuthorizationType"] == "JWT", key
            assert props["AuthorizerId"] == {"Ref": "JwtAuthorizer"}, key
            assert tuple(props.get("AuthorizationScopes", ())) == route.scopes, key
    guarded = {key for key, props in deployed.items() if props["AuthorizationType"] == "JWT"}
    assert ("GET", "/api/v1/customers/{id}") in guarded
    assert ("POST", "/auth/token") not in guarded
    staff = {key for key, props in deployed.items() if props.get("AuthorizationScopes") == ["staff"]}
    assert ("ANY", "/api/v1/customers") in staff
    assert ("GET", "/api/v1/customers/{id}") not in staff
    assert len(guarded) == 19
    assert len(staff) == 5


def test_given_the_compiled_stack_when_a_token_is_refused_then_its_gateway_responses_are_the_emulations(
    stack: dict[str, Any],
) -> None:
    emulated = gateway.load(overrides=JWT_MODE).responses
    deployed = {
        props["ResponseType"]: props
        for props in (r["Properties"] for r in of_type(stack, "AWS::ApiGateway::GatewayResponse").values())
    }
    assert set(deployed) == set(emulated)
    for kind, props in deployed.items():
        assert int(props.get("StatusCode", 0)) == emulated[kind].status, kind  # DEFAULT_4XX/5XX: none
        assert props["ResponseTemplates"]["application/json"] == emulated[kind].template, kind
    assert deployed["ACCESS_DENIED"]["StatusCode"] == "403"  # DRF's, which SAM's literal status could not say
    assert json.loads(deployed["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]) == {
        "detail": "You do not have permission to perform this action."
    }
    assert json.loads(deployed["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])["code"] == "token_not_valid"


def test_given_the_compiled_stack_when_read_then_no_lambda_authorizer_and_no_openapi_body_is_left(
    stack: dict[str, Any],
) -> None:
    text = json.dumps(stack)
    api = stack["Resources"][JWT_API]
    assert api["Type"] == "AWS::ApiGateway::RestApi"
    assert set(api["Properties"]) == {"Name", "EndpointConfiguration"}
    assert "Api" not in stack["Resources"]  # a new API: the Lambda mode's body-imported paths never collide
    assert '{"Ref": "Api"}' not in text
    assert "${Api}" not in text
    assert '"Api",' not in text
    assert "/authorizers/" not in text  # no permission lets API Gateway call the Lambda authorizer
    assert "x-amazon-apigateway" not in text
    assert "UseJwtAuthorizer" not in text
    (authorizer,) = of_type(stack, "AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "JWT"
    assert "Condition" not in authorizer


def test_given_the_compiled_stack_when_deployed_then_its_deployment_follows_every_method_and_the_stage_serves_it(
    stack: dict[str, Any],
) -> None:
    ((name, deployment),) = of_type(stack, "AWS::ApiGateway::Deployment").items()
    parts = {**of_type(stack, "AWS::ApiGateway::Method"), **of_type(stack, "AWS::ApiGateway::GatewayResponse")}
    assert set(deployment["DependsOn"]) == set(parts)
    (stage,) = of_type(stack, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["DeploymentId"] == {"Ref": name}
    assert stage["Properties"]["RestApiId"] == {"Ref": JWT_API}


def test_given_a_scope_changed_when_compiled_again_then_a_new_deployment_carries_it(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    """API Gateway serves a method's change only from a new deployment: its name follows the methods."""
    template = (ROOT / "template.yaml").read_text()
    changed = template.replace("JwtAuthorizationScopes: [staff]", "JwtAuthorizationScopes: [staff, admin]")
    assert changed != template
    (tmp_path / "template.yaml").write_text(changed)
    again = compile_stack(tmp_path / "template.yaml", tmp_path / "stack.json")
    assert set(of_type(again, "AWS::ApiGateway::Deployment")) != set(of_type(stack, "AWS::ApiGateway::Deployment"))
    assert deployed_routes(again)[("ANY", "/api/v1/customers")]["AuthorizationScopes"] == ["staff", "admin"]


def test_given_the_compiled_stack_when_its_rules_are_evaluated_then_jwt_deploys_with_a_served_issuer_only(
    stack: dict[str, Any], tmp_path: Path
) -> None:
    assert SAM_ONLY_RULE not in stack["Rules"]
    assert stack["Parameters"]["AuthorizerMode"]["AllowedValues"] == ["jwt"]
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(stack))
    gateway.check_rules({"Algorithm": "RS256", "CustomDomainName": "auth.example.com"}, frozenset(), path)
    gateway.check_rules({"Algorithm": "ES256", "Issuer": "https://issuer.example.com"}, frozenset(), path)
    with pytest.raises(ValueError, match="needs an Issuer or a CustomDomainName"):
        gateway.check_rules({"Algorithm": "RS256"}, frozenset(), path)  # the API's own URL does not exist yet
    with pytest.raises(ValueError, match="needs Algorithm RS256 or ES256"):
        gateway.check_rules({"Algorithm": "HS256", "CustomDomainName": "auth.example.com"}, frozenset(), path)


def test_given_a_deployment_region_in_another_partition_when_compiled_then_the_roles_name_its_policies(
    tmp_path: Path,
) -> None:
    """SAM's transform writes the partition into the roles' managed policy ARNs: the compile step
    takes the region ``sam deploy`` uses, from the config env's ``region`` in samconfig.toml."""
    config = tmp_path / "samconfig.toml"
    config.write_text('version = 0.1\n[china.deploy.parameters]\nregion = "cn-north-1"\n')
    china = compile_stack(
        ROOT / "template.yaml", tmp_path / "stack.json", "--config-env", "china", "--samconfig", str(config)
    )
    policies = {
        json.dumps(arn)
        for role in of_type(china, "AWS::IAM::Role").values()
        for arn in role["Properties"].get("ManagedPolicyArns", [])
    }
    assert '"arn:aws-cn:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"' in policies
    assert not any(arn.startswith('"arn:aws:') for arn in policies)
    missing = subprocess.run(
        [*COMPILE, "template.yaml", "--out", str(tmp_path / "x.json"), "--config-env", "nowhere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "samconfig.toml sets no region for nowhere.deploy" in missing.stderr
    assert "Traceback" not in missing.stderr
