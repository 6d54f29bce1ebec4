"""RedisRateLimiter against a real redis-server: the script's arithmetic (on a time given in test
mode), turns shared by limiters and processes, pauses, deadlines and cancellation, Redis failing
and coming back, and the key never reaching Redis."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import importlib.util
import itertools
import json
import logging
import os
import subprocess
import sys
import time
import types
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heymarket_async import (
    ClientClosedError,
    Hooks,
    RateLimiter,
    RedisRateLimiter,
    RequestEvent,
)
from heymarket_async._ratelimit import CUT, CUT_SPAN, FLOOR, RECOVERY
from heymarket_async._redis_limiter import IDLE_TTL, KEY_PREFIX, SharedBudget, redis_key
from heymarket_async.testing import FakeHeymarket, Fault, RateLimitRule
from tests._redis import RedisServer, free_port, missing, require_redis

try:
    from redis.asyncio import Redis
except ImportError:  # pragma: no cover - the dev extra installs it
    missing("redis-py is not installed (pip install -e '.[dev]')", module=True)

ROOT = Path(__file__).resolve().parent.parent
#: The tolerance of a spacing measured in real time: the event loop's timers and a Redis round
#: trip that comes back late (a send is never early, but a late one narrows the next gap).
SLACK = 0.02


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the module; each test has a budget (``key``) of its own."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def key() -> str:
    return f"hm-secret-{uuid.uuid4().hex}"


@pytest.fixture
async def redis(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url)
    yield client
    await client.aclose()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, to kill and start again."""
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


class FakeNow:
    """The time the test-mode script is given, in seconds."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def budget(
    redis: Redis,
    key: str,
    now: FakeNow,
    per_minute: float = 60,
    *,
    headroom: float = 0.0,
    learn: bool = False,
) -> SharedBudget:
    return SharedBudget(redis, redis_key(key), per_minute, headroom=headroom, learn=learn, now=now)


async def turn(shared: SharedBudget, now: FakeNow, left: float | None = None) -> float | None:
    """The send time reserved at ``now.now`` (``None``: refused)."""
    granted, wait = await shared.reserve(left)
    return now.now + wait if granted else None


class TestScript:
    """The Lua script's arithmetic, on a time given in test mode (one call, one reservation)."""

    async def test_an_idle_budget_lets_the_first_request_go_at_once(
        self, redis: Redis, key: str
    ) -> None:
        now = FakeNow()
        assert await budget(redis, key, now).reserve(None) == (True, 0.0)

    async def test_turns_are_one_interval_apart(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now, per_minute=600)
        waits = [(await shared.reserve(None))[1] for _ in range(4)]
        assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3], abs=2e-6)

    async def test_no_burst_after_idling(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now)
        start = now.now
        assert await turn(shared, now) == start
        now.now += 100
        assert await turn(shared, now) == start + 100
        assert await turn(shared, now) == pytest.approx(start + 101, abs=2e-6)

    async def test_headroom_paces_under_the_rate(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now, headroom=0.02)
        await shared.reserve(None)
        assert (await shared.reserve(None))[1] == pytest.approx(1 / 0.98, abs=2e-6)

    async def test_a_turn_at_or_after_the_deadline_is_refused_and_reserves_nothing(
        self, redis: Redis, key: str
    ) -> None:
        now = FakeNow()
        shared = budget(redis, key, now)
        await shared.reserve(None)
        assert await shared.reserve(0.5) == (False, pytest.approx(1.0))
        assert await shared.reserve(1.0) == (False, pytest.approx(1.0))
        assert await shared.reserve(0.0) == (False, pytest.approx(1.0))
        assert await shared.reserve(1.5) == (True, pytest.approx(1.0))

    async def test_a_pause_holds_back_every_later_turn(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now, per_minute=600)
        await shared.reserve(None)
        assert await shared.pause(5.0) == pytest.approx(5.0)
        assert (await shared.reserve(None))[1] == pytest.approx(5.0)
        assert (await shared.reserve(None))[1] == pytest.approx(5.1)

    async def test_a_shorter_pause_never_shortens_a_longer_one(
        self, redis: Redis, key: str
    ) -> None:
        now = FakeNow()
        shared = budget(redis, key, now)
        await shared.pause(5.0)
        now.now += 1
        assert await shared.pause(1.0) == pytest.approx(4.0)
        now.now += 1
        assert (await shared.reserve(None))[1] == pytest.approx(3.0)

    async def test_a_429_cuts_the_rate_once_per_pause(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now, learn=True)
        await shared.pause(1.0)
        now.now += 0.5
        await shared.pause(1.0)  # the same pause: requests in flight draw 429s together
        assert float(await redis.hget(redis_key(key), "factor")) == pytest.approx(1 - CUT)
        now.now += 1.0
        await shared.reserve(None)
        share = 1 - CUT + RECOVERY * 1.5 / 60
        assert (await shared.reserve(None))[1] == pytest.approx(1 / share, abs=2e-6)

    async def test_429s_of_one_overload_cut_once_across_short_pauses(
        self, redis: Redis, key: str
    ) -> None:
        # The pauses of a server that says no Retry-After: short backoffs, each ended before
        # the next 429. One cut in CUT_SPAN, then a second.
        now = FakeNow()
        shared = budget(redis, key, now, learn=True)
        for step, pause in ((0.0, 0.05), (0.12, 0.3), (0.38, 0.2), (58.0, 4.0)):
            now.now += step
            await shared.pause(pause)
        assert float(await redis.hget(redis_key(key), "factor")) == pytest.approx(1 - CUT)
        now.now += CUT_SPAN
        await shared.pause(1.0)
        share = 1 - CUT + RECOVERY * (58.5 + CUT_SPAN) / 60
        factor = float(await redis.hget(redis_key(key), "factor"))
        assert factor == pytest.approx(share - CUT, abs=1e-6)

    async def test_the_cut_wears_off_up_to_the_headroom(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now, learn=True, headroom=0.02)
        await shared.pause(1.0)
        now.now += CUT / RECOVERY * 60 + 60  # long enough to recover the whole cut
        await shared.reserve(None)
        assert (await shared.reserve(None))[1] == pytest.approx(1 / 0.98, abs=2e-6)

    async def test_the_rate_never_falls_below_the_floor(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now, learn=True)
        for _ in range(40):
            await shared.pause(1.0)
            now.now += CUT_SPAN
        assert float(await redis.hget(redis_key(key), "factor")) == pytest.approx(FLOOR)

    async def test_without_learning_a_429_only_pauses(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now)
        await shared.pause(2.0)
        now.now += 2.0
        await shared.reserve(None)
        assert (await shared.reserve(None))[1] == pytest.approx(1.0, abs=2e-6)

    async def test_an_idle_budget_expires(self, redis: Redis, key: str) -> None:
        now = FakeNow()
        shared = budget(redis, key, now)
        await shared.reserve(None)
        # Kept the idle TTL after its last reserved turn (one interval from now).
        ttl = await redis.pttl(redis_key(key))
        assert IDLE_TTL * 1000 < ttl <= IDLE_TTL * 1000 + 1000
        await shared.pause(30.0)
        ttl = await redis.pttl(redis_key(key))
        assert IDLE_TTL * 1000 + 29_000 < ttl <= IDLE_TTL * 1000 + 30_000
        # A turn long past shortens nothing.
        now.now += 1000
        await shared.pause(1.0)
        ttl = await redis.pttl(redis_key(key))
        assert IDLE_TTL * 1000 < ttl <= IDLE_TTL * 1000 + 1000

    async def test_the_pacing_script_reads_redis_time_and_takes_none(
        self, redis: Redis, key: str
    ) -> None:
        shared = SharedBudget(redis, redis_key(key), 60, headroom=0, learn=False)
        text: str = shared._script.script  # type: ignore[assignment]
        assert "redis.call('TIME')" in text
        assert "ARGV[10]" not in text
        # A time passed to it anyway (a year ago) changes nothing: Redis's own is used.
        name = redis_key(key)
        await redis.eval(text, 1, name, "acquire", "1e6", "-1", "0", "1", "0", "0", "0", "0", "0")
        seconds, micros = await redis.time()
        tat = float(await redis.hget(name, "tat")) / 1e6
        assert abs(tat - (seconds + micros / 1e6 + 1.0)) < 1.0

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        per_minute=st.sampled_from([1, 30, 500, 6000]),
        gaps=st.lists(st.floats(0, 2, allow_nan=False), min_size=1, max_size=60),
    )
    def test_never_more_than_the_rate_in_any_minute(
        self, url: str, per_minute: int, gaps: list[float]
    ) -> None:
        async def reserve_all() -> list[float]:
            client = Redis.from_url(url)
            now = FakeNow()
            shared = budget(client, f"hypothesis-{uuid.uuid4().hex}", now, per_minute)
            slots = []
            for gap in gaps:
                now.now += gap
                slot = await turn(shared, now)
                assert slot is not None
                assert slot >= now.now
                slots.append(slot)
            await client.aclose()
            return slots

        slots = asyncio.run(reserve_all())
        assert slots == sorted(slots)
        # Evenly spaced (so at most per_minute in any minute); a wait is rounded up to the
        # microsecond, never down.
        for a, b in itertools.pairwise(slots):
            assert b - a >= 60 / per_minute - 2e-6


def limiter(
    url: str | Redis, key: str, per_minute: float = 1500, **options: Any
) -> RedisRateLimiter:
    """A limiter at exactly ``per_minute`` (no headroom): the spacing tests measure it."""
    options.setdefault("headroom", 0)
    return RedisRateLimiter(url, key=key, per_minute=per_minute, **options)


async def grant_times(
    limiters: list[RedisRateLimiter], tasks: int, turns: int, clocks: list[Callable[[], float]]
) -> list[float]:
    """``tasks`` tasks on each limiter (with its clock) take ``turns`` turns each: the real
    times the turns came, sorted."""
    times: list[float] = []

    async def task(shared: RedisRateLimiter, clock: Callable[[], float]) -> None:
        for _ in range(turns):
            assert await shared.acquire(clock() + 30, clock, asyncio.sleep)
            times.append(time.monotonic())

    await asyncio.gather(
        *(task(s, c) for s, c in zip(limiters, clocks, strict=True) for _ in range(tasks))
    )
    return sorted(times)


def min_gap(times: list[float]) -> float:
    return min(b - a for a, b in itertools.pairwise(times))


class TestSharing:
    async def test_limiters_sharing_a_key_space_their_turns(self, url: str, key: str) -> None:
        shared = [limiter(url, key) for _ in range(3)]  # one turn every 40 ms in all
        try:
            times = await grant_times(shared, tasks=3, turns=2, clocks=[time.monotonic] * 3)
        finally:
            for s in shared:
                await s.aclose()
        assert len(times) == 18
        assert min_gap(times) >= 0.04 - SLACK
        # And not slower than the budget allows, whatever the round trips.
        assert times[-1] - times[0] < 17 * 0.04 + 0.25

    async def test_other_keys_are_other_budgets(self, url: str, key: str) -> None:
        clock, sleep = time.monotonic, asyncio.sleep
        async with limiter(url, key, per_minute=1) as a, limiter(url, key + "-2", 1) as b:
            assert await a.acquire(clock() + 5, clock, sleep)
            assert not await a.acquire(clock() + 5, clock, sleep)  # a minute away
            assert await b.acquire(clock() + 5, clock, sleep)

    async def test_only_the_first_waiting_task_of_a_process_asks_redis(
        self, url: str, key: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls, in_flight, most = 0, 0, 0
        reserve = SharedBudget.reserve

        async def counted(self: SharedBudget, left: float | None) -> tuple[bool, float]:
            nonlocal calls, in_flight, most
            calls += 1
            in_flight += 1
            most = max(most, in_flight)
            try:
                return await reserve(self, left)
            finally:
                in_flight -= 1

        monkeypatch.setattr(SharedBudget, "reserve", counted)
        async with limiter(url, key, per_minute=3000) as shared:
            await grant_times([shared], tasks=10, turns=1, clocks=[time.monotonic])
        assert most == 1
        assert calls == 10  # one round trip a turn

    async def test_skewed_clocks_share_one_timeline(self, url: str, key: str) -> None:
        # Two machines whose clocks are ten minutes apart: only Redis's time counts.
        ahead = lambda: time.monotonic() + 600  # noqa: E731
        behind = lambda: time.monotonic() - 600  # noqa: E731
        shared = [limiter(url, key), limiter(url, key)]
        try:
            times = await grant_times(shared, tasks=2, turns=3, clocks=[ahead, behind])
        finally:
            for s in shared:
                await s.aclose()
        assert min_gap(times) >= 0.04 - SLACK
        assert times[-1] - times[0] < 11 * 0.04 + 0.25


class TestPause:
    async def test_a_pause_heard_by_one_limiter_holds_back_another(
        self, url: str, key: str
    ) -> None:
        async with limiter(url, key, per_minute=6000) as a, limiter(url, key, 6000) as b:
            assert await b.acquire(None, time.monotonic, asyncio.sleep)
            start = time.monotonic()
            await a.pause(0.3, time.monotonic)
            assert await b.acquire(None, time.monotonic, asyncio.sleep)
            assert time.monotonic() - start >= 0.3 - SLACK

    async def test_a_429_answered_to_one_client_pauses_the_other(self, url: str, key: str) -> None:
        paused = asyncio.Event()

        def on_retry(event: RequestEvent) -> None:
            paused.set()  # called once the client told its limiter about the 429

        async with (
            FakeHeymarket() as fake,
            limiter(url, key, per_minute=6000) as mine,
            limiter(url, key, per_minute=6000) as theirs,
        ):
            fake.seed(2)
            fake.faults.add("*", Fault.rate_limited(retry_after=0.3), times=1)
            a = fake.client(rate_limit=mine, hooks=Hooks(on_retry=on_retry))
            b = fake.client(rate_limit=theirs)
            first = asyncio.create_task(a.get_contact(1))
            await paused.wait()
            await b.get_contact(2)
            await first
        limited, retried = [r for r in fake.requests if r.path == "/v1/contact/1"]
        (other,) = [r for r in fake.requests if r.path == "/v1/contact/2"]
        assert (limited.status, retried.status, other.status) == (429, 200, 200)
        assert other.time - limited.time >= 0.3 - SLACK
        assert retried.time - limited.time >= 0.3 - SLACK


def tat(value: bytes | None) -> float:
    assert value is not None
    return float(value) / 1e6


class TestDeadlinesAndCancellation:
    async def test_a_turn_at_or_after_the_deadline_is_refused_at_once_reserving_nothing(
        self, url: str, key: str, redis: Redis
    ) -> None:
        # One a second; another process took the turn, so that this one's queue is empty and
        # only Redis knows.
        async with limiter(url, key, 60) as other, limiter(url, key, 60) as shared:
            assert await other.acquire(None, time.monotonic, asyncio.sleep)
            before = await redis.hget(shared.redis_key, "tat")
            start = time.monotonic()
            assert not await shared.acquire(start + 0.5, time.monotonic, asyncio.sleep)
            assert time.monotonic() - start < 0.2
            assert await redis.hget(shared.redis_key, "tat") == before

    @pytest.mark.parametrize(
        ("paused", "deadline"), [(0.0, 1.5), (3.0, 2.0)], ids=["by-the-queue", "by-redis"]
    )
    async def test_a_waiter_that_cannot_make_its_deadline_leaves_at_once(
        self, url: str, key: str, paused: float, deadline: float
    ) -> None:
        """Behind a task waiting for its turn, one whose deadline comes first returns False at
        once: as this process's queue shows it (a turn a second), or as Redis answered the task
        ahead (a 429 of another process paused the key for 3 s)."""
        clock, sleep = time.monotonic, asyncio.sleep
        async with limiter(url, key, 60) as other, limiter(url, key, 60) as shared:
            if paused:
                await other.pause(paused, clock)
            else:
                assert await shared.acquire(None, clock, sleep)
            ahead = asyncio.create_task(shared.acquire(None, clock, sleep))
            await asyncio.sleep(0.05)
            start = clock()
            assert not await shared.acquire(start + deadline, clock, sleep)
            assert clock() - start < 0.2
            ahead.cancel()

    async def test_a_cancelled_waiter_costs_at_most_the_turn_it_reserved(
        self, url: str, key: str
    ) -> None:
        clock, sleep = time.monotonic, asyncio.sleep
        # One every 100 ms, for another process and this one.
        async with limiter(url, key, 600) as other, limiter(url, key, 600) as shared:
            assert await other.acquire(None, clock, sleep)
            start = clock()
            reserved = asyncio.create_task(shared.acquire(None, clock, sleep))
            queued = asyncio.create_task(shared.acquire(None, clock, sleep))
            last = asyncio.create_task(shared.acquire(None, clock, sleep))
            await asyncio.sleep(0.07)  # ``reserved`` holds the turn at 100 ms, ``queued`` none
            reserved.cancel()
            queued.cancel()
            assert await last
            came = clock() - start
        # The turn at 100 ms is lost with the task that reserved it; ``queued`` cost nothing.
        assert 0.2 - SLACK <= came < 0.3 - SLACK

    async def test_timed_out_waiters_cost_nothing(self, url: str, key: str) -> None:
        clock, sleep = time.monotonic, asyncio.sleep
        async with limiter(url, key, per_minute=600) as shared:
            assert await shared.acquire(None, clock, sleep)
            start = clock()
            late = [shared.acquire(start + 0.05, clock, sleep) for _ in range(3)]
            assert await asyncio.gather(*late) == [False] * 3
            assert await shared.acquire(None, clock, sleep)
            assert clock() - start < 0.1 + SLACK

    async def test_a_client_closed_while_waiting_raises_promptly(
        self, url: str, key: str, redis: Redis
    ) -> None:
        async with (
            FakeHeymarket() as fake,
            limiter(url, key, per_minute=6) as other,  # a turn every 10 s
            limiter(url, key, per_minute=6) as shared,
        ):
            fake.seed(5)
            hm = fake.client(rate_limit=shared, timeout=None)
            assert await other.acquire(None, time.monotonic, asyncio.sleep)
            # The first reserves the turn 10 s away; the others wait in this process's queue.
            calls = [asyncio.create_task(hm.get_contact(i)) for i in range(1, 4)]
            await asyncio.sleep(0.05)
            start = time.monotonic()
            await hm.close()
            done, pending = await asyncio.wait(calls, timeout=1.0)
            assert not pending
            assert time.monotonic() - start < 0.5
            assert all(isinstance(t.exception(), ClientClosedError) for t in done)
            assert list(fake.requests) == []
            # One turn lost (the one reserved), not three: the next is 20 s away, not 40.
            seconds, micros = await redis.time()
            left = tat(await redis.hget(shared.redis_key, "tat")) - (seconds + micros / 1e6)
            assert 10 < left <= 20


class TestRedisFails:
    async def test_redis_refusing_falls_back_to_a_share_of_the_rate(
        self, key: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        require_redis()
        nowhere = f"redis://:hunter2-redis-password@127.0.0.1:{free_port()}/0"
        clock, sleep = time.monotonic, asyncio.sleep
        with caplog.at_level(logging.INFO, logger="heymarket_async"):
            async with limiter(nowhere, key, per_minute=1200, fallback_share=0.5) as shared:
                await shared.pause(0.0, clock)  # the first to find Redis down
                times = []
                for _ in range(4):
                    assert await asyncio.wait_for(shared.acquire(None, clock, sleep), 2)
                    times.append(clock())
        # 100 ms apart: half of 1,200 a minute, this process alone.
        assert min_gap(times) >= 0.1 - SLACK
        assert times[-1] - times[0] < 0.3 + 0.7
        (record,) = caplog.records
        assert record.levelno == logging.WARNING
        assert "Redis failed" in record.getMessage()
        assert "600 requests a minute" in record.getMessage()
        assert "hunter2" not in record.getMessage()
        assert key not in record.getMessage()

    async def test_a_redis_that_never_answers_costs_at_most_the_timeout(
        self, key: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        require_redis()
        connections: list[asyncio.StreamWriter] = []

        async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connections.append(writer)  # reads nothing, answers nothing

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # A client of the user's, with no socket timeout and redis-py's retries: the limiter's
        # own timeout cuts each call off all the same.
        mine = Redis.from_url(f"redis://127.0.0.1:{port}")
        try:
            async with limiter(mine, key, timeout=0.1) as shared:
                clock, sleep = time.monotonic, asyncio.sleep
                start = clock()
                # Its deadline passes while Redis says nothing: no turn, after the timeout.
                assert not await shared.acquire(start + 0.05, clock, sleep)
                assert 0.1 <= clock() - start < 0.1 + 0.2
                # Then this process paces alone: a turn within an interval (40 ms).
                start = clock()
                assert await shared.acquire(None, clock, sleep)
                assert clock() - start < 0.04 + SLACK
                # While it is down, it is not asked again before retry_every.
                start = time.monotonic()
                await shared.pause(0.01, time.monotonic)
                assert time.monotonic() - start < 0.05
        finally:
            await mine.aclose()
            for writer in connections:
                writer.close()
            server.close()
            await server.wait_closed()
        assert "no answer within 0.1 s" in caplog.text

    async def test_redis_killed_mid_run_falls_back_then_comes_back(
        self, own_server: RedisServer, key: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        clock, sleep = time.monotonic, asyncio.sleep
        options = {"fallback_share": 0.5, "timeout": 0.2, "retry_every": 0.3}
        with caplog.at_level(logging.INFO, logger="heymarket_async"):
            async with limiter(own_server.url, key, per_minute=1200, **options) as shared:

                async def take() -> float:
                    assert await asyncio.wait_for(shared.acquire(None, clock, sleep), 2)
                    return clock()

                for _ in range(3):
                    await take()
                own_server.kill()
                start = clock()
                await take()  # refused: at once, on this process's share
                assert clock() - start < 0.2 + 0.1
                down = [await take() for _ in range(3)]
                assert min_gap(down) >= 0.1 - SLACK  # 600 a minute, half of 1,200
                own_server.start()  # the same port, empty
                while clock() - start < 0.3:
                    await take()
                up = [await take() for _ in range(4)]
                async with Redis.from_url(own_server.url) as redis:
                    # Turns are taken from the restarted Redis again (the script loaded anew).
                    assert await redis.exists(shared.redis_key)
        assert min_gap(up[1:]) >= 0.05 - SLACK
        messages = [(r.levelno, r.getMessage()) for r in caplog.records]
        assert [level for level, _ in messages] == [logging.WARNING, logging.INFO]
        assert "Redis failed" in messages[0][1]
        assert "Redis answers again" in messages[1][1]

    async def test_a_429_while_redis_is_down_still_pauses_this_process(self, key: str) -> None:
        require_redis()
        nowhere = f"redis://127.0.0.1:{free_port()}/0"
        async with limiter(nowhere, key, per_minute=6000) as shared:
            assert await shared.acquire(None, time.monotonic, asyncio.sleep)
            start = time.monotonic()
            await shared.pause(0.2, time.monotonic)
            assert await shared.acquire(None, time.monotonic, asyncio.sleep)
            assert time.monotonic() - start >= 0.2 - SLACK


async def everything_in(redis: Redis) -> list[bytes]:
    """Every key name and every value in Redis, whatever their type."""
    found: list[bytes] = []
    async for name in redis.scan_iter(count=1000):
        found.append(name)
        kind = (await redis.type(name)).decode()
        if kind == "hash":
            for field, value in (await redis.hgetall(name)).items():
                found += [field, value]
        elif kind == "string":
            found.append(await redis.get(name))
        else:
            found.append(await redis.dump(name))
    return found


class TestSecrets:
    async def test_the_key_never_reaches_redis(
        self, url: str, key: str, redis: Redis, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Every command is logged with its arguments from now on.
        await redis.config_set("slowlog-log-slower-than", 0)
        await redis.slowlog_reset()
        try:
            async with limiter(url, key, per_minute=6000) as shared:
                for _ in range(3):
                    assert await shared.acquire(None, time.monotonic, asyncio.sleep)
                await shared.pause(0.01, time.monotonic)
                sent = await redis.slowlog_get(1000)
        finally:
            await redis.config_set("slowlog-log-slower-than", 10000)
        name = KEY_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]
        assert shared.redis_key == name
        stored = await everything_in(redis)
        assert name.encode() in stored
        assert not [value for value in stored if key.encode() in value]
        arguments = [arg for entry in sent for arg in entry["command"].split()]
        assert any(name.encode() in arg for arg in arguments)
        assert not [arg for arg in arguments if key.encode() in arg]
        assert key not in caplog.text

    async def test_no_redis_password_reaches_the_log(
        self, tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        server = RedisServer(tmp_path, password="the-right-password-123").start()
        wrong = "a-wrong-password-456"
        mine = Redis(host="127.0.0.1", port=server.port, password=wrong)
        clock, sleep = time.monotonic, asyncio.sleep
        try:
            for redis in (mine, f"redis://:{wrong}@127.0.0.1:{server.port}/0"):
                async with limiter(redis, key) as shared:
                    assert await shared.acquire(None, clock, sleep)  # alone: Redis refused it
            async with limiter(server.url, key) as shared:
                assert await shared.acquire(None, clock, sleep)
            async with Redis.from_url(server.url) as right:
                assert await right.exists(redis_key(key))
        finally:
            await mine.aclose()
            server.stop()
        # redis-py's own retries (of the client given) outlast the limiter's timeout.
        assert caplog.text.count("Redis failed (no answer within 0.5 s)") == 1
        assert caplog.text.count("Redis failed (AuthenticationError") == 1
        assert wrong not in caplog.text
        assert "the-right-password-123" not in caplog.text

    def test_the_repr_shows_neither_key_nor_password(self, key: str) -> None:
        require_redis()
        shared = RedisRateLimiter("redis://:hunter2-redis-password@127.0.0.1:1/0", key=key)
        shown = repr(shared)
        assert key not in shown
        assert "hunter2" not in shown
        assert shown == f"RedisRateLimiter(per_minute=500, redis_key={redis_key(key)!r})"


class TestWithTheClient:
    async def test_a_client_paces_through_it(self, url: str, key: str) -> None:
        async with FakeHeymarket() as fake, limiter(url, key, per_minute=1200) as shared:
            fake.seed(1)
            assert isinstance(shared, RateLimiter)
            hm = fake.client(rate_limit=shared)
            await asyncio.gather(*(hm.get_contact(1) for _ in range(6)))
        times = sorted(r.time for r in fake.requests)
        # Six sends 50 ms apart span 250 ms (unpaced: a few ms). Arrival times, not send times,
        # so one late arrival may shorten one gap; the span holds.
        assert times[-1] - times[0] >= 5 * 0.05 - SLACK

    def test_it_serves_a_second_event_loop(self, url: str, key: str) -> None:
        shared = limiter(url, key, per_minute=6000)

        async def use() -> None:
            async with shared:
                assert await shared.acquire(None, time.monotonic, asyncio.sleep)

        asyncio.run(use())
        asyncio.run(use())  # its Redis client was closed with the first loop: a new one

    # Sockets a closed loop left open cannot be closed any more: they warn when collected.
    @pytest.mark.filterwarnings("ignore::ResourceWarning")
    def test_a_loop_closed_under_it_costs_no_turn(self, url: str, key: str) -> None:
        shared = limiter(url, key, per_minute=6000)

        async def use() -> None:
            assert await shared.acquire(None, time.monotonic, asyncio.sleep)

        asyncio.run(use())  # not closed before its loop ends
        asyncio.run(use())  # a client for the new loop, the old one dropped
        asyncio.run(shared.aclose())  # from a third loop: nothing to close through the second
        gc.collect()


class TestProcesses:
    async def test_three_processes_keep_the_spacing_together(
        self, url: str, key: str, tmp_path: Path
    ) -> None:
        # 1,000 a minute: 60 ms apart, whichever process sends. The emulator admits 10 in any
        # 0.5 s: the three together keep to it, each alone at 1,000 a minute would not.
        per_minute, tasks, requests = 1000, 2, 2
        rule = RateLimitRule(10, 0.5, sliding=True)
        async with FakeHeymarket(api_key=key, rate_limit=rule) as fake:
            fake.seed(1)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            argv = [url, fake.url, key, str(per_minute), str(tasks), str(requests)]
            workers = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests._redis_worker",
                    *argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    cwd=ROOT,
                    env=env,
                )
                for _ in range(3)
            ]
            for worker in workers:
                assert worker.stdout is not None
                assert await asyncio.wait_for(worker.stdout.readline(), 30) == b"ready\n"
            for worker in workers:  # all together
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
                await worker.stdin.drain()
            results = [await asyncio.wait_for(w.communicate(), 30) for w in workers]
        reports = [json.loads(out) for out, _ in results]
        assert [w.returncode for w in workers] == [0, 0, 0]
        assert [r["errors"] for r in reports] == [[], [], []]
        assert sum(len(r["done"]) for r in reports) == 3 * tasks * requests
        arrivals = sorted(r.time for r in fake.requests)
        assert [r.status for r in fake.requests] == [200] * 3 * tasks * requests
        assert fake.rate_log.refused() == 0
        assert fake.rate_log.max_in_window(0.5) <= 10
        assert min_gap(arrivals) >= 0.06 - SLACK
        # ``import heymarket_async`` imported no redis (RedisRateLimiter() did).
        assert [r["imported_redis"] for r in reports] == [False] * 3


class TestConstruction:
    def test_without_redis_py_it_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "redis", None)
        with pytest.raises(ImportError, match=r"pip install 'heymarket-async\[redis\]'"):
            RedisRateLimiter("redis://localhost", key="k")

    @pytest.mark.parametrize(
        ("options", "error"),
        [
            ({"key": ""}, TypeError),
            ({"key": None}, TypeError),
            ({"per_minute": 0}, ValueError),
            ({"per_minute": "500"}, TypeError),
            ({"fallback_share": 0}, ValueError),
            ({"fallback_share": 1.5}, ValueError),
            ({"fallback_share": True}, TypeError),
            ({"timeout": 0}, ValueError),
            ({"timeout": float("inf")}, ValueError),
            ({"retry_every": "5"}, TypeError),
            ({"learn": 1}, TypeError),
            ({"headroom": 0.9}, ValueError),
        ],
    )
    def test_bad_options_are_refused(self, options: dict[str, Any], error: type) -> None:
        require_redis()
        with pytest.raises(error):
            RedisRateLimiter("redis://localhost", **{"key": "k", **options})

    def test_redis_is_a_url_or_a_client(self) -> None:
        require_redis()
        with pytest.raises(TypeError, match=r"redis:// URL or a redis\.asyncio\.Redis"):
            RedisRateLimiter(6379, key="k")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="scheme"):
            RedisRateLimiter("http://localhost", key="k")

    async def test_a_client_of_yours_is_used_and_left_open(self, redis: Redis, key: str) -> None:
        async with RedisRateLimiter(redis, key=key, per_minute=6000) as shared:
            assert await shared.acquire(None, time.monotonic, asyncio.sleep)
        assert await redis.exists(redis_key(key))
        assert await redis.ping()


class TestTheArqExample:
    """``examples/arq_worker.py`` as arq runs it (arq itself stubbed: not a dependency here):
    startup on the worker's Redis connection, a job, shutdown."""

    async def test_a_job_takes_its_turn_from_the_workers_redis(
        self, url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        arq = types.ModuleType("arq")
        connections = types.ModuleType("arq.connections")

        class RedisSettings:
            @classmethod
            def from_dsn(cls, dsn: str) -> RedisSettings:
                return cls()

        connections.RedisSettings = RedisSettings  # type: ignore[attr-defined]
        arq.create_pool = None  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "arq", arq)
        monkeypatch.setitem(sys.modules, "arq.connections", connections)
        spec = importlib.util.spec_from_file_location("arq_worker", ROOT / "examples/arq_worker.py")
        assert spec is not None
        assert spec.loader is not None
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)

        async with FakeHeymarket(api_key="hm-example-key") as fake:
            monkeypatch.setenv("HEYMARKET_API_KEY", "hm-example-key")
            monkeypatch.setenv("HEYMARKET_BASE_URL", fake.url)
            ctx: dict[str, Any] = {"redis": redis}
            await example.startup(ctx)
            contact_id = await example.create_contact(ctx, "+15105553344", "Jordan", "crm-1")
            again = await example.create_contact(ctx, "+15105553344", "Jo", "crm-1")
            await example.shutdown(ctx)
            # The job run twice (arq retries a job whose worker died) updated one contact.
            assert again == contact_id
            assert fake.contacts[contact_id]["first"] == "Jo"
            assert fake.contacts[contact_id]["local_id"] == "crm-1"
        assert await redis.exists(redis_key("hm-example-key"))
        assert example.WorkerSettings.functions == (example.create_contact,)
