"""aiohttp never sends a request of the SDK's again by itself, on any session.

aiohttp resends a GET, PUT or DELETE once when the connection drops before the answer (RFC
9112's retry of idempotent requests). The SDK's retry rules must decide instead: a bulk delete
or ``patch_contact``'s write that may have been applied is never sent again. The server here
commits each write, then drops the connection without answering, as a crash between the
database commit and the response would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from heymarket_async import (
    APIConnectionError,
    BulkStatus,
    HeymarketClient,
    RetryPolicy,
    _transport,
)
from tests._server import API_KEY, CatchAllServer
from tests.test_transport import closed_port

UUIDS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(3)]


class CommitThenDrop(CatchAllServer):
    """A loopback API that applies every write, and drops the connection of the ones it is
    told to instead of answering."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.deleted: list[str] = []
        self.created = 0
        self.rev = 1
        #: How many of the next writes (PUT, DELETE) are dropped after being applied.
        self.drop_writes = 1
        #: Whether the next read is dropped (nothing to apply).
        self.drop_reads = False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        data: Any
        if request.method == "GET":
            if self.drop_reads:
                return self._drop(request)
            data = {"id": 1, "rev": self.rev, "phone": "15105553344", "first": "Ada"}
            return web.json_response(data)
        if request.method == "PUT":
            self.rev += 1  # committed
            data = {"id": 1, "rev": self.rev}
        elif request.method == "POST":  # POST /v1/contact
            self.created += 1  # committed
            data = {"id": 2, "rev": 1, "phone": "15105553344"}
        else:  # DELETE /v2/contacts
            self.deleted += (await request.json())["contacts"]  # committed
            data = {"failed_contacts": []}
        if self.drop_writes > 0:
            self.drop_writes -= 1
            return self._drop(request)
        return web.json_response(data)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()


@pytest.fixture
async def server() -> AsyncIterator[CommitThenDrop]:
    async with CommitThenDrop() as running:
        yield running


@pytest.fixture(params=["own session", "own session, no private switch", "caller's session"])
async def session(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[aiohttp.ClientSession | None]:
    if request.param.startswith("own session"):
        if request.param.endswith("no private switch"):
            # An aiohttp without ``_retry_connection``: the own session leaves it on, and the
            # SDK's middleware must keep aiohttp from resending instead.
            monkeypatch.setattr(_transport, "_no_silent_resend", lambda session: None)
        yield None
        return
    async with aiohttp.ClientSession() as mine:
        yield mine


def client(server: CommitThenDrop, session: aiohttp.ClientSession | None, **kw: Any) -> Any:
    return HeymarketClient(API_KEY, base_url=server.url, session=session, **kw)


class TestNoSilentResend:
    async def test_a_bulk_delete_dropped_after_its_commit_is_unknown_and_sent_once(
        self, server: CommitThenDrop, session: aiohttp.ClientSession | None
    ) -> None:
        async with client(server, session) as hm:
            result = await hm.v2.delete_contacts(UUIDS, batch_size=1)
        assert len(server.requests) == 3  # one per batch: none sent twice
        assert sorted(server.deleted) == UUIDS
        statuses = sorted(item.status for item in result)
        assert statuses == [BulkStatus.SUCCEEDED, BulkStatus.SUCCEEDED, BulkStatus.UNKNOWN]

    async def test_patch_contacts_write_goes_once(
        self, server: CommitThenDrop, session: aiohttp.ClientSession | None
    ) -> None:
        async with client(server, session) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.patch_contact(1, first="Grace")
        assert server.requests == [("GET", "/v1/contact/1"), ("PUT", "/v1/contact/1")]
        assert info.value.maybe_applied is True
        assert "may have been applied" in str(info.value)

    async def test_a_read_is_sent_again_only_by_the_retry_policy(
        self, server: CommitThenDrop, session: aiohttp.ClientSession | None
    ) -> None:
        server.drop_reads = True
        async with client(server, session, retry=RetryPolicy.disabled()) as hm:
            with pytest.raises(APIConnectionError, match="ServerDisconnectedError"):
                await hm.get_contact(1)
        assert len(server.requests) == 1

    async def test_an_idempotent_write_is_retried_by_the_sdk_as_its_policy_says(
        self, server: CommitThenDrop, session: aiohttp.ClientSession | None
    ) -> None:
        # update_contact's PUT is safe to repeat: one retry of the SDK's own, after the drop.
        async with client(server, session) as hm:
            hm = hm.with_options(retry=RetryPolicy(max_retries=1, backoff_base=0.0))
            ref = await hm.update_contact(1, "15105553344", first="Grace")
        assert ref.rev == 3
        assert [m for m, _ in server.requests] == ["PUT", "PUT"]

    async def test_a_create_dropped_after_its_commit_goes_once(
        self, server: CommitThenDrop, session: aiohttp.ClientSession | None
    ) -> None:
        # A POST takes no middleware of the SDK's (aiohttp never resends one by itself): still
        # one request on the wire, on either session.
        async with client(server, session) as hm:
            with pytest.raises(APIConnectionError, match="may have been applied"):
                await hm.create_contact("15105553344")
        assert server.requests == [("POST", "/v1/contact")]
        assert server.created == 1

    def test_the_sdks_middleware_goes_with_every_method_aiohttp_resends(self) -> None:
        # Which methods take ``_no_resend`` follows aiohttp's own list (a private name: if it
        # went, every method would take the middleware).
        from aiohttp.client import IDEMPOTENT_METHODS

        from heymarket_async._transport import _RESENT

        assert _RESENT == IDEMPOTENT_METHODS
        assert {"GET", "PUT", "DELETE"} <= _RESENT
        assert "POST" not in _RESENT

    async def test_the_own_session_turns_resending_off_and_takes_no_middleware(
        self, server: CommitThenDrop
    ) -> None:
        # The fast path: aiohttp's private switch, off on the SDK's own session (while that
        # name exists: the fixture's "no private switch" runs the same tests without it).
        transport = _transport.AiohttpTransport()
        try:
            own = await transport._get_session()
            assert own._retry_connection is False
            assert transport._options(own) == {}
            async with aiohttp.ClientSession() as theirs:  # never changed by the SDK
                assert theirs._retry_connection is True
                assert transport._options(theirs) == {"middlewares": (_transport._no_resend,)}
        finally:
            await transport.aclose()


class TestTheCallersSession:
    async def test_its_middlewares_still_run_for_the_sdks_requests(
        self, server: CommitThenDrop
    ) -> None:
        seen: list[str] = []

        async def mine(
            request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
        ) -> aiohttp.ClientResponse:
            seen.append(request.method)
            return await handler(request)

        server.drop_writes = 0
        async with aiohttp.ClientSession(middlewares=(mine,)) as session:
            async with client(server, session) as hm:
                await hm.get_contact(1)
                await hm.create_contact("15105553344")  # a POST: the session's own only
            # And the session is left as it was for the caller's own requests.
            async with session.get(f"{server.url}/v1/contact/1") as resp:
                assert resp.status == 200
        assert seen == ["GET", "POST", "GET"]

    async def test_a_connect_failure_is_still_known_as_never_sent(
        self, session: aiohttp.ClientSession | None
    ) -> None:
        url = f"http://127.0.0.1:{closed_port()}"
        async with HeymarketClient(
            API_KEY, base_url=url, session=session, retry=RetryPolicy.disabled()
        ) as hm:
            with pytest.raises(APIConnectionError, match="cannot connect") as info:
                await hm.create_contact("15105553344")
        assert info.value.maybe_applied is False
