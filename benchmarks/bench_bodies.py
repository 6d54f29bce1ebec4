"""How long a large answer holds the event loop, and what an oversized one costs.

    python benchmarks/bench_bodies.py [--mb 20] [--repeat 3]

A loopback aiohttp server answers ``list_contacts`` with a ``--mb`` MB JSON array of contacts
(a 200) and ``get_contact`` with a ``--mb`` MB JSON error body (a 500, not retried). While
each call runs, a ticker task sleeps 1 ms at a time and records the longest gap between its
wake-ups: the loop stall every other task of the process sees (a web service's requests, a
worker's heartbeats). Printed per case: the call's wall time and the longest stall, best of
``--repeat``. First, a body over ``max_response_bytes`` (the default 64 MiB; 256 MiB are
streamed): how long until the call fails, and how much the process's RSS grew meanwhile
(sampled by the ticker, from ``/proc/self/statm``).

Runs against any version of the SDK on ``PYTHONPATH`` (``max_response_bytes`` is passed only
where the client takes it), so that before and after can be compared with one command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from heymarket_async import HeymarketClient, HeymarketError

CONTACT = {
    "id": 1,
    "uuid": "1f0e6a52-8f43-4c55-9a43-8d5ea8f5b7a1",
    "phone": "15105553344",
    "first": "Ada",
    "last": "Lovelace",
    "email": "ada@example.com",
    "created": "2026-01-01T00:00:00.000Z",
    "updated": "2026-01-02T00:00:00.000Z",
    "tags": [{"tag_id": 5}],
    "custom": {"123": "x" * 40},
}


def contacts_body(megabytes: float) -> bytes:
    one = json.dumps(CONTACT)
    count = int(megabytes * 1e6 / (len(one) + 1))
    return ("[" + ",".join([one] * count) + "]").encode()


def error_body(megabytes: float) -> bytes:
    detail = "x" * int(megabytes * 1e6)
    return json.dumps({"error": {"message": "upstream failed", "detail": detail}}).encode()


class Server:
    def __init__(self, contacts: bytes, error: bytes, huge: int) -> None:
        self.contacts, self.error, self.huge = contacts, error, huge
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/v1/contacts":
            return web.Response(body=self.contacts, content_type="application/json")
        if request.path == "/v1/contact/2":  # an endless-looking body, streamed
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(self.huge >> 20):
                    await response.write(chunk)
            except (ConnectionError, RuntimeError):
                pass  # the client stopped reading
            return response
        return web.Response(status=500, body=self.error, content_type="application/json")

    async def start(self) -> None:
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


PEAK = {"rss": 0.0}


async def stalled(call: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """The call's wall time and the longest gap a 1 ms ticker saw meanwhile, in ms; the
    highest RSS the ticker saw is left in ``PEAK``."""
    longest = 0.0
    running = True
    PEAK["rss"] = rss_mb()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now
            PEAK["rss"] = max(PEAK["rss"], rss_mb())

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    with contextlib.suppress(HeymarketError):
        await call()
    wall = time.perf_counter() - start
    running = False
    await task
    return wall * 1000, longest * 1000


def rss_mb() -> float:
    """The process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024 if sys.platform != "darwin" else kb / 2**20


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # The 20 MB bodies are made after the first case: memory freed by their making stays
    # resident and would hide what the oversized body costs.
    server = Server(b"", b"", huge=256 << 20)
    await server.start()
    options: dict[str, Any] = {"base_url": server.url, "max_retries": 0, "timeout": 120}
    takes_limit = "max_response_bytes" in inspect.signature(HeymarketClient).parameters
    try:
        async with HeymarketClient("bench-key-0123456789", **options) as hm:
            before = rss_mb()
            wall, stall = await stalled(lambda: hm.get_contact(2))
            grew = PEAK["rss"] - before
            limit = "64 MiB default cap" if takes_limit else "no cap"
            print(
                f"{'200, 256 MiB streamed, ' + limit:36s} call {wall:7.1f} ms   "
                f"longest loop stall {stall:6.1f} ms   peak RSS +{grew:.0f} MB"
            )
            server.contacts, server.error = contacts_body(args.mb), error_body(args.mb)
            for name, call in (
                (f"200, {args.mb:g} MB of contacts", hm.list_contacts),
                (f"500, {args.mb:g} MB error body", lambda: hm.get_contact(1)),
            ):
                runs = [await stalled(call) for _ in range(args.repeat)]
                wall = min(r[0] for r in runs)
                stall = min(r[1] for r in runs)
                print(f"{name:36s} call {wall:7.1f} ms   longest loop stall {stall:6.1f} ms")
    finally:
        await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
