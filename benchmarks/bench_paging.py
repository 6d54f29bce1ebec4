"""Paging throughput: the SDK's walks beside a plain aiohttp loop, against the emulator.

    python benchmarks/bench_paging.py [--contacts 200000] [--slow-contacts 20000]

The emulator runs in a process of its own (``python -m heymarket_async.testing``), once with
no added latency and once with 20 ms per request. Each scenario runs in a fresh child process,
so its peak RSS is its own: it reports contacts per second, the ratio to the plain loop doing
the same paging into dicts, and how far the peak RSS grew during the walk. The scenarios run
round robin, ``--repeat`` rounds (the best run of each kept), so that each sees the machine in
the same mood; ``--only`` picks some (the plain loops always run).

The ``-raw`` walks hand out the API's dicts (``raw=True``), one at a time or, ``-raw-pages``,
a list at a time through ``pages()``.

"client CPU" is the benchmark process's own CPU time per contact: on a loaded machine it is
steadier than wall time, and it is the SDK's cost (the emulator's is in the other process).

At 20 ms the walks use ``--slow-contacts`` (a sequential v1 walk of 200,000 contacts would take
over two minutes per scenario); contacts per second are comparable all the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from heymarket_async import HeymarketClient
from heymarket_async._sansio import json_loads, std_json_loads

API_KEY = "test"
HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


async def plain_v1(url: str) -> int:
    """The documented v1 loop by hand: POST, decode, next ``date`` = last ``updated``."""
    n = 0
    body: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.post(f"{url}/v1/contacts", json=body, headers=HEADERS) as resp:
                resp.raise_for_status()
                page = json_loads(await resp.read())
            n += len(page)
            if len(page) < 30:
                return n
            body = {"date": page[-1]["updated"]}


async def plain_v2(url: str) -> int:
    """The v2 loop by hand: pages of 100, one after the other."""
    n = 0
    page_no = 0
    async with aiohttp.ClientSession() as session:
        while True:
            body = {"limit": 100, "page": page_no, "ascending": True}
            async with session.post(f"{url}/v2/contacts/list", json=body, headers=HEADERS) as resp:
                resp.raise_for_status()
                page = json_loads(await resp.read())
            n += len(page)
            if len(page) < 100:
                return n
            page_no += 1


async def count(pager: Any, pages: bool) -> int:
    """Drain a walk: one item at a time (``async for``), or a list at a time (``pages()``)."""
    n = 0
    if pages:
        async for page in pager.pages():
            n += len(page)
    else:
        async for _ in pager:
            n += 1
    return n


def sdk_v1(*, raw: bool = False, pages: bool = False) -> Callable[[str], Awaitable[int]]:
    async def run(url: str) -> int:
        async with HeymarketClient(API_KEY, base_url=url) as hm:
            return await count(hm.iter_contacts(raw=raw), pages)

    return run


def sdk_v2(prefetch: int, *, raw: bool = False) -> Callable[[str], Awaitable[int]]:
    async def run(url: str) -> int:
        async with HeymarketClient(API_KEY, base_url=url) as hm:
            pager = hm.v2.iter_contacts_by_offset(page_size=100, prefetch=prefetch, raw=raw)
            return await count(pager, False)

    return run


def sdk_keyset(
    slices: int, *, raw: bool = False, pages: bool = False
) -> Callable[[str], Awaitable[int]]:
    async def run(url: str) -> int:
        async with HeymarketClient(API_KEY, base_url=url) as hm:
            pager = hm.v2.iter_contacts(page_size=100, slices=slices, raw=raw)
            return await count(pager, pages)

    return run


SCENARIOS: dict[str, Callable[[str], Awaitable[int]]] = {
    "plain-v1": plain_v1,
    "sdk-v1": sdk_v1(),
    "sdk-v1-raw": sdk_v1(raw=True),
    "sdk-v1-raw-pages": sdk_v1(raw=True, pages=True),
    "plain-v2": plain_v2,
    "sdk-v2-prefetch0": sdk_v2(0),
    "sdk-v2-prefetch2": sdk_v2(2),
    "sdk-v2-prefetch4": sdk_v2(4),
    "sdk-v2-prefetch2-raw": sdk_v2(2, raw=True),
    "sdk-v2-keyset1": sdk_keyset(1),
    "sdk-v2-keyset4": sdk_keyset(4),
    "sdk-v2-keyset1-raw": sdk_keyset(1, raw=True),
    "sdk-v2-keyset1-raw-pages": sdk_keyset(1, raw=True, pages=True),
}


def _rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(name: str, url: str) -> dict[str, Any]:
    """One scenario in this process: count, seconds, peak RSS growth."""
    before = _rss_mb()
    started = time.perf_counter()
    cpu = time.process_time()
    count = asyncio.run(SCENARIOS[name](url))
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {
        "count": count,
        "seconds": seconds,
        "cpu_us": cpu / max(count, 1) * 1e6,
        "rss_growth_mb": _rss_mb() - before,
    }


def start_emulator(
    contacts: int, latency_ms: float, extra: Sequence[str] = ()
) -> tuple[subprocess.Popen[str], str]:
    """The emulator in a process of its own (``extra``: more of its flags); its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "heymarket_async.testing",
            "--port",
            "0",
            "--contacts",
            str(contacts),
            *(["--latency-ms", str(latency_ms)] if latency_ms else []),
            *extra,
            "--record",
            "10",
            # Every page rendered once, then served from the cache: the walks measure the
            # client, not the emulator rendering contacts again (its default keeps 100,000).
            "--render-cache",
            str(max(contacts, 1)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    url = line.rsplit(" ", 1)[-1].strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return proc, url


def child(name: str, url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", name, "--url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--slow-contacts", type=int, default=20_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (best kept)")
    parser.add_argument("--only", help="comma-separated scenarios (and the plain loops)")
    parser.add_argument("--no-slow", action="store_true", help="skip the 20 ms latency runs")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.url)))
        return

    orjson = "json" if json_loads is std_json_loads else "orjson"
    print(f"python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}, decoder {orjson}")
    names = list(SCENARIOS)
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted or n.startswith("plain")]
    runs = [(0.0, args.contacts)] + ([] if args.no_slow else [(20.0, args.slow_contacts)])
    for latency, contacts in runs:
        proc, url = start_emulator(contacts, latency)
        try:
            print(f"\n{contacts} contacts, {latency:g} ms added latency per request")
            print(
                f"{'scenario':<26}{'contacts/s':>12}{'vs plain':>10}{'seconds':>9}"
                f"{'client CPU us/contact':>23}{'RSS +MB':>9}"
            )
            # Warm the emulator (it renders seeded contacts on first read), unmeasured.
            child("plain-v1", url)
            child("plain-v2", url)
            best: dict[str, dict[str, Any]] = {}
            for _ in range(args.repeat):
                for name in names:
                    result = child(name, url)
                    if result["count"] != contacts:
                        raise RuntimeError(f"{name} saw {result['count']} contacts, not {contacts}")
                    if name not in best or result["seconds"] < best[name]["seconds"]:
                        best[name] = result
            plain = {
                family: contacts / best[f"plain-{family}"]["seconds"] for family in ("v1", "v2")
            }
            for name in names:
                run = best[name]
                rate = contacts / run["seconds"]
                ratio = rate / plain["v1" if "v1" in name else "v2"]
                print(
                    f"{name:<26}{rate:>12,.0f}{ratio:>9.2f}x{run['seconds']:>9.2f}"
                    f"{run['cpu_us']:>23.1f}{run['rss_growth_mb']:>9.1f}"
                )
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
