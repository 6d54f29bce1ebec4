"""The split keyset walk beside the offset walk, at 20 ms and 200 ms of added latency.

    python benchmarks/bench_live.py [--contacts 20000] [--slow-contacts 5000] [--repeat 2]
                                    [--churn-per-second 200] [--churn-contacts 5000]

The emulator runs in a process of its own, one per latency (``--serve``, below). Against each,
this process walks every contact with ``client.v2.iter_contacts(slices=K)`` for K = 1, 2, 4, 8
and with ``client.v2.iter_contacts_by_offset(prefetch=P)`` for P = 0, 2, 4, pages of 100,
``max_concurrency`` 16, no rate limit; best wall time of ``--repeat`` rounds (round robin).

Requests are counted twice: by the emulator (every request that reached it, through
``FakeHeymarket.on_request``) and by the client (every attempt, retries included, through
``Hooks(on_request=)``); the two must agree. "ideal" is ceil(N/100), one request per page of
contacts; "plan" is what a split walk sends on purpose to choose its boundaries (one count: the
K-1 pages at the boundaries are the parts' first pages); "overhead" is how far the requests sent
exceed the ideal, and "beyond plan" how far they exceed ideal + plan, both as % of the ideal.
Beyond plan, a keyset walk re-reads one contact per full page (its next ``date`` is the last
different time before the page's last, so that an exclusive server cannot skip contacts sharing
that time: about 1%) and ends each slice with a page that is partial or crosses into the next
slice (up to K pages); an offset walk with prefetch may ask for pages past the end.

Then one emulator with ``--churn-per-second`` updates (random contacts, real time): each walk
is bracketed by asking the emulator for its change log, so the contacts updated during the walk
(a slightly wider window, never a narrower one) are known; every other contact existed and was
untouched for the whole walk, and a walk must hand each of them out. "missed" counts those it
did not.

``--serve`` runs the emulator (``FakeHeymarket``, as ``python -m heymarket_async.testing``
does) and answers one JSON line per command line on stdin: ``stats`` (requests seen, changes
made, its CPU seconds), ``changed FROM`` (the ids changed since change FROM), ``ids`` (every
contact id), ``churn RATE`` (start updating RATE contacts per second). The server's count is
read this way because the separate process's requests are not otherwise visible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import subprocess
import sys
import time
from typing import IO, Any, NamedTuple

import aiohttp

from heymarket_async import HeymarketClient, Hooks, RequestEvent
from heymarket_async.testing import FakeHeymarket

API_KEY = "test"
PAGE = 100
KEYSET_SLICES = (1, 2, 4, 8)
OFFSET_PREFETCH = (0, 2, 4)


# -- the emulator's process --------------------------------------------------------------------


async def serve(contacts: int, latency_ms: float) -> None:
    fake = FakeHeymarket(api_key=API_KEY, latency=latency_ms / 1000.0, record_limit=0)
    # Every contact rendered once, then served from the cache (as bench_paging does).
    fake.store.seeded_cache_limit = max(contacts, 1)
    fake.seed(contacts)
    seen = [0]

    def count(_: object) -> None:
        seen[0] += 1

    fake.on_request(count)
    async with fake:
        print(fake.url, flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            command, *arg = line.split()
            answer: dict[str, Any] = {
                "requests": seen[0],
                "changes": len(fake.changes),
                "cpu": time.process_time(),
            }
            if command == "changed":
                answer["ids"] = sorted({c.id for c in fake.changes[int(arg[0]) :]})
            elif command == "ids":
                answer["ids"] = sorted(fake.contacts)
            elif command == "churn":
                fake.churn(rate_per_second=float(arg[0]))
            print(json.dumps(answer), flush=True)


class Emulator:
    """The ``--serve`` process: its URL, and its answers to commands."""

    def __init__(self, contacts: int, latency_ms: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--serve",
                "--contacts",
                str(contacts),
                "--latency-ms",
                str(latency_ms),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self._out.readline().strip()
        if not self.url.startswith("http"):
            self.close()
            raise RuntimeError(f"the emulator did not start: {self.url!r}")

    @property
    def _out(self) -> IO[str]:
        assert self.proc.stdout is not None
        return self.proc.stdout

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self._out.readline()))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# -- the walks ---------------------------------------------------------------------------------


class Walk(NamedTuple):
    name: str
    slices: int  # 0: the offset walk
    prefetch: int

    def plan(self, contacts: int) -> int:
        """Requests sent only to choose the boundaries: the count (the pages at the boundaries
        are the parts' first pages)."""
        return 1 if self.slices > 1 and contacts > PAGE else 0


WALKS = [Walk(f"keyset K={k}", k, 0) for k in KEYSET_SLICES] + [
    Walk(f"offset prefetch={p}", 0, p) for p in OFFSET_PREFETCH
]


class Result(NamedTuple):
    ids: list[int]
    seconds: float
    cpu: float
    requests: int  # counted by the emulator
    server_cpu: float  # the emulator process's CPU seconds during the walk
    attempts: int  # counted by the client's hooks, retries included
    retries: int


async def _walk(url: str, walk: Walk, attempts: list[int], ids: list[int]) -> None:
    def attempt(_: RequestEvent) -> None:
        attempts[0] += 1

    def retry(_: RequestEvent) -> None:
        attempts[1] += 1

    hooks = Hooks(on_request=attempt, on_retry=retry)
    async with HeymarketClient(API_KEY, base_url=url, max_concurrency=16, hooks=hooks) as hm:
        if walk.slices:
            pager: Any = hm.v2.iter_contacts(page_size=PAGE, slices=walk.slices)
        else:
            pager = hm.v2.iter_contacts_by_offset(page_size=PAGE, prefetch=walk.prefetch)
        async for contact in pager:
            assert contact.id is not None
            ids.append(contact.id)


def run(emu: Emulator, walk: Walk) -> Result:
    before = emu.ask("stats")
    attempts = [0, 0]
    ids: list[int] = []
    wall, cpu = time.perf_counter(), time.process_time()
    asyncio.run(_walk(emu.url, walk, attempts, ids))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = emu.ask("stats")
    requests = after["requests"] - before["requests"]
    if requests != attempts[0]:
        raise SystemExit(
            f"{walk.name}: the emulator saw {requests} requests, the client sent {attempts[0]}"
        )
    return Result(ids, wall, cpu, requests, after["cpu"] - before["cpu"], attempts[0], attempts[1])


# -- the report --------------------------------------------------------------------------------


HEADER = (
    f"{'latency ms':>10}  {'walk':<19}{'contacts':>9}{'seconds':>9}{'contacts/s':>11}"
    f"{'requests':>9}{'ideal':>7}{'plan':>5}{'overhead':>9}{'beyond plan':>12}{'retries':>8}"
    f"{'vs K=1':>8}{'CPU s client':>13}{'server':>7}"
)


def table(latency: float, contacts: int, emu: Emulator, repeat: int) -> None:
    best: dict[Walk, Result] = {}
    spread: dict[Walk, set[int]] = {w: set() for w in WALKS}
    for _ in range(repeat):
        for walk in WALKS:
            result = run(emu, walk)
            if len(result.ids) != contacts or len(set(result.ids)) != contacts:
                raise SystemExit(
                    f"{walk.name} at {latency:g} ms: {len(result.ids)} contacts "
                    f"({len(set(result.ids))} distinct), expected {contacts}"
                )
            spread[walk].add(result.requests)
            if walk not in best or result.seconds < best[walk].seconds:
                best[walk] = result
    ideal = math.ceil(contacts / PAGE)
    base = contacts / best[WALKS[0]].seconds
    for walk, r in best.items():
        rate = contacts / r.seconds
        over = (r.requests - ideal) / ideal * 100
        plan = walk.plan(contacts)
        beyond = (r.requests - ideal - plan) / ideal * 100
        varied = "" if len(spread[walk]) == 1 else f"  (requests over the rounds: {spread[walk]})"
        print(
            f"{latency:>10g}  {walk.name:<19}{contacts:>9,}{r.seconds:>9.2f}{rate:>11,.0f}"
            f"{r.requests:>9}{ideal:>7}{plan:>5}{over:>8.1f}%{beyond:>11.1f}%"
            f"{r.retries:>8}{rate / base:>7.2f}x{r.cpu:>13.2f}{r.server_cpu:>7.2f}{varied}"
        )


def churn_table(contacts: int, latency: float, rate: float) -> None:
    walks = [w for w in WALKS if w.slices in (1, 4) or (not w.slices and w.prefetch in (0, 4))]
    with Emulator(contacts, latency) as emu:
        run(emu, Walk("warm-up", 0, 4))  # renders every contact once, unmeasured
        everyone = set(emu.ask("ids")["ids"])
        emu.ask(f"churn {rate:g}")
        print(
            f"\nchurn: {rate:g} updates/s of random contacts, {contacts:,} contacts, "
            f"{latency:g} ms added latency, one run each"
        )
        print(
            f"{'walk':<19}{'seconds':>9}{'handed out':>11}{'distinct':>9}"
            f"{'updated during':>15}{'untouched':>10}{'missed':>7}{'requests':>9}{'ideal':>7}"
        )
        for walk in walks:
            mark = emu.ask("stats")["changes"]
            result = run(emu, walk)
            changed = set(emu.ask(f"changed {mark}")["ids"])
            now = set(emu.ask("ids")["ids"])
            untouched = (everyone & now) - changed
            missed = untouched - set(result.ids)
            print(
                f"{walk.name:<19}{result.seconds:>9.2f}{len(result.ids):>11,}"
                f"{len(set(result.ids)):>9,}{len(changed):>15,}{len(untouched):>10,}"
                f"{len(missed):>7,}{result.requests:>9}{math.ceil(contacts / PAGE):>7}"
            )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"aiohttp {aiohttp.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000, help="at 20 ms")
    parser.add_argument("--slow-contacts", type=int, default=5_000, help="at 200 ms")
    parser.add_argument("--repeat", type=int, default=2, help="rounds (best wall time kept)")
    parser.add_argument("--churn-per-second", type=float, default=200.0, help="0: no churn run")
    parser.add_argument("--churn-contacts", type=int, default=5_000)
    parser.add_argument("--churn-latency-ms", type=float, default=200.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--latency-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.contacts, args.latency_ms))
        return

    started = time.perf_counter()
    print(f"machine: {machine()}")
    print(
        f"pages of {PAGE}, max_concurrency 16, no rate limit, emulator in its own process, "
        f"best of {args.repeat} rounds"
    )
    print()
    print(HEADER)
    for latency, contacts in ((20.0, args.contacts), (200.0, args.slow_contacts)):
        with Emulator(contacts, latency) as emu:
            run(emu, Walk("warm-up", 0, 4))  # renders every contact once, unmeasured
            table(latency, contacts, emu, args.repeat)
    if args.churn_per_second > 0:
        churn_table(args.churn_contacts, args.churn_latency_ms, args.churn_per_second)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
