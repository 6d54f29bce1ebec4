"""Credentials: a legacy team API key, or an API secret pair that signs short-lived HS256 JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Final

from .errors import InvalidRequestError

#: Heymarket rejects a token five minutes after its ``iat``.
TOKEN_LIFETIME: Final = 300.0
#: A token is re-signed once it is this old, so one in flight never expires on the way.
TOKEN_REFRESH_AGE: Final = 240.0

_JWT_HEADER: Final = b'{"alg":"HS256","typ":"JWT"}'


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(secret_id: str, secret_key: str, issued_at: int) -> str:
    """An HS256 JWT ``{"iss": secret_id, "iat": issued_at}`` keyed by ``"<id>||<key>"``."""
    payload = json.dumps({"iss": secret_id, "iat": issued_at}, separators=(",", ":"))
    signing_input = f"{_b64url(_JWT_HEADER)}.{_b64url(payload.encode('utf-8'))}"
    key = f"{secret_id}||{secret_key}".encode()
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


class Credentials:
    """Makes the ``Authorization`` header. Its repr never shows a secret."""

    def authorization(self) -> str:
        raise NotImplementedError

    def secrets(self) -> tuple[str, ...]:
        """Every string that must never appear in a log line, error or repr."""
        raise NotImplementedError


class ApiKeyCredentials(Credentials):
    """The legacy team API key, sent as a bearer token."""

    __slots__ = ("_header", "_key")

    def __init__(self, api_key: str) -> None:
        self._key = api_key
        self._header = f"Bearer {api_key}"

    def authorization(self) -> str:
        return self._header

    def secrets(self) -> tuple[str, ...]:
        return (self._key,)

    def __repr__(self) -> str:
        return "ApiKeyCredentials(api_key=***)"


class SecretCredentials(Credentials):
    """An API secret pair: signs a JWT, reuses it for four minutes, then signs a new one.

    Signing is synchronous, so every task on the loop shares the one cached token: no task
    can see a half-made one, and a burst of concurrent calls signs once. A token's ``iat`` is
    the wall clock (``clock``), what Heymarket compares it with; its age is measured on
    ``monotonic``, so that a wall clock stepped back never keeps a token past its lifetime.
    """

    __slots__ = (
        "_clock",
        "_header",
        "_monotonic",
        "_resign_at",
        "_secret_id",
        "_secret_key",
        "_token",
    )

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._secret_key = secret_key
        self._clock = clock
        self._monotonic = monotonic
        self._token = ""
        self._header = ""
        self._resign_at = float("-inf")
        self._issued_at = 0.0

    def with_clocks(
        self, clock: Callable[[], float] | None, monotonic: Callable[[], float] | None
    ) -> SecretCredentials:
        """The same secret pair on other clocks (``None``: keep this one's); for tests."""
        return SecretCredentials(
            self._secret_id,
            self._secret_key,
            clock=clock or self._clock,
            monotonic=monotonic or self._monotonic,
        )

    @property
    def secret_id(self) -> str:
        return self._secret_id

    def authorization(self) -> str:
        # Old by either clock: the monotonic one (the wall clock may be set back) or the wall
        # clock, which Heymarket checks ``iat`` against (the monotonic one stops while the
        # machine sleeps).
        elapsed = self._monotonic()
        now = self._clock()
        if elapsed >= self._resign_at or now - self._issued_at >= TOKEN_REFRESH_AGE:
            issued_at = int(now)
            self._issued_at = issued_at
            self._token = sign_jwt(self._secret_id, self._secret_key, issued_at)
            self._header = f"Bearer {self._token}"
            # The token is already ``now - issued_at`` old (iat is whole seconds).
            self._resign_at = elapsed + TOKEN_REFRESH_AGE - (now - issued_at)
        return self._header

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._secret_key, self._token) if s)

    def __repr__(self) -> str:
        return f"SecretCredentials(secret_id={self._secret_id!r}, secret_key=***)"


def resolve_credentials(
    api_key: str | None,
    secret_id: str | None,
    secret_key: str | None,
    environ: Mapping[str, str] = os.environ,
) -> Credentials:
    """The credentials given, else those in the environment; a clear error when there are none.

    Explicit arguments win over the environment; a secret pair wins over an API key of the same
    source. A half pair (an id without a key, or the reverse), given or in the environment, is
    an error, not a fallback; so is an API key that cannot go into a header as it is.
    """
    given = _secret_pair(secret_id, secret_key, "secret_id", "secret_key", "given")
    if given is not None:
        return given
    if api_key is not None:
        return ApiKeyCredentials(_header_safe("api_key", api_key))
    env = _secret_pair(
        environ.get("HEYMARKET_SECRET_ID") or None,
        environ.get("HEYMARKET_SECRET_KEY") or None,
        "HEYMARKET_SECRET_ID",
        "HEYMARKET_SECRET_KEY",
        "set",
    )
    if env is not None:
        return env
    env_api_key = environ.get("HEYMARKET_API_KEY")
    if env_api_key:
        return ApiKeyCredentials(_header_safe("HEYMARKET_API_KEY", env_api_key))
    raise InvalidRequestError(
        "api_key",
        "no credentials: pass api_key=... or secret_id=... and secret_key=..., or set "
        "HEYMARKET_API_KEY, or HEYMARKET_SECRET_ID and HEYMARKET_SECRET_KEY",
    )


def _secret_pair(
    secret_id: str | None, secret_key: str | None, id_name: str, key_name: str, verb: str
) -> SecretCredentials | None:
    """The pair as credentials, ``None`` when neither is there; a half pair is an error."""
    if secret_id is None and secret_key is None:
        return None
    if secret_id is None or secret_key is None:
        raise InvalidRequestError(
            key_name if secret_key is None else id_name,
            f"{id_name} and {key_name} must be {verb} together",
        )
    return SecretCredentials(_nonempty(id_name, secret_id), _nonempty(key_name, secret_key))


def _nonempty(field: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(field, "must be a non-empty string")
    return value


def _header_safe(field: str, value: str) -> str:
    # The key goes into a header verbatim: a pasted newline would make aiohttp raise a bare
    # ValueError on the first call. Say so here, without echoing the key.
    value = _nonempty(field, value)
    if value != value.strip() or not value.isprintable():
        raise InvalidRequestError(
            field, "has surrounding whitespace or a control character (a pasted newline?)"
        )
    return value
