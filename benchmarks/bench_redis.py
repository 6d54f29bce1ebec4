"""Many processes, one API key: the budget shared through Redis, against each pacing alone.

    python benchmarks/bench_redis.py [--contacts 300] [--limit 20/1] [--latency-ms 200]
                                     [--processes 1,2,4,8] [--tasks 8] [--turns 3000]

The emulator runs in a process of its own (``bench_paging.start_emulator``) and enforces
``--limit`` per API key over HTTP (``PUT /_emulator/rate-limit``): 20 requests in each fixed
1 s window, Heymarket's 500 a minute scaled up to 1,200 so that a run takes seconds; each
answer comes ``--latency-ms`` late (200 ms, as measured in issue 13). A ``redis-server`` is
started on a free loopback port (the tests' launcher, ``tests/_redis.py``).

For P in ``--processes``, P worker processes (``--worker``, below) share the work of reading
``--contacts`` contacts (``get_contact``, ``--tasks`` concurrent tasks each, the default retry
policy), all with one API key, two ways:

- ``redis``: each with ``RedisRateLimiter(redis_url, key=api_key, per_minute=1200)``;
- ``alone``: each with ``rate_limit=1200``, its own ``LocalRateLimiter`` (what every process did
  before ``RedisRateLimiter``).

Columns: the time from the first worker's start to the last one's end; ``budget``: the contacts
read divided by what the limit allows in that time (time x 20/s); ``429s``: the arrivals the
emulator refused (its log); ``failed``: calls that gave up (429s past the retries); ``max/win``:
the most admitted in one of the emulator's 1 s windows (it refuses past 20).

Then the cost of one turn, sequential and with no wait (a rate too high to ever wait), in this
process: ``LocalRateLimiter.acquire``, ``RedisRateLimiter.acquire`` (one round trip to Redis and
the script), and a bare ``PING`` on the same connection for the round trip alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_live import machine
from bench_paging import start_emulator

from heymarket_async import (
    HeymarketClient,
    HeymarketError,
    Hooks,
    LocalRateLimiter,
    RedisRateLimiter,
    RequestEvent,
)
from heymarket_async._redis_limiter import redis_key
from heymarket_async.testing import RateLog
from tests._redis import RedisServer

API_KEY = "test"


# -- a worker process ---------------------------------------------------------------------------


async def worker(
    mode: str, url: str, redis_url: str, per_minute: float, tasks: int, ids: range
) -> dict[str, Any]:
    """Read the contacts ``ids`` with ``tasks`` tasks; what happened, as JSON."""
    retried = failed = 0

    def on_retry(event: RequestEvent) -> None:
        nonlocal retried
        retried += 1

    async with contextlib.AsyncExitStack() as stack:
        rate_limit: float | RedisRateLimiter = per_minute
        if mode == "redis":
            rate_limit = await stack.enter_async_context(
                RedisRateLimiter(redis_url, key=API_KEY, per_minute=per_minute)
            )
        hm = await stack.enter_async_context(
            HeymarketClient(
                API_KEY, base_url=url, rate_limit=rate_limit, hooks=Hooks(on_retry=on_retry)
            )
        )
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        start = time.monotonic()
        todo = iter(ids)

        async def task() -> None:
            nonlocal failed
            for contact_id in todo:
                try:
                    await hm.get_contact(contact_id)
                except HeymarketError:
                    failed += 1

        await asyncio.gather(*(task() for _ in range(tasks)))
        end = time.monotonic()
    return {"start": start, "end": end, "retried": retried, "failed": failed}


# -- the runs --------------------------------------------------------------------------------


async def control(url: str, method: str, path: str, body: Any = None) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}/_emulator/{path}", json=body) as resp,
    ):
        resp.raise_for_status()


def run(
    mode: str,
    processes: int,
    args: argparse.Namespace,
    url: str,
    redis_url: str,
    requests: int,
    window: float,
) -> dict[str, Any]:
    """P workers read the contacts together; the row of the table."""
    asyncio.run(control(url, "PUT", "rate-limit", {"requests": requests, "window": window}))
    asyncio.run(control(url, "DELETE", "rate-log"))
    asyncio.run(forget(redis_url))
    per_minute = requests / window * 60
    share = args.contacts // processes
    workers = []
    for p in range(processes):
        first = 1 + p * share
        count = share if p < processes - 1 else args.contacts - p * share
        workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    mode,
                    url,
                    redis_url,
                    str(per_minute),
                    str(args.tasks),
                    str(first),
                    str(count),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for w in workers:
        assert w.stdout is not None
        assert w.stdout.readline().strip() == "ready"
    for w in workers:
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    reports = [json.loads(w.communicate()[0]) for w in workers]
    log = asyncio.run(RateLog.fetch(url))
    seconds = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    failed = sum(r["failed"] for r in reports)
    done = args.contacts - failed
    return {
        "mode": mode,
        "processes": processes,
        "seconds": seconds,
        "budget": done / (seconds * requests / window),
        "refused": log.refused(),
        "retried": sum(r["retried"] for r in reports),
        "failed": failed,
        "max_in_window": log.max_in_window(window, fixed=True),
    }


async def forget(redis_url: str) -> None:
    """A fresh budget for the next run (no turn or pause left from the last one)."""
    from redis.asyncio import Redis

    async with Redis.from_url(redis_url) as redis:
        await redis.delete(redis_key(API_KEY))


async def overhead(redis_url: str, turns: int) -> dict[str, float]:
    """Microseconds per turn, sequential, never waiting (best of three rounds)."""
    from redis.asyncio import Redis

    fast = 6e9  # a turn every 10 ns: never a wait

    async def per_turn(acquire: Any) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(turns):
                await acquire()
            best = min(best, (time.perf_counter() - start) / turns * 1e6)
        return best

    local = LocalRateLimiter(fast, headroom=0)
    clock, sleep = time.monotonic, asyncio.sleep
    async with (
        RedisRateLimiter(redis_url, key="overhead", per_minute=fast, headroom=0) as shared,
        Redis.from_url(redis_url) as redis,
    ):
        return {
            "local": await per_turn(lambda: local.acquire(None, clock, sleep)),
            "redis": await per_turn(lambda: shared.acquire(None, clock, sleep)),
            "ping": await per_turn(redis.ping),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--limit", default="20/1", help="REQUESTS/SECONDS per key (20/1)")
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--processes", default="1,2,4,8")
    parser.add_argument("--tasks", type=int, default=8, help="concurrent calls per process")
    parser.add_argument("--turns", type=int, default=3000, help="turns per overhead round")
    args = parser.parse_args()
    requests, window = args.limit.split("/")
    requests, window = int(requests), float(window)
    print(f"machine: {machine()}")
    print(
        f"emulator: {requests} requests per {window:g} s per key (fixed windows; "
        f"{requests / window * 60:,.0f} a minute), {args.latency_ms:g} ms latency; "
        f"{args.contacts} get_contact calls shared by P processes, {args.tasks} tasks each\n"
    )
    print(f"{'mode':<6}{'P':>3}{'seconds':>9}{'budget':>8}{'429s':>7}{'failed':>8}{'max/win':>9}")
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(Path(directory)).start()
        proc, url = start_emulator(args.contacts + 1, args.latency_ms)
        try:
            for processes in [int(p) for p in args.processes.split(",")]:
                for mode in ("redis", "alone"):
                    row = run(mode, processes, args, url, server.url, requests, window)
                    print(
                        f"{row['mode']:<6}{row['processes']:>3}{row['seconds']:>9.1f}"
                        f"{row['budget']:>8.2f}{row['refused']:>7}{row['failed']:>8}"
                        f"{row['max_in_window']:>9}",
                        flush=True,
                    )
            costs = asyncio.run(overhead(server.url, args.turns))
        finally:
            proc.terminate()
            proc.wait()
            server.stop()
    print(
        f"\none turn, sequential, no wait: LocalRateLimiter {costs['local']:.1f} us, "
        f"RedisRateLimiter {costs['redis']:.0f} us (a bare PING: {costs['ping']:.0f} us; "
        f"loopback Redis {server.executable})"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        mode, url, redis_url, per_minute, tasks, first, count = sys.argv[2:]
        report = asyncio.run(
            worker(
                mode,
                url,
                redis_url,
                float(per_minute),
                int(tasks),
                range(int(first), int(first) + int(count)),
            )
        )
        print(json.dumps(report), flush=True)
    else:
        main()
