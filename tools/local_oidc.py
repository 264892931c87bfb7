"""`make local`'s "Google": a local OpenID Connect provider from the package index (oidc-provider-mock).

It issues RS256 ID tokens from its own key and publishes that key at ``/jwks``, so the social
function checks them exactly as it checks Google's: `make local` points the template's Google
parameters at it (``GoogleClientIds``, ``GoogleIssuer``, ``GoogleJwksUrl``). Nothing leaves the
machine. Its authorization page offers the demo identities below with one click (the first one
is the demo customer's address, which it links; the second makes a new customer); an identity
typed in its "Custom user" box has no verified email, which the API refuses, as it refuses
Google's unverified addresses.

The storefront gets the ID token by the authorization-code flow (the provider's only flow),
where a deployed page gets it from Google Identity Services (README, "Sign in with Google and
Apple"): either way the page then posts ``{"id_token"}`` to ``/auth/social/google/``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import werkzeug.serving
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app

CLIENT_ID = "local-storefront.apps.googleusercontent.example"
DEMO_IDENTITIES = (
    User(sub="google-demo-customer", claims={"email": "customer@example.com", "email_verified": True}),
    User(sub="google-new-shopper", claims={"email": "new.shopper@example.com", "email_verified": True}),
)


@dataclass(frozen=True)
class GoogleParameters:
    """The template parameters that point the social function at this provider."""

    issuer: str  # as browsers reach it: the provider names itself after the Host it was asked on
    jwks_url: str
    client_id: str = CLIENT_ID

    def overrides(self) -> dict[str, str]:
        return {"GoogleClientIds": self.client_id, "GoogleIssuer": self.issuer, "GoogleJwksUrl": self.jwks_url}


class LocalGoogle:
    """The provider on 127.0.0.1:``port`` in a thread of the local server."""

    def __init__(self, port: int) -> None:
        # The provider refuses plain HTTP unless told it is a test (authlib's switch).
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines
        self._server = werkzeug.serving.make_server(
            "127.0.0.1", port, provider_app(user_claims=DEMO_IDENTITIES), threaded=True
        )
        self.parameters = GoogleParameters(f"http://localhost:{port}", f"http://127.0.0.1:{port}/jwks")
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), daemon=True)

    def start(self) -> LocalGoogle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
