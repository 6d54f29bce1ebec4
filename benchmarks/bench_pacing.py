"""Pacing at the limit: how much of a per-key budget a walk and the export use, and how fast.

    python benchmarks/bench_pacing.py [--profile scaled|heymarket|both] [--seconds 15]
                                      [--latency 0.05 0.2] [--runs 2]

The emulator runs in a process of its own, enforcing a per-key limit with added latency and a
uniform jitter (``--rate-limit N/W --window fixed --latency L --jitter J``); it counts requests
as they arrive, as a gateway does. Two profiles:

- ``scaled``: 1,200 a minute as 20 per 1 s window, 0-20 ms of jitter, for short runs;
- ``heymarket``: Heymarket's own 500 per 60 s window, 0-60 ms of jitter.

Against each latency, with default settings but for ``rate_limit`` (the emulator is not
Heymarket's host, so nothing paces it by default; the limit is given as the emulator's), this
process runs, alternately, ``--runs`` times each:

- ``walk``: ``client.v2.iter_contacts()`` through every contact, pages counted;
- ``export``: ``heymarket-async export --rate-limit R`` to a JSONL file, in a child process.

The emulator's arrival log gives, per run: requests admitted and refused (429), the budget used
between the first and the last request ((admitted - 1) intervals over that span, at the limit's
rate), and the time taken against the ideal N / (100 x rate): one request per 100 contacts at
exactly the limit. Contacts are sized so that the ideal is ``--seconds`` long. "Start-up" is the
time to the first request (for the export, mostly the child's interpreter and imports), and
"from 1st" the time from the first request to the end, against the same ideal.

"Floor" is the least time that any walk keeping SPEC's live-data guarantee could take here,
against the same ideal (:func:`floor`): the ideal is not reachable, and the floor says by how
much, so that a figure can be read as the SDK's own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import aiohttp

from heymarket_async import HeymarketClient
from heymarket_async.testing import RateLog

# The emulator process is the paging benchmark's own.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_paging import start_emulator


class Profile(NamedTuple):
    name: str
    requests: int
    window: float
    jitter: float

    @property
    def per_minute(self) -> float:
        return self.requests * 60.0 / self.window


PROFILES = {
    "scaled": Profile("scaled", 20, 1.0, 0.020),
    "heymarket": Profile("heymarket", 500, 60.0, 0.060),
}


class Result(NamedTuple):
    admitted: int
    refused: int
    used: float
    seconds: float
    ideal: float
    startup: float


#: The pacing a 0-20 ms jitter on a 1 s window allows without a 429 (the limiter's default).
PACED: float = 0.98


def floor(contacts: int, per_minute: float, latency: float) -> float:
    """The least time, in seconds, of a walk through ``contacts`` contacts at ``PACED`` x
    ``per_minute`` when a request takes at least ``latency``, for a walk that keeps the
    live-data guarantee with requests in flight together (docs/performance.md):

    - pages of at most 100, each full page read again from its last contact on (the API does
      not say whether ``date`` is inclusive, nor at what precision it compares): 100 contacts,
      then 99 more a request, and a short page to show the end: ``R`` requests;
    - the last read is sent after every other answer came back (a contact that changes while an
      earlier read is out moves past the end; a last read that might be served before that
      read would miss it), so the time ends with two round trips after the last of the other
      ``R - 1`` sends, which the pacing spaces ``60 / (PACED x per_minute)`` apart.

    No start-up, no count, no partial page at a split: a bound, not a design.
    """
    requests = walk_requests(contacts)
    if requests < 2:
        return latency
    return (requests - 2) * 60.0 / (PACED * per_minute) + 2 * latency


def walk_requests(contacts: int) -> int:
    """The requests of a walk through ``contacts`` in pages of 100 that reads each full page
    again from its last contact on (``v2.iter_contacts(slices=1)`` on distinct times), the last
    one short: tests/test_bench_floor.py checks it against the walk."""
    if contacts < 100:
        return 1
    return (contacts - 100) // 99 + 2


def start(profile: Profile, latency: float, contacts: int) -> tuple[subprocess.Popen[str], str]:
    return start_emulator(
        contacts,
        0,
        [
            "--rate-limit",
            f"{profile.requests}/{profile.window:g}",
            "--window",
            "fixed",
            "--latency",
            str(latency),
            "--jitter",
            str(profile.jitter),
        ],
    )


async def clear_log(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.delete(f"{url}/_emulator/rate-log"):
        pass


async def walk(url: str, per_minute: float) -> int:
    n = 0
    async with HeymarketClient("test", base_url=url, rate_limit=per_minute) as hm:
        async for page in hm.v2.iter_contacts().pages():
            n += len(page)
    return n


def export(url: str, per_minute: float, directory: str) -> int:
    out = os.path.join(directory, "contacts.jsonl")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from heymarket_async._cli import main; main()",
            "export",
            "--base-url",
            url,
            "--api-key",
            "test",
            "--rate-limit",
            f"{per_minute:g}",
            "-o",
            out,
            "-q",
        ],
        check=True,
    )
    with open(out, "rb") as f:
        n = sum(1 for _ in f)
    os.remove(out)
    return n


async def measure(kind: str, url: str, profile: Profile, contacts: int, tmp: str) -> Result:
    await clear_log(url)
    started = time.perf_counter()
    wall = time.time()  # the emulator logs arrivals on the wall clock
    if kind == "walk":
        n = await walk(url, profile.per_minute)
    else:
        n = await asyncio.to_thread(export, url, profile.per_minute, tmp)
    seconds = time.perf_counter() - started
    if n != contacts:
        raise AssertionError(f"{kind} handed out {n} contacts of {contacts}")
    log = await RateLog.fetch(url)
    times = log.admitted()
    rate = profile.per_minute / 60.0
    span = times[-1] - times[0]
    used = (len(times) - 1) / (span * rate) if span > 0 else float("nan")
    ideal = contacts / (100 * rate)
    return Result(len(times), log.refused(), used, seconds, ideal, times[0] - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--profile", choices=["scaled", "heymarket", "both"], default="scaled")
    parser.add_argument("--seconds", type=float, default=15.0, help="ideal time of one run")
    parser.add_argument("--latency", type=float, nargs="+", default=[0.05, 0.2])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    profiles = list(PROFILES.values()) if args.profile == "both" else [PROFILES[args.profile]]
    print(f"# python benchmarks/bench_pacing.py {' '.join(sys.argv[1:])}")
    print(
        "| profile | latency | run | kind | requests | 429s | budget used | time | ideal "
        "| time / ideal | start-up | from 1st / ideal | floor / ideal |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for profile in profiles:
            contacts = math.ceil(args.seconds * profile.per_minute / 60.0) * 100
            for latency in args.latency:
                least = floor(contacts, profile.per_minute, latency)
                proc, url = start(profile, latency, contacts)
                try:
                    for run in range(1, args.runs + 1):
                        for kind in ("walk", "export"):
                            r = asyncio.run(measure(kind, url, profile, contacts, tmp))
                            print(
                                f"| {profile.name} ({profile.requests}/{profile.window:g} s, "
                                f"jitter {profile.jitter * 1000:g} ms) | "
                                f"{latency * 1000:g} ms | {run} | {kind} | {r.admitted} | "
                                f"{r.refused} | {r.used:.3f} | {r.seconds:.2f} s | "
                                f"{r.ideal:.2f} s | {r.seconds / r.ideal:.3f} | "
                                f"{r.startup:.2f} s | {(r.seconds - r.startup) / r.ideal:.3f} | "
                                f"{least / r.ideal:.3f} |",
                                flush=True,
                            )
                finally:
                    proc.terminate()
                    proc.wait()


if __name__ == "__main__":
    main()
