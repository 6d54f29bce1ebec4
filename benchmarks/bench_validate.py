"""How long checking a bulk call's items holds the event loop, in one go and in chunks.

    python benchmarks/bench_validate.py [--items 20000] [--repeat 5] [--no-gc] [--end-to-end]

For v1 batch items, v2 upsert items and v2 delete UUIDs, ``--items`` of them are checked while
a heartbeat task yields to the loop (``await asyncio.sleep(0)``) as often as it can; the
longest gap between two of its turns, in CPU time of the thread (so that the time a busy
machine gives other processes does not count), is the loop's longest stall. Two ways:

- ``one go``: every item checked in one synchronous loop (what the SDK did before issue 14);
- ``chunked``: ``await check.v2_bulk_contacts(items)`` and its siblings, which give the loop a
  turn every ``check.CHECK_CHUNK`` items.

A full (generation 2) garbage collection that falls in a chunk stalls the loop as long as it
takes, tens of ms with the items of three cases in memory; ``--no-gc`` turns the collector
off, to show what a chunk itself costs.

``--end-to-end`` also times ``client.v2.upsert_contacts`` of the v2 items against the emulator
in a process of its own (``bench_paging.start_emulator``): checking, batching, sending and
matching the answers, the longest stall of the whole call on the client's loop.
Best (lowest) of ``--repeat`` runs for each figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from heymarket_async import HeymarketClient
from heymarket_async import _validate as check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_paging import start_emulator


def v1_items(n: int) -> list[Any]:
    return [
        {"phone": f"1510{n_:07d}", "first": "Ada", "tags": [55], "custom": {123: "Premium"}}
        for n_ in range(n)
    ]


def v2_items(n: int) -> list[Any]:
    return [
        {
            "channels": [("phone", f"+1 510 {n_:07d}"), ("email", f"ada{n_}@example.com")],
            "first": "Ada",
            "tags": [55],
        }
        for n_ in range(n)
    ]


def uuids(n: int) -> list[Any]:
    return [str(uuid.UUID(int=n_ + 1)) for n_ in range(n)]


async def stall_of(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """``(seconds, longest stall in seconds)`` of ``work()`` beside a heartbeat task."""
    longest = 0.0
    running = True

    async def heartbeat() -> None:
        nonlocal longest
        # CPU time of this thread: on a busy machine, the time the OS gives other processes
        # would pass for stalls (wall-clock gaps of 100 ms with chunks of 100 items).
        last = time.thread_time()
        while running:
            await asyncio.sleep(0)
            now = time.thread_time()
            longest = max(longest, now - last)
            last = now

    beat = asyncio.ensure_future(heartbeat())
    await asyncio.sleep(0)
    start = time.perf_counter()
    await work()
    seconds = time.perf_counter() - start
    running = False
    await beat
    return seconds, longest


def one_go(items: list[Any], check_one: Callable[[Any, int], object]) -> Callable[[], Any]:
    async def work() -> None:
        [check_one(item, i) for i, item in enumerate(items)]

    return work


def chunked(items: list[Any], check_all: Callable[[list[Any]], Awaitable[Any]]) -> Any:
    async def work() -> None:
        await check_all(items)

    return work


def _uuid_item(item: Any, index: int) -> str:
    return check.contact_uuid(item)


def end_to_end(url: str, items: list[Any]) -> Callable[[], Awaitable[object]]:
    async def work() -> None:
        async with HeymarketClient("test", base_url=url, rate_limit=None) as client:
            await client.v2.upsert_contacts(items)

    return work


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--end-to-end", action="store_true")
    parser.add_argument("--no-gc", action="store_true")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    n = args.items
    cases: list[tuple[str, list[Any], Callable[[Any, int], object], Any]] = [
        ("v1 batch items", v1_items(n), check.v1_batch_item, check.v1_batch_contacts),
        ("v2 upsert items", v2_items(n), check.v2_bulk_item, check.v2_bulk_contacts),
        ("v2 delete uuids", uuids(n), _uuid_item, check.contact_uuids),
    ]
    gc_note = ", garbage collector off" if args.no_gc else ""
    print(f"{n:,} items, best of {args.repeat}; chunk = {check.CHECK_CHUNK:,} items{gc_note}")
    print(f"{'':18}{'one go: total / longest stall':>32}{'chunked: total / longest stall':>34}")
    for name, items, check_one, check_all in cases:
        cells = []
        for work in (one_go(items, check_one), chunked(items, check_all)):
            runs = [await stall_of(work) for _ in range(args.repeat)]
            total = min(r[0] for r in runs) * 1000
            stall = min(r[1] for r in runs) * 1000
            cells.append(f"{total:9.1f} ms / {stall:7.1f} ms")
        print(f"{name:18}{cells[0]:>32}{cells[1]:>34}")
    if args.end_to_end:
        proc, url = start_emulator(0, 0)
        try:
            runs = [await stall_of(end_to_end(url, cases[1][1])) for _ in range(args.repeat)]
        finally:
            proc.terminate()
            proc.wait()
        total = min(r[0] for r in runs) * 1000
        stall = min(r[1] for r in runs) * 1000
        print(f"v2.upsert_contacts of {n:,} items: {total:.0f} ms, longest stall {stall:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
