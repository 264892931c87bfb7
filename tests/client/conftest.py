"""One local server per test module, with access tokens that live 60 s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.server import ACCESS_TOKEN_LIFETIME, DEMO_EMAIL, DEMO_PASSWORD, LocalServer


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    started = LocalServer({"AccessTokenLifetime": str(ACCESS_TOKEN_LIFETIME)})
    started.warm_up(DEMO_EMAIL, DEMO_PASSWORD)
    yield started
    started.stop()
