"""The emulator's opt-in limits: a per-key request budget answered 429, and added latency.

::

    FakeHeymarket(rate_limit=RateLimitRule(500, 60.0), latency=Latency(0.05, jitter=0.06))

The budget is counted per credential (one API key; one secret pair, whatever JWTs it signs), on
the emulator's clock (:class:`.FakeClock`), when a request arrives: before the added latency,
as a gateway counts what reaches it. Every arrival while a rule is set goes in the
:class:`RateLog`, which benchmarks read to check a client's pacing (``fake.rate_log``, or
``GET /_emulator/rate-log`` from another process).
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Final, NamedTuple, overload

import attrs

_MICROS: Final = 1_000_000


def _positive_int(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an int >= 1, got {value!r}")


def _seconds(*, positive: bool) -> Callable[[object, attrs.Attribute[float], float], None]:
    def check(_: object, attribute: attrs.Attribute[float], value: float) -> None:
        number = not isinstance(value, bool) and isinstance(value, (int, float))
        if not (number and math.isfinite(value) and (value > 0 if positive else value >= 0)):
            bound = "> 0" if positive else ">= 0"
            raise ValueError(f"{attribute.name} must be a number of seconds {bound}, got {value!r}")

    return check


def _flag(_: object, attribute: attrs.Attribute[bool], value: bool) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be true or false, got {value!r}")


@attrs.frozen
class RateLimitRule:
    """At most ``requests`` per ``window`` seconds per API key; more are answered 429.

    - ``sliding``: ``False`` (default), fixed windows on the emulator's clock, starting at
      every multiple of ``window`` seconds since the epoch (a burst at the end of one window
      and another at the start of the next both pass); ``True``, any ``window`` seconds
      (a request is admitted while fewer than ``requests`` were admitted in the ``window``
      seconds before it).
    - ``retry_after``: send ``Retry-After`` with each 429 (default): the seconds until a
      request would be admitted again, rounded up to an integer, as real servers send it.
    - ``count_refused``: whether a refused request uses up budget too (default ``False``:
      only admitted requests count). With ``True`` and a sliding window, a client that keeps
      retrying keeps itself locked out; in fixed windows it changes nothing.
    """

    requests: int = attrs.field(validator=_positive_int)
    window: float = attrs.field(default=60.0, validator=_seconds(positive=True))
    sliding: bool = attrs.field(default=False, kw_only=True, validator=_flag)
    retry_after: bool = attrs.field(default=True, kw_only=True, validator=_flag)
    count_refused: bool = attrs.field(default=False, kw_only=True, validator=_flag)

    def __str__(self) -> str:
        kind = "sliding" if self.sliding else "fixed"
        after = "with" if self.retry_after else "without"
        return (
            f"{self.requests} requests per {self.window:g} s ({kind} window, 429 {after} "
            "Retry-After)"
        )


@attrs.frozen
class Latency:
    """Seconds added before every request is answered: ``seconds`` plus a uniform random
    ``jitter`` from 0 to ``jitter``, drawn in arrival order from ``random.Random(seed)``."""

    seconds: float = attrs.field(default=0.0, validator=_seconds(positive=False))
    jitter: float = attrs.field(default=0.0, kw_only=True, validator=_seconds(positive=False))
    seed: int = attrs.field(default=0, kw_only=True)

    def __bool__(self) -> bool:
        return bool(self.seconds or self.jitter)


class RateLogEntry(NamedTuple):
    """One arrival while a rate limit was set: when (seconds since the epoch on the
    emulator's clock), whose (:meth:`RateLog.key_for` of the credential), and whether it was
    admitted (``False``: answered 429)."""

    time: float
    key: str
    admitted: bool


def key_hash(credential: str) -> str:
    """The log's name for a credential: a short hash, so that no key is ever logged."""
    return hashlib.sha256(credential.encode()).hexdigest()[:16]


class RateLog(Sequence[RateLogEntry]):
    """The arrivals at a rate-limited emulator, oldest first (``fake.rate_log``).

    ::

        log = fake.rate_log                      # in process
        log = await RateLog.fetch(url)           # from the emulator in another process
        assert log.max_in_window(60.0) <= 500    # any 60 s: the rule held
        assert log.refused() == 0

    A sequence of :class:`RateLogEntry`.
    """

    def __init__(self, entries: Iterable[RateLogEntry] = ()) -> None:
        self._entries = list(entries)

    @overload
    def __getitem__(self, index: int) -> RateLogEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[RateLogEntry]: ...
    def __getitem__(self, index: int | slice) -> RateLogEntry | list[RateLogEntry]:
        return self._entries[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[RateLogEntry]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return f"RateLog({len(self)} arrivals, {self.refused()} refused)"

    @staticmethod
    def key_for(credential: str) -> str:
        """The ``key`` logged for an API key, or for a secret pair's ``secret_id``."""
        return key_hash(credential)

    def append(self, entry: RateLogEntry) -> None:
        """Add an arrival (the emulator does)."""
        self._entries.append(entry)

    def clear(self) -> None:
        """Forget every arrival (between two runs of a benchmark, say)."""
        self._entries.clear()

    def keys(self) -> list[str]:
        """The keys seen, in order of their first arrival."""
        return list(dict.fromkeys(e.key for e in self._entries))

    def admitted(self, key: str | None = None) -> list[float]:
        """The arrival times of the admitted requests (of ``key``; all keys by default)."""
        return [e.time for e in self._entries if e.admitted and key in (None, e.key)]

    def refused(self, key: str | None = None) -> int:
        """How many arrivals were answered 429 (of ``key``; all keys by default)."""
        return sum(1 for e in self._entries if not e.admitted and key in (None, e.key))

    def max_in_window(self, window: float, *, fixed: bool = False, key: str | None = None) -> int:
        """The most requests admitted within one window of ``window`` seconds.

        Sliding (default): over every span ``(t - window, t]``, the rule a sliding
        :class:`RateLimitRule` enforces. ``fixed=True``: over the fixed windows starting at
        the multiples of ``window`` since the epoch, the ones a fixed rule counts in. All keys
        together by default (processes sharing one key: their aggregate); ``key`` for one.
        """
        width = round(window * _MICROS)
        if width <= 0:
            raise ValueError("window must be > 0")
        times = sorted(round(t * _MICROS) for t in self.admitted(key))
        if fixed:
            return max(Counter(t // width for t in times).values(), default=0)
        best = 0
        for end, t in enumerate(times):
            start = bisect.bisect_right(times, t - width, 0, end)
            best = max(best, end - start + 1)
        return best

    def to_json(self, since: int = 0) -> dict[str, Any]:
        """``{"entries": [[time, key, admitted], ...], "next": n}`` from entry ``since`` on
        (the answer of ``GET /_emulator/rate-log?since=...``; ``next`` is the ``since`` of the
        following poll)."""
        return {"entries": [list(e) for e in self._entries[since:]], "next": len(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateLog:
        """A log from :meth:`to_json`'s form."""
        return cls(RateLogEntry(float(t), str(k), bool(a)) for t, k, a in data["entries"])

    @classmethod
    async def fetch(cls, base_url: str) -> RateLog:
        """The log of the emulator serving at ``base_url`` (``GET /_emulator/rate-log``)."""
        import aiohttp

        url = f"{base_url.rstrip('/')}/_emulator/rate-log"
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            resp.raise_for_status()
            return cls.from_json(await resp.json())


class _Window:
    """One key's count under a rule; :meth:`arrive` says how long a refused request waits."""

    def __init__(self, rule: RateLimitRule) -> None:
        self.rule = rule
        self.width = round(rule.window * _MICROS)
        self.fixed_at = -1  # the fixed window counted in, as its number
        self.count = 0
        self.times: deque[int] = deque()  # the sliding window's counted arrivals

    def arrive(self, now: int) -> int | None:
        """``None`` if a request arriving at ``now`` (microseconds) is admitted, else the
        microseconds until one would be."""
        rule, width = self.rule, self.width
        if not rule.sliding:
            current = now // width
            if current != self.fixed_at:
                self.fixed_at, self.count = current, 0
            if self.count < rule.requests:
                self.count += 1
                return None
            return (current + 1) * width - now
        times = self.times
        while times and times[0] <= now - width:
            times.popleft()
        if len(times) < rule.requests:
            times.append(now)
            return None
        if rule.count_refused:
            times.append(now)
        # Admitted again once all but requests - 1 of the counted arrivals have aged out.
        return max(times[len(times) - rule.requests] + width - now, 1)


class Limits:
    """One emulator's rate limit, latency and rate log (``FakeHeymarket`` holds one)."""

    def __init__(
        self,
        *,
        clock: Callable[[], int],
        sleep: Callable[[float], Awaitable[None]],
        rule: RateLimitRule | None = None,
        latency: Latency | float = 0.0,
    ) -> None:
        self._clock = clock
        self.sleep = sleep
        self.log = RateLog()
        self._windows: dict[str, _Window] = {}
        self.rule = rule
        self.latency = latency

    @property
    def rule(self) -> RateLimitRule | None:
        return self._rule

    @rule.setter
    def rule(self, rule: RateLimitRule | None) -> None:
        if rule is not None and not isinstance(rule, RateLimitRule):
            raise TypeError(f"rate_limit must be a RateLimitRule or None, got {rule!r}")
        self._rule = rule
        self._windows = {}

    @property
    def latency(self) -> Latency:
        return self._latency

    @latency.setter
    def latency(self, latency: Latency | float) -> None:
        if not isinstance(latency, Latency):
            latency = Latency(latency)
        self._latency = latency
        self._rng = random.Random(latency.seed)

    def arrive(self, key: str | None) -> int | None:
        """Count an arrival of credential ``key`` (``None``: no valid credential, not
        limited); ``None`` if it is admitted, else its ``Retry-After`` in whole seconds."""
        rule = self._rule
        if rule is None or key is None:
            return None
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(rule)
        now = self._clock()
        wait = window.arrive(now)
        self.log.append(RateLogEntry(now / _MICROS, key, wait is None))
        return None if wait is None else -(-wait // _MICROS)

    async def delay(self) -> None:
        """Sleep the added latency (nothing without one)."""
        latency = self._latency
        if not latency:
            return
        seconds = latency.seconds
        if latency.jitter:
            seconds += self._rng.uniform(0.0, latency.jitter)
        await self.sleep(seconds)
