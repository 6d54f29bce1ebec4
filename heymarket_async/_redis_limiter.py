"""One API key's rate budget shared by every process and machine that uses the key:
:class:`RedisRateLimiter`, a :class:`~heymarket_async.RateLimiter` kept in Redis.

Heymarket counts requests per API key, so workers, web processes and exports sharing a key
must share its 500 a minute. Each pacing itself at the full rate overshoots (429s); a share
fixed by hand breaks when the fleet grows. Here the budget lives in Redis:

- **GCRA in one Lua script.** The key's hash holds ``tat``, the earliest time the next request
  may go (GCRA with a burst of one, as the local limiter: sends evenly spaced, ``headroom``
  (2%) under ``per_minute``). The script reads Redis's own ``TIME``, never the caller's clock,
  so machines with skewed clocks share one timeline; it reserves the next send time atomically
  and answers how long to wait for it, or refuses (reserving nothing) when that wait would
  reach the caller's deadline. A 429 sets ``pause`` (the later of the old and the new one),
  which every later reservation waits for; with ``learn`` it also paces the whole fleet 3%
  slower, recovering 0.5% a minute up to the headroom, as
  :class:`~heymarket_async.LocalRateLimiter` does for one process.
- **The key's name, never the key.** The hash is stored under
  ``heymarket_async:rate:<the first 32 hex digits of sha256(key)>``; it expires after
  :data:`IDLE_TTL` of idleness (longer than a cut takes to wear off).
- **One task of each process talks to Redis.** A process's tasks queue in a
  :class:`~heymarket_async.LocalRateLimiter` (at the fleet's rate, not learning): the first one
  reserves a send time in Redis (one round trip), holds the queue until half an interval after
  it, and sleeps until it; the next one then reserves the following turn. No request is sent
  before the time reserved for it (a slow answer makes it late, never early). Deadlines,
  cancellation and the client's ``close()`` end waits as with the local limiter, except for
  what a shared budget cannot avoid: a task cancelled (or whose client closes) after its send
  time was reserved and before it sent loses that one turn for everyone. Only while Redis takes
  longer than an interval to answer may a second task of the process ask it too.
- **When Redis fails** (refused, reset, or no answer within ``timeout``, 0.5 s): one WARNING on
  the ``heymarket_async`` logger, then this process paces itself alone at ``fallback_share`` of
  the rate (a quarter by default: four processes sharing the key stay within it), trying Redis
  again every ``retry_every`` s and going back to it (an INFO line) as soon as it answers. Never
  a hang, never unpaced sending.

Every time inside the script is Redis's, in microseconds; the caller's clock only measures how
long is left before its deadline. A turn reserved before another process saw a 429 (at most one
per process) is still sent: a pause holds back every turn reserved after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from ._loops import LoopBinding, ShutdownHook
from ._ratelimit import (
    CUT,
    CUT_SPAN,
    FLOOR,
    HEADROOM,
    HEYMARKET_RATE_LIMIT,
    RECOVERY,
    Clock,
    LocalRateLimiter,
    Sleep,
)
from ._redact import mask

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["IDLE_TTL", "KEY_PREFIX", "RedisRateLimiter", "SharedBudget", "redis_key"]

logger: Final = logging.getLogger("heymarket_async")

#: Where a key's budget is kept: this, then the first 32 hex digits of the key's SHA-256.
KEY_PREFIX: Final = "heymarket_async:rate:"
#: How long a budget nobody uses is kept in Redis, in seconds: 10 minutes, longer than a cut
#: takes to wear off (CUT / RECOVERY = 6 minutes), so that a fleet that pauses briefly does not
#: forget what a 429 taught it.
IDLE_TTL: Final = 600.0
#: What :class:`RedisRateLimiter` needs that ``pip install heymarket-async`` does not bring.
MISSING_REDIS: Final = (
    "RedisRateLimiter needs redis-py's asyncio client: pip install 'heymarket-async[redis]'"
)

# KEYS[1]: the budget's hash. ARGV: [1] 'acquire' or 'pause'; [2] the interval at per_minute;
# [3] acquire: the time left before the caller's deadline (negative: none), pause: how long;
# [4] learn ('1' or '0'); [5] the share of per_minute paced at without a 429 (1 - headroom);
# [6] CUT; [7] RECOVERY, a minute; [8] FLOOR; [9] the idle TTL in ms; [10] in test mode only,
# the time. Times in microseconds. Answers: acquire {1 or 0 (refused, nothing reserved), the
# wait}; pause {the pause left}.
_SCRIPT: Final = """
__NOW__
local key = KEYS[1]
local interval = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tat', 'pause', 'factor', 'cut_at')
local tat = tonumber(state[1]) or now
local pause = tonumber(state[2]) or now
local full = tonumber(ARGV[5])
local factor = tonumber(state[3]) or full
local share = full
if factor < full then
  share = math.min(full, factor + tonumber(ARGV[7]) * (now - tonumber(state[4])) / 60e6)
end
local answer
if ARGV[1] == 'acquire' then
  local send = math.max(tat, pause, now)
  local wait = math.ceil(send - now)
  if amount >= 0 and wait >= amount then
    return {0, wait}
  end
  tat = send + interval / share
  redis.call('HSET', key, 'tat', tat)
  answer = {1, wait}
else
  local cut_at = tonumber(state[4])
  if ARGV[4] == '1' and (cut_at == nil or now - cut_at >= __CUT_SPAN__) then
    -- Once for the 429s of CUT_SPAN: one overload draws them together.
    factor = math.max(tonumber(ARGV[8]), share - tonumber(ARGV[6]))
    redis.call('HSET', key, 'factor', factor, 'cut_at', now)
  end
  pause = math.max(pause, now + amount)
  redis.call('HSET', key, 'pause', pause)
  answer = {math.ceil(pause - now)}
end
local busy = math.max(0, tat - now, pause - now)
redis.call('PEXPIRE', key, math.ceil(busy / 1000) + tonumber(ARGV[9]))
return answer
"""
_REDIS_TIME: Final = (
    "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) * 1e6 + tonumber(t[2])"
)
_TEST_TIME: Final = "local now = tonumber(ARGV[10])"

_MICRO: Final = 1e6


def redis_key(key: str) -> str:
    """The name a key's budget has in Redis: a hash of it, never the key itself."""
    return KEY_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]


class SharedBudget:
    """The script and one key's budget in Redis: one round trip a call, no waiting, no
    fallback (that is :class:`RedisRateLimiter`'s).

    ``now`` (tests only) gives the script the time, in seconds, instead of Redis's ``TIME``:
    a script of its own, so the one that paces real requests can never be given a time.
    """

    __slots__ = ("_args", "_interval", "_name", "_now", "_script")

    def __init__(
        self,
        client: Redis,
        name: str,
        per_minute: float,
        *,
        headroom: float,
        learn: bool,
        now: Callable[[], float] | None = None,
    ) -> None:
        self._name = name
        self._now = now
        self._script: AsyncScript = client.register_script(
            _SCRIPT.replace("__NOW__", _REDIS_TIME if now is None else _TEST_TIME).replace(
                "__CUT_SPAN__", repr(CUT_SPAN * _MICRO)
            )
        )
        #: What follows the op and its amount, the same in every call.
        self._args = (
            "1" if learn else "0",
            repr(1.0 - headroom),
            repr(CUT),
            repr(RECOVERY),
            repr(FLOOR),
            str(int(IDLE_TTL * 1000)),
        )
        self._interval = 60.0 * _MICRO / per_minute

    async def reserve(self, left: float | None) -> tuple[bool, float]:
        """Reserve the next send time: whether it was (``False``: it would come ``left`` s or
        more from now, and nothing was reserved), and the seconds until it."""
        amount = -1.0 if left is None else max(0.0, left) * _MICRO
        granted, wait = await self._run("acquire", amount)
        return bool(granted), wait / _MICRO

    async def pause(self, seconds: float) -> float:
        """Nothing may be sent for ``seconds`` (unless a pause already ends later); with
        ``learn``, a 429 cuts the rate, once in ``CUT_SPAN``. The seconds the pause has left."""
        (left,) = await self._run("pause", max(0.0, seconds) * _MICRO)
        return left / _MICRO

    async def _run(self, op: str, amount: float) -> list[int]:
        args: list[str] = [op, repr(self._interval), repr(amount), *self._args]
        if self._now is not None:
            args.append(repr(self._now() * _MICRO))
        answer: Any = await self._script(keys=[self._name], args=args)
        return [int(x) for x in answer]


class RedisRateLimiter:
    """Paces every process and machine sharing one API key at ``per_minute`` in total, through
    Redis (``pip install 'heymarket-async[redis]'``)::

        limiter = RedisRateLimiter("redis://localhost:6379/0", key=api_key)
        async with limiter, HeymarketClient(api_key, rate_limit=limiter) as hm:
            ...

    ``redis``: a ``redis://``, ``rediss://`` or ``unix://`` URL (the limiter makes its own
    client, with ``timeout`` on every socket operation and no retries, and closes it in
    :meth:`aclose`), or a ``redis.asyncio.Redis`` client of yours (never closed here; give it a
    short ``socket_timeout`` too: each call is cut off after ``timeout`` all the same).
    ``key``: what names the budget, the API key itself (or, for a secret pair, its secret id):
    every limiter given the same ``key`` and Redis shares one budget; only a hash of it reaches
    Redis. Give every limiter of a key the same ``per_minute``.

    Like :class:`~heymarket_async.LocalRateLimiter`, the fleet paces ``headroom`` (2%) under
    ``per_minute`` for the network's jitter; ``learn``: after a 429 the whole fleet paces 3%
    slower, recovering 0.5% a minute up to that.
    ``fallback_share``: while Redis fails, this process paces alone at this fraction of
    ``per_minute`` (default a quarter), logging one WARNING, and tries Redis again every
    ``retry_every`` s. A client's ``close()`` ends the waits of its tasks (the turn a task had
    reserved is lost: at most one per task, as when it is cancelled).

    One limiter serves every client and task of a process; make one per process (a fork does
    not share it). The client it makes from a URL belongs to the event loop it is first used
    in, and is closed as that loop shuts down (``asyncio.run()``, pytest-asyncio), like the
    :class:`~heymarket_async.HeymarketClient`'s own session: a limiter built at import time
    serves one loop after another and leaves no connection behind; the next loop connects again.
    """

    __slots__ = (
        "_binding",
        "_budget",
        "_connect",
        "_down",
        "_failures",
        "_fallback_interval",
        "_given",
        "_interval",
        "_owned",
        "_queue",
        "_retry_at",
        "_secrets",
        "_shutdown",
        "fallback_share",
        "headroom",
        "learn",
        "per_minute",
        "redis_key",
        "retry_every",
        "timeout",
    )

    def __init__(
        self,
        redis: str | Redis,
        /,
        *,
        key: str,
        per_minute: float = HEYMARKET_RATE_LIMIT,
        headroom: float = HEADROOM,
        learn: bool = True,
        fallback_share: float = 0.25,
        timeout: float = 0.5,
        retry_every: float = 5.0,
    ) -> None:
        try:
            from redis import asyncio as aioredis
            from redis.backoff import NoBackoff
            from redis.exceptions import RedisError
            from redis.retry import Retry
        except ImportError:
            raise ImportError(MISSING_REDIS) from None
        # The in-process queue, at the rate the fleet paces at without a 429 (its turns are the
        # earliest Redis can give); it checks ``per_minute`` and ``headroom``.
        self._queue = LocalRateLimiter(per_minute, headroom=headroom, learn=False)
        self.per_minute = self._queue.per_minute
        self.headroom = float(headroom)
        if not isinstance(key, str) or not key:
            raise TypeError("key must be a non-empty str: the API key, or a name for its budget")
        if not isinstance(learn, bool):
            raise TypeError("learn must be True or False")
        self.learn = learn
        self.fallback_share = _fraction("fallback_share", fallback_share)
        self.timeout = _seconds("timeout", timeout)
        self.retry_every = _seconds("retry_every", retry_every)
        self.redis_key = redis_key(key)
        #: The spacing of the fleet's turns without a 429; this process's alone when Redis fails.
        self._interval = 60.0 / (self.per_minute * (1.0 - self.headroom))
        self._fallback_interval = self._interval / self.fallback_share
        #: What no log line may show: the key, and the password of the Redis URL or client.
        self._secrets = [key]
        self._given: Redis | None = None
        self._connect: Callable[[], Redis] | None = None
        if isinstance(redis, str):
            url = redis
            password = urlsplit(url).password
            if password:
                self._secrets.append(unquote(password))

            def connect() -> Redis:
                return aioredis.Redis.from_url(
                    url,
                    socket_timeout=self.timeout,
                    socket_connect_timeout=self.timeout,
                    retry=Retry(NoBackoff(), 0),
                )

            self._connect = connect
        elif isinstance(redis, aioredis.Redis):
            self._given = redis
            password = redis.connection_pool.connection_kwargs.get("password")
            if isinstance(password, str) and password:
                self._secrets.append(password)
        else:
            raise TypeError("redis must be a redis:// URL or a redis.asyncio.Redis client")
        # Made now, so that a malformed URL fails here; its connections open on first use.
        self._owned = None if self._connect is None else self._connect()
        self._binding = LoopBinding()
        #: Closes our Redis client when the loop it is used in shuts down (as the client's own
        #: session is), so that a limiter serving one ``asyncio.run()`` after another leaves
        #: no connection behind.
        self._shutdown: ShutdownHook | None = None
        self._budget: SharedBudget | None = None
        self._failures: tuple[type[BaseException], ...] = (
            RedisError,
            OSError,
            asyncio.TimeoutError,
        )
        #: Whether Redis failed last time, and when (``time.monotonic()``) to try it again.
        self._down = False
        self._retry_at = 0.0

    async def acquire(self, deadline: float | None, clock: Clock, sleep: Sleep) -> bool:
        """Wait until one request may be sent (the :class:`RateLimiter` protocol).

        ``False`` at once, taking nothing, when the turn would come at or after ``deadline``:
        as this process's queue shows it, or as Redis answers. A task cancelled, or ended by
        ``sleep`` (the client closed), after Redis reserved its turn loses that turn.
        """
        queue = self._queue
        if not await queue.acquire(deadline, clock, sleep):
            return False
        # First in this process's queue: this task alone asks Redis for its turn.
        budget = await self._shared()
        if budget is not None:
            left = None if deadline is None else deadline - clock()
            try:
                granted, wait = await self._call(budget.reserve(left))
            except self._failures as exc:
                self._failed(exc)
            else:
                self._answered()
                # No task of this process can go before the next turn Redis may give (an
                # interval after this one, or the one it refused): the next asks Redis half an
                # interval before that, so that the round trip does not delay its send, and
                # those behind it that would miss their deadline leave now.
                earliest = wait + self._interval if granted else wait
                queue.pause_at(clock(), max(0.0, earliest - self._interval / 2))
                if not granted:
                    return False
                if wait > 0:
                    await sleep(wait)
                return deadline is None or clock() < deadline
        # Redis failed: this process alone, at its share of the rate.
        now = clock()
        if deadline is not None and now >= deadline:
            return False
        queue.pause_at(now, self._fallback_interval)
        return True

    async def pause(self, seconds: float, clock: Clock) -> None:
        """The server answered 429: no process sharing the budget sends for ``seconds`` (the
        :class:`RateLimiter` protocol). This process's queue pauses even when Redis fails."""
        self._queue.pause_at(clock(), seconds)
        budget = await self._shared()
        if budget is None:
            return
        try:
            await self._call(budget.pause(seconds))
        except self._failures as exc:
            self._failed(exc)
        else:
            self._answered()

    async def aclose(self) -> None:
        """Close the Redis client the limiter made from a URL (never one given to it)."""
        owned, self._owned, self._budget = self._owned, None, None
        if self._shutdown is not None:
            self._shutdown.cancel()
            self._shutdown = None
        loop = self._binding.loop
        if owned is not None and loop is not None and loop.is_closed():
            await _close_stale(owned)
        elif owned is not None:
            await owned.aclose()

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _shared(self) -> SharedBudget | None:
        """The budget in Redis; ``None`` while Redis is failing and not due for another try."""
        if self._down and time.monotonic() < self._retry_at:
            return None
        connect = self._connect
        if connect is not None:
            bound = self._binding.loop is not None
            moved = self._binding.moved()
            stale = None
            if (moved and bound) or self._owned is None:
                # Its connections belong to a loop that is closed (or it was closed): a client
                # for this loop.
                stale, self._owned, self._budget = self._owned, connect(), None
                moved = True
            if moved:
                if self._shutdown is not None:
                    # Not fired: its loop was closed without a shutdown.
                    self._shutdown.cancel()
                owned = self._owned
                assert owned is not None
                # Before any await: a call cancelled below still leaves the new client closed
                # with its loop (the hook's start does not suspend).
                self._shutdown = await ShutdownHook.start(functools.partial(self._release, owned))
            if stale is not None:
                await _close_stale(stale)
        if self._budget is None:
            client = self._owned if self._given is None else self._given
            assert client is not None
            self._budget = SharedBudget(
                client, self.redis_key, self.per_minute, headroom=self.headroom, learn=self.learn
            )
        return self._budget

    async def _release(self, owned: Redis) -> None:
        """The loop ``owned`` was used in shuts down: close it while the loop still runs (the
        next use, from another loop, connects again)."""
        if self._owned is owned:
            self._owned, self._budget = None, None
        with contextlib.suppress(*self._failures, RuntimeError):
            await owned.aclose()

    async def _call(self, call: Awaitable[Any]) -> Any:
        """One round trip, cut off after ``timeout``: a Redis that stopped answering costs a
        turn at most that, never a hang."""
        if sys.version_info >= (3, 11):
            # No task of its own, unlike wait_for: a round trip is all a turn costs.
            async with asyncio.timeout(self.timeout):
                return await call
        return await asyncio.wait_for(call, self.timeout)  # pragma: no cover - Python 3.10

    def _failed(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + self.retry_every
        if self._down:
            return
        self._down = True
        if isinstance(exc, asyncio.TimeoutError) and not str(exc):
            reason = f"no answer within {self.timeout:g} s"
        else:
            reason = mask(f"{type(exc).__name__}: {exc}", self._secrets, keep_pii=True)
        logger.warning(
            "rate limit: Redis failed (%s); pacing this process alone at %g requests a minute "
            "(fallback_share %g of %g) until it answers; trying again every %g s",
            reason,
            60.0 / self._fallback_interval,
            self.fallback_share,
            self.per_minute,
            self.retry_every,
        )

    def _answered(self) -> None:
        if self._down:
            self._down = False
            logger.info("rate limit: Redis answers again; the budget is shared through it")

    def __repr__(self) -> str:
        return f"RedisRateLimiter(per_minute={self.per_minute:g}, redis_key={self.redis_key!r})"


async def _close_stale(client: Redis) -> None:
    """Close our client of a loop that is closed, so that its connections do not warn when
    collected; the sockets that loop left open cannot be closed through it."""
    with contextlib.suppress(RuntimeError):
        await client.aclose()


def _fraction(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number")
    if not 0 < value <= 1:
        raise ValueError(f"{name} must be above 0 and at most 1")
    return float(value)


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds")
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be a number of seconds > 0")
    return float(value)
