"""Properties of the token module, the authorizer and the token endpoints, for any input.

hypothesis generates the inputs (bounded and derandomised, so CI sees the same examples
every run): any text or bytes as a token, any JSON claims and header signed with the
service's own key, any Authorization header, any request body. The answer is always a
refusal or a valid decision; no exception ever escapes; every HTTP answer is one the
OpenAPI document describes. And a genuine token with any single byte changed is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shared import services
from shared.errors import TokenError
from shared.tokens.minting import ACCESS, REFRESH, TokenService, ValidToken
from tests.adversarial.document import answer_errors
from tests.adversarial.forge import b64, hs_signature, payload, replace_byte
from tests.adversarial.stack import TOKEN_FUNCTIONS, Stack, warm_stack
from tests.helpers import SIGNING_KEY, HttpAnswer

KEY = SIGNING_KEY.encode()
KINDS = (ACCESS, REFRESH, None)
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DENY_BODIES_SCHEMA_PATH = "/api/v1/customers/1/"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with warm_stack() as warm:
        yield warm


@pytest.fixture(scope="module")
def tokens(stack: Stack) -> TokenService:
    """The token module as the token functions build it (key read from Secrets Manager)."""
    services.reset()
    return services.token_service()


def check(tokens: TokenService, token: str, kind: str | None) -> ValidToken | None:
    """Validate ``token``; a TokenError is a refusal (None), any other exception escapes."""
    refusal: tuple[int, str | None] | None = None
    try:
        valid = tokens.validate(token, kind)
    except TokenError as error:
        refusal = (error.status, error.code)
    if refusal is not None:
        assert refusal == (401, "token_not_valid")
        return None
    assert isinstance(valid, ValidToken)
    if kind is not None:
        assert valid.token_type == kind
    assert isinstance(valid.exp, int)
    assert isinstance(valid.jti, str)
    assert valid.user_id is None or (isinstance(valid.user_id, str) and valid.user_id)
    return valid


# --- generators -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
claim_values = json_values | st.sampled_from([ACCESS, REFRESH, "1", 1, 0, -1, 2**63, 10**30, "9999999999", math.inf])
CLAIMS = ("token_type", "exp", "iat", "nbf", "jti", "user_id", "family", "aud", "iss", "sub")
# A genuine payload with some claims replaced by anything, some removed, some added.
claims = st.builds(
    lambda kind, replaced, removed, extra: {
        name: value for name, value in {**extra, **payload(kind), **replaced}.items() if name not in removed
    },
    st.sampled_from([ACCESS, REFRESH, "other"]),
    st.dictionaries(st.sampled_from(CLAIMS), claim_values, max_size=3),
    st.sets(st.sampled_from(CLAIMS), max_size=2),
    st.dictionaries(st.text(max_size=8), json_values, max_size=2),
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "HS384", "none", "RS256", "ES256", "EdDSA", ""]) | json_values},
    optional=dict.fromkeys(("typ", "kid", "crit", "b64", "jku", "jwk", "x5u", "cty", "zip"), json_values),
)
segments = st.binary(max_size=64).map(b64) | st.text(max_size=30)
shaped = st.lists(segments, min_size=1, max_size=6).map(".".join)
any_token = st.text() | st.binary().map(lambda raw: raw.decode("utf-8", "surrogateescape")) | shaped


def raw_json(value: Any) -> str:
    """JSON as Python writes it: NaN and Infinity included (pyjwt's parser reads them)."""
    return json.dumps(value, separators=(",", ":"))


# --- the token module ---------------------------------------------------------------------------


@PROPERTY
@given(token=any_token, kind=st.sampled_from(KINDS))
def test_any_text_or_bytes_as_a_token_is_refused(tokens: TokenService, token: str, kind: str | None) -> None:
    assert check(tokens, token, kind) is None


@PROPERTY
@given(payload=claims, kind=st.sampled_from(KINDS))
def test_any_json_claims_signed_with_the_right_key_are_refused_or_valid(
    tokens: TokenService, payload: dict[str, Any], kind: str | None
) -> None:
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(raw_json(payload).encode())}"
    event("valid" if check(tokens, hs_token_from(signing_input), kind) else "refused")


@PROPERTY
@given(payload=json_values, kind=st.sampled_from(KINDS))
def test_any_json_value_as_the_payload_signed_with_the_right_key_is_refused_or_valid(
    tokens: TokenService, payload: Any, kind: str | None
) -> None:
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(raw_json(payload).encode())}"
    check(tokens, hs_token_from(signing_input), kind)


@PROPERTY
@given(header=headers, kind=st.sampled_from(KINDS))
def test_any_json_header_signed_with_the_right_key_is_refused_or_valid(
    tokens: TokenService, header: dict[str, Any], kind: str | None
) -> None:
    alg = header["alg"] if header["alg"] in ("HS256", "HS384", "HS512") else "HS256"
    signing_input = f"{b64(raw_json(header).encode())}.{b64(raw_json(payload(kind or ACCESS)).encode())}"
    event("valid" if check(tokens, hs_token_from(signing_input, alg), kind) else "refused")


def hs_token_from(signing_input: str, alg: str = "HS256") -> str:
    return f"{signing_input}.{hs_signature(signing_input, KEY, alg)}"


@PROPERTY
@given(data=st.data(), kind=st.sampled_from([ACCESS, REFRESH]))
def test_a_genuine_token_with_any_single_byte_changed_is_refused(
    tokens: TokenService, data: st.DataObject, kind: str
) -> None:
    genuine = tokens.issue_pair("1")[kind]
    index = data.draw(st.integers(min_value=0, max_value=len(genuine) - 1), label="index")
    value = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda byte: byte != ord(genuine[index])), label="byte"
    )
    assert check(tokens, replace_byte(genuine, index, value), kind) is None


@pytest.mark.parametrize("kind", [ACCESS, REFRESH])
def test_every_single_byte_change_of_a_genuine_token_is_refused(tokens: TokenService, kind: str) -> None:
    """Exhaustive: every position, every other byte value (about 45,000 tokens each)."""
    genuine = tokens.issue_pair("1")[kind]
    accepted = [
        (index, value)
        for index in range(len(genuine))
        for value in range(256)
        if value != ord(genuine[index]) and check(tokens, replace_byte(genuine, index, value), kind) is not None
    ]
    assert accepted == [], f"{len(accepted)} altered tokens accepted, e.g. byte {accepted[0][0]} of {len(genuine)}"


# --- the authorizer -------------------------------------------------------------------------------


def deny_or_allow(stack: Stack, authorization: str) -> dict[str, Any]:
    policy = stack.authorize(authorization)
    [statement] = policy["policyDocument"]["Statement"]
    assert statement["Effect"] in ("Allow", "Deny")
    return policy


@PROPERTY
@given(authorization=st.text() | st.text().map("Bearer {}".format) | shaped.map("Bearer {}".format))
def test_any_authorization_header_gets_an_allow_or_a_documented_deny(stack: Stack, authorization: str) -> None:
    policy = deny_or_allow(stack, authorization)
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    body = json.loads(policy["context"]["body"])
    answer = HttpAnswer(401, {"content-type": "application/json", "www-authenticate": 'Bearer realm="api"'}, body, "")
    assert answer_errors("GET", DENY_BODIES_SCHEMA_PATH, answer) == []


@PROPERTY
@given(data=st.data())
def test_the_authorizer_denies_a_genuine_access_token_with_any_single_byte_changed(
    stack: Stack, tokens: TokenService, data: st.DataObject
) -> None:
    genuine = tokens.issue_pair("1")[ACCESS]
    index = data.draw(st.integers(min_value=0, max_value=len(genuine) - 1), label="index")
    value = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda byte: byte != ord(genuine[index])), label="byte"
    )
    altered = replace_byte(genuine, index, value).encode("utf-8", "surrogateescape").decode("latin-1")
    assert deny_or_allow(stack, f"Bearer {altered}")["policyDocument"]["Statement"][0]["Effect"] == "Deny"


# --- the token endpoints --------------------------------------------------------------------------

FIELDS = st.sampled_from(["email", "password", "refresh", "token"]) | st.text(max_size=10)
EMAILS = st.sampled_from(
    ["customer@example.com", "nobody@example.com", "CUSTOMER@example.com", " customer@example.com"]
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "APPLICATION/JSON",
    ]
)


FUNCTION_FIELDS = {"obtain_token": ("email", "password"), "refresh_token": ("refresh",)}
FUNCTION_FIELDS |= {"verify_token": ("token",), "blacklist_token": ("refresh",)}


def request_bodies(function: str, genuine: list[str]) -> st.SearchStrategy[bytes]:
    """Mostly the function's own fields holding near-right values; also any JSON, form or bytes."""
    values = {
        "email": EMAILS | json_values,
        "password": st.sampled_from(["SecurePass123!", "wrong", "x" * 4097]) | json_values,
        "refresh": st.sampled_from(genuine) | shaped | json_values,
        "token": st.sampled_from(genuine) | shaped | json_values,
    }
    own = st.fixed_dictionaries({}, optional={name: values[name] for name in FUNCTION_FIELDS[function]})
    fielded = st.builds(lambda mine, extra: {**extra, **mine}, own, st.dictionaries(FIELDS, json_values, max_size=2))
    as_json = fielded.map(lambda value: raw_json(value).encode())
    as_form = fielded.map(
        lambda value: "&".join(f"{name}={item}" for name, item in value.items()).encode("utf-8", "surrogatepass")
    )
    anything = st.binary(max_size=200) | json_values.map(lambda value: raw_json(value).encode())
    return st.one_of(as_json, as_json, as_json, as_form, anything)


@settings(PROPERTY, max_examples=300)
@given(data=st.data())
def test_any_request_to_a_token_endpoint_gets_a_documented_answer(
    stack: Stack, tokens: TokenService, data: st.DataObject
) -> None:
    genuine = [token for _ in range(2) for token in tokens.issue_pair("1").values()]
    function = data.draw(st.sampled_from(sorted(TOKEN_FUNCTIONS)), label="function")
    method = data.draw(st.sampled_from(["POST"] * 6 + ["GET", "PUT", "DELETE", "OPTIONS"]), label="method")
    body = data.draw(request_bodies(function, genuine), label="body")
    content_type = data.draw(st.just("application/json") | content_types, label="content_type")
    source_ip = data.draw(
        st.sampled_from(["203.0.113.7", "203.0.113.8"]) | st.just(stack.source_ip()), label="source_ip"
    )
    answer = stack.post(function, body, content_type=content_type, method=method, source_ip=source_ip)
    event(f"{function} {answer.status}")
    assert answer.status < 500, answer.body
    if method in ("POST", "GET", "OPTIONS"):
        assert answer_errors(method, TOKEN_FUNCTIONS[function][1], answer) == []
    else:
        assert (answer.status, answer.body) == (405, {"detail": f'Method "{method}" not allowed.'})
