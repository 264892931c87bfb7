"""Request bodies parsed and validated the way DRF's parsers and serializers do.

simplejwt's serializers use DRF ``CharField``s, so the same rules apply here, with the
same messages: required, not null, a string (numbers are coerced, booleans and objects
refused), whitespace trimmed, not blank, no NUL or surrogate characters, a maximum length.
Error bodies list the failing fields only and never echo a submitted value (it may be a
password). The body size is checked before anything is parsed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from shared.errors import ParseError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Field:
    name: str
    max_length: int | None = None


def parse_body(raw: bytes, content_type: str | None, max_bytes: int) -> Any:
    """DRF's JSONParser / FormParser negotiation; an empty body is ``{}`` like DRF's."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge()
    if not raw:
        return {}
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type == JSON_MEDIA_TYPE:
        return _parse_json(raw)
    if media_type == FORM_MEDIA_TYPE:
        return _parse_form(raw)
    raise UnsupportedMediaType((content_type or "").strip())


def validate_fields(data: Any, fields: tuple[Field, ...]) -> dict[str, str]:
    """Run each field's CharField rules; raise ValidationFailed with every failing field."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]}
        )
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field in fields:
        value, messages = char_field(data, field)
        if messages:
            errors[field.name] = messages
        else:
            values[field.name] = value
    if errors:
        raise ValidationFailed(errors)
    return values


def char_field(data: dict[str, Any], field: Field) -> tuple[str, list[str]]:
    if field.name not in data:
        return "", ["This field is required."]
    raw = data[field.name]
    if raw is None:
        return "", ["This field may not be null."]
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return "", ["Not a valid string."]
    value = str(raw).strip()
    if value == "":
        return "", ["This field may not be blank."]
    messages = []
    if field.max_length is not None and len(value) > field.max_length:
        messages.append(f"Ensure this field has no more than {field.max_length} characters.")
    if "\x00" in value:
        messages.append("Null characters are not allowed.")
    surrogate = next((char for char in value if 0xD800 <= ord(char) <= 0xDFFF), None)
    if surrogate is not None:
        messages.append(f"Surrogate characters are not allowed: U+{ord(surrogate):X}.")
    return value, messages


def _reject_constant(name: str) -> None:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def _parse_json(raw: bytes) -> Any:
    """DRF's JSONParser; nesting too deep for the decoder (``[[[...]]]`` within 64 KiB raises
    RecursionError, a 500 in DRF) is a parse error like any other malformed body."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ParseError(f"JSON parse error - {error}") from None


def _parse_form(raw: bytes) -> dict[str, str]:
    """Django's QueryDict: the last value of a repeated key wins."""
    try:
        pairs = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except ValueError:
        raise ParseError("Form body is not valid UTF-8.") from None
    return {name: values[-1] for name, values in pairs.items()}
