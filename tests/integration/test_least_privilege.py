"""Each function may read and write only the table keys it reads and writes and send only the mail
it sends (template.yaml).

The policies hold every DynamoDB read and write to ``dynamodb:LeadingKeys`` prefixes (no function
can read another kind of item: ``current_user`` reads no login's hash by email), every queued mail
job (``sqs:SendMessage``) to the mail queue and every sent mail (``ses:SendEmail``) to the
``MailFrom`` address. The tests run each function's real handlers through the flows that use the
table, record the key of every read and write its DynamoDB client sends and the target of every
message its SQS and SES clients send, and check both ways: each call is allowed by the template,
and each prefix or mail action the template grants is used by some flow (no spare grant).

Each capability of shared/ reads and writes its own prefixes with its own store (issue 23):
``KEY_PREFIXES_BY_PACKAGE`` names them, checked against the constants each package declares and
against every prefix the template grants.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from shared import aws, services
from tests.conftest import FakeLambdaContext
from tests.helpers import EMAIL, PASSWORD, REGION, TABLE_NAME, HttpAnswer, json_event, load_event
from tests.mailbox import OTHER_STRONG, STRONG, Mailbox, Sent, account_event, register
from tests.mfa_kit import ACTIVATE, DEACTIVATE, REGENERATE, STATUS, VERIFY, code_at, enrol, mfa_event
from tests.social_provider import Provider, apple, google, sign_in_event, social
from tools.gateway import read_template

WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
READ_ACTIONS = {"GetItem", "BatchGetItem", "Query", "Scan"}
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# Each mail call a function makes: (client, operation) -> its IAM action, the request parameter
# naming its target and the environment variable the target comes from.
MAIL_CALLS = {
    ("sqs", "SendMessage"): ("sqs:SendMessage", "QueueUrl", "MAIL_QUEUE_URL"),
    ("sesv2", "SendEmail"): ("ses:SendEmail", "FromEmailAddress", "MAIL_FROM"),
}
MAIL_CLIENTS: dict[str, Callable[[], Any]] = {"sqs": aws.sqs_client, "sesv2": aws.sesv2_client}
# SES authorizes an SES v2 SendEmail of raw MIME as ses:SendRawEmail as well as ses:SendEmail
# (mail libraries that moved to v2 with raw content saw AccessDenied without it), so the
# mailer's raw send uses both grants.
RAW_SEND = "ses:SendRawEmail"
# What a grant may allow beyond the calls above is checked too: a grant of any of these is one
# no flow needs unless a flow makes it.
MAIL_ACTIONS = ("sqs:SendMessage", "sqs:SendMessageBatch", "ses:SendEmail", "ses:SendRawEmail", "ses:SendBulkEmail")
# SAM policy templates known to grant nothing on the table's writes or on mail.
HARMLESS_POLICY_TEMPLATES = {"AWSSecretsManagerGetSecretValuePolicy"}
MIGRATED_EMAIL = "migrated@example.com"
MIGRATED_PASSWORD = "correct horse battery staple"
PENDING_EMAIL = "nora@example.com"
MFA_EMAIL = "mfa@example.com"

# The table's key prefixes per package of shared/ (a key is a prefix and a value, or a whole key).
KEY_PREFIXES_BY_PACKAGE = {
    "customers": {
        "CUSTOMER#",
        "EMAIL#",
        "EMAILCI#",
        "COUNTER#customer",
        "COUNTER#legacy",
        "FAIL#",
        "FAILIP#",
        "LIST#customer",
    },
    "tokens": {"JTI#", "FAMILY#"},
    "accounts": {"VERIFY#", "RESET#", "RATE#", "MAILCAP#"},
    "social": {"SOCIAL#", "SOCIALS#"},
    "mfa": {"MFA#", "MFASETUP#", "MFACHALLENGE#"},
    "passkeys": {"PASSKEY#", "PASSKEYS#", "WEBAUTHN#"},
}
SHARED = Path(__file__).resolve().parents[2] / "shared"
__all__ = ["apple", "google", "social"]  # fixtures of the social flows

TableCall = tuple[str, str]  # (action, partition key)
Send = tuple[str, str]  # (IAM action, target: a queue URL or a From address)


def policy_entries(policy: Any) -> Iterator[Any]:
    """Every entry of a SAM ``Policies`` list, both branches of an ``Fn::If`` included."""
    if isinstance(policy, list):
        for item in policy:
            yield from policy_entries(item)
    elif isinstance(policy, dict) and "Fn::If" in policy:
        yield from policy_entries(policy["Fn::If"][1:])
    elif policy != {"Ref": "AWS::NoValue"}:
        yield policy


def statements(policy: Any) -> Iterator[dict[str, Any]]:
    for entry in policy_entries(policy):
        if isinstance(entry, dict) and "Statement" in entry:
            yield from entry["Statement"]


def function_properties(function: str) -> dict[str, Any]:
    properties: dict[str, Any] = read_template()["Resources"][function]["Properties"]
    return properties


def function_names() -> list[str]:
    resources = read_template()["Resources"]
    return [name for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"]


def actions_of(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def table_grants(function: str) -> dict[str, list[str] | None]:
    """Read or write action on the table -> the key patterns it is held to (None: any key)."""
    grants: dict[str, list[str] | None] = {}
    for statement in statements(function_properties(function).get("Policies", [])):
        keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        for action in actions_of(statement):
            service, _, name = action.partition(":")
            if service == "dynamodb" and (name in WRITE_ACTIONS | READ_ACTIONS or "*" in name):
                grants[name] = list(keys) if keys else None
    return grants


def mail_grants(function: str) -> dict[str, set[str]]:
    """Mail action -> the template resources its statements name (a queue, the From parameter)."""
    grants: dict[str, set[str]] = {}
    for statement in statements(function_properties(function).get("Policies", [])):
        for pattern in actions_of(statement):
            for action in MAIL_ACTIONS:
                if fnmatch.fnmatchcase(action.lower(), pattern.lower()):
                    named = referenced(statement.get("Resource")) | referenced(statement.get("Condition"))
                    grants.setdefault(action, set()).update(named)
    return grants


def referenced(node: Any) -> set[str]:
    """The template resources and parameters a value names (``Ref``, ``Fn::GetAtt``)."""
    if isinstance(node, list):
        return set().union(*(referenced(item) for item in node))
    if not isinstance(node, dict):
        return set()
    if "Ref" in node:
        return {node["Ref"]}
    if "Fn::GetAtt" in node:
        return {node["Fn::GetAtt"][0]}
    return set().union(*(referenced(value) for value in node.values()))


def environment_of(function: str) -> dict[str, Any]:
    """The function's variables as the template sets them (its own over the Globals)."""
    template = read_template()
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    variables.update(function_properties(function).get("Environment", {}).get("Variables", {}))
    return variables


def allowed(grants: dict[str, list[str] | None], call: TableCall) -> bool:
    action, key = call
    patterns = grants.get(action, [])
    return patterns is None or any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns)


def mail_allowed(function: str, send: Send) -> bool:
    """Granted, on the resource the template also hands the function as the variable it sends to."""
    action, target = send
    checked_as = "ses:SendEmail" if action == RAW_SEND else action
    variable = next(variable for iam_action, _, variable in MAIL_CALLS.values() if iam_action == checked_as)
    named = referenced(environment_of(function).get(variable))
    return target == os.environ[variable] and bool(named) and named <= mail_grants(function).get(action, set())


def test_every_dynamodb_read_and_write_of_every_function_is_held_to_key_prefixes() -> None:
    unbounded = {
        function: action
        for function in function_names()
        for action, keys in table_grants(function).items()
        if keys is None
    }

    assert unbounded == {}


def declared_key_prefixes() -> dict[str, set[str]]:
    """Package -> the key constants its modules declare (module-level ``NAME = "KIND#..."``)."""
    declared: dict[str, set[str]] = {}
    for path in SHARED.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and node.value.value.split("#", 1)[0].isupper()
                and "#" in node.value.value
            ):
                package = path.relative_to(SHARED).parts[0] if path.parent != SHARED else "(loose)"
                declared.setdefault(package, set()).add(node.value.value)
    return declared


def test_each_package_declares_the_key_prefixes_it_owns_and_no_other() -> None:
    assert declared_key_prefixes() == KEY_PREFIXES_BY_PACKAGE


def test_every_key_pattern_the_template_grants_belongs_to_exactly_one_package() -> None:
    owned = [prefix for prefixes in KEY_PREFIXES_BY_PACKAGE.values() for prefix in prefixes]
    patterns = {
        pattern
        for function in function_names()
        for patterns in table_grants(function).values()
        for pattern in patterns or []
    }

    granted = {pattern.removesuffix("*") for pattern in patterns}

    assert len(owned) == len(set(owned)), "a prefix two packages own"
    assert granted - set(owned) == set(), "a granted prefix no package owns"
    assert set(owned) - granted == set(), "an owned prefix no function is granted"


def test_only_the_mailer_may_send_mail_and_only_the_functions_that_queue_mail_may_queue_it() -> None:
    functions = function_names()
    templates = {
        next(iter(entry)) if isinstance(entry, dict) else entry
        for function in functions
        for entry in policy_entries(function_properties(function).get("Policies", []))
        if not (isinstance(entry, dict) and "Statement" in entry)
    }

    assert templates <= HARMLESS_POLICY_TEMPLATES, "a policy this test cannot read may grant mail"
    assert {function: grants for function in functions if (grants := mail_grants(function))} == {
        "RegisterFunction": {"sqs:SendMessage": {"MailQueue"}},
        "RequestMailFunction": {"sqs:SendMessage": {"MailQueue"}},
        "StaffFunction": {"sqs:SendMessage": {"MailQueue"}},
        "MailerFunction": {"ses:SendEmail": {"MailFrom"}, RAW_SEND: {"MailFrom"}},
    }
    mail_queue_readers = {
        function
        for function in functions
        for event in function_properties(function).get("Events", {}).values()
        if event["Type"] == "SQS"
    }
    assert mail_queue_readers == {"MailerFunction"}


def test_the_jwks_function_reads_only_the_verification_secret() -> None:
    properties = read_template()["Resources"]["JwksFunction"]["Properties"]
    readable = [policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"] for policy in properties["Policies"]]

    assert readable == [{"Ref": "VerificationKeySecret"}]
    assert properties["Environment"]["Variables"]["SIGNING_KEY_SECRET_ID"] == {"Ref": "VerificationKeySecret"}


class Recorder:
    """The keys of every read and write a function's DynamoDB client sends, the targets of its mail."""

    def __init__(self) -> None:
        self.table_calls: set[TableCall] = set()
        self.sends: set[Send] = set()

    def call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, spec),) = item.items()
                self.table_calls.add((TRANSACT_ACTIONS[kind], _pk(spec)))
        elif name == "BatchGetItem":
            for request in params["RequestItems"].values():
                self.table_calls.update((name, str(key["pk"]["S"])) for key in request["Keys"])
        elif name == "Query":
            self.table_calls.add((name, _partition_value(params)))
        elif name == "Scan":
            # No key: no LeadingKeys pattern allows "", so a flow that scans fails here.
            self.table_calls.add((name, ""))
        elif name in WRITE_ACTIONS | READ_ACTIONS:
            self.table_calls.add((name, _pk(params)))

    def send(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        action, target, _variable = MAIL_CALLS[(model.service_model.service_name, model.name)]
        self.sends.add((action, params[target]))
        if action == "ses:SendEmail" and "Raw" in params.get("Content", {}):
            self.sends.add((RAW_SEND, params[target]))


def _partition_value(params: dict[str, Any]) -> str:
    """The partition key value a Query's ``name = :value`` condition names (its LeadingKeys)."""
    placeholder = params["KeyConditionExpression"].split("=", 1)[1].split()[0]
    return str(params["ExpressionAttributeValues"][placeholder]["S"])


def _pk(spec: dict[str, Any]) -> str:
    item: dict[str, Any] = spec.get("Key") or spec["Item"]
    return str(item["pk"]["S"])


@dataclass
class Flow:
    """What one function's flows sent to AWS, and its answers (HTTP bodies decoded)."""

    table_calls: set[TableCall]
    sends: set[Send]
    answers: list[dict[str, Any]]

    @property
    def statuses(self) -> list[int]:
        return [answer["statusCode"] for answer in self.answers]

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(answer["body"]) if answer.get("body") else None for answer in self.answers]


Event = tuple[str, Any] | dict[str, Any]  # (events/ name, JSON body) or a whole event
Run = Callable[[str, list[Event]], Flow]


@pytest.fixture
def run(load_handler: Callable[[str], ModuleType], lambda_context: FakeLambdaContext) -> Run:
    """Cold-start a function, send it events, answer what it sent to AWS and its answers."""

    def invoke(function: str, events: list[Event]) -> Flow:
        module = load_handler(function)
        recorder = Recorder()
        aws.dynamodb_client().meta.events.register("provide-client-params.dynamodb.*", recorder.call)
        for client, operation in MAIL_CALLS:
            MAIL_CLIENTS[client]().meta.events.register(f"provide-client-params.{client}.{operation}", recorder.send)
        answers = [
            module.lambda_handler(json_event(*event) if isinstance(event, tuple) else event, lambda_context)
            for event in events
        ]
        return Flow(recorder.table_calls, recorder.sends, answers)

    return invoke


def assert_least_privilege(function: str, flow: Flow) -> None:
    grants = table_grants(function)
    assert flow.table_calls, "the flows used the table"
    denied = [call for call in sorted(flow.table_calls) if not allowed(grants, call)]
    assert denied == [], "reads and writes the policy denies"
    used = {
        (action, pattern)
        for action, key in flow.table_calls
        for pattern in grants.get(action) or []
        if fnmatch.fnmatchcase(key, pattern)
    }
    granted = {(action, pattern) for action, patterns in grants.items() for pattern in patterns or []}
    assert granted - used == set(), "grants no flow needs"
    assert [send for send in sorted(flow.sends) if not mail_allowed(function, send)] == [], "mail the policy denies"
    assert set(mail_grants(function)) - {action for action, _ in flow.sends} == set(), "mail grants no flow needs"


@pytest.fixture
def migrated(make_customer: Callable[..., Any], django_configured: None) -> Any:
    """A customer imported from Django whose PBKDF2 hash waits for its upgrade (COUNTER#legacy)."""
    from django.contrib.auth import hashers

    encoded = hashers.make_password(MIGRATED_PASSWORD, hasher="pbkdf2_sha256")
    return make_customer(MIGRATED_EMAIL, customer_id="70", password_hash=encoded)


def test_given_login_flows_then_obtain_writes_only_what_its_policy_allows_and_uses_every_grant(
    customer: Any, migrated: Any, make_customer: Callable[..., Any], run: Run
) -> None:
    make_customer(MFA_EMAIL, customer_id="3")
    enrol(call_function(run), caller="3")
    flow = run(
        "obtain_token",
        [
            ("obtain_token_ok", {"email": EMAIL, "password": "wrong password"}),  # counters
            ("obtain_token_ok", {"email": EMAIL, "password": PASSWORD}),  # last_login, counter cleared
            ("obtain_token_ok", {"email": MIGRATED_EMAIL, "password": MIGRATED_PASSWORD}),  # hash upgrade
            ("obtain_token_ok", {"email": MFA_EMAIL, "password": PASSWORD}),  # the MFA challenge
        ],
    )

    assert flow.bodies[3]["mfa_required"] is True
    assert_least_privilege("ObtainTokenFunction", flow)


def call_function(run: Run) -> Callable[..., HttpAnswer]:
    """``run`` as the ``call`` fixture's signature (one event, the decoded answer)."""

    def call(function: str, event: dict[str, Any]) -> HttpAnswer:
        [answer] = run(function, [event]).answers
        body = answer.get("body") or ""
        return HttpAnswer(answer["statusCode"], answer.get("headers") or {}, json.loads(body) if body else None, body)

    return call


def test_given_enrolment_logins_codes_and_deactivation_then_mfa_writes_only_what_its_policy_allows(
    customer: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_MAX_CODE_FAILURES", "1")  # one wrong code ends a challenge (its delete)
    begin = run("mfa", [mfa_event(ACTIVATE, method="GET")])
    secret, activation = begin.bodies[0]["secret"], begin.bodies[0]["activation_token"]
    confirm = run(
        "mfa", [mfa_event(ACTIVATE, {"activation_token": activation, "code": code_at(secret), "password": PASSWORD})]
    )
    enrolled = confirm.bodies[0]
    challenges = [
        run("obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})]).bodies[0]["ephemeral_token"]
        for _ in range(3)
    ]
    flow = run(
        "mfa",
        [
            mfa_event(STATUS, method="GET", session=enrolled),
            mfa_event(VERIFY, {"ephemeral_token": challenges[0], "code": "000000x"}, caller=None),  # dies
            mfa_event(VERIFY, {"ephemeral_token": challenges[1], "code": code_at(secret, 1)}, caller=None),
            mfa_event(VERIFY, {"ephemeral_token": challenges[2], "code": enrolled["recovery_codes"][0]}, caller=None),
            mfa_event(REGENERATE, {"password": PASSWORD}, session=enrolled),
            mfa_event(DEACTIVATE, {"password": PASSWORD, "code": enrolled["recovery_codes"][1]}, session=enrolled),
        ],
    )
    regenerated = flow.bodies[4]["codes"]
    off = run("mfa", [mfa_event(DEACTIVATE, {"password": PASSWORD, "code": regenerated[0]}, session=enrolled)])

    assert begin.statuses + confirm.statuses == [200, 200]
    assert flow.statuses == [200, 400, 200, 200, 200, 400]  # the last: a code the regeneration voided
    assert off.statuses == [200]
    calls = begin.table_calls | confirm.table_calls | flow.table_calls | off.table_calls
    assert_least_privilege("MfaFunction", Flow(calls, flow.sends, flow.answers))


def test_given_refresh_and_reuse_then_refresh_writes_only_what_its_policy_allows_and_uses_every_grant(
    customer: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")  # as the template deploys it
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")
    [pair] = run("obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})]).bodies
    flow = run(
        "refresh_token",
        [("refresh_token_ok", {"refresh": pair["refresh"]}), ("refresh_token_ok", {"refresh": pair["refresh"]})],
    )

    assert_least_privilege("RefreshTokenFunction", flow)


def test_given_a_logout_then_blacklist_writes_only_what_its_policy_allows_and_uses_every_grant(
    customer: Any, run: Run
) -> None:
    [pair] = run("obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})]).bodies
    flow = run("blacklist_token", [("blacklist_token_ok", {"refresh": pair["refresh"]})])

    assert_least_privilege("BlacklistTokenFunction", flow)


def test_given_a_live_and_a_logged_out_token_then_verify_reads_only_what_its_policy_allows(
    customer: Any, run: Run
) -> None:
    [pair, logged_out] = run(
        "obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD}) for _ in range(2)]
    ).bodies
    run("blacklist_token", [("blacklist_token_ok", {"refresh": logged_out["refresh"]})])
    flow = run(
        "verify_token",
        [("verify_token_ok", {"token": pair["access"]}), ("verify_token_ok", {"token": logged_out["refresh"]})],
    )

    assert flow.statuses == [200, 400]  # the logged-out one: "Token is blacklisted"
    assert_least_privilege("VerifyTokenFunction", flow)


def staff_event(method: str, path: str, caller: str, query: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """events/staff_customers.json aimed at ``path``, from ``caller`` with a token that claims staff."""
    event = load_event("staff_customers")
    event.update(httpMethod=method, path=path, multiValueQueryStringParameters=query)
    event["queryStringParameters"] = {name: values[-1] for name, values in query.items()} if query else None
    event["requestContext"].update(httpMethod=method, path=f"/prod{path}")
    event["requestContext"]["authorizer"].update(principalId=caller, user_id=caller, iat=int(time.time()))
    return event


def test_given_a_profile_read_and_staff_reading_another_then_the_profile_reads_only_what_its_policy_allows(
    customer: Any, make_customer: Callable[..., Any], run: Run
) -> None:
    staff = make_customer("staff@example.com", customer_id="2")
    services.customer_store().set_roles(staff, True, False, (), revoke_at=0.0)

    flow = run(
        "customer_profile",
        [
            account_event("customer_profile_own", None, caller="1", method="GET"),
            staff_event("GET", "/api/v1/customers/1/", caller="2"),
        ],
    )

    assert flow.statuses == [200, 200]
    assert_least_privilege("CustomerProfileFunction", flow)


def test_given_every_staff_route_then_the_staff_function_writes_only_what_its_policy_allows(
    customer: Any, make_customer: Callable[..., Any], run: Run
) -> None:
    staff = make_customer("staff@example.com", customer_id="2")
    services.customer_store().set_roles(staff, True, False, (), revoke_at=0.0)
    actions = ("deactivate", "activate", "revoke-sessions", "password-reset")

    flow = run(
        "staff",
        [
            staff_event("GET", "/api/v1/customers/", caller="2"),
            staff_event("GET", "/api/v1/customers/", caller="2", query={"email": [EMAIL.upper()]}),
            *(staff_event("POST", f"/api/v1/customers/1/{action}/", caller="2") for action in actions),
        ],
    )

    assert flow.statuses == [200] * 6
    assert_least_privilege("StaffFunction", flow)


def test_the_staff_functions_query_is_granted_on_its_index_only() -> None:
    [query] = [
        statement
        for statement in statements(function_properties("StaffFunction")["Policies"])
        if "dynamodb:Query" in actions_of(statement)
    ]

    assert query["Resource"] == {"Fn::Sub": "${CustomerTable.Arn}/index/customers-newest"}


def test_given_the_customer_check_then_the_authorizer_reads_only_what_its_policy_allows(
    customer: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHORIZER_CHECK_CUSTOMER", "true")  # its only read, under the template's condition
    [pair] = run("obtain_token", [("obtain_token_ok", {"email": EMAIL, "password": PASSWORD})]).bodies
    flow = run("authorizer", [load_event("authorizer_allow", authorizationToken=f"Bearer {pair['access']}")])

    assert [answer["policyDocument"]["Statement"][0]["Effect"] for answer in flow.answers] == ["Allow"]
    assert_least_privilege("AuthorizerFunction", flow)


# The account functions. Each endpoint that queues mail counts the request (RATE# items) and
# queues the same job whoever owns the address; only the mailer finds out (new, pending, taken).

Call = Callable[..., HttpAnswer]


def registration(email: str, password: str = STRONG) -> tuple[str, dict[str, str]]:
    return ("register_ok", {"email": email, "password1": password, "password2": password})


def confirm_reset(link: Sent, password: str) -> tuple[str, dict[str, str]]:
    body = {**link.query(), "new_password1": password, "new_password2": password}
    return ("password_reset_confirm_bad_uid", body)


@pytest.fixture
def pending(call: Call, mailbox: Mailbox) -> Sent:
    """A registration nobody has confirmed yet (its customer is pending): the mail with its key."""
    assert register(call, PENDING_EMAIL).status == 201
    return mailbox.one()


def test_given_new_pending_taken_and_throttled_registrations_then_register_writes_only_what_its_policy_allows(
    customer: Any, pending: Sent, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCOUNT_ADDRESS_LIMIT", "2")  # the pending address has had one request
    flow = run(
        "register",
        [
            registration("new@example.com"),
            registration(PENDING_EMAIL),
            registration(EMAIL),
            registration("new@example.com"),
            registration("new@example.com"),  # over the address limit: counted, refused, not queued
        ],
    )

    assert flow.statuses == [201, 201, 201, 201, 429]
    assert_least_privilege("RegisterFunction", flow)


def test_given_resends_resets_and_a_throttled_request_then_request_mail_writes_only_what_its_policy_allows(
    customer: Any, pending: Sent, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCOUNT_ADDRESS_LIMIT", "2")  # the pending address has had one request
    flow = run(
        "request_mail",
        [
            ("resend_email_ok", {"email": PENDING_EMAIL}),
            ("resend_email_ok", {"email": "nobody@example.com"}),
            ("password_reset_ok", {"email": EMAIL}),
            ("password_reset_ok", {"email": EMAIL}),
            ("password_reset_ok", {"email": EMAIL}),  # over the address limit: counted, refused, not queued
        ],
    )

    assert flow.statuses == [200, 200, 200, 200, 429]
    assert_least_privilege("RequestMailFunction", flow)


def test_given_a_key_used_twice_and_an_unknown_one_then_verify_email_writes_only_what_its_policy_allows(
    pending: Sent, run: Run
) -> None:
    key = pending.query()["key"]
    flow = run(
        "verify_email",
        [
            ("verify_email_unknown_key", {"key": key, "password": STRONG}),
            ("verify_email_unknown_key", {"key": key, "password": STRONG}),
            ("verify_email_unknown_key", {"key": "not-a-key", "password": STRONG}),
        ],
    )

    assert flow.statuses == [200, 404, 404]
    assert_least_privilege("VerifyEmailFunction", flow)


def test_given_resets_of_a_verified_and_of_a_pending_customer_then_reset_password_writes_only_what_it_may(
    customer: Any, pending: Sent, call: Call, mailbox: Mailbox, run: Run, migrated: Any
) -> None:
    call("request_mail", json_event("password_reset_ok", {"email": MIGRATED_EMAIL}))
    migrated_link = mailbox.one()  # replaces an imported hash: one fewer in COUNTER#legacy
    call("request_mail", json_event("password_reset_ok", {"email": EMAIL}))
    verified_link = mailbox.one()
    call("request_mail", json_event("resend_email_ok", {"email": PENDING_EMAIL}))
    finish_signup_link = mailbox.one()  # confirms the pending address by choosing the password

    flow = run(
        "reset_password",
        [
            confirm_reset(verified_link, OTHER_STRONG),
            confirm_reset(verified_link, "Second-Harbour-58"),  # used: refused
            confirm_reset(finish_signup_link, OTHER_STRONG),
            confirm_reset(migrated_link, OTHER_STRONG),
        ],
    )

    assert flow.statuses == [200, 400, 200, 200]
    assert_least_privilege("ResetPasswordFunction", flow)


def test_given_a_wrong_a_right_and_a_throttled_change_then_change_password_writes_only_what_its_policy_allows(
    customer: Any, run: Run, monkeypatch: pytest.MonkeyPatch, migrated: Any
) -> None:
    monkeypatch.setenv("ACCOUNT_ADDRESS_LIMIT", "2")

    def change(old: str, issued_at: int | None = None, caller: str = customer.customer_id) -> dict[str, Any]:
        body = {"old_password": old, "new_password1": OTHER_STRONG, "new_password2": OTHER_STRONG}
        return dict(account_event("password_change_wrong_old", body, caller=caller, issued_at=issued_at))

    # The third comes with the change's fresh access token (issued after it): an older one is refused unthrottled.
    # The fourth replaces an imported hash: one fewer in COUNTER#legacy.
    after_the_change = int(time.time()) + 2
    flow = run(
        "change_password",
        [
            change("wrong password"),
            change(PASSWORD),
            change(OTHER_STRONG, after_the_change),
            change(MIGRATED_PASSWORD, caller=migrated.customer_id),
        ],
    )

    assert flow.statuses == [400, 200, 429, 200]
    assert_least_privilege("ChangePasswordFunction", flow)


def test_given_a_read_a_put_and_a_patch_then_current_user_writes_only_what_its_policy_allows(
    customer: Any, run: Run
) -> None:
    def user(method: str, body: Any) -> dict[str, Any]:
        name = "current_user_get" if method == "GET" else "current_user_patch"
        return dict(account_event(name, body, caller=customer.customer_id, method=method))

    flow = run(
        "current_user",
        [
            user("GET", None),
            user("PUT", {"first_name": "Ada", "last_name": "Lovelace"}),
            user("PATCH", {"last_name": "B"}),
        ],
    )

    assert flow.statuses == [200, 200, 200]
    assert flow.bodies[-1]["first_name"] == "Ada"
    assert_least_privilege("CurrentUserFunction", flow)


def test_given_every_kind_of_mail_job_then_the_mailer_writes_and_sends_only_what_its_policy_allows(
    customer: Any, make_customer: Callable[..., Any], call: Call, mailbox: Mailbox, run: Run
) -> None:
    make_customer("gone@example.com", customer_id="3", is_active=False)
    _, half_expired = services.customer_store().register("pat@example.com", "argon2$old", pending_until=2_000_000_000)
    boto3.client("dynamodb", region_name=REGION).delete_item(  # as TTL would, before the email items
        TableName=TABLE_NAME, Key={"pk": {"S": "CUSTOMER#" + half_expired.customer_id}}
    )
    register(call, PENDING_EMAIL)
    first = mailbox.queued()
    for email in (PENDING_EMAIL, EMAIL, "gone@example.com", "pat@example.com"):  # pending, taken, inactive, half gone
        register(call, email)
    for event_name, email in (
        ("resend_email_ok", PENDING_EMAIL),
        ("resend_email_ok", "nobody@example.com"),
        ("password_reset_ok", EMAIL),
        ("password_reset_ok", "nobody@example.com"),
    ):
        call("request_mail", json_event(event_name, {"email": email}))

    flow = run("mailer", [{"Records": first}, {"Records": mailbox.queued()}])

    assert [answer["batchItemFailures"] for answer in flow.answers] == [[], []]
    assert sorted(mail.subject for mail in mailbox.deliver()) == [
        "Confirm your email address",  # new
        "Confirm your email address",  # pending, registered again
        "Confirm your email address",  # the half-expired address, created anew
        "Confirm your email address",  # a resend: choose the password
        "Reset your password",
        "You already have an account",  # with a reset link
        "You already have an account",  # deactivated: no link
    ]
    assert_least_privilege("MailerFunction", flow)


def test_given_sign_ins_a_take_over_a_listing_and_an_unlink_then_social_writes_only_what_its_policy_allows(
    social: None, google: Provider, run: Run, make_customer: Callable[..., Any]
) -> None:
    _, pending = services.customer_store().register(PENDING_EMAIL, "argon2$squatter", pending_until=2_000_000_000)
    make_customer(MFA_EMAIL, customer_id="33")
    enrol(call_function(run), caller="33")
    flow = run(
        "social",
        [
            sign_in_event("google", {"id_token": google.id_token("new-subject", "new@example.com")}),  # created
            sign_in_event("google", {"id_token": google.id_token("owner", PENDING_EMAIL)}),  # taken over
            sign_in_event("google", {"id_token": google.id_token("new-subject", "new@example.com")}),  # by subject
            sign_in_event("google", {"id_token": google.id_token("mfa-subject", MFA_EMAIL)}),  # the MFA challenge
        ],
    )
    [created, taken_over, again, challenged] = flow.bodies
    assert challenged["mfa_required"] is True
    new_customer = str(jwt_claims(created["access"])["user_id"])
    assert str(jwt_claims(taken_over["access"])["user_id"]) == pending.customer_id
    assert str(jwt_claims(again["access"])["user_id"]) == new_customer
    listed = run(
        "social",
        [
            account_event("social_linked_get", None, caller=new_customer, method="GET", issued_at=int(time.time()) + 1),
            account_event("social_unlink_google", None, caller=new_customer, method="DELETE"),  # the last way in
            account_event("social_unlink_google", None, caller=pending.customer_id, method="DELETE"),  # refused too
        ],
    )
    customer = services.customer_store().get(new_customer)
    assert customer is not None
    revoked_at = services.customer_store().replace_password(customer, "argon2$a-password", verify=False)
    after = int(revoked_at) + 1  # an access token from after the change (it ended the earlier sessions)
    removed = run(
        "social", [account_event("social_unlink_google", None, caller=new_customer, method="DELETE", issued_at=after)]
    )

    assert flow.statuses == [200, 200, 200, 200]
    assert listed.statuses == [200, 400, 400]
    assert removed.statuses == [204]
    all_calls = Flow(flow.table_calls | listed.table_calls | removed.table_calls, set(), [])
    assert_least_privilege("SocialFunction", all_calls)


def jwt_claims(token: str) -> dict[str, Any]:
    import jwt

    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


# Passkeys: one function, every ceremony. Registration (options, the credential, the list), a
# sign-in (the source's counter, the challenge, the credential, its owner, last_login), deletion.


def test_given_every_passkey_ceremony_then_the_passkeys_function_writes_only_what_its_policy_allows(
    customer: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.authenticator import SoftwareAuthenticator
    from tests.passkeys import ORIGIN, PASSKEY_ENVIRONMENT

    for name, value in PASSKEY_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    authenticator = SoftwareAuthenticator()

    def bearer(name: str, body: Any, method: str = "POST") -> dict[str, Any]:
        return dict(account_event(name, body, caller=customer.customer_id, method=method))

    registration = run("passkeys", [bearer("passkeys_registration_options", {})])
    credential = authenticator.create(registration.bodies[0], ORIGIN)
    enrolment = run(
        "passkeys",
        [
            bearer("passkeys_registration_malformed", {"credential": credential, "name": "Laptop"}),
            bearer("passkeys_list", None, "GET"),
            ("passkeys_login_options", {}),
        ],
    )
    assertion = authenticator.get(enrolment.bodies[2], ORIGIN)
    sign_in = run("passkeys", [("passkeys_login_malformed", {"credential": assertion})])
    deletion = bearer("passkeys_delete_unknown", None, "DELETE")
    deletion["path"], deletion["pathParameters"] = f"/auth/passkeys/{credential['id']}/", {"id": credential["id"]}
    removal = run("passkeys", [deletion])
    flows = (registration, enrolment, sign_in, removal)

    assert [flow.statuses for flow in flows] == [[200], [201, 200, 200], [200], [204]]
    assert_least_privilege(
        "PasskeysFunction",
        Flow(set().union(*(flow.table_calls for flow in flows)), set(), [a for flow in flows for a in flow.answers]),
    )
