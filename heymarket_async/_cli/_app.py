"""The ``heymarket-async`` command: :func:`main` parses, checks, and runs one subcommand in an
event loop that SIGINT and SIGTERM stop between pages.

From its first line to its last, :func:`main` answers SIGINT and SIGTERM: inside the event
loop by cancelling the command (which stops between pages and saves where), before and after
it by stopping at once; either way with one line on stderr and exit code 130 (SIGINT) or 143
(SIGTERM), never a traceback. ``heymarket_async._cli.main`` (the console script) installs the
same handlers before it imports this module: ``import heymarket_async`` costs almost nothing
(its names are imported on first use), so only Python's own start is left to its defaults.

The parser is in ``_args``, the subcommands in ``_commands``, the emulator in ``_sandbox``, and
the exit codes (re-exported here) in ``_console``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from ._args import UsageError, build_parser, check_args, secrets_in
from ._commands import dispatch
from ._console import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    Streams,
)
from ._export import ExportStatus
from ._sandbox import fake_server
from ._signals import Handler, Stopped, stopped_by_signals

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "build_parser",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["fake-server"]:
        return fake_server(args_list[1:])  # the emulator handles its signals itself
    streams = Streams(sys.stdout, sys.stderr)
    status = ExportStatus()
    with stopped_by_signals() as stop:
        try:
            return _main(args_list, streams, status, stop)
        except KeyboardInterrupt as exc:
            # A signal before the loop's own handlers were in place, or after they were removed:
            # nothing has started yet (no file is open), or the command has ended.
            if status.finished:
                return EXIT_OK
            streams.note("interrupted")
            terminated = isinstance(exc, Stopped) and exc.terminated
            return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED


def _main(
    args_list: list[str], streams: Streams, status: ExportStatus, stop: Handler | None
) -> int:
    try:
        args = build_parser(hide=secrets_in(args_list)).parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        check_args(args)
    except UsageError as exc:
        streams.error(str(exc))
        return EXIT_USAGE
    # The SDK logs a retry as a WARNING on its logger, which has only a NullHandler: the
    # command shows them (one line each, as its own notes), unless --quiet.
    retries = _RetryLines(streams)
    sdk_logger = logging.getLogger("heymarket_async")
    if not getattr(args, "quiet", False):
        sdk_logger.addHandler(retries)
    try:
        return asyncio.run(_run(args, streams, status, stop))
    finally:
        sdk_logger.removeHandler(retries)


class _RetryLines(logging.Handler):
    """The SDK's WARNINGs (its retries) as the command's own notes on stderr."""

    def __init__(self, streams: Streams) -> None:
        super().__init__(logging.WARNING)
        self._streams = streams

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._streams.stderr.isatty():
                self._streams.stderr.write("\r\x1b[K")  # off the progress bar's line
            self._streams.note(record.getMessage())
        except Exception:  # a closed stderr must not break the command
            self.handleError(record)


async def _run(
    args: argparse.Namespace, streams: Streams, status: ExportStatus, fallback: Handler | None
) -> int:
    """Run the command in a task that SIGINT and SIGTERM cancel, so it stops between pages.

    A signal after an export finished (while the client closes) changes nothing: it exits 0.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(dispatch(args, streams, status))
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows, threads
            pass
    try:
        return await task
    except asyncio.CancelledError:
        if not received:
            raise
        if status.finished:
            return EXIT_OK
        return EXIT_TERMINATED if received[0] == signal.SIGTERM else EXIT_INTERRUPTED
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)  # which puts back Python's defaults, not ours
            if fallback is not None:
                signal.signal(signum, fallback)
