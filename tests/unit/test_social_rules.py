"""The social capability's pure rules: the last way in, what counts as a verified email."""

from __future__ import annotations

from typing import Any

import pytest

from shared.social.identity import email_verified
from shared.social.ways_in import leaves_a_way_in_after_unlinking


@pytest.mark.parametrize(
    ("usable_passwords", "linked_providers", "passkeys", "allowed"),
    [
        (0, 1, 0, False),  # the only way in
        (0, 2, 0, True),  # another provider is left
        (1, 1, 0, True),  # the password is left
        (1, 2, 0, True),
        (0, 1, 1, True),  # a passkey is left
        (0, 1, 2, True),
    ],
)
def test_a_provider_can_be_unlinked_only_if_another_way_in_is_left(
    usable_passwords: int, linked_providers: int, passkeys: int, allowed: bool
) -> None:
    left = leaves_a_way_in_after_unlinking(
        usable_passwords=usable_passwords, linked_providers=linked_providers, passkeys=passkeys
    )

    assert left is allowed


@pytest.mark.parametrize(
    ("claim", "verified"),
    [(True, True), ("true", True), (False, False), ("false", False), (None, False), ("True", False), (1, False)],
)
def test_only_true_or_the_string_true_is_a_verified_email(claim: Any, verified: bool) -> None:
    assert email_verified(claim) is verified
