"""The input of the bulk calls (issue 14): an endless iterable is refused, not read to a
``MemoryError``, and checking many items lets the event loop run in between.

The loop is shown to run by a task that counts its turns, not by a timing (timings are in
``benchmarks/bench_validate.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from heymarket_async import HeymarketClient, InvalidRequestError
from heymarket_async import _validate as check
from tests import _docs
from tests._server import WireServer

Call = Callable[[HeymarketClient, list[Any]], Awaitable[object]]

V1_ITEM = {"phone": "15105553344", "first": "Ada"}
V2_ITEM = {"channels": [("phone", "15105553344")], "first": "Ada"}

CALLS: list[tuple[Call, object, Any]] = [
    (lambda hm, items: hm.batch_create_contacts(items), V1_ITEM, {"phone": "12"}),
    (lambda hm, items: hm.v2.upsert_contacts(items), V2_ITEM, {"uuid": 5}),
    (lambda hm, items: hm.v2.delete_contacts(items), _docs.DOCS_UUID, "nope"),
]


async def _turns_while(work: Awaitable[object]) -> int:
    """How many turns another task got while ``work`` ran to its InvalidRequestError."""
    turns = 0

    async def count() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    counter = asyncio.ensure_future(count())
    await asyncio.sleep(0)  # let it start
    start = turns
    try:
        with pytest.raises(InvalidRequestError):
            await work
        return turns - start
    finally:
        counter.cancel()
        await asyncio.gather(counter, return_exceptions=True)


class TestTheLoopRunsWhileItemsAreChecked:
    @pytest.mark.parametrize(("call", "good", "bad"), CALLS)
    async def test_other_tasks_run_between_chunks(
        self, wire: WireServer, client: HeymarketClient, call: Call, good: object, bad: object
    ) -> None:
        # The bad item is last: every item is checked before the call raises, and nothing is
        # sent. Checked in one go (as before), no other task ran at all.
        items = [good] * (5 * check.CHECK_CHUNK) + [bad]
        assert await _turns_while(call(client, items)) >= 5
        assert wire.requests == []

    async def test_a_small_call_does_not_yield_needlessly(
        self, wire: WireServer, client: HeymarketClient
    ) -> None:
        assert await _turns_while(client.v2.upsert_contacts([V2_ITEM, {"uuid": 5}])) == 0


def _endless(item: object) -> Iterator[object]:
    """Endless as far as the SDK can tell; fails the test (rather than filling the memory) if
    read past twice the maximum."""
    for _ in range(2 * check.MAX_BULK_ITEMS):
        yield item
    raise AssertionError("read 2,000,000 items of an endless iterable")


class TestEndlessInput:
    @pytest.mark.parametrize(("call", "good", "bad"), CALLS)
    async def test_is_refused_and_nothing_is_sent(
        self, wire: WireServer, client: HeymarketClient, call: Call, good: object, bad: object
    ) -> None:
        endless: Any = _endless(good)
        with pytest.raises(InvalidRequestError, match="1,000,000"):
            await call(client, endless)
        assert wire.requests == []
