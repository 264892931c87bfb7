"""The passkey endpoints' test kit: their events, called through the real handler, and a software authenticator."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.authenticator import SoftwareAuthenticator, unb64url
from tests.helpers import REGION, TABLE_NAME, HttpAnswer, json_event
from tests.mailbox import account_event

ORIGIN = "https://shop.example"  # the storefront: STOREFRONT_URL's host is the rp id
FOREIGN_ORIGIN = "https://evil.example"
SOURCE_IP = "203.0.113.10"  # the events' source
PASSKEY_ENVIRONMENT = {"ALLOWED_ORIGINS": ORIGIN}


@dataclass(frozen=True)
class Session:
    """Whom an access token names, as the authorizer hands it over: customer, ``iat``, family."""

    caller: str
    family: str | None = None
    issued_at: int | None = None


@dataclass
class Passkeys:
    """The passkey routes of ``functions/passkeys`` for one test, as the gateway would invoke them."""

    call: Callable[..., HttpAnswer]
    authenticator: SoftwareAuthenticator = field(default_factory=SoftwareAuthenticator)

    def _bearer(self, name: str, body: Any, who: str | Session, method: str = "POST") -> dict[str, Any]:
        session = who if isinstance(who, Session) else Session(who)
        event: dict[str, Any] = account_event(
            name, body, caller=session.caller, method=method, issued_at=session.issued_at
        )
        authorizer = event["requestContext"]["authorizer"]
        if session.family is None:
            authorizer.pop("family", None)
        else:
            authorizer["family"] = session.family
        return event

    def registration_options(self, who: str | Session) -> HttpAnswer:
        return self.call("passkeys", self._bearer("passkeys_registration_options", {}, who))

    def register(self, who: str | Session, body: Any, content_type: str = "application/json") -> HttpAnswer:
        event = self._bearer("passkeys_registration_malformed", body, who)
        event["headers"]["Content-Type"] = content_type
        return self.call("passkeys", event)

    def login_options(self) -> HttpAnswer:
        return self.call("passkeys", json_event("passkeys_login_options", {}))

    def login(self, body: Any, *, headers: dict[str, str] | None = None, source_ip: str = SOURCE_IP) -> HttpAnswer:
        event = json_event("passkeys_login_malformed", body)
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        for name, value in (headers or {}).items():
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
        return self.call("passkeys", event)

    def listed(self, who: str | Session) -> HttpAnswer:
        return self.call("passkeys", self._bearer("passkeys_list", None, who, method="GET"))

    def delete(self, who: str | Session, credential_id: str) -> HttpAnswer:
        event = self._bearer("passkeys_delete_unknown", None, who, method="DELETE")
        event["path"] = f"/auth/passkeys/{credential_id}/"
        event["pathParameters"] = {"id": credential_id}
        return self.call("passkeys", event)

    # Whole ceremonies, as the storefront runs them.

    def enrol(self, who: str | Session = "1", name: str | None = None, **create: Any) -> HttpAnswer:
        options = self.registration_options(who)
        assert options.status == 200, options.body
        credential = self.authenticator.create(options.body, create.pop("origin", ORIGIN), **create)
        body: dict[str, Any] = {"credential": credential} | ({"name": name} if name is not None else {})
        return self.register(who, body)

    def sign_in(self, **get: Any) -> HttpAnswer:
        return self.login({"credential": self.assertion(**get)})

    def assertion(self, **get: Any) -> dict[str, Any]:
        """A sign-in response to fresh options (not sent)."""
        options = self.login_options()
        assert options.status == 200, options.body
        return self.authenticator.get(options.body, get.pop("origin", ORIGIN), **get)


def challenge_item(options: dict[str, Any]) -> dict[str, Any] | None:
    """The stored challenge of a ceremony's options (its key is the challenge's SHA-256)."""
    digest = hashlib.sha256(unb64url(options["publicKey"]["challenge"])).hexdigest()
    found: dict[str, Any] | None = (
        boto3.client("dynamodb", region_name=REGION)
        .get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"WEBAUTHN#{digest}"}})
        .get("Item")
    )
    return found
