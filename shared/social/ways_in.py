"""The last-way-in rule: a customer never removes the only way they have left to sign in."""

from __future__ import annotations


def leaves_a_way_in_after_unlinking(*, usable_passwords: int, linked_providers: int, passkeys: int) -> bool:
    """Whether removing one of ``linked_providers`` leaves the customer a way to sign in: a
    usable password, another provider, or a passkey.

    Counts, so that each new kind of way in adds its own keyword argument.
    """
    return usable_passwords + linked_providers - 1 + passkeys > 0
