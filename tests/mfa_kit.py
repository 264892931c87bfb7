"""The MFA endpoints' test kit: their events, an enrolled customer, codes at a given step."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pyotp

from tests.helpers import EMAIL, PASSWORD, HttpAnswer, json_event
from tests.mailbox import login

VERIFY = "/auth/mfa/verify/"
STATUS = "/auth/mfa/status/"
ACTIVATE = "/auth/mfa/totp/activate/"
DEACTIVATE = "/auth/mfa/totp/deactivate/"
RECOVERY_CODES = "/auth/mfa/recovery-codes/"
REGENERATE = "/auth/mfa/recovery-codes/regenerate/"

Call = Callable[..., HttpAnswer]


def mfa_event(
    path: str,
    body: Any = None,
    *,
    method: str = "POST",
    caller: str | None = "1",
    issued_at: int | None = None,
    family: str | None = None,
    headers: dict[str, str] | None = None,
    session: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``events/mfa_status.json`` retargeted; ``caller`` is the authorizer's user_id (None: no
    authorizer); ``session`` a pair whose access token the authorizer allowed (its iat and family)."""
    if session is not None:
        claims = jwt.decode(session["access"], options={"verify_signature": False})
        caller, issued_at, family = claims["user_id"], claims["iat"], claims["family"]
    event = json_event("mfa_status", body, method=method)
    event["path"] = path
    event["resource"] = path.rstrip("/")
    event["requestContext"].update(path="/prod" + path, resourcePath=path.rstrip("/"))
    if caller is None:
        del event["requestContext"]["authorizer"]
    else:
        iat = int(time.time()) if issued_at is None else issued_at
        event["requestContext"]["authorizer"].update(principalId=caller, user_id=caller, iat=iat)
        if family is not None:
            event["requestContext"]["authorizer"]["family"] = family
    for header, value in (headers or {}).items():
        event["headers"][header] = value
        event["multiValueHeaders"][header] = [value]
    return event


def code_at(secret: str, steps_from_now: int = 0) -> str:
    """The TOTP code of the step ``steps_from_now`` away from the current one (C0, C-1, C+1...)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


@dataclass
class Enrolled:
    secret: str
    recovery_codes: list[str]
    pair: dict[str, str]


def enrol(call: Call, caller: str = "1", password: str = PASSWORD) -> Enrolled:
    begun = call("mfa", mfa_event(ACTIVATE, method="GET", caller=caller))
    assert begun.status == 200, begun.body
    secret = begun.body["secret"]
    body = {"activation_token": begun.body["activation_token"], "code": code_at(secret), "password": password}
    confirmed = call("mfa", mfa_event(ACTIVATE, body, caller=caller))
    assert confirmed.status == 200, confirmed.body
    pair = {"access": confirmed.body["access"], "refresh": confirmed.body["refresh"]}
    return Enrolled(secret, confirmed.body["recovery_codes"], pair)


def challenge(call: Call, email: str = EMAIL, password: str = PASSWORD) -> str:
    answer = login(call, email, password)
    assert answer.status == 200, answer.body
    assert answer.body["mfa_required"] is True, answer.body
    return str(answer.body["ephemeral_token"])


def verify(call: Call, token: str, code: Any, **options: Any) -> HttpAnswer:
    return call("mfa", mfa_event(VERIFY, {"ephemeral_token": token, "code": code}, caller=None, **options))
