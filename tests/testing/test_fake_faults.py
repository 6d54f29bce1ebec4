"""Scripted faults: the rules (which requests) and each kind over loopback (what happens)."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
import pytest
from _fake_http import Raw

from heymarket_async import (
    APIConnectionError,
    APITimeoutError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from heymarket_async.testing import ROUTES, FakeHeymarket, Fault, FaultKind, Faults

NO_RETRY = RetryPolicy.disabled()


def fired(faults: Faults, route: str, numbers: range, path: str | None = None) -> list[int]:
    out = []
    for n in numbers:
        _, chosen = faults.pick(route, path or route, n, n)
        if chosen is not None:
            out.append(n)
    return out


class TestRules:
    def test_on_picks_request_numbers(self) -> None:
        faults = Faults()
        faults.add("POST /v1/contacts", Fault.status(503), on=[2, 5])
        assert fired(faults, "POST /v1/contacts", range(1, 8)) == [2, 5]
        assert fired(faults, "POST /v1/contact", range(1, 8)) == []

    def test_times_every_and_both(self) -> None:
        faults = Faults()
        rule = faults.add("*", Fault.drop(), times=2)
        assert fired(faults, "GET /v1/contact/{id}", range(1, 6)) == [1, 2]
        assert rule.fired == 2
        faults.clear()
        faults.add("*", Fault.drop(), every=3)
        assert fired(faults, "POST /v1/contacts", range(1, 10)) == [3, 6, 9]
        faults.clear()
        faults.add("*", Fault.drop(), every=2, times=2)
        assert fired(faults, "POST /v1/contacts", range(1, 10)) == [2, 4]

    def test_probability_is_reproducible_with_a_seed(self) -> None:
        def run(seed: int) -> list[int]:
            faults = Faults()
            faults.add("*", Fault.drop(), probability=0.3, seed=seed)
            return fired(faults, "POST /v1/contacts", range(1, 201))

        assert run(1) == run(1)
        assert run(1) != run(2)
        assert 30 < len(run(1)) < 90

    def test_a_concrete_path_matches_only_that_contact(self) -> None:
        faults = Faults()
        faults.add("GET /v1/contact/42", Fault.status(500))
        route = "GET /v1/contact/{id}"
        assert fired(faults, route, range(1, 3), "/v1/contact/42") == []
        assert fired(faults, route, range(1, 3), "GET /v1/contact/42") == [1, 2]

    def test_latency_rules_stack_and_the_first_other_rule_wins(self) -> None:
        faults = Faults()
        faults.add("*", Fault.latency(0.1))
        faults.add("*", Fault.status(502))
        faults.add("*", Fault.latency(0.2))
        faults.add("*", Fault.status(503))
        delays, chosen = faults.pick("POST /v1/contacts", "/v1/contacts", 1, 1)
        assert [d.seconds for d in delays] == [0.1, 0.2]
        assert chosen == Fault.status(502)

    @pytest.mark.parametrize("route", ["POST /v1/nothing/{x}", "FETCH /v1/contacts", "contacts"])
    def test_unknown_routes_are_rejected(self, route: str) -> None:
        with pytest.raises(ValueError, match="unknown route"):
            Faults().add(route, Fault.drop())

    def test_every_documented_route_is_accepted(self) -> None:
        faults = Faults()
        for route in ROUTES:
            faults.add(route, Fault.drop())
        assert len(faults.rules) == len(ROUTES)

    @pytest.mark.parametrize(
        "kwargs", [{"probability": 1.5}, {"times": 0}, {"every": 0}, {"probability": -0.1}]
    )
    def test_bad_conditions_are_rejected(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError, match="must be"):
            Faults().add("*", Fault.drop(), **kwargs)  # type: ignore[arg-type]

    def test_bad_faults_are_rejected(self) -> None:
        with pytest.raises(ValueError, match="4xx or 5xx"):
            Fault.status(200)
        with pytest.raises(ValueError, match=">= 0"):
            Fault.latency(-1)

    def test_error_bodies(self) -> None:
        assert Fault.status(503).error_body("Service Unavailable") == (
            b'{"error":"service_unavailable","message":"injected fault: 503 Service Unavailable"}',
            "application/json",
        )
        html, kind = Fault.status(502, body="html").error_body("Bad Gateway")
        assert kind == "text/html"
        assert html.startswith(b"<html>")
        assert b"502 Bad Gateway" in html
        assert Fault.status(500, body="empty").error_body("x") == (b"", "text/plain")
        assert Fault.status(500, body="oops").error_body("x") == (b"oops", "text/plain")
        assert Fault.rate_limited(retry_after=2.5).retry_after == "2.5"
        assert Fault.rate_limited(retry_after=3).retry_after == "3"
        http_date = "Wed, 21 Oct 2026 07:28:00 GMT"
        assert Fault.rate_limited(retry_after=http_date).retry_after == http_date
        assert Fault.fail_after_write().kind is FaultKind.FAIL_AFTER_WRITE


class TestStatusFaults:
    @pytest.mark.parametrize(
        ("fault", "content_type", "start"),
        [
            (Fault.status(500), "application/json", b'{"error":"internal_server_error"'),
            (Fault.status(502, body="html"), "text/html", b"<html>"),
            (Fault.status(503, body="empty"), "text/plain", b""),
        ],
    )
    async def test_5xx_bodies(
        self, raw: Raw, fake: FakeHeymarket, fault: Fault, content_type: str, start: bytes
    ) -> None:
        fake.faults.add("POST /v1/contacts", fault, on=[2])
        assert (await raw("POST", "/v1/contacts", {})).status == 200
        answer = await raw("POST", "/v1/contacts", {})
        assert answer.status == fault.code
        assert answer.headers["Content-Type"].startswith(content_type)
        assert answer.body.startswith(start)
        assert answer.headers["X-Request-Id"]
        assert (await raw("POST", "/v1/contacts", {})).status == 200
        assert [r.status for r in fake.requests] == [200, fault.code, 200]
        assert fake.requests[1].fault == fault

    @pytest.mark.parametrize("code", [499, 520, 599])
    @pytest.mark.parametrize("body", ["json", "html"])
    async def test_a_code_http_does_not_name_is_answered_as_is(
        self, raw: Raw, fake: FakeHeymarket, code: int, body: str
    ) -> None:
        fake.faults.add("POST /v1/contacts/count", Fault.status(code, body=body))
        answer = await raw("POST", "/v1/contacts/count", {})
        assert answer.status == code
        assert f"{code} Unknown Status".encode() in answer.body
        assert fake.requests[0].status == code

    async def test_status_faults_do_not_write(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.faults.add("POST /v1/contact", Fault.status(500))
        assert (await raw("POST", "/v1/contact", {"phone": "15105553344"})).status == 500
        assert len(fake.contacts) == 0

    async def test_429_with_and_without_retry_after(self, fake: FakeHeymarket) -> None:
        fake.faults.add("*", Fault.rate_limited(retry_after=7), on=[1])
        fake.faults.add("*", Fault.rate_limited(), on=[2])
        async with fake.client(retry=NO_RETRY) as hm:
            with pytest.raises(RateLimitError) as with_header:
                await hm.count_contacts()
            with pytest.raises(RateLimitError) as without:
                await hm.count_contacts()
            assert await hm.count_contacts() == 0
        assert with_header.value.retry_after == 7.0
        assert without.value.retry_after is None

    async def test_the_client_retries_a_read_through_a_503(self, fake: FakeHeymarket) -> None:
        fake.faults.add("POST /v1/contacts/count", Fault.status(503, body="html"), times=2)
        policy = RetryPolicy(max_retries=3, backoff_base=0.0)
        async with fake.client(retry=policy) as hm:
            assert await hm.count_contacts() == 0
        assert [r.status for r in fake.requests] == [503, 503, 200]

    async def test_a_concrete_path_fault_fires_over_loopback(self, fake: FakeHeymarket) -> None:
        fake.add_contact(id=42, phone="15105553344")
        fake.add_contact(id=43, phone="15105553345")
        fake.faults.add("GET /v1/contact/42", Fault.status(500))
        async with fake.client(retry=NO_RETRY) as hm:
            assert (await hm.get_contact(43)).id == 43
            with pytest.raises(ServerError):
                await hm.get_contact(42)
            await hm.delete_contact(42)  # the same path, another method: no fault
        assert [r.status for r in fake.requests] == [200, 500, 200]


class TestConnectionFaults:
    async def test_drop_closes_the_connection_without_writing(
        self, fake: FakeHeymarket, caplog: pytest.LogCaptureFixture
    ) -> None:
        fake.faults.add("POST /v1/contact", Fault.drop(), times=1)
        async with fake.client(retry=NO_RETRY) as hm:
            with caplog.at_level(logging.ERROR), pytest.raises(APIConnectionError):
                await hm.create_contact("15105553344")
            assert len(fake.contacts) == 0
            ref = await hm.create_contact("15105553344")
        assert ref.id == 1
        assert fake.requests[0].status is None
        assert fake.in_flight == 0
        assert not [r for r in caplog.records if r.name.startswith("aiohttp")]

    async def test_fail_after_write_applies_the_create(self, fake: FakeHeymarket) -> None:
        fake.faults.add("POST /v1/contact", Fault.fail_after_write(), times=1)
        async with fake.client() as hm:
            with pytest.raises(ServerError) as info:
                await hm.create_contact("15105553344")
        assert info.value.status == 500
        assert "may have been applied" in str(info.value)
        assert len(fake.contacts) == 1, "the create happened; the client must not repeat it"
        assert len(fake.requests) == 1

    @pytest.mark.parametrize("fault", [Fault.fail_after_write(520), Fault.not_json(599)])
    async def test_after_write_faults_with_a_code_http_does_not_name(
        self, raw: Raw, fake: FakeHeymarket, fault: Fault
    ) -> None:
        fake.faults.add("POST /v1/contact", fault)
        answer = await raw("POST", "/v1/contact", {"phone": "15105553344"})
        assert answer.status == fault.code
        assert len(fake.contacts) == 1, "the handler ran"
        assert fake.requests[0].status == fault.code

    async def test_drop_after_write_applies_the_create(self, fake: FakeHeymarket) -> None:
        # A POST: aiohttp itself re-sends an idempotent method (PUT, DELETE) once after a
        # dropped connection, which would hide the fault from this test.
        fake.faults.add("POST /v1/contact", Fault.drop_after_write(), times=1)
        async with fake.client(retry=NO_RETRY) as hm:
            with pytest.raises(APIConnectionError) as info:
                await hm.create_contact("15105553344", first="New")
        assert info.value.maybe_applied
        assert [c["first"] for c in fake.contacts.values()] == ["New"]
        assert fake.requests[0].status is None

    async def test_truncated_body(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.seed(30)
        fake.faults.add("POST /v1/contacts", Fault.truncated())
        with pytest.raises(aiohttp.ClientPayloadError):
            await raw("POST", "/v1/contacts", {})
        async with fake.client(retry=NO_RETRY) as hm:
            with pytest.raises(APIConnectionError):
                await hm.list_contacts()

    async def test_not_json_body(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.faults.add("POST /v1/contact", Fault.not_json())
        fake.faults.add("POST /v1/contacts/count", Fault.not_json(status=500))
        answer = await raw("POST", "/v1/contact", {"phone": "15105553344"})
        assert answer.status == 200
        assert answer.body.startswith(b"<html>")
        assert len(fake.contacts) == 1, "the handler ran"
        async with fake.client(retry=NO_RETRY) as hm:
            with pytest.raises(ServerError) as info:
                await hm.count_contacts()
        assert info.value.text.startswith("<html>")

    async def test_hang_until_the_client_gives_up(self, fake: FakeHeymarket) -> None:
        fake.faults.add("POST /v1/contacts/count", Fault.hang(), times=1)
        async with fake.client(retry=NO_RETRY, timeout=0.05) as hm:
            with pytest.raises(APITimeoutError):
                await hm.count_contacts()
            assert fake.in_flight == 1, "the server side still waits"
            assert await hm.count_contacts() == 0
        started = time.monotonic()
        await fake.close()
        assert time.monotonic() - started < 1.0
        assert fake.in_flight == 0


class TestLatency:
    async def test_latency_fault_delays_the_answer(self, raw: Raw, fake: FakeHeymarket) -> None:
        fake.faults.add("POST /v1/contacts/count", Fault.latency(0.02), on=[1])
        started = time.monotonic()
        assert (await raw("POST", "/v1/contacts/count", {})).status == 200
        assert time.monotonic() - started >= 0.02
        assert fake.requests[0].fault is None, "latency alone is not a fault of the answer"

    async def test_global_latency(self) -> None:
        async with FakeHeymarket(latency=0.01) as fake, fake.client() as hm:
            started = time.monotonic()
            await asyncio.gather(*(hm.count_contacts() for _ in range(3)))
            elapsed = time.monotonic() - started
        assert 0.01 <= elapsed < 0.5
