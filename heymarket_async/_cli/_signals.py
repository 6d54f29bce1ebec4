"""SIGINT and SIGTERM as a stop of the command, from its first line: standard library only, so
that the console script installs them before it imports the SDK (aiohttp takes most of a
second to import on a busy machine)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType

Handler = Callable[[int, FrameType | None], None]


class Stopped(KeyboardInterrupt):
    """SIGINT or SIGTERM while no event loop handles them: stop the command where it is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.terminated = signum == signal.SIGTERM


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[Handler | None]:
    """SIGINT and SIGTERM raise :class:`Stopped` (the first one; later ones are ignored, so
    that the stop is reported in full) until the block ends; the handler, to put back after
    the event loop's own. ``None`` where Python allows no handler (not the main thread)."""
    stopped = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            raise Stopped(signum)

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: Python's own handling stays
        for signum, old in previous.items():
            signal.signal(signum, old)
        yield None
        return
    try:
        yield handler
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
