"""Run the emulator as a server of its own: ``python -m heymarket_async.testing``.

For benchmarks and manual trials against a URL. Prints the URL and the test API key, then
serves until Ctrl-C or SIGTERM, and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from ._control import CONTROL_PREFIX
from ._limits import Latency, RateLimitRule
from ._server import FakeHeymarket

#: The exit status of a usage error: a bad flag, or a port or seed the emulator cannot take.
EXIT_USAGE = 2


class SetupError(Exception):
    """The emulator could not start as asked (a port in use, a host that does not resolve)."""


def _int_at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            n = low - 1
        if n < low or (high is not None and n > high):
            within = f">= {low}" if high is None else f"from {low} to {high}"
            raise argparse.ArgumentTypeError(f"{value!r} is not an int {within}")
        return n

    return parse


def _milliseconds(value: str) -> float:
    try:
        ms = float(value)
    except ValueError:
        ms = -1.0
    if not (ms >= 0 and math.isfinite(ms)):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration (milliseconds >= 0)")
    return ms


def _per_second(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not (rate >= 0 and math.isfinite(rate)):
        raise argparse.ArgumentTypeError(f"{value!r} is not a rate (a number >= 0)")
    return rate


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration (seconds >= 0)")
    return seconds


def _rate(value: str) -> tuple[int, float]:
    """``N/W``: N requests per W seconds (``500/60``)."""
    count, sep, window = value.partition("/")
    try:
        parsed = int(count), float(window)
    except ValueError:
        parsed = 0, 0.0
    if not sep or parsed[0] < 1 or not (parsed[1] > 0 and math.isfinite(parsed[1])):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not REQUESTS/SECONDS (an int >= 1 per a window > 0, e.g. 500/60)"
        )
    return parsed


def _extra_field(value: str) -> tuple[str, Any]:
    name, sep, raw = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw  # not JSON: served as a string
    return name, parsed


def build_parser(prog: str = "python -m heymarket_async.testing") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve an emulated Heymarket contacts API on 127.0.0.1.",
        allow_abbrev=False,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=_int_at_least(0, 65535), default=8787, help="port (0: a free one)"
    )
    parser.add_argument(
        "--contacts", type=_int_at_least(0), default=0, help="seed this many contacts"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the seeded contacts and the jitter"
    )
    parser.add_argument(
        "--tie-group-size", type=_int_at_least(1), default=1, help="contacts per updated"
    )
    latency = parser.add_mutually_exclusive_group()
    latency.add_argument(
        "--latency",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="seconds added before answering each request",
    )
    latency.add_argument(
        "--latency-ms", type=_milliseconds, default=0.0, metavar="MS", help="the same, in ms"
    )
    parser.add_argument(
        "--jitter",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="up to this many seconds more, uniformly at random (seeded by --seed)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_rate,
        default=None,
        metavar="N/SECONDS",
        help="answer 429 past N requests per window per API key (e.g. 500/60)",
    )
    parser.add_argument(
        "--window",
        choices=["fixed", "sliding"],
        default="fixed",
        help="fixed windows (from multiples of SECONDS) or any SECONDS (default: fixed)",
    )
    parser.add_argument(
        "--no-retry-after",
        dest="retry_after",
        action="store_false",
        help="send 429s without Retry-After",
    )
    parser.add_argument(
        "--count-refused",
        action="store_true",
        help="requests answered 429 use up the budget too",
    )
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
        "--cursor-resolution",
        choices=["rendered", "microseconds"],
        default="rendered",
        help="compare date cursors at the rendered time or at every stored microsecond",
    )
    parser.add_argument(
        "--tie-order",
        choices=["stable", "reversed", "shuffled"],
        default="stable",
        help="order of contacts tied on updated, per list request",
    )
    parser.add_argument(
        "--churn-per-second",
        type=_per_second,
        default=0.0,
        help="update this many random contacts per second (live data)",
    )
    parser.add_argument(
        "--record",
        type=_int_at_least(0),
        default=1000,
        help="keep the last n requests (memory bound)",
    )
    parser.add_argument(
        "--render-cache",
        type=_int_at_least(1),
        default=None,
        help="rendered seeded contacts kept (default 100000; about 600 bytes each); "
        "a benchmark walking more contacts than this measures rendering too",
    )
    parser.add_argument(
        "--extra-field",
        type=_extra_field,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="serve a field the SDK does not know on every contact (VALUE as JSON if it is "
        "JSON, else as a string); repeatable",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    prog: str = "python -m heymarket_async.testing",
) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), serve until a signal, return the exit status.

    0 after a signal; 2 (with one line on stderr) for a bad flag, or an emulator that cannot
    start as asked.
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        # A second Ctrl-C during shutdown lands here: quiet, like the first.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args, out or sys.stdout))
    except SetupError as exc:
        sys.stderr.write(f"{parser.prog}: error: {exc}\n")
        return EXIT_USAGE
    return 0


def latency_of(args: argparse.Namespace) -> Latency:
    """The :class:`Latency` the flags ask for."""
    seconds = args.latency if args.latency is not None else args.latency_ms / 1000.0
    return Latency(seconds, jitter=args.jitter, seed=args.seed)


def rate_limit_of(args: argparse.Namespace) -> RateLimitRule | None:
    """The :class:`RateLimitRule` the flags ask for (``None`` without ``--rate-limit``)."""
    if args.rate_limit is None:
        return None
    requests, window = args.rate_limit
    return RateLimitRule(
        requests,
        window,
        sliding=args.window == "sliding",
        retry_after=args.retry_after,
        count_refused=args.count_refused,
    )


def _describe(latency: Latency) -> str:
    jitter = f" + up to {latency.jitter * 1000:g} ms" if latency.jitter else ""
    return f"{latency.seconds * 1000:g} ms{jitter} per request"


async def serve(args: argparse.Namespace, out: TextIO, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set, or SIGINT/SIGTERM arrives (in the main thread).

    Raises ``SetupError`` when the emulator cannot be made, seeded or started as ``args`` ask.
    """
    try:
        fake = FakeHeymarket(
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            latency=latency_of(args),
            rate_limit=rate_limit_of(args),
            v1_order=args.order,
            v1_cursor_inclusive=args.inclusive,
            timestamp_format=args.timestamp_format,
            cursor_resolution=args.cursor_resolution,
            tie_order=args.tie_order,
            record_limit=args.record,
            extra_fields=dict(args.extra_field),
        )
        if args.render_cache is not None:
            fake.store.seeded_cache_limit = args.render_cache
        fake.seed(args.contacts, seed=args.seed, tie_group_size=args.tie_group_size)
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # NotImplementedError on Windows (Ctrl-C still interrupts); RuntimeError outside the
        # main thread, where the caller stops the server through ``stop``.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await fake.start()
    except OSError as exc:
        raise SetupError(
            f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}"
        ) from exc
    async with fake:
        if args.churn_per_second:
            fake.churn(rate_per_second=args.churn_per_second)
        print(f"Heymarket emulator listening on {fake.url}", file=out)
        print(f"API key: {args.api_key}  ({len(fake.store)} contacts)", file=out)
        print(f"  HEYMARKET_BASE_URL={fake.url} HEYMARKET_API_KEY={args.api_key}", file=out)
        if fake.latency:
            print(f"Latency: {_describe(fake.latency)}", file=out)
        if fake.rate_limit is not None:
            print(f"Rate limit: {fake.rate_limit}, per API key", file=out)
            print(f"  arrivals: GET {fake.url}{CONTROL_PREFIX}rate-log", file=out)
        out.flush()
        await stop.wait()
    print("stopped", file=out)
    out.flush()
