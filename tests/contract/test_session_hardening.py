"""Session hardening (issue 13): leeway against retired records, logout reaching access tokens,
and the grace period for a refresh whose answer was lost."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest

from shared import services
from shared.aws import dynamodb_client
from shared.errors import ApiError
from shared.tokens.sessions import SessionStore
from tests.contract.conftest import BLACKLISTED, Post, login
from tests.helpers import EMAIL, SIGNING_KEY, TABLE_NAME, claims, mint
from tools import authctl

LIFETIME = 259200
VERIFY_BLACKLISTED = {"non_field_errors": ["Token is blacklisted"]}


@pytest.fixture
def leeway(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEEWAY", "60")


def grace(monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    monkeypatch.setenv("REFRESH_REUSE_GRACE_SECONDS", str(seconds))


def refresh_past_its_exp(seconds: int) -> str:
    """A refresh token of customer 1 whose exp passed ``seconds`` ago (inside a 60 s leeway)."""
    now = int(time.time())
    return mint(claims("refresh", exp=now - seconds, iat=now - seconds - LIFETIME, family=uuid.uuid4().hex))


def family_of(token: str) -> str:
    return str(jwt.decode(token, SIGNING_KEY, algorithms=["HS256"])["family"])


# --- finding 3: records live as long as pyjwt accepts their token ------------------------------


def test_given_leeway_when_a_rotated_refresh_token_past_its_exp_is_presented_again_then_it_is_reuse(
    rotating: None, leeway: None, post: Post
) -> None:
    old = refresh_past_its_exp(5)
    first = post("refresh_token", {"refresh": old})
    assert first.status == 200, "inside the leeway pyjwt accepts it once, as simplejwt does"

    again = post("refresh_token", {"refresh": old})

    assert (again.status, again.body) == (401, BLACKLISTED)
    descendant = post("refresh_token", {"refresh": first.body["refresh"]})
    assert (descendant.status, descendant.body) == (401, BLACKLISTED), "the reuse revoked the family"


def test_given_leeway_when_a_logged_out_refresh_token_past_its_exp_is_presented_then_it_is_blacklisted(
    leeway: None, post: Post
) -> None:
    old = refresh_past_its_exp(5)
    assert post("blacklist_token", {"refresh": old}).status == 200

    assert (post("refresh_token", {"refresh": old}).status, post("verify_token", {"token": old}).body) == (
        401,
        VERIFY_BLACKLISTED,
    )


def test_given_a_logout_then_its_family_stays_revoked_while_a_descendant_minted_a_second_later_is_accepted(
    leeway: None, post: Post
) -> None:
    """A refresh that read the family just before the logout mints a descendant in the next
    second: its exp is one second past the logout's now + lifetime, and pyjwt accepts it for
    60 s more. The family record must still be live at that last moment."""
    refresh = login(post)["refresh"]
    logged_out_at = time.time()
    assert post("blacklist_token", {"refresh": refresh}).status == 200
    descendant_last_accepted = int(logged_out_at) + 1 + LIFETIME + 60

    later = SessionStore(dynamodb_client(), TABLE_NAME, clock=lambda: descendant_last_accepted - 0.001)

    assert later.state("1", uuid.uuid4().hex, family_of(refresh)).family_revoked


# --- finding 11: a retry within the grace period is not reuse ----------------------------------


def test_given_no_grace_when_a_rotated_refresh_token_is_retried_at_once_then_the_family_is_revoked(
    rotating: None, monkeypatch: pytest.MonkeyPatch, post: Post
) -> None:
    grace(monkeypatch, 0)
    old = login(post)["refresh"]
    child = post("refresh_token", {"refresh": old}).body["refresh"]

    retry = post("refresh_token", {"refresh": old})

    assert (retry.status, retry.body) == (401, BLACKLISTED)
    assert post("refresh_token", {"refresh": child}).status == 401


def test_given_a_grace_period_when_a_rotated_refresh_token_is_retried_then_it_gets_a_pair_of_the_same_family(
    rotating: None, monkeypatch: pytest.MonkeyPatch, post: Post
) -> None:
    grace(monkeypatch, 10)
    old = login(post)["refresh"]
    lost = post("refresh_token", {"refresh": old}).body

    retry = post("refresh_token", {"refresh": old})

    assert retry.status == 200
    assert list(retry.body) == ["access", "refresh"]
    assert family_of(retry.body["refresh"]) == family_of(old) == family_of(retry.body["access"])
    assert post("verify_token", {"token": retry.body["access"]}).status == 200
    assert post("refresh_token", {"refresh": retry.body["refresh"]}).status == 200
    assert post("refresh_token", {"refresh": lost["refresh"]}).status == 200, "the lost answer's pair stays valid"


def test_given_a_grace_period_when_a_rotated_refresh_token_is_presented_after_it_then_it_is_reuse(
    rotating: None, monkeypatch: pytest.MonkeyPatch, post: Post
) -> None:
    grace(monkeypatch, 1)
    old = login(post)["refresh"]
    child = post("refresh_token", {"refresh": old}).body["refresh"]
    time.sleep(1.2)

    late = post("refresh_token", {"refresh": old})

    assert (late.status, late.body) == (401, BLACKLISTED)
    assert post("refresh_token", {"refresh": child}).status == 401, "the family is revoked"


def test_given_a_grace_period_when_a_logged_out_refresh_token_is_presented_at_once_then_it_is_blacklisted(
    rotating: None, monkeypatch: pytest.MonkeyPatch, post: Post
) -> None:
    grace(monkeypatch, 10)
    refresh = login(post)["refresh"]
    assert post("blacklist_token", {"refresh": refresh}).status == 200

    answer = post("refresh_token", {"refresh": refresh})

    assert (answer.status, answer.body) == (401, BLACKLISTED)


def test_given_a_grace_period_when_twenty_refreshes_race_then_each_gets_a_pair_and_one_retires_the_token(
    rotating: None, monkeypatch: pytest.MonkeyPatch, atomic_requests: None, post: Post
) -> None:
    """With the grace, concurrent presentations are retries: the conditional put still has one
    winner (one JTI# item, its writer's time), the others answer from its retirement."""
    grace(monkeypatch, 10)
    refresh = login(post)["refresh"]
    services.reset()
    service = services.session_service()
    body = json.dumps({"refresh": refresh}).encode()

    def attempt(_: int) -> tuple[int, dict[str, Any]]:
        try:
            return 200, service.refresh(body, "application/json")
        except ApiError as error:
            return error.status, error.body()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, range(20)))

    assert Counter(status for status, _ in answers) == {200: 20}
    assert {family_of(answer["refresh"]) for _, answer in answers} == {family_of(refresh)}
    jti = jwt.decode(refresh, SIGNING_KEY, algorithms=["HS256"])["jti"]
    item = dynamodb_client().get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"JTI#{jti}"}})["Item"]
    assert item["reason"]["S"] == "rotated"


# --- finding 4: logout and revocations reach the access token at verify ------------------------


def test_given_a_logout_when_its_sessions_access_token_is_verified_then_it_is_blacklisted(post: Post) -> None:
    pair, other = login(post), login(post)
    assert post("blacklist_token", {"refresh": pair["refresh"]}).status == 200

    answer = post("verify_token", {"token": pair["access"]})

    assert (answer.status, answer.body) == (400, VERIFY_BLACKLISTED)
    assert post("verify_token", {"token": other["access"]}).status == 200, "another session of the customer lives"


def test_given_a_reuse_when_the_descendants_access_token_is_verified_then_it_is_blacklisted(
    rotating: None, post: Post
) -> None:
    old = login(post)["refresh"]
    descendant = post("refresh_token", {"refresh": old}).body
    post("refresh_token", {"refresh": old})

    answer = post("verify_token", {"token": descendant["access"]})

    assert (answer.status, answer.body) == (400, VERIFY_BLACKLISTED)


def test_given_no_rotation_when_a_logout_follows_a_refresh_then_the_refreshed_access_token_is_blacklisted(
    post: Post,
) -> None:
    refresh = login(post)["refresh"]
    access = post("refresh_token", {"refresh": refresh}).body["access"]
    assert family_of(access) == family_of(refresh)
    post("blacklist_token", {"refresh": refresh})

    assert post("verify_token", {"token": access}).body == VERIFY_BLACKLISTED


@pytest.mark.parametrize("command", ["revoke-sessions", "set-password", "deactivate"])
def test_given_an_operator_revocation_when_an_earlier_access_token_is_verified_then_it_is_blacklisted(
    post: Post, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    access = login(post)["access"]
    extra = ["--password-stdin"] if command == "set-password" else []
    monkeypatch.setattr("sys.stdin", io.StringIO("An0ther-Passw0rd!\n"))
    assert authctl.main(["--table", TABLE_NAME, command, "--email", EMAIL, *extra]) == 0

    assert post("verify_token", {"token": access}).body == VERIFY_BLACKLISTED


def test_given_a_simplejwt_access_token_without_family_then_verify_still_accepts_it(post: Post) -> None:
    assert post("verify_token", {"token": mint(claims("access"))}).body == {}
