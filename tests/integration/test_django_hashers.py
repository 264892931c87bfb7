"""Every hasher of Django's default PASSWORD_HASHERS since 1.10, at the defaults Django shipped:
hashes made at test time by Django's own hashers log in, become argon2id, and log in again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import argon2
import pytest

from tests.helpers import HttpAnswer
from tests.integration.test_password_migration import MIGRATED_EMAIL as EMAIL
from tests.integration.test_password_migration import MIGRATED_PASSWORD as PASSWORD
from tests.integration.test_password_migration import login, stored_hashes


def _pbkdf2(hashers: Any, iterations: int, sha1: bool = False) -> str:
    hasher = hashers.PBKDF2SHA1PasswordHasher() if sha1 else hashers.PBKDF2PasswordHasher()
    return str(hasher.encode(PASSWORD, hasher.salt(), iterations=iterations))


def _argon2(hashers: Any, kind: argon2.Type, memory: int, parallelism: int) -> str:
    """Django's Argon2PasswordHasher at one of its parameter sets; argon2i as Django up to 3.1
    made it (argon2-cffi's encoding behind "argon2", which Django's hasher still verifies)."""
    if kind is argon2.Type.ID:
        hasher = type("Argon2", (hashers.Argon2PasswordHasher,), {"memory_cost": memory, "parallelism": parallelism})()
        return str(hasher.encode(PASSWORD, hasher.salt()))
    made = "argon2" + argon2.PasswordHasher(2, memory, parallelism, type=kind).hash(PASSWORD)
    assert hashers.Argon2PasswordHasher().verify(PASSWORD, made)
    return made


def _scrypt(hashers: Any, parallelism: int) -> str:
    hasher = hashers.ScryptPasswordHasher()
    return str(hasher.encode(PASSWORD, hasher.salt(), 2**14, 8, parallelism))


def _default(name: str) -> Callable[[Any], str]:
    return lambda hashers: str(hashers.make_password(PASSWORD, hasher=name))


KINDS: dict[str, Callable[[Any], str]] = {
    "pbkdf2_sha256 10k (Django 1.4)": lambda h: _pbkdf2(h, 10_000),
    "pbkdf2_sha256 20k (1.8)": lambda h: _pbkdf2(h, 20_000),
    "pbkdf2_sha256 36k (1.11)": lambda h: _pbkdf2(h, 36_000),
    "pbkdf2_sha256 100k (2.0)": lambda h: _pbkdf2(h, 100_000),
    "pbkdf2_sha256 260k (3.1)": lambda h: _pbkdf2(h, 260_000),
    "pbkdf2_sha256 1M (5.2)": _default("pbkdf2_sha256"),
    "pbkdf2_sha1 36k": lambda h: _pbkdf2(h, 36_000, sha1=True),
    "pbkdf2_sha1 (5.2)": _default("pbkdf2_sha1"),
    "argon2i m=512 p=2 (1.10)": lambda h: _argon2(h, argon2.Type.I, 512, 2),
    "argon2i m=100MiB p=8": lambda h: _argon2(h, argon2.Type.I, 102_400, 8),
    "argon2id m=512 p=2": lambda h: _argon2(h, argon2.Type.ID, 512, 2),
    "argon2id m=100MiB p=8 (4.0)": _default("argon2"),
    "bcrypt_sha256": _default("bcrypt_sha256"),
    "bcrypt": _default("bcrypt"),
    "scrypt p=1 (4.0)": lambda h: _scrypt(h, 1),
    "scrypt p=5 (5.2)": _default("scrypt"),
}


@pytest.fixture(scope="module")
def django_hashers(django_configured: None) -> Iterator[Any]:
    """Django's hashers, BCryptPasswordHasher listed again (Django 1.10 to 3.2 listed it)."""
    from django.conf import settings
    from django.contrib.auth import hashers

    listed = list(settings.PASSWORD_HASHERS)
    settings.PASSWORD_HASHERS = [*listed, "django.contrib.auth.hashers.BCryptPasswordHasher"]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()
    yield hashers
    settings.PASSWORD_HASHERS = listed
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.mark.parametrize("kind", KINDS)
def test_given_a_hash_made_by_djangos_hasher_when_its_customer_logs_in_then_it_becomes_argon2id(
    django_hashers: Any, make_customer: Callable[..., Any], call: Callable[..., HttpAnswer], kind: str
) -> None:
    legacy = KINDS[kind](django_hashers)
    assert django_hashers.check_password(PASSWORD, legacy), "a hash Django itself accepts"
    make_customer(EMAIL, customer_id="600", password_hash=legacy)

    assert login(call, "wrong password").status == 401
    assert stored_hashes("600", EMAIL) == (legacy, legacy), "a wrong password changes nothing"
    assert login(call).status == 200

    on_customer, on_email = stored_hashes("600", EMAIL)
    assert on_customer == on_email
    assert on_customer.startswith("argon2$argon2id$v=19$")
    assert django_hashers.check_password(PASSWORD, on_customer), "Django can still verify the new hash"
    assert login(call).status == 200, "the upgraded hash verifies on the next login"


@pytest.mark.parametrize("kind", ["bcrypt_sha256", "scrypt p=5 (5.2)", "pbkdf2_sha256 10k (Django 1.4)"])
def test_given_a_legacy_hash_when_its_customer_changes_password_then_the_old_one_is_verified(
    django_hashers: Any, make_customer: Callable[..., Any], call: Callable[..., HttpAnswer], kind: str
) -> None:
    from tests.mailbox import account_event

    make_customer(EMAIL, customer_id="601", password_hash=KINDS[kind](django_hashers))
    new = "An0ther-Long-Passphrase!"

    def change(old: str) -> HttpAnswer:
        body = {"old_password": old, "new_password1": new, "new_password2": new}
        return call("change_password", account_event("password_change_wrong_old", body, caller="601"))

    assert change("wrong password").status == 400
    assert change(PASSWORD).status == 200
    assert stored_hashes("601", EMAIL)[0].startswith("argon2$argon2id$")
    assert login(call, new).status == 200
