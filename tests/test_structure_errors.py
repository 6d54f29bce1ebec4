"""Responses that do not fit their model, met through the client: always InvalidResponseError.

The pagers catch a :class:`StructureError` to turn it into an :class:`InvalidResponseError`;
anything else the converters raised would escape the walk untyped.
"""

from __future__ import annotations

import pytest

from heymarket_async import HeymarketClient, InvalidResponseError
from tests._server import WireServer, json_reply

#: More digits than ``int()`` reads (``sys.get_int_max_str_digits()``, 4300 by default).
HUGE = "9" * 5000


class TestHugeIntegers:
    async def test_get_contact(self, client: HeymarketClient, wire: WireServer) -> None:
        wire.reply(json_reply({"id": HUGE}))
        with pytest.raises(InvalidResponseError):
            await client.get_contact(1)

    async def test_v2_walk(self, client: HeymarketClient, wire: WireServer) -> None:
        t = "2026-05-07T12:00:00Z"
        wire.reply(json_reply([{"id": 1, "updated": t}, {"id": HUGE, "updated": t}]))
        with pytest.raises(InvalidResponseError):
            async for _ in client.v2.iter_contacts(page_size=100):
                pass

    async def test_v1_walk(self, client: HeymarketClient, wire: WireServer) -> None:
        wire.reply(json_reply([{"id": 1, "updated": "2026-05-07T12:00:00Z", "rev": HUGE}]))
        with pytest.raises(InvalidResponseError):
            async for _ in client.iter_contacts():
                pass
