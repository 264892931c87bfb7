"""Passkeys (WebAuthn): registration, usernameless sign-in, the customer's list; their items and challenges."""
