"""The shared rate limiter: even spacing, deadlines, pauses on 429, and 200 concurrent calls."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Callable

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
from heymarket_async.testing import install_clock
from tests._fakes import FakeTime, ScaledTime
from tests._server import API_KEY, WireServer, json_reply


def reserve(limiter: RateLimiter, now: float, deadline: float | None = None) -> float | None:
    """What ``wait_turn`` does without the waiting: the send time it would claim for a request
    made at ``now`` (``None``, claiming nothing, when that is not before ``deadline``)."""
    slot = limiter.turn(now)
    if deadline is not None and slot >= deadline:
        return None
    limiter.claim(slot)
    return slot


class TestReserve:
    def test_an_idle_limiter_lets_the_first_request_go_at_once(self) -> None:
        limiter = RateLimiter(500)
        assert reserve(limiter, 10.0) == 10.0

    def test_requests_are_spaced_one_interval_apart(self) -> None:
        limiter = RateLimiter(600)  # one every 0.1 s
        slots = [reserve(limiter, 10.0) for _ in range(4)]
        assert slots == pytest.approx([10.0, 10.1, 10.2, 10.3])

    def test_no_burst_after_idling(self) -> None:
        limiter = RateLimiter(60)
        assert reserve(limiter, 0.0) == 0.0
        assert reserve(limiter, 100.0) == 100.0
        assert reserve(limiter, 100.0) == 101.0

    def test_a_slot_at_or_after_the_deadline_is_refused_and_not_claimed(self) -> None:
        limiter = RateLimiter(60)
        assert reserve(limiter, 0.0) == 0.0
        assert reserve(limiter, 0.0, deadline=0.5) is None
        assert reserve(limiter, 0.0, deadline=1.0) is None
        assert reserve(limiter, 0.0, deadline=1.5) == 1.0

    def test_pause_pushes_every_later_slot_past_it(self) -> None:
        limiter = RateLimiter(600)
        reserve(limiter, 0.0)
        limiter.pause(0.0, 5.0)
        assert reserve(limiter, 0.0) == 5.0
        assert reserve(limiter, 0.0) == pytest.approx(5.1)

    def test_a_shorter_pause_never_shortens_a_longer_one(self) -> None:
        limiter = RateLimiter(600)
        limiter.pause(0.0, 5.0)
        limiter.pause(1.0, 1.0)
        assert reserve(limiter, 2.0) == 5.0

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
            slot = reserve(limiter, now)
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


class VirtualTime:
    """A clock that jumps from one timer to the next once every task is blocked.

    Unlike ``FakeTime``, tasks sleeping side by side overlap as they would in real time, and a
    test can schedule things (a cancellation, a 429 pause) to happen at a given time.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), action))

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        self.at(self.now + seconds, lambda: woken.done() or woken.set_result(None))
        await woken

    async def run(self) -> None:
        """Fire the timers in order until none is left."""
        while True:
            for _ in range(20):  # every task runs until it blocks again
                await asyncio.sleep(0)
            if not self._timers:
                return
            when, _, action = heapq.heappop(self._timers)
            self.now = max(self.now, when)
            action()


async def queue_at(
    vt: VirtualTime,
    limiter: RateLimiter,
    log: dict[int, float | None],
    k: int,
    deadline: float | None = None,
) -> None:
    """Task ``k`` asks for a turn; ``log[k]`` is its send time, or None if it gave up."""
    log[k] = vt.now if await limiter.wait_turn(vt.clock, vt.sleep, deadline) else None


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
        reserve(limiter, 0.0)  # someone went at 0: our turn is at 1

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
        assert reserve(limiter, 100.0) == 101.0


class TestLeavingTheQueue:
    """Tasks that stop waiting (cancelled, deadline out of reach) use no turn."""

    async def test_turns_freed_by_cancelled_waiters_go_to_the_tasks_behind(self) -> None:
        vt = VirtualTime()
        limiter = RateLimiter(60)
        log: dict[int, float | None] = {}
        tasks = [asyncio.create_task(queue_at(vt, limiter, log, k)) for k in range(10)]

        def time_out() -> None:
            for k in (1, 4, 5):
                tasks[k].cancel()

        # At 0.5 s three callers time out: the one about to go at 1 s and two further back.
        vt.at(0.5, time_out)
        await vt.run()
        assert log == {0: 0.0, 2: 1.0, 3: 2.0, 6: 3.0, 7: 4.0, 8: 5.0, 9: 6.0}
        assert all(tasks[k].cancelled() for k in (1, 4, 5))

    async def test_a_pause_sends_away_at_once_a_waiter_it_makes_miss_its_deadline(self) -> None:
        vt = VirtualTime()
        limiter = RateLimiter(60)
        log: dict[int, float | None] = {}
        gave_up: list[float] = []

        async def with_deadline() -> None:
            await queue_at(vt, limiter, log, 3, deadline=10.0)
            gave_up.append(vt.now)

        tasks = [asyncio.create_task(queue_at(vt, limiter, log, k)) for k in range(3)]
        tasks.append(asyncio.create_task(with_deadline()))
        tasks.append(asyncio.create_task(queue_at(vt, limiter, log, 4)))
        vt.at(0.5, lambda: limiter.pause(vt.now, 20.0))  # a 429 elsewhere: nothing until 20.5
        await vt.run()
        assert gave_up == [0.5]
        assert log == {0: 0.0, 1: 20.5, 2: 21.5, 3: None, 4: 22.5}

    async def test_a_wake_up_past_the_deadline_claims_no_turn(self) -> None:
        fake = FakeTime(0.0)
        limiter = RateLimiter(60)
        reserve(limiter, 0.0)  # someone went at 0: our turn is at 1

        async def oversleep(seconds: float) -> None:
            await fake.sleep(seconds + 20)  # a loop stalled far longer than asked

        assert not await limiter.wait_turn(fake.clock, oversleep, 10.0)
        assert reserve(limiter, fake.now) == fake.now

    @pytest.mark.parametrize("seed", range(25))
    async def test_never_over_the_rate_and_never_idle_while_a_task_waits(self, seed: int) -> None:
        # Random arrivals, cancellations, deadlines and 429 pauses on a virtual clock.
        rng = random.Random(seed)
        vt = VirtualTime()
        limiter = RateLimiter(60)  # one a second
        log: dict[int, float | None] = {}
        arrival: dict[int, float] = {}
        deadline: dict[int, float | None] = {}
        tasks: dict[int, asyncio.Task[None]] = {}
        pauses: list[tuple[float, float]] = []

        def start(k: int) -> None:
            arrival[k] = vt.now
            tasks[k] = asyncio.create_task(queue_at(vt, limiter, log, k, deadline[k]))

        def cancel(k: int) -> None:
            tasks[k].cancel()

        def pause(seconds: float) -> None:
            pauses.append((vt.now, vt.now + seconds))
            limiter.pause(vt.now, seconds)

        for k in range(40):
            at = rng.uniform(0, 30)
            deadline[k] = at + rng.uniform(0.5, 15) if rng.random() < 0.3 else None
            vt.at(at, lambda k=k: start(k))
            if rng.random() < 0.3:
                vt.at(at + rng.uniform(0.01, 10), lambda k=k: cancel(k))
        for _ in range(3):
            seconds = rng.uniform(0.5, 8)
            vt.at(rng.uniform(0, 40), lambda seconds=seconds: pause(seconds))
        await vt.run()

        assert all(task.done() for task in tasks.values())
        sent = sorted((at, k) for k, at in log.items() if at is not None)
        assert len(sent) >= 10
        last = float("-inf")
        for at, k in sent:
            # Never closer than the interval, never inside a pause, never past a deadline.
            assert at - last >= 1.0 - 1e-9
            assert not any(p <= at < u for p, u in pauses)
            assert deadline[k] is None or at < deadline[k]
            # And never later than needed: the first moment allowed after the previous send
            # and any pause, or the task's own arrival.
            due = max(last + 1.0, arrival[k])
            while any(p <= due < u for p, u in pauses):
                due = max(u for p, u in pauses if p <= due < u)
            assert at == pytest.approx(due)
            last = at


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
        assert view._pipeline.limiter is hm._pipeline.limiter
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
            install_clock(hm, sleep=oversleep)
            await hm.get_contact(1)
            with pytest.raises(APITimeoutError, match="deadline") as info:
                await hm.get_contact(2)
        assert info.value.maybe_applied is False
        assert len(wire.requests) == 1

    async def test_no_limiter_by_default(self, wire: WireServer) -> None:
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            assert hm._pipeline.limiter is None

    @pytest.mark.parametrize("bad", [0, -1, "500", True, float("inf")])
    def test_client_rejects_a_bad_rate_limit(self, bad: object) -> None:
        with pytest.raises(InvalidRequestError) as info:
            HeymarketClient(API_KEY, rate_limit=bad)  # type: ignore[arg-type]
        assert info.value.field == "rate_limit"
