"""Where a typed contact's client time goes, per contact, and how low it can go in CPython.

    python benchmarks/bench_structure.py [--contacts 300] [--plain-us 3.9] [--server-us 2]

Reads pages of 30 of the emulator's contacts (as a v1 walk gets them), then times, per contact:

- decoding the page: stdlib ``json.loads``, and ``orjson.loads`` when installed;
- ``structure_contact``: the SDK's typed, checked ``Contact`` (and the same contacts with two
  keys the SDK has no field for, which it keeps in ``Contact.extra``);
- two floors that check nothing: an unchecked ``Contact`` built the fastest way we know (the
  26 values read at C speed, the slot builder, its channels, tags and timestamps made without
  a single test), and the bare cost of filling the 27 slots (26 and ``extra``) with constants.

Then the budget the v1 paging target leaves: a walk at ``r`` times the speed of a plain loop
that spends ``--plain-us`` of client CPU per contact, with ``--server-us`` of emulator time
between pages, can add ``(plain + server) * (1/r - 1)`` us per contact for paging and
structuring together (take both from ``bench_paging.py``: its plain-v1 "client CPU" column,
and its wall time per contact minus that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import timeit
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp

from heymarket_async import Contact
from heymarket_async import _convert as convert
from heymarket_async._sansio import json_loads, std_json_loads
from heymarket_async.models import _NO_EXTRA, Tag
from heymarket_async.testing import FakeHeymarket

_fromisoformat = datetime.fromisoformat


async def fetch_pages(contacts: int) -> list[bytes]:
    """The emulator's v1 pages as the wire carries them."""
    pages = []
    async with FakeHeymarket(api_key="test") as fake:
        fake.seed(contacts)
        async with aiohttp.ClientSession() as session:
            body: dict[str, Any] = {}
            while True:
                async with session.post(
                    f"{fake.url}/v1/contacts", json=body, headers={"Authorization": "Bearer test"}
                ) as resp:
                    raw = await resp.read()
                page = json.loads(raw)
                pages.append(raw)
                if len(page) < 30:
                    return pages
                body = {"date": page[-1]["updated"]}


#: Where ``note`` is among the builder's values (fields added before it move it).
_NOTE = convert._CONTACT_KEYS.index("note")


def unchecked_contact(data: dict[str, Any]) -> Contact:
    """The cheapest eager Contact: no type test, no tolerance. A floor, not a model.

    Tags are shared instances, as the SDK's own (``_TAG_CACHE``) are.
    """
    values = list(convert._contact_values({**convert._NONES, **data}))
    values[7] = dict(values[7] or {})
    tags = convert._TAG_CACHE
    values[8] = tuple([tags.get(t["tag_id"]) or Tag(id=t["tag_id"]) for t in values[8] or ()])
    build_channel = convert._build_channel
    values[9] = tuple([build_channel(c["channel_type"], c["channel_id"]) for c in values[9] or ()])
    values[13] = _fromisoformat(values[13])
    values[14] = _fromisoformat(values[14])
    values[_NOTE] = ()
    values.append(_NO_EXTRA)
    return convert._build_contact(*values)


def per_contact(fn: Callable[[], object], count: int, seconds: float = 0.5) -> float:
    """Microseconds per contact of ``fn``, which handles ``count`` contacts a call (best of 5)."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * seconds / 0.2))
    return min(timer.repeat(5, number)) / number / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--plain-us", type=float, default=3.9, help="plain loop CPU us/contact")
    parser.add_argument("--server-us", type=float, default=2.0, help="emulator us/contact")
    parser.add_argument("--ratio", type=float, default=0.85, help="the target walk/plain")
    args = parser.parse_args()

    raws = asyncio.run(fetch_pages(args.contacts))
    pages = [json_loads(raw) for raw in raws]
    flat = [c for page in pages for c in page]
    n = len(flat)
    # The floor builds the same contacts as the SDK, or it would measure something else.
    assert list(map(unchecked_contact, flat)) == list(map(convert.structure_contact, flat))
    constants = tuple(range(len(convert._CONTACT_KEYS) + 1))
    # As a newer API might send them: two keys the SDK has no field for.
    newer = [{**c, "loyalty_tier": "gold", "score": 3} for c in flat]

    rows: list[tuple[str, float]] = [
        ("json.loads (stdlib)", per_contact(lambda: [json.loads(r) for r in raws], n)),
    ]
    if json_loads is not std_json_loads:
        rows.append(
            ("orjson.loads (the SDK's)", per_contact(lambda: [json_loads(r) for r in raws], n))
        )
    rows += [
        (
            "structure_contact (the SDK)",
            per_contact(lambda: list(map(convert.structure_contact, flat)), n),
        ),
        (
            "structure_contact, 2 keys unknown",
            per_contact(lambda: list(map(convert.structure_contact, newer)), n),
        ),
        ("floor: unchecked Contact", per_contact(lambda: list(map(unchecked_contact, flat)), n)),
        (
            f"floor: {len(constants)} constant slots",
            per_contact(lambda: [convert._build_contact(*constants) for _ in flat], n),
        ),
    ]
    print(f"{n} contacts in {len(pages)} pages of the emulator's v1 list")
    for label, us in rows:
        print(f"{label:<32}{us:>7.2f} us/contact")
    budget = (args.plain_us + args.server_us) * (1 / args.ratio - 1)
    print(
        f"\nbudget at {args.ratio:g}x a plain loop of {args.plain_us:g} us client CPU "
        f"+ {args.server_us:g} us server per contact: {budget:.2f} us/contact "
        "for paging and structuring together"
    )


if __name__ == "__main__":
    main()
