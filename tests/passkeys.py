"""The passkey endpoints' test kit: their events, called through the real handler, and a software authenticator."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.authenticator import SoftwareAuthenticator
from tests.helpers import HttpAnswer, json_event
from tests.mailbox import account_event

ORIGIN = "https://shop.example"  # the storefront: STOREFRONT_URL's host is the rp id
FOREIGN_ORIGIN = "https://evil.example"
SOURCE_IP = "203.0.113.10"  # the events' source
PASSKEY_ENVIRONMENT = {"ALLOWED_ORIGINS": ORIGIN}


@dataclass
class Passkeys:
    """The passkey routes of ``functions/passkeys`` for one test, as the gateway would invoke them."""

    call: Callable[..., HttpAnswer]
    authenticator: SoftwareAuthenticator = field(default_factory=SoftwareAuthenticator)

    def registration_options(self, caller: str, **extra: Any) -> HttpAnswer:
        return self.call("passkeys", account_event("passkeys_registration_options", {}, caller=caller, **extra))

    def register(self, caller: str, body: Any, **extra: Any) -> HttpAnswer:
        return self.call("passkeys", account_event("passkeys_registration_malformed", body, caller=caller, **extra))

    def login_options(self) -> HttpAnswer:
        return self.call("passkeys", json_event("passkeys_login_options", {}))

    def login(self, body: Any, *, headers: dict[str, str] | None = None, source_ip: str = SOURCE_IP) -> HttpAnswer:
        event = json_event("passkeys_login_malformed", body)
        event["requestContext"]["identity"]["sourceIp"] = source_ip
        for name, value in (headers or {}).items():
            event["headers"][name] = value
            event["multiValueHeaders"][name] = [value]
        return self.call("passkeys", event)

    def listed(self, caller: str, **extra: Any) -> HttpAnswer:
        return self.call("passkeys", account_event("passkeys_list", None, caller=caller, method="GET", **extra))

    def delete(self, caller: str, credential_id: str, **extra: Any) -> HttpAnswer:
        event = account_event("passkeys_delete_unknown", None, caller=caller, method="DELETE", **extra)
        event["path"] = f"/auth/passkeys/{credential_id}/"
        event["pathParameters"] = {"id": credential_id}
        return self.call("passkeys", event)

    # Whole ceremonies, as the storefront runs them.

    def enrol(self, caller: str, name: str | None = None, **create: Any) -> HttpAnswer:
        options = self.registration_options(caller)
        assert options.status == 200, options.body
        credential = self.authenticator.create(options.body, create.pop("origin", ORIGIN), **create)
        body: dict[str, Any] = {"credential": credential} | ({"name": name} if name is not None else {})
        return self.register(caller, body)

    def sign_in(self, **get: Any) -> HttpAnswer:
        options = self.login_options()
        assert options.status == 200, options.body
        return self.login({"credential": self.authenticator.get(options.body, get.pop("origin", ORIGIN), **get)})


def later(seconds: float) -> Callable[[], float]:
    """A clock ``seconds`` ahead of now."""
    return lambda: time.time() + seconds
