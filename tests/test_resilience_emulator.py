"""Issue 5's acceptance tests, against the emulator's faults.

Walks over 2,000 contacts with a quarter of the list requests failing, creates that must never
be sent twice, a 429 storm under the rate limiter, the overall deadline, and 200 concurrent
calls under the configured rate. No test waits on a real backoff: sleeps are injected.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Final

import aiohttp
import pytest

from heymarket_async import (
    APIConnectionError,
    APITimeoutError,
    BulkStatus,
    ClientClosedError,
    ContactRef,
    HeymarketClient,
    HeymarketError,
    NotFoundError,
    RetryPolicy,
    ServerError,
)
from heymarket_async.testing import FakeHeymarket, Fault, install_clock
from tests._fakes import InstantSleep, ScaledTime

NO_WAIT = RetryPolicy(backoff_base=0, backoff_max=0)

LIST_FAULTS = (
    Fault.rate_limited(retry_after=0),
    Fault.status(503),
    Fault.drop(),
    Fault.truncated(),
)


def schedule_faults(fake: FakeHeymarket, route: str, *, requests: int, seed: int) -> set[int]:
    """About a quarter of the requests on ``route`` fail, never more than two in a row, each
    with one of the four list faults; returns the failing request numbers."""
    rng = random.Random(seed)
    chosen: dict[Fault, set[int]] = {f: set() for f in LIST_FAULTS}
    run = 0
    for n in range(1, requests + 1):
        if run < 2 and rng.random() < 0.25:
            chosen[rng.choice(LIST_FAULTS)].add(n)
            run += 1
        else:
            run = 0
    for fault, numbers in chosen.items():
        fake.faults.add(route, fault, on=numbers)
    return set().union(*chosen.values())


@pytest.fixture
async def fake() -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket() as server:
        yield server


def client(fake: FakeHeymarket, **kwargs: object) -> HeymarketClient:
    hm = fake.client(**kwargs)
    install_clock(hm, sleep=InstantSleep())
    return hm


class TestWalksThroughFaults:
    @pytest.mark.parametrize("order", ["newest_first", "oldest_first"])
    async def test_v1_walk_yields_every_contact_exactly_once(
        self, fake: FakeHeymarket, order: str
    ) -> None:
        fake.v1_order = order  # type: ignore[assignment]
        ids = set(fake.seed(2000, tie_group_size=[1, 1, 3]))
        failing = schedule_faults(fake, "POST /v1/contacts", requests=400, seed=5)
        hm = client(fake)
        seen = [c.id async for c in hm.iter_contacts()]
        assert Counter(seen) == Counter(ids)
        statuses = self.outcomes(fake, "POST /v1/contacts")
        assert 0.18 <= statuses["fault"] / statuses["all"] <= 0.32
        assert {n for n in failing if n <= statuses["all"]} == statuses["fault_numbers"]
        assert statuses["kinds"] == {f.kind for f in LIST_FAULTS}

    async def test_v2_walk_yields_every_contact_exactly_once(self, fake: FakeHeymarket) -> None:
        ids = set(fake.seed(2000))
        schedule_faults(fake, "POST /v2/contacts/list", requests=200, seed=7)
        hm = client(fake)
        seen = [c.id async for c in hm.v2.iter_contacts(page_size=50)]
        assert Counter(seen) == Counter(ids)
        statuses = self.outcomes(fake, "POST /v2/contacts/list")
        assert 0.15 <= statuses["fault"] / statuses["all"] <= 0.35
        assert statuses["kinds"] == {f.kind for f in LIST_FAULTS}

    @staticmethod
    def outcomes(fake: FakeHeymarket, route: str) -> dict[str, object]:
        requests = fake.requests_to(route)
        faulted = [r for r in requests if r.fault is not None]
        return {
            "all": len(requests),
            "fault": len(faulted),
            "fault_numbers": {r.number for r in faulted},
            "kinds": {r.fault.kind for r in faulted if r.fault is not None},
        }


CREATES: Final[Mapping[str, Callable[[HeymarketClient], Awaitable[ContactRef]]]] = {
    "v1": lambda hm: hm.create_contact("15105553344", first="Jordan"),
    "v2": lambda hm: hm.v2.create_contact([("phone", "15105553344")], first="Jordan"),
}
CREATE_ROUTES: Final = {"v1": "POST /v1/contact", "v2": "POST /v2/contact"}


class TestCreatesNeverDuplicate:
    @pytest.mark.parametrize("api", ["v1", "v2"])
    @pytest.mark.parametrize(
        ("fault", "error"),
        [
            (Fault.fail_after_write(500), ServerError),
            (Fault.drop_after_write(), APIConnectionError),
        ],
        ids=["500-after-write", "drop-after-write"],
    )
    async def test_a_write_that_was_applied_raises_and_leaves_one_contact(
        self, fake: FakeHeymarket, api: str, fault: Fault, error: type[HeymarketError]
    ) -> None:
        fake.faults.add(CREATE_ROUTES[api], fault, times=1)
        hm = client(fake)
        with pytest.raises(error) as info:
            await CREATES[api](hm)
        assert str(info.value).endswith("(the write may have been applied)")
        assert info.value.attempts == 1  # type: ignore[attr-defined]
        assert len(fake.contacts) == 1
        assert len(fake.requests_to(CREATE_ROUTES[api])) == 1

    @pytest.mark.parametrize("api", ["v1", "v2"])
    async def test_a_create_answered_429_is_retried_and_leaves_one_contact(
        self, fake: FakeHeymarket, api: str
    ) -> None:
        fake.faults.add(CREATE_ROUTES[api], Fault.rate_limited(retry_after=0), times=1)
        hm = client(fake)
        ref = await CREATES[api](hm)
        assert list(fake.contacts) == [ref.id]
        assert len(fake.requests_to(CREATE_ROUTES[api])) == 2

    async def test_adding_a_channel_answered_500_after_the_write_adds_it_once(
        self, fake: FakeHeymarket
    ) -> None:
        contact = fake.add_contact(phone="15105553344")
        fake.faults.add("POST /v2/contact/{uuid}/channel", Fault.fail_after_write(502), times=1)
        hm = client(fake)
        with pytest.raises(ServerError, match="may have been applied"):
            await hm.v2.add_channel(contact["uuid"], "email", "jo@example.com")
        channels = fake.contacts[contact["id"]]["contact_channels"]
        assert [c["channel_id"] for c in channels].count("jo@example.com") == 1


class TestNoSilentResend:
    """aiohttp sends a GET, PUT or DELETE again by itself when a pooled connection drops; no
    session does for the SDK's requests, so only the SDK's retry rules decide (more in
    test_no_resend.py)."""

    async def test_the_public_seam_the_sdk_uses_is_there(self) -> None:
        # Per-request client middlewares (aiohttp 3.12): if they went, sessions would resend.
        assert hasattr(aiohttp, "ClientMiddlewareType")
        assert "middlewares" in inspect.signature(aiohttp.ClientSession._request).parameters

    async def test_a_bulk_delete_is_not_sent_twice_after_a_drop(self, fake: FakeHeymarket) -> None:
        ids = list(fake.seed(3))
        uuids = [fake.contacts[i]["uuid"] for i in ids]
        fake.faults.add("DELETE /v2/contacts", Fault.drop_after_write(), times=1)
        hm = client(fake, max_concurrency=1)
        await hm.get_contact(ids[0])  # a pooled connection, reused by the delete
        result = await hm.v2.delete_contacts(uuids)
        assert len(fake.requests_to("DELETE /v2/contacts")) == 1
        assert len(fake.contacts) == 0  # it was applied: unknown, not failed
        assert {item.status for item in result.items} == {BulkStatus.UNKNOWN}

    async def test_a_disabled_policy_sends_a_read_once(self, fake: FakeHeymarket) -> None:
        ids = list(fake.seed(2))
        hm = client(fake, max_concurrency=1, retry=RetryPolicy.disabled())
        await hm.get_contact(ids[0])
        fake.faults.add("GET /v1/contact/{id}", Fault.drop(), times=1)
        with pytest.raises(APIConnectionError):
            await hm.get_contact(ids[1])
        assert len(fake.requests_to("GET /v1/contact/{id}")) == 2


class TestAppliedDeletes:
    @pytest.mark.parametrize("which", ["v1 contact", "v2 contact", "v1 tag"])
    async def test_a_retried_delete_answered_404_after_a_lost_answer_succeeds(
        self, fake: FakeHeymarket, which: str
    ) -> None:
        # The first attempt deleted it, its answer was lost; the retry is told 404: the
        # caller asked for it to be gone, and it is.
        ids = list(fake.seed(3))
        hm = client(fake)
        if which == "v1 contact":
            route, call = "DELETE /v1/contact/{id}", hm.delete_contact(ids[1])
        elif which == "v2 contact":
            uuid = fake.contacts[ids[1]]["uuid"]
            route, call = "DELETE /v2/contact/{uuid}", hm.v2.delete_contact(uuid)
        else:
            route, call = "DELETE /v1/tag/{id}", hm.delete_tag(fake.add_tag("VIP")["id"])
        fake.faults.add(route, Fault.drop_after_write(), times=1)
        assert await call is None
        assert len(fake.requests_to(route)) == 2

    async def test_a_404_at_the_first_attempt_is_still_not_found(self, fake: FakeHeymarket) -> None:
        with pytest.raises(NotFoundError):
            await client(fake).delete_contact(12345)

    async def test_attempts_counts_only_what_was_sent(self, fake: FakeHeymarket) -> None:
        ids = list(fake.seed(1))
        fake.faults.add("GET /v1/contact/{id}", Fault.status(503), times=1)
        # 60 a minute: the retry's turn is a second away, past the 50 ms deadline.
        hm = client(fake, rate_limit=60, timeout=0.05, retry=NO_WAIT)
        with pytest.raises(APITimeoutError) as info:
            await hm.get_contact(ids[0])
        assert len(fake.requests) == 1
        assert info.value.attempts == 1


class TestCloseEndsWaits:
    """close() ends at once the calls waiting to send, rather than after their wait."""

    @staticmethod
    async def ended(tasks: list[asyncio.Future[Any]]) -> list[BaseException | None]:
        _, pending = await asyncio.wait(tasks, timeout=1)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        assert not pending, f"{len(pending)} calls still waiting 1 s after close()"
        return [task.exception() for task in tasks]

    async def test_calls_waiting_for_a_rate_limit_turn(self, fake: FakeHeymarket) -> None:
        ids = list(fake.seed(5))
        hm = fake.client(rate_limit=6, timeout=None)  # one request every 10 s
        tasks = [asyncio.ensure_future(hm.get_contact(i)) for i in ids]
        for _ in range(500):
            if fake.requests:
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)  # the first is answered; the other four wait for turns
        await hm.close()
        errors = await self.ended(tasks)
        assert errors[0] is None
        assert all(isinstance(e, ClientClosedError) for e in errors[1:]), errors
        assert len(fake.requests) == 1

    async def test_calls_sleeping_before_a_retry(self, fake: FakeHeymarket) -> None:
        ids = list(fake.seed(3))
        fake.faults.add("*", Fault.rate_limited(retry_after=30))
        hm = fake.client(timeout=None)  # a Retry-After of 30 s is waited for
        tasks = [asyncio.ensure_future(hm.get_contact(i)) for i in ids]
        for _ in range(500):
            if len(fake.requests) == 3:
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        await hm.close()
        errors = await self.ended(tasks)
        assert all(isinstance(e, ClientClosedError) for e in errors), errors
        assert len(fake.requests) == 3
        # Each keeps its story: one attempt, its 429 in a note, nothing applied (a read).
        for e in errors:
            assert isinstance(e, ClientClosedError)
            assert e.attempts == 1
            assert e.maybe_applied is False
            assert any("attempt 1: 429" in note for note in e.__notes__)

    async def test_a_write_closed_before_its_retry_may_have_been_applied(
        self, fake: FakeHeymarket
    ) -> None:
        # The server applied the update, then answered 503: the retry waits 30 s, and the
        # client closes meanwhile. The error says the write may have been applied.
        (cid,) = fake.seed(1)
        fake.faults.add("PUT /v1/contact/{id}", Fault.fail_after_write(503), times=1)
        hm = fake.client(timeout=None, retry=RetryPolicy(backoff_base=30, backoff_max=30))
        install_clock(hm, sleep=lambda s: asyncio.sleep(60 if s > 1 else s))
        phone = fake.contacts[cid]["phone"]
        task = asyncio.ensure_future(hm.update_contact(cid, phone, first="Ada"))
        for _ in range(500):
            if fake.requests:
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        await hm.close()
        (error,) = await self.ended([task])
        assert isinstance(error, ClientClosedError)
        assert error.attempts == 1
        assert error.maybe_applied is True
        assert any("503" in note for note in error.__notes__)
        assert any("may have been applied" in note for note in error.__notes__)
        assert fake.contacts[cid]["first"] == "Ada"  # it was


class TestRateLimiter:
    async def test_200_concurrent_calls_stay_under_the_rate_at_the_server(
        self, fake: FakeHeymarket
    ) -> None:
        # A high rate and a short window on the real clock: 60,000 a minute is one request a
        # millisecond, so 200 calls take at least 199 ms at the server.
        ids = list(fake.seed(200))
        rate = 60_000
        interval = 60 / rate
        hm = fake.client(rate_limit=rate)
        contacts = await asyncio.gather(*(hm.get_contact(i) for i in ids))
        assert [c.id for c in contacts] == ids
        t = sorted(r.time for r in fake.requests)
        assert len(t) == 200
        # The last send can be no earlier than 199 intervals after the first; the first may
        # have reached the server a little late (loop jitter), hence the 20 ms of slack.
        assert t[-1] - t[0] >= 199 * interval - 0.020
        # In any 50 ms window: 50 intervals, +1 for the closed end, + at most one request per
        # concurrency slot sent together after a stalled loop.
        window, bound = 0.050, 50 + 1 + 16
        j = 0
        for i, start in enumerate(t):
            while j < len(t) and t[j] < start + window:
                j += 1
            assert j - i <= bound, f"{j - i} requests in {window * 1000:.0f} ms"

    async def test_a_429_storm_is_ridden_out(self, fake: FakeHeymarket) -> None:
        ids = list(fake.seed(100))
        fake.faults.add("*", Fault.rate_limited(retry_after=1), times=60)
        fast = ScaledTime()
        hm = fast.install(fake.client(rate_limit=500, timeout=None))
        contacts = await asyncio.gather(*(hm.get_contact(i) for i in ids))
        assert [c.id for c in contacts] == ids
        assert Counter(r.status for r in fake.requests) == {429: 60, 200: 100}


class TestDeadline:
    async def test_a_hanging_server_is_given_up_on_at_the_deadline(
        self, fake: FakeHeymarket
    ) -> None:
        fake.seed(1)
        fake.faults.add("GET /v1/contact/{id}", Fault.hang())
        hm = client(fake, timeout=0.05, max_retries=5)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(APITimeoutError) as info:
            await hm.get_contact(1)
        assert loop.time() - start < 0.5
        assert info.value.attempts == 1

    async def test_retries_stop_at_the_deadline(self, fake: FakeHeymarket) -> None:
        # Every answer is a 503 after 20 ms; with no wait between attempts, only the deadline
        # can end the call.
        fake.seed(1)
        fake.faults.add("*", Fault.latency(0.02))
        fake.faults.add("*", Fault.status(503))
        policy = RetryPolicy(max_retries=1000, backoff_base=0)
        hm = client(fake, timeout=0.15, retry=policy)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(HeymarketError) as info:
            await hm.get_contact(1)
        elapsed = loop.time() - start
        # Without the deadline, 1001 attempts of 20 ms: 20 s. A busy machine may add a little.
        assert 0.1 <= elapsed < 0.15 + 0.5
        attempts = info.value.attempts  # type: ignore[attr-defined]
        assert 2 <= attempts <= 8
        # The last attempt may be cut by the deadline before the server has read it.
        assert attempts - 1 <= len(fake.requests) <= attempts
