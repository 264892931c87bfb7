"""SnapStart: containers restored from one snapshot keep nothing they must not share.

The hooks run as Lambda's runtime runs them: every callable in ``snapshot_restore_py``'s
before-snapshot registry after init, every one of its after-restore registry on the restored
container, in registration order, with their registered arguments.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any, cast

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError
from snapshot_restore_py import get_after_restore, get_before_snapshot

from shared import services
from shared.aws import ContainerClient
from tests.helpers import REGION, SECRET_ID, SIGNING_KEY


def run_after_restore_hooks() -> None:
    """What the Lambda runtime does after restoring a snapshot, before the first event."""
    for function, args, kwargs in get_after_restore():
        function(*args, **kwargs)


def signing_key_of(token: str, *candidates: str) -> str:
    for key in candidates:
        try:
            jwt.decode(token, key, algorithms=["HS256"])
        except jwt.InvalidSignatureError:
            continue
        return key
    raise AssertionError("signed by none of the candidate keys")


def test_given_a_key_rotated_while_snapshotted_when_restored_then_new_tokens_carry_the_new_key(aws: None) -> None:
    tokens = services.token_service()
    before_snapshot = tokens.issue_access("1", "session")
    rotated = secrets.token_urlsafe(48)
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(SecretId=SECRET_ID, SecretString=rotated)
    still_cached = tokens.issue_access("1", "session")

    run_after_restore_hooks()
    after_restore = tokens.issue_access("1", "session")

    assert signing_key_of(before_snapshot, SIGNING_KEY, rotated) == SIGNING_KEY
    assert signing_key_of(still_cached, SIGNING_KEY, rotated) == SIGNING_KEY, "without a restore the cache holds"
    assert signing_key_of(after_restore, SIGNING_KEY, rotated) == rotated


def test_given_a_client_made_before_the_snapshot_when_restored_then_a_new_client_serves(aws: None) -> None:
    from shared.aws import dynamodb_client

    client = dynamodb_client()
    before = client.meta  # the proxy makes its client on first use
    run_after_restore_hooks()

    assert client.meta is not before
    assert client.describe_table(TableName=os.environ["TABLE_NAME"])["Table"]["TableStatus"] == "ACTIVE"


def test_given_two_containers_restored_from_one_snapshot_then_their_tokens_share_no_jti(aws: None) -> None:
    tokens = services.token_service()
    tokens.issue_pair("1")  # the snapshot: an initialised container that already minted
    minted: list[dict[str, Any]] = []
    for _container in range(2):
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:  # a restored container: the parent's memory, then the runtime's hooks
            os.close(reading)
            code = 0
            try:
                run_after_restore_hooks()
                pair = tokens.issue_pair("1")
                claims = [jwt.decode(pair[name], options={"verify_signature": False}) for name in ("access", "refresh")]
                os.write(writing, json.dumps(claims).encode())
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(writing)
        with os.fdopen(reading, "rb") as pipe:
            answer = pipe.read()
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        minted.extend(json.loads(answer))

    jtis = [claims["jti"] for claims in minted]
    families = [claims["family"] for claims in minted]  # a pair's two tokens share their session
    assert len(set(jtis)) == len(jtis) == 4
    assert len(set(families)) == 2


def run_before_snapshot_hooks() -> None:
    """What the Lambda runtime does after init, before it takes the snapshot."""
    for function, args, kwargs in get_before_snapshot():
        function(*args, **kwargs)


def test_given_a_warmed_container_when_snapshotted_then_the_snapshot_holds_no_key(aws: None) -> None:
    tokens = services.token_service()
    services.warm_up()
    run_before_snapshot_hooks()
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True
    )

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        tokens.issue_access("1", "session")


def test_given_a_restore_then_its_hooks_make_the_clients_and_read_the_key_before_the_first_request(aws: None) -> None:
    from shared.aws import dynamodb_client

    tokens = services.token_service()
    services.session_store()  # a token function's services: its DynamoDB client requested at init
    services.warm_up()
    before = dynamodb_client().meta
    run_before_snapshot_hooks()
    rotated = secrets.token_urlsafe(48)
    secrets_manager = boto3.client("secretsmanager", region_name=REGION)
    secrets_manager.put_secret_value(SecretId=SECRET_ID, SecretString=rotated)

    run_after_restore_hooks()
    secrets_manager.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)  # unreadable from now

    assert signing_key_of(tokens.issue_access("1", "session"), rotated) == rotated, "the key read by the hook"
    client = cast(ContainerClient, dynamodb_client())
    assert client.made, "the hook made the client: the first request does not"
    assert client.meta is not before
