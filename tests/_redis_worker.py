"""One worker process of ``test_redis_limiter``'s: its own client and RedisRateLimiter.

``python -m tests._redis_worker REDIS_URL BASE_URL API_KEY PER_MINUTE TASKS REQUESTS``: prints
``ready`` once connected, waits for a line on stdin (so that every worker starts together),
then runs TASKS tasks of REQUESTS ``get_contact(1)`` each, with no retries, and prints the
calls done, the errors, and whether ``import heymarket_async`` imported redis, as one JSON
line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from heymarket_async import HeymarketClient, HeymarketError, RedisRateLimiter

#: Whether importing the package imported redis too (it must not: redis is an extra).
IMPORTED_REDIS = "redis" in sys.modules


async def work(argv: list[str]) -> dict[str, Any]:
    redis_url, base_url, api_key, per_minute, tasks, requests = argv
    errors: list[str] = []
    done: list[str] = []
    limiter = RedisRateLimiter(redis_url, key=api_key, per_minute=float(per_minute), headroom=0)
    async with (
        limiter,
        HeymarketClient(api_key, base_url=base_url, rate_limit=limiter, max_retries=0) as hm,
    ):
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

        async def task() -> None:
            for _ in range(int(requests)):
                try:
                    await hm.get_contact(1)
                except HeymarketError as exc:
                    errors.append(str(exc))
                else:
                    done.append("ok")

        await asyncio.gather(*(task() for _ in range(int(tasks))))
    return {"done": done, "errors": errors, "imported_redis": IMPORTED_REDIS}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(work(sys.argv[1:]))), flush=True)
