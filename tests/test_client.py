"""HeymarketClient: lifecycle, the injected session, the concurrency cap, options, and how
answers become results or typed errors, end to end over a loopback socket."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import socket
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from yarl import URL

from heymarket_async import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    Contact,
    HeymarketClient,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from heymarket_async import _pipeline as pipeline_module
from heymarket_async._auth import SecretCredentials
from heymarket_async._sansio import Endpoint, Safety, std_json_dumps
from heymarket_async.resources.v1 import contacts
from heymarket_async.testing import install_clock
from tests import _docs
from tests._cli_helpers import threaded_fake
from tests._server import API_KEY, Reply, WireServer, json_reply, text_reply

try:
    import orjson
except ImportError:  # the [fast] extra is optional
    ENCODERS: list[Any] = [std_json_dumps]
else:
    ENCODERS = [std_json_dumps, orjson.dumps]


async def wait_until(predicate: Any, *, limit: float = 2.0) -> None:
    """Yield to the loop until ``predicate()`` holds (a condition, not a timed sleep)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + limit
    while not predicate():
        assert loop.time() < give_up, "condition never held"
        await asyncio.sleep(0.001)


class TestLifecycle:
    def test_can_be_built_outside_a_running_loop_and_used_in_one_later(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        hm = HeymarketClient(API_KEY, base_url=f"http://127.0.0.1:{sock.getsockname()[1]}")
        assert hm._pipeline.transport._session is None

        async def use() -> Contact:
            server = WireServer()
            await server.start(sock)
            try:
                server.reply(text_reply(_docs.GET_CONTACT_98765))
                async with hm:
                    return await hm.get_contact(98765)
            finally:
                await server.stop()

        assert asyncio.run(use()).id == 98765
        assert hm.closed

    async def test_the_session_is_created_on_the_first_call(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        assert client._pipeline.transport._session is None
        await client.delete_contact(1)
        session = client._pipeline.transport._session
        assert isinstance(session, aiohttp.ClientSession)
        await client.delete_contact(2)
        assert client._pipeline.transport._session is session  # one pooled session
        await client.close()
        assert session.closed

    async def test_async_with_closes_and_close_is_idempotent(self, wire: WireServer) -> None:
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            assert not hm.closed
            await hm.delete_contact(1)
        assert hm.closed
        await hm.close()
        await hm.close()
        assert hm.closed

    async def test_closing_an_unused_client_is_fine(self) -> None:
        hm = HeymarketClient(API_KEY)
        await hm.close()
        assert hm.closed

    async def test_a_closed_client_raises_client_closed_and_sends_nothing(
        self, wire: WireServer
    ) -> None:
        hm = HeymarketClient(API_KEY, base_url=wire.url)
        await hm.close()
        with pytest.raises(ClientClosedError, match="closed"):
            await hm.get_contact(1)
        with pytest.raises(ClientClosedError):
            await hm.v2.get_contact(_docs.DOCS_UUID)
        with pytest.raises(ClientClosedError):
            async with hm:
                pass
        assert isinstance(ClientClosedError("x"), RuntimeError)
        assert wire.requests == []


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TestAcrossEventLoops:
    """A client built at import time meets one event loop per ``asyncio.run`` or pytest test."""

    @staticmethod
    async def two_calls_at_once(hm: HeymarketClient) -> aiohttp.ClientSession | None:
        """Two calls that contend for the one concurrency slot, against a server of this loop
        listening on the client's port (bound anew in each loop)."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", URL(hm.base_url).port or 0))
        server = WireServer()
        await server.start(sock)
        server.gate = asyncio.Event()
        try:
            tasks = [asyncio.create_task(hm.delete_contact(n)) for n in (1, 2)]
            await wait_until(lambda: server.in_flight == 1)
            server.gate.set()
            await asyncio.gather(*tasks)
        finally:
            await server.stop()
        assert server.max_in_flight == 1  # the cap holds in this loop too
        return hm._pipeline.transport._session

    def test_a_fresh_session_and_slots_for_each_loop_after_the_first_one_closed(self) -> None:
        hm = HeymarketClient(API_KEY, base_url=f"http://127.0.0.1:{free_port()}", max_concurrency=1)
        # The first loop ends with the client still open, as a module-level client's does.
        first = asyncio.run(self.two_calls_at_once(hm))
        second = asyncio.run(self.two_calls_at_once(hm))
        gc.collect()  # a leaked session or connector would warn here (warnings are errors)
        assert first is not None
        assert second is not None
        assert second is not first
        assert first.closed  # the dead loop's session was closed, not dropped
        assert not hm.closed
        asyncio.run(hm.close())
        assert second.closed

    # The first loop is closed with the client in use: its pooled connection cannot be closed
    # afterwards (the README says to close the client in its loop), hence a ResourceWarning.
    @pytest.mark.filterwarnings("ignore::ResourceWarning")
    @pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
    def test_a_task_left_waiting_in_the_rate_limiter_by_a_dead_loop_holds_up_no_one(
        self,
    ) -> None:
        with threaded_fake(1) as fake:
            hm = HeymarketClient("test", base_url=fake.url, rate_limit=100, timeout=1)
            now = [0.0]  # a clock that stands still while the second call waits its turn
            install_clock(hm, clock=lambda: now[0])
            first = asyncio.new_event_loop()
            left: list[asyncio.Future[int]] = []

            async def two() -> None:
                await asyncio.gather(hm.count_contacts(), asyncio.sleep(0.01))
                # The second call waits 0.6 s for its turn when its loop is closed.
                left.append(asyncio.ensure_future(hm.count_contacts()))
                await asyncio.sleep(0.01)

            first.run_until_complete(two())
            first.close()
            now[0] += 10  # its turn is free, so nothing should wait

            async def later() -> int:
                return await asyncio.wait_for(hm.count_contacts(), 3)

            assert asyncio.run(later()) == 1
            asyncio.run(hm.close())
            left.clear()
            del first
            gc.collect()  # the dead loop's task is dropped here: its waiter leaves quietly
            assert hm._pipeline.limiter is not None
            assert hm._pipeline.limiter._waiting == 0

    @pytest.mark.filterwarnings("ignore::ResourceWarning")
    @pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
    def test_close_during_the_switch_to_a_new_loops_session_is_a_typed_error(self) -> None:
        with threaded_fake(1) as fake:
            hm = HeymarketClient("test", base_url=fake.url)
            asyncio.run(hm.count_contacts())  # a session of the first loop, then closed

            async def race() -> list[Any]:
                call = asyncio.ensure_future(hm.count_contacts())
                await asyncio.sleep(0)  # the call is closing the old loop's session
                await hm.close()
                return await asyncio.gather(call, return_exceptions=True)

            (result,) = asyncio.run(race())
            assert result == 1 or isinstance(result, ClientClosedError), repr(result)
            gc.collect()  # the first loop's connection, which no loop can close any more

    def test_a_client_in_use_in_a_loop_still_open_is_refused_in_another(self) -> None:
        hm = HeymarketClient(API_KEY, base_url=f"http://127.0.0.1:{free_port()}", max_concurrency=1)
        first = asyncio.new_event_loop()
        try:
            session = first.run_until_complete(self.two_calls_at_once(hm))
            with pytest.raises(ClientClosedError, match="another event loop") as info:
                asyncio.run(hm.get_contact(1))
            assert "one HeymarketClient per event loop" in str(info.value)
            assert (
                hm._pipeline.transport._session is session
            )  # left alone for the loop it belongs to
            first.run_until_complete(hm.close())
        finally:
            first.close()
        assert session is not None
        assert session.closed

    def test_a_session_of_yours_from_another_loop_is_refused_and_never_replaced(self) -> None:
        async def make_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession()

        first = asyncio.new_event_loop()
        try:
            session = first.run_until_complete(make_session())
            hm = HeymarketClient(API_KEY, base_url="http://127.0.0.1:1", session=session)
            with pytest.raises(ClientClosedError, match="session given to the client"):
                asyncio.run(hm.get_contact(1))
            first.run_until_complete(hm.close())
            assert not session.closed  # never closed by the client
        finally:
            first.run_until_complete(session.close())
            first.close()

    def test_a_session_of_yours_whose_loop_is_closed_is_refused_not_closed(self) -> None:
        async def make_session() -> aiohttp.ClientSession:
            return aiohttp.ClientSession()

        session = asyncio.run(make_session())
        hm = HeymarketClient(API_KEY, base_url="http://127.0.0.1:1", session=session)
        with pytest.raises(ClientClosedError, match="event loop that is closed"):
            asyncio.run(hm.get_contact(1))
        assert not session.closed  # yours to close
        asyncio.run(session.close())
        asyncio.run(hm.close())


class TestInjectedSession:
    async def test_is_used_and_left_open(self, wire: WireServer) -> None:
        async with aiohttp.ClientSession(headers={"X-Caller": "mine"}) as session:
            hm = HeymarketClient(API_KEY, base_url=wire.url, session=session)
            await hm.delete_contact(1)
            assert wire.last.headers["X-Caller"] == "mine"  # the request went through it
            await hm.close()
            assert not session.closed
            async with HeymarketClient(API_KEY, base_url=wire.url, session=session) as other:
                await other.delete_contact(2)
            assert not session.closed
            async with session.get(wire.url + "/still-usable") as resp:
                assert resp.status == 200
        assert len(wire.requests) == 3

    async def test_a_session_that_raises_for_status_still_gets_typed_errors(
        self, wire: WireServer
    ) -> None:
        wire.reply(json_reply({"error": "not found"}, 404))
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            hm = HeymarketClient(
                API_KEY, base_url=wire.url, session=session, retry=RetryPolicy.disabled()
            )
            with pytest.raises(NotFoundError) as info:
                await hm.get_contact(1)
            await hm.close()
        assert info.value.message == "not found"

    @pytest.mark.parametrize("session", ["not a session", object(), aiohttp.TCPConnector])
    def test_what_is_not_an_aiohttp_session_is_refused_at_construction(self, session: Any) -> None:
        # Not later, as a bare AttributeError on every call.
        with pytest.raises(InvalidRequestError, match=r"^session: must be an aiohttp\.Client"):
            HeymarketClient(API_KEY, session=session)

    async def test_a_session_the_caller_closed_is_a_clear_error(self, wire: WireServer) -> None:
        session = aiohttp.ClientSession()
        await session.close()
        hm = HeymarketClient(API_KEY, base_url=wire.url, session=session)
        with pytest.raises(ClientClosedError, match="session given to the client is closed"):
            await hm.get_contact(1)
        await hm.close()
        assert wire.requests == []


class TestConcurrencyCap:
    @pytest.mark.parametrize("own_session", [False, True])
    async def test_caps_requests_in_flight_across_tasks(
        self, wire: WireServer, own_session: bool
    ) -> None:
        wire.gate = asyncio.Event()
        # A caller's session may allow many more connections: the client's cap still holds.
        session = aiohttp.ClientSession() if own_session else None
        hm = HeymarketClient(API_KEY, base_url=wire.url, session=session, max_concurrency=3)
        try:
            tasks = [asyncio.create_task(hm.delete_contact(n)) for n in range(1, 11)]
            await wait_until(lambda: wire.in_flight == 3)
            for _ in range(20):  # give the other seven every chance to slip through
                await asyncio.sleep(0)
            assert wire.in_flight == 3
            wire.gate.set()
            await asyncio.gather(*tasks)
            assert wire.max_in_flight == 3
            assert len(wire.requests) == 10
        finally:
            await hm.close()
            if session is not None:
                await session.close()

    async def test_a_view_shares_the_cap(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        async with HeymarketClient(API_KEY, base_url=wire.url, max_concurrency=1) as hm:
            fast = hm.with_options(timeout=5.0)
            tasks = [
                asyncio.create_task(hm.delete_contact(1)),
                asyncio.create_task(fast.delete_contact(2)),
            ]
            await wait_until(lambda: wire.in_flight == 1)
            for _ in range(20):
                await asyncio.sleep(0)
            assert len(wire.requests) == 1
            wire.gate.set()
            await asyncio.gather(*tasks)
        assert wire.max_in_flight == 1


class TestWithOptions:
    async def test_timeout_applies_to_the_view_only(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            quick = hm.with_options(timeout=0.05, retry=RetryPolicy.disabled())
            with pytest.raises(APITimeoutError) as info:
                await quick.get_contact(1)
            assert isinstance(info.value, TimeoutError)
            assert hm._pipeline.timeout == 30.0
            wire.gate.set()
            wire.reply(text_reply(_docs.GET_CONTACT_98765))
            assert (await hm.get_contact(98765)).id == 98765

    async def test_retry_applies_to_the_view_only(self, wire: WireServer) -> None:
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=RetryPolicy.disabled()) as hm:
            wire.reply(Reply(503, b"busy"))
            with pytest.raises(ServerError):
                await hm.get_contact(1)
            assert len(wire.requests) == 1
            retrying = hm.with_options(retry=RetryPolicy(max_retries=1, backoff_base=0.0))
            wire.reply(Reply(503, b"busy"), text_reply(_docs.GET_CONTACT_98765))
            assert (await retrying.get_contact(98765)).id == 98765
            assert len(wire.requests) == 3
            wire.reply(json_reply({"id": 98765, "uuid": _docs.DOCS_UUID}))
            contact = await retrying.v2.get_contact(_docs.DOCS_UUID)
            assert contact == Contact(id=98765, uuid=_docs.DOCS_UUID)

    async def test_closing_a_view_closes_the_client(self, wire: WireServer) -> None:
        hm = HeymarketClient(API_KEY, base_url=wire.url)
        await hm.with_options(timeout=1.0).close()
        assert hm.closed

    def test_an_invalid_timeout_is_refused(self) -> None:
        with pytest.raises(InvalidRequestError):
            HeymarketClient(API_KEY).with_options(timeout=0)
        with pytest.raises(InvalidRequestError):
            HeymarketClient(API_KEY).with_options(timeout=math.inf)


class TestOptions:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"max_concurrency": 0}, "max_concurrency"),
            ({"max_concurrency": True}, "max_concurrency"),
            ({"max_concurrency": "4"}, "max_concurrency"),
            ({"max_retries": -1}, "max_retries"),
            ({"max_retries": 1.0}, "max_retries"),
            ({"timeout": 0}, "timeout"),
            ({"timeout": -1.0}, "timeout"),
            ({"timeout": "5"}, "timeout"),
            ({"timeout": True}, "timeout"),
            # aiohttp cannot arm a timer for an infinite timeout (OverflowError on every call).
            ({"timeout": math.inf}, "timeout"),
            ({"timeout": -math.inf}, "timeout"),
            ({"timeout": math.nan}, "timeout"),
            ({"timeout": 10**400}, "timeout"),  # no float holds it
            ({"base_url": "ftp://api.heymarket.com"}, "base_url"),
            ({"base_url": "api.heymarket.com"}, "base_url"),
            ({"base_url": "https://user:pw@api.heymarket.com"}, "base_url"),
            ({"base_url": "https://api.heymarket.com/?x=1"}, "base_url"),
            ({"base_url": "https://api.heymarket.com/#top"}, "base_url"),
            ({"base_url": 5}, "base_url"),
        ],
    )
    def test_bad_options_fail_at_construction(self, kwargs: dict[str, Any], field: str) -> None:
        with pytest.raises(InvalidRequestError) as info:
            HeymarketClient(API_KEY, **kwargs)
        assert info.value.field == field

    @pytest.mark.parametrize(
        "url",
        ["htps://user:s3cr3t-pw@host", "htps://host/?token=s3cr3t-pw", "s3cr3t-pw", "https://"],
    )
    def test_a_bad_base_url_is_not_echoed(self, url: str) -> None:
        # A mistyped URL may still hold a password or a token.
        with pytest.raises(InvalidRequestError, match="http\\(s\\) URL") as info:
            HeymarketClient(API_KEY, base_url=url)
        assert "s3cr3t" not in str(info.value)

    def test_defaults(self) -> None:
        hm = HeymarketClient(API_KEY)
        assert hm.base_url == "https://api.heymarket.com"
        assert hm._pipeline.timeout == 30.0
        assert hm._pipeline.retry == RetryPolicy(max_retries=3)
        assert HeymarketClient(API_KEY, timeout=None)._pipeline.timeout is None
        assert HeymarketClient(API_KEY, max_retries=0)._pipeline.retry.max_retries == 0

    async def test_the_longest_finite_timeouts_work(self, wire: WireServer) -> None:
        longest = RetryPolicy(attempt_timeout=sys.float_info.max)
        async with HeymarketClient(
            API_KEY, base_url=wire.url, timeout=sys.float_info.max, retry=longest
        ) as hm:
            await hm.delete_contact(5)
        assert wire.last.path == "/v1/contact/5"

    async def test_a_base_url_with_a_path_prefix_keeps_it(self, wire: WireServer) -> None:
        async with HeymarketClient(API_KEY, base_url=wire.url + "/proxy/") as hm:
            await hm.delete_contact(5)
        assert wire.last.path == "/proxy/v1/contact/5"


class TestErrorStatuses:
    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, BadRequestError),
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (404, NotFoundError),
            (409, ConflictError),
            (422, BadRequestError),
            (429, RateLimitError),
            (500, ServerError),
            (502, ServerError),
            (503, ServerError),
            (418, APIError),
            (405, APIError),
        ],
    )
    async def test_each_status_raises_its_class_with_everything(
        self, wire: WireServer, client: HeymarketClient, status: int, cls: type[APIError]
    ) -> None:
        wire.reply(
            json_reply(
                {"error_code": "bad_data", "message": "nope"}, status, **{"X-Request-Id": "abc"}
            )
        )
        with pytest.raises(cls) as info:
            await client.get_contact(42)
        exc = info.value
        assert type(exc) is cls
        url = f"{wire.url}/v1/contact/42"
        assert (exc.status, exc.method, exc.url, exc.request_id) == (status, "GET", url, "abc")
        assert exc.body == {"error_code": "bad_data", "message": "nope"}
        assert exc.message == "nope"
        assert str(exc).startswith(f"{status} ")
        assert str(exc).endswith(f" for GET {url} (request id abc): nope")

    async def test_the_documented_one_line_form(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"error": "not found"}, 404, **{"X-Request-Id": "abc"}))
        with pytest.raises(NotFoundError) as info:
            await client.get_contact(42)
        assert str(info.value) == (
            f"404 Not Found for GET {wire.url}/v1/contact/42 (request id abc): not found"
        )

    async def test_an_html_error_page_is_kept_as_raw_text(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
        wire.reply(text_reply(html, 502, "text/html"))
        with pytest.raises(ServerError) as info:
            await client.count_contacts()
        assert info.value.body == html
        assert info.value.text == html
        assert info.value.request_id == "req-1"
        assert str(info.value) == (
            f"502 Bad Gateway for POST {wire.url}/v1/contacts/count (request id req-1)"
        )

    async def test_an_empty_error_body(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(Reply(500, b""))
        with pytest.raises(ServerError) as info:
            await client.list_contacts()
        assert (info.value.body, info.value.text, info.value.message) == ("", "", None)

    async def test_a_429_carries_retry_after_in_seconds(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(Reply(429, b"", {"Retry-After": "12"}))
        with pytest.raises(RateLimitError) as info:
            await client.count_contacts()
        assert info.value.retry_after == 12.0

    async def test_a_429_carries_retry_after_from_an_http_date(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        when = datetime.now(timezone.utc) + timedelta(seconds=90)
        wire.reply(Reply(429, b"{}", {"Retry-After": format_datetime(when, usegmt=True)}))
        with pytest.raises(RateLimitError) as info:
            await client.count_contacts()
        assert info.value.retry_after is not None
        assert 80 <= info.value.retry_after <= 90

    async def test_a_429_without_retry_after(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(Reply(429, b"{}"))
        with pytest.raises(RateLimitError) as info:
            await client.count_contacts()
        assert info.value.retry_after is None

    async def test_a_redirect_is_not_followed(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(Reply(301, b"", {"Location": "http://example.com/"}))
        with pytest.raises(APIError) as info:
            await client.get_contact(1)
        assert info.value.status == 301
        assert len(wire.requests) == 1


class TestInvalidResponses:
    async def test_a_body_that_is_not_json(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(text_reply("<html>maintenance</html>", 200, "text/html"))
        with pytest.raises(InvalidResponseError) as info:
            await client.get_contact(7)
        exc = info.value
        assert (exc.status, exc.method, exc.request_id) == (200, "GET", "req-1")
        assert exc.url == f"{wire.url}/v1/contact/7"
        assert exc.text == "<html>maintenance</html>"

    @pytest.mark.parametrize(
        ("call", "body"),
        [
            (lambda hm: hm.get_contact(7), b"[]"),
            (lambda hm: hm.get_contact(7), b""),
            (lambda hm: hm.count_contacts(), b'"many"'),
            (lambda hm: hm.list_contact_fields(), b'[{"name": "Plan"}]'),
            (lambda hm: hm.list_contacts(), b'{"id": 1}'),
            (lambda hm: hm.v2.search_contacts("a@b.c"), b'"ok"'),
        ],
    )
    async def test_json_of_the_wrong_shape(
        self, wire: WireServer, client: HeymarketClient, call: Any, body: bytes
    ) -> None:
        wire.reply(Reply(200, body, {"X-Request-Id": "shape-1"}))
        with pytest.raises(InvalidResponseError, match="unexpected response shape") as info:
            await call(client)
        assert info.value.request_id == "shape-1"
        assert info.value.text == body.decode()
        assert info.value.__cause__ is not None

    async def test_a_long_body_is_cut(self, wire: WireServer, client: HeymarketClient) -> None:
        wire.reply(Reply(200, b"x" * 10_000))
        with pytest.raises(InvalidResponseError) as info:
            await client.get_contact(7)
        assert len(info.value.text) == 2000


class TestNoSecretLeaks:
    async def test_a_key_echoed_by_the_server_is_masked(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(json_reply({"message": f"invalid token Bearer {API_KEY}"}, 401))
        with pytest.raises(AuthenticationError) as info:
            await client.get_contact(1)
        assert API_KEY not in str(info.value)
        assert API_KEY not in repr(info.value)
        assert info.value.message == "invalid token Bearer ***"

    async def test_a_jwt_and_secret_echoed_by_the_server_are_masked(self, wire: WireServer) -> None:
        async with HeymarketClient(
            secret_id="sid", secret_key="very-secret-key", base_url=wire.url
        ) as hm:
            creds = hm._pipeline.credentials
            assert isinstance(creds, SecretCredentials)
            token = creds.authorization().removeprefix("Bearer ")
            wire.reply(json_reply({"message": f"bad {token} for very-secret-key"}, 401))
            with pytest.raises(AuthenticationError) as info:
                await hm.get_contact(1)
        for text in (str(info.value), repr(info.value), repr(hm)):
            assert token not in text
            assert "very-secret-key" not in text
        assert info.value.message == "bad *** for ***"

    async def test_no_error_line_holds_the_authorization_header(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(Reply(500, b"oops"), Reply(200, b"nope"))
        for _ in range(2):
            with pytest.raises((ServerError, InvalidResponseError)) as info:
                await client.get_contact(1)
            assert API_KEY not in str(info.value)
            assert API_KEY not in repr(info.value)

    async def test_a_key_echoed_across_the_cut_of_the_text_leaves_no_part_of_it(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        # The text is cut to 2,000 characters: masked after the cut, the key's head would stay.
        wire.reply(text_reply("x" * 1980 + f" key {API_KEY}", 401, "text/plain"))
        with pytest.raises(AuthenticationError) as info:
            await client.get_contact(1)
        assert info.value.text == "x" * 1980 + " key ***"
        assert API_KEY[:8] not in repr(info.value.body)

    async def test_a_key_anywhere_in_a_json_body_is_masked_and_the_shape_kept(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(
            json_reply(
                {
                    "error": "invalid key",
                    "api_key": API_KEY,
                    "seen": [{"header": f"Bearer {API_KEY}", "count": 2}, API_KEY, None],
                },
                401,
            )
        )
        with pytest.raises(AuthenticationError) as info:
            await client.get_contact(1)
        assert info.value.body == {
            "error": "invalid key",
            "api_key": "***",
            "seen": [{"header": "Bearer ***", "count": 2}, "***", None],
        }
        assert API_KEY not in info.value.text

    async def test_a_key_in_a_body_of_the_wrong_shape_is_masked_in_the_text(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        wire.reply(Reply(200, ("x" * 1995 + API_KEY).encode()))
        with pytest.raises(InvalidResponseError) as info:
            await client.get_contact(1)
        assert info.value.text == "x" * 1995 + "***"
        wire.reply(json_reply(["y" * 1995 + API_KEY]))
        with pytest.raises(InvalidResponseError, match="unexpected response shape") as info:
            await client.get_contact(1)
        assert API_KEY[:6] not in info.value.text


class TestBodiesNoEncoderCanWrite:
    """What validation lets through by mistake is still refused before it is sent."""

    async def test_a_lone_surrogate_is_bad_input_and_nothing_is_sent(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        request = Endpoint("POST", "/v1/contacts", Safety.READ).request(json={"date": "x\ud800"})
        with pytest.raises(InvalidRequestError, match="cannot be encoded as JSON") as info:
            await client._call(request, lambda data: data)
        assert info.value.field == "body"
        assert wire.requests == []

    @pytest.mark.parametrize("encoder", ENCODERS)
    async def test_whatever_the_encoder_raises_is_bad_input(
        self,
        wire: WireServer,
        client: HeymarketClient,
        monkeypatch: pytest.MonkeyPatch,
        encoder: Any,
    ) -> None:
        monkeypatch.setattr(pipeline_module, "json_dumps", encoder)
        for body in ({"first": "\udcff"}, {"n": object()}):
            request = contacts.CREATE.request(json=body)
            with pytest.raises(InvalidRequestError) as info:
                await client._call(request, lambda data: data)
            assert info.value.field == "body"
        assert wire.requests == []


class TestPipelineBasics:
    """The seams the resilience work builds on: which failures are sent again, logging."""

    async def test_a_read_is_retried_after_a_5xx_and_a_bad_body(self, wire: WireServer) -> None:
        wire.reply(Reply(503, b"busy"), Reply(200, b"<html>"), text_reply(_docs.COUNT_RESPONSE))
        policy = RetryPolicy(max_retries=2, backoff_base=0.0)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy) as hm:
            assert await hm.count_contacts() == 1042
        assert len(wire.requests) == 3

    async def test_a_create_is_not_resent_after_a_5xx_and_says_so(self, wire: WireServer) -> None:
        wire.reply(Reply(503, b"busy"))
        policy = RetryPolicy(max_retries=3, backoff_base=0.0)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy) as hm:
            with pytest.raises(ServerError, match="may have been applied") as info:
                await hm.create_contact("15105553344")
        assert len(wire.requests) == 1
        assert info.value.attempts == 1

    async def test_a_create_is_resent_after_a_429(self, wire: WireServer) -> None:
        wire.reply(Reply(429, b"", {"Retry-After": "0"}), text_reply(_docs.CREATE_RESPONSE))
        async with HeymarketClient(
            API_KEY, base_url=wire.url, retry=RetryPolicy(max_retries=1)
        ) as hm:
            assert (await hm.create_contact("15105553344")).id == 98765
        assert len(wire.requests) == 2
        assert wire.requests[0].body == wire.requests[1].body

    async def test_a_bad_body_on_a_create_is_not_resent(self, wire: WireServer) -> None:
        wire.reply(Reply(200, b"<html>"))
        async with HeymarketClient(
            API_KEY, base_url=wire.url, retry=RetryPolicy(max_retries=2, backoff_base=0.0)
        ) as hm:
            with pytest.raises(InvalidResponseError, match="may have been applied"):
                await hm.create_contact("15105553344")
        assert len(wire.requests) == 1

    async def test_a_retry_after_beyond_the_policy_is_raised_at_once(
        self, wire: WireServer
    ) -> None:
        wire.reply(Reply(429, b"", {"Retry-After": "30"}))
        policy = RetryPolicy(max_retries=3, max_retry_after=1.0)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy) as hm:
            with pytest.raises(RateLimitError) as info:
                await hm.count_contacts()
        assert info.value.retry_after == 30.0
        assert len(wire.requests) == 1

    async def test_a_wait_past_the_deadline_is_not_taken(self, wire: WireServer) -> None:
        wire.reply(Reply(429, b"", {"Retry-After": "5"}))
        policy = RetryPolicy(max_retries=3, max_retry_after=60.0)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy, timeout=0.5) as hm:
            with pytest.raises(RateLimitError) as info:
                await hm.count_contacts()
        assert info.value.retry_after == 5.0
        assert len(wire.requests) == 1

    async def test_waiting_for_a_slot_counts_against_the_deadline(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        async with HeymarketClient(
            API_KEY, base_url=wire.url, max_concurrency=1, retry=RetryPolicy.disabled()
        ) as hm:
            busy = asyncio.create_task(hm.delete_contact(1))
            await wait_until(lambda: wire.in_flight == 1)
            with pytest.raises(APITimeoutError, match="deadline") as info:
                await hm.with_options(timeout=0.02).delete_contact(2)
            assert info.value.maybe_applied is False
            wire.gate.set()
            await busy
        assert len(wire.requests) == 1

    async def test_debug_logs_name_the_request_id_and_never_the_key(
        self, wire: WireServer, client: HeymarketClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="heymarket_async")
        wire.reply(Reply(200, b'"5"', {"X-Request-Id": "log-1"}), Reply(drop=True))
        await client.count_contacts()
        with pytest.raises(APIConnectionError):
            await client.count_contacts()
        messages = [r.getMessage() for r in caplog.records if r.name == "heymarket_async"]
        assert any("log-1" in m and "POST /v1/contacts/count -> 200" in m for m in messages)
        assert any("APIConnectionError" in m for m in messages)
        assert all(API_KEY not in m for m in messages)

    def test_a_negative_backoff_is_refused(self) -> None:
        # An InvalidRequestError (a HeymarketError, and a ValueError), like every other option.
        with pytest.raises(InvalidRequestError, match=r"backoff_base: must be .*>= 0") as info:
            RetryPolicy(backoff_base=-1.0)
        assert info.value.field == "backoff_base"
