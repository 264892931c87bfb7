"""Every row of the wire contract (docs/contract.md) as a runnable case.

A case drives a ``Client`` (a warm ``Stack`` that records every exchange) through its row,
setup included, and names the status the row answers. The OpenAPI test checks every
recorded answer against openapi.yaml; the log-leak test runs every case with DEBUG logging
and looks for the secrets the client saw or sent. Rows marked "ours" in the contract, and
the answers that are ours only (413, 415, 429, the JWKS), are cases too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared import services
from shared.customers import Customer
from tests.adversarial.stack import TOKEN_FUNCTIONS, Stack
from tests.helpers import PASSWORD, HttpAnswer, claims, mint

WRONG_PASSWORD = "wrong-password-Zq7!"
JWT = re.compile(r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


@dataclass
class Exchange:
    method: str
    path: str
    answer: HttpAnswer


@dataclass
class Client:
    """A Stack that records every request's answer and every secret it sent or received."""

    stack: Stack
    exchanges: list[Exchange] = field(default_factory=list)
    passwords: set[str] = field(default_factory=lambda: {PASSWORD, WRONG_PASSWORD})
    tokens: set[str] = field(default_factory=set)

    def post(self, function: str, body: Any, **options: Any) -> HttpAnswer:
        self._remember(body)
        answer = self.stack.post(function, body, **options)
        return self._record(options.get("method", "POST"), TOKEN_FUNCTIONS[function][1], answer)

    def protected(self, authorization: str | None, customer_id: str = "1") -> HttpAnswer:
        self._remember(authorization)
        answer = self.stack.protected(authorization, customer_id)
        return self._record("GET", f"/api/v1/customers/{customer_id}/", answer)

    def jwks(self) -> HttpAnswer:
        return self._record("GET", "/.well-known/jwks.json", self.stack.jwks())

    def customer(self, password: str = PASSWORD, *, is_active: bool = True) -> Customer:
        self.passwords.add(password)
        return self.stack.new_customer(password, is_active=is_active)

    def login(self, customer: Customer, password: str = PASSWORD) -> dict[str, str]:
        answer = self.post(
            "obtain_token", {"email": customer.email, "password": password}, source_ip=self.stack.source_ip()
        )
        assert answer.status == 200, answer.body
        return dict(answer.body)

    def _remember(self, sent: Any) -> None:
        text = sent.decode("utf-8", "replace") if isinstance(sent, bytes) else json.dumps(sent)
        self.tokens.update(JWT.findall(text))

    def _record(self, method: str, path: str, answer: HttpAnswer) -> HttpAnswer:
        self.tokens.update(JWT.findall(answer.raw_body))
        self.exchanges.append(Exchange(method, path, answer))
        return answer


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    run: Callable[[Client], HttpAnswer]

    @property
    def endpoint(self) -> str:
        return self.id.split("-", 1)[0]


def _credentials(client: Client, body: Any, **options: Any) -> HttpAnswer:
    client.customer()  # someone to log in as, or not
    return client.post("obtain_token", body, source_ip=client.stack.source_ip(), **options)


def _login_as(
    password: str, *, is_active: bool = True, email_case: Callable[[str], str] = str
) -> Callable[[Client], HttpAnswer]:
    def run(client: Client) -> HttpAnswer:
        customer = client.customer(is_active=is_active)
        body = {"email": email_case(customer.email), "password": password}
        return client.post("obtain_token", body, source_ip=client.stack.source_ip())

    return run


def _form_login(client: Client) -> HttpAnswer:
    customer = client.customer()
    body = f"email={customer.email.replace('@', '%40')}&password={PASSWORD.replace('!', '%21')}"
    return client.post(
        "obtain_token", body, content_type="application/x-www-form-urlencoded", source_ip=client.stack.source_ip()
    )


def _locked(client: Client) -> HttpAnswer:
    customer, source_ip = client.customer(), client.stack.source_ip()
    for _ in range(5):
        client.post("obtain_token", {"email": customer.email, "password": WRONG_PASSWORD}, source_ip=source_ip)
    return client.post("obtain_token", {"email": customer.email, "password": PASSWORD}, source_ip=source_ip)


Token = Callable[[Client, Customer], str]


def _session(function: str, field_name: str, token: Token) -> Callable[[Client], HttpAnswer]:
    def run(client: Client) -> HttpAnswer:
        return client.post(function, {field_name: token(client, client.customer())})

    return run


def _protected(header: Callable[[Client, Customer], str | None]) -> Callable[[Client], HttpAnswer]:
    def run(client: Client) -> HttpAnswer:
        customer = client.customer()
        return client.protected(header(client, customer), customer.customer_id)

    return run


def _bearer(token: Token) -> Callable[[Client, Customer], str]:
    return lambda client, customer: f"Bearer {token(client, customer)}"


def _header(value: str | None) -> Callable[[Client, Customer], str | None]:
    return lambda client, customer: value


def _issued(kind: str) -> Token:
    return lambda client, customer: client.login(customer)[kind]


def _minted(kind: str = "refresh", **changes: Any) -> Token:
    return lambda client, customer: mint(claims(kind, **{"user_id": customer.customer_id, **changes}))


def _tampered(kind: str) -> Token:
    def make(client: Client, customer: Customer) -> str:
        header, payload, signature = mint(claims(kind, user_id=customer.customer_id)).split(".")
        forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
        forged["user_id"] = "1"
        forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
        return f"{header}.{forged_payload}.{signature}"

    return make


def _alg_none(kind: str) -> Token:
    def make(client: Client, customer: Customer) -> str:
        def segment(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

        return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims(kind, user_id=customer.customer_id))}."

    return make


def _expired(kind: str) -> Token:
    return _minted(kind, exp=1_700_000_000, iat=1_699_990_000)


def _then(change: str, token: Token) -> Token:
    """``token``, then the customer deactivated or deleted."""

    def make(client: Client, customer: Customer) -> str:
        value = token(client, customer)
        store = services.customer_store()
        if change == "inactive":
            store.set_active(customer, False)
        else:
            store.delete(customer)
        return value

    return make


def _logged_out(client: Client, customer: Customer) -> str:
    refresh = client.login(customer)["refresh"]
    assert client.post("blacklist_token", {"refresh": refresh}).status == 200
    return refresh


def _rotated_away(client: Client, customer: Customer) -> str:
    refresh = client.login(customer)["refresh"]
    assert client.post("refresh_token", {"refresh": refresh}).status == 200
    return refresh


def _other_customers_profile(client: Client) -> HttpAnswer:
    return client.protected(f"Bearer {client.login(client.customer())['access']}", "1")


CASES: tuple[Case, ...] = (
    # POST /auth/token/
    Case("obtain-empty-object", 400, lambda client: _credentials(client, {})),
    Case("obtain-email-only", 400, lambda client: _credentials(client, {"email": "customer@example.com"})),
    Case("obtain-password-only", 400, lambda client: _credentials(client, {"password": PASSWORD})),
    Case("obtain-both-blank", 400, lambda client: _credentials(client, {"email": "", "password": "  "})),
    Case("obtain-email-null", 400, lambda client: _credentials(client, {"email": None, "password": PASSWORD})),
    Case(
        "obtain-email-an-object", 400, lambda client: _credentials(client, {"email": {"$ne": ""}, "password": PASSWORD})
    ),
    Case(
        "obtain-malformed-json",
        400,
        lambda client: _credentials(client, '{"email": "customer@example.com", "password": '),
    ),
    Case("obtain-get-not-allowed", 405, lambda client: _credentials(client, None, method="GET")),
    Case("obtain-wrong-password", 401, _login_as(WRONG_PASSWORD)),
    Case(
        "obtain-unknown-email",
        401,
        lambda client: _credentials(client, {"email": "nobody@example.com", "password": PASSWORD}),
    ),
    Case("obtain-email-in-another-case", 401, _login_as(PASSWORD, email_case=str.upper)),
    Case("obtain-inactive-customer-right-password", 401, _login_as(PASSWORD, is_active=False)),
    Case("obtain-form-encoded-credentials", 200, _form_login),
    Case("obtain-json-credentials", 200, _login_as(PASSWORD)),
    Case(
        "obtain-password-over-4096-characters",
        400,
        lambda client: _credentials(client, {"email": "a@example.com", "password": "x" * 4097}),
    ),
    Case(
        "obtain-body-over-64-kib",
        413,
        lambda client: _credentials(client, {"email": "a@example.com", "password": "x" * 70_000}),
    ),
    Case(
        "obtain-unsupported-media-type", 415, lambda client: _credentials(client, "email=a", content_type="text/plain")
    ),
    Case("obtain-locked-account-right-password", 429, _locked),
    # POST /auth/token/refresh/
    Case("refresh-valid-token", 200, _session("refresh_token", "refresh", _issued("refresh"))),
    Case("refresh-empty-object", 400, lambda client: client.post("refresh_token", {})),
    Case("refresh-blank", 400, lambda client: client.post("refresh_token", {"refresh": ""})),
    Case("refresh-garbage", 401, lambda client: client.post("refresh_token", {"refresh": "not-a-jwt"})),
    Case("refresh-tampered-signature", 401, _session("refresh_token", "refresh", _tampered("refresh"))),
    Case("refresh-alg-none", 401, _session("refresh_token", "refresh", _alg_none("refresh"))),
    Case("refresh-an-access-token", 401, _session("refresh_token", "refresh", _issued("access"))),
    Case("refresh-expired", 401, _session("refresh_token", "refresh", _expired("refresh"))),
    Case("refresh-no-jti", 401, _session("refresh_token", "refresh", _minted(jti=None))),
    Case("refresh-no-token-type", 401, _session("refresh_token", "refresh", _minted(token_type=None))),
    Case("refresh-no-exp", 401, _session("refresh_token", "refresh", _minted(exp=None))),
    Case("refresh-customer-inactive", 401, _session("refresh_token", "refresh", _then("inactive", _minted()))),
    Case("refresh-customer-deleted", 401, _session("refresh_token", "refresh", _then("deleted", _minted()))),
    Case("refresh-blacklisted", 401, _session("refresh_token", "refresh", _logged_out)),
    Case("refresh-reused-after-rotation", 401, _session("refresh_token", "refresh", _rotated_away)),
    # POST /auth/token/verify/
    Case("verify-empty-object", 400, lambda client: client.post("verify_token", {})),
    Case("verify-valid-access-token", 200, _session("verify_token", "token", _issued("access"))),
    Case("verify-valid-refresh-token", 200, _session("verify_token", "token", _issued("refresh"))),
    Case("verify-invalid", 401, lambda client: client.post("verify_token", {"token": "garbage"})),
    Case("verify-expired", 401, _session("verify_token", "token", _expired("access"))),
    Case("verify-blacklisted-refresh", 400, _session("verify_token", "token", _logged_out)),
    # POST /auth/token/blacklist/
    Case("blacklist-empty-object", 400, lambda client: client.post("blacklist_token", {})),
    Case("blacklist-valid-refresh", 200, _session("blacklist_token", "refresh", _issued("refresh"))),
    Case("blacklist-an-access-token", 401, _session("blacklist_token", "refresh", _issued("access"))),
    Case("blacklist-the-same-refresh-again", 401, _session("blacklist_token", "refresh", _logged_out)),
    # A protected route
    Case("protected-no-header", 401, _protected(_header(None))),
    Case("protected-empty-header", 401, _protected(_header(""))),
    Case("protected-token-scheme", 401, _protected(_header("Token abc.def.ghi"))),
    Case("protected-lower-case-bearer", 401, _protected(_header("bearer abc.def.ghi"))),
    Case("protected-bearer-alone", 401, _protected(_header("Bearer"))),
    Case("protected-bearer-with-two-values", 401, _protected(_header("Bearer a b"))),
    Case("protected-garbage", 401, _protected(_header("Bearer garbage"))),
    Case("protected-tampered", 401, _protected(_bearer(_tampered("access")))),
    Case("protected-alg-none", 401, _protected(_bearer(_alg_none("access")))),
    Case("protected-refresh-token", 401, _protected(_bearer(_issued("refresh")))),
    Case("protected-expired-access", 401, _protected(_bearer(_expired("access")))),
    Case("protected-no-user-id", 401, _protected(_bearer(_minted("access", user_id=None)))),
    Case("protected-customer-deleted", 401, _protected(_bearer(_then("deleted", _issued("access"))))),
    Case("protected-customer-inactive", 401, _protected(_bearer(_then("inactive", _issued("access"))))),
    Case("protected-valid-access", 200, _protected(_bearer(_issued("access")))),
    Case("protected-another-customers-profile", 403, _other_customers_profile),
    # GET /.well-known/jwks.json (ours)
    Case("jwks-public-keys", 200, lambda client: client.jwks()),
)

# The contract's endpoints, by the prefix of their cases' ids.
ENDPOINT_PATHS = {
    "obtain": "/auth/token/",
    "refresh": "/auth/token/refresh/",
    "verify": "/auth/token/verify/",
    "blacklist": "/auth/token/blacklist/",
    "protected": "/api/v1/customers/{id}/",
    "jwks": "/.well-known/jwks.json",
}
