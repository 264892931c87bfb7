"""The social capability's pure rules: the last way in, what counts as a verified email."""

from __future__ import annotations

from typing import Any

import pytest

from shared.social.identity import email_verified
from shared.social.ways_in import leaves_a_way_in_after_unlinking


@pytest.mark.parametrize(
    ("usable_passwords", "linked_providers", "allowed"),
    [
        (0, 1, False),  # the only way in
        (0, 2, True),  # another provider is left
        (1, 1, True),  # the password is left
        (1, 2, True),
    ],
)
def test_a_provider_can_be_unlinked_only_if_another_way_in_is_left(
    usable_passwords: int, linked_providers: int, allowed: bool
) -> None:
    assert (
        leaves_a_way_in_after_unlinking(usable_passwords=usable_passwords, linked_providers=linked_providers) is allowed
    )


@pytest.mark.parametrize(
    ("claim", "verified"),
    [(True, True), ("true", True), (False, False), ("false", False), (None, False), ("True", False), (1, False)],
)
def test_only_true_or_the_string_true_is_a_verified_email(claim: Any, verified: bool) -> None:
    assert email_verified(claim) is verified
