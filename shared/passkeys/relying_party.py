"""The WebAuthn checks themselves, with py_webauthn: options out, responses verified.

Imported only by the requests that need it (the options and the two verifications): the
library and what it loads (cbor2, pyOpenSSL, pyasn1, the attestation formats) cost about
185 ms of import, which listing or deleting passkeys never pays.

The library parses what the browser sent (base64url, JSON, CBOR, COSE keys, ASN.1 in
attestation statements): it is all the client's, so any exception it raises means a
response this relying party cannot accept, answered as such (never a 500). It does no I/O,
so no fault of ours can surface there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import options_to_json_dict, parse_client_data_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.parse_authentication_credential_json import parse_authentication_credential_json
from webauthn.helpers.parse_registration_credential_json import parse_registration_credential_json
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from shared.passkeys.store import BASE64URL

# ES256 and RS256: what every platform authenticator and security key offers.
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]


class ResponseRefused(Exception):
    """The browser's response is malformed, or fails a WebAuthn check (the reason is logged)."""


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: bytes
    sign_count: int


@dataclass(frozen=True)
class Assertion:
    """A parsed sign-in response, before any check: which credential and challenge it names."""

    parsed: AuthenticationCredential
    challenge: bytes

    @property
    def credential_id(self) -> str:
        return str(self.parsed.id)

    @property
    def user_handle(self) -> bytes | None:
        return self.parsed.response.user_handle


@dataclass(frozen=True)
class Attestation:
    """A parsed registration response, before any check."""

    parsed: RegistrationCredential
    challenge: bytes


class RelyingParty:
    def __init__(self, rp_id: str, origins: list[str], timeout_seconds: int) -> None:
        self._rp_id = rp_id
        self._origins = origins
        self._timeout_ms = timeout_seconds * 1000

    def creation_options(
        self, challenge: bytes, user_handle: bytes, user_name: str, display_name: str, registered: list[str]
    ) -> dict[str, Any]:
        """Options for ``navigator.credentials.create``: a discoverable credential, user
        verification required, ES256 or RS256, none of the customer's own authenticators again."""
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=self._rp_id,
            user_id=user_handle,
            user_name=user_name,
            user_display_name=display_name,
            challenge=challenge,
            timeout=self._timeout_ms,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(credential)) for credential in registered
            ],
            supported_pub_key_algs=ALGORITHMS,
        )
        return options_to_json_dict(options)

    def request_options(self, challenge: bytes) -> dict[str, Any]:
        """Options for ``navigator.credentials.get``: any discoverable credential (no
        ``allowCredentials``: the customer names no account), user verification required."""
        options = generate_authentication_options(
            rp_id=self._rp_id,
            challenge=challenge,
            timeout=self._timeout_ms,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options_to_json_dict(options)

    def verify_registration(self, attestation: Attestation) -> NewCredential:
        with _refused_on_error():
            verified = verify_registration_response(
                credential=attestation.parsed,
                supported_pub_key_algs=ALGORITHMS,
                **self._expected(attestation.challenge),
            )
        return NewCredential(attestation.parsed.id, verified.credential_public_key, verified.sign_count)

    def verify_assertion(self, assertion: Assertion, public_key: bytes, sign_count: int) -> int:
        """The authenticator's new sign count, once every check passed (a count not above the
        stored one is refused, unless both are 0: authenticators that keep no count)."""
        with _refused_on_error():
            verified = verify_authentication_response(
                credential=assertion.parsed,
                credential_public_key=public_key,
                credential_current_sign_count=sign_count,
                **self._expected(assertion.challenge),
            )
        return int(verified.new_sign_count)

    def _expected(self, challenge: bytes) -> dict[str, Any]:
        """What both ceremonies check alike: the challenge, this rp id, an allowed origin, user verification."""
        return {
            "expected_challenge": challenge,
            "expected_rp_id": self._rp_id,
            "expected_origin": self._origins,
            "require_user_verification": True,
        }


def parse_attestation(credential: dict[str, Any]) -> Attestation:
    """The registration response as ``PublicKeyCredential.toJSON()`` gives it, and its challenge."""
    with _refused_on_error():
        parsed = parse_registration_credential_json(credential)
        return Attestation(parsed, _challenge(parsed.response.client_data_json, parsed.id))


def parse_assertion(credential: dict[str, Any]) -> Assertion:
    """The sign-in response as ``PublicKeyCredential.toJSON()`` gives it, and its challenge."""
    with _refused_on_error():
        parsed = parse_authentication_credential_json(credential)
        return Assertion(parsed, _challenge(parsed.response.client_data_json, parsed.id))


def _challenge(client_data_json: bytes, credential_id: str) -> bytes:
    if not (credential_id and set(credential_id) <= BASE64URL):
        raise ValueError("the credential id is not base64url")
    return bytes(parse_client_data_json(client_data_json).challenge)


@contextmanager
def _refused_on_error() -> Iterator[None]:
    """Any exception while reading or checking the client's bytes is a ResponseRefused (see the
    module's docstring), its reason the library's words (no key, no secret) for the log."""
    try:
        yield
    except Exception as error:
        raise ResponseRefused(f"{type(error).__name__}: {error}"[:300]) from None
