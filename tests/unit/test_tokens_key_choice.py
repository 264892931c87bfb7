"""A token verifies only with the key its header names, whichever path checks it first."""

from __future__ import annotations

import json

import jwt
import pytest

from shared.errors import TokenError
from shared.settings import Settings
from shared.tokens.keyset import Key, KeySet, parse, rotate
from shared.tokens.minting import ACCESS, TokenService
from tests.helpers import SIGNING_KEY, claims


class Fixed:
    def __init__(self, keyset: KeySet) -> None:
        self.keyset = keyset

    def get(self) -> KeySet:
        return self.keyset

    def refetch_for_unknown_kid(self) -> KeySet:
        return self.keyset


@pytest.fixture
def keyset() -> KeySet:
    """Two HMAC keys: the legacy plain key and a current one with a ``kid``."""
    return parse(rotate(SIGNING_KEY, "HS256", 86400))


def current(keyset: KeySet) -> Key:
    """The key the rotation added, active at once (no activation delay here)."""
    assert keyset.newest is not None
    return keyset.newest


def test_given_the_current_key_named_in_the_header_when_validated_then_it_is_accepted(keyset: KeySet) -> None:
    token = jwt.encode(
        claims("access"), current(keyset).signing_key, algorithm="HS256", headers={"kid": current(keyset).kid}
    )

    assert TokenService(Settings(), Fixed(keyset)).validate(token, ACCESS).token_type == "access"


@pytest.mark.parametrize("header", [{"kid": "legacy"}, {}, {"kid": "unknown"}])
def test_given_a_token_signed_by_the_current_key_naming_another_when_validated_then_it_is_invalid(
    keyset: KeySet, header: dict[str, str]
) -> None:
    token = jwt.encode(claims("access"), current(keyset).signing_key, algorithm="HS256", headers=header)
    assert json.loads(jwt.utils.base64url_decode(token.split(".")[0])).get("kid") == header.get("kid")

    with pytest.raises(TokenError, match="Token is invalid"):
        TokenService(Settings(), Fixed(keyset)).validate(token, ACCESS)


def test_given_an_older_key_named_in_the_header_when_validated_then_it_is_accepted(keyset: KeySet) -> None:
    token = jwt.encode(claims("access"), SIGNING_KEY, algorithm="HS256")

    assert TokenService(Settings(), Fixed(keyset)).validate(token, ACCESS).user_id is not None
