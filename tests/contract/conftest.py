"""Fixtures of the session contract tests: the token functions called with JSON bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import EMAIL, PASSWORD, HttpAnswer, json_event

BLACKLISTED = {"detail": "Token is blacklisted", "code": "token_not_valid"}
Post = Callable[..., HttpAnswer]


@pytest.fixture
def rotating(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployed defaults (template.yaml): rotation with the old token retired."""
    monkeypatch.setenv("ROTATE_REFRESH_TOKENS", "true")
    monkeypatch.setenv("BLACKLIST_AFTER_ROTATION", "true")


@pytest.fixture
def post(call: Callable[..., HttpAnswer], customer: Any) -> Post:
    """POST a JSON body to one of the token functions."""
    events = {
        "refresh_token": "refresh_token_ok",
        "verify_token": "refresh_token_ok",
        "blacklist_token": "refresh_token_ok",
    }
    paths = {"verify_token": "/auth/token/verify/", "blacklist_token": "/auth/token/blacklist/"}

    def send(function: str, body: Any) -> HttpAnswer:
        event = json_event(events.get(function, "obtain_token_ok"), body)
        if function in paths:
            event["path"] = paths[function]
        return call(function, event)

    return send


def login(post: Post) -> dict[str, str]:
    answer = post("obtain_token", {"email": EMAIL, "password": PASSWORD})
    assert answer.status == 200
    return dict(answer.body)
