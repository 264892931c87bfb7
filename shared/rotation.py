"""Signing-key rotation: Secrets Manager's four-step rotation protocol, and authctl's manual one.

createSecret stages the rotated key set (shared/keyset.rotate) as AWSPENDING; setSecret
publishes its verification document to the verification secret, so every verifier can
check the new key before anyone signs with it; testSecret signs and verifies a probe with
it; finishSecret makes it AWSCURRENT, and signers pick it up within SIGNING_KEY_MAX_AGE.
Verifiers that meet the new ``kid`` earlier refetch at once (rate-limited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt

from shared.keyset import parse, rotate, verification_document
from shared.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

PENDING = "AWSPENDING"
CURRENT = "AWSCURRENT"


class KeyRotation:
    def __init__(self, client: SecretsManagerClient, settings: Settings, verification_secret_id: str | None) -> None:
        self._client = client
        self._settings = settings
        self._verification_secret_id = verification_secret_id

    def step(self, step: str, secret_id: str, token: str) -> None:
        """One step of a rotation Lambda invocation (the event's Step, SecretId, ClientRequestToken)."""
        versions = self._client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        if CURRENT in versions.get(token, []):
            return  # already finished: Secrets Manager retries steps, each must be idempotent
        if step != "createSecret" and token not in versions:
            raise ValueError("the version to rotate to is unknown to the secret")
        if step == "createSecret":
            self._create(secret_id, token)
        elif step == "setSecret":
            self._publish(self._value(secret_id, VersionId=token))
        elif step == "testSecret":
            self._test(self._value(secret_id, VersionId=token))
        elif step == "finishSecret":
            current = next(version for version, stages in versions.items() if CURRENT in stages)
            self._client.update_secret_version_stage(
                SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
            )
        else:
            raise ValueError(f"unknown rotation step {step}")

    def rotate_now(self, secret_id: str) -> str:
        """authctl rotate-keys: the same rotation in one go; answers the new current kid."""
        rotated = self._rotated(self._value(secret_id, VersionStage=CURRENT))
        self._test(rotated)
        self._publish(rotated)
        self._client.put_secret_value(SecretId=secret_id, SecretString=rotated)
        return parse(rotated, self._settings.legacy_algorithm).current.kid

    def _create(self, secret_id: str, token: str) -> None:
        try:
            self._client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
            return  # a retried createSecret: the pending version exists
        except self._client.exceptions.ResourceNotFoundException:
            pass
        rotated = self._rotated(self._value(secret_id, VersionStage=CURRENT))
        self._client.put_secret_value(
            SecretId=secret_id, ClientRequestToken=token, SecretString=rotated, VersionStages=[PENDING]
        )

    def _rotated(self, current: str) -> str:
        settings = self._settings
        return rotate(
            current, settings.ALGORITHM, settings.REFRESH_TOKEN_LIFETIME, legacy_algorithm=settings.legacy_algorithm
        )

    def _publish(self, signing_secret: str) -> None:
        if self._verification_secret_id:
            document = verification_document(signing_secret, self._settings.legacy_algorithm)
            self._client.put_secret_value(SecretId=self._verification_secret_id, SecretString=document)

    def _test(self, signing_secret: str) -> None:
        keyset = parse(signing_secret, self._settings.legacy_algorithm)
        key = keyset.current
        probe = jwt.encode({"probe": True}, key.signing_key, algorithm=key.alg, headers={"kid": key.kid})
        jwt.decode(probe, key.verifying_key, algorithms=[key.alg])

    def _value(self, secret_id: str, **version: Any) -> str:
        return str(self._client.get_secret_value(SecretId=secret_id, **version)["SecretString"])
