"""iss and aud: what the template gives each function, what tokens carry, who checks them.

HMAC stacks (the default) keep simplejwt's exact tokens; asymmetric stacks are issuers: the
default issuer is the stage's execute-api URL, its ``{api_id}`` filled in from the event.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest
import yaml

from shared.settings import Settings
from shared.tokens.keyset import parse, rotate
from shared.tokens.minting import ACCESS, REFRESH, TokenService
from shared.tokens.oidc import Issuer, IssuerUnknown, api_id_of, discovery_document
from tests.conftest import FakeLambdaContext
from tests.helpers import (
    EMAIL,
    PASSWORD,
    REGION,
    ROOT,
    SECRET_ID,
    SIGNING_KEY,
    TABLE_NAME,
    HttpAnswer,
    json_event,
    load_event,
)
from tests.mailbox import account_event
from tools import gateway
from tools.local_server import served_issuer

THREE_DAYS = 259200
API_ID = "abc123def4"  # the events' API (events/*.json)
DEFAULT_ISSUER = "https://{api_id}.execute-api.us-east-1.amazonaws.com/dev"
EVENTS_ISSUER = f"https://{API_ID}.execute-api.us-east-1.amazonaws.com/dev"
# base64url of {"alg":"HS256","typ":"JWT"}: simplejwt's header, byte for byte.
SIMPLEJWT_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


class Static:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def get(self) -> Any:
        return parse(self.secret)

    def refetch_for_unknown_kid(self) -> Any:
        return parse(self.secret)


def payload(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def template_settings(**overrides: str) -> Settings:
    return Settings.from_environ(gateway.load(overrides=overrides).environments["ObtainTokenFunction"])


def test_given_the_default_template_when_tokens_are_minted_then_they_carry_no_iss_and_no_aud() -> None:
    environments = gateway.load().environments
    assert {(env["ISSUER"], env["AUDIENCE"]) for env in environments.values()} == {("", "")}
    pair = TokenService(template_settings(), Static(SIGNING_KEY)).issue_pair("1")

    for token in pair.values():
        assert token.split(".")[0] == SIMPLEJWT_HEADER
    assert list(payload(pair["access"])) == ["token_type", "exp", "iat", "jti", "user_id", "family"]
    assert list(payload(pair["refresh"])) == ["token_type", "exp", "iat", "jti", "user_id", "family"]


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_given_an_hmac_template_when_resolved_then_no_function_gets_an_issuer(algorithm: str) -> None:
    settings = template_settings(Algorithm=algorithm)
    assert (settings.ISSUER, settings.AUDIENCE) == (None, None)


def test_given_an_asymmetric_template_when_resolved_then_every_function_gets_the_default_issuer() -> None:
    environments = gateway.load(overrides={"Algorithm": "RS256"}).environments
    assert {(env["ISSUER"], env["AUDIENCE"]) for env in environments.values()} == {(DEFAULT_ISSUER, "ecommerce-api")}


def test_given_an_issuer_parameter_when_resolved_then_it_overrides_the_default() -> None:
    overrides = {"Algorithm": "ES256", "Issuer": "https://auth.shop.example", "Audience": "shop-api"}
    environments = gateway.load(overrides=overrides).environments
    assert {(env["ISSUER"], env["AUDIENCE"]) for env in environments.values()} == {
        ("https://auth.shop.example", "shop-api")
    }


def test_given_the_default_issuer_when_no_event_named_the_api_then_it_is_unknown() -> None:
    issuer = Issuer(DEFAULT_ISSUER)
    with pytest.raises(IssuerUnknown):
        _ = issuer.value
    issuer.bind_api("../evil.example/x")
    with pytest.raises(IssuerUnknown):
        _ = issuer.value


@pytest.mark.parametrize("event", ["obtain_token_ok", "jwks", "authorizer_allow"])
def test_given_the_default_issuer_when_an_event_names_the_api_then_it_is_that_apis_url(event: str) -> None:
    issuer = Issuer(DEFAULT_ISSUER)
    issuer.bind_api(api_id_of(load_event(event)))
    assert issuer.value == EVENTS_ISSUER


def test_given_a_fixed_issuer_when_an_event_names_an_api_then_the_issuer_stays() -> None:
    issuer = Issuer("https://auth.shop.example")
    issuer.bind_api(API_ID)
    assert issuer.value == "https://auth.shop.example"


def test_given_an_asymmetric_stack_when_a_refresh_token_is_checked_as_access_then_its_audience_refuses_it() -> None:
    secret = rotate(SIGNING_KEY, "RS256", THREE_DAYS)
    settings = Settings(ALGORITHM="RS256", ISSUER="https://auth.shop.example", AUDIENCE="shop-api")
    tokens = TokenService(settings, Static(secret))
    pair = tokens.issue_pair("1")

    assert payload(pair["refresh"])["aud"] == "https://auth.shop.example"
    assert tokens.validate(pair["refresh"], REFRESH).user_id == "1"
    assert tokens.validate(pair["refresh"], None).token_type == REFRESH
    assert tokens.validate(pair["access"], None).token_type == ACCESS
    with pytest.raises(Exception, match="Token is invalid"):
        tokens.validate(pair["refresh"], ACCESS)


def test_given_the_default_template_when_the_discovery_document_is_asked_then_it_is_not_found(
    call: Callable[..., HttpAnswer],
) -> None:
    answer = call("jwks", discovery_event())
    assert (answer.status, answer.body) == (404, {"detail": "Not found."})


def discovery_event() -> dict[str, Any]:
    return load_event("jwks_openid_configuration")


@pytest.fixture
def rs256_stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """An RS256 stack as the template deploys it: default issuer, key set already rotated."""
    for name, value in {"ALGORITHM": "RS256", "ISSUER": DEFAULT_ISSUER, "AUDIENCE": "shop-api"}.items():
        monkeypatch.setenv(name, value)
    secret = rotate(SIGNING_KEY, "RS256", THREE_DAYS)
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(SecretId=SECRET_ID, SecretString=secret)


def test_given_an_rs256_stack_when_discovered_through_the_api_then_the_issuer_is_the_apis_url(
    rs256_stack: None, call: Callable[..., HttpAnswer]
) -> None:
    answer = call("jwks", discovery_event())

    assert answer.status == 200
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert answer.body["issuer"] == EVENTS_ISSUER
    assert answer.body["jwks_uri"] == f"{EVENTS_ISSUER}/.well-known/jwks.json"
    assert answer.body["id_token_signing_alg_values_supported"] == ["RS256"]


def test_given_an_rs256_stack_when_logging_in_and_authorizing_then_iss_and_aud_are_minted_and_checked(
    rs256_stack: None,
    customer: Any,
    call: Callable[..., HttpAnswer],
    load_handler: Callable[[str], Any],
    lambda_context: FakeLambdaContext,
) -> None:
    answer = call("obtain_token", json_event("obtain_token_ok", {"email": EMAIL, "password": PASSWORD}))
    access = answer.body["access"]
    assert (payload(access)["iss"], payload(access)["aud"]) == (EVENTS_ISSUER, "shop-api")

    authorizer = load_handler("authorizer")
    allowed = authorizer.lambda_handler(
        load_event("authorizer_allow", authorizationToken=f"Bearer {access}"), lambda_context
    )
    assert allowed["policyDocument"]["Statement"][0]["Effect"] == "Allow"

    other_api = load_event("authorizer_allow", authorizationToken=f"Bearer {access}")
    other_api["methodArn"] = other_api["methodArn"].replace(API_ID, "zz99yy88xx")
    denied = authorizer.lambda_handler(other_api, lambda_context)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert json.loads(denied["context"]["body"])["code"] == "token_not_valid"


def test_given_an_rs256_stack_when_an_authorizer_event_names_no_usable_api_then_it_fails_closed(
    rs256_stack: None, customer: Any, load_handler: Callable[[str], Any], lambda_context: FakeLambdaContext
) -> None:
    authorizer = load_handler("authorizer")
    event = load_event("authorizer_allow")
    event["methodArn"] = event["methodArn"].replace(API_ID, "Not.An.Id")
    with pytest.raises(authorizer.AuthorizerUnavailable):
        authorizer.lambda_handler(event, lambda_context)


def test_given_the_default_issuer_when_served_locally_then_the_functions_get_it_as_cloudformation_gives_it() -> None:
    model = gateway.load(overrides={"Algorithm": "RS256"})
    local_api_url = f"https://{gateway.API_ID}.execute-api.us-east-1.amazonaws.com/dev"
    assert served_issuer(model) == local_api_url
    assert {env["ISSUER"] for env in model.environments.values()} == {
        "https://{api_id}.execute-api.us-east-1.amazonaws.com/dev"  # each function must bind it
    }

    given = gateway.load(overrides={"Algorithm": "RS256", "Issuer": "https://auth.shop.example"})
    assert served_issuer(given) == "https://auth.shop.example"
    assert served_issuer(gateway.load()) is None
    assert {env["ISSUER"] for env in gateway.load().environments.values()} == {""}  # HMAC: empty stays empty


def test_given_params_when_make_local_runs_then_they_reach_the_server_as_template_parameters() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "local", "PARAMS=Algorithm=RS256 Audience=shop-api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    command = " ".join(dry_run.stdout.replace("\\\n", " ").split())
    assert "tools.local_server --port 3000" in command
    assert "--parameter-overrides Algorithm=RS256 Audience=shop-api" in command


def test_given_the_template_when_read_then_no_function_environment_names_the_api() -> None:
    """The API names every function it invokes; a function naming the API is a cycle CloudFormation refuses."""
    template = yaml.load(gateway.TEMPLATE.read_text(), Loader=gateway._CfnLoader)
    api = next(name for name, res in template["Resources"].items() if res["Type"] == "AWS::Serverless::Api")
    environments = [template["Globals"]["Function"]["Environment"]] + [
        res["Properties"].get("Environment", {})
        for res in template["Resources"].values()
        if res["Type"] == "AWS::Serverless::Function"
    ]
    text = json.dumps(environments)
    assert f'{{"Ref": "{api}"}}' not in text
    assert f"${{{api}}}" not in text
    assert f'"Fn::GetAtt": ["{api}"' not in text


def test_given_an_issuer_with_a_trailing_slash_when_discovered_then_the_jwks_uri_has_no_double_slash() -> None:
    document = discovery_document("https://auth.shop.example/", ["RS256"], Settings(ALGORITHM="RS256"))
    assert (document["issuer"], document["jwks_uri"]) == (
        "https://auth.shop.example/",
        "https://auth.shop.example/.well-known/jwks.json",
    )


CHANGE = {"old_password": PASSWORD, "new_password1": "Second-Harbour-58", "new_password2": "Second-Harbour-58"}


def test_given_an_rs256_stack_when_the_password_is_changed_then_the_fresh_pair_names_the_apis_url(
    rs256_stack: None, customer: Any, call: Callable[..., HttpAnswer]
) -> None:
    answer = call("change_password", account_event("password_change_wrong_old", CHANGE, caller=customer.customer_id))

    assert answer.status == 200, answer.body
    assert {payload(answer.body[kind])["iss"] for kind in ("access", "refresh")} == {EVENTS_ISSUER}


def test_given_an_issuer_no_event_named_when_a_password_change_would_sign_then_it_fails_before_any_write(
    rs256_stack: None, customer: Any
) -> None:
    from shared import services
    from shared.tokens.authorizer import Caller

    caller = Caller.from_context({"user_id": customer.customer_id, "iat": int(time.time())})
    with pytest.raises(IssuerUnknown):
        services.account_service().change_password(caller, json.dumps(CHANGE).encode(), "application/json", "1.2.3.4")

    table = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE_NAME)["Items"]
    assert [item["pk"]["S"] for item in table if not item["pk"]["S"].startswith(("CUSTOMER#", "EMAIL"))] == []
    assert services.customer_store().get(customer.customer_id) == customer  # hash and tokens_valid_after unchanged
