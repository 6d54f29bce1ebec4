"""Peak memory of ``heymarket-async export`` over a large team, against the emulator.

    python benchmarks/bench_export_memory.py [--contacts 1000000] [-- EXPORT FLAGS...]

The emulator runs in a process of its own, seeded with ``--contacts``. The command then runs
twice, each time as a child process of its own (``python -m heymarket_async._cli export``,
default options plus the flags after ``--``): once over the contacts updated after the newest
(none: the command's own baseline, its imports and client) and once over all of them. It
reports each run's peak RSS (``ru_maxrss``, as ``/usr/bin/time -v`` shows it), the growth the
whole export adds to the baseline, and the time it took.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_paging import API_KEY, start_emulator


def peak_rss_mb(argv: list[str]) -> tuple[float, float]:
    """Run ``argv`` to the end; its peak RSS in MB (and seconds), read from the child alone.

    ``RUSAGE_CHILDREN`` holds the largest of the children waited for so far, so the runs go
    from the smallest up.
    """
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    seconds = time.perf_counter() - started
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("flags", nargs="*", help="more export flags (after --)")
    args = parser.parse_args()
    proc, url = start_emulator(args.contacts, 0.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "contacts.jsonl")
            command = [sys.executable, "-m", "heymarket_async._cli", "export", "-o", out]
            command += ["--base-url", url, "--api-key", API_KEY, "-q", *args.flags]
            base, _ = peak_rss_mb([*command, "--since", "9999-01-01"])
            peak, seconds = peak_rss_mb(command)
            with open(out, "rb") as f:
                lines = sum(1 for _ in f) - ("csv" in args.flags)  # a CSV's header
            size = os.path.getsize(out)
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"export {' '.join(args.flags) or '(defaults)'}: {lines:,} contacts, {size / 1e6:,.0f} MB"
    )
    print(f"  {seconds:.1f} s, {lines / seconds:,.0f} contacts/s")
    print(f"  peak RSS {peak:.1f} MB; with no contact {base:.1f} MB; growth {peak - base:.1f} MB")


if __name__ == "__main__":
    main()
