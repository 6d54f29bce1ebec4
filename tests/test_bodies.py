"""Answer bodies: a cap on how much is read, and large bodies decoded off the event loop.

A server that sends more than ``max_response_bytes`` (64 MiB by default) gets a typed error
carrying the status and request id, and the client reads no further: the servers here lie
about their length, stream without end, or send a small gzip body that inflates past the cap,
and each test would hang (and fail on its timeout) if the client tried to read it all.
Bodies over 1 MiB are decoded, and parsed, in a thread, a value at a time.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heymarket_async import (
    HeymarketClient,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RetryPolicy,
    ServerError,
    TransportRequest,
    TransportResponse,
)
from heymarket_async import _pipeline as pipeline_module
from heymarket_async._sansio import json_loads
from heymarket_async._sansio.response import (
    ItemTexts,
    decode_response,
    loads_in_pieces,
    loads_with_texts,
)
from heymarket_async.resources.v1 import contacts as v1_contacts
from heymarket_async.testing import MockTransport
from tests._server import API_KEY, WireServer, json_reply

CONTACT = {"id": 1, "phone": "15105553344", "first": "Ada", "custom": {"1": "x" * 100}}
LIMIT = 10_000


class RawHTTP:
    """A TCP server that answers each request by calling ``answer(writer)``, then waits for
    the client to go away; ``sent`` counts the body bytes it managed to write."""

    def __init__(self, answer: Callable[[RawHTTP, asyncio.StreamWriter], Awaitable[None]]):
        self.answer = answer
        self.sent = 0
        self.requests = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            await self.answer(self, writer)
            await reader.read()  # until the client closes
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawHTTP:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json", "X-Request-Id: rid-7"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def lying_length(server: RawHTTP, writer: asyncio.StreamWriter) -> None:
    # Says 10 GB, sends a little, then nothing: reading it would wait for ever.
    writer.write(head(Content_Length=str(10 * 2**30)) + b'{"id": 1, "pad": "')
    server.sent += 18
    await writer.drain()


async def endless(server: RawHTTP, writer: asyncio.StreamWriter) -> None:
    writer.write(head(Transfer_Encoding="chunked"))
    chunk = b"x" * 4096
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while server.sent < 100 * 2**20:  # far past any cap here; a client reading it all waits
        writer.write(frame)
        server.sent += len(chunk)
        await writer.drain()


def error_endless(status: str) -> Callable[[RawHTTP, asyncio.StreamWriter], Awaitable[None]]:
    async def answer(server: RawHTTP, writer: asyncio.StreamWriter) -> None:
        writer.write(head(status, Transfer_Encoding="chunked"))
        first = b'{"message": "no such contact", "pad": "'
        writer.write(f"{len(first):x}\r\n".encode() + first + b"\r\n")
        await endless_body(server, writer)

    return answer


async def endless_body(server: RawHTTP, writer: asyncio.StreamWriter) -> None:
    chunk = b"x" * 4096
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while server.sent < 100 * 2**20:
        writer.write(frame)
        server.sent += len(chunk)
        await writer.drain()


BOMB = gzip.compress(json.dumps({"pad": "0" * (5 * LIMIT)}).encode())


async def gzip_bomb(server: RawHTTP, writer: asyncio.StreamWriter) -> None:
    writer.write(head(Content_Encoding="gzip", Content_Length=str(len(BOMB))) + BOMB)
    server.sent += len(BOMB)
    await writer.drain()


def capped(url: str, **options: Any) -> HeymarketClient:
    options.setdefault("retry", RetryPolicy.disabled())
    return HeymarketClient(API_KEY, base_url=url, max_response_bytes=LIMIT, **options)


async def within(seconds: float, call: Awaitable[Any]) -> Any:
    """``call``, which must end quickly: a client reading the whole body would hang."""
    return await asyncio.wait_for(call, seconds)


class TestTheCap:
    @pytest.mark.parametrize("answer", [lying_length, endless, gzip_bomb])
    async def test_a_success_over_the_cap_is_an_invalid_response_read_no_further(
        self, answer: Callable[[RawHTTP, asyncio.StreamWriter], Awaitable[None]]
    ) -> None:
        async with RawHTTP(answer) as server, capped(server.url) as hm:
            with pytest.raises(InvalidResponseError) as info:
                await within(10, hm.get_contact(1))
        exc = info.value
        assert "max_response_bytes" in str(exc)
        assert (exc.status, exc.request_id) == (200, "rid-7")
        assert server.sent < 10 * 2**20  # it stopped the server long before the end

    @pytest.mark.parametrize("answer", [lying_length, endless])
    async def test_a_success_over_the_cap_is_not_read_again(
        self, answer: Callable[[RawHTTP, asyncio.StreamWriter], Awaitable[None]]
    ) -> None:
        # Asking again would read the same body: one request, even with retries left.
        retry = RetryPolicy(max_retries=3, backoff_base=0)
        async with RawHTTP(answer) as server, capped(server.url, retry=retry) as hm:
            with pytest.raises(InvalidResponseError, match="max_response_bytes") as info:
                await within(10, hm.get_contact(1))
        assert server.requests == 1
        assert info.value.attempts == 1

    async def test_a_length_over_the_cap_is_refused_before_reading(self) -> None:
        async with RawHTTP(lying_length) as server, capped(server.url) as hm:
            with pytest.raises(
                InvalidResponseError, match=r"\(Content-Length 10240.0 MiB\)"
            ) as info:
                await within(10, hm.get_contact(1))
        assert info.value.text == ""

    @pytest.mark.parametrize(
        ("status", "error"), [("500 Internal Server Error", ServerError), ("404 X", NotFoundError)]
    )
    async def test_an_error_status_keeps_its_error_and_says_the_body_was_cut(
        self, status: str, error: type[Exception]
    ) -> None:
        async with RawHTTP(error_endless(status)) as server, capped(server.url) as hm:
            with pytest.raises(error) as info:
                await within(10, hm.get_contact(1))
        exc = info.value
        assert exc.request_id == "rid-7"  # type: ignore[attr-defined]
        assert exc.text.startswith('{"message": "no such contact"')  # type: ignore[attr-defined]
        assert any("max_response_bytes" in note for note in exc.__notes__)
        assert server.sent < 10 * 2**20

    async def test_a_create_answered_past_the_cap_may_have_been_applied(self) -> None:
        async with RawHTTP(endless) as server, capped(server.url) as hm:
            with pytest.raises(InvalidResponseError, match="may have been applied"):
                await within(10, hm.create_contact("15105553344"))
        assert server.requests == 1  # never sent again

    async def test_a_body_of_exactly_the_cap_is_read_and_the_connection_after_a_cut_is_not_reused(
        self, wire: WireServer
    ) -> None:
        exact = json.dumps({**CONTACT, "pad": ""}).encode()
        exact = json.dumps({**CONTACT, "pad": "y" * (LIMIT - len(exact))}).encode()
        assert len(exact) == LIMIT
        over = json.dumps({**CONTACT, "pad": "y" * LIMIT}).encode()
        wire.reply(json_reply(json.loads(over)), json_reply(json.loads(exact)))
        async with capped(wire.url) as hm:
            with pytest.raises(InvalidResponseError):
                await hm.get_contact(1)
            contact = await hm.get_contact(1)
        assert contact.first == "Ada"

    async def test_none_reads_any_length(self, wire: WireServer) -> None:
        big = {**CONTACT, "pad": "z" * (3 * 2**20)}
        wire.reply(json_reply(big))
        async with HeymarketClient(API_KEY, base_url=wire.url, max_response_bytes=None) as hm:
            assert (await hm.get_contact(1)).first == "Ada"

    def test_the_default_is_64_mib(self) -> None:
        parameter = inspect.signature(HeymarketClient).parameters["max_response_bytes"]
        assert parameter.default == 64 * 2**20

    @pytest.mark.parametrize("value", [0, -1, True, 1.5, "10"])
    def test_what_is_not_a_number_of_bytes_is_refused(self, value: Any) -> None:
        with pytest.raises(InvalidRequestError, match="max_response_bytes"):
            HeymarketClient(API_KEY, max_response_bytes=value)

    def test_it_is_the_aiohttp_transports_option(self) -> None:
        with pytest.raises(InvalidRequestError, match="transport"):
            HeymarketClient(API_KEY, max_response_bytes=10, transport=MockTransport(lambda r: r))

    async def test_a_transport_of_yours_can_say_it_stopped_reading(self) -> None:
        def handler(request: TransportRequest) -> TransportResponse:
            return TransportResponse(200, {"X-Request-Id": "r"}, b'{"id": 1', complete=False)

        async with HeymarketClient(API_KEY, transport=MockTransport(handler)) as hm:
            hm = hm.with_options(retry=RetryPolicy.disabled())
            with pytest.raises(InvalidResponseError, match="max_response_bytes") as info:
                await hm.get_contact(1)
        assert info.value.request_id == "r"


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Which thread decoded each answer, and which parsed each v1 list."""
    seen: dict[str, list[int]] = {"decode": [], "parse": []}
    decode = pipeline_module.decode_response
    parse = v1_contacts.structure_contacts

    def recording_decode(*args: Any, **kwargs: Any) -> Any:
        seen["decode"].append(threading.get_ident())
        return decode(*args, **kwargs)

    def recording_parse(data: Any) -> Any:
        seen["parse"].append(threading.get_ident())
        return parse(data)

    monkeypatch.setattr(pipeline_module, "decode_response", recording_decode)
    monkeypatch.setattr(v1_contacts, "structure_contacts", recording_parse)
    return seen


class TestOffTheLoop:
    async def test_a_body_over_1_mib_is_decoded_and_parsed_in_a_thread(
        self, wire: WireServer, threads: dict[str, list[int]]
    ) -> None:
        page = [{**CONTACT, "id": n} for n in range(1, 9000)]
        assert len(json.dumps(page)) > 2**20
        wire.reply(json_reply(page))
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            contacts = await hm.list_contacts()
        assert [c.id for c in contacts] == list(range(1, 9000))
        loop_thread = threading.get_ident()
        assert len(threads["decode"]) == len(threads["parse"]) == 1
        assert loop_thread not in threads["decode"] + threads["parse"]

    async def test_a_small_body_stays_on_the_loop(
        self, wire: WireServer, threads: dict[str, list[int]]
    ) -> None:
        wire.reply(json_reply([CONTACT]))
        async with HeymarketClient(API_KEY, base_url=wire.url) as hm:
            await hm.list_contacts()
        assert threads["decode"] == threads["parse"] == [threading.get_ident()]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


class TestLoadsInPieces:
    @given(JSON, st.sampled_from([None, 0, 2]))
    def test_gives_what_json_loads_gives(self, value: Any, indent: int | None) -> None:
        text = json.dumps(value, indent=indent)
        assert loads_in_pieces(text) == json.loads(text)
        assert loads_in_pieces(f" \n{text}\t ".encode()) == json.loads(text)

    @pytest.mark.parametrize(
        "text",
        ["[1, 2", "[1 2]", "[1,]", '{"a" 1}', '{"a": 1,}', "{1: 2}", "[1] x", "", "[", '{"a": [1'],
    )
    def test_refuses_what_json_loads_refuses(self, text: str) -> None:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        with pytest.raises(json.JSONDecodeError):
            loads_in_pieces(text)


class TestLoadsWithTexts:
    """The export's decoder: each item of a top-level array with its own text from the body."""

    @given(st.lists(JSON, max_size=6), st.sampled_from([None, 0, 2]), st.booleans())
    def test_gives_what_json_loads_gives_and_each_items_own_text(
        self, items: list[Any], indent: int | None, ascii_only: bool
    ) -> None:
        body = json.dumps(items, indent=indent, ensure_ascii=ascii_only).encode()
        decoded = loads_with_texts(body)
        assert decoded == json.loads(body)
        assert type(decoded) is ItemTexts
        assert len(decoded.texts) == len(items)
        for item, text in zip(decoded, decoded.texts, strict=True):
            if text is None:  # only an item whose text spans lines (indented)
                assert indent is not None
                continue
            assert text in body  # a slice of the body, as it spelt the item
            assert not {b"\n", b"\r", b"\t"} & {bytes([c]) for c in text}
            assert json.loads(text) == item

    def test_a_compact_body_gives_the_bytes_as_sent(self) -> None:
        body = '[{"a":1e16,"b":"Zo\\u00eb","c":"é"},{"id":2, "x" : [1,2]},3]'.encode()
        decoded = loads_with_texts(body)
        assert decoded.texts == [
            '{"a":1e16,"b":"Zo\\u00eb","c":"é"}'.encode(),
            b'{"id":2, "x" : [1,2]}',
            b"3",
        ]

    def test_an_item_split_over_lines_has_no_text_the_others_keep_theirs(self) -> None:
        decoded = loads_with_texts(b'[{"a":\n1},\r\n{"b":2},{"c":\t3}]')
        assert decoded == [{"a": 1}, {"b": 2}, {"c": 3}]
        assert decoded.texts == [None, b'{"b":2}', None]

    @pytest.mark.parametrize("body", [b"{}", b'{"a": [1]}', b"1", b'"x"', b"null"])
    def test_what_is_not_an_array_decodes_as_usual(self, body: bytes) -> None:
        decoded = loads_with_texts(body)
        assert type(decoded) is not ItemTexts
        assert decoded == json.loads(body)

    @pytest.mark.parametrize(
        "text",
        ["[1, 2", "[1 2]", "[1,]", "[,1]", "[1] x", "", "[", "[{]", '["\\x"]', "[1,,2]", "[01]"],
    )
    def test_refuses_what_json_loads_refuses(self, text: str) -> None:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        with pytest.raises(json.JSONDecodeError):
            loads_with_texts(text.encode())

    def test_a_body_not_utf8_raises_as_the_usual_decoder_does(self) -> None:
        with pytest.raises(UnicodeDecodeError):
            json_loads(b'["\xff"]')
        with pytest.raises(UnicodeDecodeError):
            loads_with_texts(b'["\xff"]')

    def test_the_texts_follow_the_items_kept_and_a_tail(self) -> None:
        page = loads_with_texts(b'[{"id":1},{"id":2},{"id":3}]')
        assert page.of(page) is page
        some = page.of([page[0], page[2]])
        assert some == [{"id": 1}, {"id": 3}]
        assert some.texts == [b'{"id":1}', b'{"id":3}']
        tail = page.tail(1)
        assert tail == [{"id": 2}, {"id": 3}]
        assert tail.texts == [b'{"id":2}', b'{"id":3}']

    async def test_a_body_echoing_the_key_loses_its_texts_and_the_key(self) -> None:
        """The texts are the body's bytes: where the client's key must be masked in the data,
        the page comes without them (written encoded again, masked)."""
        key = "sk_test_0123456789abcdef"
        body = json.dumps([{"id": 1, "note": f"key {key}"}, {"id": 2}]).encode()
        response = TransportResponse(200, {}, body)
        decoded = decode_response(
            response, "POST", "/v2/contacts/list", [key], loads=loads_with_texts
        )
        assert type(decoded) is list
        assert decoded == [{"id": 1, "note": "key ***"}, {"id": 2}]
        clean = decode_response(response, "POST", "/v2/contacts/list", [], loads=loads_with_texts)
        assert type(clean) is ItemTexts
