"""The JWT attack catalogue: each attack, how it is forged, and what the service answers.

tests/adversarial/test_attack_catalogue.py sends every attack through the real authorizer
and the real refresh endpoint and asserts these answers exactly. ``python -m
tests.adversarial.catalogue`` prints the README's security table from the same data.

``forge(keys, kind)`` builds the token an attacker would send where a token of ``kind``
("access" at the authorizer, "refresh" at the refresh endpoint) is expected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.adversarial import forge
from tests.adversarial.forge import attacker_rsa_key, hs_token, payload, rs_token, unsigned_token

HS256 = {"alg": "HS256", "typ": "JWT"}
RS256 = {"alg": "RS256", "typ": "JWT"}
OTHER_KIND = {"access": "refresh", "refresh": "access"}


@dataclass(frozen=True)
class Keys:
    """What the service holds, as far as an attack needs to know it."""

    signing_key: bytes  # the HMAC key that verifies tokens without ``kid`` (simplejwt's SIGNING_KEY)
    trusted_public_pem: bytes  # a public key the service trusts (its RS256 key), or the attacker's
    trusted_kid: str  # that key's ``kid``


@dataclass(frozen=True)
class Deny:
    """The authorizer's Deny, carrying simplejwt's body (the client sees it with status 401)."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Allow:
    """The authorizer's Allow for customer ``principal``."""

    principal: str = "1"


@dataclass(frozen=True)
class Http:
    """An HTTP answer; ``body`` None for a 200 with a new token pair."""

    status: int
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Attack:
    id: str
    attack: str
    forge: Callable[[Keys, str], str]
    authorizer: Deny | Allow
    refresh: Http
    why: str = ""


def not_valid_for_any_token_type(message: str) -> Deny:
    return Deny(
        {
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
            "messages": [{"token_class": "AccessToken", "token_type": "access", "message": message}],
        }
    )


def token_not_valid(detail: str) -> Http:
    return Http(401, {"detail": detail, "code": "token_not_valid"})


INVALID = not_valid_for_any_token_type("Token is invalid")
REFRESH_INVALID = token_not_valid("Token is invalid")
NEW_PAIR = Http(200)
NO_USER_ID_BODY = {"detail": "Token contained no recognizable user identification", "code": "token_not_valid"}
TOO_LARGE = Http(413, {"detail": "Request body is too large.", "code": "request_too_large"})
# The refresh test sends the token inside '{"refresh": "...' : the first non-UTF-8 byte sits at 23.
NOT_UTF8 = Http(
    400, {"detail": "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 23: invalid start byte"}
)


def right_key(header: dict[str, Any] | None = None, **claims: Any) -> Callable[[Keys, str], str]:
    """A token signed with the service's own key: what only the service (or a thief of its key) can make."""

    def make(keys: Keys, kind: str) -> str:
        return hs_token(header or HS256, payload(kind, **claims), keys.signing_key)

    return make


def alg_none(spelling: str) -> Callable[[Keys, str], str]:
    return lambda keys, kind: unsigned_token({"alg": spelling, "typ": "JWT"}, payload(kind))


def hs_with(secret: bytes, header: dict[str, Any] | None = None) -> Callable[[Keys, str], str]:
    return lambda keys, kind: hs_token(header or HS256, payload(kind), secret)


def _empty_signature(keys: Keys, kind: str) -> str:
    token = right_key()(keys, kind)
    return token[: token.rindex(".") + 1]


def _padded_signature(keys: Keys, kind: str) -> str:
    return right_key()(keys, kind) + "="


def _signature_of_another_token(keys: Keys, kind: str) -> str:
    victim = right_key()(keys, kind)
    forged = hs_token(HS256, payload(kind, user_id="2"), b"attacker")
    return forged[: forged.rindex(".")] + victim[victim.rindex(".") :]


def _hs_with_trusted_public_key(keys: Keys, kind: str) -> str:
    return hs_token({**HS256, "kid": keys.trusted_kid}, payload(kind), keys.trusted_public_pem)


def _hs_with_public_key_without_kid(keys: Keys, kind: str) -> str:
    return hs_token(HS256, payload(kind), keys.trusted_public_pem)


def _rs_by_attacker_with_trusted_kid(keys: Keys, kind: str) -> str:
    return rs_token({**RS256, "kid": keys.trusted_kid}, payload(kind), attacker_rsa_key())


def _rs_by_attacker_without_kid(keys: Keys, kind: str) -> str:
    return rs_token(RS256, payload(kind), attacker_rsa_key())


def _jku(keys: Keys, kind: str) -> str:
    header = {**RS256, "kid": "attacker", "jku": "https://attacker.example/.well-known/jwks.json"}
    return rs_token(header, payload(kind), attacker_rsa_key())


def _x5u(keys: Keys, kind: str) -> str:
    header = {**RS256, "kid": "attacker", "x5u": "https://attacker.example/cert.pem"}
    return rs_token(header, payload(kind), attacker_rsa_key())


def _embedded_rsa_jwk(keys: Keys, kind: str) -> str:
    header = {**RS256, "kid": "attacker", "jwk": forge.rsa_public_jwk(attacker_rsa_key(), "attacker")}
    return rs_token(header, payload(kind), attacker_rsa_key())


def _embedded_oct_jwk(keys: Keys, kind: str) -> str:
    secret = b"attacker-chosen-hmac-secret-0123456789"
    header = {**HS256, "jwk": {"kty": "oct", "k": forge.b64(secret)}}
    return hs_token(header, payload(kind), secret)


def _b64_false(keys: Keys, kind: str) -> str:
    header = forge.segment({"alg": "HS256", "b64": False, "crit": ["b64"]})
    raw_payload = json.dumps(payload(kind), separators=(",", ":"))
    return f"{header}.{raw_payload}.{forge.hs_signature(f'{header}.{raw_payload}', keys.signing_key)}"


def _b64_false_detached(keys: Keys, kind: str) -> str:
    header = forge.segment({"alg": "HS256", "b64": False, "crit": ["b64"]})
    raw_payload = json.dumps(payload(kind), separators=(",", ":"))
    return f"{header}..{forge.hs_signature(f'{header}.{raw_payload}', keys.signing_key)}"


def _json_serialised_flattened(keys: Keys, kind: str) -> str:
    protected, claims, signature = right_key()(keys, kind).split(".")
    return json.dumps({"payload": claims, "protected": protected, "signature": signature}, separators=(",", ":"))


def _json_serialised_general(keys: Keys, kind: str) -> str:
    protected, claims, signature = right_key()(keys, kind).split(".")
    document = {"payload": claims, "signatures": [{"protected": protected, "signature": signature}]}
    return json.dumps(document, separators=(",", ":"))


def _jwe_five_parts(keys: Keys, kind: str) -> str:
    header = forge.segment({"alg": "dir", "enc": "A256GCM", "typ": "JWT"})
    return ".".join(
        [header, "", forge.b64(b"\x00" * 12), forge.b64(json.dumps(payload(kind)).encode()), forge.b64(b"\x01" * 16)]
    )


def _one_megabyte(keys: Keys, kind: str) -> str:
    claims = payload(kind, padding="A" * (1024 * 1024))
    return hs_token(HS256, claims, b"attacker")


def _not_utf8(keys: Keys, kind: str) -> str:
    token = right_key()(keys, kind)
    return token[:10] + "\udcff\udcfe" + token[10:]


def _kid(kid: Any, secret: bytes) -> Callable[[Keys, str], str]:
    return lambda keys, kind: hs_token({**HS256, "kid": kid}, payload(kind), secret)


def _swapped_type(keys: Keys, kind: str) -> str:
    return right_key()(keys, OTHER_KIND[kind])


ATTACKS: tuple[Attack, ...] = (
    Attack("alg-none-lowercase", '`alg: "none"`, no signature', alg_none("none"), INVALID, REFRESH_INVALID),
    Attack("alg-none-capitalised", '`alg: "None"`, no signature', alg_none("None"), INVALID, REFRESH_INVALID),
    Attack("alg-none-uppercase", '`alg: "NONE"`, no signature', alg_none("NONE"), INVALID, REFRESH_INVALID),
    Attack("alg-none-mixed-case", '`alg: "nOnE"`, no signature', alg_none("nOnE"), INVALID, REFRESH_INVALID),
    Attack(
        "alg-lowercase-hs256",
        '`alg: "hs256"` signed with the right key',
        right_key({"alg": "hs256", "typ": "JWT"}),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack("empty-signature", "HS256 header and claims, empty signature", _empty_signature, INVALID, REFRESH_INVALID),
    Attack(
        "signature-of-another-token",
        "claims changed, signature copied from a genuine token",
        _signature_of_another_token,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack("hs256-empty-key", "HS256 signed with an empty key", hs_with(b""), INVALID, REFRESH_INVALID),
    Attack(
        "hs384-right-key",
        "HS384 signed with the right key",
        right_key({"alg": "HS384", "typ": "JWT"}),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "hs512-right-key",
        "HS512 signed with the right key",
        right_key({"alg": "HS512", "typ": "JWT"}),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "key-confusion-public-key-as-hmac-secret-with-its-kid",
        "HS256 signed with the service's RSA public key (PEM) as the HMAC secret, `kid` of that key",
        _hs_with_trusted_public_key,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "key-confusion-public-key-as-hmac-secret-without-kid",
        "HS256 signed with the RSA public key (PEM) as the HMAC secret, no `kid`",
        _hs_with_public_key_without_kid,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "rs256-attacker-key-with-trusted-kid",
        "RS256 signed by the attacker's key, `kid` of the service's key",
        _rs_by_attacker_with_trusted_kid,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "rs256-attacker-key-without-kid",
        "RS256 signed by the attacker's key, no `kid`",
        _rs_by_attacker_without_kid,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "kid-path-traversal-dev-null",
        '`kid: "../../../../../../dev/null"` signed with an empty key',
        _kid("../../../../../../dev/null", b""),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "kid-path-traversal-etc-passwd",
        '`kid: "/etc/passwd"` signed with that file\'s first line',
        _kid("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash"),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "kid-sql-or-true",
        "`kid: \"' OR '1'='1\"` signed with an empty key",
        _kid("' OR '1'='1", b""),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "kid-sql-union-select",
        "`kid: \"x' UNION SELECT 'attacker-key' --\"` signed with `attacker-key`",
        _kid("x' UNION SELECT 'attacker-key' --", b"attacker-key"),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "kid-not-a-string",
        "`kid: 1` signed with the right key",
        right_key({**HS256, "kid": 1}),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "kid-unknown-right-key",
        "an unknown `kid` on a token signed with the right key",
        right_key({**HS256, "kid": "../../../secrets/signing-key"}),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "jku-header",
        "`jku` pointing at the attacker's JWKS, RS256 by the attacker",
        _jku,
        INVALID,
        REFRESH_INVALID,
        "no outbound request",
    ),
    Attack(
        "x5u-header",
        "`x5u` pointing at the attacker's certificate, RS256 by the attacker",
        _x5u,
        INVALID,
        REFRESH_INVALID,
        "no outbound request",
    ),
    Attack(
        "jwk-header-rsa",
        "the attacker's RSA public key embedded as `jwk`, RS256 by the attacker",
        _embedded_rsa_jwk,
        INVALID,
        REFRESH_INVALID,
        "no outbound request",
    ),
    Attack(
        "jwk-header-oct",
        "an HMAC key embedded as `jwk`, HS256 with that key",
        _embedded_oct_jwk,
        INVALID,
        REFRESH_INVALID,
        "no outbound request",
    ),
    Attack(
        "crit-unknown-extension",
        '`crit: ["exp"]` signed with the right key',
        right_key({**HS256, "crit": ["exp"]}),
        INVALID,
        REFRESH_INVALID,
        "RFC 7515 4.1.11",
    ),
    Attack(
        "b64-false-inline-payload",
        "`b64: false` (RFC 7797) with the payload inline, right key",
        _b64_false,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "b64-false-detached-payload",
        "`b64: false` with a detached payload, right key",
        _b64_false_detached,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "json-serialised-jws-flattened",
        "a genuine token in JWS JSON serialisation (flattened)",
        _json_serialised_flattened,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "json-serialised-jws-general",
        "a genuine token in JWS JSON serialisation (general)",
        _json_serialised_general,
        INVALID,
        REFRESH_INVALID,
    ),
    Attack("jwe-five-parts", "a 5-part JWE (`alg: dir`, `enc: A256GCM`)", _jwe_five_parts, INVALID, REFRESH_INVALID),
    Attack(
        "padded-signature",
        "a genuine token with its signature padded (`=`)",
        _padded_signature,
        INVALID,
        REFRESH_INVALID,
        "only the canonical encoding of a signature is that token",
    ),
    Attack(
        "one-megabyte-token", "a 1 MiB token", _one_megabyte, INVALID, TOO_LARGE, "the refresh body limit is 64 KiB"
    ),
    Attack("non-utf8-bytes", "bytes 0xFF 0xFE inside a genuine token", _not_utf8, INVALID, NOT_UTF8),
    Attack(
        "exp-as-numeric-string",
        '`exp: "<epoch>"` (a string), right key',
        lambda keys, kind: right_key(exp=str(payload(kind)["exp"]))(keys, kind),
        Allow(),
        NEW_PAIR,
        "needs the signing key; read as a number, as pyjwt does",
    ),
    Attack("exp-as-word", '`exp: "never"`, right key', right_key(exp="never"), INVALID, REFRESH_INVALID),
    Attack(
        "iat-as-numeric-string",
        '`iat: "<epoch>"` (a string), right key',
        lambda keys, kind: right_key(iat=str(payload(kind)["iat"]))(keys, kind),
        Allow(),
        NEW_PAIR,
        "needs the signing key; iat is not required",
    ),
    Attack(
        "iat-in-the-future",
        "`iat` one hour ahead, right key",
        lambda keys, kind: right_key(iat=payload(kind)["iat"] + 3600)(keys, kind),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "nbf-in-the-future",
        "`nbf` one hour ahead, right key",
        lambda keys, kind: right_key(nbf=payload(kind)["iat"] + 3600)(keys, kind),
        INVALID,
        REFRESH_INVALID,
    ),
    Attack(
        "missing-exp",
        "no `exp`, right key",
        right_key(exp=...),
        not_valid_for_any_token_type("Token has no 'exp' claim"),
        token_not_valid("Token has no 'exp' claim"),
    ),
    Attack(
        "missing-jti",
        "no `jti`, right key",
        right_key(jti=...),
        not_valid_for_any_token_type("Token has no id"),
        token_not_valid("Token has no id"),
    ),
    Attack(
        "missing-token-type",
        "no `token_type`, right key",
        right_key(token_type=...),
        not_valid_for_any_token_type("Token has no type"),
        token_not_valid("Token has no type"),
    ),
    Attack(
        "missing-user-id",
        "no `user_id`, right key",
        right_key(user_id=...),
        Deny(NO_USER_ID_BODY),
        Http(401, NO_USER_ID_BODY),
    ),
    Attack(
        "token-type-swapped",
        "a refresh token at the authorizer, an access token at refresh",
        _swapped_type,
        not_valid_for_any_token_type("Token has wrong type"),
        token_not_valid("Token has wrong type"),
    ),
    Attack(
        "numeric-user-id",
        "`user_id: 1` (an integer, as simplejwt < 5.3 wrote it), right key",
        right_key(user_id=1),
        Allow(),
        NEW_PAIR,
        "needs the signing key; simplejwt's own older tokens",
    ),
)

WEAK_SECRET_ATTACK = "HS256 signed with one of 100 common weak secrets (`secret`, `changeme`, `django-insecure-...`)"


def describe_authorizer(answer: Deny | Allow) -> str:
    if isinstance(answer, Allow):
        return "Allow: the route answers"
    messages = answer.body.get("messages")
    return f'401 "{messages[0]["message"]}"' if messages else f'401 "{answer.body["detail"]}"'


def describe_refresh(answer: Http) -> str:
    if answer.body is None:
        return f"{answer.status}, a new token pair"
    return f'{answer.status} "{answer.body["detail"]}"'


def markdown_table() -> str:
    rows = [
        "| attack | protected route (authorizer) | `POST /auth/token/refresh/` | note |",
        "|---|---|---|---|",
    ]
    for attack in ATTACKS:
        answers = f"{describe_authorizer(attack.authorizer)} | {describe_refresh(attack.refresh)}"
        rows.append(f"| {attack.attack} | {answers} | {attack.why} |")
    rows.append(f"| {WEAK_SECRET_ATTACK} | {describe_authorizer(INVALID)} | {describe_refresh(REFRESH_INVALID)} | |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
