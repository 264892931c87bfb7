"""The password policy: Django's four default validators, with their messages, in their order.

``check(password, email=..., first_name=..., last_name=...)`` returns the messages
Django's ``validate_password`` would raise, in ``AUTH_PASSWORD_VALIDATORS`` order:

1. similarity (UserAttributeSimilarityValidator, ``max_similarity`` 0.7): each attribute
   and its ``\\W+``-separated parts (``margaret``, ``hamilton``, ``example``, ``com``),
   compared with ``difflib.SequenceMatcher.quick_ratio``, Django's own algorithm;
2. at least ``MINIMUM_LENGTH`` (8) characters;
3. not common: Django's list of 20,000 common passwords (Royce Williams' list, lower-cased),
   the very file ``django.contrib.auth`` ships, so "too common" here is "too common" there;
4. not entirely numeric.

Where the list comes from: Lambda bundles never carry Django (about 40 MB); `make build`
copies the one 80 KB file, ``common-passwords.txt.gz``, out of the pinned Django wheel
(constraints.txt) into the bundle's ``shared/``. Everywhere else (tests, `make local`,
authctl) Django is installed and the file is read where Django keeps it, found without
importing Django. No copy lives in the repository, so the list follows Django's releases.

Optional fifth check (``BREACHED_PASSWORD_CHECK``, off by default and locally): Have I Been
Pwned's Pwned Passwords range API with k-anonymity. Only the first five hex characters of
the password's SHA-1 leave the process; the answer lists every suffix with that prefix (with
padding, so its size says nothing) and the match is made here. An outage of that API never
blocks a customer: the check is skipped and logged.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import re
import urllib.request
from collections.abc import Callable
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path

from aws_lambda_powertools import Logger

logger = Logger(child=True)

MINIMUM_LENGTH = 8
MAX_SIMILARITY = 0.7
LIST_NAME = "common-passwords.txt.gz"
PWNED_RANGE_URL = "https://api.pwnedpasswords.com/range/"

TOO_SHORT = f"This password is too short. It must contain at least {MINIMUM_LENGTH} characters."
TOO_COMMON = "This password is too common."
ENTIRELY_NUMERIC = "This password is entirely numeric."
BREACHED = "This password has appeared in a data breach. Please choose another one."
# Django's verbose names of the customer fields it compares.
ATTRIBUTE_NAMES = (("first_name", "first name"), ("last_name", "last name"), ("email", "email address"))

# Fetches a URL's body; tests stub it, so no test ever reaches the network.
Fetch = Callable[[str, float], bytes]


def too_similar(attribute_label: str) -> str:
    return f"The password is too similar to the {attribute_label}."


class CommonPasswordListMissing(RuntimeError):
    """Neither the bundle nor an installed Django has the list: refuse to run without it."""


def common_password_list_path() -> Path:
    bundled = Path(__file__).resolve().parent / LIST_NAME
    if bundled.exists():
        return bundled
    spec = importlib.util.find_spec("django")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            installed = Path(location) / "contrib" / "auth" / LIST_NAME
            if installed.exists():
                return installed
    raise CommonPasswordListMissing(f"{LIST_NAME} is neither in shared/ nor in an installed Django")


@cache
def common_passwords() -> frozenset[str]:
    """Read once per container (about 20 ms), as Django's validator reads it once."""
    with gzip.open(common_password_list_path(), "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines)


def _fetch_url(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"Add-Padding": "true", "User-Agent": "ecommerce-auth"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - a fixed https URL
        return bytes(answer.read())


class PasswordPolicy:
    def __init__(self, breached_check: bool = False, breached_timeout: float = 2.0, fetch: Fetch = _fetch_url) -> None:
        self._breached_check = breached_check
        self._breached_timeout = breached_timeout
        self._fetch = fetch

    def check(self, password: str, *, email: str = "", first_name: str = "", last_name: str = "") -> list[str]:
        """Every message Django's validate_password raises for this customer, in order."""
        messages = self.similarity(password, email=email, first_name=first_name, last_name=last_name)
        messages += self.without_customer(password)
        return messages

    def without_customer(self, password: str) -> list[str]:
        """The checks that need no customer (allauth runs these first, at field level)."""
        messages = []
        if len(password) < MINIMUM_LENGTH:
            messages.append(TOO_SHORT)
        if password.lower().strip() in common_passwords():
            messages.append(TOO_COMMON)
        if password.isdigit():
            messages.append(ENTIRELY_NUMERIC)
        if not messages and self._breached_check and self._breached(password):
            messages.append(BREACHED)
        return messages

    @staticmethod
    def similarity(password: str, *, email: str = "", first_name: str = "", last_name: str = "") -> list[str]:
        """Django's UserAttributeSimilarityValidator: at most one message, the first attribute hit."""
        values = {"first_name": first_name, "last_name": last_name, "email": email}
        lowered = password.lower()
        for attribute, label in ATTRIBUTE_NAMES:
            value = values[attribute].lower()
            if not value:
                continue
            for part in [*re.split(r"\W+", value), value]:
                if _exceeds_maximum_length_ratio(lowered, part):
                    continue
                if SequenceMatcher(a=lowered, b=part).quick_ratio() >= MAX_SIMILARITY:
                    return [too_similar(label)]
        return []

    def _breached(self, password: str) -> bool:
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
        prefix, suffix = digest[:5], digest[5:]
        try:
            body = self._fetch(PWNED_RANGE_URL + prefix, self._breached_timeout).decode("ascii")
        except Exception as error:  # an outage of a third party never blocks a customer
            logger.warning("breached-password check skipped", extra={"error_type": type(error).__name__})
            return False
        for line in body.splitlines():
            candidate, _, count = line.strip().partition(":")
            if candidate.upper() == suffix and count.strip() not in ("", "0"):  # padding lines count 0
                return True
        return False


def _exceeds_maximum_length_ratio(password: str, value: str) -> bool:
    """Django's shortcut: a value far shorter than the password cannot reach the ratio."""
    return len(password) >= 10 * len(value) and len(value) < MAX_SIMILARITY / 2 * len(password)
