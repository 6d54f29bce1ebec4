"""The transport: real connection failures on 127.0.0.1 become TransportErrors; no aiohttp
exception escapes; cancellation is never swallowed."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from heymarket_async import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    HeymarketClient,
    HeymarketError,
    RetryPolicy,
    TransportError,
)
from heymarket_async._sansio import TransportRequest
from heymarket_async._transport import USER_AGENT, AiohttpTransport
from tests._server import API_KEY, Reply, WireServer, json_reply
from tests.test_client import wait_until


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def no_retry_client(base_url: str, **kwargs: Any) -> HeymarketClient:
    return HeymarketClient(API_KEY, base_url=base_url, retry=RetryPolicy.disabled(), **kwargs)


class RawServer:
    """A TCP server that answers every connection with the same raw bytes, then closes it."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.url = ""
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(self.answer)
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
def refused_url() -> str:
    return f"http://127.0.0.1:{closed_port()}"


class TestConnectionFailures:
    async def test_a_refused_connection_provably_sent_nothing(self, refused_url: str) -> None:
        async with no_retry_client(refused_url) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.create_contact("15105553344")
        exc = info.value
        assert exc.maybe_applied is False
        assert isinstance(exc, ConnectionError)
        assert isinstance(exc.__cause__, aiohttp.ClientError)
        assert exc.method == "POST"
        assert exc.url == f"{refused_url}/v1/contact"
        assert str(exc).startswith("cannot connect: ")
        # Provably not sent, so not "may have been created".
        assert "may have been applied" not in str(exc)

    async def test_a_dropped_connection_may_have_been_applied(self, wire: WireServer) -> None:
        wire.reply(Reply(drop=True))
        async with no_retry_client(wire.url) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.count_contacts()
        assert info.value.maybe_applied is True
        assert isinstance(info.value.__cause__, aiohttp.ClientError)
        assert len(wire.requests) == 1

    async def test_aiohttp_does_not_resend_an_idempotent_method_by_itself(
        self, wire: WireServer
    ) -> None:
        # aiohttp resends a GET, PUT or DELETE once on a dropped connection unless told not
        # to; the client's session is told, so one attempt is one request on the wire.
        wire.reply(Reply(drop=True), Reply(drop=True))
        async with no_retry_client(wire.url) as hm:
            with pytest.raises(APIConnectionError):
                await hm.get_contact(1)
        assert len(wire.requests) == 1

    async def test_a_dropped_create_says_the_contact_may_exist(self, wire: WireServer) -> None:
        wire.reply(Reply(drop=True))
        async with no_retry_client(wire.url) as hm:
            with pytest.raises(APIConnectionError, match="may have been applied") as info:
                await hm.create_contact("15105553344")
        assert any("may have been" in n for n in info.value.__notes__)

    async def test_a_truncated_body_is_a_connection_error(self) -> None:
        answer = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"id": 987'
        )
        async with RawServer(answer) as server, no_retry_client(server.url) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.get_contact(98765)
        assert isinstance(info.value.__cause__, aiohttp.ClientError)

    async def test_garbage_instead_of_http_is_a_connection_error(self) -> None:
        garbage = b"SSH-2.0-OpenSSH_9.6\r\n\r\n"
        async with RawServer(garbage) as server, no_retry_client(server.url) as hm:
            with pytest.raises(APIConnectionError):
                await hm.get_contact(1)


class TestTimeouts:
    async def test_a_slow_server_with_a_tiny_timeout(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()  # never opened during the test
        async with no_retry_client(wire.url, timeout=0.05) as hm:
            with pytest.raises(APITimeoutError) as info:
                await hm.get_contact(1)
        exc = info.value
        assert isinstance(exc, TimeoutError)
        assert isinstance(exc, TransportError)
        assert exc.maybe_applied is True
        assert exc.url == f"{wire.url}/v1/contact/1"

    async def test_each_attempt_has_its_own_timeout(self, wire: WireServer) -> None:
        # The transport keeps the last ClientTimeout it made: a new value must make a new one.
        transport = AiohttpTransport()
        url = wire.url + "/v1/contact/1"
        try:
            for timeout in (10.0, 10.0):
                response = await transport.handle_async_request(
                    TransportRequest("GET", url, {}, None, timeout)
                )
                assert response.status == 200
            wire.gate = asyncio.Event()
            quick = TransportRequest("GET", url, {}, None, 0.05)
            with pytest.raises(APITimeoutError):  # not the test's own 5 s (TimeoutError)
                await asyncio.wait_for(transport.handle_async_request(quick), 5)
            wire.gate.set()
            wire.gate = None
            response = await transport.handle_async_request(
                TransportRequest("GET", url, {}, None, 10.0)
            )
            assert response.status == 200
        finally:
            await transport.aclose()

    async def test_a_timed_out_create_says_the_contact_may_exist(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        async with no_retry_client(wire.url, timeout=0.05) as hm:
            with pytest.raises(APITimeoutError, match="may have been applied"):
                await hm.create_contact("15105553344")


class TestCancellation:
    async def test_cancelling_a_call_propagates_and_frees_its_slot(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        wire.default = json_reply({"id": 2})
        async with no_retry_client(wire.url, max_concurrency=1) as hm:
            task = asyncio.create_task(hm.get_contact(1))
            await wait_until(lambda: wire.in_flight == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            wire.gate.set()
            # The one slot was released: the next call goes through.
            assert (await hm.get_contact(2)).id == 2
        assert len(wire.requests) == 2

    async def test_cancelling_a_call_waiting_for_a_slot(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        wire.default = json_reply({"id": 1})
        async with no_retry_client(wire.url, max_concurrency=1) as hm:
            first = asyncio.create_task(hm.get_contact(1))
            second = asyncio.create_task(hm.get_contact(2))
            await wait_until(lambda: wire.in_flight == 1)
            second.cancel()
            with pytest.raises(asyncio.CancelledError):
                await second
            wire.gate.set()
            await first
        assert [r.path for r in wire.requests] == ["/v1/contact/1"]


URL_1 = "http://api.test/v1/contact/1"


class TestNoAiohttpExceptionEscapes:
    """aioresponses injects each failure aiohttp can raise; each becomes a TransportError."""

    @pytest.mark.parametrize(
        ("failure", "cls", "maybe_applied"),
        [
            (aiohttp.ServerDisconnectedError(), APIConnectionError, True),
            (aiohttp.ClientPayloadError("cut"), APIConnectionError, True),
            (aiohttp.ClientOSError(104, "Connection reset by peer"), APIConnectionError, True),
            (aiohttp.ServerTimeoutError("read"), APITimeoutError, True),
            (aiohttp.SocketTimeoutError("read"), APITimeoutError, True),
            (aiohttp.ConnectionTimeoutError("connect"), APITimeoutError, False),
            (asyncio.TimeoutError(), APITimeoutError, True),
            (ConnectionResetError("reset"), APIConnectionError, True),
            (
                aiohttp.ClientConnectorError(
                    aiohttp.client_reqrep.ConnectionKey(
                        "api.test", 80, False, True, None, None, None
                    ),
                    OSError(111, "Connection refused"),
                ),
                APIConnectionError,
                False,
            ),
        ],
    )
    async def test_each_failure_is_translated(
        self,
        mock_http: aioresponses,
        failure: BaseException,
        cls: type[TransportError],
        maybe_applied: bool,
    ) -> None:
        mock_http.get(URL_1, exception=failure)
        async with no_retry_client("http://api.test") as hm:
            with pytest.raises(HeymarketError) as info:
                await hm.get_contact(1)
        assert type(info.value) is cls
        assert info.value.maybe_applied is maybe_applied
        assert info.value.__cause__ is failure

    async def test_an_answer_from_aioresponses_is_read_whole(self, mock_http: aioresponses) -> None:
        mock_http.get(URL_1, status=200, body=b'{"id": 1}', headers={"X-Request-Id": "m1"})
        async with no_retry_client("http://api.test") as hm:
            assert (await hm.get_contact(1)).id == 1
        ((method, url), calls) = next(iter(mock_http.requests.items()))
        assert (method, url) == ("GET", URL(URL_1))
        assert calls[0].kwargs["headers"]["Authorization"] == f"Bearer {API_KEY}"
        assert calls[0].kwargs["data"] is None


class TestNoCredentialInTheCause:
    async def test_a_malformed_answer_chains_no_request_headers(self) -> None:
        # aiohttp's ClientResponseError keeps request_info, whose headers hold
        # "Authorization: Bearer <api key>": it must not be reachable from the error.
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}"
        async with RawServer(answer) as server, no_retry_client(server.url) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.count_contacts()
        error = info.value
        assert error.__cause__ is None
        assert error.__context__ is None  # not even behind ``from None``
        assert "ClientResponseError" in str(error)  # what went wrong stays in the message
        assert "Content-Length" in str(error)
        assert API_KEY not in repr(error)

    async def test_other_failures_keep_their_cause(self, refused_url: str) -> None:
        async with no_retry_client(refused_url) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.get_contact(1)
        assert isinstance(info.value.__cause__, aiohttp.ClientConnectorError)


class TestTransportDirectly:
    async def test_creates_its_session_lazily_and_closes_it_once(self, wire: WireServer) -> None:
        transport = AiohttpTransport()
        assert transport._session is None
        response = await transport.handle_async_request(
            TransportRequest("GET", wire.url + "/x", {"User-Agent": USER_AGENT}, None, 5.0)
        )
        assert response.status == 200
        assert response.body == b"{}"
        assert response.request_id == "req-1"
        session = transport._session
        assert session is not None
        await transport.aclose()
        await transport.aclose()
        assert session.closed
        assert transport.closed
        with pytest.raises(ClientClosedError):
            await transport.handle_async_request(TransportRequest("GET", wire.url, {}, None, None))

    async def test_without_a_timeout(self, wire: WireServer) -> None:
        transport = AiohttpTransport()
        try:
            response = await transport.handle_async_request(
                TransportRequest("POST", wire.url + "/y", {}, b"{}", None)
            )
        finally:
            await transport.aclose()
        assert response.status == 200
        assert wire.last.body == b"{}"

    async def test_it_keeps_a_bounded_number_of_request_urls_parsed(
        self, wire: WireServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Each URL is parsed once and kept (a walk sends every page to one URL); one URL per
        # contact read by id must not grow that without bound, nor send anything elsewhere.
        monkeypatch.setattr("heymarket_async._transport._TARGETS_KEPT", 3)
        transport = AiohttpTransport()
        paths = [f"/v1/contact/{i}" for i in (1, 2, 3, 4, 5, 1, 1)]
        try:
            for path in paths:
                await transport.handle_async_request(
                    TransportRequest("GET", wire.url + path, {}, None, 5.0)
                )
                assert len(transport._targets) <= 3
        finally:
            await transport.aclose()
        assert [r.path for r in wire.requests] == paths
        assert set(transport._targets) <= {wire.url + p for p in paths}
