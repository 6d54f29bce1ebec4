"""What OpenTelemetry tracing costs per call, without a network: a ``MockTransport`` answers.

    python benchmarks/bench_otel.py [--calls 20000] [--pages 100] [--repeat 5]

Needs the ``otel`` extra and opentelemetry-sdk (the dev extra). Measures process CPU time per
``get_contact`` call and per contact of a v2 keyset walk (pages of 100), best of ``--repeat``,
for a client:

- without ``tracer_provider`` (tracing off: the pipeline checks one attribute);
- with the API's provider and no SDK configured (``opentelemetry.trace.get_tracer_provider()``
  in a process that never set one: spans that record nothing);
- with the SDK sampling nothing (``ALWAYS_OFF``);
- with the SDK recording every span into an ``InMemorySpanExporter`` through a
  ``SimpleSpanProcessor`` (the span is built, ended and exported inline).

The last line is the overhead per call of tracing enabled with the in-memory exporter: its
row minus the first; the SDK's own cost for such a span, made alone, is printed beside it.
docs/guides/tracing.md quotes them.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from heymarket_async import HeymarketClient, TransportRequest, TransportResponse
from heymarket_async.testing import MockTransport

# The contacts are bench_overhead's own.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_overhead import CONTACT, HEADERS, contacts


def client(
    times: list[str], bodies: list[bytes], provider: trace.TracerProvider | None
) -> HeymarketClient:
    """bench_overhead's client (the same answers from memory), with ``provider``."""
    one = json.dumps(CONTACT).encode()

    def handler(request: TransportRequest) -> TransportResponse:
        if request.url.endswith("/v2/contacts/list"):
            body = json.loads(request.body or b"{}")
            date = body.get("date")
            start = 0 if date is None else bisect.bisect_right(times, date)
            page = bodies[start : start + body["limit"]]
            return TransportResponse(200, HEADERS, b"[" + b",".join(page) + b"]")
        return TransportResponse(200, HEADERS, one)

    return HeymarketClient("bench-key", transport=MockTransport(handler), tracer_provider=provider)


async def per_call(hm: HeymarketClient, calls: int, after: Callable[[], None]) -> float:
    for _ in range(200):  # warm up
        await hm.get_contact(1)
    after()
    gc.collect()
    start = time.process_time()
    for i in range(calls):
        await hm.get_contact(1)
        if i % 1000 == 999:
            # An exporter sends spans away: kept by the thousand, they would only make the
            # garbage collector's passes longer.
            after()
    elapsed = time.process_time() - start
    after()
    return elapsed / calls * 1e6


def bare_span(provider: trace.TracerProvider, calls: int, after: Callable[[], None]) -> float:
    """The SDK's own cost for a span like a call's: started with the same attributes, made
    current, given the same last ones, ended and exported (no SDK call around it)."""
    tracer = provider.get_tracer("bench")
    first = {
        "http.request.method": "GET",
        "server.address": "api.heymarket.com",
        "server.port": 443,
        "url.full": "https://api.heymarket.com/v1/contact/REDACTED",
        "url.template": "/v1/contact/{id}",
    }
    last = {"http.response.status_code": 200, "heymarket.request_id": "r-1"}
    gc.collect()
    start = time.process_time()
    for i in range(calls):
        span = tracer.start_span(
            "GET /v1/contact/{id}", kind=trace.SpanKind.CLIENT, attributes=first
        )
        token = context.attach(trace.set_span_in_context(span))
        span.set_attributes({**last, "heymarket.attempts": 1})
        context.detach(token)
        span.end()
        if i % 1000 == 999:
            after()
    elapsed = time.process_time() - start
    after()
    return elapsed / calls * 1e6


async def per_contact(hm: HeymarketClient, after: Callable[[], None]) -> float:
    gc.collect()
    n = 0
    start = time.process_time()
    async for _ in hm.v2.iter_contacts():
        n += 1
    elapsed = time.process_time() - start
    after()
    return elapsed / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = contacts(args.pages * 100)
    exporter = InMemorySpanExporter()
    recording = TracerProvider()
    recording.add_span_processor(SimpleSpanProcessor(exporter))
    providers: dict[str, Any] = {
        "off": None,
        "API only, no SDK": trace.get_tracer_provider(),
        "SDK, sampled out": TracerProvider(sampler=ALWAYS_OFF),
        "SDK, in-memory exporter": recording,
    }
    clients = {name: client(*data, provider) for name, provider in providers.items()}
    calls: dict[str, list[float]] = {name: [] for name in clients}
    bare: list[float] = []
    walks: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(args.repeat):
        # Interleaved, so that a slow spell of a shared machine hits every row alike.
        for name, hm in clients.items():
            calls[name].append(await per_call(hm, args.calls, exporter.clear))
            walks[name].append(await per_contact(hm, exporter.clear))
        bare.append(bare_span(recording, args.calls, exporter.clear))
    for hm in clients.values():
        await hm.close()
    for name in clients:
        print(f"get_contact, {name + ',':<26} us per call    {min(calls[name]):8.2f}")
    for name in clients:
        print(f"v2 walk, {name + ',':<31} us per contact {min(walks[name]):8.2f}")
    extra = min(calls["SDK, in-memory exporter"]) - min(calls["off"])
    print(f"tracing with the in-memory exporter costs {extra:.1f} us per call")
    print(f"  of which the SDK's own span (made alone, same attributes): {min(bare):.1f} us")


if __name__ == "__main__":
    asyncio.run(main())
