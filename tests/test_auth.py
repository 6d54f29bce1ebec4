"""Credentials: the API key header, HS256 JWTs checked independently, env fallbacks, no leaks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from heymarket_async import HeymarketClient, InvalidRequestError
from heymarket_async._auth import (
    TOKEN_LIFETIME,
    TOKEN_REFRESH_AGE,
    ApiKeyCredentials,
    Credentials,
    SecretCredentials,
    resolve_credentials,
    sign_jwt,
)
from heymarket_async.testing import install_clock
from tests._server import WireServer

SECRET_ID = "sid_4f2a"
SECRET_KEY = "sk_live_9d8c7b6a5f4e3d2c1b0a"


def b64url_decode(part: str) -> bytes:
    assert "=" not in part, "base64url without padding"
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(token: str, secret_id: str, secret_key: str) -> dict[str, Any]:
    """Check a token the way a server would, with nothing from the SDK; return its payload."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    assert json.loads(b64url_decode(header_b64)) == {"alg": "HS256", "typ": "JWT"}
    payload = json.loads(b64url_decode(payload_b64))
    expected = hmac.new(
        f"{secret_id}||{secret_key}".encode(),
        f"{header_b64}.{payload_b64}".encode("ascii"),
        hashlib.sha256,
    ).digest()
    assert hmac.compare_digest(b64url_decode(signature_b64), expected)
    assert payload["iss"] == secret_id
    return payload  # type: ignore[no-any-return]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestSignJwt:
    def test_a_server_can_verify_it(self) -> None:
        token = sign_jwt(SECRET_ID, SECRET_KEY, 1_700_000_000)
        assert verify_jwt(token, SECRET_ID, SECRET_KEY) == {
            "iss": SECRET_ID,
            "iat": 1_700_000_000,
        }

    def test_the_wrong_key_does_not_verify(self) -> None:
        token = sign_jwt(SECRET_ID, SECRET_KEY, 1_700_000_000)
        with pytest.raises(AssertionError):
            verify_jwt(token, SECRET_ID, SECRET_KEY + "x")

    def test_non_ascii_ids_are_signed_as_utf8(self) -> None:
        token = sign_jwt("idé", "clé", 5)
        assert verify_jwt(token, "idé", "clé")["iat"] == 5


class TestSecretCredentials:
    def test_signs_a_fresh_token_with_iat_now(self) -> None:
        creds = SecretCredentials(SECRET_ID, SECRET_KEY, clock=FakeClock(1_700_000_000.7))
        header = creds.authorization()
        assert header.startswith("Bearer ")
        payload = verify_jwt(header.removeprefix("Bearer "), SECRET_ID, SECRET_KEY)
        assert payload["iat"] == 1_700_000_000

    def test_reuses_the_token_before_four_minutes_and_resigns_at_four(self) -> None:
        clock = FakeClock(1_700_000_000.0)
        creds = SecretCredentials(SECRET_ID, SECRET_KEY, clock=clock, monotonic=clock)
        first = creds.authorization()
        clock.now += TOKEN_REFRESH_AGE - 0.001
        assert creds.authorization() == first
        clock.now = 1_700_000_000.0 + TOKEN_REFRESH_AGE
        second = creds.authorization()
        assert second != first
        payload = verify_jwt(second.removeprefix("Bearer "), SECRET_ID, SECRET_KEY)
        assert payload["iat"] == 1_700_000_000 + TOKEN_REFRESH_AGE

    def test_the_age_counts_from_the_whole_second_of_iat(self) -> None:
        clock = FakeClock(1_700_000_000.75)
        creds = SecretCredentials(SECRET_ID, SECRET_KEY, clock=clock, monotonic=clock)
        first = creds.authorization()
        clock.now = 1_700_000_000 + TOKEN_REFRESH_AGE - 0.001
        assert creds.authorization() == first
        clock.now = 1_700_000_000 + TOKEN_REFRESH_AGE
        assert creds.authorization() != first

    def test_a_wall_clock_stepped_back_does_not_keep_a_token_past_its_age(self) -> None:
        wall, elapsed = FakeClock(1_700_000_000.0), FakeClock(50.0)
        creds = SecretCredentials(SECRET_ID, SECRET_KEY, clock=wall, monotonic=elapsed)
        first = creds.authorization()
        # 240 real seconds pass, during which the wall clock is stepped back by 100 s.
        elapsed.now += TOKEN_REFRESH_AGE
        wall.now += TOKEN_REFRESH_AGE - 100
        second = creds.authorization()
        assert second != first
        # iat stays on the wall clock, which is what Heymarket compares it with.
        assert verify_jwt(second.removeprefix("Bearer "), SECRET_ID, SECRET_KEY)["iat"] == (
            1_700_000_000 + TOKEN_REFRESH_AGE - 100
        )

    def test_a_wall_clock_moved_past_the_tokens_age_resigns(self) -> None:
        # A machine that slept an hour: the monotonic clock stopped, the wall clock (and
        # Heymarket's, which checks iat) went on. The old token would be refused.
        wall, elapsed = FakeClock(1_700_000_000.0), FakeClock(50.0)
        creds = SecretCredentials(SECRET_ID, SECRET_KEY, clock=wall, monotonic=elapsed)
        first = creds.authorization()
        wall.now += 3600
        elapsed.now += 1
        assert creds.authorization() != first
        wall.now += 10
        assert creds.authorization() == creds.authorization()  # and kept again after that

    def test_a_token_is_never_used_near_its_expiry(self) -> None:
        assert TOKEN_REFRESH_AGE <= TOKEN_LIFETIME - 30

    def test_secrets_lists_the_key_and_the_current_token(self) -> None:
        creds = SecretCredentials(SECRET_ID, SECRET_KEY, clock=FakeClock(10.0))
        assert creds.secrets() == (SECRET_KEY,)
        token = creds.authorization().removeprefix("Bearer ")
        assert creds.secrets() == (SECRET_KEY, token)
        assert creds.secret_id == SECRET_ID

    def test_repr_hides_the_key_and_the_token(self) -> None:
        creds = SecretCredentials(SECRET_ID, SECRET_KEY)
        token = creds.authorization().removeprefix("Bearer ")
        assert SECRET_KEY not in repr(creds)
        assert token not in repr(creds)


class TestApiKeyCredentials:
    def test_sends_the_key_as_a_bearer_token(self) -> None:
        creds = ApiKeyCredentials("k-123456")
        assert creds.authorization() == "Bearer k-123456"
        assert creds.secrets() == ("k-123456",)
        assert "k-123456" not in repr(creds)

    def test_the_base_class_is_abstract(self) -> None:
        with pytest.raises(NotImplementedError):
            Credentials().authorization()
        with pytest.raises(NotImplementedError):
            Credentials().secrets()


class TestResolveCredentials:
    def test_an_explicit_key(self) -> None:
        creds = resolve_credentials("k-123456", None, None, {})
        assert isinstance(creds, ApiKeyCredentials)

    def test_an_explicit_pair_wins_over_a_key_and_the_environment(self) -> None:
        env = {
            "HEYMARKET_API_KEY": "env-key",
            "HEYMARKET_SECRET_ID": "e",
            "HEYMARKET_SECRET_KEY": "f",
        }
        creds = resolve_credentials("k-123456", SECRET_ID, SECRET_KEY, env)
        assert isinstance(creds, SecretCredentials)
        assert creds.secret_id == SECRET_ID

    def test_an_explicit_key_wins_over_the_environment(self) -> None:
        env = {"HEYMARKET_SECRET_ID": "e", "HEYMARKET_SECRET_KEY": "f"}
        assert resolve_credentials("k-123456", None, None, env).secrets() == ("k-123456",)

    def test_the_environment_pair_wins_over_the_environment_key(self) -> None:
        env = {
            "HEYMARKET_API_KEY": "env-key",
            "HEYMARKET_SECRET_ID": "e",
            "HEYMARKET_SECRET_KEY": "f",
        }
        creds = resolve_credentials(None, None, None, env)
        assert isinstance(creds, SecretCredentials)
        assert creds.secret_id == "e"

    def test_the_environment_key(self) -> None:
        creds = resolve_credentials(None, None, None, {"HEYMARKET_API_KEY": "env-key"})
        assert creds.authorization() == "Bearer env-key"

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            ((None, SECRET_ID, None), "secret_key"),
            ((None, None, SECRET_KEY), "secret_id"),
            (("k-123456", SECRET_ID, None), "secret_key"),
        ],
    )
    def test_half_a_pair_is_an_error(self, args: tuple[Any, Any, Any], field: str) -> None:
        with pytest.raises(InvalidRequestError, match="together") as info:
            resolve_credentials(*args, {})
        assert info.value.field == field

    @pytest.mark.parametrize(
        ("env", "field"),
        [
            ({"HEYMARKET_SECRET_ID": "e"}, "HEYMARKET_SECRET_KEY"),
            ({"HEYMARKET_SECRET_KEY": "f", "HEYMARKET_API_KEY": "k"}, "HEYMARKET_SECRET_ID"),
        ],
    )
    def test_half_a_pair_in_the_environment_is_an_error_not_a_fallback(
        self, env: dict[str, str], field: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match="together") as info:
            resolve_credentials(None, None, None, env)
        assert info.value.field == field

    def test_nothing_at_all_is_a_clear_error(self) -> None:
        with pytest.raises(InvalidRequestError, match="HEYMARKET_API_KEY") as info:
            resolve_credentials(None, None, None, {"HEYMARKET_API_KEY": ""})
        assert info.value.field == "api_key"

    @pytest.mark.parametrize(
        ("args", "field"),
        [
            (("", None, None), "api_key"),
            (("   ", None, None), "api_key"),
            ((123, None, None), "api_key"),
            ((None, "", SECRET_KEY), "secret_id"),
            ((None, SECRET_ID, " "), "secret_key"),
        ],
    )
    def test_empty_or_non_string_values_are_errors(
        self, args: tuple[Any, Any, Any], field: str
    ) -> None:
        with pytest.raises(InvalidRequestError) as info:
            resolve_credentials(*args, {})
        assert info.value.field == field

    @pytest.mark.parametrize("key", ["k-123456\n", " k-123456", "k-12\r\n3456", "k-12\x003456"])
    def test_a_key_that_cannot_go_into_a_header_is_refused_without_echoing_it(
        self, key: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match="control character") as info:
            resolve_credentials(key, None, None, {})
        assert "123456" not in str(info.value)
        with pytest.raises(InvalidRequestError) as info:
            resolve_credentials(None, None, None, {"HEYMARKET_API_KEY": key})
        assert info.value.field == "HEYMARKET_API_KEY"


class TestClientCredentials:
    """End to end: what the server receives, and the environment fallbacks."""

    async def test_a_secret_pair_sends_a_verifiable_jwt_reused_then_resigned(
        self, wire: WireServer
    ) -> None:
        clock = FakeClock(1_700_000_000.0)
        async with HeymarketClient(
            secret_id=SECRET_ID, secret_key=SECRET_KEY, base_url=wire.url
        ) as hm:
            install_clock(hm, clock=clock, wall_clock=clock)
            await hm.delete_contact(1)
            clock.now += 60
            await hm.delete_contact(2)
            clock.now += TOKEN_REFRESH_AGE
            await hm.delete_contact(3)
        tokens = [r.headers["Authorization"].removeprefix("Bearer ") for r in wire.requests]
        assert tokens[0] == tokens[1] != tokens[2]
        assert verify_jwt(tokens[0], SECRET_ID, SECRET_KEY)["iat"] == 1_700_000_000
        assert verify_jwt(tokens[2], SECRET_ID, SECRET_KEY)["iat"] == 1_700_000_300

    async def test_env_api_key_and_base_url_are_used(
        self, wire: WireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "env-key-123456")
        monkeypatch.setenv("HEYMARKET_BASE_URL", wire.url + "/")
        async with HeymarketClient() as hm:
            assert hm.base_url == wire.url
            await hm.delete_contact(1)
        assert wire.last.headers["Authorization"] == "Bearer env-key-123456"

    async def test_env_secret_pair_is_used(
        self, wire: WireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_SECRET_ID", SECRET_ID)
        monkeypatch.setenv("HEYMARKET_SECRET_KEY", SECRET_KEY)
        async with HeymarketClient(base_url=wire.url) as hm:
            await hm.delete_contact(1)
        token = wire.last.headers["Authorization"].removeprefix("Bearer ")
        verify_jwt(token, SECRET_ID, SECRET_KEY)

    def test_no_credentials_fails_at_construction(self) -> None:
        with pytest.raises(InvalidRequestError, match="no credentials"):
            HeymarketClient()

    def test_half_a_pair_fails_at_construction(self) -> None:
        with pytest.raises(InvalidRequestError, match="together"):
            HeymarketClient(secret_id=SECRET_ID)

    def test_repr_shows_no_secret(self) -> None:
        for hm in (
            HeymarketClient("k-secret-123456"),
            HeymarketClient(secret_id=SECRET_ID, secret_key=SECRET_KEY),
        ):
            text = repr(hm)
            assert "k-secret-123456" not in text
            assert SECRET_KEY not in text
            assert "eyJ" not in text
            assert "api.heymarket.com" in text
