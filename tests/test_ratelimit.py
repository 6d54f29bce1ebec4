"""The shared rate limiter: even spacing, deadlines, pauses on 429, and 200 concurrent calls."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import (
    APITimeoutError,
    HeymarketClient,
    InvalidRequestError,
    RateLimitError,
    RetryPolicy,
)
from heymarket_async._ratelimit import RateLimiter
from tests._fakes import FakeTime, ScaledTime
from tests._server import API_KEY, WireServer, json_reply


class TestReserve:
    def test_an_idle_limiter_lets_the_first_request_go_at_once(self) -> None:
        limiter = RateLimiter(500)
        assert limiter.reserve(10.0) == 10.0

    def test_requests_are_spaced_one_interval_apart(self) -> None:
        limiter = RateLimiter(600)  # one every 0.1 s
        slots = [limiter.reserve(10.0) for _ in range(4)]
        assert slots == pytest.approx([10.0, 10.1, 10.2, 10.3])

    def test_no_burst_after_idling(self) -> None:
        limiter = RateLimiter(60)
        assert limiter.reserve(0.0) == 0.0
        assert limiter.reserve(100.0) == 100.0
        assert limiter.reserve(100.0) == 101.0

    def test_a_slot_at_or_after_the_deadline_is_refused_and_not_claimed(self) -> None:
        limiter = RateLimiter(60)
        assert limiter.reserve(0.0) == 0.0
        assert limiter.reserve(0.0, deadline=0.5) is None
        assert limiter.reserve(0.0, deadline=1.0) is None
        assert limiter.reserve(0.0, deadline=1.5) == 1.0

    def test_pause_pushes_every_later_slot_past_it(self) -> None:
        limiter = RateLimiter(600)
        limiter.reserve(0.0)
        limiter.pause(0.0, 5.0)
        assert limiter.reserve(0.0) == 5.0
        assert limiter.reserve(0.0) == pytest.approx(5.1)

    def test_a_shorter_pause_never_shortens_a_longer_one(self) -> None:
        limiter = RateLimiter(600)
        limiter.pause(0.0, 5.0)
        limiter.pause(1.0, 1.0)
        assert limiter.reserve(2.0) == 5.0

    @given(
        per_minute=st.sampled_from([1, 30, 500, 6000]),
        gaps=st.lists(st.floats(0, 2, allow_nan=False), min_size=1, max_size=300),
    )
    def test_never_more_than_the_rate_in_any_minute(
        self, per_minute: int, gaps: list[float]
    ) -> None:
        limiter = RateLimiter(per_minute)
        now, slots = 0.0, []
        for gap in gaps:
            now += gap
            slot = limiter.reserve(now)
            assert slot is not None
            assert slot >= now
            slots.append(slot)
        assert slots == sorted(slots)
        # Evenly spaced, so any half-open 60 s window holds at most per_minute sends.
        for a, b in itertools.pairwise(slots):
            assert b - a >= 60 / per_minute - 1e-9
        # Sums of float intervals drift by ~1e-12 s: far below any server's clock.
        j = 0
        for i, start in enumerate(slots):
            while j < len(slots) and slots[j] < start + 60 - 1e-9:
                j += 1
            assert j - i <= per_minute

    def test_repr(self) -> None:
        assert repr(RateLimiter(500)) == "RateLimiter(per_minute=500)"

    @pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
    def test_rejects_a_rate_that_is_not_positive_and_finite(self, bad: float) -> None:
        with pytest.raises(ValueError, match="rate_limit"):
            RateLimiter(bad)

    @pytest.mark.parametrize("bad", [True, "500", None])
    def test_rejects_a_rate_that_is_not_a_number(self, bad: object) -> None:
        with pytest.raises(TypeError, match="rate_limit"):
            RateLimiter(bad)  # type: ignore[arg-type]


class TestWaitTurn:
    async def test_concurrent_tasks_go_one_interval_apart(self) -> None:
        fast = ScaledTime()
        limiter = RateLimiter(60)  # one a "second": a millisecond of real time
        went: list[tuple[int, float]] = []

        async def task(k: int) -> None:
            assert await limiter.wait_turn(fast.clock, fast.sleep, None)
            went.append((k, fast.clock()))

        start = fast.clock()
        await asyncio.gather(*(task(k) for k in range(8)))
        # Turns in the order asked; the k-th never before k intervals (a late wake-up only
        # makes it later, never earlier).
        assert [k for k, _ in went] == list(range(8))
        for k, at in went:
            assert at >= start + k * 1.0 - 1e-3

    async def test_returns_false_at_once_when_the_turn_is_after_the_deadline(self) -> None:
        fake = FakeTime(0.0)
        limiter = RateLimiter(6)  # one every 10 s
        assert await limiter.wait_turn(fake.clock, fake.sleep, 100.0)
        assert not await limiter.wait_turn(fake.clock, fake.sleep, 5.0)
        assert fake.sleeps == []

    async def test_a_pause_during_the_wait_sends_the_task_after_the_pause(self) -> None:
        fake = FakeTime(0.0)
        limiter = RateLimiter(60)
        limiter.reserve(0.0)  # someone went at 0: our turn is at 1

        async def sleep(seconds: float) -> None:
            # While this task sleeps, another gets a 429 asking for 30 s.
            if not fake.sleeps:
                limiter.pause(fake.now, 30.0)
            await fake.sleep(seconds)

        assert await limiter.wait_turn(fake.clock, sleep, None)
        assert fake.now >= 30.0
        assert fake.sleeps[0] == 1.0

    async def test_a_cancelled_waiter_gives_its_turn_back(self) -> None:
        # Callers that time out (asyncio.wait_for) must not leave turns nobody will use: after
        # one send and 15 cancelled waiters at 60/min, the next request may go 1 s later, not 16.
        limiter = RateLimiter(60)

        async def sleep_forever(_: float) -> None:
            await asyncio.Event().wait()  # time stands still: the waiters are cancelled first

        def clock() -> float:
            return 100.0

        tasks = [
            asyncio.ensure_future(limiter.wait_turn(clock, sleep_forever, None)) for _ in range(16)
        ]
        await asyncio.sleep(0)
        assert sum(t.done() for t in tasks) == 1  # one went at once, 15 wait
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert limiter.reserve(100.0) == 101.0


# -- through the client ------------------------------------------------------------------------


CONTACT = {"id": 7, "phone": "15105550000", "updated": "2026-05-07T12:00:00.000Z"}


class TestClientRateLimit:
    # 200 concurrent calls under the rate, at the server: tests/test_resilience_emulator.py.

    async def test_with_options_views_share_the_one_bucket(self, wire: WireServer) -> None:
        fake = FakeTime()
        wire.default = json_reply(CONTACT)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=60) as hm:
            fake.install(hm)
            view = hm.with_options(timeout=120)
            fake.install(view)
            await hm.get_contact(1)
            await view.get_contact(2)
            await hm.get_contact(3)
        assert view._limiter is hm._limiter
        assert fake.sleeps == [1.0, 1.0]

    async def test_a_429_pauses_the_whole_bucket(self, wire: WireServer) -> None:
        fake = FakeTime(0.0)
        arrivals: list[float] = []
        wire.reply(json_reply({"error": "slow down"}, 429, **{"Retry-After": "30"}))
        wire.default = json_reply(CONTACT)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=600, timeout=120) as hm:
            fake.install(hm)
            no_retry = hm.with_options(retry=RetryPolicy.disabled())
            fake.install(no_retry)
            with pytest.raises(RateLimitError):
                await no_retry.get_contact(1)
            arrivals.append(fake.now)
            # Another task, not retrying anything itself, waits out the server's 30 s.
            await hm.get_contact(2)
            arrivals.append(fake.now)
        assert arrivals[0] == 0.0
        assert arrivals[1] >= 30.0
        assert fake.sleeps == [30.0]

    async def test_a_429_storm_is_ridden_out(self, wire: WireServer) -> None:
        fast = ScaledTime()
        storm = 40
        wire.reply(*[json_reply({}, 429, **{"Retry-After": "1"}) for _ in range(storm)])
        wire.default = json_reply(CONTACT)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=500, timeout=None) as hm:
            fast.install(hm)
            results = await asyncio.gather(*(hm.get_contact(i + 1) for i in range(100)))
        assert [c.id for c in results] == [7] * 100
        assert len(wire.requests) == 100 + storm
        # Every retry waited the server's Retry-After, not a backoff of its own.
        assert fast.sleeps.count(1.0) >= storm

    async def test_the_deadline_fails_fast_when_the_turn_is_too_far(self, wire: WireServer) -> None:
        fake = FakeTime()
        wire.default = json_reply(CONTACT)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=1, timeout=10) as hm:
            fake.install(hm)
            await hm.get_contact(1)
            with pytest.raises(APITimeoutError, match="waiting for the rate limit") as info:
                await hm.get_contact(2)
        assert info.value.maybe_applied is False
        assert fake.sleeps == []
        assert len(wire.requests) == 1

    async def test_a_late_wake_up_past_the_deadline_sends_nothing(self, wire: WireServer) -> None:
        fake = FakeTime()
        wire.default = json_reply(CONTACT)

        async def oversleep(seconds: float) -> None:
            await fake.sleep(seconds + 20)  # a loop stalled far longer than asked

        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=60, timeout=10) as hm:
            fake.install(hm)
            hm._sleep = oversleep
            await hm.get_contact(1)
            with pytest.raises(APITimeoutError, match="deadline") as info:
                await hm.get_contact(2)
        assert info.value.maybe_applied is False
        assert len(wire.requests) == 1

    async def test_no_limiter_by_default(self, wire: WireServer) -> None:
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            assert hm._limiter is None

    @pytest.mark.parametrize("bad", [0, -1, "500", True, float("inf")])
    def test_client_rejects_a_bad_rate_limit(self, bad: object) -> None:
        with pytest.raises(InvalidRequestError) as info:
            HeymarketClient(API_KEY, rate_limit=bad)  # type: ignore[arg-type]
        assert info.value.field == "rate_limit"
