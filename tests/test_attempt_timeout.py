"""The default per-attempt timeout (issue 12, point 6): a read or an idempotent write that hangs
is cut off and retried within the call's deadline; a create is never cut short nor sent twice.

The emulator's ``Fault.hang()`` plays the hung request on a real socket, with attempt timeouts
of tens of milliseconds; the 10 s default itself is checked on a fake clock.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest

from heymarket_async import (
    UNSET,
    APITimeoutError,
    HeymarketClient,
    InvalidRequestError,
    RetryPolicy,
    TransportRequest,
    TransportResponse,
)
from heymarket_async._cli._args import build_parser
from heymarket_async._cli._commands import _connect
from heymarket_async._retry import READ_ATTEMPT_TIMEOUT, attempt_timeout_for
from heymarket_async._sansio import Safety, json_dumps
from heymarket_async.testing import FakeHeymarket, Fault, MockTransport, install_clock
from tests._fakes import FakeTime, InstantSleep
from tests._server import API_KEY

#: Hung attempts cut off after 30 ms, and retried at once.
FAST = RetryPolicy(read_attempt_timeout=0.03, backoff_base=0, backoff_max=0)

CONTACT = {"id": 42, "phone": "15105553344", "first": "Ada"}
REF = {"id": 7, "rev": 1}


@pytest.fixture
async def fake() -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket() as server:
        yield server


def client(fake: FakeHeymarket, **options: Any) -> HeymarketClient:
    hm = fake.client(**options)
    install_clock(hm, sleep=InstantSleep())
    return hm


def recording(sent: list[TransportRequest], answer: TransportResponse) -> MockTransport:
    def handler(request: TransportRequest) -> TransportResponse:
        sent.append(request)
        return answer

    return MockTransport(handler)


class TestHungReadsAreRetried:
    async def test_a_hung_get_is_retried_and_answers(self, fake: FakeHeymarket) -> None:
        fake.seed(3)
        fake.faults.add("GET /v1/contact/{id}", Fault.hang(), on=[1])
        hm = client(fake, retry=FAST)
        contact = await hm.get_contact(2)
        assert contact.id == 2
        assert len(fake.requests_to("GET /v1/contact/{id}")) == 2

    async def test_a_hung_v1_list_page_is_retried_and_the_walk_yields_each_contact_once(
        self, fake: FakeHeymarket
    ) -> None:
        ids = fake.seed(100)
        fake.faults.add("POST /v1/contacts", Fault.hang(), on=[2])
        hm = client(fake, retry=FAST)
        seen = [c.id async for c in hm.iter_contacts()]
        assert Counter(seen) == Counter(ids)
        assert fake.requests_to("POST /v1/contacts")[1].fault is not None

    async def test_a_v2_iter_contacts_walk_with_one_hung_page_completes(
        self, fake: FakeHeymarket
    ) -> None:
        ids = fake.seed(250)
        fake.faults.add("POST /v2/contacts/list", Fault.hang(), on=[3])
        hm = client(fake, retry=FAST)
        seen = [c.id async for c in hm.v2.iter_contacts(page_size=50)]
        assert Counter(seen) == Counter(ids)
        assert fake.requests_to("POST /v2/contacts/list")[2].fault is not None

    async def test_a_hung_idempotent_write_is_retried(self, fake: FakeHeymarket) -> None:
        (cid,) = fake.seed(1)
        phone = fake.contacts[cid]["phone"]
        fake.faults.add("PUT /v1/contact/{id}", Fault.hang(), on=[1])
        hm = client(fake, retry=FAST)
        ref = await hm.update_contact(cid, phone, first="Grace")
        assert ref.id == cid
        assert fake.contacts[cid]["first"] == "Grace"
        assert len(fake.requests_to("PUT /v1/contact/{id}")) == 2


class TestHungCreatesAreNotRetried:
    @pytest.mark.parametrize(
        ("route", "create"),
        [
            ("POST /v1/contact", lambda hm: hm.create_contact("15105550001")),
            ("POST /v2/contact", lambda hm: hm.v2.create_contact([("phone", "15105550001")])),
        ],
    )
    async def test_a_hung_create_has_the_deadline_and_is_sent_once(
        self,
        fake: FakeHeymarket,
        route: str,
        create: Callable[[HeymarketClient], Any],
    ) -> None:
        fake.faults.add(route, Fault.hang())
        # Reads would be cut off after 30 ms; the create waits for the 100 ms deadline.
        hm = client(fake, retry=FAST, timeout=0.1)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(APITimeoutError) as info:
            await create(hm)
        assert loop.time() - start >= 0.09
        assert isinstance(info.value, TimeoutError)
        assert info.value.attempts == 1
        assert info.value.maybe_applied is True
        assert "may have been applied" in str(info.value)
        assert len(fake.requests_to(route)) == 1
        assert len(fake.contacts) == 0


class TestTheDefault:
    def test_reads_and_idempotent_writes_get_ten_seconds_and_creates_none(self) -> None:
        policy = RetryPolicy()
        assert READ_ATTEMPT_TIMEOUT == policy.read_attempt_timeout == 10.0
        assert attempt_timeout_for(Safety.READ, policy, 1) == 10.0
        assert attempt_timeout_for(Safety.IDEMPOTENT, policy, 3) == 10.0
        assert attempt_timeout_for(Safety.ONCE, policy, 1) is None

    def test_the_last_attempt_allowed_has_no_attempt_timeout(self) -> None:
        # Cut short, it could only fail: it has the rest of the deadline instead.
        assert attempt_timeout_for(Safety.READ, RetryPolicy(), 4) is None
        assert attempt_timeout_for(Safety.READ, RetryPolicy.disabled(), 1) is None

    def test_every_way_of_making_a_client_has_it(self) -> None:
        for hm in (
            HeymarketClient(API_KEY),
            HeymarketClient(API_KEY, max_retries=5, timeout=None),
            HeymarketClient(API_KEY).with_options(retry=RetryPolicy(max_retries=1)),
        ):
            policy = hm._pipeline.retry
            assert attempt_timeout_for(Safety.READ, policy, 1) == 10.0
            assert attempt_timeout_for(Safety.ONCE, policy, 1) is None

    def test_evolving_a_policy_keeps_creates_without_an_attempt_timeout(self) -> None:
        # attrs.evolve passes every field again: the default must survive it as "not given".
        policy = attrs.evolve(RetryPolicy(), max_retries=5)
        assert policy.attempt_timeout is UNSET
        assert attempt_timeout_for(Safety.ONCE, policy, 1) is None
        assert policy == RetryPolicy(max_retries=5)
        assert policy != RetryPolicy(max_retries=5, attempt_timeout=10.0)

    @pytest.mark.parametrize(
        "argv",
        [
            ["export", "--api-key", "k", "--base-url", "http://127.0.0.1:9"],
            ["export", "--api-key", "k", "--max-retries", "5", "--timeout", "120"],
            ["export", "--sandbox", "3"],
        ],
    )
    async def test_the_export_command_client_has_it(self, argv: list[str]) -> None:
        args: argparse.Namespace = build_parser().parse_args(argv)
        async with _connect(args) as (hm, _):
            policy = hm._pipeline.retry
            assert attempt_timeout_for(Safety.READ, policy, 1) == 10.0
            assert attempt_timeout_for(Safety.ONCE, policy, 1) is None

    async def test_the_transport_is_given_it_within_the_deadline(self) -> None:
        sent: list[TransportRequest] = []
        answer = TransportResponse(200, {}, json_dumps(REF))
        async with HeymarketClient(API_KEY, transport=recording(sent, answer)) as hm:
            await hm.update_contact(42, "15105553344", first="Ada")
            await hm.create_contact("15105553344")
        update, create = sent
        assert update.timeout == 10.0
        assert create.timeout == pytest.approx(30.0, abs=1)  # what is left of the deadline
        async with HeymarketClient(API_KEY, transport=recording(sent, answer), timeout=None) as hm:
            await hm.create_contact("15105553344")
        assert sent[-1].timeout is None

    async def test_a_hung_read_is_retried_twice_within_the_default_deadline(self) -> None:
        # On a fake clock: every attempt hangs until its timeout ends it.
        fake = FakeTime()
        timeouts: list[float | None] = []

        def hang(request: TransportRequest) -> TransportResponse:
            timeouts.append(request.timeout)
            assert request.timeout is not None
            fake.advance(request.timeout)
            raise APITimeoutError(
                f"timed out after {request.timeout:g} s", method=request.method, url=request.url
            )

        hm = fake.install(HeymarketClient(API_KEY, transport=MockTransport(hang)))
        start = fake.now
        async with hm:
            with pytest.raises(APITimeoutError) as info:
                await hm.get_contact(42)
        assert timeouts[:2] == [10.0, 10.0]
        assert len(timeouts) == 3
        assert timeouts[2] == pytest.approx(10.0 - sum(fake.sleeps))  # capped by the deadline
        assert info.value.attempts == 3
        assert fake.now - start == pytest.approx(30.0)


class TestOverrides:
    async def test_attempt_timeout_none_turns_it_off(self, fake: FakeHeymarket) -> None:
        policy = attrs.evolve(FAST, attempt_timeout=None)
        assert attempt_timeout_for(Safety.READ, policy, 1) is None
        assert attempt_timeout_for(Safety.READ, RetryPolicy(attempt_timeout=None), 1) is None
        fake.seed(1)
        fake.faults.add("GET /v1/contact/{id}", Fault.hang(), on=[1])
        hm = client(fake, retry=policy, timeout=0.1)
        with pytest.raises(APITimeoutError) as info:
            await hm.get_contact(1)
        assert info.value.attempts == 1  # held to the 100 ms deadline, not cut at 30 ms
        assert len(fake.requests_to("GET /v1/contact/{id}")) == 1

    def test_read_attempt_timeout_none_turns_it_off_for_reads(self) -> None:
        policy = RetryPolicy(read_attempt_timeout=None)
        assert attempt_timeout_for(Safety.READ, policy, 1) is None
        assert attempt_timeout_for(Safety.IDEMPOTENT, policy, 1) is None

    def test_a_given_attempt_timeout_is_for_every_attempt_creates_included(self) -> None:
        policy = RetryPolicy(attempt_timeout=3, read_attempt_timeout=20)
        for safety in Safety:
            assert attempt_timeout_for(safety, policy, 1) == 3
            assert attempt_timeout_for(safety, policy, 4) == 3

    @pytest.mark.parametrize(
        "value",
        [0, -1, float("inf"), float("nan"), "5", True, pytest.param(10**400, id="10**400")],
    )
    def test_read_attempt_timeout_rejects_nonsense(self, value: object) -> None:
        with pytest.raises(InvalidRequestError, match="read_attempt_timeout"):
            RetryPolicy(read_attempt_timeout=value)  # type: ignore[arg-type]


class TestTheDeadlineCapsTheAttempt:
    async def test_a_view_with_a_shorter_timeout_caps_the_attempt(self) -> None:
        sent: list[TransportRequest] = []
        answer = TransportResponse(200, {}, json_dumps(CONTACT))
        async with HeymarketClient(API_KEY, transport=recording(sent, answer)) as hm:
            await hm.with_options(timeout=4).get_contact(42)
            await hm.with_options(timeout=60).get_contact(42)
        short, long = (request.timeout for request in sent)
        assert short is not None
        assert 3.9 < short <= 4
        assert long == 10.0

    async def test_a_hung_read_in_a_view_is_retried_within_its_deadline(
        self, fake: FakeHeymarket
    ) -> None:
        fake.seed(1)
        fake.faults.add("GET /v1/contact/{id}", Fault.hang(), on=[1, 3])
        hm = client(fake, retry=FAST)
        assert (await hm.with_options(timeout=1).get_contact(1)).id == 1
        # A deadline shorter than the attempt timeout ends the hung attempt, and the call.
        with pytest.raises(APITimeoutError) as info:
            await hm.with_options(timeout=0.01).get_contact(1)
        assert info.value.attempts == 1
        assert "deadline" in getattr(info.value, "__notes__", [""])[-1]
        assert len(fake.requests_to("GET /v1/contact/{id}")) == 3
