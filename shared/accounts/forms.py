"""The account endpoints' fields, validated as dj-rest-auth's DRF serializers do.

Same messages as the anchor (shared/web/forms.py's CharField rules underneath): an email field
is Django's ``EmailValidator`` (its user-part and domain patterns, ``localhost`` and IP
literals allowed, 320 characters at most), narrowed by the project's email rule
(shared/customers/emails.py): the local part in ASCII only (Django's ``[A-Z]`` under ``IGNORECASE``
also matches U+212A KELVIN SIGN and U+017F LONG S, look-alikes of ``k`` and ``s``), and an
internationalised domain only if it has an IDNA form; name fields are ``CharField(max_length=150,
allow_blank=True, required=False)``. Submitted values are never echoed.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from shared.customers.emails import ascii_domain
from shared.errors import ValidationFailed
from shared.web.forms import Field, char_field

INVALID_EMAIL = "Enter a valid email address."
NAME_MAX_LENGTH = 150
MAX_EMAIL_CHARS = 320

_UNICODE_LETTERS = "\u00a1-\uffff"
_HOSTNAME = rf"[a-z{_UNICODE_LETTERS}0-9](?:[a-z{_UNICODE_LETTERS}0-9-]{{0,61}}[a-z{_UNICODE_LETTERS}0-9])?"
_DOMAIN = rf"(?:\.(?!-)[a-z{_UNICODE_LETTERS}0-9-]{{1,63}}(?<!-))*"
_TLD = rf"\.(?!-)(?:[a-z{_UNICODE_LETTERS}-]{{2,63}}|xn--[a-z0-9]{{1,59}})(?<!-)"
_USER_PART = re.compile(
    r"(^[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*\Z"
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE | re.ASCII,
)
_DOMAIN_PART = re.compile(rf"^{_HOSTNAME}{_DOMAIN}{_TLD}\Z", re.IGNORECASE)
_LITERAL = re.compile(r"\[([A-F0-9:.]+)\]\Z", re.IGNORECASE)


def is_valid_email(value: str) -> bool:
    """Django's EmailValidator, with ASCII local parts and domains that IDNA-encode."""
    if not value or "@" not in value or len(value) > MAX_EMAIL_CHARS:
        return False
    user_part, domain_part = value.rsplit("@", 1)
    if not _USER_PART.match(user_part):
        return False
    if domain_part == "localhost":
        return True
    if _DOMAIN_PART.match(domain_part):
        try:
            return _DOMAIN_PART.match(ascii_domain(domain_part)) is not None
        except ValueError:
            return False
    literal = _LITERAL.match(domain_part)
    if literal is None:
        return False
    try:
        ipaddress.ip_address(literal[1])
    except ValueError:
        return False
    return True


Values = dict[str, str]


def collect(data: Any, fields: tuple[Field, ...], emails: tuple[str, ...] = ()) -> tuple[Values, dict[str, Any]]:
    """Each field's CharField rules (and the email rule for ``emails``): values and errors."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
        )
    values: dict[str, str] = {}
    errors: dict[str, Any] = {}
    for field in fields:
        value, messages = char_field(data, field)
        if not messages and field.name in emails and not is_valid_email(value):
            messages = [INVALID_EMAIL]
        if messages:
            errors[field.name] = messages
        else:
            values[field.name] = value
    return values, errors


def require(data: Any, fields: tuple[Field, ...], emails: tuple[str, ...] = ()) -> dict[str, str]:
    """``collect``, raising the 400 when any field failed."""
    values, errors = collect(data, fields, emails)
    if errors:
        raise ValidationFailed(errors)
    return values


def optional_names(data: Any) -> dict[str, str]:
    """first_name / last_name when present: blank allowed, null and non-strings refused."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
        )
    values: dict[str, str] = {}
    errors: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name not in data:
            continue
        raw = data[name]
        if raw is None:
            errors[name] = ["This field may not be null."]
        elif isinstance(raw, bool) or not isinstance(raw, str | int | float):
            errors[name] = ["Not a valid string."]
        elif isinstance(raw, str) and raw.strip() == "":
            values[name] = ""
        else:
            value, messages = char_field(data, Field(name, max_length=NAME_MAX_LENGTH))
            if messages:
                errors[name] = messages
            else:
                values[name] = value
    if errors:
        raise ValidationFailed(errors)
    return values
