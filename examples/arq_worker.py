"""An arq worker whose jobs call Heymarket, sharing one API key's 500 a minute with every other
worker, web process and export that uses the key.

    pip install arq 'heymarket-async[redis]'
    export HEYMARKET_API_KEY=... REDIS_URL=redis://localhost:6379/0
    cd examples && arq arq_worker.WorkerSettings          # as many as you like, anywhere
    python arq_worker.py +15105553344 Jordan crm-1042     # enqueue a job

arq runs on Redis already: the rate limiter uses the worker's own connection (``ctx["redis"]``),
and keeps the budget under a hash of the key. An export beside the workers joins the same
budget with ``heymarket-async export --redis-url $REDIS_URL``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings

from heymarket_async import HeymarketClient, RedisRateLimiter


async def startup(ctx: dict[str, Any]) -> None:
    """One client per worker process, paced through Redis with every other process."""
    api_key = os.environ["HEYMARKET_API_KEY"]
    limiter = RedisRateLimiter(ctx["redis"], key=api_key)  # 500 a minute, for the whole fleet
    ctx["heymarket"] = HeymarketClient(api_key, rate_limit=limiter)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["heymarket"].close()


async def create_contact(ctx: dict[str, Any], phone: str, first: str, crm_id: str) -> int:
    """A job: waits for a turn of the shared budget, creates the contact, returns its id.

    ``local_id`` (your own id for the contact) makes the create idempotent: a create whose
    answer was lost is retried, and a job that arq runs twice updates the same contact.
    """
    hm: HeymarketClient = ctx["heymarket"]
    ref = await hm.create_contact(phone, first=first, local_id=crm_id)
    return ref.id


class WorkerSettings:
    functions = (create_contact,)
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(os.environ.get("REDIS_URL", "redis://localhost:6379"))
    # Jobs beyond what the budget allows only wait for their turn: keep this modest.
    max_jobs = 20


async def enqueue(phone: str, first: str, crm_id: str) -> None:
    redis = await create_pool(WorkerSettings.redis_settings)
    job = await redis.enqueue_job("create_contact", phone, first, crm_id)
    print(f"enqueued {job.job_id if job else 'nothing (a duplicate job id)'}")
    await redis.aclose()


if __name__ == "__main__":
    import asyncio

    asyncio.run(enqueue(*sys.argv[1:4]))
