"""FakeClock: real time by default; set, advance, freeze, unfreeze, tick (wall clock injected)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from heymarket_async.testing import FakeClock, FakeHeymarket
from heymarket_async.testing._clock import from_micros, to_micros

T0 = datetime(2026, 5, 7, 12, 0, 0, 123456, tzinfo=timezone.utc)


class Wall:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestConversions:
    def test_round_trip_is_exact(self) -> None:
        assert from_micros(to_micros(T0)) == T0
        offset = T0.astimezone(timezone(timedelta(hours=5)))
        assert to_micros(offset) == to_micros(T0)

    def test_naive_datetimes_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="naive"):
            to_micros(datetime(2026, 1, 1))


class TestFakeClock:
    def test_runs_with_the_wall_clock(self) -> None:
        wall = Wall()
        clock = FakeClock(wall=wall)
        before = clock.now()
        wall.now += 2.5
        assert clock.now() - before == timedelta(seconds=2.5)
        assert not clock.frozen

    def test_set_keeps_running_from_the_new_time(self) -> None:
        wall = Wall()
        clock = FakeClock(T0, wall=wall)
        assert clock.now() == T0
        wall.now += 1
        assert clock.now() == T0 + timedelta(seconds=1)

    def test_freeze_and_advance(self) -> None:
        wall = Wall()
        clock = FakeClock(T0, frozen=True, wall=wall)
        wall.now += 100
        assert clock.now() == T0
        clock.advance(0.5)
        assert clock.now() == T0 + timedelta(seconds=0.5)
        clock.set(T0)
        assert clock.now() == T0
        assert "frozen" in repr(clock)

    def test_unfreeze_runs_on_from_where_it_stood(self) -> None:
        wall = Wall()
        clock = FakeClock(T0, frozen=True, wall=wall)
        clock.unfreeze()
        wall.now += 3
        assert clock.now() == T0 + timedelta(seconds=3)
        clock.unfreeze()  # already running: no change
        assert clock.now() == T0 + timedelta(seconds=3)
        clock.advance(-1)
        assert clock.now() == T0 + timedelta(seconds=2)
        assert "running" in repr(clock)

    def test_freeze_now_or_at(self) -> None:
        wall = Wall()
        clock = FakeClock(T0, wall=wall)
        clock.freeze()
        wall.now += 10
        assert clock.now() == T0
        clock.freeze(at=T0 + timedelta(days=1))
        assert clock.now() == T0 + timedelta(days=1)

    def test_tick_spaces_readings(self) -> None:
        clock = FakeClock(T0, frozen=True, tick=0.001)
        assert [clock.now() for _ in range(3)] == [
            T0,
            T0 + timedelta(milliseconds=1),
            T0 + timedelta(milliseconds=2),
        ]

    async def test_a_frozen_clock_makes_ties_through_the_api(self) -> None:
        async with FakeHeymarket(clock=FakeClock(T0, frozen=True)) as fake, fake.client() as hm:
            a = await hm.create_contact("15105553344")
            b = await hm.create_contact("15105553345")
            fake.clock.advance(1)
            c = await hm.create_contact("15105553346")
        times = [fake.contacts[r.id]["updated"] for r in (a, b, c)]
        assert times == [
            "2026-05-07T12:00:00.123Z",
            "2026-05-07T12:00:00.123Z",
            "2026-05-07T12:00:01.123Z",
        ]
