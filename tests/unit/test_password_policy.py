"""The password policy answers what Django's four default validators answer, message for message."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import pytest

from shared.accounts.password_policy import (
    BREACHED,
    ENTIRELY_NUMERIC,
    TOO_COMMON,
    TOO_SHORT,
    PasswordPolicy,
    common_password_list_path,
    too_similar,
)

SIMILAR_TO_EMAIL = too_similar("email address")


@pytest.mark.parametrize(
    ("password", "email", "expected"),
    [
        ("xQ7#kp2", "", [TOO_SHORT]),
        ("password123", "", [TOO_COMMON]),
        ("40958371628", "", [ENTIRELY_NUMERIC]),
        ("1234", "", [TOO_SHORT, TOO_COMMON, ENTIRELY_NUMERIC]),
        ("abc123", "", [TOO_SHORT, TOO_COMMON]),
        ("hamilton1969", "margaret.hamilton@example.com", [SIMILAR_TO_EMAIL]),
        ("example.com1", "alice@example.com", [SIMILAR_TO_EMAIL]),
        ("N3w-Passw0rd!x", "alice@example.com", []),
    ],
)
def test_given_the_contract_passwords_when_checked_then_the_contract_messages_in_order(
    password: str, email: str, expected: list[str]
) -> None:
    assert PasswordPolicy().check(password, email=email) == expected


class _Field:
    def __init__(self, verbose_name: str) -> None:
        self.verbose_name = verbose_name


class _Meta:
    names: ClassVar[dict[str, str]] = {"email": "email address", "first_name": "first name", "last_name": "last name"}

    def get_field(self, name: str) -> _Field:
        from django.core.exceptions import FieldDoesNotExist

        if name not in self.names:
            raise FieldDoesNotExist(name)
        return _Field(self.names[name])


class _DjangoUser:
    _meta = _Meta()

    def __init__(self, email: str, first_name: str, last_name: str) -> None:
        self.email, self.first_name, self.last_name = email, first_name, last_name


CASES = [
    ("alice@example.com", "Alice", "Liddell", "alice2024"),
    ("alice@example.com", "Alice", "Liddell", "liddell!!"),
    ("alice@example.com", "", "", "ALICE@EXAMPLE.COM"),
    ("margaret.hamilton@example.com", "", "", "Hamilton1969"),
    ("margaret.hamilton@example.com", "", "", "a-completely-different-one"),
    ("bob@shop.example", "Bob", "", "qwertyuiop"),
    ("bob@shop.example", "Bob", "", "12345678"),
    ("x@y.example", "", "", "x" * 40),
    ("zed@example.com", "Zed", "Shaw", "zedshaw"),
    ("zed@example.com", "", "", "   password   "),
    ("zed@example.com", "", "", "Tr0ub4dor&3"),
]


@pytest.mark.parametrize(("email", "first_name", "last_name", "password"), CASES)
def test_given_any_customer_when_checked_then_the_same_messages_as_djangos_validators(
    django_configured: None, email: str, first_name: str, last_name: str, password: str
) -> None:
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError

    validators = password_validation.get_password_validators(
        [
            {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ]
    )
    try:
        password_validation.validate_password(password, _DjangoUser(email, first_name, last_name), validators)
        django_messages: list[str] = []
    except ValidationError as error:
        django_messages = list(error.messages)

    ours = PasswordPolicy().check(password, email=email, first_name=first_name, last_name=last_name)

    assert ours == django_messages


def test_the_common_list_is_djangos_own_file_not_a_copy_in_the_repository() -> None:
    import django

    assert common_password_list_path().is_relative_to(django.__path__[0])


def _range_answer(password: str, count: int) -> bytes:
    suffix = hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()[5:]
    lines = ["0018A45C4D1DEF81644B54AB7F969B88D65:1", f"{suffix}:{count}", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0"]
    return "\r\n".join(lines).encode()


def test_given_the_breached_check_on_when_the_range_lists_the_password_then_refused() -> None:
    asked: list[str] = []

    def fetch(url: str, timeout: float) -> bytes:
        asked.append(url)
        return _range_answer("Correct-Horse-9", 42)

    messages = PasswordPolicy(breached_check=True, fetch=fetch).check("Correct-Horse-9", email="a@example.com")

    assert messages == [BREACHED]
    digest = hashlib.sha1(b"Correct-Horse-9", usedforsecurity=False).hexdigest().upper()
    assert asked == ["https://api.pwnedpasswords.com/range/" + digest[:5]], "only the 5-character prefix leaves"


def test_given_the_breached_check_when_the_suffix_is_only_padding_then_accepted() -> None:
    policy = PasswordPolicy(breached_check=True, fetch=lambda url, timeout: _range_answer("Correct-Horse-9", 0))
    assert policy.check("Correct-Horse-9", email="a@example.com") == []


def test_given_the_breached_check_when_the_api_fails_then_the_password_is_judged_without_it() -> None:
    def broken(url: str, timeout: float) -> Any:
        raise TimeoutError("no answer")

    assert PasswordPolicy(breached_check=True, fetch=broken).check("Correct-Horse-9", email="a@example.com") == []


def test_given_the_breached_check_off_when_checked_then_nothing_is_fetched() -> None:
    def fail(url: str, timeout: float) -> bytes:
        raise AssertionError("fetched with the check off")

    assert PasswordPolicy(fetch=fail).check("Correct-Horse-9", email="a@example.com") == []
