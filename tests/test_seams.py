"""The seams that users and tests plug into: ``transport=``, ``MockTransport``, fake time, the
declared endpoints and the contact fields' one definition."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

import heymarket_async
from heymarket_async import (
    UNSET,
    APIConnectionError,
    ClientClosedError,
    ContactFields,
    HeymarketClient,
    InvalidRequestError,
    NotFoundError,
    RetryPolicy,
    TransportRequest,
    TransportResponse,
)
from heymarket_async._loops import LoopBinding
from heymarket_async._sansio import Endpoint, Safety
from heymarket_async.resources import v1, v2
from heymarket_async.resources.v1 import contacts, fields, status, tags
from heymarket_async.testing import MockTransport, install_clock
from tests._fakes import FakeTime

API_KEY = "k-123456"
CONTACT = {"id": 42, "phone": "15105553344", "uuid": "1f0e6a52-8f43-4c55-9a43-8d5ea8f5b7a1"}


def _recording(sent: list[TransportRequest]) -> MockTransport:
    def handler(request: TransportRequest) -> TransportResponse:
        sent.append(request)
        return TransportResponse(500, {}, b"")

    return MockTransport(handler)


class TestMockTransport:
    async def test_a_plain_handler_answers_and_sees_the_whole_request(self) -> None:
        seen: list[TransportRequest] = []

        def handler(request: TransportRequest) -> TransportResponse:
            seen.append(request)
            return TransportResponse.from_json(CONTACT, headers={"x-request-id": "r-1"})

        async with HeymarketClient(API_KEY, transport=MockTransport(handler)) as hm:
            contact = await hm.get_contact_by_phone("+1 (510) 555-3344")
        assert contact.id == 42
        (request,) = seen
        assert (request.method, request.url) == (
            "POST",
            "https://api.heymarket.com/v1/contact/get",
        )
        assert request.body == b'{"phone":"15105553344"}'
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.timeout == 10.0  # a read's attempt timeout, within the 30 s deadline

    async def test_an_async_handler_and_a_typed_error_with_the_request_id(self) -> None:
        async def handler(request: TransportRequest) -> TransportResponse:
            await asyncio.sleep(0)
            return TransportResponse(404, {"x-request-id": "r-9"}, b'{"error": "gone"}')

        async with HeymarketClient(API_KEY, transport=MockTransport(handler)) as hm:
            with pytest.raises(NotFoundError) as info:
                await hm.get_contact(7)
        assert info.value.request_id == "r-9"  # headers are case-insensitive
        assert info.value.message == "gone"

    async def test_retries_run_through_it_on_fake_time(self) -> None:
        answers = [TransportResponse(503, {}, b""), TransportResponse.from_json(CONTACT)]
        fake = FakeTime()
        hm = HeymarketClient(API_KEY, transport=MockTransport(lambda _: answers.pop(0)))
        install_clock(hm, clock=fake.clock, sleep=fake.sleep)
        async with hm:
            assert (await hm.get_contact(42)).id == 42
        assert len(fake.sleeps) == 1  # one backoff, on the fake clock
        assert answers == []

    async def test_a_foreign_exception_of_a_transport_becomes_a_connection_error(self) -> None:
        def handler(_: TransportRequest) -> TransportResponse:
            raise LookupError(f"no route for {API_KEY}")

        transport = MockTransport(handler)
        async with HeymarketClient(
            API_KEY, transport=transport, retry=RetryPolicy.disabled()
        ) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.get_contact(1)
        # Not chained: a foreign error may hold the request and its Authorization header.
        assert info.value.__cause__ is None
        assert info.value.__context__ is None
        assert "the transport failed: LookupError: no route for ***" in str(info.value)
        assert API_KEY not in str(info.value)

    async def test_a_closed_client_sends_nothing_through_it(self) -> None:
        calls: list[TransportRequest] = []
        hm = HeymarketClient(API_KEY, transport=_recording(calls))
        await hm.close()
        with pytest.raises(ClientClosedError):
            await hm.get_contact(1)
        assert calls == []


class TestTransportOption:
    async def test_the_client_does_not_close_a_transport_given_to_it(self) -> None:
        class Closable(MockTransport):
            closed = False

            async def aclose(self) -> None:
                self.closed = True

        transport = Closable(lambda _: TransportResponse.from_json(CONTACT))
        async with HeymarketClient(API_KEY, transport=transport) as hm:
            await hm.get_contact(42)
        assert hm.closed
        assert not transport.closed

    @pytest.mark.parametrize(
        "options", [{"session": object()}, {"trace_configs": [object()]}], ids=["session", "trace"]
    )
    def test_session_and_trace_configs_belong_to_the_transport(self, options: Any) -> None:
        transport = MockTransport(lambda _: TransportResponse.from_json({}))
        with pytest.raises(InvalidRequestError, match="transport"):
            HeymarketClient(API_KEY, transport=transport, **options)

    def test_an_object_without_the_coroutine_is_refused(self) -> None:
        with pytest.raises(InvalidRequestError, match="handle_async_request"):
            HeymarketClient(API_KEY, transport=object())  # type: ignore[arg-type]

    def test_the_transport_types_are_public(self) -> None:
        for name in ("Transport", "TransportRequest", "TransportResponse"):
            assert name in heymarket_async.__all__


class TestFakeTime:
    async def test_views_made_afterwards_share_it(self) -> None:
        answers = [TransportResponse(503, {}, b""), TransportResponse.from_json(CONTACT)]
        fake = FakeTime()
        hm = install_clock(
            HeymarketClient(API_KEY, transport=MockTransport(lambda _: answers.pop(0))),
            clock=fake.clock,
            sleep=fake.sleep,
        )
        view = hm.with_options(timeout=5)
        await view.get_contact(42)
        assert len(fake.sleeps) == 1
        await hm.close()


class TestWithOptions:
    def test_a_subclass_gets_views_of_its_own_class(self) -> None:
        class Mine(HeymarketClient):
            pass

        view = Mine(API_KEY).with_options(timeout=5)
        assert type(view) is Mine
        assert view.v2 is not None


class TestLoopBinding:
    def test_made_once_per_loop_and_again_after_the_loop_closed(self) -> None:
        binding = LoopBinding()

        async def moved() -> bool:
            return binding.moved()

        async def twice() -> list[bool]:
            return [binding.moved(), binding.moved()]

        assert asyncio.run(twice()) == [True, False]
        assert asyncio.run(moved()) is True  # the first loop is closed: made again

    def test_refused_from_another_loop_while_the_first_is_open(self) -> None:
        binding = LoopBinding()

        async def moved() -> bool:
            return binding.moved()

        first = asyncio.new_event_loop()
        try:
            assert first.run_until_complete(moved()) is True
            with pytest.raises(ClientClosedError, match="another event loop"):
                asyncio.run(moved())
        finally:
            first.close()


def _declared() -> list[tuple[str, Endpoint]]:
    modules = (contacts, fields, status, tags, v2.contacts)
    found: dict[int, tuple[str, Endpoint]] = {}
    for module in modules:
        for name, value in vars(module).items():
            # (A module may import another's endpoint: v1's walk reads ties through v2's list.)
            if isinstance(value, Endpoint):
                found.setdefault(id(value), (f"{module.__name__}.{name}", value))
    return list(found.values())


class TestEndpoints:
    def test_each_is_declared_once(self) -> None:
        declared = _declared()
        assert len(declared) >= 25
        keys = [(e.method, e.route, e.safety) for _, e in declared]
        assert len(keys) == len(set(keys))

    @pytest.mark.parametrize(("name", "endpoint"), _declared(), ids=lambda v: str(v))
    def test_what_the_pipeline_needs_is_on_it(self, name: str, endpoint: Endpoint) -> None:
        assert endpoint.route.startswith(("/v1/", "/v2/")), name
        if endpoint.safety is Safety.ONCE:
            assert endpoint.effect.endswith(("created", "updated", "added", "deleted")), name
        else:
            assert endpoint.effect == "", name
        # (A ONCE delete is never sent again once it may have been applied.)
        assert endpoint.gone_is_done == (
            endpoint.method == "DELETE" and endpoint.safety is Safety.IDEMPOTENT
        ), name
        assert endpoint.method != "GET" or endpoint.safety is Safety.READ, name

    def test_the_resources_are_public_types(self) -> None:
        hm = HeymarketClient(API_KEY)
        assert isinstance(hm, heymarket_async.V1Contacts)
        assert isinstance(hm, heymarket_async.V1Tags)
        assert isinstance(hm.v2, heymarket_async.V2Contacts)
        assert v1.V1ContactFields is heymarket_async.V1ContactFields


class TestContactFields:
    @pytest.mark.parametrize(
        "method",
        [
            HeymarketClient.create_contact,
            HeymarketClient.update_contact,
            heymarket_async.V2Contacts.create_contact,
            heymarket_async.V2Contacts.update_contact,
        ],
    )
    def test_every_field_shows_as_a_keyword_only_argument(self, method: Any) -> None:
        params = inspect.signature(method).parameters
        shown = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]
        assert shown[: len(ContactFields.__annotations__)] == list(ContactFields.__annotations__)
        assert all(params[n].default is UNSET for n in ContactFields.__annotations__)

    async def test_an_unknown_field_is_a_type_error_and_nothing_is_sent(self) -> None:
        sent: list[TransportRequest] = []
        hm = HeymarketClient(API_KEY, transport=_recording(sent))
        with pytest.raises(
            TypeError, match=r"create_contact\(\) got an unexpected keyword argument 'frist'"
        ):
            await hm.create_contact("15105553344", frist="Ada")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="update_contact"):
            await hm.v2.update_contact(CONTACT["uuid"], nick="A")  # type: ignore[call-arg]
        assert sent == []

    async def test_the_first_bad_field_is_the_same_whatever_the_order_given(self) -> None:
        hm = HeymarketClient(
            API_KEY, transport=MockTransport(lambda _: TransportResponse(500, {}, b""))
        )
        for kwargs in ({"tags": "x", "first": 5}, {"first": 5, "tags": "x"}):
            with pytest.raises(InvalidRequestError) as info:
                await hm.create_contact("15105553344", **kwargs)
            assert info.value.field == "first"

    async def test_only_the_fields_given_are_sent(self) -> None:
        sent: list[TransportRequest] = []

        def handler(request: TransportRequest) -> TransportResponse:
            sent.append(request)
            return TransportResponse.from_json({"id": 1, "rev": 1, "uuid": CONTACT["uuid"]})

        async with HeymarketClient(API_KEY, transport=MockTransport(handler)) as hm:
            fields: ContactFields = {"first": "Ada", "email": None}
            await hm.create_contact("15105553344", **fields)
        assert sent[0].body == b'{"phone":"15105553344","first":"Ada","email":null}'


class TestTransportContract:
    @pytest.mark.parametrize(
        "answer",
        [None, {"status": 200}, TransportResponse(200, {}, "text")],  # type: ignore[arg-type]
        ids=["none", "dict", "str-body"],
    )
    async def test_a_transport_that_answers_something_else_is_a_typed_error(
        self, answer: Any
    ) -> None:
        transport = MockTransport(lambda _: answer)
        async with HeymarketClient(API_KEY, transport=transport, max_retries=0) as hm:
            with pytest.raises(APIConnectionError, match="not a TransportResponse"):
                await hm.get_contact(1)

    def test_a_transport_that_is_falsy_is_used_all_the_same(self) -> None:
        class Recorded(list[TransportRequest]):
            async def handle_async_request(self, request: TransportRequest) -> TransportResponse:
                self.append(request)
                return TransportResponse.from_json(CONTACT)

        transport = Recorded()

        async def get() -> int:
            async with HeymarketClient(API_KEY, transport=transport) as hm:
                return (await hm.get_contact(42)).id

        assert asyncio.run(get()) == 42
        assert len(transport) == 1


class TestEndpointDeclaration:
    def test_a_once_write_says_what_it_may_have_done(self) -> None:
        with pytest.raises(ValueError, match="effect"):
            Endpoint("POST", "/v1/x", Safety.ONCE)
        with pytest.raises(ValueError, match="effect"):
            Endpoint("GET", "/v1/x", Safety.READ, effect="x may have been created")

    def test_a_route_with_an_id_needs_one(self) -> None:
        with pytest.raises(ValueError, match="needs an id"):
            Endpoint("GET", "/v1/x/{id}", Safety.READ).request()


class TestTransportRequestRepr:
    def test_shows_no_credential_and_no_body(self) -> None:
        request = TransportRequest(
            "POST",
            "https://x/v1/contact",
            {"Authorization": f"Bearer {API_KEY}"},
            b"15105553344",
            3,
        )
        text = repr(request)
        assert API_KEY not in text
        assert "15105553344" not in text
        assert "Authorization" in text
        assert "timeout=3" in text


class TestConstructorChecksInOrder:
    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"retry": "x", "rate_limit": 0}, "retry"),
            ({"session": "s", "log_pii": "x"}, "session"),
            ({"session": "s", "trace_configs": 5}, "session"),
            ({"hooks": "h", "session": "s"}, "hooks"),
        ],
    )
    def test_the_first_bad_option_is_the_one_reported(self, options: Any, field: str) -> None:
        with pytest.raises(InvalidRequestError) as info:
            HeymarketClient(API_KEY, **options)
        assert info.value.field == field


class TestUnknownFieldFirst:
    async def test_a_misspelt_field_is_reported_before_any_other_check(self) -> None:
        hm = HeymarketClient(API_KEY, transport=_recording([]))
        with pytest.raises(TypeError, match="frist"):
            await hm.create_contact("bad", frist="Ada")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="nick"):
            await hm.update_contact(-1, "bad", nick="A")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="nick"):
            await hm.v2.create_contact([], nick="A")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="nick"):
            await hm.v2.update_contact("not-a-uuid", nick="A")  # type: ignore[call-arg]
