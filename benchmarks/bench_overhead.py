"""The SDK's own CPU cost, without a network: a ``MockTransport`` answers from memory.

    python benchmarks/bench_overhead.py [--calls 20000] [--pages 400] [--repeat 3]

Measures process CPU time per ``get_contact`` call (validation, pipeline, decoding,
structuring) and per contact of a v2 walk (pages of 100, ``prefetch`` 0 and 2). Loopback
benchmarks (``run.py``, ``bench_paging.py``) swing by 10-20% on a shared machine; this one
isolates the code a refactor of the pipeline, the resources or the pagers touches. Best of
``--repeat``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from heymarket_async import HeymarketClient, TransportRequest, TransportResponse
from heymarket_async.testing import MockTransport

CONTACT = {
    "id": 1,
    "uuid": "1f0e6a52-8f43-4c55-9a43-8d5ea8f5b7a1",
    "phone": "15105553344",
    "first": "Ada",
    "last": "L",
    "created": "2026-01-01T00:00:00.000Z",
    "updated": "2026-01-02T00:00:00.000Z",
    "tags": [{"tag_id": 5}],
    "custom": {"123": "x"},
}
HEADERS = {"X-Request-Id": "r-1"}


def pages(count: int) -> list[bytes]:
    """``count`` pages of 100 distinct contacts as the API sends them, then an empty one."""
    out = []
    for page in range(count):
        items = []
        for i in range(100):
            n = page * 100 + i
            updated = f"2026-01-02T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z"
            items.append({**CONTACT, "id": n + 1, "updated": updated})
        out.append(json.dumps(items).encode())
    return [*out, b"[]"]


def client(bodies: list[bytes]) -> HeymarketClient:
    one = json.dumps(CONTACT).encode()

    def handler(request: TransportRequest) -> TransportResponse:
        if request.url.endswith("/v2/contacts/list"):
            page = json.loads(request.body or b"{}")["page"]
            return TransportResponse(200, HEADERS, bodies[min(page, len(bodies) - 1)])
        return TransportResponse(200, HEADERS, one)

    return HeymarketClient("bench-key", transport=MockTransport(handler))


async def per_call(hm: HeymarketClient, calls: int) -> float:
    for _ in range(200):  # warm up
        await hm.get_contact(1)
    start = time.process_time()
    for _ in range(calls):
        await hm.get_contact(1)
    return (time.process_time() - start) / calls * 1e6


async def per_contact(hm: HeymarketClient, prefetch: int) -> float:
    n = 0
    start = time.process_time()
    async for _ in hm.v2.iter_contacts(prefetch=prefetch):
        n += 1
    return (time.process_time() - start) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    hm = client(pages(args.pages))
    rows = {"get_contact, us per call": [], "v2 walk prefetch=0, us per contact": []}
    rows["v2 walk prefetch=2, us per contact"] = []
    for _ in range(args.repeat):
        rows["get_contact, us per call"].append(await per_call(hm, args.calls))
        rows["v2 walk prefetch=0, us per contact"].append(await per_contact(hm, 0))
        rows["v2 walk prefetch=2, us per contact"].append(await per_contact(hm, 2))
    await hm.close()
    for name, values in rows.items():
        print(f"{name:<38} {min(values):8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
