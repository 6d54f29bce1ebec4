"""How fast the emulator seeds and serves: ``python benchmarks/emulator_bench.py [n]``.

Seeds n contacts (default 1,000,000), then walks ``POST /v1/contacts`` pages over loopback
with a raw aiohttp session and reports the server CPU per page (``time.process_time`` around
the endpoint, recorded by the fake as ``RecordedRequest.handler_cpu``), cold (first render of
each contact) and warm (the same pages again, from the render cache).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import aiohttp

from heymarket_async.testing import FakeHeymarket


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label}: {len(values)} pages, median {statistics.median(values) * 1e6:.0f} us, "
        f"p99 {p99 * 1e6:.0f} us, max {ordered[-1] * 1e6:.0f} us of server CPU per page"
    )


async def walk(
    fake: FakeHeymarket, session: aiohttp.ClientSession, pages: int, route: str
) -> list[float]:
    headers = {"Authorization": "Bearer test", "Content-Type": "application/json"}
    body: dict[str, object] = {}
    first = len(fake.requests)
    for page in range(pages):
        if route == "v1":
            url = fake.url + "/v1/contacts"
        else:
            url = fake.url + "/v2/contacts/list"
            body = {"limit": 100, "page": page, "ascending": True}
        async with session.post(url, data=json.dumps(body), headers=headers) as resp:
            data = json.loads(await resp.read())
        if route == "v1":
            body = {"date": data[-1]["updated"]}
    return [r.handler_cpu for r in list(fake.requests)[first:]]


async def main(n: int) -> None:
    async with FakeHeymarket(record_limit=None) as fake:
        started = time.perf_counter()
        cpu = time.process_time()
        fake.seed(n)
        print(
            f"seed({n:,}): {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() - cpu:.2f} s CPU"
        )
        async with aiohttp.ClientSession() as session:
            print(summary("v1 cold", await walk(fake, session, 300, "v1")))
            print(summary("v1 warm", await walk(fake, session, 300, "v1")))
            print(summary("v2 (limit 100, ascending) cold", await walk(fake, session, 100, "v2")))
            headers = {"Authorization": "Bearer test", "Content-Type": "application/json"}
            first = len(fake.requests)
            for contact_id in range(1, n, max(1, n // 300)):
                url = f"{fake.url}/v1/contact/{contact_id}"
                body = json.dumps({"phone": fake.contacts[contact_id]["phone"], "first": "X"})
                async with session.put(url, data=body, headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
            writes = [r.handler_cpu for r in list(fake.requests)[first:]]
            print(summary("v1 update (index move)", writes).replace("per page", "per write"))
            started = time.perf_counter()
            pages = 2000
            await walk(fake, session, pages, "v1")
            elapsed = time.perf_counter() - started
            print(f"v1 walk over loopback: {pages / elapsed:.0f} pages/s ({pages} pages)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
