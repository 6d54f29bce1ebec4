"""Metrics hooks and aiohttp TraceConfig passthrough: count requests, retries and waits."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from heymarket_async import (
    APIConnectionError,
    HeymarketClient,
    HeymarketError,
    Hooks,
    InvalidRequestError,
    LocalRateLimiter,
    RequestEvent,
    ServerError,
    TransportResponse,
)
from heymarket_async.testing import MockTransport
from tests._fakes import FakeTime
from tests._server import API_KEY, Reply, WireServer, json_reply

UUID = "1f0e6a52-8f43-4c55-9a43-8d5ea8f5b7a1"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, RequestEvent]] = []

    def hooks(self) -> Hooks:
        return Hooks(
            on_request=lambda e: self.events.append(("request", e)),
            on_response=lambda e: self.events.append(("response", e)),
            on_retry=lambda e: self.events.append(("retry", e)),
        )


class TestRoute:
    """``route`` is the endpoint's declared path, ids as ``{id}``: a label with few values."""

    @pytest.mark.parametrize(
        ("call", "path", "route"),
        [
            (lambda hm: hm.get_contact(42), "/v1/contact/42", "/v1/contact/{id}"),
            (lambda hm: hm.list_contacts(), "/v1/contacts", "/v1/contacts"),
            (lambda hm: hm.count_contacts(), "/v1/contacts/count", "/v1/contacts/count"),
            (lambda hm: hm.get_tag(7), "/v1/tag/7", "/v1/tag/{id}"),
            (lambda hm: hm.v2.get_contact(UUID), f"/v2/contact/{UUID}", "/v2/contact/{id}"),
            (
                lambda hm: hm.v2.add_channel(UUID, "phone", "15105553344"),
                f"/v2/contact/{UUID}/channel",
                "/v2/contact/{id}/channel",
            ),
            (lambda hm: hm.v2.list_contacts(), "/v2/contacts/list", "/v2/contacts/list"),
        ],
    )
    async def test_ids_become_a_placeholder(self, call: Any, path: str, route: str) -> None:
        events: list[RequestEvent] = []
        transport = MockTransport(lambda _: TransportResponse(204, {}, b""))
        hooks = Hooks(on_request=events.append)
        async with HeymarketClient(API_KEY, transport=transport, hooks=hooks) as hm:
            with contextlib.suppress(HeymarketError):  # an empty answer may not parse
                await call(hm)
        assert [(e.path, e.route) for e in events] == [(path, route)]


class TestHooks:
    async def test_every_attempt_answer_and_retry_is_reported(self, wire: WireServer) -> None:
        recorder, fake = Recorder(), FakeTime()
        wire.reply(json_reply({}, 503), json_reply({"id": 42}, **{"X-Request-Id": "r-2"}))
        async with HeymarketClient(API_KEY, base_url=wire.url, hooks=recorder.hooks()) as hm:
            fake.install(hm)
            await hm.get_contact(42)
        kinds = [kind for kind, _ in recorder.events]
        assert kinds == ["request", "response", "retry", "request", "response"]
        first, answer, retry, second, last = (e for _, e in recorder.events)
        assert (first.method, first.path, first.route, first.attempt) == (
            "GET",
            "/v1/contact/42",
            "/v1/contact/{id}",
            1,
        )
        assert answer.status == 503
        assert answer.error is None
        assert isinstance(retry.error, ServerError)
        assert retry.wait == fake.sleeps[0]
        assert second.attempt == 2
        assert (last.status, last.request_id, last.attempt) == (200, "r-2", 2)
        assert last.elapsed >= 0

    async def test_a_failed_attempt_is_an_answer_without_status(self, wire: WireServer) -> None:
        recorder = Recorder()
        wire.reply(Reply(drop=True))
        async with HeymarketClient(
            API_KEY, base_url=wire.url, hooks=recorder.hooks(), max_retries=0
        ) as hm:
            with pytest.raises(APIConnectionError):
                await hm.list_contacts()
        (kind, _), (_, answer) = recorder.events
        assert kind == "request"
        assert answer.status is None
        assert isinstance(answer.error, APIConnectionError)

    async def test_queued_counts_the_wait_for_the_rate_limit(self, wire: WireServer) -> None:
        recorder, fake = Recorder(), FakeTime()
        wire.default = json_reply({"id": 42})
        async with HeymarketClient(
            API_KEY,
            base_url=wire.url,
            hooks=recorder.hooks(),
            rate_limit=LocalRateLimiter(30, headroom=0),
        ) as hm:
            fake.install(hm)
            await hm.get_contact(1)
            await hm.get_contact(2)
        queued = [e.queued for kind, e in recorder.events if kind == "request"]
        assert queued == [0.0, 2.0]

    async def test_a_hook_that_raises_ends_the_call(self, wire: WireServer) -> None:
        failed: list[RequestEvent] = []

        def boom(event: RequestEvent) -> None:
            if not failed:  # only the first answer: metrics come back up
                failed.append(event)
                raise RuntimeError("metrics down")

        wire.default = json_reply({"id": 42})
        async with HeymarketClient(
            API_KEY, base_url=wire.url, hooks=Hooks(on_response=boom), max_concurrency=1
        ) as hm:
            with pytest.raises(RuntimeError, match="metrics down"):
                await hm.get_contact(1)
            # The concurrency slot was given back all the same.
            assert (await hm.get_contact(2)).id == 42

    def test_plain_functions_and_callable_objects_are_accepted(self) -> None:
        class Counter:
            def __call__(self, event: RequestEvent) -> None:
                pass

        hooks = Hooks(on_request=print, on_response=Counter(), on_retry=None)
        assert HeymarketClient(API_KEY, hooks=hooks)._pipeline.hooks is hooks

    @pytest.mark.parametrize("name", ["on_request", "on_response", "on_retry"])
    def test_an_async_function_is_refused_rather_than_never_awaited(self, name: str) -> None:
        async def record(event: RequestEvent) -> None:
            pass

        class AsyncRecorder:
            async def __call__(self, event: RequestEvent) -> None:
                pass

        for hook in (record, functools.partial(record), AsyncRecorder()):
            with pytest.raises(InvalidRequestError, match=f"^{name}: .*async.*plain function"):
                Hooks(**{name: hook})

    def test_an_async_generator_function_is_refused(self) -> None:
        async def record(event: RequestEvent) -> AsyncIterator[None]:
            yield

        with pytest.raises(InvalidRequestError, match=r"^on_retry: .*async"):
            Hooks(on_retry=record)  # type: ignore[arg-type]

    @pytest.mark.parametrize("hook", ["metrics", 42, [print]])
    def test_what_is_not_callable_is_refused(self, hook: object) -> None:
        with pytest.raises(InvalidRequestError, match=r"^on_response: must be a function"):
            Hooks(on_response=hook)  # type: ignore[arg-type]

    def test_hooks_must_be_hooks(self) -> None:
        with pytest.raises(InvalidRequestError, match="hooks"):
            HeymarketClient(API_KEY, hooks={"on_request": print})  # type: ignore[arg-type]


class TestTraceConfigs:
    async def test_passed_to_the_session_the_client_makes(self, wire: WireServer) -> None:
        starts: list[str] = []

        async def on_start(
            session: aiohttp.ClientSession,
            ctx: SimpleNamespace,
            params: aiohttp.TraceRequestStartParams,
        ) -> None:
            starts.append(params.method)

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_start)
        wire.reply(json_reply({}, 503), json_reply({"id": 42}))
        async with HeymarketClient(API_KEY, base_url=wire.url, trace_configs=[trace]) as hm:
            FakeTime().install(hm)
            await hm.get_contact(42)
        assert starts == ["GET", "GET"]

    async def test_refused_beside_a_session_of_yours(self) -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(InvalidRequestError, match="trace_configs"):
                HeymarketClient(API_KEY, session=session, trace_configs=[aiohttp.TraceConfig()])

    @pytest.mark.parametrize(
        "configs", [["not a TraceConfig"], "trace", 42, [aiohttp.TraceConfig(), None]]
    )
    def test_what_is_not_trace_configs_is_refused_at_construction(self, configs: Any) -> None:
        # Not later, as a bare AttributeError on every call and a half-built session.
        with pytest.raises(InvalidRequestError, match=r"^trace_configs: must be .*TraceConfig"):
            HeymarketClient(API_KEY, trace_configs=configs)

    def test_a_single_trace_config_is_refused_with_a_hint(self) -> None:
        with pytest.raises(InvalidRequestError, match=r"trace_configs=\[config\]"):
            HeymarketClient(API_KEY, trace_configs=aiohttp.TraceConfig())  # type: ignore[arg-type]

    async def test_any_iterable_of_trace_configs_is_taken(self, wire: WireServer) -> None:
        starts: list[str] = []

        async def on_start(*args: Any) -> None:
            starts.append("start")

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_start)
        configs = (config for config in [trace])  # a generator is read once, at construction
        async with HeymarketClient(API_KEY, base_url=wire.url, trace_configs=configs) as hm:  # type: ignore[arg-type]
            await hm.delete_contact(1)
            await hm.delete_contact(2)
        assert starts == ["start", "start"]
