"""Testing code that uses the SDK without sockets: a mock transport, and fake time."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from heymarket_async import HeymarketClient, TransportRequest, TransportResponse

Handler = Callable[[TransportRequest], TransportResponse | Awaitable[TransportResponse]]


class MockTransport:
    """A transport that answers each request with ``handler(request)`` (plain or async).

    ``HeymarketClient(api_key="test", transport=MockTransport(handler))`` sends nothing over a
    socket; everything else (validation, retries, decoding, typed errors) runs as in production.
    A handler may raise ``APIConnectionError`` or ``APITimeoutError`` to play a failed attempt.
    Since nothing reaches Heymarket, a client on it is not paced unless ``rate_limit=`` says so.
    """

    #: Read by the client: no default pacing for a transport that reaches no server.
    reaches_heymarket = False

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def handle_async_request(self, request: TransportRequest) -> TransportResponse:
        """The handler's answer to ``request``."""
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return answer


def install_clock(
    client: HeymarketClient,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> HeymarketClient:
    """Give ``client`` fake time, so that a test never waits on a real backoff or rate limit.

    ``clock`` is the monotonic clock of deadlines, backoffs and the rate limiter; ``sleep``
    the coroutine every wait awaits; ``wall_clock`` (and ``clock``) are what an API secret
    pair's JWTs are dated and aged with. Returns ``client``, changed in place: call it before
    taking ``client.v2``, a ``with_options`` view or a pager, which keep the time they were
    made with.
    """
    client._use_time(clock=clock, sleep=sleep, wall_clock=wall_clock)
    return client
