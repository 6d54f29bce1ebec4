"""Progress on stderr: a bar that redraws in place on a terminal, nothing but a summary elsewhere.

No dependency: the bar is one line of text rewritten with ``\\r``, at most ten times a second,
so drawing it costs nothing next to the export. ``render_bar`` is a pure function of the counts
and the elapsed time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol, TextIO

__all__ = [
    "BarProgress",
    "NullProgress",
    "Progress",
    "format_duration",
    "render_bar",
]

#: Seconds between two redraws of the bar.
REDRAW_INTERVAL: Final = 0.1
_BAR_WIDTH: Final = 24


class Progress(Protocol):
    """What the exporter tells about its progress."""

    def start(self, done: int) -> None:
        """The export begins with ``done`` contacts already written (by an earlier run)."""

    def set_total(self, total: int) -> None:
        """How many contacts there are in all (from ``count_contacts``), when known."""

    def advance(self, n: int) -> None:
        """``n`` more contacts were written."""

    def close(self) -> None:
        """The export ended, one way or another: leave the terminal on a fresh line."""


class NullProgress:
    """Shows nothing (stderr is not a terminal, or ``--quiet``)."""

    def start(self, done: int) -> None:
        pass

    def set_total(self, total: int) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def render_bar(done: int, total: int | None, new: int, elapsed: float) -> str:
    """One line: count, percentage and bar (when the total is known), rate and ETA.

    ``new`` is how many of ``done`` this run wrote in ``elapsed`` seconds: the rate counts
    only those, so a resumed export does not claim the earlier run's contacts.
    """
    rate = new / elapsed if elapsed > 0 else 0.0
    parts = []
    if total:
        shown = min(done, total)
        filled = shown * _BAR_WIDTH // total
        parts.append(f"{100 * shown // total:3d}% [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}]")
        parts.append(f"{done:,}/{total:,}")
    else:
        parts.append(f"{done:,}")
    parts.append(f"{rate:,.0f}/s")
    if total and rate > 0 and done < total:
        parts.append(f"ETA {format_duration((total - done) / rate)}")
    return "  ".join(parts)


class BarProgress:
    """The bar on a terminal; redrawn at most every ``REDRAW_INTERVAL`` seconds."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._done = 0
        self._new = 0
        self._total: int | None = None
        self._started = 0.0
        self._drawn_at: float | None = None
        self._width = 0

    def start(self, done: int) -> None:
        self._done = done
        self._started = self._clock()
        self._draw(self._started)

    def set_total(self, total: int) -> None:
        self._total = total
        self._draw(self._clock())

    def advance(self, n: int) -> None:
        self._done += n
        self._new += n
        now = self._clock()
        if self._drawn_at is None or now - self._drawn_at >= REDRAW_INTERVAL:
            self._draw(now)

    def close(self) -> None:
        if self._drawn_at is not None:
            self._draw(self._clock())
            self._stream.write("\n")
            self._stream.flush()
            self._drawn_at = None

    def _draw(self, now: float) -> None:
        line = render_bar(self._done, self._total, self._new, now - self._started)
        # Pad over what the previous, longer line left behind.
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = len(line)
        self._drawn_at = now
