"""The account pages' server, shared by the browser tests of sign-up, reset and resend: one
`make local` for the session (each test uses its own address), its mail filed in one folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import Shop, shop


@pytest.fixture(scope="session")
def mail_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def accounts_shop(mail_folder: Path) -> Iterator[Shop]:
    # No authorizer cache: the other session's next request meets the revocation at once.
    with shop("AuthorizerCacheSeconds=0", mail=mail_folder) as running:
        yield running
