"""``--redis-url`` and ``HEYMARKET_REDIS_URL``: a command shares the key's budget through Redis
with the workers beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from heymarket_async._cli._args import build_parser
from heymarket_async._redis_limiter import redis_key
from tests._cli_helpers import run, threaded_fake
from tests._redis import RedisServer, free_port, missing

try:
    from redis.asyncio import Redis
except ImportError:  # pragma: no cover - the dev extra installs it
    missing("redis-py is not installed (pip install -e '.[dev]')", module=True)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def budget_in_redis(url: str, name: str) -> dict[bytes, bytes]:
    async def read() -> dict[bytes, bytes]:
        async with Redis.from_url(url) as redis:
            found: dict[bytes, bytes] = await redis.hgetall(name)
            return found

    return asyncio.run(read())


class TestRedisUrl:
    def test_an_export_takes_its_turns_from_redis(
        self,
        redis_server: RedisServer,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        with threaded_fake(250) as fake:
            monkeypatch.setenv("HEYMARKET_API_KEY", "test")
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            out = tmp_path / "c.jsonl"
            argv = ["export", "-o", str(out), "-q", "--rate-limit", "6000"]
            code, _, err = run([*argv, "--redis-url", redis_server.url], capsys)
        assert (code, err) == (0, "")
        assert len(out.read_text().splitlines()) == 250
        # The budget of the key "test", under its hash.
        assert b"tat" in budget_in_redis(redis_server.url, redis_key("test"))

    def test_the_environment_gives_the_url_and_a_secret_pair_its_id(
        self,
        redis_server: RedisServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        with threaded_fake(3, api_key=None, secret_id="sid-1", secret_key="s" * 32) as fake:
            monkeypatch.setenv("HEYMARKET_SECRET_ID", "sid-1")
            monkeypatch.setenv("HEYMARKET_SECRET_KEY", "s" * 32)
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            monkeypatch.setenv("HEYMARKET_REDIS_URL", redis_server.url)
            assert run(["count"], capsys) == (0, "3\n", "")
        assert budget_in_redis(redis_server.url, redis_key("sid-1"))

    def test_redis_down_the_command_paces_alone_and_finishes(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        nowhere = f"redis://127.0.0.1:{free_port()}/0"
        with threaded_fake(3) as fake:
            monkeypatch.setenv("HEYMARKET_API_KEY", "test")
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            code, out, err = run(["count", "--redis-url", nowhere, "--rate-limit", "6000"], capsys)
        assert (code, out) == (0, "3\n")
        # One line, the SDK's WARNING, as the command shows retries.
        (line,) = err.splitlines()
        assert line.startswith("heymarket-async: rate limit: Redis failed (ConnectionError")
        assert "pacing this process alone at 1470 requests a minute" in line

    def test_a_shared_budget_needs_a_rate(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "test")
        code, _, err = run(["count", "--redis-url", "redis://x", "--rate-limit", "0"], capsys)
        assert code == 2
        assert "redis_url: sharing a budget needs a --rate-limit above 0" in err

    def test_a_bad_url_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HEYMARKET_API_KEY", "test")
        code, _, err = run(["count", "--redis-url", "http://:pw-secret@x/0"], capsys)
        assert code == 2
        assert "redis_url:" in err
        assert "pw-secret" not in err

    def test_without_credentials_the_usual_message(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        code, _, err = run(["count", "--redis-url", "redis://127.0.0.1:1/0"], capsys)
        assert code == 2
        assert err.startswith("heymarket-async: error: no credentials: set HEYMARKET_API_KEY")

    def test_every_command_takes_it(self) -> None:
        parser = build_parser()
        for command in (["export"], ["count"], ["fields"], ["get", "42"]):
            args = parser.parse_args([*command, "--redis-url", "redis://localhost"])
            assert args.redis_url == "redis://localhost"
