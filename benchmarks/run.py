"""The whole product's benchmarks, against the emulator running as a process of its own.

    python benchmarks/run.py [--contacts 200000] [--latency-ms 0] [--calls 500] [--repeat 3]
                             [--only v1|v2|calls]

Starts ``python -m heymarket_async.testing`` on a free port, then measures, best of
``--repeat`` runs each:

- walks (from ``bench_paging.py``): the plain aiohttp paging loops (the baselines: v2 pages of
  100 one after another, and the documented v1 cursor loop, JSON decoded, nothing else), the
  SDK's ``v2.iter_contacts`` (keyset), ``v2.iter_contacts_by_offset`` (prefetch 2) and
  ``iter_contacts`` (v1), typed and raw (``raw=True``: the API's dicts, one at a time, and
  a page at a time through ``pages()``, as the plain loops hand out theirs);
- exports: ``heymarket-async export`` (the command's own code, in process): the lossless JSONL
  export (each contact as the API sent it, the default), ``--normalized`` JSONL (the SDK's
  typed records) and CSV;
- single calls: ``get_contact`` through the SDK against a plain aiohttp GET (median and p99).

Prints a table, the ratios the project holds itself to (the lossless JSONL export >= 0.65x the
plain v2 loop, raw v1 walk >= 0.85x the plain v1 loop, raw v2 walk >= 0.9x the plain v2 loop,
``get_contact`` >= 0.9x a plain GET), and the machine it ran on. Each ratio twice: best against
best ("vs plain"), and "paired", the median over rounds of the ratio within a round (each run
beside the plain loop's run of the same round, which a machine whose speed drifts between
rounds, as a shared VM's does, favours less than a lucky best). ``--only v1`` (or ``v2``)
measures that API's walks alone, against their plain loop (more rounds in the same time);
``--only calls`` the single calls alone (with ``--calls 5000``, a median that moves less).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import aiohttp

from heymarket_async import HeymarketClient
from heymarket_async._cli import main as cli_main

# The walks (the plain aiohttp loops and the SDK's) are the paging benchmark's own.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_paging import plain_v1, plain_v2, sdk_keyset, sdk_v1, sdk_v2, start_emulator

API_KEY = "test"
#: The default export: JSONL, each contact as the API sent it.
LOSSLESS = "lossless JSONL export"
PLAIN_V1 = "plain aiohttp loop (v1, 30/page)"
PLAIN_V2 = "plain aiohttp loop (v2, 100/page)"
RAW_V1 = "SDK iter_contacts(raw=True) (v1)"
RAW_V2 = "SDK v2.iter_contacts(raw=True) (keyset)"
RAW_V1_PAGES = "SDK iter_contacts(raw=True).pages() (v1)"
RAW_V2_PAGES = "SDK v2.iter_contacts(raw=True).pages()"


class Run(NamedTuple):
    items: int
    seconds: float
    #: CPU seconds of this process (the client side; the emulator has its own process).
    cpu: float


@contextmanager
def emulator(contacts: int, latency_ms: float) -> Iterator[str]:
    """The emulator in a separate process (``bench_paging.start_emulator``); yields its URL."""
    proc, url = start_emulator(contacts, latency_ms)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) that ``fn()`` took."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def walk(factory: Callable[[], Awaitable[int]]) -> Callable[[], Run]:
    def run() -> Run:
        items: list[int] = []
        seconds, cpu = timed(lambda: items.append(asyncio.run(factory())))  # type: ignore[arg-type]
        return Run(items[0], seconds, cpu)

    return run


def export(url: str, fmt: str, directory: str, *flags: str) -> Callable[[], Run]:
    """The command itself, in process; the output's lines are counted after the clock stops."""

    def run() -> Run:
        out = os.path.join(directory, f"contacts.{fmt}")
        argv = ["export", "-o", out, "--base-url", url, "--api-key", API_KEY, "--quiet", *flags]
        codes: list[int] = []
        seconds, cpu = timed(lambda: codes.append(cli_main(argv)))
        if codes != [0]:
            raise RuntimeError(f"export to {fmt} failed")
        with open(out, "rb") as f:
            lines = sum(1 for _ in f)
        return Run(lines - (1 if fmt == "csv" else 0), seconds, cpu)

    return run


Case = tuple[str, Callable[[], Run]]


def measure(cases: list[Case], repeat: int, expected: int) -> dict[str, list[Run]]:
    """Every case ``repeat`` times, round robin, so that each sees the machine in the same
    mood; each case's runs, in round order."""
    runs: dict[str, list[Run]] = {name: [] for name, _ in cases}
    for _ in range(repeat):
        for name, fn in cases:
            run = fn()
            if run.items != expected:
                raise SystemExit(f"{name}: got {run.items} contacts, expected {expected}")
            runs[name].append(run)
    return runs


def best(runs: list[Run]) -> Run:
    """The run with the best wall time (and the client CPU time of that run)."""
    return min(runs, key=lambda run: run.seconds)


def paired(runs: list[Run], base: list[Run]) -> float:
    """The median over rounds of the speed against ``base`` in the same round: a run that the
    machine slowed or sped up is compared with its neighbour, not with another round's best."""
    return statistics.median(b.seconds / r.seconds for r, b in zip(runs, base, strict=True))


async def latencies(url: str, calls: int) -> dict[str, list[float]]:
    """Seconds per sequential ``get_contact``: through the SDK, and as a bare aiohttp GET.

    The two alternate call by call (each warmed up first), so that a change in the machine's
    load weighs on both alike."""
    out: dict[str, list[float]] = {"plain aiohttp GET": [], "SDK get_contact": []}
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        HeymarketClient(API_KEY, base_url=url) as hm,
    ):

        async def plain(contact_id: int) -> None:
            async with session.get(f"{url}/v1/contact/{contact_id}") as resp:
                await resp.json()

        for i in range(10):  # connections open, code paths warm
            await plain(1 + i)
            await hm.get_contact(1 + i)
        for i in range(calls):
            contact_id = 1 + i % 1000
            started = time.perf_counter()
            await plain(contact_id)
            middle = time.perf_counter()
            await hm.get_contact(contact_id)
            ended = time.perf_counter()
            out["plain aiohttp GET"].append(middle - started)
            out["SDK get_contact"].append(ended - middle)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import orjson  # noqa: F401

        json_lib = "orjson"
    except ImportError:
        json_lib = "stdlib json"
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, {json_lib}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        choices=["v1", "v2", "calls"],
        help="only the walks of one API against their plain loop, or only the single calls",
    )
    args = parser.parse_args()

    print(f"machine: {machine()}")
    print(f"emulator: {args.contacts:,} contacts, latency {args.latency_ms:g} ms, own process")
    with emulator(args.contacts, args.latency_ms) as url, tempfile.TemporaryDirectory() as tmp:
        v2: list[Case] = [
            (PLAIN_V2, walk(lambda: plain_v2(url))),
            ("SDK v2.iter_contacts (keyset, 100/page)", walk(lambda: sdk_keyset(1)(url))),
            (RAW_V2, walk(lambda: sdk_keyset(1, raw=True)(url))),
            (RAW_V2_PAGES, walk(lambda: sdk_keyset(1, raw=True, pages=True)(url))),
            ("SDK v2 by offset (prefetch 2)", walk(lambda: sdk_v2(2)(url))),
        ]
        v1: list[Case] = [
            (PLAIN_V1, walk(lambda: plain_v1(url))),
            ("SDK iter_contacts (v1, 30/page)", walk(lambda: sdk_v1()(url))),
            (RAW_V1, walk(lambda: sdk_v1(raw=True)(url))),
            (RAW_V1_PAGES, walk(lambda: sdk_v1(raw=True, pages=True)(url))),
        ]
        exports: list[Case] = [
            (LOSSLESS, export(url, "jsonl", tmp)),
            ("export --normalized (JSONL)", export(url, "jsonl", tmp, "--normalized")),
            ("export --format csv", export(url, "csv", tmp)),
        ]
        cases = {"v1": v1, "v2": v2, "calls": []}.get(args.only, [*v2, *v1, *exports])
        rounds = measure(cases, args.repeat, args.contacts) if cases else {}
        lat = asyncio.run(latencies(url, args.calls)) if args.only in (None, "calls") else None
    runs = {name: best(each) for name, each in rounds.items()}
    if lat is not None and not runs:
        print_calls(args.calls, lat)
        return

    print()
    header = (
        f"{'walk / export (best of ' + str(args.repeat) + ')':38} {'contacts':>9} {'seconds':>8}"
    )
    columns = f"{'contacts/s':>11} {'vs plain':>8} {'paired':>7} {'client CPU us/contact':>22}"
    print(f"{header} {columns}")
    # The v1 walks are held to the plain v1 loop, the rest to the plain v2 loop.
    rate = {name: run.items / run.seconds for name, run in runs.items()}
    for name, run in runs.items():
        plain = PLAIN_V1 if "(v1" in name else PLAIN_V2
        if plain not in runs:
            continue
        cpu = run.cpu / run.items * 1e6
        print(
            f"{name:38} {run.items:>9,} {run.seconds:>8.2f} {rate[name]:>11,.0f} "
            f"{rate[name] / rate[plain]:>7.2f}x {paired(rounds[name], rounds[plain]):>6.2f}x "
            f"{cpu:>22.1f}"
        )
    print()
    for name, target in ((RAW_V1, 0.85), (RAW_V1_PAGES, 0.85)):
        if name in runs:
            print(
                f"{name} / plain v1 loop: {rate[name] / rate[PLAIN_V1]:.2f}x, paired "
                f"{paired(rounds[name], rounds[PLAIN_V1]):.2f}x (target >= {target})"
            )
    for name in (RAW_V2, RAW_V2_PAGES):
        if name in runs:
            print(
                f"{name} / plain v2 loop: {rate[name] / rate[PLAIN_V2]:.2f}x, paired "
                f"{paired(rounds[name], rounds[PLAIN_V2]):.2f}x (target >= 0.9)"
            )
    if lat is None:
        return
    jsonl = rate[LOSSLESS]
    csv_rate = rate["export --format csv"]
    print_calls(args.calls, lat)
    print(
        f"lossless JSONL export / plain v2 loop: {jsonl / rate[PLAIN_V2]:.2f}x, paired "
        f"{paired(rounds[LOSSLESS], rounds[PLAIN_V2]):.2f}x (target >= 0.65)"
    )
    print(f"CSV export / lossless JSONL export: {csv_rate / jsonl:.2f}x")


def print_calls(calls: int, lat: dict[str, list[float]]) -> None:
    """The single calls' table and their ratio."""
    print()
    print(f"{'single call (' + str(calls) + ' sequential)':38} {'median ms':>9} {'p99 ms':>8}")
    for name, values in lat.items():
        values.sort()
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:38} {statistics.median(values) * 1000:>9.3f} {p99 * 1000:>8.3f}")
    sdk_med = statistics.median(lat["SDK get_contact"])
    plain_med = statistics.median(lat["plain aiohttp GET"])
    print()
    print(f"SDK get_contact / plain GET, as speed: {plain_med / sdk_med:.2f}x (target >= 0.90)")


if __name__ == "__main__":
    main()
