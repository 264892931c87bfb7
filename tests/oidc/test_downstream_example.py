"""examples/downstream: another service trusting these tokens through API Gateway's JWT authorizer."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import yaml

from tests.helpers import ROOT
from tools.gateway import _CfnLoader

EXAMPLE = ROOT / "examples" / "downstream"


def load_template(path: Any) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(), Loader=_CfnLoader))


def orders_handler() -> Any:
    spec = importlib.util.spec_from_file_location("downstream_orders", EXAMPLE / "orders" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_given_a_jwt_authorizer_event_when_orders_are_listed_then_the_customer_is_the_user_id_claim() -> None:
    claims = {"token_type": "access", "user_id": "42", "iss": "https://auth.example", "aud": "[ecommerce-api]"}
    event = {"version": "2.0", "requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": None}}}}

    answer = orders_handler().lambda_handler(event, None)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"customer_id": "42", "orders": []}


def test_given_the_example_template_when_read_then_every_route_needs_the_stacks_issuer_and_audience() -> None:
    template = load_template(EXAMPLE / "template.yaml")
    auth = template["Resources"]["OrdersApi"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert authorizer["JwtConfiguration"] == {"issuer": {"Ref": "Issuer"}, "audience": [{"Ref": "Audience"}]}
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    routes = [
        event["Properties"]
        for resource in template["Resources"].values()
        for event in resource.get("Properties", {}).get("Events", {}).values()
    ]
    assert routes
    assert all("Auth" not in route for route in routes), "no route opts out of the default authorizer"


def test_given_the_main_template_when_read_then_its_outputs_feed_the_examples_parameters() -> None:
    outputs = load_template(ROOT / "template.yaml")["Outputs"]
    parameters = load_template(EXAMPLE / "template.yaml")["Parameters"]

    assert set(parameters) <= set(outputs)
    assert {"Issuer", "Audience", "DiscoveryUrl", "JwksUrl"} <= set(outputs)
    assert {outputs[name]["Condition"] for name in ("Issuer", "Audience", "DiscoveryUrl", "JwksUrl")} == {"Asymmetric"}
