"""OpenTelemetry spans (``HeymarketClient(tracer_provider=...)``), read back from the SDK's
in-memory exporter: one CLIENT span per call, one event per retry, a span per walk linked from
its pages' spans, nothing of a customer's or a credential in any of them, and nothing at all
(not even an import) without a provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the dev extra installs opentelemetry-sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from heymarket_async import (
    APIConnectionError,
    BadRequestError,
    HeymarketClient,
    Hooks,
    InvalidRequestError,
    NotFoundError,
    RequestEvent,
    RetryPolicy,
    TransportRequest,
    TransportResponse,
)
from heymarket_async.testing import FakeHeymarket, Fault, MockTransport, install_clock
from tests._fakes import FakeTime, InstantSleep

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


@pytest.fixture
async def fake() -> AsyncIterator[FakeHeymarket]:
    async with FakeHeymarket() as server:
        yield server


def spans(exporter: InMemorySpanExporter, name: str | None = None) -> list[ReadableSpan]:
    found = exporter.get_finished_spans()
    return [s for s in found if name is None or s.name == name]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def events(span: ReadableSpan) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, dict(e.attributes or {})) for e in span.events]


def server(fake: FakeHeymarket) -> dict[str, Any]:
    host, port = fake.url.removeprefix("http://").split(":")
    return {"server.address": host, "server.port": int(port)}


class TestCallSpans:
    async def test_a_success_is_one_client_span_named_by_its_route(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        ids: list[str | None] = []
        hooks = Hooks(on_response=lambda e: ids.append(e.request_id))
        hm = fake.client(tracer_provider=provider, hooks=hooks)
        await hm.get_contact(contact_id)
        (span,) = spans(exporter)
        assert span.name == "GET /v1/contact/{id}"
        assert span.kind is SpanKind.CLIENT
        assert attributes(span) == {
            "http.request.method": "GET",
            **server(fake),
            "url.full": f"{fake.url}/v1/contact/REDACTED",
            "url.template": "/v1/contact/{id}",
            "http.response.status_code": 200,
            "heymarket.request_id": ids[0],
            "heymarket.attempts": 1,
        }
        assert ids[0]
        assert span.status.status_code is StatusCode.UNSET
        assert span.events == ()
        assert span.parent is None  # no span was current: a root

    async def test_v2_ids_are_uuids_in_the_route(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        uuid = fake.store.as_json(contact_id)["uuid"]
        hm = fake.client(tracer_provider=provider)
        await hm.v2.get_contact(uuid)
        (span,) = spans(exporter)
        assert span.name == "GET /v2/contact/{uuid}"
        assert attributes(span)["url.template"] == "/v2/contact/{uuid}"
        assert attributes(span)["url.full"] == f"{fake.url}/v2/contact/REDACTED"

    async def test_a_query_keeps_its_keys_and_hides_its_values(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        hm = fake.client(tracer_provider=provider)
        await hm.update_contact(contact_id, "+1 510 555 0101", overwrite=True)
        (span,) = spans(exporter)
        assert span.name == "PUT /v1/contact/{id}"
        assert attributes(span)["url.full"] == (
            f"{fake.url}/v1/contact/REDACTED?overwrite=REDACTED"
        )

    async def test_a_call_is_a_child_of_the_callers_span_and_current_while_it_runs(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        current: list[trace.Span] = []
        hooks = Hooks(on_request=lambda e: current.append(trace.get_current_span()))
        hm = fake.client(tracer_provider=provider, hooks=hooks)
        with provider.get_tracer("app").start_as_current_span("handler") as handler:
            await hm.get_contact(contact_id)
        (span,) = spans(exporter, "GET /v1/contact/{id}")
        assert span.parent is not None
        assert span.parent.span_id == handler.get_span_context().span_id
        # What runs inside the call (hooks, the SDK's log lines) sees the call's span.
        assert current[0].get_span_context().span_id == span.context.span_id
        assert trace.get_current_span() is trace.INVALID_SPAN  # and it is detached after

    async def test_a_view_keeps_tracing(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        hm = fake.client(tracer_provider=provider)
        await hm.with_options(timeout=5).get_contact(contact_id)
        assert [s.name for s in spans(exporter)] == ["GET /v1/contact/{id}"]


class TestRetriesAndFailures:
    async def test_a_retried_call_has_one_event_per_retry_with_its_wait_and_reason(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        fake.faults.add("GET /v1/contact/{id}", Fault.status(503), on=[1])
        fake.faults.add("GET /v1/contact/{id}", Fault.drop(), on=[2])
        sleep = InstantSleep()
        hm = install_clock(fake.client(tracer_provider=provider), sleep=sleep)
        await hm.get_contact(contact_id)
        (span,) = spans(exporter)
        assert span.name == "GET /v1/contact/{id}"
        found = attributes(span)
        assert found["http.response.status_code"] == 200
        assert found["heymarket.attempts"] == 3
        assert found["http.request.resend_count"] == 2
        assert "error.type" not in found
        assert span.status.status_code is StatusCode.UNSET
        assert len(sleep.sleeps) == 2
        assert events(span) == [
            (
                "retry",
                {
                    "heymarket.retry.attempt": 1,
                    "heymarket.retry.wait_s": sleep.sleeps[0],
                    "heymarket.retry.reason": "503 Service Unavailable",
                    "error.type": "503",
                    "http.response.status_code": 503,
                },
            ),
            (
                "retry",
                {
                    "heymarket.retry.attempt": 2,
                    "heymarket.retry.wait_s": sleep.sleeps[1],
                    "heymarket.retry.reason": "APIConnectionError",
                    "error.type": "heymarket_async.errors.APIConnectionError",
                },
            ),
        ]

    async def test_a_status_without_a_name_is_given_by_its_number(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.faults.add("POST /v1/contacts", Fault.status(599), times=1)
        policy = RetryPolicy(retry_statuses={599}, backoff_base=0)
        hm = fake.client(tracer_provider=provider, retry=policy)
        await hm.list_contacts()
        ((name, event),) = events(spans(exporter)[0])
        assert (name, event["heymarket.retry.reason"], event["error.type"]) == (
            "retry",
            "599",
            "599",
        )

    async def test_a_404_is_an_error_span_with_its_status_code(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        hm = fake.client(tracer_provider=provider)
        with pytest.raises(NotFoundError):
            await hm.get_contact(987654)
        (span,) = spans(exporter)
        assert span.name == "GET /v1/contact/{id}"
        found = attributes(span)
        assert found["http.response.status_code"] == 404
        assert found["error.type"] == "404"
        assert found["heymarket.attempts"] == 1
        assert isinstance(found["heymarket.request_id"], str)
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "NotFoundError"
        assert events(span) == [
            ("exception", {"exception.type": "heymarket_async.errors.NotFoundError"})
        ]

    async def test_a_delete_whose_retry_finds_it_gone_is_a_success_with_its_404(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        (contact_id,) = fake.seed(1)
        fake.faults.add("DELETE /v1/contact/{id}", Fault.fail_after_write(503), times=1)
        hm = fake.client(tracer_provider=provider, retry=RetryPolicy(backoff_base=0))
        await hm.delete_contact(contact_id)
        (span,) = spans(exporter)
        found = attributes(span)
        assert (found["http.response.status_code"], found["heymarket.attempts"]) == (404, 2)
        assert "error.type" not in found
        assert span.status.status_code is StatusCode.UNSET
        assert [name for name, _ in events(span)] == ["retry"]

    async def test_a_failure_without_an_answer_has_the_errors_type_and_no_status_code(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.faults.add("POST /v1/contacts", Fault.drop())
        hm = fake.client(tracer_provider=provider, retry=RetryPolicy(max_retries=1))
        install_clock(hm, sleep=InstantSleep())
        with pytest.raises(APIConnectionError):
            await hm.list_contacts()
        (span,) = spans(exporter)
        found = attributes(span)
        assert "http.response.status_code" not in found
        assert found["error.type"] == "heymarket_async.errors.APIConnectionError"
        assert found["heymarket.attempts"] == 2
        assert found["http.request.resend_count"] == 1
        assert [name for name, _ in events(span)] == ["retry", "exception"]
        assert span.status.status_code is StatusCode.ERROR

    async def test_the_rate_limiters_wait_is_recorded(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.seed(1)
        time = FakeTime()
        hm = time.install(fake.client(tracer_provider=provider, rate_limit=60))  # 1 a second
        await hm.list_contacts()
        await hm.list_contacts()
        first, second = spans(exporter)
        assert attributes(first)["heymarket.rate_limit.wait_s"] == 0.0
        # A second apart, and a little more: the limiter keeps a margin under the rate.
        (waited,) = time.sleeps
        assert 1.0 <= waited < 1.1
        assert attributes(second)["heymarket.rate_limit.wait_s"] == pytest.approx(waited)

    async def test_without_a_limiter_there_is_no_wait_to_record(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        hm = fake.client(tracer_provider=provider, rate_limit=None)
        await hm.list_contacts()
        assert "heymarket.rate_limit.wait_s" not in attributes(spans(exporter)[0])


class TestWalkSpans:
    async def test_each_page_has_a_span_linked_to_the_walks(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.seed(250)
        hm = fake.client(tracer_provider=provider)
        with provider.get_tracer("app").start_as_current_span("export") as export:
            assert len([c async for c in hm.v2.iter_contacts(page_size=100)]) == 250
        pages = spans(exporter, "POST /v2/contacts/list")
        (walk,) = spans(exporter, "walk /v2/contacts/list")
        assert len(pages) == len(fake.requests_to("POST /v2/contacts/list")) >= 3
        assert walk.kind is SpanKind.INTERNAL
        assert attributes(walk) == {
            "heymarket.walk.pager": "V2ContactPager",
            "heymarket.walk.route": "/v2/contacts/list",
            "heymarket.walk.requests": len(pages),
        }
        assert walk.status.status_code is StatusCode.UNSET
        numbers = []
        for page in pages:
            assert page.kind is SpanKind.CLIENT
            assert [link.context.span_id for link in page.links] == [walk.context.span_id]
            # The pages (and the walk) are read under the caller's span, not under the walk's.
            assert page.parent is not None
            assert page.parent.span_id == export.get_span_context().span_id
            numbers.append(attributes(page)["heymarket.walk.request"])
        assert sorted(numbers) == list(range(1, len(pages) + 1))
        assert walk.parent is not None
        assert walk.parent.span_id == export.get_span_context().span_id
        assert walk.end_time is not None
        assert walk.end_time >= max(p.end_time or 0 for p in pages)

    async def test_a_sliced_walk_links_the_requests_of_every_slice(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.seed(400)
        hm = fake.client(tracer_provider=provider)
        pager = hm.v2.iter_contacts(page_size=100, slices=3)
        assert len({c.id async for c in pager}) == 400
        (walk,) = spans(exporter, "walk /v2/contacts/list")
        linked = [s for s in spans(exporter) if s.links]
        names = {s.name for s in linked}
        # The count that splits the walk, the requests that find the boundaries, the pages.
        assert names == {"POST /v1/contacts/count", "POST /v2/contacts/list"}
        assert len(linked) == len(fake.requests) == attributes(walk)["heymarket.walk.requests"]
        assert all(s.links[0].context.span_id == walk.context.span_id for s in linked)

    @pytest.mark.parametrize(
        ("walk", "name", "pager", "route"),
        [
            ("v1", "walk /v1/contacts", "V1ContactPager", "POST /v1/contacts"),
            ("offset", "walk /v2/contacts/list", "V2OffsetPager", "POST /v2/contacts/list"),
            ("tags", "walk /v1/tags", "TagPager", "POST /v1/tags"),
        ],
    )
    async def test_every_kind_of_walk_has_its_span(
        self,
        fake: FakeHeymarket,
        exporter: InMemorySpanExporter,
        provider: TracerProvider,
        walk: str,
        name: str,
        pager: str,
        route: str,
    ) -> None:
        fake.seed(70)
        for n in range(3):
            fake.add_tag(f"tag {n}")
        hm = fake.client(tracer_provider=provider)
        walks: dict[str, Any] = {
            "v1": hm.iter_contacts,
            "offset": lambda: hm.v2.iter_contacts_by_offset(page_size=50, prefetch=2),
            "tags": hm.iter_tags,
        }
        assert [item async for item in walks[walk]()]
        (walk_span,) = spans(exporter, name)
        assert attributes(walk_span)["heymarket.walk.pager"] == pager
        pages = spans(exporter, route)
        assert pages
        assert len(pages) == len(fake.requests_to(route))
        assert all(p.links[0].context.span_id == walk_span.context.span_id for p in pages)

    async def test_calls_made_between_pages_are_not_linked(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.seed(150)
        hm = fake.client(tracer_provider=provider)
        async for page in hm.v2.iter_contacts(page_size=100).pages():
            await hm.get_contact(page[0].id)
        gets = spans(exporter, "GET /v1/contact/{id}")
        assert len(gets) == 2
        assert all(not s.links for s in gets)
        assert all("heymarket.walk.request" not in attributes(s) for s in gets)

    async def test_a_walk_closed_early_ends_its_span(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.seed(300)
        hm = fake.client(tracer_provider=provider)
        async with hm.v2.iter_contacts(page_size=100) as pager:
            async for _ in pager:
                break
        (walk,) = spans(exporter, "walk /v2/contacts/list")
        assert attributes(walk)["heymarket.walk.requests"] == 1
        assert walk.status.status_code is StatusCode.UNSET

    async def test_a_walk_that_fails_is_an_error_span(
        self, fake: FakeHeymarket, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        fake.seed(150)
        fake.faults.add("POST /v2/contacts/list", Fault.status(400), on=[2])
        hm = fake.client(tracer_provider=provider)
        with pytest.raises(BadRequestError):
            async for _ in hm.v2.iter_contacts(page_size=100):
                pass
        (walk,) = spans(exporter, "walk /v2/contacts/list")
        assert walk.status.status_code is StatusCode.ERROR
        assert attributes(walk)["error.type"] == "400"
        assert attributes(walk)["heymarket.walk.requests"] == 2
        pages = spans(exporter, "POST /v2/contacts/list")
        failed = [s for s in pages if s.status.status_code is StatusCode.ERROR]
        assert [attributes(s)["error.type"] for s in failed] == ["400"]


# -- nothing of a customer's, nor a credential -------------------------------------------------

PHONES = ["+1 (510) 555-3344", "15105553344", "+44 20 7946 0958", "442079460958"]
EMAILS = ["ada.lovelace@example.com", "grace@example.org"]
SECRET_KEY = "s3cr3t-key-for-signing-0123456789"
API_KEY = "api-key-abcdef-0123456789"


def strings_of(found: Iterable[ReadableSpan]) -> Iterator[str]:
    """Every text a span carries: its name, status, and every attribute (of events and links
    too), keys and values, numbers as text."""
    for span in found:
        yield span.name
        yield span.status.description or ""
        groups = [span.attributes, *(e.attributes for e in span.events)]
        groups += [link.attributes for link in span.links]
        for event in span.events:
            yield event.name
        for group in groups:
            for key, value in (group or {}).items():
                yield key
                values = value if isinstance(value, (list, tuple)) else [value]
                yield from (str(v) for v in values)


def leaks(found: Iterable[ReadableSpan], needles: Iterable[str]) -> list[tuple[str, str]]:
    texts = list(strings_of(found))
    return [(n, t) for n in needles for t in texts if n in t]


class TestNothingOfACustomersInSpans:
    async def test_every_attribute_of_every_span_is_free_of_phones_emails_ids_and_secrets(
        self, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        needles: list[str] = [*PHONES, *EMAILS, SECRET_KEY, "eyJ"]
        async with FakeHeymarket(api_key=None, secret_id="team-7", secret_key=SECRET_KEY) as fake:
            # log_pii shows phones in log lines and errors, for debugging: never in spans.
            hm = fake.client(tracer_provider=provider, log_pii=True)
            install_clock(hm, sleep=InstantSleep())
            refs = []
            for phone, email in zip(PHONES[::2], EMAILS, strict=True):
                refs.append(await hm.create_contact(phone, email=email, first="Ada"))
            for ref in refs:
                assert ref.uuid is not None
                needles += [f"/contact/{ref.id}", ref.uuid]
                await hm.get_contact(ref.id)
                await hm.v2.get_contact(ref.uuid)
                await hm.update_contact(ref.id, PHONES[0], email=EMAILS[0], overwrite=False)
            await hm.get_contact_by_phone(PHONES[1])
            await hm.v2.search_contacts(PHONES[0], EMAILS[1])
            await hm.v2.create_contact([("phone", "+1 415 555 0199"), ("email", "x@example.net")])
            needles += ["4155550199", "555 0199", "x@example.net"]
            fake.faults.add("GET /v1/contact/{id}", Fault.status(503), times=1)
            await hm.get_contact(refs[0].id)  # retried
            for missing in (refs[0].id + 1000, refs[1].id + 2000):
                needles.append(f"/contact/{missing}")
                with pytest.raises(NotFoundError):  # its message has the id in it
                    await hm.get_contact(missing)
            missing_uuid = "0b9e4c52-8f43-4c55-9a43-8d5ea8f5b7a1"
            needles.append(missing_uuid)
            with pytest.raises(NotFoundError):
                await hm.v2.get_contact(missing_uuid)
            said = f"{PHONES[1]} or {EMAILS[0]} is taken (key {SECRET_KEY})"
            refused = json.dumps({"error": "bad_data", "message": said})
            fake.faults.add("POST /v1/contact", Fault.status(400, body=refused), times=1)
            with pytest.raises(BadRequestError):  # the server's message names them
                await hm.create_contact(PHONES[0], email=EMAILS[0])
            for ref in refs:
                await hm.delete_contact(ref.id)
            async for _ in hm.iter_contacts():
                pass
        found = spans(exporter)
        assert len(found) >= 20
        assert {s.status.status_code for s in found} == {StatusCode.UNSET, StatusCode.ERROR}
        assert any(e.name == "retry" for s in found for e in s.events)
        assert leaks(found, needles) == []

    async def test_the_request_id_is_masked_like_a_log_line_and_cut_short(
        self, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        answers = iter(["15105553344", f"id-{API_KEY}", "a" * 500, "eyJa.eyJb.sig", "r-1_ok", ""])

        def handler(request: TransportRequest) -> TransportResponse:
            answer = next(answers)
            return TransportResponse(200, {"X-Request-Id": answer} if answer else {}, b"[]")

        hm = HeymarketClient(API_KEY, transport=MockTransport(handler), tracer_provider=provider)
        for _ in range(6):
            await hm.list_contacts()
        ids = [attributes(s).get("heymarket.request_id") for s in spans(exporter)]
        assert ids == ["*********44", "id-***", "a" * 128, "***", "r-1_ok", None]
        assert leaks(spans(exporter), [API_KEY, "15105553344"]) == []

    async def test_an_error_answer_without_a_request_id_has_none(
        self, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        def handler(request: TransportRequest) -> TransportResponse:
            return TransportResponse(404, {}, b"{}")

        hm = HeymarketClient(API_KEY, transport=MockTransport(handler), tracer_provider=provider)
        with pytest.raises(NotFoundError):
            await hm.get_contact(42)
        found = attributes(spans(exporter)[0])
        assert found["error.type"] == "404"
        assert "heymarket.request_id" not in found

    def test_the_scan_finds_what_it_looks_for(
        self, exporter: InMemorySpanExporter, provider: TracerProvider
    ) -> None:
        tracer = provider.get_tracer("test")
        with tracer.start_as_current_span("GET /v1/contact/42") as span:
            span.add_event("note", {"to": "ada.lovelace@example.com"})
            span.set_attribute("n", 15105553344)
        assert leaks(spans(exporter), ["/42", EMAILS[0], "15105553344", "eyJ"]) == [
            ("/42", "GET /v1/contact/42"),
            (EMAILS[0], EMAILS[0]),
            ("15105553344", "15105553344"),
        ]


# -- off: no cost, no import ---------------------------------------------------------------------


class TestTracingOff:
    def test_a_client_without_a_provider_never_imports_opentelemetry(self) -> None:
        script = textwrap.dedent(
            """
            import asyncio, sys
            from heymarket_async import HeymarketClient
            from heymarket_async.testing import FakeHeymarket

            async def main():
                async with FakeHeymarket() as fake:
                    ids = fake.seed(120)
                    hm = fake.client()
                    await hm.get_contact(ids[0])
                    assert len([c async for c in hm.v2.iter_contacts(page_size=50)]) == 120
                    assert len([c async for c in hm.iter_contacts()]) == 120

            asyncio.run(main())
            print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
            """
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"

    def test_the_check_sees_an_import(self) -> None:
        # The same probe, in a process that does import it: the test above can fail.
        script = (
            "import sys, heymarket_async, opentelemetry.trace\n"
            "print('opentelemetry' in sys.modules)"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
        )
        assert done.stdout.strip() == "True"

    def test_the_pipeline_holds_no_tracing_by_default(self) -> None:
        hm = HeymarketClient("key-123456", base_url="http://127.0.0.1:9")
        assert hm._pipeline.tracing is None

    async def test_with_the_api_and_no_sdk_calls_work_and_record_nothing(
        self, fake: FakeHeymarket
    ) -> None:
        (contact_id,) = fake.seed(1)
        fake.faults.add("GET /v1/contact/{id}", Fault.status(503), times=1)
        events_seen: list[RequestEvent] = []
        hm = fake.client(
            tracer_provider=trace.NoOpTracerProvider(),
            hooks=Hooks(on_response=events_seen.append),
            rate_limit=6000,  # paced, and retried: every hook point with no span to record on
        )
        install_clock(hm, sleep=InstantSleep())
        assert (await hm.get_contact(contact_id)).id == contact_id
        assert len([c async for c in hm.v2.iter_contacts()]) == 1
        assert [e.status for e in events_seen][:2] == [503, 200]
        assert len(events_seen) >= 3

    def test_a_missing_extra_says_what_to_install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "opentelemetry", None)  # what "not installed" does
        with pytest.raises(ImportError, match=r"heymarket-async\[otel\]"):
            HeymarketClient("key-123456", tracer_provider=TracerProvider())

    def test_something_else_than_a_provider_is_refused(self) -> None:
        with pytest.raises(InvalidRequestError, match="tracer_provider"):
            HeymarketClient("key-123456", tracer_provider=object())  # type: ignore[arg-type]
