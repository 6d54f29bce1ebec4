"""Run the emulator as a server of its own: ``python -m heymarket_async.testing``.

For benchmarks and manual trials against a URL. Prints the URL and the test API key, then
serves until Ctrl-C or SIGTERM, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

from ._server import FakeHeymarket


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m heymarket_async.testing",
        description="Serve an emulated Heymarket contacts API on 127.0.0.1.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8787, help="port (0: a free one)")
    parser.add_argument("--contacts", type=int, default=0, help="seed this many contacts")
    parser.add_argument("--seed", type=int, default=0, help="seed of the seeded contacts")
    parser.add_argument("--tie-group-size", type=int, default=1, help="contacts per updated")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--api-key", default="test", help="the API key to accept")
    parser.add_argument("--order", choices=["newest_first", "oldest_first"], default="newest_first")
    parser.add_argument(
        "--inclusive", action="store_true", help="v1 date cursor includes its own value"
    )
    parser.add_argument(
        "--timestamp-format",
        choices=["milliseconds", "seconds", "microseconds"],
        default="milliseconds",
    )
    parser.add_argument(
        "--record", type=int, default=1000, help="keep the last n requests (memory bound)"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), serve until a signal, return the exit status."""
    args = build_parser().parse_args(argv)
    # A second Ctrl-C during shutdown lands here: quiet, like the first.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args, out or sys.stdout))
    return 0


async def serve(args: argparse.Namespace, out: TextIO, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set, or SIGINT/SIGTERM arrives (in the main thread)."""
    fake = FakeHeymarket(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        latency=args.latency_ms / 1000.0,
        v1_order=args.order,
        v1_cursor_inclusive=args.inclusive,
        timestamp_format=args.timestamp_format,
        record_limit=args.record,
    )
    fake.seed(args.contacts, seed=args.seed, tie_group_size=args.tie_group_size)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # NotImplementedError on Windows (Ctrl-C still interrupts); RuntimeError outside the
        # main thread, where the caller stops the server through ``stop``.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with fake:
        print(f"Heymarket emulator listening on {fake.url}", file=out)
        print(f"API key: {args.api_key}  ({len(fake.store)} contacts)", file=out)
        print(f"  HEYMARKET_BASE_URL={fake.url} HEYMARKET_API_KEY={args.api_key}", file=out)
        out.flush()
        await stop.wait()
    print("stopped", file=out)
    out.flush()
