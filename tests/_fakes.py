"""Test helpers for time: a fake clock and sleep, so that no test waits on a real backoff."""

from __future__ import annotations

import asyncio
import time

from heymarket_async import HeymarketClient
from heymarket_async.testing import install_clock


class FakeTime:
    """A clock that only moves when something sleeps (or a test advances it).

    ``sleep`` records the wait, moves the clock, and yields once to the loop, so that
    concurrent tasks interleave as they would, without any real waiting.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def install(self, client: HeymarketClient) -> HeymarketClient:
        return install_clock(client, clock=self.clock, sleep=self.sleep)


class InstantSleep:
    """A sleep that records each wait and returns at once, on the real clock."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


class ScaledTime:
    """Real time run ``scale`` times faster: for concurrent tests.

    One fake clock moved by every sleep is wrong once tasks sleep side by side (ten tasks each
    sleeping 1 s would move it 10 s); a fast real clock keeps overlapping sleeps overlapping.
    With ``scale=1000``, a "second" is a millisecond.
    """

    def __init__(self, scale: float = 1000.0) -> None:
        self.scale = scale
        self._start = time.monotonic()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return (time.monotonic() - self._start) * self.scale

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(seconds / self.scale)

    def install(self, client: HeymarketClient) -> HeymarketClient:
        return install_clock(client, clock=self.clock, sleep=self.sleep)
