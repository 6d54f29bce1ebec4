"""The emulator's opt-in per-key budget (429 past it), its arrival log, and added latency.

All on a frozen :class:`FakeClock`: the windows move when a test advances the clock, and the
latency is slept through an injected ``sleep``, so nothing here waits for real.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest
from _fake_http import Raw
from hypothesis import given, settings
from hypothesis import strategies as st

from heymarket_async import RateLimitError, RetryPolicy
from heymarket_async.testing import (
    FakeClock,
    FakeHeymarket,
    Fault,
    Latency,
    RateLimitRule,
    RateLog,
    RateLogEntry,
)
from heymarket_async.testing._clock import to_micros
from heymarket_async.testing._limits import _Window

#: A whole minute since the epoch: fixed windows of 1, 10 and 60 s start here.
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
T0_SECONDS = to_micros(T0) / 1_000_000
KEY = RateLog.key_for("test")


class Sleeps:
    """An injected ``sleep``: records each delay and advances the fake's clock by it."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.slept: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0, frozen=True)


@pytest.fixture
def rule() -> RateLimitRule | None:
    """The fake's rule; a class or a test (``parametrize("rule", ...)``) sets another."""
    return RateLimitRule(3, 10.0, sliding=True)


@pytest.fixture
def fake_options(clock: FakeClock, rule: RateLimitRule | None) -> dict[str, Any]:
    return {"clock": clock, "rate_limit": rule}


async def statuses(raw: Raw, n: int, *, key: str = "test") -> list[int]:
    return [(await raw("POST", "/v1/contacts/count", {}, key=key)).status for _ in range(n)]


class TestFixedWindow:
    @pytest.fixture
    def rule(self) -> RateLimitRule:
        return RateLimitRule(3, 1.0)

    async def test_n_admitted_the_next_refused_then_admitted_in_the_next_window(
        self, raw: Raw, clock: FakeClock
    ) -> None:
        assert await statuses(raw, 4) == [200, 200, 200, 429]
        clock.advance(0.999)
        refused = await raw("POST", "/v1/contacts/count", {})
        assert (refused.status, refused.headers["Retry-After"]) == (429, "1"), "0.001 s: 1"
        clock.advance(0.001)
        assert await statuses(raw, 4) == [200, 200, 200, 429]

    async def test_the_429_says_why(self, raw: Raw) -> None:
        await statuses(raw, 3)
        answer = await raw("GET", "/v1/contact/1")
        assert answer.status == 429
        assert answer.json == {
            "error": "too_many_requests",
            "message": "rate limit exceeded: 3 requests per 1 s (fixed window, 429 with "
            "Retry-After)",
        }

    @pytest.mark.parametrize(
        ("rule", "offset", "retry_after"),
        [
            pytest.param(RateLimitRule(2, 60.0), 10.2, "50", id="49.8 s up"),
            pytest.param(RateLimitRule(2, 60.0), 0.0, "60", id="a whole window"),
            pytest.param(RateLimitRule(2, 1.5), 1.6, "2", id="1.4 s up"),
        ],
    )
    async def test_retry_after_is_the_time_to_the_next_window_rounded_up(
        self, raw: Raw, clock: FakeClock, offset: float, retry_after: str
    ) -> None:
        clock.advance(offset)
        assert await statuses(raw, 2) == [200, 200]
        answer = await raw("POST", "/v1/contacts/count", {})
        assert (answer.status, answer.headers.get("Retry-After")) == (429, retry_after)

    async def test_a_burst_at_a_window_end_and_one_at_the_next_start_both_pass(
        self, raw: Raw, clock: FakeClock
    ) -> None:
        clock.advance(0.9)
        assert await statuses(raw, 3) == [200] * 3
        clock.advance(0.1)
        assert await statuses(raw, 3) == [200] * 3, "fixed windows allow 2N within 0.1 s"


class TestSlidingWindow:
    async def test_admitted_once_the_oldest_ages_out(self, raw: Raw, clock: FakeClock) -> None:
        got = []
        for step in (0, 2, 2):  # t = 0, 2, 4
            clock.advance(step)
            got += await statuses(raw, 1)
        assert got == [200, 200, 200]
        clock.advance(1)  # t = 5: 0, 2, 4 in the last 10 s
        refused = await raw("POST", "/v1/contacts/count", {})
        assert (refused.status, refused.headers["Retry-After"]) == (429, "5")
        clock.advance(4.5)  # t = 9.5
        refused = await raw("POST", "/v1/contacts/count", {})
        assert (refused.status, refused.headers["Retry-After"]) == (429, "1")
        clock.advance(0.5)  # t = 10: the request at 0 is exactly 10 s old, out
        assert await statuses(raw, 2) == [200, 429]
        clock.advance(1)  # t = 11: 2, 4, 10 in the window: the next is at 12
        refused = await raw("POST", "/v1/contacts/count", {})
        assert refused.headers["Retry-After"] == "1"

    async def test_no_burst_across_a_boundary(self, raw: Raw, clock: FakeClock) -> None:
        clock.advance(9.9)
        assert await statuses(raw, 3) == [200] * 3
        clock.advance(0.1)
        assert await statuses(raw, 1) == [429], "any 10 s hold at most 3"

    @pytest.mark.parametrize("rule", [RateLimitRule(2, 10.0, sliding=True, count_refused=True)])
    async def test_count_refused_keeps_a_client_that_retries_locked_out(
        self, raw: Raw, clock: FakeClock
    ) -> None:
        assert await statuses(raw, 2) == [200, 200]  # at 0
        got = []
        for step in (1, 8.5, 0.5):  # at 1, 9.5 and 10
            clock.advance(step)
            answer = await raw("POST", "/v1/contacts/count", {})
            got.append((answer.status, answer.headers["Retry-After"]))
        # At 10 the two admitted at 0 are out, but the refusals at 1 and 9.5 fill the window.
        assert got == [(429, "9"), (429, "2"), (429, "10")]
        clock.advance(10)  # at 20: every counted arrival is out
        assert await statuses(raw, 1) == [200]


class TestRetryAfterOff:
    @pytest.mark.parametrize("sliding", [False, True])
    async def test_a_429_without_retry_after(
        self, raw: Raw, fake: FakeHeymarket, sliding: bool
    ) -> None:
        fake.rate_limit = RateLimitRule(1, 60.0, sliding=sliding, retry_after=False)
        await statuses(raw, 1)
        answer = await raw("POST", "/v1/contacts/count", {})
        assert answer.status == 429
        assert "Retry-After" not in answer.headers
        assert answer.json["error"] == "too_many_requests"

    async def test_the_client_sees_a_rate_limit_error_without_a_wait(
        self, fake: FakeHeymarket
    ) -> None:
        fake.rate_limit = RateLimitRule(1, 60.0, retry_after=False)
        async with fake.client(retry=RetryPolicy.disabled()) as hm:
            await hm.count_contacts()
            with pytest.raises(RateLimitError) as info:
                await hm.count_contacts()
        assert info.value.retry_after is None


class TestPerKey:
    @pytest.fixture
    def fake_options(self, clock: FakeClock) -> dict[str, Any]:
        return {
            "clock": clock,
            "rate_limit": RateLimitRule(2, 60.0),
            "api_key": "k1",
            "secret_id": "sid",
            "secret_key": "skey",
        }

    async def test_each_credential_has_its_own_budget(self, fake: FakeHeymarket) -> None:
        no_retry = RetryPolicy.disabled()
        async with (
            fake.client(retry=no_retry) as by_key,
            fake.client(retry=no_retry, secret_id="sid", secret_key="skey") as by_jwt,
        ):
            await by_key.count_contacts()
            await by_key.count_contacts()
            with pytest.raises(RateLimitError) as info:
                await by_key.count_contacts()
            assert info.value.retry_after == 60.0
            await by_jwt.count_contacts()  # a fresh JWT each time: one secret pair, one budget
            await by_jwt.count_contacts()
            with pytest.raises(RateLimitError):
                await by_jwt.count_contacts()
        log = fake.rate_log
        assert log.keys() == [RateLog.key_for("k1"), RateLog.key_for("sid")]
        assert [e.admitted for e in log] == [True, True, False, True, True, False]

    async def test_clients_sharing_a_key_share_its_budget(self, fake: FakeHeymarket) -> None:
        clients = [fake.client(retry=RetryPolicy.disabled()) for _ in range(2)]
        await clients[0].count_contacts()
        await clients[1].count_contacts()
        for hm in clients:
            with pytest.raises(RateLimitError):
                await hm.count_contacts()

    async def test_requests_without_a_valid_credential_are_not_counted(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        assert await statuses(raw, 3, key="wrong") == [401] * 3
        assert len(fake.rate_log) == 0
        assert await statuses(raw, 3, key="k1") == [200, 200, 429]

    async def test_the_log_never_holds_a_credential(self, fake: FakeHeymarket, raw: Raw) -> None:
        await statuses(raw, 3, key="k1")
        async with fake.client(secret_id="sid", secret_key="skey") as hm:
            await hm.count_contacts()
        text = repr(list(fake.rate_log)) + str(fake.rate_log.to_json())
        for secret in ("k1", "sid", "skey"):
            assert secret not in text


class TestLimitAndTheRestOfThePipeline:
    @pytest.fixture
    def rule(self) -> RateLimitRule:
        return RateLimitRule(1, 60.0)

    async def test_a_refused_request_reaches_no_fault_and_no_endpoint(
        self, raw: Raw, fake: FakeHeymarket, clock: FakeClock
    ) -> None:
        await statuses(raw, 1)
        rule = fake.faults.add("*", Fault.status(503), times=1)
        created = await raw("POST", "/v1/contact", {"phone": "15105550100"})
        assert created.status == 429
        assert (rule.fired, len(fake.contacts)) == (0, 0), "nothing written, no rule used up"
        assert fake.requests[-1].status == 429
        clock.advance(60)
        assert (await raw("POST", "/v1/contact", {"phone": "15105550100"})).status == 503

    async def test_a_refused_request_is_not_churned_before(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.seed(5)
        fake.churn(updates=1)
        await raw("POST", "/v1/contacts", {})
        await raw("POST", "/v1/contacts", {})
        assert len(fake.changes) == 1

    async def test_a_fault_on_an_admitted_request_still_counts_it(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        fake.faults.add("*", Fault.rate_limited(retry_after=7), times=1)
        injected = await raw("POST", "/v1/contacts/count", {})
        assert (injected.status, injected.headers["Retry-After"]) == (429, "7")
        assert [e.admitted for e in fake.rate_log] == [True], "the scripted 429 was admitted"
        assert (await raw("POST", "/v1/contacts/count", {})).headers["Retry-After"] == "60"

    async def test_a_new_rule_starts_the_counts_afresh_and_none_stops_limiting(
        self, raw: Raw, fake: FakeHeymarket
    ) -> None:
        assert await statuses(raw, 2) == [200, 429]
        fake.rate_limit = RateLimitRule(2, 60.0)
        assert await statuses(raw, 3) == [200, 200, 429]
        fake.rate_limit = None
        assert await statuses(raw, 3) == [200, 200, 200]
        assert len(fake.rate_log) == 5, "arrivals are logged only while a rule is set"
        assert fake.rate_limit is None


class TestRateLog:
    async def test_arrival_times_keys_and_answers(
        self, raw: Raw, fake: FakeHeymarket, clock: FakeClock
    ) -> None:
        for _ in range(4):
            await raw("POST", "/v1/contacts/count", {})
            clock.advance(0.25)
        log = fake.rate_log
        assert list(log) == [
            RateLogEntry(T0_SECONDS, KEY, True),
            RateLogEntry(T0_SECONDS + 0.25, KEY, True),
            RateLogEntry(T0_SECONDS + 0.5, KEY, True),
            RateLogEntry(T0_SECONDS + 0.75, KEY, False),
        ]
        assert (log.refused(), log.refused(KEY), log.refused("other")) == (1, 1, 0)
        assert log.admitted() == [T0_SECONDS, T0_SECONDS + 0.25, T0_SECONDS + 0.5]
        assert log.max_in_window(10.0) == 3
        assert repr(log) == "RateLog(4 arrivals, 1 refused)"
        log.clear()
        assert len(fake.rate_log) == 0

    def test_max_in_a_sliding_and_in_a_fixed_window(self) -> None:
        log = RateLog(
            [
                RateLogEntry(100.9, "a", True),
                RateLogEntry(100.95, "a", True),
                RateLogEntry(101.0, "b", True),
                RateLogEntry(101.0, "a", False),  # refused: not counted
                RateLogEntry(101.05, "a", True),
                RateLogEntry(101.95, "a", True),
            ]
        )
        assert log.max_in_window(1.0) == 4, "(100.05, 101.05] holds four"
        assert log.max_in_window(1.0, fixed=True) == 3, "[101, 102) holds three"
        assert log.max_in_window(1.0, key="a") == 3
        assert log.max_in_window(1.0, fixed=True, key="a") == 2
        assert log.max_in_window(0.06) == 2
        assert log.max_in_window(0.05) == 1, "0.05 s apart: never in one (t - 0.05, t]"
        assert RateLog().max_in_window(1.0) == 0
        with pytest.raises(ValueError, match="window must be > 0"):
            log.max_in_window(0)

    def test_json_round_trip_and_polling(self) -> None:
        log = RateLog([RateLogEntry(1.5, "a", True), RateLogEntry(2.25, "b", False)])
        data = log.to_json()
        assert data == {"entries": [[1.5, "a", True], [2.25, "b", False]], "next": 2}
        assert list(RateLog.from_json(data)) == list(log)
        assert log.to_json(since=1) == {"entries": [[2.25, "b", False]], "next": 2}
        assert log[1:] == [RateLogEntry(2.25, "b", False)]


arrivals = st.lists(st.integers(0, 3_000_000), min_size=1, max_size=60).map(sorted)


def replay(admitted: list[int], rule: RateLimitRule) -> _Window:
    """A fresh window that has admitted these arrivals (microseconds)."""
    window = _Window(rule)
    for t in admitted:
        assert window.arrive(t) is None
    return window


class TestWindowAgainstTheLog:
    """Whatever the arrivals: every window the log measures holds at most the budget, a
    request is refused only when its window is full, and the wait given is the shortest."""

    @settings(max_examples=200, deadline=None)
    @given(
        times=arrivals,
        requests=st.integers(1, 5),
        width=st.integers(1, 1_000_000),
        sliding=st.booleans(),
    )
    def test_the_rule_holds_refusals_are_needed_and_waits_exact(
        self, times: list[int], requests: int, width: int, sliding: bool
    ) -> None:
        rule = RateLimitRule(requests, width / 1_000_000, sliding=sliding)
        window = _Window(rule)
        log = RateLog()
        admitted: list[int] = []
        for t in times:
            wait = window.arrive(t)
            log.append(RateLogEntry(t / 1_000_000, "k", wait is None))
            if wait is None:
                admitted.append(t)
                continue
            if sliding:
                inside = [a for a in admitted if t - width < a <= t]
            else:
                inside = [a for a in admitted if a // width == t // width]
            assert len(inside) == requests, "refused only when the window is full"
            assert replay(admitted, rule).arrive(t + wait) is None
            assert replay(admitted, rule).arrive(t + wait - 1) is not None
        assert log.max_in_window(rule.window, fixed=not sliding) <= requests


class TestLatency:
    async def test_every_request_waits_the_delay_plus_a_seeded_jitter(
        self, clock: FakeClock
    ) -> None:
        sleeps = Sleeps()
        latency = Latency(0.05, jitter=0.06, seed=3)
        fake = FakeHeymarket(clock=clock, latency=latency, sleep=sleeps)
        async with fake, fake.client() as hm:
            for _ in range(5):
                await hm.count_contacts()
        rng = random.Random(3)
        assert sleeps.slept == [0.05 + rng.uniform(0, 0.06) for _ in range(5)]
        assert all(0.05 <= s <= 0.11 for s in sleeps.slept)

    async def test_a_429_waits_the_latency_too(self, clock: FakeClock) -> None:
        sleeps = Sleeps()
        rule = RateLimitRule(1, 10.0)
        fake = FakeHeymarket(clock=clock, latency=0.5, sleep=sleeps, rate_limit=rule)
        async with fake, fake.client(retry=RetryPolicy.disabled()) as hm:
            await hm.count_contacts()
            with pytest.raises(RateLimitError):
                await hm.count_contacts()
        assert sleeps.slept == [0.5, 0.5]

    async def test_arrival_is_counted_before_the_latency(self, clock: FakeClock) -> None:
        sleeps = Sleeps(clock)  # each request's latency moves the clock 0.6 s
        rule = RateLimitRule(1, 1.0)
        fake = FakeHeymarket(clock=clock, latency=0.6, sleep=sleeps, rate_limit=rule)
        async with fake, fake.client(retry=RetryPolicy.disabled()) as hm:
            await hm.count_contacts()  # arrives at 0.0 (window 0), answered at 0.6
            with pytest.raises(RateLimitError):
                await hm.count_contacts()  # arrives at 0.6, still window 0: refused
        # Counted after the latency, the second would have been at 1.2, in window 1.
        assert [(e.time - T0_SECONDS, e.admitted) for e in fake.rate_log] == [
            (0.0, True),
            (pytest.approx(0.6), False),
        ]

    async def test_settable_at_runtime_and_fault_latency_uses_the_same_sleep(self) -> None:
        sleeps = Sleeps()
        async with FakeHeymarket(sleep=sleeps) as fake, fake.client() as hm:
            assert fake.latency == Latency()
            assert not fake.latency
            fake.latency = 0.25
            assert fake.latency == Latency(0.25)
            fake.faults.add("*", Fault.latency(0.125), times=1)
            await hm.count_contacts()
            fake.latency = Latency(0, jitter=0.01, seed=1)
            await hm.count_contacts()
        assert sleeps.slept == [0.25, 0.125, random.Random(1).uniform(0, 0.01)]


class TestOptions:
    @pytest.mark.parametrize(
        ("make", "message"),
        [
            (lambda: RateLimitRule(0, 60.0), "requests must be an int >= 1"),
            (lambda: RateLimitRule(True, 60.0), "requests must be an int >= 1"),
            (lambda: RateLimitRule(5, 0), "window must be a number of seconds > 0"),
            (lambda: RateLimitRule(5, float("inf")), "window must be a number of seconds"),
            (lambda: RateLimitRule(5, sliding="yes"), "sliding must be true or false"),
            (lambda: Latency(-0.1), "seconds must be a number of seconds >= 0"),
            (lambda: Latency(0.1, jitter=float("nan")), "jitter must be a number of seconds"),
        ],
    )
    def test_bad_values_are_refused(self, make: Any, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            make()

    def test_a_rate_limit_must_be_a_rule(self) -> None:
        with pytest.raises(TypeError, match="rate_limit must be a RateLimitRule or None"):
            FakeHeymarket(rate_limit=500)  # type: ignore[arg-type]

    def test_a_rule_reads_as_one_line(self) -> None:
        assert str(RateLimitRule(500, 60.0, sliding=True, retry_after=False)) == (
            "500 requests per 60 s (sliding window, 429 without Retry-After)"
        )

    async def test_no_limit_by_default(self, clock: FakeClock) -> None:
        async with FakeHeymarket(clock=clock) as fake, fake.client() as hm:
            for _ in range(5):
                await hm.count_contacts()
            assert fake.rate_limit is None
            assert len(fake.rate_log) == 0
