"""State that belongs to one event loop: an aiohttp session, a semaphore, a queue of waiters."""

from __future__ import annotations

import asyncio
from typing import Final

from .errors import ClientClosedError

#: What a closed client says when it is used.
CLOSED: Final = "the client is closed; create a new HeymarketClient"

#: Why a client cannot be used in the running loop: it is in use in another one.
OTHER_LOOP: Final = (
    "the client is in use in another event loop that is still open; aiohttp sessions and "
    "asyncio primitives belong to one loop: use one HeymarketClient per event loop"
)


class LoopBinding:
    """The event loop some state was made in, so that it is made again in a new one.

    A client built at import time serves one ``asyncio.run`` after another (each pytest test,
    each CLI run): once the loop its state belongs to is closed, that state is dead and is made
    again in the running loop. While that loop is still open, using the client from another one
    raises :class:`ClientClosedError`, since aiohttp sessions and asyncio primitives would fail
    there with a ``RuntimeError``.
    """

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop

    def moved(self) -> bool:
        """Bind to the running loop: ``True`` when the state must be made (again) for it."""
        loop = asyncio.get_running_loop()
        if loop is self.loop:
            return False
        if self.loop is not None and not self.loop.is_closed():
            raise ClientClosedError(OTHER_LOOP)
        self.loop = loop
        return True
