"""The SDK's own CPU cost, without a network: a ``MockTransport`` answers from memory.

    python benchmarks/bench_overhead.py [--calls 20000] [--pages 400] [--repeat 3]

Measures process CPU time per ``get_contact`` call (validation, pipeline, decoding,
structuring) and per contact of a v2 walk (pages of 100: the keyset walk, and the offset walk
with ``prefetch`` 0 and 2; the handler answers ``date``, ``page`` and ``limit`` from a sorted
list of pre-rendered contacts). Loopback
benchmarks (``run.py``, ``bench_paging.py``) swing by 10-20% on a shared machine; this one
isolates the code a refactor of the pipeline, the resources or the pagers touches. Best of
``--repeat``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import time
from typing import Any

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


def contacts(count: int) -> tuple[list[str], list[bytes]]:
    """``count`` distinct contacts as the API sends them, oldest first: their ``updated`` texts
    and their JSON bytes."""
    times, bodies = [], []
    for n in range(count):
        updated = f"2026-01-02T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z"
        times.append(updated)
        bodies.append(json.dumps({**CONTACT, "id": n + 1, "updated": updated}).encode())
    return times, bodies


def client(times: list[str], bodies: list[bytes]) -> HeymarketClient:
    one = json.dumps(CONTACT).encode()

    def handler(request: TransportRequest) -> TransportResponse:
        if request.url.endswith("/v2/contacts/list"):
            body = json.loads(request.body or b"{}")
            date = body.get("date")
            start = 0 if date is None else bisect.bisect_right(times, date)
            start += body["page"] * body["limit"]
            page = bodies[start : start + body["limit"]]
            return TransportResponse(200, HEADERS, b"[" + b",".join(page) + b"]")
        return TransportResponse(200, HEADERS, one)

    return HeymarketClient("bench-key", transport=MockTransport(handler))


async def per_call(hm: HeymarketClient, calls: int) -> float:
    for _ in range(200):  # warm up
        await hm.get_contact(1)
    start = time.process_time()
    for _ in range(calls):
        await hm.get_contact(1)
    return (time.process_time() - start) / calls * 1e6


async def per_contact(hm: HeymarketClient, prefetch: int | None) -> float:
    """CPU per contact of the keyset walk (``prefetch=None``) or the offset walk."""
    n = 0
    if prefetch is None:
        pager: Any = hm.v2.iter_contacts()
    else:
        pager = hm.v2.iter_contacts_by_offset(prefetch=prefetch)
    start = time.process_time()
    async for _ in pager:
        n += 1
    return (time.process_time() - start) / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    hm = client(*contacts(args.pages * 100))
    walks: dict[str, int | None] = {"keyset": None, "offset prefetch=0": 0}
    walks["offset prefetch=2"] = 2
    rows: dict[str, list[float]] = {"get_contact, us per call": []}
    for name in walks:
        rows[f"v2 walk {name}, us per contact"] = []
    for _ in range(args.repeat):
        rows["get_contact, us per call"].append(await per_call(hm, args.calls))
        for name, prefetch in walks.items():
            rows[f"v2 walk {name}, us per contact"].append(await per_contact(hm, prefetch))
    await hm.close()
    for name, values in rows.items():
        print(f"{name:<44} {min(values):8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
