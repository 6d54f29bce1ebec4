"""The emulator's clock: real time by default, which tests can set, advance and freeze."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Final

EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND: Final = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (exact, no float)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a naive datetime is ambiguous: give it a tzinfo (e.g. timezone.utc)")
    return (value - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """Integer microseconds since the Unix epoch as an aware UTC datetime."""
    return EPOCH + timedelta(microseconds=micros)


class FakeClock:
    """The time that the emulator stamps on ``created`` and ``updated``.

    It starts at the real time and runs with it. :meth:`set` and :meth:`advance` move it;
    :meth:`freeze` stops it, so that every write until :meth:`unfreeze` gets the same
    ``updated`` value (the way to make ties on purpose). ``tick`` (seconds), when set, is added
    after every reading, so that consecutive writes get distinct, evenly spaced times even when
    frozen.
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        frozen: bool = False,
        tick: float = 0.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._wall = wall
        self._frozen_at: int | None = None
        self._offset = 0
        self.tick = tick
        if frozen:
            self.freeze(start)
        elif start is not None:
            self.set(start)

    def _wall_micros(self) -> int:
        return int(self._wall() * 1_000_000)

    def micros(self) -> int:
        """The current time in microseconds since the epoch (then advanced by ``tick``)."""
        now = self._frozen_at if self._frozen_at is not None else self._wall_micros() + self._offset
        if self.tick:
            self.advance(self.tick)
        return now

    def peek(self) -> int:
        """The current time in microseconds since the epoch, without advancing by ``tick``
        (what the emulator's rate limiter reads, so that it never moves ``updated`` stamps)."""
        return self._peek()

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return from_micros(self.micros())

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def set(self, value: datetime) -> None:
        """Jump to ``value`` (aware); a running clock keeps running from there."""
        micros = to_micros(value)
        if self._frozen_at is not None:
            self._frozen_at = micros
        else:
            self._offset = micros - self._wall_micros()

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, if negative) by ``seconds``."""
        delta = round(seconds * 1_000_000)
        if self._frozen_at is not None:
            self._frozen_at += delta
        else:
            self._offset += delta

    def freeze(self, at: datetime | None = None) -> None:
        """Stop the clock (at ``at`` if given, else at the current time)."""
        micros = to_micros(at) if at is not None else self._peek()
        self._frozen_at = micros

    def unfreeze(self) -> None:
        """Let the clock run again with real time, from where it stood."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - self._wall_micros()
            self._frozen_at = None

    def _peek(self) -> int:
        if self._frozen_at is not None:
            return self._frozen_at
        return self._wall_micros() + self._offset

    def __repr__(self) -> str:
        state = "frozen" if self.frozen else "running"
        return f"FakeClock({from_micros(self._peek()).isoformat()}, {state})"
