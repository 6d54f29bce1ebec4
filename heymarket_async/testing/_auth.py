"""The emulator's credential check: the team API key, or an HS256 JWT signed from a secret pair."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, Final

#: Heymarket rejects a token five minutes after its ``iat``.
TOKEN_LIFETIME: Final = 300
#: How far in the future an ``iat`` may be (client clocks run a little fast).
CLOCK_SKEW: Final = 60


class Unauthorized(Exception):
    """Why a request is answered 401 (the message goes in the error body; never a secret)."""


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def check_authorization(
    header: str | None,
    *,
    api_key: str | None,
    secret_id: str | None,
    secret_key: str | None,
    now: float,
) -> None:
    """Return if ``header`` carries the API key or a valid JWT; else raise :class:`Unauthorized`.

    A JWT must have header ``alg`` HS256, a signature made with ``"<secret_id>||<secret_key>"``,
    ``iss`` equal to the secret id, and an ``iat`` (unix seconds) no more than five minutes
    before ``now`` and no more than a minute after it.
    """
    if not header:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization must be 'Bearer <token>'")
    if api_key is not None and hmac.compare_digest(token.encode(), api_key.encode()):
        return
    if secret_id is None or secret_key is None or token.count(".") != 2:
        raise Unauthorized("invalid API key")
    check_jwt(token, secret_id=secret_id, secret_key=secret_key, now=now)


def credential_of(
    header: str | None,
    *,
    api_key: str | None,
    secret_id: str | None,
    secret_key: str | None,
    now: float,
) -> str | None:
    """Which credential ``header`` authenticates with (the API key, or the secret id of a
    valid JWT's pair); ``None`` when :func:`check_authorization` would refuse it."""
    try:
        check_authorization(
            header, api_key=api_key, secret_id=secret_id, secret_key=secret_key, now=now
        )
    except Unauthorized:
        return None
    token = (header or "").partition(" ")[2]
    if api_key is not None and hmac.compare_digest(token.encode(), api_key.encode()):
        return api_key
    return secret_id


def check_jwt(token: str, *, secret_id: str, secret_key: str, now: float) -> dict[str, Any]:
    """The payload of a valid token; :class:`Unauthorized` saying what is wrong otherwise."""
    head, payload, signature = token.split(".")
    try:
        header_data = json.loads(_b64decode(head))
        claims = json.loads(_b64decode(payload))
        sig = _b64decode(signature)
    except (ValueError, binascii.Error):
        raise Unauthorized("malformed token") from None
    if not isinstance(header_data, dict) or header_data.get("alg") != "HS256":
        raise Unauthorized("token algorithm must be HS256")
    key = f"{secret_id}||{secret_key}".encode()
    expected = hmac.new(key, f"{head}.{payload}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(sig, expected):
        raise Unauthorized("bad token signature")
    if not isinstance(claims, dict) or claims.get("iss") != secret_id:
        raise Unauthorized("token iss is not the secret id")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, (int, float)):
        raise Unauthorized("token has no iat")
    if now - iat > TOKEN_LIFETIME:
        raise Unauthorized("token expired")
    if iat - now > CLOCK_SKEW:
        raise Unauthorized("token iat is in the future")
    return claims
