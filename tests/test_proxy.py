"""Proxies: the environment's (``HTTP(S)_PROXY``, ``NO_PROXY``) for the client's own session,
and ``proxy=`` for every session.

The proxy is a small forward proxy on 127.0.0.1 built on aiohttp.web: it takes plain-HTTP
requests in absolute form (``GET http://127.0.0.1:port/path``), as a client sends them to a
proxy, and passes them on. The tests' API is plain HTTP on loopback too, so no CONNECT is
needed. ``NO_PROXY`` and friends are cleared for each test: a developer's own settings
(``no_proxy=127.0.0.1`` is common) would otherwise decide the outcome.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from heymarket_async import APIConnectionError, APIError, HeymarketClient, InvalidRequestError
from heymarket_async._sansio import TransportRequest
from heymarket_async._transport import AiohttpTransport, env_proxy
from heymarket_async.testing import FakeHeymarket, MockTransport
from tests._server import CatchAllServer
from tests.test_transport import closed_port

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class ForwardProxy(CatchAllServer):
    """Forwards absolute-form HTTP requests; records each (and its Proxy-Authorization)."""

    def __init__(self, *, password: str | None = None) -> None:
        self.seen: list[tuple[str, str]] = []
        self.auth: list[str | None] = []
        self._password = password
        self._session: aiohttp.ClientSession | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target = URL(request.raw_path)
        if not target.is_absolute():  # a request for the proxy itself, not through it
            return web.Response(status=400, text="not a proxy request")
        self.seen.append((request.method, str(target)))
        self.auth.append(request.headers.get("Proxy-Authorization"))
        if self._password is not None:
            wanted = base64.b64encode(f"user:{self._password}".encode()).decode()
            if request.headers.get("Proxy-Authorization") != f"Basic {wanted}":
                return web.Response(status=407, headers={"Proxy-Authenticate": "Basic"})
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in ("host", "proxy-authorization", "proxy-connection")
        }
        assert self._session is not None
        async with self._session.request(
            request.method, target, headers=headers, data=await request.read()
        ) as upstream:
            body = await upstream.read()
            kept = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in ("content-type", "x-request-id")
            }
            return web.Response(status=upstream.status, body=body, headers=kept)

    async def __aenter__(self) -> ForwardProxy:
        self._session = aiohttp.ClientSession()
        return await super().__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await super().__aexit__(*exc)
        await self._session.close()


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    async with ForwardProxy() as running:
        yield running


@pytest.fixture
async def fake() -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket() as server:
        server.seed(3)
        yield server


def client(fake: FakeHeymarket, **options: Any) -> HeymarketClient:
    return HeymarketClient(fake.api_key, base_url=fake.url, max_retries=0, **options)


class TestTheEnvironment:
    async def test_http_proxy_carries_the_clients_own_requests(
        self, fake: FakeHeymarket, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with client(fake) as hm:
            assert len(await hm.list_contacts()) == 3
            await hm.count_contacts()
        assert proxy.seen == [
            ("POST", f"{fake.url}/v1/contacts"),
            ("POST", f"{fake.url}/v1/contacts/count"),
        ]

    async def test_all_proxy_is_the_fallback(
        self, fake: FakeHeymarket, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        async with client(fake) as hm:
            await hm.count_contacts()
        assert len(proxy.seen) == 1

    @pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.1"])
    async def test_no_proxy_keeps_a_host_off_the_proxy(
        self,
        fake: FakeHeymarket,
        proxy: ForwardProxy,
        monkeypatch: pytest.MonkeyPatch,
        no_proxy: str,
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        async with client(fake) as hm:
            await hm.count_contacts()
        assert proxy.seen == []

    async def test_each_host_is_looked_up_on_its_own(
        self, fake: FakeHeymarket, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # One transport, two origins: the answer for one is never taken for the other's.
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost")
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        direct = URL(fake.url).with_host("localhost")
        transport = AiohttpTransport()
        try:
            for base in (fake.url, str(direct), fake.url, str(direct)):
                request = TransportRequest("GET", f"{base}/v1/contact/1", headers, None, 10.0)
                assert (await transport.handle_async_request(request)).status == 200
        finally:
            await transport.aclose()
        assert proxy.seen == [("GET", f"{fake.url}/v1/contact/1")] * 2

    async def test_a_callers_session_follows_its_own_trust_env(
        self, fake: FakeHeymarket, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with aiohttp.ClientSession() as session, client(fake, session=session) as hm:
            await hm.count_contacts()
        assert proxy.seen == []  # trust_env=False, aiohttp's default
        async with (
            aiohttp.ClientSession(trust_env=True) as session,
            client(fake, session=session) as hm,
        ):
            await hm.count_contacts()
        assert len(proxy.seen) == 1

    async def test_a_netrc_entry_does_not_break_the_client(
        self,
        fake: FakeHeymarket,
        proxy: ForwardProxy,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any,
    ) -> None:
        # aiohttp's trust_env reads ~/.netrc, and a "default" entry there makes it refuse
        # every request that carries an Authorization header: the client does not use it.
        netrc = tmp_path / "netrc"
        netrc.write_text("default login someone password something\n")
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with client(fake) as hm:
            assert await hm.count_contacts() == 3
        assert len(proxy.seen) == 1


class TestTheProxyOption:
    @pytest.mark.parametrize("mine", [False, True])
    async def test_it_carries_every_request_on_any_session(
        self, fake: FakeHeymarket, proxy: ForwardProxy, mine: bool
    ) -> None:
        async with (
            aiohttp.ClientSession() as session,
            client(fake, proxy=proxy.url, session=session if mine else None) as hm,
        ):
            await hm.count_contacts()
            await hm.count_contacts()  # the same URL again: its kept target, the same proxy
        assert proxy.seen == [("POST", f"{fake.url}/v1/contacts/count")] * 2

    async def test_it_wins_over_the_environment(
        self, fake: FakeHeymarket, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with client(fake, proxy=proxy.url) as hm:
            await hm.count_contacts()
        assert len(proxy.seen) == 1

    async def test_credentials_in_its_url_are_sent_and_never_shown(
        self, fake: FakeHeymarket
    ) -> None:
        async with ForwardProxy(password="pr0xy-pa55word") as guarded:
            host = URL(guarded.url).authority
            good = f"http://user:pr0xy-pa55word@{host}"
            async with client(fake, proxy=good) as hm:
                await hm.count_contacts()
            expected = base64.b64encode(b"user:pr0xy-pa55word").decode()
            assert guarded.auth == [f"Basic {expected}"]
            bad = f"http://user:wr0ng-pa55word@{host}"
            async with client(fake, proxy=bad) as hm:
                # A plain-HTTP proxy answers for the server: its 407 is an answer like any.
                with pytest.raises(APIError, match="407 Proxy Authentication Required") as info:
                    await hm.count_contacts()
        for text in (str(info.value), repr(info.value), repr(hm)):
            assert "pa55word" not in text

    async def test_an_unreachable_proxy_is_a_connection_error_that_sent_nothing(
        self, fake: FakeHeymarket
    ) -> None:
        async with client(fake, proxy=f"http://127.0.0.1:{closed_port()}") as hm:
            with pytest.raises(APIConnectionError, match="cannot connect") as info:
                await hm.create_contact("15105553344")
        assert info.value.maybe_applied is False

    @pytest.mark.parametrize(
        "value",
        [
            "socks5://127.0.0.1:1080",
            "proxy.local:3128",
            "http://:3128",
            "http://proxy.local:3128/path?token=abc",
            3128,
        ],
    )
    def test_what_is_not_a_proxy_url_is_refused(self, value: Any) -> None:
        with pytest.raises(InvalidRequestError, match="proxy") as info:
            HeymarketClient("k" * 20, proxy=value)
        assert "token=abc" not in str(info.value)

    def test_it_is_the_aiohttp_transports_option(self) -> None:
        with pytest.raises(InvalidRequestError, match="transport"):
            HeymarketClient(
                "k" * 20, proxy="http://proxy.local:3128", transport=MockTransport(lambda r: r)
            )


class TestWhichProxyTheEnvironmentNames:
    """``env_proxy``: the rules aiohttp's trust_env applies, for an https API too."""

    def test_https_proxy_for_heymarkets_api(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HTTPS_PROXY", "http://corp-proxy:3128")
        monkeypatch.setenv("HTTP_PROXY", "http://other:3128")
        assert env_proxy(URL("https://api.heymarket.com/v1/contacts")) == "http://corp-proxy:3128"

    @pytest.mark.parametrize("no_proxy", [".heymarket.com", "api.heymarket.com", "*"])
    def test_no_proxy_matches_the_host(
        self, monkeypatch: pytest.MonkeyPatch, no_proxy: str
    ) -> None:
        monkeypatch.setenv("HTTPS_PROXY", "http://corp-proxy:3128")
        monkeypatch.setenv("NO_PROXY", no_proxy)
        assert env_proxy(URL("https://api.heymarket.com/v1/contacts")) is None

    def test_a_socks_proxy_is_ignored_with_a_warning(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
        assert env_proxy(URL("https://api.heymarket.com/")) is None
        assert "socks5" in caplog.text

    def test_nothing_set_is_no_proxy(self) -> None:
        assert env_proxy(URL("https://api.heymarket.com/")) is None
