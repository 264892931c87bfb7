"""verify and blacklist (logout) rows of the contract, rotation with reuse detection, revocation."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest

from shared import services
from shared.errors import ApiError
from tests.contract.conftest import BLACKLISTED, Post, login
from tests.helpers import EMAIL, SIGNING_KEY, TABLE_NAME, claims, mint
from tools import authctl

# --- POST /auth/token/verify/ ---------------------------------------------------------------


def test_verify_empty_object_requires_token(post: Post) -> None:
    answer = post("verify_token", {})
    assert (answer.status, answer.body) == (400, {"token": ["This field is required."]})


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_verify_valid_token_of_either_type_is_an_empty_object(post: Post, kind: str) -> None:
    answer = post("verify_token", {"token": login(post)[kind]})
    assert (answer.status, answer.body) == (200, {})


def test_verify_invalid_token_is_refused_as_in_the_refresh_table(post: Post) -> None:
    answer = post("verify_token", {"token": "garbage"})
    assert (answer.status, answer.body) == (401, {"detail": "Token is invalid", "code": "token_not_valid"})


def test_verify_expired_token_is_expired(post: Post) -> None:
    answer = post("verify_token", {"token": mint(claims("access", exp=1_700_000_000, iat=1_699_996_400))})
    assert (answer.status, answer.body) == (401, {"detail": "Token is expired", "code": "token_not_valid"})


def test_verify_blacklisted_refresh_is_a_400_non_field_error(post: Post) -> None:
    refresh = login(post)["refresh"]
    assert post("blacklist_token", {"refresh": refresh}).status == 200

    answer = post("verify_token", {"token": refresh})

    assert (answer.status, answer.body) == (400, {"non_field_errors": ["Token is blacklisted"]})


# --- POST /auth/token/blacklist/ ------------------------------------------------------------


def test_blacklist_empty_object_requires_refresh(post: Post) -> None:
    answer = post("blacklist_token", {})
    assert (answer.status, answer.body) == (400, {"refresh": ["This field is required."]})


def test_blacklist_valid_refresh_is_an_empty_object_and_ends_the_session(post: Post) -> None:
    refresh = login(post)["refresh"]

    answer = post("blacklist_token", {"refresh": refresh})

    assert (answer.status, answer.body) == (200, {})
    assert (post("refresh_token", {"refresh": refresh}).status, post("refresh_token", {"refresh": refresh}).body) == (
        401,
        BLACKLISTED,
    )


def test_blacklist_an_access_token_has_the_wrong_type(post: Post) -> None:
    answer = post("blacklist_token", {"refresh": login(post)["access"]})
    assert (answer.status, answer.body) == (401, {"detail": "Token has wrong type", "code": "token_not_valid"})


def test_blacklist_the_same_refresh_again_is_blacklisted(post: Post) -> None:
    refresh = login(post)["refresh"]
    post("blacklist_token", {"refresh": refresh})

    answer = post("blacklist_token", {"refresh": refresh})

    assert (answer.status, answer.body) == (401, BLACKLISTED)


# --- rotation and reuse detection -------------------------------------------------------------


def test_rotation_answers_a_new_refresh_with_a_new_jti_and_fresh_times(rotating: None, post: Post) -> None:
    old = login(post)["refresh"]

    answer = post("refresh_token", {"refresh": old})

    assert answer.status == 200
    assert list(answer.body) == ["access", "refresh"]
    old_claims = jwt.decode(old, SIGNING_KEY, algorithms=["HS256"])
    new_claims = jwt.decode(answer.body["refresh"], SIGNING_KEY, algorithms=["HS256"])
    assert new_claims["jti"] != old_claims["jti"]
    assert abs(new_claims["iat"] - time.time()) <= 2
    assert new_claims["exp"] - new_claims["iat"] == 259200
    assert new_claims["family"] == old_claims["family"], "the descendant stays in its login's family"


def test_reusing_a_rotated_refresh_is_blacklisted_and_revokes_its_descendants(rotating: None, post: Post) -> None:
    old = login(post)["refresh"]
    descendant = post("refresh_token", {"refresh": old}).body["refresh"]

    reuse = post("refresh_token", {"refresh": old})

    assert (reuse.status, reuse.body) == (401, BLACKLISTED)
    after = post("refresh_token", {"refresh": descendant})
    assert (after.status, after.body) == (401, BLACKLISTED), "the whole family is revoked"


def test_other_logins_survive_a_reuse_in_one_family(rotating: None, post: Post) -> None:
    stolen, other = login(post)["refresh"], login(post)["refresh"]
    post("refresh_token", {"refresh": stolen})
    post("refresh_token", {"refresh": stolen})

    assert post("refresh_token", {"refresh": other}).status == 200


def test_twenty_concurrent_refreshes_with_one_token_have_exactly_one_winner(
    rotating: None, atomic_requests: None, post: Post
) -> None:
    """Twenty containers at once: the service itself in threads (one Lambda container serves
    one event at a time, so threads share no handler state; Powertools' metrics are not
    thread-safe), against moto with DynamoDB's per-request atomicity."""
    refresh = login(post)["refresh"]
    service = services.session_service()
    body = json.dumps({"refresh": refresh}).encode()

    def attempt(_: int) -> tuple[int, dict[str, Any]]:
        try:
            return 200, service.refresh(body, "application/json")
        except ApiError as error:
            return error.status, error.body()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, range(20)))

    assert Counter(status for status, _ in answers) == {200: 1, 401: 19}
    assert all(answer == BLACKLISTED for status, answer in answers if status == 401)


# --- revoking every session of a customer -----------------------------------------------------


def revoke_sessions() -> None:
    assert authctl.main(["--table", TABLE_NAME, "revoke-sessions", "--email", EMAIL]) == 0


def test_revoke_sessions_ends_earlier_refreshes_and_a_new_login_works(post: Post) -> None:
    before = login(post)["refresh"]
    revoke_sessions()

    assert (post("refresh_token", {"refresh": before}).status, post("refresh_token", {"refresh": before}).body) == (
        401,
        BLACKLISTED,
    )
    after = login(post)["refresh"]
    assert post("refresh_token", {"refresh": after}).status == 200


def test_verify_refuses_an_access_token_issued_before_a_revocation(post: Post) -> None:
    access = login(post)["access"]
    revoke_sessions()

    assert post("verify_token", {"token": access}).body == {"non_field_errors": ["Token is blacklisted"]}
