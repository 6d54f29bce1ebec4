"""State that belongs to one event loop: an aiohttp session, a semaphore, a queue of waiters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
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


class ShutdownHook:
    """Awaits a callback in the running event loop when that loop shuts down, before it closes.

    asyncio has no public "on close" callback, but the runners that close a loop cleanly
    (``asyncio.run``, ``asyncio.Runner``, pytest-asyncio, ``IsolatedAsyncioTestCase``) first
    await ``loop.shutdown_asyncgens()``, which closes every async generator still suspended in
    that loop. The hook is one such generator, suspended until then; its ``finally`` awaits the
    callback while the loop still runs, so the sockets it closes are really closed. A loop
    closed without that step (``loop.close()`` alone) never runs it.
    """

    __slots__ = ("_agen", "_state", "loop")

    def __init__(self, callback: Callable[[], Awaitable[None]]) -> None:
        self.loop = asyncio.get_running_loop()
        self._state = _HookState()
        # The generator holds the state and the callback, not the hook: no reference cycle, so
        # a hook dropped with its loop open is finalized at once, and runs the callback then.
        self._agen = _until_shutdown(self._state, callback)

    @classmethod
    async def start(cls, callback: Callable[[], Awaitable[None]]) -> ShutdownHook:
        """A hook of the running loop: ``callback`` is awaited when that loop shuts down."""
        hook = cls(callback)
        await hook._agen.asend(None)  # its first step registers it with the running loop
        return hook

    @property
    def fired(self) -> bool:
        """Whether the loop's shutdown has run (or is running) the callback."""
        return self._state.fired

    def cancel(self) -> None:
        """Never run the callback. Synchronous, from any loop or none: the generator is finished
        here, so that neither the loop's shutdown nor its collection schedules anything."""
        state = self._state
        if not state.armed:
            return  # fired, firing or cancelled already
        state.armed = False
        closing = self._agen.aclose()
        try:
            closing.send(None)  # disarmed, the generator's finally awaits nothing
        except StopIteration:
            return
        closing.close()  # pragma: no cover - unreachable: the generator ended above


class _HookState:
    __slots__ = ("armed", "fired")

    def __init__(self) -> None:
        self.armed = True
        self.fired = False


async def _until_shutdown(
    state: _HookState, callback: Callable[[], Awaitable[None]]
) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if state.armed:
            state.armed = False
            state.fired = True
            await callback()
