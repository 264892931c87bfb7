"""The social routes as API Gateway serves them from the template (tools/gateway.py reads it)."""

from __future__ import annotations

import pytest

from tools import gateway


@pytest.mark.parametrize(
    ("method", "path", "public"),
    [
        ("POST", "/auth/social/google/", True),  # the sign-in: no access token yet
        ("POST", "/auth/social/apple/", True),
        ("OPTIONS", "/auth/social/google/", True),
        ("OPTIONS", "/auth/social/", True),
        ("DELETE", "/auth/social/google/", False),
        ("GET", "/auth/social/google/", False),  # the function's 405, for a caller only
        ("GET", "/auth/social/", False),
    ],
)
def test_the_sign_in_is_public_and_the_linked_providers_are_behind_the_authorizer(
    method: str, path: str, public: bool
) -> None:
    found = gateway.load().route_for(method, path)

    assert found is not None
    route, _ = found
    assert (route.function, route.public) == ("SocialFunction", public)
