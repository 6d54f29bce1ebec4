"""A request-rate limiter shared by every task using a client (``HeymarketClient(rate_limit=)``).

Heymarket allows 500 requests a minute and does not say how it counts (a fixed window, a
sliding window, a token bucket). Requests spaced evenly at ``60 / rate`` seconds stay under
every one of those, so the limiter grants no bursts: send times are at least one interval
apart (GCRA with a burst of one). An idle client still sends at once.

Waiting tasks queue in order and only the first one sleeps; it claims its send time when that
time comes. A task that leaves the queue early (cancelled, or its deadline out of reach) so
never holds a turn, and the tasks behind it move up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from ._loops import LoopBinding

__all__ = ["RateLimiter"]


class _Waiter:
    """One task queued in :meth:`RateLimiter.wait_turn`."""

    __slots__ = ("deadline", "gone", "woken")

    def __init__(self, deadline: float | None, woken: asyncio.Future[None]) -> None:
        self.deadline = deadline
        #: Set when it becomes the first in the queue, or is told to leave.
        self.woken = woken
        #: Out of the queue (left, or told to leave); the entry is dropped once it is first.
        self.gone = False


class RateLimiter:
    """Hands out send times at least ``60 / per_minute`` seconds apart, across every task.

    The bookkeeping (:meth:`turn`, :meth:`claim`, :meth:`pause`) is synchronous and takes the
    time as an argument, so it is tested without an event loop; :meth:`wait_turn` does the
    waiting with whatever clock and sleep the client uses.
    """

    __slots__ = ("_binding", "_interval", "_next", "_queue", "_waiting", "per_minute")

    def __init__(self, per_minute: float) -> None:
        if isinstance(per_minute, bool) or not isinstance(per_minute, (int, float)):
            raise TypeError("rate_limit must be a number of requests per minute")
        if not per_minute > 0 or per_minute == float("inf"):
            raise ValueError("rate_limit must be a number of requests per minute > 0")
        self.per_minute = float(per_minute)
        self._interval = 60.0 / self.per_minute
        #: The earliest time the next request may be sent.
        self._next = float("-inf")
        #: Tasks waiting in :meth:`wait_turn`, first come first served. The first entry, when
        #: there is one, is never gone: it is the one sleeping until ``_next``.
        self._queue: deque[_Waiter] = deque()
        #: The event loop of the tasks in ``_queue``.
        self._binding = LoopBinding()
        #: How many entries of ``_queue`` are not gone.
        self._waiting = 0

    def turn(self, now: float, ahead: int = 0) -> float:
        """When a request may be sent (``<= now``: at once), behind ``ahead`` queued ones."""
        return (self._next if self._next > now else now) + ahead * self._interval

    def claim(self, now: float) -> None:
        """Send at ``now`` (its turn has come): the next request waits an interval."""
        self._next = now + self._interval

    def pause(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` (the server said 429): every task waits, not only one.

        Waiting tasks whose turn now falls at or after their deadline leave at once.
        """
        until = now + seconds
        if until > self._next:
            self._next = until
        turn = self._next if self._next > now else now
        first = True
        for waiter in self._queue:
            if waiter.gone:
                continue
            if first:
                # It sleeps on the clock and looks at the deadline again when it wakes.
                first = False
            elif waiter.deadline is not None and turn >= waiter.deadline:
                self._leave(waiter)
                continue
            turn += self._interval

    async def wait_turn(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        deadline: float | None,
    ) -> bool:
        """Wait until this task may send; ``False`` (at once) if that is not before ``deadline``.

        Also ``False`` as soon as a pause puts the turn at or after ``deadline``. A task that
        returns ``False`` or is cancelled uses no turn.
        """
        if self._binding.moved():
            # Waiters of a loop that is gone (the client moved on to a new one) will never be
            # woken, nor leave: forget them, or every task of this loop queues behind them.
            self._send_away(wake=False)
        now = clock()
        ahead = self._waiting
        turn = self.turn(now, ahead)
        if deadline is not None and turn >= deadline:
            return False
        if turn <= now:
            self.claim(now)
            return True
        waiter = _Waiter(deadline, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        self._waiting += 1
        try:
            if ahead:
                await waiter.woken
                if waiter.gone:
                    return False
            while True:
                # Claimed only when due, so that leaving before then takes nothing from anyone;
                # claimed at the time it is (not the time it was due), so that a late wake-up
                # never lets two sends through closer than an interval.
                now = clock()
                turn = self.turn(now)
                if deadline is not None and turn >= deadline:
                    return False
                if turn <= now:
                    self.claim(now)
                    return True
                # A 429 elsewhere may move ``_next`` while this task sleeps: look again.
                await sleep(turn - now)
        finally:
            self._leave(waiter)

    def wake_all(self) -> None:
        """Send every waiting task away (the client closed): each returns ``False``, no turn
        used."""
        self._send_away(wake=True)

    def _send_away(self, *, wake: bool) -> None:
        """Empty the queue; its waiters are gone (their ``finally`` changes nothing), and with
        ``wake`` those of a live loop are woken to return ``False``."""
        for waiter in self._queue:
            waiter.gone = True
            woken = waiter.woken
            if wake and not woken.done() and not woken.get_loop().is_closed():
                woken.set_result(None)
        self._queue.clear()
        self._waiting = 0

    def _leave(self, waiter: _Waiter) -> None:
        """Take ``waiter`` out of the queue; if it was first, wake the next one."""
        if waiter.gone:
            return
        waiter.gone = True
        self._waiting -= 1
        queue = self._queue
        if queue[0] is waiter:
            queue.popleft()
            while queue and queue[0].gone:
                queue.popleft()
            if not queue:
                return
            waiter = queue[0]
        if not waiter.woken.done():
            waiter.woken.set_result(None)

    def __repr__(self) -> str:
        return f"RateLimiter(per_minute={self.per_minute:g})"
