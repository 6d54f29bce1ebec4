"""A request-rate limiter shared by every task using a client (``HeymarketClient(rate_limit=)``).

Heymarket allows 500 requests a minute and does not say how it counts (a fixed window, a
sliding window, a token bucket). Requests spaced evenly at ``60 / rate`` seconds stay under
every one of those, so the limiter grants no bursts: it hands out send times one interval
apart (GCRA with a burst of one). An idle client still sends at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Hands out send times ``60 / per_minute`` seconds apart, across every task.

    The bookkeeping (:meth:`reserve`, :meth:`pause`) is synchronous and takes the time as an
    argument, so it is tested without an event loop; :meth:`wait_turn` does the waiting with
    whatever clock and sleep the client uses.
    """

    __slots__ = ("_interval", "_next", "_paused_until", "per_minute")

    def __init__(self, per_minute: float) -> None:
        if isinstance(per_minute, bool) or not isinstance(per_minute, (int, float)):
            raise TypeError("rate_limit must be a number of requests per minute")
        if not per_minute > 0 or per_minute == float("inf"):
            raise ValueError("rate_limit must be a number of requests per minute > 0")
        self.per_minute = float(per_minute)
        self._interval = 60.0 / self.per_minute
        #: The earliest time the next request may be sent.
        self._next = float("-inf")
        #: No request reserved before a pause may be sent before this time.
        self._paused_until = float("-inf")

    def reserve(self, now: float, deadline: float | None = None) -> float | None:
        """Claim the next send time (``<= now`` means go at once).

        Returns ``None``, claiming nothing, when that time is not before ``deadline``.
        """
        slot = self._next if self._next > now else now
        if deadline is not None and slot >= deadline:
            return None
        self._next = slot + self._interval
        return slot

    def pause(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` (the server said 429): every task waits, not only one.

        Tasks already waiting for a time inside the pause take a new one after it.
        """
        until = now + seconds
        if until > self._paused_until:
            self._paused_until = until
        if until > self._next:
            self._next = until

    async def wait_turn(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        deadline: float | None,
    ) -> bool:
        """Wait until this task may send; ``False`` (at once) if that is not before ``deadline``."""
        while True:
            now = clock()
            slot = self.reserve(now, deadline)
            if slot is None:
                return False
            if slot <= now:
                return True
            await sleep(slot - now)
            # A 429 elsewhere may have paused the bucket while this task slept.
            if slot >= self._paused_until:
                return True

    def __repr__(self) -> str:
        return f"RateLimiter(per_minute={self.per_minute:g})"
