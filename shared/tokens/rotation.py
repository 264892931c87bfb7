"""Signing-key rotation: Secrets Manager's four-step rotation protocol, and authctl's manual one.

createSecret stages the rotated key set (shared/keyset.rotate) as AWSPENDING: a new key
that activates ``KEY_ACTIVATION_DELAY`` seconds later. setSecret publishes its verification
document (public keys) to the verification secret; testSecret signs and verifies a probe
with the new key; finishSecret makes the set AWSCURRENT. Verifiers accept the new key as
soon as their caches bring it; signers only use it from its activation time, by which
every verifier's cache has it (settings.key_publish_ahead_floor).

Every step acts only on a version staged AWSPENDING, and finishSecret refuses when the
current version gained a key since createSecret (a manual rotation in between): promoting
the pending set would drop a key that tokens already carry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jwt

from shared.settings import Settings
from shared.tokens.keyset import Key, KeySetError, parse, rotate, verification_document

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

PENDING = "AWSPENDING"
CURRENT = "AWSCURRENT"


class RotationConflict(RuntimeError):
    """Another rotation is under way or changed the secret: acting now could drop a live key."""


class KeyRotation:
    def __init__(
        self,
        client: SecretsManagerClient,
        settings: Settings,
        verification_secret_id: str | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings.check_key_activation_delay()
        self._client = client
        self._settings = settings
        self._verification_secret_id = verification_secret_id
        self._clock = clock

    def step(self, step: str, secret_id: str, token: str) -> None:
        """One step of a rotation Lambda invocation (the event's Step, SecretId, ClientRequestToken)."""
        versions = self._client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        stages = versions.get(token, [])
        if CURRENT in stages:
            return  # already finished: Secrets Manager retries steps, each must be idempotent
        if PENDING not in stages and (step != "createSecret" or token in versions):
            raise ValueError("the version to rotate to is not staged AWSPENDING")
        if step == "createSecret":
            self._create(secret_id, token)
        elif step == "setSecret":
            self._publish(self._value(secret_id, VersionId=token))
        elif step == "testSecret":
            self._test(self._value(secret_id, VersionId=token))
        elif step == "finishSecret":
            current = next(version for version, stages in versions.items() if CURRENT in stages)
            self._check_keeps_live_keys(secret_id, current, token)
            self._check_still_ahead(secret_id, token)
            self._client.update_secret_version_stage(
                SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token, RemoveFromVersionId=current
            )
        else:
            raise ValueError(f"unknown rotation step {step}")

    def rotate_now(self, secret_id: str, activation_delay: int | None = None) -> Key:
        """authctl rotate-keys: the same rotation in one go; answers the new key.

        Refused while a scheduled rotation is under way: its pending set was derived from
        the current one, and finishing it after this would drop the key added here.
        """
        versions = self._client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
        if any(PENDING in stages and CURRENT not in stages for stages in versions.values()):
            raise RotationConflict(
                "a scheduled rotation is under way (a version is staged AWSPENDING); run this again after it"
            )
        rotated = self._rotated(self._value(secret_id, VersionStage=CURRENT), activation_delay)
        self._test(rotated)
        self._publish(rotated)
        self._client.put_secret_value(SecretId=secret_id, SecretString=rotated)
        return self._newest(rotated)

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

    def _rotated(self, current: str, activation_delay: int | None = None) -> str:
        settings = self._settings
        return rotate(
            current,
            settings.ALGORITHM,
            settings.key_retention,
            now=self._clock(),
            legacy_algorithm=settings.legacy_algorithm,
            activation_delay=settings.KEY_ACTIVATION_DELAY if activation_delay is None else activation_delay,
        )

    def _check_keeps_live_keys(self, secret_id: str, current: str, token: str) -> None:
        """Every key of the current set that a valid token may carry must be in the pending one.

        If not, the stale pending version loses its stage, so the next rotation starts afresh.
        """
        legacy_algorithm = self._settings.legacy_algorithm
        pending_kids = parse(self._value(secret_id, VersionId=token), legacy_algorithm).keys
        now, retention = self._clock(), self._settings.key_retention
        for kid, key in parse(self._value(secret_id, VersionId=current), legacy_algorithm).keys.items():
            live = key.retired_at is None or now - key.retired_at <= retention
            if live and kid not in pending_kids:
                self._client.update_secret_version_stage(
                    SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token
                )
                raise RotationConflict(
                    "the signing secret changed since this rotation began (a manual rotation?); "
                    "finishing it would drop a key tokens carry: rotate again"
                )

    def _check_still_ahead(self, secret_id: str, token: str) -> None:
        """The new key must still activate a full verifier cache period after it becomes current.

        HMAC verifiers read the signing secret, so for them finishSecret is the publication. A
        rotation finished late (a step retried hours after createSecret) would otherwise sign
        at once with a key they have not seen; it is refused and unstaged, the next one starts afresh.
        """
        newest = self._newest(self._value(secret_id, VersionId=token))
        signs_at_once = newest.activates_at == newest.created_at  # the first asymmetric key, by design
        if not signs_at_once and newest.activates_at - self._clock() < self._settings.key_publish_ahead_floor:
            self._client.update_secret_version_stage(
                SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token
            )
            raise RotationConflict(
                "this rotation began too long ago: its key would sign before every verifier has it; rotate again"
            )

    def _publish(self, signing_secret: str) -> None:
        if self._verification_secret_id:
            document = verification_document(signing_secret, self._settings.legacy_algorithm)
            self._client.put_secret_value(SecretId=self._verification_secret_id, SecretString=document)

    def _newest(self, signing_secret: str) -> Key:
        key = parse(signing_secret, self._settings.legacy_algorithm).newest
        if key is None:
            raise KeySetError("the rotated key set names no newest key")
        return key

    def _test(self, signing_secret: str) -> None:
        key = self._newest(signing_secret)
        probe = jwt.encode({"probe": True}, key.signing_key, algorithm=key.alg, headers={"kid": key.kid})
        jwt.decode(probe, key.verifying_key, algorithms=[key.alg])

    def _value(self, secret_id: str, **version: Any) -> str:
        return str(self._client.get_secret_value(SecretId=secret_id, **version)["SecretString"])
