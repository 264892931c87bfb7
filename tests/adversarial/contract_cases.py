"""Every row of the wire contracts (docs/contract.md, docs/account-contract.md) as a runnable case.

A case drives a ``Client`` (a warm ``Stack`` that records every exchange) through its row,
setup included, and names the status the row answers. The OpenAPI test checks every
recorded answer against openapi.yaml; the log-leak test runs every case with DEBUG logging
and looks for the secrets the client saw or sent. Rows marked "ours" in the contract, and
the answers that are ours only (413, 415, 429, the JWKS), are cases too.

An account case that queues mail runs the mailer over the queue before it ends (so the
mailer's log lines are the case's too), and the keys and tokens of the links that reached
the customer become the client's secrets, beside the passwords it sent and the tokens it got.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared import services
from shared.customers.record import Customer
from tests.adversarial.stack import TOKEN_FUNCTIONS, Stack
from tests.helpers import PASSWORD, HttpAnswer, claims, mint
from tests.mailbox import OTHER_STRONG, STRONG, Sent

WRONG_PASSWORD = "wrong-password-Zq7!"
JWT = re.compile(r"[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
PASSWORD_FIELDS = ("password", "password1", "password2", "old_password", "new_password1", "new_password2")
LINK_FIELDS = ("key", "token")  # a link's uid only names it: the key or token is what opens it

REGISTRATION = "/auth/registration/"
VERIFY_EMAIL = "/auth/registration/verify-email/"
RESEND = "/auth/registration/resend-email/"
RESET = "/auth/password/reset/"
RESET_CONFIRM = "/auth/password/reset/confirm/"
CHANGE = "/auth/password/change/"
USER = "/auth/user/"


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
    link_secrets: set[str] = field(default_factory=set)  # keys and tokens of mailed links, sent or received

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

    def account(self, method: str, path: str, body: Any = None, **options: Any) -> HttpAnswer:
        """An account endpoint through the gateway; the passwords, keys and tokens sent are remembered."""
        self._remember(body)
        self._remember(options.get("authorization"))
        if isinstance(body, dict):
            values = {name: value for name, value in body.items() if isinstance(value, str) and value.strip()}
            self.passwords.update(value for name, value in values.items() if name in PASSWORD_FIELDS)
            self.link_secrets.update(value for name, value in values.items() if name in LINK_FIELDS)
        return self._record(method, path, self.stack.request(method, path, body, **options))

    def mail(self) -> list[Sent]:
        """The mailer run over the queued jobs; the key or token of every link it sent is a secret."""
        delivered = self.stack.deliver_mail()
        for sent in delivered:
            if sent.link is not None:
                self.link_secrets.update(value for name, value in sent.query().items() if name in LINK_FIELDS)
        return delivered

    def one_mail(self, subject: str) -> Sent:
        delivered = self.mail()
        assert [sent.subject for sent in delivered] == [subject], [sent.subject for sent in delivered]
        return delivered[0]

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


# --- the account endpoints ---------------------------------------------------------------

CONFIRM_ADDRESS = "Confirm your email address"
ALREADY_REGISTERED = "You already have an account"
RESET_PASSWORD = "Reset your password"
Run = Callable[[Client], HttpAnswer]


def _signup(
    client: Client, email: str, password: str = STRONG, password2: str | None = None, *, source_ip: str | None = None
) -> HttpAnswer:
    body = {"email": email, "password1": password, "password2": password if password2 is None else password2}
    return client.account("POST", REGISTRATION, body, source_ip=source_ip)


def _registration_for(address: Callable[[Client], str], password: str = STRONG, password2: str | None = None) -> Run:
    return lambda client: _signup(client, address(client), password, password2)


def _registration(body: Any) -> Run:
    return lambda client: client.account("POST", REGISTRATION, body)


def _new_address(client: Client) -> str:
    return client.stack.new_address()


def _customers_address(client: Client) -> str:
    return client.customer().email


def _pending_key(client: Client, email: str | None = None) -> str:
    """A registration of a new address (or ``email``), its confirmation mail delivered: the key."""
    assert _signup(client, email or client.stack.new_address()).status == 201
    return client.one_mail(CONFIRM_ADDRESS).query()["key"]


def _pending_address(client: Client) -> str:
    """An address registered and not confirmed (its confirmation mail delivered)."""
    email = client.stack.new_address()
    _pending_key(client, email)
    return email


def _then_mail(run: Run, *subjects: str) -> Run:
    """``run``, then the mailer over what it queued: exactly the mails ``subjects``."""

    def with_mail(client: Client) -> HttpAnswer:
        answer = run(client)
        assert [sent.subject for sent in client.mail()] == list(subjects)
        return answer

    return with_mail


class Ask(Protocol):
    def __call__(self, client: Client, email: str, *, source_ip: str | None = None) -> HttpAnswer: ...


def _sixth(ask: Ask, address: Callable[[Client], str]) -> Run:
    """Five requests for one address from one source IP, the sixth answered (then the mail they
    queued delivered): the limit counts an address per source."""

    def run(client: Client) -> HttpAnswer:
        email, source_ip = address(client), client.stack.source_ip()
        for _ in range(5):
            assert ask(client, email, source_ip=source_ip).status < 300
        answer = ask(client, email, source_ip=source_ip)
        client.mail()
        return answer

    return run


def _ask(path: str) -> Ask:
    """A mail for an address (resend, reset): ``{"email": ...}`` posted to ``path``."""

    def ask(client: Client, email: str, *, source_ip: str | None = None) -> HttpAnswer:
        return client.account("POST", path, {"email": email}, source_ip=source_ip)

    return ask


def _mail_request(path: str, address: Callable[[Client], str]) -> Run:
    return lambda client: _ask(path)(client, address(client))


def _verify(key: Callable[[Client], str], password: str | None = STRONG) -> Run:
    """verify-email with the key and the password of the registration it was mailed for."""

    def run(client: Client) -> HttpAnswer:
        body = {"key": key(client)} | ({} if password is None else {"password": password})
        return client.account("POST", VERIFY_EMAIL, body)

    return run


def _used_key(client: Client) -> str:
    key = _pending_key(client)
    assert client.account("POST", VERIFY_EMAIL, {"key": key, "password": STRONG}).status == 200
    return key


def _key_after_a_wrong_password(client: Client) -> str:
    """A key refused once for a wrong password: it is not spent."""
    key = _pending_key(client)
    assert client.account("POST", VERIFY_EMAIL, {"key": key, "password": OTHER_STRONG}).status == 400
    return key


def _changed_key(client: Client) -> str:
    """The key from the mail with its last character changed."""
    key = _pending_key(client)
    return key[:-1] + ("A" if key[-1] != "A" else "B")


def _confirm(
    new1: str = STRONG, new2: str | None = None, *, uid: str | None = None, token: str | None = None, used: bool = False
) -> Run:
    """A reset confirmed with the link from the reset mail (its uid or token replaced if given;
    ``used``: confirmed once before)."""

    def run(client: Client) -> HttpAnswer:
        assert _ask(RESET)(client, client.customer().email).status == 200
        link = client.one_mail(RESET_PASSWORD).query()
        body = {
            "uid": link["uid"] if uid is None else uid,
            "token": link["token"] if token is None else token,
            "new_password1": new1,
            "new_password2": new1 if new2 is None else new2,
        }
        if used:
            assert client.account("POST", RESET_CONFIRM, body).status == 200
        return client.account("POST", RESET_CONFIRM, body)

    return run


def _signed_in(method: str, path: str, body: Any = None, *, token: bool = True, change: str | None = None) -> Run:
    """``method path`` with a new customer's access token (or no credentials at all); ``change``:
    the customer deleted, or another session changing the password, in between."""

    def run(client: Client) -> HttpAnswer:
        customer = client.customer()
        access = client.login(customer)["access"]
        if change == "deleted":
            services.customer_store().delete(customer)
        elif change == "password":
            other_session = f"Bearer {client.login(customer)['access']}"
            new = {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG}
            assert client.account("POST", CHANGE, new, authorization=other_session).status == 200
        return client.account(method, path, body, authorization=f"Bearer {access}" if token else None)

    return run


def _change(old: str = PASSWORD, new1: str = STRONG, new2: str | None = None, **options: Any) -> Run:
    body = {"old_password": old, "new_password1": new1, "new_password2": new1 if new2 is None else new2}
    return _signed_in("POST", CHANGE, body, **options)


def _sixth_change(client: Client) -> HttpAnswer:
    authorization = f"Bearer {client.login(client.customer())['access']}"
    body = {"old_password": WRONG_PASSWORD, "new_password1": STRONG, "new_password2": STRONG}
    for _ in range(5):
        assert client.account("POST", CHANGE, body, authorization=authorization).status == 400
    return client.account("POST", CHANGE, body, authorization=authorization)


def _unverified_login(password: str) -> Run:
    def run(client: Client) -> HttpAnswer:
        email = _pending_address(client)
        return client.post("obtain_token", {"email": email, "password": password}, source_ip=client.stack.source_ip())

    return run


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
    # POST /auth/registration/ (docs/account-contract.md)
    Case("registration-new-address", 201, _then_mail(_registration_for(_new_address), CONFIRM_ADDRESS)),
    Case(
        "registration-new-address-in-mixed-case",
        201,
        _then_mail(_registration_for(lambda client: client.stack.new_address().title()), CONFIRM_ADDRESS),
    ),
    Case(
        "registration-username-ignored",
        201,
        _then_mail(
            lambda client: client.account(
                "POST",
                REGISTRATION,
                {"username": "bob", "email": client.stack.new_address(), "password1": STRONG, "password2": STRONG},
            ),
            CONFIRM_ADDRESS,
        ),
    ),
    Case("registration-address-taken", 201, _then_mail(_registration_for(_customers_address), ALREADY_REGISTERED)),
    Case(
        "registration-address-pending",
        201,
        _then_mail(_registration_for(_pending_address, OTHER_STRONG), CONFIRM_ADDRESS),
    ),
    Case("registration-empty-object", 400, _registration({})),
    Case(
        "registration-invalid-email",
        400,
        _registration({"email": "not-an-email", "password1": STRONG, "password2": STRONG}),
    ),
    Case("registration-password-too-short", 400, _registration_for(_new_address, "xQ7#kp2")),
    Case("registration-password-too-common", 400, _registration_for(_new_address, "password123")),
    Case("registration-password-entirely-numeric", 400, _registration_for(_new_address, "40958371628")),
    Case(
        "registration-password-too-similar",
        400,
        _registration(
            {"email": "margaret.hamilton@example.com", "password1": "hamilton1969", "password2": "hamilton1969"}
        ),
    ),
    Case("registration-passwords-differ", 400, _registration_for(_new_address, STRONG, OTHER_STRONG)),
    Case("registration-malformed-json", 400, _registration('{"email": ')),
    Case("registration-get-not-allowed", 405, lambda client: client.account("GET", REGISTRATION)),
    Case("registration-sixth-for-one-address", 429, _sixth(_signup, _new_address)),
    # POST /auth/registration/verify-email/
    Case("verifyemail-key-from-the-mail", 200, _verify(_pending_key)),
    Case("verifyemail-the-same-key-again", 404, _verify(_used_key)),
    Case("verifyemail-garbage-key", 404, _verify(lambda client: "not-a-key")),
    Case("verifyemail-key-with-a-character-changed", 404, _verify(_changed_key)),
    Case("verifyemail-empty-object", 400, lambda client: client.account("POST", VERIFY_EMAIL, {})),
    Case("verifyemail-blank-key", 400, _verify(lambda client: "")),
    Case("verifyemail-key-without-password", 400, _verify(_pending_key, None)),
    Case("verifyemail-key-with-a-blank-password", 400, _verify(_pending_key, "")),
    Case("verifyemail-key-with-another-registrations-password", 400, _verify(_pending_key, OTHER_STRONG)),
    Case("verifyemail-key-after-a-wrong-password", 200, _verify(_key_after_a_wrong_password)),
    Case("verifyemail-get-not-allowed", 405, lambda client: client.account("GET", VERIFY_EMAIL)),
    # POST /auth/registration/resend-email/
    Case("resend-unverified-address", 200, _then_mail(_mail_request(RESEND, _pending_address), CONFIRM_ADDRESS)),
    Case("resend-verified-address", 200, _then_mail(_mail_request(RESEND, _customers_address))),
    Case("resend-unknown-address", 200, _then_mail(_mail_request(RESEND, _new_address))),
    Case("resend-invalid-email", 400, _mail_request(RESEND, lambda client: "nope")),
    Case("resend-empty-object", 400, lambda client: client.account("POST", RESEND, {})),
    Case("resend-sixth-for-one-address", 429, _sixth(_ask(RESEND), _new_address)),
    # POST /auth/password/reset/
    Case("reset-known-address", 200, _then_mail(_mail_request(RESET, _customers_address), RESET_PASSWORD)),
    Case(
        "reset-address-in-another-case",
        200,
        _then_mail(_mail_request(RESET, lambda client: client.customer().email.upper()), RESET_PASSWORD),
    ),
    Case("reset-unknown-address", 200, _then_mail(_mail_request(RESET, _new_address))),
    Case(
        "reset-inactive-address",
        200,
        _then_mail(_mail_request(RESET, lambda client: client.customer(is_active=False).email)),
    ),
    Case("reset-invalid-email", 400, _mail_request(RESET, lambda client: "nope")),
    Case("reset-empty-object", 400, lambda client: client.account("POST", RESET, {})),
    Case("reset-get-not-allowed", 405, lambda client: client.account("GET", RESET)),
    Case("reset-sixth-for-one-address", 429, _sixth(_ask(RESET), _customers_address)),
    # POST /auth/password/reset/confirm/
    Case("resetconfirm-link-from-the-mail", 200, _confirm()),
    Case("resetconfirm-the-same-link-again", 400, _confirm(used=True)),
    Case("resetconfirm-unknown-uid", 400, _confirm(uid="zz")),
    Case("resetconfirm-wrong-token", 400, _confirm(token="abc-123")),
    Case("resetconfirm-passwords-differ", 400, _confirm(STRONG, OTHER_STRONG)),
    Case("resetconfirm-weak-password", 400, _confirm("abc123")),
    Case("resetconfirm-same-as-current", 400, _confirm(PASSWORD)),
    Case("resetconfirm-empty-object", 400, lambda client: client.account("POST", RESET_CONFIRM, {})),
    Case("resetconfirm-get-not-allowed", 405, lambda client: client.account("GET", RESET_CONFIRM)),
    # POST /auth/password/change/ (behind the authorizer)
    Case("change-right-old-password", 200, _change()),
    Case("change-no-credentials", 401, _change(token=False)),
    Case("change-empty-object", 400, _signed_in("POST", CHANGE, {})),
    Case("change-wrong-old-password", 400, _change(WRONG_PASSWORD, "abc123")),
    Case("change-passwords-differ", 400, _change(PASSWORD, STRONG, OTHER_STRONG)),
    Case("change-weak-password", 400, _change(PASSWORD, "abc123")),
    Case("change-same-as-old", 400, _change(PASSWORD, PASSWORD)),
    Case("change-get-not-allowed", 405, _signed_in("GET", CHANGE)),
    Case("change-sixth-attempt", 429, _sixth_change),
    # GET / PUT / PATCH /auth/user/ (behind the authorizer)
    Case("user-get", 200, _signed_in("GET", USER)),
    Case("user-get-no-credentials", 401, _signed_in("GET", USER, token=False)),
    Case("user-patch-first-name", 200, _signed_in("PATCH", USER, {"first_name": "Alice"})),
    Case("user-patch-no-credentials", 401, _signed_in("PATCH", USER, {"first_name": "Alice"}, token=False)),
    Case("user-put-both-names", 200, _signed_in("PUT", USER, {"first_name": "Alice", "last_name": "Liddell"})),
    Case("user-put-empty-object", 200, _signed_in("PUT", USER, {})),
    Case("user-put-no-credentials", 401, _signed_in("PUT", USER, {}, token=False)),
    Case(
        "user-patch-read-only-fields",
        200,
        _signed_in(
            "PATCH",
            USER,
            {
                "email": "mallory@example.com",
                "pk": 999,
                "is_staff": True,
                "is_active": False,
                "password": WRONG_PASSWORD,
            },
        ),
    ),
    Case("user-patch-first-name-too-long", 400, _signed_in("PATCH", USER, {"first_name": "x" * 151})),
    Case("user-patch-first-name-null", 400, _signed_in("PATCH", USER, {"first_name": None})),
    Case("user-post-not-allowed", 405, _signed_in("POST", USER, {})),
    Case("user-delete-not-allowed", 405, _signed_in("DELETE", USER)),
    Case("user-customer-deleted", 401, _signed_in("GET", USER, change="deleted")),
    Case("user-access-token-from-before-a-password-change", 401, _signed_in("GET", USER, change="password")),
    # POST /auth/token/ before the address is verified
    Case("obtain-unverified-customer-right-password", 401, _unverified_login(STRONG)),
    Case("obtain-unverified-customer-wrong-password", 401, _unverified_login(WRONG_PASSWORD)),
)

# The contract's endpoints, by the prefix of their cases' ids.
ENDPOINT_PATHS = {
    "obtain": "/auth/token/",
    "refresh": "/auth/token/refresh/",
    "verify": "/auth/token/verify/",
    "blacklist": "/auth/token/blacklist/",
    "protected": "/api/v1/customers/{id}/",
    "jwks": "/.well-known/jwks.json",
    "registration": REGISTRATION,
    "verifyemail": VERIFY_EMAIL,
    "resend": RESEND,
    "reset": RESET,
    "resetconfirm": RESET_CONFIRM,
    "change": CHANGE,
    "user": USER,
}
