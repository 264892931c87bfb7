"""The one email rule (docs/contract.md, "Emails"; docs/account-contract.md).

- ``normalize_email``: what is stored (and mailed) for a new customer. Django's
  ``BaseUserManager.normalize_email`` (the local part as typed: some mail servers tell
  ``Jane`` from ``jane``; the domain in lower case), with an internationalised domain
  stored as its IDNA 2008 A-label (``uni@exämple.com`` becomes ``uni@xn--exmple-cua.com``):
  the form a ``To:`` header and SES need, and the one DNS resolves. A domain that does not
  encode is no address (``ValueError``). The form's check (shared/accounts/forms.py) accepts
  ASCII local parts only, so no look-alike (U+212A KELVIN SIGN for ``K``) can be registered.
- ``email_identity``: what makes two emails the same account. The whole address with its
  ASCII letters in lower case, and nothing else folded: ``Jane@Example.com`` and
  ``jane@example.com`` are one customer, never two, but ``\u212aate@example.net`` (an
  address Django may hold, imported as it was) is not ``kate@example.net``. Failed logins
  and request limits are counted by it, so changing the case buys no extra attempts.
- A login matches the stored email exactly, as Django's ``ModelBackend`` does, so
  migrated customers log in with the email Django had (``CustomerStore.find_login``), and
  any other string, Unicode or not, is an unknown email (simplejwt's 401).
"""

from __future__ import annotations

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def normalize_email(email: str) -> str:
    """Django's normalize_email, the domain as an A-label (an address without ``@`` is only stripped)."""
    email = email.strip()
    local, at, domain = email.rpartition("@")
    return f"{local}@{ascii_domain(domain)}" if at else email


def ascii_domain(domain: str) -> str:
    """The domain in lower case, IDNA-encoded when it is not ASCII; ``ValueError`` if it cannot be."""
    if domain.isascii():
        return domain.lower()
    import idna  # only for internationalised domains: most requests never pay its 10 ms import

    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except UnicodeError as error:  # idna.IDNAError is one
        raise ValueError("the domain has no IDNA form") from error


def email_identity(email: str) -> str:
    return email.strip().translate(_ASCII_LOWER)
