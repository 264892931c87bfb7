"""This service as an OIDC issuer of access tokens: its ``iss``, its audiences, its discovery document.

With an asymmetric ``ALGORITHM`` the stack is an issuer other services trust without a
secret: tokens carry ``iss`` (``ISSUER``) and ``aud`` (``AUDIENCE``), and
``<issuer>/.well-known/openid-configuration`` names the key set. Refresh tokens are
addressed to the issuer itself (``aud`` = the issuer): they are only ever presented back
here, and a verifier that checks only ``iss``, ``aud`` and the signature, as API Gateway's
JWT authorizers do, refuses them. HMAC stacks keep simplejwt's tokens exactly.

A function cannot name its own API in the template (the API names the functions: a
circular dependency), so the default issuer, the stage's execute-api URL, reaches the
functions as ``ISSUER`` with an ``{api_id}`` placeholder that each function fills in from
the API Gateway event that invokes it (``bind_api``, called by every HTTP handler's resolver in
shared/web/http.py and by the authorizer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.settings import Settings

API_ID_PLACEHOLDER = "{api_id}"
# API Gateway's ids are 10 lowercase alphanumerics; `make local` names its API "local".
API_ID = re.compile(r"[a-z0-9]{1,32}")
DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/.well-known/jwks.json"


class IssuerUnknown(RuntimeError):
    """ISSUER names the invoking API, and no API Gateway event has said which one yet."""


class Issuer:
    """The container's ``iss``: ``ISSUER`` as configured, its ``{api_id}`` filled in by ``bind_api``."""

    def __init__(self, configured: str | None) -> None:
        self._configured = configured
        # ISSUER has the placeholder: each event's API id must be bound (``bind_api``).
        self.names_the_api = configured is not None and API_ID_PLACEHOLDER in configured
        self._value = None if configured is None or API_ID_PLACEHOLDER in configured else configured

    def bind_api(self, api_id: object) -> None:
        """Called with the API Gateway event's API id: no-op unless ISSUER has the placeholder."""
        if self._configured is None or API_ID_PLACEHOLDER not in self._configured:
            return
        if isinstance(api_id, str) and API_ID.fullmatch(api_id):
            self._value = self._configured.replace(API_ID_PLACEHOLDER, api_id)

    @property
    def value(self) -> str | None:
        """The issuer, or None when tokens carry no ``iss``."""
        if self._configured is not None and self._value is None:
            raise IssuerUnknown("ISSUER names the invoking API, and no API Gateway event named it")
        return self._value


def api_id_of(event: Mapping[str, Any]) -> object:
    """The API id of a REST proxy event (``requestContext.apiId``) or a TOKEN authorizer event
    (``methodArn``: ``arn:aws:execute-api:<region>:<account>:<api id>/<stage>/...``)."""
    context = event.get("requestContext")
    if isinstance(context, dict) and "apiId" in context:
        return context["apiId"]
    method_arn = event.get("methodArn")
    if isinstance(method_arn, str) and method_arn.count(":") >= 5:
        return method_arn.split(":", 5)[5].split("/", 1)[0]
    return None


def discovery_document(issuer: str, algorithms: list[str], settings: Settings) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 metadata for an issuer of access tokens only.

    No authorization or token endpoint in OAuth's sense exists (login is simplejwt's JSON
    ``POST /auth/token/``), so none is named; the fields verifiers read are all here.
    """
    return {
        "issuer": issuer,
        "jwks_uri": issuer.rstrip("/") + JWKS_PATH,
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algorithms,
        "claims_supported": [
            "iss",
            "aud",
            "exp",
            "iat",
            settings.JTI_CLAIM,
            settings.TOKEN_TYPE_CLAIM,
            settings.USER_ID_CLAIM,
        ],
    }
