"""The emulator's credential check: API key, HS256 JWTs (good, expired, forged), over HTTP too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from _fake_http import Raw

from heymarket_async import AuthenticationError, RetryPolicy
from heymarket_async._auth import sign_jwt
from heymarket_async.testing import FakeHeymarket
from heymarket_async.testing._auth import Unauthorized, check_authorization

NOW = 1_790_000_000.0
SID, SKEY = "sid-1", "s3cret"


def check(header: str | None, now: float = NOW, api_key: str | None = "test") -> None:
    check_authorization(header, api_key=api_key, secret_id=SID, secret_key=SKEY, now=now)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestCheckAuthorization:
    def test_the_api_key(self) -> None:
        check("Bearer test")
        check("bearer test")

    @pytest.mark.parametrize(
        ("header", "reason"),
        [
            (None, "missing"),
            ("", "missing"),
            ("Basic test", "Bearer"),
            ("Bearer ", "Bearer"),
            ("Bearer wrong", "invalid API key"),
            ("Bearer a.b.c", "malformed"),
        ],
    )
    def test_rejections(self, header: str | None, reason: str) -> None:
        with pytest.raises(Unauthorized, match=reason):
            check(header)

    def test_a_fresh_jwt(self) -> None:
        check(f"Bearer {sign_jwt(SID, SKEY, int(NOW))}")
        check(f"Bearer {sign_jwt(SID, SKEY, int(NOW) - 299)}")
        check(f"Bearer {sign_jwt(SID, SKEY, int(NOW) + 30)}")

    def test_jwt_only_when_the_fake_has_a_secret(self) -> None:
        token = sign_jwt(SID, SKEY, int(NOW))
        with pytest.raises(Unauthorized, match="invalid API key"):
            check_authorization(
                f"Bearer {token}", api_key="test", secret_id=None, secret_key=None, now=NOW
            )

    @pytest.mark.parametrize(
        ("token", "reason"),
        [
            (sign_jwt(SID, SKEY, int(NOW) - 301), "expired"),
            (sign_jwt(SID, SKEY, int(NOW) + 120), "future"),
            (sign_jwt(SID, "other", int(NOW)), "signature"),
            (sign_jwt("sid-2", SKEY, int(NOW)), "signature"),
        ],
    )
    def test_bad_jwts(self, token: str, reason: str) -> None:
        with pytest.raises(Unauthorized, match=reason):
            check(f"Bearer {token}", api_key=None)

    def _signed(self, header: dict[str, object], claims: dict[str, object]) -> str:
        head = b64(json.dumps(header).encode())
        body = b64(json.dumps(claims).encode())
        key = f"{SID}||{SKEY}".encode()
        sig = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"Bearer {head}.{body}.{b64(sig)}"

    @pytest.mark.parametrize(
        ("header", "claims", "reason"),
        [
            ({"alg": "none"}, {"iss": SID, "iat": NOW}, "HS256"),
            ({"alg": "HS256"}, {"iss": "someone", "iat": NOW}, "iss"),
            ({"alg": "HS256"}, {"iss": SID}, "iat"),
            ({"alg": "HS256"}, {"iss": SID, "iat": "now"}, "iat"),
        ],
    )
    def test_well_signed_but_wrong_claims(
        self, header: dict[str, object], claims: dict[str, object], reason: str
    ) -> None:
        with pytest.raises(Unauthorized, match=reason):
            check(self._signed(header, claims))


class TestOverHttp:
    async def test_no_or_wrong_key_is_401_with_a_json_body(self, raw: Raw) -> None:
        for key in (None, "wrong"):
            answer = await raw("POST", "/v1/contacts", {}, key=key)
            assert answer.status == 401
            assert answer.json["error"] == "unauthorized"
            assert answer.headers["X-Request-Id"]

    async def test_a_client_with_a_secret_pair_signs_accepted_jwts(self) -> None:
        async with FakeHeymarket(api_key=None, secret_id=SID, secret_key=SKEY) as fake:
            async with fake.client() as hm:
                assert await hm.count_contacts() == 0
            header = fake.requests[0].headers["Authorization"]
            assert header == "Bearer ***"
            async with fake.client(api_key="test", retry=RetryPolicy.disabled()) as hm:
                with pytest.raises(AuthenticationError):
                    await hm.count_contacts()

    async def test_iat_is_checked_against_the_jwt_clock(self) -> None:
        # The fake's jwt_clock says it is 10 minutes later than the client's real time.
        async with FakeHeymarket(
            secret_id=SID, secret_key=SKEY, jwt_clock=lambda: time.time() + 600
        ) as fake:
            async with fake.client(
                api_key=None, secret_id=SID, secret_key=SKEY, retry=RetryPolicy.disabled()
            ) as hm:
                with pytest.raises(AuthenticationError, match="expired"):
                    await hm.count_contacts()
            async with fake.client() as hm:  # the fake's API key still works
                assert await hm.count_contacts() == 0
