"""What a client shares with its ``with_options`` views: its concurrency slots and whether it
is closed (which ends every wait at once)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from ._loops import CLOSED, LoopBinding
from .errors import ClientClosedError

Sleep = Callable[[float], Awaitable[None]]


class Closing:
    """Whether the client is closed, and ending its waits (a retry's sleep, a rate-limit turn)
    when it closes. Shared by the client's :meth:`with_options` views."""

    __slots__ = ("_woken", "closed")

    def __init__(self) -> None:
        self.closed = False
        self._woken: set[asyncio.Future[None]] = set()

    async def sleep(self, sleep: Sleep, seconds: float) -> None:
        """``sleep(seconds)``, or :class:`ClientClosedError` as soon as the client closes (at
        once when it is closed already)."""
        if self.closed:
            raise ClientClosedError(CLOSED)
        woken = asyncio.get_running_loop().create_future()
        self._woken.add(woken)
        nap = asyncio.ensure_future(sleep(seconds))
        try:
            await asyncio.wait((nap, woken), return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._woken.discard(woken)
            if not nap.done() and not nap.get_loop().is_closed():
                nap.cancel()
        if woken.done():
            raise ClientClosedError(CLOSED)
        nap.result()

    def sleeper(self, sleep: Sleep) -> Sleep:
        """``sleep``, ended by :meth:`wake`."""
        return functools.partial(self.sleep, sleep)

    def wake(self) -> None:
        for woken in self._woken:
            # (A wait of an event loop that is closed already will never resume.)
            if not woken.done() and not woken.get_loop().is_closed():
                woken.set_result(None)


class ConcurrencyCap:
    """The ``max_concurrency`` slots of a client, shared by its :meth:`with_options` views; an
    ``asyncio.Semaphore`` belongs to one loop, so they are made again in a new one."""

    __slots__ = ("_binding", "_slots", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._binding = LoopBinding()
        self._slots = asyncio.Semaphore(size)

    def slots(self) -> asyncio.Semaphore:
        if self._binding.moved():
            # Slots taken by tasks of a dead loop would never be given back.
            self._slots = asyncio.Semaphore(self.size)
        return self._slots


def give_back(acquire: asyncio.Future[Any], slots: asyncio.Semaphore) -> None:
    """Undo a slot acquisition that is no longer wanted, whether or not it was granted yet."""
    if not acquire.done():
        acquire.cancel()  # Semaphore.acquire returns a slot granted meanwhile when cancelled
    elif not acquire.cancelled() and acquire.exception() is None:
        slots.release()
