"""Python client for the ecommerce-auth API (simplejwt-compatible JWT login).

    from ecommerce_auth_client import APIClient

    client = APIClient("https://api.example.com")
    client.login("customer@example.com", "SecurePass123!")
    profile = client.get("/api/v1/customers/1/").json()

Requests carry ``Authorization: Bearer``; the access token is refreshed before it expires
(read from its ``exp``) and once after a 401; rotated refresh tokens are stored; threads
sharing a client trigger one refresh at a time. AuthenticationError means "log in again".
"""

from ecommerce_auth_client.client import APIClient
from ecommerce_auth_client.errors import AuthClientError, AuthenticationError, AuthServiceError
from ecommerce_auth_client.storage import FileTokenStore, MemoryTokenStore, TokenStore
from ecommerce_auth_client.tokens import DEFAULT_REFRESH_MARGIN, Tokens

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "APIClient",
    "AuthClientError",
    "AuthServiceError",
    "AuthenticationError",
    "FileTokenStore",
    "MemoryTokenStore",
    "TokenStore",
    "Tokens",
]
