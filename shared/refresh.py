"""POST /auth/token/refresh/ logic: a refresh token in, a new access token out."""

from __future__ import annotations

from shared.aws import unavailable_on_fault
from shared.customers import CustomerStore
from shared.errors import NoActiveAccount, TokenError
from shared.forms import Field, parse_body, validate_fields
from shared.settings import Settings
from shared.tokens import REFRESH, TokenService


class RefreshService:
    def __init__(self, settings: Settings, customers: CustomerStore, tokens: TokenService) -> None:
        self._settings = settings
        self._customers = customers
        self._tokens = tokens
        self._fields = (Field("refresh"),)

    def refresh(self, raw_body: bytes, content_type: str | None) -> dict[str, str]:
        """POST /auth/token/refresh/: simplejwt's TokenRefreshView."""
        data = parse_body(raw_body, content_type, self._settings.MAX_BODY_BYTES)
        presented = validate_fields(data, self._fields)["refresh"]
        with unavailable_on_fault(self._settings):
            token = self._tokens.validate(presented, REFRESH)
            if token.user_id is None:
                raise TokenError("Token contained no recognizable user identification")
            customer = self._customers.get(token.user_id)
            if customer is None:
                raise NoActiveAccount("no_active_account")
            if not customer.is_active:
                raise NoActiveAccount()
            return {"access": self._tokens.issue_access(customer.customer_id)}
