"""What a code is: TOTP (RFC 6238 through pyotp) and recovery codes, checked without any I/O.

- TOTP: HMAC-SHA1, ``digits`` and ``period`` of the authenticator (6 and 30 for new ones),
  steps C-1, C0 and C+1 accepted. A code is ASCII digits only (``[0-9]{digits}``, no
  full-width digits, no NFKC): one code has one spelling, so replay is decided on the time
  *step* it matches, not on its text (docs/mfa-contract.md, defect 2).
- Recovery codes: ten per enrolment, 48 random bits each, shown once as ``xxxx-xxxx-xxxx``
  (lower-case hex) and stored only as argon2id hashes. Typed in any case, with or without the
  hyphens. Codes imported from dj-rest-auth (``xxxx-xxxx``) and django-allauth (8 digits) are
  stored the same way and typed as their shop showed them.
"""

from __future__ import annotations

import hmac
import re
import secrets

import pyotp

DIGITS = 6
PERIOD = 30
WINDOW = 1  # steps either side of the current one
RECOVERY_CODE_COUNT = 10
RECOVERY_GROUPS = 3  # of 4 hex characters
# What can be a recovery code once normalised: ours, dj-rest-auth's, django-allauth's.
RECOVERY_SHAPE = re.compile(r"[0-9a-f]{12}|[0-9a-f]{8}|[0-9]{8}")
# Longer input cannot be any code: refused before any work.
MAX_CODE_LENGTH = 32


def new_secret() -> str:
    """160 random bits in base32 (pyotp's ``random_base32``: 32 characters, ``secrets``)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (dj-rest-auth's label and parameters)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer or None)


def matching_step(secret: str, code: str, now: float, digits: int = DIGITS, period: int = PERIOD) -> int | None:
    """The time step (C-1, C0 or C+1) whose code ``code`` is, or None. ASCII digits only."""
    if not re.fullmatch(f"[0-9]{{{digits}}}", code):
        return None
    totp = pyotp.TOTP(secret, digits=digits, interval=period)
    current = int(now // period)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    return ["-".join(secrets.token_hex(2) for _ in range(RECOVERY_GROUPS)) for _ in range(RECOVERY_CODE_COUNT)]


def normalised_recovery_code(code: str) -> str | None:
    """The code as it is hashed (lower case, no hyphens), or None if it cannot be one."""
    candidate = code.strip().lower().replace("-", "")
    return candidate if RECOVERY_SHAPE.fullmatch(candidate) else None
