"""The client's request pipeline: what is retried per endpoint, waits, deadlines, final errors.

Faults come from a real loopback server (``tests._server.WireServer``); every wait goes
through an injected sleep, so nothing here waits on a real backoff.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from heymarket_async import (
    APIConnectionError,
    APITimeoutError,
    HeymarketClient,
    HeymarketError,
    Hooks,
    InvalidRequestError,
    InvalidResponseError,
    NotFoundError,
    RateLimitError,
    RequestEvent,
    RetryPolicy,
    ServerError,
)
from heymarket_async._pipeline import Pipeline
from heymarket_async._sansio import Request, Safety, TransportRequest, TransportResponse, json_dumps
from heymarket_async.testing import MockTransport
from tests._fakes import FakeTime
from tests._server import API_KEY, Reply, WireServer, json_reply, text_reply

UUID = "1f0e6a52-8f43-4c55-9a43-8d5ea8f5b7a1"
CONTACT = {"id": 42, "uuid": UUID, "phone": "15105553344", "updated": "2026-05-07T12:00:00Z"}
REF = {"id": 42, "rev": 1, "uuid": UUID}
CHANNELS = [{"channel_type": "phone", "channel_id": "15105553344"}]

Call = Callable[[HeymarketClient], Awaitable[Any]]

#: Every endpoint: (name, call, HTTP method, route, safety, a good answer).
ENDPOINTS: list[tuple[str, Call, str, str, Safety, Any]] = [
    (
        "v1.create_contact",
        lambda hm: hm.create_contact("15105553344", first="Jo"),
        "POST",
        "/v1/contact",
        Safety.ONCE,
        REF,
    ),
    (
        "v1.get_contact",
        lambda hm: hm.get_contact(42),
        "GET",
        "/v1/contact/42",
        Safety.READ,
        CONTACT,
    ),
    (
        "v1.get_contact_by_phone",
        lambda hm: hm.get_contact_by_phone("15105553344"),
        "POST",
        "/v1/contact/get",
        Safety.READ,
        CONTACT,
    ),
    (
        "v1.update_contact",
        lambda hm: hm.update_contact(42, "15105553344", first="Jo"),
        "PUT",
        "/v1/contact/42",
        Safety.IDEMPOTENT,
        REF,
    ),
    (
        "v1.delete_contact",
        lambda hm: hm.delete_contact(42),
        "DELETE",
        "/v1/contact/42",
        Safety.IDEMPOTENT,
        "ok",
    ),
    ("v1.list_contacts", lambda hm: hm.list_contacts(), "POST", "/v1/contacts", Safety.READ, []),
    (
        "v1.count_contacts",
        lambda hm: hm.count_contacts(),
        "POST",
        "/v1/contacts/count",
        Safety.READ,
        "12",
    ),
    (
        "v1.list_contact_fields",
        lambda hm: hm.list_contact_fields(),
        "POST",
        "/v1/contact-fields",
        Safety.READ,
        {"fields": []},
    ),
    (
        "v2.get_contact",
        lambda hm: hm.v2.get_contact(UUID),
        "GET",
        f"/v2/contact/{UUID}",
        Safety.READ,
        CONTACT,
    ),
    (
        "v2.create_contact",
        lambda hm: hm.v2.create_contact([("phone", "15105553344")]),
        "POST",
        "/v2/contact",
        Safety.ONCE,
        REF,
    ),
    (
        "v2.list_contacts",
        lambda hm: hm.v2.list_contacts(),
        "POST",
        "/v2/contacts/list",
        Safety.READ,
        [],
    ),
    (
        "v2.search_contacts",
        lambda hm: hm.v2.search_contacts("15105553344"),
        "POST",
        "/v2/contacts/search",
        Safety.READ,
        [],
    ),
    (
        "v2.add_channel",
        lambda hm: hm.v2.add_channel(UUID, "email", "jo@example.com"),
        "POST",
        f"/v2/contact/{UUID}/channel",
        Safety.ONCE,
        CHANNELS,
    ),
]
IDS = [e[0] for e in ENDPOINTS]
SAFE_ENDPOINTS = [e for e in ENDPOINTS if e[4] is not Safety.ONCE]
CREATE_ENDPOINTS = [e for e in ENDPOINTS if e[4] is Safety.ONCE]

#: Faults after which the request may have reached the server.
RETRYABLE_STATUSES = [408, 429, 500, 502, 503, 504]


def fault(kind: str) -> Reply:
    if kind == "drop":
        return Reply(drop=True)
    if kind == "garbled":
        return text_reply('[{"id": 4')  # a 200 whose body was cut short
    return json_reply({"error": "try later"}, int(kind))


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def hm(wire: WireServer, fake: FakeTime) -> Any:
    async with HeymarketClient(API_KEY, base_url=wire.url) as client:
        yield fake.install(client)


class TestEndpointSafety:
    async def test_every_endpoint_declares_the_safety_of_the_issue_table(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: dict[str, tuple[str, str, Safety]] = {}

        async def record(
            self: Pipeline, request: Request, parse: Callable[[Any], Any], deadline: Any = None
        ) -> Any:
            seen[current] = (request.method, request.path, request.safety)
            return None

        # Every request passes through Pipeline.call, whatever resource sends it.
        monkeypatch.setattr(Pipeline, "call", record)
        recorder = HeymarketClient(API_KEY)
        for current, call, *_ in ENDPOINTS:  # noqa: B007 - read by Recorder._call
            await call(recorder)
        assert seen == {name: (m, path, s) for name, _, m, path, s, _ in ENDPOINTS}


class TestReadsAndIdempotentWrites:
    @pytest.mark.parametrize(
        ("name", "call", "method", "path", "safety", "good"),
        SAFE_ENDPOINTS,
        ids=[e[0] for e in SAFE_ENDPOINTS],
    )
    @pytest.mark.parametrize("kind", [*map(str, RETRYABLE_STATUSES), "drop", "garbled"])
    async def test_retried_after_a_transient_failure(
        self,
        hm: HeymarketClient,
        wire: WireServer,
        name: str,
        call: Call,
        method: str,
        path: str,
        safety: Safety,
        good: Any,
        kind: str,
    ) -> None:
        wire.reply(fault(kind), json_reply(good))
        await call(hm)
        assert [(r.method, r.path) for r in wire.requests] == [(method, path)] * 2

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
    async def test_not_retried_after_a_final_status(
        self, hm: HeymarketClient, wire: WireServer, status: int
    ) -> None:
        wire.reply(json_reply({"error": "no"}, status))
        with pytest.raises(HeymarketError) as info:
            await hm.get_contact(42)
        assert len(wire.requests) == 1
        assert info.value.attempts == 1  # type: ignore[attr-defined]
        assert not getattr(info.value, "__notes__", [])

    async def test_an_unexpected_shape_is_not_retried(
        self, hm: HeymarketClient, wire: WireServer
    ) -> None:
        # Valid JSON of the wrong shape comes back the same on every try.
        wire.reply(json_reply({"id": "not a number"}))
        with pytest.raises(InvalidResponseError, match="unexpected response shape") as info:
            await hm.get_contact(42)
        assert len(wire.requests) == 1
        assert info.value.attempts == 1


class TestCreates:
    @pytest.mark.parametrize(
        ("name", "call", "method", "path", "safety", "good"),
        CREATE_ENDPOINTS,
        ids=[e[0] for e in CREATE_ENDPOINTS],
    )
    @pytest.mark.parametrize("kind", ["500", "502", "503", "504", "drop", "garbled"])
    async def test_never_sent_twice_after_it_may_have_arrived(
        self,
        hm: HeymarketClient,
        wire: WireServer,
        name: str,
        call: Call,
        method: str,
        path: str,
        safety: Safety,
        good: Any,
        kind: str,
    ) -> None:
        wire.reply(fault(kind), json_reply(good))
        with pytest.raises(HeymarketError) as info:
            await call(hm)
        assert len(wire.requests) == 1
        assert str(info.value).endswith("(the write may have been applied)")
        what = "channel may have been added" if name == "v2.add_channel" else "contact may"
        assert any(what in n and "check before" in n for n in info.value.__notes__)

    @pytest.mark.parametrize(
        ("name", "call", "method", "path", "safety", "good"),
        CREATE_ENDPOINTS,
        ids=[e[0] for e in CREATE_ENDPOINTS],
    )
    async def test_retried_after_a_429(
        self,
        hm: HeymarketClient,
        wire: WireServer,
        fake: FakeTime,
        name: str,
        call: Call,
        method: str,
        path: str,
        safety: Safety,
        good: Any,
    ) -> None:
        wire.reply(
            json_reply({"error": "slow down"}, 429, **{"Retry-After": "3"}), json_reply(good)
        )
        await call(hm)
        assert [(r.method, r.path) for r in wire.requests] == [(method, path)] * 2
        assert wire.requests[0].body == wire.requests[1].body
        assert fake.sleeps == [3.0]

    async def test_a_408_on_a_create_is_not_retried(
        self, hm: HeymarketClient, wire: WireServer
    ) -> None:
        wire.reply(json_reply({}, 408), json_reply(REF))
        with pytest.raises(HeymarketError):
            await hm.create_contact("15105553344")
        assert len(wire.requests) == 1

    async def test_retried_when_the_connection_cannot_be_made(self, fake: FakeTime) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        # Nothing listens on the port now: every connect is refused, so nothing was sent.
        async with HeymarketClient(API_KEY, base_url=f"http://127.0.0.1:{port}") as hm:
            fake.install(hm)
            with pytest.raises(APIConnectionError) as info:
                await hm.create_contact("15105553344")
        assert info.value.maybe_applied is False
        assert info.value.attempts == 4
        assert "may have been applied" not in str(info.value)
        assert len(fake.sleeps) == 3

    async def test_an_attempt_timeout_after_sending_is_not_retried(self, wire: WireServer) -> None:
        wire.reply(Reply(body=b"{}", delay=0.1), json_reply(REF))
        policy = RetryPolicy(attempt_timeout=0.02)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy) as hm:
            with pytest.raises(APITimeoutError) as info:
                await hm.create_contact("15105553344")
        assert info.value.maybe_applied is True
        assert "may have been applied" in str(info.value)
        assert len(wire.requests) == 1


class TestFinalError:
    async def test_tells_the_attempts_and_keeps_the_earlier_failures(
        self, hm: HeymarketClient, wire: WireServer
    ) -> None:
        wire.reply(fault("503"), fault("drop"), fault("502"), fault("504"), json_reply(CONTACT))
        with pytest.raises(ServerError) as info:
            await hm.list_contacts()
        error = info.value
        assert error.status == 504
        assert error.attempts == 4
        notes = error.__notes__
        assert notes[0].startswith("attempt 1: 503 Service Unavailable for POST")
        assert notes[1].startswith("attempt 2: ")
        assert "connection" in notes[1].lower() or "disconnect" in notes[1].lower()
        assert notes[2].startswith("attempt 3: 502 Bad Gateway")
        assert notes[3] == "gave up after 4 attempts (max_retries=3)"
        assert len(wire.requests) == 4

    async def test_backoff_is_exponential_with_full_jitter(
        self, hm: HeymarketClient, wire: WireServer, fake: FakeTime
    ) -> None:
        wire.reply(*[fault("503")] * 4)
        with pytest.raises(ServerError):
            await hm.get_contact(42)
        assert len(fake.sleeps) == 3
        for n, wait in enumerate(fake.sleeps):
            assert 0 <= wait <= 0.5 * 2**n

    async def test_a_success_after_retries_returns_the_result(
        self, hm: HeymarketClient, wire: WireServer
    ) -> None:
        wire.reply(fault("429"), fault("garbled"), json_reply(CONTACT))
        contact = await hm.get_contact(42)
        assert contact.id == 42


class TestRetryAfter:
    async def test_seconds_are_waited_exactly(
        self, hm: HeymarketClient, wire: WireServer, fake: FakeTime
    ) -> None:
        wire.reply(json_reply({}, 429, **{"Retry-After": "7"}), json_reply(CONTACT))
        await hm.get_contact(42)
        assert fake.sleeps == [7.0]

    async def test_an_http_date_is_waited_for(
        self, hm: HeymarketClient, wire: WireServer, fake: FakeTime
    ) -> None:
        when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
        wire.reply(json_reply({}, 429, **{"Retry-After": when}), json_reply(CONTACT))
        await hm.get_contact(42)
        assert len(fake.sleeps) == 1
        assert 17 <= fake.sleeps[0] <= 20

    async def test_beyond_the_ceiling_the_429_is_raised_at_once(
        self, hm: HeymarketClient, wire: WireServer, fake: FakeTime
    ) -> None:
        wire.reply(json_reply({}, 429, **{"Retry-After": "3600"}), json_reply(CONTACT))
        with pytest.raises(RateLimitError) as info:
            await hm.get_contact(42)
        assert info.value.retry_after == 3600
        assert info.value.attempts == 1
        assert "longer than max_retry_after (60 s)" in info.value.__notes__[-1]
        assert fake.sleeps == []
        assert len(wire.requests) == 1

    async def test_the_ceiling_is_configurable(self, wire: WireServer, fake: FakeTime) -> None:
        wire.reply(json_reply({}, 429, **{"Retry-After": "3600"}), json_reply(CONTACT))
        policy = RetryPolicy(max_retry_after=7200)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy, timeout=None) as hm:
            fake.install(hm)
            await hm.get_contact(42)
        assert fake.sleeps == [3600.0]


class TestConfiguration:
    async def test_max_retries_on_the_client(self, wire: WireServer, fake: FakeTime) -> None:
        wire.reply(*[fault("503")] * 5)
        async with HeymarketClient(API_KEY, base_url=wire.url, max_retries=1) as hm:
            fake.install(hm)
            with pytest.raises(ServerError) as info:
                await hm.get_contact(42)
        assert info.value.attempts == 2
        assert len(wire.requests) == 2

    async def test_retry_policy_wins_over_max_retries(
        self, wire: WireServer, fake: FakeTime
    ) -> None:
        wire.reply(*[fault("503")] * 5)
        policy = RetryPolicy(max_retries=2, backoff_base=0)
        async with HeymarketClient(API_KEY, base_url=wire.url, max_retries=0, retry=policy) as hm:
            fake.install(hm)
            with pytest.raises(ServerError):
                await hm.get_contact(42)
        assert len(wire.requests) == 3
        assert fake.sleeps == [0.0, 0.0]

    async def test_per_call_options_leave_the_client_alone(
        self, hm: HeymarketClient, wire: WireServer
    ) -> None:
        wire.reply(fault("503"), fault("503"), json_reply(CONTACT))
        view = hm.with_options(retry=RetryPolicy.disabled(), timeout=5)
        with pytest.raises(ServerError) as info:
            await view.get_contact(42)
        assert info.value.attempts == 1
        assert not getattr(info.value, "__notes__", [])
        await hm.get_contact(42)  # the client still retries: 503, then the contact
        assert len(wire.requests) == 3
        assert view._pipeline.timeout == 5
        assert hm._pipeline.timeout == 30

    def test_with_options_rejects_what_is_not_a_policy(self) -> None:
        hm = HeymarketClient(API_KEY)
        with pytest.raises(InvalidRequestError, match="retry"):
            hm.with_options(retry=3)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="retry"):
            HeymarketClient(API_KEY, retry={"max_retries": 1})  # type: ignore[arg-type]


def timed_client(
    fake: FakeTime,
    takes: Callable[[str], float | None],
    answer: TransportResponse,
    **options: Any,
) -> tuple[HeymarketClient, list[float | None]]:
    """A client on the fake clock whose transport honours its timeout, as aiohttp does: a
    request takes ``takes(method)`` seconds (``None``: never answers) and is then answered
    ``answer``, unless its timeout ends it first. Also returns the timeouts the transport is
    given, one per attempt."""
    timeouts: list[float | None] = []

    def send(request: TransportRequest) -> TransportResponse:
        timeout = request.timeout
        timeouts.append(timeout)
        assert timeout is not None
        seconds = takes(request.method)
        if seconds is None or timeout < seconds:
            fake.advance(timeout)
            raise APITimeoutError(
                f"timed out after {timeout:g} s", method=request.method, url=request.url
            )
        fake.advance(seconds)
        return answer

    hm = HeymarketClient(API_KEY, transport=MockTransport(send), **options)
    return fake.install(hm), timeouts


class TestDeadline:
    async def test_timeout_is_the_whole_call_not_each_attempt(self, fake: FakeTime) -> None:
        # A server that takes 25 s to answer 503, simulated on the fake clock. No per-attempt
        # timeout, so that only the deadline can end the call.
        answer = TransportResponse(503, {}, b"{}")
        policy = RetryPolicy(max_retries=10, attempt_timeout=None)
        hm, timeouts = timed_client(fake, lambda _: 25, answer, timeout=30, retry=policy)
        async with hm:
            start = fake.now
            with pytest.raises(APITimeoutError) as info:
                await hm.get_contact(42)
        assert fake.now - start == pytest.approx(30)
        assert timeouts[0] == 30
        assert len(timeouts) == 2
        assert timeouts[1] == pytest.approx(30 - 25 - fake.sleeps[0])
        assert info.value.attempts == 2
        assert "deadline" in info.value.__notes__[-1]

    async def test_a_patch_reads_and_writes_within_one_timeout(self, fake: FakeTime) -> None:
        # patch_contact is a GET (a slow one: 8 s) and a PUT that never answers: the timeout
        # is the deadline of both together. The GET may take 10 s (a read's attempt timeout);
        # the PUT, never sent twice, has no attempt timeout: it gets the 22 s left.
        contact = TransportResponse(200, {}, json_dumps({**CONTACT, "rev": 1}))
        hm, timeouts = timed_client(fake, lambda m: 8 if m == "GET" else None, contact, timeout=30)
        async with hm:
            start = fake.now
            with pytest.raises(APITimeoutError):
                await hm.patch_contact(42, first="Ada")
        assert timeouts == [10, pytest.approx(22)]
        assert fake.now - start == pytest.approx(30)

    async def test_no_retry_whose_wait_would_cross_the_deadline(
        self, wire: WireServer, fake: FakeTime
    ) -> None:
        wire.reply(json_reply({}, 429, **{"Retry-After": "20"}), json_reply(CONTACT))
        async with HeymarketClient(API_KEY, base_url=wire.url, timeout=10) as hm:
            fake.install(hm)
            with pytest.raises(RateLimitError) as info:
                await hm.get_contact(42)
        assert fake.sleeps == []
        assert info.value.__notes__[-1] == (
            "not retried: the next attempt would start after the 10 s deadline"
        )

    @pytest.mark.parametrize("timeout", [5.0, None])
    async def test_attempt_timeout_caps_each_attempt_and_leaves_time_to_retry(
        self, wire: WireServer, timeout: float | None
    ) -> None:
        wire.reply(Reply(body=b"{}", delay=0.1), json_reply(CONTACT))
        policy = RetryPolicy(attempt_timeout=0.02, backoff_base=0)
        async with HeymarketClient(API_KEY, base_url=wire.url, retry=policy, timeout=timeout) as hm:
            contact = await hm.get_contact(42)
        assert contact.id == 42
        assert len(wire.requests) == 2

    async def test_the_deadline_holds_on_the_real_clock(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()  # the server never answers
        loop = asyncio.get_running_loop()
        async with HeymarketClient(API_KEY, base_url=wire.url, timeout=0.05) as hm:
            start = loop.time()
            with pytest.raises(APITimeoutError):
                await hm.get_contact(42)
            elapsed = loop.time() - start
        assert 0.04 <= elapsed < 0.5

    async def test_waiting_for_a_concurrency_slot_counts(self, wire: WireServer) -> None:
        wire.gate = asyncio.Event()
        sent = asyncio.Event()
        async with HeymarketClient(
            API_KEY,
            base_url=wire.url,
            timeout=0.05,
            max_concurrency=1,
            hooks=Hooks(on_request=lambda _: sent.set()),
        ) as hm:
            first = asyncio.ensure_future(hm.with_options(timeout=None).get_contact(1))
            await sent.wait()
            with pytest.raises(APITimeoutError, match="waiting for a concurrency slot") as info:
                await hm.get_contact(2)
            assert info.value.maybe_applied is False
            assert info.value.attempts == 0  # nothing was sent
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
        assert len(wire.requests) == 1


class TestCancellation:
    async def test_cancelled_as_a_slot_frees_up_sends_nothing(self, wire: WireServer) -> None:
        # The create waits for the only slot, under a deadline. The call holding the slot ends
        # and, in the same step, the create is cancelled (as a TaskGroup does when a sibling
        # fails): the create must not go out. asyncio.wait_for on Python < 3.12 returned the
        # slot it had just got and swallowed the cancellation, so the create was sent.
        waiting: list[asyncio.Task[Any]] = []
        holding = asyncio.Event()

        def cancel_the_create(event: RequestEvent) -> None:
            if event.path == "/v1/contact/1":
                waiting[0].cancel()

        wire.default = json_reply(CONTACT)
        wire.gate = asyncio.Event()
        async with HeymarketClient(
            API_KEY,
            base_url=wire.url,
            timeout=30,
            max_concurrency=1,
            hooks=Hooks(on_request=lambda _: holding.set(), on_response=cancel_the_create),
        ) as hm:
            first = asyncio.ensure_future(hm.get_contact(1))
            await holding.wait()
            create = asyncio.ensure_future(hm.create_contact("15105553344"))
            waiting.append(create)
            for _ in range(5):  # let the create reach the wait for the slot
                await asyncio.sleep(0)
            wire.gate.set()
            await first
            with pytest.raises(asyncio.CancelledError):
                await create
            # The slot is free again: a later call goes through.
            assert (await hm.get_contact(2)).id == 42
        assert [r.path for r in wire.requests] == ["/v1/contact/1", "/v1/contact/2"]


class TestNotRetried:
    async def test_a_404_is_raised_as_it_is(self, hm: HeymarketClient, wire: WireServer) -> None:
        wire.reply(json_reply({"error": "not found"}, 404))
        with pytest.raises(NotFoundError, match="404 Not Found for GET"):
            await hm.get_contact(42)
