"""The SDK's JWTs checked by PyJWT, an implementation independent of the SDK's.

The SDK signs (``heymarket_async._auth``) and the emulator verifies (``testing._auth``) with
the same hand-written approach, so a shared mistake (base64 padding, the key's layout, JSON
the server would not parse) would pass both. PyJWT decodes what the SDK signs, and signs what
the emulator must accept. PyJWT is in the dev extra: without it these tests skip locally, and
fail in CI (``CI`` set), where the extra is always installed.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

try:
    import jwt
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI"):
        raise
    pytest.skip(
        "PyJWT is not installed: pip install -e '.[dev]' (it is in the dev extra)",
        allow_module_level=True,
    )

from heymarket_async import HeymarketClient, TransportRequest, TransportResponse
from heymarket_async._auth import SecretCredentials, sign_jwt
from heymarket_async.testing import MockTransport
from heymarket_async.testing._auth import Unauthorized, check_jwt

SECRET_ID = "sid_4f2a"
SECRET_KEY = "sk_live_9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a"  # a realistic length: 32+ bytes of key
KEY = f"{SECRET_ID}||{SECRET_KEY}"


def decode(token: str, key: str = KEY, issuer: str = SECRET_ID) -> dict[str, Any]:
    """The claims, as a server using PyJWT would check them."""
    claims: dict[str, Any] = jwt.decode(
        token, key, algorithms=["HS256"], issuer=issuer, options={"require": ["iss", "iat"]}
    )
    return claims


class TestPyJWTDecodesTheSDKsTokens:
    def test_header_and_claims(self) -> None:
        issued_at = int(time.time()) - 10
        token = sign_jwt(SECRET_ID, SECRET_KEY, issued_at)
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        assert decode(token) == {"iss": SECRET_ID, "iat": issued_at}

    def test_a_token_signed_with_another_key_is_refused(self) -> None:
        token = sign_jwt(SECRET_ID, SECRET_KEY.replace("9", "8"), int(time.time()))
        with pytest.raises(jwt.InvalidSignatureError):
            decode(token)

    def test_another_issuer_is_refused(self) -> None:
        token = sign_jwt("sid_other", SECRET_KEY, int(time.time()))
        with pytest.raises(jwt.InvalidTokenError):
            decode(token, key=f"sid_other||{SECRET_KEY}")

    def test_the_credentials_header_carries_a_valid_token(self) -> None:
        now = 1_760_000_000.0
        credentials = SecretCredentials(SECRET_ID, SECRET_KEY, clock=lambda: now)
        scheme, _, token = credentials.authorization().partition(" ")
        assert scheme == "Bearer"
        claims = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_iat": False})
        assert claims == {"iss": SECRET_ID, "iat": int(now)}

    async def test_the_token_a_client_sends(self) -> None:
        seen: list[str] = []

        def handler(request: TransportRequest) -> TransportResponse:
            seen.append(request.headers["Authorization"])
            return TransportResponse.from_json({"id": 42, "phone": "15105553344"})

        before = int(time.time())
        async with HeymarketClient(
            secret_id=SECRET_ID, secret_key=SECRET_KEY, transport=MockTransport(handler)
        ) as hm:
            await hm.get_contact(42)
            await hm.get_contact(42)
        assert len(seen) == 2
        assert seen[0] == seen[1]  # one token, reused
        claims = decode(seen[0].removeprefix("Bearer "))
        assert before <= claims["iat"] <= int(time.time())

    @given(
        secret_id=st.text(min_size=1, max_size=40).filter(str.strip),
        secret_key=st.text(min_size=32, max_size=80),
        issued_at=st.integers(min_value=0, max_value=2**33),
    )
    def test_any_secret_pair(self, secret_id: str, secret_key: str, issued_at: int) -> None:
        # Non-ASCII and JSON-special characters in the id go through the JSON claims and the
        # key's UTF-8 bytes alike.
        token = sign_jwt(secret_id, secret_key, issued_at)
        claims = jwt.decode(
            token,
            f"{secret_id}||{secret_key}",
            algorithms=["HS256"],
            issuer=secret_id,
            options={"verify_iat": False},
        )
        assert claims == {"iss": secret_id, "iat": issued_at}


class TestTheEmulatorAcceptsPyJWTsTokens:
    def test_a_pyjwt_token_is_accepted(self) -> None:
        now = time.time()
        token = jwt.encode({"iss": SECRET_ID, "iat": int(now)}, KEY, algorithm="HS256")
        claims = check_jwt(token, secret_id=SECRET_ID, secret_key=SECRET_KEY, now=now)
        assert claims == {"iss": SECRET_ID, "iat": int(now)}

    def test_a_pyjwt_token_with_another_key_is_refused(self) -> None:
        now = time.time()
        token = jwt.encode({"iss": SECRET_ID, "iat": int(now)}, KEY + "x", algorithm="HS256")
        with pytest.raises(Unauthorized, match="signature"):
            check_jwt(token, secret_id=SECRET_ID, secret_key=SECRET_KEY, now=now)

    def test_a_pyjwt_token_past_five_minutes_is_refused(self) -> None:
        now = time.time()
        token = jwt.encode({"iss": SECRET_ID, "iat": int(now) - 301}, KEY, algorithm="HS256")
        with pytest.raises(Unauthorized, match="expired"):
            check_jwt(token, secret_id=SECRET_ID, secret_key=SECRET_KEY, now=now)
