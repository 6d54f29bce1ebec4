"""The shared rate limiter: even spacing, deadlines, pauses on 429, and 200 concurrent calls."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import (
    APITimeoutError,
    ClientClosedError,
    HeymarketClient,
    InvalidRequestError,
    LocalRateLimiter,
    RateLimiter,
    RateLimitError,
    RetryPolicy,
    TransportResponse,
)
from heymarket_async._ratelimit import (
    CUT,
    CUT_SPAN,
    FLOOR,
    HEADROOM,
    LATE_MAX,
    LATE_SPAN,
    RECOVERY,
)
from heymarket_async.testing import MockTransport, install_clock
from tests._fakes import FakeTime, ScaledTime
from tests._server import API_KEY, WireServer, json_reply


def reserve(limiter: LocalRateLimiter, now: float, deadline: float | None = None) -> float | None:
    """What ``wait_turn`` does without the waiting: the send time it would claim for a request
    made at ``now`` (``None``, claiming nothing, when that is not before ``deadline``)."""
    slot = limiter.turn(now)
    if deadline is not None and slot >= deadline:
        return None
    limiter.claim(slot)
    return slot


def most_in_a_window(slots: list[float], window: float) -> int:
    """The most of the sorted ``slots`` in any half-open window of ``window`` seconds."""
    best = j = 0
    for i, start in enumerate(slots):
        while j < len(slots) and slots[j] < start + window - 1e-9:
            j += 1
        best = max(best, j - i)
    return best


class TestReserve:
    def test_an_idle_limiter_lets_the_first_request_go_at_once(self) -> None:
        limiter = LocalRateLimiter(500, headroom=0)
        assert reserve(limiter, 10.0) == 10.0

    def test_requests_are_spaced_one_interval_apart(self) -> None:
        limiter = LocalRateLimiter(600, headroom=0)  # one every 0.1 s
        slots = [reserve(limiter, 10.0) for _ in range(4)]
        assert slots == pytest.approx([10.0, 10.1, 10.2, 10.3])

    def test_no_burst_after_idling(self) -> None:
        limiter = LocalRateLimiter(60, headroom=0)
        assert reserve(limiter, 0.0) == 0.0
        assert reserve(limiter, 100.0) == 100.0
        assert reserve(limiter, 100.0) == 101.0

    def test_a_slot_at_or_after_the_deadline_is_refused_and_not_claimed(self) -> None:
        limiter = LocalRateLimiter(60, headroom=0)
        assert reserve(limiter, 0.0) == 0.0
        assert reserve(limiter, 0.0, deadline=0.5) is None
        assert reserve(limiter, 0.0, deadline=1.0) is None
        assert reserve(limiter, 0.0, deadline=1.5) == 1.0

    def test_pause_pushes_every_later_slot_past_it(self) -> None:
        limiter = LocalRateLimiter(600, learn=False, headroom=0)
        reserve(limiter, 0.0)
        limiter.pause_at(0.0, 5.0)
        assert reserve(limiter, 0.0) == 5.0
        assert reserve(limiter, 0.0) == pytest.approx(5.1)

    def test_a_shorter_pause_never_shortens_a_longer_one(self) -> None:
        limiter = LocalRateLimiter(600, headroom=0)
        limiter.pause_at(0.0, 5.0)
        limiter.pause_at(1.0, 1.0)
        assert reserve(limiter, 2.0) == 5.0

    @given(
        per_minute=st.sampled_from([1, 30, 500, 6000]),
        gaps=st.lists(st.floats(0, 2, allow_nan=False), min_size=1, max_size=300),
        headroom=st.sampled_from([0.0, HEADROOM]),
    )
    def test_never_more_than_the_rate_in_any_minute(
        self, per_minute: int, gaps: list[float], headroom: float
    ) -> None:
        limiter = LocalRateLimiter(per_minute, headroom=headroom)
        now, slots = 0.0, []
        for gap in gaps:
            now += gap
            slot = reserve(limiter, now)
            assert slot is not None
            assert slot >= now
            slots.append(slot)
        assert slots == sorted(slots)
        # Evenly spaced (a request that came after its turn, within the tolerance for a late
        # send, lets the next one come that much sooner), so any half-open 60 s window holds
        # at most per_minute sends.
        interval = 60 / (per_minute * (1 - headroom))
        for a, b in itertools.pairwise(slots):
            assert b - a >= interval * (1 - headroom * LATE_SPAN) - 1e-9
        # Sums of float intervals drift by ~1e-12 s: far below any server's clock.
        assert most_in_a_window(slots, 60.0) <= per_minute

    def test_repr(self) -> None:
        assert repr(LocalRateLimiter(500)) == "LocalRateLimiter(per_minute=500)"

    @pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
    def test_rejects_a_rate_that_is_not_positive_and_finite(self, bad: float) -> None:
        with pytest.raises(ValueError, match="rate_limit"):
            LocalRateLimiter(bad)

    @pytest.mark.parametrize("bad", [True, "500", None])
    def test_rejects_a_rate_that_is_not_a_number(self, bad: object) -> None:
        with pytest.raises(TypeError, match="rate_limit"):
            LocalRateLimiter(bad)  # type: ignore[arg-type]


class TestLateSends:
    """A send a little after its turn (a busy event loop) keeps the schedule: turns do not drift
    later by every wake-up's delay, yet no span of LATE_SPAN intervals or more holds more sends
    than exact pacing at the rate."""

    def test_a_send_late_within_the_tolerance_keeps_the_schedule(self) -> None:
        limiter = LocalRateLimiter(600)  # one every 0.1 / 0.98 s; late by up to 0.02 s is kept
        interval = 0.1 / (1 - HEADROOM)
        limiter.claim(0.0)
        limiter.claim(interval + 0.015)
        assert limiter.turn(0.0) == pytest.approx(2 * interval)

    def test_a_send_later_than_the_tolerance_starts_the_schedule_again(self) -> None:
        limiter = LocalRateLimiter(600)
        interval = 0.1 / (1 - HEADROOM)
        limiter.claim(0.0)
        limiter.claim(interval + 0.025)
        assert limiter.turn(0.0) == pytest.approx(2 * interval + 0.025)

    def test_without_headroom_a_late_send_pushes_the_next_turn_back(self) -> None:
        limiter = LocalRateLimiter(600, headroom=0)
        limiter.claim(0.0)
        limiter.claim(0.1 + 0.001)
        assert limiter.turn(0.0) == pytest.approx(0.201)

    @pytest.mark.parametrize("headroom", [0.1, 0.2, 0.5])
    def test_a_large_headroom_never_lets_a_late_send_make_a_burst(self, headroom: float) -> None:
        # headroom x LATE_SPAN would be one to five intervals: a send that late would put the
        # next turns in the past (found in review: 6 sends back to back at 0.5). The tolerance
        # is capped, so the next turn stays ahead of the late send.
        limiter = LocalRateLimiter(600, headroom=headroom)
        interval = 0.1 / (1 - headroom)
        limiter.claim(0.0)
        late = interval + 0.95 * LATE_MAX * interval  # late, but still credited
        limiter.claim(late)
        assert limiter.turn(late) == pytest.approx(2 * interval)  # the schedule kept
        assert limiter.turn(late) - late >= (1 - LATE_MAX) * interval - 1e-9
        very_late = 2 * interval + 1.5 * interval  # its turn was 1.5 intervals ago
        limiter.claim(very_late)
        assert limiter.turn(very_late) == pytest.approx(very_late + interval)  # no burst

    def test_no_credit_after_idling(self) -> None:
        limiter = LocalRateLimiter(600)
        limiter.claim(0.0)
        limiter.claim(50.0)
        assert limiter.turn(0.0) == pytest.approx(50.0 + 0.1 / (1 - HEADROOM))

    @given(
        per_minute=st.sampled_from([30, 500, 1200, 6000]),
        lateness=st.lists(st.floats(0, 0.5, allow_nan=False), min_size=2, max_size=300),
    )
    def test_late_sends_never_beat_exact_pacing_over_ten_intervals(
        self, per_minute: int, lateness: list[float]
    ) -> None:
        # Each request waits for its turn and sends up to 1.5 tolerances after it: some within
        # the tolerance (credited), some beyond it (the schedule starts again).
        limiter = LocalRateLimiter(per_minute)
        interval = 60 / per_minute
        tolerance = HEADROOM * LATE_SPAN * interval / (1 - HEADROOM)
        slots = []
        for late in lateness:
            at = limiter.turn(0.0) if slots else 0.0
            at += late * 3 * tolerance
            limiter.claim(at)
            slots.append(at)
        for span in (LATE_SPAN, 20, 60, 600):
            window = span * interval
            assert most_in_a_window(slots, window) <= span
        # And the rate keeps up: late sends within the tolerance cost nothing.
        kept = all(late * 3 <= 1 for late in lateness)
        if kept:
            assert slots[-1] <= (len(slots) - 1) * interval / (1 - HEADROOM) + 3 * tolerance

    async def test_tasks_woken_late_keep_the_rate(self) -> None:
        # Every wake-up 3 ms late (a busy loop), at 1,200 a minute: the sends keep the schedule
        # of an interval each instead of drifting 3 ms a turn.
        fake = FakeTime(0.0)

        async def late_sleep(seconds: float) -> None:
            await fake.sleep(seconds + 0.003)

        limiter = LocalRateLimiter(1200)
        sent: list[float] = []

        async def task() -> None:
            for _ in range(25):
                assert await limiter.acquire(None, fake.clock, late_sleep)
                sent.append(fake.now)

        await asyncio.gather(*(task() for _ in range(4)))
        interval = 0.05 / (1 - HEADROOM)
        assert len(sent) == 100
        assert sent[-1] == pytest.approx(99 * interval + 0.003, abs=1e-6)
        assert most_in_a_window(sent, 1.0) <= 20


class TestLearning:
    """After a 429 the limiter paces CUT slower, once per pause, and recovers slowly."""

    def test_a_429_cuts_the_rate(self) -> None:
        limiter = LocalRateLimiter(600, headroom=0)  # one every 0.1 s
        limiter.pause_at(0.0, 1.0)
        assert reserve(limiter, 0.0) == 1.0
        assert reserve(limiter, 0.0) == pytest.approx(1.0 + 0.1 / (1 - CUT), abs=1e-4)
        assert limiter.rate(1.0) == pytest.approx(600 * (1 - CUT), abs=0.1)

    def test_429s_of_one_pause_cut_once(self) -> None:
        # Requests in flight together draw their 429s together: one lesson, not four.
        limiter = LocalRateLimiter(600, headroom=0)
        for t in (0.0, 0.01, 0.02, 0.5):
            limiter.pause_at(t, 1.0)
        assert limiter.rate(0.5) == pytest.approx(600 * (1 - CUT), abs=0.1)

    def test_429s_of_one_overload_cut_once_across_short_pauses(self) -> None:
        # No Retry-After: each pause is a short backoff, and each retry into a window still full
        # draws another 429 after it ended. One overload, one lesson.
        limiter = LocalRateLimiter(600, headroom=0)
        for t, pause in ((100.0, 0.05), (100.12, 0.3), (100.5, 0.2), (101.0, 1.0), (159.0, 4.0)):
            limiter.pause_at(t, pause)
            assert limiter.rate(t) == pytest.approx(
                600 * (1 - CUT + RECOVERY * (t - 100.0) / 60), abs=0.1
            )
        # A 429 a minute after the cut: a second lesson, on what was recovered meanwhile.
        limiter.pause_at(100.0 + CUT_SPAN, 1.0)
        assert limiter.rate(100.0 + CUT_SPAN) == pytest.approx(
            600 * (1 - 2 * CUT + RECOVERY * CUT_SPAN / 60), abs=0.1
        )

    def test_the_cut_wears_off_and_never_goes_past_the_rate(self) -> None:
        limiter = LocalRateLimiter(600, headroom=0)
        limiter.pause_at(0.0, 1.0)
        minutes = CUT / RECOVERY
        assert limiter.rate(60 * minutes / 2) == pytest.approx(600 * (1 - CUT / 2), abs=0.1)
        assert limiter.rate(60 * minutes + 1) == 600
        reserve(limiter, 60 * minutes + 1)
        assert reserve(limiter, 60 * minutes + 1) == pytest.approx(60 * minutes + 1.1)

    def test_the_rate_never_falls_below_the_floor(self) -> None:
        limiter = LocalRateLimiter(600, headroom=0)
        for k in range(100):
            limiter.pause_at(CUT_SPAN * k, 1.0)
        assert limiter.rate(CUT_SPAN * 99) == pytest.approx(600 * FLOOR)

    def test_it_paces_under_the_rate_by_its_headroom(self) -> None:
        limiter = LocalRateLimiter(600)  # one every 0.1 s at the rate: 0.1 / 0.98 under it
        assert limiter.rate(0.0) == pytest.approx(600 * (1 - HEADROOM))
        slots = [reserve(limiter, 0.0) for _ in range(3)]
        assert slots == pytest.approx([0.0, 0.1 / (1 - HEADROOM), 0.2 / (1 - HEADROOM)])
        limiter.pause_at(1.0, 1.0)
        assert limiter.rate(1.0) == pytest.approx(600 * (1 - HEADROOM - CUT))
        # It recovers up to the headroom, not past it.
        assert limiter.rate(3600.0) == pytest.approx(600 * (1 - HEADROOM))

    @pytest.mark.parametrize("bad", [-0.1, 0.6, float("nan")])
    def test_rejects_a_headroom_out_of_range(self, bad: float) -> None:
        with pytest.raises(ValueError, match="headroom"):
            LocalRateLimiter(600, headroom=bad)

    def test_without_learning_a_429_only_pauses(self) -> None:
        limiter = LocalRateLimiter(600, learn=False, headroom=0)
        limiter.pause_at(0.0, 1.0)
        assert limiter.rate(1.0) == 600

    @given(
        events=st.lists(
            st.tuples(st.floats(0, 30, allow_nan=False), st.booleans()), min_size=1, max_size=200
        )
    )
    def test_sends_stay_at_least_one_current_interval_apart(
        self, events: list[tuple[float, bool]]
    ) -> None:
        # Whatever the 429s, no two sends are closer than the full rate allows.
        limiter = LocalRateLimiter(600, headroom=0)
        now, slots = 0.0, []
        for gap, is_429 in events:
            now += gap
            if is_429:
                limiter.pause_at(now, 0.5)
            else:
                slot = reserve(limiter, now)
                assert slot is not None
                slots.append(slot)
        for a, b in itertools.pairwise(slots):
            assert b - a >= 0.1 - 1e-9


class Recording:
    """A limiter of the user's: grants every turn (or none) and records what it hears."""

    per_minute = 100.0

    def __init__(self, *, refuse: bool = False) -> None:
        self.turns = 0
        self.pauses: list[float] = []
        self.refused = refuse

    async def acquire(
        self,
        deadline: float | None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> bool:
        if self.refused:
            return False
        self.turns += 1
        return True

    async def pause(self, seconds: float, clock: Callable[[], float]) -> None:
        self.pauses.append(seconds)


def test_the_protocol_is_what_the_client_checks() -> None:
    assert isinstance(Recording(), RateLimiter)
    assert isinstance(LocalRateLimiter(5), RateLimiter)
    assert not isinstance(object(), RateLimiter)


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
    limiter: LocalRateLimiter,
    log: dict[int, float | None],
    k: int,
    deadline: float | None = None,
) -> None:
    """Task ``k`` asks for a turn; ``log[k]`` is its send time, or None if it gave up."""
    log[k] = vt.now if await limiter.acquire(deadline, vt.clock, vt.sleep) else None


class TestWaitTurn:
    async def test_concurrent_tasks_go_one_interval_apart(self) -> None:
        fast = ScaledTime()
        limiter = LocalRateLimiter(60, headroom=0)  # one a "second": a millisecond of real time
        went: list[tuple[int, float]] = []

        async def task(k: int) -> None:
            assert await limiter.acquire(None, fast.clock, fast.sleep)
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
        limiter = LocalRateLimiter(6, headroom=0)  # one every 10 s
        assert await limiter.acquire(100.0, fake.clock, fake.sleep)
        assert not await limiter.acquire(5.0, fake.clock, fake.sleep)
        assert fake.sleeps == []

    async def test_a_pause_during_the_wait_sends_the_task_after_the_pause(self) -> None:
        fake = FakeTime(0.0)
        limiter = LocalRateLimiter(60, headroom=0)
        reserve(limiter, 0.0)  # someone went at 0: our turn is at 1

        async def sleep(seconds: float) -> None:
            # While this task sleeps, another gets a 429 asking for 30 s.
            if not fake.sleeps:
                limiter.pause_at(fake.now, 30.0)
            await fake.sleep(seconds)

        assert await limiter.acquire(None, fake.clock, sleep)
        assert fake.now >= 30.0
        assert fake.sleeps[0] == 1.0

    async def test_a_cancelled_waiter_gives_its_turn_back(self) -> None:
        # Callers that time out (asyncio.wait_for) must not leave turns nobody will use: after
        # one send and 15 cancelled waiters at 60/min, the next request may go 1 s later, not 16.
        limiter = LocalRateLimiter(60, headroom=0)

        async def sleep_forever(_: float) -> None:
            await asyncio.Event().wait()  # time stands still: the waiters are cancelled first

        def clock() -> float:
            return 100.0

        tasks = [
            asyncio.ensure_future(limiter.acquire(None, clock, sleep_forever)) for _ in range(16)
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
        limiter = LocalRateLimiter(60, headroom=0)
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
        limiter = LocalRateLimiter(60, learn=False, headroom=0)
        log: dict[int, float | None] = {}
        gave_up: list[float] = []

        async def with_deadline() -> None:
            await queue_at(vt, limiter, log, 3, deadline=10.0)
            gave_up.append(vt.now)

        tasks = [asyncio.create_task(queue_at(vt, limiter, log, k)) for k in range(3)]
        tasks.append(asyncio.create_task(with_deadline()))
        tasks.append(asyncio.create_task(queue_at(vt, limiter, log, 4)))
        vt.at(0.5, lambda: limiter.pause_at(vt.now, 20.0))  # a 429 elsewhere: nothing until 20.5
        await vt.run()
        assert gave_up == [0.5]
        assert log == {0: 0.0, 1: 20.5, 2: 21.5, 3: None, 4: 22.5}

    async def test_a_wake_up_past_the_deadline_claims_no_turn(self) -> None:
        fake = FakeTime(0.0)
        limiter = LocalRateLimiter(60, headroom=0)
        reserve(limiter, 0.0)  # someone went at 0: our turn is at 1

        async def oversleep(seconds: float) -> None:
            await fake.sleep(seconds + 20)  # a loop stalled far longer than asked

        assert not await limiter.acquire(10.0, fake.clock, oversleep)
        assert reserve(limiter, fake.now) == fake.now

    @pytest.mark.parametrize("seed", range(25))
    async def test_never_over_the_rate_and_never_idle_while_a_task_waits(self, seed: int) -> None:
        # Random arrivals, cancellations, deadlines and 429 pauses on a virtual clock.
        rng = random.Random(seed)
        vt = VirtualTime()
        limiter = LocalRateLimiter(60, learn=False, headroom=0)  # one a second
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
            limiter.pause_at(vt.now, seconds)

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
        limiter = LocalRateLimiter(60, headroom=0)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=limiter) as hm:
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

    @pytest.mark.parametrize("retry_after", ["0", "-5", "Thu, 01 Jan 2015 00:00:00 GMT", None])
    async def test_a_429_that_asks_no_wait_still_teaches_the_limiter(
        self, wire: WireServer, retry_after: str | None
    ) -> None:
        # Retry-After of no time (or in the past), or no Retry-After with a zero backoff:
        # nothing to wait out, but the rate was too high all the same.
        fake = FakeTime(0.0)
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        wire.reply(json_reply({}, 429, **headers))
        wire.default = json_reply(CONTACT)
        limiter = LocalRateLimiter(600, headroom=0)
        policy = RetryPolicy(max_retries=1, backoff_base=0.0)
        async with HeymarketClient(
            API_KEY, base_url=wire.url, rate_limit=limiter, retry=policy
        ) as hm:
            fake.install(hm)
            await hm.get_contact(1)
        assert len(wire.requests) == 2
        assert limiter.rate(fake.now) == pytest.approx(600 * (1 - CUT), abs=0.1)

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

    async def test_no_limiter_by_default_for_another_base_url(self, wire: WireServer) -> None:
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            assert hm._pipeline.limiter is None

    @pytest.mark.parametrize(
        "base_url",
        [
            None,
            "https://api.heymarket.com",
            "https://eu.api.heymarket.com/",
            "https://API.Heymarket.com:443",
            "https://api.heymarket.com.",  # the fully qualified name: the same host
        ],
    )
    def test_heymarket_api_is_paced_at_its_500_a_minute_by_default(
        self, base_url: str | None
    ) -> None:
        hm = HeymarketClient(API_KEY, base_url=base_url)
        assert isinstance(hm._pipeline.limiter, LocalRateLimiter)
        assert hm._pipeline.limiter.per_minute == 500
        assert (
            HeymarketClient(API_KEY, base_url=base_url, rate_limit=None)._pipeline.limiter is None
        )

    def test_a_mock_transport_is_not_paced_by_default(self) -> None:
        mock = MockTransport(lambda _: TransportResponse.from_json({}))
        assert HeymarketClient(API_KEY, transport=mock)._pipeline.limiter is None
        paced = HeymarketClient(API_KEY, transport=mock, rate_limit=100)
        assert isinstance(paced._pipeline.limiter, LocalRateLimiter)

    def test_a_lookalike_host_is_not_heymarket(self) -> None:
        hm = HeymarketClient(API_KEY, base_url="https://heymarket.com.example.org")
        assert hm._pipeline.limiter is None

    async def test_a_limiter_object_of_the_users_paces_and_hears_the_429s(
        self, wire: WireServer
    ) -> None:
        mine = Recording()
        wire.reply(json_reply({}, 429, **{"Retry-After": "2"}))
        wire.default = json_reply(CONTACT)
        fake = FakeTime(0.0)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=mine) as hm:
            fake.install(hm)
            assert hm._pipeline.limiter is mine
            await hm.get_contact(1)
            await hm.get_contact(2)
        # One turn per attempt (the 429, its retry, the second call), and the pause heard.
        assert mine.turns == 3
        assert mine.pauses == [2.0]
        assert not mine.refused

    async def test_a_limiter_that_refuses_ends_the_call_at_the_deadline(
        self, wire: WireServer
    ) -> None:
        mine = Recording(refuse=True)
        async with HeymarketClient(API_KEY, base_url=wire.url, rate_limit=mine) as hm:
            with pytest.raises(APITimeoutError, match="waiting for the rate limit"):
                await hm.get_contact(1)
        assert wire.requests == []

    async def test_close_ends_the_waits_of_a_limiter_given_to_the_client(
        self, wire: WireServer
    ) -> None:
        # Not the client's own limiter (close() does not send its waiters away): the first
        # waiter's sleep ends with the client, and each one behind it in turn, sending nothing.
        wire.default = json_reply(CONTACT)
        limiter = LocalRateLimiter(1, headroom=0)  # one a minute: every call but the first waits
        async with HeymarketClient(
            API_KEY, base_url=wire.url, rate_limit=limiter, timeout=None
        ) as hm:
            await hm.get_contact(1)
            calls = [asyncio.create_task(hm.get_contact(i)) for i in range(2, 6)]
            await asyncio.sleep(0.01)
        done, pending = await asyncio.wait(calls, timeout=1.0)
        assert not pending
        assert all(isinstance(t.exception(), ClientClosedError) for t in done)
        assert len(wire.requests) == 1

    def test_a_limiter_object_must_have_the_protocols_members(self) -> None:
        with pytest.raises(InvalidRequestError, match="RateLimiter") as info:
            HeymarketClient(API_KEY, rate_limit=object())  # type: ignore[arg-type]
        assert info.value.field == "rate_limit"

    @pytest.mark.parametrize("bad", [0, -1, "500", True, float("inf")])
    def test_client_rejects_a_bad_rate_limit(self, bad: object) -> None:
        with pytest.raises(InvalidRequestError) as info:
            HeymarketClient(API_KEY, rate_limit=bad)  # type: ignore[arg-type]
        assert info.value.field == "rate_limit"
