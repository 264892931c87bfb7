"""The one email rule (docs/contract.md, "Emails").

- ``normalize_email``: what is stored for a new customer. Django's
  ``BaseUserManager.normalize_email``: the part after the last ``@`` in lower case, the
  local part as typed (some mail servers tell ``Jane`` from ``jane``).
- ``email_identity``: what makes two emails the same account. The whole address in lower
  case: ``Jane@Example.com`` and ``jane@example.com`` are one customer, never two; failed
  logins are counted by it, so changing the case buys no extra attempts.
- A login matches the stored email exactly, as Django's ``ModelBackend`` does, so
  migrated customers log in with the email Django had (``CustomerStore.find_login``).
"""

from __future__ import annotations


def normalize_email(email: str) -> str:
    """Django's normalize_email (an address without ``@`` is only stripped)."""
    email = email.strip()
    local, at, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}" if at else email


def email_identity(email: str) -> str:
    return email.strip().lower()
