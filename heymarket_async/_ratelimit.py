"""Pacing requests: the :class:`RateLimiter` protocol that ``HeymarketClient(rate_limit=)``
takes, and :class:`LocalRateLimiter`, the one that paces the tasks of one process.

Heymarket allows 500 requests a minute per API key and does not say how it counts (a fixed
window, a sliding window, a token bucket). Requests spaced evenly at ``60 / rate`` seconds stay
under every one of those, so the local limiter grants no bursts: send times are one interval
apart (GCRA with a burst of one). An idle client still sends at once. A task that takes its turn
a little late (the event loop was busy when it came: a few milliseconds, several per cent of an
interval at a high rate) does not push every later turn back: the next is an interval after the
one due (:data:`LATE_SPAN`).

Waiting tasks queue in order and only the first one sleeps; it claims its send time when that
time comes. A task that leaves the queue early (cancelled, or its deadline out of reach) so
never holds a turn, and the tasks behind it move up.

After a 429 the limiter pauses every task for what the server said, and *learns*: it paces a
little slower from then on (:data:`CUT` of the rate, at most once a minute: :data:`CUT_SPAN`),
and recovers the cut slowly (:data:`RECOVERY` of the rate a minute). Pacing at exactly the
limit is right for a server that counts sends; a server that counts arrivals sees the network's
jitter too, and the cut is what absorbs it, measured rather than guessed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Final, Protocol, runtime_checkable

from ._loops import LoopBinding

__all__ = [
    "CUT",
    "CUT_SPAN",
    "HEADROOM",
    "HEYMARKET_RATE_LIMIT",
    "LATE_MAX",
    "LATE_SPAN",
    "RECOVERY",
    "Clock",
    "LocalRateLimiter",
    "RateLimiter",
    "Sleep",
    "WIRE_TIME",
]

#: A monotonic clock, in seconds (the client's; a test's fake one).
Clock = Callable[[], float]
#: The client's sleep: it raises :class:`~heymarket_async.ClientClosedError` when the client
#: closes, so a limiter that waits only through it never outlives its client.
Sleep = Callable[[float], Awaitable[None]]

#: How long the current task's last answered attempt took from its turn to its answer, in
#: seconds (the client sets it as each answer comes): what a walk sizes its requests in flight
#: by, which a time taken around the call would overstate by the wait for the turn.
WIRE_TIME: Final[ContextVar[float]] = ContextVar("heymarket_async_wire_time", default=-1.0)

#: Heymarket's documented limit, in requests a minute per API key: the default pacing for its API.
HEYMARKET_RATE_LIMIT: Final = 500.0
#: How far under ``per_minute`` the local limiter paces when no 429 was seen: a server that
#: counts arrivals sees the network's jitter on top of the even spacing, so that a rate at
#: the limit draws a 429 now and then (20 ms of jitter against a 1 s window admits at most 98%
#: without one; against Heymarket's minute, 99.9%).
HEADROOM: Final = 0.02
#: A send at most ``headroom`` x this many intervals after its turn (2%: a fifth of an interval,
#: 10 ms at 1,200 a minute) keeps the schedule: the next turn is one interval after the one due,
#: not after the late send. On a busy event loop each turn comes a few milliseconds late, which
#: would otherwise cost several per cent of the rate. Two sends may then come closer than an
#: interval, but any span of this many intervals at ``per_minute`` or more holds no more sends
#: than pacing at exactly ``per_minute`` would let through.
LATE_SPAN: Final = 10
#: The most a send may be late and keep the schedule, in intervals (whatever the headroom): so
#: the next turn stays at least 0.8 of an interval after it, never a burst.
LATE_MAX: Final = 0.2
#: How much slower the local limiter paces after a 429 (a fraction of its rate), at most once
#: in :data:`CUT_SPAN`.
CUT: Final = 0.03
#: After a cut, the 429s of this many seconds cut no more: one overload is one lesson. Its 429s
#: come together (the requests in flight), and, from a server that says no ``Retry-After`` (as
#: Heymarket's docs do not), go on for as long as its window stays full: a retry after each
#: short backoff draws another, for up to the documented minute. Cut again for each, a minute's
#: overload took a third of the rate, which wore off over an hour.
CUT_SPAN: Final = 60.0
#: How fast a cut wears off: this fraction of the rate a minute without a 429.
RECOVERY: Final = 0.005
#: The slowest the limiter learns to pace, as a fraction of its rate.
FLOOR: Final = 0.5


@runtime_checkable
class RateLimiter(Protocol):
    """What paces a client's requests (``HeymarketClient(rate_limit=...)``).

    :class:`LocalRateLimiter` paces the tasks of one process; ``RedisRateLimiter`` shares one
    API key's budget between processes. Plug your own by implementing these three members; one
    limiter may serve several clients.
    """

    @property
    def per_minute(self) -> float:
        """The rate it paces at, in requests a minute (walks size their pages in flight by
        it)."""
        ...

    async def acquire(self, deadline: float | None, clock: Clock, sleep: Sleep) -> bool:
        """Wait until one request may be sent, and count it sent.

        Returns ``True`` when the request may go now, ``False`` (taking nothing, at once) when
        its turn would come at or after ``deadline`` (a time on ``clock``; ``None``: no
        deadline). Wait only through ``sleep``: it ends the wait with ``ClientClosedError`` when
        the client closes. A cancelled ``acquire`` may cost at most one turn.
        """
        ...

    async def pause(self, seconds: float, clock: Clock) -> None:
        """The server answered 429: nothing may be sent for ``seconds`` (its ``Retry-After``,
        or the retry's backoff), by any task sharing this limiter."""
        ...


class _Waiter:
    """One task queued in :meth:`LocalRateLimiter.acquire`."""

    __slots__ = ("deadline", "gone", "woken")

    def __init__(self, deadline: float | None, woken: asyncio.Future[None]) -> None:
        self.deadline = deadline
        #: Set when it becomes the first in the queue, or is told to leave.
        self.woken = woken
        #: Out of the queue (left, or told to leave); the entry is dropped once it is first.
        self.gone = False


class LocalRateLimiter:
    """Hands out send times ``60 / per_minute`` seconds apart, across every task of this
    process that shares it (``HeymarketClient(rate_limit=500)`` makes one); a send a little
    late keeps the schedule (:data:`LATE_SPAN`).

    It paces :data:`HEADROOM` (2%) under ``per_minute`` (``headroom=0``: at it). ``learn`` (the
    default) paces :data:`CUT` slower after a 429, recovering slowly up to that; without it a
    429 only pauses. The bookkeeping (:meth:`turn`, :meth:`claim`, :meth:`pause_at`) is
    synchronous and takes the time as an argument, so it is tested without an event loop;
    :meth:`acquire` does the waiting with whatever clock and sleep the client uses.
    """

    __slots__ = (
        "_binding",
        "_cut_at",
        "_factor",
        "_full",
        "_interval",
        "_late",
        "_next",
        "_paused_until",
        "_queue",
        "_waiting",
        "learn",
        "per_minute",
    )

    def __init__(
        self, per_minute: float, *, headroom: float = HEADROOM, learn: bool = True
    ) -> None:
        if isinstance(per_minute, bool) or not isinstance(per_minute, (int, float)):
            raise TypeError("rate_limit must be a number of requests per minute")
        if not per_minute > 0 or per_minute == float("inf"):
            raise ValueError("rate_limit must be a number of requests per minute > 0")
        if not isinstance(learn, bool):
            raise TypeError("learn must be True or False")
        if isinstance(headroom, bool) or not isinstance(headroom, (int, float)):
            raise TypeError("headroom must be a number from 0 to 0.5")
        if not 0 <= headroom <= 0.5:
            raise ValueError("headroom must be a number from 0 to 0.5")
        self.per_minute = float(per_minute)
        self.learn = learn
        #: The fraction of ``per_minute`` paced at when no 429 was seen.
        self._full = 1.0 - float(headroom)
        #: The fraction of ``per_minute`` paced at right after the last cut (``_full``: none).
        self._factor = self._full
        self._interval = 60.0 / (self.per_minute * self._full)
        #: How late a send may be and keep the schedule (:data:`LATE_SPAN`).
        #: Capped at a fifth of an interval (the default's): a larger headroom must not let a
        #: send that late put the next turn in the past, a burst.
        self._late = min(float(headroom) * LATE_SPAN, LATE_MAX) * self._interval
        #: When the last cut was (none yet: never).
        self._cut_at = float("-inf")
        self._paused_until = float("-inf")
        #: The earliest time the next request may be sent.
        self._next = float("-inf")
        #: Tasks waiting in :meth:`acquire`, first come first served. The first entry, when
        #: there is one, is never gone: it is the one sleeping until ``_next``.
        self._queue: deque[_Waiter] = deque()
        #: The event loop of the tasks in ``_queue``.
        self._binding = LoopBinding()
        #: How many entries of ``_queue`` are not gone.
        self._waiting = 0

    def rate(self, now: float) -> float:
        """The rate paced at, at ``now``: ``per_minute`` less the headroom and what a 429 cut
        and has not recovered yet."""
        return self.per_minute * self._share(now)

    def _share(self, now: float) -> float:
        factor = self._factor
        if factor < self._full:
            factor += RECOVERY * (now - self._cut_at) / 60.0
            if factor >= self._full:
                self._factor = factor = self._full
                self._interval = 60.0 / (self.per_minute * factor)
        return factor

    def turn(self, now: float, ahead: int = 0) -> float:
        """When a request may be sent (``<= now``: at once), behind ``ahead`` queued ones."""
        return (self._next if self._next > now else now) + ahead * self._interval

    def claim(self, now: float) -> None:
        """Send at ``now`` (its turn has come): the next request waits an interval from the
        turn, or from ``now`` if that is more than the tolerance (:data:`LATE_SPAN`) late."""
        if self._factor < self._full:
            self._interval = 60.0 / (self.per_minute * self._share(now))
        due = self._next
        self._next = (due if now - due <= self._late else now) + self._interval

    def pause_at(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` from ``now`` (the server said 429): every task waits,
        not only one; and, when learning, pace :data:`CUT` slower from now on (once for the
        429s of :data:`CUT_SPAN`: one overload draws them together).

        Waiting tasks whose turn now falls at or after their deadline leave at once.
        """
        if self.learn and now - self._cut_at >= CUT_SPAN:
            self._factor = max(FLOOR, self._share(now) - CUT)
            self._cut_at = now
            self._interval = 60.0 / (self.per_minute * self._factor)
        until = now + seconds
        if until > self._paused_until:
            self._paused_until = until
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

    async def pause(self, seconds: float, clock: Clock) -> None:
        """:meth:`pause_at` now (the :class:`RateLimiter` protocol)."""
        self.pause_at(clock(), seconds)

    async def acquire(self, deadline: float | None, clock: Clock, sleep: Sleep) -> bool:
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
                # claimed at the time it is, so that a wake-up later than the tolerance starts
                # the schedule again from now rather than letting a burst through.
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
        """Send every waiting task away (the client that made this limiter closed): each
        returns ``False``, no turn used."""
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
        return f"LocalRateLimiter(per_minute={self.per_minute:g})"
